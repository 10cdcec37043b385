// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Finding and asking QEMU, and its argument vector. The options are the
 * ones measured fastest here: single-threaded TCG boots about twice as
 * fast as multi-threaded on two cores (BOOT-FACTS.md).
 */
#include "qemu.h"
#include "../common/errmsg.h"
#include "../common/spawn.h"

#include <errno.h>
#include <sched.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define QEMU_BINARY "qemu-system-aarch64"
#define INSTALL_HINT                                                           \
	"install QEMU 9 or newer (Debian: apt-get install qemu-system-arm, "   \
	"on bookworm from bookworm-backports)"

static bool find_in_path(const char *name, char *out, size_t size)
{
	const char *path = getenv("PATH");
	char *copy, *save = NULL;
	bool found = false;

	if (!path)
		path = "/usr/local/bin:/usr/bin:/bin";
	copy = strdup(path);
	if (!copy)
		return false;
	for (char *dir = strtok_r(copy, ":", &save); dir && !found;
	     dir = strtok_r(NULL, ":", &save)) {
		snprintf(out, size, "%s/%s", dir[0] ? dir : ".", name);
		found = access(out, X_OK) == 0;
	}
	free(copy);
	return found;
}

/* Run argv, capturing its standard output. @return its exit status. */
static int capture(char *const argv[], char *buf, size_t size)
{
	struct spawn s = {
		.argv = argv,
		.in = SPAWN_NULL,
		.out = SPAWN_CAPTURE,
		.err = SPAWN_NULL,
		.buf = buf,
		.size = size,
	};

	return spawn_run(&s);
}

static bool has_machine(const char *help, const char *name)
{
	size_t len = strlen(name);

	for (const char *p = help; (p = strstr(p, name)); p += len)
		if ((p == help || p[-1] == '\n') &&
		    (p[len] == ' ' || p[len] == '\n'))
			return true;
	return false;
}

int qemu_probe(struct qemu_info *q, char *err, size_t err_size)
{
	const char *env = getenv("RPIFS_QEMU");
	char out[8192];
	const char *v;
	bool any = false;

	memset(q, 0, sizeof(*q));
	if (env && env[0]) {
		snprintf(q->path, sizeof(q->path), "%s", env);
		if (access(q->path, X_OK) != 0) {
			return err_set(err, err_size, -ENOENT,
				       "RPIFS_QEMU=%s cannot be run: %s", env,
				       strerror(errno));
		}
	} else if (!find_in_path(QEMU_BINARY, q->path, sizeof(q->path))) {
		return err_set(err, err_size, -ENOENT,
			       QEMU_BINARY " is not installed: " INSTALL_HINT);
	}
	{
		char *argv[] = {q->path, (char *)"-version", NULL};

		if (capture(argv, out, sizeof(out)) != 0) {
			return err_set(err, err_size, -ENOEXEC,
				       "%s -version failed: " INSTALL_HINT,
				       q->path);
		}
	}
	v = strstr(out, "version ");
	if (v) {
		v += strlen("version ");
		snprintf(q->version, sizeof(q->version), "%.*s",
			 (int)strcspn(v, " \n"), v);
		q->major = atoi(v);
	}
	{
		char *argv[] = {q->path, (char *)"-machine", (char *)"help",
				NULL};

		if (capture(argv, out, sizeof(out)) != 0) {
			return err_set(err, err_size, -ENOEXEC,
				       "%s -machine help failed", q->path);
		}
	}
	for (int b = 0; b < BOARD_COUNT; b++) {
		q->has_board[b] = has_machine(out, board_name(b));
		any |= q->has_board[b];
	}
	if (!any) {
		return err_set(
			err, err_size, -ENOEXEC,
			"%s (QEMU %s) emulates no Raspberry Pi: " INSTALL_HINT,
			q->path, q->version);
	}
	return 0;
}

int qemu_overlay(const struct qemu_info *q, const char *image, uint64_t size,
		 const char *path, char *err, size_t err_size)
{
	char tool[PATH_MAX + 16], bytes[32], out[2048];
	const char *slash = strrchr(q->path, '/');
	char *argv[] = {tool,
			(char *)"create",
			(char *)"-q",
			(char *)"-f",
			(char *)"qcow2",
			(char *)"-F",
			(char *)"raw",
			(char *)"-b",
			(char *)image,
			(char *)path,
			bytes,
			NULL};
	struct spawn s = {.argv = argv,
			  .in = SPAWN_NULL,
			  .out = SPAWN_CAPTURE,
			  .err = SPAWN_CAPTURE,
			  .buf = out,
			  .size = sizeof(out)};
	int status;

	/* The qemu-img of the same QEMU, when it has one. */
	snprintf(tool, sizeof(tool), "%.*s/qemu-img",
		 slash ? (int)(slash - q->path) : 1, slash ? q->path : ".");
	if (!slash || access(tool, X_OK) != 0)
		snprintf(tool, sizeof(tool), "qemu-img");
	snprintf(bytes, sizeof(bytes), "%llu", (unsigned long long)size);
	status = spawn_run(&s);
	if (status == 127)
		return err_set(err, err_size, -ENOENT,
			       "qemu-img is not installed, and this image is "
			       "not a power of two in size: install qemu-utils "
			       "(or rpifs resize the image)");
	if (status != 0)
		return err_set(err, err_size, -EIO,
			       "qemu-img create failed: %.300s",
			       out[0] ? out : "no message");
	return 0;
}

struct args {
	char **v;
	size_t n;
	size_t cap;
	bool failed;
};

static void add(struct args *a, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void add(struct args *a, const char *fmt, ...)
{
	va_list ap;
	char *s = NULL;

	if (a->failed)
		return;
	if (a->n + 2 > a->cap) {
		size_t cap = a->cap ? a->cap * 2 : 32;
		char **v = realloc(a->v, cap * sizeof(*v));

		if (!v) {
			a->failed = true;
			return;
		}
		a->v = v;
		a->cap = cap;
	}
	va_start(ap, fmt);
	if (vasprintf(&s, fmt, ap) < 0) {
		a->failed = true;
		s = NULL;
	}
	va_end(ap);
	if (s) {
		a->v[a->n++] = s;
		a->v[a->n] = NULL;
	}
}

static char *comma_escape(const char *in)
{
	size_t len = strlen(in), o = 0;
	char *out = malloc(2 * len + 1);

	if (!out)
		return NULL;
	for (size_t i = 0; i < len; i++) {
		out[o++] = in[i];
		if (in[i] == ',')
			out[o++] = ',';
	}
	out[o] = '\0';
	return out;
}

char **qemu_argv(const struct qemu_info *q, const struct qemu_config *c)
{
	struct args a = {0};

	add(&a, "%s", q->path);
	add(&a, "-name");
	add(&a, "%s", c->name);
	add(&a, "-machine");
	add(&a, "%s", board_name(c->board));
	add(&a, "-accel");
	add(&a, c->tcg_multi ? "tcg,thread=multi" : "tcg,thread=single");
	add(&a, "-display");
	add(&a, "none");
	add(&a, "-monitor");
	add(&a, "none");
	add(&a, "-parallel");
	add(&a, "none");
	add(&a, "-kernel");
	add(&a, "%s", c->kernel);
	add(&a, "-dtb");
	add(&a, "%s", c->dtb);
	if (c->initrd) {
		add(&a, "-initrd");
		add(&a, "%s", c->initrd);
	}
	add(&a, "-append");
	add(&a, "%s", c->append);
	{
		/* In QEMU's option strings a comma is written twice. */
		char *image = comma_escape(c->image);
		char *serial = comma_escape(c->serial_socket);
		char *log = comma_escape(c->serial_log);
		char *qmp = comma_escape(c->qmp_socket);

		if (!image || !serial || !log || !qmp)
			a.failed = true;
		add(&a, "-drive");
		add(&a, "file=%s,format=%s,if=sd%s", image ? image : "",
		    c->format ? c->format : "raw",
		    c->snapshot ? ",snapshot=on" : "");
		add(&a, "-chardev");
		add(&a,
		    "socket,id=serial0,path=%s,server=on,wait=off,logfile=%s,"
		    "logappend=on",
		    serial ? serial : "", log ? log : "");
		add(&a, "-serial");
		add(&a, "chardev:serial0");
		add(&a, "-qmp");
		add(&a, "unix:%s,server=on,wait=off", qmp ? qmp : "");
		free(image);
		free(serial);
		free(log);
		free(qmp);
	}
	/* A keyboard, for the orderly stop's ctrl-alt-delete (stop.c). */
	add(&a, "-device");
	add(&a, "usb-kbd");
	if (c->net && c->net->mode != NET_NONE) {
		/* The boards' only network: usb-net on the DWC2 USB. */
		char *netdev = net_netdev(c->net, c->ssh_port, c->relay);

		if (!netdev)
			a.failed = true;
		add(&a, "-netdev");
		add(&a, "%s", netdev ? netdev : "");
		add(&a, "-device");
		add(&a, "usb-net,netdev=net0");
		free(netdev);
	} else {
		add(&a, "-nic");
		add(&a, "none");
	}
	/* The owner's own, last (checked by qemu_extra_check). */
	for (char *const *e = c->extra; e && *e; e++)
		add(&a, "%s", *e);
	if (a.failed) {
		qemu_argv_free(a.v);
		return NULL;
	}
	return a.v;
}

void qemu_argv_free(char **argv)
{
	for (size_t i = 0; argv && argv[i]; i++)
		free(argv[i]);
	free(argv);
}

bool qemu_tcg_multi(enum tcg_mode mode, unsigned cpus)
{
	if (mode == TCG_AUTO)
		return cpus >= TCG_MULTI_FROM_CPUS;
	return mode == TCG_MULTI;
}

unsigned qemu_host_cpus(void)
{
	cpu_set_t set;
	int n;

	if (sched_getaffinity(0, sizeof(set), &set) == 0) {
		n = CPU_COUNT(&set);
		return n > 0 ? (unsigned)n : 1;
	}
	n = (int)sysconf(_SC_NPROCESSORS_ONLN);
	return n > 0 ? (unsigned)n : 1;
}

/* Options rpifs sets on every boot, with and without QEMU's "--" form. */
static const char *const owned_options[] = {
	"name",	    "machine",	  "M",	     "accel",  "enable-kvm",
	"display",  "nographic",  "monitor", "mon",    "qmp",
	"parallel", "kernel",	  "dtb",     "initrd", "append",
	"drive",    "sd",	  "serial",  "nic",    "daemonize",
	"pidfile",  "readconfig", NULL,
};

int qemu_extra_check(char *const *extra, char *err, size_t err_size)
{
	for (char *const *e = extra; e && *e; e++) {
		const char *opt = *e, *value = e[1] ? e[1] : "";

		if (opt[0] != '-')
			continue; /* an option's value */
		opt += opt[1] == '-' ? 2 : 1;
		for (const char *const *o = owned_options; *o; o++) {
			if (strcmp(opt, *o) == 0) {
				return err_set(
					err, err_size, -EINVAL,
					"qemu_args: %s is rpifs's to set (see "
					"the run folder's argv); leave it out",
					*e);
			}
		}
		/* The serial port's and the network's ids are rpifs's too. */
		if ((strcmp(opt, "chardev") == 0 &&
		     strstr(value, "id=serial0")) ||
		    ((strcmp(opt, "netdev") == 0 ||
		      strcmp(opt, "device") == 0) &&
		     (strstr(value, "id=net0") ||
		      strstr(value, "netdev=net0")))) {
			return err_set(err, err_size, -EINVAL,
				       "qemu_args: %s %s uses an id rpifs uses "
				       "(serial0, net0); give yours another",
				       *e, value);
		}
	}
	return 0;
}

int qemu_extra_load(const char *path, char ***out, char *err, size_t err_size)
{
	FILE *f = fopen(path, "r");
	char *line = NULL, **v = NULL;
	size_t cap = 0, n = 0, vcap = 0;
	ssize_t len;
	int ret = 0;

	*out = NULL;
	if (!f) {
		ret = -errno;
		return err_set(err, err_size, ret, "qemu_args: %s: %s", path,
			       strerror(-ret));
	}
	while ((len = getline(&line, &cap, f)) >= 0) {
		while (len > 0 &&
		       (line[len - 1] == '\n' || line[len - 1] == '\r'))
			line[--len] = '\0';
		if (len == 0 || line[0] == '#')
			continue;
		if (n + 2 > vcap) {
			size_t bigger = vcap ? vcap * 2 : 8;
			char **nv = realloc(v, bigger * sizeof(*nv));

			if (!nv) {
				ret = -ENOMEM;
				break;
			}
			v = nv;
			vcap = bigger;
		}
		v[n] = strdup(line);
		if (!v[n]) {
			ret = -ENOMEM;
			break;
		}
		v[++n] = NULL;
	}
	free(line);
	fclose(f);
	if (!ret && !v) {
		v = calloc(1, sizeof(*v));
		if (!v)
			ret = -ENOMEM;
	}
	if (ret == -ENOMEM)
		snprintf(err, err_size, "qemu_args: out of memory");
	if (!ret)
		ret = qemu_extra_check(v, err, err_size);
	if (ret) {
		qemu_argv_free(v);
		return ret;
	}
	*out = v;
	return 0;
}
