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
# with sample passphrases; every run prints them next to the URL.  Shows
# the app's and the relay's logs, and stops everything on Ctrl-C or
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

dir=${RP_DEV_DIR:-$REPO/var/dev}
mkdir -p "$dir"
dir=$(cd "$dir" && pwd)
ca=$dir/ca
listen=${RP_DEV_LISTEN:-127.0.0.1:8443}
ca_listen=${RP_DEV_CA_LISTEN:-127.0.0.1:8889}
workers=${RP_DEV_WORKERS:-4}
binary=${RP_DEV_BINARY:-build/rel/revportal}
admin=${RP_DEV_ADMIN:-build/rel/revportal-admin}
relay=${RP_DEV_RELAY:-build/rel/revportal-relay}
samples=$ca/samples.txt
tail_pid=""
relay_pid=""
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
    -e $ca/cfssl.pid ]]; then
	echo "dev-run: stopping the leftovers of a previous run" >&2
	relay_stop
	stack_stop "$dir" >/dev/null 2>&1 || true
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
	echo "dev-run: stopping the relay, revportal, nginx and the CA" >&2
	relay_stop
	stack_stop "$dir" || rc=$?
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

relay_ini=$(printf '%s\n' '[relay]' \
    'backend = cfssl' \
    "url = $DEVCA_URL" \
    "ca_file = $DEVCA_CACERT" \
    "cert_file = $DEVCA_CLIENT_CERT" \
    "key_file = $DEVCA_CLIENT_KEY" \
    "metrics_file = $dir/relay.prom" \
    "socket = $dir/relay.sock")
if ! stack_start "$dir" "$binary" "$listen" "$workers" "$relay_ini"; then
	echo "dev-run: the stack did not start" >&2
	exit 1
fi

# The sample certificates: issued once through cfssl (the list is
# $samples: type, file name, passphrase, token, subject), imported into
# revportal whenever its database does not know them (a new database).
sample_list() {
	cat <<'EOF'
personal|personal|ana-novak-passphrase||cn=Ana Novak|person=PNOSI-1001|email=ana.novak@example.si
business|business|bojan-kranjc-passphrase||cn=Bojan Kranjc|person=PNOSI-1002|o=Podjetje d.o.o.|orgid=VATSI-12345678|email=bojan.kranjc@podjetje.si
application|application|billing-app-passphrase||cn=billing.podjetje.si|person=PNOSI-1002|o=Podjetje d.o.o.|orgid=VATSI-12345678
eseal|eseal|podjetje-seal-passphrase||cn=Podjetje d.o.o. e-seal|o=Podjetje d.o.o.|orgid=VATSI-12345678
tls|tls|www-podjetje-passphrase||cn=www.podjetje.si|o=Podjetje d.o.o.|orgid=VATSI-12345678|dns=www.podjetje.si,podjetje.si
qwac|qwac|shop-podjetje-passphrase||cn=shop.podjetje.si|o=Podjetje d.o.o.|orgid=VATSI-12345678|dns=shop.podjetje.si
access|card-access|cene-card-passphrase|CARD-DEV-0001|cn=Cene Zupan|person=PNOSI-1003|email=cene.zupan@example.si
qsign|card-sign|cene-card-passphrase|CARD-DEV-0001|cn=Cene Zupan|person=PNOSI-1003
EOF
}

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
	((samples_ok)) && mv -f "$samples.new" "$samples"
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
