#!/usr/bin/env bash
# revportal: signed submissions per second against raw ECDSA P-256
# verifications and durable SQLite commits (issue 6).  Called at the end
# of tests/bench/bench.sh (`make bench`); runs alone too:
#
#   bash tests/bench/bench_sign.sh
#
# A signed submission is a challenge (POST /api/v1/challenges), the CMS
# signature of its document by a qualified holder, and the signed request
# (POST /api/v1/requests {"challenge_id","signature"}) answered 202: the
# portal verifies the CMS (DESIGN.md §3 steps 1 to 4: parse, signature,
# chain to the anchors, qualified), the signer's revocation status (step
# 5: OCSP, here from the warm cache), the signer's right to act (step 6)
# and commits the request durably.  Its two costs that cannot be avoided
# are ECDSA verifications and durable commits, so the baselines are
#   - build/rel/ecdsa-raw: raw ECDSA P-256 verifications (EVP_DigestVerify
#     of a 300-byte document), one process per core;
#   - build/rel/commit-raw: durable SQLite commits (WAL, synchronous FULL,
#     as cgi/db.c sets its connections up), one INSERT per transaction,
#     one writer, on the file system of the portal's database;
# and the target is signed submissions >= 0.6 x the slower of the two.
#
# It makes the qualified test PKI (tests/integration/qpki.sh) and starts
# its OCSP responder, starts its own stack (nginx + build/rel/revportal,
# BENCH_SIGN_WORKERS workers, [signature] anchors_dir of the PKI, the
# [ratelimit] allowance far above the rate so that the limiter counts
# every call but never refuses one; the relay does not run, so the
# requests stay queued, which is all the web side does), imports
# BENCH_SIGN_COUNT x BENCH_ROUNDS (+ warm-up) personal target
# certificates of alice (the qpki holder; one key and one CSR, made by one
# `openssl ca` run, only the serials differ: a certificate holds one open
# request of an action, so each submission needs its own), and signs as
# alice.  After the warm-up (which fetches alice's OCSP answer into the
# portal's revocation cache) the PKI's responders are stopped: a
# submission that did not use the warm cache would fail.  Then
# BENCH_ROUNDS (3) alternating rounds measure
#   - the portal: build/rel/sign-client, BENCH_SIGN_CONC concurrent
#     loops (threads, one kept-alive TLS connection each) making
#     BENCH_SIGN_COUNT (1000) submissions of "suspend", each on its own
#     certificate; submissions per second = answers 202 / wall time;
#   - ecdsa-raw -j CORES and commit-raw, each alone on the machine;
# and reports the medians:
#   bench: signed submissions N/s, raw ECDSA verify N/s (x C cores), durable commits N/s, ratio R (target >= 0.6 of the slower)
#   bench: signed rounds: ratio R1 R2 R3; submissions N N N/s; ECDSA N N N/s; commits N N N/s (...)
#   bench: signed CPU per submission: workers N ms, nginx N ms, client N ms (signing N ms); raw N us per verification, N us per commit
#   bench: signed client share: the client took N% of the CPU used in the rounds; ratio without it R (the portal alone, extrapolated)
#   bench: signed latency p50 N ms p99 N ms (per submission, both calls, with C concurrent loops)
#   bench: signed detail: revocation cache N entries before the rounds, N fetched during them (OCSP responders stopped); N requests queued
# The client signs on the same cores as the portal (one ECDSA signature
# and a CMS encoding per submission, plus its TLS): the rate measured is
# the portal's with that load beside it, while the baselines have the
# machine to themselves.  The second ratio scales the rate by the share
# of CPU the client took (rate / (1 - share)), an estimate of what the
# portal would do on its own; read the first as the figure, the second as
# its upper bound.
#
# One worker per core by default: a submission is CPU work (about 2 ms
# of a worker's) and four durable commits (the rate-limit count of each
# call, the challenge, the request), and more workers than cores mostly
# collide on SQLite's write lock, where the busy handler sleeps 1 ms and
# more.
#
# A report, not a test: exits 0 unless something failed to start or the
# signed flow refused a submission.
# Environment: BENCH_ROUNDS (3), BENCH_SIGN_COUNT (1000), BENCH_SIGN_WORKERS
# (the number of cores), BENCH_SIGN_CONC (2 x workers), BENCH_BINARY,
# BENCH_ADMIN, BENCH_ECDSA, BENCH_COMMIT, BENCH_SIGN_CLIENT
# (build/rel/revportal, build/rel/revportal-admin, build/rel/ecdsa-raw,
# build/rel/commit-raw, build/rel/sign-client), BENCH_KEEP (set: keep the
# work directory).

# Started by sh: switch to bash (the lines above and this one are POSIX).
if [ -z "${BASH_VERSION:-}" ]; then exec bash "$0" "$@"; fi
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/../.."
# shellcheck source=deploy/stack.sh
. deploy/stack.sh
# shellcheck source=tests/bench/bench_lib.sh
. tests/bench/bench_lib.sh
# shellcheck source=tests/integration/qpki.sh
. tests/integration/qpki.sh

rounds=${BENCH_ROUNDS:-3}
count=${BENCH_SIGN_COUNT:-1000}
cores=$(nproc 2>/dev/null || echo 2)
workers=${BENCH_SIGN_WORKERS:-$cores}
conc=${BENCH_SIGN_CONC:-$((2 * workers))}
binary=${BENCH_BINARY:-build/rel/revportal}
admin=${BENCH_ADMIN:-build/rel/revportal-admin}
ecdsa=${BENCH_ECDSA:-build/rel/ecdsa-raw}
commit=${BENCH_COMMIT:-build/rel/commit-raw}
client=${BENCH_SIGN_CLIENT:-build/rel/sign-client}
work=""
pki=""

for v in rounds count workers conc; do
	[[ ${!v} =~ ^[1-9][0-9]*$ ]] || bl_die "$v must be a positive number, not '${!v}'"
done
((workers <= 64)) || bl_die "at most 64 workers"
((conc <= 256)) || bl_die "at most 256 concurrent loops"
bl_need nginx curl openssl awk sqlite3 pgrep
for b in "$binary" "$admin" "$ecdsa" "$commit" "$client"; do
	[[ -x $b ]] || bl_die "$b is missing (make all)"
done
[[ $binary == /* ]] || binary=$PWD/$binary
[[ $admin == /* ]] || admin=$PWD/$admin
[[ $ecdsa == /* ]] || ecdsa=$PWD/$ecdsa
[[ $commit == /* ]] || commit=$PWD/$commit
[[ $client == /* ]] || client=$PWD/$client

# shellcheck disable=SC2317  # called by the EXIT trap
cleanup() {
	trap '' INT TERM
	if [[ -n $pki ]]; then
		qpki_stop "$pki" >/dev/null 2>&1 || bl_warn "the test PKI's servers did not stop"
	fi
	if [[ -n $work ]]; then
		stack_stop "$work/stack" >/dev/null 2>&1 ||
		    echo "bench: warning: revportal did not shut down cleanly" >&2
		if [[ -n ${BENCH_KEEP:-} ]]; then
			echo "bench: signed: kept $work" >&2
		else
			rm -rf "$work"
		fi
	fi
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

work=$(mktemp -d "${TMPDIR:-/tmp}/revportal-bench-sign.XXXXXX")
mkdir "$work/certs"

# The qualified PKI and its OCSP responder.
pki=$work/qpki
qpki_init "$pki" || bl_die "the test PKI could not be made"
# shellcheck disable=SC1091
. "$pki/env"
qpki_start "$pki" || bl_die "the test PKI's servers did not start"

# The targets: personal certificates of alice (her subject, so her
# serialNumber names their subject person), from a throwaway CA.
warm=$((2 * conc))
total=$((1 + warm + rounds * count))
echo "bench: signed: making $total target certificates" >&2
BL_SUBJECT=$(openssl x509 -in "$pki/alice.pem" -noout -subject -nameopt compat) ||
	bl_die "cannot read alice's subject"
BL_SUBJECT=${BL_SUBJECT#subject=}
[[ $BL_SUBJECT == */serialNumber=PNOSI-* ]] || bl_die "alice's subject has no person: $BL_SUBJECT"
bl_openssl_certs "$work/certs" "$total" || bl_die "openssl could not make the certificates"
serials=("$work/certs/"*.pem)
serials=("${serials[@]##*/}")
serials=("${serials[@]%.pem}")
((${#serials[@]} == total)) || bl_die "made ${#serials[@]} certificates, not $total"

ini=$(printf '[ratelimit]\npassphrase_attempts = 100000\nwindow_seconds = 1\n\n[relay]\nsocket = %s\n\n[signature]\nanchors_dir = %s\n' \
    "$work/relay.sock" "$pki/anchors")
port=$(stack_free_port)
stack_start "$work/stack" "$binary" "127.0.0.1:$port" "$workers" "$ini" ||
	bl_die "the stack did not start"

t0=$(bl_now)
# No passphrase: the targets are reached by signature only.
bl_import "$admin" "$STACK_DIR/revportal.ini" "$work/certs" "" ||
	bl_die "revportal-admin could not import the certificates"
echo "bench: signed: imported $total certificates in $(awk -v a="$t0" -v b="$(bl_now)" 'BEGIN { printf "%.1f", b - a }') s" >&2

# run_client FIRST N [ARGS...]: signs serials[FIRST..FIRST+N) with
# sign-client; prints its output line (and its errors on stderr).
run_client() {
	local first=$1 n=$2
	shift 2
	printf '%s\n' "${serials[@]:first:n}" >"$work/serials"
	"$client" -u "$STACK_URL" -C "$STACK_CACERT" -c "$pki/alice.pem" \
	    -k "$pki/alice.key" -e "$pki/ca.pem" -a suspend "$@" \
	    "$work/serials" 2>"$work/client.err" || true
	[[ -s $work/client.err ]] && head -n 8 "$work/client.err" >&2
	return 0
}

# field NAME LINE: the word after NAME in LINE ("rate 12.5/s" -> 12.5).
field() {
	awk -v k="$1" '{ for (i = 1; i < NF; i++) if ($i == k) { v = $(i + 1); sub(/\/s$/, "", v); print v; exit } }' <<<"$2"
}

# The first one alone: it must work at all.
out=$(run_client 0 1 -j 1)
[[ $(field ok "$out") == 1 ]] || bl_die "a signed submission is refused: ${out:-no answer from sign-client}"
echo "bench: signed: warming up ($warm submissions)" >&2
out=$(run_client 1 "$warm" -j "$conc")
[[ $(field ok "$out") == "$warm" ]] || bl_die "signed submissions are refused in the warm-up: $out"

# The OCSP answer is in the cache now: stop the responders, so that a
# submission that would ask again fails instead of being measured.
qpki_stop "$pki" || bl_warn "the test PKI's servers did not stop"
cache0=$(sqlite3 -batch "$STACK_DIR/revportal.db" \
    "SELECT count(*) || ' ' || coalesce(max(fetched_at), 0) FROM revocation_cache" 2>/dev/null) || cache0="? 0"
# Milliseconds since the epoch, as the portal writes them (bash's own
# arithmetic: awk's printf %d may stop at 2^31).
tstart_ms=${EPOCHREALTIME/[.,]/}
tstart_ms=$((tstart_ms / 1000))

per_e=15000		# about a second of verifications per core
per_c=2000			# about a second of commits on an SSD
apps=() ecs=() cms=() rs=()
wcpu=0 ncpu=0 ccpu=0 scpu=0 ecpu=0 mcpu=0 made=$((1 + warm))
lat50=() lat99=()
next=$((1 + warm))
for ((r = 0; r < rounds; r++)); do
	w0=$(bl_cpu_ticks "$STACK_APP_PID")
	n0=$(bl_cpu_ticks "$STACK_NGINX_PID")
	out=$(run_client "$next" "$count" -j "$conc")
	wcpu=$((wcpu + $(bl_cpu_ticks "$STACK_APP_PID") - w0))
	ncpu=$((ncpu + $(bl_cpu_ticks "$STACK_NGINX_PID") - n0))
	next=$((next + count))
	ok=$(field ok "$out")
	ok=${ok:-0}
	made=$((made + ok))
	((ok == count)) || bl_warn "$((count - ok)) of $count signed submissions failed: $out"
	a=$(field rate "$out")
	ccpu=$(awk -v x="$ccpu" -v y="$(field cpu "$out")" 'BEGIN { print x + y }')
	scpu=$(awk -v x="$scpu" -v y="$(field signing "$out")" -v n="$count" 'BEGIN { print x + y * n / 1000 }')
	lat50+=("$(field p50 "$out")") lat99+=("$(field p99 "$out")")

	bl_children_ms "$work/times"
	c0=$BL_CHILDREN_MS
	"$ecdsa" -j "$cores" -n "$per_e" >"$work/ecdsa.out" || bl_die "ecdsa-raw failed"
	bl_children_ms "$work/times"
	ecpu=$((ecpu + BL_CHILDREN_MS - c0))
	e=$(field rate "$(<"$work/ecdsa.out")")

	c0=$BL_CHILDREN_MS
	"$commit" -n "$per_c" "$work/commit-raw.db" >"$work/commit.out" || bl_die "commit-raw failed"
	bl_children_ms "$work/times"
	mcpu=$((mcpu + BL_CHILDREN_MS - c0))
	m=$(field rate "$(<"$work/commit.out")")

	slower=$(awk -v e="$e" -v m="$m" 'BEGIN { print (e < m) ? e : m }')
	apps+=("${a:-0}") ecs+=("$e") cms+=("$m") rs+=("$(bl_ratio "${a:-0}" "$slower")")
done

a=$(bl_median "${apps[@]}")
e=$(bl_median "${ecs[@]}")
m=$(bl_median "${cms[@]}")
slower=$(awk -v e="$e" -v m="$m" 'BEGIN { print (e < m) ? e : m }')
echo "bench: signed submissions $a/s, raw ECDSA verify $e/s (x $cores cores), durable commits $m/s, ratio $(bl_ratio "$a" "$slower") (target >= 0.6 of the slower)"
echo "bench: signed rounds: ratio ${rs[*]}; submissions ${apps[*]}/s; ECDSA ${ecs[*]}/s; commits ${cms[*]}/s ($workers workers, $conc client loops, $count submissions a round)"
hz=$(getconf CLK_TCK)
n=$((rounds * count))
awk -v w="$wcpu" -v g="$ncpu" -v c="$ccpu" -v s="$scpu" -v e="$ecpu" -v m="$mcpu" \
    -v n="$n" -v ne="$((rounds * per_e * cores))" -v nm="$((rounds * per_c))" \
    -v hz="$hz" 'BEGIN {
	printf "bench: signed CPU per submission: workers %.2f ms, nginx %.2f ms, client %.2f ms (signing %.2f ms); raw %.1f us per verification, %.1f us per commit\n",
	    w / hz * 1e3 / n, g / hz * 1e3 / n, c * 1e3 / n, s * 1e3 / n, e * 1e3 / ne, m * 1e3 / nm }'
share=$(awk -v w="$wcpu" -v g="$ncpu" -v c="$ccpu" -v hz="$hz" 'BEGIN {
	t = w / hz + g / hz + c; printf "%.3f", (t > 0) ? c / t : 0 }')
alone=$(awk -v a="$a" -v s="$share" 'BEGIN { printf "%.1f", (s < 1) ? a / (1 - s) : 0 }')
echo "bench: signed client share: the client took $(awk -v s="$share" 'BEGIN { printf "%.0f", s * 100 }')% of the CPU used in the rounds; ratio without it $(bl_ratio "$alone" "$slower") ($alone/s, the portal alone, extrapolated)"
echo "bench: signed latency p50 $(bl_median "${lat50[@]}") ms p99 $(bl_median "${lat99[@]}") ms (per submission, both calls, $conc concurrent loops; medians of the rounds)"

# Every 202 is a queued request; the revocation cache was not refilled
# during the rounds (the responders were down).
queued=$(sqlite3 -batch "$STACK_DIR/revportal.db" \
    "SELECT count(*) FROM requests WHERE action = 'suspend' AND state = 'queued'" 2>/dev/null) || queued=""
if [[ $queued != "$made" ]]; then
	bl_warn "$made signed submissions answered 202 but the database holds ${queued:-?} queued suspensions"
fi
cache1=$(sqlite3 -batch "$STACK_DIR/revportal.db" \
    "SELECT count(*) FROM revocation_cache WHERE fetched_at >= $tstart_ms" 2>/dev/null) || cache1="?"
echo "bench: signed detail: revocation cache ${cache0%% *} entries before the rounds, $cache1 fetched during them (OCSP responders stopped); $made requests queued"
exit 0
