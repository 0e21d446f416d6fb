# shellcheck shell=bash
# revportal: start and stop the whole stack (nginx + revportal) on loopback.
#
# A bash library: source it, do not execute it.  Used by deploy/dev-run.sh
# (`make run`), the integration tests and tests/bench/bench.sh.
#
#   . deploy/stack.sh
#   port=$(stack_free_port)
#   stack_start "$dir" build/test/revportal "127.0.0.1:$port" [WORKERS] \
#       [EXTRA_INI] [EXTRA_NGINX]
#   curl --cacert "$STACK_CACERT" "$STACK_URL/healthz"   # or: stack_curl ...
#   stack_worker_pids
#   stack_stop "$dir"           # non-zero unless the app exited with 0
#
# Call stack_start in the test's own shell, not inside $(...) or a pipe
# (the variables and the child processes would stay in the subshell), and
# make sure stack_stop runs whatever happens, e.g.
#   trap 'stack_stop "$dir" >/dev/null 2>&1 || true' EXIT
# while the test itself checks `stack_stop "$dir"` for a clean shutdown.
# Everything runs on 127.0.0.1; curl needs --noproxy '*' (stack_curl).
#
# stack_start DIR BINARY LISTEN [WORKERS] [EXTRA_INI] [EXTRA_NGINX]
#   DIR        work directory, created; holds everything of this stack:
#              tls.crt/tls.key (kept if present), revportal.ini, nginx.conf,
#              fcgi.sock, revportal.db, secret.key, revportal.log,
#              nginx-error.log, access.log, app.pid, nginx.pid
#   BINARY     the revportal program (build/rel/ or build/test/)
#   LISTEN     127.0.0.1:PORT of the HTTPS listener
#   WORKERS    [server] workers (default 4)
#   EXTRA_INI  text appended at the end of revportal.ini: whole sections,
#              e.g. $'[limits]\nmax_body = 1024\n'.  A section may thus
#              appear twice, which is fine as long as no key repeats (the
#              app rejects a repeated key).
#   EXTRA_NGINX text put inside http {} of nginx.conf (extra server blocks);
#              it may use the template's placeholders (@PREFIX@, @CERT@...).
#   Sets and exports STACK_DIR, STACK_URL (https://LISTEN), STACK_LISTEN,
#   STACK_CACERT (the self-signed certificate, for curl --cacert),
#   STACK_APP_PID (the supervisor), STACK_NGINX_PID (nginx's master).
#   Returns 1, after printing the tails of the logs, if the stack is not
#   answering 200 on /healthz within STACK_START_TIMEOUT seconds (15).
#
# Environment read by stack_start:
#   STACK_APP_CMD     replaces the app's command line (default:
#                     "BINARY -c @INI@"), split on blanks, with @INI@,
#                     @SOCKET@, @WORKERS@ and @DIR@ replaced; e.g.
#                     STACK_APP_CMD='build/rel/hello-fcgi @SOCKET@ @WORKERS@'
#                     (BINARY is then ignored).
#   STACK_BODY_MAX    nginx client_max_body_size (default 1m).
#   STACK_STAFF_CA    PEM file of the staff CA: nginx then asks for client
#                     certificates (ssl_verify_client optional) and passes
#                     SSL_CLIENT_CERT/SSL_CLIENT_VERIFY; without it /agent/
#                     and /officer/ are refused by nginx with 403.
#   STACK_START_TIMEOUT, STACK_STOP_TIMEOUT  seconds (15, 15).
#   STACK_SETSID      1 (default): the app and nginx get their own session
#                     (setsid), so a Ctrl-C on the terminal reaches only the
#                     caller, whose trap must call stack_stop; and orphaned
#                     workers are found by process group.  0: they stay in
#                     the caller's process group.  (With job control on,
#                     as in an interactive shell, jobs lead their own
#                     process group anyway and setsid is not used.)
#
# The app is started from this shell: stack_stop can then read its exit
# status (`wait`).  Stopping a stack started by another shell still works
# (pid files), but the exit status is then only "it exited by itself".

# The repository root, from this file's own path.
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

# Prints a TCP port on 127.0.0.1 that nothing listens on.  Random in
# 20000-60999 so that parallel runs rarely collide; 100 tries.
stack_free_port() {
	local i port low=32768 span
	# Below the kernel's ephemeral range, so that no client socket of
	# this machine can take the port between the probe and the bind.
	read -r low _ </proc/sys/net/ipv4/ip_local_port_range 2>/dev/null || low=32768
	((low > 11000)) || low=32768
	span=$((low - 10000))
	for ((i = 0; i < 100; i++)); do
		port=$((10000 + (RANDOM * 32768 + RANDOM) % span))
		if ! (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
			printf '%s\n' "$port"
			return 0
		fi
	done
	echo "stack_free_port: no free port found" >&2
	return 1
}

# True if pid is a live process (a zombie is not alive).
_stack_alive() {
	local pid=$1 st
	[[ $pid =~ ^[0-9]+$ ]] || return 1
	kill -0 "$pid" 2>/dev/null || return 1
	{ st=$(<"/proc/$pid/stat"); } 2>/dev/null || return 1
	st=${st##*) }
	[[ ${st%% *} != Z ]]
}

# True if pid is alive and is a child of this shell or has needle in its
# command line: guards against signalling an unrelated process that
# reused a recorded pid.
_stack_is() {
	local pid=$1 needle=$2 cmd st
	_stack_alive "$pid" || return 1
	{ st=$(<"/proc/$pid/stat"); } 2>/dev/null || return 1
	st=${st##*) }
	st=${st#* }
	[[ ${st%% *} == "$BASHPID" ]] && return 0
	cmd=$(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null) || return 1
	[[ $cmd == *"$needle"* ]]
}

# Waits until pid is gone, at most $2 seconds (0.1 s steps).
_stack_wait_gone() {
	local pid=$1 i n=$(($2 * 10))
	for ((i = 0; i < n; i++)); do
		_stack_alive "$pid" || return 0
		sleep 0.1
	done
	! _stack_alive "$pid"
}

# Prints the last lines of the stack's logs to stderr.
_stack_dump_logs() {
	local dir=$1 f
	for f in revportal.log nginx-error.log; do
		[[ -s $dir/$f ]] || continue
		echo "---- last lines of $dir/$f ----" >&2
		tail -n 30 "$dir/$f" >&2
	done
}

# Writes DIR/tls.crt and DIR/tls.key unless they exist: a self-signed EC
# P-256 certificate for 127.0.0.1 and localhost, valid 10 years.
_stack_tls() {
	local dir=$1
	[[ -s $dir/tls.crt && -s $dir/tls.key ]] && return 0
	(
		umask 077
		openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 \
		    -nodes -keyout "$dir/tls.key" -out "$dir/tls.crt" \
		    -days 3650 -sha256 -subj "/CN=revportal development" \
		    -addext "subjectAltName=IP:127.0.0.1,DNS:localhost" \
		    -addext "basicConstraints=critical,CA:TRUE" \
		    -addext "keyUsage=critical,digitalSignature,keyCertSign" \
		    -addext "extendedKeyUsage=serverAuth" 2>"$dir/openssl.log"
	) || {
		echo "stack: cannot make a TLS certificate:" >&2
		cat "$dir/openssl.log" >&2
		return 1
	}
	chmod 0644 "$dir/tls.crt"
	rm -f "$dir/openssl.log"
}

# Copies the template file $1 to $2, replacing each @NAME@ given as
# NAME=VALUE in the remaining arguments.  A line holding only @EXTRA@ is
# replaced by the value of EXTRA (which may span lines and use the other
# placeholders).  Pure bash: no delimiter or escaping issues with paths.
_stack_fill() {
	local in=$1 out=$2 line kv name val text=""
	shift 2
	local -A sub=()
	for kv in "$@"; do
		sub[${kv%%=*}]=${kv#*=}
	done
	while IFS= read -r line || [[ -n $line ]]; do
		if [[ $line == @EXTRA@ ]]; then
			text+=${sub[EXTRA]:-}$'\n'
		else
			text+=$line$'\n'
		fi
	done <"$in"
	for name in "${!sub[@]}"; do
		[[ $name == EXTRA ]] && continue
		val=${sub[$name]}
		text=${text//"@$name@"/"$val"}
	done
	if [[ $text =~ @[A-Z_]+@ ]]; then
		echo "stack: $in: placeholder ${BASH_REMATCH[0]} left unfilled" >&2
		return 1
	fi
	printf '%s' "$text" >"$out"
}

stack_start() {
	if (($# < 3)); then
		echo "usage: stack_start DIR BINARY LISTEN [WORKERS] [EXTRA_INI] [EXTRA_NGINX]" >&2
		return 2
	fi
	local dir=$1 bin=$2 listen=$3 workers=${4:-4} extra_ini=${5:-} \
	    extra_nginx=${6:-}
	local user="" client_tls="" timeout=${STACK_START_TIMEOUT:-15}
	local -a cmd=()
	local w code deadline app_pid ngx_pid
	local -a pre=()

	if [[ ${STACK_SETSID:-1} != 0 && $- != *m* ]] &&
	    command -v setsid >/dev/null 2>&1; then
		pre=(setsid)
	fi

	mkdir -p "$dir" || return 1
	dir=$(cd "$dir" && pwd) || return 1
	[[ $bin == /* || -z $bin ]] || bin=$REPO/$bin

	if _stack_is "$(cat "$dir/app.pid" 2>/dev/null)" "$dir/" ||
	    _stack_is "$(cat "$dir/nginx.pid" 2>/dev/null)" "$dir/nginx.conf"; then
		echo "stack: a stack is already running in $dir (stack_stop it first)" >&2
		return 1
	fi
	rm -f "$dir/fcgi.sock" "$dir/app.pid" "$dir/nginx.pid"

	_stack_tls "$dir" || return 1

	# revportal.ini
	{
		printf '# Written by deploy/stack.sh; rewritten at each start.\n'
		printf '[server]\nsocket = %s\nworkers = %s\n\n' \
		    "$dir/fcgi.sock" "$workers"
		printf '[paths]\ndatabase = %s\ndb_dir = %s\ntemplates = %s\n' \
		    "$dir/revportal.db" "$REPO/db" "$REPO/templates"
		printf 'secret_file = %s\n\n' "$dir/secret.key"
		printf '[site]\nportal_url = https://%s\n' "$listen"
		if [[ -n $extra_ini ]]; then
			printf '\n# EXTRA_INI\n%s\n' "$extra_ini"
		fi
	} >"$dir/revportal.ini" || return 1

	# nginx.conf
	[[ $(id -u) -eq 0 ]] && user="user root;"
	if [[ -n ${STACK_STAFF_CA:-} ]]; then
		client_tls="ssl_verify_client optional; ssl_client_certificate $STACK_STAFF_CA; ssl_verify_depth 2;"
	fi
	_stack_fill "$REPO/deploy/nginx-dev.conf.in" "$dir/nginx.conf" \
	    "EXTRA=$extra_nginx" "PREFIX=$dir" "LISTEN=$listen" \
	    "SOCKET=$dir/fcgi.sock" "ROOT=$REPO" "CERT=$dir/tls.crt" \
	    "KEY=$dir/tls.key" "BODY_MAX=${STACK_BODY_MAX:-1m}" "USER=$user" \
	    "CLIENT_TLS=$client_tls" || return 1

	# Keep the previous run's logs, one generation.
	for w in revportal.log nginx-error.log access.log; do
		[[ -e $dir/$w ]] && mv -f "$dir/$w" "$dir/$w.1"
	done
	: >"$dir/revportal.log"

	# nginx appends to its error log itself (O_APPEND): sharing it is fine.
	# shellcheck disable=SC2094
	if ! nginx -t -q -p "$dir/" -c "$dir/nginx.conf" -e "$dir/nginx-error.log" \
	    >>"$dir/nginx-error.log" 2>&1; then
		echo "stack: nginx rejects $dir/nginx.conf" >&2
		_stack_dump_logs "$dir"
		return 1
	fi

	# The app.
	if [[ -n ${STACK_APP_CMD:-} ]]; then
		read -r -a cmd <<<"$STACK_APP_CMD"
		for w in "${!cmd[@]}"; do
			cmd[w]=${cmd[w]//@INI@/"$dir/revportal.ini"}
			cmd[w]=${cmd[w]//@SOCKET@/"$dir/fcgi.sock"}
			cmd[w]=${cmd[w]//@WORKERS@/"$workers"}
			cmd[w]=${cmd[w]//@DIR@/"$dir"}
		done
	else
		if [[ ! -x $bin ]]; then
			echo "stack: $bin is not an executable (make it first)" >&2
			return 1
		fi
		cmd=("$bin" -c "$dir/revportal.ini")
	fi
	"${pre[@]}" "${cmd[@]}" </dev/null >>"$dir/revportal.log" 2>&1 &
	app_pid=$!
	echo "$app_pid" >"$dir/app.pid"

	# nginx in the foreground of a background job: its pid is $!, which
	# is also what it writes to nginx.pid.
	# shellcheck disable=SC2094
	"${pre[@]}" nginx -p "$dir/" -c "$dir/nginx.conf" -e "$dir/nginx-error.log" \
	    -g 'daemon off;' </dev/null >>"$dir/nginx-error.log" 2>&1 &
	ngx_pid=$!
	# nginx writes the same number there itself; written now so that a
	# failed start can still be stopped by pid file.
	echo "$ngx_pid" >"$dir/nginx.pid"

	deadline=$((SECONDS + timeout))
	while :; do
		code=$(curl -s -o /dev/null -w '%{http_code}' --noproxy '*' \
		    --max-time 2 --cacert "$dir/tls.crt" "https://$listen/healthz" \
		    2>/dev/null) || true
		[[ $code == 200 ]] && break
		if ! _stack_alive "$app_pid"; then
			echo "stack: the app exited during start-up" >&2
			break
		fi
		if ! _stack_alive "$ngx_pid"; then
			echo "stack: nginx exited during start-up" >&2
			break
		fi
		if ((SECONDS >= deadline)); then
			echo "stack: no 200 on https://$listen/healthz within ${timeout}s (last: ${code:-none})" >&2
			break
		fi
		sleep 0.1
	done
	if [[ $code != 200 ]]; then
		_stack_dump_logs "$dir"
		stack_stop "$dir" >/dev/null 2>&1 || true
		return 1
	fi

	# Only a stack that answers replaces the previous values.
	STACK_DIR=$dir
	STACK_LISTEN=$listen
	STACK_URL=https://$listen
	STACK_CACERT=$dir/tls.crt
	STACK_APP_PID=$app_pid
	STACK_NGINX_PID=$ngx_pid
	export STACK_DIR STACK_LISTEN STACK_URL STACK_CACERT STACK_APP_PID \
	    STACK_NGINX_PID
	return 0
}

# Prints the pids of the app's worker processes, one a line: the children
# of the supervisor (STACK_APP_PID, or the pid given as $1).
stack_worker_pids() {
	local ppid=${1:-${STACK_APP_PID:-}} p st
	[[ -n $ppid ]] || return 1
	if command -v pgrep >/dev/null 2>&1; then
		pgrep -P "$ppid" || true
		return 0
	fi
	for p in /proc/[0-9]*; do
		{ st=$(<"$p/stat"); } 2>/dev/null || continue
		st=${st##*) }
		st=${st#* }
		[[ ${st%% *} == "$ppid" ]] && echo "${p#/proc/}"
	done
	return 0
}

# Prints the pids of the processes of process group pgid whose command
# line mentions dir: what is left of a stack whose supervisor is gone.
_stack_group() {
	local pgid=$1 dir=$2 p
	[[ $pgid =~ ^[0-9]+$ ]] || return 0
	for p in $(pgrep -g "$pgid" 2>/dev/null); do
		_stack_is "$p" "$dir/" && echo "$p"
	done
	return 0
}

# Stops the stack of DIR: SIGQUIT (graceful) to nginx, then SIGTERM to the
# app, each given STACK_STOP_TIMEOUT seconds (15) before SIGKILL.  Returns
# 0 only if the app exited with status 0 by itself and left no worker
# behind; 1 otherwise (the reason goes to stderr).  Safe to call twice,
# and from another shell (pid files; the exit status is then unknown).
stack_stop() {
	local dir=${1:-${STACK_DIR:-}} app ngx rc=0 st=0 w p timeout
	local -a left=() wpids=()
	timeout=${STACK_STOP_TIMEOUT:-15}
	if [[ -z $dir || ! -d $dir ]]; then
		echo "stack_stop: no such directory: $dir" >&2
		return 1
	fi
	dir=$(cd "$dir" && pwd)
	app=$(cat "$dir/app.pid" 2>/dev/null) || app=""
	ngx=$(cat "$dir/nginx.pid" 2>/dev/null) || ngx=""
	if [[ -z $ngx && ${STACK_DIR:-} == "$dir" ]]; then
		ngx=${STACK_NGINX_PID:-}
	fi

	# nginx first: no new requests reach the app while it drains.
	if [[ -n $ngx ]] && _stack_is "$ngx" "$dir/nginx.conf"; then
		kill -QUIT "$ngx" 2>/dev/null || true
		if ! _stack_wait_gone "$ngx" "$timeout"; then
			echo "stack_stop: nginx ($ngx) did not quit; killing it" >&2
			kill -KILL "$ngx" 2>/dev/null || true
		fi
	fi
	if [[ -n $ngx ]] && ! _stack_alive "$ngx"; then
		wait "$ngx" 2>/dev/null || true
	fi
	rm -f "$dir/nginx.pid"

	if [[ -n $app ]] && _stack_is "$app" "$dir/"; then
		mapfile -t wpids < <(stack_worker_pids "$app")
		kill -TERM "$app" 2>/dev/null || true
		if ! _stack_wait_gone "$app" "$timeout"; then
			echo "stack_stop: the app ($app) did not exit within ${timeout}s of SIGTERM; killing it" >&2
			kill -KILL "$app" 2>/dev/null || true
			_stack_wait_gone "$app" 2 || true
			rc=1
		fi
	fi
	if [[ -n $app ]] && _stack_alive "$app"; then
		# Alive but not ours (pid reused, or STACK_APP_CMD without DIR).
		echo "stack_stop: process $app (app.pid) does not look like this stack's app; left alone" >&2
		rc=1
	elif [[ -n $app ]]; then
		# Our own child: its exit status is part of the test.  127: not
		# a child of this shell (or already reaped), status unknown.
		if wait "$app" 2>/dev/null; then
			:
		else
			st=$?
			if ((st != 127)); then
				echo "stack_stop: the app exited with status $st" >&2
				rc=1
			fi
		fi
		# Workers must not outlive their supervisor.  The app leads its
		# own process group (stack_start), which finds orphans too.
		for ((w = 0; w < 20; w++)); do
			mapfile -t left < <(
				{
					_stack_group "$app" "$dir"
					for p in "${wpids[@]}"; do
						_stack_is "$p" "$dir/" && echo "$p"
					done
				} | sort -u
			)
			((${#left[@]} == 0)) && break
			sleep 0.1
		done
		if ((${#left[@]} > 0)); then
			echo "stack_stop: processes outlived the app: ${left[*]}; killing them" >&2
			kill -KILL "${left[@]}" 2>/dev/null || true
			rc=1
		fi
	fi
	rm -f "$dir/app.pid"
	if [[ ${STACK_DIR:-} == "$dir" ]]; then
		unset STACK_APP_PID STACK_NGINX_PID
	fi
	return "$rc"
}

# curl against the running stack: loopback, no proxy, the stack's own
# certificate as the only trust anchor.  Extra arguments are curl's.
#   stack_curl -o /dev/null -w '%{http_code}' "$STACK_URL/healthz"
stack_curl() {
	curl -sS --noproxy '*' --cacert "${STACK_CACERT:?stack not started}" "$@"
}
