#!/usr/bin/env bash
# End-to-end test of the e-mail about requests: real nginx + workers
# (deploy/stack.sh), the cfssl development CA (deploy/dev/ca.sh), the
# real revportal-relay with [mail] pointed at a real SMTP server on
# loopback (tests/integration/smtpsink.py, Debian's aiosmtpd).
#
# A passphrase suspension of a sample certificate that the CA carries
# out must bring its holder two messages, "received" and "completed",
# each with the right envelope and headers, the request's status page in
# the body and no passphrase anywhere.  The relay's configuration check
# refuses plain smtp:// to a host that is not a loopback address.
#
# A mail server that accepts the connection and never answers must not
# hold the CA's queue up: a suspension asked while the relay waits on it
# is carried out as soon as that one attempt times out, and one asked
# right after next, with no mail attempt in between (the relay sends no
# mail in a round that did CA work, and none for a while after a server
# that did not answer).  These are checked on the relay's log lines and
# their order, never on the clock.  revportal-admin
# sweep deletes the messages sent or given up more than 30 days before,
# and only those.
#
# Prints "ok N - name" / "not ok N - name" lines and, last,
# "RESULT passed=N failed=M".  Environment: REVPORTAL_BIN, ADMIN, RELAY
# (default build/asan/revportal, build/asan/revportal-admin,
# build/asan/revportal-relay), KEEP=1 keeps the work directory.
#
# shellcheck disable=SC2317 # functions run through check, trap and $()
set -uo pipefail

top=$(cd "$(dirname "$0")/../.." && pwd)
cd "$top" || exit 1
# shellcheck source=lib.sh
. tests/integration/lib.sh

for f in "$BIN" "$ADMIN" "$RELAY"; do
	[ -x "$f" ] || give_up "$(basename "$f") is built" "not found: $f"
done
need_tools cfssl cfssljson openssl sqlite3 nginx curl
PY=/usr/bin/python3
"$PY" -c 'import aiosmtpd' 2>/dev/null || give_up "python3-aiosmtpd is installed"

# shellcheck source=deploy/stack.sh
. deploy/stack.sh
# shellcheck source=deploy/dev/ca.sh
. deploy/dev/ca.sh

work=$(mktemp -d /tmp/revportal-mail-it.XXXXXX)
sd=$work/stack
ca=$work/ca
msgs=$work/msgs
relay_pid=""
sink_pid=""
hang_pid=""
PASS='sample passphrase 1'

cleanup() {
	[ -n "$relay_pid" ] && kill -KILL "$relay_pid" 2>/dev/null
	[ -n "$sink_pid" ] && kill "$sink_pid" 2>/dev/null
	[ -n "$hang_pid" ] && kill "$hang_pid" 2>/dev/null
	devca_stop "$ca" >/dev/null 2>&1 || true
	stack_stop "$sd" >/dev/null 2>&1 || true
	if [ -n "${KEEP:-}" ]; then
		echo "# kept $work" >&2
	else
		rm -rf "$work"
	fi
}
trap cleanup EXIT

# --- the SMTP server, the CA, the stack ---------------------------------------
"$PY" tests/integration/smtpsink.py --dir "$msgs" --port-file "$work/smtp.port" \
    </dev/null >"$work/sink.log" 2>&1 &
sink_pid=$!
for _ in $(seq 1 100); do
	[ -s "$work/smtp.port" ] && break
	sleep 0.1
done
[ -s "$work/smtp.port" ] || give_up "the SMTP server starts" "$(cat "$work/sink.log")"
ok "the SMTP server starts"
smtp_port=$(cat "$work/smtp.port")

devca_init "$ca" || give_up "devca_init makes the development CA"
caport=$(stack_free_port) || finish
devca_start "$ca" "127.0.0.1:$caport" || give_up "cfssl serve starts"
ok "the development CA runs"

ini_extra=$(printf '%s\n' '[relay]' \
    'backend = cfssl' \
    "url = $DEVCA_URL" \
    "ca_file = $ca/infra.pem" \
    "cert_file = $ca/relay.pem" \
    "key_file = $ca/relay-key.pem" \
    'poll_ms = 200' \
    "metrics_file = $sd/relay.prom" \
    "socket = $sd/relay.sock" \
    '' '[site]' 'site_name = Test Portal' \
    '' '[mail]' \
    "smtp_url = smtp://127.0.0.1:$smtp_port" \
    'from = portal@example.si' \
    'allow_plain = yes' \
    'timeout_ms = 3000')
port=$(stack_free_port) || finish
stack_start "$sd" "$BIN" "127.0.0.1:$port" 2 "$ini_extra" ||
    give_up "the stack starts with [relay] and [mail]"
ok "the stack starts with [relay] and [mail]"
ini=$sd/revportal.ini
db=$sd/revportal.db
sql() { sqlite3 -batch -cmd '.timeout 5000' "$db" "$1"; }

# --- the relay's configuration check --------------------------------------------
check "relay -t accepts smtp:// to loopback with allow_plain" \
    "$RELAY" -t -c "$ini"
sed "s|^smtp_url = .*|smtp_url = smtp://mail.example.si:25|" "$ini" >"$work/far.ini"
far_refused() {
	! "$RELAY" -t -c "$work/far.ini" >"$work/far.out" 2>&1 &&
	    grep -q 'allow_plain: only with smtp:// to a loopback address' "$work/far.out"
}
check "relay -t refuses plain smtp:// to a host that is not loopback" far_refused
sed "s|^from = .*|from = not an address|" "$ini" >"$work/from.ini"
from_refused() {
	! "$RELAY" -t -c "$work/from.ini" >"$work/from.out" 2>&1 &&
	    grep -q '\[mail\] from' "$work/from.out"
}
check "relay -t refuses a sender that is not an address" from_refused

# --- a sample certificate -------------------------------------------------------
printf '%s\n' "$PASS" >"$work/pass.txt"
chmod 600 "$work/pass.txt"
serial=$(devca_issue "$ca" personal ana cn="Ana Novak" person=PNOSI-1001 \
    email=ana@example.si) || give_up "cfssl issues a personal certificate"
"$ADMIN" -c "$ini" import-cert "$ca/issued/ana.pem" --type personal \
    --passphrase-file "$work/pass.txt" >"$work/admin.log" 2>&1 ||
    give_up "revportal imports it" "$(cat "$work/admin.log")"
ok "cfssl issued a personal certificate for ana@example.si; revportal imported it"
check "the registry holds her address" \
    sql_is "SELECT email FROM persons WHERE person_id = 'PNOSI-1001'" ana@example.si

# wait_for CMD...: runs CMD every 0.1 s until it succeeds; fails after
# 20 seconds.  The limit only keeps a broken run from hanging; no check
# depends on how long anything took.
wait_for() {
	local i
	for ((i = 0; i < 200; i++)); do
		"$@" && return 0
		sleep 0.1
	done
	return 1
}

# --- the relay --------------------------------------------------------------------
pre=()
[[ $- != *m* ]] && pre=(setsid)
"${pre[@]}" "$RELAY" -c "$ini" </dev/null >"$work/relay.log" 2>&1 &
relay_pid=$!
relay_started() {
	grep -q 'event=relay_start .*mail=smtp://127\.0\.0\.1:' "$work/relay.log" &&
	    kill -0 "$relay_pid"
}
check "the relay runs with [mail]" wait_for relay_started

# --- a passphrase suspension --------------------------------------------------------
req -H 'Content-Type: application/json' \
    -d "{\"action\":\"suspend\",\"serial\":\"$serial\",\"passphrase\":\"$PASS\"}" \
    "$(url /api/v1/requests)"
check "POST /api/v1/requests suspends with the passphrase (202)" status_is 202
rid=$(sed -n 's/.*"request_id":"\([^"]*\)".*/\1/p' "$work/b")
state() { sql "SELECT state FROM requests WHERE public_id = '$rid'"; }
is_completed() { [ "$(state)" = completed ]; }
check "the CA carries the suspension out: request completed" wait_for is_completed
two_messages() { [ -e "$msgs/msg-2.eml" ]; }
check "two messages arrive at the SMTP server" wait_for two_messages
queue_done() {
	sql_is "SELECT count(*) || ' ' || total(state = 'sent') || ' ' || total(state <> 'sent') FROM mail_queue" "2 2.0 0.0"
}
check "the queue holds two messages, both sent, none pending" wait_for queue_done
check "... and the SMTP server holds no third one" test ! -e "$msgs/msg-3.eml"

# mailpart FILE WHAT: a header of the stored message, or its decoded body.
mailpart() {
	"$PY" - "$1" "$2" <<'EOF'
import email, email.policy, sys
m = email.message_from_binary_file(open(sys.argv[1], "rb"), policy=email.policy.default)
w = sys.argv[2]
print(m.get_content() if w == "body" else str(m[w] or ""))
EOF
}
declare -A byevent=()
for f in "$msgs"/msg-1.eml "$msgs"/msg-2.eml; do
	[ -e "$f" ] || continue
	s=$(mailpart "$f" Subject)
	case $s in
	*"request received") byevent[received]=$f ;;
	*": done") byevent[completed]=$f ;;
	esac
done
check "one message says received, one says done" \
    test -n "${byevent[received]:-}" -a -n "${byevent[completed]:-}"
status_url="https://127.0.0.1:$port/requests/$rid"
for ev in received completed; do
	f=${byevent[$ev]:-/nonexistent}
	env=${f%.eml}.env
	check "$ev: envelope from portal@example.si to ana@example.si" \
	    test "$(cat "$env" 2>/dev/null)" = $'from portal@example.si\nto ana@example.si'
	check "$ev: To header is the holder" \
	    test "$(mailpart "$f" To)" = ana@example.si
	check "$ev: From header is [mail] from" \
	    test "$(mailpart "$f" From)" = portal@example.si
	check "$ev: Subject names the suspension and the certificate" \
	    test "$(mailpart "$f" Subject)" = "[Test Portal] Suspension of certificate $serial: $([ "$ev" = received ] && echo 'request received' || echo done)"
	check "$ev: Date and Message-ID headers" \
	    sh -c "[ -n \"$(mailpart "$f" Date)\" ] && [ -n \"$(mailpart "$f" Message-ID)\" ]"
	mailpart "$f" body >"$work/$ev.txt"
	check "$ev: the body has the status page $status_url" \
	    grep -qF "$status_url" "$work/$ev.txt"
	check "$ev: the body names the certificate and how to reactivate" \
	    sh -c "grep -qF '$serial' '$work/$ev.txt' && grep -q 'personal' '$work/$ev.txt' && grep -qF '/reactivate' '$work/$ev.txt'"
done
check "completed: the body gives the end of the suspension" \
    grep -q 'Suspended to:' "$work/completed.txt"
check "the passphrase is in no message" \
    sh -c "! grep -rqF '$PASS' '$msgs'"
check "the passphrase is in no queued message" \
    sql_is "SELECT count(*) FROM mail_queue WHERE body LIKE '%$PASS%' OR subject LIKE '%$PASS%'" 0
check "the queue says both were sent" \
    sql_is "SELECT group_concat(event || ':' || state, ',') FROM (SELECT event, state FROM mail_queue ORDER BY id)" "received:sent,completed:sent"
metrics_ok() { grep -q 'revportal_relay_mail_total{outcome="sent"} 2' "$sd/relay.prom" 2>/dev/null; }
check "the relay's metrics count two messages sent" wait_for metrics_ok

# --- the end --------------------------------------------------------------------------
kill -TERM "$relay_pid"
st=0
wait "$relay_pid" || st=$?
relay_pid=""
check "the relay stops cleanly" test "$st" = 0

# --- a mail server that never answers ---------------------------------------------------
# It accepts every connection, holds it and says nothing; each connection
# is a line in hang.log.
"$PY" - "$work/hang.port" "$work/hang.log" >"$work/hang.err" 2>&1 <<'EOF' &
import os, socket, sys
s = socket.socket()
s.bind(("127.0.0.1", 0))
s.listen(64)
with open(sys.argv[1] + ".tmp", "w") as f:
    f.write("%d\n" % s.getsockname()[1])
os.rename(sys.argv[1] + ".tmp", sys.argv[1])
held = []
while True:
    c, _ = s.accept()
    held.append(c)
    with open(sys.argv[2], "a") as f:
        f.write("connection\n")
EOF
hang_pid=$!
for _ in $(seq 1 100); do
	[ -s "$work/hang.port" ] && break
	sleep 0.1
done
[ -s "$work/hang.port" ] || give_up "the silent SMTP server starts" "$(cat "$work/hang.err")"
ok "the silent SMTP server starts"
timeout_ms=3000
sed -e "s|^smtp_url = .*|smtp_url = smtp://127.0.0.1:$(cat "$work/hang.port")|" \
    -e "s|^timeout_ms = .*|timeout_ms = $timeout_ms|" "$ini" >"$work/hang.ini"
for who in bob cene; do
	s=$(devca_issue "$ca" personal "$who" cn="Holder $who" \
	    person="PNOSI-$who" email="$who@example.si") ||
	    give_up "cfssl issues a certificate for $who"
	"$ADMIN" -c "$ini" import-cert "$ca/issued/$who.pem" --type personal \
	    --passphrase-file "$work/pass.txt" >"$work/admin.log" 2>&1 ||
	    give_up "revportal imports $who's" "$(cat "$work/admin.log")"
	printf -v "serial_$who" '%s' "$s"
done
ok "cfssl issued certificates for bob and cene; revportal imported them"
# A message due, so that the relay goes to the silent server at once.
sql "INSERT INTO mail_queue (event, rcpt, subject, body, next_attempt_at, created_at) VALUES ('received', 'waiting@example.si', 'S', 'B', 0, 0)"
"${pre[@]}" "$RELAY" -c "$work/hang.ini" </dev/null >"$work/relay2.log" 2>&1 &
relay_pid=$!
hanging() { [ -s "$work/hang.log" ]; }
check "the relay goes to the silent server" wait_for hanging
# mail_log: the relay's mail attempts and CA deliveries in relay2.log, in
# order, one a line: "mail_retry", "relay_mail_paused",
# "relay_delivery REQUEST_ID", ...
mail_log() {
	sed -n -e 's/.* event=\(mail_[a-z]*\|relay_mail_[a-z]*\) .*/\1/p' \
	    -e 's/.* event=relay_delivery request=\([^ ]*\) .*/relay_delivery \1/p' \
	    "$work/relay2.log"
}
# mail_log_is LINE...: mail_log says exactly these lines.
mail_log_is() {
	[ "$(mail_log)" = "$(printf '%s\n' "$@")" ]
}
# suspend SERIAL: asks for the suspension; its request id in $rid.
suspend() {
	req -H 'Content-Type: application/json' \
	    -d "{\"action\":\"suspend\",\"serial\":\"$1\",\"passphrase\":\"$PASS\"}" \
	    "$(url /api/v1/requests)"
	rid=$(sed -n 's/.*"request_id":"\([^"]*\)".*/\1/p' "$work/b")
}
# "Within one mail timeout" and "at once" are checked by what the relay
# did, not by the clock: the one attempt on the silent server ends, the
# relay pauses the mail and the next thing it does is the CA's work, with
# no second mail attempt before or between the two suspensions.
suspend "$serial_bob"
rid_bob=$rid
check "a suspension asked while the relay waits on the silent server (202)" status_is 202
check "... is carried out" wait_for is_completed
check "... right after the one mail attempt timed out and the mail paused" \
    wait_for mail_log_is mail_retry relay_mail_paused "relay_delivery $rid_bob"
suspend "$serial_cene"
check "a suspension asked right after (202)" status_is 202
check "... is carried out" wait_for is_completed
check "... next, the relay trying no mail meanwhile" \
    wait_for mail_log_is mail_retry relay_mail_paused "relay_delivery $rid_bob" \
    "relay_delivery $rid"
check "the relay paused the mail after the silent server" \
    grep -q 'event=relay_mail_paused downs=1 pause_ms=60000' "$work/relay2.log"
check "one connection to the silent server in all" \
    test "$(wc -l <"$work/hang.log")" = 1
check "one message was tried and waits for its retry, the others untouched" \
    sql_is "SELECT group_concat(rcpt || ':' || attempts, ',') FROM (SELECT rcpt, attempts FROM mail_queue WHERE state = 'pending' AND (attempts > 0 OR rcpt = 'waiting@example.si') ORDER BY id)" "waiting@example.si:1"
check "... with the timeout as its error" \
    sql_is "SELECT count(*) FROM mail_queue WHERE rcpt = 'waiting@example.si' AND last_error LIKE '%imeout%'" 1
check "bob's and cene's messages wait, not tried" \
    sql_is "SELECT count(*) FROM mail_queue WHERE rcpt IN ('bob@example.si', 'cene@example.si') AND state = 'pending' AND attempts = 0" 4
# "At once" is not timed: the relay must stop on the signal while the
# mail is paused (wait_for's limit only keeps a hung relay from hanging
# the test), log that it stopped with status 0, and have tried no mail
# after the signal.
kill -TERM "$relay_pid"
relay_stopped() { grep -q 'event=relay_stopped status=0' "$work/relay2.log"; }
wait_for relay_stopped || kill -KILL "$relay_pid" 2>/dev/null
st=0
wait "$relay_pid" || st=$?
relay_pid=""
check "the relay stops cleanly on the signal" test "$st" = 0
# all_events: every event of relay2.log, in order, on one line.
all_events() {
	sed -n 's/.* event=\([a-z_]*\) .*/\1/p' "$work/relay2.log" | tr '\n' ' '
}
check "... and its whole log is start, one mail attempt, pause, two deliveries, stop" \
    test "$(all_events)" = "relay_start mail_retry relay_mail_paused relay_delivery relay_delivery relay_stopping relay_stopped "

# --- the sweep deletes old e-mail ----------------------------------------------------------
sql "INSERT INTO mail_queue (event, rcpt, subject, body, state, next_attempt_at, created_at) VALUES ('received', 'gaveup@example.si', 'S', 'B', 'dead', 0, 0)"
pending=$(sql "SELECT count(*) FROM mail_queue WHERE state = 'pending'")
maxid=$(sql "SELECT max(id) FROM mail_queue")
sweep_at() {
	"$ADMIN" -c "$ini" --now "$(date -u -d "+$1 days" +%Y-%m-%dT%H:%M:%SZ)" \
	    sweep >"$work/sweep.out" 2>"$work/sweep.err"
}
check "sweep 29 days on succeeds" sweep_at 29
check "... deletes the message given up long ago" \
    sql_is "SELECT count(*) FROM mail_queue WHERE rcpt = 'gaveup@example.si'" 0
check "... and logs it" grep -q 'event=mail_purged deleted=1 keep_days=30' "$work/sweep.err"
check "... keeps ana's two messages sent today" \
    sql_is "SELECT count(*) FROM mail_queue WHERE state = 'sent'" 2
check "sweep 31 days on succeeds" sweep_at 31
check "... deletes the messages sent 31 days before" \
    sql_is "SELECT count(*) FROM mail_queue WHERE state IN ('sent', 'dead')" 0
check "... keeps every pending message" \
    sql_is "SELECT count(*) FROM mail_queue WHERE state = 'pending' AND id <= $maxid" "$pending"
if stack_stop "$sd"; then ok "the stack stops cleanly"; else notok "the stack stops cleanly"; fi
finish
