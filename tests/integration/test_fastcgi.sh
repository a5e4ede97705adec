#!/usr/bin/env bash
# backends: lmdb redis postgres
# The gateway over the real FastCGI protocol, without a web server: the
# AUTHORIZER role (what lighttpd and Apache send), responder path
# resolution, and the command line.
. "$(dirname "$0")/lib.sh"

start_store
gateway_conf "$T/sgw.conf" \
	'RULES=/auth/* anonymous|/public/* anonymous|/admin/* role:admin|/secret/* deny|/app/* authenticated'
add_user alice 'pw-alice' staff
start_gateway "$T/sgw.conf"
A="127.0.0.1:$SGW_PORT"
base=(REMOTE_ADDR=127.0.0.1 HTTP_HOST=gw.test)

# A session to work with, made through the JSON login.
json=$(printf '{"username":"alice","password":"pw-alice"}')
out=$(printf '%s' "$json" | "$SGW_FCGI_CLIENT" -i "$A" "${base[@]}" REQUEST_METHOD=POST \
	DOCUMENT_URI=/auth/login REQUEST_URI=/auth/login CONTENT_TYPE=application/json | tr -d '\r')
tok=$(printf '%s\n' "$out" | sed -n 's/^Set-Cookie: sgw_session=\([^;]*\);.*/\1/p')
expect_match "JSON login over FastCGI sets a cookie" '^[A-Za-z0-9_-]{43}\.[A-Za-z0-9_-]{22}$' "$tok"
C="HTTP_COOKIE=other=1; sgw_session=$tok; x=y"

# --- AUTHORIZER role ------------------------------------------------------------
fcgi -r authorizer "$A" "${base[@]}" REQUEST_METHOD=GET REQUEST_URI=/app/x "$C"
expect_eq "authorizer: valid session passes" 200 "$FCGI_STATUS"
expect_match "authorizer: Variable-REMOTE_USER" '^Variable-REMOTE_USER: alice$' "$FCGI_OUT"
expect_match "authorizer: Variable-SGW_USER" '^Variable-SGW_USER: alice$' "$FCGI_OUT"
expect_match "authorizer: Variable-SGW_ROLES" '^Variable-SGW_ROLES: staff$' "$FCGI_OUT"
expect_match "authorizer: Variable-SGW_SESSION_ID" '^Variable-SGW_SESSION_ID: [0-9a-f]{32}$' "$FCGI_OUT"
others=$(printf '%s\n' "$FCGI_OUT" | grep -v -e '^Status: ' -e '^Variable-' -e '^$' || true)
expect_eq "authorizer: a 200 carries nothing but Status and Variable-*" "" "$others"

fcgi -r authorizer "$A" "${base[@]}" REQUEST_METHOD=GET 'REQUEST_URI=/app/x?a=1&b=2' \
	'HTTP_ACCEPT=text/html,application/xhtml+xml'
expect_eq "authorizer: browser without session is redirected" 302 "$FCGI_STATUS"
expect_match "authorizer: to login_url with the original URI encoded" \
	'^Location: /auth/login\?return_to=/app/x%3Fa%3D1%26b%3D2$' "$FCGI_OUT"

fcgi -r authorizer "$A" "${base[@]}" REQUEST_METHOD=GET REQUEST_URI=/app/x HTTP_ACCEPT=application/json
expect_eq "authorizer: script without session gets 401" 401 "$FCGI_STATUS"
expect_match "authorizer: 401 says how to authenticate" '^WWW-Authenticate: Cookie realm="sessiongw"$' "$FCGI_OUT"
expect_match "authorizer: 401 has a JSON body" '^\{"error":"[^"]+"\}$' "$FCGI_OUT"

fcgi -r authorizer "$A" "${base[@]}" REQUEST_METHOD=GET REQUEST_URI=/admin/ "$C"
expect_eq "authorizer: session without the role gets 403" 403 "$FCGI_STATUS"
fcgi -r authorizer "$A" "${base[@]}" REQUEST_METHOD=GET REQUEST_URI=/secret/x "$C"
expect_eq "authorizer: deny rule is 403 even with a session" 403 "$FCGI_STATUS"
fcgi -r authorizer "$A" "${base[@]}" REQUEST_METHOD=GET REQUEST_URI=/elsewhere "$C"
expect_eq "authorizer: a path no rule matches is 403" 403 "$FCGI_STATUS"
fcgi -r authorizer "$A" "${base[@]}" REQUEST_METHOD=GET REQUEST_URI=/public/../secret/x "$C"
expect_eq "authorizer: dot-segments are resolved before matching" 403 "$FCGI_STATUS"
fcgi -r authorizer "$A" "${base[@]}" REQUEST_METHOD=GET REQUEST_URI=/public/%2e%2e/admin/ "$C"
expect_eq "authorizer: encoded dot-segments too" 403 "$FCGI_STATUS"
fcgi -r authorizer "$A" "${base[@]}" REQUEST_METHOD=GET REQUEST_URI=/public/../../x "$C"
expect_eq "authorizer: a path that cannot be normalised is 403" 403 "$FCGI_STATUS"
fcgi -r authorizer "$A" "${base[@]}" REQUEST_METHOD=GET REQUEST_URI=/public/page
expect_eq "authorizer: anonymous rule passes without a session" 200 "$FCGI_STATUS"
expect_no_match "authorizer: ...and with no identity" 'Variable-' "$FCGI_OUT"
fcgi -r authorizer "$A" "${base[@]}" REQUEST_METHOD=GET REQUEST_URI=/public/page "$C"
expect_match "authorizer: anonymous rule still passes identity on" '^Variable-SGW_USER: alice$' "$FCGI_OUT"

# What another server could read differently (SPEC section 4) is 403 in
# the authorizer role, with or without a session: servlet containers read
# "/auth/..;/admin/" as /admin/, so it must not pass as the anonymous rule.
for u in '/auth/..;/admin/' '/public/..;/admin/' '/auth/..%3b/admin/' '/app/..;/admin/' \
	'/auth/a%25b' '/auth/%c0%af' '/auth/%ed%a0%80' '/auth/x%00' '/auth/a\b' "$(printf '/auth/\xc0\xae')"; do
	fcgi -r authorizer "$A" "${base[@]}" REQUEST_METHOD=GET "REQUEST_URI=$u"
	expect_eq "authorizer: $u without a session is 403" 403 "$FCGI_STATUS"
	fcgi -r authorizer "$A" "${base[@]}" REQUEST_METHOD=GET "REQUEST_URI=$u" "$C"
	expect_eq "authorizer: $u with a session is 403" 403 "$FCGI_STATUS"
done
fcgi -r authorizer "$A" "${base[@]}" REQUEST_METHOD=GET 'REQUEST_URI=/auth/caf%c3%a9?a=1;b=%25'
expect_eq "authorizer: well-formed UTF-8, and ';' or '%25' in the query, still pass" 200 "$FCGI_STATUS"
fcgi -r authorizer "$A" "${base[@]}" REQUEST_METHOD=GET REQUEST_URI=/admin/ HTTP_X_ORIGINAL_URI=/app/x "$C"
expect_eq "authorizer: a client's X-Original-URI is ignored" 403 "$FCGI_STATUS"

# lighttpd sends no stdin at all to an authorizer when the request has a
# body; a worker that read it would hang.
start=$(date +%s)
FCGI_OUT=$(timeout 5 "$SGW_FCGI_CLIENT" -n -r authorizer "$A" "${base[@]}" REQUEST_METHOD=POST \
	REQUEST_URI=/app/x CONTENT_LENGTH=100 CONTENT_TYPE=application/x-www-form-urlencoded "$C" | tr -d '\r')
expect_match "authorizer: answers a POST without reading its body" '^Status: 200' "$FCGI_OUT"

# --- roles we do not play: FCGI_END_REQUEST with FCGI_UNKNOWN_ROLE ---------------
for role in filter 7 65535; do
	out=$(timeout 5 "$SGW_FCGI_CLIENT" -p -r "$role" "$A" "${base[@]}" REQUEST_METHOD=GET \
		DOCUMENT_URI=/auth/session REQUEST_URI=/app/x "$C" | tr -d '\r'; echo "rc=${PIPESTATUS[0]}")
	expect_eq "role $role: answered with FCGI_UNKNOWN_ROLE (3) and nothing else" \
		"protocolStatus=3 rc=0" "$(printf '%s\n' "$out" | tr '\n' ' ' | sed 's/ $//')"
done
fcgi -r authorizer "$A" "${base[@]}" REQUEST_METHOD=GET REQUEST_URI=/app/x "$C"
expect_eq "after them the worker still serves" 200 "$FCGI_STATUS"
out=$("$SGW_FCGI_CLIENT" -p "$A" "${base[@]}" REQUEST_METHOD=GET DOCUMENT_URI=/auth/session "$C" | tr -d '\r')
expect_match "a responder's END_REQUEST says FCGI_REQUEST_COMPLETE (0)" '^protocolStatus=0$' "$out"

# A request head over several reads and records is read all the same; one
# past 128 KiB of parameters is refused with 431, and the worker goes on.
big=$(head -c 30000 /dev/zero | tr '\0' x)
fcgi "$A" "${base[@]}" REQUEST_METHOD=GET DOCUMENT_URI=/auth/session "HTTP_X_BIG=$big" "$C"
expect_eq "a 30 KB request head is answered" 200 "$FCGI_STATUS"
fcgi -P 3 "$A" "${base[@]}" REQUEST_METHOD=GET DOCUMENT_URI=/auth/session "HTTP_X_BIG=$big" "$C"
expect_eq "a head in 3 PARAMS records (90 KB) is answered" 200 "$FCGI_STATUS"
fcgi -P 5 "$A" "${base[@]}" REQUEST_METHOD=GET DOCUMENT_URI=/auth/session "HTTP_X_BIG=$big" "$C"
expect_eq "a head past 128 KiB (150 KB) is refused: 431" 431 "$FCGI_STATUS"
fcgi "$A" "${base[@]}" REQUEST_METHOD=GET DOCUMENT_URI=/auth/session "$C"
expect_eq "after it the worker still serves" 200 "$FCGI_STATUS"
# A name length of INT_MAX (what aborted libfcgi): closed, nobody crashes.
out=$(timeout 5 "$SGW_FCGI_CLIENT" -H intmax -t 3 "$A")
expect_eq "PARAMS with a length of INT_MAX: the connection is closed" closed "$out"
expect_match "...and said why in the log" "parameters are malformed" "$(cat "$T/sgw.log")"
fcgi "$A" "${base[@]}" REQUEST_METHOD=GET DOCUMENT_URI=/auth/session "$C"
expect_eq "...and the worker still serves" 200 "$FCGI_STATUS"

# --- /check (nginx auth_request) ------------------------------------------------
fcgi "$A" "${base[@]}" REQUEST_METHOD=POST DOCUMENT_URI=/auth/check REQUEST_URI=/app/y \
	HTTP_X_ORIGINAL_URI=/app/y "$C"
expect_eq "/check: any method of the original request, valid session" 200 "$FCGI_STATUS"
expect_match "/check: identity in X-Auth-User" '^X-Auth-User: alice$' "$FCGI_OUT"
expect_match "/check: roles in X-Auth-Roles" '^X-Auth-Roles: staff$' "$FCGI_OUT"
fcgi "$A" "${base[@]}" REQUEST_METHOD=GET DOCUMENT_URI=/auth/check REQUEST_URI=/app/y \
	HTTP_X_ORIGINAL_URI=/admin/ "$C"
expect_eq "/check: decides on X-Original-URI" 403 "$FCGI_STATUS"
fcgi "$A" "${base[@]}" REQUEST_METHOD=GET DOCUMENT_URI=/auth/check REQUEST_URI=/app/y HTTP_ACCEPT=text/html
expect_eq "/check: never redirects, even for a browser" 401 "$FCGI_STATUS"

# --- responder path resolution ----------------------------------------------------
fcgi "$A" "${base[@]}" REQUEST_METHOD=GET SCRIPT_NAME=/auth PATH_INFO=/session REQUEST_URI=/zzz "$C"
expect_eq "responder: SCRIPT_NAME + PATH_INFO when there is no DOCUMENT_URI" 200 "$FCGI_STATUS"
fcgi "$A" "${base[@]}" REQUEST_METHOD=GET 'REQUEST_URI=/auth/session?x=1' "$C"
expect_eq "responder: else the path of REQUEST_URI" 200 "$FCGI_STATUS"
fcgi "$A" "${base[@]}" REQUEST_METHOD=GET DOCUMENT_URI=/elsewhere/session "$C"
expect_eq "responder: a path outside the prefix is 404" 404 "$FCGI_STATUS"
fcgi "$A" "${base[@]}" REQUEST_METHOD=GET DOCUMENT_URI=/auth/session
expect_eq "GET /session without a session: 401" 401 "$FCGI_STATUS"
expect_match "every response says Cache-Control: no-store" '^Cache-Control: no-store$' "$FCGI_OUT"

# --- Redis stalls: fail closed in the authorizer role too ---------------------------
if store_can_fail; then
	store_stall
	fcgi -r authorizer "$A" "${base[@]}" REQUEST_METHOD=GET REQUEST_URI=/app/x "$C"
	expect_eq "authorizer: the store not answering is 503, never 200" 503 "$FCGI_STATUS"
	store_resume
	fcgi -r authorizer "$A" "${base[@]}" REQUEST_METHOD=GET REQUEST_URI=/app/x "$C"
	expect_eq "authorizer: recovers when the store answers again" 200 "$FCGI_STATUS"
fi

# --- allowed_clients ------------------------------------------------------------------
gateway_conf "$T/closed.conf" allowed_clients=127.0.0.9
start_gateway_quiet() { "$SGW_BIN" -c "$1" 2>>"$T/sgw.log" & PIDS+=($!); }
start_gateway_quiet "$T/closed.conf"
wait_until 10 port_busy "$SGW_PORT"
out=$(timeout 5 "$SGW_FCGI_CLIENT" "127.0.0.1:$SGW_PORT" REQUEST_METHOD=GET DOCUMENT_URI=/auth/healthz; echo "rc=$?")
expect_eq "allowed_clients: others are closed without an answer" "rc=1" "$out"
closed_pid=${PIDS[-1]}
# A SIGHUP applies a changed list, both ways (libfcgi alone reads it once).
sed -i 's/^allowed_clients = .*/allowed_clients = 127.0.0.9,127.0.0.1/' "$T/closed.conf"
kill -HUP "$closed_pid"
wait_until 10 grep -q "\[$closed_pid\] configuration reloaded (generation 2)" "$T/sgw.log"
sleep 0.3
out=$(timeout 5 "$SGW_FCGI_CLIENT" "127.0.0.1:$SGW_PORT" REQUEST_METHOD=GET DOCUMENT_URI=/auth/login \
	REMOTE_ADDR=127.0.0.1 | tr -d '\r' | head -n1)
expect_eq "allowed_clients: a SIGHUP that adds the peer lets it in" "Status: 200 OK" "$out"
sed -i 's/^allowed_clients = .*/allowed_clients = 127.0.0.9/' "$T/closed.conf"
kill -HUP "$closed_pid"
wait_until 10 grep -q "\[$closed_pid\] configuration reloaded (generation 3)" "$T/sgw.log"
sleep 0.3
refused=0
for i in 1 2 3 4 5; do
	out=$(timeout 5 "$SGW_FCGI_CLIENT" "127.0.0.1:$SGW_PORT" REQUEST_METHOD=GET DOCUMENT_URI=/auth/login \
		REMOTE_ADDR=127.0.0.1 >/dev/null 2>&1; echo "rc=$?")
	[ "$out" = "rc=1" ] && refused=$((refused + 1))
done
expect_eq "allowed_clients: a SIGHUP that removes the peer shuts it out (5 tries)" 5 "$refused"
expect_no_match "allowed_clients: no 'needs a restart' warning" 'allowed_clients changes need a restart' \
	"$(cat "$T/sgw.log")"

# --- an operator's own login page -------------------------------------------------------
printf '<html><body><h1>ACME sign-in</h1><p>{{error}}</p><form action="{{action}}" method="post">'\
'<input name="return_to" value="{{return_to}}"></form></body></html>\n' >"$T/page.html"
gateway_conf "$T/tpl.conf" "template=$T/page.html"
start_gateway "$T/tpl.conf"
fcgi "127.0.0.1:$SGW_PORT" REQUEST_METHOD=GET DOCUMENT_URI=/auth/login \
	'QUERY_STRING=return_to=%2Fapp%2F%22%3E%3Cscript%3Ex%3C%2Fscript%3E' REMOTE_ADDR=127.0.0.1
expect_match "template: the operator's page is served" '<h1>ACME sign-in</h1>' "$FCGI_OUT"
expect_match "template: {{action}} filled in" 'action="/auth/login"' "$FCGI_OUT"
expect_match "template: {{return_to}} filled in, HTML-escaped" \
	'value="/app/&quot;&gt;&lt;script&gt;x&lt;/script&gt;"' "$FCGI_OUT"
expect_no_match "template: no markup injected through return_to" '<script>' "$FCGI_OUT"
out=$(printf 'username=alice&password=nope' | "$SGW_FCGI_CLIENT" -i "127.0.0.1:$SGW_PORT" REQUEST_METHOD=POST \
	DOCUMENT_URI=/auth/login CONTENT_TYPE=application/x-www-form-urlencoded REMOTE_ADDR=127.0.0.1 | tr -d '\r')
expect_match "template: a failed form login shows the page with the generic error" \
	'<p>Invalid username or password.</p>' "$out"
gateway_conf "$T/tpl-missing.conf" "template=$T/no-such-page.html"
out=$("$SGW_BIN" -t -c "$T/tpl-missing.conf" 2>&1); rc=$?
expect_eq "-t: a template that cannot be read fails" 1 "$rc"
expect_match "-t: ...and names it" "no-such-page.html" "$out"
printf '<html>no form here</html>\n' >"$T/bad-page.html"
gateway_conf "$T/tpl-bad.conf" "template=$T/bad-page.html"
out=$("$SGW_BIN" -t -c "$T/tpl-bad.conf" 2>&1); rc=$?
expect_eq "-t: a template without {{action}} fails" "1" "$rc"
expect_match "-t: ...saying what is missing" '\{\{action\}\}' "$out"
{ printf '<form action="{{action}}">'; head -c 262144 /dev/zero | tr '\0' x; } >"$T/big-page.html"
gateway_conf "$T/tpl-big.conf" "template=$T/big-page.html"
out=$("$SGW_BIN" -t -c "$T/tpl-big.conf" 2>&1); rc=$?
expect_eq "-t: a template over 256 KiB fails, saying so" \
	"1 $T/big-page.html: login template larger than 262144 bytes" "$rc $out"

# --- another prefix -------------------------------------------------------------------------
gateway_conf "$T/sso.conf" prefix=/sso 'RULES=/sso/* anonymous|/app/* authenticated'
sed -i '/^login_url *=/d' "$T/sso.conf" # unset: its default follows the prefix
start_gateway "$T/sso.conf"
fcgi "127.0.0.1:$SGW_PORT" REQUEST_METHOD=GET DOCUMENT_URI=/sso/login REMOTE_ADDR=127.0.0.1
expect_eq "prefix = /sso: the login page lives under it" 200 "$FCGI_STATUS"
expect_match "prefix = /sso: the form posts there" 'action="/sso/login"' "$FCGI_OUT"
fcgi "127.0.0.1:$SGW_PORT" REQUEST_METHOD=GET DOCUMENT_URI=/auth/login REMOTE_ADDR=127.0.0.1
expect_eq "prefix = /sso: the old prefix is 404" 404 "$FCGI_STATUS"
fcgi -r authorizer "127.0.0.1:$SGW_PORT" REQUEST_METHOD=GET REQUEST_URI=/app/x REMOTE_ADDR=127.0.0.1 HTTP_ACCEPT=text/html
expect_match "prefix = /sso: login_url follows it" '^Location: /sso/login\?return_to=/app/x$' "$FCGI_OUT"

# --- the command line ---------------------------------------------------------------------
out=$("$SGW_BIN" -t -c "$T/sgw.conf" 2>&1)
expect_eq "-t on a good file" "sessiongw: configuration $T/sgw.conf is ok" "$out"
cp "$T/sgw.conf" "$T/bad.conf"
sed -i 's/^workers = .*/workers = 0/; s/^same_site = .*/same_site = sometimes/' "$T/bad.conf"
out=$("$SGW_BIN" -t -c "$T/bad.conf" 2>&1); rc=$?
expect_eq "-t on a bad file exits 1" 1 "$rc"
wline=$(grep -n '^workers' "$T/bad.conf" | cut -d: -f1)
sline=$(grep -n '^same_site' "$T/bad.conf" | cut -d: -f1)
expect_match "-t names file and line of each problem (workers)" "^$T/bad.conf:$wline: " "$out"
expect_match "-t names file and line of each problem (same_site)" "^$T/bad.conf:$sline: " "$out"
out2=$("$SGW_BIN" -c "$T/bad.conf" 2>&1); rc=$?
expect_eq "the server refuses to start on the same problems" "1 $out" "$rc $out2"
# bcrypt at htpasswd -B's default cost, 5, is weak (SPEC 9).
cp "$T/sgw.conf" "$T/weak.conf"
printf '# from htpasswd -B\nold:%s\n' '$2b$05$iGqL7/MX6x6iksOiJ0sH0ub2BMgN4Kq4jZKw8dc1j387mFb48wO3a' >"$T/weak-users"
sed -i "s|^users_file = .*|users_file = $T/weak-users|" "$T/weak.conf"
out=$("$SGW_BIN" -t -c "$T/weak.conf" 2>&1); rc=$?
expect_eq "-t refuses bcrypt cost 5 with its file and line" \
	"1 $T/weak-users:2: user \"old\": weak password hash: bcrypt cost 5 is below 10; re-hash it with \`htpasswd -B -C 10\` or \`sessiongw passwd -B\`" \
	"$rc $out"
out=$("$SGW_BIN" -c "$T/sgw.conf" 2>&1); rc=$?
expect_eq "a busy port is a clear error" \
	"1 sessiongw: cannot listen on $A: Address already in use" "$rc $out"
expect_match "-v prints the version" '^sessiongw [0-9]+\.[0-9]+\.[0-9]+$' "$("$SGW_BIN" -v)"
s1=$("$SGW_BIN" secret); s2=$("$SGW_BIN" secret)
expect_match "secret: 64 hex digits" '^[0-9a-f]{64}$' "$s1"
[ "$s1" != "$s2" ] && ok "secret: a new key each time" || not_ok "secret: a new key each time"

# passwd keeps every other line byte for byte.
printf '# our users\r\nzed:%s\n\nalice:%s:staff\n' \
	"$(grep '^alice:' "$T/users" | cut -d: -f2)" "$(grep '^alice:' "$T/users" | cut -d: -f2)" >"$T/users"
before_other=$(grep -v '^alice:' "$T/users" | md5sum)
printf 'new-pw-alice\n' | "$SGW_BIN" passwd -c "$T/sgw.conf" --keep-sessions alice 2>/dev/null
expect_eq "passwd: other lines untouched" "$before_other" "$(grep -v '^alice:' "$T/users" | md5sum)"
expect_match "passwd: yescrypt by default, roles kept" '^alice:\$y\$[^:]+:staff$' "$(grep '^alice:' "$T/users")"
out=$(printf '%s' '{"username":"alice","password":"new-pw-alice"}' | "$SGW_FCGI_CLIENT" -i "$A" "${base[@]}" \
	REQUEST_METHOD=POST DOCUMENT_URI=/auth/login CONTENT_TYPE=application/json | tr -d '\r')
expect_match "passwd: the new password works without a restart" '^Status: 200' "$out"
printf 'x-carol-pw\n' | "$SGW_BIN" passwd -c "$T/sgw.conf" -B carol admin 2>/dev/null
expect_match "passwd -B: bcrypt, with roles" '^carol:\$2b\$[^:]+:admin$' "$(grep '^carol:' "$T/users")"
expect_match "passwd -B: bcrypt cost 10 or more" '^carol:\$2b\$(1[0-9]|2[0-9]|3[01])\$' "$(grep '^carol:' "$T/users")"

# passwd counts characters, not bytes: 7 are too few, 8 two-byte ones
# (16 bytes) are enough.
before=$(md5sum <"$T/users")
out=$(printf 'seven-7\n' | "$SGW_BIN" passwd -c "$T/sgw.conf" dave 2>&1); rc=$?
expect_eq "passwd: 7 characters are refused" "1 sessiongw: the password is too short: at least 8 characters (UTF-8 characters, not bytes)" "$rc $out"
expect_eq "passwd: a refused password leaves the file alone" "$before" "$(md5sum <"$T/users")"
out=$(printf '\303\251\303\251\303\251\303\251\303\251\303\251\303\251\n' | "$SGW_BIN" passwd -c "$T/sgw.conf" dave 2>&1); rc=$?
expect_eq "passwd: 7 two-byte characters (14 bytes) are refused" 1 "$rc"
printf '\303\251\303\251\303\251\303\251\303\251\303\251\303\251\303\251\n' | "$SGW_BIN" passwd -c "$T/sgw.conf" dave 2>/dev/null; rc=$?
expect_eq "passwd: 8 two-byte characters are accepted" 0 "$rc"
out=$(printf '{"username":"dave","password":"\303\251\303\251\303\251\303\251\303\251\303\251\303\251\303\251"}' |
	"$SGW_FCGI_CLIENT" -i "$A" "${base[@]}" REQUEST_METHOD=POST DOCUMENT_URI=/auth/login CONTENT_TYPE=application/json | tr -d '\r')
expect_match "passwd: ...and the 8-character password logs in" '^Status: 200' "$out"

finish
