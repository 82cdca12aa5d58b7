#!/usr/bin/env bash
# An audited record of alarms (issue #17 item 6), on a real mosquitto and
# Ganache with the detector, the gateway and the chain logger:
#   - a fault opens an alarm; ack, mute and false_positive through REST;
#     the chain logger is killed with -9 between them, and once more by an
#     injected crash right after the node accepted a transaction (the
#     receipt never read), then restarted
#   - every lifecycle event the gateway published on alarms/events/{id}
#     except "updated" (opened, acknowledged, muted, false_positive,
#     cleared) is on chain exactly once (LOST:/DUP otherwise), with the
#     `by` and `at` the gateway sent; one event delivered a second time by
#     the broker is still logged once
#   - `chainlogger prove` proves one of them against its batch root;
#     `chainlogger verify` passes and counts them
#   - GET /api/alarms/{id} shows each action's on-chain proof (tx, block,
#     seq) matching the chain
. "$(dirname "$0")/../lib.sh"
. "$ROOT/tests/gateway/lib.sh"
. "$ROOT/tests/chain/lib.sh"
command -v mosquitto >/dev/null || skip "mosquitto not installed"
for b in detector gateway chainlogger; do [ -x "$BIN/$b" ] || fail "missing $BIN/$b (make all)"; done
PY=/usr/bin/python3
setup_chainlogger
export BATCH_SIZE=5 BATCH_MAX_DELAY_MS=100
pub() { mosquitto_pub -h 127.0.0.1 -p "$MQTT_PORT" -q 1 "$@"; }
py() { $PY -c "import json,sys; x=json.load(sys.stdin); print($1)"; }
F=audit-$$
TOKEN=tok-$RANDOM$RANDOM
AUTH=(-H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/json')

bg chainlogger "$BIN/chainlogger"
CL_PID=$LAST_PID
wait_for 15 grep -q sender_ready "$T/chainlogger.log" || fail "chain logger not ready"
wait_for 15 grep -q mqtt_connected "$T/chainlogger.log" || fail "chain logger not connected"
bg detector env STATE_DIR="$T/det" WARMUP=60 SAVE_INTERVAL=1 STATS_INTERVAL=1 BURST_READINGS=0 \
    "$BIN/detector"
wait_for 15 grep -q mqtt_connected "$T/detector.log" || fail "detector did not subscribe"
start_gateway RPC_URL=http://127.0.0.1:9 STATE_DIR="$T/gw" GATEWAY_TOKEN="$TOKEN" \
    ALARM_CALM_S=3 ALARM_POINT_CALM_S=6
wait_for 10 sh -c "curl -sf $G/metrics | grep -q '^iotad_gateway_mqtt_connected 1'" ||
    fail "gateway not connected to MQTT"
mosquitto_sub -h 127.0.0.1 -p "$MQTT_PORT" -q 1 -v -t 'alarms/events/#' >"$T/events.out" 2>/dev/null &
PIDS+=($!)
sleep 0.5

# --- a fault opens an alarm ---------------------------------------------------------
T0=1764000000
$PY - 150 $T0 <<'PY' | pub -t "sensors/$F/readings" -l
import math, sys
n, t0 = int(sys.argv[1]), float(sys.argv[2])
for i in range(n):
    print('{"ts": %.1f, "temperature": %.3f}' % (t0 + 60 * i, 21.0 + 0.5 * math.sin(i / 15.0)))
PY
wait_for 20 grep -q "stats readings=150 " "$T/detector.log" || fail "detector did not process the warm-up"
TS=$((T0 + 60 * 150))
printf '{"ts": %s, "temperature": 1000}\n{"ts": %s, "temperature": 21.1}\n' "$TS" $((TS + 60)) |
    pub -t "sensors/$F/readings" -l
wait_for 15 sh -c "curl -sf '$G/api/alarms?sensor_id=$F&state=active' | grep -q '\"kind\":\"point\"'" ||
    fail "no alarm opened by the fault"
ID=$(curl -sf "$G/api/alarms?sensor_id=$F&state=active" | py '[a["id"] for a in x["alarms"] if a["kind"]=="point"][0]')
echo "alarm $ID"
proofs() { # proofs: how many of the alarm's actions carry an on-chain proof
    curl -sf "$G/api/alarms/$ID" | py 'len([a for a in x["actions"] if a.get("proof")])'
}

# --- people act; the chain logger dies in between ------------------------------------
curl -sf -X POST "${AUTH[@]}" -d '{"by":"alice"}' "$G/api/alarms/$ID/ack" >/dev/null || fail "ack failed"
wait_for 20 sh -c "[ \"\$(curl -sf $G/api/alarms/$ID | $PY -c 'import json,sys; print(len([a for a in json.load(sys.stdin)[\"actions\"] if a.get(\"proof\")]))')\" -ge 2 ]" ||
    fail "opened and acknowledged not confirmed on chain: $(curl -s "$G/api/alarms/$ID")"
kill -9 "$CL_PID"
wait "$CL_PID" 2>/dev/null || true
echo "chain logger killed with $(total_logged) records on chain"
curl -sf -X POST "${AUTH[@]}" -d '{"minutes":30,"by":"carol"}' "$G/api/alarms/$ID/mute" >"$T/mute.json" ||
    fail "mute failed: $(curl -s -X POST "${AUTH[@]}" -d '{"minutes":30,"by":"carol"}' "$G/api/alarms/$ID/mute")"
curl -sf -X POST "${AUTH[@]}" -d '{"by":"bob","note":"calibration rig"}' \
    "$G/api/alarms/$ID/false_positive" >/dev/null || fail "false_positive failed"
# Restart with a crash right after the node accepts the first transaction:
# the chain has it, the journal says SENT, the receipt is never read.
CHAINLOGGER_FAULT=after-send:1 bg chainlogger-crash timeout 60 "$BIN/chainlogger"
rc=0; wait "$LAST_PID" || rc=$?
[ "$rc" = 137 ] || fail "injected crash: exit status $rc, want 137"
bg chainlogger-r2 "$BIN/chainlogger"
CL_PID=$LAST_PID
wait_for 20 sh -c "curl -sf '$G/api/alarms/$ID' | grep -q '\"state\":\"cleared\"'" ||
    fail "the alarm did not clear after calm"
# The broker delivers one event a second time (a QoS 1 re-delivery): the
# chain logger must see a duplicate, not a new record.
wait_for 5 grep -q '"event":"false_positive"' "$T/events.out" || fail "no false_positive event seen"
grep '"event":"false_positive"' "$T/events.out" | head -1 | cut -d' ' -f2- |
    pub -t "alarms/events/$F" -l
wait_for 30 sh -c "[ \"\$(curl -sf $G/api/alarms/$ID | $PY -c 'import json,sys; print(len([a for a in json.load(sys.stdin)[\"actions\"] if a.get(\"proof\")]))')\" -ge 5 ]" ||
    echo "note: not every action has its proof yet: $(curl -s "$G/api/alarms/$ID")"
wait_verified 40 >/dev/null

# --- exactly once on chain, with by and at as sent -------------------------------------
curl -sf "$G/api/alarms/$ID" >"$T/alarm.json"
rpc eth_getLogs "[{\"address\":\"$CONTRACT\",\"fromBlock\":\"0x0\",\"toBlock\":\"latest\"}]" >"$T/logs.json"
$PY - "$T/events.out" "$T/logs.json" "$T/alarm.json" "$ID" "$RECORDED_TOPIC" >"$T/check.out" <<'PY' || { cat "$T/check.out"; fail "audit trail wrong"; }
import json, struct, sys
events = []
for line in open(sys.argv[1]):
    topic, _, payload = line.strip().partition(" ")
    e = json.loads(payload)
    if e["alarm"]["id"] == sys.argv[4] and e["event"] != "updated":
        events.append(e)
codes = {"opened": 0x10, "acknowledged": 0x12, "muted": 0x13, "false_positive": 0x14, "cleared": 0x15}
onchain = []
for lg in json.loads(open(sys.argv[2]).read())["result"]:
    if lg["topics"][0] != sys.argv[5]:
        continue  # BatchLogged, deployment events
    d = bytes.fromhex(lg["data"][2:])
    # Recorded's data: record ++ seq in 1..8 bytes (docs/chain.md)
    if d[0] != 0 or d[1] != 1:
        continue  # an anomaly
    sl, ml, al, bl = d[2], d[3], d[4], d[5]
    n = 6 + sl + ml + al + 12 + bl
    r, seq = d[:n], int.from_bytes(d[n:], "big")
    assert 1 <= len(d) - n <= 8, "seq length"
    p = 6
    sensor = r[p:p + sl].decode(); p += sl + 1
    metric = r[p:p + ml].decode(); p += ml + 1
    alarm = r[p:p + al].decode(); p += al + 1
    at = struct.unpack(">q", r[p:p + 8])[0]; p += 8
    code = r[p]; p += 1
    by = r[p:p + bl].decode() or None
    onchain.append(dict(id=lg["topics"][1], sensor=sensor, metric=metric, alarm=alarm, at=at,
                        code=code, by=by, seq=seq, tx=lg["transactionHash"],
                        block=int(lg["blockNumber"], 16)))
seen = set()
bad = 0
for e in events:
    key = (e["event"], e["at"])
    if key in seen:
        continue  # the test's own re-delivery
    seen.add(key)
    a = e["alarm"]
    hits = [o for o in onchain if o["alarm"] == a["id"] and o["at"] == e["at"] and o["code"] == codes[e["event"]]]
    if not hits:
        print("LOST: %s at=%d by=%s" % (e["event"], e["at"], e["by"])); bad = 1; continue
    if len(hits) > 1:
        print("DUP %s at=%d x%d" % (e["event"], e["at"], len(hits))); bad = 1
    h = hits[0]
    if h["by"] != e["by"] or h["sensor"] != a["sensor_id"] or h["metric"] != a["metric"]:
        print("WRONG %s on chain %r, sent by=%r" % (e["event"], h, e["by"])); bad = 1
mine = [o for o in onchain if o["alarm"] == sys.argv[4]]
if len(mine) != len(seen):
    print("DUP: %d records on chain for %d events" % (len(mine), len(seen))); bad = 1
want = ["opened", "acknowledged", "muted", "false_positive", "cleared"]
if sorted(k[0] for k in seen) != sorted(want):
    print("events seen: %s, want %s" % (sorted(seen), want)); bad = 1
bys = {e["event"]: e["by"] for e in events}
if bys.get("acknowledged") != "alice" or bys.get("false_positive") != "bob" or bys.get("muted") != "carol":
    print("by not as sent: %r" % bys); bad = 1
# the gateway's history: each action's proof matches the chain (or null while pending)
acts = json.load(open(sys.argv[3]))["actions"]
nproof = 0
for act in acts:
    pr = act.get("proof")
    if pr is None:
        continue
    h = [o for o in mine if o["at"] == act["at"] and o["code"] == codes[act["event"]]]
    if len(h) != 1 or pr["tx_hash"].lower() != h[0]["tx"].lower() or pr["block_number"] != h[0]["block"] or pr["seq"] != h[0]["seq"]:
        print("proof of %s does not match the chain: %r vs %r" % (act["event"], pr, h)); bad = 1
    nproof += 1
if nproof < 2:
    print("only %d actions with a proof" % nproof); bad = 1
print("on chain:", len(mine), "alarm events;", nproof, "proofs in the gateway's history")
for o in mine:
    print("event code=0x%02x at=%d by=%s seq=%d id=%s" % (o["code"], o["at"], o["by"], o["seq"], o["id"]))
sys.exit(bad)
PY
cat "$T/check.out"
grep -q "alarm_events=5" "$T/verify.out" || fail "verify does not count 5 alarm events: $(cat "$T/verify.out")"
grep -q "duplicated=0 altered=0" "$T/verify.out" || fail "verify: $(cat "$T/verify.out")"

# --- prove one of them ------------------------------------------------------------------
EID=$(grep "code=0x13" "$T/check.out" | sed 's/.*id=//')
"$BIN/chainlogger" prove "$EID" >"$T/prove.json" 2>>"$T/verify.log" || fail "prove $EID: $(cat "$T/prove.json")"
[ "$(py 'x["logged"] and x["kind"] == "alarm_event"' <"$T/prove.json")" = True ] ||
    fail "prove: $(cat "$T/prove.json")"
# the re-delivered event reached the logger and was refused as a duplicate
stop_pid "$CL_PID"
grep "stopped " "$T/chainlogger-r2.log" || fail "chain logger r2 did not stop cleanly"
D=$(sed -n 's/.*stopped .* duplicates=\([0-9]*\).*/\1/p' "$T/chainlogger-r2.log")
[ "${D:-0}" -ge 1 ] || fail "the re-delivered event was not seen as a duplicate"
echo "PASS: alarm_audit"
