# tests/chain/lib.sh — helpers for the chain logger's integration tests and
# benchmark, on top of tests/lib.sh (source that first).

# topic0 of the contract's per-record event, Recorded(bytes32,address):
# LOG3 [topic0, id, logger], data = record ++ seq in 1..8 bytes
# (common/eth/anomaly_log.h; keccak256 of the signature).
RECORDED_TOPIC=0xdca60c2087041cbb12d9a57628c6cad28ecbd0437e47c7ab6c3aa6e162bf4497

# build_chain_tools: compile the anomaly generator into $T/anomaly_gen.
build_chain_tools() {
    cc -O2 -std=gnu11 -Wall -Wextra -Werror -I"$ROOT/common" -o "$T/anomaly_gen" \
        "$ROOT/tests/chain/anomaly_gen.c" "$ROOT/tests/chain/expl_rows.c" "$ROOT/build/libcommon.a" -ljansson -lpthread -lm \
        || fail "build anomaly_gen"
}

# real_explanations FILE: the anomalies the detector engine really raises,
# with their explanations: a `detector replay` of 14 simulated days (8
# sensors), one per line as "metric TAB ts TAB value TAB score TAB type TAB
# explanation" (what anomaly_gen and bench/chain/chain_bench read; dropouts,
# which have no value and never go on chain, are left out).
real_explanations() {
    "$BIN/simulator" --csv "$T/simds" --days 14 --anomaly-rate 20 2>"$T/simds.log" || fail "simulator --csv"
    for f in "$T"/simds/*-*.csv; do
        LOG_LEVEL=warn "$BIN/detector" replay --sensor-id "$(basename "$f" .csv)" "$f" || fail "replay $f"
    done | python3 -c 'import csv, sys, calendar, time
types = {"point": 0, "contextual": 1, "change_point": 2}
for r in csv.DictReader(sys.stdin):
    e = r.get("explanation")
    if not e or e == "explanation" or r.get("type") not in types:
        continue
    if r["value"].lower() in ("nan", "inf", "-inf"):
        continue
    ts = calendar.timegm(time.strptime(r["timestamp"], "%Y-%m-%d %H:%M:%S"))
    print("\t".join([r["metric"], str(ts), r["value"], r["score"], str(types[r["type"]]), e]))' >"$1"
    [ "$(grep -c . "$1")" -ge 50 ] || fail "fewer than 50 explanations in $1"
}

# mean_explanation_bytes FILE: the mean explanation length of FILE's lines.
mean_explanation_bytes() { awk -F'\t' '{ s += length($NF) } END { printf "%.0f", s / NR }' "$1"; }

# publish_anomalies SENSOR N [START]: publish N valid anomalies at QoS 1.
publish_anomalies() {
    "$T/anomaly_gen" "$1" "$2" "${3:-0}" |
        mosquitto_pub -h 127.0.0.1 -p "$MQTT_PORT" -q 1 -t "anomalies/$1" -l
}

# verify_ok: `chainlogger verify` passes (prints its report to $T/verify.out).
verify_ok() {
    "$BIN/chainlogger" verify >"$T/verify.out" 2>>"$T/verify.log"
}

# wait_verified SECONDS: until verify passes; fail with its last report otherwise.
wait_verified() {
    if ! wait_for "$1" verify_ok; then
        cat "$T/verify.out" >&2 || true
        fail "verify did not pass within $1 s"
    fi
    cat "$T/verify.out"
}

# total_logged: the contract's totalLogged() as a decimal number.
total_logged() {
    local r
    r=$(rpc eth_call "[{\"to\":\"$CONTRACT\",\"data\":\"0x$(total_sel)\"},\"latest\"]")
    r=${r#*\"result\":\"0x}; r=${r%%\"*}
    echo $((16#${r: -16}))
}
total_sel() { echo "3c71c4fb"; } # keccak256("totalLogged()")[0:4]

# setup_chainlogger: Ganache + mosquitto + deployed contract (key in
# PRIVATE_KEY); exports what the chain logger needs. Sets CONTRACT.
setup_chainlogger() {
    build_chain_tools
    start_mosquitto
    start_chain
    export STATE_DIR=$T/state PRIVATE_KEY=$GANACHE_KEY0
    deploy_contract
    CONTRACT=$CONTRACT_ADDRESS
    export CONTRACT
}

# start_tampered_logger N: deploy a variant of the contract that stores a
# wrong batch root (root xor 1), start a second chain logger on it (state
# in $T/state2) and wait until N anomalies of sensor room-5 are logged.
# Sets TAMPERED (its address); the exports (STATE_DIR, CONTRACT_JSON,
# CHAINLOGGER_CLIENT_ID) stay, so `chainlogger verify/prove` use it after.
start_tampered_logger() {
    sed 's/roots\[batch\] = root;/roots[batch] = root ^ bytes32(uint256(1));/' \
        "$ROOT/contracts/AnomalyLogger.sol" >"$T/AnomalyLogger.sol"
    ! cmp -s "$T/AnomalyLogger.sol" "$ROOT/contracts/AnomalyLogger.sol" ||
        fail "tampering sed did not apply"
    node "$ROOT/scripts/compile-contract.js" "$T/AnomalyLogger.sol" "$T/AnomalyLogger.json" \
        >/dev/null || fail "compile the tampered contract"
    export STATE_DIR=$T/state2 CONTRACT_JSON=$T/AnomalyLogger.json
    export CHAINLOGGER_CLIENT_ID=chainlogger-tampered
    deploy_contract
    TAMPERED=$CONTRACT_ADDRESS
    bg chainlogger2 "$BIN/chainlogger"
    wait_for 15 grep -q mqtt_connected "$T/chainlogger2.log" || fail "chain logger 2 not connected"
    publish_anomalies room-5 "$1" 0
    # N anomalies matched (alarm lifecycle events, when a gateway runs
    # alongside, are logged and matched too: not counted here)
    tampered_done() {
        "$BIN/chainlogger" verify >"$T/verify2.out" 2>>"$T/verify.log"
        local m a
        m=$(sed -n 's/.* matched=\([0-9]*\) missing=0 .*/\1/p' "$T/verify2.out")
        a=$(sed -n 's/.* alarm_events=\([0-9]*\).*/\1/p' "$T/verify2.out")
        [ -n "$m" ] && [ $((m - ${a:-0})) = "$1" ]
    }
    wait_for 60 tampered_done "$1" || { cat "$T/verify2.out"; fail "tampered: anomalies not logged"; }
}
