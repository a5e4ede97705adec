#!/usr/bin/env bash
# backends: lmdb redis postgres
# Metrics (SPEC section 8): GET /metrics on metrics_listen, summed over all
# workers, kept across a worker's death and a reload; its own plain-HTTP
# socket, never reachable over FastCGI; a busy port stops the start.
. "$(dirname "$0")/lib.sh"

start_store
METRICS_PORT=$(free_port)
gateway_conf "$T/sgw.conf" workers=2 "metrics_listen=127.0.0.1:$METRICS_PORT" \
	'RULES=/auth/* anonymous|/app/* authenticated'
add_user alice 'pw-alice' staff
start_gateway "$T/sgw.conf"
A="127.0.0.1:$SGW_PORT"
M="http://127.0.0.1:$METRICS_PORT"
base=(REMOTE_ADDR=127.0.0.1 HTTP_HOST=gw.test)
wait_until 10 curl -sf --max-time 5 "$M/metrics" || fatal "the metrics listener did not answer"

# scrape: the exposition into METRICS. metric SERIES: its value, or "none".
scrape() { METRICS=$(curl -s --max-time 10 "$M/metrics"); }
metric() {
	printf '%s\n' "$METRICS" | awk -v s="$1" '$1 == s { v = $2 } END { print (v == "" ? "none" : v) }'
}
# Both sides of "the histogram counted every request".
requests_sum() { printf '%s\n' "$METRICS" | awk '/^sgw_requests_total\{/ { n += $2 } END { print n + 0 }'; }
# The workers only: the metrics server is a child of the master too.
workers() { pgrep -P "$SGW_PID" -x sessiongw | sort; }
metrics_server() { pgrep -P "$SGW_PID" -x sgw-metrics; }
login() { # USER PASSWORD: JSON login, sets FCGI_OUT / FCGI_STATUS
	FCGI_OUT=$(printf '{"username":"%s","password":"%s"}' "$1" "$2" |
		"$SGW_FCGI_CLIENT" -i "$A" "${base[@]}" REQUEST_METHOD=POST \
			DOCUMENT_URI=/auth/login REQUEST_URI=/auth/login CONTENT_TYPE=application/json |
		tr -d '\r')
	FCGI_STATUS=$(printf '%s\n' "$FCGI_OUT" | sed -n 's/^Status: \([0-9]*\).*/\1/p' | head -n1)
}
check() { fcgi "$A" "${base[@]}" REQUEST_METHOD=GET DOCUMENT_URI=/auth/check \
	REQUEST_URI=/auth/check HTTP_X_ORIGINAL_URI=/app/x "$@"; }

# --- the exposition ------------------------------------------------------------
http GET "$M/metrics"
expect_eq "GET /metrics is 200" 200 "$STATUS"
expect_eq "...as the Prometheus text format 0.0.4" "text/plain; version=0.0.4; charset=utf-8" \
	"$(header Content-Type)"
expect_eq "...with Connection: close" close "$(header Connection)"
for f in sgw_requests_total:counter sgw_authz_total:counter sgw_logins_total:counter \
	sgw_sessions_created_total:counter sgw_store_errors_total:counter \
	sgw_sessions_active:gauge sgw_sessions_expired_total:counter \
	sgw_worker_restarts_total:counter sgw_workers:gauge sgw_request_duration_seconds:histogram; do
	expect_match "${f%%:*} has HELP and TYPE" \
		"# HELP ${f%%:*} .*# TYPE ${f%%:*} ${f#*:}" "$(printf '%s' "$BODY" | tr '\n' ' ')"
done
METRICS=$BODY
expect_eq "every series is there before it is used" 0 "$(metric 'sgw_authz_total{result="forbidden"}')"
expect_eq "sgw_workers counts the workers" 2 "$(metric sgw_workers)"
expect_eq "a metrics server runs beside the workers" 1 "$(metrics_server | wc -l)"
expect_eq "...and is not counted as one" 2 "$(workers | wc -l)"

# --- counting what the workers do -------------------------------------------------
login alice pw-alice
expect_eq "login succeeds" 200 "$FCGI_STATUS"
tok=$(printf '%s\n' "$FCGI_OUT" | sed -n 's/^Set-Cookie: sgw_session=\([^;]*\);.*/\1/p')
C="HTTP_COOKIE=sgw_session=$tok"
login alice wrong
expect_eq "a wrong password is refused" 401 "$FCGI_STATUS"
check "$C"
expect_eq "/check passes the session" 200 "$FCGI_STATUS"
check
expect_eq "/check without a session is 401" 401 "$FCGI_STATUS"

scrape
expect_eq 'sgw_logins_total{result="success"}' 1 "$(metric 'sgw_logins_total{result="success"}')"
expect_eq 'sgw_logins_total{result="failure"}' 1 "$(metric 'sgw_logins_total{result="failure"}')"
expect_eq 'sgw_logins_total{result="locked"}' 0 "$(metric 'sgw_logins_total{result="locked"}')"
expect_eq "sgw_sessions_created_total" 1 "$(metric sgw_sessions_created_total)"
expect_eq 'sgw_authz_total{result="pass"}' 1 "$(metric 'sgw_authz_total{result="pass"}')"
expect_eq 'sgw_authz_total{result="unauthenticated"}' 1 "$(metric 'sgw_authz_total{result="unauthenticated"}')"
expect_eq 'sgw_authz_total{result="unavailable"}' 0 "$(metric 'sgw_authz_total{result="unavailable"}')"
# start_gateway's readiness probe was one GET /auth/login (200).
expect_eq 'requests: login 200 (the probe and the login)' 2 \
	"$(metric 'sgw_requests_total{endpoint="login",code="200"}')"
expect_eq 'requests: login 401' 1 "$(metric 'sgw_requests_total{endpoint="login",code="401"}')"
expect_eq 'requests: check 200' 1 "$(metric 'sgw_requests_total{endpoint="check",code="200"}')"
expect_eq 'requests: check 401' 1 "$(metric 'sgw_requests_total{endpoint="check",code="401"}')"
expect_eq "requests: 5 in all" 5 "$(requests_sum)"
expect_eq "the histogram counted every request" "$(requests_sum)" \
	"$(metric sgw_request_duration_seconds_count)"
expect_eq "...and +Inf is its count" "$(metric sgw_request_duration_seconds_count)" \
	"$(metric 'sgw_request_duration_seconds_bucket{le="+Inf"}')"
expect_match "...with a sum in seconds" '^[0-9]+\.[0-9]{9}$' "$(metric sgw_request_duration_seconds_sum)"
expect_eq "no worker restarted yet" 0 "$(metric sgw_worker_restarts_total)"

# --- a killed worker: replaced, counted, its counts kept -------------------------------
victim=$(workers | head -n1)
kill -KILL "$victim"
restarted() {
	scrape
	[ "$(metric sgw_worker_restarts_total)" = 1 ] && [ "$(metric sgw_workers)" = 2 ] &&
		[ "$(workers | wc -l)" -eq 2 ] && ! grep -qx "$victim" <<<"$(workers)"
}
wait_until 10 restarted
scrape
expect_eq "SIGKILL of a worker: sgw_worker_restarts_total" 1 "$(metric sgw_worker_restarts_total)"
expect_eq "...sgw_workers back to 2" 2 "$(metric sgw_workers)"
expect_eq "...the dead worker's counts are kept" 1 "$(metric 'sgw_logins_total{result="success"}')"

# --- the metrics server itself is supervised ----------------------------------------
mpid=$(metrics_server)
kill -KILL "$mpid"
wait_until 10 sh -c "pgrep -P $SGW_PID -x sgw-metrics | grep -vqx $mpid"
wait_until 10 curl -sf --max-time 5 "$M/metrics"
scrape
expect_eq "a killed metrics server is restarted" 1 "$(metrics_server | grep -vcx "$mpid")"
expect_eq "...and still shows the counts" 1 "$(metric sgw_sessions_created_total)"
expect_eq "...which is no worker restart" 1 "$(metric sgw_worker_restarts_total)"
expect_match "...and logged" "metrics server $mpid killed by signal 9; restarting it" "$(cat "$T/sgw.log")"

# --- the store stalls ----------------------------------------------------------------------
if store_can_fail; then
store_stall
check "$C"
s1=$FCGI_STATUS
scrape
r1=$(metric sgw_store_errors_total{backend=\"$SGW_TEST_STORE\"})
fcgi "$A" "${base[@]}" REQUEST_METHOD=GET DOCUMENT_URI=/auth/healthz
s2=$FCGI_STATUS
store_resume
expect_eq "Redis stopped: /check is 503" 503 "$s1"
expect_eq "...healthz is 503" 503 "$s2"
scrape
expect_eq 'sgw_authz_total{result="unavailable"}' 1 "$(metric 'sgw_authz_total{result="unavailable"}')"
[ "$r1" != none ] && [ "$r1" -ge 1 ] && ok "sgw_store_errors_total{backend=\"$SGW_TEST_STORE\"} counts the 503 ($r1)" ||
	not_ok "sgw_store_errors_total{backend=\"$SGW_TEST_STORE\"} counts the 503 (got $r1)"
expect_eq "...and the failed health ping" $((r1 + 1)) "$(metric sgw_store_errors_total{backend=\"$SGW_TEST_STORE\"})"
expect_eq 'requests: check 503' 1 "$(metric 'sgw_requests_total{endpoint="check",code="503"}')"
fi

# --- a reload keeps the counters ---------------------------------------------------------
old=$(workers | tr '\n' ' ')
kill -HUP "$SGW_PID"
reloaded() {
	scrape
	[ "$(metric sgw_workers)" = 2 ] && [ "$(workers | wc -l)" -eq 2 ] &&
		! grep -qxE "$(echo $old | tr ' ' '|')" <<<"$(workers)"
}
wait_until 15 reloaded
expect_eq "after SIGHUP: sgw_workers 2 again" 2 "$(metric sgw_workers)"
expect_eq "...the counters survive" 1 "$(metric 'sgw_logins_total{result="success"}')"
expect_eq "...a reload is no restart" 1 "$(metric sgw_worker_restarts_total)"
expect_eq "...the metrics server keeps serving" 1 "$(metrics_server | wc -l)"

# --- only GET /metrics, only on its own socket ---------------------------------------------
http GET "$M/other"
expect_eq "GET /other on the metrics port is 404" 404 "$STATUS"
http POST "$M/metrics"
expect_eq "POST /metrics is 404" 404 "$STATUS"
fcgi "$A" "${base[@]}" REQUEST_METHOD=GET DOCUMENT_URI=/metrics
expect_eq "/metrics over FastCGI is not served" 404 "$FCGI_STATUS"
fcgi "$A" "${base[@]}" REQUEST_METHOD=GET DOCUMENT_URI=/auth/metrics
expect_no_match "...nor under the prefix" 'sgw_requests_total' "$FCGI_OUT"

# A client that connects and says nothing holds the server 2 s at most.
exec 3<>"/dev/tcp/127.0.0.1/$METRICS_PORT"
start=$(date +%s%N)
http GET "$M/metrics"
took=$((($(date +%s%N) - start) / 1000000))
exec 3<&-
expect_eq "a silent client does not block the next scrape" 200 "$STATUS"
[ "$took" -lt 4000 ] && ok "...for long (${took} ms)" || not_ok "...for long (${took} ms)"

# An oversized request is refused, not buffered.
big=$(head -c 10000 /dev/zero | tr '\0' a)
STATUS=$(curl -s -o /dev/null -w '%{http_code}' --max-time 10 -H "X-Big: $big" "$M/metrics")
expect_match "a request over 8 KiB is not answered with the metrics" '^(000|4[0-9][0-9])$' "$STATUS"

# --- a busy metrics port: a clear error, no start ------------------------------------------------
gateway_conf "$T/busy.conf" workers=2 "metrics_listen=127.0.0.1:$METRICS_PORT"
timeout 10 "$SGW_BIN" -c "$T/busy.conf" 2>"$T/busy.err"
expect_eq "a busy metrics port: a second gateway refuses to start" 1 "$?"
expect_eq "...with a clear error" \
	"sessiongw: cannot listen on 127.0.0.1:$METRICS_PORT: Address already in use" "$(cat "$T/busy.err")"
expect_eq "...and leaves its FastCGI port closed" 1 "$(port_busy "$SGW_PORT" && echo 0 || echo 1)"
expect_eq "...while the first one still answers" 200 "$(curl -s -o /dev/null -w '%{http_code}' --max-time 10 "$M/metrics")"

# --- SIGTERM stops the metrics server too -----------------------------------------------------
mpid=$(metrics_server)
kill -TERM "$SGW_PID"
wait "$SGW_PID"
expect_eq "SIGTERM: the master exits 0" 0 $?
expect_eq "...the metrics server is gone" 1 "$(kill -0 "$mpid" 2>/dev/null && echo 0 || echo 1)"
expect_eq "...and its port is closed" 1 "$(port_busy "$METRICS_PORT" && echo 0 || echo 1)"
expect_eq "...without complaint (the one restart logged was the SIGKILL above)" 1 \
	"$(grep -cE 'metrics server [0-9]+ .*restarting it' "$T/sgw.log")"

# --- the metrics server holds no secret ------------------------------------------------------
# It talks plain HTTP to anyone who can reach metrics_listen, so it must
# not have the keys, the password hashes or the Redis password in its
# memory: its whole writable memory is searched for them.
METRICS_PORT=$(free_port)
gateway_conf "$T/secrets.conf" workers=1 "metrics_listen=127.0.0.1:$METRICS_PORT" \
	"password=redis-pw-$RANDOM$RANDOM-do-not-leak"
add_user carol 'pw-carol-long' staff
start_gateway "$T/secrets.conf"
wait_until 10 curl -sf --max-time 5 "http://127.0.0.1:$METRICS_PORT/metrics" ||
	fatal "the metrics listener did not answer"
find_secrets() { # PID: prints each secret found in its memory
	python3 - "$1" "$(sed -n 's/^password = //p' "$T/secrets.conf")" \
		"$(grep -v '^#' "$T/secret" | head -n1)" "$T/users" <<-'PY'
	import sys
	pid, pw, key, users = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4]
	needles = {"redis password": pw.encode(), "key": bytes.fromhex(key)}
	for line in open(users):
	    f = line.strip().split(":")
	    if len(f) >= 2 and f[1].startswith("$"):
	        needles["hash of " + f[0]] = f[1].encode()
	chunk, over = 8 << 20, 256
	with open("/proc/%s/maps" % pid) as maps, open("/proc/%s/mem" % pid, "rb", 0) as mem:
	    for m in maps:
	        f = m.split()
	        lo, hi = (int(x, 16) for x in f[0].split("-"))
	        # Writable memory; not the terabytes a sanitizer reserves.
	        if "w" not in f[1] or hi - lo > 4 << 30:
	            continue
	        for at in range(lo, hi, chunk):
	            try:
	                mem.seek(at)
	                data = mem.read(min(chunk + over, hi - at))
	            except OSError:
	                continue
	            for name, n in needles.items():
	                if n in data:
	                    print(name)
	PY
}
w=$(workers)
expect_match "a worker does hold the secrets (so the search finds them)" 'redis password' \
	"$(find_secrets "$w" | tr '\n' ' ')"
expect_match "...its key and hashes too" 'key.*hash of carol|hash of carol.*key' \
	"$(find_secrets "$w" | sort | tr '\n' ' ')"
expect_eq "the metrics server holds no key, no hash and no password" "" \
	"$(find_secrets "$(metrics_server)" | sort -u | tr '\n' ' ')"
stop_pid "$SGW_PID"

finish
