# shellcheck shell=bash
# What the integration test scripts (and tests/browser/test_flows.sh)
# share, sourced by them from the repository top: the sanitizer defaults,
# the "ok N - name" / "not ok N - name" lines and their counts, curl
# against a stack, and test certificates made with openssl.  Not a test
# of its own: tests/run.sh runs only test_*.sh.
#
# The sourcing script sets $top (the repository top) before it sources
# this, $work (its temporary directory) before it calls req, hdr,
# body_has or status_is, and $pki before pki_init.  It may define
# check_detail: what it prints is added, a "#" line each, to the report
# of a failed check.
#
# $top, $work and $pki are the sourcing script's; BIN, ADMIN and RELAY
# are set here for it:
# shellcheck disable=SC2154,SC2034

# The programs under test, as absolute paths: the sanitizer build unless
# REVPORTAL_BIN, ADMIN or RELAY name others (relative to $top).
BIN=${REVPORTAL_BIN:-$top/build/asan/revportal}
ADMIN=${ADMIN:-$top/build/asan/revportal-admin}
RELAY=${RELAY:-$top/build/asan/revportal-relay}
for v in BIN ADMIN RELAY; do
	case ${!v} in /*) ;; *) printf -v "$v" '%s' "$top/${!v}" ;; esac
done
unset v

export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}

n=0
pass=0
fail=0

ok() { n=$((n + 1)); pass=$((pass + 1)); echo "ok $n - $1"; }
# notok NAME [WHY...]: a failed check, each WHY on a "#" line.
notok() {
	n=$((n + 1)); fail=$((fail + 1)); echo "not ok $n - $1"
	shift
	for l in "$@"; do echo "# $l"; done
}

# check NAME COMMAND...: ok when the command succeeds.
check() {
	local name=$1
	shift
	if "$@"; then
		ok "$name"
		return
	fi
	local -a detail=()
	if declare -F check_detail >/dev/null; then
		mapfile -t detail < <(check_detail)
	fi
	notok "$name" "failed: $*" "${detail[@]}"
}

# finish: prints the RESULT line and ends the script, with status 1 when
# a check failed.
finish() {
	echo "RESULT passed=$pass failed=$fail"
	[ "$fail" -eq 0 ]
	exit $?
}

# give_up NAME [WHY...]: a failed step the rest depends on: ends the script.
give_up() {
	notok "$@"
	finish
}

# need_tools TOOL...: gives up unless each command is installed.
need_tools() {
	local t
	for t in "$@"; do
		command -v "$t" >/dev/null 2>&1 || give_up "$t is installed"
	done
}

# req ARGS...: curl against the stack; headers to $work/h, body to
# $work/b, status code in $code.  At most REQ_MAX_TIME seconds (30).
req() {
	code=$(curl -sk --noproxy '*' --max-time "${REQ_MAX_TIME:-30}" \
	    -D "$work/h" -o "$work/b" -w '%{http_code}' "$@")
}
url() { echo "$STACK_URL$1"; }
hdr() { grep -i "^$1:" "$work/h" | head -n 1 | cut -d: -f2- | tr -d '\r' | sed 's/^ //'; }
body_has() { grep -q -- "$1" "$work/b"; }
status_is() { [ "$code" = "$1" ] || { echo "# expected status $1, got $code" >&2; head -c 400 "$work/b" | sed 's/^/# body: /' >&2; return 1; }; }
# sql_is QUERY WANT: the script's sql QUERY prints WANT.
sql_is() {
	local got
	got=$(sql "$1")
	[ "$got" = "$2" ] || { echo "# $1: got '$got', expected '$2'" >&2; return 1; }
}

# pki_init: makes the directory $pki and in it ext.cnf, with the
# extensions "leaf" (a subscriber's signing certificate) and "client" (a
# staff member's TLS client certificate).
pki_init() {
	mkdir -p "$pki" && cat >"$pki/ext.cnf" <<'EOF'
[leaf]
basicConstraints = CA:FALSE
keyUsage = critical, digitalSignature, nonRepudiation
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
[client]
basicConstraints = CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = clientAuth
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
EOF
}

# pki_ca NAME SUBJECT: a self-signed CA $pki/NAME.pem with NAME.key.
pki_ca() {
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
	    -keyout "$pki/$1.key" -out "$pki/$1.pem" -days 3650 -subj "$2" \
	    -addext "basicConstraints=critical,CA:TRUE" \
	    -addext "keyUsage=critical,keyCertSign,cRLSign" >/dev/null 2>&1
}

# pki_leaf CA EXT NAME SUBJECT SERIAL DAYS: $pki/NAME.pem (with NAME.key
# and NAME.csr) issued by $pki/CA.pem with the extensions EXT of ext.cnf.
pki_leaf() {
	openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
	    -keyout "$pki/$3.key" -out "$pki/$3.csr" -utf8 -subj "$4" \
	    >/dev/null 2>&1 &&
	openssl x509 -req -in "$pki/$3.csr" -CA "$pki/$1.pem" \
	    -CAkey "$pki/$1.key" -set_serial "$5" -days "$6" \
	    -extfile "$pki/ext.cnf" -extensions "$2" -out "$pki/$3.pem" \
	    >/dev/null 2>&1
}
