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
# A key file readable by others is refused.
echo "$GANACHE_KEY0" >"$T/key"; chmod 644 "$T/key"
if PRIVATE_KEY= KEY_FILE=$T/key "$BIN/chainlogger" address 2>"$T/key.log"; then fail "world-readable key accepted"; fi
grep -q key_file_permissions "$T/key.log" || fail "no permission error"
! grep -q "${GANACHE_KEY0#0x}" "$T/key.log" || fail "key leaked into the log"
chmod 600 "$T/key"
[ "$(PRIVATE_KEY= KEY_FILE=$T/key "$BIN/chainlogger" address)" = 0x90f8bf6a479f320ead074411a4b0e7944ea8c9c1 ] || fail "key file"
echo "contract: OK"
