#!/usr/bin/env bash
# backends: lmdb redis postgres
# The security model end to end over FastCGI (SPEC sections 5-7, 9):
# lifetimes, regulation, revocation, client binding, cross-site posts,
# session data. Timeouts are seconds long so the test stays short.
. "$(dirname "$0")/lib.sh"

start_store
gateway_conf "$T/sgw.conf" idle_timeout=2s absolute_timeout=4s remember_me_timeout=6s \
	max_failures=3 max_client_failures=5 failure_window=30s lockout=3s max_per_user=3 \
	trusted_proxies=10.9.0.0/16 redirect_hosts=partner.example
add_user alice 'pw-alice' staff
add_user bob 'pw-bob-b' staff
add_user carol 'pw-carol' admin
start_gateway "$T/sgw.conf"
A="127.0.0.1:$SGW_PORT"

# login USER PASSWORD [REMOTE_ADDR] [remember(true|false)] [extra params...]
login() {
	local u=$1 p=$2 addr=${3:-127.0.0.1} rm=${4:-false}
	shift 4 2>/dev/null || shift $#
	FCGI_OUT=$(printf '{"username":"%s","password":"%s","remember_me":%s}' "$u" "$p" "$rm" |
		"$SGW_FCGI_CLIENT" -i "$A" REQUEST_METHOD=POST DOCUMENT_URI=/auth/login \
			CONTENT_TYPE=application/json HTTP_HOST=gw.test "REMOTE_ADDR=$addr" "$@" | tr -d '\r')
	FCGI_STATUS=$(printf '%s\n' "$FCGI_OUT" | sed -n 's/^Status: \([0-9]*\).*/\1/p')
	TOK=$(printf '%s\n' "$FCGI_OUT" | sed -n 's/^Set-Cookie: sgw_session=\([^;]*\);.*/\1/p')
}
# check TOKEN [REMOTE_ADDR] [extra params...]: the authorizer's answer for /app/x.
check() {
	local tok=$1 addr=${2:-127.0.0.1}
	shift 2 2>/dev/null || shift $#
	fcgi -r authorizer "$A" REQUEST_METHOD=GET REQUEST_URI=/app/x "REMOTE_ADDR=$addr" \
		"HTTP_COOKIE=sgw_session=$tok" "$@"
	echo "$FCGI_STATUS"
}
# api METHOD PATH TOKEN [extra params...]
api() {
	local m=$1 p=$2 tok=$3
	shift 3
	fcgi "$A" "REQUEST_METHOD=$m" "DOCUMENT_URI=/auth$p" REMOTE_ADDR=127.0.0.1 HTTP_HOST=gw.test \
		"HTTP_COOKIE=sgw_session=$tok" "$@"
}

# --- lifetimes ------------------------------------------------------------------
login alice pw-alice
t1=$TOK
expect_eq "login: 200" 200 "$FCGI_STATUS"
for i in 1 2 3; do sleep 0.8; check "$t1" >/dev/null; done
expect_eq "idle timeout slides: used every 0.8 s, alive after 2.4 s (> idle 2 s)" 200 "$(check "$t1")"
sleep 2.3
expect_eq "idle timeout: unused for longer than idle_timeout, gone" 401 "$(check "$t1")"
expect_eq "an expired session is gone, not revived by a later use" 401 "$(check "$t1")"

login alice pw-alice
t2=$TOK
api GET /session "$t2"
created=$(printf '%s' "$FCGI_OUT" | sed -n 's/.*"created_at":"\([^"]*\)".*/\1/p')
expires=$(printf '%s' "$FCGI_OUT" | sed -n 's/.*"expires_at":"\([^"]*\)".*/\1/p')
expect_eq "expires_at is created_at + absolute_timeout" 4 \
	"$(($(date -d "$expires" +%s) - $(date -d "$created" +%s)))"
alive_at_3=""
for i in $(seq 1 9); do
	sleep 0.5
	s=$(check "$t2")
	[ "$i" -eq 6 ] && alive_at_3=$s
done
expect_eq "absolute timeout: still valid at 3 s while in use" 200 "$alive_at_3"
expect_eq "absolute timeout: gone after 4 s though used every 0.5 s" 401 "$(check "$t2")"

login alice pw-alice 127.0.0.1 true
expect_match "remember-me: cookie Max-Age = remember_me_timeout" 'Max-Age=6;' "$FCGI_OUT"
api GET /session "$TOK"
expect_match "remember-me: GET /session says so" '"remember_me":true' "$FCGI_OUT"

# --- regulation -------------------------------------------------------------------
# Each block from its own address, so only the per-user counter is at work.
for i in 1 2 3; do login bob wrong 127.0.0.20; done
expect_eq "3rd failure (max_failures) is still a plain 401" 401 "$FCGI_STATUS"
login bob pw-bob-b 127.0.0.21
expect_eq "after max_failures: 429 even with the right password" 429 "$FCGI_STATUS"
retry=$(printf '%s\n' "$FCGI_OUT" | sed -n 's/^Retry-After: //p')
expect_match "429 carries Retry-After (1..3 s)" '^[1-3]$' "$retry"
expect_eq "no cookie while locked out" "" "$TOK"
sleep 3.2
login bob pw-bob-b 127.0.0.22
expect_eq "after lockout: the right password works again" 200 "$FCGI_STATUS"
login bob wrong 127.0.0.23
login bob wrong 127.0.0.23
login bob pw-bob-b 127.0.0.24
expect_eq "a success cleared the counter: 2 new failures do not lock" 200 "$FCGI_STATUS"

# The counter lives in Redis: a second gateway instance sharing it sees it.
gateway_conf "$T/sgw2.conf" idle_timeout=2s absolute_timeout=4s remember_me_timeout=6s \
	max_failures=3 max_client_failures=5 failure_window=30s lockout=3s max_per_user=3
sed -i "s|^key_prefix = .*|$(grep '^key_prefix' "$T/sgw.conf")|" "$T/sgw2.conf"
A1=$A
start_gateway "$T/sgw2.conf"
A2="127.0.0.1:$SGW_PORT"
A=$A1; login carol x 127.0.0.7; login carol x 127.0.0.7; login carol x 127.0.0.7
A=$A2; login carol pw-carol 127.0.0.8
expect_eq "lockout is shared by every worker and host (Redis)" 429 "$FCGI_STATUS"
A=$A1

# Many user names from one address: max_client_failures.
for u in u1 u2 u3 u4 u5; do login "$u" wrong 192.0.2.50; done
login alice pw-alice 192.0.2.50
expect_eq "max_client_failures from one address: 429 for any user" 429 "$FCGI_STATUS"
login alice pw-alice 192.0.2.51
expect_eq "...while another address may log in" 200 "$FCGI_STATUS"

# The client is REMOTE_ADDR: a spoofed X-Forwarded-For from an untrusted
# peer does not dodge the per-address limit.
login alice pw-alice 192.0.2.50 false HTTP_X_FORWARDED_FOR=198.51.100.1
expect_eq "spoofed X-Forwarded-For from an untrusted peer is ignored" 429 "$FCGI_STATUS"
# From a trusted proxy the right-most untrusted X-Forwarded-For entry counts.
login alice pw-alice 10.9.0.1 false "HTTP_X_FORWARDED_FOR=192.0.2.50, 10.9.0.2"
expect_eq "behind a trusted proxy the forwarded client is regulated" 429 "$FCGI_STATUS"
login alice pw-alice 10.9.0.1 false "HTTP_X_FORWARDED_FOR=192.0.2.50, 198.51.100.9"
expect_eq "right-most untrusted entry wins over a spoofed left one" 200 "$FCGI_STATUS"

# --- revocation --------------------------------------------------------------------
sleep 3.2 # let bob's and the address lockouts pass
login bob pw-bob-b; b1=$TOK
login bob pw-bob-b; b2=$TOK
api GET /sessions "$b2"
expect_eq "GET /sessions: 200" 200 "$FCGI_STATUS"
expect_eq "GET /sessions lists the user's live sessions" 2 "$(printf '%s' "$FCGI_OUT" | grep -o '"session_id"' | wc -l)"
expect_eq "GET /sessions marks the current one" 1 "$(printf '%s' "$FCGI_OUT" | grep -o '"current":true' | wc -l)"
id1=$(api GET /session "$b1" >/dev/null; printf '%s' "$FCGI_OUT" | sed -n 's/.*"session_id":"\([0-9a-f]*\)".*/\1/p')
login alice pw-alice; a1=$TOK
api DELETE "/sessions/$id1" "$a1" HTTP_ORIGIN=http://gw.test
expect_eq "DELETE another user's session: 404" 404 "$FCGI_STATUS"
expect_eq "...and it still lives" 200 "$(check "$b1")"
api DELETE "/sessions/$id1" "$b2"
expect_eq "DELETE /sessions/{own id}: 204" 204 "$FCGI_STATUS"
expect_eq "...that session is gone" 401 "$(check "$b1")"
expect_eq "...the other one lives" 200 "$(check "$b2")"
api DELETE /sessions/00000000000000000000000000000000 "$b2"
expect_eq "DELETE an unknown id: 404" 404 "$FCGI_STATUS"

login bob pw-bob-b; b3=$TOK
login bob pw-bob-b; b4=$TOK
login bob pw-bob-b; b5=$TOK
expect_eq "max_per_user=3: the oldest session is ended" 401 "$(check "$b2")"
expect_eq "max_per_user=3: the newest three live" "200 200 200" "$(check "$b3") $(check "$b4") $(check "$b5")"

out=$("$SGW_BIN" sessions list -c "$T/sgw.conf" bob)
expect_eq "sessions list: one line per live session" 3 "$(printf '%s\n' "$out" | grep -c .)"
expect_match "sessions list: id, created, last seen, expires, client" \
	'^[0-9a-f]{32} [0-9T:-]+Z [0-9T:-]+Z [0-9T:-]+Z 127\.0\.0\.1$' "$(printf '%s\n' "$out" | head -n1)"
expect_no_match "sessions list: never a cookie value" "${b3%%.*}" "$out"
rid=$(printf '%s\n' "$out" | head -n1 | cut -d' ' -f1)
"$SGW_BIN" sessions revoke -c "$T/sgw.conf" bob "$rid" >/dev/null
expect_eq "sessions revoke USER ID: ends that one" 401 "$(check "$b3")"
api POST /logout-all "$b4" CONTENT_TYPE=application/json
expect_eq "POST /logout-all: 200" 200 "$FCGI_STATUS"
expect_eq "logout-all: every session of the user ends" "401 401" "$(check "$b4") $(check "$b5")"
expect_eq "logout-all: other users keep theirs" 200 "$(check "$a1")"
expect_eq "the user's index is gone with the sessions" 0 "$(store_user_index bob)"

login alice pw-alice; a2=$TOK
printf 'pw-alice-2\n' | "$SGW_BIN" passwd -c "$T/sgw.conf" alice 2>/dev/null
expect_eq "changing a password ends the user's sessions" "401 401" "$(check "$a1") $(check "$a2")"
"$SGW_BIN" sessions revoke -c "$T/sgw.conf" alice >/dev/null
login alice pw-alice-2; a3=$TOK
printf 'pw-alice-3\n' | "$SGW_BIN" passwd -c "$T/sgw.conf" --keep-sessions alice 2>/dev/null
expect_eq "passwd --keep-sessions keeps them" 200 "$(check "$a3")"

# The per-user index never grows without bound: dead members are pruned.
for i in 1 2 3 4 5 6; do login carol pw-carol 127.0.0.1; done
sleep 2.3 # all idle-expired
login carol pw-carol
expect_eq "the index holds live sessions only (expired ones pruned)" 1 \
	"$(store_user_index carol)"

# --- client binding -----------------------------------------------------------------
gateway_conf "$T/bind.conf" bind_client=on trusted_proxies=10.9.0.0/16
start_gateway "$T/bind.conf"
A="127.0.0.1:$SGW_PORT"
login alice pw-alice-3 192.0.2.10
bt=$TOK
expect_eq "bind_client: the logging-in address passes" 200 "$(check "$bt" 192.0.2.10)"
expect_eq "bind_client: another address is refused" 401 "$(check "$bt" 192.0.2.11)"
expect_eq "bind_client: a spoofed X-Forwarded-For from an untrusted peer does not help" 401 \
	"$(check "$bt" 192.0.2.11 HTTP_X_FORWARDED_FOR=192.0.2.10)"
expect_eq "bind_client: through a trusted proxy the forwarded address counts" 200 \
	"$(check "$bt" 10.9.1.1 HTTP_X_FORWARDED_FOR=192.0.2.10)"
stop_pid "$SGW_PID"

# --- User-Agent binding (the session hijack of docs/SECURITY.md) ---------------------
ua=(HTTP_USER_AGENT='Mozilla/5.0 (X11; Linux x86_64) Firefox/128.0')
gateway_conf "$T/ua.conf" bind_user_agent=on
start_gateway "$T/ua.conf"
A="127.0.0.1:$SGW_PORT"
login alice pw-alice-3 192.0.2.10 false "${ua[@]}"
ut=$TOK
expect_eq "bind_user_agent: the browser that logged in passes" 200 "$(check "$ut" 192.0.2.10 "${ua[@]}")"
expect_eq "bind_user_agent: the cookie copied to another client is refused" 401 \
	"$(check "$ut" 192.0.2.99 HTTP_USER_AGENT=curl/7.88.1)"
expect_eq "bind_user_agent: ...and to one that sends no User-Agent" 401 "$(check "$ut" 192.0.2.99)"
expect_eq "bind_user_agent: the address alone does not matter" 200 "$(check "$ut" 192.0.2.99 "${ua[@]}")"
expect_match "the log names a session refused for its address" \
	'warn .*session of user=alice refused for client=192\.0\.2\.11: bound to another address' "$(cat "$T/sgw.log")"
expect_match "...and for its User-Agent" \
	'warn .*session of user=alice refused for client=192\.0\.2\.99: bound to another User-Agent' "$(cat "$T/sgw.log")"
stop_pid "$SGW_PID"
gateway_conf "$T/noua.conf"
start_gateway "$T/noua.conf"
A="127.0.0.1:$SGW_PORT"
expect_eq "binding off: the copied cookie works from anywhere (a hijack)" 200 \
	"$(check "$ut" 192.0.2.99 HTTP_USER_AGENT=curl/7.88.1)"
stop_pid "$SGW_PID"

# --- regulation cannot be raced ------------------------------------------------------------
# 50 wrong logins at once, with workers to race: the attempt is counted
# before the password is verified, so at most max_failures are verified.
gateway_conf "$T/race.conf" workers=4 max_failures=5 max_client_failures=1000 \
	failure_window=1m lockout=1m
start_gateway "$T/race.conf"
A="127.0.0.1:$SGW_PORT"
racers=()
for i in $(seq 1 50); do
	printf '{"username":"dave","password":"wrong-password"}' |
		timeout 30 "$SGW_FCGI_CLIENT" -i "$A" REQUEST_METHOD=POST DOCUMENT_URI=/auth/login \
			CONTENT_TYPE=application/json HTTP_HOST=gw.test REMOTE_ADDR=192.0.2.77 |
		tr -d '\r' | sed -n 's/^Status: \([0-9]*\).*/\1/p' >"$T/race.$i" &
	racers+=($!)
done
wait "${racers[@]}"
expect_eq "50 racing wrong logins: at most max_failures (5) are verified (401)" 5 \
	"$(cat "$T"/race.* | grep -c '^401$')"
expect_eq "...every other one is 429" 45 "$(cat "$T"/race.* | grep -c '^429$')"
A=$A1

# --- cross-site posts -----------------------------------------------------------------
login alice pw-alice-3 127.0.0.1 false HTTP_ORIGIN=https://evil.example
expect_eq "login POST with a foreign Origin: 403" 403 "$FCGI_STATUS"
login alice pw-alice-3 127.0.0.1 false HTTP_ORIGIN=https://gw.test:8443
expect_eq "same host on another port is this site" 200 "$FCGI_STATUS"
ct=$TOK
login alice pw-alice-3 127.0.0.1 false HTTP_ORIGIN=https://partner.example
expect_eq "a host in redirect_hosts may post" 200 "$FCGI_STATUS"
api POST /logout "$ct" HTTP_ORIGIN=https://evil.example
expect_eq "logout POST with a foreign Origin: 403" 403 "$FCGI_STATUS"
expect_eq "...and the session lives on" 200 "$(check "$ct")"
api POST /logout-all "$ct" HTTP_ORIGIN=null
expect_eq "Origin: null is refused" 403 "$FCGI_STATUS"

# --- return_to allow-list through the real login ----------------------------------------
for rt in '//evil.example/x' '/\evil.example/x' 'https:/evil.example' 'https://evil.example/' \
	'http://gw.test/x' 'javascript:alert(1)' '/%2F%2Fevil.example' ' /x' 'https://gw.test@evil.example/'; do
	enc=$(printf '%s' "$rt" | od -An -tx1 | tr -d ' \n' | sed 's/../%&/g')
	out=$(printf 'username=alice&password=pw-alice-3&return_to=%s' "$enc" | "$SGW_FCGI_CLIENT" -i "$A" \
		REQUEST_METHOD=POST DOCUMENT_URI=/auth/login HTTP_HOST=gw.test REMOTE_ADDR=127.0.0.1 \
		CONTENT_TYPE=application/x-www-form-urlencoded | tr -d '\r')
	expect_match "return_to '$rt' is replaced by default_redirect" '^Location: /$' "$out"
done
for rt in '/app/page?x=1' 'https://gw.test/app/' 'https://partner.example/welcome'; do
	enc=$(printf '%s' "$rt" | od -An -tx1 | tr -d ' \n' | sed 's/../%&/g')
	out=$(printf 'username=alice&password=pw-alice-3&return_to=%s' "$enc" | "$SGW_FCGI_CLIENT" -i "$A" \
		REQUEST_METHOD=POST DOCUMENT_URI=/auth/login HTTP_HOST=gw.test REMOTE_ADDR=127.0.0.1 \
		CONTENT_TYPE=application/x-www-form-urlencoded | tr -d '\r')
	expect_match "return_to '$rt' is kept" "^Location: $(printf '%s' "$rt" | sed 's/[?.]/\\&/g')\$" "$out"
done

# --- session data ------------------------------------------------------------------------
login alice pw-alice-3; dt=$TOK
data() { # METHOD KEY [BODY]
	local m=$1 k=$2
	if [ $# -ge 3 ]; then
		FCGI_OUT=$(printf '%s' "$3" | "$SGW_FCGI_CLIENT" -i "$A" "REQUEST_METHOD=$m" \
			"DOCUMENT_URI=/auth/session/data/$k" REMOTE_ADDR=127.0.0.1 HTTP_HOST=gw.test \
			"HTTP_COOKIE=sgw_session=$dt" | tr -d '\r')
	else
		FCGI_OUT=$("$SGW_FCGI_CLIENT" "$A" "REQUEST_METHOD=$m" "DOCUMENT_URI=/auth/session/data/$k" \
			REMOTE_ADDR=127.0.0.1 HTTP_HOST=gw.test "HTTP_COOKIE=sgw_session=$dt" | tr -d '\r')
	fi
	FCGI_STATUS=$(printf '%s\n' "$FCGI_OUT" | sed -n 's/^Status: \([0-9]*\).*/\1/p')
}
data PUT theme dark; expect_eq "PUT data: 204" 204 "$FCGI_STATUS"
data GET theme; expect_eq "GET data: 200" 200 "$FCGI_STATUS"
expect_eq "GET data: the stored body" dark "$(printf '%s\n' "$FCGI_OUT" | tail -n1)"
data GET nothing; expect_eq "GET absent key: 404" 404 "$FCGI_STATUS"
data PUT 'bad key!' x; expect_eq "invalid key: 400" 400 "$FCGI_STATUS"
data PUT big "$(head -c 4097 /dev/zero | tr '\0' x)"; expect_eq "value over 4 KiB: 413" 413 "$FCGI_STATUS"
data PUT fits "$(head -c 4096 /dev/zero | tr '\0' x)"; expect_eq "value of exactly 4 KiB: 204" 204 "$FCGI_STATUS"
for i in $(seq 3 64); do data PUT "k$i" v; done
expect_eq "the 64th key is stored" 204 "$FCGI_STATUS"
data PUT k65 v; expect_eq "a 65th key: 409" 409 "$FCGI_STATUS"
data DELETE theme; expect_eq "DELETE data: 204" 204 "$FCGI_STATUS"
data GET theme; expect_eq "deleted key: 404" 404 "$FCGI_STATUS"
dt=not-a-token
data GET fits; expect_eq "data without a session: 401" 401 "$FCGI_STATUS"

# --- privilege drop ---------------------------------------------------------------------------
if [ "$(id -u)" -eq 0 ] && id nobody >/dev/null 2>&1; then
	chmod 644 "$T/users"
	# The embedded store's files belong to the workers' user.
	install -d -o nobody "$T/lmdb-nobody"
	gateway_conf "$T/priv.conf" user=nobody "path=$T/lmdb-nobody"
	start_gateway "$T/priv.conf"
	owners=$(for w in $(worker_pids "$SGW_PID"); do ps -o user= -p "$w"; done | sort -u | tr '\n' ' ')
	expect_eq "user = nobody: workers run as nobody" "nobody " "$owners"
	expect_eq "...the master stays root (to reload and reopen logs)" root "$(ps -o user= -p "$SGW_PID" | tr -d ' ')"
	expect_eq "...and the workers serve" 200 "$(printf '%s' "$("$SGW_FCGI_CLIENT" "127.0.0.1:$SGW_PORT" \
		REQUEST_METHOD=GET DOCUMENT_URI=/auth/healthz | tr -d '\r')" | sed -n 's/^Status: \([0-9]*\).*/\1/p')"
else
	echo "# skipped: privilege drop needs root and a 'nobody' user"
fi

finish
