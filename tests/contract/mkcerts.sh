#!/bin/sh
# mkcerts.sh DIR: throwaway keys and certificates for the tests that talk
# TLS to a local stand-in server (tests/unit/test_hc.c,
# test_ca_ejbca_contract.c, test_ca_cfssl.c).  Writes into DIR, which must
# exist:
#   ca.pem ca.key          a test CA (its key also signs for cfssl)
#   server.pem server.key  a server certificate from ca for 127.0.0.1,
#                          ::1 and localhost
#   client.pem client.key  a client certificate from ca (mutual TLS)
#   other-ca.pem           another CA, which signed nothing here
# All keys are P-256 and valid for two days.  Exits non-zero on any failure.
set -eu

dir=$1
cd "$dir"

ec="-newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes"

# shellcheck disable=SC2086
openssl req -x509 $ec -keyout ca.key -out ca.pem -days 2 \
	-subj "/CN=revportal test CA" \
	-addext "basicConstraints=critical,CA:TRUE" \
	-addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null

# shellcheck disable=SC2086
openssl req -x509 $ec -keyout other-ca.key -out other-ca.pem -days 2 \
	-subj "/CN=revportal other test CA" \
	-addext "basicConstraints=critical,CA:TRUE" \
	-addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null

# issue NAME SUBJECT EXTENSIONS: NAME.key and NAME.pem signed by ca.
issue() {
	# shellcheck disable=SC2086
	openssl req -new $ec -keyout "$1.key" -out "$1.csr" -subj "$2" \
		2>/dev/null
	printf '%s\n' "$3" >"$1.ext"
	openssl x509 -req -in "$1.csr" -CA ca.pem -CAkey ca.key \
		-CAcreateserial -days 2 -extfile "$1.ext" -out "$1.pem" \
		2>/dev/null
	rm -f "$1.csr" "$1.ext"
}

issue server "/CN=localhost" "basicConstraints=CA:FALSE
keyUsage=critical,digitalSignature
extendedKeyUsage=serverAuth
subjectAltName=IP:127.0.0.1,IP:::1,DNS:localhost"

issue client "/CN=revportal relay" "basicConstraints=CA:FALSE
keyUsage=critical,digitalSignature
extendedKeyUsage=clientAuth"

chmod 600 ./*.key
