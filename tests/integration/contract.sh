#!/usr/bin/env bash
# AnomalyLogger on a real Ganache: deploy with `chainlogger deploy` (and that
# a second deploy is a no-op), then tests/chain/contract_test.c checks logging,
# batching, duplicates, sequence gaps, authorisation, input bounds, views and
# event decoding (anomaly_log_decode_log), and gas per anomaly at batch 50 < 10,000.
. "$(dirname "$0")/../lib.sh"
cc -O2 -std=gnu11 -Wall -Wextra -Werror -I"$ROOT/common" -I"$ROOT/services/chainlogger" \
    -o "$T/contract_test" "$ROOT/tests/chain/contract_test.c" \
    "$ROOT/services/chainlogger/cl_deploy.c" \
    "$ROOT/build/libcommon.a" -ljansson -lcurl -lsecp256k1 -lpthread -lm || fail "build contract_test"
start_chain
export STATE_DIR=$T/state PRIVATE_KEY=$GANACHE_KEY0
deploy_contract
addr=$CONTRACT_ADDRESS
[[ "$addr" =~ ^0x[0-9a-f]{40}$ ]] || fail "deploy printed '$addr'"
addr2=$("$BIN/chainlogger" deploy 2>>"$T/deploy.log") || fail "second deploy failed"
[ "$addr" = "$addr2" ] || fail "deploy is not idempotent: $addr then $addr2"
grep -q '"address": "'"$addr"'"' "$STATE_DIR/contract-1337.json" || fail "address file"
code=$(rpc eth_getCode "[\"$addr\",\"latest\"]")
[ ${#code} -gt 200 ] || fail "no code at $addr"
"$T/contract_test" "$RPC_URL" "$addr" "$GANACHE_KEY0" "$GANACHE_KEY1" | tee "$T/contract_test.log"
[ "${PIPESTATUS[0]}" = 0 ] || fail "contract_test"
# Separate owner and logger keys: deploy from the owner key (key 2), which
# authorises the logger key (key 0) and is no logger itself; the logger key
# cannot add loggers or transfer ownership; a transfer waits for the pending
# owner's acceptOwnership (contract_test --keys, the third account key 1).
# Then the same through chainlogger's own subcommands.
grep -q owner_is_logger "$T/deploy.log" || fail "no owner_is_logger warning without an owner key"
addr3=$(STATE_DIR=$T/state-keys OWNER_PRIVATE_KEY=$GANACHE_KEY2 "$BIN/chainlogger" deploy 2>"$T/deploy-keys.log") ||
    fail "deploy with an owner key"
[ "$addr3" != "$addr" ] || fail "deploy with an owner key reused the other contract"
! grep -q owner_is_logger "$T/deploy-keys.log" || fail "owner_is_logger warned with an owner key"
"$T/contract_test" --keys "$RPC_URL" "$addr3" "$GANACHE_KEY2" "$GANACHE_KEY0" "$GANACHE_KEY1" |
    tee "$T/contract_keys.log"
[ "${PIPESTATUS[0]}" = 0 ] || fail "contract_test --keys"
STATE_DIR=$T/state-keys2 OWNER_PRIVATE_KEY=$GANACHE_KEY0 "$BIN/chainlogger" deploy >/dev/null 2>"$T/deploy-same.log" &&
    fail "deploy accepted the logger key as the owner key"
grep -q 'owner key is the logger key' "$T/deploy-same.log" || fail "no error for owner key = logger key"
addr4=$(STATE_DIR=$T/state-keys3 OWNER_PRIVATE_KEY=$GANACHE_KEY2 "$BIN/chainlogger" deploy 2>>"$T/deploy-keys.log") ||
    fail "deploy with an owner key (2)"
K1ADDR=$(PRIVATE_KEY=$GANACHE_KEY1 "$BIN/chainlogger" address)
K2ADDR=$(PRIVATE_KEY=$GANACHE_KEY2 "$BIN/chainlogger" address)
owner_of() {
    local r
    r=$(rpc eth_call "[{\"to\":\"$addr4\",\"data\":\"0x8da5cb5b\"},\"latest\"]") # owner()
    r=${r#*\"result\":\"0x}
    echo "0x${r:24:40}"
}
export CONTRACT_ADDRESS=$addr4
"$BIN/chainlogger" authorize "$K1ADDR" 2>"$T/auth-logger.log" && fail "the logger key authorised a logger"
"$BIN/chainlogger" transfer-ownership "$K1ADDR" 2>"$T/xfer-logger.log" && fail "the logger key transferred ownership"
OWNER_PRIVATE_KEY=$GANACHE_KEY2 "$BIN/chainlogger" authorize "$K1ADDR" 2>"$T/auth-owner.log" ||
    fail "the owner key could not authorise: $(cat "$T/auth-owner.log")"
OWNER_PRIVATE_KEY=$GANACHE_KEY2 "$BIN/chainlogger" transfer-ownership "$K1ADDR" 2>"$T/xfer-owner.log" ||
    fail "the owner key could not start a transfer: $(cat "$T/xfer-owner.log")"
[ "$(owner_of)" = "$K2ADDR" ] || fail "owner changed before acceptance: $(owner_of)"
OWNER_PRIVATE_KEY=$GANACHE_KEY1 "$BIN/chainlogger" accept-ownership 2>"$T/accept.log" ||
    fail "the pending owner could not accept: $(cat "$T/accept.log")"
[ "$(owner_of)" = "$K1ADDR" ] || fail "owner after accept is $(owner_of), want $K1ADDR"
unset CONTRACT_ADDRESS
# A key file readable by others is refused.
echo "$GANACHE_KEY0" >"$T/key"; chmod 644 "$T/key"
if PRIVATE_KEY= KEY_FILE=$T/key "$BIN/chainlogger" address 2>"$T/key.log"; then fail "world-readable key accepted"; fi
grep -q key_file_permissions "$T/key.log" || fail "no permission error"
! grep -q "${GANACHE_KEY0#0x}" "$T/key.log" || fail "key leaked into the log"
chmod 600 "$T/key"
[ "$(PRIVATE_KEY= KEY_FILE=$T/key "$BIN/chainlogger" address)" = 0x90f8bf6a479f320ead074411a4b0e7944ea8c9c1 ] || fail "key file"
echo "contract: OK"
