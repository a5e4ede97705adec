#!/usr/bin/env bash
# test.sh: installs what it needs, builds sessiongw with warnings as errors,
# and runs every test: cmocka unit tests and integration tests against a
# real redis-server and nginx on loopback ports. Exits non-zero on any
# failure.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/setup.sh test

build=${SGW_BUILD_DIR:-build}
cmake -S . -B "$build" -DSGW_WERROR=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$build" -j"$(nproc)"
ctest --test-dir "$build" --output-on-failure --timeout 300
