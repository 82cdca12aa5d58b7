#!/usr/bin/env bash
# The fault tests' final accounting (tests/faults/check_ids.js) on a crafted
# chain: it reads AnomalyLogged events from the chain itself, so a batch
# logged twice (by two authorised loggers, each with its own seqs: the
# contract's per-logger seqs cannot stop that) shows as duplicates and fails
# the check; a captured id that is not on chain shows as lost.
. "$(dirname "$0")/../lib.sh"
CHECK_IDS=$ROOT/tests/faults/check_ids.js
LOG_BATCH=$ROOT/tests/faults/log_batch.js
start_ganache
export STATE_DIR=$T/state PRIVATE_KEY=$GANACHE_KEY0
addr=$("$BIN/chainlogger" deploy 2>"$T/deploy.log") || fail "deploy failed"
field() { node -e 'const o=JSON.parse(process.argv[1]);const v=o[process.argv[2]];console.log(typeof v==="object"?JSON.stringify(v):v)' "$1" "$2"; }

# Once: nothing lost, nothing doubled.
node "$LOG_BATCH" "$RPC_URL" "$addr" 0 log 0 "$T/capture.jsonl" || fail "logBatch from the deployer"
out=$(node "$CHECK_IDS" "$T/capture.jsonl" "$RPC_URL" "$addr") || fail "clean chain failed the check: $out"
echo "once:  $out"
[ "$(field "$out" events)" = 2 ] && [ "$(field "$out" total_logged)" = 2 ] || fail "events: $out"
[ "$(field "$out" duplicates)" = 0 ] && [ "$(field "$out" lost)" = 0 ] || fail "clean: $out"

# A captured id that never reached the chain is lost.
{ cat "$T/capture.jsonl"; echo "{\"id\":\"$(printf 'ab%.0s' $(seq 32))\"}"; } >"$T/capture-lost.jsonl"
set +e
out=$(node "$CHECK_IDS" "$T/capture-lost.jsonl" "$RPC_URL" "$addr"); rc=$?
set -e
echo "lost:  $out"
[ $rc = 1 ] || fail "a lost id passed the check (rc=$rc): $out"
[ "$(field "$out" lost)" = 1 ] || fail "lost: $out"

# The same batch again from a second logger: the same two ids, twice each.
node "$LOG_BATCH" "$RPC_URL" "$addr" 0 add-logger 1 || fail "addLogger"
node "$LOG_BATCH" "$RPC_URL" "$addr" 1 log 0 "$T/capture2.jsonl" || fail "logBatch from the second logger"
cmp -s "$T/capture.jsonl" "$T/capture2.jsonl" || fail "the second batch has other ids"
set +e
out=$(node "$CHECK_IDS" "$T/capture.jsonl" "$RPC_URL" "$addr"); rc=$?
set -e
echo "twice: $out"
[ $rc = 1 ] || fail "a chain holding duplicates passed the check (rc=$rc): $out"
[ "$(field "$out" duplicates)" = 2 ] && [ "$(field "$out" events)" = 4 ] || fail "duplicates: $out"
for id in $(node -e 'for (const l of require("fs").readFileSync(process.argv[1],"utf8").split("\n")) if (l) console.log(JSON.parse(l).id)' "$T/capture.jsonl"); do
    grep -q "$id" <<<"$(field "$out" duplicate_ids)" || fail "duplicate $id not listed: $out"
done
echo "faults_checker: OK"
