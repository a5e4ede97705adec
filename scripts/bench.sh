#!/usr/bin/env bash
# bench.sh: what sessiongw's nginx auth_request check costs, as ratios
# against a no-op FastCGI responder (tests/tools/noop_responder) measured
# in the same run (each beside the scenario it is compared with), through
# the same nginx, over the same socket type.
# Absolute figures move 10-20% from run to run on a small machine; the
# ratios are what to compare. Prints figures; asserts nothing about speed
# (it fails only when a scenario does not answer as expected).
#
#   scripts/bench.sh              throughput and latency (wrk), per backend
#   scripts/bench.sh --callgrind  user-space instructions per check of one
#                                 worker (valgrind), per backend
#
# Environment:
#   BENCH_BACKENDS     stores to measure, of lmdb redis postgres (all three)
#   BENCH_SECONDS      seconds per measured scenario (6)
#   BENCH_WARMUP       seconds of warm-up before each scenario (2)
#   BENCH_WORKERS      workers of sessiongw and of the no-op responder (4)
#   BENCH_CONNECTIONS  wrk connections (32); wrk always runs one thread
#   BENCH_UNIX         1: also measure over unix sockets (1)
#   BENCH_ROUNDS       repeat all scenarios this many times, report medians (3)
#   BENCH_SCALING      workers counts for the scaling table ("1 2 4 8"; "" = none)
#   BENCH_SCALING_STORE  the store of the scaling table (redis)
#   BENCH_TWO_HOSTS    1: two gateways on one store behind one upstream (1)
#   BENCH_PEER         1: express-session + connect-redis, from npm (1)
#   BENCH_KEEP_CONN    1: nginx keeps its FastCGI connections to sessiongw
#                      (upstream keepalive 64, fastcgi_keep_conn on); never
#                      to the no-op responder, whose libfcgi workers a kept
#                      connection would pin (0)
#   BENCH_PG_SOCKET    how sessiongw reaches PostgreSQL: tcp (127.0.0.1) or
#                      unix (its socket directory, as on one host) (tcp)
#   BENCH_CG_CHECKS    --callgrind: checks between the two runs (1000)
#
# Everything runs on loopback: private stores (a redis-server, a
# PostgreSQL server as tests/integration/pg.sh makes it, an LMDB directory),
# sessiongw, the no-op responder and one nginx (worker_processes 1). Its
# server blocks are conf/nginx-sessiongw.conf rendered once per
# auth_request target (ports filled in, /app/ served from a directory
# instead of proxied), so they differ in that target only. The protected
# URL is a static file fetched by name, /app/bench.txt: a directory URL
# would run the check twice (index redirect). Every load loop is bounded
# in count and time; every process is stopped by pid on exit.
set -euo pipefail
cd "$(dirname "$0")/.."

mode=wrk
case ${1:-} in
--callgrind) mode=callgrind ;;
"") ;;
*) echo "usage: scripts/bench.sh [--callgrind]" >&2; exit 2 ;;
esac

secs=${BENCH_SECONDS:-6}
warm=${BENCH_WARMUP:-2}
workers=${BENCH_WORKERS:-4}
conns=${BENCH_CONNECTIONS:-32}
with_unix=${BENCH_UNIX:-1}
rounds=${BENCH_ROUNDS:-3}
backends=${BENCH_BACKENDS:-lmdb redis postgres}
scaling=${BENCH_SCALING-1 2 4 8}
scaling_store=${BENCH_SCALING_STORE:-redis}
two_hosts=${BENCH_TWO_HOSTS:-1}
with_peer=${BENCH_PEER:-1}
pg_socket=${BENCH_PG_SOCKET:-tcp}
keep_conn=${BENCH_KEEP_CONN:-0}
cg_checks=${BENCH_CG_CHECKS:-1000}
num() { [[ $2 =~ ^[0-9]+$ ]] && [ "$2" -ge "$3" ] && [ "$2" -le "$4" ] ||
	{ echo "bench.sh: $1 must be $3..$4 (got '$2')" >&2; exit 2; }; }
num BENCH_SECONDS "$secs" 1 600
num BENCH_WARMUP "$warm" 0 60
num BENCH_WORKERS "$workers" 1 64
num BENCH_CONNECTIONS "$conns" 1 1000
num BENCH_UNIX "$with_unix" 0 1
num BENCH_ROUNDS "$rounds" 1 20
num BENCH_TWO_HOSTS "$two_hosts" 0 1
num BENCH_PEER "$with_peer" 0 1
num BENCH_KEEP_CONN "$keep_conn" 0 1
num BENCH_CG_CHECKS "$cg_checks" 10 100000
for w in $scaling; do num BENCH_SCALING "$w" 1 64; done
for b in $backends; do
	case $b in lmdb | redis | postgres) ;; *) echo "bench.sh: unknown backend $b" >&2; exit 2 ;; esac
done
case $pg_socket in tcp | unix) ;; *) echo "bench.sh: BENCH_PG_SOCKET must be tcp or unix" >&2; exit 2 ;; esac

# --- what it needs -----------------------------------------------------------
scripts/setup.sh demo
need_pkg() { # COMMAND PACKAGE
	command -v "$1" >/dev/null 2>&1 && return 0
	if [ "$(id -u)" -ne 0 ]; then
		echo "bench.sh: $1 is not installed; run as root or 'apt-get install $2'" >&2
		exit 1
	fi
	echo "bench.sh: installing $2"
	export DEBIAN_FRONTEND=noninteractive
	timeout 300 apt-get update -qq
	timeout 300 apt-get install -y -qq --no-install-recommends "$2" >/dev/null
	command -v "$1" >/dev/null 2>&1 || { echo "bench.sh: $2 did not install" >&2; exit 1; }
}
if [ "$mode" = callgrind ]; then need_pkg valgrind valgrind; else need_pkg wrk wrk; fi
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j"$(nproc)" --target sessiongw fcgi_client noop_responder >/dev/null
if grep -q '^SGW_SANITIZE:BOOL=ON' build/CMakeCache.txt; then
	echo "bench.sh: build/ is configured with SGW_SANITIZE=ON; the figures would be meaningless" >&2
	exit 1
fi
NOOP_BIN=$PWD/build/tests/noop_responder

export SGW_BIN=$PWD/build/sessiongw SGW_FCGI_CLIENT=$PWD/build/tests/fcgi_client SGW_SOURCE_DIR=$PWD
# Temporary directory, free ports, stores, gateway configuration, and a
# cleanup that stops every pid in PIDS (in reverse) however we exit.
. tests/integration/lib.sh
# lib.sh's cleanup (and pg.sh's, which stops a private PostgreSQL) run
# without errexit: under this script's set -e, the first pid already gone
# would end the cleanup before it has stopped the rest.
PG_TRAPPED=1
trap 'set +e; [ -z "$PG_DATA" ] || pg_exit; cleanup' EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

die() { echo "bench.sh: $*" >&2; FAILED=1; exit 1; }
note() { echo "bench.sh: $*" >&2; }

# Anything else running skews every timed figure: note how busy the CPUs
# were just before we started.
cpu_busy() { # percent of all CPUs busy over one second
	local a b
	a=$(head -n1 /proc/stat)
	sleep 1
	b=$(head -n1 /proc/stat)
	printf '%s\n%s\n' "$a" "$b" | awk '{ idle[NR] = $5 + $6; tot[NR] = 0
		for (i = 2; i <= NF; i++) tot[NR] += $i }
		END { d = tot[2] - tot[1]; printf "%d", (d > 0 ? 100 * (1 - (idle[2] - idle[1]) / d) : 0) }'
}
BUSY_BEFORE=$(cpu_busy)
if [ "$mode" = wrk ] && [ "$BUSY_BEFORE" -gt 10 ]; then
	note "warning: the CPUs were $BUSY_BEFORE% busy before the run; the figures will be skewed"
fi

# --- stores --------------------------------------------------------------------
# Each backend gets its own store; what cannot be had (PostgreSQL needs
# root and the postgres user, a backend may not be built) is skipped with
# a message, and the other rows are still measured.
STORES=""
make_secret
: >"$T/users"
for b in $backends; do
	case $b in
	redis) start_redis ;;
	postgres)
		if ! pg_available; then
			note "skipping postgres: needs root, the postgres user and $PG_BIN"
			continue
		fi
		start_postgres
		if [ "$pg_socket" = unix ]; then
			# The server's socket directory (-k), open to the workers' user.
			chmod 755 "$PG_DIR"
			PG_CONNINFO="host=$PG_DIR port=$PG_PORT user=sgw dbname=sessiongw"
		fi ;;
	lmdb) mkdir -p "$T/lmdb" && chmod 777 "$T/lmdb" ;;
	esac
	SGW_TEST_STORE=$b gateway_conf "$T/sgw-$b.conf" "workers=$workers"
	# What an operator does: prepare the store, then check the whole.
	if ! "$SGW_BIN" store init -c "$T/sgw-$b.conf" >"$T/check-$b.txt" 2>&1 ||
		! "$SGW_BIN" -t -c "$T/sgw-$b.conf" >>"$T/check-$b.txt" 2>&1; then
		note "skipping $b: sessiongw -t says: $(tr '\n' ' ' <"$T/check-$b.txt")"
		continue
	fi
	STORES="$STORES $b"
done
STORES=${STORES# }
[ -n "$STORES" ] || die "no backend to measure"
FIRST_STORE=${STORES%% *}
cp "$T/sgw-$FIRST_STORE.conf" "$T/sgw.conf" # add_user reads users_file from it
add_user bench 'bench password' || die "cannot add the bench user"
have_store() { case " $STORES " in *" $1 "*) return 0 ;; esac; return 1; }

# The store's own processes, for their CPU time (LMDB has none: its work
# is done in the workers).
store_pids() {
	case $1 in
	redis) echo "$REDIS_PID" ;;
	postgres) pg_children | tr '\n' ' ' ;;
	esac
}

# A gateway on CONF's address; GW_PID is its master.
start_gw() { # CONF LOG ADDRESS
	"$SGW_BIN" -c "$1" 2>>"$2" &
	GW_PID=$!
	PIDS+=("$GW_PID")
	wait_until 30 "$SGW_FCGI_CLIENT" "$3" REQUEST_METHOD=GET \
		DOCUMENT_URI=/auth/login REQUEST_URI=/auth/login REMOTE_ADDR=127.0.0.1 ||
		die "sessiongw did not start on $3 (see $2)"
}
# gw_variant CONF OUT LISTEN [KEY=VALUE...]: CONF with another listen
# address (and other [server] keys).
gw_variant() {
	local in=$1 out=$2 listen=$3 kv
	shift 3
	sed -e "s|^listen = .*|listen = $listen|" -e "s|^listen_mode = .*|listen_mode = 0666|" "$in" >"$out"
	for kv in "$@"; do sed -i "s|^${kv%%=*} = .*|${kv%%=*} = ${kv#*=}|" "$out"; done
}
start_noop() { # ADDRESS WORKERS LOG; NOOP_PID is its master, NOOP_ADDR $1
	NOOP_ADDR=$1
	"$NOOP_BIN" "$1" "$2" 2>>"$3" &
	NOOP_PID=$!
	PIDS+=("$NOOP_PID")
	wait_until 30 "$SGW_FCGI_CLIENT" "$1" REQUEST_METHOD=GET ||
		die "noop_responder did not start on $1"
}

# --- nginx ---------------------------------------------------------------------
# One server block per auth_request target, each the sample file with its
# own upstream name, address(es) and port; /app/ (and /admin/) are served
# from $T/www by nginx itself instead of being proxied.
mkdir -p "$T/www/app" "$T/nginx/tmp" && chmod 777 "$T/nginx/tmp"
printf 'a static file behind auth_request, for scripts/bench.sh\n' >"$T/www/app/bench.txt"
cp /etc/nginx/fastcgi_params "$T/nginx/fastcgi_params"
: >"$T/nginx/sites.conf"
render_site() { # NAME HTTP-PORT UPSTREAM-ADDRESS...
	local out="$T/nginx/site-$1.conf" name=$1 port=$2 servers="" a
	shift 2
	for a in "$@"; do servers="$servers${servers:+ }server $a;"; done
	sed -e "s/^upstream sessiongw {/upstream $name {/" \
		-e "s/fastcgi_pass sessiongw;/fastcgi_pass $name;/" \
		-e "s|server 127\.0\.0\.1:9000;|$servers|" \
		-e "s|listen 80;|listen 127.0.0.1:$port;|" \
		-e "s|proxy_pass http://127\.0\.0\.1:8080;|root $T/www;|" \
		conf/nginx-sessiongw.conf >"$out"
	# Kept connections, to sessiongw only (BENCH_KEEP_CONN).
	if [ "$keep_conn" = 1 ] && [[ $name != *noop* ]]; then
		sed -i -e "s/^upstream $name {/&\n    keepalive 64;/" \
			-e "s/fastcgi_pass_request_body off;/&\n        fastcgi_keep_conn on;/" "$out"
		grep -q "keepalive 64;" "$out" && grep -q "fastcgi_keep_conn on;" "$out" ||
			die "cannot render kept connections into $out"
	fi
	grep -qF "$servers" "$out" && grep -q "listen 127.0.0.1:$port;" "$out" &&
		grep -q "root $T/www;" "$out" && grep -q "fastcgi_pass $name;" "$out" &&
		! grep -v '^ *#' "$out" | grep -Eq '127\.0\.0\.1:(8080|9000)|fastcgi_pass sessiongw;' ||
		die "conf/nginx-sessiongw.conf no longer renders as expected (see $out)"
	echo "    include $out;" >>"$T/nginx/sites.conf"
}
# port_of NAME: the HTTP port of a rendered server block.
port_of() { sed -n 's/.*listen 127.0.0.1:\([0-9]*\);.*/\1/p' "$T/nginx/site-$1.conf"; }
# The peer: the same protected location, its auth_request over HTTP.
render_peer_site() { # HTTP-PORT APP-PORT
	cat >"$T/nginx/site-peer.conf" <<-EOF
	server {
	    listen 127.0.0.1:$1;
	    location = /_peer_check {
	        internal;
	        proxy_pass http://127.0.0.1:$2/peer/check;
	        proxy_pass_request_body off;
	        proxy_set_header Content-Length "";
	        proxy_set_header X-Original-URI \$request_uri;
	    }
	    location /peer/ { proxy_pass http://127.0.0.1:$2; }
	    location /app/ {
	        auth_request /_peer_check;
	        auth_request_set \$peer_user \$upstream_http_x_auth_user;
	        root $T/www;
	    }
	}
	EOF
	echo "    include $T/nginx/site-peer.conf;" >>"$T/nginx/sites.conf"
}
start_nginx_sites() { # after every render_site: one nginx for all of them
	HTTP_STATIC=$(free_port)
	cat >"$T/nginx/nginx.conf" <<-EOF
	$(nginx_preamble "$T/nginx" "$T/nginx-error.log" warn 4096)
	    include /etc/nginx/mime.types;
	    access_log off;
	$(cat "$T/nginx/sites.conf")
	    # the ceiling: the same file, no auth_request.
	    server {
	        listen 127.0.0.1:$HTTP_STATIC;
	        location /app/ { root $T/www; }
	    }
	}
	EOF
	nginx -t -p "$T/nginx" -c "$T/nginx/nginx.conf" 2>>"$T/nginx-error.log" ||
		die "nginx rejects $T/nginx/nginx.conf"
	nginx -p "$T/nginx" -c "$T/nginx/nginx.conf" -g 'daemon off;' 2>>"$T/nginx-error.log" &
	NGINX_PID=$!
	PIDS+=("$NGINX_PID")
	wait_until 10 port_busy "$HTTP_STATIC" || die "nginx did not start"
}

URL=/app/bench.txt
expect_status() { # WANT URL [CURL ARGS...]
	local want=$1 url=$2
	shift 2
	http GET "$url" "$@"
	[ "$STATUS" = "$want" ] || die "GET $url: expected $want, got $STATUS"
}
# login HTTP-PORT: a session through nginx; sets COOKIE and FORGED (the
# same token with one character of its MAC changed: well-formed, so the
# gateway computes the MAC before it refuses it).
login() {
	local tok c
	http POST "http://127.0.0.1:$1/auth/login" -d 'username=bench&password=bench+password'
	[ "$STATUS" = 303 ] || die "login through nginx: expected 303, got $STATUS"
	COOKIE=$(header Set-Cookie | sed -n 's/^\(sgw_session=[^;]*\);.*/\1/p')
	[ -n "$COOKIE" ] || die "login through nginx: no session cookie"
	tok=${COOKIE#sgw_session=}
	c=${tok:44:1}
	if [ "$c" = A ]; then c=B; else c=A; fi
	FORGED="sgw_session=${tok:0:44}$c${tok:45}"
}
ver() { dpkg-query -W -f='${Version}' "$1" 2>/dev/null || echo '?'; }
versions() {
	echo "  machine: $(nproc) CPUs, $(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n1), Linux $(uname -r)"
	echo "  versions: $("$SGW_BIN" -v), nginx $(nginx -v 2>&1 | sed 's|.*nginx/||'), redis $(redis-server --version | sed 's/.* v=\([^ ]*\).*/\1/')," \
		"libfcgi $(ver libfcgi0ldbl), hiredis $(ver libhiredis0.14), liblmdb $(ver liblmdb0), postgresql $(ver postgresql-15)"
}

# =================================================================================
# --callgrind: instructions per check
# =================================================================================
#
# One worker (workers = 1) runs under valgrind --tool=callgrind, which
# follows the master's fork into it; nginx sends it N checks, one after the
# other, with curl (bounded by --max-time). What the worker spent starting
# and stopping (store connection, the first request's lazy set-up, exit)
# is cancelled by two runs with different N: (I2 - I1) / (N2 - N1) is the
# cost of one check. The no-op responder is measured the same way beside
# it. Instruction counts do not depend on load, so this mode may run
# while the machine is busy.
if [ "$mode" = callgrind ]; then
	CG_N1=$((cg_checks / 5 > 20 ? cg_checks / 5 : 20))
	CG_N2=$((CG_N1 + cg_checks))
	mkdir -p "$T/cg"
	NOOP_CG=127.0.0.1:$(free_port)
	render_site cg_noop "$(free_port)" "$NOOP_CG"
	HTTP_CG_NOOP=$(port_of cg_noop)
	for b in $STORES; do
		port=$(free_port)
		gw_variant "$T/sgw-$b.conf" "$T/cg-$b.conf" "127.0.0.1:$port" workers=1
		eval "CG_ADDR_$b=127.0.0.1:$port"
		render_site "cg_$b" "$(free_port)" "127.0.0.1:$port"
		eval "HTTP_CG_$b=$(port_of "cg_$b")"
	done
	start_nginx_sites

	# checks N HTTP-PORT WANT [CURL ARGS...]: N sequential GETs of URL
	# through nginx on one kept connection, each answered WANT.
	checks() {
		local n=$1 port=$2 want=$3 i bad
		shift 3
		for ((i = 0; i < n; i++)); do
			printf 'url = "http://127.0.0.1:%s%s"\noutput = "/dev/null"\n' "$port" "$URL"
		done >"$T/cg/urls"
		timeout $((60 + n / 5)) curl -s -w '%{http_code}\n' --max-time 30 "$@" \
			-K "$T/cg/urls" >"$T/cg/codes" || die "curl failed during $n checks on port $port"
		bad=$(grep -vc "^$want\$" "$T/cg/codes" || true)
		[ "$(wc -l <"$T/cg/codes")" -eq "$n" ] && [ "$bad" -eq 0 ] ||
			die "$n checks on port $port: $bad answers other than $want (see $T/cg/codes)"
	}
	# cg_run TAG N PROGRAM...: runs PROGRAM under callgrind, N checks (the
	# function cg_send), stops it; CG_I gets the instructions of its
	# worker (the one child that is not a sweeper: callgrind follows the
	# fork). No command substitution here or below: PIDS and FAILED must
	# stay this shell's.
	cg_run() {
		local tag=$1 n=$2 pid kids c w=""
		shift 2
		rm -f "$T/cg/$tag".*
		valgrind --tool=callgrind --callgrind-out-file="$T/cg/$tag.%p" \
			--dump-instr=no --dump-line=no "$@" 2>>"$T/cg/valgrind-$tag.log" &
		pid=$!
		PIDS+=("$pid")
		wait_until 60 "$SGW_FCGI_CLIENT" "$CG_TARGET" REQUEST_METHOD=GET \
			DOCUMENT_URI=/auth/login REQUEST_URI=/auth/login REMOTE_ADDR=127.0.0.1 ||
			die "$tag did not start under valgrind (see $T/cg/valgrind-$tag.log)"
		for c in $(pgrep -P "$pid"); do
			[ "$(cat "/proc/$c/comm" 2>/dev/null)" = sgw-sweeper ] || w="$w $c"
		done
		[ "$(echo $w | wc -w)" = 1 ] || die "$tag: expected one worker under valgrind, found:$w"
		cg_send "$n"
		stop_pid "$pid"
		[ -f "$T/cg/$tag.${w# }" ] || die "$tag: no callgrind profile for worker${w} (see $T/cg)"
		CG_I=$(awk '/^totals:/ { print $2; exit }' "$T/cg/$tag.${w# }")
		[ -n "$CG_I" ] || die "$tag: no totals in $T/cg/$tag.${w# }"
	}
	# cg_measure LABEL PROGRAM...: a row of the table, instructions per
	# check from two runs.
	cg_measure() {
		local label=$1 i1
		shift
		CG_ROW=$((${CG_ROW:-0} + 1))
		note "callgrind: $label ($CG_N1 and $CG_N2 checks)"
		cg_run "row$CG_ROW-n1" "$CG_N1" "$@"
		i1=$CG_I
		cg_run "row$CG_ROW-n2" "$CG_N2" "$@"
		CG_PER=$(((CG_I - i1) / (CG_N2 - CG_N1)))
		printf '%s\t%s\n' "$label" "$CG_PER" >>"$T/cg/table"
	}

	: >"$T/cg/table"
	CG_TARGET=$NOOP_CG
	cg_send() { checks "$1" "$HTTP_CG_NOOP" 200; }
	cg_measure "no-op responder (the floor)" "$NOOP_BIN" "$NOOP_CG" 1
	FLOOR=$CG_PER
	for b in $STORES; do
		eval "CG_TARGET=\$CG_ADDR_$b; http_port=\$HTTP_CG_$b"
		# The session is made by a gateway outside valgrind, so that
		# neither run pays for the login.
		start_gw "$T/cg-$b.conf" "$T/sgw-cg-$b.log" "$CG_TARGET"
		login "$http_port"
		stop_pid "$GW_PID"
		cg_send() { checks "$1" "$http_port" 200 -H "Cookie: $COOKIE"; }
		cg_measure "$b: valid session" "$SGW_BIN" -c "$T/cg-$b.conf"
		if [ "$b" = "$FIRST_STORE" ]; then
			cg_send() { checks "$1" "$http_port" 401 -H "Cookie: $FORGED"; }
			cg_measure "$b: forged cookie (a wrong MAC)" "$SGW_BIN" -c "$T/cg-$b.conf"
			cg_send() { checks "$1" "$http_port" 401; }
			cg_measure "$b: no cookie" "$SGW_BIN" -c "$T/cg-$b.conf"
		fi
	done

	echo
	echo "sessiongw benchmark, callgrind, $(date -u '+%Y-%m-%d %H:%M UTC')"
	echo "  one worker under valgrind --tool=callgrind; instructions per check = (I($CG_N2) - I($CG_N1)) / $cg_checks"
	echo "  user space only (valgrind counts no kernel work); valgrind $(valgrind --version | sed 's/valgrind-//')"
	echo "  profiles: $T/cg/rowN-nK.PID (kept with SGW_KEEP_TMP=1; callgrind_annotate --inclusive=yes FILE)"
	versions
	echo
	awk -F'\t' -v floor="$FLOOR" '
		BEGIN { printf "%-40s %14s %8s\n", "check", "instr/check", "/ floor" }
		{ printf "%-40s %14s %8.2f\n", $1, $2, $2 / floor }' "$T/cg/table"
	exit 0
fi

# =================================================================================
# throughput and latency (wrk)
# =================================================================================


# Every program measured, and a server block for each; then one nginx.
# Scenario keys name the block; a scenario's "floor" is the key of the
# no-op row it is compared with.
start_noop "127.0.0.1:$(free_port)" "$workers" "$T/noop.log"
render_site noop_tcp "$(free_port)" "$NOOP_ADDR"
eval "MASTER_noop_tcp=$NOOP_PID"
if [ "$with_unix" = 1 ]; then
	start_noop "unix:$T/noop.sock" "$workers" "$T/noop-unix.log"
	render_site noop_unix "$(free_port)" "$NOOP_ADDR"
	eval "MASTER_noop_unix=$NOOP_PID"
fi
# gw KEY CONF ADDRESS [KEY=VALUE...]: a gateway of CONF's store on ADDRESS.
gw() {
	local key=$1 conf=$2 addr=$3
	shift 3
	gw_variant "$conf" "$T/$key.conf" "$addr" "$@"
	start_gw "$T/$key.conf" "$T/sgw-$key.log" "$addr"
	GW_ADDR=$addr
	eval "MASTER_$key=$GW_PID"
}
for b in $STORES; do
	gw "gw_${b}_tcp" "$T/sgw-$b.conf" "127.0.0.1:$(free_port)"
	render_site "gw_${b}_tcp" "$(free_port)" "$GW_ADDR"
	if [ "$with_unix" = 1 ]; then
		gw "gw_${b}_unix" "$T/sgw-$b.conf" "unix:$T/gw-$b.sock"
		render_site "gw_${b}_unix" "$(free_port)" "$GW_ADDR"
	fi
done
if [ -n "$scaling" ] && ! have_store "$scaling_store"; then
	note "skipping the workers table: $scaling_store is not measured"
	scaling=""
fi
for w in $scaling; do
	start_noop "127.0.0.1:$(free_port)" "$w" "$T/noop-sc$w.log"
	render_site "sc_noop_$w" "$(free_port)" "$NOOP_ADDR"
	eval "MASTER_sc_noop_$w=$NOOP_PID"
	gw "sc_gw_$w" "$T/sgw-$scaling_store.conf" "127.0.0.1:$(free_port)" "workers=$w"
	render_site "sc_gw_$w" "$(free_port)" "$GW_ADDR"
done
# Two gateway hosts: two sessiongw instances on one store behind one
# upstream (nginx balances round-robin), beside two no-op instances.
TWO=""
if [ "$two_hosts" = 1 ]; then
	for b in redis postgres; do have_store "$b" && TWO="$TWO $b"; done
	[ -n "$TWO" ] || note "skipping two gateway hosts: neither redis nor postgres is measured"
fi
if [ -n "$TWO" ]; then
	start_noop "127.0.0.1:$(free_port)" "$workers" "$T/noop-2a.log"
	a1=$NOOP_ADDR MASTERS_two_noop=$NOOP_PID
	start_noop "127.0.0.1:$(free_port)" "$workers" "$T/noop-2b.log"
	render_site two_noop "$(free_port)" "$a1" "$NOOP_ADDR"
	MASTERS_two_noop="$MASTERS_two_noop $NOOP_PID"
	for b in $TWO; do
		gw "two_${b}_a" "$T/sgw-$b.conf" "127.0.0.1:$(free_port)"
		a1=$GW_ADDR
		gw "two_${b}_b" "$T/sgw-$b.conf" "127.0.0.1:$(free_port)"
		render_site "two_$b" "$(free_port)" "$a1" "$GW_ADDR"
		eval "MASTERS_two_$b=\"\$MASTER_two_${b}_a \$MASTER_two_${b}_b\""
	done
fi
# The peer, from npm into the temporary directory (versions pinned), on
# the redis backend's redis-server under its own key prefix.
PEER=""
if [ "$with_peer" = 1 ]; then
	if ! have_store redis; then
		note "skipping the peer: it needs the redis backend's redis-server"
	elif ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
		note "skipping the peer: node and npm are not installed"
	else
		mkdir -p "$T/peer"
		cp tests/tools/peer_express.js "$T/peer/"
		echo '{"name": "sgw-bench-peer", "private": true}' >"$T/peer/package.json"
		if (cd "$T/peer" && timeout 300 npm install --no-audit --no-fund --silent \
			express@4.21.2 express-session@1.18.1 connect-redis@7.1.1 redis@4.7.0 \
			>"$T/peer-npm.log" 2>&1); then
			PEER_APP=$(free_port)
			NODE_ENV=production node "$T/peer/peer_express.js" "$PEER_APP" "$REDIS_PORT" "$workers" \
				2>>"$T/peer.log" &
			MASTER_peer=$!
			PIDS+=("$MASTER_peer")
			wait_until 30 port_busy "$PEER_APP" || die "the peer did not start (see $T/peer.log)"
			PEER=$(free_port)
			render_peer_site "$PEER" "$PEER_APP"
		else
			note "skipping the peer: npm install failed (see $T/peer-npm.log)"
		fi
	fi
fi
start_nginx_sites
eval "PORT_static=$HTTP_STATIC"
for f in "$T"/nginx/site-*.conf; do
	k=${f##*/site-}
	k=${k%.conf}
	[ "$k" = peer ] && continue
	eval "PORT_$k=$(port_of "$k")"
done
[ -n "$PEER" ] && PORT_peer=$PEER

# --- sessions, and every block answering as it should -----------------------------
# Every gateway of one store accepts the same session (same secret, same
# store), so one login per store serves all its blocks.
for b in $STORES; do
	eval "login \$PORT_gw_${b}_tcp"
	eval "COOKIE_$b=\$COOKIE FORGED_$b=\$FORGED"
done
if [ -n "$PEER" ]; then
	http POST "http://127.0.0.1:$PEER/peer/login"
	[ "$STATUS" = 204 ] || die "peer login: expected 204, got $STATUS"
	COOKIE_peer=$(header Set-Cookie | sed -n 's/^\(peer_session=[^;]*\);.*/\1/p')
	[ -n "$COOKIE_peer" ] || die "peer login: no session cookie"
	expect_status 200 "http://127.0.0.1:$PEER$URL" -H "Cookie: $COOKIE_peer"
	expect_status 401 "http://127.0.0.1:$PEER$URL" -H "Cookie: peer_session=s%3Aforged.forged"
fi
expect_status 200 "http://127.0.0.1:$HTTP_STATIC$URL"
for k in noop_tcp noop_unix two_noop $(for w in $scaling; do echo "sc_noop_$w"; done); do
	eval "p=\${PORT_$k:-}"
	[ -n "$p" ] && expect_status 200 "http://127.0.0.1:$p$URL"
done
store_of() { # KEY: the store a gateway block runs on
	case $1 in
	gw_*) local r=${1#gw_}; echo "${r%_*}" ;;
	sc_gw_*) echo "$scaling_store" ;;
	two_*) echo "${1#two_}" ;;
	esac
}
for f in "$T"/nginx/site-{gw,sc_gw,two}_*.conf; do
	[ -f "$f" ] || continue
	k=${f##*/site-}
	k=${k%.conf}
	[ "$k" = two_noop ] && continue
	s=$(store_of "$k")
	eval "p=\$PORT_$k c=\$COOKIE_$s x=\$FORGED_$s"
	expect_status 200 "http://127.0.0.1:$p$URL" -H "Cookie: $c"
	expect_status 401 "http://127.0.0.1:$p$URL" -H "Cookie: $x"
	expect_status 401 "http://127.0.0.1:$p$URL"
done

# --- measuring ----------------------------------------------------------------------
HZ=$(getconf CLK_TCK)
cpu_ticks() { # PID...: user + system clock ticks of these processes
	local p t=0 f
	for p in "$@"; do
		f=$(cut -d' ' -f14,15 "/proc/$p/stat" 2>/dev/null) || continue
		t=$((t + ${f% *} + ${f#* }))
	done
	echo "$t"
}
children() { local m; for m in "$@"; do pgrep -P "$m"; done | tr '\n' ' '; }
# CPU ticks of the programs this shell has waited for (wrk, through
# timeout), and the machine's total, idle and stolen ticks.
reaped_ticks() { local f; f=$(cut -d' ' -f16,17 "/proc/$$/stat"); echo $((${f% *} + ${f#* })); }
machine_ticks() { head -n1 /proc/stat | awk '{ t = 0; for (i = 2; i <= NF; i++) t += $i; print t, $5 + $6, $9 }'; }
NGINX_WORKERS=$(children "$NGINX_PID")

to_ms() { # 1.23ms | 850.00us | 1.02s -> milliseconds
	awk -v v="$1" 'BEGIN {
		n = v + 0; u = v; sub(/^[0-9.]+/, "", u)
		if (u == "us") n /= 1000; else if (u == "s") n *= 1000;
		else if (u == "m") n *= 60000; else if (u != "ms") n = -1
		printf "%.3f", n }'
}

# What each store did per check, counted around the measured run of the
# TCP session scenario of that store. A PostgreSQL backend sends its
# statistics up to 10 s after it goes idle, so the counts are read 11 s
# after the load, in the first round only.
store_before() { # KEY
	case $1 in
	gw_redis_tcp) rcli CONFIG RESETSTAT >/dev/null ;;
	gw_postgres_tcp) [ "$round" = 1 ] && sleep 11 && pg_counts >"$T/pg-before" ;;
	esac
	return 0
}
store_after() { # KEY CHECKS
	[ "$1" = gw_postgres_tcp ] && [ "$round" != 1 ] && return 0
	case $1 in
	gw_redis_tcp)
		rcli INFO commandstats | tr -d '\r' |
			awk -F'[:,=]' -v n="$2" -v r="$round" '/^cmdstat_/ && $1 != "cmdstat_info" && $1 !~ /^cmdstat_config/ {
				sub(/^cmdstat_/, "", $1); printf "%s\t%s\t%s\t%s\t%s\n", r, $1, $3 / n, $5 / n, $7 }' \
			>>"$T/redis-stats" ;;
	gw_postgres_tcp)
		sleep 11
		pg_counts >"$T/pg-after"
		paste "$T/pg-before" "$T/pg-after" | awk -v n="$2" -v r="$round" '{
			printf "%s\t%.2f\t%.2f\t%.2f\n", r, ($5 - $1) / n, ($6 - $2) / n, ($7 - $3 + $8 - $4) / n }' \
			>>"$T/pg-stats" ;;
	esac
}
# Transactions, statements' index scans and rows fetched of database
# sessiongw, as the statistics collector has them.
pg_counts() {
	pcli -tA -F ' ' -c "select xact_commit + xact_rollback,
		(select coalesce(sum(idx_scan), 0) from pg_stat_user_tables),
		tup_fetched, 0 from pg_stat_database where datname = 'sessiongw'"
}

# scenario KEY LABEL FLOOR HTTP-PORT BACKEND-PIDS STORE WANT [WRK ARGS...]: one
# wrk run (after a warm-up); WANT is 2xx or non2xx, the answers every
# request must get. Appends one tab-separated line to $T/raw: key, label,
# floor key, req/s, p50 and p99 (ms), CPU µs per request of nginx, the
# backend, the store and wrk, and the other, steal and idle shares (%).
scenario() {
	local key=$1 label=$2 floor=$3 port=$4 backend=$5 store=$6 want=$7 out="$T/wrk-$1-$round.txt"
	shift 7
	local url="http://127.0.0.1:$port$URL" n0 b0 r0 w0 m0 n1 b1 r1 w1 m1 spids
	echo "  round $round/$rounds, $key: $label" >&2
	if [ "$warm" -gt 0 ]; then
		timeout $((warm + 30)) wrk -t1 -c"$conns" -d"${warm}s" "$@" "$url" >/dev/null ||
			die "wrk warm-up of $key failed"
	fi
	spids=$(store_pids "$store")
	store_before "$key"
	n0=$(cpu_ticks $NGINX_WORKERS) b0=$(cpu_ticks $backend) r0=$(cpu_ticks $spids)
	w0=$(reaped_ticks) m0=$(machine_ticks)
	timeout $((secs + 30)) wrk -t1 -c"$conns" -d"${secs}s" --latency "$@" "$url" >"$out" ||
		die "wrk run of $key failed: $(cat "$out")"
	n1=$(cpu_ticks $NGINX_WORKERS) b1=$(cpu_ticks $backend) r1=$(cpu_ticks $spids)
	w1=$(reaped_ticks) m1=$(machine_ticks)

	local rps p50 p99 total non2xx sockerr bad
	BAD_RUNS=${BAD_RUNS:-0}
	rps=$(awk '/^Requests\/sec:/ {print $2}' "$out")
	p50=$(to_ms "$(awk '$1 == "50%" {print $2}' "$out")")
	p99=$(to_ms "$(awk '$1 == "99%" {print $2}' "$out")")
	total=$(awk '/requests in/ {print $1}' "$out")
	non2xx=$(awk '/Non-2xx or 3xx responses:/ {print $NF}' "$out")
	non2xx=${non2xx:-0}
	sockerr=$(awk '/Socket errors:/ {gsub(/,/, ""); print $4 + $6 + $8 + $10}' "$out")
	sockerr=${sockerr:-0}
	[ -n "$rps" ] && [ -n "$total" ] && [ "$total" -gt 0 ] || die "cannot read wrk's output for $key: $(cat "$out")"
	if [ "$want" = 2xx ]; then bad=$non2xx; else bad=$((total - non2xx)); fi
	# A few wrong answers (a store that missed its command_timeout under
	# the load answers 503, as it must) are reported, not hidden, and fail
	# the run at its end; the other figures are still printed.
	if [ "$bad" -ne 0 ] || [ "$sockerr" -ne 0 ]; then
		note "$key: $bad unexpected answers and $sockerr socket errors out of $total (see $out)"
		BAD_RUNS=$((BAD_RUNS + 1))
	fi
	store_after "$key" "$total"
	# "other": the machine's CPU time that none of our programs used
	# (other programs, interrupts); "steal": the time the host gave
	# to its other guests while ours were ready to run (/proc/stat's
	# eighth figure). Above a few % either, the run was disturbed.
	awk -v k="$key" -v l="$label" -v fl="$floor" -v r="$rps" -v a="$p50" -v b="$p99" -v t="$total" \
		-v n=$((n1 - n0)) -v be=$((b1 - b0)) -v rd=$((r1 - r0)) -v w=$((w1 - w0)) \
		-v bad=$((bad + sockerr)) -v m0="$m0" -v m1="$m1" -v hz="$HZ" -v bk="$backend" -v st="$spids" '
		function pct(ticks) { return tot > 0 ? 100 * ticks / tot : 0 }
		BEGIN {
		f = 1e6 / hz / t
		split(m0, x, " "); split(m1, y, " ")
		tot = y[1] - x[1]; busy = tot - (y[2] - x[2]); stolen = y[3] - x[3]
		other = pct(busy - stolen - n - be - rd - w)
		if (other < 0) other = 0
		steal = pct(stolen); idle = pct(tot - busy)
		printf "%s\t%s\t%s\t%.0f\t%.3f\t%.3f\t%.1f\t%s\t%s\t%.1f\t%.0f\t%.0f\t%.0f\t%d\n", k, l, fl, r, a, b,
			n * f, (bk == "" ? "-" : sprintf("%.1f", be * f)), (st ~ /[0-9]/ ? sprintf("%.1f", rd * f) : "-"),
			w * f, other, steal, idle, bad }' >>"$T/raw"
}
# run BLOCK KEY LABEL FLOOR STORE WANT [WRK ARGS...]: scenario KEY on
# BLOCK's server block, with the CPU of BLOCK's programs (MASTER_BLOCK,
# or the MASTERS_BLOCK list, and their children).
run() {
	local block=$1 key=$2 label=$3 floor=$4 store=$5 want=$6 port masters
	shift 6
	eval "port=\$PORT_$block masters=\${MASTERS_$block:-\${MASTER_$block:-}}"
	scenario "$key" "$label" "$floor" "$port" "$(children $masters)" "$store" "$want" "$@"
}

# beside FLOOR-LABEL BLOCK KEY LABEL FLOOR STORE WANT [WRK ARGS...]: run's
# scenario with its floor measured right beside it, before it in odd
# rounds and after it in even ones. The machine's speed drifts over
# minutes (other guests of its host); so the two share the drift, and
# an order that favours one side favours each in turn. Every ratio is
# taken against the nearest measurement of its floor (the report).
beside() {
	local flabel=$1 floor=$5
	shift
	[ $((round % 2)) = 0 ] || run "$floor" "$floor" "$flabel" - "" 2xx
	run "$@"
	[ $((round % 2)) = 1 ] || run "$floor" "$floor" "$flabel" - "" 2xx
}

echo "bench.sh: measuring, $rounds round(s) of $secs s per scenario after ${warm} s of warm-up" >&2
: >"$T/raw"
for round in $(seq 1 "$rounds"); do
	scenario static "nginx static file, no auth" - "$HTTP_STATIC" "" "" 2xx
	for b in $STORES; do
		eval "c=\$COOKIE_$b x=\$FORGED_$b"
		beside "no-op responder, TCP" "gw_${b}_tcp" "gw_${b}_tcp" "sessiongw $b, TCP, session" \
			noop_tcp "$b" 2xx -H "Cookie: $c"
		[ "$with_unix" = 1 ] && beside "no-op responder, unix" "gw_${b}_unix" "gw_${b}_unix" \
			"sessiongw $b, unix, session" noop_unix "$b" 2xx -H "Cookie: $c"
		run "gw_${b}_tcp" "forged_$b" "sessiongw $b, TCP, forged cookie" noop_tcp "$b" non2xx \
			-H "Cookie: $x"
		[ "$b" = "$FIRST_STORE" ] &&
			run "gw_${b}_tcp" nocookie "sessiongw $b, TCP, no cookie" noop_tcp "$b" non2xx
	done
	for w in $scaling; do
		eval "c=\$COOKIE_$scaling_store"
		beside "no-op responder, $w workers" "sc_gw_$w" "sc_gw_$w" \
			"sessiongw $scaling_store, $w workers, session" "sc_noop_$w" \
			"$scaling_store" 2xx -H "Cookie: $c"
	done
	for b in $TWO; do
		eval "c=\$COOKIE_$b"
		beside "two no-op responders, one upstream" "two_$b" "two_$b" \
			"two sessiongw hosts, one $b, session" two_noop "$b" 2xx -H "Cookie: $c"
	done
	if [ -n "$PEER" ]; then
		beside "no-op responder, TCP" peer peer "express-session + connect-redis, session" \
			noop_tcp redis 2xx -H "Cookie: $COOKIE_peer"
	fi
done

# Worker private memory after the load: Private_Dirty of each worker
# (what is its own and written, not shared with the master or the files).
private_kb() { # MASTER NAME: the mean Private_Dirty of its children called NAME, kB
	local p sum=0 n=0 v
	for p in $(pgrep -P "$1" -x "$2"); do
		v=$(awk '/^Private_Dirty:/ {print $2}' "/proc/$p/smaps_rollup" 2>/dev/null) || continue
		[ -n "$v" ] || continue
		sum=$((sum + v)) n=$((n + 1))
	done
	[ "$n" -gt 0 ] && echo $((sum / n)) || echo "?"
}
: >"$T/memory"
printf '%s\t%s\n' "no-op responder" "$(private_kb "$MASTER_noop_tcp" noop_responder)" >>"$T/memory"
for b in $STORES; do
	eval "m=\$MASTER_gw_${b}_tcp"
	printf '%s\t%s\n' "sessiongw $b" "$(private_kb "$m" sessiongw)" >>"$T/memory"
done
[ -n "$PEER" ] && printf '%s\t%s\n' "express-session peer (node)" "$(private_kb "$MASTER_peer" node)" >>"$T/memory"

# The sessions must still be good, and nothing may have gone wrong on the way.
for b in $STORES; do
	eval "p=\$PORT_gw_${b}_tcp c=\$COOKIE_$b"
	expect_status 200 "http://127.0.0.1:$p$URL" -H "Cookie: $c"
done
gw_errors=$(cat "$T"/sgw*.log | grep -ci 'error' || true)
ngx_errors=$(grep -c '\[\(error\|crit\|alert\|emerg\)\]' "$T/nginx-error.log" || true)

# --- the report -------------------------------------------------------------------
echo
echo "sessiongw benchmark, $(date -u '+%Y-%m-%d %H:%M UTC')"
echo "  wrk -t1 -c$conns -d${secs}s --latency (after a ${warm} s warm-up), $rounds round(s), $workers workers for sessiongw and the no-op responder"
echo "  CPUs busy before the run (other load): $BUSY_BEFORE%"
[ "$keep_conn" = 1 ] && echo "  nginx keeps its FastCGI connections to sessiongw (keepalive 64, fastcgi_keep_conn on), not to the no-op responder"
have_store postgres && echo "  sessiongw reaches PostgreSQL over $([ "$pg_socket" = unix ] && echo "its unix socket" || echo "TCP, 127.0.0.1")"
versions
echo "  wrk $(wrk -v 2>&1 | head -n1 | awk '{print $2}')${PEER:+, node $(node -v), express 4.21.2, express-session 1.18.1, connect-redis 7.1.1, redis (node) 4.7.0}"
echo
# Medians over the rounds (with the req/s range when there are several);
# each measurement's ratio is to the nearest measurement of its floor
# (beside), then the median (and range) of those.
awk -F'\t' -v rounds="$rounds" '
function med(list,   a, m, i, j, x) {
	m = split(list, a, " ")
	if (a[1] == "-") return "-"
	for (i = 2; i <= m; i++) { x = a[i] + 0; for (j = i - 1; j > 0 && a[j] + 0 > x; j--) a[j + 1] = a[j]; a[j + 1] = x }
	return (m % 2 ? a[(m + 1) / 2] : (a[m / 2] + a[m / 2 + 1]) / 2)
}
function lo(list,   a, m, i, x) { m = split(list, a, " "); x = a[1] + 0; for (i = 2; i <= m; i++) if (a[i] + 0 < x) x = a[i] + 0; return x }
function hi(list,   a, m, i, x) { m = split(list, a, " "); x = a[1] + 0; for (i = 2; i <= m; i++) if (a[i] + 0 > x) x = a[i] + 0; return x }
function fmt1(x) { return x == "-" ? "-" : sprintf("%.1f", x) }
function cell(list) {
	return rounds > 1 ? sprintf("%5.2f (%.2f-%.2f)", med(list), lo(list), hi(list)) : sprintf("%5.2f", med(list))
}
# The ratios of each measurement of g to the nearest one of its floor n
# (the earlier on a tie): req/s, p50, p99.
function gap(a, b) { return a > b ? a - b : b - a }
function ratios(g, n,   i, j, x, y, best, rr, r5, r9) {
	rr = r5 = r9 = ""
	for (i = 1; i <= cnt[g]; i++) {
		x = at[g, i]; best = 0
		for (j = 1; j <= cnt[n]; j++)
			if (!best || gap(at[n, j], x) < gap(at[n, best], x)) best = j
		y = at[n, best]
		rr = rr " " v[x, 4] / v[y, 4]; r5 = r5 " " v[x, 5] / v[y, 5]; r9 = r9 " " v[x, 6] / v[y, 6]
	}
	R[g, "rps"] = cell(rr); R[g, "p50"] = cell(r5); R[g, "p99"] = cell(r9)
}
{
	k = $1
	if (!(k in label)) { order[++nk] = k; label[k] = $2; floor[k] = $3 }
	at[k, ++cnt[k]] = NR
	for (j = 4; j <= 13; j++) { col[k, j] = col[k, j] " " $j; v[NR, j] = $j }
	wrong[k] += $14
}
END {
	printf "%-17s %-44s %8s%s %7s %7s %6s %7s %6s %6s %5s %5s %5s %6s\n", "", "scenario", "req/s",
		(rounds > 1 ? sprintf(" %13s", "req/s range") : ""), "p50 ms", "p99 ms", "nginx", "backend", "store", "wrk",
		"other", "steal", "idle", "wrong"
	for (i = 1; i <= nk; i++) {
		k = order[i]
		printf "%-17s %-44s %8.0f%s %7.2f %7.2f %6.1f %7s %6s %6.1f %4.0f%% %4.0f%% %4.0f%% %6d\n", k, label[k],
			med(col[k, 4]), (rounds > 1 ? sprintf(" %13s", sprintf("%.0f-%.0f", lo(col[k, 4]), hi(col[k, 4]))) : ""),
			med(col[k, 5]), med(col[k, 6]), med(col[k, 7]), fmt1(med(col[k, 8])), fmt1(med(col[k, 9])),
			med(col[k, 10]), med(col[k, 11]), med(col[k, 12]), med(col[k, 13]), wrong[k]
	}
	print "    nginx, backend (the FastCGI or node workers), store (redis-server, PostgreSQL backends), wrk:"
	print "    CPU time per request, µs; other: share of all CPU time used by none of them (other load,"
	print "    interrupts); steal: share the host gave its other guests (above a few %, either one means"
	print "    the run was disturbed); idle: share unused;"
	print "    wrong: answers other than expected and socket errors, over all rounds"
	if (rounds > 1) print "    figures are medians over " rounds " rounds"
	print ""
	printf "%-17s %-44s %-18s %-18s %s\n", "", "against the no-op floor, same socket type", "req/s", "  p50", "  p99"
	for (i = 1; i <= nk; i++) {
		k = order[i]
		if (floor[k] == "-" || !(floor[k] in label) || k ~ /^sc_/) continue
		ratios(k, floor[k])
		printf "%-17s %-44s %-18s %-18s %s\n", k, label[k] " / " floor[k], R[k, "rps"], R[k, "p50"], R[k, "p99"]
	}
	if ("noop_tcp" in label && "static" in label) {
		ratios("noop_tcp", "static")
		printf "%-17s %-44s %-18s %-18s %s\n", "noop_tcp", "no-op auth_request / static file", R["noop_tcp", "rps"],
			R["noop_tcp", "p50"], R["noop_tcp", "p99"]
	}
	hdr = 0
	for (i = 1; i <= nk; i++) {
		k = order[i]
		if (k !~ /^sc_gw_/) continue
		if (!hdr++) {
			print ""
			printf "%-8s %12s %12s %-18s %s\n", "workers", "no-op req/s", "gw req/s", "req/s ratio", "  p99 ratio"
		}
		w = k; sub(/^sc_gw_/, "", w)
		ratios(k, floor[k])
		printf "%-8s %12.0f %12.0f %-18s %s\n", w, med(col[floor[k], 4]), med(col[k, 4]), R[k, "rps"], R[k, "p99"]
	}
}' "$T/raw"
if [ -s "$T/redis-stats" ]; then
	echo
	echo "redis, per check (scenario gw_redis_tcp; INFO commandstats after CONFIG RESETSTAT):"
	awk -F'\t' '{ calls[$2] += $3; usec[$2] += $4; upc[$2] = upc[$2] " " $5; n[$2]++; r[$1] = 1 }
		END { for (c in calls) { t += usec[c] / n[c]
			printf "  %-10s %5.2f calls, %6.2f µs (usec_per_call%s)\n", c, calls[c] / n[c], usec[c] / n[c], upc[c] }
			printf "  total      %6.2f µs of Redis CPU per check\n", t }' "$T/redis-stats"
fi
if [ -s "$T/pg-stats" ]; then
	echo
	echo "postgres, per check (scenario gw_postgres_tcp; pg_stat_database, pg_stat_user_tables):"
	awk -F'\t' '{ x += $2; s += $3; f += $4; n++ }
		END { printf "  %.2f transactions, %.2f index scans, %.2f rows fetched\n", x / n, s / n, f / n }' "$T/pg-stats"
fi
echo
echo "worker private memory after the load (Private_Dirty of /proc/PID/smaps_rollup, mean per worker):"
awk -F'\t' '{ printf "  %-40s %8s kB\n", $1, $2 }' "$T/memory"
echo
echo "  error lines: sessiongw logs $gw_errors, nginx error log $ngx_errors"
if [ "${BAD_RUNS:-0}" -gt 0 ]; then
	note "$BAD_RUNS scenario run(s) had wrong answers (the wrong column; the logs are kept)"
	FAILED=1
	exit 1
fi
exit 0
