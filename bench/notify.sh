#!/usr/bin/env bash
# bench/notify.sh — the notifier (docs/notifier.md) with a real mosquitto and
# a local webhook receiver (tests/integration/notify_receiver.py):
#   notify.latency_ms p50/p99: an alarm lifecycle event published (its "at",
#     taken as the line is handed to mosquitto_pub) to the webhook request
#     received, one event every 50 ms, outbox fsync'd (NOTIFY_FSYNC=1).
#     The gateway's own step (anomaly -> lifecycle event) is not included.
#   notify.backlog_rate: events/s delivered when the receiver comes back
#     with 10,000 events queued (sent in groups of group_max = 100).
# Prints `bench: <name> <value> <unit>` lines.
set -euo pipefail
. "$(dirname "$0")/lib.sh" notify notifier
trap 'stop_started 2; rm -rf "$T"' EXIT
RX=$ROOT/tests/integration/notify_receiver.py
N_LAT=${NOTIFY_BENCH_EVENTS:-300}
N_BACKLOG=${NOTIFY_BENCH_BACKLOG:-10000}

start_mosquitto
MP=$MQTT_PORT
H=$(free_port)
cat >"$T/notify.json" <<JSON
{"channels": [
  {"name": "lat", "type": "webhook", "url": "http://127.0.0.1:$H/lat", "secret": "s",
   "sensors": ["lat-*"], "rate_per_minute": 600000, "group_max": 1},
  {"name": "back", "type": "webhook", "url": "http://127.0.0.1:$H/back", "secret": "s",
   "sensors": ["back-*"], "rate_per_minute": 600000, "group_max": 100,
   "backoff_max_seconds": 1, "timeout_seconds": 2}
]}
JSON
bg rx python3 "$RX" http "$H" "$T/rx.jsonl" s
RX_PID=$LAST_PID
wait_port "$H" 10 || { echo "receiver did not start" >&2; exit 1; }
NOTIFY_CONFIG=$T/notify.json NOTIFY_OUTBOX=$T/outbox NOTIFY_STATUS_INTERVAL=1 NOTIFY_HA=0 \
    NOTIFIER_INSTANCE=bench bg notifier "$BIN/notifier"
for _ in $(seq 100); do grep -q notify_started "$T/notifier.log" && break; sleep 0.1; done
sleep 0.5

# line SENSOR ID AT_MS: one opened event (bus/alarm.h's format)
line() {
    printf '{"event":"opened","at":%s,"by":null,"alarm":{"id":"%s","sensor_id":"%s","metric":"t","kind":"point","severity":"major","state":"active","acked":false,"acked_by":null,"muted_until":null,"opened_at":%s,"cleared_at":null,"count":1,"peak_value":1,"peak_score":0.9,"last_anomaly_id":null,"explanation":"bench","last_at":%s,"false_positive":false}}\n' \
        "$3" "$2" "$1" "$3" "$3"
}

# 1. latency: one event every 50 ms, each on its own sensor topic
for i in $(seq 1 "$N_LAT"); do
    now=$(date +%s%3N)
    line "lat-$i" "l$i" "$now" | mosquitto_pub -p "$MP" -q 1 -t "alarms/events/lat-$i" -s
    sleep 0.05
done
for _ in $(seq 200); do
    [ "$(grep -c '"/lat"' "$T/rx.jsonl" 2>/dev/null || echo 0)" -ge "$N_LAT" ] && break
    sleep 0.1
done
python3 - "$T/rx.jsonl" "$N_LAT" <<'PY'
import json, sys
lat = sorted(r["recv_ms"] - r["body"]["at"] for r in map(json.loads, open(sys.argv[1])) if r["path"] == "/lat")
if len(lat) < int(sys.argv[2]):
    sys.exit("only %d of %s latency events arrived" % (len(lat), sys.argv[2]))
pick = lambda q: lat[min(len(lat) - 1, int(q * len(lat)))]
print("bench: notify.latency_ms.p50 %.1f ms" % pick(0.50))
print("bench: notify.latency_ms.p99 %.1f ms" % pick(0.99))
PY

# 2. backlog: the receiver down while N_BACKLOG events are accepted
stop_pid "$RX_PID" 10
now=$(date +%s%3N)
for i in $(seq 1 "$N_BACKLOG"); do line "back-$i" "b$i" "$now"; done >"$T/backlog.jsonl"
mosquitto_pub -p "$MP" -q 1 -t alarms/events/back-1 -l <"$T/backlog.jsonl"
queued() {
    mosquitto_sub -p "$MP" -t status/notifier/bench -C 1 -W 3 2>/dev/null | python3 -c '
import json, sys
m = json.load(sys.stdin)["metrics"]
print(int(sum(x["value"] for x in m if x["name"] == "queued" and x.get("labels", {}).get("channel") == "back")))' 2>/dev/null || echo 0
}
for _ in $(seq 240); do
    [ "$(queued)" -ge "$N_BACKLOG" ] && break
    sleep 0.5
done
[ "$(queued)" -ge "$N_BACKLOG" ] || { echo "the notifier did not queue $N_BACKLOG events" >&2; exit 1; }
: >"$T/rx.jsonl"
t0=$(date +%s%3N)
bg rx2 python3 "$RX" http "$H" "$T/rx.jsonl" s
python3 - "$T/rx.jsonl" "$N_BACKLOG" "$t0" <<'PY'
import json, sys, time
n, t0 = int(sys.argv[2]), float(sys.argv[3])
deadline = time.time() + 120
got, last = set(), t0
while time.time() < deadline:
    for r in map(json.loads, open(sys.argv[1])):
        b = r["body"]
        for e in (b["events"] if b["event"] == "group" else [b]):
            got.add(e["idempotency_key"])
        last = max(last, r["recv_ms"])
    if len(got) >= n:
        break
    got = set()
    time.sleep(0.2)
if len(got) < n:
    sys.exit("only %d of %d backlog events arrived" % (len(got), n))
print("bench: notify.backlog_rate %.0f events/s" % (n / ((last - t0) / 1000.0)))
PY
