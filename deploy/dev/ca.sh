# shellcheck shell=bash
# revportal: the development CA, cfssl 1.2.0 (Debian golang-cfssl) on
# loopback, for `make run` and the end-to-end relay tests.
#
# A bash library: source it, do not execute it.  deploy/dev/ca-truth wraps
# it for people.
#
#   . deploy/dev/ca.sh
#   devca_init  "$dir"                    # CAs, keys, signing config, DB
#   devca_start "$dir" "127.0.0.1:$port"  # cfssl serve, mutual TLS
#   serial=$(devca_issue "$dir" personal ana cn="Ana Novak" person=PNOSI-1001)
#   devca_status "$dir" "$serial"         # "good 0 -", "revoked 6 2026-..."
#   devca_ocsp   "$dir" "$serial"         # "good", "revoked certificateHold"
#   devca_stop  "$dir"
#
# Also: devca_list DIR, devca_crl DIR (below), devca_curl DIR PATH
# [CURL ARGS] (a call to the running cfssl with its TLS settings),
# devca_serial_hex TEXT and devca_serial_dec TEXT (a serial as revportal
# and as cfssl's DB write it).
#
# devca_init DIR
#   Creates DIR (once: a DIR that holds ca.pem and certs.db is left as it
#   is), all keys ECDSA:
#     root.pem, root-key.pem    "revportal dev Root CA" (cfssl gencert -initca)
#     ca.pem, ca-key.pem        "revportal dev Qualified CA", the issuing CA:
#                               cfssl genkey, signed by the root (cfssl sign,
#                               profile intermediate of deploy/dev/root.json)
#     chain.pem                 ca.pem then root.pem
#     ocsp.pem, ocsp-key.pem    the issuing CA's delegated OCSP responder
#     infra.pem, infra-key.pem  a separate CA for the TLS of cfssl's API only
#     server.pem, server-key.pem  cfssl's TLS certificate (127.0.0.1, ::1,
#                               localhost), issued by infra
#     relay.pem, relay-key.pem  the client certificate the relay presents
#                               (CN revportal-relay), issued by infra
#     certs.db, db-config.json  cfssl's certificate DB (SQLite), see below
#     issued/                   what devca_issue made: NAME.key, NAME.csr,
#                               NAME.pem
#   The signing profiles are deploy/dev/signing.json, used in place (cfssl
#   1.2.0 spells the key usage "content committment").
#
# devca_start DIR ADDR:PORT
#   Starts `cfssl serve` on ADDR:PORT (a loopback address) with the
#   issuing CA, the signing profiles and the DB, and waits until it
#   answers.  DEVCA_TLS chooses the transport:
#     mtls (default)  https; cfssl requires a client certificate issued by
#                     infra.pem whose CN is revportal-relay
#                     (-tls-cert/-tls-key, -mutual-tls-ca, -mutual-tls-cn)
#     tls             https, no client certificate
#     http            plain http (the relay then needs allow_http = yes)
#   Sets and exports DEVCA_DIR, DEVCA_URL (https://ADDR:PORT), DEVCA_CACERT
#   (infra.pem: what the relay's ca_file names), DEVCA_CLIENT_CERT and
#   DEVCA_CLIENT_KEY (relay.pem and its key; empty unless mtls) and
#   DEVCA_PID; writes DIR/cfssl.pid, DIR/url, DIR/mode, logs to
#   DIR/cfssl.log.  Returns 1, after printing the log's tail, if cfssl is
#   not answering within DEVCA_START_TIMEOUT seconds (15).  Call it in the
#   test's own shell (not in $(...)), as stack_start.  The process gets its
#   own session (setsid) unless job control is on, so a Ctrl-C on the
#   terminal does not reach it: the caller's trap must call devca_stop.
#
# devca_stop DIR
#   Stops the cfssl of DIR (SIGTERM, then SIGKILL after 5 s).  Safe to call
#   twice and from another shell (pid file).
#
# devca_issue DIR TYPE NAME [KEY=VALUE ...]
#   Makes a key (EC P-256) and a CSR with openssl and has the running cfssl
#   sign it through its API, POST /api/v1/cfssl/sign with profile TYPE, so
#   that cfssl's DB records the certificate.  Prints its serial number as
#   revportal writes it (upper-case hex, no leading zeros).  Writes
#   DIR/issued/NAME.{key,csr,pem}.  TYPE is a profile of signing.json:
#   personal, business, application, eseal, tls, qwac, access (the
#   authentication certificate of a smart card) or qsign (its qualified
#   signing certificate: nonRepudiation only, with the QCStatements).
#   KEY=VALUE build the subject (in the order C, O, organizationIdentifier,
#   serialNumber, CN) and the certificate:
#     cn=       commonName (default NAME)
#     person=   serialNumber, the ETSI person identifier, e.g. PNOSI-1001
#     o=        organizationName
#     orgid=    organizationIdentifier, e.g. VATSI-12345678
#     c=        countryName (default SI)
#     email=    an rfc822Name in subjectAltName
#     dns=      dNSName(s) in subjectAltName, comma separated
#     qc=1      add the QCStatements QcCompliance, QcSSCD, QcType esign
#               (types personal, business, eseal, qwac; always for qsign)
#   cfssl 1.2.0 copies only the subject attributes Go knows by name (C, ST,
#   L, O, OU, CN, serialNumber) and drops organizationIdentifier, and its
#   sign API ignores the "extensions" of a request.  When the certificate
#   cfssl made lacks an attribute of the CSR, or QCStatements are wanted,
#   devca_issue signs the same certificate again with openssl ca and the
#   same CA key (same serial, validity, key and extensions; the CSR's
#   subject; the QCStatements added) and replaces the PEM in cfssl's DB
#   row, which keeps serial and status.  Only the second certificate
#   leaves DIR/issued.
#
# devca_status DIR SERIAL
#   What cfssl's DB says about SERIAL (hex, any case, colons allowed):
#   "good 0 -" or "revoked REASON_CODE REVOKED_AT" (UTC, ISO 8601).  Exit
#   1 and "unknown" when the DB has no such certificate.
#
# devca_ocsp DIR SERIAL
#   An OCSP answer from the CA's truth: `cfssl ocsprefresh` signs a fresh
#   response for every certificate of the DB with the delegated responder,
#   `cfssl ocspdump` exports them, `cfssl ocspserve` serves them on a free
#   127.0.0.1 port, and `openssl ocsp` asks it and verifies the answer
#   against root.pem.  Prints "good" or "revoked REASON" (the RFC 5280 name
#   as openssl prints it, e.g. keyCompromise, certificateHold); "unknown"
#   and exit 1 when the DB does not know the serial; exit 1 with the
#   reason on stderr when no verified answer came.
#
# devca_crl DIR
#   Prints a PEM CRL of the issuing CA listing every row of the DB with
#   status revoked (but reason removeFromCRL): `cfssl gencrl`, which in
#   1.2.0 writes neither reason codes nor the DB's revocation times (each
#   entry is dated now).
#
# devca_list DIR
#   Every certificate of the DB, one a line: serial (hex), status, reason
#   code, revoked_at, subject.
#
# The DB: cfssl 1.2.0 does not create its tables.  devca_init creates the
# two it uses, certificates (serial_number, authority_key_identifier,
# ca_label, status, reason, expiry, revoked_at, pem; primary key serial +
# AKI) and ocsp_responses (serial_number, authority_key_identifier, body,
# expiry), with the columns of cfssl's certdb/sqlite migration of that
# release.  cfssl writes serial_number in decimal, status "good" or
# "revoked", reason the RFC 5280 code, revoked_at in UTC.  It would write
# the AKI as lower-case hex, but this build (Go 1.19) leaves
# authority_key_identifier empty: x509.CreateCertificate no longer fills
# the template's AuthorityKeyId that cfssl reads back.  `POST
# /api/v1/cfssl/revoke` matches serial and AKI exactly, so the relay's
# cfssl driver asks again under the empty identifier (cgi/ca_cfssl.c).
# The DB is left as cfssl makes it, so that the tests meet that.
#
# Needs cfssl, cfssljson, openssl, curl and python3 (the standard library:
# JSON, sqlite3, big serial numbers).

DEVCA_REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
DEVCA_CONF=$DEVCA_REPO/deploy/dev

if ! declare -F stack_free_port >/dev/null; then
	# shellcheck source=deploy/stack.sh
	. "$DEVCA_REPO/deploy/stack.sh"
fi

# The QCStatements extension (1.3.6.1.5.5.7.1.3): QcCompliance, QcSSCD,
# QcType esign (DESIGN.md section 3).
DEVCA_QC_HEX=30293008060604008e4601013008060604008e460104301306060400\
8e4601063009060704008e46010601

_devca_err() { echo "devca: $*" >&2; }

# True if pid is alive and not a zombie.
_devca_alive() {
	local pid=$1 st
	[[ $pid =~ ^[0-9]+$ ]] || return 1
	kill -0 "$pid" 2>/dev/null || return 1
	{ st=$(<"/proc/$pid/stat"); } 2>/dev/null || return 1
	st=${st##*) }
	[[ ${st%% *} != Z ]]
}

# True if pid is alive, not a zombie, and its command line holds needle
# (a process just started may not have exec'd yet: use _devca_alive).
_devca_is() {
	local pid=$1 needle=$2 cmd
	_devca_alive "$pid" || return 1
	{ cmd=$(tr '\0' ' ' <"/proc/$pid/cmdline"); } 2>/dev/null || return 1
	[[ $cmd == *"$needle"* ]]
}

# Stops pid (SIGTERM, then SIGKILL after $3 seconds) if it still is what
# needle says, and reaps it when it is a child of this shell.
_devca_kill() {
	local pid=$1 needle=$2 wait=${3:-5} i
	if _devca_is "$pid" "$needle"; then
		kill -TERM "$pid" 2>/dev/null || true
		for ((i = 0; i < wait * 10; i++)); do
			_devca_is "$pid" "$needle" || break
			sleep 0.1
		done
		if _devca_is "$pid" "$needle"; then
			_devca_err "process $pid did not stop; killing it"
			kill -KILL "$pid" 2>/dev/null || true
		fi
	fi
	wait "$pid" 2>/dev/null || true
}

# Canonical serial (upper-case hex, no colons, spaces or leading zeros)
# of hex text $1; fails on anything else.
devca_serial_hex() {
	local s=${1//[: ]/}
	s=${s^^}
	[[ $s =~ ^[0-9A-F]{1,40}$ ]] || { _devca_err "not a hex serial: $1"; return 1; }
	while [[ ${#s} -gt 1 && $s == 0* ]]; do s=${s#0}; done
	printf '%s\n' "$s"
}

# The same serial in decimal, as cfssl's DB holds it.
devca_serial_dec() {
	local s
	s=$(devca_serial_hex "$1") || return 1
	python3 -c 'import sys; print(int(sys.argv[1], 16))' "$s"
}

# Escapes a value for openssl's -subj: backslash, slash, plus, equals.
_devca_subj_esc() {
	local v=$1
	v=${v//\\/\\\\}
	v=${v//\//\\/}
	v=${v//+/\\+}
	v=${v//=/\\=}
	printf '%s' "$v"
}

# cfssl (or cfssljson) with its log lines going to file $1.
_devca_cfssl() {
	local log=$1
	shift
	"$@" 2>>"$log"
}

devca_init() {
	local dir=${1:?usage: devca_init DIR} log
	mkdir -p "$dir" || return 1
	dir=$(cd "$dir" && pwd) || return 1
	[[ -s $dir/ca.pem && -s $dir/certs.db ]] && return 0
	log=$dir/init.log
	: >"$log"
	(
		set -e
		umask 077
		cd "$dir"
		mkdir -p issued
		_devca_cfssl "$log" cfssl gencert -initca "$DEVCA_CONF/root-csr.json" |
		    _devca_cfssl "$log" cfssljson -bare root
		_devca_cfssl "$log" cfssl genkey "$DEVCA_CONF/ca-csr.json" |
		    _devca_cfssl "$log" cfssljson -bare ca
		_devca_cfssl "$log" cfssl sign -ca root.pem -ca-key root-key.pem \
		    -config "$DEVCA_CONF/root.json" -profile intermediate ca.csr |
		    _devca_cfssl "$log" cfssljson -bare ca
		cat ca.pem root.pem >chain.pem
		printf '{"CN":"revportal dev OCSP responder","key":{"algo":"ecdsa","size":256},"names":[{"C":"SI","O":"revportal development TSP"}]}\n' |
		    _devca_cfssl "$log" cfssl gencert -ca ca.pem -ca-key ca-key.pem \
		    -config "$DEVCA_CONF/signing.json" -profile ocsp - |
		    _devca_cfssl "$log" cfssljson -bare ocsp
		_devca_cfssl "$log" cfssl gencert -initca "$DEVCA_CONF/infra-csr.json" |
		    _devca_cfssl "$log" cfssljson -bare infra
		printf '{"CN":"revportal dev CA server","hosts":["127.0.0.1","::1","localhost"],"key":{"algo":"ecdsa","size":256}}\n' |
		    _devca_cfssl "$log" cfssl gencert -ca infra.pem \
		    -ca-key infra-key.pem -config "$DEVCA_CONF/infra.json" \
		    -profile server - |
		    _devca_cfssl "$log" cfssljson -bare server
		printf '{"CN":"revportal-relay","key":{"algo":"ecdsa","size":256}}\n' |
		    _devca_cfssl "$log" cfssl gencert -ca infra.pem \
		    -ca-key infra-key.pem -config "$DEVCA_CONF/infra.json" \
		    -profile client - |
		    _devca_cfssl "$log" cfssljson -bare relay
		rm -f ./*.csr
		chmod 0644 ./*.pem
		chmod 0600 ./*-key.pem
		for f in root ca ocsp infra server relay; do
			test -s "$f.pem"
			test -s "$f-key.pem"
		done
		openssl verify -CAfile root.pem -untrusted ca.pem ocsp.pem >/dev/null
		openssl verify -CAfile infra.pem server.pem relay.pem >/dev/null
	) || {
		_devca_err "cannot make the CA certificates in $dir:"
		tail -n 20 "$log" >&2
		return 1
	}
	printf '{"driver":"sqlite3","data_source":"%s"}\n' "$dir/certs.db" \
	    >"$dir/db-config.json"
	rm -f "$dir/certs.db"
	python3 - "$dir/certs.db" <<'EOF' || { _devca_err "cannot create $dir/certs.db"; return 1; }
import sqlite3, sys
db = sqlite3.connect(sys.argv[1])
db.executescript("""
CREATE TABLE certificates (
  serial_number            blob NOT NULL,
  authority_key_identifier blob NOT NULL,
  ca_label                 blob,
  status                   blob NOT NULL,
  reason                   int,
  expiry                   timestamp,
  revoked_at               timestamp,
  pem                      blob NOT NULL,
  PRIMARY KEY(serial_number, authority_key_identifier)
);
CREATE TABLE ocsp_responses (
  serial_number            blob NOT NULL,
  authority_key_identifier blob NOT NULL,
  body                     blob NOT NULL,
  expiry                   timestamp,
  PRIMARY KEY(serial_number, authority_key_identifier),
  FOREIGN KEY(serial_number, authority_key_identifier)
    REFERENCES certificates(serial_number, authority_key_identifier)
);
""")
db.commit()
db.close()
EOF
	chmod 0600 "$dir/certs.db"
	rm -f "$log"
}

# Prints the curl options that reach the cfssl of DIR (TLS trust anchor
# and client certificate by its mode), one a line.
_devca_curl_opts() {
	local dir=$1 mode
	mode=$(cat "$dir/mode" 2>/dev/null) || mode=mtls
	printf '%s\n' -sS --noproxy '*' --max-time 20
	case $mode in
	mtls)
		printf '%s\n' --cacert "$dir/infra.pem" --cert "$dir/relay.pem" \
		    --key "$dir/relay-key.pem" ;;
	tls)
		printf '%s\n' --cacert "$dir/infra.pem" ;;
	esac
}

# curl against the cfssl of DIR: devca_curl DIR PATH [CURL ARGS...].
devca_curl() {
	local dir=$1 path=$2 url
	local -a opts=()
	shift 2
	url=$(cat "$dir/url" 2>/dev/null) || { _devca_err "no cfssl started in $dir"; return 1; }
	mapfile -t opts < <(_devca_curl_opts "$dir")
	curl "${opts[@]}" "$@" "$url$path"
}

devca_start() {
	if (($# < 2)); then
		echo "usage: devca_start DIR ADDR:PORT" >&2
		return 2
	fi
	local dir=$1 listen=$2 mode=${DEVCA_TLS:-mtls} addr port pid code
	local timeout=${DEVCA_START_TIMEOUT:-15} deadline scheme=https
	local -a pre=() tls=() opts=()
	dir=$(cd "$dir" 2>/dev/null && pwd) || { _devca_err "no such directory: $1"; return 1; }
	[[ -s $dir/ca.pem ]] || { _devca_err "$dir: run devca_init first"; return 1; }
	addr=${listen%:*}
	port=${listen##*:}
	addr=${addr#[}
	addr=${addr%]}
	case $addr in
	127.* | ::1 | localhost) ;;
	*) _devca_err "$addr is not a loopback address"; return 1 ;;
	esac
	[[ $port =~ ^[0-9]+$ ]] || { _devca_err "bad port in $listen"; return 1; }
	case $mode in
	mtls)
		tls=(-tls-cert "$dir/server.pem" -tls-key "$dir/server-key.pem"
		    -mutual-tls-ca "$dir/infra.pem" -mutual-tls-cn '^revportal-relay$') ;;
	tls)
		tls=(-tls-cert "$dir/server.pem" -tls-key "$dir/server-key.pem") ;;
	http)
		scheme=http ;;
	*)
		_devca_err "DEVCA_TLS must be mtls, tls or http, not $mode"
		return 1 ;;
	esac
	if _devca_is "$(cat "$dir/cfssl.pid" 2>/dev/null)" "$dir/"; then
		_devca_err "a cfssl is already running for $dir (devca_stop it first)"
		return 1
	fi
	if (exec 3<>"/dev/tcp/$addr/$port") 2>/dev/null; then
		_devca_err "something already listens on $listen"
		return 1
	fi
	if [[ $- != *m* ]] && command -v setsid >/dev/null 2>&1; then
		pre=(setsid)
	fi
	[[ -e $dir/cfssl.log ]] && mv -f "$dir/cfssl.log" "$dir/cfssl.log.1"
	"${pre[@]}" cfssl serve -address "$addr" -port "$port" \
	    -ca "$dir/ca.pem" -ca-key "$dir/ca-key.pem" \
	    -config "$DEVCA_CONF/signing.json" \
	    -db-config "$dir/db-config.json" "${tls[@]}" \
	    </dev/null >>"$dir/cfssl.log" 2>&1 &
	pid=$!
	echo "$pid" >"$dir/cfssl.pid"
	echo "$mode" >"$dir/mode"
	[[ $addr == *:* ]] && addr="[$addr]"
	echo "$scheme://$addr:$port" >"$dir/url"

	mapfile -t opts < <(_devca_curl_opts "$dir")
	deadline=$((SECONDS + timeout))
	while :; do
		code=$(curl "${opts[@]}" --max-time 2 -o /dev/null \
		    -w '%{http_code}' -d '{}' \
		    "$scheme://$addr:$port/api/v1/cfssl/info" 2>/dev/null) || true
		if ! _devca_alive "$pid"; then
			_devca_err "cfssl exited during start-up"
			code=none
			break
		fi
		[[ $code == 200 ]] && break
		if ((SECONDS >= deadline)); then
			_devca_err "cfssl is not answering on $listen within ${timeout}s"
			break
		fi
		sleep 0.1
	done
	if [[ $code != 200 ]]; then
		tail -n 20 "$dir/cfssl.log" >&2
		devca_stop "$dir" >/dev/null 2>&1 || true
		return 1
	fi
	DEVCA_DIR=$dir
	DEVCA_URL=$scheme://$addr:$port
	DEVCA_PID=$pid
	DEVCA_CACERT=""
	DEVCA_CLIENT_CERT=""
	DEVCA_CLIENT_KEY=""
	if [[ $mode != http ]]; then
		DEVCA_CACERT=$dir/infra.pem
	fi
	if [[ $mode == mtls ]]; then
		DEVCA_CLIENT_CERT=$dir/relay.pem
		DEVCA_CLIENT_KEY=$dir/relay-key.pem
	fi
	export DEVCA_DIR DEVCA_URL DEVCA_PID DEVCA_CACERT DEVCA_CLIENT_CERT \
	    DEVCA_CLIENT_KEY
	return 0
}

devca_stop() {
	local dir=${1:-${DEVCA_DIR:-}} pid
	if [[ -z $dir || ! -d $dir ]]; then
		_devca_err "devca_stop: no such directory: $dir"
		return 1
	fi
	dir=$(cd "$dir" && pwd)
	pid=$(cat "$dir/cfssl.pid" 2>/dev/null) || pid=""
	if [[ -n $pid ]]; then
		_devca_kill "$pid" "$dir/" 5
	fi
	rm -f "$dir/cfssl.pid"
	return 0
}

# Sorted subject attributes of a certificate ($1 x509) or CSR ($1 req) in
# file $2, one a line: what "the same subject" means to devca_issue.
_devca_subject_set() {
	openssl "$1" -in "$2" -noout -subject -nameopt sep_multiline,sname,utf8,esc_2253 |
	    sed -n '2,$s/^ *//p' | LC_ALL=C sort
}

# Signs the certificate cfssl made ($2) again with the issuing CA of DIR
# ($1): same serial, validity, public key and extensions, subject $3 (in
# openssl's -subj form, the CSR's), key $4; with the QCStatements when $6
# is 1.  Writes $5.  See devca_issue.
_devca_amend() {
	local dir=$1 cert=$2 subj=$3 key=$4 out=$5 qc=$6 tmp serial nb na qcext
	tmp=$(mktemp -d "$dir/amend.XXXXXX") || return 1
	serial=$(openssl x509 -in "$cert" -noout -serial) || return 1
	serial=${serial#serial=}
	nb=$(openssl x509 -in "$cert" -noout -startdate -dateopt iso_8601) &&
	na=$(openssl x509 -in "$cert" -noout -enddate -dateopt iso_8601) || return 1
	nb=${nb#notBefore=}
	na=${na#notAfter=}
	nb=${nb//[-: ]/}
	na=${na//[-: ]/}
	if ((${#serial} % 2)); then serial=0$serial; fi
	printf '%s\n' "$serial" >"$tmp/serial"
	: >"$tmp/index.txt"
	cat >"$tmp/ca.cnf" <<EOF
[ca]
default_ca = amend
[amend]
database = $tmp/index.txt
new_certs_dir = $tmp
serial = $tmp/serial
default_md = sha256
policy = any
copy_extensions = copyall
unique_subject = no
[any]
commonName = optional
EOF
	if ((qc)); then
		qcext=$(sed 's/../&:/g; s/:$//' <<<"$DEVCA_QC_HEX")
		printf '[qc]\n1.3.6.1.5.5.7.1.3 = DER:%s\n' "$qcext" >>"$tmp/ca.cnf"
		sed -i 's/^\[amend\]$/[amend]\nx509_extensions = qc/' "$tmp/ca.cnf"
	fi
	if ! openssl x509 -in "$cert" -x509toreq -signkey "$key" \
	    -copy_extensions copyall -out "$tmp/ext.csr" 2>"$tmp/log" ||
	    ! openssl ca -batch -config "$tmp/ca.cnf" -cert "$dir/ca.pem" \
	    -keyfile "$dir/ca-key.pem" -in "$tmp/ext.csr" -subj "$subj" \
	    -utf8 -preserveDN -startdate "${nb}" \
	    -enddate "${na}" -notext -out "$out" >>"$tmp/log" 2>&1; then
		cat "$tmp/log" >&2
		rm -rf "$tmp"
		return 1
	fi
	rm -rf "$tmp"
}

devca_issue() {
	if (($# < 3)); then
		echo "usage: devca_issue DIR TYPE NAME [cn=..] [person=..] [o=..] [orgid=..] [c=..] [email=..] [dns=..] [qc=1]" >&2
		return 2
	fi
	local dir=$1 type=$2 name=$3 kv k v subj="" san="" req resp dec
	local cn=$3 person="" o="" orgid="" c=SI email="" dns="" qc=0 h
	local issued want got serial
	local -a hosts=()
	shift 3
	dir=$(cd "$dir" 2>/dev/null && pwd) || { _devca_err "no such directory"; return 1; }
	case $type in
	personal | business | application | eseal | tls | qwac | access) ;;
	qsign) qc=1 ;;
	*) _devca_err "unknown type $type"; return 2 ;;
	esac
	[[ $name =~ ^[A-Za-z0-9._-]{1,64}$ ]] || { _devca_err "bad name $name"; return 2; }
	for kv in "$@"; do
		k=${kv%%=*}
		v=${kv#*=}
		[[ $kv == *=* ]] || { _devca_err "not KEY=VALUE: $kv"; return 2; }
		case $k in
		cn) cn=$v ;;
		person) person=$v ;;
		o) o=$v ;;
		orgid) orgid=$v ;;
		c) c=$v ;;
		email) email=$v ;;
		dns) dns=$v ;;
		qc) [[ $v == 1 ]] && qc=1 ;;
		*) _devca_err "unknown key $k"; return 2 ;;
		esac
	done
	if ((qc)); then
		case $type in
		personal | business | eseal | qwac | qsign) ;;
		*) _devca_err "profile $type takes no QCStatements"; return 2 ;;
		esac
	fi
	[[ -n $c ]] && subj+="/C=$(_devca_subj_esc "$c")"
	[[ -n $o ]] && subj+="/O=$(_devca_subj_esc "$o")"
	[[ -n $orgid ]] && subj+="/organizationIdentifier=$(_devca_subj_esc "$orgid")"
	[[ -n $person ]] && subj+="/serialNumber=$(_devca_subj_esc "$person")"
	subj+="/CN=$(_devca_subj_esc "$cn")"
	[[ -n $email ]] && san="email:$email"
	if [[ -n $dns ]]; then
		IFS=, read -r -a hosts <<<"$dns"
		for h in "${hosts[@]}"; do
			san+=${san:+,}DNS:$h
		done
	fi
	issued=$dir/issued
	mkdir -p "$issued"
	(
		umask 077
		openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 \
		    -nodes -keyout "$issued/$name.key" -out "$issued/$name.csr" \
		    -utf8 -subj "$subj" ${san:+-addext "subjectAltName=$san"} \
		    2>"$issued/$name.log"
	) || { cat "$issued/$name.log" >&2; return 1; }
	req=$(python3 - "$issued/$name.csr" "$type" "$qc" "$DEVCA_QC_HEX" <<'EOF'
import json, sys
r = {"certificate_request": open(sys.argv[1]).read(), "profile": sys.argv[2]}
if sys.argv[3] == "1":
    r["extensions"] = [{"id": "1.3.6.1.5.5.7.1.3", "critical": False,
                        "value": sys.argv[4]}]
print(json.dumps(r))
EOF
	) || return 1
	resp=$(devca_curl "$dir" /api/v1/cfssl/sign -H 'Content-Type: application/json' \
	    --data-binary "$req") || { _devca_err "cfssl does not answer"; return 1; }
	printf '%s' "$resp" >"$issued/$name.resp"
	python3 - "$issued/$name.resp" "$issued/$name.cfssl.pem" <<'EOF' || return 1
import json, sys
try:
    r = json.load(open(sys.argv[1]))
except ValueError:
    sys.exit("devca: cfssl's answer is not JSON")
if not r.get("success"):
    sys.exit("devca: cfssl refused to sign: %s" % json.dumps(r.get("errors")))
open(sys.argv[2], "w").write(r["result"]["certificate"])
EOF
	want=$(_devca_subject_set req "$issued/$name.csr") &&
	got=$(_devca_subject_set x509 "$issued/$name.cfssl.pem") || return 1
	if [[ $want != "$got" ]] || ((qc)); then
		_devca_amend "$dir" "$issued/$name.cfssl.pem" "$subj" \
		    "$issued/$name.key" "$issued/$name.pem" "$qc" || return 1
		dec=$(devca_serial_dec "$(openssl x509 -in "$issued/$name.pem" -noout -serial | cut -d= -f2)") || return 1
		python3 - "$dir/certs.db" "$dec" "$issued/$name.pem" <<'EOF' || return 1
import sqlite3, sys
db = sqlite3.connect(sys.argv[1], timeout=10)
pem = open(sys.argv[3]).read()
n = db.execute("UPDATE certificates SET pem = ? WHERE serial_number = ?",
               (pem, sys.argv[2])).rowcount
db.commit()
if n != 1:
    sys.exit("devca: cfssl's DB has %d rows for serial %s" % (n, sys.argv[2]))
EOF
		rm -f "$issued/$name.cfssl.pem"
	else
		mv -f "$issued/$name.cfssl.pem" "$issued/$name.pem"
	fi
	rm -f "$issued/$name.log" "$issued/$name.resp"
	openssl verify -CAfile "$dir/root.pem" -untrusted "$dir/ca.pem" \
	    "$issued/$name.pem" >/dev/null || { _devca_err "$name.pem does not verify"; return 1; }
	serial=$(openssl x509 -in "$issued/$name.pem" -noout -serial) || return 1
	devca_serial_hex "${serial#serial=}"
}

devca_status() {
	local dir=${1:?usage: devca_status DIR SERIAL} dec
	dec=$(devca_serial_dec "${2:?usage: devca_status DIR SERIAL}") || return 2
	python3 - "$dir/certs.db" "$dec" <<'EOF'
import sqlite3, sys
db = sqlite3.connect("file:%s?mode=ro" % sys.argv[1], uri=True, timeout=10)
rows = db.execute("SELECT status, reason, revoked_at FROM certificates "
                  "WHERE serial_number = ?", (sys.argv[2],)).fetchall()
if not rows:
    print("unknown")
    sys.exit(1)
st, reason, at = rows[0]
if isinstance(st, bytes):
    st = st.decode()
if st == "revoked":
    at = str(at)[:19].replace(" ", "T") + "Z"
    print("revoked %d %s" % (int(reason or 0), at))
else:
    print("%s 0 -" % st)
EOF
}

devca_list() {
	local dir=${1:?usage: devca_list DIR}
	python3 - "$dir/certs.db" <<'EOF'
import sqlite3, subprocess, sys
db = sqlite3.connect("file:%s?mode=ro" % sys.argv[1], uri=True, timeout=10)
for sn, st, reason, at, pem in db.execute(
        "SELECT serial_number, status, reason, revoked_at, pem "
        "FROM certificates ORDER BY rowid"):
    if isinstance(pem, bytes):
        pem = pem.decode()
    if isinstance(st, bytes):
        st = st.decode()
    subj = subprocess.run(["openssl", "x509", "-noout", "-subject",
                           "-nameopt", "RFC2253,utf8"], input=pem,
                          capture_output=True, text=True).stdout.strip()
    at = "-" if st != "revoked" else str(at)[:19].replace(" ", "T") + "Z"
    print("%X\t%s\t%d\t%s\t%s" % (int(sn), st, int(reason or 0), at,
                                  subj.replace("subject=", "", 1)))
EOF
}

devca_crl() {
	local dir=${1:?usage: devca_crl DIR} b64
	b64=$(python3 - "$dir/certs.db" <<'EOF' |
import sqlite3, sys
db = sqlite3.connect("file:%s?mode=ro" % sys.argv[1], uri=True, timeout=10)
for (sn,) in db.execute("SELECT serial_number FROM certificates "
                        "WHERE status = 'revoked' AND reason != 8"):
    print(sn.decode() if isinstance(sn, bytes) else sn)
EOF
	    cfssl gencrl - "$dir/ca.pem" "$dir/ca-key.pem" 2>"$dir/gencrl.log") || {
		_devca_err "cfssl gencrl failed:"
		cat "$dir/gencrl.log" >&2
		return 1
	}
	rm -f "$dir/gencrl.log"
	printf '%s\n' "$b64" | base64 -d | openssl crl -inform DER -outform PEM
}

devca_ocsp() {
	local dir=${1:?usage: devca_ocsp DIR SERIAL} hex port pid out tmp rc=0
	local i st reason line
	hex=$(devca_serial_hex "${2:?usage: devca_ocsp DIR SERIAL}") || return 2
	dir=$(cd "$dir" && pwd) || return 1
	tmp=$(mktemp -d "$dir/ocsp.XXXXXX") || return 1
	if ! cfssl ocsprefresh -db-config "$dir/db-config.json" -ca "$dir/ca.pem" \
	    -responder "$dir/ocsp.pem" -responder-key "$dir/ocsp-key.pem" \
	    -interval 1h >"$tmp/log" 2>&1 ||
	    ! cfssl ocspdump -db-config "$dir/db-config.json" \
	    >"$tmp/responses" 2>>"$tmp/log"; then
		_devca_err "cfssl could not make the OCSP responses:"
		cat "$tmp/log" >&2
		rm -rf "$tmp"
		return 1
	fi
	port=$(stack_free_port) || { rm -rf "$tmp"; return 1; }
	cfssl ocspserve -address 127.0.0.1 -port "$port" \
	    -responses "$tmp/responses" </dev/null >>"$tmp/log" 2>&1 &
	pid=$!
	for ((i = 0; i < 200; i++)); do
		(exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break
		_devca_alive "$pid" || break
		sleep 0.05
	done
	out=$(openssl ocsp -issuer "$dir/ca.pem" -serial "0x$hex" \
	    -url "http://127.0.0.1:$port/" -CAfile "$dir/root.pem" \
	    -no_nonce 2>"$tmp/err") || rc=1
	_devca_kill "$pid" ocspserve 2
	if [[ $out == *"Responder Error: unauthorized"* ]]; then
		# cfssl ocspserve's answer for a serial it has no response for.
		rm -rf "$tmp"
		echo unknown
		return 1
	fi
	if ((rc)) || ! grep -q '^Response verify OK' "$tmp/err"; then
		_devca_err "no verified OCSP answer for $hex:"
		cat "$tmp/err" "$tmp/log" >&2
		rm -rf "$tmp"
		return 1
	fi
	rm -rf "$tmp"
	st="" reason=""
	while IFS= read -r line; do
		case $line in
		"0x$hex: "*) st=${line#*: } ;;
		*Reason:*) reason=${line#*Reason: } ;;
		esac
	done <<<"$out"
	case $st in
	good) echo good ;;
	revoked) echo "revoked ${reason:-unspecified}" ;;
	*) echo unknown; return 1 ;;
	esac
}
