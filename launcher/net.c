// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The guest's network as QEMU's user-mode network takes it. Forwards from
 * the host listen on 127.0.0.1 only, never on every address. A guestfwd
 * rule is QEMU's "cmd:" form, which starts a program for each guest
 * connection: the "tcp:" form (a chardev) makes QEMU refuse to start while
 * the host's server is not listening, and with reconnect-ms it carries
 * every guest connection over one host connection that never closes
 * (measured with QEMU 10.0.2 and libslirp 4.7; rpifs(1) says more).
 */
#include "net.h"
#include "../common/errmsg.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static const char *const mode_names[] = {
	[NET_USER] = "user",
	[NET_RESTRICTED] = "restricted",
	[NET_NONE] = "none",
};

int net_mode_parse(const char *name, enum net_mode *mode)
{
	for (size_t i = 0; i < sizeof(mode_names) / sizeof(mode_names[0]);
	     i++) {
		if (strcmp(name, mode_names[i]) == 0) {
			*mode = (enum net_mode)i;
			return 0;
		}
	}
	return -EINVAL;
}

const char *net_mode_name(enum net_mode mode)
{
	return mode <= NET_NONE ? mode_names[mode] : "?";
}

static const char *proto_name(enum net_proto proto)
{
	return proto == NET_UDP ? "udp" : "tcp";
}

/* A port number, 1 to 65535, up to @end. @return 0 or -EINVAL. */
static int port_parse(const char *s, const char **end, unsigned *port)
{
	unsigned long n = 0;
	const char *p = s;

	while (*p >= '0' && *p <= '9' && p - s < 6)
		n = n * 10 + (unsigned long)(*p++ - '0');
	if (p == s || n == 0 || n > 65535)
		return -EINVAL;
	*end = p;
	*port = (unsigned)n;
	return 0;
}

int net_forward_parse(const char *spec, bool guestfwd, struct net_forward *f,
		      char *err, size_t err_size)
{
	const char *syntax =
		guestfwd ? "tcp:GUESTPORT:HOSTPORT"
			 : "tcp:HOSTPORT:GUESTPORT (or udp:HOSTPORT:GUESTPORT)";
	const char *p = spec;
	unsigned first, second;

	if (strncmp(p, "tcp:", 4) == 0) {
		f->proto = NET_TCP;
	} else if (strncmp(p, "udp:", 4) == 0 && !guestfwd) {
		f->proto = NET_UDP;
	} else {
		return err_set(
			err, err_size, -EINVAL, "%s: give %s%s", spec, syntax,
			guestfwd && strncmp(p, "udp:", 4) == 0
				? " (QEMU forwards only TCP from the guest)"
				: "");
	}
	p += 4;
	if (port_parse(p, &p, &first) || *p++ != ':' ||
	    port_parse(p, &p, &second) || *p)
		return err_set(err, err_size, -EINVAL,
			       "%s: give %s, each port 1 to 65535", spec,
			       syntax);
	f->host_port = guestfwd ? second : first;
	f->guest_port = guestfwd ? first : second;
	return 0;
}

/* Two rules that would both listen on 127.0.0.1:PORT. */
static bool same_listener(const struct net_config *c, unsigned i, unsigned j)
{
	return c->hostfwd[i].proto == c->hostfwd[j].proto &&
	       c->hostfwd[i].host_port == c->hostfwd[j].host_port;
}

int net_check(const struct net_config *c, char *err, size_t err_size)
{
	bool ssh = c->ssh_auto || c->ssh_port;

	if (c->mode == NET_NONE &&
	    (ssh || c->hostfwd_count || c->guestfwd_count))
		return err_set(err, err_size, -EINVAL,
			       "net=none has no network to forward %s over: "
			       "leave out net=none, or the forward",
			       ssh		  ? "ssh"
			       : c->hostfwd_count ? "hostfwd"
						  : "guestfwd");
	for (unsigned i = 0; i < c->hostfwd_count; i++) {
		const struct net_forward *f = &c->hostfwd[i];

		if (f->proto == NET_TCP && f->host_port == c->ssh_port)
			return err_set(err, err_size, -EINVAL,
				       "hostfwd=tcp:%u:%u: ssh=%u forwards "
				       "that host port already",
				       f->host_port, f->guest_port,
				       c->ssh_port);
		for (unsigned j = 0; j < i; j++)
			if (same_listener(c, i, j))
				return err_set(err, err_size, -EINVAL,
					       "hostfwd=%s:%u:...: that host "
					       "port is forwarded twice",
					       proto_name(f->proto),
					       f->host_port);
	}
	for (unsigned i = 0; i < c->guestfwd_count; i++)
		for (unsigned j = 0; j < i; j++)
			if (c->guestfwd[i].guest_port ==
			    c->guestfwd[j].guest_port)
				return err_set(err, err_size, -EINVAL,
					       "guestfwd=tcp:%u:...: that "
					       "guest port is forwarded twice",
					       c->guestfwd[i].guest_port);
	return 0;
}

int net_free_port(unsigned *port)
{
	struct sockaddr_in sa = {
		.sin_family = AF_INET,
		.sin_addr.s_addr = htonl(INADDR_LOOPBACK),
	};
	socklen_t len = sizeof(sa);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), ret = 0;

	if (fd < 0)
		return -errno;
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    getsockname(fd, (struct sockaddr *)&sa, &len) < 0)
		ret = -errno;
	else
		*port = ntohs(sa.sin_port);
	close(fd);
	return ret;
}

char *net_netdev(const struct net_config *c, unsigned ssh_port,
		 const char *relay)
{
	struct buf s = {0};
	bool failed =
		buf_printf(&s, "user,id=net0%s",
			   c->mode == NET_RESTRICTED ? ",restrict=on" : "");

	if (ssh_port)
		failed |= buf_printf(&s, ",hostfwd=tcp:127.0.0.1:%u-:22",
				     ssh_port);
	for (unsigned i = 0; i < c->hostfwd_count; i++)
		failed |= buf_printf(&s, ",hostfwd=%s:127.0.0.1:%u-:%u",
				     proto_name(c->hostfwd[i].proto),
				     c->hostfwd[i].host_port,
				     c->hostfwd[i].guest_port);
	/* One relay process per guest connection, started by QEMU. */
	for (unsigned i = 0; i < c->guestfwd_count; i++)
		failed |= buf_printf(&s,
				     ",guestfwd=tcp:" NET_GUESTFWD_ADDR
				     ":%u-cmd:%s " NET_RELAY_COMMAND " %u",
				     c->guestfwd[i].guest_port, relay,
				     c->guestfwd[i].host_port);
	failed |= buf_append(&s, "", 1);
	if (failed) {
		buf_free(&s);
		return NULL;
	}
	return (char *)s.data;
}

void net_describe(const struct net_config *c, unsigned ssh_port,
		  struct buf *out)
{
	if (c->mode == NET_NONE) {
		buf_printf(out, "none");
		return;
	}
	buf_printf(out, "%s (usb-net%s)", net_mode_name(c->mode),
		   c->mode == NET_RESTRICTED ? ", restrict=on: the guest "
					       "reaches only what is forwarded"
					     : "");
	if (ssh_port)
		buf_printf(out, ", ssh 127.0.0.1:%u -> 22", ssh_port);
	else if (c->ssh_auto)
		buf_printf(out, ", ssh 127.0.0.1:auto -> 22");
	for (unsigned i = 0; i < c->hostfwd_count; i++)
		buf_printf(out, ", %s 127.0.0.1:%u -> %u",
			   proto_name(c->hostfwd[i].proto),
			   c->hostfwd[i].host_port, c->hostfwd[i].guest_port);
	for (unsigned i = 0; i < c->guestfwd_count; i++)
		buf_printf(out,
			   ", guest " NET_GUESTFWD_ADDR ":%u -> 127.0.0.1:%u",
			   c->guestfwd[i].guest_port, c->guestfwd[i].host_port);
}
