#!/usr/bin/env bash
# notify_crash — the notifier killed with kill -9 at arbitrary moments while
# events arrive and deliveries are in flight (issue #18, "never lost"):
# 60 lifecycle events are published while the notifier is killed and
# restarted five times; afterwards every event's idempotency key has reached
# the webhook (LOST: otherwise), each signed; repeats are allowed (at least
# once) and counted.
. "$(dirname "$0")/../lib.sh"
[ -x "$BIN/notifier" ] || skip "missing $BIN/notifier"
RX=$(dirname "$0")/notify_receiver.py
N=60
start_mosquitto
MP=$MQTT_PORT
H=$(free_port)
bg rx python3 "$RX" http "$H" "$T/rx.jsonl" crashsecret
wait_port "$H" 10 || fail "SLOW-START: receiver"
cat >"$T/notify.json" <<JSON
{"channels": [{"name": "ops", "type": "webhook", "url": "http://127.0.0.1:$H/hook",
               "secret": "crashsecret", "rate_per_minute": 6000, "group_max": 4}]}
JSON
export NOTIFY_CONFIG=$T/notify.json NOTIFY_OUTBOX=$T/outbox NOTIFY_HA=0
start_notifier() { bg "notifier-$1" "$BIN/notifier"; NPID=$LAST_PID; }
start_notifier 0
wait_for 10 grep -q notify_started "$T/notifier-0.log" || fail "SLOW-START: notifier did not start"
sleep 0.3

now=$(date +%s%3N)
for i in $(seq 1 $N); do
    printf '{"event":"opened","at":%s,"by":null,"alarm":{"id":"k%s","sensor_id":"s-%s","metric":"t","kind":"point","severity":"major","state":"active","acked":false,"acked_by":null,"muted_until":null,"opened_at":%s,"cleared_at":null,"count":1,"peak_value":1,"peak_score":0.9,"last_anomaly_id":null,"explanation":"crash test","last_at":%s,"false_positive":false}}\n' \
        "$((now + i))" "$i" "$i" "$now" "$now"
done >"$T/events.jsonl"
# publish slowly (one every 40 ms) in the background while the notifier dies
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
python3 - "$T/rx.jsonl" "$N" <<'PY'
import json, sys, time
n = int(sys.argv[2])
want = {"k%d" % i for i in range(1, n + 1)}
for _ in range(150):
    got, seen = set(), []
    try:
        for l in open(sys.argv[1]):
            r = json.loads(l)
            assert r["sig_ok"], "bad signature"
            b = r["body"]
            for e in (b["events"] if b["event"] == "group" else [b]):
                got.add(e["alarm"]["id"])
                seen.append(e["idempotency_key"])
    except FileNotFoundError:
        pass
    if want <= got:
        break
    time.sleep(0.2)
missing = sorted(want - got, key=lambda s: int(s[1:]))
if missing:
    print("LOST:", missing)
    sys.exit(1)
print("notify_crash: %d events, %d deliveries, %d repeats (same key, droppable)" %
      (n, len(seen), len(seen) - len(set(seen))))
PY
echo "notify_crash: ok"
