#!/usr/bin/env bash
# revportal: the development stack, what `make run` runs after building.
#
#   sh deploy/dev-run.sh        (from the repository root; bash is used)
#
# Runs build/rel/revportal behind nginx on https://127.0.0.1:8443/, the
# development CA (cfssl, deploy/dev/ca.sh) on https://127.0.0.1:8889/ with
# mutual TLS, and build/rel/revportal-relay between the two when it is
# built.  State lives in var/dev/ (TLS certificate, database, secret) and
# var/dev/ca/ (the CA's keys and certificate database) and survives between
# runs.  On the first run cfssl issues sample certificates of every type,
# among them a smart card holding two, and revportal-admin imports them
# with sample passphrases; every run prints them next to the URL.
#
# Signed requests (issue 6): the qualified test PKI of the tests
# (tests/integration/qpki.sh: signers' certificates and keys, OCSP
# responders and a CRL server on loopback, a SoftHSM2 token holding
# carol's key) is made once in var/dev/qpki/ (again when its ports, which
# its certificates name, are taken), started with the rest, and its
# anchors/ is revportal's [signature] anchors_dir.  The samples belong to
# its holders' persons: alice (personal), bob (business, application) of
# Acme d.o.o. VATSI-11111111, whose legal representative rep is
# registered, carol (the smart card); every run prints how to sign.
# Without the PKI (a tool missing) the portal runs without signed
# requests.
#
# Shows the app's and the relay's logs, and stops everything on Ctrl-C or
# SIGTERM.
#
# Environment: RP_DEV_LISTEN (127.0.0.1:8443), RP_DEV_WORKERS (4),
# RP_DEV_BINARY (build/rel/revportal), RP_DEV_ADMIN
# (build/rel/revportal-admin), RP_DEV_RELAY (build/rel/revportal-relay),
# RP_DEV_CA_LISTEN (127.0.0.1:8889), RP_DEV_DIR (var/dev).

# Started by sh: switch to bash (the lines above and this one are POSIX).
if [ -z "${BASH_VERSION:-}" ]; then exec bash "$0" "$@"; fi
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
# shellcheck source=deploy/stack.sh
. deploy/stack.sh
# shellcheck source=deploy/dev/ca.sh
. deploy/dev/ca.sh
# shellcheck source=tests/integration/qpki.sh
. tests/integration/qpki.sh

dir=${RP_DEV_DIR:-$REPO/var/dev}
mkdir -p "$dir"
dir=$(cd "$dir" && pwd)
ca=$dir/ca
qpki=$dir/qpki
listen=${RP_DEV_LISTEN:-127.0.0.1:8443}
ca_listen=${RP_DEV_CA_LISTEN:-127.0.0.1:8889}
workers=${RP_DEV_WORKERS:-4}
binary=${RP_DEV_BINARY:-build/rel/revportal}
admin=${RP_DEV_ADMIN:-build/rel/revportal-admin}
relay=${RP_DEV_RELAY:-build/rel/revportal-relay}
samples=$ca/samples.txt
tail_pid=""
relay_pid=""
qpki_on=0
stopping=0

# True if pid is alive and runs the relay (guards a reused pid).
relay_is() {
	local cmd
	[[ $1 =~ ^[0-9]+$ ]] && kill -0 "$1" 2>/dev/null || return 1
	{ cmd=$(tr '\0' ' ' <"/proc/$1/cmdline"); } 2>/dev/null || return 1
	[[ $cmd == *revportal-relay* ]]
}

# Stops the relay of pid file var/dev/relay.pid: SIGTERM, 15 s, SIGKILL.
relay_stop() {
	local pid i
	pid=$(cat "$dir/relay.pid" 2>/dev/null) || pid=""
	if [[ -n $pid ]] && relay_is "$pid"; then
		kill -TERM "$pid" 2>/dev/null || true
		for ((i = 0; i < 150; i++)); do
			relay_is "$pid" || break
			sleep 0.1
		done
		if relay_is "$pid"; then
			echo "dev-run: the relay did not stop; killing it" >&2
			kill -KILL "$pid" 2>/dev/null || true
		fi
		wait "$pid" 2>/dev/null || true
	fi
	rm -f "$dir/relay.pid"
}

# Leftovers of a previous run that was not stopped cleanly (the terminal
# closed, kill -9): stop what the pid files name, drop the stale socket.
if [[ -e $dir/app.pid || -e $dir/nginx.pid || -e $dir/relay.pid ||
    -e $ca/cfssl.pid ]] || compgen -G "$qpki/run/*.pid" >/dev/null; then
	echo "dev-run: stopping the leftovers of a previous run" >&2
	relay_stop
	stack_stop "$dir" >/dev/null 2>&1 || true
	qpki_stop "$qpki" >/dev/null 2>&1 || true
	devca_stop "$ca" >/dev/null 2>&1 || true
fi
rm -f "$dir/fcgi.sock"

for l in "$listen" "$ca_listen"; do
	if (exec 3<>"/dev/tcp/${l%:*}/${l##*:}") 2>/dev/null; then
		echo "dev-run: something else already listens on $l" >&2
		echo "dev-run: stop it, or choose another address: RP_DEV_LISTEN=127.0.0.1:8444 RP_DEV_CA_LISTEN=127.0.0.1:8890 make run" >&2
		exit 1
	fi
done

cleanup() {
	local rc=0
	((stopping)) && return 0
	stopping=1
	trap "" INT TERM
	if [[ -n $tail_pid ]]; then
		kill "$tail_pid" 2>/dev/null || true
		wait "$tail_pid" 2>/dev/null || true
	fi
	echo "dev-run: stopping the relay, revportal, nginx, the OCSP responders and the CA" >&2
	relay_stop
	stack_stop "$dir" || rc=$?
	((qpki_on)) && { qpki_stop "$qpki" || true; }
	devca_stop "$ca" || true
	if ((rc == 0)); then
		echo "dev-run: stopped" >&2
	else
		echo "dev-run: revportal did not shut down cleanly (see $dir/revportal.log)" >&2
	fi
	return "$rc"
}
trap 'cleanup; exit 130' INT
trap 'cleanup; exit 143' TERM
trap 'cleanup' EXIT

# The CA first: the relay's settings name its files.
if ! devca_init "$ca" || ! devca_start "$ca" "$ca_listen"; then
	echo "dev-run: the development CA did not start (see $ca/cfssl.log)" >&2
	exit 1
fi

# qpki_up: makes the qualified test PKI in $qpki unless it is there (a
# half-made or expired one is made again; a kept one gets a new CRL) and
# starts its servers.  The ports are
# written into its certificates, so when qpki_start fails (a port taken
# since) the PKI is made once more with free ones.  Sets qpki_on once the
# servers run (the trap then stops them).  Returns non-zero on failure.
qpki_up() {
	local try
	for try in 1 2; do
		# A PKI whose holders expired is made again; a kept one gets
		# a fresh CRL (it is made for 7 days).
		if [[ -e $qpki/done ]] &&
		    ! openssl x509 -checkend 86400 -noout -in "$qpki/alice.pem" >/dev/null 2>&1; then
			rm -f "$qpki/done"
		elif [[ -e $qpki/done ]] && ! _qpki_crl "$qpki"; then
			rm -f "$qpki/done"
		fi
		if [[ ! -e $qpki/done ]]; then
			rm -rf "$qpki"
			echo "dev-run: making the qualified test PKI in $qpki" >&2
			qpki_init "$qpki" || return 1
		fi
		qpki_on=1
		qpki_start "$qpki" && return 0
		qpki_on=0
		((try == 1)) || return 1
		echo "dev-run: making the qualified test PKI again, with free ports" >&2
		rm -rf "$qpki"
	done
}

sig_ini=""
# shellcheck disable=SC1091  # written by qpki_init
if qpki_up && . "$qpki/env"; then
	sig_ini=$(printf '%s\n' '[signature]' "anchors_dir = $qpki/anchors")
else
	echo "dev-run: the qualified test PKI did not start (see $qpki/qpki.log): signed requests are off" >&2
	if ((qpki_on)); then
		qpki_stop "$qpki" || true
		qpki_on=0
	fi
fi

relay_ini=$(printf '%s\n' '[relay]' \
    'backend = cfssl' \
    "url = $DEVCA_URL" \
    "ca_file = $DEVCA_CACERT" \
    "cert_file = $DEVCA_CLIENT_CERT" \
    "key_file = $DEVCA_CLIENT_KEY" \
    "metrics_file = $dir/relay.prom" \
    "socket = $dir/relay.sock")
if ! stack_start "$dir" "$binary" "$listen" "$workers" \
    "$relay_ini${sig_ini:+$'\n\n'$sig_ini}"; then
	echo "dev-run: the stack did not start" >&2
	exit 1
fi

# The sample certificates: issued once through cfssl (the list is
# sample_list: type, file name, passphrase, token, subject; what was
# issued is $samples: type, file name, passphrase, token, serial), imported
# into revportal whenever its database does not know them (a new
# database).  Their persons and organisation are those of the qualified
# test PKI's holders (tests/integration/qpki.sh), so that its signers may
# act on them: alice, bob and his company Acme d.o.o., carol.  When this
# list changes (its SHA-256 in $samples_sum), the samples are issued
# anew; the earlier ones stay registered, so a changed card needs a new
# token label (CARD-DEV-0001 was an earlier list's).
sample_list() {
	cat <<'EOF'
personal|personal|alice-novak-passphrase||cn=Alice Novak|person=PNOSI-1000000000001|email=alice@example.test
business|business|bob-kranjc-passphrase||cn=Bob Kranjc|person=PNOSI-1000000000002|o=Acme d.o.o.|orgid=VATSI-11111111|email=bob.kranjc@acme.test
application|application|billing-app-passphrase||cn=billing.acme.test|person=PNOSI-1000000000002|o=Acme d.o.o.|orgid=VATSI-11111111
eseal|eseal|acme-seal-passphrase||cn=Acme d.o.o. e-seal|o=Acme d.o.o.|orgid=VATSI-11111111
tls|tls|www-acme-passphrase||cn=www.acme.test|o=Acme d.o.o.|orgid=VATSI-11111111|dns=www.acme.test,acme.test
qwac|qwac|shop-acme-passphrase||cn=shop.acme.test|o=Acme d.o.o.|orgid=VATSI-11111111|dns=shop.acme.test
access|card-access|carol-card-passphrase|CARD-DEV-0002|cn=Carol Horvat|person=PNOSI-1000000000019|email=carol@example.test
qsign|card-sign|carol-card-passphrase|CARD-DEV-0002|cn=Carol Horvat|person=PNOSI-1000000000019
EOF
}
samples_sum=$ca/samples.sum

# The legal representative of the samples' organisation: qpki's holder
# rep, registered with revportal-admin add-rep (org, org name, person,
# name, e-mail).
rep_org=VATSI-11111111
rep_org_name="Acme d.o.o."
rep_person=PNOSI-1000000000003
rep_name="Rebeka Zupan"
rep_email=rebeka.zupan@acme.test

# sample_import TYPE NAME PASSPHRASE TOKEN: registers ca/issued/NAME.pem.
# The second certificate of a token takes the token's passphrase already.
sample_import() {
	local type=$1 name=$2 pass=$3 token=$4 itype=$1 pf
	case $type in access | qsign) itype=personal ;; esac
	pf=$(mktemp "$dir/pass.XXXXXX")
	printf '%s\n' "$pass" >"$pf"
	local -a opt=(--passphrase-file "$pf")
	if [[ -n $token ]]; then
		opt=(--token "$token" --qscd)
		if [[ $type == access ]]; then
			opt+=(--passphrase-file "$pf")
		fi
	fi
	"$admin" -c "$dir/revportal.ini" import-cert "$ca/issued/$name.pem" \
	    --type "$itype" "${opt[@]}" >/dev/null
	local rc=$?
	rm -f "$pf"
	return "$rc"
}

# Prints the canonical serial of the certificate file $1.
pem_serial() {
	local s
	s=$(openssl x509 -in "$1" -noout -serial) && devca_serial_hex "${s#serial=}"
}

samples_ok=1
list_sum=$(sample_list | sha256sum) && list_sum=${list_sum%% *}
if [[ -s $samples && $(cat "$samples_sum" 2>/dev/null) != "$list_sum" ]]; then
	echo "dev-run: the sample list has changed; issuing new samples (the earlier ones stay registered)" >&2
	mv -f "$samples" "$samples.old"
fi
if [[ ! -s $samples ]]; then
	echo "dev-run: issuing the sample certificates through cfssl" >&2
	: >"$samples.new"
	while IFS='|' read -r type name pass token rest; do
		IFS='|' read -r -a kv <<<"$rest"
		if ! serial=$(devca_issue "$ca" "$type" "$name" "${kv[@]}"); then
			samples_ok=0
			break
		fi
		printf '%s|%s|%s|%s|%s\n' "$type" "$name" "$pass" "$token" \
		    "$serial" >>"$samples.new"
	done < <(sample_list)
	if ((samples_ok)); then
		mv -f "$samples.new" "$samples"
		printf '%s\n' "$list_sum" >"$samples_sum"
	fi
fi
if ((samples_ok)); then
	while IFS='|' read -r type name pass token serial; do
		known=$(sqlite3 -batch -cmd '.timeout 5000' "$dir/revportal.db" \
		    "SELECT count(*) FROM certificates WHERE serial = '$serial'" \
		    2>/dev/null) || known=0
		[[ $known == 0 ]] || continue
		sample_import "$type" "$name" "$pass" "$token" || samples_ok=0
	done <"$samples"
fi
((samples_ok)) || echo "dev-run: the sample certificates are incomplete (see above)" >&2

# The legal representative, unless the database has one in force already
# (add-rep refuses an overlapping period).
reps=$(sqlite3 -batch -cmd '.timeout 5000' "$dir/revportal.db" \
    "SELECT count(*) FROM legal_reps r
     JOIN organisations o ON o.id = r.organisation_id
     JOIN persons p ON p.id = r.person_id
     WHERE o.org_id = '$rep_org' AND p.person_id = '$rep_person'
     AND (r.valid_to IS NULL OR r.valid_to > strftime('%s', 'now') * 1000)" \
    2>/dev/null) || reps=0
if [[ $reps == 0 ]] && ! "$admin" -c "$dir/revportal.ini" add-rep \
    --org "$rep_org" --org-name "$rep_org_name" --person "$rep_person" \
    --name "$rep_name" --email "$rep_email" >/dev/null; then
	echo "dev-run: could not register $rep_name as legal representative of $rep_org_name" >&2
fi

# The relay, when it is built.
if [[ -x $relay ]]; then
	[[ -e $dir/relay.log ]] && mv -f "$dir/relay.log" "$dir/relay.log.1"
	: >"$dir/relay.log"
	pre=()
	[[ $- != *m* ]] && command -v setsid >/dev/null 2>&1 && pre=(setsid)
	"${pre[@]}" "$relay" -c "$dir/revportal.ini" </dev/null \
	    >>"$dir/relay.log" 2>&1 &
	relay_pid=$!
	echo "$relay_pid" >"$dir/relay.pid"
	sleep 0.3
	if ! relay_is "$relay_pid"; then
		echo "dev-run: the relay exited at start:" >&2
		tail -n 5 "$dir/relay.log" >&2
		relay_pid=""
	fi
fi

echo "revportal is running at $STACK_URL/ (Ctrl-C stops it)"
echo "  certificate: $dir/tls.crt (self-signed; curl --cacert it, or accept it in the browser)"
echo "  logs:        $dir/revportal.log, $dir/nginx-error.log, $dir/access.log"
echo "  registry:    $admin -c $dir/revportal.ini --help"
echo "  dev CA:      cfssl at $DEVCA_URL (mutual TLS), state in $ca, log $ca/cfssl.log"
truth=deploy/dev/ca-truth
[[ $ca == "$REPO/var/dev/ca" ]] || truth+=" -d $ca"
echo "  CA's truth:  $truth list | status SERIAL | ocsp SERIAL | crl"
if [[ -n $relay_pid ]]; then
	echo "  relay:       running (log $dir/relay.log)"
else
	echo "  relay:       not running ($relay is not built): requests stay queued"
fi
if [[ -s $samples ]]; then
	echo "  sample certificates (serial, type, revocation passphrase):"
	while IFS='|' read -r type name pass token serial; do
		case $type in
		access) label="card $token, authentication" ;;
		qsign) label="card $token, qualified signing" ;;
		*) label=$type ;;
		esac
		printf '    %-40s  %-38s  "%s"\n' "$serial" "$label" "$pass"
	done <"$samples"
	echo "  the card $(grep -m 1 -o 'CARD-[A-Z0-9-]*' "$samples"): suspend both at once with its token label and passphrase"
fi
if [[ -n $sig_ini ]]; then
	card=$(grep -m 1 -o 'CARD-[A-Z0-9-]*' "$samples" 2>/dev/null) || card="the card"
	echo "  signed requests: $STACK_URL/revoke (also /reactivate, /recover, /approvals/);"
	echo "    qualified test PKI in $qpki (OCSP on 127.0.0.1:$QPKI_OCSP_PORT, trusted: $qpki/anchors)"
	echo "    alice  Alice Novak   PNOSI-1000000000001  the personal sample"
	echo "    bob    Bob Kranjc    PNOSI-1000000000002  business and application (their subject person)"
	echo "    rep    Rebeka Zupan  $rep_person  legal representative of $rep_org_name ($rep_org): any of"
	echo "                                              its samples; the second signer when bob reactivates the"
	echo "                                              business one (cfssl cannot lift a hold: that request fails)"
	echo "    carol  Carol Horvat  PNOSI-1000000000019  $card (her own key is in a SoftHSM2 token)"
	echo "  sign the downloaded revportal-request.txt as alice (or bob, rep: their .pem/.key), upload request.p7s:"
	echo "    openssl cms -sign -binary -md sha256 -nodetach -outform DER -signer $qpki/alice.pem -inkey $qpki/alice.key -certfile $qpki/ca.pem -in revportal-request.txt -out request.p7s"
	echo "  as carol, through PKCS#11:"
	echo "    SOFTHSM2_CONF=$SOFTHSM2_CONF PKCS11_MODULE_PATH=$PKCS11_MODULE_PATH openssl cms -sign -binary -md sha256 -nodetach -outform DER -engine pkcs11 -keyform engine -inkey '$QPKI_PKCS11_URI' -signer $qpki/carol.pem -certfile $qpki/ca.pem -in revportal-request.txt -out request.p7s"
fi

logs=("$dir/revportal.log")
[[ -n $relay_pid ]] && logs+=("$dir/relay.log")
tail -n +1 -F --pid=$$ "${logs[@]}" 2>/dev/null &
tail_pid=$!

# Returns when the app exits by itself (or a trap runs on Ctrl-C).
status=0
wait "$STACK_APP_PID" || status=$?
if ((!stopping)); then
	echo "dev-run: revportal exited with status $status" >&2
	cleanup || true
	exit 1
fi
