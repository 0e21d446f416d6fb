#!/usr/bin/env bash
# Integration tests of the subscriber's passphrase flows: the real nginx
# in front of the real workers (the sanitizer build), certificates made
# here with openssl and imported with revportal-admin, driven with curl.
# Covers suspension end to end to "queued" (with its outbox row), reason
# mapping, a whole card, the lockout at exactly the configured count and
# its reset (also under 20 parallel wrong entries), one answer for
# unknown serials, serials of two issuers without the issuer, wrong
# passphrases and certificates without a passphrase (and a timing
# comparison, with the start-up's answer floor), a costlier imported
# hash that a right entry re-hashes at the current cost, the rate limit
# with Retry-After, Idempotency-Key replay (which needs the passphrase)
# and reuse, keys scoped by passphrase, the form's own form ids, double
# submission and CSRF, the policy's refusals after authentication, the
# status page and JSON, and that no passphrase reaches a log, the audit
# log or the database.
# Prints "ok N - name" / "not ok N - name" lines and, last,
# "RESULT passed=N failed=M".
set -uo pipefail

top=$(cd "$(dirname "$0")/../.." && pwd)
cd "$top" || exit 1
# shellcheck source=../../deploy/stack.sh
. deploy/stack.sh
# shellcheck source=lib.sh
. tests/integration/lib.sh

WORKERS=3
HOTLINE="+386 1 555 01 23"
work=$(mktemp -d /tmp/revportal-suspend-it.XXXXXX)

# What a failed check reports besides its command (see lib.sh).
check_detail() {
	echo "status: ${code:-}"
	echo "body: $(head -c 400 "$work/b" 2>/dev/null)"
}

cleanup() {
	stack_stop "$work/stack" >/dev/null 2>&1 || true
	[ -n "${KEEP:-}" ] || rm -rf "$work"
}
trap cleanup EXIT

# jget KEY: a top-level value of the JSON body ("" for null or missing).
jget() {
	python3 -c 'import json,sys
v = json.load(open(sys.argv[1])).get(sys.argv[2])
print("" if v is None else (json.dumps(v) if isinstance(v, (list, dict)) else v))' "$work/b" "$1" 2>/dev/null
}
sql() { sqlite3 -batch "$work/stack/revportal.db" "$1"; }

# api JSON [CURL ARGS...]: POST /api/v1/requests.
api() {
	local body=$1
	shift
	req -X POST -H 'Content-Type: application/json' --data-binary "$body" \
	    "$@" "$(url /api/v1/requests)"
}
# body SERIAL PASS [ACTION [REASON]]: a passphrase request's JSON.
body() {
	printf '{"action":"%s","serial":"%s","passphrase":"%s"%s}' \
	    "${3:-suspend}" "$1" "$2" "${4:+,\"reason\":\"$4\"}"
}
# form_get: GET /suspend with the cookie jar; sets csrf and form_id.
form_get() {
	req -c "$work/jar" -b "$work/jar" "$(url /suspend)"
	csrf=$(sed -n 's/.*name="csrf_token" value="\([^"]*\)".*/\1/p' "$work/b" | head -n 1)
	form_id=$(sed -n 's/.*name="form_id" value="\([^"]*\)".*/\1/p' "$work/b" | head -n 1)
}
# form_post ARGS...: POST /suspend with the jar and the given fields.
form_post() {
	req -c "$work/jar" -b "$work/jar" -X POST "$@" "$(url /suspend)"
}

need_tools openssl sqlite3 python3 curl nginx
for b in "$BIN" "$ADMIN"; do
	[ -x "$b" ] || give_up "$(basename "$b") is built" "not found: $b"
done

# --- certificates ----------------------------------------------------------
pki=$work/pki
made=1
pki_init || made=0
pki_ca ca "/CN=Test Qualified CA/O=Test TSP/C=SI" || made=0

# leaf NAME SUBJECT SERIAL DAYS: makes $pki/NAME.pem, issued by the CA.
leaf() { pki_leaf ca leaf "$@"; }
org="/O=Podjetje d.o.o./organizationIdentifier=VATSI-12345678/C=SI"
leaf ana "/CN=Ana Novak/serialNumber=PNOSI-1001/C=SI" 0x42BA82334FDAB97D86A19279BAB5E87934D85554 1826 || made=0
leaf lock "/CN=Bojan Kranjc/serialNumber=PNOSI-1002/C=SI" 0x2002 1826 || made=0
leaf form "/CN=Cene Zupan/serialNumber=PNOSI-1003/C=SI" 0x2003 1826 || made=0
leaf nopass "/CN=Dana Mlakar/serialNumber=PNOSI-1004/C=SI" 0x2004 1826 || made=0
leaf idem "/CN=Eva Kos/serialNumber=PNOSI-1005/C=SI" 0x2005 1826 || made=0
leaf dbl "/CN=Franc Horvat/serialNumber=PNOSI-1006/C=SI" 0x2006 1826 || made=0
leaf rev "/CN=Gal Vidmar/serialNumber=PNOSI-1007/C=SI" 0x2007 1826 || made=0
leaf reset "/CN=Hana Golob/serialNumber=PNOSI-1008/C=SI" 0x2008 1826 || made=0
leaf equal "/CN=Ivan Turk/serialNumber=PNOSI-1009/C=SI" 0x2009 1826 || made=0
leaf timing "/CN=Jana Bizjak/serialNumber=PNOSI-1010/C=SI" 0x200A 1826 || made=0
leaf rate "/CN=Klemen Zajc/serialNumber=PNOSI-1011/C=SI" 0x200B 1826 || made=0
leaf race "/CN=Maja Hribar/serialNumber=PNOSI-1013/C=SI" 0x200C 1826 || made=0
leaf race2 "/CN=Nejc Petek/serialNumber=PNOSI-1014/C=SI" 0x200D 1826 || made=0
leaf idem2 "/CN=Petra Vovk/serialNumber=PNOSI-1016/C=SI" 0x200E 1826 || made=0
leaf costly "/CN=Rok Zupan/serialNumber=PNOSI-1017/C=SI" 0x200F 1826 || made=0
leaf conc "/CN=Sara Kovac/serialNumber=PNOSI-1018/C=SI" 0x2010 1826 || made=0
leaf card1 "/CN=Luka Kralj/serialNumber=PNOSI-1012/C=SI" 0x1007 1826 || made=0
leaf card2 "/CN=Luka Kralj/serialNumber=PNOSI-1012/C=SI" 0x1008 1826 || made=0
leaf tls "/CN=www.example.si$org" 0x1005 365 || made=0
leaf tls2 "/CN=shop.example.si$org" 0x1006 365 || made=0
# The same serial from a second CA.
pki_ca ca2 "/CN=Other Qualified CA/O=Other TSP/C=SI" || made=0
leaf amb1 "/CN=Olga Rozman/serialNumber=PNOSI-1015/C=SI" 0x3001 1826 || made=0
openssl x509 -req -in "$pki/amb1.csr" -CA "$pki/ca2.pem" -CAkey "$pki/ca2.key" \
    -set_serial 0x3001 -days 1826 -extfile "$pki/ext.cnf" -extensions leaf \
    -out "$pki/amb2.pem" >/dev/null 2>&1 || made=0
check "openssl made the test certificates" test "$made" = 1

# The passphrases, each unlike the others, so a grep finds each one.
declare -A PASS=(
	[ana]="Ana's suspension passphrase 1"
	[lock]="Bojan lockout passphrase 2"
	[form]="Cene form passphrase 3"
	[idem]="Eva idempotency passphrase 5"
	[dbl]="Franc double submit passphrase 6"
	[rev]="Gal revocation passphrase 7"
	[reset]="Hana reset passphrase 8"
	[equal]="Ivan equal answers passphrase 9"
	[timing]="Jana timing passphrase 10"
	[rate]="Klemen rate passphrase 11"
	[race]="Maja racing passphrase 12"
	[race2]="Nejc racing passphrase 13"
	[idem2]="Petra second client passphrase 16"
	[costly]="Rok costly hash passphrase 17"
	[conc]="Sara concurrent passphrase 18"
	[amb1]="Olga first issuer passphrase 14"
	[amb2]="Olga second issuer passphrase 15"
	[card]="Luka card passphrase 0001"
	[tls]="TLS server passphrase 5"
)
WRONG="not the passphrase at all"

# --- the stack --------------------------------------------------------------
ini=$(printf '[site]\nhotline = %s\n[argon2]\nmemory_kib = 19456\n[policy.passphrase]\nmax_failures = 3\n[ratelimit]\npassphrase_attempts = 1000\nwindow_seconds = 60\n' "$HOTLINE")
listen="127.0.0.1:$(stack_free_port)"
if ! stack_start "$work/stack" "$BIN" "$listen" "$WORKERS" "$ini"; then
	notok "stack starts" "see $work/stack"
	echo "RESULT passed=$pass failed=$fail"
	exit 1
fi
ok "stack starts (nginx + $WORKERS workers)"

# imp NAME TYPE [PASSKEY] [TOKEN]: import-cert with a passphrase file.
imp() {
	local name=$1 type=$2 pk=${3:-} token=${4:-}
	local -a args=("$pki/$name.pem" --type "$type")
	if [ -n "$pk" ]; then
		(umask 077 && printf '%s\n' "${PASS[$pk]}" >"$work/pass.txt")
		args+=(--passphrase-file "$work/pass.txt")
	fi
	[ -n "$token" ] && args+=(--token "$token" --qscd)
	"$ADMIN" -c "$work/stack/revportal.ini" import-cert "${args[@]}" \
	    >"$work/out" 2>"$work/err"
}
imported=1
for c in ana lock form idem dbl rev reset equal timing rate race race2 amb1 amb2 idem2 conc; do
	imp "$c" personal "$c" || imported=0
done
# A hash costlier than the stack's [argon2] (as if imported from a system
# with another setting): revportal-admin hashes at its config's cost.
sed 's/^memory_kib = .*/memory_kib = 65536\niterations = 3/' \
    "$work/stack/revportal.ini" >"$work/costly.ini"
(umask 077 && printf '%s\n' "${PASS[costly]}" >"$work/pass.txt")
"$ADMIN" -c "$work/costly.ini" import-cert "$pki/costly.pem" --type personal \
    --passphrase-file "$work/pass.txt" >"$work/out" 2>"$work/err" || imported=0
imp nopass personal || imported=0
imp card1 personal card CARD-0001 || imported=0
imp card2 personal "" CARD-0001 || imported=0
imp tls tls tls || imported=0
(umask 077 && printf '%s\n' "${PASS[tls]}" >"$work/pass.txt")
"$ADMIN" -c "$work/stack/revportal.ini" import-cert "$pki/tls2.pem" --type tls \
    --passphrase-file "$work/pass.txt" >"$work/out" 2>"$work/err" || imported=0
rm -f "$work/pass.txt"
check "revportal-admin imported the certificates" sh -c "[ $imported = 1 ] && [ \"\$(sqlite3 '$work/stack/revportal.db' 'SELECT count(*) FROM certificates')\" = 22 ]"
check "the costly hash was stored at its own cost (m=65536, t=3)" sql_is "SELECT p.hash LIKE '\$argon2id\$v=19\$m=65536,t=3,p=1\$%' FROM passphrases p JOIN certificates c ON c.id = p.certificate_id WHERE c.serial = '200F'" 1
check "the supervisor measured the answer floor at start-up" sh -c "grep -Eq 'event=answer_floor ms=[1-9][0-9]* auto=1' '$work'/stack/revportal.log*"

ANA=42BA82334FDAB97D86A19279BAB5E87934D85554

# --- the form ---------------------------------------------------------------
form_get
check "GET /suspend renders the form" status_is 200
check "the form has a CSRF token and a form id" sh -c "[ -n '$csrf' ] && [ \${#1} = 22 ]" _ "$form_id"
check "the form is personal (no-store)" test "$(hdr Cache-Control)" = no-store
check "the form has a serial and a whole-card form" sh -c "grep -q 'name=\"serial\"' '$work/b' && grep -q 'name=\"token\"' '$work/b' && grep -q 'name=\"scope\" value=\"token\"' '$work/b'"
check "each of the two forms has its own form id" sh -c "[ \"\$(sed -n 's/.*name=\"form_id\" value=\"\([^\"]*\)\".*/\1/p' '$work/b' | sort -u | wc -l)\" = 2 ]"
check "the form states the lockout count" body_has "After 3 wrong entries"
check "the form states that suspension is free" body_has "suspension is free"
check "the form offers revocation only for what cannot be suspended" sh -c "grep -q 'value=\"revoke\"' '$work/b' && grep -q 'cannot be suspended' '$work/b'"
check "the form names the hotline" body_has "$HOTLINE"
check "the reasons are offered in words, sent as RFC 5280 names" sh -c "grep -q '<option value=\"keyCompromise\">My card or USB key was lost or stolen' '$work/b' && grep -q 'value=\"unspecified\" selected' '$work/b' && ! grep -q privilegeWithdrawn '$work/b'"
check "the form has a password input and no inline script" sh -c "grep -q 'type=\"password\"' '$work/b' && ! grep -qi '<script' '$work/b' && ! grep -qi 'style=' '$work/b'"
req "$(url '/suspend?serial=42:ba:82')"
check "GET /suspend?serial= fills the serial in" body_has 'value="42:ba:82"'
req "$(url '/suspend?passphrase=x')"
check "GET /suspend takes no passphrase in the query" status_is 400

# --- the API, end to end to queued -----------------------------------------
api "$(body "$ANA" "${PASS[ana]}" suspend)"
check "API suspension by passphrase answers 202" status_is 202
id=$(jget request_id)
check "the answer has a request id, state queued and a status URL" sh -c "[ \${#1} = 22 ] && [ '$(jget state)' = queued ] && [ '$(jget status_url)' = '$STACK_URL/api/v1/requests/'\"\$1\" ]" _ "$id"
check "the request is stored queued, by passphrase over the API" sql_is "SELECT state || '|' || channel || '|' || auth_method || '|' || requester || '|' || reason FROM requests WHERE public_id = '$id'" "queued|api|passphrase|passphrase|unspecified"
check "its outbox row tells the CA a hold for the serial" sql_is "SELECT count(*) FROM outbox o JOIN requests r ON r.id = o.request_id JOIN certificates c ON c.id = o.certificate_id WHERE r.public_id = '$id' AND o.state = 'pending' AND o.action = 'suspend' AND c.serial = '$ANA' AND o.payload LIKE '%\"reason\":\"certificateHold\"%'" 1
check "the passphrase check is audited as ok" sql_is "SELECT count(*) FROM audit WHERE action = 'passphrase.ok' AND subject = 'certificate:$ANA'" 1

req "$(url "/api/v1/requests/$id")"
check "GET /api/v1/requests/{id} answers 200" status_is 200
check "it shows id, action, serial, state, reason" sh -c "[ '$(jget request_id)' = '$id' ] && [ '$(jget action)' = suspend ] && [ '$(jget serial)' = '$ANA' ] && [ '$(jget state)' = queued ] && [ '$(jget reason)' = unspecified ]"
check "received_at is ISO 8601 UTC with ms; completed_at is null" sh -c "echo '$(jget received_at)' | grep -Eq '^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{3}Z$' && grep -q '\"completed_at\":null' '$work/b' && grep -q '\"approvals\":\[\]' '$work/b'"
check "the status JSON is not cached" test "$(hdr Cache-Control)" = no-store
req "$(url "/requests/$id")"
check "GET /requests/{id} renders the status page" status_is 200
check "the status page says it is queued for the CA, in words" sh -c "grep -q 'Queued for the CA' '$work/b' && grep -q -- '$ANA' '$work/b' && grep -q 'no longer works for' '$work/b'"
check "the status page refreshes itself while the request moves" body_has '<meta http-equiv="refresh" content="5">'
check "the status page is not cached" test "$(hdr Cache-Control)" = no-store
check "the status page has no inline script" sh -c "! grep -qi '<script' '$work/b'"
req "$(url /requests/AAAAAAAAAAAAAAAAAAAAAA)"
check "an unknown request id is 404" status_is 404
req "$(url /requests/short)"
check "a malformed request id is 404" status_is 404
req "$(url /api/v1/requests/AAAAAAAAAAAAAAAAAAAAAA)"
check "an unknown request id in the API is 404 JSON" sh -c "[ '$code' = 404 ] && grep -q '\"error\"' '$work/b'"

# A completed suspension reads as done, with how to reactivate.
sql "UPDATE requests SET state = 'completed', completed_at = updated_at WHERE public_id = '$id'"
req "$(url "/requests/$id")"
check "a completed suspension: no longer works, reactivate by signature, free" sh -c "grep -q 'Done' '$work/b' && grep -q 'no longer' '$work/b' && grep -q 'reactivation request signed' '$work/b' && grep -q 'free' '$work/b' && ! grep -q 'http-equiv=\"refresh\"' '$work/b'"
req "$(url "/api/v1/requests/$id")"
check "a completed request has its completed_at" sh -c "echo '$(jget completed_at)' | grep -Eq 'Z$'"
# Approvals show the parties, how and when; never who.
sql "INSERT INTO approvals (request_id, roles, signer_sha256, approved_at) SELECT id, 3, 'ab', received_at FROM requests WHERE public_id = '$id'"
req "$(url "/api/v1/requests/$id")"
check "approvals list the parties, the way and the time, nothing personal" python3 -c 'import json,sys
a = json.load(open(sys.argv[1]))["approvals"]
sys.exit(0 if len(a) == 1 and a[0]["parties"] == ["subject", "legal_rep"] and a[0]["by"] == "officer" and a[0]["approved_at"].endswith("Z") and sorted(a[0]) == ["approved_at", "by", "parties"] else 1)' "$work/b"

# Authentication comes before any status answer.
api "$(body "$ANA" "$WRONG")"
check "a wrong passphrase on a suspended certificate is 401, not 409" status_is 401

# --- the whole card -----------------------------------------------------------
api "{\"action\":\"suspend\",\"token\":\"CARD-0001\",\"passphrase\":\"${PASS[card]}\",\"reason\":\"keyCompromise\"}"
check "a whole-card suspension answers 202" status_is 202
cid=$(jget request_id)
check "it covers both certificates of the card" sql_is "SELECT count(*) FROM request_certificates rc JOIN requests r ON r.id = rc.request_id WHERE r.public_id = '$cid'" 2
check "two outbox rows, one per certificate" sql_is "SELECT group_concat(c.serial, ',') FROM (SELECT c.serial FROM outbox o JOIN requests r ON r.id = o.request_id JOIN certificates c ON c.id = o.certificate_id WHERE r.public_id = '$cid' ORDER BY c.serial) c" "1007,1008"
req "$(url "/api/v1/requests/$cid")"
check "its JSON names the token and both serials" sh -c "[ '$(jget token)' = CARD-0001 ] && [ '$(jget serials)' = '[\"1007\", \"1008\"]' ] && [ '$(jget reason)' = keyCompromise ]"
req "$(url "/requests/$cid")"
check "its page names the card and both serials" sh -c "grep -q 'CARD-0001' '$work/b' && grep -q '1007' '$work/b' && grep -q '1008' '$work/b'"

# --- the form, with reason mapping -------------------------------------------
form_get
form_post --data-urlencode "csrf_token=$csrf" --data-urlencode "form_id=$form_id" \
    --data-urlencode scope=certificate --data-urlencode "serial=00:20:03" \
    --data-urlencode "passphrase=${PASS[form]}" --data-urlencode reason=keyCompromise \
    --data-urlencode action=suspend
check "POST /suspend answers 303 See Other" status_is 303
loc=$(hdr Location)
fid=${loc#/requests/}
check "it redirects to the request's status page" sh -c "echo '$loc' | grep -Eq '^/requests/[A-Za-z0-9_-]{22}$'"
check "the form's reason reaches the request as keyCompromise, channel web" sql_is "SELECT r.reason || '|' || r.channel || '|' || r.state FROM requests r JOIN request_certificates rc ON rc.request_id = r.id JOIN certificates c ON c.id = rc.certificate_id WHERE c.serial = '2003'" "keyCompromise|web|queued"
req "$(url "$loc")"
check "the status page after the redirect shows the reason in words" sh -c "[ '$code' = 200 ] && grep -q 'lost or stolen' '$work/b'"

# A refusal shows the form again, with the message and the values.
form_get
form_post --data-urlencode "csrf_token=$csrf" --data-urlencode "form_id=$form_id" \
    --data-urlencode scope=certificate --data-urlencode "serial=20:08" \
    --data-urlencode "passphrase=$WRONG" --data-urlencode reason=superseded \
    --data-urlencode action=suspend
check "a wrong passphrase on the form: 401 and the form again" sh -c "[ '$code' = 401 ] && grep -q 'name=\"csrf_token\"' '$work/b' && grep -q 'The serial number or the passphrase is not right.' '$work/b'"
check "the form keeps the serial and the reason, not the passphrase" sh -c "grep -q 'value=\"20:08\"' '$work/b' && grep -q 'value=\"superseded\" selected' '$work/b' && ! grep -q -- '$WRONG' '$work/b'"
sql "UPDATE passphrases SET failures = 0 WHERE certificate_id = (SELECT id FROM certificates WHERE serial = '2008')"

# --- double submission and CSRF ------------------------------------------------
form_get
for i in 1 2; do
	form_post --data-urlencode "csrf_token=$csrf" --data-urlencode "form_id=$form_id" \
	    --data-urlencode scope=certificate --data-urlencode "serial=2006" \
	    --data-urlencode "passphrase=${PASS[dbl]}"
	eval "code$i=\$code loc$i=\$(hdr Location)"
done
check "a double-submitted form redirects twice to the same request" sh -c "[ '$code1' = 303 ] && [ '$code2' = 303 ] && [ -n '$loc1' ] && [ '$loc1' = '$loc2' ]"
check "... and made one request" sql_is "SELECT count(*) FROM request_certificates rc JOIN certificates c ON c.id = rc.certificate_id WHERE c.serial = '2006'" 1
check "the form's id is recorded for its request, under its passphrase" sql_is "SELECT count(*) FROM idempotency i JOIN passphrases p ON i.key = 'form:' || p.id || ':$form_id' JOIN certificates c ON c.id = p.certificate_id WHERE c.serial = '2006' AND i.status = 202" 1

# The same form sent twice at once: both wait for the passphrase check,
# one makes the request, the other answers with it.
form_get
pids=()
for i in 1 2; do
	curl -sk --noproxy '*' --max-time 30 -b "$work/jar" -D "$work/race$i.h" \
	    -o /dev/null -X POST --data-urlencode "csrf_token=$csrf" \
	    --data-urlencode "form_id=$form_id" --data-urlencode "serial=200D" \
	    --data-urlencode "passphrase=${PASS[race2]}" "$(url /suspend)" &
	pids+=($!)
done
# Only the two curls: the stack's processes are children of this shell too.
wait "${pids[@]}"
pids=()
r1=$(grep -i '^location:' "$work/race1.h" | tr -d '\r')
r2=$(grep -i '^location:' "$work/race2.h" | tr -d '\r')
check "a form sent twice at once: the same request for both" sh -c "[ -n '$r1' ] && [ '$r1' = '$r2' ] && [ \"\$(sqlite3 '$work/stack/revportal.db' \"SELECT count(*) FROM request_certificates rc JOIN certificates c ON c.id = rc.certificate_id WHERE c.serial = '200D'\")\" = 1 ]"

form_get
before=$(sql "SELECT count(*) FROM requests")
form_post --data-urlencode "form_id=$form_id" --data-urlencode scope=certificate \
    --data-urlencode "serial=2007" --data-urlencode "passphrase=${PASS[rev]}"
check "POST /suspend without a CSRF token is refused with 403" status_is 403
req -X POST --data-urlencode "csrf_token=$csrf" --data-urlencode "form_id=$form_id" \
    --data-urlencode "serial=2007" --data-urlencode "passphrase=${PASS[rev]}" "$(url /suspend)"
check "POST /suspend with a token but without its cookie is refused" status_is 403
form_post -H 'Origin: https://evil.example' --data-urlencode "csrf_token=$csrf" \
    --data-urlencode "form_id=$form_id" --data-urlencode "serial=2007" \
    --data-urlencode "passphrase=${PASS[rev]}"
check "POST /suspend from another origin is refused" status_is 403
check "nothing was made by the refused posts" sql_is "SELECT count(*) FROM requests" "$before"

# --- lockout at exactly the configured count --------------------------------
for i in 1 2; do
	api "$(body 2002 "$WRONG")"
	eval "lc$i=\$code"
done
check "two wrong passphrases answer 401 and count two" sh -c "[ '$lc1' = 401 ] && [ '$lc2' = 401 ] && [ \"\$(sqlite3 '$work/stack/revportal.db' \"SELECT failures || '|' || (locked_at IS NULL) FROM passphrases p JOIN certificates c ON c.id = p.certificate_id WHERE c.serial = '2002'\")\" = '2|1' ]"
api "$(body 2002 "$WRONG")"
check "the third wrong passphrase locks and answers 423" sh -c "[ '$code' = 423 ] && [ '$(jget error)' = passphrase_locked ]"
check "the 423 says what to do instead: signature, office, hotline" sh -c "grep -q 'signed' '$work/b' && grep -q 'registration office' '$work/b' && grep -q -- '$HOTLINE' '$work/b'"
api "$(body 2002 "${PASS[lock]}")"
check "the right passphrase does not unlock it" status_is 423
check "the lock is stored with its count" sql_is "SELECT failures || '|' || (locked_at IS NOT NULL) FROM passphrases p JOIN certificates c ON c.id = p.certificate_id WHERE c.serial = '2002'" "3|1"
check "nothing was made for the locked certificate" sql_is "SELECT count(*) FROM request_certificates rc JOIN certificates c ON c.id = rc.certificate_id WHERE c.serial = '2002'" 0
check "the lock is audited" sql_is "SELECT count(*) FROM audit WHERE action = 'passphrase.locked' AND subject = 'certificate:2002'" 2

# Twenty wrong entries at once, on three workers: each counted once, the
# lock at exactly max_failures, and only one attempt locked it.
pids=()
for i in $(seq 1 20); do
	curl -sk --noproxy '*' --max-time 60 -o /dev/null -w '%{http_code}\n' -X POST \
	    -H 'Content-Type: application/json' --data-binary "$(body 2010 "$WRONG")" \
	    "$(url /api/v1/requests)" >"$work/conc$i.code" &
	pids+=($!)
done
wait "${pids[@]}"
pids=()
check "20 parallel wrong entries: each answered 401 or 423" sh -c "[ \"\$(cat '$work'/conc*.code | grep -Ecx '401|423')\" = 20 ] && grep -qx 423 '$work'/conc*.code"
check "... the count stops at exactly max_failures, locked" sql_is "SELECT failures || '|' || (locked_at IS NOT NULL) FROM passphrases p JOIN certificates c ON c.id = p.certificate_id WHERE c.serial = '2010'" "3|1"
check "... three failures audited and exactly one locked_now:true" sql_is "SELECT (SELECT count(*) FROM audit WHERE subject = 'certificate:2010' AND action = 'passphrase.failed') || '|' || (SELECT count(*) FROM audit WHERE subject = 'certificate:2010' AND action = 'passphrase.locked' AND json_extract(details, '\$.locked_now') = 1)" "3|1"

api "$(body 2008 "$WRONG")"
api "$(body 2008 "$WRONG")"
api "$(body 2008 "${PASS[reset]}")"
check "two wrong, then the right passphrase: 202" status_is 202
check "the right passphrase reset the count" sql_is "SELECT failures FROM passphrases p JOIN certificates c ON c.id = p.certificate_id WHERE c.serial = '2008'" 0
api "$(body 2008 "$WRONG")"
api "$(body 2008 "$WRONG")"
check "two more wrong ones after the reset do not lock" sh -c "[ '$code' = 401 ] && [ \"\$(sqlite3 '$work/stack/revportal.db' \"SELECT failures || '|' || (locked_at IS NULL) FROM passphrases p JOIN certificates c ON c.id = p.certificate_id WHERE c.serial = '2008'\")\" = '2|1' ]"

# --- one answer for every failure, in about the same time --------------------
api "$(body 99AA "${PASS[equal]}")"
cp "$work/b" "$work/unknown.json"
c_unknown=$code
api "$(body 2009 "$WRONG")"
cp "$work/b" "$work/wrong.json"
c_wrong=$code
api "$(body 2004 "$WRONG")"
cp "$work/b" "$work/nopass.json"
c_nopass=$code
check "unknown serial, wrong passphrase, no passphrase: all 401" sh -c "[ '$c_unknown' = 401 ] && [ '$c_wrong' = 401 ] && [ '$c_nopass' = 401 ]"
check "... with bodies equal byte for byte" sh -c "cmp -s '$work/unknown.json' '$work/wrong.json' && cmp -s '$work/unknown.json' '$work/nopass.json'"
check "... saying auth_failed" grep -q '"error":"auth_failed"' "$work/unknown.json"
check "an unknown serial locks nothing and audits nothing" sql_is "SELECT count(*) FROM audit WHERE subject = 'certificate:99AA'" 0
api "{\"action\":\"suspend\",\"token\":\"NO-SUCH-CARD\",\"passphrase\":\"$WRONG\"}"
check "an unknown card answers the same" sh -c "[ '$code' = 401 ] && cmp -s '$work/b' '$work/unknown.json'"
api "$(body 99AA "${PASS[equal]}" revoke)"
check "revoking an unknown serial is 401, not a policy answer" status_is 401
check "the one message says an issuer may be needed" grep -q 'issuer' "$work/unknown.json"

# A stored hash costlier than [argon2]: wrong is 401 as ever; the first
# right entry hashes the passphrase again at the current cost.
api "$(body 200F "$WRONG")"
check "a wrong passphrase under a costlier hash: the same 401" sh -c "[ '$code' = 401 ] && cmp -s '$work/b' '$work/unknown.json'"
api "$(body 200F "${PASS[costly]}")"
check "the right passphrase under a costlier hash: 202" status_is 202
check "... and the hash is made again at the current cost, the count reset" sql_is "SELECT (p.hash LIKE '\$argon2id\$v=19\$m=19456,t=2,p=1\$%') || '|' || p.failures FROM passphrases p JOIN certificates c ON c.id = p.certificate_id WHERE c.serial = '200F'" "1|0"
check "... audited as rehashed" sql_is "SELECT count(*) FROM audit WHERE action = 'passphrase.ok' AND subject = 'certificate:200F' AND json_extract(details, '\$.rehashed') = 1" 1

# timed URL BODY: prints the seconds one API call took.
timed() {
	curl -sk --noproxy '*' --max-time 30 -o /dev/null -w '%{time_total}\n' \
	    -X POST -H 'Content-Type: application/json' --data-binary "$1" \
	    "$(url /api/v1/requests)"
}
t_unknown=0
t_wrong=0
tries=20
for ((i = 0; i < tries; i++)); do
	t=$(timed "$(body 9ABC "$WRONG")")
	t_unknown=$(python3 -c "print($t_unknown + $t)")
	t=$(timed "$(body 200A "$WRONG")")
	t_wrong=$(python3 -c "print($t_wrong + $t)")
	# The right one every second time keeps the count below the lock.
	((i % 2 == 1)) && timed "$(body 200A "${PASS[timing]}" revoke)" >/dev/null
done
ratio=$(python3 -c "u=$t_unknown/$tries; w=$t_wrong/$tries; print('# timing: unknown serial %.1f ms, wrong passphrase %.1f ms (mean of %d), ratio %.2f' % (u*1000, w*1000, $tries, w/u))")
echo "$ratio"
check "unknown serial and wrong passphrase take about as long (ratio < 3)" python3 -c "u=$t_unknown; w=$t_wrong; import sys; sys.exit(0 if u > 0 and w > 0 and w / u < 3 and u / w < 3 else 1)"
check "the timing passphrase was never locked" sql_is "SELECT locked_at IS NULL FROM passphrases p JOIN certificates c ON c.id = p.certificate_id WHERE c.serial = '200A'" 1

# --- idempotency ----------------------------------------------------------------
K="idem-$(date +%s)-test"
api "$(body 2005 "${PASS[idem]}" suspend superseded)" -H "Idempotency-Key: $K"
check "a request with an Idempotency-Key answers 202" status_is 202
cp "$work/b" "$work/idem1.json"
api "$(body 2005 "${PASS[idem]}" suspend superseded)" -H "Idempotency-Key: $K"
check "the same key and body: the same answer again" sh -c "[ '$code' = 202 ] && cmp -s '$work/b' '$work/idem1.json'"
api "$(body 2005 "$WRONG" suspend superseded)" -H "Idempotency-Key: $K"
check "a replay with a wrong passphrase is 401, not the first answer" sh -c "[ '$code' = 401 ] && [ '$(jget error)' = auth_failed ] && ! grep -q request_id '$work/b'"
check "... and counts as a failure like any attempt" sql_is "SELECT failures FROM passphrases p JOIN certificates c ON c.id = p.certificate_id WHERE c.serial = '2005'" 1
api "$(body 2005 "${PASS[idem]}" suspend superseded)" -H "Idempotency-Key: $K"
check "the replay with the passphrase: the first answer again" sh -c "[ '$code' = 202 ] && cmp -s '$work/b' '$work/idem1.json'"
check "one request, one record under the key and its passphrase, count reset" sh -c "[ \"\$(sqlite3 '$work/stack/revportal.db' \"SELECT count(*) FROM request_certificates rc JOIN certificates c ON c.id = rc.certificate_id WHERE c.serial = '2005'\")\" = 1 ] && [ \"\$(sqlite3 '$work/stack/revportal.db' \"SELECT count(*) FROM idempotency i JOIN passphrases p ON i.key = 'api:' || p.id || ':$K' JOIN certificates c ON c.id = p.certificate_id WHERE c.serial = '2005'\")\" = 1 ] && [ \"\$(sqlite3 '$work/stack/revportal.db' \"SELECT count(*) FROM idempotency WHERE key LIKE '%$K'\")\" = 1 ] && [ \"\$(sqlite3 '$work/stack/revportal.db' \"SELECT failures FROM passphrases p JOIN certificates c ON c.id = p.certificate_id WHERE c.serial = '2005'\")\" = 0 ]"
api "$(body 200E "${PASS[idem2]}" suspend superseded)" -H "Idempotency-Key: $K"
check "another client with the same key and its own passphrase: its own request" sh -c "[ '$code' = 202 ] && [ -n '$(jget request_id)' ] && ! cmp -s '$work/b' '$work/idem1.json' && [ \"\$(sqlite3 '$work/stack/revportal.db' \"SELECT count(*) FROM request_certificates rc JOIN certificates c ON c.id = rc.certificate_id WHERE c.serial = '200E'\")\" = 1 ] && [ \"\$(sqlite3 '$work/stack/revportal.db' \"SELECT count(*) FROM idempotency WHERE key LIKE '%:$K'\")\" = 2 ]"
for i in 1 2; do
	curl -sk --noproxy '*' --max-time 30 -o "$work/race$i.json" -X POST \
	    -H 'Content-Type: application/json' -H "Idempotency-Key: $K-race" \
	    --data-binary "$(body 200C "${PASS[race]}")" "$(url /api/v1/requests)" &
	pids+=($!)
done
wait "${pids[@]}"
pids=()
check "the same key sent twice at once: one request, the same answer" sh -c "grep -q '\"request_id\"' '$work/race1.json' && cmp -s '$work/race1.json' '$work/race2.json' && [ \"\$(sqlite3 '$work/stack/revportal.db' \"SELECT count(*) FROM request_certificates rc JOIN certificates c ON c.id = rc.certificate_id WHERE c.serial = '200C'\")\" = 1 ]"
api "$(body 2005 "${PASS[idem]}" suspend keyCompromise)" -H "Idempotency-Key: $K"
check "the same key with another body is 422 idempotency_key_reused" sh -c "[ '$code' = 422 ] && [ '$(jget error)' = idempotency_key_reused ]"
api "$(body 2005 "${PASS[idem]}")" -H "Idempotency-Key: $(printf 'k%.0s' $(seq 1 201))"
check "an Idempotency-Key of 201 characters is 400" sh -c "[ '$code' = 400 ] && [ '$(jget error)' = bad_idempotency_key ]"
api "$(body 2005 "${PASS[idem]}")" -H "Idempotency-Key: two words"
check "an Idempotency-Key with a space is 400" status_is 400
api "$(body 2007 "$WRONG")" -H "Idempotency-Key: $K-401"
check "a refused request records nothing under its key" sh -c "[ '$code' = 401 ] && [ \"\$(sqlite3 '$work/stack/revportal.db' \"SELECT count(*) FROM idempotency WHERE key LIKE '%:$K-401'\")\" = 0 ]"
sql "UPDATE passphrases SET failures = 0 WHERE certificate_id = (SELECT id FROM certificates WHERE serial = '2007')"

# --- the policy, after authentication -------------------------------------------
api "$(body 2007 "${PASS[rev]}" revoke)"
check "online revocation of a personal certificate: 422 needs_signature" sh -c "[ '$code' = 422 ] && [ '$(jget error)' = needs_signature ]"
check "... saying a signed request or the hotline is needed" sh -c "grep -q 'signed' '$work/b' && grep -q -- '$HOTLINE' '$work/b'"
check "... and made nothing" sql_is "SELECT count(*) FROM request_certificates rc JOIN certificates c ON c.id = rc.certificate_id WHERE c.serial = '2007'" 0
api "$(body 2007 "$WRONG" revoke)"
check "the same with a wrong passphrase is 401: no policy answer to strangers" status_is 401
sql "UPDATE passphrases SET failures = 0 WHERE certificate_id = (SELECT id FROM certificates WHERE serial = '2007')"
api "$(body 2007 "${PASS[rev]}" reactivate)"
check "reactivation by passphrase: 422 needs_signature" sh -c "[ '$code' = 422 ] && [ '$(jget error)' = needs_signature ]"
api '{"challenge_id":"AAAAAAAAAAAAAAAAAAAAAA","signature":"MIIB"}'
check "a signed request without [signature] anchors_dir: 422 not_available" sh -c "[ '$code' = 422 ] && [ '$(jget error)' = not_available ]"
api "$(body 1005 "${PASS[tls]}" suspend)"
check "suspending a TLS certificate: 422 not_allowed_for_type" sh -c "[ '$code' = 422 ] && [ '$(jget error)' = not_allowed_for_type ]"
api "$(body 1006 "${PASS[tls]}" revoke keyCompromise)"
check "revoking a TLS certificate with its passphrase: 202 (it cannot be suspended)" status_is 202
check "... queued as a revocation with its reason" sql_is "SELECT r.action || '|' || r.reason || '|' || r.state FROM requests r JOIN request_certificates rc ON rc.request_id = r.id JOIN certificates c ON c.id = rc.certificate_id WHERE c.serial = '1006'" "revoke|keyCompromise|queued"
api "$(body 2006 "${PASS[dbl]}")"
check "a second suspension of a pending certificate: 409" sh -c "[ '$code' = 409 ] && [ '$(jget error)' = request_pending ]"

# --- a serial number of two issuers --------------------------------------------
api "$(body 3001 "${PASS[amb2]}")"
check "a serial of two issuers without the issuer: 401, the unknown serial's body" sh -c "[ '$code' = 401 ] && cmp -s '$work/b' '$work/unknown.json'"
check "... counting and auditing nothing" sql_is "SELECT (SELECT count(*) FROM audit WHERE subject = 'certificate:3001' AND action LIKE 'passphrase.%') || '|' || (SELECT sum(p.failures) FROM passphrases p JOIN certificates c ON c.id = p.certificate_id WHERE c.serial = '3001')" "0|0"
form_get
form_post --data-urlencode "csrf_token=$csrf" --data-urlencode "form_id=$form_id" \
    --data-urlencode scope=certificate --data-urlencode "serial=3001" \
    --data-urlencode "passphrase=${PASS[amb2]}"
check "... on the form: 401 and the issuer field unfolded" sh -c "[ '$code' = 401 ] && grep -q '<details open>' '$work/b' && grep -q 'name=\"issuer\"' '$work/b'"
iss2=$(sql "SELECT issuer_dn FROM certificates WHERE serial = '3001' AND issuer_dn LIKE '%Other%'")
api "{\"action\":\"suspend\",\"serial\":\"3001\",\"issuer\":\"$iss2\",\"passphrase\":\"${PASS[amb2]}\"}"
check "... with the issuer named: 202 for that issuer's certificate" sh -c "[ '$code' = 202 ] && [ \"\$(sqlite3 '$work/stack/revportal.db' \"SELECT c.issuer_dn FROM request_certificates rc JOIN certificates c ON c.id = rc.certificate_id WHERE c.serial = '3001'\")\" = '$iss2' ]"

# --- bad input ---------------------------------------------------------------------
api "{\"action\":\"suspend\",\"serial\":\"2007\"}"
check "no passphrase: 400" sh -c "[ '$code' = 400 ] && [ '$(jget error)' = passphrase_required ]"
api "{\"action\":\"suspend\",\"serial\":\"2007\",\"token\":\"CARD-0001\",\"passphrase\":\"x\"}"
check "both serial and token: 400" status_is 400
api "{\"serial\":\"2007\",\"passphrase\":\"x\"}"
check "no action: 400" status_is 400
api "{\"action\":\"suspend\",\"serial\":\"$(printf 'A%.0s' $(seq 1 41))\",\"passphrase\":\"x\"}"
check "a serial of 41 digits: 400" status_is 400
api "{\"action\":\"suspend\",\"serial\":\"2007\",\"passphrase\":\"x\",\"note\":\"hi\"}"
check "an unknown field: 400" status_is 400

# --- the rate limit, on a restarted stack with a small allowance -----------------
if stack_stop "$work/stack" >/dev/null 2>&1; then ok "the stack stops cleanly"; else notok "the stack stops cleanly"; fi
ini2=$(printf '[site]\nhotline = %s\n[argon2]\nmemory_kib = 19456\n[policy.passphrase]\nmax_failures = 3\n[ratelimit]\npassphrase_attempts = 3\nwindow_seconds = 20\n' "$HOTLINE")
if stack_start "$work/stack" "$BIN" "$listen" "$WORKERS" "$ini2"; then
	ok "the stack starts again with [ratelimit] 3 per 20 s"
else
	notok "the stack starts again with [ratelimit] 3 per 20 s"
fi
sql "DELETE FROM rate_limits"
for i in 1 2 3; do
	api "$(body 99BB "$WRONG")"
	eval "rc$i=\$code"
done
check "three attempts within the allowance are answered" sh -c "[ '$rc1' = 401 ] && [ '$rc2' = 401 ] && [ '$rc3' = 401 ]"
api "$(body 200B "${PASS[rate]}")"
ra=$(hdr Retry-After)
check "the fourth is 429 rate_limited" sh -c "[ '$code' = 429 ] && [ '$(jget error)' = rate_limited ]"
check "... with Retry-After of 1 to 20 seconds" sh -c "echo '$ra' | grep -Eq '^[0-9]+$' && [ '$ra' -ge 1 ] && [ '$ra' -le 20 ]"
check "... before the passphrase was checked" sql_is "SELECT count(*) FROM audit WHERE subject = 'certificate:200B' AND action LIKE 'passphrase.%'" 0
form_get
form_post --data-urlencode "csrf_token=$csrf" --data-urlencode "form_id=$form_id" \
    --data-urlencode "serial=200B" --data-urlencode "passphrase=${PASS[rate]}"
check "the form is refused too: 429, Retry-After, the form again" sh -c "[ '$code' = 429 ] && [ -n \"\$(grep -i '^retry-after:' '$work/h')\" ] && grep -q 'Too many attempts' '$work/b' && grep -q 'name=\"form_id\"' '$work/b'"
later=$(date -u -d '+30 seconds' +%Y-%m-%dT%H:%M:%SZ)
"$ADMIN" -c "$work/stack/revportal.ini" --now "$later" sweep >"$work/out" 2>"$work/err"
check "the sweep deletes the ended rate-limit window" sh -c "[ \$? = 0 ] && [ \"\$(sqlite3 '$work/stack/revportal.db' 'SELECT count(*) FROM rate_limits')\" = 0 ]"
api "$(body 200B "${PASS[rate]}")"
check "after the window, attempts are answered again" status_is 202

# --- no passphrase anywhere ---------------------------------------------------------
if stack_stop "$work/stack" >/dev/null 2>&1; then ok "the stack stops cleanly again"; else notok "the stack stops cleanly again"; fi
leaks=""
for k in "${!PASS[@]}"; do
	p=${PASS[$k]}
	for f in "$work"/stack/revportal.log* "$work"/stack/nginx-error.log* "$work"/stack/access.log*; do
		[ -e "$f" ] && grep -qF -- "$p" "$f" && leaks="$leaks $k:$(basename "$f")"
	done
	sql 'SELECT * FROM audit' | grep -qF -- "$p" && leaks="$leaks $k:audit"
	sqlite3 "$work/stack/revportal.db" .dump | grep -qF -- "$p" && leaks="$leaks $k:db"
done
for f in "$work"/stack/revportal.log* "$work"/stack/nginx-error.log* "$work"/stack/access.log*; do
	[ -e "$f" ] && grep -qF -- "$WRONG" "$f" && leaks="$leaks wrong:$(basename "$f")"
done
sql 'SELECT * FROM audit' | grep -qF -- "$WRONG" && leaks="$leaks wrong:audit"
check "no passphrase in the logs, the audit log or the database" test -z "$leaks"
check "the audit details of passphrase checks hold only count, scope, lock, rehash" sql_is "SELECT count(*) FROM audit, json_each(audit.details) WHERE audit.action LIKE 'passphrase.%' AND json_each.key NOT IN ('failures', 'scope', 'locked_now', 'rehashed')" 0
check "the audit chain is intact" sh -c "'$ADMIN' -c '$work/stack/revportal.ini' audit-verify >'$work/out' 2>'$work/err'"
check "no sanitizer report in the app's log" sh -c "! grep -q 'ERROR: AddressSanitizer\|runtime error:\|LeakSanitizer' '$work'/stack/revportal.log*"

echo "RESULT passed=$pass failed=$fail"
[ "$fail" -eq 0 ]
