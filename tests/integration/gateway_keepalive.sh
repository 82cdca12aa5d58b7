# WebSocket keepalive (issue 4: ping/pong): with WS_PING_S=1 and
# WS_HANGUP_S=3, a client that answers pings is pinged every second and kept;
# a client that went silent after the handshake is closed after about 3 s;
# settings that make no sense are refused at start.
. "$(dirname "$0")/../lib.sh"
. "$ROOT/tests/gateway/lib.sh"
[ -x "$BIN/gateway" ] || fail "missing $BIN/gateway"
start_mosquitto
start_gateway RPC_URL=http://127.0.0.1:9 WS_PING_S=1 WS_HANGUP_S=3
node "$ROOT/tests/gateway/keepalive.js" "$GW_PORT" 1 3 >"$T/ka.out" 2>&1 || fail "keepalive: $(cat "$T/ka.out")"
echo "keepalive: $(cat "$T/ka.out")"
if WS_PING_S=5 WS_HANGUP_S=5 GATEWAY_PORT=$(free_port) timeout 10 "$BIN/gateway" >"$T/bad.log" 2>&1; then
    fail "gateway accepted WS_HANGUP_S not above WS_PING_S"
fi
grep -q 'WS_HANGUP_S' "$T/bad.log" || fail "no clear error for bad keepalive settings: $(tail -2 "$T/bad.log")"
echo "gateway keepalive ok"
