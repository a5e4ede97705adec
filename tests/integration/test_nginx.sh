#!/usr/bin/env bash
# backends: lmdb redis postgres
# The whole flow through a real nginx (conf/nginx-sessiongw.conf) against a
# real Redis: log in, reach the application with the user visible to it,
# log out, and everything that must be refused on the way.
. "$(dirname "$0")/lib.sh"

start_store
gateway_conf "$T/sgw.conf"
add_user alice 'correct horse' staff
add_user bob 'battery staple' admin,staff
start_gateway "$T/sgw.conf"
start_nginx
B="http://127.0.0.1:$NGINX_PORT"
J=(-c "$T/jar" -b "$T/jar")

# --- not logged in ----------------------------------------------------------
http GET "$B/app/page.html" -H 'Accept: text/html'
expect_eq "no session: protected page redirects" 302 "$STATUS"
expect_eq "no session: to the login page with return_to" \
	"$B/auth/login?return_to=/app/page.html" "$(header Location)"

http GET "$B/app/page.html" -H 'Accept: application/json'
expect_eq "no session from a script: 401" 401 "$STATUS"
expect_eq "no session from a script: WWW-Authenticate" 'Cookie realm="sessiongw"' "$(header WWW-Authenticate)"
expect_eq "no session from a script: a JSON body" '{"error":"not logged in"}' "$BODY"

http GET "$B/auth/login?return_to=/app/page.html"
expect_eq "login page: 200" 200 "$STATUS"
expect_match "login page: a form posting to /auth/login" '<form method="post" action="/auth/login">' "$BODY"
expect_match "login page: return_to carried in a hidden field" 'name="return_to" value="/app/page.html"' "$BODY"
expect_match "login page: labelled inputs with autocomplete" 'autocomplete="current-password"' "$BODY"
expect_no_match "login page: no JavaScript" '<script' "$BODY"
expect_eq "login page: not cached" "no-store" "$(header Cache-Control)"
expect_eq "login page: not to be framed (X-Frame-Options)" "DENY" "$(header X-Frame-Options)"
expect_match "login page: CSP forbids scripts and framing" "default-src 'none'.*frame-ancestors 'none'" \
	"$(header Content-Security-Policy)"

# --- failures look the same ---------------------------------------------------
http POST "$B/auth/login" -d 'username=alice&password=wrong&return_to=/app/page.html'
expect_eq "wrong password: 401" 401 "$STATUS"
wrong_body=$BODY
expect_match "wrong password: generic message on the form" 'Invalid username or password' "$BODY"
expect_eq "wrong password: no cookie" "" "$(header Set-Cookie)"
http POST "$B/auth/login" -d 'username=nosuchuser&password=wrong&return_to=/app/page.html'
expect_eq "unknown user: 401" 401 "$STATUS"
expect_eq "unknown user: the same body as a wrong password" "$wrong_body" "$BODY"
http POST "$B/auth/login" -H 'Content-Type: application/json' \
	-d '{"username":"alice","password":"wrong"}'
expect_eq "JSON wrong password: 401" 401 "$STATUS"
expect_eq "JSON wrong password: generic error" '{"error":"Invalid username or password."}' "$BODY"

# --- bad input ------------------------------------------------------------------
http POST "$B/auth/login" -H 'Content-Type: text/plain' -d 'username=alice'
expect_eq "wrong content type: 415" 415 "$STATUS"
http POST "$B/auth/login" -H 'Content-Type: application/json' -d '{"username":'
expect_eq "malformed JSON: 400" 400 "$STATUS"
http POST "$B/auth/login" -d 'username=alice'
expect_eq "missing password: 400" 400 "$STATUS"
http POST "$B/auth/login" -d 'username=alice&password=%zz'
expect_eq "malformed form: 400" 400 "$STATUS"
http POST "$B/auth/login" -d "username=alice&password=$(head -c 20000 /dev/zero | tr '\0' a)"
expect_eq "body over max_body: 413" 413 "$STATUS"
http POST "$B/auth/login" -H 'Origin: https://evil.example' -d 'username=alice&password=correct+horse'
expect_eq "cross-site login post: 403" 403 "$STATUS"
http GET "$B/auth/logout"
expect_eq "GET /logout: 405" 405 "$STATUS"
expect_eq "405 names the allowed method" "POST" "$(header Allow)"
http GET "$B/auth/nothing-here"
expect_eq "unknown path under the prefix: 404" 404 "$STATUS"

# --- logging in -----------------------------------------------------------------
http POST "$B/auth/login" "${J[@]}" -d 'username=alice&password=correct+horse&return_to=/app/page.html'
expect_eq "login: 303" 303 "$STATUS"
expect_eq "login: back to return_to" "$B/app/page.html" "$(header Location | sed "s|^/|$B/|")"
cookie=$(header Set-Cookie)
expect_match "cookie: HttpOnly, SameSite=Lax, Path=/" '^sgw_session=[A-Za-z0-9_.-]{60,}; Path=/; HttpOnly; SameSite=Lax$' "$cookie"
expect_no_match "cookie: a browser-session cookie without remember-me" 'Max-Age' "$cookie"
token=$(printf '%s' "$cookie" | sed 's/^sgw_session=\([^;]*\);.*/\1/')

http GET "$B/app/page.html" "${J[@]}"
expect_eq "logged in: protected page 200" 200 "$STATUS"
expect_match "logged in: the application sees the user" 'user=alice roles=staff' "$BODY"
expect_no_match "logged in: the check's headers do not reach the client" '^X-Auth-' "$HEADERS"
http GET "$B/app/page.html" "${J[@]}" -H 'X-Remote-User: mallory'
expect_match "a client's own X-Remote-User is overwritten" 'user=alice ' "$BODY"

http GET "$B/auth/session" "${J[@]}"
expect_eq "GET /session: 200" 200 "$STATUS"
expect_match "GET /session: the user and roles" '"user":"alice","roles":\["staff"\]' "$BODY"
expect_match "GET /session: RFC 3339 times" '"expires_at":"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:]{8}Z"' "$BODY"

http GET "$B/admin/index.html" "${J[@]}"
expect_eq "role rule: alice without admin gets 403" 403 "$STATUS"

# --- what the store holds ---------------------------------------------------------
everything=$(store_dump)
expect_match "the store holds the session (under its hash)" "$(store_session_pattern)" "$everything"
expect_no_match "the store holds no raw token" "$token" "$everything"
expect_no_match "the store holds no part of the token" "${token%%.*}" "$everything"
expect_no_match "the store holds no password" 'correct horse' "$everything"

# --- bad cookies ------------------------------------------------------------------
http GET "$B/app/page.html" -H 'Accept: text/html' -b 'sgw_session=garbage'
expect_eq "garbage cookie: redirect to log in" 302 "$STATUS"
# Same length and alphabet, one character changed: the MAC no longer fits.
if [ "${token:10:1}" = A ]; then c=B; else c=A; fi
forged="${token:0:10}$c${token:11}"
expect_eq "forged token has the real one's length" "${#token}" "${#forged}"
if [ "$SGW_TEST_STORE" = redis ]; then
	before=$(rcli info stats | sed -n 's/^total_commands_processed:\([0-9]*\).*/\1/p')
	http GET "$B/app/page.html" -H 'Accept: text/html' -b "sgw_session=$forged"
	after=$(rcli info stats | sed -n 's/^total_commands_processed:\([0-9]*\).*/\1/p')
	expect_eq "forged token of the right shape: refused" 302 "$STATUS"
	expect_eq "forged token: no Redis command (only our INFO)" 1 "$((after - before))"
else
	# The unit tests count store calls on every path (test_dispatch);
	# here it is enough that the forgery is refused.
	http GET "$B/app/page.html" -H 'Accept: text/html' -b "sgw_session=$forged"
	expect_eq "forged token of the right shape: refused" 302 "$STATUS"
fi

# --- another user, and fixation -----------------------------------------------------
http POST "$B/auth/login" -b "sgw_session=$token" -c "$T/jar2" -H 'Content-Type: application/json' \
	-d '{"username":"bob","password":"battery staple","remember_me":true}'
expect_eq "JSON login: 200" 200 "$STATUS"
expect_match "JSON login: user and session id" '"user":"bob","roles":\["admin","staff"\],"session_id":"[0-9a-f]{32}"' "$BODY"
expect_match "remember-me: Max-Age is remember_me_timeout" 'Max-Age=2592000' "$(header Set-Cookie)"
http GET "$B/app/page.html" -b "sgw_session=$token"
expect_eq "fixation: the session sent with a login is ended" 401 "$STATUS"
http GET "$B/admin/index.html" -b "$T/jar2"
expect_eq "role rule: bob with admin passes" 200 "$STATUS"
expect_match "role rule: the application sees bob" 'user=bob' "$BODY"

# --- paths another server reads differently (SPEC section 4) ---------------------------
# nginx passes "/app/..;/admin/" to the application byte for byte, and a
# servlet container there serves /admin/. curl --path-as-is keeps the
# path as written.
A5=(-c "$T/jar5" -b "$T/jar5")
http POST "$B/auth/login" "${A5[@]}" -d 'username=alice&password=correct+horse'
http GET "$B/app/page.html" "${A5[@]}"
expect_eq "a fresh session for alice passes" 200 "$STATUS"
for u in '/app/..;/admin/' '/app/..%3b/admin/' '/app/x;jsessionid=1' '/app/a%25b' \
	'/app/%c0%af' '/app/%c0%ae%c0%ae/admin/' '/app/%ed%a0%80' '/app/%ff'; do
	http GET "$B$u" --path-as-is "${A5[@]}"
	expect_eq "$u with a session: 403" 403 "$STATUS"
	expect_no_match "$u: the application was not reached" '^app:' "$BODY"
	http GET "$B$u" --path-as-is -b "$T/jar2"
	expect_eq "$u with an admin session: 403 too" 403 "$STATUS"
done
http GET "$B/auth/..;/admin/" --path-as-is
expect_no_match "/auth/..;/admin/ without a cookie: not passed" '^200$' "$STATUS"
expect_no_match "/auth/..;/admin/: the application was not reached" '^app:' "$BODY"
http GET "$B/app/caf%C3%A9?a=1;b=%25" "${A5[@]}"
expect_eq "well-formed UTF-8 in the path, ';' and '%25' in the query: 200" 200 "$STATUS"

# --- the internal /auth/check is not reachable from outside -----------------------------
# nginx decodes "/auth/chec%256b" once to "/auth/chec%6b" (DOCUMENT_URI),
# which is not /check; decoded twice it was, and /check then believed the
# client's own X-Original-URI.
for u in '/auth/chec%256b' '/auth/%2563heck' '/auth/%252e/check' '/auth/x/..%252fcheck' \
	'/auth/%2563%2568%2565%2563%256b'; do
	http GET "$B$u" --path-as-is -H 'X-Original-URI: /auth/login'
	expect_eq "$u with a forged X-Original-URI: 404, not /check" 404 "$STATUS"
	http GET "$B$u" --path-as-is "${A5[@]}" -H 'X-Original-URI: /app/x'
	expect_eq "$u with a session and a forged X-Original-URI: 404" 404 "$STATUS"
	expect_no_match "$u: no identity answered" '^X-Auth-' "$HEADERS"
done
http GET "$B/auth/check" -H 'X-Original-URI: /auth/login'
expect_eq "/auth/check itself is internal: 404" 404 "$STATUS"

# --- session data is served as bytes, never sniffed ----------------------------------------
http PUT "$B/auth/session/data/page" "${A5[@]}" --data-binary '<html><script>alert(1)</script>'
expect_eq "PUT /session/data/page: 204" 204 "$STATUS"
http GET "$B/auth/session/data/page" "${A5[@]}"
expect_eq "GET /session/data/page: 200" 200 "$STATUS"
expect_eq "GET /session/data/page: the bytes back" '<html><script>alert(1)</script>' "$BODY"
expect_eq "GET /session/data/page: octet-stream" application/octet-stream "$(header Content-Type)"
expect_eq "GET /session/data/page: nosniff" nosniff "$(header X-Content-Type-Options)"

# --- return_to ------------------------------------------------------------------------
for bad in '//evil.example/' '/\evil.example/' 'https://evil.example/' 'javascript:alert(1)'; do
	http POST "$B/auth/login" --data-urlencode "return_to=$bad" -d 'username=alice&password=correct+horse'
	expect_eq "unsafe return_to $bad: replaced by default_redirect" "/" "$(header Location)"
done

# --- logout ---------------------------------------------------------------------------
http POST "$B/auth/login" "${J[@]}" -d 'username=alice&password=correct+horse'
before_logout=$(sed -n 's/.*sgw_session\t//p' "$T/jar")
http POST "$B/auth/logout" "${J[@]}" -H 'Content-Type: application/json'
expect_eq "logout: 200" 200 "$STATUS"
expect_match "logout: the cookie is cleared" '^sgw_session=; Path=/; Max-Age=0; HttpOnly; SameSite=Lax$' "$(header Set-Cookie)"
http GET "$B/app/page.html" -H 'Accept: text/html' "${J[@]}"
expect_eq "after logout: protected page redirects to log in" 302 "$STATUS"
http GET "$B/app/page.html" -H 'Accept: text/html' -b "sgw_session=$before_logout"
expect_eq "after logout: the old cookie replayed is refused (ended on the server)" 302 "$STATUS"
http POST "$B/auth/logout"
expect_eq "logout without a session: still 200" 200 "$STATUS"

# --- the store down, the store back ---------------------------------------------------
if store_can_fail; then
http POST "$B/auth/login" -c "$T/jar3" -d 'username=alice&password=correct+horse'
store_stall
http GET "$B/app/page.html" -b "$T/jar3"
expect_eq "Redis not answering: denied (nginx turns the 503 into 500)" 500 "$STATUS"
http GET "$B/auth/session" -b "$T/jar3"
expect_eq "Redis not answering: /session is 503" 503 "$STATUS"
store_resume
http GET "$B/app/page.html" -b "$T/jar3"
expect_eq "Redis answering again: the same session works" 200 "$STATUS"

store_stop
http GET "$B/app/page.html" -b "$T/jar3"
expect_eq "Redis stopped: denied" 500 "$STATUS"
http GET "$B/auth/healthz"
expect_eq "Redis stopped: healthz 503" 503 "$STATUS"
store_restart
http GET "$B/auth/healthz"
expect_eq "Redis back: healthz 200" 200 "$STATUS"
http POST "$B/auth/login" -c "$T/jar4" -d 'username=alice&password=correct+horse'
http GET "$B/app/page.html" -b "$T/jar4"
expect_eq "Redis back: log in and pass again" 200 "$STATUS"
fi

# --- the log ---------------------------------------------------------------------------
log=$(cat "$T/sgw.log")
expect_match "the log has one line per login success" 'info \[[0-9]+\] login ok user=alice client=127\.0\.0\.1 session=[0-9a-f]{32}' "$log"
expect_match "the log has one line per login failure" 'login failed user=nosuchuser client=127\.0\.0\.1' "$log"
expect_match "the log has one line per logout" 'logout user=alice' "$log"
store_can_fail && expect_match "the log names store errors" "error \\[[0-9]+\\] (redis|postgres): " "$log"
expect_no_match "the log never holds a token" "${token%%.*}" "$log"
expect_no_match "the log never holds a password" 'correct horse|battery staple' "$log"

finish
