#!/usr/bin/env bash
# login-timing.sh: measures how long a failed login takes for an unknown
# user and for known users with a wrong password (SPEC section 5: the two
# must not be told apart by time). The users file mixes schemes, as real
# ones do: alice is bcrypt (`passwd -B`, cost 10), yves yescrypt (the
# default), so both the dummy and the padding of cheaper hashes are
# measured. Prints the figures; asserts nothing: timings are measured,
# never a pass/fail test.
#
#   scripts/login-timing.sh [ROUNDS]      (default 40 of each, interleaved)
#
# Runs a private redis-server and sessiongw (1 worker) on loopback and
# sends the logins straight over FastCGI with tests/tools/fcgi_client.
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=${1:-40}
[ "$rounds" -ge 1 ] && [ "$rounds" -le 1000 ] || { echo "ROUNDS: 1..1000" >&2; exit 2; }

scripts/setup.sh test
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j"$(nproc)" --target sessiongw fcgi_client >/dev/null

export SGW_BIN=$PWD/build/sessiongw SGW_FCGI_CLIENT=$PWD/build/tests/fcgi_client SGW_SOURCE_DIR=$PWD
. tests/integration/lib.sh

start_redis
# Regulation would turn the later attempts into 429s: lift it for this
# measurement only.
gateway_conf "$T/sgw.conf" workers=1 max_failures=100000 max_client_failures=100000
add_user alice 'the right password'
printf '%s\n' 'the right password' | "$SGW_BIN" passwd -c "$T/sgw.conf" yves 2>>"$T/passwd.log"
start_gateway "$T/sgw.conf"

one() { # USER: prints the elapsed microseconds of one failed login
	local t0 t1
	t0=$(date +%s%N)
	printf '{"username":"%s","password":"wrong"}' "$1" | "$SGW_FCGI_CLIENT" -i "127.0.0.1:$SGW_PORT" \
		REQUEST_METHOD=POST DOCUMENT_URI=/auth/login CONTENT_TYPE=application/json \
		REMOTE_ADDR=127.0.0.1 >/dev/null
	t1=$(date +%s%N)
	echo $(((t1 - t0) / 1000))
}

: >"$T/bcrypt" && : >"$T/yescrypt" && : >"$T/unknown"
one alice >/dev/null # warm up
for i in $(seq 1 "$rounds"); do
	one alice >>"$T/bcrypt"
	one yves >>"$T/yescrypt"
	one "nobody$i" >>"$T/unknown"
done

stats() { # FILE: median mean min max (ms)
	sort -n "$1" | awk '{v[NR]=$1; s+=$1} END {
		printf "median %.1f ms  mean %.1f ms  min %.1f ms  max %.1f ms",
		v[int((NR+1)/2)]/1000, s/NR/1000, v[1]/1000, v[NR]/1000 }'
}
echo "failed logins, $rounds each, interleaved, one worker:"
echo "  wrong password, bcrypt:   $(stats "$T/bcrypt")"
echo "  wrong password, yescrypt: $(stats "$T/yescrypt")"
echo "  unknown user:             $(stats "$T/unknown")"
exit 0
