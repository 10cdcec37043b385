#!/usr/bin/env bats
# SPDX-License-Identifier: GPL-2.0-or-later
#
# The guest's network: the mount options (net=, ssh=, hostfwd=,
# guestfwd=), the guestfwd relay, rpifs ssh's refusals, and boots: on the
# busybox fixture the default network (the guest's address and route,
# looked at from inside, nothing sent), net=none, and net=restricted
# with a guestfwd to a server the test runs on 127.0.0.1, ssh=auto and a
# hostfwd. (The systemd fixture's ssh, through rpifs ssh, is in
# tests/systemd.bats.)
#
# Nothing a guest sends here leaves this machine: every boot but the
# default network's is net=restricted or net=none, and every server a
# test starts listens on 127.0.0.1.

load helpers

bats_require_minimum_version 1.5.0

setup() {
	require_fuse
}

teardown() {
	if [ -n "${SERVER_PID:-}" ]; then
		kill "$SERVER_PID" 2>/dev/null || true
	fi
	cleanup_mounts
}

# A TCP port on 127.0.0.1 that nothing listens on now.
free_port() {
	python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# serve_http PORT DIR: a web server on 127.0.0.1:PORT serving DIR, its
# requests in $BATS_TEST_TMPDIR/http.log; SERVER_PID.
serve_http() {
	local port=$1 dir=$2 i
	python3 -u -m http.server --bind 127.0.0.1 --directory "$dir" "$port" \
		>"$BATS_TEST_TMPDIR/http.log" 2>&1 &
	SERVER_PID=$!
	for ((i = 0; i < 100; i++)); do
		grep -q "^Serving HTTP on 127.0.0.1 port $port" "$BATS_TEST_TMPDIR/http.log" && return 0
		sleep 0.1
	done
	cat "$BATS_TEST_TMPDIR/http.log"
	return 1
}

# What QEMU (pid PID) listens on, one "PROTO ADDRESS:PORT" a line.
listening() {
	ss -H -ltunp | awk -v p="pid=$1," 'index($0, p) { print $1, $5 }' | sort
}

# Commands in the shell a console_session left logged in on DIR's console.
guest_sh() {
	local dir=$1 c steps=('send:\n' 'expect:$ ')
	shift
	for c in "$@"; do
		steps+=("send:$c\n" 'expect:$ ')
	done
	"$CHAT" "$(status_of "$dir" 'console socket')" 60 "${steps[@]}"
}

# The first line a server on 127.0.0.1:PORT sends (within 10 s).
first_line() {
	local line=""
	exec 8<>"/dev/tcp/127.0.0.1/$1" || return 1
	read -r -t 10 line <&8 || true
	exec 8<&-
	echo "$line"
}

@test "mount options: net=, ssh=, hostfwd=, guestfwd= checked, each refusal one sentence" {
	local img=$BATS_TEST_TMPDIR/fat16.img m=$BATS_TEST_TMPDIR/m o
	copy_fixture fat16.img "$img"
	mkdir -p "$m"
	while IFS='|' read -r o msg; do
		run "$RPIFS" mount -o "$o" "$img" "$m"
		echo "$o: $output"
		[ "$status" -eq 2 ]
		[ "${#lines[@]}" -eq 1 ]
		[[ "$output" == *"$msg"* ]]
		not mountpoint -q "$m"
	done <<'EOF'
net=wifi|net=wifi: give net=user, net=restricted or net=none
ssh=0|ssh=0: give ssh=PORT (1 to 65535) or ssh=auto
ssh=65536|give ssh=PORT (1 to 65535) or ssh=auto
ssh=automatic|give ssh=PORT (1 to 65535) or ssh=auto
hostfwd=8080:80|hostfwd=8080:80: give tcp:HOSTPORT:GUESTPORT (or udp:HOSTPORT:GUESTPORT)
hostfwd=tcp:8080|each port 1 to 65535
hostfwd=tcp:8080:0|each port 1 to 65535
guestfwd=udp:53:5353|QEMU forwards only TCP from the guest
guestfwd=tcp:80|give tcp:GUESTPORT:HOSTPORT, each port 1 to 65535
net=none,ssh=2222|net=none has no network to forward ssh over
net=none,guestfwd=tcp:80:8000|net=none has no network to forward guestfwd over
ssh=2222,hostfwd=tcp:2222:80|ssh=2222 forwards that host port already
hostfwd=tcp:8080:80,hostfwd=tcp:8080:81|that host port is forwarded twice
guestfwd=tcp:80:8000,guestfwd=tcp:80:8001|that guest port is forwarded twice
EOF
	# TCP and UDP on one host port are two listeners; repeated rules add up.
	mount_rpifs "$img" "$m" -o net=restricted,ssh=auto,hostfwd=tcp:8080:80,hostfwd=udp:8080:80,guestfwd=tcp:80:8000,guestfwd=tcp:81:8001
	grep -qx 'network: restricted (usb-net, restrict=on: the guest reaches only what is forwarded), ssh 127.0.0.1:auto -> 22, tcp 127.0.0.1:8080 -> 80, udp 127.0.0.1:8080 -> 80, guest 10.0.2.100:80 -> 127.0.0.1:8000, guest 10.0.2.100:81 -> 127.0.0.1:8001' "$m/status"
	grep -qx 'ssh port: auto (a free one at each boot, shown here while the guest runs)' "$m/status"
	[[ "$(status_of "$m" 'ssh known hosts')" == "${XDG_STATE_HOME:-$HOME/.local/state}/rpifs/fat16.img-"*/known_hosts ]]
	umount_rpifs "$m"
	# The default: a network, nothing forwarded.
	"$RPIFS" mount "$img" "$m"
	grep -qx 'network: user (usb-net)' "$m/status"
	grep -qx 'ssh port: none (mount with -o ssh=PORT or ssh=auto)' "$m/status"
	not grep -q '^ssh known hosts:' "$m/status"
	umount_rpifs "$m"
	mount_rpifs "$img" "$m" -o net=none
	grep -qx 'network: none' "$m/status"
	grep -qx 'ssh port: none (net=none: no network)' "$m/status"
	umount_rpifs "$m"
}

@test "rpifs ssh and run --wait=ssh refuse in one line: no ssh forward, a guest not running" {
	local img=$BATS_TEST_TMPDIR/fat16.img m=$BATS_TEST_TMPDIR/m
	copy_fixture fat16.img "$img"
	mount_rpifs "$img" "$m"
	run "$RPIFS" ssh "$m"
	echo "$output"
	[ "$status" -eq 1 ]
	[ "${#lines[@]}" -eq 1 ]
	[[ "$output" == *"forwards no ssh port: mount the image with -o ssh=auto (or ssh=PORT)"* ]]
	run "$RPIFS" run "$m" --wait=ssh
	echo "$output"
	[ "$status" -eq 1 ]
	[ "${#lines[@]}" -eq 1 ]
	[[ "$output" == *"--wait=ssh: $m forwards no ssh port"* ]]
	[ "$(cat "$m/run")" = stopped ]
	umount_rpifs "$m"
	mount_rpifs "$img" "$m" -o ssh=2222
	run "$RPIFS" ssh "$m" -- true
	echo "$output"
	[ "$status" -eq 1 ]
	[ "${#lines[@]}" -eq 1 ]
	[[ "$output" == *"the guest is not running: start it with rpifs run $m --wait=ssh"* ]]
	run "$RPIFS" ssh
	[ "$status" -eq 2 ]
	[[ "$output" == "usage: rpifs ssh DIR"* ]]
	run "$RPIFS" ssh "$m" -i
	[ "$status" -eq 2 ]
	umount_rpifs "$m"
}

@test "rpifs guestfwd-relay PORT: one connection to 127.0.0.1:PORT, both ways, silent when refused" {
	local port
	port=$(free_port)
	# Replies with what it got, upper-cased, once the client's side ends.
	python3 -u -c '
import socket, sys
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", int(sys.argv[1]))); s.listen(4); print("ready")
for n in range(2):
    c, _ = s.accept(); data = b""
    while True:
        d = c.recv(4096)
        if not d: break
        data += d
    c.sendall(b"%d:" % n + data.upper()); c.close()
' "$port" >"$BATS_TEST_TMPDIR/srv.log" &
	SERVER_PID=$!
	for _ in $(seq 50); do grep -q ready "$BATS_TEST_TMPDIR/srv.log" && break; sleep 0.1; done
	[ "$(printf 'ping' | "$RPIFS" guestfwd-relay "$port")" = "0:PING" ]
	[ "$(printf 'again' | "$RPIFS" guestfwd-relay "$port")" = "1:AGAIN" ]
	wait "$SERVER_PID"
	SERVER_PID=
	# Nothing listens now: the guest's connection just closes.
	run "$RPIFS" guestfwd-relay "$port" </dev/null
	[ "$status" -eq 1 ]
	[ -z "$output" ]
}

@test "the default network: the guest has an address and a default route; nothing listens on the host" {
	require_qemu
	boot_fixture
	# The test of the default itself: nothing is sent, the guest is only
	# looked at from inside (its DHCP lease is QEMU's own).
	mount_rpifs "$IMG" "$MNT" -o net=user
	echo 'pi:raspberry' >"$MNT/userconf"
	"$RPIFS" run "$MNT" --wait --timeout 300
	grep -qx 'network: user (usb-net)' "$MNT/status"
	grep -q -- '-netdev user,id=net0 -device usb-net,netdev=net0$' <<<"$(status_of "$MNT" 'qemu argv')"
	# The argument vector in the run folder, one argument a line.
	grep -qx 'user,id=net0' "$(status_of "$MNT" 'run folder')/argv"
	[ -z "$(listening "$(status_of "$MNT" 'qemu pid')")" ]
	for _ in $(seq 600); do grep -q 'fixture: network up' "$MNT/console" && break; sleep 0.1; done
	run console_session "$MNT" pi raspberry 'ip -4 addr show eth0' 'ip route'
	echo "$output"
	[ "$status" -eq 0 ]
	[[ "$output" == *"inet 10.0.2.15/24"* ]]
	[[ "$output" == *"default via 10.0.2.2 dev eth0"* ]]
	"$RPIFS" stop "$MNT"
	umount_rpifs "$MNT"
}

@test "net=none: no network device at all" {
	require_qemu
	boot_fixture
	mount_rpifs "$IMG" "$MNT" -o net=none
	echo 'pi:raspberry' >"$MNT/userconf"
	"$RPIFS" run "$MNT" --wait --timeout 300
	grep -qx 'network: none' "$MNT/status"
	local argv
	argv=$(status_of "$MNT" 'qemu argv')
	[[ "$argv" == *" -nic none"* ]]
	[[ "$argv" != *usb-net* && "$argv" != *-netdev* ]]
	# The USB bus is up (its root hub, once the controller's deferred
	# probe is done), and a few seconds later still has no network on it.
	run console_session "$MNT" pi raspberry \
		'for i in $(seq 50); do [ -e /sys/bus/usb/devices/usb1 ] && break; sleep 1; done; sleep 5' \
		'ls /sys/bus/usb/devices' \
		'echo "nets=[" $(ls /sys/class/net) "]"'
	echo "$output"
	[ "$status" -eq 0 ]
	[[ "$output" == *usb1* ]]
	[[ "$output" == *"nets=[ lo ]"* ]]
	not grep -q 'fixture: network up' "$MNT/console"
	"$RPIFS" stop "$MNT"
	umount_rpifs "$MNT"
}

@test "net=restricted: guestfwd reaches the test's server on 127.0.0.1 (started late), nothing else; ssh=auto and hostfwd" {
	require_qemu
	boot_fixture
	local web hp
	web=$(free_port)
	hp=$(free_port)
	mkdir -p "$BATS_TEST_TMPDIR/www"
	echo 'hello from the host' >"$BATS_TEST_TMPDIR/www/hello.txt"
	# HTTP by busybox nc (its static wget crashes); octal escapes, since
	# chat would turn a backslash-r into the character.
	local GET="printf 'GET /hello.txt HTTP/1.0\\015\\012\\015\\012' | nc -w 10 10.0.2.100 8000"
	mount_rpifs "$IMG" "$MNT" -o "net=restricted,ssh=auto,hostfwd=tcp:$hp:8080,guestfwd=tcp:8000:$web"
	echo 'pi:raspberry' >"$MNT/userconf"
	run "$RPIFS" run "$MNT" --wait=ssh --timeout 300
	echo "$output"
	[ "$status" -eq 0 ]
	[[ "$output" == "ssh answers on 127.0.0.1:"*" after "*" s" ]]
	local port
	port=$(status_of "$MNT" 'ssh port' | sed -n 's/^127\.0\.0\.1:\([0-9]*\) .*/\1/p')
	[ -n "$port" ]
	[[ "$output" == *"127.0.0.1:$port "* ]]
	grep -q "^network: restricted (usb-net, restrict=on: the guest reaches only what is forwarded), ssh 127.0.0.1:$port -> 22, tcp 127.0.0.1:$hp -> 8080, guest 10.0.2.100:8000 -> 127.0.0.1:$web$" "$MNT/status"
	grep -qx "user,id=net0,restrict=on,hostfwd=tcp:127.0.0.1:$port-:22,hostfwd=tcp:127.0.0.1:$hp-:8080,guestfwd=tcp:10.0.2.100:8000-cmd:/proc/[0-9]*/exe guestfwd-relay $web" \
		"$(status_of "$MNT" 'run folder')/argv"
	# ssh=auto's port answers, as the fixture's port-22 responder (which
	# --wait=ssh's connection has just restarted).
	local banner=""
	for _ in $(seq 10); do
		banner=$(first_line "$port")
		[[ "$banner" == SSH-2.0-rpifs-fixture* ]] && break
		sleep 0.5
	done
	[[ "$banner" == SSH-2.0-rpifs-fixture* ]]
	# QEMU listens on the forwarded ports only, on 127.0.0.1 only.
	run listening "$(status_of "$MNT" 'qemu pid')"
	echo "$output"
	[ "$output" = "$(printf 'tcp 127.0.0.1:%s\ntcp 127.0.0.1:%s' "$port" "$hp" | sort)" ]

	# Before the host's server listens: the guest's connection closes
	# empty, QEMU goes on.
	run console_session "$MNT" pi raspberry \
		"echo \"early=[\$($GET)]\""
	echo "$output"
	[ "$status" -eq 0 ]
	[[ "$output" == *"early=[]"* ]]
	[[ "$(cat "$MNT/run")" == "running pid "* ]]
	serve_http "$web" "$BATS_TEST_TMPDIR/www"
	# Two fetches, two connections; then what is not forwarded: the
	# host's 127.0.0.1 by QEMU's 10.0.2.2 (reachable unrestricted), another
	# port of 10.0.2.100; and no default route. Then a guest server for
	# the hostfwd.
	run guest_sh "$MNT" \
		"$GET | grep -c '^hello from the host'" \
		"$GET | grep -c '^hello from the host'" \
		"nc -w 5 10.0.2.2 $web </dev/null; echo \"gw=\$?\"" \
		'nc -w 5 10.0.2.100 8001 </dev/null; echo "other=$?"' \
		'echo "routes=[" $(ip route) "]"' \
		'(echo from-the-guest | nc -l -p 8080 >/dev/null &); sleep 1; echo listening'
	echo "$output"
	[ "$status" -eq 0 ]
	[ "$(grep -c '^1.$' <<<"$output")" -eq 2 ]
	[[ "$output" == *"gw=1"* ]]
	[[ "$output" == *"other=1"* ]]
	[[ "$output" == *"routes=[ 10.0.2.0/24 dev eth0 scope link src 10.0.2.15 ]"* ]]
	[ "$(grep -c '"GET /hello.txt HTTP/1.0" 200' "$BATS_TEST_TMPDIR/http.log")" -eq 2 ]
	# hostfwd: 127.0.0.1:HP reaches the guest's port 8080.
	[ "$(first_line "$hp")" = from-the-guest ]
	"$RPIFS" stop "$MNT"
	# Stopped: the next boot picks a port again.
	grep -qx 'ssh port: auto (a free one at each boot, shown here while the guest runs)' "$MNT/status"
	umount_rpifs "$MNT"
}
