#!/usr/bin/env bash
# Folded alerts still count (issue #17): a sensor whose fault goes on long
# enough for the detector to fold its further alerts into the burst
# (BURST_READINGS 600, BURST_ALERTS 4, the defaults: published as
# anomalies only the first few) has alarms whose `count` adds up to every
# alert the detector raised for it: the published ones plus the folded
# ones, which reach the gateway as summaries on detector/repeat/{id}/{metric}
# (bus/alert_repeat.h). Both totals are read from the detector's own
# counters in the gateway's /metrics. Detector + gateway on a real
# mosquitto, no chain.
. "$(dirname "$0")/../lib.sh"
. "$ROOT/tests/gateway/lib.sh"
command -v mosquitto >/dev/null || skip "mosquitto not installed"
for b in detector gateway; do [ -x "$BIN/$b" ] || fail "missing $BIN/$b (make all)"; done
PY=/usr/bin/python3
start_mosquitto
pub() { mosquitto_pub -h 127.0.0.1 -p "$MQTT_PORT" -q 1 "$@"; }
F=burst-$$

bg detector env STATE_DIR="$T/det" WARMUP=60 SAVE_INTERVAL=0 STATS_INTERVAL=1 STATUS_INTERVAL=1 \
    "$BIN/detector"
wait_for 15 grep -q "subscribed topic=detector/feedback" "$T/detector.log" || fail "detector did not subscribe"
start_gateway RPC_URL=http://127.0.0.1:9 STATE_DIR="$T/gw" ALARM_POINT_CALM_S=600 ALARM_CALM_S=600
wait_for 10 sh -c "curl -sf $G/metrics | grep -q '^iotad_gateway_mqtt_connected 1'" ||
    fail "gateway not connected to MQTT"
mosquitto_sub -h 127.0.0.1 -p "$MQTT_PORT" -q 1 -v -t 'detector/repeat/#' >"$T/repeats.out" 2>/dev/null &
PIDS+=($!)

# 150 normal readings 60 s apart, then 14 spikes, each followed by two
# normal readings: the detector publishes the first few and folds the rest.
T0=1764000000
$PY - "$T0" <<'PY' | pub -t "sensors/$F/readings" -l
import math, sys
t0 = float(sys.argv[1])
for i in range(150):
    v = 21.0 + 0.5 * math.sin(i / 15.0) + 0.05 * math.sin(i * 1.7)
    print('{"ts": %.1f, "temperature": %.3f}' % (t0 + 60 * i, v))
for k in range(14):
    t = t0 + 60 * (150 + 3 * k)
    print('{"ts": %.1f, "temperature": 1000}' % t)
    print('{"ts": %.1f, "temperature": 21.1}' % (t + 60))
    print('{"ts": %.1f, "temperature": 21.0}' % (t + 120))
PY
wait_for 20 grep -q "stats readings=192 " "$T/detector.log" ||
    fail "detector did not process the 192 readings: $(grep 'stats readings' "$T/detector.log" | tail -1)"

# metric NAME: the sum of its samples in the gateway's /metrics
metric() { curl -sf "$G/metrics" | awk -v m="$1" '$1 == m || index($1, m "{") == 1 { s += $2 } END { print s + 0 }'; }
# alarm_count: the counts of every alarm of the sensor, active or cleared
alarm_count() {
    curl -sf "$G/api/alarms?sensor_id=$F&state=all" |
        $PY -c 'import json,sys; print(sum(a["count"] for a in json.load(sys.stdin)["alarms"]))'
}
# the detector's own totals, once its status report has them (every 1 s)
STATS=$(grep 'stats readings=192 ' "$T/detector.log" | tail -1)
WANT_FOLDED=$(echo "$STATS" | sed 's/.* folded=\([0-9]*\).*/\1/')
[ "${WANT_FOLDED:-0}" -ge 1 ] || fail "the detector folded nothing, the test proves nothing: $STATS"
wait_for 10 sh -c "[ \"\$(curl -sf $G/metrics | awk '/^iotad_detector_alerts_folded_total/ {print \$2}')\" = $WANT_FOLDED ]" ||
    fail "the gateway's /metrics lacks the detector's folded total $WANT_FOLDED"
FOLDED=$(metric iotad_detector_alerts_folded_total)
EMITTED=$(curl -sf "$G/metrics" |
    awk '/^iotad_detector_anomalies_total\{/ && /type="(point|contextual|change_point)"/ { s += $2 } END { print s + 0 }')
[ "$EMITTED" -ge 1 ] || fail "no anomalies_total in /metrics"
WANT=$((EMITTED + FOLDED))
echo "detector: $EMITTED published, $FOLDED folded"
wait_for 10 sh -c "[ \"\$(curl -sf '$G/api/alarms?sensor_id=$F&state=all' | $PY -c 'import json,sys; print(sum(a[\"count\"] for a in json.load(sys.stdin)[\"alarms\"]))')\" = $WANT ]" ||
    fail "LOST: the alarms' count is $(alarm_count), want $WANT ($EMITTED published + $FOLDED folded): $(curl -sf "$G/api/alarms?sensor_id=$F&state=all")"
# every folded alert came in a summary, and the gateway added each once
[ "$(metric iotad_gateway_alarm_repeats_total)" = "$FOLDED" ] ||
    fail "DUP or LOST: iotad_gateway_alarm_repeats_total $(metric iotad_gateway_alarm_repeats_total), want $FOLDED"
$PY - "$T/repeats.out" "$F" "$FOLDED" <<'PY' || fail "repeat summaries wrong: $(cat "$T/repeats.out")"
import json, sys
n, msgs = 0, 0
for line in open(sys.argv[1]):
    topic, payload = line.split(" ", 1)
    x = json.loads(payload)
    assert topic == "detector/repeat/%s/temperature" % sys.argv[2], topic
    assert x["sensor_id"] == sys.argv[2] and x["count"] >= 1 and len(x["last_id"]) == 64, x
    assert x["peak_value"] == 1000 and 0 < x["peak_score"] <= 1, x
    n += x["count"]
    msgs += 1
assert n == int(sys.argv[3]), (n, sys.argv[3])
# 14 spikes arrive within a second or two: summed, not one message each
assert msgs < n or n == 1, (msgs, n)
print("repeats: %d folded alerts in %d summaries" % (n, msgs))
PY
# the peak of the alarm is the spike
curl -sf "$G/api/alarms?sensor_id=$F&state=all" | $PY -c '
import json, sys
a = [a for a in json.load(sys.stdin)["alarms"] if a["kind"] == "point"]
assert len(a) == 1 and a[0]["peak_value"] == 1000, a' || fail "not one point alarm peaking at the spike"
for k in repeat_invalid alarm_full alarm_state_invalid anomaly_invalid; do
    [ "$(metric "iotad_gateway_errors_total{kind=\"$k\"}")" = 0 ] || fail "gateway error $k: $(curl -sf "$G/metrics" | grep "kind=\"$k\"")"
done
# a summary that does not name its topic's stream, and one that is not one: refused, counted
pub -t "detector/repeat/other-1/temperature" -m '{"sensor_id":"'"$F"'","metric":"temperature","type":"point","count":5,"peak_value":1,"peak_score":0.9,"last_id":"ab","ts":1}'
pub -t "detector/repeat/$F/temperature" -m '{"sensor_id":"'"$F"'","metric":"temperature","type":"point","count":0,"peak_value":1,"peak_score":0.9,"last_id":"ab","ts":1}'
wait_for 5 sh -c "curl -sf $G/metrics | grep -q 'iotad_gateway_errors_total{kind=\"repeat_invalid\"} 2'" ||
    fail "invalid summaries not counted: $(curl -sf "$G/metrics" | grep repeat_invalid)"
[ "$(alarm_count)" = "$WANT" ] || fail "an invalid summary changed the count: $(alarm_count)"
echo "PASS: alarm count $WANT = $EMITTED published + $FOLDED folded"
