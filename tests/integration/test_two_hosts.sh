#!/usr/bin/env bash
# backends: redis postgres
# Several gateway hosts, one Redis: two sessiongw instances behind one
# nginx upstream. A session made through one is valid through the other,
# and stopping one while requests flow loses none that nginx can retry.
. "$(dirname "$0")/lib.sh"

start_store
gateway_conf "$T/sgw.conf" log_level=debug
add_user alice 'pw-alice' staff
start_gateway "$T/sgw.conf"
GW1_PORT=$SGW_PORT
GW1_PID=$SGW_PID
# The second host shares Redis, key_prefix and the secret file (SPEC 4:
# every gateway host sharing a Redis shares the secret).
gateway_conf "$T/gw2.conf" log_level=debug
sed -i "s|^key_prefix = .*|$(grep '^key_prefix' "$T/sgw.conf")|" "$T/gw2.conf"
start_gateway "$T/gw2.conf"
GW2_PORT=$SGW_PORT
GW2_PID=$SGW_PID

SGW_PORT=$GW1_PORT SGW_MORE_UPSTREAMS="127.0.0.1:$GW2_PORT" start_nginx
B="http://127.0.0.1:$NGINX_PORT"

http POST "$B/auth/login" -c "$T/jar" -d 'username=alice&password=pw-alice'
expect_eq "login through the pair: 303" 303 "$STATUS"
tok=$(sed -n 's/.*sgw_session\t//p' "$T/jar")
for port in "$GW1_PORT" "$GW2_PORT"; do
	fcgi -r authorizer "127.0.0.1:$port" REQUEST_METHOD=GET REQUEST_URI=/app/x \
		REMOTE_ADDR=127.0.0.1 "HTTP_COOKIE=sgw_session=$tok"
	expect_eq "the session is valid on the instance at port $port" 200 "$FCGI_STATUS"
done

# Both instances really serve through nginx (round robin).
served_by() { # MASTER_PID: checks answered by that instance's workers
	local w n=0
	for w in $(worker_pids "$1"); do
		n=$((n + $(grep -c "\[$w\] .* check -> 200" "$T/sgw.log")))
	done
	echo "$n"
}
for i in $(seq 1 10); do http GET "$B/app/page.html" -b "$T/jar" >/dev/null; done
c1=$(served_by "$GW1_PID")
c2=$(served_by "$GW2_PID")
if [ "$c1" -ge 1 ] && [ "$c2" -ge 1 ]; then ok "nginx spreads the checks over both instances ($c1 + $c2)"
else not_ok "nginx spreads the checks over both instances ($c1 + $c2)"; fi

# A bounded loop of requests; the first instance is stopped in the middle.
fails=0
codes=""
for i in $(seq 1 200); do
	[ "$i" -eq 60 ] && kill -TERM "$GW1_PID"
	code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 -b "$T/jar" "$B/app/page.html")
	[ "$code" = 200 ] || { fails=$((fails + 1)); codes="$codes $code"; }
done
expect_eq "stopping one instance under load loses no request (200 requests)" "0" "$fails$codes"
wait "$GW1_PID"
expect_eq "the stopped instance exited cleanly" 0 $?
http POST "$B/auth/login" -c "$T/jar2" -d 'username=alice&password=pw-alice'
expect_eq "logging in still works with one instance left" 303 "$STATUS"
http GET "$B/app/page.html" -b "$T/jar2"
expect_eq "...and so does the check" 200 "$STATUS"

finish
