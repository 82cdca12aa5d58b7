#!/usr/bin/env bash
# A chain without EIP-1559 (Ganache with the Berlin hardfork: no
# baseFeePerGas): the chain logger falls back to legacy EIP-155 transactions
# (type 0x0, v = recid + 2 * chain_id + 35); deploy, log and verify work.
. "$(dirname "$0")/../lib.sh"
. "$ROOT/tests/chain/lib.sh"
build_chain_tools
start_mosquitto
start_chain ganache "$T/ganache-db" --chain.hardfork berlin
export STATE_DIR=$T/state PRIVATE_KEY=$GANACHE_KEY0 BATCH_SIZE=20 BATCH_MAX_DELAY_MS=50
deploy_contract
grep -q 'tx_type=legacy-eip155' "$T/deploy.log" || fail "legacy chain not detected"
bg chainlogger "$BIN/chainlogger"
wait_for 15 grep -q sender_ready "$T/chainlogger.log" || fail "not ready"
timeout 30 mosquitto_sub -h 127.0.0.1 -p "$MQTT_PORT" -q 1 -t 'chain/logged/#' -C 1 >"$T/one.json" &
SUB=$!
publish_anomalies legacy-1 100 0
wait_verified 40
grep -q 'journal=100 chain=100 matched=100 missing=0' "$T/verify.out" || fail "not exactly once"
wait "$SUB" || fail "no chain/logged message"
tx=$(sed 's/.*"tx_hash":"\(0x[0-9a-f]*\)".*/\1/' "$T/one.json")
t=$(rpc eth_getTransactionByHash "[\"$tx\"]")
echo "$t" | grep -q '"type":"0x0"' || fail "not a legacy transaction: $t"
echo "$t" | grep -Eq '"v":"0xa9[56]"' || fail "v is not EIP-155 for chain 1337 (0xa95/0xa96): $t"
echo "chainlogger_legacy: OK"
