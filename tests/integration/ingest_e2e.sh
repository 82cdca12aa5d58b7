#!/usr/bin/env bash
# End to end, per ingest adapter: devices publishing their own formats reach
# the chain. Starts mosquitto + Ganache on free loopback ports, deploys the
# contract, runs the chain logger, the detector (small warm-up) and the
# gateway with an ingest mapping enabling Zigbee2MQTT, Tasmota (device
# time), ESPHome (grouped states in degF) and SenML (Kelvin), then, for each
# format, publishes a stream of normal readings with mosquitto_pub and a
# spike of 1000 degC written in that format's own unit.
# Asserts, for each of the four sensors:
#   - the mapping named it (friendly name / Tasmota sensor / SenML base
#     name -> our sensor id),
#   - an anomaly for temperature with value 1000 (degC after conversion)
#     appears on anomalies/{id} and on the gateway's WebSocket,
#   - the chain logger confirms that anomaly on chain/logged/{id} with a
#     transaction hash, and `chainlogger verify` finds it on chain once.
. "$(dirname "$0")/../lib.sh"
for b in detector chainlogger gateway; do [ -x "$BIN/$b" ] || skip "missing $BIN/$b"; done
[ -f "$ROOT/contracts/build/AnomalyLogger.json" ] || skip "contract not compiled"

start_mosquitto
start_chain
export STATE_DIR=$T/state
export WARMUP=60 DETECTOR_WARMUP=60

cat >"$T/sensors.json" <<'JSON'
{
  "adapters": {
    "zigbee2mqtt": {},
    "tasmota": {"device_time": true, "utc_offset_minutes": 0},
    "esphome": {"groups": [
      {"sensor": "e2e_esp", "prefix": "e2eesp", "states": [
        {"name": "e2eesp_temperature", "metric": "temperature", "unit": "°F"},
        {"name": "e2eesp_humidity", "metric": "humidity", "unit": "%"}]}]},
    "senml": {"topics": ["senml/#"]}
  },
  "sensors": [
    {"source": "zigbee2mqtt", "name": "E2E Room", "id": "e2e_z2m", "profile": "indoor"},
    {"source": "tasmota", "name": "e2etas.BME280", "id": "e2e_tasmota"},
    {"source": "senml", "name": "e2e.urn:dev:e2e:senml", "id": "e2e_senml"}
  ]
}
JSON
# the mapping variable, under the names the services read
export INGEST_MAPPING=$T/sensors.json

deploy_contract
export CONTRACT_ADDRESS
export GATEWAY_PORT=$(free_port)
bg chainlogger "$BIN/chainlogger"
bg detector "$BIN/detector"
bg gateway "$BIN/gateway"
wait_port "$GATEWAY_PORT" 20 || fail "gateway did not listen"
wait_for 20 grep -q "ingest_ready.*esphome_groups=1 senml=1" "$T/detector.log" ||
    fail "detector did not load the mapping"

SENSORS="e2e_z2m e2e_tasmota e2e_esp e2e_senml"
bg anomalies mosquitto_sub -h 127.0.0.1 -p "$MQTT_PORT" -q 1 -v -t 'anomalies/+'
bg logged mosquitto_sub -h 127.0.0.1 -p "$MQTT_PORT" -q 1 -v -t 'chain/logged/+'
# One WebSocket client waits for the 1000 degC anomaly of every sensor.
node -e '
const path = require("path");
const WebSocket = require(path.join(process.argv[1], "tools/node_modules/ws"));
const [url, readyFile, list] = process.argv.slice(2);
const want = new Set(list.split(" ")), got = {};
const ws = new WebSocket(url);
setTimeout(() => { console.error("timeout; missing " + [...want].join(",")); process.exit(1); }, 120000);
ws.on("open", () => require("fs").writeFileSync(readyFile, "ready"));
ws.on("error", (e) => { console.error("ws error " + e.message); process.exit(1); });
ws.on("message", (buf) => {
  const m = JSON.parse(buf.toString());
  if (m.type !== "anomaly") return;
  for (const d of Array.isArray(m.data) ? m.data : [m.data]) {
    if (want.has(d.sensor_id) && d.metric === "temperature" && Math.abs(d.value - 1000) < 1e-6) {
      got[d.sensor_id] = d; want.delete(d.sensor_id);
    }
  }
  if (want.size === 0) { console.log(JSON.stringify(got)); process.exit(0); }
});' "$ROOT" "ws://127.0.0.1:$GATEWAY_PORT/ws" "$T/ws.ready" "$SENSORS" >"$T/ws.out" 2>"$T/ws.log" &
WS_PID=$!
PIDS+=("$WS_PID")
wait_for 10 test -f "$T/ws.ready" || fail "WebSocket client did not connect"
sleep 0.5

pub() { mosquitto_pub -h 127.0.0.1 -p "$MQTT_PORT" -q 1 "$@"; }
N=120
t0=1764000000
jitter() { echo "$((RANDOM % 10))"; }

# Zigbee2MQTT (receipt time; degC, %RH, hPa), plus device-health fields.
for i in $(seq 1 $N); do
    printf '{"battery":97,"humidity":4%d.%d,"linkquality":120,"pressure":1013.%d,"temperature":2%d.%d,"voltage":2985}\n' \
        $((i % 3)) "$(jitter)" "$(jitter)" $((1 + i % 3)) "$(jitter)"
done | pub -t 'zigbee2mqtt/E2E Room' -l
pub -t zigbee2mqtt/bridge/state -m '{"state":"online"}'

# Tasmota, Fahrenheit, device time one minute apart (UTC).
for i in $(seq 1 $N); do
    printf '{"Time":"%s","BME280":{"Temperature":7%d.%d,"Humidity":4%d.%d,"DewPoint":9.1,"Pressure":1012.%d},"ESP32":{"Temperature":51.1},"PressureUnit":"hPa","TempUnit":"F"}\n' \
        "$(date -u -d "@$((t0 + 60 * i))" +%Y-%m-%dT%H:%M:%S)" $((i % 3)) "$(jitter)" $((i % 3)) "$(jitter)" "$(jitter)"
done | pub -t tele/e2etas/SENSOR -l

# SenML packs in Kelvin and ratio, base time one minute apart.
for i in $(seq 1 $N); do
    printf '[{"bn":"urn:dev:e2e:senml:","bt":%d,"n":"temperature","u":"K","v":29%d.%d},{"n":"humidity","u":"/","v":0.4%d}]\n' \
        $((t0 + 60 * i)) $((4 + i % 2)) "$(jitter)" "$(jitter)"
done | pub -t senml/e2e -l

# ESPHome: two state topics per update, grouped into one sensor (receipt time).
for i in $(seq 1 $N); do
    pub -t e2eesp/sensor/e2eesp_temperature/state -m "7$((i % 3)).$(jitter)"
    pub -t e2eesp/sensor/e2eesp_humidity/state -m "4$((i % 3)).$(jitter)"
done
sleep 1

# The spikes: 1000 degC in each format's unit.
pub -t 'zigbee2mqtt/E2E Room' -m '{"battery":97,"humidity":41.2,"pressure":1013.2,"temperature":1000}'
pub -t tele/e2etas/SENSOR -m "{\"Time\":\"$(date -u -d "@$((t0 + 60 * (N + 1)))" +%Y-%m-%dT%H:%M:%S)\",\"BME280\":{\"Temperature\":1832,\"Humidity\":41.0,\"Pressure\":1012.5},\"TempUnit\":\"F\"}"
pub -t senml/e2e -m "[{\"bn\":\"urn:dev:e2e:senml:\",\"bt\":$((t0 + 60 * (N + 1))),\"n\":\"temperature\",\"u\":\"K\",\"v\":1273.15},{\"n\":\"humidity\",\"u\":\"/\",\"v\":0.41}]"
pub -t e2eesp/sensor/e2eesp_temperature/state -m "1832"
pub -t e2eesp/sensor/e2eesp_humidity/state -m "41.5"

wait "$WS_PID" || fail "WebSocket: $(cat "$T/ws.log")"
echo "websocket: $(cat "$T/ws.out")"
for s in $SENSORS; do
    # the anomaly as the detector published it
    line=$(grep "^anomalies/$s " "$T/anomalies.log" | grep '"metric": *"temperature"' |
        grep -E '"value": *1000(\.0+)?[,}]' | head -1) || true
    [ -n "$line" ] || fail "no 1000 degC anomaly on anomalies/$s: $(grep "^anomalies/$s " "$T/anomalies.log" | head -3)"
    id=$(echo "${line#* }" | node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>console.log(JSON.parse(s).id))')
    [[ "$id" =~ ^[0-9a-f]{64}$ ]] || fail "anomaly of $s has id '$id'"
    # and its confirmation from the chain logger
    wait_for 60 grep -q "^chain/logged/$s .*$id" "$T/logged.log" ||
        fail "no chain/logged/$s for $id: $(grep "^chain/logged/$s" "$T/logged.log" | head -3)"
    grep "^chain/logged/$s .*$id" "$T/logged.log" | grep -q '"tx_hash": *"0x[0-9a-f]\{64\}"' ||
        fail "confirmation of $s without tx_hash"
    echo "ok: $s anomaly $id on chain"
done
# Zigbee2MQTT's bridge topic and the ESP32 chip temperature made no sensor.
grep -q '^anomalies/\(bridge\|e2etas.ESP32\) ' "$T/anomalies.log" && fail "anomaly for a non-sensor"
"$BIN/chainlogger" verify >"$T/verify.out" 2>&1 || fail "chainlogger verify: $(tail -5 "$T/verify.out")"
echo "ingest e2e ok"
