# revportal: certificate revocation request portal.
#
#   make          build every binary into build/rel/
#   make deps     install the Debian packages (apt-get as root; else print the
#                 line) and the npm packages of the browser tests
#   make run      build and run the portal on https://127.0.0.1:8443/ (Ctrl-C stops)
#   make check    build and run every test; ends with "N passed, N failed"
#   make bench    throughput against a hello-world FastCGI baseline (not a test)
#   make fuzz     libFuzzer builds of the parsers (clang)
#   make clean


.SUFFIXES:

# Debian packages by name.  Everything a fresh machine needs for every target.
DEBS_BUILD = build-essential pkg-config libfcgi-dev libjansson-dev libinih-dev \
	libsqlite3-dev libssl-dev libcurl4-openssl-dev libargon2-dev
DEBS_RUN   = nginx openssl sqlite3 curl golang-cfssl
DEBS_TEST  = libcmocka-dev clang libclang-rt-14-dev wrk procps chromium python3 \
	softhsm2 libengine-pkcs11-openssl opensc python3-cryptography \
	python3-aiosmtpd
DEBS       = $(DEBS_BUILD) $(DEBS_RUN) $(DEBS_TEST)

PKGS = fcgi jansson inih sqlite3 libcrypto libargon2 libcurl

CC       = cc
PKG_CFLAGS = $$(pkg-config --cflags $(PKGS))
PKG_LIBS   = $$(pkg-config --libs $(PKGS))
WARN     = -std=c11 -D_DEFAULT_SOURCE -Wall -Wextra -Werror \
	-Wshadow -Wpointer-arith -Wstrict-prototypes -Wmissing-prototypes \
	-Wformat=2 -Wvla
HARDEN   = -O2 -D_FORTIFY_SOURCE=2 -fstack-protector-strong -fPIE
HARDEN_LD = -pie -Wl,-z,relro,-z,now
SAN      = -O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined \
	-fno-sanitize-recover=undefined

# Every module of cgi/ but the program entry points.
LIB_SRCS = cgi/buf.c cgi/log.c cgi/conf.c cgi/field.c cgi/http_parse.c \
	cgi/csrf.c cgi/tmpl.c cgi/db.c cgi/metrics.c cgi/http_resp.c \
	cgi/route.c cgi/h_pages.c cgi/h_ops.c cgi/h_test.c \
	cgi/dom.c cgi/policy.c cgi/x509.c cgi/audit.c cgi/registry.c \
	cgi/pass.c cgi/lifecycle.c cgi/csv.c cgi/nudge.c \
	cgi/h_public.c cgi/h_staff.c cgi/passflow.c cgi/staff.c \
	cgi/hc.c cgi/ca.c cgi/ca_cfssl.c cgi/ca_ejbca.c cgi/outbox.c \
	cgi/sig.c cgi/revchk.c cgi/chal.c cgi/csr.c cgi/mail.c \
	cgi/signflow.c cgi/h_sign.c cgi/h_signpage.c
MAIN_SRCS = cgi/main.c cgi/fcgi.c
ADMIN_SRCS = cgi/admin.c
RELAY_SRCS = cgi/relay.c

REL  = build/rel
ASAN = build/asan

REL_LIB_OBJS  = $(LIB_SRCS:cgi/%.c=$(REL)/%.o)
ASAN_LIB_OBJS = $(LIB_SRCS:cgi/%.c=$(ASAN)/%.o)
ASAN_MAIN_OBJS = $(MAIN_SRCS:cgi/%.c=$(ASAN)/%.o)

UNIT_TESTS = $(basename $(notdir $(wildcard tests/unit/test_*.c)))
UNIT_BINS  = $(UNIT_TESTS:%=$(ASAN)/unit/%)

all: $(REL)/revportal $(REL)/revportal-admin $(REL)/revportal-relay \
	$(REL)/hello-fcgi $(REL)/argon2-raw $(REL)/ecdsa-raw $(REL)/commit-raw \
	$(REL)/sign-client

$(REL)/revportal: $(REL_LIB_OBJS) $(MAIN_SRCS:cgi/%.c=$(REL)/%.o)
	$(CC) $(HARDEN) $(HARDEN_LD) -o $@ $(REL_LIB_OBJS) \
		$(MAIN_SRCS:cgi/%.c=$(REL)/%.o) $(PKG_LIBS)

$(REL)/revportal-admin: $(REL_LIB_OBJS) $(REL)/admin.o
	$(CC) $(HARDEN) $(HARDEN_LD) -o $@ $(REL_LIB_OBJS) $(REL)/admin.o \
		$(PKG_LIBS)

$(REL)/revportal-relay: $(REL_LIB_OBJS) $(REL)/relay.o
	$(CC) $(HARDEN) $(HARDEN_LD) -o $@ $(REL_LIB_OBJS) $(REL)/relay.o \
		$(PKG_LIBS)

# The benchmark baseline: the smallest libfcgi program, built the same way.
$(REL)/hello-fcgi: tests/bench/hello.c
	@mkdir -p $(REL)
	$(CC) $(WARN) $(HARDEN) $(HARDEN_LD) $(PKG_CFLAGS) -o $@ tests/bench/hello.c $(PKG_LIBS)

# The baselines and the load generator of the signed-submission benchmark.
$(REL)/ecdsa-raw: tests/bench/ecdsa_raw.c
	@mkdir -p $(REL)
	$(CC) $(WARN) $(HARDEN) $(HARDEN_LD) $(PKG_CFLAGS) -o $@ tests/bench/ecdsa_raw.c $(PKG_LIBS)

$(REL)/commit-raw: tests/bench/commit_raw.c
	@mkdir -p $(REL)
	$(CC) $(WARN) $(HARDEN) $(HARDEN_LD) $(PKG_CFLAGS) -o $@ tests/bench/commit_raw.c $(PKG_LIBS)

$(REL)/sign-client: tests/bench/sign_client.c
	@mkdir -p $(REL)
	$(CC) $(WARN) $(HARDEN) $(HARDEN_LD) -pthread $(PKG_CFLAGS) -o $@ tests/bench/sign_client.c $(PKG_LIBS) -pthread

# The baseline of the passphrase benchmark: raw libargon2 verifications.
$(REL)/argon2-raw: tests/bench/argon2_raw.c
	@mkdir -p $(REL)
	$(CC) $(WARN) $(HARDEN) $(HARDEN_LD) $(PKG_CFLAGS) -o $@ \
		tests/bench/argon2_raw.c $(PKG_LIBS)

$(REL)/%.o: cgi/%.c cgi/extern.h
	@mkdir -p $(REL)
	$(CC) $(WARN) $(HARDEN) $(PKG_CFLAGS) -c -o $@ $<

# The test build: sanitizers on, the test-only routes (RP_TESTING) and the
# fault-injection hooks (RP_UNITTEST) compiled in.  Unit tests link these
# objects; the integration tests run build/asan/revportal.
$(ASAN)/%.o: cgi/%.c cgi/extern.h
	@mkdir -p $(ASAN)
	$(CC) $(WARN) $(SAN) -DRP_UNITTEST -DRP_TESTING $(PKG_CFLAGS) -c -o $@ $<

$(ASAN)/revportal: $(ASAN_LIB_OBJS) $(ASAN_MAIN_OBJS)
	$(CC) $(SAN) -o $@ $(ASAN_LIB_OBJS) $(ASAN_MAIN_OBJS) $(PKG_LIBS)

$(ASAN)/revportal-admin: $(ASAN_LIB_OBJS) $(ASAN)/admin.o
	$(CC) $(SAN) -o $@ $(ASAN_LIB_OBJS) $(ASAN)/admin.o $(PKG_LIBS)

$(ASAN)/revportal-relay: $(ASAN_LIB_OBJS) $(ASAN)/relay.o
	$(CC) $(SAN) -o $@ $(ASAN_LIB_OBJS) $(ASAN)/relay.o $(PKG_LIBS)

# Unit tests link every library object; each test file names what it tests.
$(ASAN)/unit/%: tests/unit/%.c $(ASAN_LIB_OBJS) tests/unit/unit.h \
	tests/unit/unit_db.h tests/unit/unit_proc.h tests/unit/unit_ejbca_ref.h \
	tests/unit/unit_csr.h
	@mkdir -p $(ASAN)/unit
	$(CC) $(WARN) $(SAN) -DRP_UNITTEST -DRP_TESTING -Icgi $(PKG_CFLAGS) -o $@ $< \
		$(ASAN_LIB_OBJS) $(PKG_LIBS) $$(pkg-config --libs cmocka)

# Each fuzz target as a plain program replaying its saved corpus
# (tests/fuzz/corpus/ for fuzz_body, tests/fuzz/corpus-tmpl/ for fuzz_tmpl,
# tests/fuzz/corpus-x509/ for fuzz_x509, tests/fuzz/corpus-csv/ for fuzz_csv,
# tests/fuzz/corpus-cms/ for fuzz_cms).
FUZZ_TARGETS = fuzz_body fuzz_tmpl fuzz_x509 fuzz_csv fuzz_cms

$(ASAN)/%_replay: tests/fuzz/%.c tests/fuzz/replay.c $(ASAN_LIB_OBJS)
	$(CC) $(WARN) $(SAN) -Icgi $(PKG_CFLAGS) -o $@ $< \
		tests/fuzz/replay.c $(ASAN_LIB_OBJS) $(PKG_LIBS)

# libFuzzer builds: run e.g. build/fuzz/fuzz_body -max_total_time=60 DIR
fuzz: $(FUZZ_TARGETS:%=build/fuzz/%)
build/fuzz/%: tests/fuzz/%.c $(LIB_SRCS) cgi/extern.h
	@mkdir -p build/fuzz
	clang -std=c11 -D_DEFAULT_SOURCE -g -O1 \
		-fsanitize=fuzzer,address,undefined -Icgi $(PKG_CFLAGS) -o $@ \
		$< $(LIB_SRCS) $(PKG_LIBS)

deps:
	@sh deploy/deps.sh $(DEBS)
	@sh deploy/deps-npm.sh tests/browser

build-check: all $(UNIT_BINS) $(FUZZ_TARGETS:%=$(ASAN)/%_replay) \
	$(ASAN)/revportal $(ASAN)/revportal-admin $(ASAN)/revportal-relay

check:
	@$(MAKE) -s deps
	@$(MAKE) build-check
	@bash tests/run.sh

run:
	@$(MAKE) -s deps
	@$(MAKE) all
	@bash deploy/dev-run.sh

bench:
	@$(MAKE) -s deps
	@$(MAKE) all
	@bash tests/bench/bench.sh

clean:
	rm -rf build

.PHONY: all deps check build-check run bench fuzz clean
