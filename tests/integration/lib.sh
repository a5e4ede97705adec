# lib.sh: what every integration test shares. Source it; it sets up a
# private temporary directory, starts real programs on loopback ports, and
# stops every one of them by pid when the test exits, however it exits.
#
# Environment (set by ctest): SGW_BIN, SGW_FCGI_CLIENT, SGW_SOURCE_DIR, and
# SGW_TEST_STORE (lmdb, redis or postgres: the store the gateway runs on;
# each script says on its "# backends:" line which ones it is run with).

set -uo pipefail

: "${SGW_BIN:?SGW_BIN must name the sessiongw binary}"
: "${SGW_FCGI_CLIENT:?SGW_FCGI_CLIENT must name the fcgi_client tool}"
: "${SGW_SOURCE_DIR:?SGW_SOURCE_DIR must name the source tree}"

. "$SGW_SOURCE_DIR/scripts/nginx-preamble.sh"

T=$(mktemp -d /tmp/sgw-test.XXXXXX)
chmod 755 "$T"
PIDS=()
PASSED=0
FAILED=0
TEST_NAME=$(basename "$0" .sh)

stop_pid() { # PID: SIGTERM, then SIGKILL after 10 s
	local pid=$1 i
	kill -TERM "$pid" 2>/dev/null || return 0
	for i in $(seq 1 100); do
		kill -0 "$pid" 2>/dev/null || { wait "$pid" 2>/dev/null; return 0; }
		sleep 0.1
	done
	kill -KILL "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
	return 0
}

cleanup() {
	local i
	for ((i = ${#PIDS[@]} - 1; i >= 0; i--)); do
		stop_pid "${PIDS[$i]}"
	done
	if [ "$FAILED" -gt 0 ] || [ -n "${SGW_KEEP_TMP:-}" ]; then
		echo "# logs kept in $T"
		for f in "$T"/*.log; do
			[ -f "$f" ] || continue
			echo "# --- $f (last 30 lines)"
			tail -n 30 "$f" | sed 's/^/# /'
		done
	else
		rm -rf "$T"
	fi
}
trap cleanup EXIT

# --- checks -----------------------------------------------------------------

ok() { PASSED=$((PASSED + 1)); echo "ok - $*"; }
not_ok() { FAILED=$((FAILED + 1)); echo "not ok - $*"; }

# expect_eq DESCRIPTION EXPECTED ACTUAL
expect_eq() {
	if [ "$2" = "$3" ]; then ok "$1"; else not_ok "$1 (expected '$2', got '$3')"; fi
}
# expect_match DESCRIPTION REGEX TEXT. The text goes in as a here-string:
# with pipefail, "printf | grep -q" fails now and then when grep exits on
# its match before printf has finished writing (SIGPIPE).
expect_match() {
	if grep -Eq -- "$2" <<<"$3"; then ok "$1"; else
		not_ok "$1 (no match for /$2/ in: $(printf '%s' "$3" | head -c 600))"
	fi
}
expect_no_match() {
	if grep -Eq -- "$2" <<<"$3"; then
		not_ok "$1 (unexpected match for /$2/ in: $(printf '%s' "$3" | head -c 600))"
	else ok "$1"; fi
}

fatal() { not_ok "$*"; echo "$PASSED passed, $FAILED failed"; exit 1; }

finish() {
	echo "$PASSED passed, $FAILED failed"
	[ "$FAILED" -eq 0 ]
	exit $?
}

# --- ports and waiting --------------------------------------------------------

port_busy() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# free_port: a loopback port nothing listens on (and not handed out before
# in this test), below the kernel's ephemeral range so that no outgoing
# connection can be holding it. The ports handed out are kept in a file,
# not a variable: free_port runs in a subshell ($(free_port)), and two
# ports handed out before anything listens on either must still differ.
USED_PORTS_FILE=$T/.used-ports
EPHEMERAL_LOW=$(cut -f1 /proc/sys/net/ipv4/ip_local_port_range 2>/dev/null || echo 32768)
free_port() {
	local p i span=$((EPHEMERAL_LOW - 10000))
	for i in $(seq 1 200); do
		p=$((10000 + (RANDOM * 32768 + RANDOM) % span))
		grep -qx "$p" "$USED_PORTS_FILE" 2>/dev/null && continue
		if ! port_busy "$p"; then
			echo "$p" >>"$USED_PORTS_FILE"
			echo "$p"
			return 0
		fi
	done
	echo "no free port" >&2
	return 1
}

# wait_until SECONDS COMMAND...: polls every 0.1 s.
wait_until() {
	local limit=$1 i
	shift
	for i in $(seq 1 $((limit * 10))); do
		"$@" >/dev/null 2>&1 && return 0
		sleep 0.1
	done
	return 1
}

# --- real programs ------------------------------------------------------------

# start_redis: sets REDIS_PORT and REDIS_PID.
# start_redis [PORT]: without a PORT, a port that turns out to be taken
# after all is replaced by another (three tries).
start_redis() {
	local try
	for try in 1 2 3; do
		REDIS_PORT=${1:-$(free_port)}
		redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --save '' \
			--appendonly no --dir "$T" --logfile "$T/redis-$REDIS_PORT.log" \
			--daemonize no &
		REDIS_PID=$!
		PIDS+=("$REDIS_PID")
		wait_until 10 sh -c "redis-cli -p $REDIS_PORT ping 2>/dev/null | grep -q PONG || ! kill -0 $REDIS_PID" 
		if kill -0 "$REDIS_PID" 2>/dev/null && redis-cli -p "$REDIS_PORT" ping >/dev/null 2>&1; then
			return 0
		fi
		[ $# -ge 1 ] && break
	done
	fatal "redis-server did not start"
}

stop_redis() { stop_pid "$REDIS_PID"; }

# --- the store under test ---------------------------------------------------

SGW_TEST_STORE=${SGW_TEST_STORE:-lmdb}
[ -f "$(dirname "${BASH_SOURCE[0]}")/pg.sh" ] && . "$(dirname "${BASH_SOURCE[0]}")/pg.sh"
echo "# store: $SGW_TEST_STORE"

# start_store: whatever SGW_TEST_STORE needs (a redis-server, a private
# PostgreSQL, or only a directory for LMDB).
start_store() {
	case $SGW_TEST_STORE in
	redis) start_redis ;;
	postgres) start_postgres ;;
	lmdb) mkdir -p "$T/lmdb" && chmod 777 "$T/lmdb" ;;
	*) fatal "unknown SGW_TEST_STORE $SGW_TEST_STORE" ;;
	esac
}

# store_conf_args: render_conf KEY=VALUE arguments for the store.
STORE_TAG=sgw$RANDOM
store_conf_args() {
	case $SGW_TEST_STORE in
	redis) printf '%s\n' "backend=redis" "address=127.0.0.1:$REDIS_PORT" "key_prefix=$STORE_TAG:" ;;
	postgres) printf '%s\n' "backend=postgres" "conninfo=$PG_CONNINFO" "table_prefix=${STORE_TAG}_" ;;
	lmdb) printf '%s\n' "backend=lmdb" "path=$T/lmdb" ;;
	esac
}

# store_can_fail: 0 for the stores a test can take away and bring back.
store_can_fail() { [ "$SGW_TEST_STORE" != lmdb ]; }

# store_reads_ahead: 0 for the stores whose reads cost a round trip, so a
# worker reads the sessions of several checks in one (lib/store.h).
store_reads_ahead() { [ "$SGW_TEST_STORE" != lmdb ]; }

# store_stall / store_resume: the store stops answering, then answers again.
store_stall() {
	case $SGW_TEST_STORE in
	redis) kill -STOP "$REDIS_PID" ;;
	postgres) pg_stall ;;
	esac
}
store_resume() {
	case $SGW_TEST_STORE in
	redis) kill -CONT "$REDIS_PID" ;;
	postgres) pg_resume ;;
	esac
}
# store_stop / store_restart: the store goes away, then comes back on the
# same address with what it held.
store_stop() {
	case $SGW_TEST_STORE in
	redis) STORE_OLD_PORT=$REDIS_PORT; stop_redis ;;
	postgres) stop_postgres ;;
	esac
}
store_restart() {
	case $SGW_TEST_STORE in
	redis) start_redis "$STORE_OLD_PORT" ;;
	postgres) restart_postgres ;;
	esac
}

# store_dump: everything the store holds, as text (to look for secrets).
store_dump() {
	case $SGW_TEST_STORE in
	redis) redis_dump ;;
	postgres) pg_dump_text ;;
	lmdb) for f in "$T"/lmdb/*.mdb; do strings -n 4 "$f"; od -An -tx1 -v "$f" | tr -d ' \n'; echo; done 2>/dev/null ;;
	esac
}

# store_session_pattern: what a stored session key looks like in store_dump.
store_session_pattern() {
	case $SGW_TEST_STORE in
	redis) echo "$STORE_TAG:s:[0-9a-f]{64}" ;;
	*) echo '[0-9a-f]{64}' ;;
	esac
}

rcli() { redis-cli -p "$REDIS_PORT" "$@"; }

# redis_dump: every key with its whole content, as text.
redis_dump() {
	local k
	for k in $(rcli --scan); do
		printf '%s: ' "$k"
		case $(rcli type "$k") in
		hash) rcli hgetall "$k" ;;
		zset) rcli zrange "$k" 0 -1 withscores ;;
		set) rcli smembers "$k" ;;
		list) rcli lrange "$k" 0 -1 ;;
		*) rcli get "$k" ;;
		esac | tr '\n' ' '
		echo
	done
}

# make_secret: a secret file with one key, mode 600.
make_secret() {
	"$SGW_BIN" secret >"$T/secret" && chmod 600 "$T/secret"
}

# render_conf OUT KEY=VALUE...: the sample conf/sessiongw.conf with the
# given keys replaced (each key's first line), so tests run what
# operators copy. A RULES=... argument (lines separated by '|') replaces
# every rule line.
render_conf() {
	local out=$1 kv key val
	shift
	cp "$SGW_SOURCE_DIR/conf/sessiongw.conf" "$out"
	for kv in "$@"; do
		key=${kv%%=*}
		val=${kv#*=}
		if [ "$key" = RULES ]; then
			sed -i '/^rule *=/d' "$out"
			printf '%s\n' "$val" | tr '|' '\n' | sed 's/^/rule = /' >>"$out"
			continue
		fi
		if [ "${key#*.}" != "$key" ]; then
			# SECTION.KEY: the key of that section (several sections
			# have a command_timeout).
			local section=${key%%.*} name=${key#*.}
			awk -v s="[$section]" -v k="$name" -v v="$val" '
				/^\[/ { in_s = ($0 == s) }
				in_s && !done && $0 ~ "^" k " *=" { print k " = " v; done = 1; next }
				{ print }
				END { if (!done) exit 1 }' "$out" >"$out.new" ||
				{ echo "render_conf: no key $key" >&2; rm -f "$out.new"; return 1; }
			mv "$out.new" "$out"
			continue
		fi
		grep -q "^$key *=" "$out" || { echo "render_conf: no key $key" >&2; return 1; }
		val=$(printf '%s' "$val" | sed 's/[&|\\]/\\&/g')
		sed -i "0,/^$key *=.*/s||$key = $val|" "$out"
	done
}

# gateway_conf OUT [KEY=VALUE...]: a test configuration on a free port,
# against this test's store (start_store first), with plain-HTTP cookies;
# sets SGW_PORT.
gateway_conf() {
	local out=$1
	shift
	SGW_PORT=$(free_port)
	[ -f "$T/secret" ] || make_secret
	[ -f "$T/users" ] || : >"$T/users"
	local store_args kv extra=()
	mapfile -t store_args < <(store_conf_args)
	# A bare connect_timeout or command_timeout means the store's own.
	for kv in "$@"; do
		case $kv in
		connect_timeout=* | command_timeout=*)
			[ "$SGW_TEST_STORE" = lmdb ] || extra+=("$SGW_TEST_STORE.$kv") ;;
		*) extra+=("$kv") ;;
		esac
	done
	set -- "${extra[@]}"
	render_conf "$out" "listen=127.0.0.1:$SGW_PORT" \
		"users_file=$T/users" "secret_file=$T/secret" "secure=off" \
		"workers=2" "${store_args[@]}" "$@"
}

# add_user NAME PASSWORD [ROLE...]
add_user() {
	local name=$1 pw=$2
	shift 2
	printf '%s\n' "$pw" | "$SGW_BIN" passwd -c "$T/sgw.conf" -B "$name" "$@" 2>>"$T/passwd.log"
}

# start_gateway CONF: runs sessiongw in the foreground (backgrounded here),
# logging to $T/sgw.log; sets SGW_PID.
start_gateway() {
	local conf=${1:-$T/sgw.conf}
	"$SGW_BIN" -c "$conf" 2>>"$T/sgw.log" &
	SGW_PID=$!
	PIDS+=("$SGW_PID")
	wait_until 10 "$SGW_FCGI_CLIENT" "127.0.0.1:$SGW_PORT" REQUEST_METHOD=GET \
		DOCUMENT_URI=/auth/login REQUEST_URI=/auth/login REMOTE_ADDR=127.0.0.1 ||
		fatal "sessiongw did not start"
}

# worker_pids PID: the workers of the master (not its metrics server
# or sweeper, which have names of their own).
worker_pids() { pgrep -P "$1" -x sessiongw | sort; }

# start_nginx: renders conf/nginx-sessiongw.conf with this test's ports,
# plus an "application" that echoes the identity it was given; sets
# NGINX_PORT, APP_PORT and NGINX_PID.
start_nginx() {
	NGINX_PORT=$(free_port)
	APP_PORT=$(free_port)
	local d="$T/nginx"
	mkdir -p "$d/tmp" && chmod 777 "$d/tmp"
	cp /etc/nginx/fastcgi_params "$d/fastcgi_params"
	local extra=""
	# SGW_MORE_UPSTREAMS="host:port ...": further gateway hosts in the
	# sample's upstream block (several gateway hosts, one Redis).
	for u in ${SGW_MORE_UPSTREAMS:-}; do extra="$extra\\n    server $u;"; done
	sed -e "s/server 127\.0\.0\.1:9000;/server 127.0.0.1:$SGW_PORT;$extra/" \
		-e "s/127\.0\.0\.1:8080/127.0.0.1:$APP_PORT/" \
		-e "s/listen 80;/listen 127.0.0.1:$NGINX_PORT;/" \
		"$SGW_SOURCE_DIR/conf/nginx-sessiongw.conf" >"$d/site.conf"
	cat >"$d/nginx.conf" <<-EOF
	$(nginx_preamble "$d" "$T/nginx-error.log" info 256)
	    include /etc/nginx/mime.types;
	    access_log $T/nginx-access.log;
	    include $d/site.conf;
	    server {
	        listen 127.0.0.1:$APP_PORT;
	        location / {
	            default_type text/plain;
	            return 200 "app: uri=\$request_uri user=\$http_x_remote_user roles=\$http_x_remote_roles\n";
	        }
	    }
	}
	EOF
	nginx -p "$d" -c "$d/nginx.conf" -g 'daemon off;' 2>>"$T/nginx-error.log" &
	NGINX_PID=$!
	PIDS+=("$NGINX_PID")
	wait_until 10 port_busy "$NGINX_PORT" || fatal "nginx did not start"
}

# http METHOD URL [CURL ARGS...]: sets STATUS, HEADERS and BODY. Cookies
# persist in $T/cookies unless the caller passes its own -b/-c.
http() {
	local method=$1 url=$2
	shift 2
	STATUS=$(curl -s -o "$T/body" -D "$T/headers" -w '%{http_code}' \
		--max-time 10 -X "$method" "$@" "$url")
	HEADERS=$(tr -d '\r' <"$T/headers")
	BODY=$(cat "$T/body")
}

# header NAME: the value of a response header from the last http call.
header() { printf '%s\n' "$HEADERS" | grep -i "^$1:" | head -n1 | sed 's/^[^:]*: *//'; }

# fcgi [-r ROLE] NAME=VALUE...: one request straight to the gateway.
fcgi() {
	FCGI_OUT=$("$SGW_FCGI_CLIENT" "$@" | tr -d '\r')
	FCGI_STATUS=$(printf '%s\n' "$FCGI_OUT" | sed -n 's/^Status: \([0-9]*\).*/\1/p' | head -n1)
}

# --- straight to the gateway ----------------------------------------------------

# gw_login USER PASSWORD [REMOTE_ADDR]: a JSON login over FastCGI; sets
# FCGI_STATUS and TOK (the new session's token, "" on failure).
gw_login() {
	FCGI_OUT=$(printf '{"username":"%s","password":"%s"}' "$1" "$2" |
		"$SGW_FCGI_CLIENT" -i "127.0.0.1:$SGW_PORT" REQUEST_METHOD=POST \
			DOCUMENT_URI=/auth/login CONTENT_TYPE=application/json HTTP_HOST=gw.test \
			"REMOTE_ADDR=${3:-127.0.0.1}" | tr -d '\r')
	FCGI_STATUS=$(printf '%s\n' "$FCGI_OUT" | sed -n 's/^Status: \([0-9]*\).*/\1/p' | head -n1)
	TOK=$(printf '%s\n' "$FCGI_OUT" | sed -n 's/^Set-Cookie: sgw_session=\([^;]*\);.*/\1/p')
}

# gw_check TOKEN [PATH]: the authorizer's status for PATH (default /app/x).
gw_check() {
	fcgi -r authorizer "127.0.0.1:$SGW_PORT" REQUEST_METHOD=GET "REQUEST_URI=${2:-/app/x}" \
		REMOTE_ADDR=127.0.0.1 "HTTP_COOKIE=sgw_session=$1"
	echo "$FCGI_STATUS"
}

# store_user_index USER: how many entries the store's index of USER's
# sessions holds (live or not): a Redis sorted set, rows of the
# PostgreSQL sessions table, or LMDB "users" duplicates.
store_user_index() {
	case $SGW_TEST_STORE in
	redis)
		local k
		k=$(rcli --scan --pattern "$STORE_TAG:u:$1")
		if [ -z "$k" ]; then echo 0; else rcli zcard "$k"; fi
		;;
	postgres) pcli -tAc "select count(*) from ${STORE_TAG}_sessions where user_name = '$1'" ;;
	lmdb)
		mdb_dump -p -s users "$T/lmdb" | awk -v u="$1" '
			/^HEADER=END/ { body = 1; next }
			/^DATA=END/ { body = 0 }
			body { if (half) { if (cur == u) n++; half = 0 } else { cur = substr($0, 2); half = 1 } }
			END { print n + 0 }'
		;;
	esac
}

# render_apache OUT GATEWAY_PORT APP_PORT: conf/apache-sessiongw.conf with
# the ports filled in, and the snippet it includes (the package's
# conf-available/sessiongw.conf, conf/snippets/apache2.conf here) rendered
# beside it, so the tests run both files operators get.
render_apache() {
	local out=$1 gw=$2 app=$3
	sed -e "s|127\.0\.0\.1:9000|127.0.0.1:$gw|g" \
		"$SGW_SOURCE_DIR/conf/snippets/apache2.conf" >"$out.snippet"
	sed -e "s|127\.0\.0\.1:9000|127.0.0.1:$gw|g" \
		-e "s|127\.0\.0\.1:8080|127.0.0.1:$app|g" \
		-e "s|^Include /etc/apache2/conf-available/sessiongw.conf$|Include $out.snippet|" \
		"$SGW_SOURCE_DIR/conf/apache-sessiongw.conf" >"$out"
	grep -q "^Include $out.snippet$" "$out" ||
		fatal "conf/apache-sessiongw.conf no longer includes the snippet where the tests expect it"
}

# start_apache USER LOGLEVEL [LINES]: a throwaway Apache httpd in
# $T/apache on a free port (APACHE_PORT, APACHE_PID) with the sample and
# its snippet rendered for this test's gateway (SGW_PORT) and application
# (APP_PORT); it runs as USER when one is given (as root), and LINES (more
# server configuration) go in before the sample.
start_apache() {
	local user=$1 level=$2 more=${3:-} d="$T/apache" mods=/usr/lib/apache2/modules
	APACHE_PORT=$(free_port)
	mkdir -p "$d"
	render_apache "$d/sessiongw.conf" "$SGW_PORT" "$APP_PORT"
	cat >"$d/httpd.conf" <<-EOF
	ServerRoot "$d"
	ServerName 127.0.0.1
	Listen 127.0.0.1:$APACHE_PORT
	PidFile "$d/httpd.pid"
	DefaultRuntimeDir "$d"
	ErrorLog "$T/apache-error.log"
	LogLevel $level
	${user:+User $user}
	${user:+Group $user}
	LoadModule mpm_event_module $mods/mod_mpm_event.so
	LoadModule authn_core_module $mods/mod_authn_core.so
	LoadModule authz_core_module $mods/mod_authz_core.so
	LoadModule authz_user_module $mods/mod_authz_user.so
	LoadModule authnz_fcgi_module $mods/mod_authnz_fcgi.so
	LoadModule proxy_module $mods/mod_proxy.so
	LoadModule proxy_fcgi_module $mods/mod_proxy_fcgi.so
	LoadModule proxy_http_module $mods/mod_proxy_http.so
	LoadModule headers_module $mods/mod_headers.so
	StartServers 1
	ServerLimit 1
	ThreadsPerChild 25
	MaxRequestWorkers 25
	MinSpareThreads 1
	MaxSpareThreads 25
	$more
	Include "$d/sessiongw.conf"
	EOF
	apache2 -t -f "$d/httpd.conf" >"$T/apache-configtest.log" 2>&1 ||
		fatal "apache2 -t: $(cat "$T/apache-configtest.log")"
	apache2 -DFOREGROUND -f "$d/httpd.conf" 2>>"$T/apache-error.log" &
	APACHE_PID=$!
	PIDS+=("$APACHE_PID")
	wait_until 10 port_busy "$APACHE_PORT" || fatal "apache2 did not start"
}
