# SPDX-License-Identifier: GPL-2.0-or-later
#
# rpifs: make builds; make check and make demo first install what is
# missing (scripts/deps.sh), then build and run.
#
#   make [WERROR=1] [SANITIZE=1]       build $(BUILD)/rpifs
#   make check                         every test; ends "N passed, N failed"
#   make check-unit                    the unit tests only (no FUSE, no root)
#   make demo                          boot a demo image and log in
#   make bench                         benchmarks into bench/RESULTS.md
#   make fuzz [FUZZ_TIME=s]            libFuzzer targets, FUZZ_TIME s each
#   make soak [SOAK_TIME=s]            random workload, remounts and fsck
#   make crash                         every crash state of every workload
#   make install [PREFIX=] [DESTDIR=]  binary, man page, bash completion

VERSION := 0.1.0

PREFIX ?= /usr/local
BINDIR ?= $(PREFIX)/bin
MANDIR ?= $(PREFIX)/share/man
BASHCOMPDIR ?= $(PREFIX)/share/bash-completion/completions
DESTDIR ?=

PKG_CONFIG ?= pkg-config
CFLAGS ?= -O2 -g
WARNINGS := -Wall -Wextra -Wshadow -Wstrict-prototypes -Wmissing-prototypes \
	-Wwrite-strings -Wformat=2 -Wvla
BASE_CFLAGS := -std=c17 -D_GNU_SOURCE -D_FILE_OFFSET_BITS=64 $(WARNINGS) \
	-MMD -MP -DRPIFS_VERSION='"$(VERSION)"'
BASE_LDFLAGS :=

ifeq ($(WERROR),1)
BASE_CFLAGS += -Werror
endif

ifeq ($(FUZZ),1)
CC := clang
BUILD ?= build/fuzz
CFLAGS := -O1 -g
BASE_CFLAGS += -fsanitize=fuzzer-no-link,address,undefined \
	-fno-omit-frame-pointer -fno-sanitize-recover=undefined
BASE_LDFLAGS += -fsanitize=address,undefined
else ifeq ($(SANITIZE),1)
BUILD ?= build/san
BASE_CFLAGS += -fsanitize=address,undefined -fno-omit-frame-pointer \
	-fno-sanitize-recover=undefined
BASE_LDFLAGS += -fsanitize=address,undefined
else
BUILD ?= build
endif

# The write trace of the crash-state tests (fat/io.c); make crash and make
# check build it into $(BUILD)/trace.
ifeq ($(TRACE),1)
BASE_CFLAGS += -DRPIFS_IO_TRACE
endif

# Evaluated when a recipe runs, after the dependency step installed them.
PKG_CFLAGS = $(shell $(PKG_CONFIG) --cflags fuse3 blkid libcrypt)
PKG_LIBS = $(shell $(PKG_CONFIG) --libs fuse3 blkid libcrypt) -lfdt -lpthread
CORE_LIBS = $(shell $(PKG_CONFIG) --libs blkid)
CMOCKA_LIBS = $(shell $(PKG_CONFIG) --libs cmocka)

ALL_CFLAGS = $(BASE_CFLAGS) $(PKG_CFLAGS) $(CPPFLAGS) $(CFLAGS)
ALL_LDFLAGS = $(BASE_LDFLAGS) $(LDFLAGS)

CORE_SRCS := $(wildcard common/*.c fat/*.c partition/*.c)
APP_SRCS := $(wildcard fs/*.c launcher/*.c) rpifs.c
UNIT_SRCS := $(wildcard tests/unit/test_*.c)
TOOL_SRCS := $(wildcard tests/tools/*.c)

CORE_OBJS := $(CORE_SRCS:%.c=$(BUILD)/%.o)
APP_OBJS := $(APP_SRCS:%.c=$(BUILD)/%.o)
UNIT_BINS := $(UNIT_SRCS:tests/unit/%.c=$(BUILD)/tests/%)
TOOL_BINS := $(TOOL_SRCS:tests/tools/%.c=$(BUILD)/tests/%)
# Fuzz targets (tests/fuzz/fuzz_*.c): built with libFuzzer by make fuzz,
# and as replay_* (no libFuzzer) for make check, which runs the seed corpus
# and every regression input through them.
FUZZ_TARGETS := $(patsubst tests/fuzz/fuzz_%.c,%,$(wildcard tests/fuzz/fuzz_*.c))
REPLAY_BINS := $(FUZZ_TARGETS:%=$(BUILD)/tests/replay_%)
FUZZ_BINS := $(FUZZ_TARGETS:%=$(BUILD)/fuzz_%)
CORE_LIB := $(BUILD)/librpifs-core.a
# Parts of the launcher and of fs/ that unit tests link (pure functions:
# config.txt, the command line, userconf).
TESTABLE := launcher/config.c launcher/cmdline.c launcher/dtb.c \
	launcher/runs.c fs/userconf.c fs/buf.c
LAUNCH_OBJS := $(TESTABLE:%.c=$(BUILD)/%.o)

.PHONY: all deps check check-unit check-run demo bench fuzz fuzz-bins soak install \
	uninstall clean tests crash

all: $(BUILD)/rpifs

$(BUILD)/%.o: %.c
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) -c -o $@ $<

$(CORE_LIB): $(CORE_OBJS)
	@mkdir -p $(@D)
	$(AR) rcs $@ $^

$(BUILD)/rpifs: $(APP_OBJS) $(CORE_LIB)
	$(CC) $(ALL_LDFLAGS) -o $@ $(APP_OBJS) $(CORE_LIB) $(PKG_LIBS)

$(BUILD)/tests/%: tests/unit/%.c $(CORE_LIB) $(LAUNCH_OBJS)
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) $(ALL_LDFLAGS) -o $@ $< $(LAUNCH_OBJS) \
		$(CORE_LIB) $(CMOCKA_LIBS) $(PKG_LIBS)

$(BUILD)/tests/%: tests/tools/%.c $(CORE_LIB)
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) $(ALL_LDFLAGS) -o $@ $< $(CORE_LIB) $(PKG_LIBS)

$(BUILD)/tests/replay_%: tests/fuzz/fuzz_%.c tests/fuzz/replay.c \
		tests/fuzz/common.c $(CORE_LIB)
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) $(ALL_LDFLAGS) -o $@ $(filter %.c,$^) \
		$(CORE_LIB) $(PKG_LIBS)

# Only with FUZZ=1 (make fuzz sets it): clang, libFuzzer and sanitizers.
$(BUILD)/fuzz_%: tests/fuzz/fuzz_%.c tests/fuzz/common.c $(CORE_LIB)
	$(CC) $(ALL_CFLAGS) $(ALL_LDFLAGS) -fsanitize=fuzzer -o $@ \
		$(filter %.c,$^) $(CORE_LIB) $(PKG_LIBS)

tests: $(UNIT_BINS) $(TOOL_BINS) $(REPLAY_BINS)

fuzz-bins: $(FUZZ_BINS)

deps:
	@sh scripts/deps.sh build

check:
	@sh scripts/deps.sh check
	@$(MAKE) --no-print-directory all tests
	@$(MAKE) --no-print-directory TRACE=1 BUILD=$(BUILD)/trace all
	@BUILD=$(BUILD) sh tests/run.sh

# The unit tests alone: no FUSE, no QEMU, no root (CI runs them under
# SANITIZE=1).
check-unit:
	@sh scripts/deps.sh check
	@$(MAKE) --no-print-directory all tests
	@BUILD=$(BUILD) sh tests/run.sh unit

demo:
	@sh scripts/deps.sh demo
	@$(MAKE) --no-print-directory all
	@BUILD=$(BUILD) bash scripts/demo.sh

# Each libFuzzer target for FUZZ_TIME seconds (default 300) from the seed
# corpus in tests/fuzz/corpus; findings go to build/fuzz/findings.
fuzz:
	@sh scripts/deps.sh fuzz
	@$(MAKE) --no-print-directory FUZZ=1 fuzz-bins
	@bash tests/fuzz/run.sh $(FUZZ_TARGETS)

# A randomized workload for SOAK_TIME seconds (default 600) with unmounts,
# fsck.fat and remounts; not part of make check.
soak:
	@sh scripts/deps.sh check
	@$(MAKE) --no-print-directory all tests
	@BUILD=$(BUILD) bash tests/soak.sh

# Every crash state of every workload (tests/crash/README.md), with the
# tracing build in $(BUILD)/trace; ends with the states checked per
# workload and FAT type.
crash:
	@sh scripts/deps.sh check
	@$(MAKE) --no-print-directory all tests
	@$(MAKE) --no-print-directory TRACE=1 BUILD=$(BUILD)/trace all
	@BUILD=$(BUILD) bash tests/crash/run.sh full

bench:
	@sh scripts/deps.sh bench
	@$(MAKE) --no-print-directory all
	@BUILD=$(BUILD) bash bench/run.sh

install: $(BUILD)/rpifs
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(MANDIR)/man1 \
		$(DESTDIR)$(BASHCOMPDIR)
	install -m 0755 $(BUILD)/rpifs $(DESTDIR)$(BINDIR)/rpifs
	install -m 0644 man/rpifs.1 $(DESTDIR)$(MANDIR)/man1/rpifs.1
	install -m 0644 scripts/rpifs.bash-completion \
		$(DESTDIR)$(BASHCOMPDIR)/rpifs

uninstall:
	rm -f $(DESTDIR)$(BINDIR)/rpifs $(DESTDIR)$(MANDIR)/man1/rpifs.1 \
		$(DESTDIR)$(BASHCOMPDIR)/rpifs

clean:
	rm -rf build

-include $(CORE_OBJS:.o=.d) $(APP_OBJS:.o=.d) $(UNIT_BINS:=.d)
