#!/usr/bin/env bash
# Browser tests of the signed-request pages (h_signpage.c) in Debian's
# Chromium (tests/browser/test_sign.mjs, playwright-core): the revocation
# form under the CSP, step 2 and the document's download, a signature
# made here with openssl (qpki_sign) and uploaded through the file input,
# a garbage upload, a legal representative's login and approval of a
# business reactivation, CSRF and a tampered session cookie.  Starts the
# qualified test PKI (tests/integration/qpki.sh, with its OCSP
# responders) and the real stack with its trust anchors, and fills the
# registry with revportal-admin.  Prints "ok N - name" / "not ok N -
# name" lines and, last, "RESULT passed=N failed=M".
set -uo pipefail

top=$(cd "$(dirname "$0")/../.." && pwd)
cd "$top" || exit 1
# shellcheck source=../../deploy/stack.sh
. deploy/stack.sh
# shellcheck source=../integration/lib.sh
. tests/integration/lib.sh
# shellcheck source=../integration/qpki.sh
. tests/integration/qpki.sh

work=$(mktemp -d /tmp/revportal-sign.XXXXXX)
stack=$work/stack
q=$work/qpki

cleanup() {
	stack_stop "$stack" >/dev/null 2>&1 || true
	qpki_stop "$q" >/dev/null 2>&1 || true
	[ -n "${KEEP:-}" ] || rm -rf "$work"
}
trap cleanup EXIT

need_tools openssl sqlite3 nginx node
for b in "$BIN" "$ADMIN"; do
	[ -x "$b" ] || give_up "$(basename "$b") is built" "not found: $b"
done

# --- the qualified PKI, its OCSP responders --------------------------------
qpki_init "$q" >"$work/qpki.out" 2>&1 ||
	give_up "qpki_init made the test PKI" "$(tail -n 5 "$work/qpki.out")"
# shellcheck disable=SC1091
. "$q/env"
qpki_start "$q" >>"$work/qpki.out" 2>&1 ||
	give_up "qpki_start started the OCSP responders" "$(tail -n 5 "$work/qpki.out")"

# --- the stack ----------------------------------------------------------------
ini=$'[signature]\n'"anchors_dir = $q/anchors"$'\n[ratelimit]\npassphrase_attempts = 1000\nwindow_seconds = 60\n'
listen="127.0.0.1:$(stack_free_port)"
if ! stack_start "$stack" "$BIN" "$listen" 2 "$ini"; then
	give_up "the stack starts with the qualified trust anchors" "see $stack (KEEP=1 keeps it)"
fi

# --- the registry ------------------------------------------------------------
# Alice revokes her personal certificate; Bob asks to reactivate his
# business certificate of Acme (VATSI-11111111), which Rebeka (rep), a
# legal representative of Acme, approves.
adm() {
	"$ADMIN" -c "$stack/revportal.ini" "$@" >>"$work/adm.out" 2>&1
}
(umask 077 && printf 'a passphrase nobody types here\n' >"$work/pass.txt")
filled=1
adm import-cert "$q/alice.pem" --type personal --passphrase-file "$work/pass.txt" || filled=0
adm import-cert "$q/bob.pem" --type business --passphrase-file "$work/pass.txt" || filled=0
# The certificate bob asks to reactivate is a second business certificate
# of his (from a target CA of the test's own): a suspended certificate
# cannot sign its own reactivation (signflow.c refuses a signer the
# registry knows as suspended), so he signs with his other one.
pki=$work/pki
mkdir -p "$pki"
pki_init && pki_ca tca "/CN=Target CA/O=Test TSP/C=SI" &&
    pki_leaf tca leaf bob2 "/C=SI/O=Acme d.o.o./organizationIdentifier=VATSI-11111111/CN=Bob Kranjc/serialNumber=PNOSI-1000000000002" 0x0B0B 730 ||
    filled=0
adm import-cert "$pki/bob2.pem" --type business --passphrase-file "$work/pass.txt" || filled=0
adm add-rep --org VATSI-11111111 --org-name "Acme d.o.o." \
    --person PNOSI-1000000000003 --name "Rebeka Zupan" \
    --email rebeka@example.test || filled=0
rm -f "$work/pass.txt"
# Bob's certificate is suspended: set here, as the CA's confirmation of a
# suspension would (the relay is not part of this test).
now_ms=$(($(date +%s) * 1000))
sqlite3 "$stack/revportal.db" "UPDATE certificates SET status = 'suspended', \
    status_at = $now_ms, suspended_at = $now_ms, \
    suspended_until = $((now_ms + 86400000)) WHERE serial = 'B0B'" ||
	filled=0
if [ "$filled" = 1 ]; then
	ok "revportal-admin imported the certificates and the legal representative"
else
	notok "revportal-admin imported the certificates and the legal representative" \
	    "$(tail -n 5 "$work/adm.out")"
fi

# --- the browser ------------------------------------------------------------
# The page test's "BOB" is the certificate to reactivate.
QPKI_SERIAL_BOB=B0B
export STACK_URL QPKI_SERIAL_ALICE QPKI_SERIAL_BOB
export SIGN_DB=$stack/revportal.db SIGN_QPKI=$q SIGN_WORK=$work SIGN_N0=$n
timeout 90 node tests/browser/test_sign.mjs >"$work/node.out" 2>&1
rc=$?
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
