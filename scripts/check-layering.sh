#!/usr/bin/env bash
# Checks that the includes between modules point one way (docs/DESIGN.md):
# - no cycle between modules (a module is a .c/.h pair, named lib/NAME or
#   gateway/NAME; gateway/handlers/*.c and handlers.h are one module,
#   gateway/handlers);
# - nothing in lib/ includes a gateway/ header, fcgiapp.h or fastcgi.h.
# Prints each problem and exits 1 when there is one; 0 otherwise.
# Usage: scripts/check-layering.sh [SOURCE_DIR]
set -u
root=${1:-$(cd "$(dirname "$0")/.." && pwd)}
cd "$root" || exit 2

declare -A edges  # module -> space-separated modules it includes
declare -A color  # DFS: unset = new, 1 = on the stack, 2 = done
fail=0

module_of() { # path -> module
	case $1 in
	gateway/handlers/* | gateway/handlers.h) echo gateway/handlers ;;
	*) local f=${1%.*}; echo "$f" ;;
	esac
}

for f in lib/*.[ch] gateway/*.[ch] gateway/handlers/*.c; do
	[ -e "$f" ] || continue
	from=$(module_of "$f")
	floor=${f%%/*}
	while IFS= read -r inc; do
		case $inc in
		fcgiapp.h | fastcgi.h | fcgi_stdio.h)
			if [ "$floor" = lib ]; then
				echo "layering: $f includes <$inc>: lib/ knows no FastCGI"
				fail=1
			fi
			continue ;;
		esac
		if [ "$floor" = lib ]; then
			if [ -e "lib/$inc" ]; then
				to=$(module_of "lib/$inc")
			elif [ -e "gateway/$inc" ]; then
				echo "layering: $f includes \"$inc\", a gateway/ header"
				fail=1
				continue
			else
				continue
			fi
		elif [ -e "gateway/$inc" ]; then
			to=$(module_of "gateway/$inc")
		elif [ -e "lib/$inc" ]; then
			to=$(module_of "lib/$inc")
		else
			continue
		fi
		[ "$to" = "$from" ] && continue
		case " ${edges[$from]:-} " in
		*" $to "*) ;;
		*) edges[$from]="${edges[$from]:-} $to" ;;
		esac
	done < <(sed -n -e 's/^[[:space:]]*#[[:space:]]*include[[:space:]]*"\([^"]*\)".*/\1/p' \
	    -e 's/^[[:space:]]*#[[:space:]]*include[[:space:]]*<\(fcgiapp\.h\|fastcgi\.h\|fcgi_stdio\.h\)>.*/\1/p' "$f")
done

stack=()
visit() { # module: depth-first; a module met again on the stack is a cycle
	local m=$1 n
	color[$m]=1
	stack+=("$m")
	for n in ${edges[$m]:-}; do
		if [ "${color[$n]:-0}" = 1 ]; then
			local path="" i seen=0
			for i in "${stack[@]}"; do
				[ "$i" = "$n" ] && seen=1
				[ $seen = 1 ] && path="$path$i -> "
			done
			echo "layering: include cycle: $path$n"
			fail=1
		elif [ "${color[$n]:-0}" = 0 ]; then
			visit "$n"
		fi
	done
	unset 'stack[${#stack[@]}-1]'
	color[$m]=2
}
for m in "${!edges[@]}"; do
	[ "${color[$m]:-0}" = 0 ] && visit "$m"
done

if [ $fail = 0 ]; then
	echo "layering: ${#edges[@]} including modules, no cycle, lib/ includes nothing above it"
fi
exit $fail
