#!/usr/bin/env bash
# test.sh: installs what it needs, builds sessiongw and runs every test:
#   1. the release build (warnings as errors): cmocka unit tests and the
#      integration tests against real redis-server, PostgreSQL, nginx,
#      apache2, lighttpd, spawn-fcgi and chromium on loopback ports, each
#      on every store it names (lmdb, redis, postgres);
#   2. on an ASan + UBSan build, failing on any report: the unit tests and
#      every integration test on the embedded store (the stores' own code
#      is all in the unit tests' reach: the contract suite runs each one);
#   3. every libFuzzer harness for a short, bounded time (SGW_FUZZ_SECONDS,
#      default 10 s each; 0 skips).
# Exits non-zero on any failure.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/setup.sh test
jobs=$(nproc)
fuzz_seconds=${SGW_FUZZ_SECONDS:-10}

echo "== formatting: every C file as .clang-format says"
# Files git knows, so a build directory's generated sources do not count.
fmt=$(mktemp)
if ! clang-format --dry-run --Werror $(git ls-files '*.c' '*.h') 2>"$fmt"; then
	head -n 40 "$fmt"
	echo "clang-format: the tree is not formatted (run clang-format -i on the files above)"
	rm -f "$fmt"
	exit 1
fi
rm -f "$fmt"
echo "formatting: ok"

echo "== release build: unit and integration tests"
cmake -S . -B build -DSGW_WERROR=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j"$jobs"
ctest --test-dir build --output-on-failure --timeout 300

echo "== ASan + UBSan build: unit tests, and integration tests on lmdb"
cmake -S . -B build-asan -DSGW_WERROR=ON -DSGW_SANITIZE=ON -DCMAKE_BUILD_TYPE=Debug >/dev/null
cmake --build build-asan -j"$jobs"
reports=$(mktemp -d /tmp/sgw-sanitizer.XXXXXX)
chmod 777 "$reports" # workers that dropped privileges write here too
# Forked workers and subcommands report into files: a report in a worker
# that the master then replaced would otherwise go unnoticed.
export ASAN_OPTIONS="log_path=$reports/asan:detect_leaks=1:abort_on_error=0"
export UBSAN_OPTIONS="log_path=$reports/ubsan:print_stacktrace=1:halt_on_error=1"
status=0
ctest --test-dir build-asan --output-on-failure --timeout 600 -L 'unit|lmdb' || status=1
unset ASAN_OPTIONS UBSAN_OPTIONS
if compgen -G "$reports/*" >/dev/null; then
	echo "sanitizer reports:"
	for f in "$reports"/*; do echo "--- $f"; head -n 60 "$f"; done
	status=1
else
	echo "sanitizers: no reports"
fi
rm -rf "$reports"
[ "$status" -eq 0 ] || exit 1

if [ "$fuzz_seconds" -gt 0 ]; then
	echo "== fuzzing: each harness for $fuzz_seconds s"
	scripts/fuzz.sh "$fuzz_seconds"
fi
