# The gateway's OpenAPI document (GET /api/openapi.json) against the running
# gateway, with a real mosquitto, Ganache, the deployed AnomalyLogger and
# the real chain logger:
#   - served as OpenAPI 3.1, the same document as services/gateway/openapi.json
#     with info.version the binary's --version;
#   - every operation in it answers (tests/gateway/openapi_check.js): with a
#     real anomaly id and sensor id every one is a documented success, none
#     is the router's 404 or a 405, content types as documented;
#   - a path the document lacks is the router's 404 (the check can fail).
# The other direction (every route in the gateway's table is described) is
# tests/unit/test_gw_openapi.c. A new route needs no edit here.
. "$(dirname "$0")/../lib.sh"
. "$ROOT/tests/gateway/lib.sh"
for b in chainlogger gateway; do [ -x "$BIN/$b" ] || fail "missing $BIN/$b"; done
start_mosquitto
start_chain
export STATE_DIR=$T/state
deploy_contract
bg chainlogger "$BIN/chainlogger"
TOKEN=openapi-token-$RANDOM
start_gateway GATEWAY_TOKEN="$TOKEN"
wait_for 20 curl -sf "$G/readyz" || fail "/readyz never 200: $(curl -s "$G/readyz")"

# One anomaly on chain and one known sensor, so the operations that take an
# id have a real one.
S=openapi-$RANDOM
node "$ROOT/tests/gateway/anomalies.js" "$S" 1 1764200000 >"$T/anoms.jsonl"
mosquitto_pub -h 127.0.0.1 -p "$MQTT_PORT" -q 1 -t "anomalies/$S" -f "$T/anoms.jsonl"
ID=$(node -e 'console.log(JSON.parse(require("fs").readFileSync(process.argv[1],"utf8")).id)' "$T/anoms.jsonl")
curl -sf -X POST -H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/json' \
    -d "{\"sensor_id\":\"$S\",\"temperature\":21.5}" "$G/api/readings" >/dev/null || fail "POST /api/readings"
wait_for 30 curl -sf "$G/api/anomalies/$ID" >/dev/null ||
    fail "anomaly $ID not read back from chain: $(curl -s "$G/api/anomalies/$ID")"
wait_for 10 curl -sf "$G/api/sensors/$S/readings" >/dev/null || fail "sensor $S never known"

# The document as served.
curl -sf -D "$T/headers" -o "$T/openapi.json" "$G/api/openapi.json" || fail "GET /api/openapi.json"
grep -qi '^content-type: application/json' "$T/headers" || fail "content type: $(cat "$T/headers")"
node -e '
const fs = require("fs");
const served = JSON.parse(fs.readFileSync(process.argv[1], "utf8"));
const source = JSON.parse(fs.readFileSync(process.argv[2], "utf8"));
const fail = (m) => { console.error(m); process.exit(1); };
if (served.openapi !== "3.1.0") fail("openapi " + served.openapi);
if (served.info.version !== process.argv[3]) fail(`info.version ${served.info.version}, binary ${process.argv[3]}`);
served.info.version = source.info.version;
if (JSON.stringify(served) !== JSON.stringify(source)) fail("served document differs from services/gateway/openapi.json");
' "$T/openapi.json" "$ROOT/services/gateway/openapi.json" "$("$BIN/gateway" --version | awk '{print $NF}')" ||
    fail "served document"

# Every operation, for real.
node "$ROOT/tests/gateway/openapi_check.js" "$G" "$T/openapi.json" "$TOKEN" \
    "{\"anomaly_id\":\"$ID\",\"sensor_id\":\"$S\"}" >"$T/check.out" 2>"$T/check.err" ||
    fail "operations do not fit the document: $(cat "$T/check.err")"
cat "$T/check.out"

# The check catches a path the gateway does not serve.
node -e '
const fs = require("fs");
const s = JSON.parse(fs.readFileSync(process.argv[1], "utf8"));
s.paths["/api/not-served"] = {get: {operationId: "x", responses: {"200": {description: "x"}}}};
fs.writeFileSync(process.argv[2], JSON.stringify(s));
' "$T/openapi.json" "$T/bad.json"
if node "$ROOT/tests/gateway/openapi_check.js" "$G" "$T/bad.json" "$TOKEN" "{}" >/dev/null 2>"$T/bad.err"; then
    fail "openapi_check.js accepted a path the gateway does not serve"
fi
grep -q 'not-served.*router does not know it' "$T/bad.err" || fail "unexpected: $(cat "$T/bad.err")"
echo "gateway_openapi ok"
