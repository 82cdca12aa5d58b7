#!/usr/bin/env bash
# The chain logger against Anvil (any standard JSON-RPC chain, not only
# Ganache): deploy, log 600 anomalies with a kill -9 in the middle, restart,
# and `verify` shows each exactly once. Skipped when Anvil is not installed.
. "$(dirname "$0")/../lib.sh"
. "$ROOT/tests/chain/lib.sh"
build_chain_tools
start_chain anvil
start_mosquitto
export STATE_DIR=$T/state PRIVATE_KEY=$ANVIL_KEY0 BATCH_SIZE=25 BATCH_MAX_DELAY_MS=50
deploy_contract
CONTRACT=$CONTRACT_ADDRESS
bg chainlogger "$BIN/chainlogger"
wait_for 15 grep -q sender_ready "$T/chainlogger.log" || fail "not ready"
grep -q 'tx_type=eip1559' "$T/chainlogger.log" || fail "EIP-1559 not detected on anvil"
publish_anomalies anvil-1 300 0
kill -9 "$LAST_PID"
bg chainlogger2 "$BIN/chainlogger"
publish_anomalies anvil-2 300 0
wait_verified 60
grep -q 'journal=600 chain=600 matched=600 missing=0 (pending=0) extra=0 duplicated=0 altered=0' \
    "$T/verify.out" || fail "not exactly once on anvil"
[ "$(total_logged)" = 600 ] || fail "totalLogged $(total_logged), want 600"
echo "chainlogger_anvil: OK"
