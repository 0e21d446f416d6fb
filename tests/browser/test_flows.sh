#!/usr/bin/env bash
# Browser tests of the passphrase flows: the suspension form, the status
# page, the hotline console and the officer queue, in Debian's Chromium
# (tests/browser/test_flows.mjs, playwright-core).  Starts the real stack
# (nginx asking for client certificates of a staff CA, the sanitizer
# build of the workers), makes the subscribers' and the staff's
# certificates here with openssl and fills the registry with
# revportal-admin.  Prints "ok N - name" / "not ok N - name" lines and,
# last, "RESULT passed=N failed=M".
set -uo pipefail

top=$(cd "$(dirname "$0")/../.." && pwd)
cd "$top" || exit 1
# shellcheck source=../../deploy/stack.sh
. deploy/stack.sh
# shellcheck source=../integration/lib.sh
. tests/integration/lib.sh

work=$(mktemp -d /tmp/revportal-flows.XXXXXX)
stack=$work/stack
pki=$work/pki

cleanup() {
	stack_stop "$stack" >/dev/null 2>&1 || true
	[ -n "${KEEP:-}" ] || rm -rf "$work"
}
trap cleanup EXIT

need_tools openssl sqlite3 nginx node
for b in "$BIN" "$ADMIN"; do
	[ -x "$b" ] || give_up "$(basename "$b") is built" "not found: $b"
done

# --- certificates ------------------------------------------------------------
# The qualified CA of the subscribers' certificates and the staff CA whose
# client certificates nginx accepts.
mkdir -p "$stack"
made=1
pki_init || made=0
pki_ca qca "/CN=Test Qualified CA/O=Test TSP/C=SI" || made=0
pki_ca staffca "/CN=Test Staff CA/O=Test TSP/C=SI" || made=0
# Ana suspends in the browser; Bojan's passphrase is mistyped; Cene's form
# is double-clicked; Dana presses submit again while the first POST is on
# its way.
SER_WALK=42BA82334FDAB97D86A19279BAB5E87934D85554
SER_WRONG=4B01
SER_DBL=4C02
SER_DBL2=4D03
pki_leaf qca leaf walk "/CN=Ana Novak/serialNumber=PNOSI-1001/C=SI" "0x$SER_WALK" 1826 || made=0
pki_leaf qca leaf wrong "/CN=Bojan Kranjc/serialNumber=PNOSI-1002/C=SI" "0x$SER_WRONG" 1826 || made=0
pki_leaf qca leaf dbl "/CN=Cene Zupan/serialNumber=PNOSI-1003/C=SI" "0x$SER_DBL" 1826 || made=0
pki_leaf qca leaf dbl2 "/CN=Dana Mlakar/serialNumber=PNOSI-1004/C=SI" "0x$SER_DBL2" 1826 || made=0
pki_leaf staffca client agent "/CN=Agent Ana/O=Test TSP/C=SI" 0x2001 365 || made=0
pki_leaf staffca client officer "/CN=Officer Bor/O=Test TSP/C=SI" 0x2003 365 || made=0
[ "$made" = 1 ] || give_up "openssl made the test certificates"

# --- the stack ----------------------------------------------------------------
ini=$'[policy.passphrase]\nmax_failures = 3\n[ratelimit]\npassphrase_attempts = 1000\nwindow_seconds = 60\n'
listen="127.0.0.1:$(stack_free_port)"
export STACK_STAFF_CA=$pki/staffca.pem
if ! stack_start "$stack" "$BIN" "$listen" 2 "$ini"; then
	give_up "the stack starts with the staff CA" "see $stack (KEEP=1 keeps it)"
fi

# --- the registry ------------------------------------------------------------
export PASS_WALK="Ana's browser passphrase 1"
export PASS_WRONG="Bojan's real passphrase 2"
export PASS_DBL="Cene double click passphrase 3"
export PASS_DBL2="Dana second press passphrase 4"
adm() {
	"$ADMIN" -c "$stack/revportal.ini" "$@" >>"$work/adm.out" 2>&1
}
imp() {
	(umask 077 && printf '%s\n' "$2" >"$work/pass.txt")
	adm import-cert "$pki/$1.pem" --type personal --passphrase-file "$work/pass.txt"
}
filled=1
imp walk "$PASS_WALK" || filled=0
imp wrong "$PASS_WRONG" || filled=0
imp dbl "$PASS_DBL" || filled=0
imp dbl2 "$PASS_DBL2" || filled=0
rm -f "$work/pass.txt"
adm add-staff "$pki/agent.pem" --role agent || filled=0
adm add-staff "$pki/officer.pem" --role officer || filled=0
if [ "$filled" = 1 ]; then
	ok "revportal-admin imported the certificates and the staff accounts"
else
	notok "revportal-admin imported the certificates and the staff accounts" \
	    "$(tail -n 5 "$work/adm.out")"
fi

# --- the browser ------------------------------------------------------------
export STACK_URL SER_WALK SER_WRONG SER_DBL SER_DBL2
export FLOWS_DB=$stack/revportal.db FLOWS_PKI=$pki FLOWS_N0=$n
timeout 120 node tests/browser/test_flows.mjs >"$work/node.out" 2>&1
rc=$?
# Its own lines, numbered on from here, counted here (also when it died
# before its RESULT line, which is left out).
grep -v '^RESULT ' "$work/node.out"
np=$(grep -c '^ok ' "$work/node.out")
nf=$(grep -c '^not ok ' "$work/node.out")
pass=$((pass + np))
fail=$((fail + nf))
n=$((n + np + nf))
if ! grep -q '^RESULT ' "$work/node.out"; then
	notok "the browser tests ran to the end" "exit status $rc (124: timed out)"
elif ((rc != 0 && nf == 0)); then
	notok "the browser tests exited cleanly" "exit status $rc"
fi

if stack_stop "$stack" 2>"$work/stop.err"; then
	ok "the stack stopped cleanly after the browser tests"
else
	notok "the stack stopped cleanly after the browser tests" \
	    "$(cat "$work/stop.err")" "$(tail -n 10 "$stack/revportal.log")"
fi
if cat "$stack/revportal.log" "$stack/revportal.log.1" 2>/dev/null |
    grep -q 'ERROR: AddressSanitizer\|runtime error:\|LeakSanitizer'; then
	notok "no sanitizer report in the worker log" \
	    "$(grep -m 3 'ERROR: AddressSanitizer\|runtime error:\|LeakSanitizer' "$stack/revportal.log")"
else
	ok "no sanitizer report in the worker log"
fi

echo "RESULT passed=$pass failed=$fail"
[ "$fail" -eq 0 ]
