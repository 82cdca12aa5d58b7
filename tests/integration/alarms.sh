#!/usr/bin/env bash
# Alarms people can act on (issue #17), detector + gateway on a real
# mosquitto (no chain needed):
#   - a sensor's intermittent fault (five spikes) opens ONE point alarm with
#     count 5, not five; it clears by itself after the calm time
#   - a sensor that stops sending opens a `silent` alarm (critical) within
#     its deadline, and its next reading clears it
#   - ack / mute / false_positive through REST (token; who acted recorded)
#     change the alarm, and each change is on the WebSocket feed
#     ({"type":"alarm"}), on alarms/events/{id} and in the retained
#     alarms/{id}; without the token they are refused
#   - after false_positive the detector tolerates the same spike: no new
#     anomaly, no new alarm
#   - the alarms survive a gateway restart
. "$(dirname "$0")/../lib.sh"
. "$ROOT/tests/gateway/lib.sh"
command -v mosquitto >/dev/null || skip "mosquitto not installed"
for b in detector gateway; do [ -x "$BIN/$b" ] || fail "missing $BIN/$b (make all)"; done
PY=/usr/bin/python3
start_mosquitto
pub() { mosquitto_pub -h 127.0.0.1 -p "$MQTT_PORT" -q 1 "$@"; }
F=fault-$$ S=quiet-$$
TOKEN=tok-$RANDOM$RANDOM
AUTH=(-H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/json')

# BURST_READINGS=0: every spike is published, so the gateway's own grouping
# (one alarm, count 5) is what is tested (the detector would fold the fifth
# into the burst of the first four: test_det_engine's test_burst_folded).
bg detector env LOG_LEVEL=debug STATE_DIR="$T/det" WARMUP=60 SAVE_INTERVAL=1 STATS_INTERVAL=1 \
    SILENT_MIN_S=3 SILENT_FACTOR=5 BURST_READINGS=0 "$BIN/detector"
wait_for 15 grep -q mqtt_subscribed "$T/detector.log" || fail "detector did not subscribe"
start_gateway RPC_URL=http://127.0.0.1:9 STATE_DIR="$T/gw" GATEWAY_TOKEN="$TOKEN" \
    ALARM_CALM_S=3 ALARM_POINT_CALM_S=8
wait_for 10 sh -c "curl -sf $G/metrics | grep -q '^iotad_gateway_mqtt_connected 1'" ||
    fail "gateway not connected to MQTT"

# Everything the alarm side says, from now on: MQTT and the WebSocket feed.
mosquitto_sub -h 127.0.0.1 -p "$MQTT_PORT" -q 1 -v -t 'alarms/#' >"$T/mqtt.out" 2>/dev/null &
PIDS+=($!)
node "$ROOT/tests/gateway/wsclient.js" collect "ws://127.0.0.1:$GW_PORT/ws" 100000 55 \
    '{"subscribe":{"types":["alarm"]}}' "$T/ws.ready" >"$T/ws.out" 2>"$T/ws.err" &
PIDS+=($!)
wait_for 10 test -f "$T/ws.ready" || fail "WebSocket client not subscribed: $(cat "$T/ws.err")"

# readings N FROM_TS: N normal readings 60 s apart (a gentle wave).
readings() {
    $PY - "$1" "$2" <<'PY'
import math, sys
n, t0 = int(sys.argv[1]), float(sys.argv[2])
for i in range(n):
    v = 21.0 + 0.5 * math.sin(i / 15.0) + 0.05 * math.sin(i * 1.7)
    print('{"ts": %.1f, "temperature": %.3f}' % (t0 + 60 * i, v))
PY
}
# alarms QUERY: GET /api/alarms?QUERY
alarms() { curl -sf "$G/api/alarms?$1"; }
# jq-like: py EXPR < json (x = the parsed document)
py() { $PY -c "import json,sys; x=json.load(sys.stdin); print($1)"; }

T0=1764000000
readings 150 $T0 | pub -t "sensors/$F/readings" -l
wait_for 20 grep -q "stats readings=150 " "$T/detector.log" || fail "detector did not process the warm-up"
grep -q "model_trained metric=temperature" "$T/detector.log" || fail "no model after warm-up"

# --- one fault, one alarm ----------------------------------------------------
TS=$((T0 + 60 * 150))
spike() { # spike TS: a spike, then two normal readings
    printf '{"ts": %s, "temperature": 1000}\n{"ts": %s, "temperature": 21.1}\n{"ts": %s, "temperature": 21.0}\n' \
        "$1" $(($1 + 60)) $(($1 + 120)) | pub -t "sensors/$F/readings" -l
}
for k in 0 1 2 3 4; do spike $((TS + 180 * k)); done
TS=$((TS + 180 * 5))
point_alarms() { alarms "sensor_id=$F" | py '[a for a in x["alarms"] if a["kind"]=="point"]'; }
wait_for 15 sh -c "[ \$(grep -c 'anomaly sensor=$F metric=temperature type=point' '$T/detector.log') -ge 5 ]" ||
    fail "detector did not flag the five spikes: $(grep -c "anomaly sensor=$F" "$T/detector.log")"
wait_for 5 sh -c "curl -sf '$G/api/alarms?sensor_id=$F' | grep -q '\"count\":5'" ||
    fail "no alarm with count 5: $(alarms "sensor_id=$F")"
N=$(alarms "sensor_id=$F" | py 'len([a for a in x["alarms"] if a["kind"]=="point"])')
[ "$N" = 1 ] || fail "LOST/DUP: $N point alarms for one fault, want 1: $(alarms "sensor_id=$F")"
ID=$(alarms "sensor_id=$F&state=active" | py '[a["id"] for a in x["alarms"] if a["kind"]=="point"][0]')
echo "fault alarm $ID"

# --- people act: token required, who is recorded -------------------------------
[ "$(curl -s -o /dev/null -w '%{http_code}' -X POST "$G/api/alarms/$ID/ack")" = 401 ] ||
    fail "ack without the token was not refused"
curl -sf -X POST "${AUTH[@]}" -d '{"by":"alice"}' "$G/api/alarms/$ID/ack" >"$T/ack.json" ||
    fail "ack failed"
[ "$(py 'x["alarm"]["acked_by"]' <"$T/ack.json")" = alice ] || fail "ack: $(cat "$T/ack.json")"
curl -sf -X POST "${AUTH[@]}" -d '{"minutes":30}' "$G/api/alarms/$ID/mute" >"$T/mute.json" ||
    fail "mute failed"
[ "$(py 'x["alarm"]["muted_until"] > 0' <"$T/mute.json")" = True ] || fail "mute: $(cat "$T/mute.json")"
# the retained per-sensor message says so, for any MQTT client arriving now
mosquitto_sub -h 127.0.0.1 -p "$MQTT_PORT" -t "alarms/$F" -C 1 -W 5 >"$T/retained.json" ||
    fail "no retained alarms/$F"
$PY - "$T/retained.json" "$ID" <<'PY' || fail "retained alarms/$F wrong: $(cat "$T/retained.json")"
import json, sys
x = json.load(open(sys.argv[1]))
a = [a for a in x["active"] if a["id"] == sys.argv[2]]
assert len(a) == 1 and a[0]["acked"] and a[0]["acked_by"] == "alice" and a[0]["muted_until"], x
PY

# --- it clears by itself once calm (ALARM_POINT_CALM_S=8) ------------------------
wait_for 20 sh -c "curl -sf '$G/api/alarms/$ID' | grep -q '\"state\":\"cleared\"'" ||
    fail "the fault alarm did not clear after calm: $(curl -s "$G/api/alarms/$ID")"

# --- false positive: fed back to the detector ------------------------------------
curl -sf -X POST "${AUTH[@]}" -d '{"by":"bob","note":"calibration rig"}' \
    "$G/api/alarms/$ID/false_positive" >"$T/fp.json" || fail "false_positive failed"
[ "$(py 'x["alarm"]["false_positive"]' <"$T/fp.json")" = True ] || fail "fp: $(cat "$T/fp.json")"
wait_for 10 grep -q "feedback sensor=$F metric=temperature kind=point" "$T/detector.log" ||
    fail "the detector did not get the feedback"
# the same spike again: tolerated, no anomaly, no alarm
BEFORE=$(grep -c "anomaly sensor=$F metric=temperature type=point" "$T/detector.log")
spike $TS
wait_for 10 grep -q "anomaly_tolerated sensor=$F metric=temperature type=point" "$T/detector.log" ||
    fail "the same spike after false_positive was not tolerated: $(grep "sensor=$F" "$T/detector.log" | tail -3)"
sleep 1
[ "$(grep -c "anomaly sensor=$F metric=temperature type=point" "$T/detector.log")" = "$BEFORE" ] ||
    fail "an anomaly was published after false_positive"
N=$(alarms "sensor_id=$F" | py 'len([a for a in x["alarms"] if a["kind"]=="point"])')
[ "$N" = 1 ] || fail "a new alarm opened after false_positive: $(alarms "sensor_id=$F")"

# --- silent sensor -------------------------------------------------------------
for i in $(seq 1 8); do
    pub -t "sensors/$S/readings" -m "{\"ts\": $((T0 + i)), \"humidity\": $((40 + i % 3))}"
    sleep 0.25
done
STOP=$(date +%s.%N)
wait_for 12 sh -c "curl -sf '$G/api/alarms?sensor_id=$S&state=active' | grep -q '\"kind\":\"silent\"'" ||
    fail "no silent alarm for $S: $(alarms "sensor_id=$S"); $(grep "sensor=$S" "$T/detector.log" | tail -3)"
DELAY=$($PY -c "import time; print(round(time.time() - $STOP, 1))")
echo "silent alarm after ${DELAY}s (deadline max(5 x 0.25 s, SILENT_MIN_S=3 s) = 3 s)"
[ "$($PY -c "print($DELAY >= 2.5)")" = True ] || fail "silent too early: ${DELAY}s"
SID=$(alarms "sensor_id=$S&state=active" | py '[a for a in x["alarms"] if a["kind"]=="silent"][0]["id"]')
[ "$(alarms "sensor_id=$S" | py '[a for a in x["alarms"] if a["kind"]=="silent"][0]["severity"]')" = critical ] ||
    fail "a silent alarm is not critical"
pub -t "sensors/$S/readings" -m "{\"ts\": $((T0 + 100)), \"humidity\": 41}"
wait_for 5 sh -c "curl -sf '$G/api/alarms/$SID' | grep -q '\"state\":\"cleared\"'" ||
    fail "the silent alarm did not clear on the next reading: $(curl -s "$G/api/alarms/$SID")"

# --- the same story on the WebSocket feed and on MQTT ----------------------------
sleep 0.5
$PY - "$T/ws.out" "$T/mqtt.out" "$ID" "$SID" "$F" <<'PY' || fail "feed/MQTT events wrong"
import json, sys
ws = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
idf, ids, f = sys.argv[3], sys.argv[4], sys.argv[5]
assert all(m["type"] == "alarm" for m in ws), ws[:3]
def story(events, aid):
    return [(e["event"], e["by"]) for e in events if e["alarm"]["id"] == aid]
want = [("opened", None)] + [("updated", None)] * 4 + [("acknowledged", "alice"), ("muted", "token"),
        ("cleared", None), ("false_positive", "bob")]
got = story([m["data"] for m in ws], idf)
assert got == want, ("ws", got)
assert story([m["data"] for m in ws], ids) == [("opened", None), ("cleared", None)], "ws silent"
mq = []
for line in open(sys.argv[2]):
    topic, _, payload = line.partition(" ")
    if topic.startswith("alarms/events/"):
        e = json.loads(payload)
        assert topic == "alarms/events/" + e["alarm"]["sensor_id"], topic
        mq.append(e)
assert story(mq, idf) == want, ("mqtt", story(mq, idf))
fp = [e for e in mq if e["event"] == "false_positive"][0]
assert fp["note"] == "calibration rig" and fp["alarm"]["false_positive"], fp
print("events ok:", len(ws), "on the feed,", len(mq), "on MQTT")
PY

# --- counted on /metrics -----------------------------------------------------------
[ "$(metric iotad_gateway_alarms_opened_total)" -ge 3 ] || fail "alarms_opened_total not counted"
[ "$(metric 'iotad_gateway_alarms{state="cleared"}')" -ge 2 ] || fail "cleared alarms not counted"

# --- a restart keeps them ----------------------------------------------------------
# (sensors silent again may open new alarms meanwhile: compare those known before)
snapshot() { alarms "state=all&limit=1000" | py 'json.dumps({a["id"]: [a["acked"], a["acked_by"], a["false_positive"], a["count"], a["opened_at"]] for a in x["alarms"]}, sort_keys=True)'; }
snapshot >"$T/before.json"
stop_pid "$GW_PID"
start_gateway RPC_URL=http://127.0.0.1:9 STATE_DIR="$T/gw" GATEWAY_TOKEN="$TOKEN"
wait_for 10 curl -sf "$G/api/alarms" || fail "gateway did not come back"
snapshot >"$T/after.json"
$PY - "$T/before.json" "$T/after.json" <<'PY' || fail "alarms changed across a restart"
import json, sys
b, a = json.load(open(sys.argv[1])), json.load(open(sys.argv[2]))
assert len(b) >= 3, b
for k, v in b.items():
    assert a.get(k) == v, (k, v, a.get(k))
PY
grep -q "alarms_loaded" "$T/gateway.log" || fail "no alarms_loaded after restart"
echo "PASS: alarms"
