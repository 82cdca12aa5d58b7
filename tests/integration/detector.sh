#!/usr/bin/env bash
# Detector against a real mosquitto: a sensor warms up, a spike produces
# exactly one point anomaly on anomalies/<id> with every required field,
# bad input neither crashes nor alerts, and a restarted detector resumes
# with its saved model (scores at once, same model_version, no warm-up).
. "$(dirname "$0")/../lib.sh"

command -v mosquitto >/dev/null || skip "mosquitto not installed"
[ -x "$BIN/detector" ] || fail "build/bin/detector missing (make all)"
PY=/usr/bin/python3

start_mosquitto
export STATE_DIR=$T/state WARMUP=60 SAVE_INTERVAL=1 STATS_INTERVAL=1
SENSOR=itest-$$

start_detector() {
    bg "$1" env LOG_LEVEL=debug "$BIN/detector"
    DET_PID=$LAST_PID
    wait_for 15 grep -q mqtt_subscribed "$T/$1.log" || fail "detector did not subscribe"
}

# readings LINES FROM_TS: LINES warm-up readings every 60 s, a gentle wave.
readings() {
    $PY - "$1" "$2" <<'PY'
import math, sys
n, t0 = int(sys.argv[1]), float(sys.argv[2])
for i in range(n):
    v = 21.0 + 0.5 * math.sin(i / 15.0) + 0.05 * math.sin(i * 1.7)
    print('{"ts": %.1f, "temperature": %.3f, "humidity": %.2f}' % (t0 + 60 * i, v, 40 + 0.3 * math.cos(i / 9.0)))
PY
}

T0=1764000000
start_detector det1
# Listen before anything is published: the first anomaly must be the spike.
mosquitto_sub -h 127.0.0.1 -p "$MQTT_PORT" -q 1 -t "anomalies/$SENSOR" -C 1 -W 30 >"$T/a1.json" 2>"$T/sub1.log" &
SUB=$!
sleep 0.5
readings 150 $T0 | mosquitto_pub -h 127.0.0.1 -p "$MQTT_PORT" -q 1 -t "sensors/$SENSOR/readings" -l
# Bad input: counted and logged, never a crash or an alert.
mosquitto_pub -h 127.0.0.1 -p "$MQTT_PORT" -q 1 -t "sensors/$SENSOR/readings" -m 'not json'
mosquitto_pub -h 127.0.0.1 -p "$MQTT_PORT" -q 1 -t "sensors/$SENSOR/readings" -m '{"temperature": "hot"}'
mosquitto_pub -h 127.0.0.1 -p "$MQTT_PORT" -q 1 -t "sensors/$(printf "x%.0s" $(seq 1 70))/readings" -m '{"temperature": 1}'
wait_for 15 grep -q "stats readings=150 " "$T/det1.log" || fail "detector did not process the warm-up"
grep -q "model_trained metric=temperature" "$T/det1.log" || fail "no model trained after warm-up"
kill -0 "$DET_PID" || fail "detector died on bad input"
grep -q "bad_reading" "$T/det1.log" || fail "bad input was not logged"

SPIKE_TS=$((T0 + 60 * 150))
mosquitto_pub -h 127.0.0.1 -p "$MQTT_PORT" -q 1 -t "sensors/$SENSOR/readings" \
    -m "{\"ts\": $SPIKE_TS, \"temperature\": 1000, \"humidity\": 40.1}"
wait $SUB || fail "no anomaly within 30 s (see $T/det1.log)"
cat "$T/a1.json"
$PY - "$T/a1.json" "$SENSOR" "$SPIKE_TS" <<'PY' || fail "anomaly fields wrong"
import json, re, sys
a = json.load(open(sys.argv[1]))
sensor, ts = sys.argv[2], float(sys.argv[3])
assert re.fullmatch(r"[0-9a-f]{64}", a["id"]), a["id"]
assert a["sensor_id"] == sensor, a
assert a["metric"] == "temperature", a
assert a["value"] == 1000, a
assert abs(a["ts"] - ts) < 1e-6, a
assert a["type"] == "point", a
assert 0 < a["score"] <= 1, a
assert "temperature 1000" in a["explanation"] and "above" in a["explanation"], a["explanation"]
assert a["expected_low"] < 21 < a["expected_high"], a
assert a["model_version"] >= 1, a
open(sys.argv[1] + ".version", "w").write(str(a["model_version"]))
PY
VERSION=$(cat "$T/a1.json.version")

# The stream's alarm state is retained: in alarm after the spike ...
alarm_state() {
    mosquitto_sub -h 127.0.0.1 -p "$MQTT_PORT" -t "detector/alarm/$SENSOR/temperature" -C 1 -W 5 |
        $PY -c 'import json,sys; print(json.load(sys.stdin)["in_alarm"])'
}
[ "$(alarm_state)" = True ] || fail "no retained in_alarm=true after the spike"

# Normal readings after the spike do not alert again (one event, one alert).
readings 20 $((SPIKE_TS + 60)) | mosquitto_pub -h 127.0.0.1 -p "$MQTT_PORT" -q 1 -t "sensors/$SENSOR/readings" -l
wait_for 10 grep -q "stats readings=171 " "$T/det1.log" || fail "post-spike readings not processed"
# ... and calm again after it.
[ "$(alarm_state)" = False ] || fail "retained in_alarm still true after calm readings"
[ "$(grep -c '^.* anomaly sensor=' "$T/det1.log")" = 1 ] || fail "expected exactly one anomaly: $(grep ' anomaly sensor=' "$T/det1.log")"

# Restart: the saved model is loaded and the sensor is scored at once.
kill -TERM "$DET_PID"
for _ in $(seq 1 50); do kill -0 "$DET_PID" 2>/dev/null || break; sleep 0.1; done
kill -0 "$DET_PID" 2>/dev/null && fail "detector did not stop on SIGTERM"
[ -s "$STATE_DIR/models/forest-temperature.bin" ] || fail "no saved forest"
[ -s "$STATE_DIR/models/sensors.bin" ] || fail "no saved sensor state"
start_detector det2
grep -q "models_restored dir=$STATE_DIR/models sensors=1" "$T/det2.log" || fail "models not restored"
mosquitto_sub -h 127.0.0.1 -p "$MQTT_PORT" -q 1 -t "anomalies/$SENSOR" -C 1 -W 30 >"$T/a2.json" 2>"$T/sub2.log" &
SUB=$!
sleep 0.5
T2=$((SPIKE_TS + 60 * 25))
mosquitto_pub -h 127.0.0.1 -p "$MQTT_PORT" -q 1 -t "sensors/$SENSOR/readings" \
    -m "{\"ts\": $T2, \"temperature\": -500, \"humidity\": 40.2}"
wait $SUB || fail "restarted detector did not alert (warm-up again?)"
$PY - "$T/a2.json" "$VERSION" <<'PY' || fail "anomaly after restart wrong"
import json, sys
a = json.load(open(sys.argv[1]))
assert a["value"] == -500 and a["type"] == "point", a
assert a["model_version"] == int(sys.argv[2]), (a["model_version"], sys.argv[2])
PY
grep -q "model_trained" "$T/det2.log" && fail "restarted detector re-trained instead of resuming"
echo "detector integration: ok"
