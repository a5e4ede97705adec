#!/usr/bin/env bash
# backends: redis
# The [redis] keys against a real server: an ACL user with a password, the
# legacy password, database, key_prefix and a unix socket address.
. "$(dirname "$0")/lib.sh"

REDIS_PORT=$(free_port)
SOCK="$T/redis.sock"
redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --save '' --appendonly no --dir "$T" \
	--logfile "$T/redis.log" --unixsocket "$SOCK" --unixsocketperm 700 \
	--requirepass legacy-pw --user sgw on '>acl-pw' '~sgwacl:*' '+@all' &
REDIS_PID=$!
PIDS+=("$REDIS_PID")
wait_until 10 sh -c "redis-cli -p $REDIS_PORT -a legacy-pw --no-auth-warning ping | grep -q PONG" ||
	fatal "redis-server did not start"
r() { redis-cli -p "$REDIS_PORT" -a legacy-pw --no-auth-warning "$@"; }

# health CONF: the healthz status line of a gateway started from CONF.
health() {
	fcgi "127.0.0.1:$SGW_PORT" REQUEST_METHOD=GET DOCUMENT_URI=/auth/healthz REMOTE_ADDR=127.0.0.1
	echo "$FCGI_STATUS"
}
login() {
	fcgi_out=$(printf '{"username":"alice","password":"pw-alice"}' | "$SGW_FCGI_CLIENT" -i "127.0.0.1:$SGW_PORT" \
		REQUEST_METHOD=POST DOCUMENT_URI=/auth/login CONTENT_TYPE=application/json \
		REMOTE_ADDR=127.0.0.1 | tr -d '\r')
	printf '%s\n' "$fcgi_out" | sed -n 's/^Status: \([0-9]*\).*/\1/p'
}

# An ACL user limited to its own key prefix, in database 3.
gateway_conf "$T/sgw.conf" username=sgw password=acl-pw database=3 key_prefix=sgwacl:
add_user alice pw-alice
start_gateway "$T/sgw.conf"
expect_eq "ACL user and password: healthz" 200 "$(health)"
expect_eq "ACL user and password: login" 200 "$(login)"
expect_eq "database = 3: the session is in database 3" 1 "$(r -n 3 --scan --pattern 'sgwacl:s:*' | grep -c .)"
expect_eq "...and not in database 0" 0 "$(r -n 0 --scan --pattern '*' | grep -c .)"
expect_match "key_prefix: every key carries it" '^(sgwacl:[a-z]:[^ ]+ ?)+$' "$(r -n 3 --scan | tr '\n' ' ' | sed 's/ $//')"
stop_pid "$SGW_PID"

gateway_conf "$T/wrong.conf" username=sgw password=not-it
start_gateway "$T/wrong.conf"
expect_eq "a wrong Redis password: 503, never a pass" 503 "$(health)"
expect_match "...and the log says why" 'redis: AUTH: WRONGPASS' "$(cat "$T/sgw.log")"
stop_pid "$SGW_PID"

gateway_conf "$T/legacy.conf" password=legacy-pw
start_gateway "$T/legacy.conf"
expect_eq "requirepass without a user name: healthz" 200 "$(health)"
stop_pid "$SGW_PID"

gateway_conf "$T/unix.conf" "address=unix:$SOCK" password=legacy-pw
start_gateway "$T/unix.conf"
expect_eq "address = unix:/path: healthz" 200 "$(health)"
expect_eq "address = unix:/path: login" 200 "$(login)"

finish
