#!/usr/bin/env bash
# Fee ceilings (docs/chain.md, "Fee ceilings") on a real Ganache: with
# MAX_FEE_PER_GAS below the chain's base fee the chain logger signs nothing
# (fee_above_ceiling logged, fee_ceiling_refusals_total counted in its status
# report, the anomalies stay journaled, nothing on chain); restarted with the
# default ceiling it logs every one of them, exactly once.
. "$(dirname "$0")/../lib.sh"
. "$ROOT/tests/chain/lib.sh"
setup_chainlogger
export BATCH_SIZE=10 BATCH_MAX_DELAY_MS=50 STATUS_INTERVAL=0.5
MAX_FEE_PER_GAS=1 bg low "$BIN/chainlogger"
LOW=$LAST_PID
wait_for 15 grep -q sender_ready "$T/low.log" || fail "not ready"
timeout 20 mosquitto_sub -h 127.0.0.1 -p "$MQTT_PORT" -t 'status/chainlogger/#' -v \
    >"$T/status.txt" &
SUB=$!
publish_anomalies fees-1 30 0
wait_for 20 grep -q 'fee_above_ceiling.*max_fee_per_gas=1 ' "$T/low.log" ||
    fail "no fee_above_ceiling error: $(tail -5 "$T/low.log")"
# refusals_counted: the last status report counts at least one refusal.
refusals_counted() {
    tail -1 "$T/status.txt" | cut -d' ' -f2- |
        jq -e '[.. | objects | select(.name? == "fee_ceiling_refusals_total") | .value] | .[0] >= 1'
}
wait_for 15 refusals_counted ||
    fail "fee_ceiling_refusals_total not counted: $(tail -1 "$T/status.txt")"
sleep 1
[ "$(total_logged)" -eq 0 ] || fail "signed above the ceiling: totalLogged=$(total_logged)"
kill "$SUB" 2>/dev/null || true
kill "$LOW"; wait "$LOW" 2>/dev/null || true
# Refusals are not failures of the anomalies: the default ceiling logs them all.
bg normal "$BIN/chainlogger"
wait_verified 40
grep -q 'journal=30 chain=30 matched=30 missing=0' "$T/verify.out" || fail "not exactly once"
echo "chainlogger_fees: OK"
