# shellcheck shell=bash
# qpki: the qualified test PKI of issue 6, made by the tests themselves
# with OpenSSL (never committed keys), for the unit tests in C, the
# integration tests and the benchmark.  A bash library: source it (from
# anywhere; it finds deploy/stack.sh and ocspfixed.py next to itself), do
# not execute it (tests/run.sh runs only test_*.sh).  Needs openssl, curl,
# softhsm2-util, pkcs11-tool, the OpenSSL pkcs11 engine and /usr/bin/python3
# with python3-cryptography (Debian: softhsm2 libengine-pkcs11-openssl
# opensc python3-cryptography).
#
#   . tests/integration/qpki.sh
#   dir=$(mktemp -d /tmp/qpki.XXXXXX)
#   qpki_init "$dir" || exit 1        # < 10 s; at once when $dir/done exists
#   . "$dir/env"                      # QPKI_* (below); set -a first to export
#   trap 'qpki_stop "$dir"' EXIT      # the callers' duty: nothing survives
#   qpki_start "$dir" || exit 1       # OCSP responders and CRL server
#   qpki_sign "$dir" alice doc.txt doc.p7s
#   qpki_revoke "$dir" stranger
#   qpki_stop "$dir"
#
# Call qpki_start in the test's own shell, not inside $(...) or a pipe:
# the servers are background jobs of the calling shell (so a Ctrl-C on the
# terminal reaches them too) and $(...) would wait for them.  Use one
# directory per test run; the ports are chosen by qpki_init and written
# into the certificates, so a directory kept for later may find a port
# taken (qpki_start then fails and says so).
#
# What qpki_init DIR makes (ECDSA P-256 unless said; every NAME.pem with
# NAME.key, PKCS#8 PEM, unencrypted, mode 600):
#   root.pem      CN=revportal Test Qualified Root,O=Test TSP,C=SI
#   ca.pem        CN=revportal Test Qualified CA,O=Test TSP,C=SI, by root,
#                 pathlen 0; the issuing CA of the holders.  Its database is
#                 DIR/index.txt (openssl ca), its CRL ca.crl and ca.crl.der.
#   anchors/      root.pem and ca.pem, rehashed (-CApath and -CAfile work)
#   ocsp.pem      the CA's delegated OCSP responder (OCSPSigning, nocheck)
#   foreign.pem   an unrelated self-signed certificate
#   evilroot.pem  a root that is not in anchors/ (issuer of "untrusted")
#   holders       end-entity certificates of the qualified profile:
#                 keyUsage critical nonRepudiation+digitalSignature,
#                 certificatePolicies 0.4.0.194112.1.2, QCStatements
#                 QcCompliance+QcSSCD+QcType esign (DESIGN.md 3), AIA OCSP
#                 http://127.0.0.1:$QPKI_OCSP_PORT/, CDP
#                 http://127.0.0.1:$QPKI_CRL_PORT/ca.crl, valid from a day
#                 ago for 2 years; the differences are in the table
#                 _qpki_holders below (alice, bob, rep, otherrep, stranger,
#                 rsa2048, rsa1024, expired, notyet, noqc, nosscd, nonrep,
#                 revoked, untrusted, ocspdown, crlonly, ocspforeign,
#                 ocspstale, carol).
#   carol         her key lives only in a SoftHSM2 token (DIR/softhsm,
#                 DIR/softhsm2.conf): there is no carol.key.
#   ocspstale.resp.der  a "good" OCSP response for ocspstale signed by
#                 ocsp.key with thisUpdate 3 days ago, nextUpdate 2 days ago
#   env           shell assignments NAME='value', one a line: QPKI_DIR,
#                 QPKI_OCSP_PORT, QPKI_CRL_PORT, QPKI_FOREIGN_PORT,
#                 QPKI_STALE_PORT, QPKI_DEAD_PORT (nothing listens there),
#                 SOFTHSM2_CONF, PKCS11_MODULE_PATH (SoftHSM2, for the
#                 OpenSSL pkcs11 engine), QPKI_PKCS11_URI (carol's key, with
#                 pin-value), QPKI_CA_DN (RFC 2253) and QPKI_SERIAL_<NAME>
#                 for every holder (upper-case hex, no leading zeros).
# The serials are random (openssl ca rand_serial, up to 20 bytes), so one
# in sixteen has fewer than 40 hex digits: compare them without leading
# zeros.  The CRL and the stale response are dated when qpki_init runs.
#
# Signing (OUT is DER CMS SignedData; MD defaults to sha256):
#   qpki_sign DIR NAME DOC OUT [MD] [ARGS...]           attached
#   qpki_sign_detached DIR NAME DOC OUT [MD] [ARGS...]  detached
# sign as holder NAME (carol through the token), with the issuer's
# certificate (ca.pem; evilroot.pem for untrusted) added; ARGS go to
# openssl cms, e.g. "" -signer bob.pem -inkey bob.key for a second signer.
#   qpki_revoke DIR NAME [REASON]   revokes NAME (keyCompromise), new CRL
#
# What qpki_start DIR runs, on 127.0.0.1 (tests/integration/ocspfixed.py;
# logs and pid files in DIR/run/):
#   QPKI_OCSP_PORT     the CA's responder: `openssl ocsp -index index.txt
#                      -rsigner ocsp.pem -rkey ocsp.key -CA ca.pem -ndays 1`
#                      run once per request.  It reads index.txt at every
#                      request, so a qpki_revoke shows at once, without a
#                      restart.  (OpenSSL 3.0's `openssl ocsp -port` cannot
#                      bind to 127.0.0.1 only, and its -multi parent ignores
#                      SIGTERM; hence the small front.)
#   QPKI_FOREIGN_PORT  the same with foreign.pem's key: signed by a key
#                      unrelated to the CA, so its answers must be refused
#   QPKI_STALE_PORT    answers every request with ocspstale.resp.der
#   QPKI_CRL_PORT      answers every GET (/ca.crl) with ca.crl.der
#                      (application/pkix-crl), read again for every request
# Remember that the portal caches an OCSP answer until its nextUpdate: a
# test that revokes a holder it has already checked needs a fresh stack.
#
# Every function returns non-zero, after a message on stderr, on failure.
# Functions and variables of this file start with qpki_ or _qpki_.

_QPKI_HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
_QPKI_PY=/usr/bin/python3
_QPKI_MODULE=/usr/lib/softhsm/libsofthsm2.so
_QPKI_TOKEN=qpki
_QPKI_PIN=123456
_QPKI_SO_PIN=12345678

# The QCStatements of DESIGN.md 3: QcCompliance, QcSSCD, QcType esign.
_QPKI_QC_FULL=30:29:30:08:06:06:04:00:8E:46:01:01:30:08:06:06:04:00:8E:46:01:04:30:13:06:06:04:00:8E:46:01:06:30:09:06:07:04:00:8E:46:01:06:01
# The same without QcSSCD: 0x1F = 10 (QcCompliance) + 21 (QcType) bytes.
_QPKI_QC_NOSSCD=30:1F:30:08:06:06:04:00:8E:46:01:01:30:13:06:06:04:00:8E:46:01:06:30:09:06:07:04:00:8E:46:01:06:01

# Validity of the roots and the CA: long before "expired" and after
# "notyet", so that only the holder's own dates make those two fail.
_QPKI_CA_FROM=20190101000000Z
_QPKI_CA_TO=20451231235959Z

declare -F stack_free_port >/dev/null ||
	. "$_QPKI_HERE/../../deploy/stack.sh"

# The holders, one a line, fields separated by "|":
#   name|key|issuer|validity|qc|keyUsage|ocsp|cdp|subject|subjectAltName
# key: ec (P-256), rsa2048, rsa1024, token (SoftHSM2); issuer: ca or
# evilroot; validity: now (a day ago + 2 years), expired (2020-01-01 ..
# 2021-01-01), notyet (2036-01-01 + 2 years); qc: full, nosscd, none;
# keyUsage: nr (nonRepudiation, digitalSignature) or ds (digitalSignature);
# ocsp: the port variable the AIA names (OCSP, DEAD, FOREIGN, STALE); cdp:
# yes or no; subjectAltName: - for none.
_qpki_holders() {
	cat <<'EOF'
alice|ec|ca|now|full|nr|OCSP|yes|/C=SI/CN=Alice Novak/serialNumber=PNOSI-1000000000001|email:alice@example.test
bob|ec|ca|now|full|nr|OCSP|yes|/C=SI/O=Acme d.o.o./organizationIdentifier=VATSI-11111111/CN=Bob Kranjc/serialNumber=PNOSI-1000000000002|-
rep|ec|ca|now|full|nr|OCSP|yes|/C=SI/CN=Rebeka Zupan/serialNumber=PNOSI-1000000000003|-
otherrep|ec|ca|now|full|nr|OCSP|yes|/C=SI/CN=Oto Vidmar/serialNumber=PNOSI-1000000000004|-
stranger|ec|ca|now|full|nr|OCSP|yes|/C=SI/CN=Stane Kos/serialNumber=PNOSI-1000000000005|-
rsa2048|rsa2048|ca|now|full|nr|OCSP|yes|/C=SI/CN=Test RSA 2048/serialNumber=PNOSI-1000000000006|-
rsa1024|rsa1024|ca|now|full|nr|OCSP|yes|/C=SI/CN=Test RSA 1024/serialNumber=PNOSI-1000000000016|-
expired|ec|ca|expired|full|nr|OCSP|yes|/C=SI/CN=Test Expired/serialNumber=PNOSI-1000000000007|-
notyet|ec|ca|notyet|full|nr|OCSP|yes|/C=SI/CN=Test Not Yet Valid/serialNumber=PNOSI-1000000000008|-
noqc|ec|ca|now|none|nr|OCSP|yes|/C=SI/CN=Test Not Qualified/serialNumber=PNOSI-1000000000009|-
nosscd|ec|ca|now|nosscd|nr|OCSP|yes|/C=SI/CN=Test Without QSCD/serialNumber=PNOSI-1000000000010|-
nonrep|ec|ca|now|full|ds|OCSP|yes|/C=SI/CN=Test Without Non-Repudiation/serialNumber=PNOSI-1000000000011|-
revoked|ec|ca|now|full|nr|OCSP|yes|/C=SI/CN=Test Revoked/serialNumber=PNOSI-1000000000012|-
untrusted|ec|evilroot|now|full|nr|OCSP|yes|/C=SI/CN=Test Untrusted/serialNumber=PNOSI-1000000000013|-
ocspdown|ec|ca|now|full|nr|DEAD|no|/C=SI/CN=Test OCSP Down/serialNumber=PNOSI-1000000000014|-
crlonly|ec|ca|now|full|nr|DEAD|yes|/C=SI/CN=Test CRL Only/serialNumber=PNOSI-1000000000015|-
ocspforeign|ec|ca|now|full|nr|FOREIGN|yes|/C=SI/CN=Test Foreign OCSP/serialNumber=PNOSI-1000000000017|-
ocspstale|ec|ca|now|full|nr|STALE|yes|/C=SI/CN=Test Stale OCSP/serialNumber=PNOSI-1000000000018|-
carol|token|ca|now|full|nr|OCSP|yes|/C=SI/CN=Carol Horvat/serialNumber=PNOSI-1000000000019|-
EOF
}

# _qpki_holder NAME: prints the holder's table line (fails when unknown).
_qpki_holder() {
	local line
	while IFS= read -r line; do
		if [[ ${line%%|*} == "$1" ]]; then
			printf '%s\n' "$line"
			return 0
		fi
	done < <(_qpki_holders)
	return 1
}

# _qpki_dir DIR: prints DIR as an absolute path; fails unless it is made
# only of characters that are safe in an OpenSSL configuration file.
_qpki_dir() {
	local d=$1
	[[ -n $d ]] || { echo "qpki: no directory given" >&2; return 1; }
	[[ $d == /* ]] || d=$PWD/$d
	d=${d%/}
	if [[ ! $d =~ ^[A-Za-z0-9._/+-]+$ ]]; then
		echo "qpki: $d: only letters, digits and ._/+- please" >&2
		return 1
	fi
	printf '%s\n' "$d"
}

# _qpki_run DIR COMMAND...: runs COMMAND with its output appended to
# DIR/qpki.log; on failure prints the command and the log's tail.
_qpki_run() {
	local dir=$1
	shift
	printf '+ %s\n' "$*" >>"$dir/qpki.log"
	if ! "$@" </dev/null >>"$dir/qpki.log" 2>&1; then
		echo "qpki: failed: $*" >&2
		tail -n 15 "$dir/qpki.log" | sed 's/^/qpki: | /' >&2
		return 1
	fi
}

# _qpki_time SPEC: prints an OpenSSL time (YYYYMMDDHHMMSSZ) for a date(1)
# date string, in UTC.
_qpki_time() {
	date -u -d "$1" +%Y%m%d%H%M%SZ
}

# _qpki_key DIR NAME TYPE: DIR/NAME.key, PKCS#8 PEM, mode 600.
_qpki_key() {
	local dir=$1 name=$2 type=$3
	local -a opt
	case $type in
	ec) opt=(-algorithm EC -pkeyopt ec_paramgen_curve:P-256) ;;
	rsa2048) opt=(-algorithm RSA -pkeyopt rsa_keygen_bits:2048) ;;
	rsa1024) opt=(-algorithm RSA -pkeyopt rsa_keygen_bits:1024) ;;
	*) echo "qpki: unknown key type $type" >&2; return 1 ;;
	esac
	(umask 077 && _qpki_run "$dir" openssl genpkey "${opt[@]}" \
	    -out "$dir/$name.key") && chmod 600 "$dir/$name.key"
}

# _qpki_csr DIR NAME SUBJECT: DIR/NAME.csr for DIR/NAME.key.
_qpki_csr() {
	_qpki_run "$1" openssl req -new -utf8 -key "$1/$2.key" -subj "$3" \
	    -out "$1/$2.csr"
}

# _qpki_issue DIR CA EXT NAME FROM TO [-selfsign]: DIR/NAME.pem from
# DIR/NAME.csr, issued by the openssl ca section CA with the extension
# section EXT, valid FROM .. TO.
_qpki_issue() {
	local dir=$1 ca=$2 ext=$3 name=$4 from=$5 to=$6
	shift 6
	_qpki_run "$dir" openssl ca -batch -notext -config "$dir/ca.cnf" \
	    -name "$ca" -extensions "$ext" -preserveDN -startdate "$from" \
	    -enddate "$to" -in "$dir/$name.csr" -out "$dir/$name.pem" "$@"
}

# _qpki_cnf DIR: writes DIR/ca.cnf, the openssl ca configuration of the
# three issuers (root, ca, evilroot) and every extension section.  Needs
# the QPKI_*_PORT variables of _qpki_ports.
_qpki_cnf() {
	local dir=$1 name qc ku ocsp cdp san port index
	{
		printf '[ ca ]\ndefault_ca = ca\n\n'
		for name in root ca evilroot; do
			index=\$dir/db/$name.index
			# openssl ocsp -index and the tests expect the CA's here.
			[[ $name == ca ]] && index=\$dir/index.txt
			cat <<EOF
[ $name ]
dir = $dir
database = $index
new_certs_dir = \$dir/db/$name.certs
certificate = \$dir/$name.pem
private_key = \$dir/$name.key
crlnumber = \$dir/db/$name.crlnumber
rand_serial = yes
default_md = sha256
default_crl_days = 7
crl_extensions = crl_ext
policy = policy_any
preserve = yes
email_in_dn = no
unique_subject = no
copy_extensions = none

EOF
		done
		cat <<'EOF'
[ policy_any ]
countryName = optional
organizationName = optional
organizationIdentifier = optional
commonName = supplied
serialNumber = optional

[ crl_ext ]
authorityKeyIdentifier = keyid:always

[ root_ext ]
basicConstraints = critical, CA:true
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash

[ ca_ext ]
basicConstraints = critical, CA:true, pathlen:0
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid:always

[ ocsp_ext ]
basicConstraints = critical, CA:false
keyUsage = critical, digitalSignature
extendedKeyUsage = OCSPSigning
noCheck = ignored
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid:always

EOF
		while IFS='|' read -r name _ _ _ qc ku ocsp cdp _ san; do
			printf '[ h_%s ]\n' "$name"
			printf 'basicConstraints = critical, CA:false\n'
			if [[ $ku == nr ]]; then
				printf 'keyUsage = critical, nonRepudiation, digitalSignature\n'
			else
				printf 'keyUsage = critical, digitalSignature\n'
			fi
			printf 'certificatePolicies = 0.4.0.194112.1.2\n'
			case $qc in
			full) printf '1.3.6.1.5.5.7.1.3 = DER:%s\n' "$_QPKI_QC_FULL" ;;
			nosscd) printf '1.3.6.1.5.5.7.1.3 = DER:%s\n' "$_QPKI_QC_NOSSCD" ;;
			esac
			printf 'subjectKeyIdentifier = hash\n'
			printf 'authorityKeyIdentifier = keyid:always\n'
			port=QPKI_${ocsp}_PORT
			printf 'authorityInfoAccess = OCSP;URI:http://127.0.0.1:%s/\n' "${!port}"
			if [[ $cdp == yes ]]; then
				printf 'crlDistributionPoints = URI:http://127.0.0.1:%s/ca.crl\n' "$QPKI_CRL_PORT"
			fi
			if [[ $san != - ]]; then
				printf 'subjectAltName = %s\n' "$san"
			fi
			printf '\n'
		done < <(_qpki_holders)
	} >"$dir/ca.cnf"
}

# _qpki_ports: sets QPKI_{OCSP,CRL,FOREIGN,STALE,DEAD}_PORT to five
# different free loopback ports.
_qpki_ports() {
	local v p seen=" "
	for v in OCSP CRL FOREIGN STALE DEAD; do
		while :; do
			p=$(stack_free_port) || return 1
			[[ $seen == *" $p "* ]] || break
		done
		seen+="$p "
		printf -v "QPKI_${v}_PORT" '%s' "$p"
	done
}

# _qpki_token DIR: the SoftHSM2 token "qpki" in DIR/softhsm with carol's
# P-256 key pair generated inside it, and DIR/carol.csr signed by it.
_qpki_token() {
	local dir=$1
	mkdir -p "$dir/softhsm" && chmod 700 "$dir/softhsm" || return 1
	printf 'directories.tokendir = %s\nobjectstore.backend = file\nlog.level = ERROR\nslots.removable = false\n' \
	    "$dir/softhsm" >"$dir/softhsm2.conf" || return 1
	SOFTHSM2_CONF=$dir/softhsm2.conf _qpki_run "$dir" softhsm2-util \
	    --init-token --free --label "$_QPKI_TOKEN" --pin "$_QPKI_PIN" \
	    --so-pin "$_QPKI_SO_PIN" &&
	SOFTHSM2_CONF=$dir/softhsm2.conf _qpki_run "$dir" pkcs11-tool \
	    --module "$_QPKI_MODULE" --token-label "$_QPKI_TOKEN" --login \
	    --pin "$_QPKI_PIN" --keypairgen --key-type EC:prime256v1 \
	    --id 01 --label carol &&
	SOFTHSM2_CONF=$dir/softhsm2.conf PKCS11_MODULE_PATH=$_QPKI_MODULE \
	    _qpki_run "$dir" openssl req -new -utf8 -engine pkcs11 \
	    -keyform engine -key "$(_qpki_uri)" \
	    -subj "$(_qpki_holder carol | cut -d'|' -f9)" -out "$dir/carol.csr"
}

# _qpki_uri: prints the PKCS#11 URI of carol's private key, with the PIN.
_qpki_uri() {
	printf 'pkcs11:token=%s;object=carol;type=private;pin-value=%s\n' \
	    "$_QPKI_TOKEN" "$_QPKI_PIN"
}

# _qpki_stale DIR: DIR/ocspstale.resp.der, a "good" OCSP response for
# ocspstale signed with the real responder key, thisUpdate 3 days ago and
# nextUpdate 2 days ago (a fault injection: OpenSSL cannot date one back).
_qpki_stale() {
	local dir=$1 script
	script=$(cat <<'EOF'
import datetime
import sys

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.x509 import ocsp


def load(path):
    with open(path, "rb") as f:
        return f.read()


cert = x509.load_pem_x509_certificate(load(sys.argv[1]))
issuer = x509.load_pem_x509_certificate(load(sys.argv[2]))
signer = x509.load_pem_x509_certificate(load(sys.argv[3]))
key = serialization.load_pem_private_key(load(sys.argv[4]), password=None)
now = datetime.datetime.utcnow().replace(microsecond=0)
# SHA-1 in the CertID, as OpenSSL's OCSP_cert_to_id() asks by default.
builder = ocsp.OCSPResponseBuilder().add_response(
    cert=cert, issuer=issuer, algorithm=hashes.SHA1(),
    cert_status=ocsp.OCSPCertStatus.GOOD,
    this_update=now - datetime.timedelta(days=3),
    next_update=now - datetime.timedelta(days=2),
    revocation_time=None, revocation_reason=None,
).responder_id(ocsp.OCSPResponderEncoding.HASH, signer).certificates([signer])
resp = builder.sign(key, hashes.SHA256())
with open(sys.argv[5], "wb") as f:
    f.write(resp.public_bytes(serialization.Encoding.DER))
EOF
)
	_qpki_run "$dir" "$_QPKI_PY" -c "$script" "$dir/ocspstale.pem" \
	    "$dir/ca.pem" "$dir/ocsp.pem" "$dir/ocsp.key" \
	    "$dir/ocspstale.resp.der" &&
	[[ -s $dir/ocspstale.resp.der ]]
}

# _qpki_crl DIR: DIR/ca.crl (PEM) and DIR/ca.crl.der from the CA's index,
# each replaced in one rename.
_qpki_crl() {
	local dir=$1
	_qpki_run "$dir" openssl ca -batch -config "$dir/ca.cnf" -name ca \
	    -gencrl -out "$dir/ca.crl.tmp" &&
	_qpki_run "$dir" openssl crl -in "$dir/ca.crl.tmp" -outform DER \
	    -out "$dir/ca.crl.der.tmp" &&
	mv -f "$dir/ca.crl.tmp" "$dir/ca.crl" &&
	mv -f "$dir/ca.crl.der.tmp" "$dir/ca.crl.der"
}

# _qpki_serial DIR NAME: prints NAME.pem's serial, upper-case hex without
# leading zeros.
_qpki_serial() {
	local s
	s=$(openssl x509 -in "$1/$2.pem" -noout -serial) || return 1
	s=${s#serial=}
	s=${s^^}
	while [[ ${#s} -gt 1 && $s == 0* ]]; do
		s=${s#0}
	done
	printf '%s\n' "$s"
}

# _qpki_env DIR: writes DIR/env (see the header).
_qpki_env() {
	local dir=$1 name dn v
	dn=$(openssl x509 -in "$dir/ca.pem" -noout -subject -nameopt RFC2253) ||
	    return 1
	dn=${dn#subject=}
	{
		printf "QPKI_DIR='%s'\n" "$dir"
		for v in OCSP CRL FOREIGN STALE DEAD; do
			v=QPKI_${v}_PORT
			printf "%s='%s'\n" "$v" "${!v}"
		done
		printf "SOFTHSM2_CONF='%s'\n" "$dir/softhsm2.conf"
		printf "PKCS11_MODULE_PATH='%s'\n" "$_QPKI_MODULE"
		printf "QPKI_PKCS11_URI='%s'\n" "$(_qpki_uri)"
		printf "QPKI_CA_DN='%s'\n" "$dn"
		while IFS='|' read -r name _; do
			v=$(_qpki_serial "$dir" "$name") || return 1
			printf "QPKI_SERIAL_%s='%s'\n" "${name^^}" "$v"
		done < <(_qpki_holders)
	} >"$dir/env.tmp" && mv -f "$dir/env.tmp" "$dir/env"
}

# qpki_init DIR: makes the test PKI in DIR (created if need be; it must be
# empty or already hold a finished one).  Returns at once when DIR/done
# exists.  Everything is written under DIR; nothing is started.
qpki_init() {
	local dir name key issuer validity subject from to now_from now_to
	dir=$(_qpki_dir "$1") || return 1
	[[ -e $dir/done ]] && return 0
	mkdir -p "$dir" || return 1
	if [[ -n $(ls -A "$dir") ]]; then
		echo "qpki_init: $dir is neither empty nor a finished fixture (no done); remove it" >&2
		return 1
	fi
	# Set by _qpki_ports, read by _qpki_cnf and _qpki_env (${!name}).
	# shellcheck disable=SC2034
	local QPKI_OCSP_PORT QPKI_CRL_PORT QPKI_FOREIGN_PORT QPKI_STALE_PORT QPKI_DEAD_PORT
	_qpki_ports || return 1
	mkdir -p "$dir/db" "$dir/anchors" "$dir/run" || return 1
	for name in root ca evilroot; do
		mkdir -p "$dir/db/$name.certs" &&
		    echo 01 >"$dir/db/$name.crlnumber" || return 1
	done
	: >"$dir/db/root.index" && : >"$dir/db/evilroot.index" &&
	    : >"$dir/index.txt" || return 1
	_qpki_cnf "$dir" || return 1
	now_from=$(_qpki_time '1 day ago') &&
	    now_to=$(_qpki_time '1 day ago + 2 years') || return 1

	# The roots (self-signed through openssl ca, for their dates) and the CA.
	_qpki_key "$dir" root ec &&
	_qpki_csr "$dir" root "/C=SI/O=Test TSP/CN=revportal Test Qualified Root" &&
	_qpki_issue "$dir" root root_ext root "$_QPKI_CA_FROM" "$_QPKI_CA_TO" -selfsign &&
	_qpki_key "$dir" evilroot ec &&
	_qpki_csr "$dir" evilroot "/C=SI/O=Nobody/CN=revportal Test Untrusted Root" &&
	_qpki_issue "$dir" evilroot root_ext evilroot "$_QPKI_CA_FROM" "$_QPKI_CA_TO" -selfsign &&
	_qpki_key "$dir" ca ec &&
	_qpki_csr "$dir" ca "/C=SI/O=Test TSP/CN=revportal Test Qualified CA" &&
	_qpki_issue "$dir" root ca_ext ca "$_QPKI_CA_FROM" "$_QPKI_CA_TO" &&
	cp "$dir/root.pem" "$dir/ca.pem" "$dir/anchors/" &&
	_qpki_run "$dir" openssl rehash "$dir/anchors" || return 1

	# The delegated responder and the unrelated responder.
	_qpki_key "$dir" ocsp ec &&
	_qpki_csr "$dir" ocsp "/C=SI/O=Test TSP/CN=revportal Test OCSP Responder" &&
	_qpki_issue "$dir" ca ocsp_ext ocsp "$now_from" "$now_to" &&
	_qpki_key "$dir" foreign ec &&
	_qpki_run "$dir" openssl req -new -x509 -key "$dir/foreign.key" \
	    -subj "/C=SI/O=Elsewhere/CN=revportal Test Foreign Responder" \
	    -days 730 -out "$dir/foreign.pem" || return 1

	# The holders.
	while IFS='|' read -r name key issuer validity _ _ _ _ subject _; do
		case $validity in
		now) from=$now_from to=$now_to ;;
		expired) from=20200101000000Z to=20210101000000Z ;;
		notyet) from=20360101000000Z to=20380101000000Z ;;
		esac
		if [[ $key == token ]]; then
			_qpki_token "$dir" || return 1
		else
			_qpki_key "$dir" "$name" "$key" &&
			_qpki_csr "$dir" "$name" "$subject" || return 1
		fi
		_qpki_issue "$dir" "$issuer" "h_$name" "$name" "$from" "$to" ||
		    return 1
	done < <(_qpki_holders)

	_qpki_run "$dir" openssl ca -batch -config "$dir/ca.cnf" -name ca \
	    -revoke "$dir/revoked.pem" -crl_reason keyCompromise &&
	_qpki_crl "$dir" &&
	_qpki_stale "$dir" &&
	_qpki_run "$dir" openssl ocsp -issuer "$dir/ca.pem" \
	    -cert "$dir/alice.pem" -no_nonce -reqout "$dir/run/probe.req" &&
	_qpki_env "$dir" || return 1
	rm -f "$dir"/*.csr
	date -u +%Y-%m-%dT%H:%M:%SZ >"$dir/done"
}

# _qpki_services DIR: prints the services of qpki_start, one a line:
# name port-variable command...
_qpki_services() {
	local dir=$1 fixed=$_QPKI_HERE/ocspfixed.py
	local ocsp="openssl ocsp -index $dir/index.txt -CA $dir/ca.pem -ndays 1 -reqin /dev/stdin -respout /dev/stdout"
	printf '%s\n' \
	    "ocsp QPKI_OCSP_PORT $_QPKI_PY $fixed --cmd @PORT@ $ocsp -rsigner $dir/ocsp.pem -rkey $dir/ocsp.key" \
	    "foreign QPKI_FOREIGN_PORT $_QPKI_PY $fixed --cmd @PORT@ $ocsp -rsigner $dir/foreign.pem -rkey $dir/foreign.key" \
	    "stale QPKI_STALE_PORT $_QPKI_PY $fixed @PORT@ $dir/ocspstale.resp.der" \
	    "crl QPKI_CRL_PORT $_QPKI_PY $fixed @PORT@ $dir/ca.crl.der application/pkix-crl"
}

# _qpki_answers DIR NAME PORT: true when the service answers 200 (the
# responders to a real OCSP request).
_qpki_answers() {
	local dir=$1 name=$2 port=$3 code
	if [[ $name == crl ]]; then
		code=$(curl -s --noproxy '*' --max-time 2 -o /dev/null \
		    -w '%{http_code}' "http://127.0.0.1:$port/ca.crl")
	else
		code=$(curl -s --noproxy '*' --max-time 2 -o /dev/null \
		    -w '%{http_code}' -H 'Content-Type: application/ocsp-request' \
		    --data-binary "@$dir/run/probe.req" "http://127.0.0.1:$port/")
	fi
	[[ $code == 200 ]]
}

# _qpki_pid DIR NAME: prints the recorded pid of service NAME when that
# process is alive and is this fixture's (its command line names DIR).
_qpki_pid() {
	local pid
	[[ -s $1/run/$2.pid ]] || return 1
	pid=$(<"$1/run/$2.pid")
	_stack_is "$pid" "$1/" || return 1
	printf '%s\n' "$pid"
}

# qpki_start DIR: starts the OCSP responder, the foreign responder, the
# stale OCSP server and the CRL server of DIR on their ports (see the
# header), as background jobs of the calling shell; returns once each
# answers (at most 10 s).  A service already running is left alone.  When
# one does not answer, it stops them all (qpki_stop) and fails.  The
# caller must make sure qpki_stop DIR runs whatever happens (trap).
qpki_start() {
	local dir name var cmd port pid i
	local -a argv
	dir=$(_qpki_dir "$1") || return 1
	if [[ ! -e $dir/done || ! -s $dir/env ]]; then
		echo "qpki_start: $dir: no fixture (qpki_init it first)" >&2
		return 1
	fi
	# shellcheck disable=SC1091
	. "$dir/env" || return 1
	mkdir -p "$dir/run" || return 1
	while read -r name var cmd; do
		_qpki_pid "$dir" "$name" >/dev/null && continue
		port=${!var}
		if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
			echo "qpki_start: port $port ($name) is taken by another program" >&2
			qpki_stop "$dir"
			return 1
		fi
		read -r -a argv <<<"${cmd//@PORT@/$port}"
		"${argv[@]}" </dev/null >>"$dir/run/$name.log" 2>&1 &
		pid=$!
		disown "$pid" 2>/dev/null || true
		echo "$pid" >"$dir/run/$name.pid"
	done < <(_qpki_services "$dir")
	while read -r name var _; do
		for ((i = 0; ; i++)); do
			_qpki_answers "$dir" "$name" "${!var}" && break
			if ! pid=$(_qpki_pid "$dir" "$name") || ((i >= 100)); then
				echo "qpki_start: $name (port ${!var}) does not answer" >&2
				tail -n 10 "$dir/run/$name.log" 2>/dev/null | sed 's/^/qpki: | /' >&2
				qpki_stop "$dir"
				return 1
			fi
			sleep 0.1
		done
	done < <(_qpki_services "$dir")
}

# qpki_stop DIR: stops what qpki_start DIR started (SIGTERM, SIGKILL after
# 5 s) and removes the pid files.  Returns non-zero if one survives.
qpki_stop() {
	local dir name pid rc=0
	dir=$(_qpki_dir "$1") || return 1
	while read -r name _; do
		if pid=$(_qpki_pid "$dir" "$name"); then
			kill -TERM "$pid" 2>/dev/null || true
			if ! _stack_wait_gone "$pid" 5; then
				kill -KILL "$pid" 2>/dev/null || true
				_stack_wait_gone "$pid" 2 || {
					echo "qpki_stop: $name ($pid) survives" >&2
					rc=1
					continue
				}
			fi
		fi
		rm -f "$dir/run/$name.pid"
	done < <(_qpki_services "$dir")
	return "$rc"
}

# _qpki_sign DIR NAME DOC OUT MODE [MD] [ARGS...]: openssl cms -sign of
# DOC by holder NAME into OUT (DER), attached when MODE is -nodetach,
# detached when MODE is empty; ARGS go to openssl cms as they are.
_qpki_sign() {
	local dir=$1 name=$2 doc=$3 out=$4 mode=$5 md=${6:-sha256} line issuer err
	local -a key extra=("${@:7}")
	dir=$(_qpki_dir "$dir") || return 1
	[[ -s $dir/$name.pem ]] || { echo "qpki_sign: no certificate $name" >&2; return 1; }
	issuer=ca
	if line=$(_qpki_holder "$name"); then
		issuer=$(cut -d'|' -f3 <<<"$line")
	fi
	if [[ $name == carol ]]; then
		key=(-engine pkcs11 -keyform engine -inkey "$(_qpki_uri)")
	else
		key=(-inkey "$dir/$name.key")
	fi
	err=$dir/run/sign.$BASHPID.err
	if SOFTHSM2_CONF=$dir/softhsm2.conf PKCS11_MODULE_PATH=$_QPKI_MODULE \
	    openssl cms -sign -binary -md "$md" ${mode:+"$mode"} -outform DER \
	    -signer "$dir/$name.pem" "${key[@]}" -certfile "$dir/$issuer.pem" \
	    -in "$doc" -out "$out" "${extra[@]}" 2>"$err"; then
		rm -f "$err"
		return 0
	fi
	echo "qpki_sign: openssl cms failed for $name:" >&2
	sed 's/^/qpki: | /' "$err" >&2
	rm -f "$err"
	return 1
}

# qpki_sign DIR NAME DOCFILE OUTFILE [MD] [ARGS...]: an attached CMS
# signature (DER) of DOCFILE by holder NAME (its key in the token for
# carol), with the issuer's certificate added (ca.pem; evilroot.pem for
# untrusted).  MD defaults to sha256 (give "" to keep it with ARGS); ARGS
# are more openssl cms options, e.g. a second -signer/-inkey pair.
qpki_sign() {
	_qpki_sign "$1" "$2" "$3" "$4" -nodetach "${@:5}"
}

# qpki_sign_detached DIR NAME DOCFILE OUTFILE [MD] [ARGS...]: the same,
# detached (OUTFILE holds no content).
qpki_sign_detached() {
	_qpki_sign "$1" "$2" "$3" "$4" "" "${@:5}"
}

# qpki_revoke DIR NAME [REASON]: revokes holder NAME in the CA's index
# (reason keyCompromise unless given) and regenerates ca.crl and
# ca.crl.der.  The OCSP responder of qpki_start reads the index at every
# request and the CRL server the file, so no restart is needed.  Fails when
# NAME is already revoked.
qpki_revoke() {
	local dir
	dir=$(_qpki_dir "$1") || return 1
	[[ -s $dir/$2.pem ]] || { echo "qpki_revoke: no certificate $2" >&2; return 1; }
	_qpki_run "$dir" openssl ca -batch -config "$dir/ca.cnf" -name ca \
	    -revoke "$dir/$2.pem" -crl_reason "${3:-keyCompromise}" &&
	_qpki_crl "$dir"
}
