#!/usr/bin/env bash
# backends: lmdb redis postgres
# The process model under attack and under faults (issue 7, SPEC section
# 2): peers that send half a request must not hold the workers, a
# graceful stop serves the connections already queued, and workers killed
# again and again are replaced at once.
. "$(dirname "$0")/lib.sh"

start_store
ms() { date +%s%3N; }
# page ADDR [SECONDS]: the first line of the login page's answer.
page() {
	"$SGW_FCGI_CLIENT" -t "${2:-10}" "$1" REQUEST_METHOD=GET DOCUMENT_URI=/auth/login \
		REMOTE_ADDR=127.0.0.1 | tr -d '\r' | head -n1
}
count_workers() { worker_pids "$SGW_PID" | wc -l; }
# listen_queue N: at least N connections wait in the listening socket's
# queue (its Recv-Q), taken by no worker yet.
listen_queue() { [ "$(ss -Hltn "sport = :$SGW_PORT" | awk '{print $2}')" -ge "$1" ]; }

# --- peers that send half a request, or nothing, cannot hold the workers ------
gateway_conf "$T/hold.conf" workers=2 request_timeout=1s
start_gateway "$T/hold.conf"
A="127.0.0.1:$SGW_PORT"
holders=()
i=0
for mode in half params values half params values half params; do
	i=$((i + 1))
	"$SGW_FCGI_CLIENT" -H "$mode" -t 10 "$A" >"$T/hold.$i" 2>&1 &
	holders+=($!)
done
sleep 0.3
t0=$(ms)
out=$(page "$A" 8)
t1=$(ms)
expect_eq "8 held connections, 2 workers: a request behind them is answered" "Status: 200 OK" "$out"
# The holders hold a slot each, not a worker: the request is not queued
# behind their request_timeout (1 s) at all.
elapsed=$((t1 - t0))
if [ "$elapsed" -lt 900 ]; then
	ok "...at once, not after the holders' request_timeout (${elapsed} ms)"
else
	not_ok "...at once, not after the holders' request_timeout (${elapsed} ms)"
fi
for p in "${holders[@]}"; do wait "$p"; done
expect_eq "every holder (half a header, a truncated PARAMS, GET_VALUES) is closed by the server" \
	"8" "$(cat "$T"/hold.* | grep -c '^closed$')"
t0=$(ms)
"$SGW_FCGI_CLIENT" -H params -t 10 "$A" >/dev/null
t1=$(ms)
elapsed=$((t1 - t0))
if [ "$elapsed" -ge 800 ] && [ "$elapsed" -lt 2500 ]; then
	ok "a truncated record is closed after about request_timeout (${elapsed} ms)"
else
	not_ok "a truncated record is closed after about request_timeout (${elapsed} ms)"
fi
# On a kept connection the time counts from the end of the last answer.
t0=$(ms)
out=$("$SGW_FCGI_CLIENT" -k 3 -t 10 "$A" REQUEST_METHOD=GET DOCUMENT_URI=/auth/login \
	REMOTE_ADDR=127.0.0.1 | tr -d '\r')
t1=$(ms)
elapsed=$((t1 - t0))
# (The login page does not end in a newline: count, do not match lines.)
expect_eq "FCGI_KEEP_CONN: three requests answered on one connection" 3 \
	"$(grep -o 'Status: 200 OK' <<<"$out" | wc -l)"
expect_match "FCGI_KEEP_CONN: then the idle connection is closed by the server" 'closed$' "$out"
if [ "$elapsed" -ge 800 ] && [ "$elapsed" -lt 2500 ]; then
	ok "FCGI_KEEP_CONN: ...about request_timeout after the last answer (${elapsed} ms in all)"
else
	not_ok "FCGI_KEEP_CONN: ...about request_timeout after the last answer (${elapsed} ms in all)"
fi
fails=0
for i in $(seq 1 20); do [ "$(page "$A")" = "Status: 200 OK" ] || fails=$((fails + 1)); done
expect_eq "then every request is answered again (20 requests)" 0 "$fails"
expect_eq "the workers were not killed for it" 2 "$(count_workers)"

# --- a TCP peer that sends nothing waits in the kernel, not in a worker -------
# The listening socket defers the accept until the first bytes come
# (TCP_DEFER_ACCEPT, 1 s): the server side of a silent connection stays
# SYN-RECV, no worker's. Then the kernel hands it over, and request_timeout
# (1 s) closes it as it closes any other.
exec 3<>"/dev/tcp/127.0.0.1/$SGW_PORT"
t0=$(ms)
expect_eq "a peer that sends nothing is not accepted yet (SYN-RECV on the server side)" 1 \
	"$(ss -Htn state syn-recv "sport = :$SGW_PORT" | wc -l)"
expect_eq "...and a request beside it is answered" "Status: 200 OK" "$(page "$A")"
timeout 10 cat <&3 >/dev/null
t1=$(ms)
exec 3<&-
elapsed=$((t1 - t0))
if [ "$elapsed" -ge 1800 ] && [ "$elapsed" -lt 4000 ]; then
	ok "...it is closed after the deferral and request_timeout (${elapsed} ms)"
else
	not_ok "...it is closed after the deferral and request_timeout (${elapsed} ms)"
fi
stop_pid "$SGW_PID"

# --- SIGTERM with held workers: exit after about request_timeout, not the grace -------
gateway_conf "$T/term.conf" workers=2 request_timeout=2s
start_gateway "$T/term.conf"
A="127.0.0.1:$SGW_PORT"
"$SGW_FCGI_CLIENT" -H half -t 15 "$A" >/dev/null 2>&1 &
h1=$!
"$SGW_FCGI_CLIENT" -H values -t 15 "$A" >/dev/null 2>&1 &
h2=$!
"$SGW_FCGI_CLIENT" -H params -t 15 "$A" >/dev/null 2>&1 &
h3=$!
sleep 0.3
t0=$(ms)
kill -TERM "$SGW_PID"
wait "$SGW_PID"
rc=$?
t1=$(ms)
elapsed=$((t1 - t0))
expect_eq "SIGTERM with held workers: the master exits 0" 0 "$rc"
# The holders get what is left of one request_timeout (2 s), then the
# workers leave.
if [ "$elapsed" -lt 3000 ]; then
	ok "SIGTERM with held workers: stopped in ${elapsed} ms (request_timeout 2 s)"
else
	not_ok "SIGTERM with held workers: stopped in ${elapsed} ms (request_timeout 2 s)"
fi
kill "$h1" "$h2" "$h3" 2>/dev/null
wait "$h1" "$h2" "$h3" 2>/dev/null

# --- SIGTERM closes an idle kept connection at once ----------------------------------------
gateway_conf "$T/kept.conf" workers=1 request_timeout=5s
start_gateway "$T/kept.conf"
"$SGW_FCGI_CLIENT" -k 1 -t 10 "127.0.0.1:$SGW_PORT" REQUEST_METHOD=GET DOCUMENT_URI=/auth/login \
	REMOTE_ADDR=127.0.0.1 >"$T/kept.out" 2>&1 &
kc=$!
sleep 0.5
t0=$(ms)
kill -TERM "$SGW_PID"
wait "$SGW_PID"
rc=$?
t1=$(ms)
wait "$kc"
expect_eq "SIGTERM, idle kept connection: the master exits 0" 0 "$rc"
if [ $((t1 - t0)) -lt 1500 ]; then
	ok "SIGTERM, idle kept connection: closed at once ($((t1 - t0)) ms, request_timeout 5 s)"
else
	not_ok "SIGTERM, idle kept connection: closed at once ($((t1 - t0)) ms, request_timeout 5 s)"
fi
expect_eq "SIGTERM, idle kept connection: its answer came, then the close" "Status: 200 OK closed" \
	"$(tr -d '\r' <"$T/kept.out" | grep -E '^(Status|closed|open)' | tr '\n' ' ' | sed 's/ $//')"

# --- SIGTERM serves the connections already queued ---------------------------------------
gateway_conf "$T/drain.conf" workers=1
start_gateway "$T/drain.conf"
A="127.0.0.1:$SGW_PORT"
w=$(worker_pids "$SGW_PID")
# A stopped worker takes nothing: the next connections wait in the
# listening socket's queue, as they do under load.
kill -STOP "$w"
clients=()
for i in $(seq 1 12); do
	page "$A" 10 >"$T/drain.$i" 2>&1 &
	clients+=($!)
done
sleep 0.5
kill -TERM "$SGW_PID"
sleep 0.3
kill -CONT "$w"
for p in "${clients[@]}"; do wait "$p"; done
wait "$SGW_PID"
rc=$?
expect_eq "SIGTERM: all 12 queued connections are answered, none reset" 12 \
	"$(cat "$T"/drain.* | grep -c '^Status: 200 OK$')"
expect_eq "SIGTERM: then the master exits 0" 0 "$rc"
expect_match "SIGTERM: the worker says it served the queue" 'served [0-9]+ queued connections' "$(cat "$T/sgw.log")"

# --- workers killed again and again are replaced at once ---------------------------------
gateway_conf "$T/kill.conf" workers=4
start_gateway "$T/kill.conf"
A="127.0.0.1:$SGW_PORT"
min=4
for i in $(seq 1 10); do
	victim=$(worker_pids "$SGW_PID" | shuf -n1)
	[ -n "$victim" ] && kill -KILL "$victim"
	for j in 1 2 3 4 5; do
		n=$(count_workers)
		[ "$n" -lt "$min" ] && min=$n
		page "$A" 2 >/dev/null
		sleep 0.05
	done
done
t0=$(ms)
wait_until 3 sh -c "[ \$(pgrep -P $SGW_PID -x sessiongw | wc -l) -eq 4 ]"
t1=$(ms)
[ "$min" -gt 0 ] && ok "10 kills in 5 s: the pool never ran empty (lowest: $min)" ||
	not_ok "10 kills in 5 s: the pool never ran empty (lowest: $min)"
if [ "$(count_workers)" -eq 4 ] && [ $((t1 - t0)) -le 1000 ]; then
	ok "...and is back to 4 within 1 s of the last kill ($((t1 - t0)) ms)"
else
	not_ok "...and is back to 4 within 1 s of the last kill ($(count_workers) after $((t1 - t0)) ms)"
fi
expect_no_match "a killed worker is no crash: no back-off" 'dying quickly' "$(cat "$T/sgw.log")"
expect_eq "requests are served after the kills" "Status: 200 OK" "$(page "$A")"
stop_pid "$SGW_PID"

# --- checks queued behind a stalled store are answered when it is back -------
# One worker waits on the store for a check while five more queue. When the
# store answers again all six pass; a store that reads ahead (Redis,
# PostgreSQL) reads the five queued sessions in one round trip.
if store_can_fail; then
	gateway_conf "$T/sgw.conf" workers=1 log_level=debug command_timeout=5s
	add_user alice 'pw-alice'
	start_gateway "$T/sgw.conf"
	gw_login alice pw-alice
	expect_eq "queued checks: a session to check" 200 "$FCGI_STATUS"
	store_stall
	gw_check "$TOK" >"$T/ahead.0" &
	queued=($!)
	sleep 0.3
	for i in 1 2 3 4 5; do
		gw_check "$TOK" >"$T/ahead.$i" &
		queued+=($!)
	done
	wait_until 5 listen_queue 5 || not_ok "queued checks: 5 connections in the listen queue"
	store_resume
	wait "${queued[@]}"
	expect_eq "6 checks queued behind a stalled store all pass once it answers" \
		"200 200 200 200 200 200" "$(cat "$T"/ahead.[0-5] | tr '\n' ' ' | sed 's/ $//')"
	if store_reads_ahead; then
		expect_match "$SGW_TEST_STORE: the 5 queued sessions are read in one round trip" \
			'debug \[[0-9]+\] read 5 sessions ahead in one round trip' "$(cat "$T/sgw.log")"
	fi
	stop_pid "$SGW_PID"
fi

# --- with a store that reads ahead, one worker leads ---------------------------
# The others leave it the connections that come while it waits for the
# store (gateway/lead.h). A lead that is stopped, or killed, holds up no
# check: while it waits for work the others take what they are woken for,
# and once it is gone another worker leads.
if store_reads_ahead; then
	gateway_conf "$T/lead.conf" workers=2 log_level=debug
	start_gateway "$T/lead.conf"
	gw_login alice pw-alice
	leads() { sed -n 's/.* debug \[\([0-9]*\)\] leads the workers.*/\1/p' "$T/sgw.log"; }
	wait_until 5 sh -c "grep -q 'leads the workers' '$T/sgw.log'" ||
		not_ok "lead: no worker says it leads"
	L=$(leads | tail -n1)
	expect_eq "lead: it is one of the 2 workers" 1 "$(worker_pids "$SGW_PID" | grep -cx "$L")"
	kill -STOP "$L"
	got=
	for i in 1 2 3 4 5; do got="$got $(gw_check "$TOK")"; done
	expect_eq "lead: with the lead stopped, 5 checks pass" " 200 200 200 200 200" "$got"
	kill -KILL "$L"
	kill -CONT "$L" 2>/dev/null
	newlead() { gw_check "$TOK" >/dev/null; leads | grep -qvx "$L"; }
	wait_until 5 newlead || not_ok "lead: another worker leads once it is gone"
	expect_eq "lead: ...and that one is a live worker" 1 \
		"$(worker_pids "$SGW_PID" | grep -cx "$(leads | grep -vx "$L" | tail -n1)")"
	expect_eq "lead: checks pass after it was killed" 200 "$(gw_check "$TOK")"
	stop_pid "$SGW_PID"
fi

# --- a request's duration counts its part of the read ahead ------------------
# Three checks queue while the worker is stopped; the store stalls before
# the worker goes on. It takes the three in one wakeup and reads their
# sessions in one round trip, which waits for the store: each check's
# sgw_request_duration_seconds must count that wait.
if store_reads_ahead; then
	MPORT=$(free_port)
	gateway_conf "$T/dur.conf" workers=1 log_level=debug command_timeout=5s \
		"metrics_listen=127.0.0.1:$MPORT"
	start_gateway "$T/dur.conf"
	gw_login alice pw-alice
	# Requests slower than 0.5 s, as the histogram counts them.
	slow() {
		curl -s --max-time 10 "http://127.0.0.1:$MPORT/metrics" | awk '
			$1 == "sgw_request_duration_seconds_count" { n = $2 }
			$1 == "sgw_request_duration_seconds_bucket{le=\"0.5\"}" { b = $2 }
			END { print (n == "" || b == "" ? "none" : n - b) }'
	}
	slow0=$(slow)
	w=$(worker_pids "$SGW_PID")
	kill -STOP "$w"
	queued=()
	for i in 1 2 3; do
		gw_check "$TOK" >"$T/dur.$i" &
		queued+=($!)
	done
	wait_until 5 listen_queue 3 || not_ok "durations: 3 connections in the listen queue"
	store_stall
	kill -CONT "$w"
	sleep 0.8
	store_resume
	wait "${queued[@]}"
	expect_eq "durations: the 3 checks pass" "200 200 200" \
		"$(cat "$T"/dur.[1-3] | tr '\n' ' ' | sed 's/ $//')"
	expect_match "durations: their sessions are read in one round trip" \
		'debug \[[0-9]+\] read 3 sessions ahead in one round trip' "$(cat "$T/sgw.log")"
	expect_eq "durations: each of the 3 counts the read ahead's wait (> 0.5 s)" \
		"$((slow0 + 3))" "$(slow)"
	stop_pid "$SGW_PID"
fi

finish
