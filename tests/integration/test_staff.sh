#!/usr/bin/env bash
# Integration tests of the hotline console (/agent/) and the officer queue
# (/officer/): the real nginx asking for client certificates of a staff CA
# made here with openssl, the sanitizer build of the workers, a registry
# filled with revportal-admin, driven with curl; tampering with sqlite3.
# Prints "ok N - name" / "not ok N - name" lines and, last,
# "RESULT passed=N failed=M".
set -uo pipefail

top=$(cd "$(dirname "$0")/../.." && pwd)
cd "$top" || exit 1
# shellcheck source=../../deploy/stack.sh
. deploy/stack.sh
# shellcheck source=lib.sh
. tests/integration/lib.sh

WORKERS=2
work=$(mktemp -d /tmp/revportal-staff-it.XXXXXX)
stack=$work/stack
pki=$work/pki

# What a failed check reports besides its command (see lib.sh).
check_detail() {
	echo "status: ${code:-}"
	echo "body: $(head -c 600 "$work/b" 2>/dev/null | tr '\n' ' ')"
}

cleanup() {
	stack_stop "$stack" >/dev/null 2>&1 || true
	[ -n "${KEEP:-}" ] || rm -rf "$work"
}
trap cleanup EXIT

# as WHO CURL-ARGS...: a request with the client certificate of WHO (a
# name in $pki, or "none"), each WHO with its own cookie jar; headers to
# $work/h, body to $work/b, status in $code.
as() {
	local who=$1
	shift
	local -a c=()
	[ "$who" = none ] || c=(--cert "$pki/$who.pem" --key "$pki/$who.key")
	code=$(curl -sk --noproxy '*' --max-time 30 "${c[@]}" \
	    -b "$work/jar.$who" -c "$work/jar.$who" -D "$work/h" \
	    -o "$work/b" -w '%{http_code}' "$@")
}
has() { grep -q -- "$1" "$work/b"; }
hasnt() { ! grep -q -- "$1" "$work/b"; }
is() { [ "$code" = "$1" ]; }
# field NAME: the value of the form field NAME on the page in $work/b.
field() { sed -n "s/.*name=\"$1\" value=\"\([^\"]*\)\".*/\1/p" "$work/b" | head -n 1; }
sql() { sqlite3 -batch "$stack/revportal.db" "$1"; }
adm() {
	"$ADMIN" -c "$work/admin.ini" "$@" >"$work/adm.out" 2>"$work/adm.err"
}
certid() { sql "SELECT id FROM certificates WHERE serial = '$1'"; }
# The checks below run their conditions in "bash -c": they see these.
export work stack
export -f hdr field sql

need_tools openssl sqlite3 curl nginx python3
for b in "$BIN" "$ADMIN"; do
	[ -x "$b" ] || give_up "$b is built"
done

# --- certificates ---------------------------------------------------------
# Three CAs: the qualified CA of the subscribers' certificates, the staff
# CA nginx trusts for client certificates, and another CA nginx does not.
mkdir -p "$stack"
made=1
pki_init || made=0
pki_ca qca "/CN=Test Qualified CA/O=Test TSP/C=SI" || made=0
pki_ca staffca "/CN=Test Staff CA/O=Test TSP/C=SI" || made=0
pki_ca otherca "/CN=Other CA/O=Elsewhere/C=SI" || made=0
org="/O=Podjetje d.o.o./organizationIdentifier=VATSI-12345678/C=SI"
pki_leaf qca leaf personal "/CN=Ana Novak/serialNumber=PNOSI-1001/emailAddress=ana@example.si/C=SI" 0x42BA82334FDAB97D86A19279BAB5E87934D85554 1826 || made=0
pki_leaf qca leaf business "/CN=Bojan Kranjc/serialNumber=PNOSI-1002$org" 0x1002 1826 || made=0
pki_leaf qca leaf card1 "/CN=Cene Zupan/serialNumber=PNOSI-1007/C=SI" 0x1007 1826 || made=0
pki_leaf qca leaf card2 "/CN=Cene Zupan/serialNumber=PNOSI-1007/C=SI" 0x1008 1826 || made=0
pki_leaf qca leaf locky "/CN=Lojze Lock/serialNumber=PNOSI-1010/C=SI" 0x1010 1826 || made=0
pki_leaf qca leaf halcom "/CN=Hana Halcom/serialNumber=PNOSI-1011/C=SI" 0x1011 1826 || made=0
pki_leaf qca leaf tls "/CN=www.example.si$org" 0x1005 365 || made=0
pki_leaf qca leaf fail1 "/CN=Franc Fail/serialNumber=PNOSI-1020/C=SI" 0x1020 1826 || made=0
pki_leaf qca leaf fail2 "/CN=Frida Fail/serialNumber=PNOSI-1021/C=SI" 0x1021 1826 || made=0
pki_leaf qca leaf pct "/CN=Percy 100%_!/serialNumber=PNOSI-1030/C=SI" 0x1030 1826 || made=0
# Its serial is also a part of the organisation's VATSI-12345678.
pki_leaf qca leaf numbers "/CN=Zala Serial/serialNumber=PNOSI-1040/C=SI" 0x12345678 1826 || made=0
pki_leaf staffca client agent "/CN=Agent Ana/O=Test TSP/C=SI" 0x2001 365 || made=0
pki_leaf staffca client agent2 "/CN=Agent Bine/O=Test TSP/C=SI" 0x2002 365 || made=0
pki_leaf staffca client officer "/CN=Officer Bor/O=Test TSP/C=SI" 0x2003 365 || made=0
pki_leaf staffca client disabled "/CN=Agent Dis/O=Test TSP/C=SI" 0x2004 365 || made=0
pki_leaf staffca client stranger "/CN=Stranger/O=Test TSP/C=SI" 0x2005 365 || made=0
# A second account with the first agent's display name.
pki_leaf staffca client agent3 "/CN=Agent Ana/O=Test TSP/C=SI" 0x2006 365 || made=0
# The agent's very subject, from a CA nginx does not trust.
pki_leaf otherca client forged "/CN=Agent Ana/O=Test TSP/C=SI" 0x2001 365 || made=0
check "openssl made the test certificates" test "$made" = 1

# --- the registry -----------------------------------------------------------
printf '[paths]\ndatabase = %s/revportal.db\ndb_dir = %s/db\n' "$stack" "$top" \
    >"$work/admin.ini"
pw() { printf '%s\n' "$2" >"$work/pass.$1"; chmod 600 "$work/pass.$1"; }
PASS_ANA='ana revocation phrase'
PASS_CARD='cene card passphrase'
PASS_LOCK='lojze lock passphrase'
PASS_HAL='hana halcom passphrase'
PASS_TLS='website custodian passphrase'
PASS_FAIL='franc and frida passphrase'
WRONG='a wrong guess at it'
pw ana "$PASS_ANA"
pw card "$PASS_CARD"
pw lock "$PASS_LOCK"
pw hal "$PASS_HAL"
pw tls "$PASS_TLS"
pw fail "$PASS_FAIL"
imported=1
adm init || imported=0
adm import-cert "$pki/personal.pem" --type personal --passphrase-file "$work/pass.ana" || imported=0
adm import-cert "$pki/business.pem" --type business || imported=0
adm import-cert "$pki/card1.pem" --type personal --token CARD-0001 --qscd --passphrase-file "$work/pass.card" || imported=0
adm import-cert "$pki/card2.pem" --type personal --token CARD-0001 --qscd || imported=0
adm import-cert "$pki/locky.pem" --type personal --passphrase-file "$work/pass.lock" || imported=0
adm import-cert "$pki/halcom.pem" --type personal --passphrase-file "$work/pass.hal" || imported=0
adm import-cert "$pki/tls.pem" --type tls --passphrase-file "$work/pass.tls" || imported=0
adm import-cert "$pki/fail1.pem" --type personal --passphrase-file "$work/pass.fail" || imported=0
adm import-cert "$pki/fail2.pem" --type personal --passphrase-file "$work/pass.fail" || imported=0
adm import-cert "$pki/pct.pem" --type personal || imported=0
adm import-cert "$pki/numbers.pem" --type personal || imported=0
adm add-staff "$pki/agent.pem" --role agent || imported=0
adm add-staff "$pki/agent2.pem" --role agent || imported=0
adm add-staff "$pki/officer.pem" --role officer || imported=0
adm add-staff "$pki/disabled.pem" --role agent || imported=0
adm add-staff "$pki/agent3.pem" --role agent || imported=0
dis_sha=$(openssl x509 -in "$pki/disabled.pem" -noout -fingerprint -sha256 | cut -d= -f2 | tr -d : | tr 'A-F' 'a-f')
adm disable-staff "$dis_sha" || imported=0
check "revportal-admin filled the registry and the staff accounts" test "$imported" = 1

SER_ANA=42BA82334FDAB97D86A19279BAB5E87934D85554
ID_ANA=$(certid $SER_ANA)
ID_CARD1=$(certid 1007)
ID_LOCK=$(certid 1010)
ID_HAL=$(certid 1011)
ID_TLS=$(certid 1005)
ID_FAIL1=$(certid 1020)
ID_FAIL2=$(certid 1021)
ID_NUM=$(certid 12345678)
AGENT_ID=$(sql "SELECT min(id) FROM staff WHERE name = 'Agent Ana'")
AGENT3_ID=$(sql "SELECT max(id) FROM staff WHERE name = 'Agent Ana'")
OFFICER_ID=$(sql "SELECT id FROM staff WHERE name = 'Officer Bor'")
# The audit actors: the display name and the account id.
ANA="staff:Agent Ana#$AGENT_ID"
BOR="staff:Officer Bor#$OFFICER_ID"
check "two accounts share the display name Agent Ana" bash -c "[ -n '$AGENT_ID' ] && [ -n '$AGENT3_ID' ] && [ '$AGENT_ID' != '$AGENT3_ID' ]"

# The agents' own rate limit is tested last, on a stack of its own.
ini=$'[policy.passphrase]\nmax_failures = 3\n[ratelimit]\npassphrase_attempts = 1000\n[log]\nlevel = debug\n'
listen="127.0.0.1:$(stack_free_port)"
export STACK_STAFF_CA=$pki/staffca.pem
if ! stack_start "$stack" "$BIN" "$listen" "$WORKERS" "$ini"; then
	notok "stack starts with the staff CA" "see $stack"
	echo "RESULT passed=$pass failed=$fail"
	exit 1
fi
ok "stack starts with the staff CA (nginx asks for client certificates)"

# --- who may come in ----------------------------------------------------------
denied_n() { sql "SELECT count(*) FROM audit WHERE action = 'staff.denied' AND details LIKE '%\"reason\":\"$1\"%'"; }
export -f denied_n

as none "$(url /agent/)"
check "no client certificate: /agent/ refused" is 403
as none "$(url /officer/)"
check "no client certificate: /officer/ refused" is 403
denied_before=$(sql "SELECT count(*) FROM audit WHERE action = 'staff.denied'")
as forged "$(url /agent/)"
check "a certificate of another CA (same subject as an agent): nginx answers 400 Bad certificate" bash -c "[ '$code' = 400 ] && grep -q 'Bad certificate' '$work/b'"
check "... and the portal never saw it" bash -c "! grep -q 'Hotline console' '$work/b' && [ \"\$(sql \"SELECT count(*) FROM audit WHERE action = 'staff.denied'\")\" = '$denied_before' ]"

as stranger "$(url /agent/)"
check "a staff-CA certificate without an account: 403" is 403
check "... with the staff_denied page" has "Access to this page was refused"
check "... audited as staff.denied, reason unknown, by fingerprint" bash -c "[ \"\$(denied_n unknown)\" = 1 ] && [ \"\$(sql \"SELECT length(actor) FROM audit WHERE action = 'staff.denied'\")\" = 64 ]"
as disabled "$(url /agent/)"
check "a disabled account: 403" is 403
check "... audited with reason disabled" test "$(denied_n disabled)" = 1
check "... and the page does not say which check failed" bash -c "! grep -qi 'disabled\|unknown\|wrong_role' '$work/b'"
as officer "$(url /agent/)"
check "an officer on the agent console: 403" is 403
as agent "$(url /officer/)"
check "an agent on the officer queue: 403" is 403
check "... both audited with reason wrong_role" test "$(denied_n wrong_role)" = 2
as agent "$(url /officer/requests/AAAAAAAAAAAAAAAAAAAAAA)"
check "an agent on an officer's request page: 403" is 403
as officer "$(url /agent/certificates/$ID_ANA)"
check "an officer on an agent's certificate page: 403" is 403
check "the audit log names the path of each refusal" test "$(sql "SELECT count(*) FROM audit WHERE action = 'staff.denied' AND details LIKE '%\"path\":\"/agent/certificates/$ID_ANA\"%'")" = 1

as agent "$(url /agent/)"
check "the agent's console opens" bash -c "[ '$code' = 200 ] && grep -q 'Hotline console' '$work/b' && grep -q 'Agent Ana' '$work/b'"
check "the console is no-store" test "$(hdr Cache-Control)" = no-store

# --- search ---------------------------------------------------------------------
search() { as agent -G --data-urlencode "q=$1" "$(url /agent/)"; }
search "42:ba:82:33:4f:da:b9:7d:86:a1:92:79:ba:b5:e8:79:34:d8:55:54"
check "search by serial in lower case with colons" bash -c "[ '$code' = 200 ] && grep -q -- '$SER_ANA' '$work/b' && grep -q 'href=\"/agent/certificates/$ID_ANA\"' '$work/b'"
search "00 42BA82334FDAB97D86A19279BAB5E87934D85554"
check "search by serial with a leading zero and a space" has "/agent/certificates/$ID_ANA\""
search "novak"
check "search by part of the person's name, any case" bash -c "grep -q 'Ana Novak' '$work/b' && grep -q '/agent/certificates/$ID_ANA\"' '$work/b'"
search "ana@example.si"
check "search by e-mail" has "/agent/certificates/$ID_ANA\""
search "PNOSI-1001"
check "search by the person's identifier" has "/agent/certificates/$ID_ANA\""
search "VATSI-12345678"
check "search by the organisation's identifier finds its certificates" bash -c "grep -q '<code>1002</code>' '$work/b' && grep -q '<code>1005</code>' '$work/b' && ! grep -q -- '$SER_ANA' '$work/b'"
search "podjetje"
check "search by the organisation's name" has "<code>1002</code>"
search "CARD-0001"
check "search by token label finds both certificates" bash -c "grep -q '<code>1007</code>' '$work/b' && grep -q '<code>1008</code>' '$work/b'"
search "%%"
check "LIKE wildcards are matched literally (%% finds nothing)" has 'id="no-results"'
search "_"
check "a lone _ is too short to search" has "Type at least 2 characters"
search "%_"
check "a literal %_ finds the one name holding it, not every row the wildcards would" bash -c "grep -q '<code>1030</code>' '$work/b' && ! grep -q -- '$SER_ANA' '$work/b' && ! grep -q '<code>1002</code>' '$work/b'"
search "100%"
check "a literal % is no wildcard (100% is not PNOSI-1001, -1002, ...)" bash -c "grep -q '<code>1030</code>' '$work/b' && ! grep -q -- '$SER_ANA' '$work/b' && ! grep -q '<code>1002</code>' '$work/b'"
search "1_0"
check "a literal _ is no wildcard (1_0 is not PNOSI-1010, -1020, ...)" has 'id="no-results"'
search "12345678"
check "the certificate with that very serial comes first, then the other matches" bash -c "[ \"\$(grep -o 'href=\"/agent/certificates/[0-9]*\"' '$work/b' | head -n 1)\" = 'href=\"/agent/certificates/$ID_NUM\"' ] && grep -q '<code>1002</code>' '$work/b' && grep -q '<code>1005</code>' '$work/b'"
search "nobody at all"
check "no match says so" has 'id="no-results"'
search "<script>x"
check "the search text is escaped on the page" bash -c "grep -q '&lt;script&gt;x' '$work/b' && ! grep -q '<script>x' '$work/b'"
check "searches are audited as agent.search with the query and the agent" test "$(sql "SELECT count(*) FROM audit WHERE action = 'agent.search' AND actor = '$ANA' AND details LIKE '%\"q\":\"novak\"%'")" = 1
as agent3 -G --data-urlencode "q=novak" "$(url /agent/)"
check "an account with the same display name is another actor" bash -c "[ '$code' = 200 ] && [ \"\$(sql \"SELECT count(*) FROM audit WHERE action = 'agent.search' AND actor = 'staff:Agent Ana#$AGENT3_ID'\")\" = 1 ] && [ \"\$(sql \"SELECT count(*) FROM audit WHERE actor = 'staff:Agent Ana'\")\" = 0 ]"

# --- the certificate page ---------------------------------------------------------
as agent "$(url /agent/certificates/$ID_ANA)"
check "the certificate page shows the certificate" bash -c "[ '$code' = 200 ] && grep -q 'id=\"serial\">$SER_ANA<' '$work/b' && grep -q 'PNOSI-1001' '$work/b'"
check "... with the verify form and its CSRF token" bash -c "grep -q 'action=\"/agent/verify\"' '$work/b' && [ -n \"\$(field csrf_token)\" ]"
check "... and its audit entries (the import)" has "certificate.import"
check "viewing is audited as agent.view" test "$(sql "SELECT count(*) FROM audit WHERE action = 'agent.view' AND actor = '$ANA' AND subject = 'certificate:$SER_ANA'")" = 1
as agent "$(url /agent/certificates/$ID_CARD1)"
check "a card certificate lists the other certificate on its token" bash -c "grep -q 'id=\"token-certs\"' '$work/b' && grep -q '<code>1008</code>' '$work/b' && grep -q 'value=\"token\"' '$work/b'"
as agent "$(url /agent/certificates/999999)"
check "an unknown certificate is 404" is 404
as agent "$(url /agent/certificates/0012)"
check "a malformed row id is 404" is 404

# verify WHO CERT PASS [SCOPE]: opens the certificate page, then posts the
# passphrase with that page's CSRF token.
verify() {
	as "$1" "$(url "/agent/certificates/$2")"
	local tok
	tok=$(field csrf_token)
	as "$1" --data-urlencode "csrf_token=$tok" --data-urlencode "cert=$2" \
	    --data-urlencode "scope=${4:-certificate}" \
	    --data-urlencode "passphrase=$3" "$(url /agent/verify)"
}
# keep: remembers the action form on the page in $work/b.
keep() {
	F_CSRF=$(field csrf_token)
	F_VER=$(field verified)
	F_CERT=$(field cert)
	F_SCOPE=$(field scope)
	F_FORM=$(field form_id)
}
# act WHO FIELDS...: posts the remembered action form with FIELDS
# (name=value, URL-encoded here) added.
act() {
	local who=$1 f
	shift
	local -a d=(--data-urlencode "csrf_token=$F_CSRF" --data-urlencode "verified=$F_VER" \
	    --data-urlencode "cert=$F_CERT" --data-urlencode "scope=$F_SCOPE" \
	    --data-urlencode "form_id=$F_FORM")
	for f in "$@"; do d+=(--data-urlencode "$f"); done
	as "$who" "${d[@]}" "$(url /agent/act)"
}
fails_of() { sql "SELECT failures FROM passphrases WHERE certificate_id = $1"; }

# --- verifying the caller -------------------------------------------------------------
verify agent "$ID_ANA" "$WRONG"
check "a wrong passphrase: 401 on the certificate page" bash -c "[ '$code' = 401 ] && grep -q 'id=\"verify-error\"' '$work/b' && grep -q 'id=\"serial\"' '$work/b'"
check "... which shows the wrong entry" has "set, 1 wrong"
check "... counted toward the lockout" test "$(fails_of "$ID_ANA")" = 1
check "... audited as agent.verify failed" test "$(sql "SELECT count(*) FROM audit WHERE action = 'agent.verify' AND actor = '$ANA' AND details LIKE '%\"outcome\":\"failed\"%'")" = 1
as agent --data "cert=$ID_ANA&passphrase=x" "$(url /agent/verify)"
check "verify without a CSRF token: 403" is 403
check "... not counted" test "$(fails_of "$ID_ANA")" = 1
verify agent "$ID_ANA" "$PASS_ANA"
check "the right passphrase: the action form" bash -c "[ '$code' = 200 ] && grep -q 'action=\"/agent/act\"' '$work/b' && grep -q 'id=\"verified\"' '$work/b'"
check "... resets the count" test "$(fails_of "$ID_ANA")" = 0
check "... the revocation reasons of the hotline are named (Fina: theft, loss, compromise)" bash -c "grep -q 'id=\"revoke-reasons\"' '$work/b' && grep -q 'value=\"superseded\"' '$work/b'"
check "... audited as agent.verify ok" test "$(sql "SELECT count(*) FROM audit WHERE action = 'agent.verify' AND details LIKE '%\"outcome\":\"ok\"%'")" = 1
keep
check "the form carries a verified token and a form id" bash -c "[ \"\${#1}\" = 64 ] && [ \"\${#2}\" = 22 ]" _ "$F_VER" "$F_FORM"
check "the default policy offers suspension and revocation" bash -c "grep -q 'id=\"action-suspend\"' '$work/b' && grep -q 'id=\"action-revoke\"' '$work/b' && ! grep -q 'id=\"suspend-only\"' '$work/b'"
check "privilegeWithdrawn is not offered at the hotline by default" hasnt 'value="privilegeWithdrawn"'

act agent action=suspend reason=keyCompromise "caller_name=Ana Novak"
check "no call reference: 400 with a clear message" bash -c "[ '$code' = 400 ] && grep -q 'call reference is required' '$work/b'"
check "... the form keeps what was typed" has 'value="Ana Novak"'
act agent action=suspend reason=keyCompromise "call_reference=   " "caller_name=Ana Novak"
check "a blank call reference: 400" is 400
act agent action=suspend reason=keyCompromise call_reference=CALL-7
check "no caller's name: 400" bash -c "[ '$code' = 400 ] && grep -q 'name, as the caller states it, is required' '$work/b'"
act agent action=reactivate call_reference=CALL-7 "caller_name=Ana Novak"
check "an action other than suspend or revoke: 400" is 400
check "nothing was created by refused forms" test "$(sql 'SELECT count(*) FROM requests')" = 0

good_ver=$F_VER
F_VER=${good_ver:0:30}$([ "${good_ver:30:1}" = A ] && echo B || echo A)${good_ver:31}
act agent action=suspend reason=keyCompromise call_reference=CALL-7 "caller_name=Ana Novak"
check "a forged verified token: 403" bash -c "[ '$code' = 403 ] && grep -q 'not_verified' '$work/b'"
F_VER=""
act agent action=suspend reason=keyCompromise call_reference=CALL-7 "caller_name=Ana Novak"
check "an empty verified token: refused" bash -c "[ '$code' = 400 ] || [ '$code' = 403 ]"
F_VER=$good_ver
F_CERT=$ID_LOCK
act agent action=suspend reason=keyCompromise call_reference=CALL-7 "caller_name=Ana Novak"
check "the verified token of one certificate does not act on another" is 403
F_CERT=$ID_ANA
F_SCOPE=token
act agent action=suspend reason=keyCompromise call_reference=CALL-7 "caller_name=Ana Novak"
check "a certificate without a token cannot act in token scope" is 400
F_SCOPE=certificate
# Tokens made with the instance secret (mint STAFF SCOPE TARGET PASS FORM
# ISSUED, the format of staff.c): issued 16 minutes ago (expired), ahead
# of the clock, and for another agent.
mint() {
	python3 - "$stack/secret.key" "$@" <<'EOF'
import base64, hashlib, hmac, struct, sys
key = open(sys.argv[1], 'rb').read()
staff, scope, target, pas = (int(x) for x in sys.argv[2:6])
form, ts = sys.argv[6].encode(), int(sys.argv[7])
msg = (b'revportal-verified\0' + struct.pack('>qBqq', staff, scope, target, pas) +
    form + struct.pack('>q', ts))
mac = hmac.new(key, msg, hashlib.sha256).digest()
print(base64.urlsafe_b64encode(struct.pack('>qq', ts, pas) + mac).decode().rstrip('='))
EOF
}
PASS_ID_ANA=$(sql "SELECT id FROM passphrases WHERE certificate_id = $ID_ANA")
now=$(date +%s)
F_VER=$(mint "$AGENT_ID" 0 "$ID_ANA" "$PASS_ID_ANA" "$F_FORM" $((now - 16 * 60)))
act agent action=suspend reason=keyCompromise call_reference=CALL-7 "caller_name=Ana Novak"
check "an expired verified token (16 minutes old): 403" is 403
F_VER=$(mint "$AGENT_ID" 0 "$ID_ANA" "$PASS_ID_ANA" "$F_FORM" $((now + 10 * 60)))
act agent action=suspend reason=keyCompromise call_reference=CALL-7 "caller_name=Ana Novak"
check "a verified token from the future: 403" is 403
F_VER=$(mint "$((AGENT_ID + 1))" 0 "$ID_ANA" "$PASS_ID_ANA" "$F_FORM" "$now")
act agent action=suspend reason=keyCompromise call_reference=CALL-7 "caller_name=Ana Novak"
check "a verified token made for another agent: 403" is 403
F_VER=$good_ver
act agent2 action=suspend reason=keyCompromise call_reference=CALL-7 "caller_name=Ana Novak"
check "another agent cannot use this agent's verification" is 403
check "nothing was created by any of these" test "$(sql 'SELECT count(*) FROM requests')" = 0
# A token made here with the instance secret the way staff.c says
# (issued now, for this agent, certificate, passphrase and form) is
# accepted: the format is the one documented.
F_VER=$(mint "$AGENT_ID" 0 "$ID_ANA" "$PASS_ID_ANA" "$F_FORM" "$now")
act agent action=suspend reason=keyCompromise call_reference=CALL-7 "caller_name=Ana Novak"
check "a verified token made as documented (HMAC of the instance secret) acts" bash -c "[ '$code' = 303 ] && [ \"\$(sql \"SELECT action || '|' || call_reference FROM requests\")\" = 'suspend|CALL-7' ]"
first=$(hdr Location)

act agent action=suspend reason=keyCompromise call_reference=CALL-7 "caller_name=Ana Novak"
check "... the same form again goes to the first request" bash -c "[ '$code' = 303 ] && [ \"\$(hdr Location)\" = '$first' ]"
check "... and still one request" sql_is "SELECT count(*) FROM requests" 1

# A lock after the check: the action is refused.
verify agent "$ID_LOCK" "$PASS_LOCK"
keep
sql "UPDATE passphrases SET failures = 3, locked_at = 1 WHERE certificate_id = $ID_LOCK"
act agent action=suspend reason=keyCompromise call_reference=CALL-9 "caller_name=Lojze Lock"
check "a passphrase locked after the check: 423, nothing made" bash -c "[ '$code' = 423 ] && [ \"\$(sql \"SELECT count(*) FROM requests WHERE call_reference = 'CALL-9'\")\" = 0 ]"
sql "UPDATE passphrases SET failures = 0, locked_at = NULL WHERE certificate_id = $ID_LOCK"

# The token of a card: every certificate on it in one request.
verify agent "$ID_CARD1" "$PASS_CARD" token
check "the card's passphrase verifies the whole token" bash -c "[ '$code' = 200 ] && grep -q 'id=\"targets\"' '$work/b' && grep -q '<code>1008</code>' '$work/b'"
keep
act agent action=suspend reason=keyCompromise call_reference=CALL-0042 "caller_name=Cene Zupan" "note=Lost the card on the train."
check "the action: 303 to the request's page" bash -c "[ '$code' = 303 ] && hdr Location | grep -q '^/agent/requests/[A-Za-z0-9_-]\{22\}$'"
loc=$(hdr Location)
rid=${loc##*/}
check "the request is queued, on the hotline channel, for both certificates of the token" bash -c "[ \"\$(sql \"SELECT state || '|' || channel || '|' || requester || '|' || (SELECT count(*) FROM request_certificates WHERE request_id = requests.id) FROM requests WHERE public_id = '$rid'\")\" = 'queued|hotline|$ANA|2' ]"
check "the call reference and the caller's name are stored" sql_is "SELECT call_reference || '|' || caller_name || '|' || staff_id FROM requests WHERE public_id = '$rid'" "CALL-0042|Cene Zupan|$AGENT_ID"
check "lifecycle audited received with the call reference, by the agent" test "$(sql "SELECT count(*) FROM audit WHERE subject = 'request:$rid' AND action = 'request.received' AND actor = '$ANA' AND details LIKE '%\"call_reference\":\"CALL-0042\"%'")" = 1
check "the outbox has one row per certificate" sql_is "SELECT count(*) FROM outbox o JOIN requests r ON r.id = o.request_id WHERE r.public_id = '$rid'" 2
act agent action=suspend reason=keyCompromise call_reference=CALL-0042 "caller_name=Cene Zupan" "note=Lost the card on the train."
check "the same form sent again goes to the same request" bash -c "[ '$code' = 303 ] && [ \"\$(hdr Location)\" = '$loc' ]"
check "... and makes no second request" sql_is "SELECT count(*) FROM requests WHERE call_reference = 'CALL-0042'" 1
act agent action=revoke reason=keyCompromise call_reference=CALL-0042 "caller_name=Cene Zupan"
check "the same form id with other values: 409" is 409
# One passphrase check, one request: the verification is bound to its
# form, whose record is single-use.
used_form=$F_FORM
F_FORM=AAAAAAAAAAAAAAAAAAAAAA
act agent action=suspend reason=keyCompromise call_reference=CALL-0043 "caller_name=Cene Zupan"
check "the same verification with another form id: 403, verify the caller again" bash -c "[ '$code' = 403 ] && grep -q 'verify the caller again' '$work/b'"
F_FORM=$used_form
check "... nothing made" sql_is "SELECT count(*) FROM requests WHERE call_reference = 'CALL-0043'" 0
check "the form's idempotency record names the request" sql_is "SELECT count(*) FROM idempotency i JOIN requests r ON r.id = i.request_id WHERE i.key = 'hotline:$F_FORM' AND r.public_id = '$rid'" 1
check "... under the hotline's own prefix, not the public form's" sql_is "SELECT count(*) FROM idempotency WHERE key LIKE 'form:%'" 0

as agent "$(url "$loc")"
check "the request page shows the live state" bash -c "[ '$code' = 200 ] && grep -q 'id=\"state\">queued<' '$work/b'"
check "... the view is audited as agent.request_view" sql_is "SELECT count(*) FROM audit WHERE action = 'agent.request_view' AND subject = 'request:$rid' AND actor = '$ANA'" 1
check "... refreshes itself without JavaScript, marking its reloads" bash -c "grep -q '<meta http-equiv=\"refresh\" content=\"5; url=/agent/requests/$rid?auto=1\">' '$work/b' && ! grep -qi '<script' '$work/b'"
as agent "$(url "$loc")?auto=1"
check "... a reload answers" status_is 200
check "... and is not audited again" sql_is "SELECT count(*) FROM audit WHERE action = 'agent.request_view' AND subject = 'request:$rid'" 1
check "... shows its due time and is not overdue" bash -c "grep -q '<dt>Due</dt>' '$work/b' && ! grep -q 'id=\"overdue\"' '$work/b'"
sql "UPDATE requests SET due_at = received_at - 1 WHERE public_id = '$rid'"
as agent "$(url "$loc")"
check "a request past its due time is shown overdue" has 'id="overdue"'
as agent "$(url /agent/requests/AAAAAAAAAAAAAAAAAAAAAA)"
check "an unknown request is 404" is 404

# --- the lockout --------------------------------------------------------------------
verify agent "$ID_LOCK" "$WRONG"
verify agent "$ID_LOCK" "$WRONG"
check "two wrong passphrases: still 401" is 401
verify agent "$ID_LOCK" "$WRONG"
check "the third wrong passphrase locks it: 423 with the message" bash -c "[ '$code' = 423 ] && grep -q 'locked' '$work/b'"
check "the passphrases table counts three and is locked" sql_is "SELECT failures || '|' || (locked_at IS NOT NULL) FROM passphrases WHERE certificate_id = $ID_LOCK" "3|1"
verify agent "$ID_LOCK" "$PASS_LOCK"
check "then even the right passphrase: 423" is 423
as agent "$(url "/agent/certificates/$ID_LOCK")"
check "the certificate page says the passphrase is locked" has 'class="locked">locked since'
as agent "$(url "/agent/certificates/$ID_CARD1")"
check "a card's page shows the token's passphrase checks in its own trail" bash -c "grep -q 'id=\"token-audit\"' '$work/b' && grep -q 'passphrase.ok' '$work/b'"

# --- the officer queue ------------------------------------------------------------------
as officer "$(url /officer/)"
check "the officer's queue lists the open request" bash -c "[ '$code' = 200 ] && grep -q -- '$rid' '$work/b'"
check "... audited as officer.queue" sql_is "SELECT count(*) FROM audit WHERE action = 'officer.queue' AND actor = '$BOR' AND details LIKE '%\"state\":null%'" 1
check "... overdue first, marked" bash -c "grep -q 'id=\"overdue-count\"' '$work/b' && grep -q 'overdue-row' '$work/b'"
as officer -G --data-urlencode "state=completed" "$(url /officer/)"
check "the queue by state (completed: none yet)" bash -c "[ '$code' = 200 ] && grep -q 'id=\"queue-empty\"' '$work/b'"
as officer -G --data-urlencode "state=bogus" "$(url /officer/)"
check "an unknown state: 400" is 400

# Two requests of the failure tests, made at the hotline.
mkreq() {
	verify agent "$1" "$PASS_FAIL"
	keep
	act agent action=suspend reason=unspecified "call_reference=$2" "caller_name=Franc Fail"
	hdr Location | sed 's|.*/||'
}
f1=$(mkreq "$ID_FAIL1" CALL-F1)
f2=$(mkreq "$ID_FAIL2" CALL-F2)
check "two more hotline requests for the failure tests" bash -c "[ \${#1} = 22 ] && [ \${#2} = 22 ]" _ "$f1" "$f2"
# order: the public ids on the page in $work/b, one a line.
order() { grep -o "/officer/requests/[A-Za-z0-9_-]\{22\}" "$work/b" | sed 's|.*/||' | tr '\n' ' '; }
export -f order
as officer "$(url /officer/)"
check "open requests: the overdue one first, then the oldest first" test "$(order)" = "$rid ${first##*/} $f1 $f2 "
# What the relay does when the CA refuses for good: the request failed,
# its outbox row dead with the CA's words.
for r in "$f1" "$f2"; do
	sql "UPDATE requests SET state = 'failed', outcome = 'the CA refused' WHERE public_id = '$r'; UPDATE outbox SET state = 'dead', attempts = 5, last_error = 'CA 400: serial not known <b>' WHERE request_id = (SELECT id FROM requests WHERE public_id = '$r')"
done
as officer -G --data-urlencode "state=failed" "$(url /officer/)"
check "failed requests are listed with the CA's last error, escaped" bash -c "grep -q -- '$f1' '$work/b' && grep -q 'CA 400: serial not known &lt;b&gt;' '$work/b'"
as officer "$(url "/officer/requests/$f1")"
check "a failed request's page: retry and reject forms" bash -c "[ '$code' = 200 ] && grep -q 'id=\"retry-form\"' '$work/b' && grep -q 'id=\"reject-form\"' '$work/b'"
check "... its delivery rows and audit trail" bash -c "grep -q 'id=\"outbox\"' '$work/b' && grep -q 'request.received' '$work/b' && grep -q 'CALL-F1' '$work/b'"
check "... with the agent's check of its certificate's passphrase before it, not another's" bash -c "grep -q 'agent.verify' '$work/b' && grep -q 'passphrase.ok' '$work/b' && grep -q 'certificate:1020' '$work/b' && ! grep -q 'certificate:1021' '$work/b'"
check "... the view audited as officer.view" sql_is "SELECT count(*) FROM audit WHERE action = 'officer.view' AND subject = 'request:$f1' AND actor = '$BOR'" 1
otok=$(field csrf_token)
as officer --data "request_id=$f1" "$(url /officer/retry)"
check "retry without a CSRF token: 403" bash -c "[ '$code' = 403 ] && [ \"\$(sql \"SELECT state FROM requests WHERE public_id = '$f1'\")\" = failed ]"
as officer --data "request_id=$f1&note=nope" "$(url /officer/reject)"
check "reject without a CSRF token: 403" is 403
as agent --data-urlencode "csrf_token=$otok" --data "request_id=$f1" "$(url /officer/retry)"
check "an agent cannot retry" is 403
as officer --data-urlencode "csrf_token=$otok" --data "request_id=$f1" "$(url /officer/retry)"
check "retry: 303 to the request" bash -c "[ '$code' = 303 ] && [ \"\$(hdr Location)\" = '/officer/requests/$f1' ]"
check "... the request is queued again, its outbox row pending" sql_is "SELECT r.state || '|' || o.state FROM requests r JOIN outbox o ON o.request_id = r.id WHERE r.public_id = '$f1'" "queued|pending"
check "... audited by the officer" test "$(sql "SELECT count(*) FROM audit WHERE subject = 'request:$f1' AND action = 'request.queued' AND actor = '$BOR'")" = 1
as officer --data-urlencode "csrf_token=$otok" --data "request_id=$f1" "$(url /officer/retry)"
check "retrying a queued request: 409" is 409
as officer --data-urlencode "csrf_token=$otok" --data "request_id=$f2" "$(url /officer/reject)"
check "reject without a reason: 400" bash -c "[ '$code' = 400 ] && grep -q 'reason_required' '$work/b'"
as officer --data-urlencode "csrf_token=$otok" --data "request_id=$f2" --data-urlencode "note=   " "$(url /officer/reject)"
check "reject with a blank reason: 400" is 400
check "... the request is still failed" sql_is "SELECT state FROM requests WHERE public_id = '$f2'" failed
as officer --data-urlencode "csrf_token=$otok" --data "request_id=$f2" --data-urlencode "note=Caller withdrew; confirmed by phone." "$(url /officer/reject)"
check "reject with a reason: 303" is 303
check "... rejected, the reason kept as its outcome" sql_is "SELECT state || '|' || outcome FROM requests WHERE public_id = '$f2'" "rejected|Caller withdrew; confirmed by phone."
check "... audited by the officer" test "$(sql "SELECT count(*) FROM audit WHERE subject = 'request:$f2' AND action = 'request.rejected' AND actor = '$BOR'")" = 1
as officer "$(url "/officer/requests/$f2")"
check "a rejected request offers neither retry nor reject" bash -c "[ '$code' = 200 ] && ! grep -q 'id=\"retry-form\"' '$work/b' && ! grep -q 'id=\"reject-form\"' '$work/b'"
as officer --data-urlencode "csrf_token=$otok" --data "request_id=AAAAAAAAAAAAAAAAAAAAAA" "$(url /officer/retry)"
check "retrying an unknown request: 404" is 404
as agent --data "cert=$ID_ANA" "$(url /agent/act)"
check "act without a CSRF token: 403" is 403
# Closed lists read newest first.
sql "UPDATE requests SET state = 'expired' WHERE public_id IN ('$f1', '$f2')"
as officer -G --data-urlencode "state=expired" "$(url /officer/)"
check "closed requests: the newest first" test "$(order)" = "$f2 $f1 "

# --- the Halcom setting -----------------------------------------------------------
stack_stop "$stack" >/dev/null 2>&1
ini2=$'[policy.passphrase]\nmax_failures = 3\n[policy.hotline]\npassphrase_action = suspend\n[ratelimit]\npassphrase_attempts = 1000\n'
if stack_start "$stack" "$BIN" "$listen" "$WORKERS" "$ini2"; then
	ok "the stack restarts with [policy.hotline] passphrase_action = suspend"
else
	notok "the stack restarts with [policy.hotline] passphrase_action = suspend" "see $stack"
fi
verify agent "$ID_HAL" "$PASS_HAL"
keep
check "Halcom: a personal certificate is offered suspension only" bash -c "[ '$code' = 200 ] && grep -q 'id=\"action-suspend\"' '$work/b' && ! grep -q 'id=\"action-revoke\"' '$work/b'"
check "... and the page says revocation needs a signed request" bash -c "grep -q 'id=\"suspend-only\"' '$work/b' && grep -q 'qualified electronic signature' '$work/b'"
act agent action=revoke reason=keyCompromise call_reference=CALL-H1 "caller_name=Hana Halcom"
check "Halcom: revoking it anyway is refused with 422 and says why" bash -c "[ '$code' = 422 ] && grep -q 'qualified electronic signature' '$work/b'"
check "... nothing made" sql_is "SELECT count(*) FROM requests WHERE call_reference = 'CALL-H1'" 0
act agent action=suspend reason=keyCompromise call_reference=CALL-H2 "caller_name=Hana Halcom"
check "Halcom: the suspension goes through" bash -c "[ '$code' = 303 ] && [ \"\$(sql \"SELECT action || '|' || state FROM requests WHERE call_reference = 'CALL-H2'\")\" = 'suspend|queued' ]"
verify agent "$ID_TLS" "$PASS_TLS"
check "Halcom: a TLS certificate, which cannot be suspended, is offered revocation" bash -c "[ '$code' = 200 ] && grep -q 'id=\"action-revoke\"' '$work/b' && ! grep -q 'id=\"action-suspend\"' '$work/b'"
check "... without the notice that a call only suspends" hasnt 'id="suspend-only"'

# --- the agents' rate limit ---------------------------------------------------------
stack_stop "$stack" >/dev/null 2>&1
ini3=$'[policy.passphrase]\nmax_failures = 3\n[ratelimit]\npassphrase_attempts = 3\nwindow_seconds = 600\n'
if stack_start "$stack" "$BIN" "$listen" "$WORKERS" "$ini3"; then
	ok "the stack restarts with [ratelimit] passphrase_attempts = 3"
else
	notok "the stack restarts with [ratelimit] passphrase_attempts = 3" "see $stack"
fi
AGENT2_ID=$(sql "SELECT id FROM staff WHERE name = 'Agent Bine'")
rl=1
for _ in 1 2 3; do
	verify agent2 "$ID_HAL" "$PASS_HAL"
	[ "$code" = 200 ] || rl=0
done
check "an agent's first three checks in the window go through" test "$rl" = 1
verify agent2 "$ID_HAL" "$WRONG"
check "the fourth: 429 with Retry-After, on the certificate page" bash -c "[ '$code' = 429 ] && [ \"\$(hdr Retry-After)\" -ge 1 ] && [ \"\$(hdr Retry-After)\" -le 600 ] && grep -q 'Too many passphrase checks' '$work/b' && grep -q 'id=\"serial\"' '$work/b'"
check "... the passphrase was not checked (no failure counted)" test "$(fails_of "$ID_HAL")" = 0
check "... logged as a warning naming the agent" bash -c "cat '$stack/revportal.log' '$stack/revportal.log.1' 2>/dev/null | grep 'level=warn' | grep -q 'event=agent_verify_rate staff=$AGENT2_ID'"
verify agent3 "$ID_HAL" "$PASS_HAL"
check "another agent checks on: the limit is per agent" is 200

# --- secrets ---------------------------------------------------------------------
sqlite3 "$stack/revportal.db" .dump >"$work/dump.sql"
leak=0
for p in "$PASS_ANA" "$PASS_CARD" "$PASS_LOCK" "$PASS_HAL" "$PASS_TLS" "$PASS_FAIL" "$WRONG"; do
	for f in "$stack/revportal.log" "$stack/revportal.log.1" "$stack/access.log" "$stack/access.log.1" "$stack/nginx-error.log" "$work/dump.sql"; do
		[ -e "$f" ] || continue
		if grep -qF -- "$p" "$f"; then
			leak=1
			echo "# passphrase found in $f" >&2
		fi
	done
done
check "no passphrase in any log line or audit entry (nor anywhere in the database)" test "$leak" = 0
check "the audit chain is intact" bash -c "'$ADMIN' -c '$work/admin.ini' audit-verify >'$work/adm.out' 2>&1"

if stack_stop "$stack"; then
	ok "the stack stops cleanly"
else
	notok "the stack stops cleanly" "$(tail -n 20 "$stack/revportal.log" 2>/dev/null)"
fi
check "no sanitizer report in the worker logs" bash -c "! cat '$stack/revportal.log' '$stack/revportal.log.1' 2>/dev/null | grep -q 'ERROR: AddressSanitizer\|runtime error:\|LeakSanitizer'"

echo "RESULT passed=$pass failed=$fail"
[ "$fail" -eq 0 ]
