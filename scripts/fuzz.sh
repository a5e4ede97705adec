#!/usr/bin/env bash
# fuzz.sh: builds the libFuzzer harnesses of tests/fuzz/ with clang (ASan +
# UBSan) in build-fuzz/ and runs each for SECONDS (default 20) on a copy of
# its seed corpus, so the repository is never written to. Prints one line
# per harness and "N passed, M failed"; exits 1 when any harness crashed,
# leaked, timed out or broke an invariant.
#
#   scripts/fuzz.sh [SECONDS]      scripts/fuzz.sh 600 is the long run
#
# Needs clang and libclang-rt-14-dev (scripts/setup.sh test installs
# them); this script installs nothing.
set -uo pipefail
cd "$(dirname "$0")/.."

secs=${1:-20}
case $secs in
'' | *[!0-9]* | 0)
	echo "usage: $0 [SECONDS]   (a positive number of seconds)" >&2
	exit 2
	;;
esac

if ! command -v clang >/dev/null 2>&1; then
	echo "fuzz.sh: clang is missing; install clang and libclang-rt-14-dev" \
		"(scripts/setup.sh test)" >&2
	exit 1
fi
# libFuzzer itself ships in the compiler-rt package, not in clang.
if ! dpkg-query -W -f='${Status}' libclang-rt-14-dev 2>/dev/null |
	grep -q 'install ok installed'; then
	echo "fuzz.sh: libclang-rt-14-dev (libFuzzer) is missing; install it" \
		"(scripts/setup.sh test)" >&2
	exit 1
fi

root=$(pwd)
build=$root/build-fuzz
log=$build/fuzz-build.log
mkdir -p "$build"
if ! CC=clang cmake -S . -B "$build" -DSGW_FUZZ=ON \
	-DCMAKE_BUILD_TYPE=RelWithDebInfo >"$log" 2>&1; then
	cat "$log" >&2
	echo "fuzz.sh: configuring $build failed" >&2
	exit 1
fi
# A build dir first configured with gcc keeps gcc: say so rather than
# fail later with an unknown -fsanitize=fuzzer.
if ! grep -q '^CMAKE_C_COMPILER:.*clang' "$build/CMakeCache.txt"; then
	echo "fuzz.sh: $build was configured with another compiler;" \
		"remove it and run again" >&2
	exit 1
fi
if ! cmake --build "$build" --target fuzz -j"$(nproc)" >>"$log" 2>&1; then
	cat "$log" >&2
	echo "fuzz.sh: building the harnesses failed" >&2
	exit 1
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/sgw-fuzz.XXXXXX")
trap 'rm -rf "$work"' EXIT

# UBSan findings stop the run (the harnesses say so too, for reproducers);
# leaks are findings.
export UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=0

passed=0
failed=0
for src in tests/fuzz/fuzz_*.c; do
	name=$(basename "$src" .c)
	bin=$build/tests/fuzz/$name
	dir=$work/$name
	mkdir -p "$dir/corpus" "$dir/artifacts"
	if [ -d "tests/fuzz/corpus/$name" ]; then
		cp -R "tests/fuzz/corpus/$name/." "$dir/corpus/"
	fi
	(cd "$dir" && "$bin" -max_total_time="$secs" -max_len=4096 \
		-timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
		-artifact_prefix="$dir/artifacts/" corpus >"$dir/log" 2>&1)
	rc=$?
	# libFuzzer's last word: "Done 123456 runs in 20 second(s)".
	done_line=$(grep -E '^Done [0-9]+ runs in [0-9]+ second' "$dir/log" | tail -n 1)
	crash=$(find "$dir/artifacts" -type f | head -n 1)
	if [ "$rc" -eq 0 ] && [ -n "$done_line" ] && [ -z "$crash" ]; then
		runs=$(awk '{print $2}' <<<"$done_line")
		took=$(awk '{print $5}' <<<"$done_line")
		echo "$name: $runs runs in $took s, no crash"
		passed=$((passed + 1))
		continue
	fi
	failed=$((failed + 1))
	echo "$name: FAILED (exit $rc)"
	if [ -n "$crash" ]; then
		# Kept outside the temporary directory, which goes at exit.
		mkdir -p "$build/crashes"
		cp "$crash" "$build/crashes/"
		kept=$build/crashes/$(basename "$crash")
		echo "  crash input: $kept"
		echo "  reproduce:   $bin $kept"
		echo "  reproducer output (tail):"
		"$bin" -timeout=10 -rss_limit_mb=2048 "$kept" 2>&1 |
			tail -n 30 | sed 's/^/    /'
	else
		echo "  fuzzer output (tail):"
		tail -n 30 "$dir/log" | sed 's/^/    /'
	fi
done

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
