#!/usr/bin/env bash
# The chain logger on a journal damaged in the middle (issue #19, item 6):
# 20 anomalies logged, the logger stopped, one byte of a record in the
# middle of its journal flipped. Restarted, it must refuse to start (exit
# status 1, journal_corrupt naming the file and the offset) and leave the
# file byte for byte as it was: before the fix it cut the file at the bad
# record, silently dropping every acknowledged anomaly after it. With the
# original file back it starts and `verify` still matches all 20 (+5 new).
. "$(dirname "$0")/../lib.sh"
. "$ROOT/tests/chain/lib.sh"
setup_chainlogger
export BATCH_SIZE=5 BATCH_MAX_DELAY_MS=20
verified_n() { # N: verify passes with exactly N anomalies
    verify_ok && grep -q "journal=$1 chain=$1 matched=$1 missing=0 (pending=0) extra=0 duplicated=0 altered=0" \
        "$T/verify.out"
}

bg cl-1 "$BIN/chainlogger"
wait_for 15 grep -q mqtt_connected "$T/cl-1.log" || fail "not connected"
publish_anomalies dmg 20 0
wait_for 90 verified_n 20 || { cat "$T/verify.out" >&2; fail "want 20 on chain"; }
kill "$LAST_PID"; wait "$LAST_PID" 2>/dev/null || true

J=$(ls "$STATE_DIR"/journal-*.log)
[ -f "$J" ] || fail "no journal in $STATE_DIR"
cp "$J" "$T/journal.orig"
size=$(stat -c %s "$J")
# Flip one byte a third of the way in: inside some record with many after it.
off=$((size / 3))
byte=$(od -An -tu1 -j "$off" -N1 "$J" | tr -d ' ')
printf "$(printf '\\%03o' $(((byte ^ 0x41) & 0xff)))" |
    dd of="$J" bs=1 seek="$off" count=1 conv=notrunc status=none
cmp -s "$J" "$T/journal.orig" && fail "the byte was not flipped"
cp "$J" "$T/journal.damaged"

bg cl-2 timeout 30 "$BIN/chainlogger"
rc=0; wait "$LAST_PID" || rc=$?
[ "$rc" = 1 ] || fail "damaged journal: exit status $rc, want 1"
grep -q "journal_corrupt path=$J offset=[0-9]* .*next_valid_offset=" "$T/cl-2.log" ||
    fail "no journal_corrupt error naming the file and offset"
grep -q "journal_open_failed.*reason=corrupt" "$T/cl-2.log" || fail "no journal_open_failed"
cmp -s "$J" "$T/journal.damaged" || fail "the damaged journal was modified (cut?)"
grep -h journal_corrupt "$T/cl-2.log"
# verify (read-only) reports it too, and changes nothing either
rc=0; "$BIN/chainlogger" verify >"$T/verify-damaged.out" 2>"$T/verify-damaged.log" || rc=$?
[ "$rc" != 0 ] || fail "verify passed on a damaged journal"
cmp -s "$J" "$T/journal.damaged" || fail "verify modified the journal"

# The operator restores the file: everything is still there.
cp "$T/journal.orig" "$J"
bg cl-3 "$BIN/chainlogger"
wait_for 15 grep -q mqtt_connected "$T/cl-3.log" || fail "not connected after restore"
grep -q 'journal_open .*entries=20 ' "$T/cl-3.log" || fail "restored journal: not 20 entries"
publish_anomalies dmg2 5 0
wait_for 90 verified_n 25 || { cat "$T/verify.out" >&2; fail "want 25 on chain"; }
echo "chainlogger_journal: OK"
