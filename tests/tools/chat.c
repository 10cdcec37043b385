// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * chat SOCKET SECONDS STEP...: talk to a console socket like expect.
 * Steps: "send:TEXT" (\n and \r understood), "expect:TEXT" (wait until
 * TEXT appears after the previous match), "sleep:MS". Each expect has
 * SECONDS to succeed. On success prints the transcript and exits 0; on a
 * timeout or a closed socket prints what it saw and exits 1.
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

static char seen[1 << 20];
static size_t seen_len, matched;

static double now(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static void unescape(const char *in, char *out)
{
	while (*in) {
		if (in[0] == '\\' && in[1] == 'n') {
			*out++ = '\n';
			in += 2;
		} else if (in[0] == '\\' && in[1] == 'r') {
			*out++ = '\r';
			in += 2;
		} else {
			*out++ = *in++;
		}
	}
	*out = '\0';
}

static int expect(int fd, const char *text, double seconds)
{
	double end = now() + seconds;

	for (;;) {
		struct pollfd p = {.fd = fd, .events = POLLIN};
		char *hit;
		ssize_t n;

		seen[seen_len] = '\0';
		hit = strstr(seen + matched, text);
		if (hit) {
			matched = (size_t)(hit - seen) + strlen(text);
			return 0;
		}
		if (now() > end)
			return -ETIMEDOUT;
		if (poll(&p, 1, 100) <= 0)
			continue;
		n = read(fd, seen + seen_len, sizeof(seen) - 1 - seen_len);
		if (n <= 0)
			return -EPIPE;
		seen_len += (size_t)n;
	}
}

int main(int argc, char **argv)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	double seconds;
	int fd;

	if (argc < 4) {
		fprintf(stderr, "usage: chat SOCKET SECONDS "
				"send:TEXT|expect:TEXT|sleep:MS...\n");
		return 2;
	}
	seconds = atof(argv[2]);
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", argv[1]);
	fd = socket(AF_UNIX, SOCK_STREAM, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		fprintf(stderr, "chat: %s: %s\n", argv[1], strerror(errno));
		return 1;
	}
	for (int i = 3; i < argc; i++) {
		char text[4096];

		if (strncmp(argv[i], "send:", 5) == 0) {
			unescape(argv[i] + 5, text);
			if (write(fd, text, strlen(text)) < 0)
				return 1;
		} else if (strncmp(argv[i], "expect:", 7) == 0) {
			int ret;

			unescape(argv[i] + 7, text);
			ret = expect(fd, text, seconds);
			if (ret) {
				seen[seen_len] = '\0';
				fprintf(stderr,
					"chat: %s waiting for \"%s\"; it "
					"said:\n%s\n",
					ret == -ETIMEDOUT
						? "timed out"
						: "the console closed",
					text,
					seen_len > 3000 ? seen + seen_len - 3000
							: seen);
				return 1;
			}
		} else if (strncmp(argv[i], "sleep:", 6) == 0) {
			usleep((useconds_t)atoi(argv[i] + 6) * 1000);
		} else {
			fprintf(stderr, "chat: unknown step %s\n", argv[i]);
			return 2;
		}
	}
	seen[seen_len] = '\0';
	fputs(seen, stdout);
	close(fd);
	return 0;
}
