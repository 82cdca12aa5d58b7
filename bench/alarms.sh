#!/usr/bin/env bash
# bench/alarms.sh — how late a silent sensor is reported, against its
# deadline (docs/detector.md, "Silent sensors and feedback"):
#   alarms.silent_delay_s: the retained `detector/alarm/{sensor}/all`
#     in_alarm=true received, minus (last reading + the sensor's deadline),
#     median and max over SENSORS sensors that stop at the same moment;
#   alarms.silent_deadline_s: that deadline, max(SILENT_FACTOR x the
#     sensor's mean gap between readings, SILENT_MIN_S), the reference
#     (the detector learns the gap as an average of arrivals, alpha 0.1).
# The deadline is shortened to 5 s (1 s readings, SILENT_MIN_S=3) so the
# bench takes seconds; the delay is the detector's own lag (it judges
# silence every 200 ms), which does not depend on the deadline's length.
# Prints `bench: <name> <value> <unit>` lines.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BIN=$ROOT/build/bin
[ -x "$BIN/detector" ] || { echo "missing $BIN/detector (make all)" >&2; exit 1; }
T=$(mktemp -d /tmp/iotac-bench-alarms.XXXXXX)
chmod 755 "$T"
STACK_DIR=$T
. "$ROOT/scripts/lib/stack.sh"
trap 'stop_started 2; rm -rf "$T"' EXIT
SENSORS=${ALARMS_BENCH_SENSORS:-20}


start_mosquitto
MP=$MQTT_PORT
MQTT_URL=tcp://127.0.0.1:$MP STATE_DIR=$T/det MODELS_DIR=$T/det SILENT_MIN_S=3 SILENT_FACTOR=5 \
    bg detector "$BIN/detector"
for _ in $(seq 100); do grep -q "started client_id" "$T/detector.log" 2>/dev/null && break; sleep 0.1; done
bg sub mosquitto_sub -p "$MP" -q 1 -F '%U %t %p' -t 'detector/alarm/+/all'
sleep 0.5
# 15 readings a second apart (past the detector's 10 s start-up grace,
# and enough gaps to learn the interval), then silence.
for i in $(seq 1 15); do
    now=$(date +%s)
    for s in $(seq 1 "$SENSORS"); do
        printf '{"sensor_id":"quiet-%d","ts":%d,"temperature":%d.5}\n' "$s" "$now" "$((20 + i % 3))"
    done | while read -r line; do
        id=${line#*\"sensor_id\":\"}; id=${id%%\"*}
        mosquitto_pub -p "$MP" -q 1 -t "sensors/$id/readings" -m "$line"
        echo "$id $(date +%s.%N)" >>"$T/sent.txt"
    done
    sleep "$(python3 -c "import time; print(max(0.0, 1.0 - (time.time() - $now)))")"
done
for _ in $(seq 150); do
    n=$(grep -c '"in_alarm":true' "$T/sub.log" 2>/dev/null || true)
    [ "${n:-0}" -ge "$SENSORS" ] && break
    sleep 0.1
done
python3 - "$T/sub.log" "$T/sent.txt" "$SENSORS" <<'PY'
import sys
log, sent, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
times = {}
for line in open(sent):  # each reading handed to the broker
    sid, t = line.split()
    times.setdefault(sid, []).append(float(t))
last, dl = {}, {}
for sid, ts in times.items():
    # its deadline as the detector learns it: 5 x the usual gap, >= 3 s
    gaps = [b - a for a, b in zip(ts, ts[1:])]
    last[sid], dl[sid] = ts[-1], max(5 * sum(gaps) / len(gaps), 3.0)
d = {}
for line in open(log):
    p = line.split(" ", 2)
    if len(p) < 3 or '"in_alarm":true' not in p[2]:
        continue
    sid = p[1].split("/")[2]
    if sid in last:
        d.setdefault(sid, float(p[0]) - last[sid] - dl[sid])
if len(d) < n:
    sys.exit("only %d of %d sensors reported silent" % (len(d), n))
v = sorted(d.values())
print("bench: alarms.silent_delay_s %.2f s" % v[len(v) // 2])
print("bench: alarms.silent_delay_max_s %.2f s" % v[-1])
print("bench: alarms.silent_deadline_s %.2f s" % (sum(dl.values()) / len(dl)))
PY
