#!/usr/bin/env bash
# backends: lmdb
# The login flow in a real browser: Debian's Chromium, driven by
# playwright-core (tests/browser/login.spec.mjs), against a real nginx,
# sessiongw and Redis on loopback. Each of the script's checks becomes one
# of ours. No browser is ever downloaded: npm installs only playwright-core
# (pinned in tests/browser/package-lock.json) into tests/browser/node_modules.
#
# Environment: SGW_CHROMIUM (default /usr/bin/chromium), SGW_ARTIFACT_DIR
# (where login-page.png goes; default the test's temporary directory).
. "$(dirname "$0")/lib.sh"

CHROMIUM=${SGW_CHROMIUM:-/usr/bin/chromium}
BROWSER_SRC="$SGW_SOURCE_DIR/tests/browser"
SHOT_DIR=${SGW_ARTIFACT_DIR:-$T}
SHOT="$SHOT_DIR/login-page.png"
SHOT_COPY=/tmp/sessiongw-login-page.png

# --- what the test needs: missing means failed, never skipped ----------------
command -v node >/dev/null || fatal "node is not installed (apt-get install nodejs npm)"
command -v npm >/dev/null || fatal "npm is not installed (apt-get install npm)"
[ -x "$CHROMIUM" ] || fatal "no browser at $CHROMIUM (apt-get install chromium, or set SGW_CHROMIUM)"
[ -f "$BROWSER_SRC/package-lock.json" ] || fatal "$BROWSER_SRC/package-lock.json is missing"

# Installed once into the source tree (node_modules is git-ignored), again
# only when the pinned version changes; a read-only tree gets a copy in $T.
BROWSER_DIR=$BROWSER_SRC
if [ ! -w "$BROWSER_SRC" ]; then
	cp -r "$BROWSER_SRC" "$T/browser" && BROWSER_DIR="$T/browser"
fi
pinned() { (cd "$BROWSER_DIR" && node -p "require('./package-lock.json').packages['node_modules/playwright-core'].version"); }
installed() { (cd "$BROWSER_DIR" && node -p "require('./node_modules/playwright-core/package.json').version" 2>/dev/null); }
if [ "$(installed)" != "$(pinned)" ]; then
	echo "# npm ci in $BROWSER_DIR (playwright-core $(pinned))"
	(cd "$BROWSER_DIR" && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 timeout 240 \
		npm ci --no-audit --no-fund --loglevel=error) >"$T/npm.log" 2>&1 ||
		fatal "npm ci failed in $BROWSER_DIR (see $T/npm.log)"
fi
expect_eq "playwright-core installed at the pinned version" "$(pinned)" "$(installed)"

# --- the servers, exactly as test_nginx.sh --------------------------------------
start_store
gateway_conf "$T/sgw.conf"
add_user alice 'correct horse' staff
start_gateway "$T/sgw.conf"
start_nginx

# --- the browser -------------------------------------------------------------------
mkdir -p "$SHOT_DIR" && rm -f "$SHOT"
SGW_BASE="http://127.0.0.1:$NGINX_PORT" SGW_USER=alice SGW_PASSWORD='correct horse' \
	SGW_SCREENSHOT="$SHOT" SGW_CHROMIUM="$CHROMIUM" HOME="$T" \
	timeout -k 5 110 node "$BROWSER_DIR/login.spec.mjs" >"$T/browser.out" 2>"$T/browser-stderr.log"
rc=$?
[ -f "$SHOT" ] && cp "$SHOT" "$SHOT_COPY" && echo "# screenshot: $SHOT (copied to $SHOT_COPY)"

# The script's own checks, one for one; its summary and exit status must agree.
n_ok=0 n_fail=0
while IFS= read -r line; do
	case $line in
	"ok - "*) ok "browser: ${line#ok - }"; n_ok=$((n_ok + 1)) ;;
	"not ok - "*) not_ok "browser: ${line#not ok - }"; n_fail=$((n_fail + 1)) ;;
	*) echo "# $line" ;;
	esac
done <"$T/browser.out"
expect_eq "browser script: its summary matches its checks" \
	"$n_ok passed, $n_fail failed" "$(tail -n 1 "$T/browser.out")"
expect_eq "browser script: exit status" 0 "$rc"
if [ "$n_ok" -lt 30 ]; then not_ok "browser script: ran only $n_ok checks"; fi
if [ -f "$SHOT" ]; then ok "screenshot of the login page exists"; else not_ok "no screenshot at $SHOT"; fi

finish
