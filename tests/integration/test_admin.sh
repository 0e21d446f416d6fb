#!/usr/bin/env bash
# Integration tests of revportal-admin (the sanitizer build): a real
# database in a temporary directory, real certificates made here with
# the openssl command, tampering with the sqlite3 command.
# Prints "ok N - name" / "not ok N - name" lines and, last,
# "RESULT passed=N failed=M".
set -uo pipefail

top=$(cd "$(dirname "$0")/../.." && pwd)
cd "$top" || exit 1
# shellcheck source=lib.sh
. tests/integration/lib.sh

work=$(mktemp -d /tmp/revportal-admin-it.XXXXXX)

# What a failed check reports besides its command (see lib.sh).
check_detail() {
	echo "stdout: $(head -c 600 "$work/out" 2>/dev/null)"
	echo "stderr: $(head -c 600 "$work/err" 2>/dev/null)"
}

cleanup() { [ -n "${KEEP:-}" ] || rm -rf "$work"; }
trap cleanup EXIT

# adm ARGS...: runs the tool on the test database; stdout to $work/out,
# stderr to $work/err, exit status in $rc.
adm() {
	"$ADMIN" -c "$work/rp.ini" "$@" >"$work/out" 2>"$work/err"
	rc=$?
}
# admdb DB ARGS...: the same on another database (a tampered copy).
admdb() {
	local db=$1
	shift
	printf '[paths]\ndatabase = %s\ndb_dir = %s/db\n' "$db" "$top" \
	    >"$work/other.ini"
	"$ADMIN" -c "$work/other.ini" "$@" >"$work/out" 2>"$work/err"
	rc=$?
}
rc_is() { [ "$rc" -eq "$1" ] || { echo "# exit status $rc, expected $1" >&2; return 1; }; }
out_has() { grep -q -- "$1" "$work/out"; }
err_has() { grep -q -- "$1" "$work/err"; }
# One line on stderr, starting "revportal-admin: ".
err_one_line() {
	[ "$(wc -l <"$work/err")" -eq 1 ] && grep -q '^revportal-admin: ' "$work/err"
}
sql() { sqlite3 -batch "$work/rp.db" "$1"; }
ncerts() { sql 'SELECT count(*) FROM certificates'; }

[ -x "$ADMIN" ] || give_up "revportal-admin is built" "not found: $ADMIN"
need_tools openssl sqlite3 python3

printf '[paths]\ndatabase = %s/rp.db\ndb_dir = %s/db\n' "$work" "$top" \
    >"$work/rp.ini"

# --- certificates -------------------------------------------------------
# A CA and leaf certificates of every type, with the ETSI subject
# attributes serialNumber (a person) and organizationIdentifier.
pki=$work/pki
made=1
pki_init || made=0
pki_ca ca "/CN=Test Qualified CA/O=Test TSP/C=SI" || made=0

# leaf NAME SUBJECT SERIAL DAYS: makes $pki/NAME.pem (and NAME.key),
# issued by the CA.
leaf() { pki_leaf ca leaf "$@"; }
org="/O=Podjetje d.o.o./organizationIdentifier=VATSI-12345678/C=SI"
leaf personal "/CN=Ana Novak/serialNumber=PNOSI-1001/emailAddress=ana@example.si/C=SI" 0x42BA82334FDAB97D86A19279BAB5E87934D85554 1826 || made=0
leaf business "/CN=Bojan Kranjc/serialNumber=PNOSI-1002$org" 0x1002 1826 || made=0
leaf application "/CN=app.example.si/serialNumber=PNOSI-1003$org" 0x1003 730 || made=0
leaf eseal "/CN=Podjetje e-seal$org" 0x1004 1095 || made=0
leaf tls "/CN=www.example.si$org" 0x1005 365 || made=0
leaf qwac "/CN=shop.example.si$org" 0x1006 365 || made=0
leaf card1 "/CN=Cene Zupan/serialNumber=PNOSI-1007/C=SI" 0x1007 1826 || made=0
leaf card2 "/CN=Cene Zupan/serialNumber=PNOSI-1007/C=SI" 0x1008 1826 || made=0
leaf staff1 "/CN=Agent Ana/O=Test TSP/C=SI" 0x2001 365 || made=0
for i in 1 2 3; do leaf "dir$i" "/CN=Dir Person $i/serialNumber=PNOSI-200$i/C=SI" "0x300$i" 1826 || made=0; done
# An EV TLS certificate: its serialNumber is the company register number.
leaf ev "/CN=www.shop.si/serialNumber=5566778000/O=Shop d.o.o./C=SI" 0x5001 365 || made=0
leaf numsn "/CN=Numeric Person/serialNumber=12345678/C=SI" 0x5002 1826 || made=0
leaf hashf "/CN=Hash File/serialNumber=PNOSI-5003/C=SI" 0x5003 1826 || made=0
leaf outside "/CN=Outside Person/serialNumber=PNOSI-5004/C=SI" 0x5004 1826 || made=0
leaf inside "/CN=Inside Person/serialNumber=PNOSI-5005/C=SI" 0x5005 1826 || made=0
# A staff certificate whose CN holds a right-to-left override (U+202E).
rlo=$(printf '\342\200\256')
leaf rlostaff "/CN=Agent ${rlo}anA/O=Test TSP/C=SI" 0x5006 365 || made=0
for i in 1 2 3 4; do leaf "due$i" "/CN=Due Person $i/serialNumber=PNOSI-600$i/C=SI" "0x600$i" 1826 || made=0; done
esc=$(printf '\033')
check "openssl made the test certificates" test "$made" = 1

# --- init ---------------------------------------------------------------
adm init
check "init creates the database" sh -c "[ $rc = 0 ] && grep -qx 'schema version 4' '$work/out' && [ -f '$work/rp.db' ]"
check "the database is not readable by others" sh -c "[ \$(( 0\$(stat -c %a '$work/rp.db') & 077 )) = 0 ]"
adm init
check "init twice is harmless" sh -c "[ $rc = 0 ] && grep -qx 'schema version 4' '$work/out'"

# --- help and command-line errors ----------------------------------------
adm --help
check "--help prints the usage, exit 0" sh -c "[ $rc = 0 ] && grep -q '^usage: revportal-admin' '$work/out' && grep -q 'audit-verify' '$work/out'"
adm import-cert --help
check "COMMAND --help prints its options, exit 0" sh -c "[ $rc = 0 ] && grep -q -- '--passphrase-hash' '$work/out'"
"$ADMIN" -c "$work/nonexistent.ini" add-staff --help >"$work/out" 2>"$work/err"
rc=$?
check "COMMAND --help needs no configuration" rc_is 0
adm frobnicate
check "unknown command: exit 2 with usage on stderr" sh -c "[ $rc = 2 ] && grep -q 'unknown command' '$work/err' && grep -q '^usage:' '$work/err' && [ ! -s '$work/out' ]"
adm
check "no command: exit 2" rc_is 2
adm import-cert "$pki/personal.pem" --type personal --frob
check "unknown option: exit 2" sh -c "[ $rc = 2 ] && grep -q 'unknown option --frob' '$work/err'"
adm import-cert "$pki/personal.pem" --type
check "option without its value: exit 2" sh -c "[ $rc = 2 ] && grep -q 'needs a value' '$work/err'"
adm import-cert "$pki/personal.pem"
check "import-cert without --type: exit 2" rc_is 2
adm import-cert "$pki/personal.pem" --type person
check "import-cert with an unknown type: exit 2" rc_is 2
adm import-cert "$pki/personal.pem" --type personal --term-years 11
check "import-cert --term-years 11: exit 2" rc_is 2
adm import-cert "$pki/personal.pem" --type personal --term-years 5x
check "import-cert --term-years 5x: exit 2" rc_is 2
adm import-cert "$pki/personal.pem" --type personal --qscd
check "--qscd without --token: exit 2" rc_is 2
adm import-cert "$pki/personal.pem" --type personal --passphrase-hash 'x'
check "a malformed --passphrase-hash: exit 2" rc_is 2
adm "--now" "2026-01-01T00:00:00Z" staff
check "--now is accepted (test build)" rc_is 0
adm --now yesterday staff
check "--now with a bad time: exit 2" rc_is 2
adm import-cert "$pki/personal.pem" --type personal --token CARD-X --token-kind floppy
check "--token-kind floppy: exit 2, before any work" sh -c "[ $rc = 2 ] && grep -q 'token-kind' '$work/err'"
adm import-cert "$pki/personal.pem" --type personal --token ''
check "--token '': exit 2" rc_is 2
adm import-cert "$pki/personal.pem" --type personal --token "CARD${rlo}1"
check "--token with a bidi control: exit 2" rc_is 2
adm import-cert "$pki/personal.pem" --type personal --term-years ' 5'
check "--term-years ' 5' (leading space): exit 2" rc_is 2
adm requests --limit "$(printf '\t5')"
check "--limit with a leading tab: exit 2" rc_is 2
adm requests --limit "$(printf '\n5')"
check "--limit with a leading newline: exit 2" rc_is 2
adm import-cert "$pki/personal.pem" --type personal --passphrase-hash '$argon2id$v=19$m=8,t=1,p=1$c2FsdHNhbHQ$MTIzNDU2Nzg5MDEyMzQ1Ng'
check "a cheap Argon2 hash (m=8,t=1) is refused: exit 2" sh -c "[ $rc = 2 ] && grep -q 'm=19456..262144' '$work/err'"
adm import-cert "$pki/personal.pem" --type personal --passphrase-hash '$argon2id$v=19$m=4194304,t=10,p=16$c2FsdHNhbHRzYWx0c2FsdA$MTIzNDU2Nzg5MDEyMzQ1Njc4OTAxMjM0NTY3ODkwMTI'
check "a huge Argon2 hash (m=4 GiB,p=16) is refused: exit 2" rc_is 2
adm import-cert "$pki/personal.pem" --type personal --passphrase-hash '$argon2id$v=19$m=19456,t=1,p=1$c2FsdHNhbHRzYWx0c2FsdA$MTIzNDU2Nzg5MDEyMzQ1Njc4OTAxMjM0NTY3ODkwMTI'
check "an Argon2 hash with one pass is refused: exit 2" rc_is 2
adm import-cert "$pki/personal.pem" --type personal --passphrase-hash-file "$work/x" --passphrase-file "$work/y"
check "two passphrase sources: exit 2" rc_is 2
adm add-rep --org VATSI-12345678 --person PNOSI-5009 --name ''
check "add-rep --name '': exit 2" rc_is 2
adm add-rep --org VATSI-12345678 --org-name '' --person PNOSI-5009 --name X
check "add-rep --org-name '': exit 2" rc_is 2
adm add-rep --org VATSI-12345678 --person PNOSI-5009 --name X --email not-an-address
check "add-rep with a bad --email: exit 2" sh -c "[ $rc = 2 ] && grep -q -- '--email' '$work/err'"
adm add-rep --org VATSI-12345678 --person PNOSI-5009 --name "Evil ${rlo}gnp.exe"
check "add-rep --name with a right-to-left override: exit 2" rc_is 2
adm add-rep --org VATSI-12345678 --person PNOSI-5009 --name "Ana$(printf '\302\205')"
check "add-rep --name with a C1 control (NEL): exit 2" rc_is 2
adm add-rep --org 5566778000 --org-name Shop --person PNOSI-5009 --name X
check "add-rep --org not of the ETSI form: exit 2" rc_is 2
adm add-rep --org VATSI-12345678 --person 12345678 --name X
check "add-rep --person not of the ETSI form: exit 2" rc_is 2
adm remove-rep --org VATSI-12345678 --person 'PNOSI 1'
check "remove-rep --person not of the ETSI form: exit 2" rc_is 2
adm add-staff "$pki/staff1.pem" --role agent --name ''
check "add-staff --name '': exit 2" rc_is 2
check "nothing stored by refused command lines" test "$(ncerts)" = 0
check "no person or organisation stored either" sql_is "SELECT (SELECT count(*) FROM persons) + (SELECT count(*) FROM organisations) + (SELECT count(*) FROM legal_reps) + (SELECT count(*) FROM staff)" 0

# --- import-cert ----------------------------------------------------------
adm import-cert "$pki/personal.pem" --type personal
check "import a personal certificate" sh -c "[ $rc = 0 ] && grep -q '^imported 42BA82334FDAB97D86A19279BAB5E87934D85554 personal ' '$work/out'"
check "its person is registered with name and e-mail" sql_is "SELECT name || '|' || email FROM persons WHERE person_id = 'PNOSI-1001'" "Ana Novak|ana@example.si"
check "a 1826-day certificate has a 5-year term" sql_is "SELECT term_years FROM certificates WHERE serial = '42BA82334FDAB97D86A19279BAB5E87934D85554'" 5
adm import-cert "$pki/business.pem" --type business
check "import a business certificate" sh -c "[ $rc = 0 ] && grep -q '^imported 1002 business ' '$work/out'"
check "its organisation is registered by organizationIdentifier" sql_is "SELECT name FROM organisations WHERE org_id = 'VATSI-12345678'" "Podjetje d.o.o."
check "business certificate linked to person and organisation" sql_is "SELECT p.person_id || '|' || o.org_id FROM certificates c JOIN persons p ON p.id = c.person_id JOIN organisations o ON o.id = c.organisation_id WHERE c.serial = '1002'" "PNOSI-1002|VATSI-12345678"
adm import-cert "$pki/application.pem" --type application --term-years 2
check "import an application certificate with --term-years" sh -c "[ $rc = 0 ] && grep -q '^imported 1003 application ' '$work/out'"
check "the given term is stored" sql_is "SELECT term_years FROM certificates WHERE serial = '1003'" 2
adm import-cert "$pki/eseal.pem" --type eseal --token SEAL-HSM-1 --token-kind cloud --qscd
check "import an e-seal on a cloud QSCD" sh -c "[ $rc = 0 ] && grep -q '^imported 1004 eseal ' '$work/out'"
check "an e-seal without serialNumber has no subject person" sql_is "SELECT person_id IS NULL FROM certificates WHERE serial = '1004'" 1
check "the cloud token is a QSCD" sql_is "SELECT kind || '|' || qscd FROM tokens WHERE label = 'SEAL-HSM-1'" "cloud|1"
adm import-cert "$pki/tls.pem" --type tls
check "import a TLS certificate" sh -c "[ $rc = 0 ] && grep -q '^imported 1005 tls ' '$work/out'"
adm import-cert "$pki/qwac.pem" --type qwac
check "import a QWAC" sh -c "[ $rc = 0 ] && grep -q '^imported 1006 qwac ' '$work/out'"
check "one organisation for five certificates" sql_is "SELECT count(*) FROM organisations" 1

printf 'correct horse battery staple\n' >"$work/pass.txt"
chmod 600 "$work/pass.txt"
adm import-cert "$pki/card1.pem" --type personal --token CARD-0001 --qscd --passphrase-file "$work/pass.txt"
check "import the first certificate of a card with a passphrase" sh -c "[ $rc = 0 ] && [ ! -s '$work/err' ]"
adm import-cert "$pki/card2.pem" --type personal --token CARD-0001 --qscd
check "import the second certificate of the same card" rc_is 0
check "one token holds both certificates" sql_is "SELECT count(*) FROM certificates c JOIN tokens t ON t.id = c.token_id WHERE t.label = 'CARD-0001'" 2
check "the passphrase is stored for the token as Argon2id" sql_is "SELECT count(*) FROM passphrases s JOIN tokens t ON t.id = s.token_id WHERE t.label = 'CARD-0001' AND s.hash LIKE '\$argon2id\$v=19\$m=19456,t=2,p=1\$%'" 1
check "the audit log says a passphrase was set, not what" sh -c "sqlite3 '$work/rp.db' \"SELECT details FROM audit WHERE subject = 'certificate:1007'\" | grep -q '\"passphrase\":true' && ! sqlite3 '$work/rp.db' 'SELECT details FROM audit' | grep -q argon2"
check "the audit actor is admin:<login name>" sql_is "SELECT DISTINCT actor FROM audit" "admin:$(id -un)"

before=$(ncerts)
adm import-cert "$pki/card2.pem" --type personal --token CARD-0001 --qscd
check "a duplicate is refused with one line, exit 1" sh -c "[ $rc = 1 ] && grep -q 'registered already' '$work/err' && [ \$(wc -l <'$work/err') = 1 ]"
openssl x509 -in "$pki/card2.pem" -outform DER | openssl x509 -inform DER -out "$work/card2-again.pem"
adm import-cert "$work/card2-again.pem" --type business
check "the same certificate as another type is a duplicate too" sh -c "[ $rc = 1 ] && grep -q 'registered already' '$work/err'"
head -c 300 "$pki/tls.pem" >"$work/broken.pem"
adm import-cert "$work/broken.pem" --type tls
check "a broken PEM is refused with one line, exit 1" sh -c "[ $rc = 1 ] && [ \$(wc -l <'$work/err') = 1 ] && grep -q '^revportal-admin: ' '$work/err'"
adm import-cert "$pki/tls.key" --type tls
check "a key file is refused, saying it is a private key" sh -c "[ $rc = 1 ] && grep -qi 'private key' '$work/err'"
adm import-cert "$work/no-such-file.pem" --type tls
check "a missing file is refused" sh -c "[ $rc = 1 ] && grep -q 'no-such-file.pem' '$work/err'"
adm import-cert "$pki/staff1.pem" --type personal --token CARD-0001
check "a token registered as QSCD refuses a non-QSCD import" sh -c "[ $rc = 1 ] && grep -q 'QSCD' '$work/err'"
adm import-cert "$pki/staff1.pem" --type personal --token CARD-0001 --qscd --passphrase-file "$work/pass.txt"
check "a second passphrase for a token is refused" sh -c "[ $rc = 1 ] && grep -q 'passphrase' '$work/err'"
printf 'short\n' >"$work/short.txt"
adm import-cert "$pki/staff1.pem" --type personal --passphrase-file "$work/short.txt"
check "a passphrase under 8 bytes is refused" sh -c "[ $rc = 1 ] && grep -q '8 to 128' '$work/err'"
check "nothing stored by refused imports" test "$(ncerts)" = "$before"
chmod 644 "$work/pass.txt"
adm import-cert "$pki/staff1.pem" --type personal --passphrase-file "$work/pass.txt"
check "a passphrase file readable by others is used, with a warning" sh -c "[ $rc = 0 ] && grep -q 'warning' '$work/err'"
check "a certificate without a token gets its own passphrase" sql_is "SELECT count(*) FROM passphrases s JOIN certificates c ON c.id = s.certificate_id WHERE c.serial = '2001'" 1

# --- files: regular files only, opened once, wiped --------------------------
before=$(ncerts)
mkfifo "$work/fifo"
adm import-cert "$work/fifo" --type personal
check "import-cert of a FIFO: refused at once, not a regular file" sh -c "[ $rc = 1 ] && grep -q 'not a regular file' '$work/err'"
adm import-cert "$work" --type personal
check "import-cert of a directory: refused" sh -c "[ $rc = 1 ] && grep -q 'not a regular file' '$work/err'"
adm import-cert "$pki/hashf.pem" --type personal --passphrase-file "$work/fifo"
check "a FIFO as passphrase file: refused" sh -c "[ $rc = 1 ] && grep -q 'not a regular file' '$work/err'"
chmod 600 "$work/pass.txt"
ln -s "$work/pass.txt" "$work/pass-link.txt"
adm import-cert "$pki/hashf.pem" --type personal --passphrase-file "$work/pass-link.txt"
check "a passphrase file that is a symbolic link: refused" sh -c "[ $rc = 1 ] && grep -q 'symbolic link' '$work/err'"
printf '\357\273\277correct horse battery staple\n' >"$work/bom.txt"
chmod 600 "$work/bom.txt"
adm import-cert "$pki/hashf.pem" --type personal --passphrase-file "$work/bom.txt"
check "a passphrase file with a UTF-8 BOM: refused, saying so" sh -c "[ $rc = 1 ] && grep -q 'byte order mark' '$work/err'"
printf '%s\n' '$argon2id$v=19$m=8,t=1,p=1$c2FsdHNhbHQ$MTIzNDU2Nzg5MDEyMzQ1Ng' >"$work/weak.hash"
chmod 600 "$work/weak.hash"
adm import-cert "$pki/hashf.pem" --type personal --passphrase-hash-file "$work/weak.hash"
check "--passphrase-hash-file with a cheap hash: refused, exit 1" sh -c "[ $rc = 1 ] && grep -q 'm=19456..262144' '$work/err' && ! grep -q 'MTIzNDU2' '$work/err'"
check "nothing stored by refused files" test "$(ncerts)" = "$before"
good_hash='$argon2id$v=19$m=65536,t=3,p=4$c2FsdHNhbHRzYWx0c2FsdA$MTIzNDU2Nzg5MDEyMzQ1Njc4OTAxMjM0NTY3ODkwMTI'
printf '%s\r\n' "$good_hash" >"$work/good.hash"
chmod 600 "$work/good.hash"
adm import-cert "$pki/hashf.pem" --type personal --passphrase-hash-file "$work/good.hash"
check "--passphrase-hash-file: the hash on its first line is stored" sh -c "[ $rc = 0 ] && [ \"\$(sqlite3 '$work/rp.db' \"SELECT s.hash FROM passphrases s JOIN certificates c ON c.id = s.certificate_id WHERE c.serial = '5003'\")\" = '$good_hash' ]"

# --- a serialNumber is a person only in the ETSI natural-person form ------
persons=$(sql 'SELECT count(*) FROM persons')
adm import-cert "$pki/ev.pem" --type tls
check "an EV TLS certificate with serialNumber=5566778000 imports" sh -c "[ $rc = 0 ] && grep -q '^imported 5001 tls ' '$work/out'"
check "... without a person" sh -c "[ \$(sqlite3 '$work/rp.db' 'SELECT count(*) FROM persons') = $persons ] && [ \$(sqlite3 '$work/rp.db' \"SELECT person_id IS NULL FROM certificates WHERE serial = '5001'\") = 1 ]"
adm import-cert "$pki/numsn.pem" --type personal
check "a personal certificate with a numeric serialNumber: imported with a warning" sh -c "[ $rc = 0 ] && grep -q 'not an ETSI natural-person identifier' '$work/err'"
check "... and no person" sql_is "SELECT count(*) FROM persons WHERE person_id = '12345678'" 0

# --- import-dir -------------------------------------------------------------
hash='$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHRzYWx0c2FsdA$MTIzNDU2Nzg5MDEyMzQ1Njc4OTAxMjM0NTY3ODkwMTI'
mkdir -p "$work/dir" "$work/bad"
cp "$pki/dir1.pem" "$pki/dir2.pem" "$pki/dir3.pem" "$work/dir/"
cp "$pki/dir1.pem" "$pki/dir2.pem" "$pki/dir3.pem" "$work/bad/"
{
	echo 'file,type,term_years,token,token_kind,qscd,passphrase_hash'
	echo "dir1.pem,personal,,,,,\"$hash\""
	echo 'dir2.pem,business,3,USB-7,usb,no,'
	echo '"dir3.pem",personal,,"CARD-9",,1,'
} >"$work/dir/certificates.csv"
before=$(ncerts)
adm import-dir "$work/dir"
check "import-dir imports every line" sh -c "[ $rc = 0 ] && grep -q '^imported 3 certificates' '$work/out'"
check "import-dir stored the quoted Argon2 hash as given" sql_is "SELECT s.hash FROM passphrases s JOIN certificates c ON c.id = s.certificate_id WHERE c.serial = '3001'" "$hash"
check "import-dir applied term, token kind and QSCD" sql_is "SELECT c.term_years || '|' || t.kind || '|' || t.qscd FROM certificates c JOIN tokens t ON t.id = c.token_id WHERE c.serial = '3002'" "3|usb|0"
check "three certificates more" test "$(ncerts)" = $((before + 3))

before=$(ncerts)
rm -f "$work/bad/certificates.csv"
# Line 3 is bad (unknown type) after a good line 2: nothing is imported.
for i in 1 2 3; do leaf "new$i" "/CN=New $i/serialNumber=PNOSI-400$i/C=SI" "0x400$i" 365; cp "$pki/new$i.pem" "$work/bad/"; done
{
	echo 'file,type,term_years,token,token_kind,qscd,passphrase_hash'
	echo 'new1.pem,personal,,,,,'
	echo 'new2.pem,persona,,,,,'
	echo 'new3.pem,personal,,,,,'
} >"$work/bad/certificates.csv"
adm import-dir "$work/bad"
check "import-dir names the bad CSV line" sh -c "[ $rc = 1 ] && grep -q 'certificates.csv:3: ' '$work/err' && [ \$(wc -l <'$work/err') = 1 ]"
check "import-dir with a bad line imports nothing" test "$(ncerts)" = "$before"
{
	echo 'file,type,term_years,token,token_kind,qscd,passphrase_hash'
	echo 'new1.pem,personal,,,,,'
	echo 'dir1.pem,personal,,,,,'
} >"$work/bad/certificates.csv"
adm import-dir "$work/bad"
check "import-dir with a duplicate imports nothing" sh -c "[ $rc = 1 ] && grep -q 'certificates.csv:3: dir1.pem' '$work/err' && [ \$(sqlite3 '$work/rp.db' 'SELECT count(*) FROM certificates') = $before ]"
{
	echo 'file,type,term_years,token,token_kind,qscd,passphrase_hash'
	echo '../pki/new1.pem,personal,,,,,'
} >"$work/bad/certificates.csv"
adm import-dir "$work/bad"
check "import-dir refuses a path out of the directory" sh -c "[ $rc = 1 ] && grep -q 'certificates.csv:2: ' '$work/err'"
{
	echo 'file,type,term_years,token,token_kind,qscd,passphrase_hash'
	echo 'new1.pem,personal,,,,,"$argon2id$v=19$m=19456,t=2'
} >"$work/bad/certificates.csv"
adm import-dir "$work/bad"
check "import-dir refuses an unclosed quote" sh -c "[ $rc = 1 ] && grep -q 'certificates.csv:2: ' '$work/err'"
printf 'file,type\nnew1.pem,personal\n' >"$work/bad/certificates.csv"
adm import-dir "$work/bad"
check "import-dir refuses a wrong header" sh -c "[ $rc = 1 ] && grep -q 'certificates.csv:1: ' '$work/err'"
check "still nothing imported" test "$(ncerts)" = "$before"

# Symbolic links never lead out of the directory (nor anywhere else).
mkdir -p "$work/links"
ln -s "$pki/outside.pem" "$work/links/out.pem"
printf 'file,type,term_years,token,token_kind,qscd,passphrase_hash\nout.pem,personal,,,,,\n' >"$work/links/certificates.csv"
adm import-dir "$work/links"
check "import-dir refuses a symbolic link out of the directory" sh -c "[ $rc = 1 ] && grep -q 'certificates.csv:2: out.pem: a symbolic link' '$work/err'"
cp "$pki/inside.pem" "$work/links/inside-real.pem"
ln -s inside-real.pem "$work/links/inside.pem"
printf 'file,type,term_years,token,token_kind,qscd,passphrase_hash\ninside.pem,personal,,,,,\n' >"$work/links/certificates.csv"
adm import-dir "$work/links"
check "import-dir refuses a symbolic link even within the directory" sh -c "[ $rc = 1 ] && grep -q 'symbolic link' '$work/err'"
mkdir -p "$work/links2"
cp "$pki/inside.pem" "$work/links2/"
printf 'file,type,term_years,token,token_kind,qscd,passphrase_hash\ninside.pem,personal,,,,,\n' >"$work/elsewhere.csv"
ln -s ../elsewhere.csv "$work/links2/certificates.csv"
adm import-dir "$work/links2"
check "import-dir refuses a certificates.csv that is a symbolic link" sh -c "[ $rc = 1 ] && grep -q 'symbolic link' '$work/err'"
ln -s "$work/dir" "$work/dir-link"
adm import-dir "$work/dir-link"
check "import-dir refuses a directory that is a symbolic link" sh -c "[ $rc = 1 ] && grep -q 'not a directory' '$work/err'"
mkfifo "$work/links2/pipe.pem"
rm -f "$work/links2/certificates.csv"
printf 'file,type,term_years,token,token_kind,qscd,passphrase_hash\npipe.pem,personal,,,,,\n' >"$work/links2/certificates.csv"
adm import-dir "$work/links2"
check "import-dir refuses a FIFO without waiting on it" sh -c "[ $rc = 1 ] && grep -q 'pipe.pem: not a regular file' '$work/err'"
check "nothing imported through links" sql_is "SELECT count(*) FROM certificates WHERE serial IN ('5004', '5005')" 0

# Input echoed in errors is escaped: no terminal escape reaches stderr.
printf 'file,type,term_years,token,token_kind,qscd,passphrase_hash\nx.pem,%s[31mred,,,,,\n' "$esc" >"$work/links2/certificates.csv"
adm import-dir "$work/links2"
check "a CSV field with an escape sequence is printed escaped" sh -c "[ $rc = 1 ] && grep -qF 'unknown type \"\\x1b[31mred\"' '$work/err' && ! grep -q \"$esc\" '$work/err'"
printf 'file,type,term_years,token,token_kind,qscd,passphrase_hash\n%s]0;owned%s.pem,personal,,,,,\n' "$esc" "$(printf '\007')" >"$work/links2/certificates.csv"
adm import-dir "$work/links2"
check "a CSV file name with an escape sequence is printed escaped" sh -c "[ $rc = 1 ] && grep -qF '\\x1b]0;owned\\x07.pem' '$work/err' && ! grep -q \"$esc\" '$work/err'"
printf 'file,type,term_years,token,token_kind,qscd,passphrase_hash\nx%s.pem,personal,,,,,\n' "$rlo" >"$work/links2/certificates.csv"
adm import-dir "$work/links2"
check "a CSV file name with a bidi control is printed escaped" sh -c "[ $rc = 1 ] && grep -qF 'x\\u{202E}.pem' '$work/err' && ! grep -q \"$rlo\" '$work/err'"
adm import-cert "$work/x${esc}[2J.pem" --type personal
check "a file name with an escape sequence is printed escaped" sh -c "[ $rc = 1 ] && grep -qF 'x\\x1b[2J.pem' '$work/err' && ! grep -q \"$esc\" '$work/err'"
adm import-cert "$(printf 'bad\377name.pem')" --type personal
check "invalid UTF-8 in a file name is printed as \\xHH" sh -c "[ $rc = 1 ] && grep -qF 'bad\\xff' '$work/err'"
cp "$pki/inside.pem" "$work/links2/c1.pem"
printf 'file,type,term_years,token,token_kind,qscd,passphrase_hash\nc1.pem,personal,,CARD%s1,,,\n' "$(printf '\302\233')" >"$work/links2/certificates.csv"
adm import-dir "$work/links2"
check "import-dir refuses a token label with a C1 control" sh -c "[ $rc = 1 ] && grep -q 'certificates.csv:2: token' '$work/err'"
printf 'file,type,term_years,token,token_kind,qscd,passphrase_hash\nc1.pem,personal,,,,,"$argon2id$v=19$m=8,t=1,p=1$c2FsdHNhbHQ$MTIzNDU2Nzg5MDEyMzQ1Ng"\n' >"$work/links2/certificates.csv"
adm import-dir "$work/links2"
check "import-dir refuses a cheap Argon2 hash" sh -c "[ $rc = 1 ] && grep -q 'certificates.csv:2: passphrase_hash' '$work/err'"
printf 'file,type,term_years,token,token_kind,qscd,passphrase_hash\nc1.pem,personal,,,floppy,,\n' >"$work/links2/certificates.csv"
adm import-dir "$work/links2"
check "import-dir refuses an unknown token kind on its line" sh -c "[ $rc = 1 ] && grep -q 'certificates.csv:2: token_kind' '$work/err'"
printf 'file,type,term_years,token,token_kind,qscd,passphrase_hash,extra\n' >"$work/links2/certificates.csv"
adm import-dir "$work/links2"
check "import-dir refuses a header with an extra column" sh -c "[ $rc = 1 ] && grep -q 'certificates.csv:1: ' '$work/err'"

# --- import-dir: plain file names, seven fields, at most 10000 rows --------
# Each case runs on a fresh database of its own (a case that wrongly
# stored something cannot change the next).  Each refused CSV starts with
# a good line, so that "nothing stored" also shows that line rolled back,
# and its refused line names a file that is there and would import: only
# the check in question stops it.
# stored DB: the rows of every table an import writes, as one string.
stored() {
	sqlite3 -batch "$1" "SELECT (SELECT count(*) FROM certificates) || '/' || (SELECT count(*) FROM persons) || '/' || (SELECT count(*) FROM organisations) || '/' || (SELECT count(*) FROM tokens) || '/' || (SELECT count(*) FROM passphrases) || '/' || (SELECT count(*) FROM audit)"
}
# fresh DB: makes DB a new, empty database; $before is what it stores.
fresh() {
	rm -f "$1" "$1-wal" "$1-shm"
	admdb "$1" init
	before=$(stored "$1")
}
# refused_at DB LINE TEXT: the last command failed with exit status 1
# and one line on stderr, "...certificates.csv:LINE: TEXT", nothing on
# stdout, and nothing was stored in DB (stored DB is still $before,
# which must not be empty: a database without tables stores nothing).
refused_at() {
	[ -n "$before" ] && rc_is 1 && err_one_line && [ ! -s "$work/out" ] &&
	    grep -qF -- "certificates.csv:$2: $3" "$work/err" &&
	    [ "$(stored "$1")" = "$before" ]
}
# csvrows DIR LINE...: writes DIR/certificates.csv, the header and LINEs.
csvrows() {
	local d=$1
	shift
	{
		echo 'file,type,term_years,token,token_kind,qscd,passphrase_hash'
		printf '%s\n' "$@"
	} >"$d/certificates.csv"
}
plain="the file name must be a plain name in the directory (no '/', not starting with '.')"
made=1
leaf plain1 "/CN=Plain One/serialNumber=PNOSI-7001/C=SI" 0x7001 1826 || made=0
leaf plain2 "/CN=Plain Two/serialNumber=PNOSI-7002/C=SI" 0x7002 1826 || made=0
check "openssl made the certificates of the CSV record checks" test "$made" = 1
names=$work/names
cdb=$work/csv.db
mkdir -p "$names/sub"
cp "$pki/plain1.pem" "$names/plain1.pem"
cp "$pki/plain2.pem" "$names/plain2.pem"
cp "$pki/plain2.pem" "$names/.plain2.pem"
cp "$pki/plain2.pem" "$names/sub/plain2.pem"
fresh "$cdb"
csvrows "$names" 'plain1.pem,personal,,,,,' '.plain2.pem,personal,,,,,'
admdb "$cdb" import-dir "$names"
check "import-dir refuses a file name starting with '.', naming its line" refused_at "$cdb" 3 "$plain"
fresh "$cdb"
csvrows "$names" 'plain1.pem,personal,,,,,' 'sub/plain2.pem,personal,,,,,'
admdb "$cdb" import-dir "$names"
check "import-dir refuses a file name with '/', even one inside DIR" refused_at "$cdb" 3 "$plain"
fresh "$cdb"
csvrows "$names" 'plain1.pem,personal,,,,,' 'plain2.pem,personal'
admdb "$cdb" import-dir "$names"
check "import-dir refuses a record of 2 fields, naming its line" refused_at "$cdb" 3 "2 of the 7 fields"
fresh "$cdb"
csvrows "$names" 'plain1.pem,personal,,,,,' 'plain2.pem,personal,,,,'
admdb "$cdb" import-dir "$names"
check "import-dir refuses a record of 6 fields" refused_at "$cdb" 3 "6 of the 7 fields"
# Eight fields never reach import-dir's own count: the CSV reader stops
# at CSV_FIELDS_MAX (7).
fresh "$cdb"
csvrows "$names" 'plain1.pem,personal,,,,,' 'plain2.pem,personal,,,,,,'
admdb "$cdb" import-dir "$names"
check "import-dir refuses a record of 8 fields, naming its line" refused_at "$cdb" 3 "more than 7 fields"
fresh "$cdb"
csvrows "$names" 'plain1.pem,personal,,,,,' 'plain2.pem,personal,,,,,'
admdb "$cdb" import-dir "$names"
check "the same files, plain names in records of 7 fields, import" sh -c "[ $rc = 0 ] && grep -q '^imported 2 certificates' '$work/out' && [ \$(sqlite3 -batch '$cdb' 'SELECT count(*) FROM certificates') = 2 ]"
rm -f "$cdb" "$cdb-wal" "$cdb-shm"

# The row limit is checked as each record is read, after the rows before
# it were imported (in the transaction): 10001 rows naming one file would
# stop at the duplicate on line 3.  So the rows name 10001 certificates,
# one request signed 10001 times by one "openssl ca" run, imported into a
# database of their own.
bulk=$work/bulk
mkdir -p "$bulk/ca" "$bulk/dir"
: >"$bulk/ca/index.txt"
echo 700000 >"$bulk/ca/serial"
cat >"$bulk/ca/ca.cnf" <<EOC
[ca]
default_ca = bulk
[bulk]
database = $bulk/ca/index.txt
serial = $bulk/ca/serial
new_certs_dir = $bulk/dir
certificate = $pki/ca.pem
private_key = $pki/ca.key
default_md = sha256
default_days = 365
policy = any
unique_subject = no
[any]
commonName = supplied
EOC
csrs=()
for ((i = 0; i < 10001; i++)); do csrs+=(bulk.csr); done
made=0
if openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
    -keyout "$bulk/ca/bulk.key" -out "$bulk/ca/bulk.csr" \
    -subj "/CN=bulk.example.si/C=SI" >/dev/null 2>&1 &&
    (cd "$bulk/ca" && openssl ca -batch -config ca.cnf -notext \
    -out /dev/null -infiles "${csrs[@]}") >/dev/null 2>&1; then
	made=$(find "$bulk/dir" -name '7*.pem' | wc -l)
fi
check "openssl ca made 10001 certificates" test "$made" = 10001
(cd "$bulk/dir" && ls -- 7*.pem) | sed 's/$/,tls,,,,,/' >"$bulk/rows"
mapfile -t rows <"$bulk/rows"
csvrows "$bulk/dir" "${rows[@]}"
fresh "$work/bulk.db"
admdb "$work/bulk.db" import-dir "$bulk/dir"
check "import-dir refuses row 10001 (line 10002) and stores none of the 10000 before it" refused_at "$work/bulk.db" 10002 "more than 10000 certificates in one import"
csvrows "$bulk/dir" "${rows[@]:0:10000}"
fresh "$work/bulk.db"
admdb "$work/bulk.db" import-dir "$bulk/dir"
check "import-dir imports 10000 rows, the most it takes" sh -c "[ $rc = 0 ] && grep -q '^imported 10000 certificates' '$work/out' && [ \$(sqlite3 -batch '$work/bulk.db' 'SELECT count(*) FROM certificates') = 10000 ]"
unset rows csrs
rm -rf "$bulk" "$work/bulk.db"

# --- legal representatives ------------------------------------------------
adm add-rep --org VATSI-12345678 --person PNOSI-5001 --name "Darja Zakonita" --email darja@example.si --from 2026-01-01
check "add-rep registers a new person as legal rep" sh -c "[ $rc = 0 ] && grep -q '^added rep PNOSI-5001 of VATSI-12345678 from 2026-01-01T00:00:00.000Z' '$work/out'"
adm add-rep --org VATSI-12345678 --person PNOSI-5001 --from 2026-02-01
check "add-rep refuses a representation already in force" sh -c "[ $rc = 1 ] && grep -q 'already represents' '$work/err'"
adm add-rep --org VATSI-99999999 --person PNOSI-1002
check "add-rep of a new organisation without its name fails" sh -c "[ $rc = 1 ] && grep -q 'give its name' '$work/err'"
adm add-rep --org VATSI-12345678 --person PNOSI-1002 --from 2026-13-01
check "add-rep with an impossible date: exit 2" rc_is 2
adm add-rep --org VATSI-12345678
check "add-rep without --person: exit 2" rc_is 2
check "the representation is open-ended" sql_is "SELECT valid_to IS NULL FROM legal_reps r JOIN persons p ON p.id = r.person_id WHERE p.person_id = 'PNOSI-5001'" 1
adm remove-rep --org VATSI-12345678 --person PNOSI-5001
check "remove-rep ends it" sh -c "[ $rc = 0 ] && grep -q '^ended rep PNOSI-5001 of VATSI-12345678' '$work/out'"
check "the representation has an end now" sql_is "SELECT valid_to IS NOT NULL FROM legal_reps r JOIN persons p ON p.id = r.person_id WHERE p.person_id = 'PNOSI-5001'" 1
adm remove-rep --org VATSI-12345678 --person PNOSI-5001
check "remove-rep of no representation: exit 1" rc_is 1

adm add-rep --org VATSI-12345678 --person PNOSI-5002 --name "Erik Zastopnik" --from 2020-01-01 --to 2024-01-01
check "add-rep of a closed period" rc_is 0
adm add-rep --org VATSI-12345678 --person PNOSI-5002 --from 2023-06-01 --to 2025-01-01
check "add-rep refuses a period overlapping an earlier one" sh -c "[ $rc = 1 ] && grep -q 'already represents' '$work/err'"
adm add-rep --org VATSI-12345678 --person PNOSI-5002 --from 2019-01-01
check "add-rep refuses an open period that covers an earlier one" rc_is 1
adm add-rep --org VATSI-12345678 --person PNOSI-5002 --from 2021-01-01 --to 2022-01-01
check "add-rep refuses a period inside an earlier one" rc_is 1
adm add-rep --org VATSI-12345678 --person PNOSI-5002 --from 2024-01-01 --to 2025-01-01
check "add-rep accepts a period that starts where the last ended" rc_is 0
check "two periods, no overlap" sql_is "SELECT count(*) FROM legal_reps r JOIN persons p ON p.id = r.person_id WHERE p.person_id = 'PNOSI-5002'" 2

adm add-rep --org VATSI-12345678 --person PNOSI-5003 --name "Fran Prihodnji" --from 2099-01-01
check "add-rep of a period that begins in the future" rc_is 0
adm remove-rep --org VATSI-12345678 --person PNOSI-5003
check "remove-rep removes a representation that has not begun" sh -c "[ $rc = 0 ] && grep -q '^cancelled rep PNOSI-5003 of VATSI-12345678' '$work/out'"
check "... it ends at its start, never in force" sql_is "SELECT valid_to = valid_from FROM legal_reps r JOIN persons p ON p.id = r.person_id WHERE p.person_id = 'PNOSI-5003'" 1
check "... and the audit log says so" sql_is "SELECT count(*) FROM audit WHERE action = 'rep.cancel' AND details LIKE '%PNOSI-5003%'" 1
adm remove-rep --org VATSI-12345678 --person PNOSI-5003
check "remove-rep of a cancelled representation: exit 1" rc_is 1

"$ADMIN" -c "$work/rp.ini" add-rep --org VATSI-12345678 --person PNOSI-5004 --name "Gal Full" >/dev/full 2>"$work/err"
rc=$?
check "add-rep whose report cannot be written: exit 1, nothing changed" sh -c "[ $rc = 1 ] && grep -q 'nothing was changed' '$work/err' && [ \$(wc -l <'$work/err') = 1 ] && [ \$(sqlite3 '$work/rp.db' \"SELECT count(*) FROM persons WHERE person_id = 'PNOSI-5004'\") = 0 ]"

# --- staff -------------------------------------------------------------------
fp=$(openssl x509 -in "$pki/staff1.pem" -noout -fingerprint -sha256 | cut -d= -f2)
sha=$(echo "$fp" | tr -d ':' | tr 'A-F' 'a-f')
adm add-staff "$pki/staff1.pem" --role agent --role officer
check "add-staff creates an account named after the CN" sh -c "[ $rc = 0 ] && grep -qx 'added staff $sha Agent Ana agent,officer' '$work/out'"
adm add-staff "$pki/staff1.pem" --role admin
check "add-staff twice is refused" rc_is 1
adm add-staff "$pki/tls.pem" --role boss
check "add-staff with an unknown role: exit 2" rc_is 2
adm add-staff "$pki/tls.pem" --role admin,agent --name "Web Admin"
check "add-staff with a role list and a name" sh -c "[ $rc = 0 ] && grep -q ' Web Admin agent,admin$' '$work/out'"
adm staff
check "staff lists both, active, under a header" sh -c "[ $rc = 0 ] && head -n 1 '$work/out' | grep -q '^sha256	name	roles	active' && [ \$(grep -c '	yes	' '$work/out') = 2 ]"
adm disable-staff "$fp"
check "disable-staff takes the colon fingerprint" sh -c "[ $rc = 0 ] && grep -qx 'disabled staff $sha' '$work/out'"
adm staff
check "the account shows as inactive" sh -c "grep '^$sha' '$work/out' | grep -q '	no	'"
adm disable-staff 0000000000000000000000000000000000000000000000000000000000000000
check "disable-staff of an unknown fingerprint: exit 1" rc_is 1
adm disable-staff abc
check "disable-staff of a malformed fingerprint: exit 2" rc_is 2
adm enable-staff "$sha"
check "enable-staff enables it again" sh -c "[ $rc = 0 ] && [ \$(sqlite3 '$work/rp.db' \"SELECT active FROM staff WHERE cert_sha256 = '$sha'\") = 1 ]"
adm add-staff "$pki/rlostaff.pem" --role agent
check "add-staff refuses a common name with a right-to-left override" sh -c "[ $rc = 1 ] && grep -q 'bidi' '$work/err'"
adm add-staff "$pki/rlostaff.pem" --role agent --name "Agent Ana"
check "... also under another name (its subject holds it)" rc_is 1
check "... no account made" sql_is "SELECT count(*) FROM staff" 2
# Values stored by older versions, or by hand, are shown escaped.
sql "UPDATE staff SET name = 'Web ' || char(27) || '[2J' || char(8238) || 'nimdA' || char(133) || char(9) WHERE cert_sha256 <> '$sha'"
adm staff
check "staff shows C0, C1 and bidi controls escaped" sh -c "[ $rc = 0 ] && grep -qF 'Web \\x1b[2J\\u{202E}nimdA\\u{0085}\\t	' '$work/out' && ! grep -q \"$esc\" '$work/out' && ! grep -q \"$rlo\" '$work/out' && [ \$(wc -l <'$work/out') = 3 ]"

# --- requests, show, export -------------------------------------------------
adm requests
check "requests lists none under a header" sh -c "[ $rc = 0 ] && [ \$(wc -l <'$work/out') = 1 ] && head -n 1 '$work/out' | grep -q '^request_id	'"
adm requests --state bogus
check "requests --state bogus: exit 2" rc_is 2
adm show AAAAAAAAAAAAAAAAAAAAAA
check "show of an unknown request: exit 1" sh -c "[ $rc = 1 ] && grep -q 'no request' '$work/err'"
adm show 'bad id'
check "show of a malformed id: exit 2" rc_is 2
adm export --json
check "export --json is valid JSON" sh -c "[ $rc = 0 ] && python3 -m json.tool '$work/out' >/dev/null"
cp "$work/out" "$work/export.json"
check "export holds every certificate with its PEM" python3 -c "
import json, sys
d = json.load(open('$work/export.json'))
certs = d['certificates']
assert len(certs) == $(ncerts), len(certs)
assert all(c['pem'].startswith('-----BEGIN CERTIFICATE-----') for c in certs)
assert {'organisations', 'persons', 'legal_reps', 'tokens', 'staff', 'requests'} <= set(d)
assert any(t['label'] == 'CARD-0001' and t['passphrase_set'] for t in d['tokens'])
"
check "export holds no passphrase hash" sh -c "! grep -q 'argon2' '$work/export.json'"
adm export
check "export without --json: exit 2" rc_is 2

# export reads a snapshot: it neither waits for nor blocks a writer.
rm -f "$work/locked"
sqlite3 -batch "$work/rp.db" <<EOF >/dev/null 2>&1 &
BEGIN IMMEDIATE;
.shell touch '$work/locked'
.shell sleep 4
COMMIT;
EOF
holder=$!
for i in $(seq 1 50); do [ -f "$work/locked" ] && break; sleep 0.1; done
adm export --json
alive=0; kill -0 "$holder" 2>/dev/null && alive=1
check "export succeeds while another process holds BEGIN IMMEDIATE" sh -c "[ -f '$work/locked' ] && [ $rc = 0 ] && [ $alive = 1 ] && python3 -m json.tool '$work/out' >/dev/null"
wait "$holder"

# --- audit chain ---------------------------------------------------------------
adm audit-verify
entries=$(sql 'SELECT count(*) FROM audit')
check "audit-verify: intact" sh -c "[ $rc = 0 ] && grep -q '^audit chain intact: $entries entries, head [0-9a-f]\{64\}$' '$work/out'"
check "there are enough entries to tamper with" test "$entries" -ge 5

# tamper NAME SQL: runs SQL on a fresh copy of the database with the
# triggers dropped, then audit-verify on the copy.
tamper() {
	rm -f "$work/t.db" "$work/t.db-wal" "$work/t.db-shm"
	sqlite3 -batch "$work/rp.db" ".backup '$work/t.db'" &&
	sqlite3 -batch "$work/t.db" "DROP TRIGGER audit_no_update; DROP TRIGGER audit_no_delete; $1" &&
	admdb "$work/t.db" audit-verify
}
tamper "UPDATE audit SET details = '{\"type\":\"tls\"}' WHERE seq = 3;"
check "a changed entry breaks the chain at its sequence" sh -c "[ $rc = 1 ] && grep -qx 'audit chain broken at sequence 3' '$work/out'"
tamper "UPDATE audit SET actor = 'admin:mallory' WHERE seq = $entries;"
check "a changed last entry is caught too" sh -c "[ $rc = 1 ] && grep -qx 'audit chain broken at sequence $entries' '$work/out'"
tamper "DELETE FROM audit WHERE seq = 4;"
check "a deleted entry breaks the chain at its sequence" sh -c "[ $rc = 1 ] && grep -qx 'audit chain broken at sequence 4' '$work/out'"
tamper "CREATE TEMP TABLE s AS SELECT * FROM audit WHERE seq IN (2, 3);
UPDATE audit SET at = (SELECT at FROM s WHERE seq = 3), actor = (SELECT actor FROM s WHERE seq = 3), action = (SELECT action FROM s WHERE seq = 3), subject = (SELECT subject FROM s WHERE seq = 3), details = (SELECT details FROM s WHERE seq = 3), prev_hash = (SELECT prev_hash FROM s WHERE seq = 3), hash = (SELECT hash FROM s WHERE seq = 3) WHERE seq = 2;
UPDATE audit SET at = (SELECT at FROM s WHERE seq = 2), actor = (SELECT actor FROM s WHERE seq = 2), action = (SELECT action FROM s WHERE seq = 2), subject = (SELECT subject FROM s WHERE seq = 2), details = (SELECT details FROM s WHERE seq = 2), prev_hash = (SELECT prev_hash FROM s WHERE seq = 2), hash = (SELECT hash FROM s WHERE seq = 2) WHERE seq = 3;"
check "two swapped entries break the chain at the first" sh -c "[ $rc = 1 ] && grep -qx 'audit chain broken at sequence 2' '$work/out'"
adm audit-verify
check "the original database is still intact" rc_is 0
check "the triggers refuse an UPDATE of the audit log" sh -c "! sqlite3 '$work/rp.db' \"UPDATE audit SET actor = 'x' WHERE seq = 1\" 2>/dev/null"

# --- sweep: a suspension reaches its 60-day limit -------------------------------
# The suspension itself is set up directly in the database (the web flow
# that suspends is not part of this test): suspended at day 0.
day0=$(python3 -c 'import calendar; print(calendar.timegm((2030, 3, 1, 12, 0, 0)) * 1000)')
until=$((day0 + 60 * 86400 * 1000))
sql "UPDATE certificates SET status = 'suspended', status_at = $day0, suspended_at = $day0, suspended_until = $until, reason = 'keyCompromise' WHERE serial = '1002'"
adm --now 2030-04-29T12:00:00Z sweep
check "sweep on day 59: nothing to do" sh -c "[ $rc = 0 ] && grep -qx 'suspensions_ended=0 approvals_expired=0 overdue=0' '$work/out'"
adm --now 2030-04-30T12:00:00Z sweep
check "sweep on day 60: the suspension ends" sh -c "[ $rc = 0 ] && grep -qx 'suspensions_ended=1 approvals_expired=0 overdue=0' '$work/out'"
adm --now 2030-04-30T12:00:00Z requests
check "a system revoke request for the certificate" sh -c "[ \$(wc -l <'$work/out') = 2 ] && grep -q '	revoke	.*	system	.*	1002$' '$work/out'"
rid=$(sed -n '2s/	.*//p' "$work/out")
adm --now 2030-04-30T12:01:00Z sweep
check "sweep run again: no second request" sh -c "[ $rc = 0 ] && grep -q '^suspensions_ended=0 ' '$work/out' && [ \$(sqlite3 '$work/rp.db' 'SELECT count(*) FROM requests') = 1 ]"
adm --now 2030-05-02T12:00:00Z requests --overdue
check "requests --overdue lists it once past its due time" sh -c "[ $rc = 0 ] && grep -q \"^$rid	\" '$work/out'"
adm --now 2030-05-02T12:00:00Z sweep
check "sweep reports the overdue request" sh -c "[ $rc = 0 ] && grep -q ' overdue=1$' '$work/out'"
adm show "$rid"
check "show prints the request, its certificate and audit trail" sh -c "[ $rc = 0 ] && grep -q '^request_id	$rid$' '$work/out' && grep -q '^1002	business	' '$work/out' && grep -q '	system:sweep	' '$work/out'"
adm audit-verify
check "the chain is intact after the sweep" rc_is 0

# --- show and export of a request with an approval ------------------------------
# The approval is made directly in the database (the signing flow is the
# web's); its signature must never leave the database.
sql "INSERT INTO approvals (request_id, person_id, staff_id, roles, signature, signer_sha256, approved_at) VALUES ((SELECT id FROM requests WHERE public_id = '$rid'), (SELECT id FROM persons WHERE person_id = 'PNOSI-5002'), NULL, 2, CAST('SIGNATURE-SECRET-MARKER' AS BLOB), '$sha', $day0)"
adm show "$rid"
check "show lists the approval" sh -c "[ $rc = 0 ] && grep -A2 '^approvals$' '$work/out' | grep -q '	PNOSI-5002	Erik Zastopnik	-	legal_rep	$sha$'"
adm export --json
cp "$work/out" "$work/export2.json"
check "export holds the approval" python3 -c "
import json
d = json.load(open('$work/export2.json'))
r = [r for r in d['requests'] if r['request_id'] == '$rid'][0]
assert len(r['approvals']) == 1, r
a = r['approvals'][0]
assert a['person_id'] == 'PNOSI-5002' and a['signer_sha256'] == '$sha', a
assert 'signature' not in a, a
"
b64=$(printf 'SIGNATURE-SECRET-MARKER' | base64)
hex=$(printf 'SIGNATURE-SECRET-MARKER' | od -An -tx1 | tr -d ' \n')
check "export never contains a signature" sh -c "! grep -qi -e 'SIGNATURE-SECRET' -e '$b64' -e '$hex' -e '\"signature\"' '$work/export2.json'"

# --- show with an id that starts with '-' ---------------------------------------
dash_id='-dashIdStartsWithMinus'
sql "INSERT INTO requests (public_id, action, reason, channel, auth_method, requester, state, received_at, due_at, updated_at) VALUES ('$dash_id', 'suspend', 'unspecified', 'hotline', 'staff', 'staff:test', 'queued', $day0, $day0, $day0)"
adm show "$dash_id"
check "show takes an id that starts with '-'" sh -c "[ $rc = 0 ] && grep -qx 'request_id	$dash_id' '$work/out'"
adm show -- "$dash_id"
check "show -- ID works too" sh -c "[ $rc = 0 ] && grep -qx 'request_id	$dash_id' '$work/out'"
adm show -x
check "show of a short option is still an option error: exit 2" rc_is 2

# --- four sweeps at once --------------------------------------------------------
for i in 1 2 3 4; do adm import-cert "$pki/due$i.pem" --type personal; done
now_ms=$(python3 -c 'import time; print(int(time.time() * 1000))')
s_at=$((now_ms - 61 * 86400 * 1000))
s_until=$((now_ms - 86400 * 1000))
sql "UPDATE certificates SET status = 'suspended', status_at = $s_at, suspended_at = $s_at, suspended_until = $s_until, reason = 'keyCompromise' WHERE serial IN ('6001', '6002', '6003')"
before=$(sql "SELECT count(*) FROM requests WHERE channel = 'system'")
for i in 1 2 3 4; do
	"$ADMIN" -c "$work/rp.ini" sweep >"$work/sweep$i.out" 2>"$work/sweep$i.err" &
	pids="${pids:-} $!"
done
swept=0
for p in $pids; do wait "$p" || swept=1; done
check "four sweeps at once all succeed" test "$swept" = 0
check "... and make exactly 3 system requests" sql_is "SELECT count(*) - $before FROM requests WHERE channel = 'system'" 3
check "... one for each due suspension" sql_is "SELECT count(DISTINCT c.serial) FROM requests r JOIN request_certificates rc ON rc.request_id = r.id JOIN certificates c ON c.id = rc.certificate_id WHERE r.channel = 'system' AND c.serial IN ('6001', '6002', '6003')" 3
check "... reported once in all" sh -c "cat '$work'/sweep[1-4].out | sed -n 's/^suspensions_ended=\([0-9]*\) .*/\1/p' | awk '{ s += \$1 } END { exit s != 3 }'"

# A sweep that changed something but cannot write its report says so.
sql "UPDATE certificates SET status = 'suspended', status_at = $s_at, suspended_at = $s_at, suspended_until = $s_until, reason = 'keyCompromise' WHERE serial = '6004'"
"$ADMIN" -c "$work/rp.ini" sweep >/dev/full 2>"$work/err"
rc=$?
check "sweep that cannot write its report: exit 1, 'committed'" sh -c "[ $rc = 1 ] && grep -q 'committed, but could not write the report' '$work/err'"
check "... and the change was made" sql_is "SELECT count(*) FROM requests r JOIN request_certificates rc ON rc.request_id = r.id JOIN certificates c ON c.id = rc.certificate_id WHERE c.serial = '6004'" 1
adm audit-verify
check "the chain is intact after concurrent sweeps" rc_is 0

# --- the audit head as an anchor outside the database ----------------------------
# The sweep logs the head when it moved; audit-verify --anchor then
# catches a log cut short, which the chain alone cannot.
adm sweep
adm sweep
check "a sweep with nothing new logs no head" sh -c "[ $rc = 0 ] && ! grep -q 'event=audit_head' '$work/err'"
adm add-rep --org VATSI-99999999 --org-name "Anchor d.o.o." --person PNOSI-9999999999999 --name "Anchor Person"
check "an audited change for the anchor" rc_is 0
adm sweep
anchor=$(sed -n 's/.*event=audit_head seq=\([0-9]*\) hash=\([0-9a-f]*\).*/\1:\2/p' "$work/err")
check "a sweep after a change logs the head once" sh -c "[ $rc = 0 ] && [ \$(grep -c 'event=audit_head' '$work/err') = 1 ] && [ -n '$anchor' ]"
head_seq=$(sqlite3 "$work/rp.db" 'SELECT max(seq) FROM audit')
check "... as the last entry" test "${anchor%%:*}" = "$head_seq"
adm audit-verify --anchor "$anchor"
check "audit-verify --anchor with the logged head: intact" sh -c "[ $rc = 0 ] && grep -q '^audit chain intact' '$work/out'"
adm audit-verify --anchor "1:$(printf '%064d' 0)"
check "an anchor with another hash: exit 1" sh -c "[ $rc = 1 ] && grep -q 'does not hold entry 1 as anchored' '$work/out'"
adm audit-verify --anchor "12x:abc"
check "a malformed anchor: exit 2" rc_is 2
cp "$work/rp.db" "$work/cut.db"
sqlite3 "$work/cut.db" "DROP TRIGGER audit_no_delete; DELETE FROM audit WHERE seq = (SELECT max(seq) FROM audit)"
admdb "$work/cut.db" audit-verify
check "a log cut short passes the chain check alone" rc_is 0
admdb "$work/cut.db" audit-verify --anchor "$anchor"
check "... but not the anchor: exit 1" sh -c "[ $rc = 1 ] && grep -q 'cut short or rewritten' '$work/out'"

echo "RESULT passed=$pass failed=$fail"
[ "$fail" -eq 0 ]
