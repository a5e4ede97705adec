#!/usr/bin/env bash
# backends: lmdb
# test_layering: the includes point down (docs/DESIGN.md): no cycle
# between modules, nothing in lib/ includes a gateway/ header or
# FastCGI; and the checker itself catches both.
. "$(dirname "$0")/lib.sh"

check="$SGW_SOURCE_DIR/scripts/check-layering.sh"

out=$("$check" "$SGW_SOURCE_DIR" 2>&1)
rc=$?
if [ $rc = 0 ]; then ok "no include cycle, lib/ includes nothing above it"; else
	not_ok "the tree is layered: $out"; fi

# A copy with one arrow pointing up, and one lib/ file knowing FastCGI:
# the checker must say so (a checker that cannot fail proves nothing).
tree="$T/tree"  # lib.sh removes $T
mkdir -p "$tree"
cp -r "$SGW_SOURCE_DIR/lib" "$SGW_SOURCE_DIR/gateway" "$tree/"
echo '#include "worker.h"' >>"$tree/gateway/metrics.c"
echo '#include <fcgiapp.h>' >>"$tree/lib/form.c"
out=$("$check" "$tree" 2>&1)
rc=$?
expect_eq "a broken tree fails the check" 1 "$rc"
expect_match "a cycle is named" "include cycle: .*gateway/metrics" "$out"
expect_match "lib/ including FastCGI is named" "lib/form.c includes <fcgiapp.h>" "$out"

finish
