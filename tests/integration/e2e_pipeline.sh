# End to end, the whole pipeline as `make run` wires it, on free loopback
# ports: mosquitto + Ganache, the contract deployed by `chainlogger deploy`,
# then detector, chain logger and gateway. A sensor warms up with normal
# readings, then reports 1000 degC. Asserts that:
#   - a WebSocket client of the gateway receives the point anomaly,
#   - the chain logger confirms it on chain/logged/{sensor},
#   - the same anomaly is on chain (gateway /api/anomalies, read from the
#     chain with eth_getLogs) with the right fields, tx hash and block,
#   - `chainlogger verify` finds every journaled anomaly on chain exactly once.
. "$(dirname "$0")/../lib.sh"
for b in simulator detector chainlogger gateway; do [ -x "$BIN/$b" ] || fail "missing $BIN/$b"; done
start_mosquitto
start_chain
export STATE_DIR=$T/state
export WARMUP=60 DETECTOR_WARMUP=60
deploy_contract # fails unless it printed an address
export CONTRACT_ADDRESS
# Deploying again is a no-op that prints the same address.
again=$("$BIN/chainlogger" deploy 2>>"$T/deploy.log")
[ "$again" = "$CONTRACT_ADDRESS" ] || fail "second deploy gave $again, not $CONTRACT_ADDRESS"

export GATEWAY_PORT=$(free_port)
bg chainlogger "$BIN/chainlogger"
bg detector "$BIN/detector"
bg gateway "$BIN/gateway"
wait_port "$GATEWAY_PORT" 20 || fail "gateway did not listen"
wait_for 20 curl -sf "http://127.0.0.1:$GATEWAY_PORT/healthz" || fail "/healthz never 200"
chain=$(curl -sf "http://127.0.0.1:$GATEWAY_PORT/api/chain")
echo "$chain" | grep -qi "\"contract\": *\"$CONTRACT_ADDRESS\"" || fail "/api/chain: $chain"
echo "$chain" | grep -q '"chain_id": *1337' || fail "/api/chain chain_id: $chain"

SENSOR=e2e-$RANDOM
node "$ROOT/tests/e2e/ws_wait.js" "ws://127.0.0.1:$GATEWAY_PORT/ws" anomaly "$SENSOR" 60 "$T/ws.ready" >"$T/ws.out" 2>"$T/ws.log" &
WS_PID=$!
PIDS+=("$WS_PID")
mosquitto_sub -h 127.0.0.1 -p "$MQTT_PORT" -t "chain/logged/$SENSOR" -C 1 -W 90 >"$T/logged.out" 2>&1 &
SUB_PID=$!
PIDS+=("$SUB_PID")
wait_for 10 test -f "$T/ws.ready" || fail "WebSocket client did not connect"
sleep 0.5

# Warm-up: normal readings one minute apart (reading time, not wall time).
t0=1764000000
for i in $(seq 0 119); do
    printf '{"ts": %d, "temperature": %d.%d, "humidity": 45.%d}\n' $((t0 + 60 * i)) $((21 + i % 3)) $((RANDOM % 10)) $((RANDOM % 10))
done >"$T/warmup.jsonl"
mosquitto_pub -h 127.0.0.1 -p "$MQTT_PORT" -q 1 -t "sensors/$SENSOR/readings" -l <"$T/warmup.jsonl"
sleep 1
SPIKE_TS=$((t0 + 60 * 120))
mosquitto_pub -h 127.0.0.1 -p "$MQTT_PORT" -q 1 -t "sensors/$SENSOR/readings" \
    -m "{\"ts\": $SPIKE_TS, \"temperature\": 1000, \"humidity\": 45.2}"

wait "$WS_PID" || fail "no anomaly for $SENSOR on the WebSocket: $(cat "$T/ws.log")"
ws=$(cat "$T/ws.out")
echo "websocket: $ws"
node -e '
const a = JSON.parse(process.argv[1]);
const need = ["id","sensor_id","ts","metric","value","score","type","explanation"];
for (const k of need) if (!(k in a)) { console.error("missing " + k); process.exit(1); }
if (!/^[0-9a-f]{64}$/.test(a.id)) { console.error("bad id " + a.id); process.exit(1); }
if (a.metric !== "temperature" || a.value !== 1000 || a.type !== "point") { console.error("wrong anomaly"); process.exit(1); }
if (!(a.score > 0 && a.score <= 1) || Math.abs(a.ts - Number(process.argv[2])) > 0.001) { console.error("bad score/ts"); process.exit(1); }
if (!a.explanation.includes("temperature")) { console.error("explanation: " + a.explanation); process.exit(1); }
' "$ws" "$SPIKE_TS" || fail "anomaly on the WebSocket has wrong fields: $ws"
ID=$(node -e 'console.log(JSON.parse(process.argv[1]).id)' "$ws")

wait "$SUB_PID" || fail "no chain/logged/$SENSOR confirmation"
grep -q "$ID" "$T/logged.out" || fail "confirmation is for another id: $(cat "$T/logged.out")"
grep -q '"tx_hash": *"0x[0-9a-f]\{64\}"' "$T/logged.out" || fail "confirmation without tx_hash: $(cat "$T/logged.out")"

# Read back from the chain through the gateway.
wait_for 20 sh -c "curl -sf 'http://127.0.0.1:$GATEWAY_PORT/api/anomalies?sensor_id=$SENSOR&limit=10' | grep -q $ID" \
    || fail "anomaly $ID not served from the chain: $(curl -s "http://127.0.0.1:$GATEWAY_PORT/api/anomalies?sensor_id=$SENSOR&limit=10")"
api=$(curl -sf "http://127.0.0.1:$GATEWAY_PORT/api/anomalies?sensor_id=$SENSOR&limit=10")
node -e '
const r = JSON.parse(process.argv[1]); const id = process.argv[2];
const items = Array.isArray(r) ? r : (r.items || r.anomalies || []);
const a = items.find((x) => x.id === id);
if (!a) { console.error("not found"); process.exit(1); }
if (!/^0x[0-9a-f]{64}$/.test(a.tx_hash) || !(Number(a.block_number) > 0)) { console.error("no proof"); process.exit(1); }
if (a.sensor_id !== process.argv[3] || a.metric !== "temperature" || a.type !== "point" || Math.abs(a.value - 1000) > 1e-6) { console.error("fields differ"); process.exit(1); }
' "$api" "$ID" "$SENSOR" || fail "on-chain anomaly has wrong fields: $api"
# And straight from the node: the transaction exists and succeeded.
TX=$(node -e 'const r=JSON.parse(process.argv[1]);const i=(Array.isArray(r)?r:(r.items||r.anomalies)).find(x=>x.id===process.argv[2]);console.log(i.tx_hash)' "$api" "$ID")
rpc eth_getTransactionReceipt "[\"$TX\"]" | grep -q '"status":"0x1"' || fail "receipt of $TX is not a success"

# The gateway timed the spike: its reading to the anomaly, the anomaly to
# its confirmation on chain (histograms in /metrics).
for h in reading_to_alert alert_to_onchain; do
    wait_for 20 sh -c "curl -sf 'http://127.0.0.1:$GATEWAY_PORT/metrics' | awk '\$1 == \"iotad_gateway_${h}_seconds_count\" && \$2 >= 1 { f = 1 } END { exit !f }'" ||
        fail "iotad_gateway_${h}_seconds not observed: $(curl -s "http://127.0.0.1:$GATEWAY_PORT/metrics" | grep "${h}_seconds_count")"
done
"$BIN/chainlogger" verify >"$T/verify.out" 2>&1 || fail "chainlogger verify: $(tail -5 "$T/verify.out")"
echo "e2e ok: anomaly $ID in tx $TX"
