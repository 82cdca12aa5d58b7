# The simulator against a real mosquitto on a free loopback port:
#   - readings arrive on sensors/+/readings as valid JSON (ts + the three
#     metrics), from the configured fleet, with simulated ts advancing by the
#     profile's interval at the configured speedup;
#   - labels arrive on sim/labels/+ with every field, for the right sensor,
#     and the same events are appended to --labels-csv;
#   - after the broker restarts, the simulator reconnects and readings flow again;
#   - dataset mode is deterministic per seed;
#   - a bad profile file is refused with a message naming it.
. "$(dirname "$0")/../lib.sh"
[ -x "$BIN/simulator" ] || fail "missing $BIN/simulator"
command -v mosquitto_sub >/dev/null || skip "mosquitto_sub not installed"
PY=/usr/bin/python3
[ -x "$PY" ] || PY=python3

start_mosquitto
mosquitto_sub -h 127.0.0.1 -p "$MQTT_PORT" -t 'sensors/+/readings' -v -C 400 -W 30 >"$T/readings.txt" 2>"$T/sub1.err" &
SUB1=$!
mosquitto_sub -h 127.0.0.1 -p "$MQTT_PORT" -t 'sim/labels/+' -v -C 3 -W 30 >"$T/labels.txt" 2>"$T/sub2.err" &
SUB2=$!
PIDS+=("$SUB1" "$SUB2")
sleep 1 # let both subscriptions reach the broker

# 1440x: office (60 s) reports 24 times per second; anomalies start after
# 20 readings per sensor, 200 per sensor-day, so labels come within seconds.
bg sim "$BIN/simulator" --fleet office:2,server_room:1,cold_store:1 --speedup 1440 \
    --start 2025-07-01T00:00:00Z --anomaly-warmup 20 --anomaly-rate 200 --run-for 12 \
    --labels-csv "$T/labels.csv" --seed 3 --progress-interval 1
SIM=$LAST_PID
wait "$SUB1" || fail "did not get 400 readings (mosquitto_sub rc=$?)"
wait "$SUB2" || fail "did not get 3 labels (mosquitto_sub rc=$?)"
wait "$SIM" || fail "simulator exited with $?"

$PY - "$T/readings.txt" "$T/labels.txt" "$T/labels.csv" <<'PYEOF' || fail "message check failed"
import csv, json, sys
fleet = {"office-0001", "office-0002", "server_room-0001", "cold_store-0001"}
interval = {"office": 60, "server_room": 30, "cold_store": 60}
start = 1751328000  # 2025-07-01T00:00:00Z
last = {}
n = 0
for line in open(sys.argv[1]):
    topic, payload = line.rstrip("\n").split(" ", 1)
    parts = topic.split("/")
    assert len(parts) == 3 and parts[0] == "sensors" and parts[2] == "readings", topic
    sid = parts[1]
    assert sid in fleet, sid
    r = json.loads(payload)
    assert isinstance(r["ts"], (int, float)) and start <= r["ts"] < start + 86400, r
    for m in ("temperature", "humidity", "pressure"):
        # a dropout anomaly may omit one metric
        if m in r:
            assert isinstance(r[m], (int, float)), (m, r)
    assert sum(m in r for m in ("temperature", "humidity", "pressure")) >= 2, r
    if sid in last:
        step = r["ts"] - last[sid]
        assert step == interval[sid.rsplit("-", 1)[0]], (sid, step)
    last[sid] = r["ts"]
    n += 1
assert n == 400, n
assert len(last) == 4, last.keys()

labels = []
for line in open(sys.argv[2]):
    topic, payload = line.rstrip("\n").split(" ", 1)
    l = json.loads(payload)
    assert topic == "sim/labels/" + l["sensor_id"], (topic, l)
    assert l["sensor_id"] in fleet
    assert l["type"] in ("point", "contextual", "change_point"), l
    assert l["metric"] in ("temperature", "humidity", "pressure"), l
    assert l["end_ts"] >= l["start_ts"] >= start, l
    assert l["nsamples"] >= 1 and isinstance(l["magnitude"], (int, float)), l
    assert l["id"].startswith(l["sensor_id"] + "-e"), l
    labels.append(l["id"])
rows = {r["id"]: r for r in csv.DictReader(open(sys.argv[3]))}
for i in labels:
    assert i in rows, ("label not in csv", i)
print("readings", n, "labels", len(labels), "csv rows", len(rows))
PYEOF
grep -q 'progress ' "$T/sim.log" || fail "no progress log line"
grep -q 'done readings=' "$T/sim.log" || fail "no final log line"

# Reconnect: stop the broker under a running simulator, restart it on the
# same port, and readings must flow again.
bg sim2 "$BIN/simulator" --fleet office:1 --speedup 600 --run-for 40 --anomaly-rate 0
SIM2=$LAST_PID
wait_for 10 grep -q mqtt_connected "$T/sim2.log" || fail "simulator did not connect"
kill "$MOSQ_PID"
wait "$MOSQ_PID" 2>/dev/null || true
wait_for 10 grep -q mqtt_disconnected "$T/sim2.log" || fail "simulator did not notice the broker going away"
mosquitto_restart mosquitto2
reconnected() { [ "$(grep -c mqtt_connected "$T/sim2.log")" -ge 2 ]; }
wait_for 15 reconnected || fail "simulator did not reconnect"
mosquitto_sub -h 127.0.0.1 -p "$MQTT_PORT" -t 'sensors/office-0001/readings' -C 5 -W 10 >"$T/after.txt" ||
    fail "no readings after the broker restart"
kill "$SIM2"
wait "$SIM2" 2>/dev/null || true

# --rate caps readings per second (unpaced clock): 500/s for 2 s.
"$BIN/simulator" --fleet office:20 --speedup 0 --rate 500 --run-for 2 --anomaly-rate 0 2>"$T/rate.log" ||
    fail "rate-capped run failed"
n=$(sed -n 's/.* done readings=\([0-9]*\) .*/\1/p' "$T/rate.log")
[ -n "$n" ] && [ "$n" -ge 800 ] && [ "$n" -le 1200 ] || fail "--rate 500 for 2 s sent ${n:-?} readings"

# QoS 1 goes through the common MQTTAsync wrapper, labels too.
mosquitto_sub -h 127.0.0.1 -p "$MQTT_PORT" -q 1 -t 'sensors/+/readings' -C 50 -W 20 >"$T/q1.txt" 2>&1 &
SUB3=$!
PIDS+=("$SUB3")
sleep 0.5
bg simq1 "$BIN/simulator" --fleet office:2 --speedup 3600 --qos 1 --run-for 5 --anomaly-rate 0
SIMQ1=$LAST_PID
wait "$SUB3" || fail "no QoS 1 readings"
wait "$SIMQ1" || fail "QoS 1 simulator exited with $?"
grep -q 'publisher=paho qos=1' "$T/simq1.log" || fail "QoS 1 did not use the paho publisher"

# Dataset mode: same seed, same bytes; another seed, other bytes.
"$BIN/simulator" --csv "$T/ds1" --days 2 --seed 9 2>"$T/ds1.log" || fail "dataset run failed"
"$BIN/simulator" --csv "$T/ds2" --days 2 --seed 9 2>"$T/ds2.log" || fail "dataset run failed"
"$BIN/simulator" --csv "$T/ds3" --days 2 --seed 10 2>"$T/ds3.log" || fail "dataset run failed"
diff -r -x windows.json "$T/ds1" "$T/ds2" >/dev/null || fail "same seed gave different datasets"
# windows.json differs only in the directory-name alias keys (ds1/ vs ds2/).
diff <(sed 's|ds1/|DIR/|' "$T/ds1/windows.json") <(sed 's|ds2/|DIR/|' "$T/ds2/windows.json") >/dev/null ||
    fail "same seed gave different windows.json"
cmp -s "$T/ds1/office-0001.csv" "$T/ds3/office-0001.csv" && fail "different seeds gave the same data"
[ "$(head -1 "$T/ds1/office-0001.csv")" = "timestamp,temperature,humidity,pressure" ] || fail "bad header"
[ "$(wc -l <"$T/ds1/office-0001.csv")" = 2881 ] || fail "office-0001.csv should have 2880 rows"

# Configuration errors are reported, not crashed on.
echo '{"profiles": [{"name": "x", "temprature": {}}]}' >"$T/bad.json"
if "$BIN/simulator" --profiles "$T/bad.json" --csv "$T/never" 2>"$T/bad.log"; then fail "bad profile accepted"; fi
grep -q "bad.json" "$T/bad.log" && grep -q "temprature" "$T/bad.log" || fail "unclear error: $(cat "$T/bad.log")"
if "$BIN/simulator" --fleet nosuch:1 --csv "$T/never" 2>"$T/bad2.log"; then fail "bad fleet accepted"; fi
grep -q "no such profile" "$T/bad2.log" || fail "unclear error: $(cat "$T/bad2.log")"
"$BIN/simulator" --help >"$T/help.txt" || fail "--help failed"
grep -q SIM_SPEEDUP "$T/help.txt" || fail "--help lacks SIM_SPEEDUP"
echo "simulator integration: ok"
