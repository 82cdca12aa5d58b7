# The dashboard in real headless Chromium (tests/browser/dashboard.js):
# mosquitto, Ganache, the contract, the chain logger and the gateway run for
# real; the page must load without console errors, show an anomaly
# published on MQTT within 2 s and then its chain confirmation, and send a
# manual reading through the pipeline. Screenshots go to tests/out/.
# DASHBOARD_SCREENSHOT=docs/img/dashboard.png (relative to the repository)
# first makes the README's picture (tests/browser/screenshot.js).
. "$(dirname "$0")/../lib.sh"
. "$ROOT/tests/gateway/lib.sh"
for b in chainlogger gateway; do [ -x "$BIN/$b" ] || fail "missing $BIN/$b"; done
[ -x /usr/bin/chromium ] || skip "no /usr/bin/chromium"
[ -d "$ROOT/tools/node_modules/playwright-core" ] || skip "playwright-core not installed (npm ci in tools/)"
start_mosquitto
start_chain
export STATE_DIR=$T/state
deploy_contract
bg chainlogger "$BIN/chainlogger"
TOKEN=browser-$RANDOM$RANDOM
start_gateway GATEWAY_TOKEN="$TOKEN"
wait_for 20 curl -sf "$G/readyz" || fail "/readyz never 200: $(curl -s "$G/readyz")"
mkdir -p "$ROOT/tests/out"
if [ -n "${DASHBOARD_SCREENSHOT:-}" ]; then
    case "$DASHBOARD_SCREENSHOT" in /*) png=$DASHBOARD_SCREENSHOT ;; *) png=$ROOT/$DASHBOARD_SCREENSHOT ;; esac
    node "$ROOT/tests/browser/screenshot.js" "$G/" "$MQTT_PORT" "$png" "$TOKEN" || fail "README screenshot failed"
fi
node "$ROOT/tests/browser/dashboard.js" "$G/" "$MQTT_PORT" "$ROOT/tests/out" "$TOKEN" || fail "browser test failed"
