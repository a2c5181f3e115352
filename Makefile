# cmsd and cmsctl: one plain Makefile.  `make` builds into build/;
# `make asan` builds into build-asan/ with AddressSanitizer + UBSan.
CC      ?= cc
BUILD   ?= build
PKGS     = libmicrohttpd jansson libsodium sqlite3 libpq gnutls libsystemd
WARN     = -std=c11 -Wall -Wextra -Werror -Wshadow -Wmissing-prototypes \
           -Wstrict-prototypes -Wformat=2 -Wno-format-nonliteral
OPT     ?= -O2 -g
CFLAGS  += $(WARN) $(OPT) -D_GNU_SOURCE $(shell pkg-config --cflags $(PKGS))
LDLIBS  += $(shell pkg-config --libs $(PKGS)) -lpthread

# cmsd's sources, main.c apart so that unit tests link the rest.
CMSD_SRC = xalloc.c log.c errors.c json.c config.c http.c request.c reply.c negotiate.c router.c \
           auth.c login.c resource.c \
           health.c cc.c user.c process.c lead.c campaign.c campaign_user.c \
           campaign_lead.c mapping.c changes.c feed.c assignments.c demo.c throttle.c proxy.c metrics.c cache.c writer.c looker.c hasher.c store_thread.c deadline.c linger.c head.c static.c tls.c strbuf.c store.c store_stmt.c store_exec.c \
           store_sqlite.c store_sqlite_vfs.c store_sqlite_backup.c store_pg.c backup.c listen.c
CMSD_OBJ = $(addprefix $(BUILD)/,$(CMSD_SRC:.c=.o)) $(BUILD)/embedded.o $(BUILD)/sql_files.o
UNIT_SRC = $(wildcard tests/unit/*.c)

# cmsctl's sources in src/cli/ (libcurl + jansson); it shares xalloc.c,
# strbuf.c and banned.h with cmsd.  CLI_PURE needs neither libcurl nor a network, so the
# unit tests link it too.
CLI_PKGS = libcurl jansson
CLI_PURE = cmsurl.c csv.c opts.c command.c outcome.c
CLI_SRC  = main.c cli.c http_client.c output.c cmd_session.c cmd_mapping.c \
           cmd_import.c cmd_watch.c cmd_resources.c explain.c $(CLI_PURE)
CLI_OBJ  = $(addprefix $(BUILD)/cli/,$(CLI_SRC:.c=.o))
CLI_LIBS = $(shell pkg-config --libs $(CLI_PKGS))

# Man pages: man/NAME.SECTION.scd, turned into $(BUILD)/man/NAME.SECTION by
# scdoc (scripts/bootstrap installs it; docs/decisions.md says why scdoc).
MANS = $(BUILD)/man/cmsd.8 $(BUILD)/man/cmsctl.1

.PHONY: all clean test asan asan-build run valgrind soak install uninstall deb
all: $(BUILD)/cmsd $(BUILD)/cmsctl $(BUILD)/unit_tests $(MANS)

$(BUILD)/%.o: src/%.c src/*.h | $(BUILD)
	$(CC) $(CFLAGS) -I$(BUILD) -c -o $@ $<

$(BUILD)/cli/%.o: src/cli/%.c src/cli/*.h src/*.h | $(BUILD)/cli
	$(CC) $(CFLAGS) $(shell pkg-config --cflags $(CLI_PKGS)) -Isrc -I$(BUILD) -c -o $@ $<

# The version both programs print (--version): scripts/version, from git
# describe or a tarball's VERSION file.  Remade on every run, but written only
# when it changes, so that only what includes it is rebuilt.
$(BUILD)/version.h: FORCE | $(BUILD)
	@scripts/version --header $@
$(BUILD)/config.o $(BUILD)/cli/main.o: $(BUILD)/version.h
.PHONY: FORCE
FORCE:

$(BUILD):
	mkdir -p $(BUILD)

$(BUILD)/cli:
	mkdir -p $(BUILD)/cli

$(BUILD)/man/%: man/%.scd
	@mkdir -p $(BUILD)/man
	scdoc < $< > $@.tmp && mv $@.tmp $@

# `make install`: PREFIX (default /usr/local) and DESTDIR as every Makefile
# has them.  cmsd is a daemon an administrator runs, so it goes to sbin as
# Debian puts daemons (/usr/sbin/sshd); cmsctl, for every user, to bin.
# docs/operations.md says what else a service needs (a user, a directory for
# the store, the environment file).
PREFIX  ?= /usr/local
DESTDIR ?=
INSTALL ?= install
BINDIR   = $(PREFIX)/bin
SBINDIR  = $(PREFIX)/sbin
MANDIR   = $(PREFIX)/share/man
DOCDIR   = $(PREFIX)/share/doc/cmsd
DOCS     = README.md docs/operations.md docs/cmsctl.md

install: $(BUILD)/cmsd $(BUILD)/cmsctl $(MANS)
	$(INSTALL) -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(SBINDIR) $(DESTDIR)$(MANDIR)/man1 \
		$(DESTDIR)$(MANDIR)/man8 $(DESTDIR)$(DOCDIR)
	$(INSTALL) -m 0755 $(BUILD)/cmsd $(DESTDIR)$(SBINDIR)/cmsd
	$(INSTALL) -m 0755 $(BUILD)/cmsctl $(DESTDIR)$(BINDIR)/cmsctl
	$(INSTALL) -m 0644 $(BUILD)/man/cmsd.8 $(DESTDIR)$(MANDIR)/man8/cmsd.8
	$(INSTALL) -m 0644 $(BUILD)/man/cmsctl.1 $(DESTDIR)$(MANDIR)/man1/cmsctl.1
	$(INSTALL) -m 0644 $(DOCS) $(DESTDIR)$(DOCDIR)/

# Removes what install put there, and the doc directory once empty.
uninstall:
	rm -f $(DESTDIR)$(SBINDIR)/cmsd $(DESTDIR)$(BINDIR)/cmsctl \
		$(DESTDIR)$(MANDIR)/man8/cmsd.8 $(DESTDIR)$(MANDIR)/man1/cmsctl.1 \
		$(addprefix $(DESTDIR)$(DOCDIR)/,$(notdir $(DOCS)))
	-rmdir $(DESTDIR)$(DOCDIR) 2>/dev/null

# The Debian packages cmsd and cmsctl, built by dpkg-buildpackage from a
# copy of the tree in $(BUILD)/deb (debian/changelog made from
# scripts/version there), then checked by lintian (LINTIAN=0 skips it);
# scripts/deb says more, docs/operations.md how to install them.
deb:
	scripts/deb $(BUILD)/deb

# The web console and the OpenAPI document, compiled into cmsd.
EMBED = $(sort $(wildcard web/*.html web/*.js web/*.css web/*.svg)) docs/openapi.json
$(BUILD)/embedded.c: scripts/embed $(EMBED) | $(BUILD)
	scripts/embed $@ $(foreach f,$(filter web/%,$(EMBED)),ui/$(notdir $(f))=$(f)) \
		openapi.json=docs/openapi.json

$(BUILD)/embedded.o: $(BUILD)/embedded.c src/embedded.h
	$(CC) $(CFLAGS) -Isrc -c -o $@ $<

# The schema and migrations of each backend (sql/<backend>/NNNN_name.sql),
# compiled into cmsd.
SQL_FILES = $(sort $(wildcard sql/*/*.sql))
$(BUILD)/sql_files.c: scripts/embed-sql $(SQL_FILES) | $(BUILD)
	scripts/embed-sql $@ sqlite=sql/sqlite pg=sql/postgresql

$(BUILD)/sql_files.o: $(BUILD)/sql_files.c src/sql.h src/store.h src/cms_limits.h
	$(CC) $(CFLAGS) -Isrc -c -o $@ $<

$(BUILD)/cmsd: $(CMSD_OBJ) $(BUILD)/main.o
	$(CC) $(CFLAGS) -o $@ $^ $(LDFLAGS) $(LDLIBS)

$(BUILD)/cmsctl: $(CLI_OBJ) $(BUILD)/xalloc.o $(BUILD)/strbuf.o
	$(CC) $(CFLAGS) -o $@ $^ $(LDFLAGS) $(CLI_LIBS)

$(BUILD)/unit_tests: $(UNIT_SRC) $(CMSD_OBJ) $(addprefix src/cli/,$(CLI_PURE)) src/*.h \
		src/cli/*.h tests/unit/*.h $(BUILD)/version.h
	$(CC) $(CFLAGS) -Isrc -I$(BUILD) -o $@ $(UNIT_SRC) $(addprefix src/cli/,$(CLI_PURE)) $(CMSD_OBJ) \
		$(LDFLAGS) $(LDLIBS)

# Every phase of the suite: normal, ASan+UBSan, valgrind.
test: all
	tests/all

# The sanitizer build alone, in build-asan/.
asan-build:
	$(MAKE) BUILD=build-asan OPT="-O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=all" \
		LDFLAGS="-fsanitize=address,undefined" all

# The whole suite against the sanitizer build (any report fails the run).
asan: asan-build
	CMSD_BIN=build-asan/cmsd UNIT_BIN=build-asan/unit_tests tests/run

# The black-box tests with cmsd under valgrind's memcheck.
valgrind: all
	CMSD_VALGRIND=1 tests/run --api-only

# Long forms of the tests that hold thousands of connections (issue 14):
# the 3,000-socket crowd and the 10,000 held connections for 2 minutes each.
soak: soak-crowds soak-pgrace

soak-crowds: all
	CMSD_T45_SECONDS=120 tests/run --api-only t45_crowds

run: all
	$(BUILD)/cmsd --demo --db sqlite:demo.db

clean:
	rm -rf build build-asan

# Long runs that the normal suite runs only in a short form: `make soak` runs
# each soak-* target.  soak-pgrace: tests/api/t48_pg_race.py (mapping PUTs
# racing user deletions and campaign-user removals; docs/reliability.md)
# for SOAK_ROUNDS rounds (at least 20), on SQLite with one node and on
# PostgreSQL with three: CMSD_TEST_PG's server if set, else a throw-away
# tests/pgserver, stopped afterwards.  Each store takes some 100 s.
SOAK_ROUNDS ?= 20
.PHONY: soak soak-crowds soak-pgrace
soak-pgrace: all
	CMSD_T48_ROUNDS=$(SOAK_ROUNDS) CMSD_TEST_PG= tests/run --api-only t48_pg_race
	@if [ -n "$$CMSD_TEST_PG" ]; then \
		CMSD_T48_ROUNDS=$(SOAK_ROUNDS) tests/run --api-only t48_pg_race; \
	else \
		d="$$(mktemp -d)" && u="$$(tests/pgserver start "$$d")" || exit 1; \
		CMSD_T48_ROUNDS=$(SOAK_ROUNDS) CMSD_TEST_PG="$$u" tests/run --api-only t48_pg_race; \
		rc=$$?; tests/pgserver stop "$$d"; exit $$rc; \
	fi

# libFuzzer harnesses, fuzz/*.c (docs/fuzzing.md): built with clang, ASan and
# UBSan into build-fuzz/, apart from build/.  `make fuzz-run FUZZ_SECONDS=60`
# fuzzes each harness that long; `make fuzz-regress` replays the committed
# inputs once.  Either fails on any crash, leak or sanitizer report.
FUZZ_NAMES   = body router auth negotiate cmsurl
FUZZ_SECONDS ?= 60
FUZZ_OBJ     = $(CMSD_OBJ) $(addprefix $(BUILD)/cli/,$(CLI_PURE:.c=.o))

.PHONY: fuzz fuzz-bins fuzz-run fuzz-regress fuzz-clean
fuzz:
	$(MAKE) BUILD=build-fuzz CC=clang LDFLAGS="-fsanitize=fuzzer,address,undefined" \
		OPT="-O1 -g -fno-omit-frame-pointer -fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=all" \
		fuzz-bins

fuzz-bins: $(addprefix $(BUILD)/fuzz_,$(FUZZ_NAMES))

# An archive, so that fuzz/router.c may include src/http.c in place of http.o.
$(BUILD)/libcmsd-fuzz.a: $(FUZZ_OBJ)
	rm -f $@ && ar rcs $@ $^

$(BUILD)/fuzz_%: fuzz/%.c fuzz/fuzz.h $(BUILD)/libcmsd-fuzz.a src/*.c src/cli/*.h
	$(CC) $(CFLAGS) -Isrc -o $@ $< $(BUILD)/libcmsd-fuzz.a $(LDFLAGS) $(LDLIBS)

fuzz-run: fuzz
	scripts/fuzz $(FUZZ_SECONDS)

fuzz-regress: fuzz
	scripts/fuzz --regress

clean: fuzz-clean
fuzz-clean:
	rm -rf build-fuzz

# Performance (docs/performance.md): an optimised cmsd and the paced client
# bench/pace in build-bench/, then bench/perf: wrk against cmsd and against
# nginx on a small and a large store, with wrk -t2 -c16 and -t1 -c32, one
# token on one lead and 32 tokens over 1,000 leads.  The large store (100
# campaigns, 100,000 leads, 5,000,000 mappings) is generated once by bench/gen
# and reused; `make bench-store` makes only it.  BENCH_ARGS goes to bench/perf
# (e.g. BENCH_ARGS="--only small --repeat 3", or "--settings 2x16"); tests/all
# runs `bench/perf --short` on build/.  `make bench-pg` is the same
# with cmsd on PostgreSQL: tests/pgserver's server in $(BENCH_PG), made on
# first use and stopped after each run with its data kept, so that the two
# generated databases (bench_small, bench_large) are reused;
# `make bench-pg-clean` removes it.
BENCH_BUILD = build-bench
BENCH_STORE = $(BENCH_BUILD)/store-large.db
BENCH_PG    = $(BENCH_BUILD)/pg
BENCH_ARGS ?=

.PHONY: bench bench-build bench-store bench-clean bench-pg bench-pg-clean
bench: bench-build $(BENCH_STORE)
	bench/perf --cmsd $(BENCH_BUILD)/cmsd --pace $(BENCH_BUILD)/pace \
		--large-store $(BENCH_STORE) $(BENCH_ARGS)

bench-pg: bench-build
	bench/perf --cmsd $(BENCH_BUILD)/cmsd --pace $(BENCH_BUILD)/pace \
		--pg-dir $(BENCH_PG) $(BENCH_ARGS)

bench-build:
	$(MAKE) BUILD=$(BENCH_BUILD) OPT="-O2 -g" $(BENCH_BUILD)/cmsd $(BENCH_BUILD)/pace \
		$(BENCH_BUILD)/probe $(BENCH_BUILD)/feedload

$(BUILD)/pace: bench/pace.c | $(BUILD)
	$(CC) $(WARN) -O2 -g -o $@ $<

$(BUILD)/probe: bench/probe.c | $(BUILD)
	$(CC) $(WARN) -O2 -g -pthread -o $@ $<

# The change feed under load (docs/feed.md): bench/feed drives bench/feedload
# (1,000 SSE subscribers and paced mapping PUTs in one epoll loop) against an
# optimised cmsd on SQLite.  FEED_ARGS goes to bench/feed (e.g.
# FEED_ARGS="--rates 500,1000 --seconds 10"); tests/all runs `bench/feed --short`.
FEED_ARGS ?=
.PHONY: bench-feed
bench-feed: bench-build
	bench/feed --cmsd $(BENCH_BUILD)/cmsd --load $(BENCH_BUILD)/feedload $(FEED_ARGS)

$(BUILD)/feedload: bench/feedload.c | $(BUILD)
	$(CC) $(WARN) -O2 -g -o $@ $<

bench-store: $(BENCH_STORE)
$(BENCH_STORE): bench/gen | bench-build
	bench/gen --cmsd $(BENCH_BUILD)/cmsd $@

clean: bench-clean
bench-clean: bench-pg-clean
	rm -rf $(BENCH_BUILD)

bench-pg-clean:
	tests/pgserver stop $(BENCH_PG)
