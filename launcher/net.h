/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The guest's network: usb-net on QEMU's user-mode network (slirp), on by
 * default, restricted or off on request, with forwards from the host's
 * 127.0.0.1 into the guest (hostfwd, ssh) and from the guest to services
 * on the host's 127.0.0.1 (guestfwd). Parsed and checked here, turned
 * into QEMU's -netdev option here; the mount options are fs/'s.
 */
#ifndef RPIFS_NET_H
#define RPIFS_NET_H

#include <stdbool.h>
#include <stddef.h>

#include "../common/buf.h"

enum net_mode {
	NET_USER, /* the default: the guest reaches what the host reaches */
	NET_RESTRICTED, /* restrict=on: only what is forwarded */
	NET_NONE,	/* no network device at all */
};

enum net_proto {
	NET_TCP,
	NET_UDP,
};

struct net_forward {
	enum net_proto proto;
	unsigned host_port;  /* on 127.0.0.1 */
	unsigned guest_port; /* guestfwd: at NET_GUESTFWD_ADDR */
};

#define NET_MAX_FORWARDS 16
/* Where a guestfwd rule shows in the guest (slirp's network 10.0.2.0/24). */
#define NET_GUESTFWD_ADDR "10.0.2.100"
/*
 * The rpifs command QEMU runs for each guest connection of a guestfwd
 * rule (cli/relay.c): "rpifs guestfwd-relay PORT" joins its standard
 * input and output to 127.0.0.1:PORT.
 */
#define NET_RELAY_COMMAND "guestfwd-relay"

struct net_config {
	enum net_mode mode;
	bool ssh_auto;	   /* a free port at each boot */
	unsigned ssh_port; /* 0: no ssh forward (unless ssh_auto) */
	struct net_forward hostfwd[NET_MAX_FORWARDS];
	unsigned hostfwd_count;
	struct net_forward guestfwd[NET_MAX_FORWARDS];
	unsigned guestfwd_count;
};

/* "user", "restricted" or "none" into @mode. @return 0 or -EINVAL. */
int net_mode_parse(const char *name, enum net_mode *mode);
const char *net_mode_name(enum net_mode mode);

/*
 * A forward as the mount options write it, "tcp:HOSTPORT:GUESTPORT"
 * (hostfwd, also "udp:") or "tcp:GUESTPORT:HOSTPORT" (guestfwd, TCP
 * only: QEMU forwards no UDP from the guest). @return 0, or -EINVAL with
 * a sentence in @err.
 */
int net_forward_parse(const char *spec, bool guestfwd, struct net_forward *f,
		      char *err, size_t err_size);

/*
 * Whether the options agree with each other: no forward without a
 * network, no host port forwarded twice. @return 0 or -EINVAL with a
 * sentence in @err.
 */
int net_check(const struct net_config *c, char *err, size_t err_size);

/*
 * A port on 127.0.0.1 that nothing listens on now (the kernel's choice
 * for a bind to port 0), for ssh=auto. Another program may take it before
 * QEMU does: a small race, said in rpifs(1). @return 0 or -errno.
 */
int net_free_port(unsigned *port);

/*
 * QEMU's -netdev value for @c ("user,id=net0,..."), with @ssh_port the
 * port ssh uses at this boot (0: none). guestfwd rules run @relay (a
 * program path, no spaces) with NET_RELAY_COMMAND and the host port, one
 * process per guest connection. @return malloc'd, or NULL (no memory).
 */
char *net_netdev(const struct net_config *c, unsigned ssh_port,
		 const char *relay);

/*
 * The network in one line, for the status: "user (usb-net), ssh
 * 127.0.0.1:2222 -> 22, ...". @ssh_port is the boot's port; 0 with
 * ssh_auto says "auto".
 */
void net_describe(const struct net_config *c, unsigned ssh_port,
		  struct buf *out);

#endif
