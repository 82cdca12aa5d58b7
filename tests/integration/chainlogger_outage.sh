#!/usr/bin/env bash
# Ganache stopped for 30 s and started again on the same database and port
# while anomalies keep coming: the chain logger keeps accepting them (journal),
# retries with backoff, resumes when the chain is back, and every anomaly is
# on chain exactly once (`verify`).
. "$(dirname "$0")/../lib.sh"
. "$ROOT/tests/chain/lib.sh"
OUTAGE=${OUTAGE:-30}
build_chain_tools
start_mosquitto
DB=$T/ganache-db
start_chain ganache "$DB"
PORT=$CHAIN_PORT
export STATE_DIR=$T/state PRIVATE_KEY=$GANACHE_KEY0 BATCH_SIZE=20 BATCH_MAX_DELAY_MS=100
deploy_contract
CONTRACT=$CONTRACT_ADDRESS
bg chainlogger "$BIN/chainlogger"
CL=$LAST_PID
wait_for 15 grep -q sender_ready "$T/chainlogger.log" || fail "chain logger not ready"
publish_anomalies before 200 0
wait_verified 30

kill "$CHAIN_PID"; wait "$CHAIN_PID" 2>/dev/null || true
start=$SECONDS
publish_anomalies during 300 0
sleep 2
publish_anomalies during 100 300
# Accepted (journalled) while the chain is down, none confirmed yet.
wait_for 10 grep -q 'accepted=600' "$T/chainlogger.log" ||
    wait_for 12 grep -q 'accepted=600' "$T/chainlogger.log" || fail "not accepted while chain down"
kill -0 "$CL" || fail "chain logger died while the chain was down"
sleep $((OUTAGE - (SECONDS - start) > 0 ? OUTAGE - (SECONDS - start) : 0))
grep -q chain_error "$T/chainlogger.log" || fail "no chain error logged during the outage"
CHAIN_PORT_FIXED=$PORT start_chain ganache "$DB"
publish_anomalies after 100 0
wait_verified 60
grep -q 'journal=700 chain=700 matched=700 missing=0 (pending=0) extra=0 duplicated=0 altered=0' \
    "$T/verify.out" || fail "not exactly once after the outage"
[ "$(total_logged)" = 700 ] || fail "totalLogged $(total_logged), want 700"
cat "$T/chainlogger.log"
echo "chainlogger_outage: OK (outage ${OUTAGE}s)"
