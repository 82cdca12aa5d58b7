#!/usr/bin/env bash
# notify_crash — "never lost" under the issue's conditions (issue #18): a
# webhook receiver DOWN FOR 60 s while the notifier is killed with kill -9
# six times in between (five at random moments while 60 other events
# arrive and deliveries are in flight, one in the middle of the outage).
#   - "ops" (receiver up): every one of its 60 keys arrives;
#   - "outage" (receiver down 60 s, 30 events published during the outage):
#     after the receiver is back every key arrives (LOST: otherwise);
# each delivery signed. Repeats are allowed (at least once); a receiver
# that drops repeated idempotency keys then has each event exactly once,
# which holds only if an event keeps its key across kills: an alarm whose
# event arrived under two keys is reported as DUP (never retried). The
# outage channel caps its retry backoff with the documented
# backoff_max_seconds (5 s), so recovery is seen within seconds.
. "$(dirname "$0")/../lib.sh"
[ -x "$BIN/notifier" ] || skip "missing $BIN/notifier"
RX=$(dirname "$0")/notify_receiver.py
N=60
NO=30
OUTAGE_S=${NOTIFY_OUTAGE_S:-60}
start_mosquitto
MP=$MQTT_PORT
H=$(free_port)
O=$(free_port)
while [ "$O" = "$H" ]; do O=$(free_port); done
bg rx python3 "$RX" http "$H" "$T/rx.jsonl" crashsecret
start_out_rx() { bg "rx-out-$1" python3 "$RX" http "$O" "$T/out.jsonl" outsecret; OUT_PID=$LAST_PID; }
start_out_rx 0
wait_port "$H" 10 || fail "SLOW-START: receiver"
wait_port "$O" 10 || fail "SLOW-START: outage receiver"
cat >"$T/notify.json" <<JSON
{"channels": [
  {"name": "ops", "type": "webhook", "url": "http://127.0.0.1:$H/hook", "secret": "crashsecret",
   "sensors": ["s-*"], "rate_per_minute": 6000, "group_max": 4},
  {"name": "outage", "type": "webhook", "url": "http://127.0.0.1:$O/hook", "secret": "outsecret",
   "sensors": ["out-*"], "rate_per_minute": 6000, "group_max": 8, "timeout_seconds": 2,
   "backoff_max_seconds": 5}
]}
JSON
export NOTIFY_CONFIG=$T/notify.json NOTIFY_OUTBOX=$T/outbox NOTIFY_HA=0
start_notifier() { bg "notifier-$1" "$BIN/notifier"; NPID=$LAST_PID; }
start_notifier 0
wait_for 10 grep -q notify_started "$T/notifier-0.log" || fail "SLOW-START: notifier did not start"
sleep 0.3

# events ID_PREFIX SENSOR_PREFIX COUNT: lifecycle events as the gateway writes them
events() {
    local now
    now=$(date +%s%3N)
    for i in $(seq 1 "$3"); do
        printf '{"event":"opened","at":%s,"by":null,"alarm":{"id":"%s%s","sensor_id":"%s-%s","metric":"t","kind":"point","severity":"major","state":"active","acked":false,"acked_by":null,"muted_until":null,"opened_at":%s,"cleared_at":null,"count":1,"peak_value":1,"peak_score":0.9,"last_anomaly_id":null,"explanation":"crash test","last_at":%s,"false_positive":false}}\n' \
            "$((now + i))" "$1" "$i" "$2" "$i" "$now" "$now"
    done
}
events k s "$N" >"$T/events.jsonl"
events o out "$NO" >"$T/out-events.jsonl"

# the outage begins: the receiver is stopped for OUTAGE_S seconds
stop_pid "$OUT_PID" 10
T0=$SECONDS
# its events arrive during the first half of the outage (one every second)
(while IFS= read -r l; do
    printf '%s\n' "$l"
    sleep 1
done <"$T/out-events.jsonl") | mosquitto_pub -p "$MP" -q 1 -t alarms/events/o -l &
OPUB=$!
# meanwhile 60 events for ops, published slowly (one every 40 ms) while the notifier dies
(while IFS= read -r l; do
    printf '%s\n' "$l"
    sleep 0.04
done <"$T/events.jsonl") | mosquitto_pub -p "$MP" -q 1 -t alarms/events/s -l &
PUB=$!
for k in 1 2 3 4 5; do
    sleep "0.$((RANDOM % 5 + 3))"
    kill -9 "$NPID"
    wait "$NPID" 2>/dev/null || true
    start_notifier "$k"
done
wait "$PUB" || fail "mosquitto_pub failed"

# check KIND FILE IDPREFIX COUNT WAIT_TENTHS: every key arrived, signed; no
# event under two keys
check() {
    PYTHONPATH=$(dirname "$RX") python3 - "$@" <<'PY'
import sys, time
from notify_receiver import deliveries
kind, path, prefix, n, tenths = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5])
want = {"%s%d" % (prefix, i) for i in range(1, n + 1)}
for _ in range(tenths // 2):
    got, seen, keys = deliveries(path)
    if want <= got:
        break
    time.sleep(0.2)
missing = sorted(want - got, key=lambda s: int(s[len(prefix):]))
if missing:
    print("LOST:", kind, missing)
    sys.exit(1)
two = {a: sorted(k) for a, k in keys.items() if len(k) > 1}
if two:
    print("DUP:", kind, "events delivered under more than one key:", two)
    sys.exit(1)
print("notify_crash %s: %d events, %d deliveries, %d repeats (same key: dropped by the receiver)" %
      (kind, n, len(seen), len(seen) - len(set(seen))))
PY
}
check ops "$T/rx.jsonl" k "$N" 300 || fail "ops: events lost or doubled across five kill -9"

# one more kill -9 in the middle of the outage
while [ $((SECONDS - T0)) -lt $((OUTAGE_S / 2)) ]; do sleep 0.5; done
kill -9 "$NPID"
wait "$NPID" 2>/dev/null || true
start_notifier 6
wait "$OPUB" || fail "mosquitto_pub (outage events) failed"
while [ $((SECONDS - T0)) -lt "$OUTAGE_S" ]; do sleep 0.5; done
[ -s "$T/out.jsonl" ] && fail "deliveries to a receiver that was down"
grep -q 'notify_send_failed channel=outage' "$T"/notifier-*.log || fail "no attempt was made during the outage"
echo "notify_crash: receiver down for $((SECONDS - T0)) s, notifier killed 6 times; receiver back"
start_out_rx 1
wait_port "$O" 10 || fail "SLOW-START: outage receiver restart"
R0=$SECONDS
check outage "$T/out.jsonl" o "$NO" 200 || fail "outage: events lost or doubled"
echo "notify_crash: the outage's backlog arrived $((SECONDS - R0)) s after the receiver came back"
echo "notify_crash: ok"
