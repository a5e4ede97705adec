# pg.sh: a private PostgreSQL server for integration tests. Sourced by
# lib.sh (it uses lib.sh's T, PIDS, free_port and wait_until), or by hand
# after defining those.
#
#   start_postgres [PORT]   initdb into $T/pg (once), start the server on
#                           127.0.0.1:PORT (a free port when none is given)
#                           and create the database sessiongw. Sets PG_PORT,
#                           PG_DIR, PG_DATA, PG_PID and PG_CONNINFO (also
#                           as CONNINFO).
#   stop_postgres           a fast shutdown (clients are disconnected).
#   restart_postgres        stop, then start on the same port and data.
#   pg_stall / pg_resume    the server stops answering (the postmaster and
#                           every backend get SIGSTOP), then answers again.
#   pg_dump_text            every row of the database sessiongw, as text
#                           (bytea as hex), to look for what must not be
#                           stored.
#   pcli ARGS...            psql on the private server, database sessiongw.
#
# initdb and the server refuse to run as root, and the data directory must
# belong to the user that runs them, hence the `postgres` user (created by
# the Debian package). Every wait is bounded.

PG_BIN=${PG_BIN:-/usr/lib/postgresql/15/bin}
PG_PORT=
PG_DIR=
PG_DATA=
PG_PID=
PG_CONNINFO=
CONNINFO=
PG_STALLED=
PG_TRAPPED=

# lib.sh's cleanup stops PIDS with SIGTERM, which a stalled server does not
# see until it is resumed (and SIGKILL on a postmaster would leave its
# backends stopped): resume and stop it first, then run lib.sh's cleanup.
pg_exit() {
	[ -n "$PG_STALLED" ] && pg_resume
	stop_postgres
}

pg_trap_exit() {
	local prev
	[ -n "$PG_TRAPPED" ] && return 0
	prev=$(trap -p EXIT | sed "s/^trap -- '\(.*\)' EXIT\$/\1/")
	# shellcheck disable=SC2064
	trap "pg_exit; ${prev:-:}" EXIT
	PG_TRAPPED=1
}

pg_available() {
	[ "$(id -u)" -eq 0 ] && [ -x "$PG_BIN/initdb" ] && [ -x "$PG_BIN/pg_ctl" ] &&
		id postgres >/dev/null 2>&1
}

pg_as() { runuser -u postgres -- "$@"; }

pg_ready() {
	"$PG_BIN/pg_isready" -q -h 127.0.0.1 -p "$PG_PORT" -t 1
}

pg_start_server() {
	# pg_ctl -w gives up after -t seconds; the server logs to $PG_DIR/log.
	pg_as "$PG_BIN/pg_ctl" -D "$PG_DATA" -l "$PG_DIR/log" -w -t 30 \
		-o "-p $PG_PORT -k $PG_DIR -c listen_addresses=127.0.0.1 -c fsync=off -c full_page_writes=off" \
		start >/dev/null || return 1
	wait_until 10 pg_ready || return 1
	PG_PID=$(head -n 1 "$PG_DATA/postmaster.pid")
	PIDS+=("$PG_PID")
}

start_postgres() {
	pg_available || fatal "postgres: need root, the postgres user and $PG_BIN"
	PG_DIR=$T/pg
	PG_DATA=$PG_DIR/data
	if [ ! -d "$PG_DATA" ]; then
		install -d -o postgres -m 0700 "$PG_DIR" || fatal "postgres: cannot make $PG_DIR"
		pg_as "$PG_BIN/initdb" -D "$PG_DATA" -A trust -U sgw -E UTF8 \
			--no-locale >"$PG_DIR/initdb.log" 2>&1 ||
			fatal "postgres: initdb failed (see $PG_DIR/initdb.log)"
	fi
	PG_PORT=${1:-$(free_port)} || fatal "postgres: no free port"
	pg_trap_exit
	pg_start_server || fatal "postgres did not start on port $PG_PORT (see $PG_DIR/log)"
	PG_CONNINFO="host=127.0.0.1 port=$PG_PORT user=sgw dbname=sessiongw"
	CONNINFO=$PG_CONNINFO
	if ! "$PG_BIN/psql" -X -q -h 127.0.0.1 -p "$PG_PORT" -U sgw -d postgres \
		-tAc "select 1 from pg_database where datname = 'sessiongw'" | grep -q 1; then
		"$PG_BIN/createdb" -h 127.0.0.1 -p "$PG_PORT" -U sgw sessiongw ||
			fatal "postgres: cannot create database sessiongw"
	fi
}

stop_postgres() {
	[ -n "$PG_STALLED" ] && pg_resume
	[ -n "$PG_DATA" ] && [ -f "$PG_DATA/postmaster.pid" ] || return 0
	pg_as "$PG_BIN/pg_ctl" -D "$PG_DATA" -m fast -w -t 30 stop >/dev/null ||
		{ [ -n "$PG_PID" ] && kill -KILL "$PG_PID" 2>/dev/null; }
	PG_PID=
}

restart_postgres() {
	stop_postgres
	pg_start_server || fatal "postgres did not start again on port $PG_PORT"
}

# The postmaster's children by parent pid (never by name: other
# engineers' servers run on this host too).
pg_children() { [ -n "$PG_PID" ] && pgrep -P "$PG_PID"; }

pg_stall() {
	[ -n "$PG_PID" ] || return 1
	kill -STOP "$PG_PID"
	PG_STALLED=$(pg_children | tr '\n' ' ')
	# shellcheck disable=SC2086
	[ -z "$PG_STALLED" ] || kill -STOP $PG_STALLED
}

pg_resume() {
	[ -n "$PG_PID" ] || return 1
	# shellcheck disable=SC2086
	[ -z "$PG_STALLED" ] || kill -CONT $PG_STALLED 2>/dev/null
	kill -CONT "$PG_PID"
	PG_STALLED=
}

pg_dump_text() {
	"$PG_BIN/pg_dump" -h 127.0.0.1 -p "$PG_PORT" -U sgw --data-only \
		--no-owner sessiongw
}

pcli() {
	"$PG_BIN/psql" -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$PG_PORT" -U sgw \
		-d sessiongw "$@"
}
