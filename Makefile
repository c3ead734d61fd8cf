# makedumpfile — a makedumpfile-compatible dump converter that understands
# QEMU guest dumps.  `make` builds ./makedumpfile; `make check` runs every test.

PREFIX ?= /usr/local
SBINDIR ?= $(PREFIX)/sbin
MANDIR ?= $(PREFIX)/share/man

CC ?= cc
PKG_CONFIG ?= pkg-config
CFLAGS ?= -O2 -g
WERROR ?= $(if $(CI),-Werror,)
WARN := -Wall -Wextra -Wshadow -Wstrict-prototypes -Wmissing-prototypes -Wformat=2 $(WERROR)
override CPPFLAGS += -D_GNU_SOURCE -MMD -MP

# Codecs: zlib is required; the others are built in when pkg-config (or the
# header, for lzo) finds them.  Only this block and src/codec/codec.c know.
HAVE_LZO := $(shell test -f /usr/include/lzo/lzo1x.h && echo 1)
HAVE_SNAPPY := $(shell test -f /usr/include/snappy-c.h && echo 1)
HAVE_ZSTD := $(shell $(PKG_CONFIG) --exists libzstd && echo 1)
HAVE_LIBDEFLATE := $(shell test -f /usr/include/libdeflate.h && echo 1)
LIBS := $(shell $(PKG_CONFIG) --libs zlib libelf libdw) -lm
ifeq ($(HAVE_LIBDEFLATE),1)
  override CPPFLAGS += -DHAVE_LIBDEFLATE
  LIBS += -ldeflate
endif
ifeq ($(HAVE_LZO),1)
  override CPPFLAGS += -DHAVE_LZO
  LIBS += -llzo2
endif
ifeq ($(HAVE_SNAPPY),1)
  override CPPFLAGS += -DHAVE_SNAPPY
  LIBS += -lsnappy
endif
ifeq ($(HAVE_ZSTD),1)
  override CPPFLAGS += -DHAVE_ZSTD $(shell $(PKG_CONFIG) --cflags libzstd)
  LIBS += $(shell $(PKG_CONFIG) --libs libzstd)
endif

ALL_CFLAGS = -std=c11 -pthread $(WARN) $(CFLAGS)

ENGINE_SRC := src/err.c src/notes.c src/dump.c src/rearrange.c \
	src/input/bsrc.c src/input/elf.c src/input/kdump.c \
	src/output/sink.c src/output/kdump_writer.c src/output/elf_writer.c src/output/cpool.c \
	src/codec/codec.c src/kernel/vmcoreinfo.c src/kernel/kernel.c src/kernel/symbols.c \
	src/qemu/qemu.c src/qemu/physbase.c arch/x86_64_physbase.c \
	src/filter/pageclass.c src/filter/filter.c src/kernel/dmesg.c src/kernel/dwarfinfo.c \
	arch/x86_64.c arch/other.c
SRC := makedumpfile.c cli/prepare.c cli/modes.c $(ENGINE_SRC)

BUILD := build
OBJ := $(SRC:%.c=$(BUILD)/%.o)
ASAN_OBJ := $(SRC:%.c=$(BUILD)/asan/%.o)

.PHONY: all check check-unit check-cli check-fixtures check-qemu check-fuzz clean install deps demo tools

all: makedumpfile

makedumpfile: $(OBJ)
	$(CC) $(ALL_CFLAGS) $(LDFLAGS) -o $@ $(OBJ) $(LIBS)

$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(ALL_CFLAGS) -c -o $@ $<

# The same program under AddressSanitizer and UBSan, for tests of bad input.
ASAN_FLAGS := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all
$(BUILD)/asan/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(ALL_CFLAGS) -O1 $(ASAN_FLAGS) -c -o $@ $<

$(BUILD)/makedumpfile-asan: $(ASAN_OBJ)
	$(CC) $(ALL_CFLAGS) -O1 $(ASAN_FLAGS) -o $@ $(ASAN_OBJ) $(LIBS)

# ---- unit tests: the engine linked with tests/unit/*.c ----
UNIT_SRC := $(wildcard tests/unit/*.c)
ENGINE_OBJ := $(ENGINE_SRC:%.c=$(BUILD)/%.o)
ENGINE_ASAN_OBJ := $(ENGINE_SRC:%.c=$(BUILD)/asan/%.o)
$(BUILD)/unit-tests: $(ENGINE_OBJ) $(UNIT_SRC:%.c=$(BUILD)/%.o)
	$(CC) $(ALL_CFLAGS) -o $@ $^ $(LIBS)
$(BUILD)/unit-tests-asan: $(ENGINE_ASAN_OBJ) $(UNIT_SRC:%.c=$(BUILD)/asan/%.o)
	$(CC) $(ALL_CFLAGS) -O1 $(ASAN_FLAGS) -o $@ $^ $(LIBS)

# ---- test tools (independent of the engine's writers) ----
TOOL_FLAGS := -std=c11 -O2 -g -Wall -Wextra $(WERROR) -D_GNU_SOURCE
tests/fixtures/mkvmcore: tests/fixtures/mkvmcore.c
	$(CC) $(TOOL_FLAGS) -o $@ $< $(shell $(PKG_CONFIG) --cflags --libs zlib libzstd) -llzo2 -lsnappy
tests/tools/kdcmp: tests/tools/kdcmp.c
	$(CC) $(TOOL_FLAGS) -o $@ $< $(shell $(PKG_CONFIG) --cflags --libs libkdumpfile)
tests/tools/elf2classic: tests/tools/elf2classic.c
	$(CC) $(TOOL_FLAGS) -o $@ $<

tools: tests/fixtures/mkvmcore tests/tools/kdcmp tests/tools/elf2classic

check: makedumpfile $(BUILD)/makedumpfile-asan $(BUILD)/unit-tests $(BUILD)/unit-tests-asan tools
	tests/run-all

install: makedumpfile
	install -D -m 0755 makedumpfile $(DESTDIR)$(SBINDIR)/makedumpfile
	install -D -m 0644 makedumpfile.8 $(DESTDIR)$(MANDIR)/man8/makedumpfile.8

# Debian packages needed to build, test and run the real-guest checks.
DEPS := build-essential pkg-config clang libclang-rt-14-dev zlib1g-dev liblzo2-dev \
	libsnappy-dev libzstd-dev libdeflate-dev libbz2-dev libelf-dev libdw-dev libkdumpfile-dev \
	makedumpfile crash python3-drgn qemu-system-x86 ovmf busybox-static cpio \
	kexec-tools xz-utils time
deps:
	@if dpkg -s $(DEPS) >/dev/null 2>&1; then echo "deps: all installed"; else \
	  apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q $(DEPS); fi

demo: makedumpfile tools
	tests/demo

clean:
	rm -rf $(BUILD) makedumpfile tests/fixtures/mkvmcore tests/tools/kdcmp tests/tools/elf2classic

-include $(OBJ:.o=.d) $(ASAN_OBJ:.o=.d) $(UNIT_SRC:%.c=$(BUILD)/%.d) $(UNIT_SRC:%.c=$(BUILD)/asan/%.d)
