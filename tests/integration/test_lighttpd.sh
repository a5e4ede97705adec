#!/usr/bin/env bash
# backends: lmdb redis postgres
# The whole flow through a real lighttpd (conf/lighttpd-sessiongw.conf,
# mod_fastcgi "authorizer" + mod_proxy) against a real Redis: log in, reach
# the application with the user visible to it, log out, and everything that
# must be refused on the way. Then the same sample in spawned mode
# ("bin-path"): lighttpd starts sessiongw itself and stops it again.
. "$(dirname "$0")/lib.sh"

command -v lighttpd >/dev/null || fatal "lighttpd is not installed"
RUN_AS=""
[ "$(id -u)" -eq 0 ] && RUN_AS=www-data

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
            return 200 "app: uri=\$request_uri forwarded=\$http_forwarded x-remote-user=\$http_x_remote_user\n";
        }
    }
}
EOF
nginx -p "$T/app" -c "$T/app/nginx.conf" -g 'daemon off;' 2>>"$T/app-error.log" &
PIDS+=($!)
wait_until 10 port_busy "$APP_PORT" || fatal "the application (nginx) did not start"

# start_lighttpd NAME SITE_CONF: lighttpd in the foreground on a free port
# with the rendered sample included; sets LIGHTTPD_PORT, LIGHTTPD_PID and
# LIGHTTPD_ACCESS. lighttpd opens its logs after dropping privileges, so
# they are made for the user it runs as.
start_lighttpd() {
	local name=$1 site=$2 d="$T/$1"
	LIGHTTPD_PORT=$(free_port)
	LIGHTTPD_ACCESS="$T/$name-access.log"
	mkdir -p "$d/htdocs" "$d/tmp"
	touch "$T/$name-error.log" "$LIGHTTPD_ACCESS"
	{
		echo "server.document-root = \"$d/htdocs\""
		echo "server.bind = \"127.0.0.1\""
		echo "server.port = $LIGHTTPD_PORT"
		echo "server.errorlog = \"$T/$name-error.log\""
		echo "server.upload-dirs = ( \"$d/tmp\" )"
		if [ -n "$RUN_AS" ]; then
			echo "server.username = \"$RUN_AS\""
			echo "server.groupname = \"$RUN_AS\""
			chown "$RUN_AS:" "$T/$name-error.log" "$LIGHTTPD_ACCESS" "$d/tmp"
		fi
		echo "include \"$site\""
		echo 'server.modules += ( "mod_accesslog" )'
		echo "accesslog.filename = \"$LIGHTTPD_ACCESS\""
		echo 'accesslog.format = "%h %u \"%r\" %>s"'
	} >"$d/lighttpd.conf"
	lighttpd -tt -f "$d/lighttpd.conf" >"$T/$name-configtest.log" 2>&1 ||
		fatal "lighttpd -tt: $(cat "$T/$name-configtest.log")"
	lighttpd -D -f "$d/lighttpd.conf" 2>>"$T/$name-error.log" &
	LIGHTTPD_PID=$!
	PIDS+=("$LIGHTTPD_PID")
	wait_until 10 port_busy "$LIGHTTPD_PORT" || fatal "lighttpd did not start"
}

# The sample with only the ports changed.
mkdir -p "$T/lighttpd"
sed -e "s|\"host\" => \"127\.0\.0\.1\", \"port\" => 9000|\"host\" => \"127.0.0.1\", \"port\" => $SGW_PORT|" \
	-e "s|\"host\" => \"127\.0\.0\.1\", \"port\" => 8080|\"host\" => \"127.0.0.1\", \"port\" => $APP_PORT|" \
	"$SGW_SOURCE_DIR/conf/lighttpd-sessiongw.conf" >"$T/lighttpd/sessiongw.conf"
grep -q "\"port\" => $SGW_PORT" "$T/lighttpd/sessiongw.conf" &&
	grep -q "\"port\" => $APP_PORT" "$T/lighttpd/sessiongw.conf" ||
	fatal "the sample no longer has the ports 9000 and 8080 where the test expects them"
start_lighttpd lighttpd "$T/lighttpd/sessiongw.conf"

B="http://127.0.0.1:$LIGHTTPD_PORT"
J=(-c "$T/jar" -b "$T/jar")
HTML=(-H 'Accept: text/html,application/xhtml+xml')
FORGED=(-H 'X-Remote-User: mallory' -H 'Forwarded: for=192.0.2.1;remote_user="mallory"')

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

http POST "$B/app/form" -H 'Accept: application/json' -d 'field=value'
expect_eq "no session, POST with a body: 401 (the authorizer does not wait for the body)" 401 "$STATUS"

http GET "$B/auth/login?return_to=/app/page.html"
expect_eq "login page through mod_fastcgi: 200" 200 "$STATUS"
expect_match "login page: the form" '<form method="post" action="/auth/login">' "$BODY"

# --- logging in through lighttpd ---------------------------------------------------
http POST "$B/auth/login" "${J[@]}" -d 'username=alice&password=correct+horse&return_to=/app/page.html'
expect_eq "form login: 303" 303 "$STATUS"
expect_eq "form login: back to return_to" "/app/page.html" "$(header Location | sed "s|^$B||")"
expect_match "form login: the session cookie" '^sgw_session=[A-Za-z0-9_.-]{60,}; Path=/; HttpOnly; SameSite=Lax$' "$(header Set-Cookie)"

http GET "$B/app/page.html" "${J[@]}" "${FORGED[@]}"
expect_eq "logged in: protected page 200" 200 "$STATUS"
expect_eq "logged in: the application sees the user in Forwarded, not the client's headers" \
	'app: uri=/app/page.html forwarded=for=127.0.0.1;proto=http;remote_user="alice" x-remote-user=' "$BODY"
expect_no_match "logged in: no Variable-* header reaches the client" '^Variable-' "$HEADERS"
expect_no_match "logged in: no X-Auth-* header reaches the client" '^X-Auth-' "$HEADERS"
wait_until 5 grep -q ' alice "GET /app/page.html HTTP/1.1" 200' "$LIGHTTPD_ACCESS"
expect_match "access log: %u is the user" ' alice "GET /app/page.html HTTP/1.1" 200' "$(cat "$LIGHTTPD_ACCESS")"

http POST "$B/app/form" "${J[@]}" -d 'field=value'
expect_eq "logged in, POST with a body: passes to the application" 200 "$STATUS"

http GET "$B/admin/index.html" "${J[@]}"
expect_eq "role rule: alice without admin gets 403" 403 "$STATUS"
expect_no_match "role rule: the application was not reached" 'app:' "$BODY"

http POST "$B/auth/login" -c "$T/jar2" -H 'Content-Type: application/json' \
	-d '{"username":"bob","password":"battery staple"}'
expect_eq "JSON login through lighttpd: 200" 200 "$STATUS"
expect_match "JSON login: user and roles" '"user":"bob","roles":\["admin","staff"\]' "$BODY"
http GET "$B/admin/index.html" -b "$T/jar2"
expect_eq "role rule: bob with admin passes" 200 "$STATUS"
expect_match "role rule: the application sees bob" 'uri=/admin/index.html .*remote_user="bob"' "$BODY"

http GET "$B/auth/session" "${J[@]}"
expect_eq "GET /auth/session through mod_fastcgi: 200" 200 "$STATUS"
expect_match "GET /auth/session: the user" '"user":"alice"' "$BODY"

# --- paths another server reads differently (SPEC section 4), through the
# real authorizer role: "/app/..;/admin/" is /admin/ to a servlet container.
for u in '/app/..;/admin/' '/app/..%3b/admin/' '/app/a%25b' '/app/%c0%af' '/app/%ed%a0%80'; do
	http GET "$B$u" --path-as-is "${J[@]}"
	# lighttpd answers some of them 400 itself (overlong UTF-8).
	expect_match "$u with a session: refused" '^(403|400)$' "$STATUS"
	expect_no_match "$u: the application was not reached" '^app:' "$BODY"
done

# --- the internal /check is not reachable through the responder ---------------
for u in '/auth/chec%256b' '/auth/%2563heck' '/auth/%252e/check'; do
	http GET "$B$u" --path-as-is "${J[@]}" -H 'X-Original-URI: /app/x'
	expect_eq "$u with a forged X-Original-URI: 404, not /check" 404 "$STATUS"
	expect_no_match "$u: no identity answered" '^X-Auth-' "$HEADERS"
done

# --- logout -------------------------------------------------------------------------
# lighttpd answers a POST without Content-Length with 411 before any
# handler sees it, so the client sends an empty body.
http POST "$B/auth/logout" "${J[@]}" -H 'Content-Type: application/json' --data ''
expect_eq "logout through lighttpd: 200" 200 "$STATUS"
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

stop_pid "$LIGHTTPD_PID"
stop_pid "$SGW_PID"

# --- spawned mode: lighttpd starts sessiongw ("bin-path") -----------------------------
# The sample's commented spawned block replaces the TCP line; only the socket
# path and the command change.
S="$T/spawn"
mkdir -p "$S/run"
mkdir -p "$S/lmdb"
gateway_conf "$S/sgw.conf" "log_file=$T/sgw-spawned.log" "path=$S/lmdb"
touch "$T/sgw-spawned.log"
# lighttpd runs it as its own user: the files it writes must be that
# user's (the embedded store's directory among them).
[ -n "$RUN_AS" ] && chown "$RUN_AS:" "$S/run" "$S/lmdb" "$T/secret" "$T/users" "$T/sgw-spawned.log"
# ... and the program must be one that user can reach: a checkout under a
# private directory (mktemp -d makes them 0700) is not, so it runs a copy.
SPAWN_BIN=$SGW_BIN
if [ -n "$RUN_AS" ] && ! runuser -u "$RUN_AS" -- test -x "$SGW_BIN"; then
	SPAWN_BIN="$S/sessiongw"
	install -m 0755 "$SGW_BIN" "$SPAWN_BIN"
fi
sed -e '/^var\.sessiongw = ( "host"/d' \
	-e '/^# var\.sessiongw = ($/,/^# )$/s/^# //' \
	-e "s|\"/run/lighttpd/sessiongw.socket\"|\"$S/run/sessiongw.socket\"|" \
	-e "s|\"/usr/local/sbin/sessiongw -c /etc/sessiongw/sessiongw.conf\"|\"$SPAWN_BIN -c $S/sgw.conf\"|" \
	-e "s|\"host\" => \"127\.0\.0\.1\", \"port\" => 8080|\"host\" => \"127.0.0.1\", \"port\" => $APP_PORT|" \
	"$SGW_SOURCE_DIR/conf/lighttpd-sessiongw.conf" >"$S/sessiongw.conf"
grep -q "\"bin-path\" => \"$SPAWN_BIN -c $S/sgw.conf\"" "$S/sessiongw.conf" &&
	! grep -q '"port" => 9000' "$S/sessiongw.conf" ||
	fatal "the sample's spawned block is not where the test expects it"
start_lighttpd spawned "$S/sessiongw.conf"
B="http://127.0.0.1:$LIGHTTPD_PORT"

# The gateway processes of this test: their command line names $S/sgw.conf.
spawned_pids() { pgrep -f -- "-c $S/sgw.conf" | sort; }
masters=$(pgrep -P "$LIGHTTPD_PID" -f -- "-c $S/sgw.conf" | sort)
expect_eq "spawned: lighttpd started one sessiongw master" 1 "$(printf '%s\n' "$masters" | grep -c .)"
master=$(printf '%s\n' "$masters" | head -n1)
# wait_until runs its command again each time: the count must be taken
# inside it, not once before it starts.
has_two_workers() { [ "$(worker_pids "$master" | wc -l)" -eq 2 ]; }
[ -n "$master" ] && wait_until 5 has_two_workers
expect_eq "spawned: the master forked its 2 workers" 2 "$(worker_pids "${master:-0}" | wc -l)"
expect_match "spawned: the gateway serves the socket it inherited" 'spawned mode: serving the listening socket on fd 0' \
	"$(cat "$T/sgw-spawned.log")"
expect_eq "spawned: the socket lighttpd made (with its -0 suffix)" yes \
	"$([ -S "$S/run/sessiongw.socket-0" ] && echo yes || echo no)"

http GET "$B/app/page.html" "${HTML[@]}"
expect_eq "spawned: no session, browser: 302" 302 "$STATUS"
http POST "$B/auth/login" -c "$T/jar5" -d 'username=bob&password=battery+staple'
expect_eq "spawned: form login: 303" 303 "$STATUS"
http GET "$B/admin/index.html" -b "$T/jar5"
expect_eq "spawned: logged in: 200" 200 "$STATUS"
expect_match "spawned: the application sees the user" 'remote_user="bob"' "$BODY"

everyone=$(spawned_pids | tr '\n' ' ')
stop_pid "$LIGHTTPD_PID"
none_spawned() { [ -z "$(spawned_pids)" ]; }
wait_until 10 none_spawned
left=$(spawned_pids | tr '\n' ' ')
expect_eq "spawned: stopping lighttpd stops sessiongw and its workers" "" "$left"
for p in $left; do stop_pid "$p"; done
expect_match "spawned: the gateway stopped gracefully" 'stopped' "$(tail -n 3 "$T/sgw-spawned.log")"
# A store without TTLs of its own (lmdb, postgres) has a sweeper besides.
want=3
[ "$SGW_TEST_STORE" = redis ] || want=4
expect_eq "spawned: there were a master, 2 workers (and a sweeper) to stop" "$want" \
	"$(printf '%s' "$everyone" | wc -w)"

finish
