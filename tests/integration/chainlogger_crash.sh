#!/usr/bin/env bash
# kill -9 the chain logger twice in the middle of a burst of 1,000 anomalies,
# restart it each time; every anomaly must end up on chain exactly once
# (`chainlogger verify`: 1000 matched, nothing missing, duplicated or extra).
# Then injected crashes just before and just after a broadcast (150 more);
# in the end 1150 on chain, each exactly once.
. "$(dirname "$0")/../lib.sh"
. "$ROOT/tests/chain/lib.sh"
setup_chainlogger
export BATCH_SIZE=${BATCH_SIZE:-10} BATCH_MAX_DELAY_MS=20
bg chainlogger "$BIN/chainlogger"
wait_for 15 grep -q sender_ready "$T/chainlogger.log" || fail "chain logger not ready"
wait_for 15 grep -q mqtt_connected "$T/chainlogger.log" || fail "not connected"

# The burst runs in the background: 4 sensors x 250, in chunks of 10 so that it
# lasts a few seconds and the kills land in the middle of it.
burst() {
    local s c
    for c in $(seq 0 24); do
        for s in 0 1 2 3; do
            "$T/anomaly_gen" "burst-$s" 10 $((s * 10000 + c * 10)) |
                mosquitto_pub -h 127.0.0.1 -p "$MQTT_PORT" -q 1 -t "anomalies/burst-$s" -l
        done
        sleep 0.1
    done
}
burst &
PUB=$!; PIDS+=("$PUB")
for round in 1 2 3; do
    sleep 0.$((RANDOM % 5 + 5))
    kill -0 "$PUB" 2>/dev/null || echo "note: burst already over at round $round"
    kill -9 "$LAST_PID"
    echo "round $round: killed with $(total_logged) on chain"
    bg "chainlogger-r$round" "$BIN/chainlogger"
done
wait "$PUB" || fail "publisher failed"
wait_verified 90
grep -q 'journal=1000 chain=1000 matched=1000 missing=0 (pending=0) extra=0 duplicated=0 altered=0' \
    "$T/verify.out" || fail "not exactly once after kill -9"

# The two windows a random kill rarely hits, made certain by fault injection:
# dying right after the batch is journalled as SENT but before the node saw
# it, and right after the node mined it but before the receipt was read.
kill -9 "$LAST_PID"; wait "$LAST_PID" 2>/dev/null || true
k=0
for f in before-send:2 after-send:2 after-send:1; do
    # Fresh work queued at the broker for this instance: 5 batches.
    publish_anomalies crash-a 50 $k; k=$((k + 50))
    CHAINLOGGER_FAULT=$f bg "chainlogger-$f" timeout 60 "$BIN/chainlogger"
    rc=0; wait "$LAST_PID" || rc=$?
    [ "$rc" = 137 ] || fail "fault $f: exit status $rc, want 137 (injected crash)"
    grep -q "fault_injected" "$T/chainlogger-$f.log" || fail "fault $f: no crash"
done
# A transaction that runs out of gas on chain: re-estimated and re-sent.
CHAINLOGGER_FAULT=low-gas:1 bg chainlogger-final "$BIN/chainlogger"
wait_for 20 grep -q batch_resend "$T/chainlogger-final.log" "$T"/chainlogger-*-send*.log ||
    fail "no re-send after the injected faults"
publish_anomalies crash-a 150 0   # re-published (detector restart): duplicates
wait_verified 60
grep -q batch_reverted "$T/chainlogger-final.log" || fail "low-gas fault: no revert seen"
[ "$(grep -c gas_calibrated "$T/chainlogger-final.log")" -ge 2 ] || fail "no re-estimate after out of gas"
grep -q 'journal=1150 chain=1150 matched=1150 missing=0 (pending=0) extra=0 duplicated=0 altered=0' \
    "$T/verify.out" || fail "not exactly once after injected faults"
[ "$(total_logged)" = 1150 ] || fail "totalLogged $(total_logged), want 1150"
grep -h 'batch_resend\|journal_open' "$T"/chainlogger*.log || true
echo "chainlogger_crash: OK"
