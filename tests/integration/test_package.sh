#!/usr/bin/env bash
# test_package: from clone to production. Builds the Debian package from a
# copy of the tree (scripts/package.sh, lintian included), installs it with
# dpkg -i, checks the files, the system user, the modes and the conffiles,
# runs the unit's own ExecStartPre and ExecStart lines as systemd would
# (its user and groups, its umask, the runtime directory made by hand),
# puts the packaged nginx snippets in a private nginx on a loopback port
# whose workers are www-data, adds a user with `sessiongw passwd`, logs in
# with curl and reaches a protected page; then dpkg -r keeps the
# configuration and the sessions, and dpkg --purge leaves nothing behind.
#
# Needs root (dpkg -i); skips otherwise, and when a sessiongw package is
# installed already (it is not this test's to remove).
. "$(dirname "$0")/lib.sh"

if [ "$(id -u)" -ne 0 ]; then
	echo "# skip: installing a package needs root (run as root to test it)"
	finish
fi
if dpkg-query -W -f='${Status}' sessiongw 2>/dev/null | grep -q installed; then
	echo "# skip: a sessiongw package is installed on this machine already;" \
		"this test installs and purges its own"
	finish
fi
for tool in dpkg-buildpackage nginx curl setpriv; do
	command -v "$tool" >/dev/null || fatal "$tool is missing (scripts/setup.sh test)"
done

unit=/lib/systemd/system/sessiongw.service
INSTALLED=0
POLICY=""
# Whatever happens, leave the machine as it was: stop what we started,
# purge the package, remove the runtime directory made by hand.
pkg_exit() {
	local i
	for ((i = ${#PIDS[@]} - 1; i >= 0; i--)); do stop_pid "${PIDS[$i]}"; done
	PIDS=()
	if [ "$INSTALLED" = 1 ] && dpkg-query -W sessiongw >/dev/null 2>&1; then
		dpkg --purge sessiongw >>"$T/dpkg.log" 2>&1
	fi
	rm -rf /run/sessiongw
	[ -z "$POLICY" ] || rm -f "$POLICY"
	cleanup
}
trap pkg_exit EXIT

# Installing must not start the service through a running systemd: this
# test starts it itself (deb-systemd-invoke honours policy-rc.d).
if [ ! -e /usr/sbin/policy-rc.d ]; then
	POLICY=/usr/sbin/policy-rc.d
	printf '#!/bin/sh\nexit 101\n' >"$POLICY" && chmod 755 "$POLICY"
fi

# --- build -------------------------------------------------------------------

version=$(sed -n 's/^project(sessiongw VERSION \([0-9.]*\).*/\1/p' "$SGW_SOURCE_DIR/CMakeLists.txt")
status_before=$(git -C "$SGW_SOURCE_DIR" status --porcelain 2>/dev/null)
deb=$("$SGW_SOURCE_DIR/scripts/package.sh" -o "$T/deb" --lintian 2>"$T/package.log" | tail -n1)
[ -f "$deb" ] || { tail -n 40 "$T/package.log"; fatal "scripts/package.sh built no .deb"; }
ok "scripts/package.sh built $(basename "$deb"), lintian clean"
expect_eq "the .deb is named sessiongw_VERSION_ARCH.deb" \
	"sessiongw_${version}_$(dpkg --print-architecture).deb" "$(basename "$deb")"
expect_eq "the package version is CMake's project(VERSION)" "$version" \
	"$(dpkg-deb -f "$deb" Version)"
expect_eq "building left the source tree as it was" "$status_before" \
	"$(git -C "$SGW_SOURCE_DIR" status --porcelain 2>/dev/null)"

# --- install -----------------------------------------------------------------

INSTALLED=1
dpkg -i "$deb" >>"$T/dpkg.log" 2>&1 || { cat "$T/dpkg.log"; fatal "dpkg -i failed"; }
ok "dpkg -i installs it"

expect_eq "sessiongw -v" "sessiongw $version" "$(/usr/sbin/sessiongw -v)"
for f in /usr/share/man/man8/sessiongw.8.gz /usr/share/man/man5/sessiongw.conf.5.gz \
	/usr/share/doc/sessiongw/examples/sessiongw.conf \
	/usr/share/doc/sessiongw/examples/nginx-sessiongw.conf \
	/etc/nginx/snippets/sessiongw.conf /etc/nginx/snippets/sessiongw-protect.conf \
	/etc/apache2/conf-available/sessiongw.conf \
	/etc/lighttpd/conf-available/05-sessiongw.conf "$unit"; do
	[ -f "$f" ]
	expect_eq "installed: $f" 0 $?
done
expect_match "the man page is valid" "SESSIONGW.CONF\(5\)" "$(zcat /usr/share/man/man5/sessiongw.conf.5.gz | mandoc -Tascii 2>&1)"

# The system user and its group.
IFS=: read -r _ _ uid gid _ home shell <<<"$(getent passwd sessiongw)"
[ -n "$uid" ] && [ "$uid" -lt 1000 ]
expect_eq "a system user sessiongw (uid $uid)" 0 $?
expect_eq "its group is sessiongw" "sessiongw" "$(getent group "$gid" | cut -d: -f1)"
expect_eq "its home is the store directory" "/var/lib/sessiongw" "$home"
expect_eq "it has no login shell" "/usr/sbin/nologin" "$shell"

# Modes and owners.
expect_eq "/etc/sessiongw/secret: 640 root:sessiongw" "640 root:sessiongw" \
	"$(stat -c '%a %U:%G' /etc/sessiongw/secret)"
expect_match "the secret is one generated key line" '^[0-9A-Za-z+/=_-]{43,}$' \
	"$(cat /etc/sessiongw/secret)"
expect_eq "/etc/sessiongw/users: 640 root:sessiongw, empty" "640 root:sessiongw 0" \
	"$(stat -c '%a %U:%G %s' /etc/sessiongw/users)"
expect_eq "/var/lib/sessiongw: 2750 sessiongw:sessiongw" "2750 sessiongw:sessiongw" \
	"$(stat -c '%a %U:%G' /var/lib/sessiongw)"
expect_eq "/etc/sessiongw/sessiongw.conf: 644 root:root" "644 root:root" \
	"$(stat -c '%a %U:%G' /etc/sessiongw/sessiongw.conf)"

# Conffiles: the configuration and the snippets; never the secret or the
# users, which belong to the administrator and to `sessiongw passwd`.
conffiles=$(dpkg-query -W -f='${Conffiles}\n' sessiongw | awk 'NF { print $1 }' | sort | tr '\n' ' ')
expect_eq "conffiles" "/etc/apache2/conf-available/sessiongw.conf /etc/lighttpd/conf-available/05-sessiongw.conf /etc/nginx/snippets/sessiongw-protect.conf /etc/nginx/snippets/sessiongw.conf /etc/sessiongw/sessiongw.conf " \
	"$conffiles"

conf=$(cat /etc/sessiongw/sessiongw.conf)
expect_match "the conffile uses the embedded store" '^backend = lmdb' "$conf"
expect_match "... in /var/lib/sessiongw" 'path = /var/lib/sessiongw' "$conf"
expect_match "... listens on the runtime directory's socket" 'listen = unix:/run/sessiongw/sessiongw.sock' "$conf"
expect_match "... names the user sessiongw" 'user = sessiongw' "$conf"

# The unit: enabled, and clean for systemd-analyze where it can run.
[ -L /etc/systemd/system/multi-user.target.wants/sessiongw.service ]
expect_eq "the unit is enabled (multi-user.target.wants)" 0 $?
if command -v systemd-analyze >/dev/null; then
	out=$(systemd-analyze verify "$unit" 2>&1)
	expect_eq "systemd-analyze verify $unit" "0:" "$?:$out"
else
	echo "# systemd-analyze is not installed: unit not verified"
fi

# The other two web servers accept their snippets (a syntax check: the
# Apache and lighttpd tests run the gateway behind them for real).
if command -v lighttpd >/dev/null; then
	cat >"$T/lighttpd.conf" <<-EOF
	server.document-root = "$T"
	server.bind = "127.0.0.1"
	server.port = $(free_port)
	server.modules = ( "mod_access" )
	include "/etc/lighttpd/conf-available/05-sessiongw.conf"
	EOF
	out=$(lighttpd -tt -f "$T/lighttpd.conf" 2>&1)
	expect_eq "lighttpd accepts 05-sessiongw.conf" "0:" "$?:$out"
	expect_match "... which loads mod_fastcgi" '"mod_fastcgi"' "$(lighttpd -p -f "$T/lighttpd.conf" 2>&1)"
fi
if command -v apache2 >/dev/null; then
	m=/usr/lib/apache2/modules
	{
		echo "ServerRoot /etc/apache2"
		echo "ServerName localhost"
		echo "PidFile $T/apache.pid"
		echo "ErrorLog $T/apache-error.log"
		echo "Listen 127.0.0.1:$(free_port)"
		for mod in mpm_event authz_core authn_core authz_user authnz_fcgi proxy proxy_fcgi headers; do
			echo "LoadModule ${mod}_module $m/mod_$mod.so"
		done
		echo "Include /etc/apache2/conf-available/sessiongw.conf"
	} >"$T/apache.conf"
	out=$(apache2 -t -f "$T/apache.conf" 2>&1)
	expect_eq "apache2 accepts conf-available/sessiongw.conf" "0:Syntax OK" "$?:$out"
fi

# Reinstalling (what an upgrade runs) keeps the secret.
secret_sum=$(md5sum </etc/sessiongw/secret)
dpkg -i "$deb" >>"$T/dpkg.log" 2>&1
expect_eq "reinstalling works" 0 $?
expect_eq "... and keeps the secret" "$secret_sum" "$(md5sum </etc/sessiongw/secret)"

# --- run it as the unit would --------------------------------------------------

# unit_key KEY: the value of KEY= in the [Service] section.
unit_key() { sed -n "/^\[Service\]/,/^\[/s/^$1=//p" "$unit" | tail -n1; }
u_user=$(unit_key User)
u_group=$(unit_key Group)
u_groups=$(unit_key SupplementaryGroups)
u_umask=$(unit_key UMask)
u_rundir=$(unit_key RuntimeDirectory)
u_runmode=$(unit_key RuntimeDirectoryMode)
expect_eq "the unit runs as sessiongw:www-data (+sessiongw)" "sessiongw:www-data:sessiongw" \
	"$u_user:$u_group:$u_groups"
expect_eq "the unit's runtime directory" "sessiongw 0750" "$u_rundir $u_runmode"

# What systemd does before ExecStartPre: the runtime directory, owned by
# User:Group. Then each command as that user, with those groups, that
# umask and no way to gain privileges.
install -d -o "${u_user:-root}" -g "${u_group:-root}" -m "${u_runmode:-0755}" "/run/$u_rundir"
# as_unit COMMAND...: execs it, so call it in a subshell: ( as_unit ... ).
as_unit() {
	umask "${u_umask:-0022}"
	exec setpriv --reuid="${u_user:-root}" --regid="${u_group:-root}" \
		${u_groups:+--groups="${u_groups// /,}"} --no-new-privs \
		--inh-caps=-all --bounding-set=-all -- "$@"
}
# The administrator prepares the store as root: its files must go to the
# configuration's `user`, or the service could not open them.
out=$(sessiongw store init 2>&1)
expect_eq "sessiongw store init (as root) prepares the store" 0 $?
others=$(find /var/lib/sessiongw -mindepth 1 ! -user sessiongw | tr '\n' ' ')
expect_eq "... whose files belong to sessiongw" "" "$others"
out=$(sessiongw store init 2>&1)
expect_match "... and a second run has nothing to do" "^0:.*nothing to do" "$?:$out"

pre=$(unit_key ExecStartPre)
start=$(unit_key ExecStart)
expect_eq "ExecStartPre checks the configuration" \
	"/usr/sbin/sessiongw -t -c /etc/sessiongw/sessiongw.conf" "$pre"
read -r -a pre_argv <<<"$pre"
out=$(as_unit "${pre_argv[@]}" 2>&1)
expect_eq "ExecStartPre, as the unit's user, passes" \
	"0:sessiongw: configuration /etc/sessiongw/sessiongw.conf is ok" "$?:$out"

# A user, added the way the administrator does it (8 characters or more).
printf 'correct horse\n' | sessiongw passwd alice staff >>"$T/passwd.log" 2>&1
expect_eq "sessiongw passwd adds a user" 0 $?
expect_match "... to the users file" '^alice:\$y\$[^:]+:staff$' "$(cat /etc/sessiongw/users)"
expect_eq "... which keeps its owner and mode" "640 root:sessiongw" \
	"$(stat -c '%a %U:%G' /etc/sessiongw/users)"

read -r -a start_argv <<<"$start"
(as_unit "${start_argv[@]}") 2>>"$T/sgw.log" >/dev/null &
SGW_PID=$!
PIDS+=("$SGW_PID")
sock=/run/sessiongw/sessiongw.sock
# Serving, or dead already (then there is nothing to wait for).
wait_until 10 sh -c "\"\$1\" unix:$sock REQUEST_METHOD=GET DOCUMENT_URI=/auth/healthz \
	REQUEST_URI=/auth/healthz REMOTE_ADDR=127.0.0.1 || ! kill -0 $SGW_PID" sh "$SGW_FCGI_CLIENT"
kill -0 "$SGW_PID" 2>/dev/null && "$SGW_FCGI_CLIENT" "unix:$sock" REQUEST_METHOD=GET \
	DOCUMENT_URI=/auth/healthz REQUEST_URI=/auth/healthz REMOTE_ADDR=127.0.0.1 >/dev/null 2>&1 ||
	fatal "the unit's ExecStart did not start serving on $sock"
ok "ExecStart serves on $sock"
expect_eq "the socket is sessiongw:www-data, mode 660" "660 sessiongw:www-data" \
	"$(stat -c '%a %U:%G' "$sock")"
expect_eq "the master runs as sessiongw" "sessiongw" "$(ps -o user= -p "$SGW_PID" | tr -d ' ')"
expect_eq "so do its workers" "sessiongw" "$(ps -o user= --ppid "$SGW_PID" | sort -u | tr -d ' ' | tr '\n' ' ' | sed 's/ $//')"

# --- nginx with the packaged snippets -----------------------------------------

NGINX_PORT=$(free_port)
APP_PORT=$(free_port)
d="$T/nginx"
mkdir -p "$d/tmp" && chmod 777 "$d/tmp"
cp /etc/nginx/fastcgi_params "$d/fastcgi_params"
cat >"$d/nginx.conf" <<EOF
# Debian's nginx workers run as www-data: the socket's group must let
# them in.
user www-data;
$(nginx_preamble "$d" "$T/nginx-error.log" info 64)
    access_log $T/nginx-access.log;
    server {
        listen 127.0.0.1:$NGINX_PORT;
        include /etc/nginx/snippets/sessiongw.conf;
        location /app/ {
            include /etc/nginx/snippets/sessiongw-protect.conf;
            proxy_pass http://127.0.0.1:$APP_PORT;
        }
    }
    server {
        listen 127.0.0.1:$APP_PORT;
        location / {
            default_type text/plain;
            return 200 "app: uri=\$request_uri user=\$http_x_remote_user roles=\$http_x_remote_roles\n";
        }
    }
}
EOF
nginx -p "$d" -c "$d/nginx.conf" -t >>"$T/nginx-error.log" 2>&1
expect_eq "nginx accepts the packaged snippets" 0 $?
nginx -p "$d" -c "$d/nginx.conf" -g 'daemon off;' 2>>"$T/nginx-error.log" &
PIDS+=($!)
wait_until 10 port_busy "$NGINX_PORT" || fatal "nginx did not start"
base="http://127.0.0.1:$NGINX_PORT"

http GET "$base/app/page" -H 'Accept: text/html'
expect_eq "a browser without a session is sent to the login page" 302 "$STATUS"
expect_match "... with return_to" '/auth/login\?return_to=/app/page' "$(header Location)"
http GET "$base/app/page" -H 'X-Remote-User: alice'
expect_eq "a script without a session gets 401, whatever it claims" 401 "$STATUS"
http GET "$base/auth/login"
expect_eq "the login page comes through the socket" 200 "$STATUS"

http POST "$base/auth/login" --data-urlencode username=alice \
	--data-urlencode 'password=wrong password'
expect_eq "a wrong password is refused" 401 "$STATUS"
http POST "$base/auth/login" --data-urlencode username=alice \
	--data-urlencode 'password=correct horse' --data-urlencode return_to=/app/page
expect_eq "logging in with the password given to sessiongw passwd" 303 "$STATUS"
cookie=$(header Set-Cookie)
expect_match "... sets a Secure, HttpOnly session cookie" '^sgw_session=[^;]+;.*HttpOnly' "$cookie"
expect_match "... Secure (the packaged default)" '; *Secure' "$cookie"
# curl keeps Secure cookies for https only: send it by hand.
token=$(sed -n 's/^sgw_session=\([^;]*\);.*/\1/p' <<<"$cookie")
http GET "$base/app/page" -H "Cookie: sgw_session=$token" -H 'X-Remote-User: mallory'
expect_eq "the protected page, with the session" 200 "$STATUS"
expect_eq "... knows who is there" "app: uri=/app/page user=alice roles=staff" "$BODY"
http GET "$base/auth/session" -H "Cookie: sgw_session=$token"
expect_match "GET /auth/session names the user" '"user": *"alice"' "$BODY"

# Sessions live in the embedded store, owned by the service's user.
files=$(find /var/lib/sessiongw -mindepth 1 | wc -l)
others=$(find /var/lib/sessiongw -mindepth 1 \( ! -user sessiongw -o -perm -o=r \) | tr '\n' ' ')
[ "$files" -gt 0 ]
expect_eq "the store has files in /var/lib/sessiongw" 0 $?
expect_eq "... all the service user's, none readable by others" "" "$others"

# ExecReload: SIGHUP keeps the socket and the sessions.
kill -HUP "$SGW_PID"
sleep 1
http GET "$base/app/page" -H "Cookie: sgw_session=$token"
expect_eq "after ExecReload (SIGHUP) the session still passes" 200 "$STATUS"

# The administrator's subcommands, run as root against the service's
# store, must not take it over (no root-owned files in it afterwards).
out=$(sessiongw sessions list alice 2>&1)
expect_eq "sessiongw sessions list (as root) shows alice's session" "0:1" \
	"$?:$(grep -c . <<<"$out")"
out=$(sessiongw sessions revoke alice 2>&1)
expect_eq "sessiongw sessions revoke (as root) ends it" "0:ended 1 session(s) of alice" "$?:$out"
http GET "$base/app/page" -H "Cookie: sgw_session=$token"
expect_eq "... and the page is closed to it" 401 "$STATUS"
others=$(find /var/lib/sessiongw -mindepth 1 \( ! -user sessiongw -o -perm -o=r \) | tr '\n' ' ')
expect_eq "the store still belongs to the service user" "" "$others"

# Stop as systemd does (KillSignal=SIGTERM): exit 0.
kill -TERM "$SGW_PID"
rc=1
for i in $(seq 1 100); do
	kill -0 "$SGW_PID" 2>/dev/null || { wait "$SGW_PID"; rc=$?; break; }
	sleep 0.1
done
expect_eq "SIGTERM stops it with status 0" 0 "$rc"

# --- remove, purge --------------------------------------------------------------

dpkg -r sessiongw >>"$T/dpkg.log" 2>&1
expect_eq "dpkg -r removes it" 0 $?
[ ! -e /usr/sbin/sessiongw ]
expect_eq "... the binary is gone" 0 $?
left=""
for f in /etc/sessiongw/sessiongw.conf /etc/sessiongw/secret /etc/sessiongw/users \
	/etc/nginx/snippets/sessiongw.conf /var/lib/sessiongw; do
	[ -e "$f" ] || left="$left $f"
done
expect_eq "... the configuration, secret, users and store stay" "" "$left"
expect_match "... and so do alice and the secret" '^alice:' "$(cat /etc/sessiongw/users 2>/dev/null)"
expect_eq "... the user stays" 0 "$(getent passwd sessiongw >/dev/null; echo $?)"
expect_eq "... and the sessions in the store" "$files" \
	"$(find /var/lib/sessiongw -mindepth 1 2>/dev/null | wc -l)"

rm -rf /run/sessiongw # systemd removes the runtime directory at stop
dpkg --purge sessiongw >>"$T/dpkg.log" 2>&1
expect_eq "dpkg --purge purges it" 0 $?
left=""
for f in /etc/sessiongw /var/lib/sessiongw /usr/sbin/sessiongw "$unit" \
	/etc/systemd/system/multi-user.target.wants/sessiongw.service \
	/etc/nginx/snippets/sessiongw.conf /etc/nginx/snippets/sessiongw-protect.conf \
	/etc/apache2/conf-available/sessiongw.conf \
	/etc/lighttpd/conf-available/05-sessiongw.conf /usr/share/doc/sessiongw; do
	[ -e "$f" ] || [ -L "$f" ] && left="$left $f"
done
expect_eq "nothing is left on disk" "" "$left"
getent passwd sessiongw >/dev/null
expect_eq "the user is gone" 2 $?
getent group sessiongw >/dev/null
expect_eq "the group is gone" 2 $?
expect_eq "dpkg knows it no more" "" "$(dpkg-query -W -f='${Status}' sessiongw 2>/dev/null | grep installed)"

finish
