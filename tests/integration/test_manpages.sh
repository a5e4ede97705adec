#!/usr/bin/env bash
# test_manpages: sessiongw(8) and sessiongw.conf(5) are clean mdoc
# (mandoc -Tlint), sessiongw.conf(5) documents every key of the
# configuration tables in lib/ under its section with its default, and
# sessiongw(8) names every option and subcommand of the usage message.
. "$(dirname "$0")/lib.sh"

command -v mandoc >/dev/null || fatal "mandoc is not installed (scripts/setup.sh test)"
docs="$SGW_SOURCE_DIR/docs"

for page in sessiongw.8 sessiongw.conf.5; do
	[ -f "$docs/$page" ] || { not_ok "docs/$page exists"; continue; }
	# Warnings and worse; style hints about manuals that this machine
	# does not have installed are left out.
	out=$(cd "$docs" && mandoc -Tlint -Wwarning "$page" 2>&1)
	rc=$?
	expect_eq "mandoc -Tlint -Wwarning $page is clean" "0:" "$rc:$out"
	expect_match "$page renders" "SESSIONGW" "$(mandoc -Tascii "$docs/$page" 2>/dev/null)"
done
[ ! -e "$docs/sessiongw.conf.5.md" ]
expect_eq "the Markdown reference is gone (one source of truth)" 0 $?

# Rows of the key tables (lib/conf.c, and the backends' own sections):
# { "section", "name", [SGW_]T_TYPE, flags, min, max, "default" | NULL, FIELD(...
rows=$(sed -nE 's/^[[:space:]]*\{ *"([a-z]+)", *"([a-z_]+)", *[A-Z0-9_]*T_[A-Z0-9_]+,.*, *("[^"]*"|NULL), *[A-Za-z_]+\(.*/\1 \2 \3/p' \
	"$SGW_SOURCE_DIR"/lib/*.c)
[ "$(wc -l <<<"$rows")" -ge 40 ]
expect_eq "lib/ has its key tables ($(wc -l <<<"$rows") keys)" 0 $?

# item SECTION KEY: the source of that key's entry, \& escapes removed.
item() {
	sed -e 's/\\&//g' "$docs/sessiongw.conf.5" | awk -v sec="$1" -v key="$2" '
		/^\.S[sh] / { insec = (index($0, "[" sec "]") > 0); initem = 0 }
		insec && /^\.It Ic / { initem = ($3 == key) }
		initem { print }'
}
undocumented=""
wrong_default=""
while read -r sec key def; do
	[ -n "$key" ] || continue
	text=$(item "$sec" "$key")
	if [ -z "$text" ]; then
		undocumented="$undocumented [$sec]$key"
		continue
	fi
	case $def in
	NULL) ;;
	'""') grep -q '^Default: empty' <<<"$text" || wrong_default="$wrong_default [$sec]$key" ;;
	*)
		def=${def#\"}
		def=${def%\"}
		grep -qF ".Ql $def" <<<"$text" || wrong_default="$wrong_default [$sec]$key=$def"
		;;
	esac
done <<<"$rows"
expect_eq "sessiongw.conf(5) documents every key of the tables in lib/" "" "$undocumented"
expect_eq "sessiongw.conf(5) gives each key's default as the tables do" "" "$wrong_default"

# The keys of SPEC section 4 that the embedded and PostgreSQL stores bring.
undocumented=""
for k in server:request_timeout store:backend store:cleanup_interval lmdb:path \
	lmdb:map_size lmdb:sync postgres:conninfo postgres:table_prefix \
	postgres:create_tables postgres:connect_timeout postgres:command_timeout \
	session:bind_user_agent; do
	[ -n "$(item "${k%%:*}" "${k#*:}")" ] || undocumented="$undocumented $k"
done
expect_eq "sessiongw.conf(5) documents the store keys of SPEC section 4" "" "$undocumented"

# sessiongw(8): every option and subcommand of the usage message.
usage=$("$SGW_BIN" -h 2>&1)
page8=$(sed -e 's/\\&//g' "$docs/sessiongw.8")
missing=""
for opt in $(grep -oE '\[-[a-zA-Z]' <<<"$usage" | tr -d '[-' | sort -u); do
	grep -qE "^\.It Fl $opt( |$)|^\.Op Fl [a-z]*$opt" <<<"$page8" || missing="$missing -$opt"
done
while read -r _ sub verb _; do
	case $sub in sessiongw | '[-'* | '') continue ;; esac
	case $verb in [a-z]*) sub="$sub $verb" ;; esac
	grep -qE "^\.Cm $sub( |$)" <<<"$page8" || missing="$missing '$sub'"
done < <(sed -n 's/^ *\(usage: \)\{0,1\}sessiongw /x /p' <<<"$usage")
for sub in "store init"; do # SPEC section 3
	grep -qE "^\.Cm $sub( |$)" <<<"$page8" || missing="$missing '$sub'"
done
expect_eq "sessiongw(8) names every option and subcommand" "" "$missing"
missing=""
for s in SYNOPSIS DESCRIPTION OPTIONS SUBCOMMANDS SIGNALS FILES "EXIT STATUS" EXAMPLES; do
	grep -q "^\.Sh $s\$" <<<"$page8" || missing="$missing $s"
done
expect_eq "sessiongw(8) has its sections" "" "$missing"

finish
