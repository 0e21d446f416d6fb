#!/usr/bin/env bash
# revportal: throughput against a hello-world FastCGI baseline (`make bench`).
#
#   sh tests/bench/bench.sh        (from anywhere; bash is used)
#
# Starts the stack (nginx + build/rel/revportal, 4 workers) and, in the
# same nginx on a second port, build/rel/hello-fcgi with as many processes
# on its own socket.  Both go through the same TLS, the same nginx and the
# same FastCGI parameters, so the ratio measures the app.  Loads each with
# wrk (2 threads, 16 connections) in BENCH_ROUNDS (3) alternating rounds of
# BENCH_SECONDS (5) each, so that drift of the machine hits both alike,
# and reports the medians:
#   bench: GET / revportal N req/s, hello N req/s, ratio R (target >= 0.9)
#   bench: GET / rounds: ratio R1 R2 R3
#   bench: GET / app CPU per request: revportal N us, hello N us
#   bench: GET /healthz ...
#   bench: RSS per revportal worker: avg N MiB, max N MiB (target <= 8 MiB)
# A report, not a test: exits 0 unless something failed to start.
# Environment: BENCH_SECONDS (5), BENCH_ROUNDS (3), BENCH_WORKERS (4),
# BENCH_INI (extra revportal.ini sections), BENCH_BINARY,
# BENCH_HELLO (build/rel/revportal, build/rel/hello-fcgi), and stack.sh's
# STACK_APP_CMD (to bench something else in place of revportal).

# Started by sh: switch to bash (the lines above and this one are POSIX).
if [ -z "${BASH_VERSION:-}" ]; then exec bash "$0" "$@"; fi
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/../.."
# shellcheck source=deploy/stack.sh
. deploy/stack.sh

seconds=${BENCH_SECONDS:-5}
rounds=${BENCH_ROUNDS:-3}
workers=${BENCH_WORKERS:-4}
binary=${BENCH_BINARY:-build/rel/revportal}
hello=${BENCH_HELLO:-build/rel/hello-fcgi}
work=""
hello_pid=""

die() {
	echo "bench: $*" >&2
	exit 1
}

for tool in wrk nginx curl openssl awk; do
	command -v "$tool" >/dev/null 2>&1 || die "$tool is missing (make deps)"
done
[[ -x $hello ]] || die "$hello is missing (make all)"
if [[ -z ${STACK_APP_CMD:-} && ! -x $binary ]]; then
	die "$binary is missing (make all)"
fi

# shellcheck disable=SC2317  # called by the EXIT trap
cleanup() {
	trap '' INT TERM
	if [[ -n $work ]]; then
		stack_stop "$work/stack" >/dev/null 2>&1 ||
		    echo "bench: warning: revportal did not shut down cleanly" >&2
	fi
	if [[ -n $hello_pid ]]; then
		kill -TERM "$hello_pid" 2>/dev/null || true
		wait "$hello_pid" 2>/dev/null || true
	fi
	if [[ -n $work && -d $work ]]; then
		rm -rf "$work"
	fi
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

work=$(mktemp -d "${TMPDIR:-/tmp}/revportal-bench.XXXXXX")

port=$(stack_free_port)
hport=$(stack_free_port)
while [[ $hport == "$port" ]]; do
	hport=$(stack_free_port)
done

# The baseline, on its own socket.
"$hello" "$work/hello.sock" "$workers" </dev/null >"$work/hello.log" 2>&1 &
hello_pid=$!
for ((i = 0; i < 50; i++)); do
	[[ -S $work/hello.sock ]] && break
	_stack_alive "$hello_pid" || break
	sleep 0.1
done
[[ -S $work/hello.sock ]] || { cat "$work/hello.log" >&2; die "hello-fcgi did not start"; }

# Its server block in the same nginx: the same TLS settings (http level)
# and the same FastCGI parameters as the app's location.
extra=$(cat <<EOF
	server {
		listen 127.0.0.1:$hport ssl;
		ssl_certificate @CERT@;
		ssl_certificate_key @KEY@;
		location / {
			fastcgi_pass unix:$work/hello.sock;
			fastcgi_request_buffering on;
			fastcgi_buffering on;
			fastcgi_buffer_size 16k;
			fastcgi_buffers 16 16k;
			fastcgi_param REQUEST_METHOD	\$request_method;
			fastcgi_param DOCUMENT_URI	\$uri;
			fastcgi_param REQUEST_URI	\$request_uri;
			fastcgi_param QUERY_STRING	\$query_string;
			fastcgi_param CONTENT_TYPE	\$content_type;
			fastcgi_param CONTENT_LENGTH	\$content_length;
			fastcgi_param REMOTE_ADDR	\$remote_addr;
			fastcgi_param REMOTE_PORT	\$remote_port;
			fastcgi_param SERVER_NAME	\$server_name;
			fastcgi_param SERVER_PORT	\$server_port;
			fastcgi_param SERVER_PROTOCOL	\$server_protocol;
			fastcgi_param GATEWAY_INTERFACE	CGI/1.1;
			fastcgi_param HTTPS		\$https if_not_empty;
			fastcgi_param SSL_CLIENT_VERIFY	\$ssl_client_verify;
			fastcgi_param SSL_CLIENT_CERT	\$ssl_client_escaped_cert;
		}
	}
EOF
)

stack_start "$work/stack" "$binary" "127.0.0.1:$port" "$workers" "${BENCH_INI:-}" "$extra" ||
	die "the stack did not start"
app_url=$STACK_URL
hello_url=https://127.0.0.1:$hport

code=$(stack_curl -o /dev/null -w '%{http_code}' "$hello_url/" 2>/dev/null) || code=""
[[ $code == 200 ]] || die "hello-fcgi does not answer through nginx (HTTP ${code:-none})"
for path in / /healthz; do
	code=$(stack_curl -o /dev/null -w '%{http_code}' "$app_url$path" 2>/dev/null) || code=""
	[[ $code == 200 ]] || echo "bench: warning: revportal GET $path answers ${code:-nothing}, not 200" >&2
done

# Runs wrk; prints requests/s.  Warns about non-2xx answers and errors,
# which would make the number meaningless.
load() {
	local url=$1 secs=$2 out rps
	out=$(wrk -t2 -c16 -d"${secs}s" "$url" 2>&1) || {
		echo "bench: wrk failed on $url:" >&2
		echo "$out" >&2
		echo 0
		return 0
	}
	if grep -q -E 'Non-2xx|Socket errors' <<<"$out"; then
		echo "bench: warning: $url: $(grep -E 'Non-2xx|Socket errors' <<<"$out" | tr -s ' ' | paste -sd';')" >&2
	fi
	rps=$(awk '/^Requests\/sec:/ { print $2 }' <<<"$out")
	echo "${rps:-0}"
}

ratio() {
	awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else printf "n/a" }'
}

echo "bench: warming up (2 s each)" >&2
load "$app_url/" 2 >/dev/null
load "$hello_url/" 2 >/dev/null

# CPU time (clock ticks, utime + stime) of a process and its children.
cpu_ticks() {
	local p t=0 v
	for p in "$1" $(pgrep -P "$1" 2>/dev/null); do
		v=$(awk '{ sub(/^.*\) /, ""); print $12 + $13 }' "/proc/$p/stat" 2>/dev/null) || v=0
		t=$((t + ${v:-0}))
	done
	echo "$t"
}

median() {
	printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

for path in / /healthz; do
	as=() hs=() rs=()
	acpu=0 hcpu=0 areq=0 hreq=0 ancpu=0 hncpu=0
	for ((r = 0; r < rounds; r++)); do
		t0=$(cpu_ticks "$STACK_APP_PID")
		n0=$(cpu_ticks "$STACK_NGINX_PID")
		a=$(load "$app_url$path" "$seconds")
		acpu=$((acpu + $(cpu_ticks "$STACK_APP_PID") - t0))
		ancpu=$((ancpu + $(cpu_ticks "$STACK_NGINX_PID") - n0))
		t0=$(cpu_ticks "$hello_pid")
		n0=$(cpu_ticks "$STACK_NGINX_PID")
		h=$(load "$hello_url$path" "$seconds")
		hcpu=$((hcpu + $(cpu_ticks "$hello_pid") - t0))
		hncpu=$((hncpu + $(cpu_ticks "$STACK_NGINX_PID") - n0))
		as+=("$a") hs+=("$h") rs+=("$(ratio "$a" "$h")")
		areq=$(awk -v x="$areq" -v y="$a" -v s="$seconds" 'BEGIN { print x + y * s }')
		hreq=$(awk -v x="$hreq" -v y="$h" -v s="$seconds" 'BEGIN { print x + y * s }')
	done
	a=$(median "${as[@]}")
	h=$(median "${hs[@]}")
	echo "bench: GET $path revportal $a req/s, hello $h req/s, ratio $(ratio "$a" "$h") (target >= 0.9)"
	echo "bench: GET $path rounds: ratio ${rs[*]}"
	awk -v ac="$acpu" -v hc="$hcpu" -v an="$ancpu" -v hn="$hncpu" -v ar="$areq" -v hr="$hreq" \
	    -v hz="$(getconf CLK_TCK)" -v p="$path" 'BEGIN {
		ar = ar > 0 ? ar : 1; hr = hr > 0 ? hr : 1
		printf "bench: GET %s app CPU per request: revportal %.1f us, hello %.1f us\n", p, ac / hz * 1e6 / ar, hc / hz * 1e6 / hr
		printf "bench: GET %s nginx CPU per request: for revportal %.1f us, for hello %.1f us\n", p, an / hz * 1e6 / ar, hn / hz * 1e6 / hr
	    }'
done

# Memory of the revportal workers after the load (VmRSS, kB in /proc).
rss=""
for pid in $(stack_worker_pids); do
	r=$(awk '/^VmRSS:/ { print $2 }' "/proc/$pid/status" 2>/dev/null) || r=""
	[[ -n $r ]] && rss+="$r "
done
if [[ -n $rss ]]; then
	# shellcheck disable=SC2086
	printf '%s\n' $rss | awk '
		{ n++; s += $1; if ($1 > m) m = $1 }
		END { printf "bench: RSS per revportal worker: avg %.1f MiB, max %.1f MiB over %d workers (target <= 8 MiB)\n", s / n / 1024, m / 1024, n }'
else
	echo "bench: RSS per revportal worker: no workers found"
fi

# The passphrase flows, the relay and signed requests, each on a stack of
# its own.
bash tests/bench/bench_flows.sh || echo "bench: warning: tests/bench/bench_flows.sh failed" >&2
bash tests/bench/bench_relay.sh || echo "bench: warning: tests/bench/bench_relay.sh failed" >&2
bash tests/bench/bench_sign.sh || echo "bench: warning: tests/bench/bench_sign.sh failed" >&2
exit 0
