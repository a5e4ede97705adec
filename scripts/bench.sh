#!/usr/bin/env bash
# bench.sh: throughput and latency of sessiongw's nginx auth_request check,
# as ratios against a no-op FastCGI responder (tests/tools/noop_responder)
# measured in the same run, through the same nginx, over the same socket
# type. Absolute figures move 10-20% from run to run on a small machine;
# the ratios are what to compare. Prints figures; asserts nothing about
# speed (it fails only when a scenario does not answer as expected).
#
#   scripts/bench.sh                         (as root on Debian installs wrk)
#
# Environment:
#   BENCH_SECONDS      seconds per measured scenario (10)
#   BENCH_WARMUP       seconds of warm-up before each scenario (2)
#   BENCH_WORKERS      workers of sessiongw and of the no-op responder (4)
#   BENCH_CONNECTIONS  wrk connections (32); wrk always runs one thread
#   BENCH_UNIX         1: also measure both over unix sockets (1)
#   BENCH_ROUNDS       repeat all scenarios this many times, report medians (1)
#
# Everything runs on loopback: a private redis-server, sessiongw, the no-op
# responder and one nginx (worker_processes 1). The nginx server blocks
# are conf/nginx-sessiongw.conf rendered once per auth_request target
# (ports filled in, /app/ served from a directory instead of proxied), so
# they differ in that target only. The protected URL is a static file
# fetched by name, /app/bench.txt: a directory URL would run the check
# twice (index redirect). Every process is stopped by pid on exit.
set -euo pipefail
cd "$(dirname "$0")/.."

secs=${BENCH_SECONDS:-10}
warm=${BENCH_WARMUP:-2}
workers=${BENCH_WORKERS:-4}
conns=${BENCH_CONNECTIONS:-32}
with_unix=${BENCH_UNIX:-1}
rounds=${BENCH_ROUNDS:-1}
num() { [[ $2 =~ ^[0-9]+$ ]] && [ "$2" -ge "$3" ] && [ "$2" -le "$4" ] ||
	{ echo "bench.sh: $1 must be $3..$4 (got '$2')" >&2; exit 2; }; }
num BENCH_SECONDS "$secs" 1 600
num BENCH_WARMUP "$warm" 0 60
num BENCH_WORKERS "$workers" 1 64
num BENCH_CONNECTIONS "$conns" 1 1000
num BENCH_UNIX "$with_unix" 0 1
num BENCH_ROUNDS "$rounds" 1 20

# --- what it needs -----------------------------------------------------------
scripts/setup.sh demo
if ! command -v wrk >/dev/null 2>&1; then
	if [ "$(id -u)" -ne 0 ]; then
		echo "bench.sh: wrk is not installed; run as root or 'apt-get install wrk'" >&2
		exit 1
	fi
	echo "bench.sh: installing wrk"
	export DEBIAN_FRONTEND=noninteractive
	timeout 300 apt-get update -qq
	timeout 300 apt-get install -y -qq --no-install-recommends wrk >/dev/null
	command -v wrk >/dev/null 2>&1 || { echo "bench.sh: wrk did not install" >&2; exit 1; }
fi
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j"$(nproc)" --target sessiongw fcgi_client noop_responder >/dev/null
if grep -q '^SGW_SANITIZE:BOOL=ON' build/CMakeCache.txt; then
	echo "bench.sh: build/ is configured with SGW_SANITIZE=ON; the figures would be meaningless" >&2
	exit 1
fi
NOOP_BIN=$PWD/build/tests/noop_responder

export SGW_BIN=$PWD/build/sessiongw SGW_FCGI_CLIENT=$PWD/build/tests/fcgi_client SGW_SOURCE_DIR=$PWD
# Temporary directory, free ports, redis, gateway configuration, and a
# cleanup that stops every pid in PIDS (in reverse) however we exit.
. tests/integration/lib.sh
trap 'exit 130' INT
trap 'exit 143' TERM

die() { echo "bench.sh: $*" >&2; FAILED=1; exit 1; }

# Anything else running skews every figure: note how busy the CPUs were
# just before we started.
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
if [ "$BUSY_BEFORE" -gt 10 ]; then
	echo "bench.sh: warning: the CPUs were $BUSY_BEFORE% busy before the run; the figures will be skewed" >&2
fi

# --- the programs --------------------------------------------------------------
start_redis

gateway_conf "$T/sgw.conf" "workers=$workers"
add_user bench 'bench password' || die "cannot add the bench user"
start_gateway "$T/sgw.conf"
GW_TCP="127.0.0.1:$SGW_PORT"
GW_TCP_PID=$SGW_PID

NOOP_TCP="127.0.0.1:$(free_port)"
"$NOOP_BIN" "$NOOP_TCP" "$workers" 2>>"$T/noop.log" &
NOOP_TCP_PID=$!
PIDS+=("$NOOP_TCP_PID")
wait_until 10 "$SGW_FCGI_CLIENT" "$NOOP_TCP" REQUEST_METHOD=GET ||
	die "noop_responder did not start on $NOOP_TCP"

if [ "$with_unix" = 1 ]; then
	# The same gateway configuration (same Redis, key prefix and secret,
	# so the same session is valid) on a unix socket nginx's user can use.
	sed -e "s|^listen = .*|listen = unix:$T/gw.sock|" \
		-e "s|^listen_mode = .*|listen_mode = 0666|" "$T/sgw.conf" >"$T/sgw-unix.conf"
	"$SGW_BIN" -c "$T/sgw-unix.conf" 2>>"$T/sgw-unix.log" &
	GW_UNIX_PID=$!
	PIDS+=("$GW_UNIX_PID")
	wait_until 10 "$SGW_FCGI_CLIENT" "unix:$T/gw.sock" REQUEST_METHOD=GET \
		DOCUMENT_URI=/auth/login REQUEST_URI=/auth/login REMOTE_ADDR=127.0.0.1 ||
		die "sessiongw did not start on unix:$T/gw.sock"
	"$NOOP_BIN" "unix:$T/noop.sock" "$workers" 2>>"$T/noop-unix.log" &
	NOOP_UNIX_PID=$!
	PIDS+=("$NOOP_UNIX_PID")
	wait_until 10 "$SGW_FCGI_CLIENT" "unix:$T/noop.sock" REQUEST_METHOD=GET ||
		die "noop_responder did not start on unix:$T/noop.sock"
fi

# nginx: one server block per auth_request target, each the sample file
# with its own upstream name, address and port; /app/ (and /admin/) are
# served from $T/www by nginx itself instead of being proxied.
mkdir -p "$T/www/app" "$T/nginx/tmp" && chmod 777 "$T/nginx/tmp"
printf 'a static file behind auth_request, for scripts/bench.sh\n' >"$T/www/app/bench.txt"
cp /etc/nginx/fastcgi_params "$T/nginx/fastcgi_params"
render_site() { # NAME UPSTREAM-ADDRESS HTTP-PORT
	local out="$T/nginx/site-$1.conf"
	sed -e "s/^upstream sessiongw {/upstream $1 {/" \
		-e "s/fastcgi_pass sessiongw;/fastcgi_pass $1;/" \
		-e "s|server 127\.0\.0\.1:9000;|server $2;|" \
		-e "s|listen 80;|listen 127.0.0.1:$3;|" \
		-e "s|proxy_pass http://127\.0\.0\.1:8080;|root $T/www;|" \
		conf/nginx-sessiongw.conf >"$out"
	grep -q "server $2;" "$out" && grep -q "listen 127.0.0.1:$3;" "$out" &&
		grep -q "root $T/www;" "$out" && grep -q "fastcgi_pass $1;" "$out" &&
		! grep -v '^ *#' "$out" | grep -Eq '127\.0\.0\.1:(8080|9000)|fastcgi_pass sessiongw;' ||
		die "conf/nginx-sessiongw.conf no longer renders as expected (see $out)"
	echo "    include $out;" >>"$T/nginx/sites.conf"
}
HTTP_STATIC=$(free_port)
HTTP_NOOP_TCP=$(free_port)
HTTP_GW_TCP=$(free_port)
: >"$T/nginx/sites.conf"
render_site bench_noop_tcp "$NOOP_TCP" "$HTTP_NOOP_TCP"
render_site bench_gw_tcp "$GW_TCP" "$HTTP_GW_TCP"
if [ "$with_unix" = 1 ]; then
	HTTP_NOOP_UNIX=$(free_port)
	HTTP_GW_UNIX=$(free_port)
	render_site bench_noop_unix "unix:$T/noop.sock" "$HTTP_NOOP_UNIX"
	render_site bench_gw_unix "unix:$T/gw.sock" "$HTTP_GW_UNIX"
fi
# No access log: it costs every scenario the same and is not what is
# measured here.
cat >"$T/nginx/nginx.conf" <<EOF
$(nginx_preamble "$T/nginx" "$T/nginx-error.log" warn 1024)
    include /etc/nginx/mime.types;
    access_log off;
$(cat "$T/nginx/sites.conf")
    # (a) the ceiling: the same file, no auth_request.
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

# --- a session, and every scenario answering as it should -----------------------
URL=/app/bench.txt
http POST "http://127.0.0.1:$HTTP_GW_TCP/auth/login" -d 'username=bench&password=bench+password'
[ "$STATUS" = 303 ] || die "login through nginx: expected 303, got $STATUS"
COOKIE=$(header Set-Cookie | sed -n 's/^\(sgw_session=[^;]*\);.*/\1/p')
[ -n "$COOKIE" ] || die "login through nginx: no session cookie"

expect_status() { # WANT URL [CURL ARGS...]
	local want=$1 url=$2
	shift 2
	http GET "$url" "$@"
	[ "$STATUS" = "$want" ] || die "GET $url: expected $want, got $STATUS"
}
expect_status 200 "http://127.0.0.1:$HTTP_STATIC$URL"
expect_status 200 "http://127.0.0.1:$HTTP_NOOP_TCP$URL"
expect_status 200 "http://127.0.0.1:$HTTP_GW_TCP$URL" -H "Cookie: $COOKIE"
expect_status 401 "http://127.0.0.1:$HTTP_GW_TCP$URL"
if [ "$with_unix" = 1 ]; then
	expect_status 200 "http://127.0.0.1:$HTTP_NOOP_UNIX$URL"
	expect_status 200 "http://127.0.0.1:$HTTP_GW_UNIX$URL" -H "Cookie: $COOKIE"
	expect_status 401 "http://127.0.0.1:$HTTP_GW_UNIX$URL"
fi

# --- measuring ------------------------------------------------------------------
HZ=$(getconf CLK_TCK)
cpu_ticks() { # PID...: user + system clock ticks of these processes
	local p t=0 f
	for p in "$@"; do
		f=$(cut -d' ' -f14,15 "/proc/$p/stat" 2>/dev/null) || continue
		t=$((t + ${f% *} + ${f#* }))
	done
	echo "$t"
}
children() { pgrep -P "$1" | tr '\n' ' '; }
# CPU ticks of the programs this shell has waited for (wrk, through
# timeout), and the machine's total and idle ticks.
reaped_ticks() { local f; f=$(cut -d' ' -f16,17 "/proc/$$/stat"); echo $((${f% *} + ${f#* })); }
machine_ticks() { head -n1 /proc/stat | awk '{ t = 0; for (i = 2; i <= NF; i++) t += $i; print t, $5 + $6 }'; }
NGINX_WORKERS=$(children "$NGINX_PID")

to_ms() { # 1.23ms | 850.00us | 1.02s -> milliseconds
	awk -v v="$1" 'BEGIN {
		n = v + 0; u = v; sub(/^[0-9.]+/, "", u)
		if (u == "us") n /= 1000; else if (u == "s") n *= 1000;
		else if (u == "m") n *= 60000; else if (u != "ms") n = -1
		printf "%.3f", n }'
}

# scenario KEY LABEL HTTP-PORT BACKEND-PIDS WANT [WRK ARGS...]: one wrk run
# (after a warm-up); WANT is 2xx or non2xx, the answers every request must
# get. Appends one tab-separated line to $T/raw: key, label, req/s, p50 and
# p99 (ms), CPU µs per request of nginx, backend, redis and wrk, and the
# other and idle shares of the machine (%).
scenario() {
	local key=$1 label=$2 port=$3 backend=$4 want=$5 out="$T/wrk-$1-$round.txt"
	shift 5
	local url="http://127.0.0.1:$port$URL" n0 b0 r0 w0 m0 n1 b1 r1 w1 m1
	echo "  round $round/$rounds, $key: $label" >&2
	if [ "$warm" -gt 0 ]; then
		timeout $((warm + 30)) wrk -t1 -c"$conns" -d"${warm}s" "$@" "$url" >/dev/null ||
			die "wrk warm-up of $key failed"
	fi
	n0=$(cpu_ticks $NGINX_WORKERS) b0=$(cpu_ticks $backend) r0=$(cpu_ticks "$REDIS_PID")
	w0=$(reaped_ticks) m0=$(machine_ticks)
	timeout $((secs + 30)) wrk -t1 -c"$conns" -d"${secs}s" --latency "$@" "$url" >"$out" ||
		die "wrk run of $key failed: $(cat "$out")"
	n1=$(cpu_ticks $NGINX_WORKERS) b1=$(cpu_ticks $backend) r1=$(cpu_ticks "$REDIS_PID")
	w1=$(reaped_ticks) m1=$(machine_ticks)

	local rps p50 p99 total non2xx sockerr bad
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
	[ "$bad" -eq 0 ] && [ "$sockerr" -eq 0 ] ||
		die "$key: $bad unexpected answers and $sockerr socket errors out of $total (see $out)"
	# "other": the machine's CPU time that none of our programs used
	# (other programs, interrupts); above a few % the run was disturbed.
	awk -v k="$key" -v l="$label" -v r="$rps" -v a="$p50" -v b="$p99" -v t="$total" \
		-v n=$((n1 - n0)) -v be=$((b1 - b0)) -v rd=$((r1 - r0)) -v w=$((w1 - w0)) \
		-v m0="$m0" -v m1="$m1" -v hz="$HZ" -v bk="$backend" 'BEGIN {
		f = 1e6 / hz / t
		split(m0, x, " "); split(m1, y, " ")
		tot = y[1] - x[1]; busy = tot - (y[2] - x[2])
		other = (tot > 0 ? 100 * (busy - n - be - rd - w) / tot : 0)
		if (other < 0) other = 0
		idle = (tot > 0 ? 100 * (tot - busy) / tot : 0)
		printf "%s\t%s\t%.0f\t%.3f\t%.3f\t%.1f\t%s\t%.1f\t%.1f\t%.0f\t%.0f\n", k, l, r, a, b,
			n * f, (bk == "" ? "-" : sprintf("%.1f", be * f)), rd * f, w * f, other, idle }' >>"$T/raw"
}

echo "bench.sh: measuring, $rounds round(s) of $secs s per scenario after ${warm} s of warm-up" >&2
: >"$T/raw"
for round in $(seq 1 "$rounds"); do
	scenario a "nginx static file, no auth" "$HTTP_STATIC" "" 2xx
	scenario b "auth_request -> no-op responder, TCP" "$HTTP_NOOP_TCP" "$(children "$NOOP_TCP_PID")" 2xx
	scenario c "auth_request -> sessiongw, TCP, session" "$HTTP_GW_TCP" "$(children "$GW_TCP_PID")" 2xx -H "Cookie: $COOKIE"
	scenario d "auth_request -> sessiongw, TCP, no cookie" "$HTTP_GW_TCP" "$(children "$GW_TCP_PID")" non2xx
	if [ "$with_unix" = 1 ]; then
		scenario e1 "auth_request -> no-op responder, unix" "$HTTP_NOOP_UNIX" "$(children "$NOOP_UNIX_PID")" 2xx
		scenario e2 "auth_request -> sessiongw, unix, session" "$HTTP_GW_UNIX" "$(children "$GW_UNIX_PID")" 2xx -H "Cookie: $COOKIE"
	fi
done

# The session must still be good, and nothing may have gone wrong on the way.
expect_status 200 "http://127.0.0.1:$HTTP_GW_TCP$URL" -H "Cookie: $COOKIE"
gw_errors=$(cat "$T"/sgw*.log | grep -ci 'error' || true)
ngx_errors=$(grep -c '\[\(error\|crit\|alert\|emerg\)\]' "$T/nginx-error.log" || true)

# --- the report -------------------------------------------------------------------
ver() { dpkg-query -W -f='${Version}' "$1" 2>/dev/null || echo '?'; }

echo
echo "sessiongw benchmark, $(date -u '+%Y-%m-%d %H:%M UTC')"
echo "  wrk -t1 -c$conns -d${secs}s --latency (after a ${warm} s warm-up), $rounds round(s), $workers workers for sessiongw and the no-op responder"
echo "  CPUs busy before the run (other load): $BUSY_BEFORE%"
echo "  machine: $(nproc) CPUs, $(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n1), Linux $(uname -r)"
echo "  versions: $("$SGW_BIN" -v), nginx $(nginx -v 2>&1 | sed 's|.*nginx/||'), redis $(redis-server --version | sed 's/.* v=\([^ ]*\).*/\1/')," \
	"wrk $(wrk -v 2>&1 | head -n1 | awk '{print $2}'), libfcgi $(ver libfcgi0ldbl), hiredis $(ver libhiredis0.14)"
echo
# Medians over the rounds (with the req/s range when there are several);
# ratios are taken within each round, then their median (and range).
awk -F'\t' -v rounds="$rounds" -v unix="$with_unix" '
function med(list,   a, m, i, j, x) {
	m = split(list, a, " ")
	if (a[1] == "-") return "-"
	for (i = 2; i <= m; i++) { x = a[i] + 0; for (j = i - 1; j > 0 && a[j] + 0 > x; j--) a[j + 1] = a[j]; a[j + 1] = x }
	return (m % 2 ? a[(m + 1) / 2] : (a[m / 2] + a[m / 2 + 1]) / 2)
}
function lo(list,   a, m, i, x) { m = split(list, a, " "); x = a[1] + 0; for (i = 2; i <= m; i++) if (a[i] + 0 < x) x = a[i] + 0; return x }
function hi(list,   a, m, i, x) { m = split(list, a, " "); x = a[1] + 0; for (i = 2; i <= m; i++) if (a[i] + 0 > x) x = a[i] + 0; return x }
function fmt1(x) { return x == "-" ? "-" : sprintf("%.1f", x) }
{
	k = $1
	if (!(k in label)) { order[++nk] = k; label[k] = $2 }
	cnt[k]++
	for (j = 3; j <= 11; j++) col[k, j] = col[k, j] " " $j
}
function ratios(name, g, n,   i, a, b, c, d, e, f, m, rr, r5, r9) {
	if (!(g in label) || !(n in label)) return
	split(col[g, 3], a, " "); split(col[n, 3], b, " ")
	split(col[g, 4], c, " "); split(col[n, 4], d, " ")
	split(col[g, 5], e, " "); split(col[n, 5], f, " ")
	rr = r5 = r9 = ""
	for (i = 1; i <= cnt[g]; i++) {
		rr = rr " " a[i] / b[i]; r5 = r5 " " c[i] / d[i]; r9 = r9 " " e[i] / f[i]
	}
	printf "%-46s %-18s %-18s %s\n", name, cell(rr), cell(r5), cell(r9)
}
function cell(list) {
	return rounds > 1 ? sprintf("%5.2f (%.2f-%.2f)", med(list), lo(list), hi(list)) : sprintf("%5.2f", med(list))
}
END {
	printf "%-3s %-42s %8s%s %7s %7s %6s %7s %6s %6s %5s %5s\n", "", "scenario", "req/s",
		(rounds > 1 ? sprintf(" %13s", "req/s range") : ""), "p50 ms", "p99 ms", "nginx", "backend", "redis", "wrk", "other", "idle"
	for (i = 1; i <= nk; i++) {
		k = order[i]
		printf "%-3s %-42s %8.0f%s %7.2f %7.2f %6.1f %7s %6.1f %6.1f %4.0f%% %4.0f%%\n", k, label[k],
			med(col[k, 3]), (rounds > 1 ? sprintf(" %13s", sprintf("%.0f-%.0f", lo(col[k, 3]), hi(col[k, 3]))) : ""),
			med(col[k, 4]), med(col[k, 5]), med(col[k, 6]), fmt1(med(col[k, 7])), med(col[k, 8]),
			med(col[k, 9]), med(col[k, 10]), med(col[k, 11])
	}
	print "    nginx, backend (the FastCGI workers), redis, wrk: CPU time per request, µs"
	print "    other: share of all CPU time used by none of them (other load, interrupts); idle: share unused"
	if (rounds > 1) print "    figures are medians over " rounds " rounds"
	print ""
	printf "%-46s %-18s %-18s %s\n", "gateway / no-op, same socket type", "req/s", "  p50", "  p99"
	ratios("c/b   TCP, valid session", "c", "b")
	ratios("d/b   TCP, no cookie (401)", "d", "b")
	if (unix) ratios("e2/e1 unix, valid session", "e2", "e1")
	ratios("b/a   no-op auth_request / static file (TCP)", "b", "a")
}' "$T/raw"
echo
echo "  error lines: sessiongw logs $gw_errors, nginx error log $ngx_errors"
exit 0
