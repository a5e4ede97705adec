#!/usr/bin/env bash
# backends: lmdb redis postgres
# A session made before the gateway stops is still valid after it starts
# again (as systemctl restart does: SIGTERM, then a new process), and after
# a SIGHUP reload, on every store.
. "$(dirname "$0")/lib.sh"

start_store
gateway_conf "$T/sgw.conf"
add_user alice 'pw-alice-1'
# A store nothing has used yet (no tables, an empty directory) is fine.
expect_match "-t on a fresh store: ok" 'configuration .* is ok' "$("$SGW_BIN" -t -c "$T/sgw.conf" 2>&1)"
start_gateway "$T/sgw.conf"

gw_login alice pw-alice-1
expect_eq "login: 200" 200 "$FCGI_STATUS"
a=$TOK
expect_eq "the session passes" 200 "$(gw_check "$a")"
fcgi -i "127.0.0.1:$SGW_PORT" REQUEST_METHOD=PUT DOCUMENT_URI=/auth/session/data/visits \
	REMOTE_ADDR=127.0.0.1 HTTP_HOST=gw.test "HTTP_COOKIE=sgw_session=$a" < <(printf 3)
expect_eq "session data stored" 204 "$FCGI_STATUS"

# --- stop and start, as systemctl restart does ------------------------------
stop_pid "$SGW_PID"
expect_eq "stopped: nothing answers" 1 "$(port_busy "$SGW_PORT" && echo 0 || echo 1)"
start_gateway "$T/sgw.conf"
expect_eq "after a restart: the same session passes" 200 "$(gw_check "$a")"
fcgi "127.0.0.1:$SGW_PORT" REQUEST_METHOD=GET DOCUMENT_URI=/auth/session/data/visits \
	REMOTE_ADDR=127.0.0.1 HTTP_HOST=gw.test "HTTP_COOKIE=sgw_session=$a"
expect_eq "after a restart: its data is there" 200 "$FCGI_STATUS"
expect_match "...with its value" '^3$' "$(printf '%s\n' "$FCGI_OUT" | tail -n1)"

# --- a reload ---------------------------------------------------------------------
old=$(worker_pids "$SGW_PID" | tr '\n' ' ')
kill -HUP "$SGW_PID"
replaced() {
	local w
	for w in $old; do kill -0 "$w" 2>/dev/null && return 1; done
	[ "$(worker_pids "$SGW_PID" | wc -l)" -ge 2 ]
}
wait_until 15 replaced || not_ok "SIGHUP: the old workers were replaced"
expect_eq "after a SIGHUP reload: the same session passes" 200 "$(gw_check "$a")"
gw_login alice pw-alice-1
expect_eq "after a SIGHUP reload: a new login works" 200 "$FCGI_STATUS"

# --- logout still ends it -----------------------------------------------------------
fcgi "127.0.0.1:$SGW_PORT" REQUEST_METHOD=POST DOCUMENT_URI=/auth/logout REMOTE_ADDR=127.0.0.1 \
	HTTP_HOST=gw.test CONTENT_TYPE=application/json "HTTP_COOKIE=sgw_session=$a"
expect_eq "logout: 200" 200 "$FCGI_STATUS"
stop_pid "$SGW_PID"
start_gateway "$T/sgw.conf"
expect_eq "a session ended before a restart stays ended" 401 "$(gw_check "$a")"

finish
