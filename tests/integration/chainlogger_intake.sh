#!/usr/bin/env bash
# The chain logger's intake (services/chainlogger/cl_intake.c):
# 1. Killed inside the MQTT callback (injected stall on the 5th message,
#    then kill -9): the broker must still hold that message, i.e. paho has
#    not acknowledged it before the callback returned. Fails if paho (or
#    the wrapper) ever acknowledges first.
# 2. The journal failing (injected, sticky, from the 3rd message on): the
#    logger exits from inside the callback, unacknowledged, and the
#    restarted one logs everything.
# 3. Group commit (JOURNAL_SYNC=group): kill -9 three times during a burst
#    of 2,000 anomalies; every one on chain exactly once.
# 4. A small duplicate window (DEDUP_WINDOW=200): anomalies re-published
#    long after the window moved past them are found in the journal file
#    and not logged twice; the ids in memory stay bounded.
. "$(dirname "$0")/../lib.sh"
. "$ROOT/tests/chain/lib.sh"
setup_chainlogger
export BATCH_SIZE=50 BATCH_MAX_DELAY_MS=20
verified_n() { # N: verify passes with exactly N anomalies
    verify_ok && grep -q "journal=$1 chain=$1 matched=$1 missing=0 (pending=0) extra=0 duplicated=0 altered=0" \
        "$T/verify.out"
}
expect_verified() { # N
    wait_for 90 verified_n "$1" || { cat "$T/verify.out" >&2; fail "want exactly $1 on chain"; }
}

# 1. Killed while the callback holds message 5.
CHAINLOGGER_FAULT=intake-stall:5 bg cl-stall "$BIN/chainlogger"
wait_for 15 grep -q mqtt_connected "$T/cl-stall.log" || fail "not connected"
publish_anomalies stall 10 0
wait_for 15 grep -q 'fault_injected where=intake-stall' "$T/cl-stall.log" || fail "no stall"
sleep 0.5 # paho would have sent a premature PUBACK by now
kill -9 "$LAST_PID"; wait "$LAST_PID" 2>/dev/null || true
bg cl-1 "$BIN/chainlogger"
expect_verified 10
kill "$LAST_PID"; wait "$LAST_PID" 2>/dev/null || true

# 2. The journal fails from message 3 on: exit before acknowledging.
CHAINLOGGER_FAULT=intake-fail:3 bg cl-fail "$BIN/chainlogger"
wait_for 15 grep -q mqtt_connected "$T/cl-fail.log" || fail "not connected"
publish_anomalies fail 10 0
rc=0; wait "$LAST_PID" || rc=$?
[ "$rc" = 1 ] || fail "journal failure: exit status $rc, want 1"
grep -q 'journal_append_failed.*action=exit' "$T/cl-fail.log" || fail "no exit on journal failure"
bg cl-2 "$BIN/chainlogger"
expect_verified 20
kill "$LAST_PID"; wait "$LAST_PID" 2>/dev/null || true

# 3. Group commit, kill -9 three times in a burst.
export JOURNAL_SYNC=group JOURNAL_SYNC_MS=5
bg cl-g0 "$BIN/chainlogger"
wait_for 15 grep -q mqtt_connected "$T/cl-g0.log" || fail "not connected"
grep -q 'intake journal_sync=group' "$T/cl-g0.log" || fail "group mode not in use"
burst() {
    local c
    for c in $(seq 0 19); do
        publish_anomalies "group-$((c % 4))" 100 $((c * 100))
        sleep 0.05
    done
}
burst &
PUB=$!; PIDS+=("$PUB")
for round in 1 2 3; do
    sleep 0.$((RANDOM % 4 + 4))
    kill -9 "$LAST_PID"; wait "$LAST_PID" 2>/dev/null || true
    echo "round $round: killed with $(total_logged) on chain"
    bg "cl-g$round" "$BIN/chainlogger"
done
wait "$PUB" || fail "publisher failed"
expect_verified 2020
kill "$LAST_PID"; wait "$LAST_PID" 2>/dev/null || true

# 4. Duplicate window of 200: 2,000 anomalies newer than all before, then
#    100 of the oldest of them again (found by a journal-file scan each) and
#    10 recent ones (found in memory, no scan).
export DEDUP_WINDOW=200
bg cl-w "$BIN/chainlogger"
wait_for 15 grep -q mqtt_connected "$T/cl-w.log" || fail "not connected"
publish_anomalies window 2000 100000
expect_verified 4020
publish_anomalies window 100 100000 # old: far below the window
publish_anomalies window 10 101990  # recent: still in the window
wait_for 30 grep -q 'dedup_scan.*found=1' "$T/cl-w.log" || fail "old duplicates not looked up"
sleep 2
expect_verified 4020
[ "$(total_logged)" = 4020 ] || fail "totalLogged $(total_logged), want 4020"
kill "$LAST_PID"; wait "$LAST_PID" 2>/dev/null || true
grep -h 'stopped' "$T/cl-w.log"
grep -q 'stopped .*duplicates=110 dedup_scans=100' "$T/cl-w.log" ||
    fail "want 110 duplicates, 100 of them by a journal-file scan"
# Replayed with the window: only ~200 (+25%) of the 4,020 ids in memory.
bg cl-w2 "$BIN/chainlogger"
wait_for 15 grep -q journal_open "$T/cl-w2.log" || fail "no restart"
grep -h journal_open "$T/cl-w2.log"
inmem=$(grep -o 'in_memory=[0-9]*' "$T/cl-w2.log" | head -1 | cut -d= -f2)
[ -n "$inmem" ] && [ "$inmem" -le 250 ] || fail "in_memory=$inmem with DEDUP_WINDOW=200"
echo "chainlogger_intake: OK"
