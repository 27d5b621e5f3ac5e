# fnguard — top-level build. `make help` lists the targets.
#
# Objects for a build variant go under $(BUILD); the sanitizer variant is
# the same rules with BUILD=build-asan and SAN=1.

VERSION := 0.1.0
CC ?= gcc
BUILD ?= build
PKGS := libseccomp libpcre2-8 yaml-0.1 libcjson nettle libcares libbpf minizip zlib
PYTHON := /usr/bin/python3
FUZZ_SECONDS ?= 20

ifeq ($(V),1)
Q :=
else
Q := @
endif

# snprintf truncation is the bounded behaviour we ask for, not a bug.
WARN := -Wall -Wextra -Werror -Wformat=2 -Wformat-security -Wshadow -Wpointer-arith \
	-Wcast-qual -Wstrict-prototypes -Wmissing-prototypes -Wvla -Wundef \
	-Wwrite-strings -Wimplicit-fallthrough -Wno-missing-field-initializers \
	-Wno-format-truncation
HARDEN := -fstack-protector-strong -fstack-clash-protection -fcf-protection -fPIE
ifeq ($(SAN),1)
OPT := -O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=all
SANLD := -fsanitize=address,undefined
else
OPT := -O2 -g -D_FORTIFY_SOURCE=2
SANLD :=
endif

PKG_CFLAGS = $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
# Libraries Debian ships as .a are linked in statically: fewer objects for
# the dynamic loader on every cold start (measured ~0.5 ms of a 3.5 ms
# start). cJSON has no static library in Debian and stays shared.
STATIC_PKGS := libseccomp libpcre2-8 yaml-0.1 nettle libcares libbpf minizip zlib
ifeq ($(SAN),1)
PKG_LIBS = $(shell pkg-config --libs $(PKGS) 2>/dev/null)
else ifeq ($(STATIC),1)
# The Lambda layer's binary: fully static (Lambda's glibc is older than
# Debian 12's), cJSON from Debian's source package (tools/cjson-static.sh).
PKG_LIBS = $(shell pkg-config --libs --static $(STATIC_PKGS) 2>/dev/null) \
	$(BUILD)/cjson/libcjson.a -lm
else
PKG_LIBS = -Wl,-Bstatic $(shell pkg-config --libs --static $(STATIC_PKGS) 2>/dev/null) \
	-Wl,-Bdynamic $(shell pkg-config --libs libcjson 2>/dev/null) -lm
endif

# llhttp, node's HTTP/1.1 parser: Debian's node-llhttp ships its C sources
# under /usr/share/llhttp, compiled here at build time (never copied in).
LLHTTP_DIR := /usr/share/llhttp
LLHTTP_INC := /usr/share/include/llhttp

CPPFLAGS += -D_GNU_SOURCE -DFNG_VERSION=\"$(VERSION)\" -Icommon -Ipolicy -Isupervisor -Irules \
	-Ireport -Ipreload -Ibpf -I$(BUILD)/bpf -I$(LLHTTP_INC)
CFLAGS := -std=gnu11 $(OPT) $(WARN) $(HARDEN) $(EXTRA_CFLAGS)
ifeq ($(STATIC),1)
LDFLAGS := -static -Wl,-z,relro,-z,now
else
LDFLAGS := -pie -Wl,-z,relro,-z,now $(SANLD)
endif

LIB_SRC := $(wildcard common/*.c policy/*.c rules/*.c report/*.c) \
	$(filter-out supervisor/main.c,$(wildcard supervisor/*.c)) \
	$(filter-out %.bpf.c,$(wildcard bpf/*.c))
LIB_OBJ := $(LIB_SRC:%.c=$(BUILD)/obj/%.o) \
	$(patsubst %,$(BUILD)/obj/llhttp/%.o,api http llhttp)
UNIT_SRC := $(wildcard tests/unit/*.c)
UNIT_OBJ := $(UNIT_SRC:%.c=$(BUILD)/obj/%.o)
HELPER_SRC := $(wildcard tests/helpers/*.c)
HELPERS := $(HELPER_SRC:tests/helpers/%.c=$(BUILD)/tests/helpers/%)

.PHONY: all asan deps check unit integration fuzz bench demo clean format format-check \
	helpers install help layer static-bin docker-test

all: $(BUILD)/fnguard $(BUILD)/libfnguard-preload.so

help:
	@echo "make          build build/fnguard"
	@echo "make deps     install the Debian packages fnguard needs (idempotent)"
	@echo "make check    deps + both builds + unit, fuzz and integration tests"
	@echo "make demo     deps + build + run the built-in example"
	@echo "make bench    benchmark tables (ratios against the bare runtime)"
	@echo "make asan     sanitizer build in build-asan/"
	@echo "make layer    the Lambda layer zip (build-static/fnguard-layer.zip)"
	@echo "make docker-test  run the layer in a real container (root; not part of check)"

$(BUILD)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(Q)$(CC) $(CPPFLAGS) $(PKG_CFLAGS) $(CFLAGS) -MMD -MP -c $< -o $@

# The bpf engine (bpf/): vmlinux.h from the running kernel's BTF, the
# programs compiled for the BPF target, their skeleton embedded in fnguard.
$(BUILD)/bpf/vmlinux.h:
	@mkdir -p $(dir $@)
	$(Q)bpftool btf dump file /sys/kernel/btf/vmlinux format c > $@.tmp && mv $@.tmp $@

$(BUILD)/bpf/%.bpf.o: bpf/%.bpf.c bpf/%.h $(BUILD)/bpf/vmlinux.h
	$(Q)clang -O2 -g -target bpf -Wall -Werror -I$(BUILD)/bpf -Ibpf -c $< -o $@

$(BUILD)/bpf/%.skel.h: $(BUILD)/bpf/%.bpf.o
	$(Q)bpftool gen skeleton $< name fng_$* > $@.tmp && mv $@.tmp $@

$(BUILD)/obj/bpf/bpfnet.o: $(BUILD)/bpf/net.skel.h
.PRECIOUS: $(BUILD)/bpf/%.bpf.o

# Generated code: our warning set is not its authors'.
$(BUILD)/obj/llhttp/%.o: $(LLHTTP_DIR)/%.c
	@mkdir -p $(dir $@)
	$(Q)$(CC) -std=gnu11 $(OPT) $(HARDEN) -w -I$(LLHTTP_INC) -c $< -o $@

# glibc warns that a static getaddrinfo would need its NSS modules: the
# layer resolves only numeric addresses (AWS_LAMBDA_RUNTIME_API,
# resolv.conf nameservers), so the warning is kept out of the build log.
$(BUILD)/fnguard: $(BUILD)/obj/supervisor/main.o $(LIB_OBJ)
	$(Q)$(CC) $(LDFLAGS) -o $@ $^ $(PKG_LIBS) 2>$(BUILD)/link.log || \
		{ cat $(BUILD)/link.log >&2; exit 1; }

# The preload tier's interposer, loaded into the workload: never built
# with sanitizers (their runtime must come first in a process), hidden
# symbols but the interposed ones, and glibc symbol versions kept old for
# Lambda (test_preload.py checks them).
PRELOAD_SRC := $(wildcard preload/*.c)
PRELOAD_OBJ := $(PRELOAD_SRC:%.c=$(BUILD)/obj-pic/%.o)
$(BUILD)/obj-pic/preload/%.o: preload/%.c $(wildcard preload/*.h)
	@mkdir -p $(dir $@)
	$(Q)$(CC) -std=gnu11 -O2 -g -D_GNU_SOURCE $(WARN) -fPIC -fvisibility=hidden \
		-fstack-protector-strong -c $< -o $@
$(BUILD)/libfnguard-preload.so: $(PRELOAD_OBJ)
	$(Q)$(CC) -shared -o $@ $^ -Wl,--no-as-needed -ldl -Wl,-z,relro,-z,now

$(BUILD)/tests/unit: $(UNIT_OBJ) $(LIB_OBJ)
	@mkdir -p $(dir $@)
	$(Q)$(CC) $(LDFLAGS) -o $@ $^ $(PKG_LIBS)

# Test helpers are deliberately plain: no sanitizers, static where they
# must run without the dynamic loader's own syscalls getting in the way.
$(BUILD)/tests/helpers/%: tests/helpers/%.c $(wildcard tests/helpers/*.h)
	@mkdir -p $(dir $@)
	$(Q)$(CC) -std=gnu11 -O1 -g -Wall -Wextra -Werror -D_GNU_SOURCE -o $@ $< -lpthread

# static_exec stands for a statically linked program (Go): no dynamic
# loader, so no LD_PRELOAD interposer.
$(BUILD)/tests/helpers/static_exec: tests/helpers/static_exec.c
	@mkdir -p $(dir $@)
	$(Q)$(CC) -std=gnu11 -O1 -g -Wall -Wextra -Werror -D_GNU_SOURCE -static -o $@ $<

# insp_bench runs the event inspection, so it links the library.
$(BUILD)/tests/helpers/insp_bench: tests/helpers/insp_bench.c $(LIB_OBJ)
	@mkdir -p $(dir $@)
	$(Q)$(CC) $(CPPFLAGS) $(PKG_CFLAGS) $(CFLAGS) $(LDFLAGS) -o $@ $^ $(PKG_LIBS)

# b64_check runs the base64 readings, built from their source.
$(BUILD)/tests/helpers/b64_check: tests/helpers/b64_check.c rules/b64.c rules/b64.h
	@mkdir -p $(dir $@)
	$(Q)$(CC) -std=gnu11 -O2 -g -Wall -Wextra -Werror -D_GNU_SOURCE -Irules -o $@ $< \
		rules/b64.c -lpthread

# sqli_check runs the detector itself, so it is built from its sources.
$(BUILD)/tests/helpers/sqli_check: tests/helpers/sqli_check.c rules/sqli.c rules/sqli_lex.c \
		rules/sqli.h rules/sqli_lex.h
	@mkdir -p $(dir $@)
	$(Q)$(CC) -std=gnu11 -O2 -g -Wall -Wextra -Werror -D_GNU_SOURCE -Irules -o $@ $< \
		rules/sqli.c rules/sqli_lex.c

helpers: $(HELPERS)

asan:
	$(Q)$(MAKE) --no-print-directory BUILD=build-asan SAN=1 build-asan/fnguard build-asan/tests/unit \
		build-asan/libfnguard-preload.so

unit: $(BUILD)/tests/unit
	$(Q)$(BUILD)/tests/unit

# libFuzzer targets: tests/fuzz/fuzz_NAME.c, linked with the pure modules
# (policy/, common/) and the supervisor or rules files FUZZ_EXTRA_NAME names.
FUZZERS := $(patsubst tests/fuzz/fuzz_%.c,%,$(wildcard tests/fuzz/fuzz_*.c))
FUZZ_EXTRA_dns := supervisor/dns.c
FUZZ_EXTRA_literal := rules/literal.c
FUZZ_EXTRA_archive := supervisor/archive.c
FUZZ_EXTRA_sqli := rules/sqli.c rules/sqli_lex.c
FUZZ_EXTRA_http := supervisor/http.c $(wildcard $(LLHTTP_DIR)/*.c) -I$(LLHTTP_INC)
FUZZ_EXTRA_inspect := $(wildcard rules/*.c)
FUZZ_EXTRA_report := $(wildcard report/*.c) -Ireport
FUZZ_CC := clang -std=gnu11 -g -O1 -fsanitize=fuzzer,address,undefined -D_GNU_SOURCE \
	-DFNG_VERSION=\"$(VERSION)\" \
	-Icommon -Ipolicy -Isupervisor -Irules

build-fuzz/fuzz_%: tests/fuzz/fuzz_%.c $(wildcard policy/*.c policy/*.h common/*.h supervisor/*.h) \
		$(wildcard supervisor/dns.c supervisor/http.c rules/*.c rules/*.h report/*.[ch])
	@mkdir -p $(dir $@)
	$(Q)$(FUZZ_CC) $(PKG_CFLAGS) -o $@ $< $(wildcard policy/*.c common/*.c) $(FUZZ_EXTRA_$*) \
		$(shell pkg-config --libs $(PKGS) 2>/dev/null)

# Each target runs FUZZ_SECONDS on its corpus (tests/fuzz/corpus_NAME, and
# policy/examples for the policy loader); a crash fails the build.
fuzz: $(FUZZERS:%=build-fuzz/fuzz_%)
	$(Q)for f in $(FUZZERS); do \
		mkdir -p build-fuzz/corpus_$$f; \
		seeds=$$(ls -d tests/fuzz/corpus_$$f 2>/dev/null); \
		[ $$f = policy ] && seeds="policy/examples tests/fuzz/corpus"; \
		echo "fuzz_$$f: $(FUZZ_SECONDS) s"; \
		build-fuzz/fuzz_$$f -max_total_time=$(FUZZ_SECONDS) -timeout=5 -rss_limit_mb=2048 \
			-artifact_prefix=build-fuzz/ -print_final_stats=0 build-fuzz/corpus_$$f \
			$$seeds > build-fuzz/fuzz_$$f.log 2>&1 || { tail -30 build-fuzz/fuzz_$$f.log; exit 1; }; \
		grep -E '^(Done|#[0-9]+ +DONE)' build-fuzz/fuzz_$$f.log | tail -1; \
	done

deps:
	$(Q)tools/deps.sh

check: deps
	$(Q)$(MAKE) --no-print-directory format-check
	$(Q)$(MAKE) --no-print-directory all helpers $(BUILD)/tests/unit
	$(Q)$(MAKE) --no-print-directory asan
	$(Q)$(BUILD)/tests/unit
	$(Q)build-asan/tests/unit
	$(Q)$(MAKE) --no-print-directory fuzz
	$(Q)$(MAKE) --no-print-directory layer
	$(Q)FNGUARD=$(CURDIR)/build/fnguard HELPERS=$(CURDIR)/$(BUILD)/tests/helpers \
		LAYER=$(CURDIR)/$(LAYER) $(PYTHON) -m pytest -q -p no:cacheprovider tests/integration
	$(Q)FNGUARD=$(CURDIR)/build-asan/fnguard HELPERS=$(CURDIR)/$(BUILD)/tests/helpers \
		$(PYTHON) -m pytest -q -p no:cacheprovider tests/integration

integration: all helpers
	$(Q)FNGUARD=$(CURDIR)/$(BUILD)/fnguard HELPERS=$(CURDIR)/$(BUILD)/tests/helpers \
		$(PYTHON) -m pytest -q -p no:cacheprovider tests/integration

demo: deps all
	$(Q)tools/demo.sh $(CURDIR)/$(BUILD)/fnguard

bench: all helpers
	$(Q)tools/deps.sh bench
	$(Q)FNGUARD=$(CURDIR)/$(BUILD)/fnguard HELPERS=$(CURDIR)/$(BUILD)/tests/helpers \
		$(PYTHON) tests/bench/bench.py
	$(Q)FNGUARD=$(CURDIR)/$(BUILD)/fnguard HELPERS=$(CURDIR)/$(BUILD)/tests/helpers \
		$(PYTHON) tests/bench/bench_net.py
	$(Q)FNGUARD=$(CURDIR)/$(BUILD)/fnguard $(PYTHON) tests/bench/bench_code.py
	$(Q)FNGUARD=$(CURDIR)/$(BUILD)/fnguard $(PYTHON) tests/bench/bench_preload.py
	$(Q)FNGUARD=$(CURDIR)/$(BUILD)/fnguard $(PYTHON) tests/bench/fp_packs.py
	$(Q)HELPERS=$(CURDIR)/$(BUILD)/tests/helpers $(PYTHON) tests/bench/sqli_rates.py
	$(Q)FNGUARD=$(CURDIR)/$(BUILD)/fnguard HELPERS=$(CURDIR)/$(BUILD)/tests/helpers \
		$(PYTHON) tests/bench/bench_lambda.py
	$(Q)FNGUARD=$(CURDIR)/$(BUILD)/fnguard $(PYTHON) tests/bench/bench_report.py

PREFIX ?= /usr/local
install: all
	install -D -m 0755 $(BUILD)/fnguard $(DESTDIR)$(PREFIX)/bin/fnguard
	install -D -m 0644 $(BUILD)/libfnguard-preload.so $(DESTDIR)$(PREFIX)/lib/libfnguard-preload.so
	install -d $(DESTDIR)$(PREFIX)/share/fnguard/examples
	install -m 0644 policy/examples/*.yaml policy/examples/*.txt $(DESTDIR)$(PREFIX)/share/fnguard/examples/
	install -d $(DESTDIR)$(PREFIX)/share/fnguard/rules
	install -m 0644 rules/packs/*.yaml $(DESTDIR)$(PREFIX)/share/fnguard/rules/

# The Lambda layer: /opt/bin/fnguard (static), /opt/fnguard-wrapper for
# AWS_LAMBDA_EXEC_WRAPPER, /opt/bootstrap for custom runtimes, the rule
# packs and examples under /opt/share/fnguard.
LAYER := build-static/fnguard-layer.zip
layer: $(LAYER)

build-static/cjson/libcjson.a:
	$(Q)tools/cjson-static.sh build-static/cjson

static-bin: build-static/cjson/libcjson.a
	$(Q)$(MAKE) --no-print-directory BUILD=build-static STATIC=1 build-static/fnguard \
		build-static/libfnguard-preload.so

$(LAYER): static-bin tools/lambda/exec-wrapper tools/lambda/bootstrap \
		$(wildcard rules/packs/*.yaml policy/examples/*)
	$(Q)rm -rf build-static/layer && mkdir -p build-static/layer/bin build-static/layer/lib \
		build-static/layer/share/fnguard/rules build-static/layer/share/fnguard/examples
	$(Q)install -m 0755 build-static/fnguard build-static/layer/bin/fnguard
	$(Q)install -m 0644 build-static/libfnguard-preload.so build-static/layer/lib/
	$(Q)install -m 0755 tools/lambda/exec-wrapper build-static/layer/fnguard-wrapper
	$(Q)install -m 0755 tools/lambda/bootstrap build-static/layer/bootstrap
	$(Q)install -m 0644 rules/packs/*.yaml build-static/layer/share/fnguard/rules/
	$(Q)install -m 0644 policy/examples/* build-static/layer/share/fnguard/examples/
	$(Q)rm -f $@ && cd build-static/layer && $(PYTHON) -m zipfile -c ../fnguard-layer.zip \
		bin lib fnguard-wrapper bootstrap share
	@echo "make layer: $(LAYER) (unzip into /opt, or publish with aws lambda publish-layer-version)"

# A real container (tools/docker-test.sh): a private dockerd under
# build-docker/, a Debian base image made with debootstrap (cached), the layer
# in /opt; slow (a few minutes the first time), so not part of `make check`.
docker-test: deps layer
	$(Q)tools/docker-test.sh $(LAYER)

FORMAT_SRC = $(wildcard common/*.[ch] policy/*.[ch] rules/*.[ch] supervisor/*.[ch] report/*.[ch] \
	preload/*.[ch] bpf/*.[ch] \
	tests/unit/*.[ch] tests/fuzz/*.c tests/helpers/*.[ch])
format:
	clang-format -i $(FORMAT_SRC)
format-check:
	$(Q)clang-format --dry-run -Werror $(FORMAT_SRC)

clean:
	rm -rf build build-asan build-fuzz build-static build-docker

-include $(shell find build build-asan build-static -name '*.d' 2>/dev/null)
