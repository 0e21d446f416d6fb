#!/usr/bin/env bash
# revportal: the development stack, what `make run` runs after building.
#
#   sh deploy/dev-run.sh        (from the repository root; bash is used)
#
# Runs build/rel/revportal behind nginx on https://127.0.0.1:8443/ with its
# state in var/dev/ (TLS certificate, database and secret survive between
# runs), shows the app's log, and stops everything on Ctrl-C or SIGTERM.
# Environment: RP_DEV_LISTEN (127.0.0.1:8443), RP_DEV_WORKERS (4),
# RP_DEV_BINARY (build/rel/revportal).

# Started by sh: switch to bash (the lines above and this one are POSIX).
if [ -z "${BASH_VERSION:-}" ]; then exec bash "$0" "$@"; fi
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
# shellcheck source=deploy/stack.sh
. deploy/stack.sh

dir=$REPO/var/dev
listen=${RP_DEV_LISTEN:-127.0.0.1:8443}
workers=${RP_DEV_WORKERS:-4}
binary=${RP_DEV_BINARY:-build/rel/revportal}
tail_pid=""
stopping=0

mkdir -p "$dir"

# Leftovers of a previous run that was not stopped cleanly (the terminal
# closed, kill -9): stop what the pid files name, drop the stale socket.
if [[ -e $dir/app.pid || -e $dir/nginx.pid ]]; then
	echo "dev-run: stopping the leftovers of a previous run" >&2
	stack_stop "$dir" >/dev/null 2>&1 || true
fi
rm -f "$dir/fcgi.sock"

if (exec 3<>"/dev/tcp/${listen%:*}/${listen##*:}") 2>/dev/null; then
	echo "dev-run: something else already listens on $listen" >&2
	echo "dev-run: stop it, or choose another address: RP_DEV_LISTEN=127.0.0.1:8444 make run" >&2
	exit 1
fi

cleanup() {
	local rc=0
	((stopping)) && return 0
	stopping=1
	trap "" INT TERM
	if [[ -n $tail_pid ]]; then
		kill "$tail_pid" 2>/dev/null || true
		wait "$tail_pid" 2>/dev/null || true
	fi
	echo "dev-run: stopping revportal and nginx" >&2
	stack_stop "$dir" || rc=$?
	if ((rc == 0)); then
		echo "dev-run: stopped" >&2
	else
		echo "dev-run: revportal did not shut down cleanly (see $dir/revportal.log)" >&2
	fi
	return "$rc"
}
trap 'cleanup; exit 130' INT
trap 'cleanup; exit 143' TERM
trap 'cleanup' EXIT

if ! stack_start "$dir" "$binary" "$listen" "$workers"; then
	echo "dev-run: the stack did not start" >&2
	exit 1
fi

echo "revportal is running at $STACK_URL/ (Ctrl-C stops it)"
echo "  certificate: $dir/tls.crt (self-signed; curl --cacert it, or accept it in the browser)"
echo "  logs:        $dir/revportal.log, $dir/nginx-error.log, $dir/access.log"
echo "  registry:    build/rel/revportal-admin -c $dir/revportal.ini --help"

tail -n +1 -F --pid=$$ "$dir/revportal.log" 2>/dev/null &
tail_pid=$!

# Returns when the app exits by itself (or a trap runs on Ctrl-C).
status=0
wait "$STACK_APP_PID" || status=$?
if ((!stopping)); then
	echo "dev-run: revportal exited with status $status" >&2
	cleanup || true
	exit 1
fi
