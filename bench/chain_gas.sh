#!/usr/bin/env bash
# Gas per anomaly on Ganache at batch 50 with the anomalies the detector
# engine really raises (tests/chain/lib.sh real_explanations, as in
# bench/chain.sh; EXPLANATIONS_FILE=FILE uses FILE's lines instead), in the
# record format of this build (explanations as template + parameters,
# common/eth/expl_codec.h) and, as the reference in the same run, in the
# previous format (explanations as raw text, CHAIN_BENCH_RAW_EXPL=1).
# The same presigned-batch client as chain.sh's reference (chain_bench ref),
# so the figures are the contract's cost, not the logger's.
#   bench: chain.contract.gas.batch50           gas/anomaly  (this format)
#   bench: chain.contract.gas_previous.batch50  gas/anomaly  (raw explanations)
#   bench: chain.contract.record_bytes          record bytes on chain (and previous)
# The quick variant of bench/chain.sh's chain.gas.batch50 (the chain logger's
# own transactions, with chain.gas_previous.batch50 as its reference).
# Settings: N (anomalies per run, 1000), EXPLANATIONS_FILE.
. "$(dirname "$0")/../tests/lib.sh"
. "$ROOT/tests/chain/lib.sh"
build_chain_tools
cc -O2 -std=gnu11 -Wall -Wextra -Werror -I"$ROOT/common" -I"$ROOT/services/chainlogger" -I"$ROOT/tests/chain" \
    -o "$T/chain_bench" "$ROOT/bench/chain/chain_bench.c" "$ROOT/tests/chain/expl_rows.c" "$ROOT/build/libcommon.a" \
    -ljansson -lcurl -lsecp256k1 -lpthread -lm || fail "build chain_bench"
start_chain
export STATE_DIR=$T/state PRIVATE_KEY=$GANACHE_KEY0 LOG_LEVEL=warn
deploy_contract
CONTRACT=$CONTRACT_ADDRESS

EXPL=${EXPLANATIONS_FILE:-$T/explanations.txt}
[ -n "${EXPLANATIONS_FILE:-}" ] || real_explanations "$EXPL"
printf 'bench: chain.contract.explanation_bytes %s bytes (mean of %d real explanations)\n' \
    "$(mean_explanation_bytes "$EXPL")" "$(grep -c . "$EXPL")"
N=${N:-1000}
# warm-up (first storage writes)
"$T/chain_bench" ref "$RPC_URL" "$CONTRACT" "$PRIVATE_KEY" 50 100 1 "$EXPL" >/dev/null || fail "warm-up"
new=$("$T/chain_bench" ref "$RPC_URL" "$CONTRACT" "$PRIVATE_KEY" 50 "$N" 1 "$EXPL") || fail "reference client"
old=$(CHAIN_BENCH_RAW_EXPL=1 "$T/chain_bench" ref "$RPC_URL" "$CONTRACT" "$PRIVATE_KEY" 50 "$N" 1 "$EXPL") ||
    fail "reference client (previous format)"
echo "this format: $new; previous: $old" >&2
printf 'bench: chain.contract.gas.batch50 %s gas/anomaly\n' "$(echo "$new" | awk '{print $4}')"
printf 'bench: chain.contract.gas_previous.batch50 %s gas/anomaly (explanations as raw text, same run)\n' \
    "$(echo "$old" | awk '{print $4}')"
printf 'bench: chain.contract.record_bytes %s bytes/anomaly (previous format: %s)\n' \
    "$(echo "$new" | awk '{print $8}')" "$(echo "$old" | awk '{print $8}')"
