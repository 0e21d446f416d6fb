#!/usr/bin/env bash
# Runs every test of revportal (what `make check` runs after building):
# the cmocka unit tests under ASan/UBSan, the fuzz corpus replay, and the
# integration tests against real nginx + workers.  Ends with exactly one
# line "N passed, N failed"; exits non-zero when anything failed.
set -uo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top" || exit 1
logs=build/test-logs
rm -rf "$logs"
mkdir -p "$logs"

export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1:strict_string_checks=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}

passed=0
failed=0
shopt -s nullglob

# count NAME PASSED FAILED: adds a suite's figures and says them.
count() {
	passed=$((passed + $2))
	failed=$((failed + $3))
	printf '%-28s %3d passed, %d failed\n' "$1" "$2" "$3"
}

# Unit tests: cmocka prints "[  PASSED  ] N test(s)." and, when some
# failed, "[  FAILED  ] N test(s)".  A binary that dies before its summary
# (a sanitizer report) counts as one failure at least.
units=(build/asan/unit/test_*)
if [ ${#units[@]} -eq 0 ]; then
	count "unit tests (none built)" 0 1
fi
for bin in "${units[@]}"; do
	name=$(basename "$bin")
	out="$logs/$name.log"
	timeout 300 "$bin" >"$out" 2>&1
	rc=$?
	p=$(sed -n 's/^\[  PASSED  \] \([0-9]*\) test.*/\1/p' "$out" | tail -n 1)
	f=$(sed -n 's/^\[  FAILED  \] \([0-9]*\) test.*/\1/p' "$out" | tail -n 1)
	p=${p:-0}
	f=${f:-0}
	if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
		f=1
	fi
	count "unit/$name" "$p" "$f"
	if [ "$f" -ne 0 ]; then
		sed 's/^/    /' "$out" | grep -v '^    \[ \(RUN\|      OK\) ' | tail -n 40
	fi
done

# The fuzz targets, built as plain programs, replay their saved corpora.
for pair in body:tests/fuzz/corpus tmpl:tests/fuzz/corpus-tmpl x509:tests/fuzz/corpus-x509 csv:tests/fuzz/corpus-csv cms:tests/fuzz/corpus-cms; do
	name=${pair%%:*}
	if timeout 300 "build/asan/fuzz_${name}_replay" "${pair#*:}" >"$logs/fuzz_$name.log" 2>&1; then
		count "fuzz/$name corpus replay" 1 0
	else
		count "fuzz/$name corpus replay" 0 1
		tail -n 40 "$logs/fuzz_$name.log" | sed 's/^/    /'
	fi
done

# Integration and browser tests print "RESULT passed=N failed=M" last.
for t in tests/integration/test_*.sh tests/browser/test_*.sh; do
	name=$(basename "$t" .sh)
	out="$logs/$name.log"
	timeout 600 bash "$t" >"$out" 2>&1
	rc=$?
	p=$(sed -n 's/^RESULT passed=\([0-9]*\) failed=\([0-9]*\)$/\1/p' "$out" | tail -n 1)
	f=$(sed -n 's/^RESULT passed=\([0-9]*\) failed=\([0-9]*\)$/\2/p' "$out" | tail -n 1)
	# No RESULT line at all: the script died or was cut off.
	if [ -z "$p" ] || [ -z "$f" ]; then
		f=$(( ${f:-0} + 1 ))
	fi
	p=${p:-0}
	if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
		f=1
	fi
	count "$(basename "$(dirname "$t")")/$name" "$p" "$f"
	if [ "$f" -ne 0 ]; then
		grep -E '^(not ok|#)' "$out" | head -n 60 | sed 's/^/    /'
	fi
done

echo "logs: $logs/"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ] && [ "$passed" -gt 0 ]
