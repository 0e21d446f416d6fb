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

# ms: milliseconds since the epoch.
ms() { echo $(($(date +%s%N) / 1000000)); }

# hexof FILE: the DER of a PEM certificate as lower-case hex, one line.
hexof() { openssl x509 -in "$1" -outform DER | od -An -v -tx1 | tr -d ' \n'; }

# The OID 1.3.6.1.5.5.7.1.3 (QCStatements) as DER, and the three statements.
QC_OID=06082b06010505070103
QC_FULL=$(echo "$_QPKI_QC_FULL" | tr -d : | tr 'A-F' 'a-f')

# qc_ext CERT OUT: writes the QCStatements extension value of CERT to OUT
# (DER); fails when CERT has none.
qc_ext() {
	local hex rest len
	hex=$(hexof "$1") || return 1
	[[ $hex == *"$QC_OID"* ]] || return 1
	rest=${hex#*"$QC_OID"}
	[[ ${rest:0:2} == 04 ]] || return 1
	len=$((16#${rest:2:2}))
	printf '%s' "${rest:4:len*2}" | sed 's/../\\x&/g' | xargs -0 printf '%b' >"$2"
}

# verify_err NAME WANT: openssl verify of NAME.pem against anchors/ fails
# and says WANT.
verify_err() {
	local out
	if out=$(openssl verify -CApath "$q/anchors" "$q/$1.pem" 2>&1); then
		echo "# $1 verified: $out" >&2
		return 1
	fi
	grep -q -- "$2" <<<"$out" || { echo "# $out" >&2; return 1; }
}

# ocsp_ask NAME PORT [ARGS...]: the openssl ocsp client's report on
# NAME.pem from the responder on PORT, verified against anchors/.
ocsp_ask() {
	local name=$1 port=$2
	shift 2
	openssl ocsp -issuer "$q/ca.pem" -cert "$q/$name.pem" \
	    -url "http://127.0.0.1:$port/" -CApath "$q/anchors" -timeout 5 \
	    "$@" 2>&1
}

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
		sed 's/^/#   /' <<<"$text" >&2
		return 1
	done
}

# crl_lists SERIAL REASON: the CRL the CRL server hands out is ca.crl.der
# and lists SERIAL with REASON.
crl_lists() {
	curl -s --noproxy '*' --max-time 5 -o "$work/got.crl" \
	    "http://127.0.0.1:$QPKI_CRL_PORT/ca.crl" &&
	cmp -s "$work/got.crl" "$q/ca.crl.der" &&
	openssl crl -inform DER -in "$work/got.crl" -noout -text |
	    grep -A 4 "Serial Number: $1\$" | grep -q -- "$2"
}

# --- the fixture ----------------------------------------------------------
t0=$(ms)
qpki_init "$q" || give_up "qpki_init makes the fixture" "see $q/qpki.log"
t1=$(ms)
check "qpki_init makes the fixture in under 10 s ($((t1 - t0)) ms)" test $((t1 - t0)) -lt 10000

sum=$(cat "$q/ca.pem" "$q/alice.pem" "$q/env" | cksum)
t0=$(ms)
qpki_init "$q"
rc=$?
t1=$(ms)
check "qpki_init again returns at once and changes nothing" \
	test "$rc" = 0 -a $((t1 - t0)) -lt 1000 -a "$(cat "$q/ca.pem" "$q/alice.pem" "$q/env" | cksum)" = "$sum"

mkdir -p "$work/other" && echo x >"$work/other/stray"
check "qpki_init refuses a directory that holds something else" \
	bash -c '! (. tests/integration/qpki.sh && qpki_init "$1") 2>/dev/null' _ "$work/other"

keys_ok() {
	local k n=0
	for k in "$q"/*.key; do
		n=$((n + 1))
		[[ $(stat -c %a "$k") == 600 ]] || { echo "# $k: mode $(stat -c %a "$k")" >&2; return 1; }
		[[ $(head -n 1 "$k") == "-----BEGIN PRIVATE KEY-----" ]] || { echo "# $k: not PKCS#8" >&2; return 1; }
	done
	# root ca evilroot ocsp foreign and 18 holders (carol's is in the token)
	[[ $n == 23 ]] || { echo "# $n key files" >&2; return 1; }
}
check "every key file is unencrypted PKCS#8 PEM with mode 600" keys_ok

# shellcheck disable=SC1091
. "$q/env"
env_ok() {
	local name v ports
	while IFS='|' read -r name _; do
		v=QPKI_SERIAL_${name^^}
		[[ -n ${!v:-} && ${!v} =~ ^[1-9A-F][0-9A-F]*$ ]] || { echo "# $v='${!v:-}'" >&2; return 1; }
		[[ $(openssl x509 -in "$q/$name.pem" -noout -serial | sed 's/^serial=0*//') == "${!v}" ]] ||
		    { echo "# $v does not match $name.pem" >&2; return 1; }
	done < <(_qpki_holders)
	ports=$(printf '%s\n' "$QPKI_OCSP_PORT" "$QPKI_CRL_PORT" "$QPKI_FOREIGN_PORT" "$QPKI_STALE_PORT" "$QPKI_DEAD_PORT" | sort -u | grep -c '^[0-9][0-9]*$')
	[[ $ports == 5 ]] || { echo "# $ports distinct ports" >&2; return 1; }
	[[ $QPKI_DIR == "$q" && $SOFTHSM2_CONF == "$q/softhsm2.conf" && $QPKI_PKCS11_URI == pkcs11:*pin-value=* ]]
}
check "env names five ports, the token and every holder's serial (hex, no leading zeros)" env_ok
check "env QPKI_CA_DN is the CA's subject in RFC 2253" \
	test "$QPKI_CA_DN" = "CN=revportal Test Qualified CA,O=Test TSP,C=SI"

# --- chains -----------------------------------------------------------------
check "alice chains to anchors/ (-CApath)" openssl verify -CApath "$q/anchors" "$q/alice.pem"
check "alice chains to anchors/root.pem with the CA as untrusted (-CAfile)" \
	openssl verify -CAfile "$q/anchors/root.pem" -untrusted "$q/anchors/ca.pem" "$q/alice.pem"
check "the CA is CA:true with pathlen 0" \
	bash -c 'openssl x509 -in "$1" -noout -ext basicConstraints | grep -q "CA:TRUE, pathlen:0"' _ "$q/ca.pem"
check "untrusted does not chain to anchors/" verify_err untrusted "unable to get local issuer certificate"
check "expired fails for its dates" verify_err expired "certificate has expired"
check "notyet fails for its dates" verify_err notyet "certificate is not yet valid"
check "rsa1024 is a 1024-bit RSA key that still chains" \
	bash -c 'openssl x509 -in "$1" -noout -text | grep -q "Public-Key: (1024 bit)" && openssl verify -CApath "$2" "$1" >/dev/null' _ "$q/rsa1024.pem" "$q/anchors"

# --- the qualified profile --------------------------------------------------
check "alice carries the QCStatements DER of DESIGN.md 3" \
	bash -c '[ "${1#*"$2"}" != "$1" ]' _ "$(hexof "$q/alice.pem")" "${QC_OID}042b$QC_FULL"
check "noqc has no QCStatements extension" \
	bash -c '[ "${1#*"$2"}" = "$1" ]' _ "$(hexof "$q/noqc.pem")" "$QC_OID"
nosscd_ok() {
	local out
	qc_ext "$q/nosscd.pem" "$work/nosscd.der" || return 1
	out=$(openssl asn1parse -inform DER -in "$work/nosscd.der") || return 1
	grep -q ':0.4.0.1862.1.1$' <<<"$out" && grep -q ':0.4.0.1862.1.6$' <<<"$out" &&
	    grep -q ':0.4.0.1862.1.6.1$' <<<"$out" && ! grep -q ':0.4.0.1862.1.4$' <<<"$out"
}
check "nosscd has QcCompliance and QcType esign but not QcSSCD (asn1parse)" nosscd_ok
alice_sscd() {
	qc_ext "$q/alice.pem" "$work/alice.der" &&
	openssl asn1parse -inform DER -in "$work/alice.der" | grep -q ':0.4.0.1862.1.4$'
}
check "the same parse finds QcSSCD on alice" alice_sscd
check "alice: keyUsage critical nonRepudiation and digitalSignature, policy 0.4.0.194112.1.2" \
	bash -c 'openssl x509 -in "$1" -noout -text > "$2" && grep -A1 "Key Usage: critical" "$2" | grep -q "Digital Signature, Non Repudiation" && grep -q "Policy: 0.4.0.194112.1.2" "$2"' _ "$q/alice.pem" "$work/alice.txt"
check "nonrep's keyUsage has digitalSignature but not nonRepudiation" \
	bash -c 'u=$(openssl x509 -in "$1" -noout -ext keyUsage) && echo "$u" | grep -q "Digital Signature" && ! echo "$u" | grep -q "Non Repudiation"' _ "$q/nonrep.pem"
check "bob's subject has serialNumber, O and organizationIdentifier" \
	bash -c '[ "$(openssl x509 -in "$1" -noout -subject -nameopt RFC2253)" = "subject=serialNumber=PNOSI-1000000000002,CN=Bob Kranjc,organizationIdentifier=VATSI-11111111,O=Acme d.o.o.,C=SI" ]' _ "$q/bob.pem"
check "alice's email is in the subjectAltName" \
	bash -c 'openssl x509 -in "$1" -noout -ext subjectAltName | grep -q "email:alice@example.test"' _ "$q/alice.pem"
aia_ok() {
	local a c
	a=$(openssl x509 -in "$q/$1.pem" -noout -ocsp_uri)
	c=$(openssl x509 -in "$q/$1.pem" -noout -ext crlDistributionPoints 2>/dev/null | grep -o 'URI:.*')
	[[ $a == "http://127.0.0.1:$2/" && $c == "$3" ]] || { echo "# $1: ocsp '$a' cdp '$c'" >&2; return 1; }
}
check "alice: AIA OCSP and CDP on the fixture's ports" aia_ok alice "$QPKI_OCSP_PORT" "URI:http://127.0.0.1:$QPKI_CRL_PORT/ca.crl"
check "ocspdown: AIA OCSP to the dead port, no CDP" aia_ok ocspdown "$QPKI_DEAD_PORT" ""
check "crlonly: AIA OCSP to the dead port, CDP as usual" aia_ok crlonly "$QPKI_DEAD_PORT" "URI:http://127.0.0.1:$QPKI_CRL_PORT/ca.crl"

# --- the servers --------------------------------------------------------------
qpki_start "$q" || give_up "qpki_start starts the responders and the CRL server" "see $q/run/*.log"
ok "qpki_start starts the responders and the CRL server"

o=$(ocsp_ask alice "$QPKI_OCSP_PORT")
check "OCSP says good for alice, response verified" has "$o" ': good$' '^Response verify OK'
o=$(ocsp_ask revoked "$QPKI_OCSP_PORT")
check "OCSP says revoked (keyCompromise) for revoked" \
	has "$o" ': revoked$' 'Reason: keyCompromise' '^Response verify OK'
o=$(ocsp_ask ocspforeign "$QPKI_FOREIGN_PORT")
check "the foreign responder's answer fails verification" \
	has "$o" '^Response Verify Failure' '!^Response verify OK'
o=$(ocsp_ask ocspstale "$QPKI_STALE_PORT" -no_nonce)
check "the stale response verifies but is out of date" \
	has "$o" '^Response verify OK' 'Status times invalid' 'status expired'
check "nothing answers on the dead port" bash -c '! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null' _ "$QPKI_DEAD_PORT"
check "the CRL server hands out ca.crl.der, which lists revoked (keyCompromise)" \
	crl_lists "$QPKI_SERIAL_REVOKED" "Key Compromise"
check "the CRL does not list alice" bash -c '! openssl crl -inform DER -in "$1" -noout -text | grep -q "Serial Number: $2\$"' _ "$q/ca.crl.der" "$QPKI_SERIAL_ALICE"

qpki_revoke "$q" stranger cessationOfOperation
o=$(ocsp_ask stranger "$QPKI_OCSP_PORT")
check "qpki_revoke: OCSP says revoked at once" \
	has "$o" ': revoked$' 'Reason: cessationOfOperation' '^Response verify OK'
check "qpki_revoke: the served CRL lists it" crl_lists "$QPKI_SERIAL_STRANGER" "Cessation Of Operation"

# --- the token ------------------------------------------------------------------
printf 'revportal-request/1\naction: revoke\n' >"$work/doc"
check "carol has no key file; her key is a private key object in the token" \
	bash -c '[ ! -e "$1/carol.key" ] && SOFTHSM2_CONF="$2" pkcs11-tool --module /usr/lib/softhsm/libsofthsm2.so --token-label qpki --login --pin 123456 --list-objects --type privkey 2>/dev/null | grep -q "label: *carol"' _ "$q" "$SOFTHSM2_CONF"
carol_ok() {
	qpki_sign "$q" carol "$work/doc" "$work/carol.p7s" || return 1
	openssl cms -verify -CApath "$q/anchors" -purpose any -inform DER \
	    -in "$work/carol.p7s" -out "$work/carol.out" -signer "$work/carol.signer" 2>/dev/null &&
	cmp -s "$work/doc" "$work/carol.out" &&
	[[ $(openssl x509 -in "$work/carol.signer" -noout -fingerprint -sha256) == \
	    "$(openssl x509 -in "$q/carol.pem" -noout -fingerprint -sha256)" ]]
}
check "carol's signature through the token verifies against anchors/" carol_ok
tampered() {
	qpki_sign_detached "$q" alice "$work/doc" "$work/alice.p7s" || return 1
	openssl cms -verify -CApath "$q/anchors" -purpose any -inform DER -binary \
	    -in "$work/alice.p7s" -content "$work/doc" -out /dev/null 2>/dev/null || return 1
	printf 'revportal-request/1\naction: suspend\n' >"$work/doc2"
	! openssl cms -verify -CApath "$q/anchors" -purpose any -inform DER -binary \
	    -in "$work/alice.p7s" -content "$work/doc2" -out /dev/null 2>/dev/null
}
check "a detached signature verifies for its document and not for another" tampered

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
		(exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && { echo "# $port still answers" >&2; return 1; }
	done
	return 0
}
check "qpki_stop leaves no process and no listener" stopped

# The only private key git has is the fuzz corpus's all-zero key.
check "no private key is under git" \
	bash -c '[ -z "$(git ls-files "*.key" "*.p12" "*.pfx")" ] && [ "$(git grep -l -E -e "-----BEGIN ([A-Z]+ )?PRIVATE KEY-----" | tr "\n" " ")" = "tests/fuzz/corpus-x509/key_pem " ]'

finish
