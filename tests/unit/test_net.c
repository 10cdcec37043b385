// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Unit tests of the guest's network (launcher/net.c): forward rules as the
 * mount options write them, the checks between options, QEMU's -netdev
 * value for each mode, the status line, ssh=auto's free port, and the
 * network part of QEMU's argument vector.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "../../launcher/net.h"
#include "../../launcher/qemu.h"

static void test_modes(void **state)
{
	enum net_mode mode = NET_NONE;

	(void)state;
	assert_int_equal(net_mode_parse("user", &mode), 0);
	assert_int_equal(mode, NET_USER);
	assert_int_equal(net_mode_parse("restricted", &mode), 0);
	assert_int_equal(mode, NET_RESTRICTED);
	assert_int_equal(net_mode_parse("none", &mode), 0);
	assert_int_equal(mode, NET_NONE);
	assert_int_equal(net_mode_parse("", &mode), -EINVAL);
	assert_int_equal(net_mode_parse("User", &mode), -EINVAL);
	assert_string_equal(net_mode_name(NET_RESTRICTED), "restricted");
}

static void test_forward_parse(void **state)
{
	struct net_forward f;
	char err[256];

	(void)state;
	assert_int_equal(
		net_forward_parse("tcp:8080:80", false, &f, err, sizeof(err)),
		0);
	assert_int_equal(f.proto, NET_TCP);
	assert_int_equal(f.host_port, 8080);
	assert_int_equal(f.guest_port, 80);
	assert_int_equal(
		net_forward_parse("udp:5353:53", false, &f, err, sizeof(err)),
		0);
	assert_int_equal(f.proto, NET_UDP);
	/* guestfwd names the guest's port first. */
	assert_int_equal(
		net_forward_parse("tcp:80:8000", true, &f, err, sizeof(err)),
		0);
	assert_int_equal(f.guest_port, 80);
	assert_int_equal(f.host_port, 8000);
	assert_int_equal(
		net_forward_parse("tcp:65535:1", false, &f, err, sizeof(err)),
		0);

	static const char *const bad[] = {
		"",	      "tcp:",	      "tcp:80",
		"tcp:80:",    "tcp::80",      "tcp:0:80",
		"tcp:80:0",   "tcp:65536:80", "tcp:80:80:80",
		"tcp:-1:80",  "tcp:8o:80",    "sctp:80:80",
		"TCP:80:80",  "80:80",	      "tcp:1000000:80",
		"tcp: 80:80",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = '\0';
		assert_int_equal(
			net_forward_parse(bad[i], false, &f, err, sizeof(err)),
			-EINVAL);
		assert_non_null(strstr(err, "tcp:HOSTPORT:GUESTPORT"));
	}
	assert_int_equal(
		net_forward_parse("udp:53:5353", true, &f, err, sizeof(err)),
		-EINVAL);
	assert_non_null(strstr(err, "only TCP"));
}

static void test_check(void **state)
{
	struct net_config c = {.mode = NET_USER};
	char err[256];

	(void)state;
	assert_int_equal(net_check(&c, err, sizeof(err)), 0);
	c.mode = NET_NONE;
	assert_int_equal(net_check(&c, err, sizeof(err)), 0);
	c.ssh_auto = true;
	assert_int_equal(net_check(&c, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "net=none"));

	c = (struct net_config){.mode = NET_RESTRICTED, .ssh_port = 2222};
	c.hostfwd[c.hostfwd_count++] = (struct net_forward){NET_UDP, 2222, 22};
	assert_int_equal(net_check(&c, err, sizeof(err)), 0);
	c.hostfwd[c.hostfwd_count++] = (struct net_forward){NET_TCP, 2222, 80};
	assert_int_equal(net_check(&c, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "ssh=2222"));
	c.hostfwd[1].host_port = 8080;
	assert_int_equal(net_check(&c, err, sizeof(err)), 0);
	c.hostfwd[c.hostfwd_count++] = (struct net_forward){NET_TCP, 8080, 81};
	assert_int_equal(net_check(&c, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "twice"));

	c = (struct net_config){.mode = NET_RESTRICTED};
	c.guestfwd[c.guestfwd_count++] =
		(struct net_forward){NET_TCP, 8000, 80};
	c.guestfwd[c.guestfwd_count++] =
		(struct net_forward){NET_TCP, 8001, 80};
	assert_int_equal(net_check(&c, err, sizeof(err)), -EINVAL);
	c.guestfwd[1].guest_port = 81;
	assert_int_equal(net_check(&c, err, sizeof(err)), 0);
}

static void test_netdev(void **state)
{
	struct net_config c = {.mode = NET_USER};
	char *s;

	(void)state;
	s = net_netdev(&c, 0, "/proc/1/exe");
	assert_string_equal(s, "user,id=net0");
	free(s);
	s = net_netdev(&c, 2222, "/proc/1/exe");
	assert_string_equal(s, "user,id=net0,hostfwd=tcp:127.0.0.1:2222-:22");
	free(s);

	c.mode = NET_RESTRICTED;
	c.hostfwd[c.hostfwd_count++] = (struct net_forward){NET_TCP, 8080, 80};
	c.hostfwd[c.hostfwd_count++] = (struct net_forward){NET_UDP, 5353, 53};
	c.guestfwd[c.guestfwd_count++] =
		(struct net_forward){NET_TCP, 18000, 8000};
	s = net_netdev(&c, 40000, "/proc/7/exe");
	assert_string_equal(s, "user,id=net0,restrict=on"
			       ",hostfwd=tcp:127.0.0.1:40000-:22"
			       ",hostfwd=tcp:127.0.0.1:8080-:80"
			       ",hostfwd=udp:127.0.0.1:5353-:53"
			       ",guestfwd=tcp:10.0.2.100:8000-cmd:/proc/7/exe "
			       "guestfwd-relay 18000");
	free(s);
}

static void test_describe(void **state)
{
	struct net_config c = {.mode = NET_USER, .ssh_auto = true};
	struct buf b = {0};

	(void)state;
	net_describe(&c, 0, &b);
	buf_append(&b, "", 1);
	assert_string_equal((char *)b.data,
			    "user (usb-net), ssh 127.0.0.1:auto -> 22");
	b.len = 0;
	net_describe(&c, 41234, &b);
	buf_append(&b, "", 1);
	assert_string_equal((char *)b.data,
			    "user (usb-net), ssh 127.0.0.1:41234 -> 22");
	b.len = 0;
	c = (struct net_config){.mode = NET_RESTRICTED};
	c.guestfwd[c.guestfwd_count++] =
		(struct net_forward){NET_TCP, 18000, 8000};
	c.hostfwd[c.hostfwd_count++] = (struct net_forward){NET_UDP, 5353, 53};
	net_describe(&c, 0, &b);
	buf_append(&b, "", 1);
	assert_string_equal((char *)b.data,
			    "restricted (usb-net, restrict=on: the guest "
			    "reaches only what is forwarded)"
			    ", udp 127.0.0.1:5353 -> 53, guest 10.0.2.100:8000 "
			    "-> 127.0.0.1:18000");
	b.len = 0;
	c.mode = NET_NONE;
	net_describe(&c, 0, &b);
	buf_append(&b, "", 1);
	assert_string_equal((char *)b.data, "none");
	buf_free(&b);
}

/* The port is on 127.0.0.1 and free: a listener can take it. */
static void test_free_port(void **state)
{
	struct sockaddr_in sa = {.sin_family = AF_INET};
	unsigned port = 0;
	int fd;

	(void)state;
	assert_int_equal(net_free_port(&port), 0);
	assert_true(port > 0 && port < 65536);
	sa.sin_port = htons((uint16_t)port);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	fd = socket(AF_INET, SOCK_STREAM, 0);
	assert_true(fd >= 0);
	assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(listen(fd, 1), 0);
	close(fd);
}

/* The index of @arg in @argv, or -1. */
static int find_arg(char **argv, const char *arg)
{
	for (int i = 0; argv[i]; i++)
		if (strcmp(argv[i], arg) == 0)
			return i;
	return -1;
}

static void test_qemu_argv(void **state)
{
	struct qemu_info q = {.path = "/usr/bin/qemu-system-aarch64"};
	struct net_config net = {.mode = NET_USER};
	struct qemu_config c = {
		.board = BOARD_RASPI3B,
		.name = "pi.img",
		.kernel = "k",
		.dtb = "d",
		.append = "console=ttyAMA0,115200",
		.image = "/img,with,commas",
		.serial_socket = "s",
		.serial_log = "l",
		.qmp_socket = "q",
		.net = &net,
		.relay = "/proc/1/exe",
	};
	char **argv;
	int i;

	(void)state;
	/* The default: usb-net on user networking, nothing forwarded. */
	argv = qemu_argv(&q, &c);
	assert_non_null(argv);
	i = find_arg(argv, "-netdev");
	assert_true(i > 0);
	assert_string_equal(argv[i + 1], "user,id=net0");
	/* The device right after its netdev (the first -device is usb-kbd). */
	assert_string_equal(argv[i + 2], "-device");
	assert_string_equal(argv[i + 3], "usb-net,netdev=net0");
	assert_int_equal(find_arg(argv, "-nic"), -1);
	qemu_argv_free(argv);

	c.ssh_port = 2222;
	argv = qemu_argv(&q, &c);
	i = find_arg(argv, "-netdev");
	assert_string_equal(argv[i + 1],
			    "user,id=net0,hostfwd=tcp:127.0.0.1:2222-:22");
	qemu_argv_free(argv);

	/* net=none: no device, and QEMU adds none of its own. */
	net.mode = NET_NONE;
	argv = qemu_argv(&q, &c);
	assert_int_equal(find_arg(argv, "-netdev"), -1);
	assert_int_equal(find_arg(argv, "usb-net,netdev=net0"), -1);
	i = find_arg(argv, "-nic");
	assert_string_equal(argv[i + 1], "none");
	qemu_argv_free(argv);
}

/* TCG's threading: auto by the host's CPUs; tcg= overrides. */
static void test_tcg(void **state)
{
	(void)state;
	assert_false(qemu_tcg_multi(TCG_AUTO, 2));
	assert_false(qemu_tcg_multi(TCG_AUTO, TCG_MULTI_FROM_CPUS - 1));
	assert_true(qemu_tcg_multi(TCG_AUTO, TCG_MULTI_FROM_CPUS));
	assert_true(qemu_tcg_multi(TCG_MULTI, 1));
	assert_false(qemu_tcg_multi(TCG_SINGLE, 64));
	assert_true(qemu_host_cpus() >= 1);
}

/* qemu_args: one argument per line, added last; rpifs's own refused. */
static void test_extra_args(void **state)
{
	struct qemu_info q = {.path = "/usr/bin/qemu-system-aarch64"};
	struct qemu_config c = {
		.board = BOARD_RASPI4B,
		.name = "pi.img",
		.kernel = "k",
		.dtb = "d",
		.append = "a",
		.image = "i",
		.serial_socket = "s",
		.serial_log = "l",
		.qmp_socket = "q",
		.tcg_multi = true,
	};
	char path[] = "/tmp/rpifs-qemu-args-XXXXXX", err[256], **extra, **argv;
	int fd = mkstemp(path), i;
	FILE *f;

	(void)state;
	assert_true(fd >= 0);
	f = fdopen(fd, "w");
	assert_non_null(f);
	fputs("# a VNC display on the loopback, and a mouse\n\n-vnc\n"
	      "127.0.0.1:5\n-device\nusb-mouse,id=my mouse\n",
	      f);
	fclose(f);
	assert_int_equal(qemu_extra_load(path, &extra, err, sizeof(err)), 0);
	assert_string_equal(extra[0], "-vnc");
	assert_string_equal(extra[1], "127.0.0.1:5");
	assert_string_equal(extra[3], "usb-mouse,id=my mouse");
	assert_null(extra[4]);
	c.extra = extra;
	argv = qemu_argv(&q, &c);
	assert_non_null(argv);
	i = find_arg(argv, "-accel");
	assert_string_equal(argv[i + 1], "tcg,thread=multi");
	for (i = 0; argv[i]; i++)
		;
	assert_string_equal(argv[i - 4], "-vnc");
	assert_string_equal(argv[i - 1], "usb-mouse,id=my mouse");
	qemu_argv_free(argv);
	qemu_argv_free(extra);

	{
		char machine[] = "-machine", virt[] = "virt";
		char kernel[] = "--kernel", x[] = "x";
		char chardev[] = "-chardev",
		     serial[] = "socket,id=serial0,path=x";
		char device[] = "-device", nic[] = "e1000,netdev=net0";
		char tablet[] = "usb-tablet", vnc[] = "-vnc", one[] = ":1";
		char *bad1[] = {machine, virt, NULL};
		char *bad2[] = {kernel, x, NULL};
		char *bad3[] = {chardev, serial, NULL};
		char *bad4[] = {device, nic, NULL};
		char *good[] = {device, tablet, vnc, one, NULL};

		assert_int_equal(qemu_extra_check(bad1, err, sizeof(err)),
				 -EINVAL);
		assert_non_null(strstr(err, "-machine is rpifs's to set"));
		assert_int_equal(qemu_extra_check(bad2, err, sizeof(err)),
				 -EINVAL);
		assert_int_equal(qemu_extra_check(bad3, err, sizeof(err)),
				 -EINVAL);
		assert_non_null(strstr(err, "serial0"));
		assert_int_equal(qemu_extra_check(bad4, err, sizeof(err)),
				 -EINVAL);
		assert_int_equal(qemu_extra_check(good, err, sizeof(err)), 0);
	}
	unlink(path);
	assert_int_equal(qemu_extra_load(path, &extra, err, sizeof(err)),
			 -ENOENT);
	assert_non_null(strstr(err, "No such file"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_modes),
		cmocka_unit_test(test_forward_parse),
		cmocka_unit_test(test_check),
		cmocka_unit_test(test_netdev),
		cmocka_unit_test(test_describe),
		cmocka_unit_test(test_free_port),
		cmocka_unit_test(test_qemu_argv),
		cmocka_unit_test(test_tcg),
		cmocka_unit_test(test_extra_args),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
