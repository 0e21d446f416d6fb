#!/usr/bin/env bash
# revportal: the relay against cfssl's own revoke call (issue 5).  Called
# at the end of tests/bench/bench.sh (`make bench`); runs alone too:
#
#   bash tests/bench/bench_relay.sh
#
# Everything is real: the development CA (deploy/dev/ca.sh: cfssl serve
# with its SQLite DB, mutual TLS), nginx + build/rel/revportal with one
# worker per core (deploy/stack.sh), and build/rel/revportal-relay on the
# same configuration.
#
#  1. Issues BENCH_BACKLOG (10000) + BENCH_RELAY_SAMPLES (200) personal
#     certificates for the portal and BENCH_RELAY_BASE (2000) more for the
#     baseline through cfssl's POST /api/v1/cfssl/sign, 16 at a time, so
#     that cfssl's DB holds them all (one key and one CSR: only the
#     serials differ), and imports the portal's with revportal-admin
#     import-dir, each with a passphrase.
#  2. With the relay stopped, suspends the BENCH_BACKLOG certificates
#     through the API (POST /api/v1/requests, two transfers per worker at
#     a time): real requests with their outbox rows, all queued.
#  3. Baseline: revokes the BENCH_RELAY_BASE certificates with reason
#     certificateHold one after the other through one kept-alive
#     connection (curl -K, the relay's TLS client certificate): cfssl's
#     own revoke latency (p50, p99) and rate.
#  4. Starts the relay and times the drain: from its start to the last
#     request's completed_at (the relay records it when cfssl confirmed).
#  5. Time to revocation: BENCH_RELAY_SAMPLES suspensions one by one
#     (tests/bench/api_seq.py, BENCH_RELAY_GAP_MS (50) apart, so that
#     each meets an idle relay), from the moment the 202 answer was read
#     to the request's completed_at.  A relay that finishes before the
#     answer has reached the client counts as 0 ms.
# and reports:
#   bench: relay setup: N certificates issued through cfssl in N s (N/s), imported in N s; N suspensions queued through the API in N s (N/s)
#   bench: relay time to revocation p50 N ms p99 N ms; cfssl revoke p50 N ms p99 N ms (target: within 50 ms)
#   bench: backlog N drained in N s = N/s; cfssl revoke N/s; ratio R (target >= 0.8)
#   bench: relay detail: N revoke calls to cfssl per request in the drain (its log), mean CA call N ms (the relay's histogram); pace N/s over the first tenth of the backlog, N/s over the last
# It checks that every request ended completed and that cfssl's DB holds
# every certificate revoked with reason certificateHold (6), and warns
# otherwise.  A report, not a test: exits 0 unless something failed to
# start.  Most of the run is step 2 (one Argon2id verification per
# request, about 85 a second on two cores: two minutes for 10000).
# Environment: BENCH_BACKLOG (10000), BENCH_RELAY_SAMPLES (200),
# BENCH_RELAY_BASE (2000), BENCH_RELAY_GAP_MS (50), BENCH_FLOW_WORKERS (the
# number of cores), BENCH_BINARY, BENCH_ADMIN, BENCH_RELAY
# (build/rel/revportal, build/rel/revportal-admin,
# build/rel/revportal-relay), BENCH_ARGON2 (build/rel/argon2-raw, for the
# passphrase hash), DEVCA_TLS (mtls; see deploy/dev/ca.sh), BENCH_KEEP
# (set: keep the work directory with every log).

# Started by sh: switch to bash (the lines above and this one are POSIX).
if [ -z "${BASH_VERSION:-}" ]; then exec bash "$0" "$@"; fi
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/../.."
# shellcheck source=deploy/stack.sh
. deploy/stack.sh
# shellcheck source=deploy/dev/ca.sh
. deploy/dev/ca.sh
# shellcheck source=tests/bench/bench_lib.sh
. tests/bench/bench_lib.sh

backlog=${BENCH_BACKLOG:-10000}
samples=${BENCH_RELAY_SAMPLES:-200}
base=${BENCH_RELAY_BASE:-2000}
gap=${BENCH_RELAY_GAP_MS:-50}
workers=${BENCH_FLOW_WORKERS:-$(nproc 2>/dev/null || echo 2)}
conc=$((2 * workers))
binary=${BENCH_BINARY:-build/rel/revportal}
admin=${BENCH_ADMIN:-build/rel/revportal-admin}
relay=${BENCH_RELAY:-build/rel/revportal-relay}
raw=${BENCH_ARGON2:-build/rel/argon2-raw}
pass="bench passphrase 0123456789"
sign_conc=16
work=""
relay_pid=""

for v in backlog samples base gap workers; do
	[[ ${!v} =~ ^[0-9]+$ ]] || bl_die "$v must be a number, not '${!v}'"
done
((backlog >= 1 && samples >= 1 && base >= 1 && workers >= 1)) ||
	bl_die "BENCH_BACKLOG, BENCH_RELAY_SAMPLES, BENCH_RELAY_BASE and the workers must be at least 1"
((workers <= 64)) || bl_die "at most 64 workers"
bl_need nginx curl openssl awk sqlite3 python3 cfssl cfssljson pgrep
for b in "$binary" "$admin" "$relay" "$raw"; do
	[[ -x $b ]] || bl_die "$b is missing (make all)"
done
[[ $binary == /* ]] || binary=$PWD/$binary
[[ $admin == /* ]] || admin=$PWD/$admin
[[ $relay == /* ]] || relay=$PWD/$relay
[[ $raw == /* ]] || raw=$PWD/$raw

# Stops the relay: SIGTERM, at most 15 s.  Returns its exit status.
stop_relay() {
	local i st=0
	[[ -n $relay_pid ]] || return 0
	kill -TERM "$relay_pid" 2>/dev/null || true
	for ((i = 0; i < 150; i++)); do
		_stack_alive "$relay_pid" || break
		sleep 0.1
	done
	if _stack_alive "$relay_pid"; then
		bl_warn "the relay did not stop within 15 s of SIGTERM; killing it"
		kill -KILL "$relay_pid" 2>/dev/null || true
	fi
	wait "$relay_pid" 2>/dev/null || st=$?
	relay_pid=""
	return "$st"
}

# shellcheck disable=SC2317  # called by the EXIT trap
cleanup() {
	trap '' INT TERM
	stop_relay >/dev/null 2>&1 || true
	if [[ -n $work ]]; then
		stack_stop "$work/stack" >/dev/null 2>&1 ||
		    echo "bench: warning: revportal did not shut down cleanly" >&2
		devca_stop "$work/ca" >/dev/null 2>&1 || true
		if [[ -n ${BENCH_KEEP:-} ]]; then
			echo "bench: kept $work" >&2
		else
			rm -rf "$work"
		fi
	fi
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

work=$(mktemp -d "${TMPDIR:-/tmp}/revportal-bench-relay.XXXXXX")
mkdir "$work/certs"

# secs A B: B - A with one decimal.
secs() {
	awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", b - a }'
}
# per N A B: N / (B - A) with one decimal.
per() {
	awk -v n="$1" -v a="$2" -v b="$3" 'BEGIN { printf "%.1f", (b > a ? n / (b - a) : 0) }'
}
# ms X: X with one decimal, or as it is when not a number ("n/a").
ms() {
	awk -v x="$1" 'BEGIN { if (x ~ /^[0-9]+(\.[0-9]*)?$/) printf "%.1f", x; else printf "%s", x }'
}
sql() {
	sqlite3 -batch "$STACK_DIR/revportal.db" "$1"
}

# --- the CA and the certificates -------------------------------------------
echo "bench: relay: starting the development CA" >&2
devca_init "$work/ca" || bl_die "devca_init failed"
devca_start "$work/ca" "127.0.0.1:$(stack_free_port)" || bl_die "cfssl did not start"
mapfile -t ca_opts < <(_devca_curl_opts "$work/ca")

# curl's -K options reaching cfssl, for each transfer of a config file.
ca_conf() {
	local i
	for ((i = 0; i < ${#ca_opts[@]}; i++)); do
		case ${ca_opts[i]} in
		-sS) printf 'silent\nshow-error\n' ;;
		--noproxy | --max-time | --cacert | --cert | --key)
			printf '%s = "%s"\n' "${ca_opts[i]#--}" "${ca_opts[i + 1]}"
			i=$((i + 1)) ;;
		*) bl_die "unexpected curl option ${ca_opts[i]} for cfssl" ;;
		esac
	done
}

total=$((backlog + samples + base))
echo "bench: relay: issuing $total certificates through cfssl" >&2
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
    -keyout "$work/leaf.key" -out "$work/leaf.csr" -subj "$BL_SUBJECT" \
    >"$work/openssl.log" 2>&1 || bl_die "openssl req failed: $(cat "$work/openssl.log")"
python3 -c 'import json, sys; print(json.dumps({"certificate_request": open(sys.argv[1]).read(), "profile": "personal"}))' \
    "$work/leaf.csr" >"$work/sign.json"
ca_cfg=$(ca_conf)
{
	for ((i = 0; i < total; i++)); do
		((i == 0)) || echo next
		printf 'url = "%s/api/v1/cfssl/sign"\n%s\n' "$DEVCA_URL" "$ca_cfg"
		printf 'header = "Content-Type: application/json"\ndata-binary = "@%s"\n' "$work/sign.json"
		printf 'output = "/dev/null"\nwrite-out = "%%{http_code}\\n"\n'
	done
} >"$work/sign.cfg"
t0=$(bl_now)
curl --parallel --parallel-max "$sign_conc" -K "$work/sign.cfg" >"$work/sign.codes" 2>"$work/sign.err" || true
t1=$(bl_now)
n=$(grep -c '^200$' "$work/sign.codes" || true)
((n == total)) || bl_die "cfssl signed $n of $total certificates: $(head -n 3 "$work/sign.err")"
issue_s=$(secs "$t0" "$t1")
issue_rate=$(per "$total" "$t0" "$t1")

# The certificates from cfssl's DB, in the order it stored them:
# HEX.pem for the portal, "DECIMAL AKI" lines for the baseline.
python3 - "$work/ca/certs.db" "$work/certs" "$((backlog + samples))" \
    >"$work/base.list" <<'EOF' || bl_die "cannot read cfssl's DB"
import os, sqlite3, sys
db = sqlite3.connect("file:%s?mode=ro" % sys.argv[1], uri=True, timeout=30)
n = int(sys.argv[3])
for i, (sn, aki, pem) in enumerate(db.execute(
        "SELECT serial_number, authority_key_identifier, pem "
        "FROM certificates ORDER BY rowid")):
    sn = sn.decode() if isinstance(sn, bytes) else str(sn)
    aki = aki.decode() if isinstance(aki, bytes) else str(aki)
    pem = pem.decode() if isinstance(pem, bytes) else pem
    if i < n:
        with open(os.path.join(sys.argv[2], "%X.pem" % int(sn)), "w") as f:
            f.write(pem)
    else:
        print(sn, aki)
EOF
serials=("$work/certs/"*.pem)
serials=("${serials[@]##*/}")
serials=("${serials[@]%.pem}")
((${#serials[@]} == backlog + samples)) || bl_die "cfssl's DB gave ${#serials[@]} certificates, not $((backlog + samples))"
(($(wc -l <"$work/base.list") == base)) || bl_die "cfssl's DB gave $(wc -l <"$work/base.list") baseline certificates, not $base"

# --- the portal, without its relay -------------------------------------------
ini=$(cat <<EOF
[ratelimit]
passphrase_attempts = 100000
window_seconds = 1

[relay]
socket = $work/relay.sock
backend = cfssl
url = $DEVCA_URL
ca_file = $DEVCA_CACERT
cert_file = $DEVCA_CLIENT_CERT
key_file = $DEVCA_CLIENT_KEY
allow_http = $([[ $DEVCA_URL == http:* ]] && echo yes || echo no)
poll_ms = 1000
metrics_file = $work/relay.prom
EOF
)
stack_start "$work/stack" "$binary" "127.0.0.1:$(stack_free_port)" "$workers" "$ini" ||
	bl_die "the stack did not start"
"$relay" -t -c "$STACK_DIR/revportal.ini" >"$work/relay-t.log" 2>&1 ||
	bl_die "revportal-relay -t refuses the configuration: $(tail -n 3 "$work/relay-t.log")"

hash=$("$raw" -e -s "$pass") || bl_die "argon2-raw -e failed"
t0=$(bl_now)
bl_import "$admin" "$STACK_DIR/revportal.ini" "$work/certs" "$hash" ||
	bl_die "revportal-admin could not import the certificates"
t1=$(bl_now)
import_s=$(secs "$t0" "$t1")

echo "bench: relay: queueing $backlog suspensions through the API (relay stopped)" >&2
bl_api_config "$work/backlog.cfg" "$STACK_URL" "$STACK_CACERT" suspend "$pass" "${serials[@]:0:backlog}"
t0=$(bl_now)
curl --parallel --parallel-max "$conc" -K "$work/backlog.cfg" >"$work/backlog.codes" 2>"$work/backlog.err" || true
t1=$(bl_now)
n=$(grep -c '^202$' "$work/backlog.codes" || true)
if ((n != backlog)); then
	bl_die "$((backlog - n)) of $backlog suspensions not answered 202: $(sort "$work/backlog.codes" | uniq -c | tr -s ' ' | paste -sd, -) $(head -n 2 "$work/backlog.err")"
fi
queue_s=$(secs "$t0" "$t1")
queue_rate=$(per "$backlog" "$t0" "$t1")
n=$(sql "SELECT count(*) FROM outbox WHERE state = 'pending'")
((n == backlog)) || bl_die "$n outbox rows pending, not $backlog"
echo "bench: relay setup: $total certificates issued through cfssl in $issue_s s ($issue_rate/s), imported in $import_s s; $backlog suspensions queued through the API in $queue_s s ($queue_rate/s)"

# --- the baseline: cfssl's own revoke ------------------------------------------
echo "bench: relay: $base revocations straight to cfssl" >&2
{
	first=1
	while read -r dec aki; do
		((first)) || echo next
		first=0
		printf 'url = "%s/api/v1/cfssl/revoke"\n%s\n' "$DEVCA_URL" "$ca_cfg"
		printf 'header = "Content-Type: application/json"\n'
		printf 'data = "{\\"serial\\":\\"%s\\",\\"authority_key_id\\":\\"%s\\",\\"reason\\":\\"certificateHold\\"}"\n' "$dec" "$aki"
		printf 'output = "%s"\nwrite-out = "%%{http_code} %%{time_total}\\n"\n' "$work/revoke.body"
	done <"$work/base.list"
} >"$work/revoke.cfg"
t0=$(bl_now)
curl -K "$work/revoke.cfg" >"$work/revoke.out" 2>"$work/revoke.err" || true
t1=$(bl_now)
n=$(awk '$1 == 200' "$work/revoke.out" | wc -l)
((n == base)) || bl_die "cfssl answered 200 to $n of $base revocations: $(head -c 300 "$work/revoke.body")"
awk '{ printf "%.3f\n", $2 * 1000 }' "$work/revoke.out" >"$work/revoke.ms"
ca_p50=$(bl_pct 50 "$work/revoke.ms")
ca_p99=$(bl_pct 99 "$work/revoke.ms")
ca_rate=$(per "$base" "$t0" "$t1")
n=$(python3 - "$work/ca/certs.db" <<'EOF'
import sqlite3, sys
db = sqlite3.connect("file:%s?mode=ro" % sys.argv[1], uri=True, timeout=30)
print(db.execute("SELECT count(*) FROM certificates WHERE status = 'revoked' AND reason = 6").fetchone()[0])
EOF
)
((n == base)) || bl_warn "cfssl's DB shows $n certificates on hold after $base revocations"

# --- the drain -------------------------------------------------------------------
echo "bench: relay: draining the backlog" >&2
t0=$(bl_now)
"$relay" -c "$STACK_DIR/revportal.ini" </dev/null >"$work/relay.log" 2>&1 &
relay_pid=$!
deadline=$((SECONDS + 120 + backlog / 20))
done_n=0
while :; do
	sleep 0.5
	done_n=$(sql "SELECT count(*) FROM requests WHERE state IN ('completed', 'failed')") || done_n=0
	((done_n >= backlog)) && break
	_stack_alive "$relay_pid" || bl_die "the relay exited: $(tail -n 5 "$work/relay.log")"
	if ((SECONDS >= deadline)); then
		bl_warn "the relay finished $done_n of $backlog requests in time; stopping there"
		break
	fi
done
last=$(sql "SELECT max(completed_at) FROM requests WHERE state = 'completed'")
completed=$(sql "SELECT count(*) FROM requests WHERE state = 'completed'")
((completed == backlog)) ||
	bl_warn "$completed of $backlog requests completed; $(sql "SELECT state || ' ' || count(*) FROM requests GROUP BY state" | paste -sd, -); outbox: $(sql "SELECT state || ' ' || count(*) FROM outbox GROUP BY state" | paste -sd, -)"
# How the pace changed: the first and the last tenth of the rows done.
pace=$(sql "SELECT done_at FROM outbox WHERE done_at IS NOT NULL ORDER BY done_at LIMIT $backlog" |
	awk '{ v[NR] = $1 } END {
		k = int(NR / 10); if (k < 2) { print "n/a n/a"; exit }
		a = v[k] - v[1]; b = v[NR] - v[NR - k + 1]
		printf "%.1f %.1f\n", (a > 0 ? (k - 1) * 1000 / a : 0), (b > 0 ? (k - 1) * 1000 / b : 0) }')
calls=$(grep -c 'POST /api/v1/cfssl/revoke' "$work/ca/cfssl.log" || true)
drain_s=$(awk -v a="$t0" -v b="${last:-0}" 'BEGIN { printf "%.1f", b / 1000 - a }')
drain_rate=$(awk -v n="$completed" -v a="$t0" -v b="${last:-0}" 'BEGIN { s = b / 1000 - a; printf "%.1f", (s > 0 ? n / s : 0) }')

# --- time to revocation ------------------------------------------------------------
echo "bench: relay: $samples suspensions one by one" >&2
printf '%s\n' "${serials[@]:backlog:samples}" |
	python3 tests/bench/api_seq.py "$STACK_URL" "$STACK_CACERT" suspend "$pass" "$gap" \
	>"$work/seq.out" 2>"$work/seq.err" ||
	bl_die "the timed suspensions failed: $(tail -n 3 "$work/seq.err")"
deadline=$((SECONDS + 30))
while :; do
	n=$(sql "SELECT count(*) FROM requests WHERE state IN ('completed', 'failed')")
	((n >= backlog + samples)) && break
	if ((SECONDS >= deadline)); then
		bl_warn "only $((n - backlog)) of the $samples timed requests completed within 30 s"
		break
	fi
	sleep 0.2
done
if stop_relay; then :; else bl_warn "the relay exited with status $? on SIGTERM"; fi
# request id -> completed_at (ms), joined with the answer times.
sql "SELECT public_id, completed_at FROM requests WHERE state = 'completed' AND completed_at IS NOT NULL" |
	awk -F'[| ]' 'NR == FNR { c[$1] = $2; next }
	    ($1 in c) { d = c[$1] - $2; if (d < 0) { d = 0; early++ } printf "%.3f\n", d; n++ }
	    END { if (early) printf "bench: relay: %d of %d confirmed before the 202 answer was read\n", early, n > "/dev/stderr" }' \
	- "$work/seq.out" >"$work/seq.ms"
n=$(wc -l <"$work/seq.ms")
((n == samples)) || bl_warn "$n of the $samples timed requests completed"
r_p50=$(bl_pct 50 "$work/seq.ms")
r_p99=$(bl_pct 99 "$work/seq.ms")

# cfssl's own view: every certificate the portal suspended is on hold.
n=$(python3 - "$work/ca/certs.db" <<'EOF'
import sqlite3, sys
db = sqlite3.connect("file:%s?mode=ro" % sys.argv[1], uri=True, timeout=30)
print(db.execute("SELECT count(*) FROM certificates WHERE status = 'revoked' AND reason = 6").fetchone()[0])
EOF
)
((n == base + backlog + samples)) ||
	bl_warn "cfssl's DB holds $n certificates on hold, not $((base + backlog + samples))"

echo "bench: relay time to revocation p50 $(ms "$r_p50") ms p99 $(ms "$r_p99") ms; cfssl revoke p50 $(ms "$ca_p50") ms p99 $(ms "$ca_p99") ms (target: within 50 ms)"
echo "bench: backlog $backlog drained in $drain_s s = $drain_rate/s; cfssl revoke $ca_rate/s; ratio $(bl_ratio "$drain_rate" "$ca_rate") (target >= 0.8)"
awk -v c="$calls" -v b="$base" -v n="$completed" -v p="$pace" -v f="$work/relay.prom" 'BEGIN {
	while ((getline l < f) > 0) {
		split(l, w, " ")
		if (w[1] == "revportal_relay_delivery_seconds_sum") s = w[2]
		if (w[1] == "revportal_relay_delivery_seconds_count") k = w[2]
	}
	split(p, r, " ")
	printf "bench: relay detail: %.2f revoke calls to cfssl per request in the drain (its log), mean CA call %.2f ms (the relay'"'"'s histogram); pace %s/s over the first tenth of the backlog, %s/s over the last\n",
	    (n > 0 ? (c - b) / n : 0), (k > 0 ? s / k * 1000 : 0), r[1], r[2] }'
exit 0
