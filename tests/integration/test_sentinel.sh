#!/usr/bin/env bash
# backends: redis
# Redis Sentinel (SPEC section 7): with `sentinels` set the gateway asks
# the sentinels for the master, and after a failover finds the new master
# by itself. A master, a replica and one sentinel on loopback ports.
. "$(dirname "$0")/lib.sh"

start_redis
MASTER_PORT=$REDIS_PORT
MASTER_PID=$REDIS_PID
REPLICA_PORT=$(free_port)
redis-server --port "$REPLICA_PORT" --bind 127.0.0.1 --save '' --appendonly no \
	--dir "$T" --logfile "$T/redis-replica.log" --replicaof 127.0.0.1 "$MASTER_PORT" &
PIDS+=($!)
wait_until 10 sh -c "redis-cli -p $REPLICA_PORT info replication | grep -q master_link_status:up" ||
	fatal "the replica did not sync"

SENTINEL_PORT=$(free_port)
cat >"$T/sentinel.conf" <<EOF
port $SENTINEL_PORT
bind 127.0.0.1
dir $T
logfile $T/sentinel.log
sentinel monitor mymaster 127.0.0.1 $MASTER_PORT 1
sentinel down-after-milliseconds mymaster 1000
sentinel failover-timeout mymaster 5000
EOF
redis-server "$T/sentinel.conf" --sentinel &
PIDS+=($!)
wait_until 10 sh -c "redis-cli -p $SENTINEL_PORT sentinel get-master-addr-by-name mymaster | grep -qx $MASTER_PORT" ||
	fatal "the sentinel does not know the master"

# `address` points nowhere: only the sentinel can lead the gateway to Redis.
gateway_conf "$T/sgw.conf" "sentinels=127.0.0.1:$SENTINEL_PORT" sentinel_master=mymaster \
	"address=127.0.0.1:$(free_port)"
add_user alice 'pw-alice'
start_gateway "$T/sgw.conf"
A="127.0.0.1:$SGW_PORT"

login() {
	FCGI_OUT=$(printf '{"username":"alice","password":"pw-alice"}' | "$SGW_FCGI_CLIENT" -i "$A" \
		REQUEST_METHOD=POST DOCUMENT_URI=/auth/login CONTENT_TYPE=application/json \
		REMOTE_ADDR=127.0.0.1 | tr -d '\r')
	TOK=$(printf '%s\n' "$FCGI_OUT" | sed -n 's/^Set-Cookie: sgw_session=\([^;]*\);.*/\1/p')
}
check() {
	fcgi -r authorizer "$A" REQUEST_METHOD=GET REQUEST_URI=/app/x REMOTE_ADDR=127.0.0.1 \
		"HTTP_COOKIE=sgw_session=$1"
	echo "$FCGI_STATUS"
}

login
tok=$TOK
expect_match "through the sentinel: login works" '^Status: 200' "$FCGI_OUT"
expect_eq "through the sentinel: the session is on the master" 1 \
	"$(redis-cli -p "$MASTER_PORT" --scan --pattern '*s:*' | grep -c .)"
expect_eq "through the sentinel: the check passes" 200 "$(check "$tok")"
wait_until 5 sh -c "redis-cli -p $REPLICA_PORT --scan --pattern '*s:*' | grep -q ." ||
	not_ok "the session reached the replica"

# Fail over: the master dies; the sentinel promotes the replica.
kill -KILL "$MASTER_PID"
wait "$MASTER_PID" 2>/dev/null
status=""
for i in $(seq 1 150); do # at most 15 s
	status=$(check "$tok")
	[ "$status" = 200 ] && break
	sleep 0.1
done
expect_eq "after a failover the gateway finds the new master by itself" 200 "$status"
expect_eq "...which is the former replica" "$REPLICA_PORT" \
	"$(redis-cli -p "$SENTINEL_PORT" sentinel get-master-addr-by-name mymaster | tail -n1)"
login
expect_match "after a failover new logins work" '^Status: 200' "$FCGI_OUT"
expect_eq "...and their sessions live on the new master" 200 "$(check "$TOK")"

finish
