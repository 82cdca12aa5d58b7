# scripts/stack-lib.sh — what `make run` (scripts/run.sh) and `make
# run-cluster` (scripts/run-cluster.sh) share: supervising foreground
# processes, the dev chain with its contract, the demo simulator clock.
# Processes are started with scripts/lib/stack.sh (bg, start_mosquitto,
# start_chain, deploy_contract, wait_port), sourced here; their logs
# are appended to $LOGS/NAME.log.
# Source it after setting ROOT, STATE_DIR, LOGS, RPC_PORT, CHAIN_ID, RPC_URL.
# STACK_ON_STOP may name a command run after every process has stopped.

STACK_DIR=$STATE_DIR STACK_LOGS=$LOGS STACK_LOG_APPEND=1
. "$ROOT/scripts/lib/stack.sh"
stopping=0

# stop_all: services first (newest first), then the chain and the brokers
# they write to, so the last anomalies and acknowledgements get through.
stop_all() {
    [ "$stopping" = 1 ] && return
    stopping=1
    echo
    echo "stopping..."
    stop_started 50
    if [ -n "${STACK_ON_STOP:-}" ]; then $STACK_ON_STOP || true; fi
    echo "stopped; logs are in $LOGS"
}
trap stop_all EXIT
trap 'exit 130' INT TERM

# need_port NAME PORT SECONDS: wait for NAME to listen on PORT; else say
# so with the end of its log and exit 1.
need_port() {
    wait_port "$2" "$3" || stack_fail "$1 did not open port $2" "$1"
}

require_free_ports() { # require_free_ports "HINT" PORT...
    local hint=$1 p
    shift
    for p in "$@"; do
        if port_open "$p"; then
            echo "error: port $p is already in use ($hint)" >&2
            exit 1
        fi
    done
}

# chain_up: Ganache on RPC_PORT, chain id CHAIN_ID (database in the state
# dir, so a restart keeps the chain and the deployed contract), the chain
# logger's key (Ganache's first account in $STATE_DIR/logger.key unless
# KEY_FILE or PRIVATE_KEY is given; owner-only, never printed), and the
# contract, deployed unless CONTRACT_ADDRESS is given (`chainlogger deploy`
# is idempotent: it prints the one recorded for the chain). Exports
# KEY_FILE and CONTRACT_ADDRESS.
chain_up() {
    local url=$RPC_URL
    STACK_CHAIN_ID=$CHAIN_ID CHAIN_PORT_FIXED=$RPC_PORT start_chain ganache "$STATE_DIR/ganache"
    RPC_URL=$url
    [ -n "${CONTRACT_ADDRESS:-}" ] || deploy_contract
    export CONTRACT_ADDRESS
    echo "contract: $CONTRACT_ADDRESS on chain $CHAIN_ID ($RPC_URL)"
}

# simulator_up [WRAPPER...]: the demo fleet. A demo should show days and
# seasons in minutes: one simulated day per minute, starting a year back so
# the clock stays behind the present for hours (readings from more than a
# year ahead are refused as bad input).
simulator_up() {
    export SIM_SPEEDUP=${SIM_SPEEDUP:-1440}
    export SIM_START=${SIM_START:-$(date -u -d '-365 days' +%Y-%m-%dT%H:%M:%S)}
    bg simulator "$@" "$ROOT/build/bin/simulator"
}

# supervise [HOOK]: stay in the foreground; if a process dies, say so and
# stop the stack. HOOK (a command) runs once a second as well.
supervise() {
    while true; do
        for p in "${PIDS[@]}"; do
            if ! kill -0 "$p" 2>/dev/null; then
                stack_fail "${PID_NAMES[$p]} exited" "${PID_NAMES[$p]}"
            fi
        done
        if [ $# -gt 0 ]; then "$@"; fi
        sleep 1
    done
}
