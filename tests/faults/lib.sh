# tests/faults/lib.sh — the whole stack on free loopback ports, with helpers
# to kill, stop and restart each part, for tests/integration/faults.sh and
# scripts/soak.sh. Source tests/lib.sh first.
#
#   stack_start            mosquitto (persistence) + Ganache (database dir) +
#                          deployed contract + chainlogger, detector, gateway,
#                          the capture subscriber; the simulator is separate
#                          (svc_start simulator) so callers pick its pace.
#   svc_start NAME         (re)start detector|chainlogger|gateway|simulator;
#                          generation G logs to $T/NAME-G.log
#   svc_kill9 NAME         kill -9 and reap
#   broker_restart         SIGTERM mosquitto, start it again on the same port
#                          and persistence store
#   ganache_stop / ganache_start   same port, same database
#   healthz_ms T0_MS       ms from T0_MS until the gateway's /healthz is 200
#   now_ms                 wall clock in ms
#   final_drain / final_check   wait until the chain has everything, compare
#
# Every process is started through lib.sh's bg, so the EXIT trap stops it.

FAULTS_LIB_DIR=$ROOT/tests/faults
declare -A SVC_PID SVC_GEN

now_ms() { echo $(($(date +%s%N) / 1000000)); }

# svc_start NAME: start a service with the stack's environment.
# The simulator is restarted where its simulated clock would be now, so a
# restarted simulator continues the series instead of going back in time
# (SIM_T0 + wall seconds since SIM_W0 x SIM_SPEEDUP, rounded up).
svc_start() {
    local name=$1 g
    g=$((${SVC_GEN[$name]:-0} + 1))
    SVC_GEN[$name]=$g
    if [ "$name" = simulator ]; then
        local start=$SIM_T0
        if [ "$g" -gt 1 ]; then
            start=$((SIM_T0 + (($(now_ms) - SIM_W0_MS) * ${SIM_SPEEDUP%.*} + 999) / 1000 + 1))
        fi
        SIM_START=$start bg "$name-$g" "$BIN/$name"
    else
        bg "$name-$g" "$BIN/$name"
    fi
    SVC_PID[$name]=$LAST_PID
}

# svc_log NAME [G]: log file of generation G (default: the current one).
svc_log() { echo "$T/$1-${2:-${SVC_GEN[$1]}}.log"; }

svc_kill9() {
    local p=${SVC_PID[$1]}
    kill -9 "$p" 2>/dev/null || true
    wait "$p" 2>/dev/null || true
}

svc_term() { stop_pid "${SVC_PID[$1]}" 100; }

svc_alive() { kill -0 "${SVC_PID[$1]}" 2>/dev/null; }

healthz_code() {
    curl -s -o /dev/null -w '%{http_code}' --max-time 1 "http://127.0.0.1:$GATEWAY_PORT/healthz" 2>/dev/null || true
}

# healthz_ms T0_MS [LIMIT_S]: poll /healthz every 50 ms; print the ms from
# T0_MS until it answered 200. Returns 1 (printing -1) after LIMIT_S (30).
healthz_ms() {
    local t0=$1 limit=${2:-30} end
    end=$(($(now_ms) + limit * 1000))
    while [ "$(now_ms)" -lt "$end" ]; do
        if [ "$(healthz_code)" = 200 ]; then echo $(($(now_ms) - t0)); return 0; fi
        sleep 0.05
    done
    echo -1
    return 1
}

broker_start() {
    local g=${BROKER_GEN:-0}
    BROKER_GEN=$((g + 1))
    mosquitto_restart "mosquitto-$BROKER_GEN"
}

broker_stop() {
    kill -TERM "$MOSQ_PID" 2>/dev/null || true
    wait "$MOSQ_PID" 2>/dev/null || true
}

ganache_stop() { stop_pid "$CHAIN_PID" 100; }

ganache_start() { CHAIN_PORT_FIXED=$CHAIN_PORT start_chain ganache "$T/ganache-db"; }

# capture_start: a persistent QoS 1 subscriber to anomalies/# (client id
# faults-capture, clean session off): it reconnects after a broker restart
# and the broker keeps what was published meanwhile. One payload per line.
capture_start() {
    mosquitto_sub -h 127.0.0.1 -p "$MQTT_PORT" -c -i faults-capture -q 1 -t 'anomalies/#' \
        >>"$T/capture.jsonl" 2>>"$T/capture.log" &
    CAPTURE_PID=$!
    PIDS+=("$CAPTURE_PID")
}

captured() { grep -c . "$T/capture.jsonl" 2>/dev/null || echo 0; }

# stack_start: everything but the simulator. Exports what the services read.
stack_start() {
    for b in simulator detector chainlogger gateway; do [ -x "$BIN/$b" ] || fail "missing $BIN/$b"; done
    start_mosquitto
    start_chain ganache "$T/ganache-db"
    export STATE_DIR=$T/state
    deploy_contract
    export CONTRACT_ADDRESS
    export GATEWAY_PORT=${GATEWAY_PORT:-$(free_port)}
    # The WebSocket clients all come from 127.0.0.1 (GATEWAY_MAX_CONN_PER_IP is 64).
    export GATEWAY_MAX_CONN_PER_IP=${GATEWAY_MAX_CONN_PER_IP:-1000}
    capture_start
    # The session must exist before the first anomaly: wait for the subscription.
    wait_for 10 sh -c "mosquitto_pub -h 127.0.0.1 -p $MQTT_PORT -q 1 -t faults/ping -m x" ||
        fail "broker not answering"
    sleep 0.5
    svc_start chainlogger
    svc_start detector
    svc_start gateway
    wait_port "$GATEWAY_PORT" 20 || fail "gateway did not listen"
    wait_for 20 sh -c "curl -sf http://127.0.0.1:$GATEWAY_PORT/healthz" || fail "/healthz never 200"
    wait_for 20 grep -q mqtt_connected "$(svc_log chainlogger)" || fail "chainlogger not connected"
    # Readings published before the detector's session subscribed would not
    # reach it: wait for its connection, then a moment for the SUBACK.
    wait_for 20 grep -q mqtt_connected "$(svc_log detector)" || fail "detector not connected"
    sleep 1
}

# verify_line: `chainlogger verify`'s summary line ("journal=N chain=N ...").
verify_run() { "$BIN/chainlogger" verify >"$T/verify.out" 2>>"$T/verify.log"; }

# final_check: after the stream stopped, wait (bounded) until the chain
# logger's journal is all on chain and every captured id is on chain, read
# from the chain itself (eth_getLogs, not the gateway's deduplicating
# cache), none twice; sets CHECK (check_ids.js's JSON) and VERIFY (verify's output).
# Returns 1 when it never got there (CHECK/VERIFY then show what is wrong).
# MUST_IDS / INFO_IDS (files, optional): see check_ids.js.
final_check() {
    local secs=${1:-90} end ok=1 args=("$T/capture.jsonl" "$RPC_URL" "$CONTRACT_ADDRESS" ${MUST_IDS:+"$MUST_IDS"} ${INFO_IDS:+"$INFO_IDS"})
    end=$((SECONDS + secs))
    while [ $SECONDS -lt $end ]; do
        if verify_run && CHECK=$(node "$FAULTS_LIB_DIR/check_ids.js" "${args[@]}" 2>"$T/check.err"); then
            ok=0
            break
        fi
        sleep 2
    done
    if [ $ok != 0 ]; then
        CHECK=$(node "$FAULTS_LIB_DIR/check_ids.js" "${args[@]}" 2>&1 || true)
    fi
    VERIFY=$(cat "$T/verify.out" 2>/dev/null || true)
    return $ok
}

# json_get JSON KEY: a top-level field of a JSON object.
json_get() { node -e 'const o=JSON.parse(process.argv[1]);const v=o[process.argv[2]];console.log(typeof v==="object"?JSON.stringify(v):v)' "$1" "$2"; }
