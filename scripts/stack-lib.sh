# scripts/stack-lib.sh — what `make run` (scripts/run.sh) and `make
# run-cluster` (scripts/run-cluster.sh) share: supervising foreground
# processes, the dev chain with its contract, the demo simulator clock.
# Source it after setting ROOT, STATE_DIR, LOGS, RPC_PORT, CHAIN_ID, RPC_URL.
# STACK_ON_STOP may name a command run after every process has stopped.

pids=()
names=()
stopping=0

# stop_all: services first (newest first), then the chain and the brokers
# they write to, so the last anomalies and acknowledgements get through.
stop_all() {
    [ "$stopping" = 1 ] && return
    stopping=1
    echo
    echo "stopping..."
    for ((i = ${#pids[@]} - 1; i >= 0; i--)); do kill -TERM "${pids[$i]}" 2>/dev/null || true; done
    for _ in $(seq 1 50); do
        alive=0
        for p in "${pids[@]+"${pids[@]}"}"; do kill -0 "$p" 2>/dev/null && alive=1; done
        [ $alive = 0 ] && break
        sleep 0.1
    done
    for p in "${pids[@]+"${pids[@]}"}"; do kill -KILL "$p" 2>/dev/null || true; done
    if [ -n "${STACK_ON_STOP:-}" ]; then $STACK_ON_STOP || true; fi
    echo "stopped; logs are in $LOGS"
}
trap stop_all EXIT
trap 'exit 130' INT TERM

start() { # start NAME CMD...: run CMD in the background, logging to $LOGS/NAME.log
    local name=$1
    shift
    "$@" >>"$LOGS/$name.log" 2>&1 &
    pids+=($!)
    names+=("$name")
}

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

wait_port() { # wait_port NAME PORT SECONDS
    for _ in $(seq 1 $(($3 * 10))); do port_open "$2" && return 0; sleep 0.1; done
    echo "error: $1 did not open port $2; see $LOGS/$1.log" >&2
    tail -n 20 "$LOGS/$1.log" >&2 || true
    exit 1
}

# port_holder PORT: "NAME (pid N[, systemd service UNIT])" of the process
# listening on PORT, or "" when it cannot be seen (another user's, no ss).
port_holder() {
    local pid name unit
    pid=$(ss -Hltnp "sport = :$1" 2>/dev/null | grep -o 'pid=[0-9]*' | head -n 1 | cut -d= -f2)
    [ -n "$pid" ] || return 0
    name=$(cat "/proc/$pid/comm" 2>/dev/null || echo "?")
    unit=$(grep -o 'system\.slice/[^/]*\.service' "/proc/$pid/cgroup" 2>/dev/null | head -n 1 | cut -d/ -f2 || true)
    echo "$name (pid $pid${unit:+, systemd service $unit})"
}

require_free_ports() { # require_free_ports "HINT" PORT...
    local hint=$1 p who unit
    shift
    for p in "$@"; do
        if port_open "$p"; then
            who=$(port_holder "$p")
            unit=$(echo "$who" | grep -o '[^ ]*\.service' || true)
            echo "error: port $p is already in use by ${who:-another process (sudo ss -ltnp 'sport = :$p' shows which)}" >&2
            if [ -n "$unit" ]; then
                echo "  it is a system service: stop it with 'sudo systemctl disable --now ${unit%.service}', or $hint" >&2
            elif [ -n "$who" ]; then
                echo "  stop it (an earlier make run? kill $(echo "$who" | grep -o 'pid [0-9]*' | cut -c5-)), or $hint" >&2
            else
                echo "  stop it, or $hint" >&2
            fi
            exit 1
        fi
    done
}

# chain_up: chain_start, then contract_up (below). Exports KEY_FILE and
# CONTRACT_ADDRESS.
chain_up() {
    chain_start
    contract_up
}

# chain_start: Ganache (deterministic accounts, database in the state dir so
# a restart keeps the chain and the deployed contract) and the chain
# logger's key (Ganache's first account unless KEY_FILE or PRIVATE_KEY is
# given; owner-only, never printed). Exports KEY_FILE.
chain_start() {
    mkdir -p "$STATE_DIR/ganache"
    start ganache node "$ROOT/tools/node_modules/ganache/dist/node/cli.js" \
        --server.host 127.0.0.1 --server.port "$RPC_PORT" --chain.chainId "$CHAIN_ID" \
        --wallet.deterministic --database.dbPath "$STATE_DIR/ganache" --logging.quiet \
        --miner.blockGasLimit 30000000
    wait_port ganache "$RPC_PORT" 60
    if [ -z "${KEY_FILE:-}" ] && [ -z "${PRIVATE_KEY:-}" ]; then
        KEY_FILE=$STATE_DIR/logger.key
        if [ ! -f "$KEY_FILE" ]; then
            (umask 077 && echo 4f3edf983ac636a65a842ce7c78d9aa706d3b113bce9c46f30d7d21715b23b1d >"$KEY_FILE")
        fi
        export KEY_FILE
    fi
}

# contract_up: the contract, deployed unless one is recorded for the chain
# (idempotent); a failed deployment says why and where its log is.
contract_up() {
    if [ -z "${CONTRACT_ADDRESS:-}" ]; then
        local n0=0
        [ ! -f "$LOGS/deploy.log" ] || n0=$(wc -l <"$LOGS/deploy.log")
        if ! CONTRACT_ADDRESS=$("$ROOT/build/bin/chainlogger" deploy 2>>"$LOGS/deploy.log"); then
            echo "error: deploying the contract failed; see $LOGS/deploy.log:" >&2
            tail -n +$((n0 + 1)) "$LOGS/deploy.log" | tail -n 5 | sed 's/^/  /' >&2
            exit 1
        fi
    fi
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
    start simulator "$@" "$ROOT/build/bin/simulator"
}

# supervise [HOOK]: stay in the foreground; if a process dies, say so and
# stop the stack. HOOK (a command) runs once a second as well.
supervise() {
    while true; do
        for i in "${!pids[@]}"; do
            if ! kill -0 "${pids[$i]}" 2>/dev/null; then
                echo "error: ${names[$i]} exited; see $LOGS/${names[$i]}.log" >&2
                tail -n 20 "$LOGS/${names[$i]}.log" >&2 || true
                exit 1
            fi
        done
        if [ $# -gt 0 ]; then "$@"; fi
        sleep 1
    done
}
