# Gateway exposure (#19 items 2 and 10), against a real mosquitto and Ganache:
#   - without GATEWAY_TOKEN, a gateway on a non-loopback address (0.0.0.0)
#     refuses to start and says what to set;
#   - without GATEWAY_TOKEN (loopback, the default), every write is refused
#     with 401, even from 127.0.0.1; with the token it is accepted (202);
#     PUT/DELETE need the token too;
#   - an unknown Host (DNS rebinding) is refused on HTTP and on the
#     WebSocket upgrade; localhost, IP literals and GATEWAY_ALLOWED_HOSTS pass;
#   - GATEWAY_MAX_CONN_PER_IP (default 64): the 65th connection from
#     127.0.0.1 is closed at once, the 64 before it still work, and closing
#     them frees the slots;
#   - a node on another chain than CHAIN_ID stops the gateway (exit 1) with
#     a clear error.
. "$(dirname "$0")/../lib.sh"
. "$ROOT/tests/gateway/lib.sh"
[ -x "$BIN/gateway" ] || fail "missing $BIN/gateway"
start_mosquitto
start_chain
export STATE_DIR=$T/state
mkdir -p "$STATE_DIR"

# --- non-loopback without a token: no start ---------------------------------
P=$(free_port)
rc=0
timeout 10 env GATEWAY_HOST=0.0.0.0 GATEWAY_PORT="$P" "$BIN/gateway" >"$T/open.out" 2>&1 || rc=$?
[ "$rc" = 2 ] || fail "0.0.0.0 without GATEWAY_TOKEN: exit $rc, want 2: $(cat "$T/open.out")"
grep -q 'GATEWAY_TOKEN' "$T/open.out" || fail "the refusal does not name GATEWAY_TOKEN: $(cat "$T/open.out")"
(exec 3<>/dev/tcp/127.0.0.1/"$P") 2>/dev/null && fail "something listens on $P after the refusal"
# Loopback by default: it starts (the first gateway below uses no GATEWAY_HOST).

code() { # code METHOD URL [curl args]: print the status, body in $T/body
    local m=$1 u=$2
    shift 2
    curl -s -o "$T/body" -w '%{http_code}' -X "$m" "$@" "$u"
}
READING='{"sensor_id":"sec-1","temperature":21.5}'
JSON=(-H 'Content-Type: application/json')

# --- no token: writes refused, reads served ----------------------------------
GW_PORT=$(free_port)
bg gw-notoken env GATEWAY_PORT="$GW_PORT" "$BIN/gateway"
wait_port "$GW_PORT" 10 || fail "gateway without token (loopback default) did not start: $(cat "$T/gw-notoken.log")"
G=http://127.0.0.1:$GW_PORT
grep -q 'listening host=127.0.0.1' "$T/gw-notoken.log" || fail "default host is not 127.0.0.1: $(cat "$T/gw-notoken.log")"
st=$(code POST "$G/api/readings" "${JSON[@]}" -d "$READING")
[ "$st" = 401 ] || fail "POST without token on a token-less gateway: $st $(cat "$T/body")"
grep -q 'GATEWAY_TOKEN' "$T/body" || fail "401 does not say the gateway has no token: $(cat "$T/body")"
st=$(code POST "$G/api/readings" "${JSON[@]}" -H 'Authorization: Bearer anything' -d "$READING")
[ "$st" = 401 ] || fail "POST with an invented token on a token-less gateway: $st"
for m in PUT DELETE PATCH; do
    st=$(code "$m" "$G/api/readings" "${JSON[@]}" -d "$READING")
    [ "$st" = 401 ] || fail "$m without token: $st $(cat "$T/body")"
done
[ "$(code GET "$G/api/sensors")" = 200 ] || fail "GET /api/sensors refused without token"

# --- with a token: accepted with it, refused without -------------------------
TOKEN=tok-$RANDOM$RANDOM$RANDOM
start_gateway GATEWAY_TOKEN="$TOKEN" GATEWAY_ALLOWED_HOSTS="dash.example,.corp.example" \
    GATEWAY_MAX_SENSORS=4
wait_for 20 curl -sf "$G/healthz" || fail "/healthz never 200"
st=$(code POST "$G/api/readings" "${JSON[@]}" -d "$READING")
[ "$st" = 401 ] || fail "POST without token from loopback: $st"
st=$(code POST "$G/api/readings" "${JSON[@]}" -H "Authorization: Bearer wrong$TOKEN" -d "$READING")
[ "$st" = 401 ] || fail "POST with a wrong token: $st"
st=$(code POST "$G/api/readings" "${JSON[@]}" -H "Authorization: Bearer $TOKEN" -d "$READING")
[ "$st" = 202 ] || fail "POST with the token: $st $(cat "$T/body")"
for m in PUT DELETE; do
    st=$(code "$m" "$G/api/readings" "${JSON[@]}" -d "$READING")
    [ "$st" = 401 ] || fail "$m without token on a token gateway: $st"
    st=$(code "$m" "$G/api/readings" "${JSON[@]}" -H "Authorization: Bearer $TOKEN" -d "$READING")
    case "$st" in 2*) fail "$m accepted: $st" ;; esac
done

# --- Host allow-list (DNS rebinding) ------------------------------------------
for h in "evil.example:$GW_PORT" evil.example "localhost.evil.example" "dash.example.evil" \
    "corp.example.evil:80"; do
    st=$(code GET "$G/api/sensors" -H "Host: $h")
    [ "$st" = 403 ] || fail "GET with Host $h: $st, want 403"
    grep -q '"code":"host"' "$T/body" || fail "Host $h: body $(cat "$T/body")"
    st=$(code POST "$G/api/readings" "${JSON[@]}" -H "Host: $h" -H "Authorization: Bearer $TOKEN" -d "$READING")
    [ "$st" = 403 ] || fail "POST with Host $h: $st, want 403"
    st=$(code GET "$G/" -H "Host: $h")
    [ "$st" = 403 ] || fail "dashboard with Host $h: $st, want 403"
done
for h in "localhost:$GW_PORT" "127.0.0.1:$GW_PORT" "LOCALHOST" "[::1]:$GW_PORT" "10.1.2.3" \
    "dash.example:8080" "a.corp.example" "corp.example"; do
    st=$(code GET "$G/api/sensors" -H "Host: $h")
    [ "$st" = 200 ] || fail "GET with Host $h: $st, want 200 $(cat "$T/body")"
done
# WebSocket upgrade: 101 for a known Host, refused for another.
ws_status() {
    curl -s -o /dev/null -w '%{http_code}' --max-time 2 -H 'Connection: Upgrade' \
        -H 'Upgrade: websocket' -H 'Sec-WebSocket-Version: 13' \
        -H 'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==' -H "Host: $1" "$G/ws" || true
}
[ "$(ws_status "127.0.0.1:$GW_PORT")" = 101 ] || fail "WebSocket with Host 127.0.0.1 not upgraded"
[ "$(ws_status "localhost:$GW_PORT")" = 101 ] || fail "WebSocket with Host localhost not upgraded"
st=$(ws_status "evil.example:$GW_PORT")
[ "$st" != 101 ] || fail "WebSocket with Host evil.example upgraded"
node -e '
const WebSocket = require(process.argv[1]);
const ws = new WebSocket(process.argv[2], {headers: {Host: "rebind.evil.example"}});
ws.on("open", () => { console.log("open"); process.exit(1); });
ws.on("error", () => process.exit(0));
ws.on("close", () => process.exit(0));
setTimeout(() => process.exit(2), 5000);
' "$ROOT/tools/node_modules/ws" "ws://127.0.0.1:$GW_PORT/ws" || fail "a WebSocket client with Host rebind.evil.example was accepted"
m=$(curl -sf "$G/metrics")
echo "$m" | grep -q '^iotad_gateway_errors_total{kind="host"} [1-9]' || fail "host refusals not counted: $(echo "$m" | grep kind=)"

# --- connections per address --------------------------------------------------
python3 - "$GW_PORT" <<'PY' || fail "per-address connection limit"
import socket, sys, time
port = int(sys.argv[1])
def conn():
    s = socket.create_connection(("127.0.0.1", port), timeout=5)
    return s
def get(s):
    s.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
    return s.recv(4096)
def closed_by_server(s):
    s.settimeout(2)
    try:
        return s.recv(1) == b""
    except ConnectionResetError:
        return True
    except socket.timeout:
        return False
held = [conn() for _ in range(64)]
time.sleep(0.5)
extra = conn()
if not closed_by_server(extra):
    sys.exit("the 65th connection from 127.0.0.1 was kept")
for i in (0, 31, 63):
    r = get(held[i])
    if not r.startswith(b"HTTP/1.1"):
        sys.exit("held connection %d does not answer: %r" % (i, r[:80]))
for s in held:
    s.close()
time.sleep(0.5)
again = [conn() for _ in range(64)]
time.sleep(0.3)
for i in (0, 63):
    r = get(again[i])
    if not r.startswith(b"HTTP/1.1"):
        sys.exit("after closing, connection %d does not answer: %r" % (i, r[:80]))
print("per-ip ok")
PY
wait_for 5 sh -c "curl -sf '$G/metrics' | grep -q '^iotad_gateway_errors_total{kind=\"conn_per_ip\"} [1-9]'" ||
    fail "conn_per_ip refusal not counted"

# --- sensor list: least recently seen evicted (#19 item 4) ---------------------
# sec-1 (posted above) is the oldest; six more sensors leave the newest four.
for i in 1 2 3 4 5 6; do
    mosquitto_pub -h 127.0.0.1 -p "$MQTT_PORT" -q 1 -t "sensors/evict-$i/readings" -m "{\"temperature\": $i}"
done
wait_for 10 sh -c "curl -sf '$G/api/sensors' | grep -q '\"sensor_id\":\"evict-6\"'" || fail "evict-6 never listed: $(curl -s "$G/api/sensors")"
list=$(curl -sf "$G/api/sensors" | node -e 'console.log(JSON.parse(require("fs").readFileSync(0)).sensors.map(s=>s.sensor_id).join(","))')
[ "$list" = "evict-3,evict-4,evict-5,evict-6" ] || fail "sensor list after eviction: $list"
[ "$(metric iotad_gateway_sensor_evictions_total)" = 3 ] || fail "evictions metric: $(curl -s "$G/metrics" | grep evict)"

# --- chain id mismatch: fatal -------------------------------------------------
P=$(free_port)
rc=0
timeout 20 env GATEWAY_PORT="$P" CHAIN_ID=31337 "$BIN/gateway" >"$T/chainid.out" 2>&1 || rc=$?
[ "$rc" = 1 ] || fail "CHAIN_ID=31337 against chain 1337: exit $rc, want 1: $(tail -5 "$T/chainid.out")"
grep -q 'chain_id_mismatch.*configured=31337 node=1337' "$T/chainid.out" ||
    fail "no clear chain id error: $(tail -5 "$T/chainid.out")"
echo "gateway_security ok"
