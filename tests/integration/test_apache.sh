#!/usr/bin/env bash
# backends: lmdb redis postgres
# The whole flow through a real Apache httpd (conf/apache-sessiongw.conf,
# mod_authnz_fcgi + mod_proxy_fcgi + mod_proxy_http) against a real Redis:
# log in, reach the application with the user visible to it, log out, and
# everything that must be refused on the way.
. "$(dirname "$0")/lib.sh"

command -v apache2 >/dev/null || fatal "apache2 is not installed"

start_store
gateway_conf "$T/sgw.conf"
add_user alice 'correct horse' staff
add_user bob 'battery staple' admin,staff
start_gateway "$T/sgw.conf"

# --- the application: nginx echoing what it was given -----------------------------
APP_PORT=$(free_port)
mkdir -p "$T/app/tmp" && chmod 777 "$T/app/tmp"
cat >"$T/app/nginx.conf" <<EOF
$(nginx_preamble "$T/app" "$T/app-error.log" info 64)
    access_log off;
    server {
        listen 127.0.0.1:$APP_PORT;
        location / {
            default_type text/plain;
            return 200 "app: uri=\$request_uri user=\$http_x_remote_user roles=\$http_x_remote_roles\n";
        }
    }
}
EOF
nginx -p "$T/app" -c "$T/app/nginx.conf" -g 'daemon off;' 2>>"$T/app-error.log" &
PIDS+=($!)
wait_until 10 port_busy "$APP_PORT" || fatal "the application (nginx) did not start"

# --- Apache, with the sample rendered: only the ports change -------------------------
run_as=""
[ "$(id -u)" -eq 0 ] && run_as=www-data
start_apache "$run_as" "warn authnz_fcgi:info" 'LogFormat "%h %u \"%r\" %>s" sgw
CustomLog "'"$T"'/apache-access.log" sgw'

B="http://127.0.0.1:$APACHE_PORT"
J=(-c "$T/jar" -b "$T/jar")
HTML=(-H 'Accept: text/html,application/xhtml+xml')

# --- not logged in ----------------------------------------------------------------
http GET "$B/app/page.html?a=1&b=2" "${HTML[@]}"
expect_eq "no session, browser: 302" 302 "$STATUS"
expect_eq "no session, browser: to the login page, return_to percent-encoded" \
	"/auth/login?return_to=/app/page.html%3Fa%3D1%26b%3D2" "$(header Location)"

http GET "$B/app/page.html" -H 'Accept: application/json'
expect_eq "no session, script: 401" 401 "$STATUS"
expect_eq "no session, script: WWW-Authenticate" 'Cookie realm="sessiongw"' "$(header WWW-Authenticate)"
expect_match "no session, script: a JSON body" '^\{"error":"[^"]+"\}$' "$BODY"
expect_no_match "no session: the application was not reached" 'app:' "$BODY"

http GET "$B/auth/login?return_to=/app/page.html"
expect_eq "login page through mod_proxy_fcgi: 200" 200 "$STATUS"
expect_match "login page: the form" '<form method="post" action="/auth/login">' "$BODY"

# --- logging in through Apache ---------------------------------------------------------
http POST "$B/auth/login" "${J[@]}" -d 'username=alice&password=correct+horse&return_to=/app/page.html'
expect_eq "form login: 303" 303 "$STATUS"
expect_eq "form login: back to return_to" "/app/page.html" "$(header Location | sed "s|^$B||")"
expect_match "form login: the session cookie" '^sgw_session=[A-Za-z0-9_.-]{60,}; Path=/; HttpOnly; SameSite=Lax$' "$(header Set-Cookie)"

http GET "$B/app/page.html" "${J[@]}" -H 'X-Remote-User: mallory' -H 'X-Remote-Roles: admin'
expect_eq "logged in: protected page 200" 200 "$STATUS"
expect_eq "logged in: the application sees the user and roles, not the client's headers" \
	"app: uri=/app/page.html user=alice roles=staff" "$BODY"
expect_no_match "logged in: no Variable-* header reaches the client" '^Variable-' "$HEADERS"
expect_no_match "logged in: no X-Auth-* header reaches the client" '^X-Auth-' "$HEADERS"
expect_no_match "logged in: the authorizer's Cache-Control does not leak either" '^Cache-Control: no-store' "$HEADERS"
expect_match "access log: %u is the user" '"GET /app/page.html HTTP/1.1" 200' "$(grep ' alice ' "$T/apache-access.log")"

http GET "$B/admin/index.html" "${J[@]}"
expect_eq "role rule: alice without admin gets 403" 403 "$STATUS"
expect_no_match "role rule: the application was not reached" 'app:' "$BODY"

http POST "$B/auth/login" -c "$T/jar2" -H 'Content-Type: application/json' \
	-d '{"username":"bob","password":"battery staple"}'
expect_eq "JSON login through Apache: 200" 200 "$STATUS"
expect_match "JSON login: user and roles" '"user":"bob","roles":\["admin","staff"\]' "$BODY"
http GET "$B/admin/index.html" -b "$T/jar2"
expect_eq "role rule: bob with admin passes" 200 "$STATUS"
expect_eq "role rule: the application sees bob" \
	"app: uri=/admin/index.html user=bob roles=admin,staff" "$BODY"

http GET "$B/auth/session" "${J[@]}"
expect_eq "GET /auth/session through mod_proxy_fcgi: 200" 200 "$STATUS"
expect_match "GET /auth/session: the user" '"user":"alice"' "$BODY"

# --- paths another server reads differently (SPEC section 4), through the
# real authorizer role: "/app/..;/admin/" is /admin/ to a servlet container.
for u in '/app/..;/admin/' '/app/..%3b/admin/' '/app/a%25b' '/app/%c0%af' '/app/%ed%a0%80'; do
	http GET "$B$u" --path-as-is "${J[@]}"
	expect_eq "$u with a session: 403" 403 "$STATUS"
	expect_no_match "$u: the application was not reached" '^app:' "$BODY"
done

# --- the internal /check is not reachable through the responder ---------------
for u in '/auth/chec%256b' '/auth/%2563heck' '/auth/%252e/check'; do
	http GET "$B$u" --path-as-is "${J[@]}" -H 'X-Original-URI: /app/x'
	expect_eq "$u with a forged X-Original-URI: 404, not /check" 404 "$STATUS"
	expect_no_match "$u: no identity answered" '^X-Auth-' "$HEADERS"
done

# --- logout -------------------------------------------------------------------------
http POST "$B/auth/logout" "${J[@]}" -H 'Content-Type: application/json'
expect_eq "logout through Apache: 200" 200 "$STATUS"
expect_match "logout: the cookie is cleared" '^sgw_session=; Path=/; Max-Age=0' "$(header Set-Cookie)"
http GET "$B/app/page.html" "${J[@]}" "${HTML[@]}"
expect_eq "after logout: protected page redirects again" 302 "$STATUS"
expect_eq "after logout: to the login page" "/auth/login?return_to=/app/page.html" "$(header Location)"

# --- Redis not answering ------------------------------------------------------------
http POST "$B/auth/login" -c "$T/jar3" -d 'username=alice&password=correct+horse'
http GET "$B/app/page.html" -b "$T/jar3"
expect_eq "fresh session: 200" 200 "$STATUS"
if store_can_fail; then
	store_stall
	http GET "$B/app/page.html" -b "$T/jar3"
	store_resume
	expect_eq "the store not answering: denied with 503" 503 "$STATUS"
	expect_no_match "the store not answering: the application was not reached" 'app:' "$BODY"
	http GET "$B/app/page.html" -b "$T/jar3"
	expect_eq "the store answering again: the same session passes" 200 "$STATUS"
fi

finish
