#!/usr/bin/env bash
# Chain logger throughput and gas on Ganache, batch sizes 1, 10 and 50.
#
# For each batch size: N anomalies are queued at the broker for the chain
# logger's persistent session while it is stopped; it is then started, and
# timed by the arrival of its chain/logged confirmations, from the first to
# the last (MQTT intake, journal fsync, batching, signing, sending, receipts
# and confirmations all included; process start-up is not). Gas per
# anomaly is the gasUsed of the blocks it mined divided by the events.
# In the same run, the reference client (bench/chain/chain_bench.c ref)
# sends presigned batches of the same anomalies from another authorised
# account, keeping K transactions in flight (K = 1, 2, 4, 8: the logger
# keeps 2), each K measured in the same run: what the chain itself accepts.
# The reference is the best K; the ratio is against it.
# Every anomaly is one the engine really raised, explanation included (a
# detector replay of a simulated dataset, `simulator --csv` + `detector
# replay`, tests/chain/lib.sh real_explanations; EXPLANATIONS_FILE=FILE
# uses FILE's lines instead).
#   bench: chain.rate.batchB         anomalies/s   (chain logger)
#   bench: chain.gas.batchB          gas/anomaly   (chain logger)
#   bench: chain.ref_rate.kK.batchB  anomalies/s   (presigned reference, K in flight)
#   bench: chain.reference.batchB    anomalies/s   (the best K)
#   bench: chain.ratio.batch50       chain logger / best reference
#   bench: chain.explanation_bytes   mean explanation length of the anomalies sent
#   bench: chain.gas_previous.batch50  gas/anomaly of the same anomalies in the
#                                    previous record format (raw explanations)
# Settings: REPS (3, runs per figure, median), REF_K ("1 2 4 8"), N1, N10,
# N50, NA50 (anomalies per run), EXPLANATIONS_FILE.
# then batch 50 again with group commit (JOURNAL_SYNC=group) as chain.group.*,
# and, when Anvil is installed, the batch-50 figures on Anvil as chain.anvil.*
# and chain.anvil.group.*. The default is JOURNAL_SYNC=each.
. "$(dirname "$0")/../tests/lib.sh"
. "$ROOT/tests/chain/lib.sh"
build_chain_tools
cc -O2 -std=gnu11 -Wall -Wextra -Werror -I"$ROOT/common" -I"$ROOT/services/chainlogger" -I"$ROOT/tests/chain" \
    -o "$T/chain_bench" "$ROOT/bench/chain/chain_bench.c" "$ROOT/tests/chain/expl_rows.c" \
    "$ROOT/build/libcommon.a" \
    -ljansson -lcurl -lsecp256k1 -lpthread -lm || fail "build chain_bench"
start_mosquitto
start_chain
export STATE_DIR=$T/state PRIVATE_KEY=$GANACHE_KEY0 LOG_LEVEL=warn
deploy_contract
CONTRACT=$CONTRACT_ADDRESS
REF_KEY=$GANACHE_KEY1
"$BIN/chainlogger" authorize "$(PRIVATE_KEY=$REF_KEY "$BIN/chainlogger" address)" 2>>"$T/deploy.log" ||
    fail "authorize the reference account"

# Real anomalies: the detector's replay of 14 simulated days (8 sensors),
# each with its metric, value, score, type and explanation.
EXPL=${EXPLANATIONS_FILE:-$T/explanations.txt}
[ -n "${EXPLANATIONS_FILE:-}" ] || real_explanations "$EXPL"
printf 'bench: chain.explanation_bytes %s bytes (mean of %d real explanations)\n' \
    "$(mean_explanation_bytes "$EXPL")" "$(grep -c . "$EXPL")"
block() { local r; r=$(rpc eth_blockNumber '[]'); r=${r#*\"result\":\"}; echo $((${r%%\"*})); }

# Create the persistent session once, so messages queue while the logger is down.
LOG_LEVEL=info bg cl-init "$BIN/chainlogger"
wait_for 15 grep -q mqtt_connected "$T/cl-init.log" || fail "chain logger did not connect"
sleep 0.5; kill "$LAST_PID"; wait "$LAST_PID" 2>/dev/null || true

start_n=0
run_logger() { # BATCH N
    local b=$1 n=$2 b0 b1 pid before
    before=$(total_logged)
    "$T/anomaly_gen" "${PREFIX}bench-$b" "$n" "$start_n" "@$EXPL" |
        mosquitto_pub -h 127.0.0.1 -p "$MQTT_PORT" -q 1 -t "anomalies/${PREFIX}bench-$b" -l
    start_n=$((start_n + n))
    b0=$(( $(block) + 1 ))
    # The clock: arrival times of the chain/logged confirmations (no polling
    # of the chain, which would slow it down). Rate = anomalies after the
    # first batch / time from the first to the last confirmation.
    timeout 300 mosquitto_sub -h 127.0.0.1 -p "$MQTT_PORT" -q 1 -t "chain/logged/${PREFIX}bench-$b" \
        -C "$n" -F '%U' >"$T/times-$b.txt" &
    local sub=$!
    sleep 0.3
    BATCH_SIZE=$b BATCH_MAX_DELAY_MS=50 bg "cl-$b" "$BIN/chainlogger"
    pid=$LAST_PID
    wait "$sub" || fail "batch $b: not all $n confirmations arrived"
    kill "$pid"; wait "$pid" 2>/dev/null || true
    b1=$(block)
    rate=$(awk -v n="$n" -v b="$b" 'NR == 1 { t0 = $1 } { t1 = $1 } END { print (n - b) / (t1 - t0) }' "$T/times-$b.txt")
    gas=$("$T/chain_bench" gas "$RPC_URL" "$CONTRACT" "$b0" "$b1" | awk '{print $2}')
    [ "$(total_logged)" -ge $((before + n)) ] || fail "batch $b: totalLogged $(total_logged) < $((before + n))"
    echo "batch $b run: chain logger $rate anomalies/s, $gas gas/anomaly" >&2
}
run_ref() { # BATCH N K
    local out
    out=$("$T/chain_bench" ref "$RPC_URL" "$CONTRACT" "$REF_KEY" "$1" "$2" "$3" "$EXPL") || fail "reference client"
    ref_rate=$(echo "$out" | awk '{print $2}')
    echo "batch $1 run: reference k=$3 $ref_rate anomalies/s" >&2
}
median() { sort -g | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
# Each figure is the median of REPS runs, chain logger and reference (every
# K) alternating, so that drift in Ganache's speed (JIT, GC, growing state)
# affects all alike. ref_rate ends as the best K's median.
measure() { # BATCH N
    local b=$1 n=$2 r k rates="" gases="" best=0 best_k=0
    declare -A refs=()
    for r in $(seq 1 "${REPS:-3}"); do
        run_logger "$b" "$n"; rates+="$rate"$'\n'; gases+="$gas"$'\n'
        for k in ${REF_K:-1 2 4 8}; do
            run_ref "$b" "$n" "$k"; refs[$k]+="$ref_rate"$'\n'
        done
    done
    rate=$(printf '%s' "$rates" | median)
    printf 'bench: chain.%srate.batch%s %.1f anomalies/s\n' "$PREFIX" "$b" "$rate"
    printf 'bench: chain.%sgas.batch%s %s gas/anomaly\n' "$PREFIX" "$b" "$(printf '%s' "$gases" | median)"
    for k in ${REF_K:-1 2 4 8}; do
        ref_rate=$(printf '%s' "${refs[$k]}" | median)
        printf 'bench: chain.%sref_rate.k%s.batch%s %.1f anomalies/s\n' "$PREFIX" "$k" "$b" "$ref_rate"
        if awk -v a="$ref_rate" -v b="$best" 'BEGIN { exit !(a > b) }'; then best=$ref_rate best_k=$k; fi
    done
    ref_rate=$best
    printf 'bench: chain.%sreference.batch%s %.1f anomalies/s (best k=%s)\n' "$PREFIX" "$b" "$ref_rate" "$best_k"
}
# Warm-up (first storage writes, JIT) so the figures are steady-state.
"$T/chain_bench" ref "$RPC_URL" "$CONTRACT" "$REF_KEY" 10 50 1 "$EXPL" >/dev/null || fail "warm-up"
ratio() { awk -v a="$rate" -v b="$ref_rate" 'BEGIN { print a / b }'; }
PREFIX=
measure 1 "${N1:-200}"
measure 10 "${N10:-1000}"
measure 50 "${N50:-3000}"
printf 'bench: chain.ratio.batch50 %.3f ratio\n' "$(ratio)"
# The reference of chain.gas.batch50: the same anomalies in the previous
# record format (explanations as raw text instead of template + parameters,
# eth/expl_codec.h), sent by the presigned client in this run.
prev=$(CHAIN_BENCH_RAW_EXPL=1 "$T/chain_bench" ref "$RPC_URL" "$CONTRACT" "$REF_KEY" 50 "${N50:-3000}" 1 "$EXPL") ||
    fail "reference client (previous format)"
now=$("$T/chain_bench" ref "$RPC_URL" "$CONTRACT" "$REF_KEY" 50 "${N50:-3000}" 1 "$EXPL") ||
    fail "reference client"
printf 'bench: chain.gas_previous.batch50 %s gas/anomaly (records with raw explanations, %s bytes; this format: %s gas, %s bytes)\n' \
    "$(echo "$prev" | awk '{print $4}')" "$(echo "$prev" | awk '{print $8}')" \
    "$(echo "$now" | awk '{print $4}')" "$(echo "$now" | awk '{print $8}')"
# Group commit (JOURNAL_SYNC=group): chain.group.*
export JOURNAL_SYNC=group; PREFIX=group.
measure 50 "${N50:-3000}"
printf 'bench: chain.group.ratio.batch50 %.3f ratio\n' "$(ratio)"
unset JOURNAL_SYNC

# The same at batch 50 on Anvil (when installed): chain.anvil.*.
if [ -x "$ANVIL_BIN" ]; then
    kill "$CHAIN_PID"; wait "$CHAIN_PID" 2>/dev/null || true
    start_chain anvil
    export STATE_DIR=$T/state-anvil PRIVATE_KEY=$ANVIL_KEY0
    deploy_contract
    CONTRACT=$CONTRACT_ADDRESS
    REF_KEY=$ANVIL_KEY1
    "$BIN/chainlogger" authorize "$(PRIVATE_KEY=$REF_KEY "$BIN/chainlogger" address)" 2>>"$T/deploy.log" ||
        fail "authorize the reference account on anvil"
    "$T/chain_bench" ref "$RPC_URL" "$CONTRACT" "$REF_KEY" 10 50 1 "$EXPL" >/dev/null || fail "warm-up"
    PREFIX=anvil.
    measure 50 "${NA50:-10000}"
    printf 'bench: chain.anvil.ratio.batch50 %.3f ratio\n' "$(ratio)"
    export JOURNAL_SYNC=group; PREFIX=anvil.group.
    measure 50 "${NA50:-10000}"
    printf 'bench: chain.anvil.group.ratio.batch50 %.3f ratio\n' "$(ratio)"
    unset JOURNAL_SYNC
fi
