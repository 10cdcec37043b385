// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * rpifs ssh DIR [-l USER] [SSH-OPTION...] [[--] COMMAND...]: ssh into the
 * running guest through the mount's forwarded port, as the image's user.
 * The guest's host key is kept in the image's state folder under one
 * alias, whatever port ssh=auto picked, never in ~/.ssh/known_hosts: a
 * guest is re-created from an image often, and its keys with it. ssh is
 * exec'd, so its exit status (the remote command's) is rpifs's.
 */
#include "cli.h"
#include "../common/log.h"
#include "../pi/userconf.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define SSH_USAGE                                                              \
	"usage: rpifs ssh DIR [-l USER] [SSH-OPTION...] [[--] COMMAND...]"
/* ssh(1)'s options that take an argument (its getopt string). */
#define SSH_ARG_OPTIONS "bceilmopBDEFIJLOPQRSwW"

/* What the command line asks for, in place in argv. */
struct ssh_args {
	const char *dir;
	const char *user; /* -l, or NULL */
	char **options;	  /* ssh's own options, passed on */
	int option_count;
	char **command; /* the remote command, or none */
	int command_count;
};

/*
 * Split the arguments as ssh would: options (with their arguments) up to
 * "--" or the first word that is not one; the rest is the command.
 * @return 0, or 2 for a usage error.
 */
static int parse(int argc, char **argv, struct ssh_args *a)
{
	int i = 2;

	memset(a, 0, sizeof(*a));
	if (argc < 2 || argv[1][0] == '-')
		return 2;
	a->dir = argv[1];
	a->options = argv + 2;
	for (; i < argc && argv[i][0] == '-' && strcmp(argv[i], "--"); i++) {
		/* A cluster of letters; one that takes an argument ends it. */
		for (const char *c = argv[i] + 1; *c; c++) {
			const char *arg;

			if (!strchr(SSH_ARG_OPTIONS, *c))
				continue;
			if (c[1])
				arg = c + 1;
			else if (++i < argc)
				arg = argv[i];
			else
				return 2;
			if (*c == 'l')
				a->user = arg; /* rpifs logs in as that user */
			break;
		}
	}
	a->option_count = (int)(argv + i - a->options);
	if (i < argc && strcmp(argv[i], "--") == 0)
		i++;
	a->command = argv + i;
	a->command_count = argc - i;
	return 0;
}

/* The uid 1000 user of the guest's /etc/passwd, as root/ shows it. */
static bool first_user(const char *dir, char *user, size_t size)
{
	char path[PATH_MAX + 32], line[1024];
	bool found = false;
	FILE *f;

	snprintf(path, sizeof(path), "%s/root/etc/passwd", dir);
	f = fopen(path, "re");
	if (!f)
		return false;
	while (!found && fgets(line, sizeof(line), f)) {
		char *name = strtok(line, ":"), *pass = strtok(NULL, ":");
		char *uid = strtok(NULL, ":");

		if (name && pass && uid && strcmp(uid, "1000") == 0) {
			snprintf(user, size, "%s", name);
			found = true;
		}
	}
	fclose(f);
	return found;
}

/*
 * The user to log in as: userconf's (which Raspberry Pi OS's first boot
 * creates), else the guest's first user (the first boot consumed
 * userconf.txt). @return 0, or 1 with a message.
 */
static int guest_user(const char *dir, char *user, size_t size)
{
	char *userconf = cli_read_ctl(dir, "userconf");

	user[0] = '\0';
	if (userconf) {
		userconf_user(userconf, user, size);
		free(userconf);
	}
	if (user[0] || first_user(dir, user, size))
		return 0;
	rpifs_log(RPIFS_ERR,
		  "which user? %s/userconf names none and the guest has no uid "
		  "1000: give -l USER",
		  dir);
	return 1;
}

/* The running guest's forwarded ssh port. @return 0, or 1 with a message. */
static int guest_port(const char *dir, unsigned *port)
{
	char state[128], line[256];

	cli_status_value(dir, "state", state, sizeof(state));
	cli_status_value(dir, "ssh port", line, sizeof(line));
	if (sscanf(line, "127.0.0.1:%u", port) != 1) {
		rpifs_log(RPIFS_ERR,
			  "%s forwards no ssh port: mount the image with -o "
			  "ssh=auto (or ssh=PORT)",
			  dir);
		return 1;
	}
	if (strncmp(state, "stopped", 7) == 0) {
		rpifs_log(RPIFS_ERR,
			  "the guest is not running: start it with rpifs run "
			  "%s --wait=ssh",
			  dir);
		return 1;
	}
	return 0;
}

/*
 * One name for the guest, whatever its port: the state folder's own
 * (STATE/NAME-HASH/known_hosts gives "HostKeyAlias=rpifs-NAME-HASH").
 * @return 0 or -1.
 */
static int host_alias(const char *known, char *out, size_t size)
{
	const char *end = strrchr(known, '/'), *start = end;

	while (start && start > known && start[-1] != '/')
		start--;
	if (!end || start == end)
		return -1;
	snprintf(out, size, "HostKeyAlias=rpifs-%.*s", (int)(end - start),
		 start);
	return 0;
}

int cli_ssh(int argc, char **argv)
{
	char dir[PATH_MAX], user[256], known[PATH_MAX], port_opt[32];
	char kh_opt[PATH_MAX + 32], alias_opt[PATH_MAX + 32];
	struct ssh_args a;
	unsigned port;
	char **v;
	int n = 0;

	if (parse(argc, argv, &a)) {
		fprintf(stderr, SSH_USAGE "\n");
		return 2;
	}
	if (cli_mount_dir(a.dir, dir, sizeof(dir)) || guest_port(dir, &port))
		return 1;
	if (!a.user && guest_user(dir, user, sizeof(user)))
		return 1;
	cli_status_value(dir, "ssh known hosts", known, sizeof(known));
	if (host_alias(known, alias_opt, sizeof(alias_opt))) {
		rpifs_log(RPIFS_ERR, "%s/status names no ssh known hosts file",
			  dir);
		return 1;
	}
	snprintf(kh_opt, sizeof(kh_opt), "UserKnownHostsFile=%s", known);
	snprintf(port_opt, sizeof(port_opt), "%u", port);

	v = calloc((size_t)argc + 24, sizeof(*v));
	if (!v)
		return 1;
	v[n++] = (char *)"ssh";
	/* The caller's options first: for ssh, the first value of each wins. */
	for (int i = 0; i < a.option_count; i++)
		v[n++] = a.options[i];
	if (!a.user) {
		v[n++] = (char *)"-l";
		v[n++] = user;
	}
	v[n++] = (char *)"-p";
	v[n++] = port_opt;
	v[n++] = (char *)"-o";
	v[n++] = kh_opt;
	v[n++] = (char *)"-o";
	v[n++] = alias_opt;
	v[n++] = (char *)"-o";
	v[n++] = (char *)"StrictHostKeyChecking=accept-new";
	v[n++] = (char *)"-o";
	v[n++] = (char *)"CheckHostIP=no";
	/* rpifs's own file, one alias in it: nothing to hide by hashing. */
	v[n++] = (char *)"-o";
	v[n++] = (char *)"HashKnownHosts=no";
	v[n++] = (char *)"127.0.0.1";
	if (a.command_count)
		v[n++] = (char *)"--";
	for (int i = 0; i < a.command_count; i++)
		v[n++] = a.command[i];
	v[n] = NULL;
	execvp(v[0], v);
	rpifs_log(RPIFS_ERR, "cannot run ssh: %s%s", strerror(errno),
		  errno == ENOENT ? " (install openssh-client)" : "");
	free(v);
	return 255;
}
