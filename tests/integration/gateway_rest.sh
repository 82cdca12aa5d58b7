# Gateway REST API against a real mosquitto, Ganache, the deployed
# AnomalyLogger and the real chain logger:
#   - /healthz, /readyz, /api/chain (contract, chain id, no credentials echoed)
#   - POST /api/readings: published to MQTT; malformed JSON, NaN, 1e999,
#     wrong types, bad sensor ids, bad timestamps -> 400 with a code;
#     oversized bodies -> 413; all-or-nothing lists; token -> 401 without it;
#     cross-origin POST -> 403 unless CORS_ORIGIN allows it
#   - GET /api/anomalies read back from the chain: fields, tx/block, filters,
#     pagination with a cursor (every anomaly exactly once, newest first),
#     query errors; GET /api/anomalies/{id} verified against its receipt
#   - /api/sensors and /api/sensors/{id}/readings; /metrics counters
. "$(dirname "$0")/../lib.sh"
. "$ROOT/tests/gateway/lib.sh"
for b in chainlogger gateway; do [ -x "$BIN/$b" ] || fail "missing $BIN/$b"; done
start_mosquitto
start_chain
export STATE_DIR=$T/state
deploy_contract
CONTRACT=$CONTRACT_ADDRESS
bg chainlogger "$BIN/chainlogger"

TOKEN=s3cret-token-$RANDOM
# The RPC URL carries credentials that must never appear in a response.
RPC_URL=http://rpcuser:rpcpass$RANDOM@127.0.0.1:$GANACHE_PORT
RPC_SECRET=${RPC_URL#http://rpcuser:}
RPC_SECRET=${RPC_SECRET%@*}
start_gateway GATEWAY_TOKEN="$TOKEN" MAX_BODY_BYTES=8192 CORS_ORIGIN=http://allowed.example \
    RPC_URL="$RPC_URL"
wait_for 20 curl -sf "$G/healthz" || fail "/healthz never 200: $(curl -s "$G/healthz")"
wait_for 20 curl -sf "$G/readyz" || fail "/readyz never 200: $(curl -s "$G/readyz")"

# code METHOD PATH [curl args...]: print the HTTP status; body in $T/body.
code() {
    local m=$1 p=$2
    shift 2
    curl -s -o "$T/body" -w '%{http_code}' -X "$m" "$@" "$G$p"
}
AUTH=(-H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/json')
expect() { # expect STATUS JSON_CODE METHOD PATH [curl args]
    local want=$1 wcode=$2
    shift 2
    local got
    got=$(code "$@")
    [ "$got" = "$want" ] || fail "$* -> $got, want $want: $(head -c 300 "$T/body")"
    if [ "$wcode" != - ]; then
        grep -q "\"code\":\"$wcode\"" "$T/body" || fail "$* -> body $(head -c 300 "$T/body"), want code $wcode"
    fi
}

# --- /api/chain ------------------------------------------------------------
chain=$(curl -sf "$G/api/chain")
echo "$chain" | grep -qi "\"contract\":\"$CONTRACT\"" || fail "/api/chain contract: $chain"
echo "$chain" | grep -q '"chain_id":1337' || fail "/api/chain chain_id: $chain"
case "$chain" in *"$RPC_SECRET"* | *rpcuser*) fail "/api/chain leaks RPC credentials: $chain" ;; esac

# --- POST /api/readings: errors --------------------------------------------
expect 401 unauthorized POST /api/readings -d '{"sensor_id":"r1","temperature":1}'
grep -qi '^www-authenticate: Bearer' <(curl -s -D - -o /dev/null -X POST -d '{}' "$G/api/readings") ||
    fail "401 without WWW-Authenticate"
expect 401 unauthorized POST /api/readings -H 'Authorization: Bearer wrong' -d '{"sensor_id":"r1","temperature":1}'
expect 400 json POST /api/readings "${AUTH[@]}" -d '{"sensor_id":"r1","temperature":'
expect 400 json POST /api/readings "${AUTH[@]}" -d '{"sensor_id":"r1","temperature":NaN}'
expect 400 json POST /api/readings "${AUTH[@]}" -d '{"sensor_id":"r1","temperature":Infinity}'
expect 400 json POST /api/readings "${AUTH[@]}" -d '{"sensor_id":"r1","temperature":1e999}'
expect 400 json POST /api/readings "${AUTH[@]}" -d '{"sensor_id":"r1","temperature":1,"temperature":2}'
expect 400 type POST /api/readings "${AUTH[@]}" -d '{"sensor_id":"r1","temperature":"hot"}'
expect 400 type POST /api/readings "${AUTH[@]}" -d '"just a string"'
expect 400 sensor_id POST /api/readings "${AUTH[@]}" -d '{"temperature":1}'
expect 400 sensor_id POST /api/readings "${AUTH[@]}" -d '{"sensor_id":"a/b","temperature":1}'
expect 400 sensor_id POST /api/readings "${AUTH[@]}" -d '{"sensor_id":"a+#","temperature":1}'
expect 400 no_metric POST /api/readings "${AUTH[@]}" -d '{"sensor_id":"r1"}'
expect 400 timestamp POST /api/readings "${AUTH[@]}" -d '{"sensor_id":"r1","ts":-5,"temperature":1}'
expect 400 timestamp POST /api/readings "${AUTH[@]}" -d '{"sensor_id":"r1","ts":99999999999,"temperature":1}'
expect 400 too_many POST /api/readings "${AUTH[@]}" \
    -d '{"sensor_id":"r1","a":1,"b":2,"c":3,"d":4,"e":5,"f":6,"g":7,"h":8,"i":9}'
expect 400 empty POST /api/readings "${AUTH[@]}" -d '[]'
expect 400 empty POST /api/readings "${AUTH[@]}"
# Deeply nested JSON is refused by the parser, not by a crash.
deep=$(printf '[%.0s' $(seq 1 3000))
expect 400 - POST /api/readings "${AUTH[@]}" -d "$deep"
# Oversized bodies: declared (Content-Length) and a 10 MB one.
head -c 9000 /dev/zero | tr '\0' ' ' >"$T/big.json"
expect 413 too_large POST /api/readings "${AUTH[@]}" --data-binary @"$T/big.json"
head -c 10000000 /dev/zero | tr '\0' 'x' >"$T/huge.json"
expect 413 too_large POST /api/readings "${AUTH[@]}" --data-binary @"$T/huge.json"
# Chunked (no Content-Length) bodies are refused outright (lws closes, or 411).
st=$(code POST /api/readings "${AUTH[@]}" -H 'Transfer-Encoding: chunked' --data-binary @"$T/big.json" || true)
case "$st" in 2*) fail "chunked body accepted ($st)" ;; esac
expect 405 method GET /api/readings
# Cross-origin writes: refused unless CORS_ORIGIN allows the origin.
expect 403 origin POST /api/readings "${AUTH[@]}" -H 'Origin: http://evil.example' -d '{"sensor_id":"r1","temperature":1}'
pre=$(curl -s -D - -o /dev/null -X OPTIONS -H 'Origin: http://allowed.example' \
    -H 'Access-Control-Request-Method: POST' "$G/api/readings")
echo "$pre" | grep -qi '^access-control-allow-origin: http://allowed.example' || fail "preflight: $pre"
echo "$pre" | grep -qi '^access-control-allow-headers:.*authorization' || fail "preflight headers: $pre"
[ "$(code OPTIONS /api/readings -H 'Origin: http://evil.example')" = 403 ] || fail "preflight from evil origin not refused"

# --- POST /api/readings: accepted, published, all or nothing ---------------
S=rest-$RANDOM
mosquitto_sub -h 127.0.0.1 -p "$MQTT_PORT" -t "sensors/+/readings" -v -W 20 >"$T/sub.out" 2>&1 &
SUB=$!
PIDS+=("$SUB")
sleep 0.5
# One bad element: nothing is published.
expect 400 timestamp POST /api/readings "${AUTH[@]}" \
    -d "[{\"sensor_id\":\"$S-x\",\"temperature\":1},{\"sensor_id\":\"$S-x\",\"ts\":-1,\"temperature\":2}]"
expect 202 - POST /api/readings "${AUTH[@]}" -H 'Origin: http://allowed.example' \
    -d "{\"sensor_id\":\"$S\",\"ts\":1764100000.25,\"temperature\":23.5,\"humidity\":41}"
grep -q '"accepted":1' "$T/body" || fail "accept body: $(cat "$T/body")"
expect 202 - POST /api/readings "${AUTH[@]}" \
    -d "[{\"sensor_id\":\"$S\",\"ts\":1764100001,\"temperature\":24},{\"sensor_id\":\"$S-b\",\"pressure\":1001.5}]"
grep -q '"accepted":2' "$T/body" || fail "list accept body: $(cat "$T/body")"
wait_for 10 grep -q "sensors/$S-b/readings" "$T/sub.out" || fail "manual readings not on MQTT: $(cat "$T/sub.out")"
grep -q "sensors/$S/readings {\"ts\":1764100000.25,\"temperature\":23.5,\"humidity\":41" "$T/sub.out" ||
    fail "published payload differs: $(cat "$T/sub.out")"
grep -q "$S-x" "$T/sub.out" && fail "a rejected list was partly published: $(cat "$T/sub.out")"
kill "$SUB" 2>/dev/null || true

# The gateway sees its own readings come back from the broker.
wait_for 10 sh -c "curl -sf '$G/api/sensors' | grep -q '\"sensor_id\":\"$S\"'" || fail "/api/sensors: $(curl -s "$G/api/sensors")"
r=$(curl -sf "$G/api/sensors/$S/readings?since=0")
echo "$r" | grep -q '"count":2' || fail "readings ring: $r"
echo "$r" | grep -q '"temperature":\[23.5,24.0\]' || fail "readings columns: $r"
r=$(curl -sf "$G/api/sensors/$S/readings?since=1764100000.5")
echo "$r" | grep -q '"count":1' || fail "readings since=: $r"
expect 404 not_found GET "/api/sensors/nobody-$RANDOM/readings"
expect 400 since GET "/api/sensors/$S/readings?since=abc"

# --- anomalies on chain ----------------------------------------------------
A=chain-$RANDOM
N=7
node "$ROOT/tests/gateway/anomalies.js" "$A" $N 1764200000 >"$T/anoms.jsonl"
while read -r line; do
    mosquitto_pub -h 127.0.0.1 -p "$MQTT_PORT" -q 1 -t "anomalies/$A" -m "$line"
done <"$T/anoms.jsonl"
wait_for 30 sh -c "curl -sf '$G/api/anomalies?sensor_id=$A&limit=100' | grep -q '\"count\":$N'" ||
    fail "anomalies not read back from chain: $(curl -s "$G/api/anomalies?sensor_id=$A")"
curl -sf "$G/api/anomalies?sensor_id=$A&limit=100" >"$T/page.json"
node -e '
const fs = require("fs");
const page = JSON.parse(fs.readFileSync(process.argv[1]));
const sent = fs.readFileSync(process.argv[2], "utf8").trim().split("\n").map(JSON.parse);
const fail = (m) => { console.error(m); process.exit(1); };
if (page.items.length !== sent.length) fail("count");
// newest first = reverse publication order
sent.reverse().forEach((s, i) => {
  const a = page.items[i];
  for (const k of ["id", "sensor_id", "metric", "type", "explanation"]) if (a[k] !== s[k]) fail(`item ${i} ${k}: ${a[k]} != ${s[k]}`);
  if (Math.abs(a.ts - s.ts) > 1e-3 || a.value !== s.value || a.score !== s.score) fail(`item ${i} numbers`);
  if (!/^0x[0-9a-f]{64}$/.test(a.tx_hash) || !(a.block_number > 0) || !(a.log_index >= 0)) fail(`item ${i} proof`);
});
' "$T/page.json" "$T/anoms.jsonl" || fail "on-chain anomalies differ from the published ones: $(head -c 600 "$T/page.json")"

# Pagination: pages of 3 with the cursor return every anomaly once, in order.
cursor=
: >"$T/ids"
for i in 1 2 3 4; do
    url="$G/api/anomalies?sensor_id=$A&limit=3"
    [ -n "$cursor" ] && url="$url&cursor=$cursor"
    p=$(curl -sf "$url")
    echo "$p" | node -e 'const p=JSON.parse(require("fs").readFileSync(0));for(const a of p.items)console.log(a.id)' >>"$T/ids"
    cursor=$(echo "$p" | node -e 'const p=JSON.parse(require("fs").readFileSync(0));console.log(p.next_cursor||"")')
    [ -z "$cursor" ] && break
done
[ -z "$cursor" ] || fail "pagination did not end"
node -e 'const f=require("fs");const l=f.readFileSync(process.argv[1],"utf8").trim().split("\n");const s=f.readFileSync(process.argv[2],"utf8").trim().split("\n").map(x=>JSON.parse(x).id).reverse();if(l.join()!==s.join()){console.error(l,s);process.exit(1)}' \
    "$T/ids" "$T/anoms.jsonl" || fail "paged ids differ"

# Filters: type, since/until.
n=$(curl -sf "$G/api/anomalies?sensor_id=$A&type=point" | node -e 'const p=JSON.parse(require("fs").readFileSync(0));if(p.items.some(a=>a.type!=="point"))process.exit(1);console.log(p.count)')
[ "$n" = 3 ] || fail "type filter gave $n, want 3"
n=$(curl -sf "$G/api/anomalies?sensor_id=$A&since=1764200001&until=1764200002" | node -e 'console.log(JSON.parse(require("fs").readFileSync(0)).count)')
[ "$n" = 3 ] || fail "since/until filter gave $n, want 3"
expect 400 limit GET "/api/anomalies?limit=0"
expect 400 limit GET "/api/anomalies?limit=abc"
expect 400 limit GET "/api/anomalies?limit=100000"
expect 400 type GET "/api/anomalies?type=bogus"
expect 400 cursor GET "/api/anomalies?cursor=zz"
expect 400 since GET "/api/anomalies?since=nan"
expect 400 sensor_id GET "/api/anomalies?sensor_id=a/b"

# One anomaly with its proof, verified against the receipt.
ID=$(head -1 "$T/anoms.jsonl" | node -e 'console.log(JSON.parse(require("fs").readFileSync(0)).id)')
expect 200 - GET "/api/anomalies/$ID"
v=$(cat "$T/body")
echo "$v" | grep -q '"verified":true' || fail "not verified: $v"
echo "$v" | grep -q '"content_matches":true' || fail "content check: $v"
TX=$(echo "$v" | node -e 'console.log(JSON.parse(require("fs").readFileSync(0)).tx_hash)')
rpc eth_getTransactionReceipt "[\"$TX\"]" | grep -q '"status":"0x1"' || fail "receipt of $TX"
expect 404 not_found GET "/api/anomalies/$(printf '0%.0s' {1..64})"
expect 400 id GET "/api/anomalies/xyz"
expect 404 not_found GET /api/nothing

# --- metrics and secrets -----------------------------------------------------
m=$(curl -sf "$G/metrics")
for k in 'iotad_gateway_readings_total' 'iotad_gateway_anomalies_total 7' 'iotad_gateway_ws_clients 0' \
    'iotad_gateway_chain_anomalies 7' 'iotad_gateway_mqtt_connected 1' 'iotad_gateway_chain_reachable 1' \
    'iotad_gateway_chain_head_block' 'iotad_gateway_chain_lag_blocks' 'iotad_build_info{version="' \
    'iotad_gateway_reading_to_alert_seconds_bucket{le="+Inf"}' \
    'iotad_gateway_alert_to_onchain_seconds_count'; do
    echo "$m" | grep -q "^$k" || fail "/metrics lacks '$k'"
done
# One prefix, counters end in _total, no rates (left to rate()).
fams=$(echo "$m" | awk '$1 == "#" && $2 == "TYPE" { print $3, $4 }')
echo "$fams" | awk '$1 !~ /^iotad_/' | grep . && fail "metrics without the iotad_ prefix"
echo "$fams" | awk '$2 == "counter" && $1 !~ /_total$/' | grep . && fail "counters not ending in _total"
echo "$fams" | grep -E '_per_second|_rate ' && fail "rate gauges in /metrics"
echo "$m" | grep -q "^iotad_build_info{version=\"$("$BIN/gateway" --version | awk '{print $NF}')\"} 1\$" ||
    fail "iotad_build_info does not carry --version: $(echo "$m" | grep build_info)"
bad=$(echo "$m" | sed -n 's/^iotad_gateway_errors_total{kind="http_bad_request"} //p')
[ "${bad:-0}" -ge 20 ] || fail "http_bad_request counter is $bad"
too=$(echo "$m" | sed -n 's/^iotad_gateway_errors_total{kind="http_too_large"} //p')
[ "${too:-0}" -ge 2 ] || fail "http_too_large counter is $too"
for p in /healthz /readyz /api/chain /metrics /api/sensors "/api/anomalies?limit=1000"; do
    body=$(curl -s "$G$p")
    case "$body" in *"$TOKEN"* | *"$RPC_SECRET"*) fail "$p leaks a secret" ;; esac
done
grep -q "$TOKEN" "$T/gateway.log" && fail "the token appears in the log"
echo "gateway_rest ok"
