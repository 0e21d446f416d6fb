#!/usr/bin/env bash
# Integration tests of signed requests (issue 6): the real nginx in front
# of the real workers (the sanitizer build) with [signature] anchors_dir
# set to the qualified test PKI of tests/integration/qpki.sh, its OCSP
# responders and CRL server running, the holders' certificates imported
# as targets with revportal-admin, driven with curl through the JSON API.
#
# Positive: a subscriber revokes with her own signature (queued); a
# suspension with a detached signature; one made through SoftHSM2
# (PKCS#11, the smart-card path) in base64 with line breaks; a legal
# representative suspends a business certificate; a reactivation asked by
# the subject waits for the legal representative, whose approve document
# queues it as removeFromCRL, its status (need, approval_expires_at, the
# HTML page naming whose signature it waits for and linking
# /approvals/{id}) before and after; an Idempotency-Key replay.
# Recovery: alice recovers an eligible 5-year certificate with a new
# key's CSR (the document's csr-sha256, the recoveries and outbox rows,
# new_serial once issued); refused: no CSR, another subject, the old key,
# a broken self-signature (400 at challenge time), a 2-year certificate
# (422 after the signature, no request), an edited csr-sha256 line (401).
# Negative, each its own check with the HTTP status and the audit entry's
# why: every refusal of DESIGN §3 steps 1 to 6 the test PKI can make, the
# nonce's single use and expiry, challenges sent to the wrong call, and
# signers not allowed (403).  The 401 bodies are byte-identical across
# causes and no refused submission makes a request.
#
# Time is moved, where a test needs it, by rewriting a challenge's
# issued_at and expires_at in the stack's database with sqlite3 (a nonce
# expires after 15 minutes); a certificate is put into "suspended" the
# same way, and so is the new serial of a recovery the CA issued, since
# the relay and the CA are not part of this test.
# Prints "ok N - name" / "not ok N - name" lines and, last,
# "RESULT passed=N failed=M".
set -uo pipefail

top=$(cd "$(dirname "$0")/../.." && pwd)
cd "$top" || exit 1
# shellcheck source=../../deploy/stack.sh
. deploy/stack.sh
# shellcheck source=lib.sh
. tests/integration/lib.sh
# shellcheck source=qpki.sh
. tests/integration/qpki.sh

WORKERS=3
work=$(mktemp -d /tmp/revportal-sign-it.XXXXXX)
q=$work/qpki
pki=$work/pki

check_detail() {
	echo "status: ${code:-}"
	echo "body: $(head -c 400 "$work/b" 2>/dev/null)"
}

cleanup() {
	stack_stop "$work/stack" >/dev/null 2>&1 || true
	qpki_stop "$q" >/dev/null 2>&1 || true
	[ -n "${KEEP:-}" ] || rm -rf "$work"
}
trap cleanup EXIT

need_tools openssl sqlite3 curl nginx softhsm2-util /usr/bin/python3 base64

# jget KEY: a top-level value of the JSON body ("" for null or missing).
jget() {
	python3 -c 'import json,sys
v = json.load(open(sys.argv[1])).get(sys.argv[2])
print("" if v is None else (json.dumps(v, separators=(",", ":")) if isinstance(v, (list, dict)) else v))' "$work/b" "$1" 2>/dev/null
}
sql() { sqlite3 -batch "$work/stack/revportal.db" "$1"; }
# jhas KEY: the JSON body has the top-level key KEY (even when null).
jhas() {
	python3 -c 'import json,sys
sys.exit(0 if sys.argv[2] in json.load(open(sys.argv[1])) else 1)' "$work/b" "$1" 2>/dev/null
}
# recjson SERIAL [CSR]: the body of a recover challenge for SERIAL with
# the PEM file CSR as its "csr" (none without CSR).
recjson() {
	python3 -c 'import json,sys
d = {"action": "recover", "serial": sys.argv[1]}
if len(sys.argv) > 2:
    d["csr"] = open(sys.argv[2]).read()
print(json.dumps(d))' "$@"
}
# csrsha FILE: the lower-case hex SHA-256 of the PEM request FILE's DER.
csrsha() {
	openssl req -in "$1" -outform DER | sha256sum | cut -d' ' -f1
}

# post PATH JSON [CURL ARGS...]: a JSON POST to the stack.
post() {
	local path=$1 body=$2
	shift 2
	req -X POST -H 'Content-Type: application/json' --data-binary "$body" \
	    "$@" "$(url "$path")"
}

# chal NAME JSON: POST /api/v1/challenges; on 201 the document goes to
# $work/NAME.txt, byte for byte, and $cid holds the challenge id.
chal() {
	cid=
	post /api/v1/challenges "$2"
	[ "$code" = 201 ] || return 1
	cid=$(jget challenge_id)
	/usr/bin/python3 -c 'import json,sys
sys.stdout.buffer.write(json.load(open(sys.argv[1]))["document"].encode())' \
	    "$work/b" >"$work/$1.txt"
}

# sigjson CID FILE [wrap]: the body of a signed call with FILE in base64
# (one line, or lines of 76 with "wrap").
sigjson() {
	local b64
	if [ "${3:-}" = wrap ]; then
		b64=$(base64 -w 76 "$2" | sed 's/$/\\n/' | tr -d '\n')
	else
		b64=$(base64 -w 0 "$2")
	fi
	printf '{"challenge_id":"%s","signature":"%s"}' "$1" "$b64"
}

# submit CID FILE [wrap] [CURL ARGS...]: POST /api/v1/requests.
submit() {
	local id=$1 f=$2 w=${3:-}
	shift 3 2>/dev/null || shift $#
	post /api/v1/requests "$(sigjson "$id" "$f" "$w")" "$@"
}

# approve REQUEST CID FILE: POST /api/v1/requests/REQUEST/approvals.
approve() {
	post "/api/v1/requests/$1/approvals" "$(sigjson "$2" "$3")"
}

# why CID: the why of the last refusal audited for challenge CID.
why() {
	sql "SELECT json_extract(details, '\$.why') FROM audit WHERE subject = 'challenge:$1' AND action IN ('signature.refused', 'signature.not_allowed') ORDER BY seq DESC LIMIT 1"
}

# audited CID STATUS WHY [ACTION]: the answer was STATUS and the audit
# says WHY (action signature.refused, or ACTION).
audited() {
	local got act=${4:-signature.refused}
	got=$(sql "SELECT json_extract(details, '\$.why') FROM audit WHERE subject = 'challenge:$1' AND action = '$act' ORDER BY seq DESC LIMIT 1")
	[ "$code" = "$2" ] && [ "$got" = "$3" ] && return 0
	echo "# status $code (want $2), why '$got' (want $3)" >&2
	return 1
}

# --- the PKI and the stack ----------------------------------------------------
qpki_init "$q" || give_up "qpki_init makes the test PKI"
set -a
# shellcheck disable=SC1091
. "$q/env"
set +a
qpki_start "$q" || give_up "qpki_start runs the OCSP responders"
ok "the test PKI and its OCSP responders run"

ini=$(printf '[signature]\nanchors_dir = %s\n[ratelimit]\npassphrase_attempts = 100000\nwindow_seconds = 60\n' "$QPKI_DIR/anchors")
listen="127.0.0.1:$(stack_free_port)"
if ! stack_start "$work/stack" "$BIN" "$listen" "$WORKERS" "$ini"; then
	give_up "stack starts with [signature] anchors_dir" "see $work/stack"
fi
ok "stack starts with [signature] anchors_dir (nginx + $WORKERS workers)"

# A bad anchors_dir stops -t (and the start) with its reason.
mkdir -p "$work/noanchors"
sed "s|^anchors_dir = .*|anchors_dir = $work/noanchors|" \
    "$work/stack/revportal.ini" >"$work/bad.ini"
"$BIN" -t -c "$work/bad.ini" >"$work/out" 2>&1
rc=$?
check "revportal -t refuses an anchors_dir without anchors, naming it" sh -c "[ $rc != 0 ] && grep -q 'anchors_dir' '$work/out'"
"$BIN" -t -c "$work/stack/revportal.ini" >"$work/out" 2>&1
check "revportal -t accepts the test PKI's anchors" test $? = 0

# --- the registry ---------------------------------------------------------------
imp() {
	"$ADMIN" -c "$work/stack/revportal.ini" import-cert "$1" --type "$2" \
	    >>"$work/admin.out" 2>&1
}
mkdir -p "$pki"
pki_init
pki_ca tca "/CN=Target CA/O=Test TSP/C=SI"
# A second business certificate of bob's, the one to reactivate.
pki_leaf tca leaf bob2 "/C=SI/O=Acme d.o.o./organizationIdentifier=VATSI-11111111/CN=Bob Kranjc/serialNumber=PNOSI-1000000000002" 0x0B0B 730
imported=1
imp "$q/alice.pem" personal || imported=0
imp "$q/bob.pem" business || imported=0
imp "$q/carol.pem" personal || imported=0
imp "$q/rsa2048.pem" personal || imported=0
imp "$pki/bob2.pem" business || imported=0
"$ADMIN" -c "$work/stack/revportal.ini" add-rep --org VATSI-11111111 \
    --org-name "Acme d.o.o." --person PNOSI-1000000000003 \
    --name "Rebeka Zupan" --email rep@example.test >>"$work/admin.out" 2>&1 || imported=0
"$ADMIN" -c "$work/stack/revportal.ini" add-rep --org VATSI-22222222 \
    --org-name "Drugo d.o.o." --person PNOSI-1000000000004 \
    --name "Oto Vidmar" --email oto@example.test >>"$work/admin.out" 2>&1 || imported=0
check "revportal-admin registered the targets and the representatives" sh -c "[ $imported = 1 ] && [ \"\$(sqlite3 '$work/stack/revportal.db' 'SELECT count(*) FROM certificates')\" = 5 ]"
now_ms=$(($(date +%s) * 1000))
sql "UPDATE certificates SET status = 'suspended', status_at = $now_ms, suspended_at = $((now_ms - 86400000)), suspended_until = $((now_ms + 30 * 86400000)) WHERE serial = 'B0B'"

A=$QPKI_SERIAL_ALICE
B=$QPKI_SERIAL_BOB
rq_before=$(sql 'SELECT count(*) FROM requests')

# --- challenges ---------------------------------------------------------------
chal a1 "{\"action\":\"revoke\",\"serial\":\"$A\",\"reason\":\"keyCompromise\"}"
check "a challenge: 201 with its id, document and expiry" sh -c "[ '$code' = 201 ] && [ ${#cid} = 22 ] && [ -n '$(jget expires_at)' ]"
check "... the document of DESIGN 3, line by line" /usr/bin/python3 -c '
import re, sys
d = open(sys.argv[1], "rb").read().decode()
pat = (r"revportal-request/1\naction: revoke\nissuer: CN=revportal Test "
    r"Qualified CA,O=Test TSP,C=SI\nserial: " + sys.argv[2] +
    r"\nreason: keyCompromise\nrequest: -\nnonce: [0-9a-f]{32}\n"
    r"issued-at: \d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ\nportal: https://\S+\n\Z")
sys.exit(0 if re.match(pat, d) else 1)' "$work/a1.txt" "$A"
post /api/v1/challenges '{"action":"revoke","serial":"ABCDEF0123"}'
check "a challenge for an unknown serial: 404 unknown_certificate" sh -c "[ '$code' = 404 ] && [ '$(jget error)' = unknown_certificate ]"
post /api/v1/challenges "{\"action\":\"reactivate\",\"serial\":\"$A\"}"
check "reactivating a certificate that is not suspended: 409" sh -c "[ '$code' = 409 ] && [ '$(jget error)' = wrong_status ]"
post /api/v1/challenges '{"action":"approve"}'
check "an approve challenge without request_id: 400" status_is 400
post /api/v1/challenges "{\"action\":\"recover\",\"serial\":\"$A\"}"
check "a recovery challenge without its CSR: 400 csr_required" sh -c "[ '$code' = 400 ] && [ '$(jget error)' = csr_required ]"

# --- refused signatures: each its own check --------------------------------------
# neg NAME WHY [MD]: a revoke challenge for alice's certificate, signed by
# holder NAME, answered 401 and audited with WHY.
neg() {
	chal "n-$1" "{\"action\":\"revoke\",\"serial\":\"$A\"}" || return 1
	qpki_sign "$q" "$1" "$work/n-$1.txt" "$work/n-$1.p7s" ${3:+"$3"} || return 1
	submit "$cid" "$work/n-$1.p7s"
	cp "$work/b" "$work/401-$1.json"
	audited "$cid" 401 "$2"
}
check "expired signer: 401, cert_expired" neg expired cert_expired
check "signer not yet valid: 401, cert_not_yet_valid" neg notyet cert_not_yet_valid
check "revoked signer (OCSP revoked): 401, revoked" neg revoked revoked
check "OCSP unreachable, no CRL: 401, rev_unavailable" neg ocspdown rev_unavailable
check "OCSP answer signed by an unrelated key: 401, ocsp_bad_signer" neg ocspforeign ocsp_bad_signer
check "stale OCSP answer: 401, ocsp_stale" neg ocspstale ocsp_stale
check "not qualified (no QcCompliance): 401, not_qualified" neg noqc not_qualified
check "no QcSSCD while require_qscd: 401, no_qscd" neg nosscd no_qscd
check "keyUsage without nonRepudiation: 401, no_nonrep" neg nonrep no_nonrep
check "untrusted CA: 401, untrusted" neg untrusted untrusted
check "RSA-1024: 401, key_weak" neg rsa1024 key_weak
chal sha1 "{\"action\":\"revoke\",\"serial\":\"$A\"}"
qpki_sign "$q" alice "$work/sha1.txt" "$work/sha1.p7s" sha1
submit "$cid" "$work/sha1.p7s"
cp "$work/b" "$work/401-sha1.json"
check "SHA-1 digest: 401, digest_weak" audited "$cid" 401 digest_weak

chal alt "{\"action\":\"revoke\",\"serial\":\"$A\"}"
/usr/bin/python3 -c 'import sys
b = bytearray(open(sys.argv[1], "rb").read()); b[30] ^= 1
open(sys.argv[2], "wb").write(b)' "$work/alt.txt" "$work/alt2.txt"
qpki_sign "$q" alice "$work/alt2.txt" "$work/alt.p7s"
submit "$cid" "$work/alt.p7s"
cp "$work/b" "$work/401-alt.json"
check "the document altered by one byte: 401, content_mismatch" audited "$cid" 401 content_mismatch

chal other "{\"action\":\"suspend\",\"serial\":\"$B\"}"
qpki_sign "$q" alice "$work/other.txt" "$work/other.p7s"
chal mine "{\"action\":\"revoke\",\"serial\":\"$A\"}"
submit "$cid" "$work/other.p7s"
check "the document of another serial's challenge: 401, content_mismatch" audited "$cid" 401 content_mismatch

chal two "{\"action\":\"revoke\",\"serial\":\"$A\"}"
qpki_sign "$q" alice "$work/two.txt" "$work/two.p7s" sha256 -signer "$q/bob.pem" -inkey "$q/bob.key"
submit "$cid" "$work/two.p7s"
check "two SignerInfos: 401, signer_count" audited "$cid" 401 signer_count

chal garb "{\"action\":\"revoke\",\"serial\":\"$A\"}"
head -c 700 /dev/urandom >"$work/garb.bin"
submit "$cid" "$work/garb.bin"
check "garbage bytes (base64 of random bytes): 401, garbage or not_cms" sh -c "[ '$code' = 401 ] && case \"\$(sqlite3 '$work/stack/revportal.db' \"SELECT json_extract(details, '\\\$.why') FROM audit WHERE subject = 'challenge:$cid' ORDER BY seq DESC LIMIT 1\")\" in garbage|not_cms) true ;; *) false ;; esac"

chal trunc "{\"action\":\"revoke\",\"serial\":\"$A\"}"
qpki_sign "$q" alice "$work/trunc.txt" "$work/full.p7s"
head -c $(($(stat -c %s "$work/full.p7s") / 2)) "$work/full.p7s" >"$work/trunc.p7s"
submit "$cid" "$work/trunc.p7s"
cp "$work/b" "$work/401-trunc.json"
check "truncated DER: 401, not_cms" audited "$cid" 401 not_cms

chal exp "{\"action\":\"revoke\",\"serial\":\"$A\"}"
qpki_sign "$q" alice "$work/exp.txt" "$work/exp.p7s"
sql "UPDATE challenges SET issued_at = issued_at - 3600000, expires_at = expires_at - 3600000 WHERE public_id = '$cid'"
submit "$cid" "$work/exp.p7s"
check "nonce expired (moved an hour back in the database): 401, nonce_expired" audited "$cid" 401 nonce_expired

submit AAAAAAAAAAAAAAAAAAAAAA "$work/exp.p7s"
check "an unknown challenge: 401, challenge_unknown" audited AAAAAAAAAAAAAAAAAAAAAA 401 challenge_unknown

chal str "{\"action\":\"revoke\",\"serial\":\"$A\"}"
qpki_sign "$q" stranger "$work/str.txt" "$work/str.p7s"
submit "$cid" "$work/str.p7s"
check "signer neither subject nor legal rep (stranger): 403" sh -c "[ '$code' = 403 ] && [ '$(jget error)' = not_authorised ]"
check "... audited as signature.not_allowed" audited "$cid" 403 not_authorised signature.not_allowed
chal orp "{\"action\":\"suspend\",\"serial\":\"$B\"}"
qpki_sign "$q" otherrep "$work/orp.txt" "$work/orp.p7s"
submit "$cid" "$work/orp.p7s"
check "a legal rep of another organisation on bob's certificate: 403" audited "$cid" 403 not_authorised signature.not_allowed

check "the 401 bodies are byte-identical across causes" sh -c "for f in '$work'/401-*.json; do cmp -s \"\$f\" '$work/401-expired.json' || exit 1; done && grep -q '\"signature_invalid\"' '$work/401-expired.json' && [ \$(ls '$work'/401-*.json | wc -l) -ge 8 ]"
check "no refused submission made a request" sql_is 'SELECT count(*) FROM requests' "$rq_before"
check "nothing secret reached the audit log (no signature blob)" sh -c "! sqlite3 '$work/stack/revportal.db' \"SELECT details FROM audit WHERE action LIKE 'signature.%'\" | grep -q 'MII'"

# --- recovery with a CSR ------------------------------------------------------------
# The target: a personal certificate of alice's (her subject, so her
# person id) that the policy lets her recover: a 5-year term, issued a day
# ago (inside [recover] window_months, far from the last renewal_days),
# issued by the test PKI's CA with its openssl ca configuration.  rnew is
# the new key's request, rnew2 a second one (another new key), rother one
# with another subject, rsame one for the old certificate's key, rbad
# rnew with its self-signature broken in its last byte.
asubj="/C=SI/CN=Alice Novak/serialNumber=PNOSI-1000000000001"
from=$(date -u -d '-1 day' '+%Y-%m-%d %H:%M:%S')
newreq() {
	openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
	    -keyout "$pki/$1.key" -out "$pki/$1.csr" -utf8 -subj "$2" \
	    >/dev/null 2>&1
}
made=0
newreq rold "$asubj" &&
openssl ca -batch -notext -config "$q/ca.cnf" -name ca -extensions h_alice \
    -preserveDN -startdate "$(date -u -d "$from UTC" +%Y%m%d%H%M%SZ)" \
    -enddate "$(date -u -d "$from UTC + 5 years" +%Y%m%d%H%M%SZ)" \
    -in "$pki/rold.csr" -out "$pki/rold.pem" >>"$work/admin.out" 2>&1 &&
imp "$pki/rold.pem" personal &&
newreq rnew "$asubj" && newreq rnew2 "$asubj" &&
newreq rother "/C=SI/CN=Alice Horvat/serialNumber=PNOSI-1000000000001" &&
openssl req -new -key "$pki/rold.key" -subj "$asubj" -utf8 \
    -out "$pki/rsame.csr" >/dev/null 2>&1 &&
openssl req -in "$pki/rnew.csr" -outform DER -out "$pki/rbad.der" &&
/usr/bin/python3 -c 'import base64, sys
b = bytearray(open(sys.argv[1], "rb").read()); b[-1] ^= 1
t = base64.encodebytes(bytes(b)).decode()
open(sys.argv[2], "w").write("-----BEGIN CERTIFICATE REQUEST-----\n" + t +
    "-----END CERTIFICATE REQUEST-----\n")' "$pki/rbad.der" "$pki/rbad.csr" &&
made=1
R=$(openssl x509 -in "$pki/rold.pem" -noout -serial 2>/dev/null | cut -d= -f2 | sed 's/^0*//')
check "a 5-year personal certificate of alice's is registered for recovery" sh -c "[ $made = 1 ] && [ -n '$R' ] && [ \"\$(sqlite3 '$work/stack/revportal.db' \"SELECT type || '|' || term_years FROM certificates WHERE serial = '$R'\")\" = 'personal|5' ]"
rq_before=$(sql 'SELECT count(*) FROM requests')

post /api/v1/challenges "$(recjson "$R")"
check "recover without csr: 400 csr_required" sh -c "[ '$code' = 400 ] && [ '$(jget error)' = csr_required ]"
post /api/v1/challenges "$(recjson "$R" "$pki/rother.csr")"
check "a CSR with another subject: 400 csr_subject" sh -c "[ '$code' = 400 ] && [ '$(jget error)' = csr_subject ]"
post /api/v1/challenges "$(recjson "$R" "$pki/rsame.csr")"
check "a CSR for the old certificate's key: 400 csr_same_key" sh -c "[ '$code' = 400 ] && [ '$(jget error)' = csr_same_key ]"
post /api/v1/challenges "$(recjson "$R" "$pki/rbad.csr")"
check "a CSR whose self-signature is broken: 400 csr_pop" sh -c "[ '$code' = 400 ] && [ '$(jget error)' = csr_pop ]"
check "... no refused CSR made a challenge" sql_is "SELECT count(*) FROM challenges WHERE csr_pem IS NOT NULL" 0

chal r2y "$(recjson "$A" "$pki/rnew.csr")"
check "a recover challenge for alice's 2-year certificate: 201 (the policy decides after the signature)" status_is 201
qpki_sign "$q" alice "$work/r2y.txt" "$work/r2y.p7s"
submit "$cid" "$work/r2y.p7s"
check "... signed by alice: 422 term_not_eligible" sh -c "[ '$code' = 422 ] && [ '$(jget error)' = term_not_eligible ]"
check "... and makes no request" sql_is 'SELECT count(*) FROM requests' "$rq_before"
check "... and leaves the challenge unused" sql_is "SELECT count(*) FROM challenges WHERE public_id = '$cid' AND used_at IS NULL" 1

# The document of a challenge for rnew with its csr-sha256 line changed
# to rnew2's hash, then signed: not the document the portal issued.
chal redit "$(recjson "$R" "$pki/rnew.csr")"
sed "s/^csr-sha256: .*/csr-sha256: $(csrsha "$pki/rnew2.csr")/" \
    "$work/redit.txt" >"$work/redit2.txt"
qpki_sign "$q" alice "$work/redit2.txt" "$work/redit.p7s"
submit "$cid" "$work/redit.p7s"
check "a recover document whose csr-sha256 names another CSR: 401 content_mismatch" sh -c "! cmp -s '$work/redit.txt' '$work/redit2.txt' && grep -qx 'csr-sha256: $(csrsha "$pki/rnew2.csr")' '$work/redit2.txt' && [ '$code' = 401 ] && [ \"\$(sqlite3 '$work/stack/revportal.db' \"SELECT json_extract(details, '\\\$.why') FROM audit WHERE subject = 'challenge:$cid' AND action = 'signature.refused' ORDER BY seq DESC LIMIT 1\")\" = content_mismatch ]"
check "... and makes no request" sql_is 'SELECT count(*) FROM requests' "$rq_before"

chal rok "$(recjson "$R" "$pki/rnew.csr")"
check "alice's recover challenge with the new key's CSR: 201" status_is 201
rsha=$(csrsha "$pki/rnew.csr")
check "... its document: action recover, the serial, csr-sha256 of the CSR's DER" sh -c "grep -qx 'action: recover' '$work/rok.txt' && grep -qx 'serial: $R' '$work/rok.txt' && [ \"\$(grep -c '^csr-sha256: ' '$work/rok.txt')\" = 1 ] && grep -qx 'csr-sha256: $rsha' '$work/rok.txt' && [ ${#rsha} = 64 ]"
qpki_sign "$q" alice "$work/rok.txt" "$work/rok.p7s"
submit "$cid" "$work/rok.p7s"
check "alice signs her recovery: 202 queued, nobody else to sign" sh -c "[ '$code' = 202 ] && [ '$(jget state)' = queued ] && [ '$(jget need)' = '[]' ]"
rrec=$(jget request_id)
check "... the recoveries row holds the CSR and its hash" sh -c "[ \"\$(sqlite3 '$work/stack/revportal.db' \"SELECT c.csr_pem FROM recoveries c JOIN requests r ON r.id = c.request_id WHERE r.public_id = '$rrec'\")\" = \"\$(cat '$pki/rnew.csr')\" ] && [ \"\$(sqlite3 '$work/stack/revportal.db' \"SELECT c.csr_sha256 FROM recoveries c JOIN requests r ON r.id = c.request_id WHERE r.public_id = '$rrec'\")\" = '$rsha' ]"
check "... its outbox row: recover, the CSR, type personal, alice's person id" sh -c "[ \"\$(sqlite3 '$work/stack/revportal.db' \"SELECT o.action || '|' || json_extract(o.payload, '\\\$.serial') || '|' || json_extract(o.payload, '\\\$.type') || '|' || json_extract(o.payload, '\\\$.person') FROM outbox o JOIN requests r ON r.id = o.request_id WHERE r.public_id = '$rrec'\")\" = 'recover|$R|personal|PNOSI-1000000000001' ] && [ \"\$(sqlite3 '$work/stack/revportal.db' \"SELECT json_extract(o.payload, '\\\$.csr') FROM outbox o JOIN requests r ON r.id = o.request_id WHERE r.public_id = '$rrec'\")\" = \"\$(cat '$pki/rnew.csr')\" ]"
req "$(url "/api/v1/requests/$rrec")"
check "GET the recovery before the CA issued: action recover, no new_serial" sh -c "[ '$code' = 200 ] && [ '$(jget action)' = recover ] && [ '$(jhas new_serial && echo has)' = '' ]"
# What the relay records once the CA issued (outbox.c), written here.
sql "UPDATE recoveries SET new_serial = '5EC0DE01', new_pem = 'x', issued_at = $(($(date +%s) * 1000)) WHERE request_id = (SELECT id FROM requests WHERE public_id = '$rrec')"
req "$(url "/api/v1/requests/$rrec")"
check "... once issued: new_serial" sh -c "[ '$code' = 200 ] && [ '$(jget new_serial)' = 5EC0DE01 ]"
req "$(url "/requests/$rrec")"
check "... and the HTML page shows the new certificate's serial" sh -c "[ '$code' = 200 ] && grep -q '<code id=\"new-serial\">5EC0DE01</code>' '$work/b'"

# --- accepted signatures ---------------------------------------------------------
chal ok1 "{\"action\":\"revoke\",\"serial\":\"$A\",\"reason\":\"keyCompromise\"}"
qpki_sign "$q" alice "$work/ok1.txt" "$work/ok1.p7s"
submit "$cid" "$work/ok1.p7s"
check "alice revokes her own certificate: 202 queued, nobody else to sign" sh -c "[ '$code' = 202 ] && [ '$(jget state)' = queued ] && [ '$(jget need)' = '[]' ] && grep -q '/api/v1/requests/' '$work/b'"
rid=$(jget request_id)
check "... its outbox row: revoke, keyCompromise" sql_is "SELECT o.action || '|' || json_extract(o.payload, '\$.reason') FROM outbox o JOIN requests r ON r.id = o.request_id WHERE r.public_id = '$rid'" "revoke|keyCompromise"
check "... with the signature and the signer kept as the approval" sql_is "SELECT count(*) FROM approvals a JOIN requests r ON r.id = a.request_id WHERE r.public_id = '$rid' AND length(a.signature) > 100 AND length(a.signer_sha256) = 64" 1

chal det "{\"action\":\"suspend\",\"serial\":\"$QPKI_SERIAL_RSA2048\"}"
qpki_sign_detached "$q" rsa2048 "$work/det.txt" "$work/det.p7s"
submit "$cid" "$work/det.p7s"
check "a detached RSA-2048 signature suspends: 202 queued" sh -c "[ '$code' = 202 ] && [ '$(jget state)' = queued ]"

chal car "{\"action\":\"suspend\",\"serial\":\"$QPKI_SERIAL_CAROL\"}"
qpki_sign "$q" carol "$work/car.txt" "$work/car.p7s"
submit "$cid" "$work/car.p7s" wrap -H 'Idempotency-Key: carol-1'
cp "$work/b" "$work/car1.json"
check "carol signs through SoftHSM2 (PKCS#11), base64 with line breaks: 202" sh -c "[ '$code' = 202 ] && [ '$(jget state)' = queued ]"
submit "$cid" "$work/car.p7s" wrap -H 'Idempotency-Key: carol-1'
check "... the same body and Idempotency-Key again: the first answer" sh -c "[ '$code' = 202 ] && cmp -s '$work/b' '$work/car1.json'"
submit "$cid" "$work/car.p7s" wrap
check "... the same body without the key: 401, nonce_used" audited "$cid" 401 nonce_used

chal re "{\"action\":\"reactivate\",\"serial\":\"B0B\"}"
qpki_sign "$q" bob "$work/re.txt" "$work/re.p7s"
submit "$cid" "$work/re.p7s"
check "bob asks to reactivate his suspended business certificate: 202 awaiting_approval, need legal_rep" sh -c "[ '$code' = 202 ] && [ '$(jget state)' = awaiting_approval ] && [ '$(jget need)' = '[\"legal_rep\"]' ]"
rr=$(jget request_id)
recid=$cid
req "$(url "/api/v1/requests/$rr")"
check "the status of bob's reactivation while it waits: need [\"legal_rep\"] and approval_expires_at" sh -c "[ '$code' = 200 ] && [ '$(jget state)' = awaiting_approval ] && [ '$(jget need)' = '[\"legal_rep\"]' ]"
# The default [approval] expiry_hours is 168: a week after the request
# was received (the server's two times, to the second).
check "... approval_expires_at is a UTC time a week after received_at" /usr/bin/python3 -c '
import datetime, re, sys
def t(s):
    if not re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{3})?Z", s):
        sys.exit("bad time: %r" % s)
    return datetime.datetime.fromisoformat(s[:-1])
d = t(sys.argv[1]) - t(sys.argv[2])
sys.exit(0 if abs(d.total_seconds() - 168 * 3600) < 1 else "%s - %s = %s" % (sys.argv[1], sys.argv[2], d))' "$(jget approval_expires_at)" "$(jget received_at)"
req "$(url "/requests/$rr")"
check "the HTML status page names the legal representative, not the subject" sh -c "[ '$code' = 200 ] && grep -q 'legal representative of the organisation' '$work/b' && ! grep -q 'person named in the certificate' '$work/b'"
check "... and links the approval page /approvals/{id}" grep -q "href=\"/approvals/$rr\"" "$work/b"

post /api/v1/challenges "{\"action\":\"approve\",\"request_id\":\"$rr\"}"
check "an approve challenge for it: 201" status_is 201
chal ap "{\"action\":\"approve\",\"request_id\":\"$rr\"}"
check "... naming the request, its certificate and reason" sh -c "grep -qx 'action: approve' '$work/ap.txt' && grep -qx 'request: $rr' '$work/ap.txt' && grep -qx 'serial: B0B' '$work/ap.txt'"
apcid=$cid
qpki_sign "$q" bob "$work/ap.txt" "$work/ap-bob.p7s"
approve "$rr" "$apcid" "$work/ap-bob.p7s"
check "bob approving his own reactivation: 403, audited" audited "$apcid" 403 not_authorised signature.not_allowed
qpki_sign "$q" otherrep "$work/ap.txt" "$work/ap-oto.p7s"
approve "$rr" "$apcid" "$work/ap-oto.p7s"
check "another organisation's legal rep approving it: 403" status_is 403
qpki_sign "$q" rep "$work/ap.txt" "$work/ap-rep.p7s"
submit "$apcid" "$work/ap-rep.p7s"
check "the approve challenge sent to /api/v1/requests: 401, wrong_purpose" audited "$apcid" 401 wrong_purpose
approve "$rid" "$apcid" "$work/ap-rep.p7s"
check "the approve challenge sent to another request's approvals: 401, wrong_purpose" audited "$apcid" 401 wrong_purpose
chal re2 "{\"action\":\"revoke\",\"serial\":\"$QPKI_SERIAL_RSA2048\"}"
qpki_sign "$q" rsa2048 "$work/re2.txt" "$work/re2.p7s"
approve "$rr" "$cid" "$work/re2.p7s"
check "a request's challenge sent to an approval: 401, wrong_purpose" audited "$cid" 401 wrong_purpose
check "... and the request still waits" sql_is "SELECT state FROM requests WHERE public_id = '$rr'" awaiting_approval
approve "$rr" "$apcid" "$work/ap-rep.p7s"
check "the legal rep approves: 202 queued" sh -c "[ '$code' = 202 ] && [ '$(jget state)' = queued ] && [ '$(jget request_id)' = '$rr' ]"
check "... its outbox row: reactivate, removeFromCRL" sql_is "SELECT o.action || '|' || json_extract(o.payload, '\$.reason') FROM outbox o JOIN requests r ON r.id = o.request_id WHERE r.public_id = '$rr'" "reactivate|removeFromCRL"
req "$(url "/api/v1/requests/$rr")"
check "GET the request: two approvals, subject and legal_rep" sh -c "[ '$code' = 200 ] && [ '$(jget approvals | tr -d ' ' | grep -o '\"parties\"' | wc -l)' = 2 ] && grep -q '\"subject\"' '$work/b' && grep -q '\"legal_rep\"' '$work/b'"
check "... now need [] and no approval_expires_at" sh -c "[ '$(jget need)' = '[]' ] && [ '$(jget state)' = queued ] && [ '$(jhas approval_expires_at && echo has)' = '' ]"
req "$(url "/requests/$rr")"
check "... and the HTML page no longer asks for a signature" sh -c "[ '$code' = 200 ] && ! grep -q 'legal representative of the organisation' '$work/b' && ! grep -q '/approvals/$rr' '$work/b'"
check "both challenges are used" sql_is "SELECT count(*) FROM challenges WHERE public_id IN ('$recid', '$apcid') AND used_at IS NOT NULL" 2

# After bob's own signatures: a suspension queued for his certificate
# stops it from signing anything more.
chal rp "{\"action\":\"suspend\",\"serial\":\"$B\"}"
qpki_sign "$q" rep "$work/rp.txt" "$work/rp.p7s"
submit "$cid" "$work/rp.p7s"
check "the legal rep suspends bob's business certificate: 202 queued" sh -c "[ '$code' = 202 ] && [ '$(jget state)' = queued ]"
submit "$cid" "$work/rp.p7s"
check "nonce reused (the same signed body again): 401, nonce_used" audited "$cid" 401 nonce_used
# The registry knows what OCSP may not tell yet: a suspension of bob's
# own certificate is queued, so his card signs nothing more, even with
# OCSP still answering good (and the answer cached).
chal bq "{\"action\":\"revoke\",\"serial\":\"B0B\"}"
qpki_sign "$q" bob "$work/bq.txt" "$work/bq.p7s"
submit "$cid" "$work/bq.p7s"
check "bob signs while his certificate's suspension is queued: 401, revoked" audited "$cid" 401 revoked
sql "UPDATE requests SET state = 'completed' WHERE public_id IN (SELECT r.public_id FROM requests r JOIN request_certificates rc ON rc.request_id = r.id JOIN certificates c ON c.id = rc.certificate_id WHERE c.serial = '$B' AND r.action = 'suspend')"
sql "UPDATE certificates SET status = 'suspended', status_at = $now_ms, suspended_at = $now_ms, suspended_until = $((now_ms + 30 * 86400000)) WHERE serial = '$B'"
chal bq2 "{\"action\":\"reactivate\",\"serial\":\"$B\"}"
qpki_sign "$q" bob "$work/bq2.txt" "$work/bq2.p7s"
submit "$cid" "$work/bq2.p7s"
check "bob's suspended certificate cannot sign its own reactivation: 401, revoked" audited "$cid" 401 revoked
check "... and the challenge stays unused" sql_is "SELECT count(*) FROM challenges WHERE public_id = '$cid' AND used_at IS NULL" 1

# What the API refuses before anything is signed.
post /api/v1/challenges '{"action":"login"}'
check "a login challenge through the API: 400 (logins are the pages')" sh -c "[ '$code' = 400 ] && [ '$(jget error)' = bad_action ]"
post /api/v1/challenges "{\"action\":\"reactivate\",\"serial\":\"B0B\",\"reason\":\"keyCompromise\"}"
check "a reactivation with a reason: 400 unexpected_reason, before the card signs" sh -c "[ '$code' = 400 ] && [ '$(jget error)' = unexpected_reason ]"

# --- the rate limit ---------------------------------------------------------------
sql "UPDATE rate_limits SET hits = 1000000 WHERE key LIKE 'sig:%'"
post /api/v1/challenges "{\"action\":\"revoke\",\"serial\":\"$A\"}"
check "over the rate limit: 429 with Retry-After" sh -c "[ '$code' = 429 ] && [ -n \"\$(grep -i '^retry-after:' '$work/h')\" ]"

stack_stop "$work/stack"
check "the stack stops cleanly (no sanitizer report)" test $? = 0
finish
