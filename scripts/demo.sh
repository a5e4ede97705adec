#!/usr/bin/env bash
# demo.sh: sessiongw for real, on this machine's loopback: sessiongw with
# its workers on the embedded store (LMDB, no server to run), and nginx in
# front protecting a small application at /app/ whose page counts your
# visits in the session's own data. Prints the URL and a demo user's
# credentials; Ctrl-C stops everything.
#
#   scripts/demo.sh                      (as root on Debian installs what it needs)
#   DEMO_STORE=redis scripts/demo.sh     (a private redis-server instead)
#   DEMO_STORE=postgres scripts/demo.sh  (a private PostgreSQL instead)
#
# The embedded store, the secret and the users live in DEMO_STATE
# (/var/tmp/sessiongw-demo), so a session (and its visit counter) survives
# stopping and starting the demo; remove that directory to start afresh.
# Ports: DEMO_HTTP_PORT (8080), DEMO_GW_PORT (9000), DEMO_REDIS_PORT (6390),
# DEMO_PG_PORT (5439).
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/nginx-preamble.sh
src=$(pwd)

http_port=${DEMO_HTTP_PORT:-8080}
gw_port=${DEMO_GW_PORT:-9000}
redis_port=${DEMO_REDIS_PORT:-6390}
pg_port=${DEMO_PG_PORT:-5439}
store=${DEMO_STORE:-lmdb}
state=${DEMO_STATE:-/var/tmp/sessiongw-demo}
case $store in
lmdb | redis | postgres) ;;
*) echo "demo.sh: DEMO_STORE must be lmdb, redis or postgres (got '$store')" >&2; exit 2 ;;
esac

scripts/setup.sh demo
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j"$(nproc)" --target sessiongw >/dev/null
bin="$src/build/sessiongw"

ports=("$http_port" "$gw_port")
[ "$store" = redis ] && ports+=("$redis_port")
[ "$store" = postgres ] && ports+=("$pg_port")
for p in "${ports[@]}"; do
	if (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
		echo "demo.sh: port $p is in use; set DEMO_HTTP_PORT, DEMO_GW_PORT, DEMO_REDIS_PORT or DEMO_PG_PORT" >&2
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
	if [ -n "${pg_data:-}" ]; then
		runuser -u postgres -- /usr/lib/postgresql/15/bin/pg_ctl -D "$pg_data" -m fast -w stop >/dev/null 2>&1 || true
	fi
	rm -rf "$d"
}
trap stop INT TERM EXIT

# What survives a restart of the demo: the secret that MACs the cookies,
# the users, and the embedded store.
mkdir -p "$state/lmdb"
chmod 700 "$state"
[ -s "$state/secret" ] || { "$bin" secret >"$state/secret"; chmod 600 "$state/secret"; }

# The store.
store_keys=()
case $store in
lmdb) store_keys=(-e "s|^backend = .*|backend = lmdb|" -e "0,/^path = /s|^path = .*|path = $state/lmdb|") ;;
redis)
	redis-server --port "$redis_port" --bind 127.0.0.1 --save '' --appendonly no \
		--dir "$d" --logfile "$d/redis.log" --daemonize no &
	pids+=($!)
	store_keys=(-e "s|^backend = .*|backend = redis|" -e "s|^address = .*|address = 127.0.0.1:$redis_port|")
	;;
postgres)
	pg_bin=/usr/lib/postgresql/15/bin
	install -d -o postgres -m 0700 "$d/pg"
	pg_data=$d/pg/data
	runuser -u postgres -- "$pg_bin/initdb" -D "$pg_data" -A trust -U sgw >"$d/pg/initdb.log" 2>&1
	runuser -u postgres -- "$pg_bin/pg_ctl" -D "$pg_data" -l "$d/pg/log" -w \
		-o "-p $pg_port -k $d/pg -c listen_addresses=127.0.0.1" start >/dev/null
	psql -q -h 127.0.0.1 -p "$pg_port" -U sgw -d postgres -c 'create database sessiongw' >/dev/null
	store_keys=(-e "s|^backend = .*|backend = postgres|"
		-e "s|^conninfo = .*|conninfo = host=127.0.0.1 port=$pg_port user=sgw dbname=sessiongw|")
	;;
esac

# sessiongw, configured from the sample with the demo's paths.
sed -e "s|^listen = .*|listen = 127.0.0.1:$gw_port|" \
	"${store_keys[@]}" \
	-e "s|^users_file = .*|users_file = $state/users|" \
	-e "s|^secret_file = .*|secret_file = $state/secret|" \
	-e "s|^secure = .*|secure = off|" \
	-e "s|^workers = .*|workers = 2|" \
	-e "s|^default_redirect = .*|default_redirect = /app/|" \
	conf/sessiongw.conf >"$d/sessiongw.conf"
if [ ! -s "$state/password" ]; then
	head -c 12 /dev/urandom | base64 | tr -d '/+=' | head -c 12 >"$state/password"
	chmod 600 "$state/password"
fi
password=$(cat "$state/password")
if [ ! -s "$state/users" ]; then
	: >"$state/users"
	printf '%s\n' "$password" | "$bin" passwd -c "$d/sessiongw.conf" demo staff 2>/dev/null
	printf '%s\n' "$password" | "$bin" passwd -c "$d/sessiongw.conf" admin admin staff 2>/dev/null
fi
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
$(nginx_preamble "$d/nginx" "$d/nginx-error.log")
    include /etc/nginx/mime.types;
    access_log $d/nginx-access.log;
    include $d/nginx/site.conf;
    server {
        listen 127.0.0.1:$app_port;
        location / {
            default_type text/html;
            return 200 '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>Protected</title>
<style>body{font:16px/1.5 system-ui,sans-serif;max-width:40rem;margin:3rem auto;padding:0 1rem}</style></head>
<body><h1>Protected page</h1><p>Signed in as <strong>\$http_x_remote_user</strong> (roles: \$http_x_remote_roles).</p>
<p>This page is served only to logged-in users; nginx asked sessiongw first.</p>
<p id="visits">Visits in this session: counting...</p>
<p>The count is kept in the session itself (<code>/auth/session/data/visits</code>): it survives a restart of the gateway and is gone after you sign out.</p>
<form method="post" action="/auth/logout"><button type="submit">Sign out</button></form>
<script>
(async function () {
  const url = "/auth/session/data/visits";
  const got = await fetch(url, {credentials: "same-origin"});
  const n = (got.status === 200 ? parseInt(await got.text(), 10) || 0 : 0) + 1;
  await fetch(url, {method: "PUT", credentials: "same-origin", body: String(n)});
  document.getElementById("visits").textContent = "Visits in this session: " + n;
})();
</script></body></html>\n';
        }
    }
}
EOF
nginx -p "$d/nginx" -c "$d/nginx/nginx.conf" -g 'daemon off;' &
pids+=($!)

sleep 1
cat <<EOF

  sessiongw demo is running.

    Store:     $store$([ "$store" = lmdb ] && echo " (embedded, in $state/lmdb)")
    Open:      http://127.0.0.1:$http_port/app/
    User:      demo      Password: $password
    (or user admin, same password, who may also open /admin/)

  Config: $d/sessiongw.conf   (edit, then: kill -HUP \$(pgrep -o -x sessiongw))
  Logs:   $d/sessiongw.log
  Press Ctrl-C to stop.

EOF
wait
