#!/usr/bin/env bash
# browser_notify — the dashboard's Notifications panel (issue #18, item 5)
# in real headless Chromium (tests/browser/notify.js): mosquitto, the
# notifier with two webhook channels ("ops" -> a local receiver,
# tests/integration/notify_receiver.py; "down" -> a closed port) and the
# gateway run for real. The panel lists the channels from the notifier's
# retained report (notify/channels/{instance}); "Send test" (a keyboard-
# usable button, the gateway token required) makes the receiver get a
# signed "test" event; the closed port's failure and its reason show in the
# panel and in GET /api/notify/channels. No chain is needed: the gateway
# serves the API and the page without one.
. "$(dirname "$0")/../lib.sh"
. "$ROOT/tests/gateway/lib.sh"
for b in notifier gateway; do [ -x "$BIN/$b" ] || fail "missing $BIN/$b"; done
[ -x /usr/bin/chromium ] || skip "no /usr/bin/chromium"
[ -d "$ROOT/tools/node_modules/playwright-core" ] || skip "playwright-core not installed (npm ci in tools/)"
RX=$(dirname "$0")/notify_receiver.py
start_mosquitto
H=$(free_port)
C=$(free_port) # nothing listens here: the "down" channel
while [ "$C" = "$H" ]; do C=$(free_port); done
bg rx python3 "$RX" http "$H" "$T/rx.jsonl" panelsecret
wait_port "$H" 10 || fail "SLOW-START: receiver"
cat >"$T/notify.json" <<JSON
{"channels": [
  {"name": "ops", "type": "webhook", "url": "http://127.0.0.1:$H/hook", "secret": "panelsecret"},
  {"name": "down", "type": "webhook", "url": "http://127.0.0.1:$C/hook", "secret": "x",
   "timeout_seconds": 2, "backoff_max_seconds": 2}
]}
JSON
NOTIFY_CONFIG=$T/notify.json NOTIFY_OUTBOX=$T/outbox NOTIFY_HA=0 NOTIFY_STATUS_INTERVAL=1 \
    bg notifier "$BIN/notifier"
wait_for 10 grep -q notify_started "$T/notifier.log" || fail "SLOW-START: notifier did not start"
TOKEN=panel-$RANDOM$RANDOM
export STATE_DIR=$T/state
start_gateway GATEWAY_TOKEN="$TOKEN" RPC_URL=http://127.0.0.1:$C CONTRACT_ADDRESS=0x0000000000000000000000000000000000000001
# the report reaches the gateway (retained, or within the status interval)
wait_for 10 sh -c "curl -sf $G/api/notify/channels | grep -q '\"name\":\"down\"'" ||
    fail "SLOW-START: no channel report in the gateway: $(curl -s "$G/api/notify/channels")"
# the API without the browser: a test needs the token; an unknown channel is 404
code=$(curl -s -o /dev/null -w '%{http_code}' -X POST -d '{}' "$G/api/notify/test")
[ "$code" = 401 ] || fail "POST /api/notify/test without the token: $code"
code=$(curl -s -o /dev/null -w '%{http_code}' -X POST -H "Authorization: Bearer $TOKEN" \
    -d '{"channel": "nope"}' "$G/api/notify/test")
[ "$code" = 404 ] || fail "POST /api/notify/test for an unknown channel: $code"
code=$(curl -s -o /dev/null -w '%{http_code}' -X POST -H "Authorization: Bearer $TOKEN" \
    -d '{"channel": "bad name"}' "$G/api/notify/test")
[ "$code" = 400 ] || fail "POST /api/notify/test with an invalid name: $code"
mkdir -p "$ROOT/tests/out"
node "$ROOT/tests/browser/notify.js" "$G/" "$TOKEN" "$T/rx.jsonl" "$ROOT/tests/out" || fail "browser test failed"
# the per-channel counters in /metrics (from the notifier's status report)
wait_for 5 sh -c "curl -sf $G/metrics | grep -q '^iotad_notifier_failed_total{instance=\"notifier\",channel=\"down\"} [1-9]'" ||
    fail "no iotad_notifier_failed_total for down: $(curl -sf "$G/metrics" | grep notifier_ | head)"
curl -sf "$G/metrics" | grep -q '^iotad_notifier_sent_total{instance="notifier",channel="ops"} [1-9]' ||
    fail "no iotad_notifier_sent_total for ops"
echo "browser_notify: ok"
