#!/usr/bin/env bash
# backends: lmdb
# What only the embedded store has to show: a worker killed in the middle
# of its work leaves the store usable, a full map refuses new logins but
# keeps serving the sessions it holds, and one process sweeps what expired.
. "$(dirname "$0")/lib.sh"

start_store

# --- SIGKILL of workers under a login loop ------------------------------------------
# max_failures is high: an attempt is counted before its password is
# verified, so every login a kill cuts short stays counted.
gateway_conf "$T/sgw.conf" workers=2 max_failures=1000 max_client_failures=1000
add_user alice 'pw-alice-1'
start_gateway "$T/sgw.conf"
gw_login alice pw-alice-1
expect_eq "login: 200" 200 "$FCGI_STATUS"
before=$TOK
(
	for i in $(seq 1 60); do
		printf '{"username":"alice","password":"pw-alice-1"}' |
			timeout 5 "$SGW_FCGI_CLIENT" -i "127.0.0.1:$SGW_PORT" REQUEST_METHOD=POST \
				DOCUMENT_URI=/auth/login CONTENT_TYPE=application/json HTTP_HOST=gw.test \
				REMOTE_ADDR=127.0.0.2 >/dev/null 2>&1
	done
) &
loop=$!
kills=0
for i in 1 2 3 4 5; do
	sleep 0.4
	w=$(worker_pids "$SGW_PID" | head -n1)
	[ -n "$w" ] && kill -KILL "$w" 2>/dev/null && kills=$((kills + 1))
done
wait "$loop"
expect_eq "workers were killed in the middle of logins" 5 "$kills"
wait_until 10 sh -c "[ \$(pgrep -P $SGW_PID -x sessiongw | wc -l) -eq 2 ]" ||
	not_ok "the pool is back to 2 workers"
gw_login alice pw-alice-1
expect_eq "after the kills: a login works" 200 "$FCGI_STATUS"
expect_eq "after the kills: the new session passes" 200 "$(gw_check "$TOK")"
expect_eq "after the kills: the session from before passes" 200 "$(gw_check "$before")"
if command -v mdb_stat >/dev/null; then
	readers=$(mdb_stat -r "$T/lmdb" 2>/dev/null | grep -c '^ *[0-9]\+ ')
	expect_match "mdb_stat reads the environment" '^[0-9]+$' "$readers"
fi
stop_pid "$SGW_PID"

# --- a full map ---------------------------------------------------------------------------
mkdir -p "$T/full" && chmod 777 "$T/full"
gateway_conf "$T/full.conf" "path=$T/full" map_size=1m workers=1
start_gateway "$T/full.conf"
gw_login alice pw-alice-1
keep=$TOK
expect_eq "a small map: login" 200 "$FCGI_STATUS"
value=$(head -c 4096 /dev/zero | tr '\0' 'x')
put_status=none
for s in 1 2 3 4 5 6; do
	gw_login alice pw-alice-1
	[ "$FCGI_STATUS" = 200 ] || { put_status=login-$FCGI_STATUS; break; }
	for k in $(seq 1 64); do
		fcgi -i "127.0.0.1:$SGW_PORT" REQUEST_METHOD=PUT DOCUMENT_URI=/auth/session/data/k$k \
			REMOTE_ADDR=127.0.0.1 HTTP_HOST=gw.test "HTTP_COOKIE=sgw_session=$TOK" < <(printf %s "$value")
		[ "$FCGI_STATUS" = 204 ] || { put_status=$FCGI_STATUS; break 2; }
	done
done
expect_eq "the map fills up: the write that does not fit is 503" 503 "${put_status#login-}"
gw_login alice pw-alice-1
expect_eq "a full map: a new login is 503" 503 "$FCGI_STATUS"
expect_eq "a full map: an existing session still passes" 200 "$(gw_check "$keep")"
expect_match "a full map: the log says what to do" 'map_size' "$(cat "$T/sgw.log")"
stop_pid "$SGW_PID"

# --- the sweep ------------------------------------------------------------------------------
mkdir -p "$T/sweep" && chmod 777 "$T/sweep"
MPORT=$(free_port)
gateway_conf "$T/sweep.conf" "path=$T/sweep" idle_timeout=1s absolute_timeout=1s \
	remember_me_timeout=1s cleanup_interval=500ms "metrics_listen=127.0.0.1:$MPORT"
start_gateway "$T/sweep.conf"
for i in 1 2 3; do gw_login alice pw-alice-1; done
expect_eq "three short sessions" 200 "$FCGI_STATUS"
metric() { curl -s --max-time 5 "http://127.0.0.1:$MPORT/metrics" | awk -v s="$1" '$1 == s { print $2 }'; }
wait_until 5 sh -c "curl -s http://127.0.0.1:$MPORT/metrics | grep -q '^sgw_sessions_active 3'" ||
	not_ok "sgw_sessions_active counts them (read from the store at scrape time)"
swept() { [ "$(metric sgw_sessions_expired_total)" -ge 3 ] 2>/dev/null; }
wait_until 10 swept || not_ok "the sweeper removed them"
expect_eq "sgw_sessions_expired_total counts the swept sessions" 3 "$(metric sgw_sessions_expired_total)"
expect_eq "sgw_sessions_active is 0 after the sweep" 0 "$(metric sgw_sessions_active)"
ts=$(metric sgw_store_cleanup_last_run_timestamp_seconds)
expect_match "sgw_store_cleanup_last_run_timestamp_seconds is recent" '^1[0-9]{9}\.[0-9]{3}$' "$ts"
expect_match "the sweep is logged" 'sweep: [0-9]+ expired sessions? removed' "$(cat "$T/sgw.log")"
expect_eq "one process sweeps (the sweeper)" 1 "$(pgrep -P "$SGW_PID" -x sgw-sweeper | wc -l)"

finish
