#!/usr/bin/env bash
# revportal: passphrase suspensions per second against libargon2 alone
# (issue 4).  Called at the end of tests/bench/bench.sh (`make bench`);
# runs alone too:
#
#   bash tests/bench/bench_flows.sh
#
# A suspension through the API costs one Argon2id verification (m=19456
# KiB, t=2, p=1, the configured cost) and that is nearly all it should
# cost.  So this starts its own stack (nginx + build/rel/revportal) with
# one worker per core, imports personal certificates whose passphrase is
# the very hash build/rel/argon2-raw verifies, and in BENCH_ROUNDS (3)
# alternating rounds measures
#   - the portal: BENCH_FLOW_COUNT (400) POST /api/v1/requests
#     {"action":"suspend","serial":...,"passphrase":...}, each on its own
#     certificate (a certificate holds one open request), sent by one
#     curl --parallel with BENCH_FLOW_CONC (two per worker) transfers at
#     a time; suspensions per second = answers 202 / wall time;
#   - the baseline: argon2-raw with one process per core, each verifying
#     the same hash BENCH_FLOW_COUNT / cores times.  The portal runs two
#     workers per core (its default is 4): every passphrase answer is
#     padded to [argon2] answer_floor_ms (about 1.5 x one verification)
#     so that unknown serials cannot be told apart, and a worker waiting
#     out its floor leaves the core to another;
# and reports the medians:
#   bench: passphrase suspensions N/s, raw argon2id verifications N/s, ratio R (target >= 0.9)
#   bench: passphrase rounds: ratio R1 R2 R3
#   bench: passphrase CPU per suspension: workers N ms, nginx N ms; raw N ms per verification
# The [ratelimit] allowance is set far above the rate (100000 attempts a
# second), so the limiter counts every attempt but never refuses one.  The
# relay does not run: the requests stay queued, which is all the web
# side does.  A report, not a test: exits 0 unless something failed to
# start or a suspension was refused.
# Environment: BENCH_ROUNDS (3), BENCH_FLOW_COUNT (400), BENCH_FLOW_WORKERS
# (2 x the number of cores), BENCH_FLOW_CONC (2 x workers), BENCH_BINARY,
# BENCH_ADMIN, BENCH_ARGON2 (build/rel/revportal, build/rel/revportal-admin,
# build/rel/argon2-raw).

# Started by sh: switch to bash (the lines above and this one are POSIX).
if [ -z "${BASH_VERSION:-}" ]; then exec bash "$0" "$@"; fi
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/../.."
# shellcheck source=deploy/stack.sh
. deploy/stack.sh
# shellcheck source=tests/bench/bench_lib.sh
. tests/bench/bench_lib.sh

rounds=${BENCH_ROUNDS:-3}
count=${BENCH_FLOW_COUNT:-400}
cores=$(nproc 2>/dev/null || echo 2)
workers=${BENCH_FLOW_WORKERS:-$((2 * cores))}
conc=${BENCH_FLOW_CONC:-$((2 * workers))}
binary=${BENCH_BINARY:-build/rel/revportal}
admin=${BENCH_ADMIN:-build/rel/revportal-admin}
raw=${BENCH_ARGON2:-build/rel/argon2-raw}
pass="bench passphrase 0123456789"
work=""

for v in rounds count workers conc; do
	[[ ${!v} =~ ^[1-9][0-9]*$ ]] || bl_die "$v must be a positive number, not '${!v}'"
done
((workers <= 64)) || bl_die "at most 64 workers"
bl_need nginx curl openssl awk sqlite3 pgrep
for b in "$binary" "$admin" "$raw"; do
	[[ -x $b ]] || bl_die "$b is missing (make all)"
done
[[ $binary == /* ]] || binary=$PWD/$binary
[[ $admin == /* ]] || admin=$PWD/$admin
[[ $raw == /* ]] || raw=$PWD/$raw

# shellcheck disable=SC2317  # called by the EXIT trap
cleanup() {
	trap '' INT TERM
	if [[ -n $work ]]; then
		stack_stop "$work/stack" >/dev/null 2>&1 ||
		    echo "bench: warning: revportal did not shut down cleanly" >&2
		rm -rf "$work"
	fi
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

work=$(mktemp -d "${TMPDIR:-/tmp}/revportal-bench-flows.XXXXXX")
mkdir "$work/certs"

# The hash both sides verify.
hash=$("$raw" -e -s "$pass") || bl_die "argon2-raw -e failed"

warm=$((2 * conc))
total=$((warm + rounds * count))
echo "bench: passphrase: making $total certificates" >&2
bl_openssl_certs "$work/certs" "$total" || bl_die "openssl could not make the certificates"
serials=("$work/certs/"*.pem)
serials=("${serials[@]##*/}")
serials=("${serials[@]%.pem}")
((${#serials[@]} == total)) || bl_die "made ${#serials[@]} certificates, not $total"

ini=$(printf '[ratelimit]\npassphrase_attempts = 100000\nwindow_seconds = 1\n\n[relay]\nsocket = %s\n' \
    "$work/relay.sock")
port=$(stack_free_port)
stack_start "$work/stack" "$binary" "127.0.0.1:$port" "$workers" "$ini" ||
	bl_die "the stack did not start"

t0=$(bl_now)
bl_import "$admin" "$STACK_DIR/revportal.ini" "$work/certs" "$hash" ||
	bl_die "revportal-admin could not import the certificates"
echo "bench: passphrase: imported $total certificates in $(awk -v a="$t0" -v b="$(bl_now)" 'BEGIN { printf "%.1f", b - a }') s" >&2

# run_app FIRST N: suspends serials[FIRST..FIRST+N); prints "202s seconds".
run_app() {
	local first=$1 n=$2 cfg=$work/req.cfg t1 t2 ok
	bl_api_config "$cfg" "$STACK_URL" "$STACK_CACERT" suspend "$pass" "${serials[@]:first:n}"
	t1=$(bl_now)
	curl --parallel --parallel-max "$conc" -K "$cfg" >"$work/codes" 2>"$work/curl.err" || true
	t2=$(bl_now)
	ok=$(grep -c '^202$' "$work/codes" || true)
	if ((ok != n)); then
		bl_warn "$((n - ok)) of $n suspensions not answered 202: $(sort "$work/codes" | uniq -c | tr -s ' ' | paste -sd, -)"
		[[ -s $work/curl.err ]] && head -n 3 "$work/curl.err" >&2
	fi
	awk -v ok="$ok" -v a="$t1" -v b="$t2" 'BEGIN { printf "%d %.3f\n", ok, b - a }'
}

# The first answers, one by one: it must work at all.
code=$(stack_curl -o "$work/first.json" -w '%{http_code}' \
    -H 'Content-Type: application/json' \
    --data "{\"action\":\"suspend\",\"serial\":\"${serials[0]}\",\"passphrase\":\"$pass\"}" \
    "$STACK_URL/api/v1/requests") || code=""
if [[ $code != 202 ]]; then
	bl_die "POST /api/v1/requests answers ${code:-nothing}, not 202: $(head -c 300 "$work/first.json" 2>/dev/null)"
fi
echo "bench: passphrase: warming up ($warm suspensions)" >&2
read -r ok _ < <(run_app 1 $((warm - 1)))
((ok == warm - 1)) || bl_die "suspensions are refused; see above"

per=$(((count + cores - 1) / cores))
apps=() raws=() rs=()
acpu=0 ncpu=0 rcpu=0 made=$warm
next=$warm
for ((r = 0; r < rounds; r++)); do
	w0=$(bl_cpu_ticks "$STACK_APP_PID")
	n0=$(bl_cpu_ticks "$STACK_NGINX_PID")
	read -r ok secs < <(run_app "$next" "$count")
	acpu=$((acpu + $(bl_cpu_ticks "$STACK_APP_PID") - w0))
	ncpu=$((ncpu + $(bl_cpu_ticks "$STACK_NGINX_PID") - n0))
	next=$((next + count))
	made=$((made + ok))
	a=$(awk -v n="$ok" -v s="$secs" 'BEGIN { printf "%.1f", (s > 0 ? n / s : 0) }')

	bl_children_ms "$work/times"
	c0=$BL_CHILDREN_MS
	"$raw" -s "$pass" -j "$cores" -n "$per" >"$work/raw.out" || bl_die "argon2-raw failed"
	out=$(<"$work/raw.out")
	bl_children_ms "$work/times"
	rcpu=$((rcpu + BL_CHILDREN_MS - c0))
	h=$(awk '{ for (i = 1; i < NF; i++) if ($i == "rate") { sub(/\/s$/, "", $(i + 1)); print $(i + 1) } }' <<<"$out")
	apps+=("$a") raws+=("$h") rs+=("$(bl_ratio "$a" "$h")")
done

a=$(bl_median "${apps[@]}")
h=$(bl_median "${raws[@]}")
echo "bench: passphrase suspensions $a/s, raw argon2id verifications $h/s, ratio $(bl_ratio "$a" "$h") (target >= 0.9)"
echo "bench: passphrase rounds: ratio ${rs[*]} ($workers workers, $cores raw processes, $conc connections, $count suspensions a round)"
awk -v a="$acpu" -v n="$ncpu" -v r="$rcpu" -v ar="$((rounds * count))" \
    -v rr="$((rounds * per * cores))" -v hz="$(getconf CLK_TCK)" 'BEGIN {
	printf "bench: passphrase CPU per suspension: workers %.1f ms, nginx %.1f ms; raw %.1f ms per verification\n",
	    a / hz * 1e3 / ar, n / hz * 1e3 / ar, r / rr }'

# Every 202 is a request in the database, queued for the relay.
queued=$(sqlite3 -batch "$STACK_DIR/revportal.db" \
    "SELECT count(*) FROM requests WHERE action = 'suspend' AND state = 'queued'" 2>/dev/null) || queued=""
if [[ $queued != "$made" ]]; then
	bl_warn "$made suspensions answered 202 but the database holds ${queued:-?} queued suspensions"
fi
exit 0
