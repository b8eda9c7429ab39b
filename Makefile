# engaged: build, test, demo.  See README.md.
#
#   make deps    install the Debian packages engaged needs (idempotent)
#   make         build build/engaged and the tools
#   make test    unit and integration tests (Criterion)
#   make demo    the whole pipeline on a synthetic stream, under a minute
#   make deps-kafka  Java, Maven and Apache Kafka for the real-broker runs
#   make kafka-check librdkafka against that Kafka, in about 30 s
#
# SANITIZE=address,undefined builds everything with those sanitizers.

VERSION  := 0.1.0
PREFIX   ?= /usr/local
CC       ?= cc
# A sanitized build keeps its objects apart: flags are not in make's view of
# what is up to date.
ifneq ($(SANITIZE),)
BUILD    ?= build-sanitize
endif
BUILD    ?= build
OPT      ?= -O2 -g

PKGS      := rdkafka jansson hiredis inih libmicrohttpd libsystemd libcurl
TEST_PKGS := criterion

# Debian packages: libraries, servers and tools the build, tests and demo use.
DEB_PKGS := pkg-config gcc make libc6-dev librdkafka-dev libjansson-dev \
            libhiredis-dev libinih-dev libcriterion-dev redis-server kcat \
            python3 python3-jsonschema valgrind libmicrohttpd-dev libsystemd-dev \
            python3-prometheus-client libcurl4-openssl-dev \
            prometheus-alertmanager python3-yaml chromium

WARN := -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes \
        -Wmissing-prototypes -Wpointer-arith -Wcast-qual -Wformat=2 \
        -Wno-format-nonliteral
CFLAGS   += -std=c11 -D_GNU_SOURCE $(OPT) $(WARN) -DENGAGED_VERSION='"$(VERSION)"'
ifneq ($(SANITIZE),)
CFLAGS   += -fsanitize=$(SANITIZE) -fno-omit-frame-pointer
LDFLAGS  += -fsanitize=$(SANITIZE)
endif

# Evaluated once, when a rule that compiles needs them; a missing library
# stops the build at $(BUILD)/.pkgs below, with pkg-config's own message.
PKG_CFLAGS  = $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS    = $(shell pkg-config --libs $(PKGS) 2>/dev/null) -lm -lpthread
TEST_CFLAGS = $(shell pkg-config --cflags $(TEST_PKGS) 2>/dev/null)
TEST_LIBS   = $(shell pkg-config --libs $(TEST_PKGS) 2>/dev/null)
# Header dependencies, tracked by the compiler (the .d files beside the
# objects).
DEPFLAGS    = -MMD -MP

CORE_SRC  := $(filter-out daemon/main.c,$(wildcard daemon/*.c))
# page_assets.o: the campaign page's files (daemon/page.h), generated below.
CORE_OBJ  := $(CORE_SRC:daemon/%.c=$(BUILD)/obj/%.o) $(BUILD)/obj/page_assets.o
TEST_SRC  := $(wildcard tests/*.c)
TEST_OBJ  := $(TEST_SRC:tests/%.c=$(BUILD)/obj/tests/%.o)
TOOL_SRC  := $(wildcard tools/*.c)
TOOLS     := $(TOOL_SRC:tools/%.c=$(BUILD)/engaged-%)
# tools/bench_parse.c is engaged-bench-parse (make bench-parse).
TOOLS     := $(filter-out $(BUILD)/engaged-bench_parse,$(TOOLS)) $(BUILD)/engaged-bench-parse

.PHONY: all deps test demo clean
.SECONDARY:
all: $(BUILD)/engaged $(TOOLS)

$(BUILD)/obj/%.o: daemon/%.c | $(BUILD)/obj $(BUILD)/.pkgs
	@echo "  CC    $<"
	@$(CC) $(CFLAGS) $(DEPFLAGS) $(PKG_CFLAGS) -c -o $@ $<

$(BUILD)/obj/tests/%.o: tests/%.c | $(BUILD)/obj/tests $(BUILD)/.pkgs
	@echo "  CC    $<"
	@$(CC) $(CFLAGS) $(DEPFLAGS) $(PKG_CFLAGS) $(TEST_CFLAGS) -Idaemon -c -o $@ $<

$(BUILD)/obj/tools/%.o: tools/%.c | $(BUILD)/obj/tools $(BUILD)/.pkgs
	@echo "  CC    $<"
	@$(CC) $(CFLAGS) $(DEPFLAGS) $(PKG_CFLAGS) -Idaemon -c -o $@ $<

# The campaign page: tools/embed.sh turns the files of daemon/page/ into C.
# The directory is a prerequisite too, so that adding or removing a file
# regenerates (its empty rule keeps make's built-in rules from linking
# daemon/page.c into a program called daemon/page).
daemon/page: ;
$(BUILD)/gen/page_assets.c: tools/embed.sh daemon/page $(wildcard daemon/page/*) | $(BUILD)/gen
	@echo "  GEN   $@"
	@tools/embed.sh daemon/page $@

$(BUILD)/obj/page_assets.o: $(BUILD)/gen/page_assets.c | $(BUILD)/obj $(BUILD)/.pkgs
	@echo "  CC    $<"
	@$(CC) $(CFLAGS) $(DEPFLAGS) -Idaemon -c -o $@ $<

-include $(wildcard $(BUILD)/obj/*.d $(BUILD)/obj/tests/*.d $(BUILD)/obj/tools/*.d)
# A build directory from before the .d files: its objects are built again
# once, so that header changes are tracked from then on.
ifneq ($(wildcard $(BUILD)/obj/*.o),)
ifeq ($(wildcard $(BUILD)/obj/*.d),)
$(shell rm -f $(BUILD)/obj/*.o $(BUILD)/obj/tests/*.o $(BUILD)/obj/tools/*.o)
endif
endif

# Every library the build needs, or one clear error naming the missing ones.
$(BUILD)/.pkgs: | $(BUILD)/obj
	@pkg-config --exists --print-errors $(PKGS) || { \
	  echo "make: the libraries above are missing: run make deps" >&2; exit 1; }
	@touch $@

$(BUILD)/engaged: $(BUILD)/obj/main.o $(CORE_OBJ)
	@echo "  LD    $@"
	@$(CC) $(LDFLAGS) -o $@ $^ $(PKG_LIBS)

$(BUILD)/engaged-%: $(BUILD)/obj/tools/%.o $(CORE_OBJ)
	@echo "  LD    $@"
	@$(CC) $(LDFLAGS) -o $@ $^ $(PKG_LIBS)

$(BUILD)/engaged-bench-parse: $(BUILD)/obj/tools/bench_parse.o $(CORE_OBJ)
	@echo "  LD    $@"
	@$(CC) $(LDFLAGS) -o $@ $^ $(PKG_LIBS)

# The tests inject allocation failures (tests/failalloc.h) into engaged's
# own objects: their calls to these functions go through the wrappers.
FAILALLOC := -Wl,--wrap=malloc,--wrap=calloc,--wrap=realloc,--wrap=strdup,--wrap=strndup
$(BUILD)/engaged-tests: $(TEST_OBJ) $(CORE_OBJ) | $(BUILD)/.test-pkgs
	@echo "  LD    $@"
	@$(CC) $(LDFLAGS) $(FAILALLOC) -o $@ $^ $(PKG_LIBS) $(TEST_LIBS)

$(BUILD)/obj $(BUILD)/obj/tests $(BUILD)/obj/tools $(BUILD)/gen:
	mkdir -p $@

$(BUILD)/.test-pkgs: | $(BUILD)/obj
	@pkg-config --exists --print-errors $(TEST_PKGS) || { \
	  echo "make: Criterion is missing: run make deps" >&2; exit 1; }
	@touch $@

# Installs only what is missing; needs root or sudo the first time.
deps:
	@missing=""; for p in $(DEB_PKGS); do \
	  dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q 'install ok installed' \
	    || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  echo "deps: installing$$missing"; \
	  SUDO=""; [ "$$(id -u)" = 0 ] || SUDO=sudo; \
	  $$SUDO env DEBIAN_FRONTEND=noninteractive apt-get update -qq && \
	  $$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing; \
	else echo "deps: all Debian packages present"; fi

# make deps-kafka: what the tests and the benchmark need to run a real Apache
# Kafka (tools/kafka.sh, docs/kafka.md): Java and Maven from Debian, then
# Kafka's jars from Maven Central into a cache outside the tree
# (~/.cache/engaged/kafka-VERSION), fetched once, and the JVM's
# class-data-sharing archive.  Not part of `make test`, which needs no Java.
KAFKA_DEB_PKGS := openjdk-17-jre-headless maven kcat python3
.PHONY: deps-kafka kafka-check
deps-kafka:
	@$(MAKE) --no-print-directory deps DEB_PKGS='$(KAFKA_DEB_PKGS)'
	tools/kafka.sh fetch

# make kafka-check: this machine's librdkafka (kcat) against that Kafka: an
# idempotent producer, consumer groups (cooperative-sticky, rebalancing),
# committed offsets, a broker SIGKILLed and restarted (tools/kafka_check.sh).
kafka-check: deps-kafka
	tools/kafka_check.sh


# test, demo and bench call deps once per build directory (the stamp keeps
# it quick), and again when this file (its package list) changes.
$(BUILD)/.deps: Makefile | $(BUILD)/obj
	$(MAKE) --no-print-directory deps
	touch $@

# make test runs every suite but the long ones (suites named long_*), which
# make test-long runs: the big fault and scale-out runs, valgrind.  The
# output is kept in $(BUILD)/test.log, and a failed run prints its
# failures again at the end (tools/run-tests.sh).
TEST_FILTER ?= !(long_*)/*
test: $(BUILD)/.deps
	$(MAKE) --no-print-directory all $(BUILD)/engaged-tests
	ENGAGED_BIN=$(CURDIR)/$(BUILD)/engaged ENGAGED_ROOT=$(CURDIR) \
	  ENGAGED_GEN=$(CURDIR)/$(BUILD)/engaged-gen \
	  LSAN_OPTIONS=suppressions=$(CURDIR)/tests/lsan.supp:print_suppressions=0 \
	  tools/run-tests.sh $(BUILD)/test.log \
	  $(BUILD)/engaged-tests --jobs 2 --filter '$(TEST_FILTER)' $(TEST_ARGS)

test-long:
	$(MAKE) --no-print-directory test TEST_FILTER='long_*/*'

# make test-kafka: the integration suites again, each test on an Apache
# Kafka broker of its own (ENGAGED_TEST_BROKER=kafka; tools/kafka.sh,
# docs/kafka.md) instead of the mock cluster: the pipeline, alerts,
# campaigns, hostile input, scale-out, the Redis SIGKILL fault and the
# broker SIGKILLed mid-stream.  Fault tests that need the mock's fault
# injection are left out (they skip on a real broker).
KAFKA_TEST_FILTER ?= @(@(pipeline|alerts|campaigns|hostile|scaleout)/*|faults/*kill*)
test-kafka: deps-kafka
	ENGAGED_TEST_BROKER=kafka $(MAKE) --no-print-directory test \
	  TEST_FILTER='$(KAFKA_TEST_FILTER)'

.PHONY: test-long test-kafka bench-scale

# make demo KEEP=1: engaged keeps running afterwards, with the campaign page
# at the address printed, until Ctrl-C.
demo: $(BUILD)/.deps
	$(MAKE) --no-print-directory all
	DEMO_KEEP='$(KEEP)' tools/demo.sh $(BUILD)

# make bench [BROKER=kafka] [BENCH_RUNS=3] [BENCH_EVENTS=1000000]
# [BENCH_OUT=FILE]: engaged against the kcat floor on a broker of its own
# (engaged-broker, the mock; BROKER=kafka: Apache Kafka from tools/kafka.sh)
# and a throwaway Redis (issue 6): events/s, Redis commands per event,
# latency, memory and CPU, medians of the runs, then an exactness check.
# Optimised build in build-bench/; tools/bench.sh describes every BENCH_*
# setting.
BENCH_BUILD := build-bench
BROKER ?= mock
.PHONY: bench
bench: $(BUILD)/.deps $(if $(filter kafka,$(BROKER)),deps-kafka)
	$(MAKE) --no-print-directory BUILD=$(BENCH_BUILD) OPT='-O2 -DNDEBUG' all
	BENCH_BROKER=$(BROKER) tools/bench.sh $(BENCH_BUILD)

# make bench-scale [BROKER=kafka] [BENCH_SCALE_ARGS='--runs 3 --instances
# 1,2 --check']: engaged's throughput with 1 and 2 instances in one consumer
# group over the same broker and Redis (tools/bench_scale.py --help).
BENCH_SCALE_ARGS ?= --runs 3 --instances 1,2 --check
bench-scale: $(BUILD)/.deps $(if $(filter kafka,$(BROKER)),deps-kafka)
	$(MAKE) --no-print-directory BUILD=$(BENCH_BUILD) OPT='-O2 -DNDEBUG' all
	tools/bench_scale.py --build $(BENCH_BUILD) --broker $(or $(BROKER),mock) $(BENCH_SCALE_ARGS)

# make bench-ab [BROKER=kafka] BENCH_AB_ARGS='--pairs 10 --fresh --bin-b
# PATH --conf-b "[kafka]\nfetch.max.bytes = 524288"': two builds or settings
# of engaged in interleaved pairs on one broker and one Redis, for changes
# smaller than the machine's run-to-run swing (tools/bench_ab.py --help).
BENCH_AB_ARGS ?= --pairs 10
.PHONY: bench-ab
bench-ab: $(BUILD)/.deps $(if $(filter kafka,$(BROKER)),deps-kafka)
	$(MAKE) --no-print-directory BUILD=$(BENCH_BUILD) OPT='-O2 -DNDEBUG' all
	tools/bench_ab.py --build $(BENCH_BUILD) --broker $(or $(BROKER),mock) $(BENCH_AB_ARGS)

# make bench-parse [BENCH_PARSE_EVENTS=200000]: event_parse (the one-pass
# scanner, jansson for what it declines) against jansson alone
# (event_parse_slow), in process on engaged-gen's stream: ns/event and
# events/s of each.  The same optimised build as make bench, in build-bench/.
BENCH_PARSE_EVENTS ?= 200000
.PHONY: bench-parse
bench-parse: $(BUILD)/.deps
	$(MAKE) --no-print-directory BUILD=$(BENCH_BUILD) OPT='-O2 -DNDEBUG' \
	  $(BENCH_BUILD)/engaged-gen $(BENCH_BUILD)/engaged-bench-parse
	$(BENCH_BUILD)/engaged-bench-parse -n $(BENCH_PARSE_EVENTS)

# make fuzz [FUZZ_SECONDS=60]: libFuzzer targets (tests/fuzz/) for the event
# parser and the config parser, built with clang and ASan/UBSan, each run for
# FUZZ_SECONDS over its seed corpus (tests/fuzz/corpus/) plus a scratch corpus
# in $(BUILD)/fuzz/.  A crash, leak or sanitizer report fails the target and
# leaves the input in $(BUILD)/fuzz/crash-<target>/; put a minimized copy
# (-minimize_crash=1) into the seed corpus, which `make test` replays.
FUZZ_SECONDS  ?= 60
FUZZ_CC       ?= clang
FUZZ_DEB_PKGS := clang libclang-rt-14-dev
FUZZ_PKGS     := jansson inih
FUZZ_CFLAGS   := -std=c11 -D_GNU_SOURCE -g -O1 $(WARN) \
                 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all
FUZZ_CORE     := daemon/event.c daemon/timefmt.c daemon/config.c daemon/log.c daemon/now.c \
                 daemon/buf.c
FUZZ_TARGETS  := event config
# Extra seeds: the event corpora of the unit and hostile tests, the reference
# configuration.
FUZZ_SEEDS_event  := tests/corpus/events tests/corpus/hostile
FUZZ_SEEDS_config := config

.PHONY: fuzz
fuzz: $(BUILD)/.deps
	@$(MAKE) --no-print-directory deps DEB_PKGS='$(FUZZ_DEB_PKGS)'
	@$(MAKE) --no-print-directory $(FUZZ_TARGETS:%=$(BUILD)/fuzz/fuzz_%)
	@set -e; for t in $(FUZZ_TARGETS); do \
	  mkdir -p $(BUILD)/fuzz/corpus-$$t $(BUILD)/fuzz/crash-$$t; \
	  echo "  FUZZ  $$t for $(FUZZ_SECONDS) s"; \
	  $(BUILD)/fuzz/fuzz_$$t -max_total_time=$(FUZZ_SECONDS) -max_len=8192 \
	    -print_final_stats=1 -artifact_prefix=$(BUILD)/fuzz/crash-$$t/ \
	    $(BUILD)/fuzz/corpus-$$t tests/fuzz/corpus/$$t \
	    $$(case $$t in event) echo $(FUZZ_SEEDS_event);; \
	                   config) echo $(FUZZ_SEEDS_config);; esac) \
	    > $(BUILD)/fuzz/$$t.log 2>&1 \
	    || { tail -n 60 $(BUILD)/fuzz/$$t.log; \
	         echo "fuzz: $$t failed; reproducer in $(BUILD)/fuzz/crash-$$t/"; \
	         exit 1; }; \
	  grep -E '^#[0-9]+.* cov: ' $(BUILD)/fuzz/$$t.log | tail -n 1; \
	  grep -E '^(Done|stat::average_exec)' $(BUILD)/fuzz/$$t.log | tr -s '\n ' ' '; \
	  echo; \
	done

# tests/test_fuzz_replay.c includes the targets.
$(BUILD)/obj/tests/test_fuzz_replay.o: $(wildcard tests/fuzz/*.c)

$(BUILD)/fuzz/fuzz_%: tests/fuzz/fuzz_%.c $(FUZZ_CORE) $(wildcard daemon/*.h)
	@mkdir -p $(BUILD)/fuzz
	@echo "  FUZZCC $@"
	@$(FUZZ_CC) $(FUZZ_CFLAGS) $(shell pkg-config --cflags $(FUZZ_PKGS)) \
	  -Idaemon -o $@ $< $(FUZZ_CORE) $(shell pkg-config --libs $(FUZZ_PKGS)) -lm

# make install [PREFIX=/usr/local] [DESTDIR=staging dir]: the daemon, its
# systemd unit, its man pages and, only when none is there yet, the reference
# configuration as /etc/engaged/engaged.conf (an operator's edits survive a
# reinstall).  The unit goes to $(PREFIX)/lib/systemd/system, which is on
# systemd's unit path for PREFIX=/usr/local and /usr alike, with ExecStart
# rewritten to $(PREFIX)/bin/engaged.  Then: systemctl daemon-reload.
.PHONY: install
install: $(BUILD)/engaged
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/lib/systemd/system \
	  $(DESTDIR)$(PREFIX)/share/man/man8 $(DESTDIR)$(PREFIX)/share/man/man5 \
	  $(DESTDIR)/etc/engaged
	install -m 0755 $(BUILD)/engaged $(DESTDIR)$(PREFIX)/bin/engaged
	sed 's|/usr/local/bin/engaged|$(PREFIX)/bin/engaged|' systemd/engaged.service \
	  > $(DESTDIR)$(PREFIX)/lib/systemd/system/engaged.service
	chmod 0644 $(DESTDIR)$(PREFIX)/lib/systemd/system/engaged.service
	install -m 0644 man/engaged.8 $(DESTDIR)$(PREFIX)/share/man/man8/engaged.8
	install -m 0644 man/engaged.conf.5 \
	  $(DESTDIR)$(PREFIX)/share/man/man5/engaged.conf.5
	@if [ -e $(DESTDIR)/etc/engaged/engaged.conf ]; then \
	  echo "install: keeping the existing $(DESTDIR)/etc/engaged/engaged.conf"; \
	else \
	  echo "install -m 0644 config/engaged.conf $(DESTDIR)/etc/engaged/engaged.conf"; \
	  install -m 0644 config/engaged.conf $(DESTDIR)/etc/engaged/engaged.conf; \
	fi

clean:
	rm -rf $(BUILD)
