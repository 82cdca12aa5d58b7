#!/usr/bin/env bash
# Detector against a real mosquitto, default engine settings (WARMUP 300,
# threshold 0.55, no shape detector), with anomalies only the model can
# see: every value stays well inside what a room sensor reports.
#   - sensor A: after 420 normal readings (a gentle cycle, 0.05 degC noise),
#     one reading 3 degC above its neighbours (24 degC), then normal again
#     -> exactly one `point` anomaly on anomalies/A, at that reading;
#   - sensor B: the same, but the 3 degC step holds -> its first anomaly on
#     anomalies/B is a `change_point` at the step.
# Neither sensor may alert during or after its warm-up before the event.
. "$(dirname "$0")/../lib.sh"

command -v mosquitto >/dev/null || skip "mosquitto not installed"
[ -x "$BIN/detector" ] || fail "build/bin/detector missing (make all)"
PY=/usr/bin/python3

start_mosquitto
# Only where state goes and how often stats are logged; the model settings
# stay at their defaults.
for v in WARMUP THRESHOLD Z_MIN THRESHOLDS_FILE SHAPE_DETECT INGEST_MAPPING; do unset "$v"; done
export STATE_DIR=$T/state STATS_INTERVAL=1
A=model-spike-$$ B=model-shift-$$
T0=1764000000
EVENT=420 N=480
EVENT_TS=$((T0 + 60 * EVENT))

# readings MODE: N readings every 60 s as JSON lines; MODE spike adds 3 degC
# at reading EVENT only, shift from reading EVENT on.
readings() {
    $PY - "$1" "$N" "$EVENT" "$T0" <<'PY'
import math, random, sys
mode, n, event, t0 = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4])
rnd = random.Random(5)
for i in range(n):
    v = 21.0 + 0.8 * math.sin(2 * math.pi * i / 120.0) + rnd.gauss(0, 0.05)
    h = 40 + 0.3 * math.cos(i / 9.0) + rnd.gauss(0, 0.1)
    if (mode == "spike" and i == event) or (mode == "shift" and i >= event):
        v += 3.0
    print('{"ts": %.1f, "temperature": %.3f, "humidity": %.2f}' % (t0 + 60 * i, v, h))
PY
}

bg det env LOG_LEVEL=debug "$BIN/detector"
DET_PID=$LAST_PID
wait_for 15 grep -q mqtt_subscribed "$T/det.log" || fail "detector did not subscribe"
mosquitto_sub -h 127.0.0.1 -p "$MQTT_PORT" -q 1 -t "anomalies/$A" -C 1 -W 60 >"$T/a.json" 2>"$T/suba.log" &
SUBA=$!
mosquitto_sub -h 127.0.0.1 -p "$MQTT_PORT" -q 1 -t "anomalies/$B" -C 1 -W 60 >"$T/b.json" 2>"$T/subb.log" &
SUBB=$!
sleep 0.5
readings spike | mosquitto_pub -h 127.0.0.1 -p "$MQTT_PORT" -q 1 -t "sensors/$A/readings" -l
readings shift | mosquitto_pub -h 127.0.0.1 -p "$MQTT_PORT" -q 1 -t "sensors/$B/readings" -l
wait_for 30 grep -q "stats readings=$((2 * N)) " "$T/det.log" || fail "detector did not process all readings"
kill -0 "$DET_PID" || fail "detector died"
wait $SUBA || fail "no anomaly for $A (the 3 degC spike) within 60 s"
wait $SUBB || fail "no anomaly for $B (the 3 degC level shift) within 60 s"
cat "$T/a.json" "$T/b.json"

$PY - "$T/a.json" "$A" point "$EVENT_TS" <<'PY' || fail "spike anomaly wrong"
import json, sys
a = json.load(open(sys.argv[1]))
assert a["sensor_id"] == sys.argv[2], a
assert a["metric"] == "temperature", a
assert a["type"] == sys.argv[3], a
assert abs(a["ts"] - float(sys.argv[4])) < 1e-6, a
assert 23.0 < a["value"] < 25.5, a  # inside any room's range: only the model can tell
PY
$PY - "$T/b.json" "$B" change_point "$EVENT_TS" <<'PY' || fail "level-shift anomaly wrong"
import json, sys
a = json.load(open(sys.argv[1]))
assert a["sensor_id"] == sys.argv[2], a
assert a["metric"] == "temperature", a
assert a["type"] == sys.argv[3], a
assert abs(a["ts"] - float(sys.argv[4])) < 1e-6, a
assert 23.0 < a["value"] < 25.5, a
assert "shifted up" in a["explanation"], a["explanation"]
PY
# The spike is one event: one anomaly for A in all.
n=$(grep -c " anomaly sensor=$A " "$T/det.log" || true)
[ "$n" = 1 ] || fail "expected exactly one anomaly for $A, got $n: $(grep " anomaly sensor=$A " "$T/det.log")"
echo "spike -> point, level shift -> change_point, both inside the physical range"
