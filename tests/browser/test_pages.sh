#!/usr/bin/env bash
# Browser tests: starts the real stack (nginx + the sanitizer build of the
# workers) on a free loopback port and runs tests/browser/test_pages.mjs in
# Debian's Chromium.  Prints its "ok"/"not ok" lines and "RESULT ..." last.
set -uo pipefail

top=$(cd "$(dirname "$0")/../.." && pwd)
cd "$top" || exit 1
# shellcheck source=../../deploy/stack.sh
. deploy/stack.sh

work=$(mktemp -d /tmp/revportal-browser.XXXXXX)
cleanup() {
	stack_stop "$work" >/dev/null 2>&1 || true
	rm -rf "$work"
}
trap cleanup EXIT

listen="127.0.0.1:$(stack_free_port)"
if ! stack_start "$work" "${REVPORTAL_BIN:-$top/build/asan/revportal}" "$listen" 2; then
	echo "not ok 1 - stack starts"
	echo "RESULT passed=0 failed=1"
	exit 1
fi
STACK_URL=$STACK_URL timeout 300 node tests/browser/test_pages.mjs
rc=$?
if ! stack_stop "$work"; then
	echo "not ok - the stack stopped cleanly after the browser tests"
	tail -n 20 "$work/revportal.log" | sed 's/^/# /'
	echo "RESULT passed=0 failed=1"
	exit 1
fi
exit "$rc"
