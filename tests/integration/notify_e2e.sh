#!/usr/bin/env bash
# notify_e2e — an injected fault reaches a webhook, end to end (issue #18):
# readings -> detector (anomalies) -> gateway (alarm lifecycle, issue #17)
# -> notifier -> a local webhook receiver, on a real mosquitto (no chain):
#   - the fault's alarm arrives as "opened" with a valid X-Signature-256,
#     the gateway's alarm object and an idempotency key;
#   - acknowledging it through REST arrives as "acknowledged";
#   - it clears by itself after calm and the recovery message arrives;
#   - Home Assistant sees the sensor (discovery config, ON while active);
#   - the gateway's /metrics shows the notifier's per-channel counters.
. "$(dirname "$0")/../lib.sh"
. "$ROOT/tests/gateway/lib.sh"
for b in detector gateway notifier; do [ -x "$BIN/$b" ] || fail "missing $BIN/$b (make all)"; done
PY=/usr/bin/python3
RX=$(dirname "$0")/notify_receiver.py
start_mosquitto
pub() { mosquitto_pub -h 127.0.0.1 -p "$MQTT_PORT" -q 1 "$@"; }
F=fault-$$
TOKEN=tok-$RANDOM$RANDOM
AUTH=(-H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/json')

H=$(free_port)
bg rx $PY "$RX" http "$H" "$T/rx.jsonl" e2esecret
wait_port "$H" 10 || fail "SLOW-START: webhook receiver"
cat >"$T/notify.json" <<JSON
{"channels": [{"name": "ops", "type": "webhook", "url": "http://127.0.0.1:$H/hook",
               "secret": "e2esecret", "min_severity": "warning", "rate_per_minute": 600}]}
JSON
bg notifier env NOTIFY_CONFIG="$T/notify.json" NOTIFY_OUTBOX="$T/outbox" NOTIFY_STATUS_INTERVAL=1 "$BIN/notifier"
bg detector env STATE_DIR="$T/det" WARMUP=60 SAVE_INTERVAL=1 STATS_INTERVAL=1 "$BIN/detector"
wait_for 15 grep -q "subscribed topic=sensors" "$T/detector.log" || fail "SLOW-START: detector did not subscribe"
start_gateway RPC_URL=http://127.0.0.1:9 STATE_DIR="$T/gw" GATEWAY_TOKEN="$TOKEN" \
    ALARM_CALM_S=3 ALARM_POINT_CALM_S=8
wait_for 10 sh -c "curl -sf $G/metrics | grep -q '^iotad_gateway_mqtt_connected 1'" ||
    fail "SLOW-START: gateway not connected to MQTT"
wait_for 10 grep -q notify_started "$T/notifier.log" || fail "SLOW-START: notifier did not start"

T0=1764000000
$PY - 150 $T0 <<'PY' | pub -t "sensors/$F/readings" -l
import math, sys
n, t0 = int(sys.argv[1]), float(sys.argv[2])
for i in range(n):
    v = 21.0 + 0.5 * math.sin(i / 15.0) + 0.05 * math.sin(i * 1.7)
    print('{"ts": %.1f, "temperature": %.3f}' % (t0 + 60 * i, v))
PY
wait_for 20 grep -q "stats readings=150 " "$T/detector.log" || fail "SLOW-START: detector did not process the warm-up"
TS=$((T0 + 60 * 150))
printf '{"ts": %s, "temperature": 1000}\n{"ts": %s, "temperature": 21.1}\n' "$TS" $((TS + 60)) |
    pub -t "sensors/$F/readings" -l

# the alarm opened reaches the webhook, signed
wait_for 15 grep -q '"event": "opened"' "$T/rx.jsonl" || fail "LOST: the fault's alarm never reached the webhook"
ID=$($PY - "$T/rx.jsonl" "$F" <<'PY'
import json, sys
r = [json.loads(l) for l in open(sys.argv[1]) if '"opened"' in l][0]
b = r["body"]
assert r["sig_ok"], "X-Signature-256 does not verify"
a = b["alarm"]
assert a["sensor_id"] == sys.argv[2] and a["state"] == "active" and a["kind"] == "point", a
assert b["idempotency_key"] == "%s:opened:%d" % (a["id"], b["at"]), b
assert r["headers"]["Idempotency-Key"] == b["idempotency_key"]
print(a["id"])
PY
) || fail "the opened message is wrong"
echo "alarm $ID notified"

# acknowledged through REST -> "acknowledged"
curl -sf -X POST "${AUTH[@]}" -d '{"by":"alice"}' "$G/api/alarms/$ID/ack" >/dev/null || fail "ack failed"
wait_for 10 grep -q '"event": "acknowledged"' "$T/rx.jsonl" || fail "LOST: the acknowledgement was not notified"
grep '"acknowledged"' "$T/rx.jsonl" | grep -q '"by": "alice"' || fail "the acknowledgement does not say who"

# Home Assistant: the sensor is announced
wait_for 5 sh -c "mosquitto_sub -h 127.0.0.1 -p $MQTT_PORT -t homeassistant/binary_sensor/iotad/${F}_anomaly/config -C 1 -W 1 | grep -q problem" ||
    fail "no discovery config for $F"

# calm: the alarm clears by itself -> recovery message
wait_for 25 grep -q '"event": "cleared"' "$T/rx.jsonl" || fail "LOST: no recovery message after the alarm cleared"
grep '"cleared"' "$T/rx.jsonl" | grep -q recovered || fail "the recovery message does not say so"
[ "$(grep -c '"event": "opened"' "$T/rx.jsonl")" = 1 ] || fail "DUP: the fault was notified $(grep -c '"event": "opened"' "$T/rx.jsonl") times"
# the per-channel counters on the gateway's /metrics (via status/notifier/notifier)
wait_for 5 sh -c "curl -sf $G/metrics | grep -q '^iotad_notifier_sent_total{instance=\"notifier\",channel=\"ops\"} [3-9]'" ||
    fail "no iotad_notifier_sent_total for ops on /metrics: $(curl -sf "$G/metrics" | grep notifier | head -5)"
echo "notify_e2e: ok"
