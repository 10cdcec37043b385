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
#   make install [PREFIX=] [DESTDIR=]  binary, man page, bash completion,
#                                      mount.fuse.rpifs in $(SBINDIR)
#   make deb                           a Debian package (../rpifs_*.deb)

VERSION := 0.1.0

PREFIX ?= /usr/local
BINDIR ?= $(PREFIX)/bin
MANDIR ?= $(PREFIX)/share/man
BASHCOMPDIR ?= $(PREFIX)/share/bash-completion/completions
# mount(8) looks for its helpers (mount.fuse.rpifs) in /sbin only.
SBINDIR ?= /sbin
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
# Each library gets only its own dependencies' flags: the core libraries
# build and link without FUSE (tests/layers.sh checks that no file outside
# fs/ includes it, and that no include runs up the layers).
FUSE_CFLAGS = $(shell $(PKG_CONFIG) --cflags fuse3)
FUSE_LIBS = $(shell $(PKG_CONFIG) --libs fuse3) -lpthread
BLKID_CFLAGS = $(shell $(PKG_CONFIG) --cflags blkid)
BLKID_LIBS = $(shell $(PKG_CONFIG) --libs blkid)
CRYPT_LIBS = $(shell $(PKG_CONFIG) --libs libcrypt)
EXT2FS_CFLAGS = $(shell $(PKG_CONFIG) --cflags ext2fs com_err)
EXT2FS_LIBS = $(shell $(PKG_CONFIG) --libs ext2fs com_err)
FDT_LIBS = -lfdt
CMOCKA_LIBS = $(shell $(PKG_CONFIG) --libs cmocka)

ALL_CFLAGS = $(BASE_CFLAGS) $(CPPFLAGS) $(CFLAGS)
ALL_LDFLAGS = $(BASE_LDFLAGS) $(LDFLAGS)

# The libraries, lowest first: a library may use only those before it.
#   common     libc only
#   fat        FAT12/16/32 over a window of a file
#   partition  the image: table, locks, growth (libblkid)
#   pi         the Pi's boot rules (libfdt, libcrypt)
#   ext4       the root file system (libext2fs)
#   launcher   QEMU and its supervision
#   cli        the commands that need no FUSE
#   fs         the FUSE daemon (libfuse3)
LIBS := common fat partition pi ext4 launcher cli fs
$(foreach l,$(LIBS),$(eval $(l)_SRCS := $(wildcard $(l)/*.c)))
$(foreach l,$(LIBS),$(eval $(l)_OBJS := $$($(l)_SRCS:%.c=$$(BUILD)/%.o)))
$(foreach l,$(LIBS),$(eval $(l)_LIB := $$(BUILD)/librpifs-$(l).a))
ALL_OBJS := $(foreach l,$(LIBS),$($(l)_OBJS)) $(BUILD)/rpifs.o

$(BUILD)/partition/%.o: ALL_CFLAGS += $(BLKID_CFLAGS)
$(BUILD)/ext4/%.o: ALL_CFLAGS += $(EXT2FS_CFLAGS)
$(BUILD)/fs/%.o: ALL_CFLAGS += $(FUSE_CFLAGS)

# What links the core without FUSE: unit tests, tools, fuzzers.
CORE_LIBS := $(ext4_LIB) $(pi_LIB) $(partition_LIB) $(fat_LIB) $(common_LIB)
CORE_LDLIBS = $(EXT2FS_LIBS) $(BLKID_LIBS) $(CRYPT_LIBS) $(FDT_LIBS) -lpthread

UNIT_SRCS := $(wildcard tests/unit/test_*.c)
TOOL_SRCS := $(wildcard tests/tools/*.c)
UNIT_BINS := $(UNIT_SRCS:tests/unit/%.c=$(BUILD)/tests/%)
TOOL_BINS := $(TOOL_SRCS:tests/tools/%.c=$(BUILD)/tests/%)
# Fuzz targets (tests/fuzz/fuzz_*.c): built with libFuzzer by make fuzz,
# and as replay_* (no libFuzzer) for make check, which runs the seed corpus
# and every regression input through them.
FUZZ_TARGETS := $(patsubst tests/fuzz/fuzz_%.c,%,$(wildcard tests/fuzz/fuzz_*.c))
REPLAY_BINS := $(FUZZ_TARGETS:%=$(BUILD)/tests/replay_%)
FUZZ_BINS := $(FUZZ_TARGETS:%=$(BUILD)/fuzz_%)

.PHONY: all deps check check-unit check-run demo bench fuzz fuzz-bins soak install \
	format format-check \
	uninstall clean tests crash deb

all: $(BUILD)/rpifs

$(BUILD)/%.o: %.c
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) -c -o $@ $<

$(foreach l,$(LIBS),$(eval $$($(l)_LIB): $$($(l)_OBJS) ; @mkdir -p $$(@D) && $$(AR) rcs $$@ $$^))

$(BUILD)/rpifs: $(BUILD)/rpifs.o $(fs_LIB) $(cli_LIB) $(launcher_LIB) $(CORE_LIBS)
	$(CC) $(ALL_LDFLAGS) -o $@ $^ $(FUSE_LIBS) $(CORE_LDLIBS)

$(BUILD)/tests/%: tests/unit/%.c $(launcher_LIB) $(CORE_LIBS)
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) $(EXT2FS_CFLAGS) $(ALL_LDFLAGS) -o $@ $^ $(CMOCKA_LIBS) \
		$(CORE_LDLIBS)

$(BUILD)/tests/%: tests/tools/%.c $(CORE_LIBS)
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) $(ALL_LDFLAGS) -o $@ $^ $(CORE_LDLIBS)

$(BUILD)/tests/replay_%: tests/fuzz/fuzz_%.c tests/fuzz/replay.c \
		tests/fuzz/common.c $(CORE_LIBS)
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) $(ALL_LDFLAGS) -o $@ $^ $(CORE_LDLIBS)

# Only with FUZZ=1 (make fuzz sets it): clang, libFuzzer and sanitizers.
$(BUILD)/fuzz_%: tests/fuzz/fuzz_%.c tests/fuzz/common.c $(CORE_LIBS)
	$(CC) $(ALL_CFLAGS) $(ALL_LDFLAGS) -fsanitize=fuzzer -o $@ $^ \
		$(CORE_LDLIBS)

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

# Every C file as .clang-format says; names the files that differ.
format-check:
	@bad=0; for f in $$(git ls-files '*.c' '*.h'); do \
		clang-format "$$f" | cmp -s - "$$f" || { echo "$$f: not formatted (clang-format -i $$f)"; bad=1; }; \
	done; exit $$bad

format:
	@git ls-files '*.c' '*.h' | xargs clang-format -i

install: $(BUILD)/rpifs
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(MANDIR)/man1 \
		$(DESTDIR)$(MANDIR)/man8 $(DESTDIR)$(BASHCOMPDIR) $(DESTDIR)$(SBINDIR)
	install -m 0755 $(BUILD)/rpifs $(DESTDIR)$(BINDIR)/rpifs
	install -m 0644 man/rpifs.1 $(DESTDIR)$(MANDIR)/man1/rpifs.1
	install -m 0644 man/mount.fuse.rpifs.8 man/umount.fuse.rpifs.8 \
		$(DESTDIR)$(MANDIR)/man8/
	install -m 0644 scripts/rpifs.bash-completion \
		$(DESTDIR)$(BASHCOMPDIR)/rpifs
	for h in mount umount; do \
		sed 's|@RPIFS@|$(BINDIR)/rpifs|' scripts/$$h.fuse.rpifs \
			>$(DESTDIR)$(SBINDIR)/$$h.fuse.rpifs && \
		chmod 0755 $(DESTDIR)$(SBINDIR)/$$h.fuse.rpifs || exit 1; \
	done

uninstall:
	rm -f $(DESTDIR)$(BINDIR)/rpifs $(DESTDIR)$(MANDIR)/man1/rpifs.1 \
		$(DESTDIR)$(BASHCOMPDIR)/rpifs $(DESTDIR)$(SBINDIR)/mount.fuse.rpifs \
		$(DESTDIR)$(SBINDIR)/umount.fuse.rpifs \
		$(DESTDIR)$(MANDIR)/man8/mount.fuse.rpifs.8 \
		$(DESTDIR)$(MANDIR)/man8/umount.fuse.rpifs.8

# A Debian package from this checkout (debian/), into $(BUILD)/deb/.
deb:
	@sh scripts/deps.sh deb
	dpkg-buildpackage -us -uc -b
	mkdir -p $(BUILD)/deb
	mv ../rpifs_$(VERSION)_*.deb ../rpifs_$(VERSION)_*.changes \
		../rpifs_$(VERSION)_*.buildinfo $(BUILD)/deb/
	for f in ../rpifs-dbgsym_$(VERSION)_*.deb; do \
		[ ! -e "$$f" ] || mv "$$f" $(BUILD)/deb/; done
	@ls $(BUILD)/deb/*.deb

clean:
	rm -rf build

-include $(ALL_OBJS:.o=.d) $(UNIT_BINS:=.d)
