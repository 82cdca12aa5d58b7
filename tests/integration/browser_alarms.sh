#!/usr/bin/env bash
# The dashboard's alarms panel in real headless Chromium (tests/browser/alarms.js):
# mosquitto and the gateway run for real (no chain needed); anomalies are
# published on MQTT as the detector would. The page must show the alarm,
# act on it from the keyboard and with the buttons (the gateway's REST
# state must change), mark a silent sensor, export CSV, page the history.
# Screenshots go to tests/out/.
. "$(dirname "$0")/../lib.sh"
. "$ROOT/tests/gateway/lib.sh"
command -v mosquitto >/dev/null || skip "mosquitto not installed"
[ -x "$BIN/gateway" ] || fail "missing $BIN/gateway (make all)"
[ -x /usr/bin/chromium ] || skip "no /usr/bin/chromium"
[ -d "$ROOT/tools/node_modules/playwright-core" ] || skip "playwright-core not installed (npm ci in tools/)"
start_mosquitto
TOKEN=alarms-$RANDOM$RANDOM
# ALARM_POINT_CALM_S=0: a point alarm opens and clears at once (history).
start_gateway RPC_URL=http://127.0.0.1:9 STATE_DIR="$T/gw" GATEWAY_TOKEN="$TOKEN" ALARM_POINT_CALM_S=0
wait_for 10 sh -c "curl -sf $G/metrics | grep -q '^iotad_gateway_mqtt_connected 1'" ||
    fail "gateway not connected to MQTT"
mkdir -p "$ROOT/tests/out"
node "$ROOT/tests/browser/alarms.js" "$G/" "$MQTT_PORT" "$ROOT/tests/out" "$TOKEN" || fail "browser alarms test failed"
