#!/bin/sh
# Installs the npm packages of a test directory (its package-lock.json) when
# they are missing or older than the lock.  Node.js and npm come from
# Debian when the machine has none (apt-get as root; else the exact line).
set -eu
dir=$1
if ! command -v npm >/dev/null 2>&1; then
	if [ "$(id -u)" -ne 0 ]; then
		echo "revportal's browser tests need Node.js and npm; run as root:" >&2
		echo "  apt-get install -y nodejs npm" >&2
		exit 1
	fi
	echo "installing: nodejs npm" >&2
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends nodejs npm >/dev/null
fi
stamp=$dir/node_modules/.package-lock.json
if [ -f "$stamp" ] && [ ! "$dir/package-lock.json" -nt "$stamp" ]; then
	exit 0
fi
echo "installing the npm packages of $dir" >&2
npm ci --prefix "$dir" --no-audit --no-fund --loglevel=error >/dev/null
