#!/usr/bin/env bash
# demo.sh: sessiongw for real, on this machine's loopback: a private
# redis-server, sessiongw with its workers, and nginx in front protecting
# a small application at /app/. Prints the URL and a demo user's
# credentials; Ctrl-C stops everything.
#
#   scripts/demo.sh        (as root on Debian installs what it needs)
#
# Ports: DEMO_HTTP_PORT (8080), DEMO_GW_PORT (9000), DEMO_REDIS_PORT (6390).
set -euo pipefail
cd "$(dirname "$0")/.."
src=$(pwd)

http_port=${DEMO_HTTP_PORT:-8080}
gw_port=${DEMO_GW_PORT:-9000}
redis_port=${DEMO_REDIS_PORT:-6390}

scripts/setup.sh demo
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j"$(nproc)" --target sessiongw >/dev/null
bin="$src/build/sessiongw"

for p in "$http_port" "$gw_port" "$redis_port"; do
	if (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
		echo "demo.sh: port $p is in use; set DEMO_HTTP_PORT, DEMO_GW_PORT or DEMO_REDIS_PORT" >&2
		exit 1
	fi
done

d=$(mktemp -d /tmp/sessiongw-demo.XXXXXX)
chmod 755 "$d"
pids=()
stop() {
	trap - INT TERM EXIT
	echo
	echo "demo.sh: stopping"
	for ((i = ${#pids[@]} - 1; i >= 0; i--)); do
		kill -TERM "${pids[$i]}" 2>/dev/null || true
		wait "${pids[$i]}" 2>/dev/null || true
	done
	rm -rf "$d"
}
trap stop INT TERM EXIT

# Redis, private to the demo.
redis-server --port "$redis_port" --bind 127.0.0.1 --save '' --appendonly no \
	--dir "$d" --logfile "$d/redis.log" --daemonize no &
pids+=($!)

# sessiongw, configured from the sample with the demo's paths.
"$bin" secret >"$d/secret"
chmod 600 "$d/secret"
sed -e "s|^listen = .*|listen = 127.0.0.1:$gw_port|" \
	-e "s|^address = .*|address = 127.0.0.1:$redis_port|" \
	-e "s|^users_file = .*|users_file = $d/users|" \
	-e "s|^secret_file = .*|secret_file = $d/secret|" \
	-e "s|^secure = .*|secure = off|" \
	-e "s|^workers = .*|workers = 2|" \
	-e "s|^default_redirect = .*|default_redirect = /app/|" \
	conf/sessiongw.conf >"$d/sessiongw.conf"
password=$(head -c 12 /dev/urandom | base64 | tr -d '/+=' | head -c 12)
: >"$d/users"
printf '%s\n' "$password" | "$bin" passwd -c "$d/sessiongw.conf" demo staff 2>/dev/null
printf '%s\n' "$password" | "$bin" passwd -c "$d/sessiongw.conf" admin admin staff 2>/dev/null
"$bin" -t -c "$d/sessiongw.conf"
"$bin" -c "$d/sessiongw.conf" 2>"$d/sessiongw.log" &
pids+=($!)

# nginx in front, from the sample configuration, with a tiny application.
mkdir -p "$d/nginx/tmp" && chmod 777 "$d/nginx/tmp"
cp /etc/nginx/fastcgi_params "$d/nginx/"
app_port=$((http_port + 1))
sed -e "s/127\.0\.0\.1:9000/127.0.0.1:$gw_port/" \
	-e "s/127\.0\.0\.1:8080/127.0.0.1:$app_port/" \
	-e "s/listen 80;/listen 127.0.0.1:$http_port;/" \
	conf/nginx-sessiongw.conf >"$d/nginx/site.conf"
cat >"$d/nginx/nginx.conf" <<EOF
worker_processes 1;
pid $d/nginx/nginx.pid;
error_log $d/nginx-error.log;
events { worker_connections 256; }
http {
    include /etc/nginx/mime.types;
    access_log $d/nginx-access.log;
    client_body_temp_path $d/nginx/tmp/body;
    proxy_temp_path $d/nginx/tmp/proxy;
    fastcgi_temp_path $d/nginx/tmp/fastcgi;
    uwsgi_temp_path $d/nginx/tmp/uwsgi;
    scgi_temp_path $d/nginx/tmp/scgi;
    include $d/nginx/site.conf;
    server {
        listen 127.0.0.1:$app_port;
        location / {
            default_type text/html;
            return 200 '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>Protected</title>
<style>body{font:16px/1.5 system-ui,sans-serif;max-width:40rem;margin:3rem auto;padding:0 1rem}</style></head>
<body><h1>Protected page</h1><p>Signed in as <strong>\$http_x_remote_user</strong> (roles: \$http_x_remote_roles).</p>
<p>This page is served only to logged-in users; nginx asked sessiongw first.</p>
<form method="post" action="/auth/logout"><button type="submit">Sign out</button></form></body></html>\n';
        }
    }
}
EOF
nginx -p "$d/nginx" -c "$d/nginx/nginx.conf" -g 'daemon off;' &
pids+=($!)

sleep 1
cat <<EOF

  sessiongw demo is running.

    Open:      http://127.0.0.1:$http_port/app/
    User:      demo      Password: $password
    (or user admin, same password, who may also open /admin/)

  Logs: $d/sessiongw.log
  Press Ctrl-C to stop.

EOF
wait
