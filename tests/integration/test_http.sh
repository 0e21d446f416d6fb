#!/usr/bin/env bash
# Integration tests of the foundation: the real nginx in front of the real
# workers (the sanitizer build, with the test-only routes), on free
# loopback ports in a temporary directory, driven with curl.
# Prints "ok N - name" / "not ok N - name" lines and, last,
# "RESULT passed=N failed=M".
set -uo pipefail

top=$(cd "$(dirname "$0")/../.." && pwd)
cd "$top" || exit 1
# shellcheck source=../../deploy/stack.sh
. deploy/stack.sh
# shellcheck source=lib.sh
. tests/integration/lib.sh

WORKERS=3
work=$(mktemp -d /tmp/revportal-it.XXXXXX)
# req (lib.sh) gives a request 10 seconds here.
REQ_MAX_TIME=10

hdr_count() { grep -ci "^$1:" "$work/h"; }

cleanup() {
	stack_stop "$work" >/dev/null 2>&1 || true
	rm -rf "$work"
}
trap cleanup EXIT

listen="127.0.0.1:$(stack_free_port)"
if ! stack_start "$work" "$BIN" "$listen" "$WORKERS" \
    "$(printf '[site]\nhotline = +386 1 555 01 23\n[policy.suspend]\nmax_days = 30\n[policy.passphrase]\nmax_failures = 3\n')"; then
	notok "stack starts" "see $work"
	echo "RESULT passed=$pass failed=$fail"
	exit 1
fi
ok "stack starts (nginx + $WORKERS workers, healthz answers)"

# --- pages --------------------------------------------------------------
req "$(url /)"
check "landing page renders" status_is 200
check "landing page shows the configured hotline" body_has "+386 1 555 01 23"
check "landing page states the configured suspension limit" body_has "at most 30 days"
check "landing page states the configured passphrase attempts" body_has "After 3 wrong attempts"
check "landing page says what the default policy does at the limit" body_has "certificate is revoked automatically"
check "landing page links the four actions" \
	sh -c "grep -q 'href=\"/suspend\"' '$work/b' && grep -q 'href=\"/revoke\"' '$work/b' && grep -q 'href=\"/reactivate\"' '$work/b' && grep -q 'href=\"/recover\"' '$work/b'"
check "landing page is HTML in UTF-8" sh -c "[ \"\$(grep -i '^content-type:' '$work/h' | tr -d '\r')\" = 'Content-Type: text/html; charset=utf-8' ]"
check "landing page has no inline script" sh -c "! grep -qi '<script' '$work/b' && ! grep -qi ' on[a-z]*=' '$work/b' && ! grep -qi 'style=' '$work/b'"

csp=$(hdr Content-Security-Policy)
check "CSP default-src 'self'" sh -c "echo \"\$1\" | grep -q \"default-src 'self'\"" _ "$csp"
check "CSP frame-ancestors 'none'" sh -c "echo \"\$1\" | grep -q \"frame-ancestors 'none'\"" _ "$csp"
check "CSP allows no inline script" sh -c "! echo \"\$1\" | grep -q 'unsafe-inline'" _ "$csp"
check "HSTS header" sh -c "[ -n \"\$1\" ] && echo \"\$1\" | grep -q 'max-age='" _ "$(hdr Strict-Transport-Security)"
check "X-Content-Type-Options nosniff" test "$(hdr X-Content-Type-Options)" = nosniff
check "Referrer-Policy no-referrer" test "$(hdr Referrer-Policy)" = no-referrer
check "security headers not duplicated" test "$(hdr_count Content-Security-Policy)" = 1
check "landing page is not cached as personal but revalidated" test "$(hdr Cache-Control)" = no-cache

req -I "$(url /)"
check "HEAD / answers 200 with the same headers" sh -c "[ '$code' = 200 ] && grep -qi '^content-security-policy:' '$work/b'"

req "$(url /static/style.css)"
check "static stylesheet served by nginx" status_is 200
check "static file has text/css type" sh -c "grep -qi '^content-type: text/css' '$work/h'"
check "static file carries nosniff" test "$(hdr X-Content-Type-Options)" = nosniff

req "$(url /no/such/page)"
check "unknown page is 404" status_is 404
check "404 page is HTML and friendly" sh -c "grep -qi 'content-type: text/html' '$work/h' && grep -q 'href=\"/\"' '$work/b'"

req "$(url /api/v1/nothing)"
check "unknown API path is 404 JSON" sh -c "[ '$code' = 404 ] && grep -q '\"error\":\"not_found\"' '$work/b'"

req -X POST -d 'a=b' "$(url /)"
check "POST to a GET page is 405" status_is 405
check "405 names the allowed methods" sh -c "grep -qi '^allow: GET, HEAD' '$work/h'"

req -X DELETE "$(url /healthz)"
check "DELETE is 405 too" status_is 405

# --- ops ----------------------------------------------------------------
req "$(url /healthz)"
check "healthz answers ok" sh -c "[ '$code' = 200 ] && [ \"\$(cat '$work/b')\" = ok ]"

req "$(url /metrics)"
check "metrics in Prometheus text format" sh -c "[ '$code' = 200 ] && grep -qi '^content-type: text/plain; version=0.0.4' '$work/h'"
check "metrics count requests by route and status" body_has 'revportal_http_requests_total{route="landing",status="200"}'
check "metrics count 404s of unmatched paths" body_has 'revportal_http_requests_total{route="unmatched",status="404"}'
check "metrics have a latency histogram" body_has 'revportal_http_request_duration_seconds_bucket{route="landing",le="+Inf"}'

# --- CSRF -----------------------------------------------------------------
form=$(url /_test/form)
req -c "$work/jar" "$form"
token=$(sed -n 's/.*name="csrf_token" value="\([^"]*\)".*/\1/p' "$work/b" | head -n 1)
check "form page issues a CSRF token" test -n "$token"
check "CSRF cookie is Secure, HttpOnly, SameSite=Strict" sh -c "grep -i '^set-cookie: __Host-rp_csrf=' '$work/h' | grep -q 'Secure; HttpOnly; SameSite=Strict'"
check "form page is no-store" test "$(hdr Cache-Control)" = no-store

req -b "$work/jar" --data "csrf_token=$token&note=hello+world" "$form"
check "form POST with a valid token succeeds" sh -c "[ '$code' = 200 ] && grep -q '<p id=\"echo\">hello world</p>' '$work/b'"

req -b "$work/jar" --data "note=no+token" "$form"
check "form POST without a token is 403" status_is 403

# Change one character in the middle (in the MAC), whatever it was.
mid=${token:30:1}
[ "$mid" = A ] && repl=B || repl=A
req -b "$work/jar" --data "csrf_token=${token:0:30}$repl${token:31}&note=x" "$form"
check "form POST with a tampered token is 403" status_is 403

req --data "csrf_token=$token&note=x" "$form"
check "form POST with a token but no cookie is 403" status_is 403

req -b "$work/jar" -H 'Origin: https://evil.example' --data "csrf_token=$token&note=x" "$form"
check "form POST from another origin is 403" status_is 403

req -b "$work/jar" -H 'Origin: null' --data "csrf_token=$token&note=x" "$form"
check "form POST with Origin: null (our no-referrer pages) and a valid token succeeds" status_is 200

req -b "$work/jar" -H 'Sec-Fetch-Site: cross-site' --data "csrf_token=$token&note=x" "$form"
check "form POST that the browser marks cross-site is 403" status_is 403

req -b "$work/jar" -H 'Sec-Fetch-Site: same-site' --data "csrf_token=$token&note=x" "$form"
check "form POST from a sibling subdomain is 403" status_is 403

req -b "$work/jar" --data "csrf_token=$token&note=%3Cscript%3Ealert(1)%3C%2Fscript%3E" "$form"
check "posted text is HTML-escaped on the page" sh -c "[ '$code' = 200 ] && grep -q '&lt;script&gt;alert(1)&lt;/script&gt;' '$work/b' && ! grep -q '<script>alert' '$work/b'"

# --- body parsing through nginx ---------------------------------------------
# JSON goes to the API echo; forms go to the HTML echo, which like every
# HTML POST needs the CSRF token and cookie (fetched above).
api=$(url /api/v1/_test/echo)
fecho=$(url /_test/echo)
# fpost ARGS...: a form post to the HTML echo with this browser's token.
fpost() { req -b "$work/jar" "$@" "$fecho"; }
has_code() { grep -q "<code>$1</code>" "$work/b"; }

req -H 'Content-Type: application/json' --data '{"action":"suspend","serial":"42:ba:82","reason":"keyCompromise"}' "$api"
check "JSON body parsed and validated" sh -c "[ '$code' = 200 ] && grep -q '\"serial\":\"42:ba:82\"' '$work/b'"

req -H 'Content-Type: application/json' --data '{"action":"suspend","passphrase":"correct horse"}' "$api"
check "secret fields are never echoed" sh -c "[ '$code' = 200 ] && ! grep -q 'correct horse' '$work/b'"

req -H 'Content-Type: application/json' --data '{"action": "suspend"' "$api"
check "truncated JSON is 400 bad_json" sh -c "[ '$code' = 400 ] && grep -q '\"error\":\"bad_json\"' '$work/b'"

req -H 'Content-Type: application/json' --data '{"action":"explode"}' "$api"
check "invalid field value is 400" sh -c "[ '$code' = 400 ] && grep -q '\"error\":\"invalid_value\"' '$work/b'"

req -H 'Content-Type: application/json' --data '{"nonsense":"x"}' "$api"
check "unknown JSON member is 400" sh -c "[ '$code' = 400 ] && grep -q '\"error\":\"unknown_field\"' '$work/b'"

req --data 'action=revoke&passphrase=guess' "$api"
check "the API refuses form bodies (no cross-site form reaches it)" sh -c "[ '$code' = 415 ] && grep -q '\"error\":\"json_required\"' '$work/b'"

req -H 'Content-Type: text/plain' --data '{"action":"revoke"}' "$api"
check "the API refuses text/plain bodies" status_is 415

req -H 'Content-Type: application/json' --data '{}' "$api?passphrase=in-the-address"
check "a secret in the query string is 400" sh -c "[ '$code' = 400 ] && grep -q '\"error\":\"field_not_in_query\"' '$work/b' && ! grep -q 'in-the-address' '$work/b'"

fpost --data "csrf_token=$token&note=a+b%21"
check "form body parsed (+ and percent-decoding)" sh -c "[ '$code' = 200 ] && grep -q '\"note\":\"a b!\"' '$work/b'"

fpost --data "csrf_token=$token&note=a%zzb"
check "bad percent-encoding is 400 bad_encoding" sh -c "[ '$code' = 400 ] && grep -q '<code>bad_encoding</code>' '$work/b'"

fpost --data "csrf_token=$token&note=%C3%28"
check "invalid UTF-8 is 400" sh -c "[ '$code' = 400 ] && grep -q '<code>invalid_utf8</code>' '$work/b'"

fpost --data "csrf_token=$token&note=a%00b"
check "NUL byte in text is 400" sh -c "[ '$code' = 400 ] && grep -q '<code>invalid_characters</code>' '$work/b'"

fpost --data "csrf_token=$token&issuer=%E2%80%AECA"
check "a bidi override in text is 400" sh -c "[ '$code' = 400 ] && grep -q '<code>invalid_characters</code>' '$work/b'"

fpost -H 'Content-Type: application/json' --data '{"note":"x"}'
check "an HTML page refuses a JSON body" status_is 415

head -c 300000 /dev/zero | tr '\0' 'a' >"$work/big"
req -H 'Content-Type: application/json' --data-binary "@$work/big" "$api"
check "body over the limit is 413 JSON" sh -c "[ '$code' = 413 ] && grep -q '\"error\":\"body_too_large\"' '$work/b'"

fpost --data-binary "@$work/big"
check "form body over the limit is 413 too" status_is 413

# Far over the limit nginx refuses the body itself, still in JSON with
# the security headers.
head -c 2000000 /dev/zero | tr '\0' 'a' >"$work/huge"
req -H 'Content-Type: application/json' --data-binary "@$work/huge" "$api"
check "nginx's own 413 is JSON under /api/ with the security headers" sh -c "[ '$code' = 413 ] && grep -q '\"error\":\"too_large\"' '$work/b' && grep -qi '^content-security-policy:' '$work/h'"

head -c 3000 /dev/zero | tr '\0' 'b' >"$work/long"
fpost --data-binary "csrf_token=$token&note=$(cat "$work/long")"
check "oversized field is 400 field_too_long" sh -c "[ '$code' = 400 ] && grep -q '<code>field_too_long</code>' '$work/b'"

# A DER-looking upload holding NUL, CRLF and a boundary-like line.
printf '0\202\000\r\n--not-a-boundary\377' >"$work/sig.der"
size=$(wc -c <"$work/sig.der")
fpost -F "csrf_token=$token" -F "signature=@$work/sig.der;filename=sig.der" -F 'action=revoke'
check "multipart upload with a binary file arrives whole" sh -c "[ '$code' = 200 ] && grep -q '\"bytes\":$size' '$work/b' && grep -q '\"filename\":\"sig.der\"' '$work/b'"

printf -- '--XyZ\r\nContent-Disposition: form-data; name="csrf_token"\r\n\r\n%s\r\n--XyZ\r\nContent-Disposition: form-data; name="note"\r\n\r\nunfinished' "$token" >"$work/trunc"
fpost -H 'Content-Type: multipart/form-data; boundary=XyZ' --data-binary "@$work/trunc"
check "truncated multipart is 400" sh -c "[ '$code' = 400 ] && grep -q '<code>bad_multipart</code>' '$work/b'"

fpost -H 'Content-Type: multipart/form-data' --data-binary "@$work/trunc"
check "multipart without boundary is 400" sh -c "[ '$code' = 400 ] && grep -q '<code>bad_boundary</code>' '$work/b'"

# --- supervision ------------------------------------------------------------
pids=$(stack_worker_pids)
victim=$(echo "$pids" | head -n 1)
check "supervisor runs $WORKERS workers" test "$(echo "$pids" | wc -w)" = "$WORKERS"
kill -KILL "$victim"
replaced=0
for _ in $(seq 1 50); do
	now=$(stack_worker_pids)
	if [ "$(echo "$now" | wc -w)" = "$WORKERS" ] && ! echo "$now" | grep -qx "$victim"; then
		replaced=1
		break
	fi
	sleep 0.1
done
check "a worker killed with SIGKILL is replaced" test "$replaced" = 1
ok_all=1
for _ in $(seq 1 $((WORKERS * 3))); do
	req "$(url /healthz)"
	[ "$code" = 200 ] || ok_all=0
done
check "requests after the kill all succeed" test "$ok_all" = 1
req "$(url /metrics)"
check "metrics survive a worker restart" body_has 'revportal_http_requests_total{route="landing",status="200"}'

# --- start-up errors --------------------------------------------------------
printf '[server]\nworkers = 0\n' >"$work/bad.ini"
msg=$("$BIN" -t -c "$work/bad.ini" 2>&1)
check "a wrong setting stops start-up naming it" sh -c "echo \"\$1\" | grep -q 'workers'" _ "$msg"

printf '[paths]\ndb_dir = %s\ntemplates = %s\nsecret_file = %s\n' "$top/db" "$top/templates" "$work/not-yet.key" >"$work/fresh.ini"
"$BIN" -t -c "$work/fresh.ini" >"$work/fresh.out" 2>&1
rc=$?
check "a check before the first start accepts a missing secret" sh -c "[ $rc -eq 0 ] && [ ! -e '$work/not-yet.key' ] && grep -q 'configuration ok' '$work/fresh.out'"

printf 'short' >"$work/short.key"
chmod 600 "$work/short.key"
printf '[paths]\ndb_dir = %s\ntemplates = %s\nsecret_file = %s\n' "$top/db" "$top/templates" "$work/short.key" >"$work/short.ini"
msg=$("$BIN" -t -c "$work/short.ini" 2>&1)
rc=$?
check "a secret file of the wrong size stops start-up naming it" sh -c "[ $rc -ne 0 ] && echo \"\$1\" | grep -q 'short.key'" _ "$msg"

printf '[paths]\ndb_dir = %s\ntemplates = %s\nsecret_file = %s\n' "$work" "$top/templates" "$work/secret.key" >"$work/nopolicy.ini"
msg=$("$BIN" -t -c "$work/nopolicy.ini" 2>&1)
rc=$?
check "a missing policy file stops start-up naming it" sh -c "[ $rc -ne 0 ] && echo \"\$1\" | grep -q -- '$work/policy.ini'" _ "$msg"

printf '[paths]\ndb_dir = %s\ntemplates = %s\nsecret_file = %s\n[policy.suspend]\nmax_days = 0\n' "$top/db" "$top/templates" "$work/secret.key" >"$work/badpolicy.ini"
msg=$("$BIN" -t -c "$work/badpolicy.ini" 2>&1)
rc=$?
check "a bad policy override stops start-up naming it" sh -c "[ $rc -ne 0 ] && echo \"\$1\" | grep -q 'max_days'" _ "$msg"

mkdir -p "$work/tpl"
cp templates/*.html "$work/tpl/"
printf '<p>{{%%oops}}</p>\n' >>"$work/tpl/landing.html"
printf '[paths]\ndb_dir = %s\ntemplates = %s\nsecret_file = %s\n' "$top/db" "$work/tpl" "$work/secret.key" >"$work/badtpl.ini"
msg=$("$BIN" -t -c "$work/badtpl.ini" 2>&1)
rc=$?
check "an unknown template tag stops start-up naming file and line" sh -c "[ $rc -ne 0 ] && echo \"\$1\" | grep -q 'landing.html:[0-9]'" _ "$msg"

# --- shutdown ----------------------------------------------------------------
# A request in hand when the app gets SIGTERM is answered before the
# worker exits.  The signal goes to the app directly (stack_stop would
# first let nginx drain, which hides the case).
curl -sk --max-time 20 -o "$work/slow" -w '%{http_code}' "$(url /_test/slow)" >"$work/slow.code" &
slow_pid=$!
# Wait (bounded) until it is being answered: the gauge counts it and the
# metrics request itself.
for _ in $(seq 1 100); do
	req "$(url /metrics)"
	grep -q '^revportal_http_requests_in_flight [2-9]' "$work/b" && break
	sleep 0.05
done
check "the in-flight gauge sees the slow request" grep -q '^revportal_http_requests_in_flight [2-9]' "$work/b"
kill -TERM "$STACK_APP_PID"
wait "$slow_pid"
check "a request in hand at SIGTERM is still answered" sh -c "[ \"\$(cat '$work/slow.code')\" = 200 ] && [ \"\$(cat '$work/slow')\" = done ] && grep -q 'event=stopping' '$work/revportal.log'"
if stack_stop "$work"; then
	ok "SIGTERM stops every process cleanly"
else
	notok "SIGTERM stops every process cleanly" "$(tail -n 20 "$work/revportal.log" 2>/dev/null)"
fi
check "the socket is removed at exit" test ! -e "$work/fcgi.sock"
check "every worker finished with status 0 on SIGTERM" sh -c "[ \$(grep -c 'event=worker_exit .*status=0\$' '$work/revportal.log') -eq $WORKERS ] && ! grep -q 'event=worker_exit .*status=[1-9]' '$work/revportal.log'"
check "no sanitizer report in the worker log" sh -c "! grep -q 'ERROR: AddressSanitizer\|runtime error:\|LeakSanitizer' '$work/revportal.log'"

echo "RESULT passed=$pass failed=$fail"
[ "$fail" -eq 0 ]
