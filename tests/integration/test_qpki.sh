#!/usr/bin/env bash
# The qualified test PKI itself (tests/integration/qpki.sh): what the
# other tests rely on, checked with openssl alone: the chains, the
# qualified-certificate extensions, the OCSP responders (good, revoked,
# foreign, stale), the CRL, the key in the SoftHSM2 token, and that
# nothing outlives qpki_stop or lands in git.
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

need_tools openssl softhsm2-util pkcs11-tool curl /usr/bin/python3

work=$(mktemp -d /tmp/revportal-qpki.XXXXXX)
q=$work/pki
cleanup() {
	qpki_stop "$q" >/dev/null 2>&1 || true
	rm -rf "$work"
}
trap cleanup EXIT

# The OID 1.3.6.1.5.5.7.1.3 (QCStatements) as DER, and the value of
# DESIGN.md 3 (QcCompliance, QcSSCD, QcType esign) as hex.
QC_OID=06082b06010505070103
QC_FULL=30293008060604008e4601013008060604008e4601043013060604008e4601063009060704008e46010601

# quiet COMMAND...: COMMAND succeeds (its output discarded).
quiet() { "$@" >/dev/null 2>&1; }
# fails COMMAND...: COMMAND fails (its output discarded).
fails() { ! "$@" >/dev/null 2>&1; }
# contains TEXT PART: TEXT holds PART.
contains() { [[ $1 == *"$2"* ]]; }
# listening PORT: something accepts connections on 127.0.0.1:PORT.
listening() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
# x509 NAME ARGS...: what openssl x509 -noout ARGS says of NAME.pem.
x509() { openssl x509 -in "$q/$1.pem" -noout "${@:2}" 2>&1; }
# hexof NAME: the DER of NAME.pem as lower-case hex, one line.
hexof() { openssl x509 -in "$q/$1.pem" -outform DER | od -An -v -tx1 | tr -d ' \n'; }
# epoch DATE: date(1)'s DATE in seconds since the epoch.
epoch() { date -u -d "$1" +%s; }

# has TEXT PATTERN...: TEXT matches every PATTERN (grep), and none of
# those written !PATTERN.
has() {
	local text=$1 p
	shift
	for p in "$@"; do
		if [[ $p == !* ]]; then
			grep -q -- "${p#!}" <<<"$text" || continue
		else
			grep -q -- "$p" <<<"$text" && continue
		fi
		echo "# wanted ${p}:" >&2
		printf '#   %s\n' "${text//$'\n'/$'\n'#   }" >&2
		return 1
	done
}

# qc_ext NAME OUT: writes the QCStatements extension value of NAME.pem to
# OUT (DER); fails when the certificate has none.
qc_ext() {
	local hex rest len
	hex=$(hexof "$1") || return 1
	contains "$hex" "$QC_OID" || return 1
	rest=${hex#*"$QC_OID"}
	[[ ${rest:0:2} == 04 ]] || return 1
	len=$((16#${rest:2:2}))
	printf '%s' "${rest:4:len*2}" | sed 's/../\\x&/g' | xargs -0 printf '%b' >"$2"
}

# qc_oids NAME: the statement OIDs of NAME.pem's QCStatements, as
# openssl asn1parse reads them, one a line.
qc_oids() {
	qc_ext "$1" "$work/$1.qc" &&
	openssl asn1parse -inform DER -in "$work/$1.qc" | sed -n 's/.*OBJECT *://p'
}

# verify_err NAME WANT: openssl verify of NAME.pem against anchors/ fails
# and says WANT.
verify_err() {
	local out
	if out=$(openssl verify -CApath "$q/anchors" "$q/$1.pem" 2>&1); then
		echo "# $1 verified: $out" >&2
		return 1
	fi
	has "$out" "$2"
}

# aia NAME OCSP CDP: NAME.pem's AIA OCSP URL is OCSP and its CDP URL CDP
# (empty: no CDP).
aia() {
	local a c
	a=$(x509 "$1" -ocsp_uri)
	c=$(x509 "$1" -ext crlDistributionPoints | sed -n 's/^ *URI://p')
	[[ $a == "$2" && $c == "$3" ]] || { echo "# $1: ocsp '$a' cdp '$c'" >&2; return 1; }
}

# ocsp_ask NAME PORT [ARGS...]: the openssl ocsp client's report on
# NAME.pem from the responder on PORT, verified against anchors/.
ocsp_ask() {
	openssl ocsp -issuer "$q/ca.pem" -cert "$q/$1.pem" \
	    -url "http://127.0.0.1:$2/" -CApath "$q/anchors" -timeout 5 \
	    "${@:3}" 2>&1
}

# crl_lists SERIAL REASON: the CRL server hands out ca.crl.der, and it
# lists SERIAL with REASON.
crl_lists() {
	curl -s --noproxy '*' --max-time 5 -o "$work/got.crl" \
	    "http://127.0.0.1:$QPKI_CRL_PORT/ca.crl" || return 1
	cmp -s "$work/got.crl" "$q/ca.crl.der" || { echo "# served CRL differs" >&2; return 1; }
	has "$(openssl crl -inform DER -in "$work/got.crl" -noout -text 2>&1 |
	    grep -A 4 "Serial Number: 0*$1\$")" "$2"
}

# --- the fixture ----------------------------------------------------------
# How long qpki_init takes is not checked here (no timed assertion in
# make check): that it finishes, with its done marker, is.
qpki_init "$q" || give_up "qpki_init makes the fixture" "see $q/qpki.log"
check "qpki_init makes the fixture (its done marker)" test -f "$q/done"

# tree_state: every file and directory under $q with its size and
# modification time (to the nanosecond), sorted.
tree_state() {
	find "$q" -printf '%P %y %s %T@\n' | LC_ALL=C sort
}
# "Returns at once" is checked by what the second call did, not by the
# clock: it made nothing, rewrote nothing and touched no file.
sum=$(cat "$q/ca.pem" "$q/alice.pem" "$q/env" | cksum)
before=$(tree_state)
qpki_init "$q"
rc=$?
check "qpki_init again succeeds" test "$rc" = 0
check "... and does no work: no file made, changed or touched" \
	test "$(tree_state)" = "$before"
check "... the CA, a holder and the ports file are the same" \
	test "$(cat "$q/ca.pem" "$q/alice.pem" "$q/env" | cksum)" = "$sum"

mkdir -p "$work/other" && echo x >"$work/other/stray"
check "qpki_init refuses a directory that holds something else" fails qpki_init "$work/other"

keys_ok() {
	local k n=0
	for k in "$q"/*.key; do
		n=$((n + 1))
		[[ $(stat -c %a "$k") == 600 ]] || { echo "# $k: mode $(stat -c %a "$k")" >&2; return 1; }
		# (split so that this file does not look like a key to git grep)
		[[ $(head -n 1 "$k") == "-----BEGIN PRIVATE"" KEY-----" ]] || { echo "# $k: not PKCS#8" >&2; return 1; }
	done
	# root, ca, evilroot, ocsp, foreign and 18 holders (carol's is in the token)
	[[ $n == 23 ]] || { echo "# $n key files" >&2; return 1; }
}
check "every key file is unencrypted PKCS#8 PEM with mode 600" keys_ok

# shellcheck disable=SC1091
. "$q/env"
env_ok() {
	local name v ports
	while IFS='|' read -r name _; do
		v=QPKI_SERIAL_${name^^}
		[[ ${!v:-} =~ ^[1-9A-F][0-9A-F]*$ ]] || { echo "# $v='${!v:-}'" >&2; return 1; }
		[[ $(x509 "$name" -serial | sed 's/^serial=0*//') == "${!v}" ]] ||
		    { echo "# $v does not match $name.pem" >&2; return 1; }
	done < <(_qpki_holders)
	ports=$(printf '%s\n' "$QPKI_OCSP_PORT" "$QPKI_CRL_PORT" "$QPKI_FOREIGN_PORT" \
	    "$QPKI_STALE_PORT" "$QPKI_DEAD_PORT" | grep '^[0-9][0-9]*$' | sort -u | wc -l)
	[[ $ports == 5 ]] || { echo "# $ports distinct ports" >&2; return 1; }
	[[ $QPKI_DIR == "$q" && $SOFTHSM2_CONF == "$q/softhsm2.conf" && $QPKI_PKCS11_URI == pkcs11:*\;pin-value=* ]]
}
check "env names five ports, the token and every holder's serial (hex, no leading zeros)" env_ok
check "env QPKI_CA_DN is the CA's subject in RFC 2253" \
	test "$QPKI_CA_DN" = "CN=revportal Test Qualified CA,O=Test TSP,C=SI"

# --- chains -----------------------------------------------------------------
check "alice chains to anchors/ (-CApath)" quiet openssl verify -CApath "$q/anchors" "$q/alice.pem"
check "alice chains to anchors/root.pem with the CA as untrusted (-CAfile)" \
	quiet openssl verify -CAfile "$q/anchors/root.pem" -untrusted "$q/anchors/ca.pem" "$q/alice.pem"
check "the CA is CA:true with pathlen 0" has "$(x509 ca -ext basicConstraints)" 'CA:TRUE, pathlen:0$'
check "the responder has OCSPSigning and id-pkix-ocsp-nocheck, and chains" \
	has "$(x509 ocsp -text)$(openssl verify -CApath "$q/anchors" "$q/ocsp.pem" 2>&1)" \
	'^ *OCSP Signing$' 'OCSP No Check' 'ocsp.pem: OK$'
check "untrusted does not chain to anchors/" verify_err untrusted "unable to get local issuer certificate"
check "expired fails for its dates" verify_err expired "certificate has expired"
check "notyet fails for its dates" verify_err notyet "certificate is not yet valid"
check "rsa1024 is a 1024-bit RSA key that still chains" \
	has "$(x509 rsa1024 -text)$(openssl verify -CApath "$q/anchors" "$q/rsa1024.pem" 2>&1)" \
	'Public-Key: (1024 bit)' 'rsa1024.pem: OK$'
check "rsa2048 is a 2048-bit RSA key" has "$(x509 rsa2048 -text)" 'Public-Key: (2048 bit)'
two_years() {
	local from to age
	from=$(x509 alice -startdate) && to=$(x509 alice -enddate) || return 1
	from=${from#notBefore=} to=${to#notAfter=}
	age=$(($(date +%s) - $(epoch "$from"))) || return 1
	((age >= 86000 && age < 90000)) &&
	[[ $(epoch "$to") == "$(epoch "$from + 2 years")" ]]
}
check "alice is valid from a day ago for two years" two_years

# --- the qualified profile --------------------------------------------------
check "alice carries the QCStatements DER of DESIGN.md 3" \
	contains "$(hexof alice)" "${QC_OID}042b$QC_FULL"
check "noqc has no QCStatements extension" fails contains "$(hexof noqc)" "$QC_OID"
check "alice's QCStatements parse: QcCompliance, QcSSCD, QcType esign" \
	test "$(qc_oids alice | tr '\n' ' ')" = "0.4.0.1862.1.1 0.4.0.1862.1.4 0.4.0.1862.1.6 0.4.0.1862.1.6.1 "
check "nosscd's QCStatements parse: QcCompliance and QcType esign, no QcSSCD" \
	test "$(qc_oids nosscd | tr '\n' ' ')" = "0.4.0.1862.1.1 0.4.0.1862.1.6 0.4.0.1862.1.6.1 "
check "alice: keyUsage critical nonRepudiation and digitalSignature, policy 0.4.0.194112.1.2" \
	has "$(x509 alice -ext keyUsage,certificatePolicies)" 'Key Usage: critical' \
	'^ *Digital Signature, Non Repudiation$' 'Policy: 0.4.0.194112.1.2$'
check "nonrep's keyUsage has digitalSignature but not nonRepudiation" \
	has "$(x509 nonrep -ext keyUsage)" 'Digital Signature' '!Non Repudiation'
check "bob's subject has serialNumber, O and organizationIdentifier" \
	test "$(x509 bob -subject -nameopt RFC2253)" = \
	"subject=serialNumber=PNOSI-1000000000002,CN=Bob Kranjc,organizationIdentifier=VATSI-11111111,O=Acme d.o.o.,C=SI"
check "alice's e-mail address is in the subjectAltName" \
	has "$(x509 alice -ext subjectAltName)" '^ *email:alice@example.test$'
check "alice: AIA OCSP and CDP on the fixture's ports" \
	aia alice "http://127.0.0.1:$QPKI_OCSP_PORT/" "http://127.0.0.1:$QPKI_CRL_PORT/ca.crl"
check "ocspdown: AIA OCSP to the dead port, no CDP" \
	aia ocspdown "http://127.0.0.1:$QPKI_DEAD_PORT/" ""
check "crlonly: AIA OCSP to the dead port, CDP as usual" \
	aia crlonly "http://127.0.0.1:$QPKI_DEAD_PORT/" "http://127.0.0.1:$QPKI_CRL_PORT/ca.crl"

# --- the servers --------------------------------------------------------------
qpki_start "$q" || give_up "qpki_start starts the responders and the CRL server" "see $q/run/*.log"
ok "qpki_start starts the responders and the CRL server"

check "OCSP says good for alice, response verified" \
	has "$(ocsp_ask alice "$QPKI_OCSP_PORT")" ': good$' '^Response verify OK'
check "OCSP says revoked (keyCompromise) for revoked" \
	has "$(ocsp_ask revoked "$QPKI_OCSP_PORT")" ': revoked$' 'Reason: keyCompromise' '^Response verify OK'
check "the foreign responder's answer fails verification" \
	has "$(ocsp_ask ocspforeign "$QPKI_FOREIGN_PORT")" '^Response Verify Failure' '!^Response verify OK'
check "the stale response verifies but is out of date" \
	has "$(ocsp_ask ocspstale "$QPKI_STALE_PORT" -no_nonce)" '^Response verify OK' \
	'Status times invalid' 'status expired'
check "nothing answers on the dead port" fails listening "$QPKI_DEAD_PORT"
# loopback_only: each server's listening socket is 127.0.0.1's, none on
# another address (/proc/net/tcp{,6}: local address, state 0A = LISTEN).
loopback_only() {
	local port hex socks
	for port in "$QPKI_OCSP_PORT" "$QPKI_CRL_PORT" "$QPKI_FOREIGN_PORT" "$QPKI_STALE_PORT"; do
		printf -v hex '%04X' "$port"
		socks=$(awk -v p=":$hex" '$4 == "0A" && substr($2, length($2) - 4) == p { print $2 }' \
		    /proc/net/tcp /proc/net/tcp6)
		[[ $socks == "0100007F:$hex" ]] || { echo "# port $port: ${socks:-none}" >&2; return 1; }
	done
}
check "the servers listen on 127.0.0.1 only" loopback_only
# b64url FILE: FILE in base64, percent-encoded for a URL path.
b64url() { base64 -w0 "$1" | sed 's/+/%2B/g; s,/,%2F,g; s/=/%3D/g'; }
check "the responder answers the GET form too (RFC 6960 A.1)" \
	has "$(curl -s --noproxy '*' --max-time 5 -o "$work/get.der" \
	    "http://127.0.0.1:$QPKI_OCSP_PORT/$(b64url "$q/run/probe.req")" &&
	    openssl ocsp -respin "$work/get.der" -resp_text -noverify 2>&1)" \
	'Response Status: successful' 'Cert Status: good'
check "the responder answers garbage with malformedRequest" \
	test "$(curl -s --noproxy '*' --max-time 5 --data-binary garbage \
	    "http://127.0.0.1:$QPKI_OCSP_PORT/" | od -An -tx1 | tr -d ' \n')" = 30030a0101
check "the CRL server hands out ca.crl.der, which lists revoked (keyCompromise)" \
	crl_lists "$QPKI_SERIAL_REVOKED" "Key Compromise"
check "the CRL does not list alice" \
	has "$(openssl crl -inform DER -in "$q/ca.crl.der" -noout -text 2>&1)" \
	"Serial Number: 0*$QPKI_SERIAL_REVOKED\$" "!Serial Number: 0*$QPKI_SERIAL_ALICE\$"

qpki_revoke "$q" stranger cessationOfOperation
check "qpki_revoke: OCSP says revoked at once" \
	has "$(ocsp_ask stranger "$QPKI_OCSP_PORT")" ': revoked$' \
	'Reason: cessationOfOperation' '^Response verify OK'
check "qpki_revoke: the served CRL lists it" crl_lists "$QPKI_SERIAL_STRANGER" "Cessation Of Operation"

# --- the token ------------------------------------------------------------------
# p11 ARGS...: pkcs11-tool on the fixture's token.
p11() {
	SOFTHSM2_CONF=$SOFTHSM2_CONF pkcs11-tool --module "$PKCS11_MODULE_PATH" \
	    --token-label qpki "$@" 2>/dev/null
}
check "carol has a certificate but no key file" test ! -e "$q/carol.key" -a -s "$q/carol.pem"
check "carol's key is a private key object in the token, never extractable" \
	has "$(p11 --login --pin "${QPKI_PKCS11_URI##*pin-value=}" --list-objects --type privkey)" \
	'label: *carol' 'never extractable'
same_pubkey() {
	local cert token
	cert=$(x509 carol -pubkey | openssl pkey -pubin -outform DER | od -An -v -tx1) &&
	token=$(p11 --read-object --type pubkey --label carol |
	    openssl pkey -pubin -inform DER -outform DER | od -An -v -tx1) &&
	[[ -n $cert && $cert == "$token" ]]
}
check "carol's certificate holds the token's public key" same_pubkey
printf 'revportal-request/1\naction: revoke\n' >"$work/doc"
carol_signs() {
	qpki_sign "$q" carol "$work/doc" "$work/carol.p7s" || return 1
	openssl cms -verify -CApath "$q/anchors" -purpose any -inform DER \
	    -in "$work/carol.p7s" -out "$work/carol.out" \
	    -signer "$work/carol.signer" 2>/dev/null &&
	cmp -s "$work/doc" "$work/carol.out" &&
	[[ $(openssl x509 -in "$work/carol.signer" -noout -fingerprint -sha256) == \
	    "$(x509 carol -fingerprint -sha256)" ]]
}
check "carol's signature through the token verifies against anchors/" carol_signs
detached() {
	qpki_sign_detached "$q" alice "$work/doc" "$work/alice.p7s" || return 1
	quiet openssl cms -verify -CApath "$q/anchors" -purpose any -inform DER \
	    -binary -in "$work/alice.p7s" -content "$work/doc" -out /dev/null || return 1
	printf 'revportal-request/1\naction: suspend\n' >"$work/doc2"
	fails openssl cms -verify -CApath "$q/anchors" -purpose any -inform DER \
	    -binary -in "$work/alice.p7s" -content "$work/doc2" -out /dev/null
}
check "a detached signature verifies for its document and not for another" detached
untrusted_refused() {
	qpki_sign "$q" untrusted "$work/doc" "$work/untrusted.p7s" || return 1
	has "$(openssl cms -verify -CApath "$q/anchors" -purpose any -inform DER \
	    -in "$work/untrusted.p7s" -out /dev/null 2>&1)" \
	    'self-signed certificate in certificate chain' '!Verification successful'
}
check "untrusted's signature (with evilroot) does not verify against anchors/" untrusted_refused

# --- nothing left behind ----------------------------------------------------------
stopped() {
	local p pids=() port
	for p in "$q"/run/*.pid; do
		[[ -e $p ]] && pids+=("$(<"$p")")
	done
	[[ ${#pids[@]} == 4 ]] || { echo "# ${#pids[@]} pid files before the stop" >&2; return 1; }
	qpki_stop "$q" || return 1
	for p in "${pids[@]}"; do
		_stack_alive "$p" && { echo "# $p still runs" >&2; return 1; }
	done
	for p in /proc/[0-9]*; do
		if tr '\0' ' ' <"$p/cmdline" 2>/dev/null | grep -q -- "$q/"; then
			echo "# ${p#/proc/} still runs: $(tr '\0' ' ' <"$p/cmdline")" >&2
			return 1
		fi
	done
	for port in "$QPKI_OCSP_PORT" "$QPKI_CRL_PORT" "$QPKI_FOREIGN_PORT" "$QPKI_STALE_PORT"; do
		listening "$port" && { echo "# $port still answers" >&2; return 1; }
	done
	return 0
}
check "qpki_stop leaves no process and no listener" stopped

# The only private key git has is the fuzz corpus's all-zero one.
no_keys_in_git() {
	[[ -z $(git ls-files '*.key' '*.p12' '*.pfx') ]] &&
	[[ $(git grep -l -E -e '-----BEGIN ([A-Z]+ )?PRIVATE KEY-----') == tests/fuzz/corpus-x509/key_pem ]]
}
check "no private key is under git" no_keys_in_git

finish
