#!/usr/bin/env bash
# On-chain "is it logged?" end to end, on a real Ganache and mosquitto:
# anomalies published over MQTT are logged by the chain logger in batches;
# `chainlogger prove ID` finds each one's batch from events, rebuilds its
# Merkle proof and gets `true` from the contract's isLogged (exit 0), with
# the root the contract stored (batchRoot); a batch of one has the id as its
# root and an empty proof; the same proof against another batch is refused
# by the contract; an unknown id exits 1, a malformed id or an unreachable
# chain 2; prove needs no key. `verify` checks every batch root. Then a
# contract variant that stores a wrong root (compiled here from the real
# source with one line changed) is caught: verify reports the batches as
# altered (root_mismatch) and prove answers "not logged".
. "$(dirname "$0")/../lib.sh"
. "$ROOT/tests/chain/lib.sh"
setup_chainlogger
export BATCH_SIZE=10 BATCH_MAX_DELAY_MS=100
bg chainlogger "$BIN/chainlogger"
CL=$LAST_PID
wait_for 15 grep -q sender_ready "$T/chainlogger.log" || fail "chain logger not ready"
wait_for 15 grep -q mqtt_connected "$T/chainlogger.log" || fail "chain logger not connected"

publish_anomalies room-1 23 0
wait_verified 60
grep -q 'journal=23 chain=23 matched=23 missing=0 (pending=0) extra=0 duplicated=0 altered=0' \
    "$T/verify.out" || fail "not exactly once"
grep -q 'bad_batch_roots=0' "$T/verify.out" || fail "verify: batch roots"
nb=$(sed -n 's/.* batches=\([0-9]*\).*/\1/p' "$T/verify.out")
[ "${nb:-0}" -ge 3 ] || fail "23 anomalies at batch size 10 in $nb batches"
# A batch of one: published alone once the others are logged.
publish_anomalies line-7 1 500
wait_verified 30
grep -q 'journal=24 chain=24 matched=24 missing=0' "$T/verify.out" || fail "single not logged"

# keccak256("batchRoot(uint256)")[0:4] and isLogged(bytes32,uint256,bytes32[]), from the ABI.
sel() { node -e 'const {keccak256}=require(process.argv[1]); console.log(keccak256(process.argv[2]).slice(0,8))' \
    "$ROOT/tools/node_modules/js-sha3" "$1"; }
ROOT_SEL=$(sel 'batchRoot(uint256)')
ISLOGGED_SEL=$(sel 'isLogged(bytes32,uint256,bytes32[])')
word() { printf '%064x' "$1"; }
call() { local r; r=$(rpc eth_call "[{\"to\":\"$CONTRACT\",\"data\":\"0x$1\"},\"latest\"]"); r=${r#*\"result\":\"}; echo "${r%%\"*}"; }
# isLogged(id, batch, proof...) straight from the contract: 0x..01 or 0x..00.
is_logged() { # ID BATCH PROOF...
    local id=${1#0x} b=$2 cd; shift 2
    cd="$ISLOGGED_SEL$id$(word "$b")$(word 96)$(word $#)"
    for p in "$@"; do cd+=${p#0x}; done
    call "$cd"
}

"$T/anomaly_gen" room-1 23 0 | jq -r .id >"$T/ids"
"$T/anomaly_gen" line-7 1 500 | jq -r .id >>"$T/ids"
[ "$(wc -l <"$T/ids")" = 24 ] || fail "ids"
declare -A seen_batches
while read -r id; do
    out=$("$BIN/chainlogger" prove "$id" 2>>"$T/prove.log") || fail "prove $id: exit $? ($out)"
    echo "$out" >>"$T/prove.out"
    [ "$(echo "$out" | jq -r .logged)" = true ] || fail "prove $id: $out"
    [ "$(echo "$out" | jq -r .id)" = "0x$id" ] || fail "prove id: $out"
    b=$(echo "$out" | jq -r .batch); idx=$(echo "$out" | jq -r .index); r=$(echo "$out" | jq -r .root)
    [[ "$b" =~ ^[0-9]+$ && "$idx" =~ ^[0-9]+$ ]] || fail "prove batch/index: $out"
    [ "$(call "$ROOT_SEL$(word "$b")")" = "$r" ] || fail "root $r is not batchRoot($b)"
    mapfile -t proof < <(echo "$out" | jq -r '.proof[]')
    [ "$(is_logged "$id" "$b" "${proof[@]}")" = 0x$(word 1) ] || fail "isLogged false for $id"
    # The same proof does not hold in another batch.
    [ "$(is_logged "$id" $((b == 0 ? 1 : b - 1)) "${proof[@]}")" = 0x$(word 0) ] ||
        fail "isLogged true for $id in another batch"
    seen_batches[$b]=1
done <"$T/ids"
[ "${#seen_batches[@]}" -ge 4 ] || fail "ids proved in only ${#seen_batches[@]} batches"
single=$(grep "\"0x$(tail -1 "$T/ids")\"" "$T/prove.out")
[ "$(echo "$single" | jq -r '.proof | length')" = 0 ] || fail "batch of one has a proof: $single"
[ "$(echo "$single" | jq -r .root)" = "$(echo "$single" | jq -r .id)" ] || fail "batch of one: root is not the id"
[ "$(echo "$single" | jq -r .index)" = 0 ] || fail "batch of one: index"

# Not logged: exit 1 with logged=false; bad input and no chain: exit 2. No key needed.
unknown=$("$T/anomaly_gen" room-1 1 9999 | jq -r .id)
set +e
out=$(PRIVATE_KEY= "$BIN/chainlogger" prove "$unknown" 2>>"$T/prove.log"); rc=$?
[ $rc = 1 ] && [ "$(echo "$out" | jq -r .logged)" = false ] || fail "unknown id: exit $rc, $out"
out=$(PRIVATE_KEY= "$BIN/chainlogger" prove "0x$(head -1 "$T/ids")" 2>>"$T/prove.log"); rc=$?
[ $rc = 0 ] || fail "prove without a key (0x form): exit $rc"
"$BIN/chainlogger" prove 0x1234 >/dev/null 2>>"$T/prove.log"; rc=$?
[ $rc = 2 ] || fail "malformed id: exit $rc"
grep -q prove_invalid_id "$T/prove.log" || fail "malformed id not logged"
RPC_URL=http://127.0.0.1:$(free_port) "$BIN/chainlogger" prove "$unknown" >/dev/null 2>>"$T/prove.log"; rc=$?
[ $rc = 2 ] || fail "unreachable chain: exit $rc"
set -e
kill "$CL"; wait "$CL" 2>/dev/null || true

# A contract that stores a wrong root: verify and prove must notice.
start_tampered_logger 15
CONTRACT=$TAMPERED
set +e
"$BIN/chainlogger" verify >"$T/verify2.out" 2>>"$T/verify.log"; rc=$?
set -e
cat "$T/verify2.out"
[ $rc = 1 ] || fail "verify passed with wrong stored roots (exit $rc)"
grep -q 'reason=root_mismatch' "$T/verify2.out" || fail "no root_mismatch reported"
grep -q 'bad_batch_roots=0' "$T/verify2.out" && fail "bad_batch_roots is 0"
id=$("$T/anomaly_gen" room-5 1 0 | jq -r .id)
set +e
out=$("$BIN/chainlogger" prove "$id" 2>>"$T/prove.log"); rc=$?
set -e
[ $rc = 1 ] && [ "$(echo "$out" | jq -r .logged)" = false ] || fail "prove on a wrong root: exit $rc, $out"
echo "contract_proof: OK"
