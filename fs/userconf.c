// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * userconf: "user:password" becomes "user:$6$salt$hash" (libcrypt, SHA-512,
 * a fresh random salt), the line Raspberry Pi OS's first boot reads from
 * userconf.txt. A line whose password is already a hash is kept. The
 * plaintext lives only in wiped memory. For images set up by cloud-init,
 * the same user goes into user-data.
 */
#include "ctl.h"
#include "../common/log.h"

#include <crypt.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define USER_MAX 32

static int refuse(const char *why)
{
	rpifs_log(RPIFS_WARN, "userconf: %s; write user:password", why);
	return -EINVAL;
}

/* Debian's rule for user names: ^[a-z][-a-z0-9_]*$, 32 at most. */
static bool valid_user(const char *u, size_t len)
{
	if (len == 0 || len > USER_MAX || u[0] < 'a' || u[0] > 'z')
		return false;
	for (size_t i = 1; i < len; i++) {
		char c = u[i];

		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		      c == '-' || c == '_'))
			return false;
	}
	return true;
}

/*
 * A hash the guest's libcrypt takes: one of these methods, well formed.
 * (libxcrypt calls sha256crypt legacy; Raspberry Pi OS still accepts it.)
 */
static bool known_hash(const char *h, size_t len)
{
	static const char *const prefixes[] = {
		"$6$", "$5$", "$y$", "$gy$", "$7$", "$2b$", "$2y$",
	};
	char copy[512];
	int ok;

	if (len >= sizeof(copy))
		return false;
	memcpy(copy, h, len);
	copy[len] = '\0';
	for (size_t i = 0; i < sizeof(prefixes) / sizeof(prefixes[0]); i++) {
		if (strncmp(copy, prefixes[i], strlen(prefixes[i])) != 0)
			continue;
		ok = crypt_checksalt(copy);
		return ok == CRYPT_SALT_OK || ok == CRYPT_SALT_METHOD_LEGACY;
	}
	return false;
}

/* The line without its final newline; the user and password parts. */
static int split(const struct rfs_buf *in, size_t *user_len,
		 const char **pass, size_t *pass_len)
{
	const char *p = (const char *)in->data;
	size_t len = in->len;
	const char *colon;

	/* One line: a final newline is fine, a second line is not. */
	if (len > 0 && p[len - 1] == '\n')
		len--;
	if (len > 0 && p[len - 1] == '\r')
		len--;
	if (memchr(p, '\n', len))
		return refuse("more than one line");
	if (memchr(p, '\0', len))
		return refuse("a NUL byte in the line");
	colon = memchr(p, ':', len);
	if (!colon)
		return refuse("no ':' between user and password");
	*user_len = (size_t)(colon - p);
	*pass = colon + 1;
	*pass_len = len - *user_len - 1;
	if (*user_len == 0)
		return refuse("the user name is empty");
	if (!valid_user(p, *user_len))
		return refuse("the user name must be lower case letters, digits, '-' or '_', start with a letter, and be at most 32 characters");
	if (*pass_len == 0)
		return refuse("the password is empty");
	if ((*pass)[0] == '$' && !known_hash(*pass, *pass_len))
		return refuse("the password starts with '$' but is not a hash rpifs takes ($6$, $5$, $y$, ...)");
	return 0;
}

int userconf_check(const struct rfs_buf *in)
{
	const char *nl = memchr(in->data, '\n', in->len);
	struct rfs_buf line = *in;
	const char *pass;
	size_t user_len, pass_len;

	if (!nl)
		return 0; /* the line is not complete yet */
	if ((size_t)(nl - (const char *)in->data) + 1 < in->len)
		return refuse("more than one line");
	line.len = (size_t)(nl - (const char *)in->data) + 1;
	return split(&line, &user_len, &pass, &pass_len);
}

int userconf_make(const struct rfs_buf *in, char **line)
{
	const char *p = (const char *)in->data;
	size_t user_len, pass_len;
	const char *pass;
	struct crypt_data *cd = NULL;
	char setting[CRYPT_GENSALT_OUTPUT_SIZE];
	char *secret = NULL, *out = NULL;
	int ret;

	*line = NULL;
	ret = split(in, &user_len, &pass, &pass_len);
	if (ret)
		return ret;

	secret = malloc(pass_len + 1);
	if (!secret)
		return -ENOMEM;
	memcpy(secret, pass, pass_len);
	secret[pass_len] = '\0';

	if (secret[0] == '$') {
		/* Already a hash (split() checked it): stored as is. */
		ret = asprintf(&out, "%.*s:%s\n", (int)user_len, p, secret) < 0
			      ? -ENOMEM
			      : 0;
		goto out;
	}
	if (!crypt_gensalt_rn("$6$", 0, NULL, 0, setting, sizeof(setting))) {
		rpifs_log(RPIFS_ERR, "userconf: no random salt: %s",
			  strerror(errno));
		ret = -EIO;
		goto out;
	}
	cd = calloc(1, sizeof(*cd));
	if (!cd) {
		ret = -ENOMEM;
		goto out;
	}
	if (!crypt_r(secret, setting, cd) || cd->output[0] != '$') {
		rpifs_log(RPIFS_ERR, "userconf: hashing failed");
		ret = -EIO;
		goto out;
	}
	ret = asprintf(&out, "%.*s:%s\n", (int)user_len, p, cd->output) < 0
		      ? -ENOMEM
		      : 0;
out:
	explicit_bzero(secret, pass_len);
	free(secret);
	if (cd) {
		explicit_bzero(cd, sizeof(*cd));
		free(cd);
	}
	*line = ret ? NULL : out;
	if (ret)
		free(out);
	return ret;
}

void userconf_user(const char *line, char *user, size_t size)
{
	size_t len = strcspn(line, ":\n");

	snprintf(user, size, "%.*s", (int)len, line);
}

#define BEGIN "# rpifs: the user from userconf (begin)"
#define USER_GROUPS \
	"users,adm,dialout,audio,netdev,video,plugdev,cdrom,games,input,gpio,spi,i2c,render,sudo"
#define END "# rpifs: the user from userconf (end)"

/* Append @s to a growing string; @return false when out of memory. */
static bool add(char **buf, size_t *len, size_t *cap, const char *s, size_t n)
{
	if (*len + n + 1 > *cap) {
		size_t c = (*cap ? *cap : 1024);
		char *p;

		while (*len + n + 1 > c)
			c *= 2;
		p = realloc(*buf, c);
		if (!p)
			return false;
		*buf = p;
		*cap = c;
	}
	memcpy(*buf + *len, s, n);
	*len += n;
	(*buf)[*len] = '\0';
	return true;
}

/* A top-level "users:" line: 1 with a block value, -1 inline, 0 not. */
static int users_key(const char *line, size_t len)
{
	if (len < 6 || strncmp(line, "users:", 6) != 0)
		return 0;
	for (size_t i = 6; i < len; i++) {
		if (line[i] == '#' || line[i] == '\n')
			return 1;
		if (line[i] != ' ' && line[i] != '\t' && line[i] != '\r')
			return -1; /* users: [default] */
	}
	return 1;
}

int userconf_cloud_init(const char *old, size_t len, const char *user,
			const char *hash, char **out)
{
	char *buf = NULL, block[1024], indent[16] = "  ";
	size_t blen = 0, cap = 0, insert_at = 0;
	const char *p = old, *end = old + len;
	bool skipping = false, have_key = false, indent_known = false;

	*out = NULL;
	/* Copy all but an earlier block of ours; note the users: key. */
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t n = nl ? (size_t)(nl - p) + 1 : (size_t)(end - p);
		size_t ind = strspn(p, " ");
		int key;

		if (!skipping && strncmp(p, BEGIN, strlen(BEGIN)) == 0) {
			skipping = true;
		} else if (skipping) {
			if (strncmp(p, END, strlen(END)) == 0)
				skipping = false;
		} else {
			key = users_key(p, n);
			if (key < 0) {
				free(buf);
				return -ENOTSUP;
			}
			if (!add(&buf, &blen, &cap, p, n)) {
				free(buf);
				return -ENOMEM;
			}
			if (key > 0 && !have_key) {
				have_key = true;
				if (blen && buf[blen - 1] != '\n' &&
				    !add(&buf, &blen, &cap, "\n", 1)) {
					free(buf);
					return -ENOMEM;
				}
				insert_at = blen;
			} else if (have_key && !indent_known && ind < n &&
				   p[ind] != '#' && p[ind] != '\n') {
				/* The list's own indentation, to match it. */
				indent_known = true;
				if (p[ind] == '-' && ind < sizeof(indent)) {
					memset(indent, ' ', ind);
					indent[ind] = '\0';
				}
			}
		}
		p += n;
	}
	if (!buf) {
		buf = strdup("");
		if (!buf)
			return -ENOMEM;
	}
	if (!hash) {
		*out = buf;
		return 0;
	}
	if (have_key)
		snprintf(block, sizeof(block),
			 "%s\n%s- name: %s\n%s  groups: " USER_GROUPS "\n"
			 "%s  shell: /bin/bash\n%s  lock_passwd: false\n"
			 "%s  passwd: %s\n%s  sudo: ALL=(ALL) NOPASSWD:ALL\n%s\n",
			 BEGIN, indent, user, indent, indent, indent, indent, hash,
			 indent, END);
	else
		snprintf(block, sizeof(block),
			 "%s\nusers:\n  - name: %s\n    groups: " USER_GROUPS "\n"
			 "    shell: /bin/bash\n    lock_passwd: false\n"
			 "    passwd: %s\n    sudo: ALL=(ALL) NOPASSWD:ALL\n%s\n",
			 BEGIN, user, hash, END);
	if (!have_key) {
		insert_at = blen;
		if (blen && buf[blen - 1] != '\n' && !add(&buf, &blen, &cap, "\n", 1)) {
			free(buf);
			return -ENOMEM;
		}
		insert_at = blen;
	}
	{
		size_t bl = strlen(block);
		char *result = malloc(blen + bl + 1);

		if (!result) {
			free(buf);
			return -ENOMEM;
		}
		memcpy(result, buf, insert_at);
		memcpy(result + insert_at, block, bl);
		memcpy(result + insert_at + bl, buf + insert_at, blen - insert_at);
		result[blen + bl] = '\0';
		free(buf);
		*out = result;
	}
	return 0;
}
