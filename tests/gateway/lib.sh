# tests/gateway/lib.sh — helpers shared by the gateway's integration tests.
# Source after tests/lib.sh.

# start_gateway [ENV=VALUE ...]: start build/bin/gateway on a free port with
# the given extra environment; sets GW_PORT, G (base URL) and GW_PID.
# free_port can hand out a port that is an ephemeral port of some live
# connection, which bind() then refuses: retry on another port.
start_gateway() {
    local try
    for try in 1 2 3 4 5; do
        GW_PORT=$(free_port)
        bg gateway env GATEWAY_PORT="$GW_PORT" GATEWAY_HOST=127.0.0.1 "$@" "$BIN/gateway"
        GW_PID=$LAST_PID
        if wait_port "$GW_PORT" 10 && kill -0 "$GW_PID" 2>/dev/null; then
            G=http://127.0.0.1:$GW_PORT
            return 0
        fi
        grep -q 'startup_failed reason=listen' "$T/gateway.log" || break
        cp "$T/gateway.log" "$T/gateway-bind-$try.txt"
    done
    fail "gateway did not start"
}

# metric NAME: print the value of one /metrics line (0 when absent).
metric() {
    local v
    v=$(curl -sf "$G/metrics" | awk -v n="$1" '$1 == n { print $2 }')
    echo "${v:-0}"
}
