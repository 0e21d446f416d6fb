# shellcheck shell=bash
# revportal: what the benchmarks of the passphrase flows and the relay
# share (tests/bench/bench_flows.sh, tests/bench/bench_relay.sh).
#
# A bash library: source it after deploy/stack.sh, from the repository
# top.  It defines:
#   bl_die MESSAGE          "bench: MESSAGE" on stderr, exit 1
#   bl_warn MESSAGE         "bench: warning: MESSAGE" on stderr
#   bl_need TOOL...         bl_die unless every tool is on PATH
#   bl_median N...          the median of numbers
#   bl_ratio A B            A / B with two decimals, "n/a" when B is 0
#   bl_pct P FILE           the P-th percentile (nearest rank) of the
#                           numbers in FILE, one a line
#   bl_cpu_ticks PID...     CPU clock ticks (user + system) of the
#                           processes and their children
#   bl_children_ms FILE     sets BL_CHILDREN_MS to the CPU milliseconds
#                           (user + system) of this shell's children that
#                           were waited for, so far: take the difference
#                           around a command.  FILE is scratch space.
#                           Not in $(...): a subshell has its own count.
#   bl_now                  wall-clock seconds with microseconds
#   bl_openssl_certs DIR N  N personal certificates from a throwaway CA
#                           made with one `openssl ca` run, as DIR/HEX.pem
#   bl_import ADMIN INI DIR HASH
#                           imports every DIR/*.pem with revportal-admin
#                           import-dir as a personal certificate with the
#                           Argon2id string HASH as its passphrase, in
#                           batches that fit the import's limits
#   bl_api_config FILE URL CAFILE ACTION PASSPHRASE SERIAL...
#                           writes a curl config (-K) of one POST
#                           /api/v1/requests per serial, each printing its
#                           HTTP status on a line (options after "next"
#                           start afresh, so each transfer names them all)
#
# The certificates carry the subject of one natural person (ETSI
# serialNumber PNOSI-...), the shape the portal's registry expects of a
# personal certificate; they differ only in their serial numbers.

# Who the benchmark's certificates name.
BL_SUBJECT="/CN=Bench Person/serialNumber=PNOSI-9000000000001/C=SI"
# At most this many certificates per import-dir run: the CSV must stay
# under the reader's 1 MiB (a row with its quoted hash is ~120 bytes) and
# the import's 10,000 rows.
BL_IMPORT_BATCH=5000

bl_die() {
	echo "bench: $*" >&2
	exit 1
}

bl_warn() {
	echo "bench: warning: $*" >&2
}

bl_need() {
	local t
	for t in "$@"; do
		command -v "$t" >/dev/null 2>&1 || bl_die "$t is missing (make deps)"
	done
}

bl_median() {
	printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END {
		if (NR == 0) print 0
		else print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

bl_ratio() {
	awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else printf "n/a" }'
}

bl_pct() {
	sort -g "$2" | awk -v p="$1" '{ v[NR] = $1 } END {
		if (NR == 0) { print "n/a"; exit }
		k = int(p / 100 * NR + 0.999999); if (k < 1) k = 1; if (k > NR) k = NR
		print v[k] }'
}

bl_cpu_ticks() {
	local p t=0 v
	for p in "$@" $(for q in "$@"; do pgrep -P "$q" 2>/dev/null; done); do
		v=$(awk '{ sub(/^.*\) /, ""); print $12 + $13 }' "/proc/$p/stat" 2>/dev/null) || v=0
		t=$((t + ${v:-0}))
	done
	echo "$t"
}

bl_children_ms() {
	# times prints the shell's line, then the children's: "0m1.250s 0m0.030s".
	times >"$1"
	# shellcheck disable=SC2034  # read by the caller
	BL_CHILDREN_MS=$(awk 'NR == 2 {
		t = 0
		for (i = 1; i <= 2; i++) {
			split($i, p, "m"); sub(/s$/, "", p[2]); t += p[1] * 60 + p[2]
		}
		printf "%d\n", t * 1000 }' "$1")
}

bl_now() {
	printf '%s\n' "${EPOCHREALTIME/,/.}"
}

bl_openssl_certs() {
	local dir=$1 n=$2 ca=$1/.ca i
	local -a csrs=()
	mkdir -p "$ca/new" || return 1
	: >"$ca/index.txt"
	# Serials from 0x100000 up: six hex digits, no leading zero.
	echo 100000 >"$ca/serial"
	cat >"$ca/ca.cnf" <<EOF
[ca]
default_ca = bench
[bench]
dir = $ca
database = \$dir/index.txt
serial = \$dir/serial
new_certs_dir = \$dir/new
certificate = \$dir/ca.pem
private_key = \$dir/ca.key
default_md = sha256
default_days = 1826
policy = any
unique_subject = no
preserve = yes
x509_extensions = leaf
[any]
commonName = supplied
serialNumber = optional
countryName = optional
[leaf]
basicConstraints = CA:FALSE
keyUsage = critical, digitalSignature, nonRepudiation
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
EOF
	if ! openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 \
	    -nodes -keyout "$ca/ca.key" -out "$ca/ca.pem" -days 3650 \
	    -subj "/CN=Bench CA/O=Bench TSP/C=SI" >"$ca/log" 2>&1 ||
	    ! openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 \
	    -nodes -keyout "$ca/leaf.key" -out "$ca/leaf.csr" \
	    -subj "$BL_SUBJECT" >>"$ca/log" 2>&1; then
		cat "$ca/log" >&2
		return 1
	fi
	# One key and one request for all: only the serial numbers differ.
	for ((i = 0; i < n; i++)); do
		csrs+=("$ca/leaf.csr")
	done
	openssl ca -batch -notext -config "$ca/ca.cnf" -out /dev/null \
	    -infiles "${csrs[@]}" >>"$ca/log" 2>&1 || { cat "$ca/log" >&2; return 1; }
	mv "$ca/new/"*.pem "$dir/" || return 1
}

bl_import() {
	local admin=$1 ini=$2 dir=$3 hash=$4 b=0 k=0 f batch=""
	local -a files
	files=("$dir/"*.pem)
	[[ -e ${files[0]} ]] || { echo "bl_import: no certificates in $dir" >&2; return 1; }
	for f in "${files[@]##*/}"; do
		if ((k % BL_IMPORT_BATCH == 0)); then
			b=$((b + 1))
			batch=$dir/.import$b
			mkdir -p "$batch" || return 1
			echo "file,type,term_years,token,token_kind,qscd,passphrase_hash" \
			    >"$batch/certificates.csv"
		fi
		ln -f "$dir/$f" "$batch/$f" || return 1
		printf '%s,personal,,,,,"%s"\n' "$f" "$hash" >>"$batch/certificates.csv"
		k=$((k + 1))
	done
	for ((k = 1; k <= b; k++)); do
		"$admin" -c "$ini" import-dir "$dir/.import$k" >"$dir/.import$k.log" 2>&1 || {
			tail -n 5 "$dir/.import$k.log" >&2
			return 1
		}
		rm -rf "$dir/.import$k"
	done
}

bl_api_config() {
	local file=$1 url=$2 cafile=$3 action=$4 pass=$5 s first=1
	shift 5
	{
		for s in "$@"; do
			((first)) || echo next
			first=0
			printf 'url = "%s/api/v1/requests"\n' "$url"
			printf 'cacert = "%s"\nnoproxy = "*"\nsilent\nshow-error\n' "$cafile"
			printf 'header = "Content-Type: application/json"\n'
			printf 'data = "{\\"action\\":\\"%s\\",\\"serial\\":\\"%s\\",\\"passphrase\\":\\"%s\\"}"\n' \
			    "$action" "$s" "$pass"
			printf 'output = "/dev/null"\n'
			printf 'write-out = "%%{http_code}\\n"\n'
		done
	} >"$file"
}
