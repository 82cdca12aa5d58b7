# Gateway WebSocket /ws against a real mosquitto (no chain needed):
#   - readings, anomalies and confirmations published on MQTT arrive as
#     {"type": ..., "data": {...}} with the right fields, in order
#   - subscriptions filter by sensor and kind; bad commands get an error;
#     a message above WS_MAX_MESSAGE_BYTES closes with 1009
#   - invalid MQTT input is counted and never forwarded
#   - the Origin policy refuses foreign pages, accepts listed ones
#   - a client that stops reading has messages dropped (counted) and is
#     disconnected, while a normal client receives every message on time
. "$(dirname "$0")/../lib.sh"
. "$ROOT/tests/gateway/lib.sh"
[ -x "$BIN/gateway" ] || fail "missing $BIN/gateway"
start_mosquitto
WSC="node $ROOT/tests/gateway/wsclient.js"
pub() { mosquitto_pub -h 127.0.0.1 -p "$MQTT_PORT" -q 1 "$@"; }
start_gateway RPC_URL=http://127.0.0.1:9 WS_QUEUE_MESSAGES=2048 WS_SLOW_CLIENT_S=2 \
    WS_MAX_MESSAGE_BYTES=1024 WS_ALLOWED_ORIGINS=http://dash.example
WS=ws://127.0.0.1:$GW_PORT/ws
wait_for 10 sh -c "curl -sf $G/metrics | grep -q '^iotad_gateway_mqtt_connected 1'" || fail "gateway not connected to MQTT"

S=ws-$RANDOM
node "$ROOT/tests/gateway/anomalies.js" "$S" 2 1764300000 >"$T/a.jsonl"
ID1=$(head -1 "$T/a.jsonl" | node -e 'console.log(JSON.parse(require("fs").readFileSync(0)).id)')

# --- everything, in order -------------------------------------------------
$WSC collect "$WS" 4 15 - "$T/all.ready" >"$T/all.out" 2>"$T/all.err" &
ALL=$!
PIDS+=("$ALL")
wait_for 10 test -f "$T/all.ready" || fail "client did not connect"
# invalid input first: it must be counted and never forwarded
pub -t "anomalies/$S" -m '{"id":"zz","sensor_id":"x"}'
pub -t "anomalies/$S" -m 'not json'
pub -t "sensors/$S/readings" -m '{"temperature": NaN}'
pub -t "chain/logged/$S" -m '{"id":"'"$ID1"'","tx_hash":"0x12","block_number":1}'
pub -t "sensors/$S/readings" -m '{"ts": 1764300000, "temperature": 21.5}'
pub -t "anomalies/$S" -m "$(head -1 "$T/a.jsonl")"
pub -t "chain/logged/$S" -m '{"id":"'"$ID1"'","tx_hash":"0x'"$(printf 'ab%.0s' {1..32})"'","block_number":42,"log_index":3}'
pub -t "sensors/$S/readings" -m '{"ts": 1764300001, "temperature": 22.5}'
wait "$ALL" || fail "client did not get 4 messages: $(cat "$T/all.err")"
node -e '
const l = require("fs").readFileSync(process.argv[1], "utf8").trim().split("\n").map(JSON.parse);
const [s, id] = process.argv.slice(2);
const fail = (m) => { console.error(m, JSON.stringify(l)); process.exit(1); };
if (l.map((m) => m.type).join() !== "reading,anomaly,logged,reading") fail("order/types");
if (l[0].data.sensor_id !== s || l[0].data.temperature !== 21.5 || l[0].data.ts !== 1764300000) fail("reading");
const a = l[1].data;
if (a.id !== id || a.sensor_id !== s || a.type !== "point" || a.metric !== "temperature" || !a.explanation) fail("anomaly");
const c = l[2].data;
if (c.id !== id || c.block_number !== 42 || c.log_index !== 3 || !/^0x(ab){32}$/.test(c.tx_hash) || c.sensor_id !== s) fail("logged");
' "$T/all.out" "$S" "$ID1" || fail "wrong messages"
[ "$(metric 'iotad_gateway_errors_total{kind="anomaly_invalid"}')" -ge 2 ] || fail "anomaly_invalid not counted"
[ "$(metric 'iotad_gateway_errors_total{kind="reading_invalid"}')" -ge 1 ] || fail "reading_invalid not counted"
[ "$(metric 'iotad_gateway_errors_total{kind="logged_invalid"}')" -ge 1 ] || fail "logged_invalid not counted"

# --- subscriptions ----------------------------------------------------------
$WSC collect "$WS" 2 15 '{"subscribe":{"sensors":["'"$S"'"],"types":["anomaly"]}}' "$T/sub.ready" >"$T/sub.out" 2>"$T/sub.err" &
SUB=$!
PIDS+=("$SUB")
wait_for 10 test -f "$T/sub.ready" || fail "subscribe not acknowledged: $(cat "$T/sub.err")"
node "$ROOT/tests/gateway/anomalies.js" "other-$S" 1 1764300000 >"$T/o.jsonl"
pub -t "anomalies/other-$S" -m "$(cat "$T/o.jsonl")"        # other sensor: filtered out
pub -t "sensors/$S/readings" -m '{"temperature": 20}'     # other kind: filtered out
pub -t "anomalies/$S" -m "$(sed -n 2p "$T/a.jsonl")"
pub -t "anomalies/$S" -m "$(sed -n 1p "$T/a.jsonl")"
wait "$SUB" || fail "subscribed client: $(cat "$T/sub.err")"
grep -q "other-$S" "$T/sub.out" && fail "filter let another sensor through"
grep -q '"type":"reading"' "$T/sub.out" && fail "filter let a reading through"
[ "$(grep -c '"type":"anomaly"' "$T/sub.out")" = 2 ] || fail "subscribed client: $(cat "$T/sub.out")"

r=$($WSC send "$WS" '{"subscribe":{"types":["bogus"]}}' 5)
echo "$r" | grep -q '"type":"error"' || fail "bad subscribe: $r"
r=$($WSC send "$WS" 'not json' 5)
echo "$r" | grep -q '"type":"error"' || fail "bad command: $r"
r=$($WSC send "$WS" "{\"x\":\"$(head -c 2000 /dev/zero | tr '\0' a)\"}" 5)
[ "$r" = "close 1009" ] || fail "oversized message: $r"
[ "$(metric 'iotad_gateway_errors_total{kind="ws_too_large"}')" -ge 1 ] || fail "ws_too_large not counted"

# --- Origin policy ----------------------------------------------------------
[ "$($WSC open "$WS" http://evil.example)" = refused ] || fail "foreign origin accepted"
[ "$($WSC open "$WS" http://dash.example)" = open ] || fail "listed origin refused"
[ "$($WSC open "$WS" "http://127.0.0.1:$GW_PORT")" = open ] || fail "same origin refused"
[ "$(metric 'iotad_gateway_errors_total{kind="ws_origin"}')" -ge 1 ] || fail "ws_origin not counted"

# --- a slow client never stalls the others -----------------------------------
N=10000
$WSC slow 127.0.0.1 "$GW_PORT" "$T/slow.ready" >"$T/slow.out" 2>&1 &
SLOW=$!
PIDS+=("$SLOW")
wait_for 10 test -f "$T/slow.ready" || fail "slow client did not connect"
$WSC collect "$WS" $N 60 '{"subscribe":{"sensors":["flood"]}}' "$T/fast.ready" >"$T/fast.out" 2>"$T/fast.err" &
FAST=$!
PIDS+=("$FAST")
wait_for 10 test -f "$T/fast.ready" || fail "fast client did not connect"
# ~1.5 KB each: 15 MB in all, far more than the slow client's socket buffers.
node "$ROOT/tests/gateway/anomalies.js" flood $N 1764400000 1400 >"$T/flood.jsonl"
start=$SECONDS
# About 1,000 messages a second: a steady stream, not one burst, so that a
# client that reads (even on a busy machine) keeps up; the one that does not
# read falls behind by megabytes.
split -l 200 "$T/flood.jsonl" "$T/flood.part."
for f in "$T"/flood.part.*; do
    pub -t anomalies/flood -l <"$f"
    sleep 0.2
done
wait "$FAST" || fail "the fast client did not get all $N messages: $(cat "$T/fast.err")"
echo "fast client got $N messages in $((SECONDS - start)) s"
cut -c1-120 "$T/fast.out" | node -e '
const ids = require("fs").readFileSync(0, "utf8").trim().split("\n").map((l) => l.match(/"id":"([0-9a-f]{64})"/)[1]);
const sent = require("fs").readFileSync(process.argv[1], "utf8").trim().split("\n").map((l) => JSON.parse(l).id);
if (ids.join() !== sent.join()) { console.error("fast client: messages lost or reordered"); process.exit(1); }
' "$T/flood.jsonl" || fail "fast client stream differs from what was published"
wait_for 15 sh -c "[ \$(curl -sf $G/metrics | awk '\$1==\"iotad_gateway_ws_slow_disconnects_total\"{print \$2}') -ge 1 ]" ||
    fail "slow client never disconnected"
[ "$(metric iotad_gateway_ws_dropped_total)" -gt 0 ] || fail "no drops counted"
wait_for 10 sh -c "[ \$(curl -sf $G/metrics | awk '\$1==\"iotad_gateway_ws_clients\"{print \$2}') -eq 0 ]" ||
    fail "clients still connected: $(metric iotad_gateway_ws_clients)"
grep -q ws_slow_client "$T/gateway.log" || fail "slow client disconnect not logged"
echo "gateway_ws ok: dropped=$(metric iotad_gateway_ws_dropped_total)"
