#!/usr/bin/env bash
# backends: lmdb redis postgres
# Identity headers a client forges never reach the application. nginx,
# Apache and lighttpd each run the sample from conf/ (only the ports
# changed) in front of http_echo, which answers with every header it was
# sent exactly as it arrived, so nothing a server lets through goes
# unseen. For each server: a forged X-Remote-User, X-Remote-Roles and
# X-Remote-Session-Id (duplicated, in lower case and spelt with
# underscores, which many frameworks fold into the same name), on /app/
# and /admin/, with a session, with an admin session, without one, and on
# a path an anonymous rule lets through without a session. The
# application must see the gateway's values, or none, never the forged
# ones.
. "$(dirname "$0")/lib.sh"

: "${SGW_HTTP_ECHO:?SGW_HTTP_ECHO must name the http_echo tool}"
command -v apache2 >/dev/null || fatal "apache2 is not installed"
command -v lighttpd >/dev/null || fatal "lighttpd is not installed"
RUN_AS=""
[ "$(id -u)" -eq 0 ] && RUN_AS=www-data

start_store
# /app/open/ is anonymous: the gateway passes it without a session, so the
# web server must still clear what the client sent.
gateway_conf "$T/sgw.conf" \
	'RULES=/auth/* anonymous|/app/open/* anonymous|/admin/* role:admin|/* authenticated'
add_user alice 'correct horse' staff
add_user bob 'battery staple' admin,staff
start_gateway "$T/sgw.conf"

APP_PORT=$(free_port)
"$SGW_HTTP_ECHO" "$APP_PORT" 2>>"$T/echo.log" &
PIDS+=($!)
wait_until 10 port_busy "$APP_PORT" || fatal "http_echo did not start"

FORGED=(
	-H 'X-Remote-User: mallory' -H 'X-Remote-User: mallory2'
	-H 'x-remote-roles: forgedrole' -H 'X-Remote-Roles: forgedrole2'
	-H 'X-Remote-Session-Id: forgedsid'
	-H 'X_Remote_User: mallory3' -H 'X_REMOTE_ROLES: forgedrole3'
	-H 'X_Remote_Session_Id: forgedsid2'
	-H 'X-Remote_User: mallory5' -H 'X_Remote-Roles: forgedrole4'
	-H 'X-Remote_Session-Id: forgedsid3'
)
FORGED_RE='mallory|forgedrole|forgedsid'

# The request head http_echo saw, or the web server's answer when the
# request did not reach it.
reached() { grep -q '^echo:' <<<"$BODY"; }
# app_header NAME: the value of header NAME as the application got it.
app_header() { tr -d '\r' <<<"$BODY" | grep -i "^$1:" | sed 's/^[^:]*: *//' | paste -sd'|' -; }

# identity_checks NAME BASE USER_RE ROLES_RE: the whole round for one
# server. USER_RE and ROLES_RE say how that server's sample hands the
# gateway's answer on ("%s" is replaced by the user or roles).
identity_checks() {
	local n=$1 b=$2 j="$T/$1-alice" jb="$T/$1-bob" u

	http POST "$b/auth/login" -c "$j" -d 'username=alice&password=correct+horse'
	expect_eq "$n: alice logs in" 303 "$STATUS"
	http POST "$b/auth/login" -c "$jb" -d 'username=bob&password=battery+staple'
	expect_eq "$n: bob logs in" 303 "$STATUS"

	for u in /app/page.html /app/open/page.html; do
		http GET "$b$u" -b "$j" "${FORGED[@]}"
		expect_eq "$n: $u with a session: 200" 200 "$STATUS"
		expect_no_match "$n: $u with a session: no forged identity reaches the app" "$FORGED_RE" "$BODY"
		check_identity "$n: $u with a session" alice staff
	done
	http GET "$b/admin/index.html" -b "$jb" "${FORGED[@]}"
	expect_eq "$n: /admin/ as bob: 200" 200 "$STATUS"
	expect_no_match "$n: /admin/ as bob: no forged identity reaches the app" "$FORGED_RE" "$BODY"
	check_identity "$n: /admin/ as bob" bob admin,staff
	http GET "$b/admin/index.html" -b "$j" "${FORGED[@]}"
	expect_eq "$n: /admin/ as alice: 403" 403 "$STATUS"
	expect_no_match "$n: /admin/ as alice: the app is not reached" '^echo:' "$BODY"

	http GET "$b/app/page.html" "${FORGED[@]}" -H 'Accept: application/json'
	expect_eq "$n: /app/ without a session: 401" 401 "$STATUS"
	expect_no_match "$n: /app/ without a session: the app is not reached" '^echo:' "$BODY"
	http GET "$b/admin/index.html" "${FORGED[@]}" -H 'Accept: application/json'
	expect_eq "$n: /admin/ without a session: 401" 401 "$STATUS"
	expect_no_match "$n: /admin/ without a session: the app is not reached" '^echo:' "$BODY"

	# Anonymous without a session: the gateway passes with no identity.
	# (Apache answers 500 itself there, AH02520: see the sample.)
	http GET "$b/app/open/page.html" "${FORGED[@]}"
	expect_no_match "$n: anonymous path without a session: no forged identity reaches the app" \
		"$FORGED_RE" "$BODY"
	if reached; then
		check_identity "$n: anonymous path without a session" "" ""
	fi
}

# --- nginx ----------------------------------------------------------------------
# nginx hands the identity on in X-Remote-User / -Roles / -Session-Id.
check_identity() {
	local what=$1 user=$2 roles=$3
	expect_eq "$what: X-Remote-User is the gateway's" "$user" "$(app_header X-Remote-User)"
	expect_eq "$what: X-Remote-Roles is the gateway's" "$roles" "$(app_header X-Remote-Roles)"
	if [ -n "$user" ]; then
		expect_match "$what: X-Remote-Session-Id is the gateway's" '^[0-9a-f]{32}$' \
			"$(app_header X-Remote-Session-Id)"
	else
		expect_eq "$what: no X-Remote-Session-Id" "" "$(app_header X-Remote-Session-Id)"
	fi
}
NGINX_PORT=$(free_port)
d="$T/nginx"
mkdir -p "$d/tmp" && chmod 777 "$d/tmp"
sed -e "s/server 127\.0\.0\.1:9000;/server 127.0.0.1:$SGW_PORT;/" \
	-e "s/127\.0\.0\.1:8080/127.0.0.1:$APP_PORT/" \
	-e "s/listen 80;/listen 127.0.0.1:$NGINX_PORT;/" \
	"$SGW_SOURCE_DIR/conf/nginx-sessiongw.conf" >"$d/site.conf"
cp /etc/nginx/fastcgi_params "$d/fastcgi_params"
cat >"$d/nginx.conf" <<NGINX
$(nginx_preamble "$d" "$T/nginx-error.log" info 64)
    include /etc/nginx/mime.types;
    access_log off;
    include $d/site.conf;
}
NGINX
nginx -p "$d" -c "$d/nginx.conf" -g 'daemon off;' 2>>"$T/nginx-error.log" &
PIDS+=($!)
wait_until 10 port_busy "$NGINX_PORT" || fatal "nginx did not start"
identity_checks nginx "http://127.0.0.1:$NGINX_PORT"

# --- Apache -----------------------------------------------------------------------
# The same header names as nginx.
start_apache "$RUN_AS" warn
identity_checks apache "http://127.0.0.1:$APACHE_PORT"

# --- lighttpd ---------------------------------------------------------------------
# mod_proxy cannot send the gateway's Variable-* on: the user travels in
# the Forwarded header lighttpd appends (remote_user="..."), roles and
# session id not at all. So a client's Forwarded is forged identity too.
FORGED+=(-H 'Forwarded: for=192.0.2.1;remote_user="mallory4"')
check_identity() {
	local what=$1 user=$2
	if [ -n "$user" ]; then
		expect_eq "$what: Forwarded names the gateway's user" \
			"for=127.0.0.1;proto=http;remote_user=\"$user\"" "$(app_header Forwarded)"
	else
		expect_eq "$what: Forwarded names no user" "for=127.0.0.1;proto=http" "$(app_header Forwarded)"
	fi
	expect_eq "$what: no X-Remote-User" "" "$(app_header X-Remote-User)"
	expect_eq "$what: no X-Remote-Roles" "" "$(app_header X-Remote-Roles)"
	expect_eq "$what: no X-Remote-Session-Id" "" "$(app_header X-Remote-Session-Id)"
}
LIGHTTPD_PORT=$(free_port)
d="$T/lighttpd"
mkdir -p "$d/htdocs" "$d/tmp"
touch "$T/lighttpd-error.log"
[ -n "$RUN_AS" ] && chown "$RUN_AS:" "$T/lighttpd-error.log" "$d/tmp"
sed -e "s|\"host\" => \"127\.0\.0\.1\", \"port\" => 9000|\"host\" => \"127.0.0.1\", \"port\" => $SGW_PORT|" \
	-e "s|\"host\" => \"127\.0\.0\.1\", \"port\" => 8080|\"host\" => \"127.0.0.1\", \"port\" => $APP_PORT|" \
	"$SGW_SOURCE_DIR/conf/lighttpd-sessiongw.conf" >"$d/sessiongw.conf"
{
	echo "server.document-root = \"$d/htdocs\""
	echo "server.bind = \"127.0.0.1\""
	echo "server.port = $LIGHTTPD_PORT"
	echo "server.errorlog = \"$T/lighttpd-error.log\""
	echo "server.upload-dirs = ( \"$d/tmp\" )"
	if [ -n "$RUN_AS" ]; then
		echo "server.username = \"$RUN_AS\""
		echo "server.groupname = \"$RUN_AS\""
	fi
	echo "include \"$d/sessiongw.conf\""
} >"$d/lighttpd.conf"
lighttpd -tt -f "$d/lighttpd.conf" >"$T/lighttpd-configtest.log" 2>&1 ||
	fatal "lighttpd -tt: $(cat "$T/lighttpd-configtest.log")"
lighttpd -D -f "$d/lighttpd.conf" 2>>"$T/lighttpd-error.log" &
PIDS+=($!)
wait_until 10 port_busy "$LIGHTTPD_PORT" || fatal "lighttpd did not start"
identity_checks lighttpd "http://127.0.0.1:$LIGHTTPD_PORT"

finish
