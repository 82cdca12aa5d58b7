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
#   alarms.storm_seconds: STORM_SENSORS (10,000) sensors alarm within
#     STORM_SECONDS (60): one change_point anomaly each, published as the
#     detector does (bench/alarms/storm_pub.c). The time from the first
#     until every alarm is active in the gateway's API (`GET /api/alarms`
#     counts them: alarms.storm_api_seconds) and every anomaly and every
#     `opened` event is on chain (the chain logger's logged total, via the
#     gateway's /metrics: alarms.storm_chain_seconds); the larger of the two.
#     The reference: alarms.storm_publish_seconds, the storm itself.
#     Ganache, the chain logger and the gateway with their defaults.
#   alarms.detector_rss_mib_100k / alarms.gateway_rss_mib_100k: peak
#     resident memory (VmHWM) of the detector and the gateway after
#     MEM_SENSORS (100,000) sensors with three metrics each sent readings
#     through mosquitto, MEM_ALARMS (1,000: 1 %) of them in a fault that
#     keeps them in alarm (bench/alarms/fleet_pub.c, MEM_RATE readings/s).
#     Targets: the detector's 1.5 GiB for 100,000 sensors x 3 metrics
#     (issue #16); the gateway's documented bounds at its defaults
#     (sensor rings, alarm table, chain cache: docs/gateway.md), printed
#     with its idle RSS. ALARMS_BENCH_PARTS (silent memory storm) picks parts.
# Prints `bench: <name> <value> <unit>` lines.
set -euo pipefail
. "$(dirname "$0")/lib.sh" alarms detector
trap 'stop_started 2; [ -n "${ALARMS_BENCH_DEBUG:-}" ] || rm -rf "$T"' EXIT
SENSORS=${ALARMS_BENCH_SENSORS:-20}
# want PART: whether PART is among ALARMS_BENCH_PARTS
want() { [[ " ${ALARMS_BENCH_PARTS:-silent memory storm} " == *" $1 "* ]]; }


start_mosquitto
MP=$MQTT_PORT
MQTT_URL=tcp://127.0.0.1:$MP
DET_PID=""
if want silent; then
MQTT_URL=$MQTT_URL STATE_DIR=$T/det MODELS_DIR=$T/det SILENT_MIN_S=3 SILENT_FACTOR=5 \
    bg detector "$BIN/detector"
DET_PID=$LAST_PID
for _ in $(seq 100); do grep -q "started client_id" "$T/detector.log" 2>/dev/null && break; sleep 0.1; done
bg sub mosquitto_sub -p "$MP" -q 1 -F '%U %t %p' -t 'detector/alarm/+/all'
sleep 0.5
# 15 readings a second apart (past the detector's 10 s start-up grace,
# and enough gaps to learn the interval), then silence.
for i in $(seq 1 15); do
    start=$(date +%s.%N)
    now=${start%.*}
    for s in $(seq 1 "$SENSORS"); do
        printf '{"sensor_id":"quiet-%d","ts":%d,"temperature":%d.5}\n' "$s" "$now" "$((20 + i % 3))"
    done | while read -r line; do
        id=${line#*\"sensor_id\":\"}; id=${id%%\"*}
        mosquitto_pub -p "$MP" -q 1 -t "sensors/$id/readings" -m "$line"
        echo "$id $(date +%s.%N)" >>"$T/sent.txt"
    done
    sleep "$(python3 -c "import time; print(max(0.0, 1.0 - (time.time() - $start)))")"
done
for _ in $(seq 150); do
    n=$(grep -c '"in_alarm":true' "$T/sub.log" 2>/dev/null || true)
    [ "${n:-0}" -ge "$SENSORS" ] && break
    sleep 0.1
done
python3 - "$T/sub.log" "$T/sent.txt" "$SENSORS" <<'PY' || exit 1
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

fi # silent
if [ -n "$DET_PID" ]; then
    kill "$DET_PID" 2>/dev/null || true # its silent anomalies are not part of what follows
    wait "$DET_PID" 2>/dev/null || true
fi

# ---- memory under load ----
# vm PID FIELD: /proc/PID/status FIELD (VmHWM, VmRSS) in KiB
vm() { awk -v f="$2:" '$1 == f { print $2 }' "/proc/$1/status"; }
if want memory; then
MEM_N=${MEM_SENSORS:-100000}
MEM_K=${MEM_ALARMS:-$((MEM_N / 100))}
MEM_RATE=${MEM_RATE:-10000}
MEM_WARM=${MEM_WARMUP:-30}
cc -O2 -std=gnu11 -Wall -Wextra -Werror -I"$ROOT/common" -o "$T/fleet_pub" \
    "$ROOT/bench/alarms/fleet_pub.c" "$ROOT/build/libcommon.a" \
    -lpaho-mqtt3as -lmosquitto -ljansson -lpthread -lm
# WARMUP short so the faulty sensors are scored after MEM_WARM readings; the
# others send MEM_ROUNDS (2) readings: a stream's state is fixed-size from
# its first reading (det_internal.h), so it is all there already.
MQTT_URL=$MQTT_URL STATE_DIR=$T/memdet WARMUP=$MEM_WARM STATS_INTERVAL=1 SAVE_INTERVAL=0 \
    bg memdet "$BIN/detector"
MEMDET_PID=$LAST_PID
for _ in $(seq 100); do grep -q "subscribed topic=detector/feedback" "$T/memdet.log" 2>/dev/null && break; sleep 0.1; done
MEMGW_PORT=$(free_port)
MQTT_URL=$MQTT_URL RPC_URL=http://127.0.0.1:9 STATE_DIR=$T/memgw GATEWAY_PORT=$MEMGW_PORT \
    GATEWAY_HOST=127.0.0.1 LOG_LEVEL=warn bg memgw "$BIN/gateway"
MEMGW_PID=$LAST_PID
wait_port "$MEMGW_PORT" 10 || { echo "gateway did not start" >&2; exit 1; }
MG=http://127.0.0.1:$MEMGW_PORT
sleep 1
gw_idle=$(vm "$MEMGW_PID" VmRSS)
det_idle=$(vm "$MEMDET_PID" VmRSS)
sent=$("$T/fleet_pub" "$MQTT_URL" "$MEM_N" "${MEM_ROUNDS:-2}" "$MEM_K" "$((MEM_WARM + 5))" 10 "$MEM_RATE") ||
    { echo "fleet_pub failed" >&2; exit 1; }
# until the detector has read them all (or stops moving) and the alarms are open
last=-1; still=0; done_n=0
for _ in $(seq 600); do
    done_n=$(grep -o ' readings=[0-9]*' "$T/memdet.log" | tail -1 | cut -d= -f2)
    [ "${done_n:-0}" -ge "$sent" ] && break
    [ "${done_n:-0}" = "$last" ] && still=$((still + 1)) || still=0
    [ "$still" -ge 20 ] && break
    last=${done_n:-0}
    sleep 0.5
done
active=0
for _ in $(seq 60); do
    active=$(curl -sf "$MG/api/alarms?state=active&limit=1" | python3 -c 'import json,sys; print(json.load(sys.stdin)["active"])' 2>/dev/null || echo 0)
    [ "$active" -ge "$MEM_K" ] && break
    sleep 0.5
done
sleep 2
det_sensors=$(grep -o ' sensors=[0-9]*' "$T/memdet.log" | tail -1 | cut -d= -f2)
det_hwm=$(vm "$MEMDET_PID" VmHWM)
gw_hwm=$(vm "$MEMGW_PID" VmHWM)
python3 - "$det_hwm" "$det_idle" "$gw_hwm" "$gw_idle" "$MEM_N" "$MEM_K" "$sent" "${done_n:-0}" "$active" "${det_sensors:-0}" <<'PY'
import sys
dh, di, gh, gi, n, k, sent, done, active, dsens = (int(x) for x in sys.argv[1:11])
mib = lambda kb: kb / 1024.0
# the gateway's documented bounds at its defaults (docs/gateway.md):
# GATEWAY_MAX_SENSORS 2048 rings of GATEWAY_RING_SIZE 600 slots of 88 B,
# GATEWAY_ALARMS_MAX 10,000 alarms of ~3.4 KB, GATEWAY_CACHE_ANOMALIES
# 10,000 of ~1.2 KB; plus what it holds idle.
bound = mib(gi) + (2048 * 600 * 88 + 10000 * 3400 + 10000 * 1200) / 1048576.0
print("bench: alarms.detector_rss_mib_100k %.1f MiB (%d sensors x 3 metrics, %d in alarm; target <= 1536 MiB)" % (mib(dh), n, k))
print("bench: alarms.detector_rss_mib_idle %.1f MiB" % mib(di))
print("bench: alarms.detector_bytes_per_sensor_100k %d B (peak minus idle, over the sensors)" % ((dh - di) * 1024 // n))
print("bench: alarms.gateway_rss_mib_100k %.1f MiB (target: its bounds, %.1f MiB)" % (mib(gh), bound))
print("bench: alarms.gateway_rss_mib_idle %.1f MiB" % mib(gi))
print("bench: alarms.mem_readings %d readings (%d published; QoS 0, a busy machine drops some)" % (done, sent))
print("bench: alarms.mem_detector_sensors %d sensors (of %d)" % (dsens, n))
print("bench: alarms.mem_alarms_active %d alarms (of %d sensors in a fault)" % (active, k))
PY
kill "$MEMDET_PID" "$MEMGW_PID" 2>/dev/null || true
wait "$MEMDET_PID" "$MEMGW_PID" 2>/dev/null || true
fi # memory

# ---- the storm ----
want storm || exit 0
STORM_N=${STORM_SENSORS:-10000}
STORM_S=${STORM_SECONDS:-60}
cc -O2 -std=gnu11 -Wall -Wextra -Werror -I"$ROOT/common" -o "$T/storm_pub" \
    "$ROOT/bench/alarms/storm_pub.c" "$ROOT/build/libcommon.a" \
    -lpaho-mqtt3as -lmosquitto -ljansson -lpthread -lm
start_chain
export STATE_DIR=$T/cl PRIVATE_KEY=$GANACHE_KEY0
deploy_contract >/dev/null
STATUS_INTERVAL=1 LOG_LEVEL=$([ -n "${ALARMS_BENCH_DEBUG:-}" ] && echo info || echo warn) bg chainlogger "$BIN/chainlogger"
for _ in $(seq 150); do grep -q sender_ready "$T/chainlogger.log" 2>/dev/null && break; sleep 0.1; done
GW_PORT=$(free_port)
STATE_DIR=$T/gw GATEWAY_PORT=$GW_PORT GATEWAY_HOST=127.0.0.1 LOG_LEVEL=warn bg gateway "$BIN/gateway"
wait_port "$GW_PORT" 10 || { echo "gateway did not start" >&2; exit 1; }
G=http://127.0.0.1:$GW_PORT
sleep 1
"$T/storm_pub" "$MQTT_URL" "$STORM_N" "$STORM_S" >"$T/storm.t0" || { echo "storm_pub failed" >&2; exit 1; }
pub_end=$(date +%s.%N)
t0=$(cat "$T/storm.t0")
api_t=""; chain_t=""
end=$((SECONDS + 300))
while [ $SECONDS -lt $end ] && { [ -z "$api_t" ] || [ -z "$chain_t" ]; }; do
    if [ -z "$api_t" ]; then
        a=$(curl -sf "$G/api/alarms?state=active&limit=1" | python3 -c 'import json,sys; print(json.load(sys.stdin)["active"])' 2>/dev/null || echo 0)
        [ "$a" -ge "$STORM_N" ] && api_t=$(date +%s.%N)
    fi
    if [ -z "$chain_t" ]; then
        l=$(curl -sf "$G/metrics" | awk '/^iotad_chainlogger_logged_total/ {s += $2} END {print s + 0}')
        [ "${l%.*}" -ge $((2 * STORM_N)) ] && chain_t=$(date +%s.%N)
    fi
    [ -n "${ALARMS_BENCH_DEBUG:-}" ] && { echo "api ${a:-} chain ${l:-}" >&2; curl -sf "$G/metrics" | grep -E "^iotad_chainlogger_(alarm|logged|anomal|dup|received)" >&2; curl -sf "$G/metrics" | grep -E "^iotad_gateway_alarms" >&2; }
    sleep 0.5
done
[ -n "$api_t" ] && [ -n "$chain_t" ] || {
    echo "storm not complete within 300 s: api ${a:-?}/$STORM_N, chain ${l:-?}/$((2 * STORM_N))" >&2
    exit 1
}
python3 - "$t0" "$pub_end" "$api_t" "$chain_t" "$STORM_N" <<'PY'
import sys
t0, pub, api, chain = (float(x) for x in sys.argv[1:5])
print("bench: alarms.storm_seconds %.1f s (%s sensors)" % (max(api, chain) - t0, sys.argv[5]))
print("bench: alarms.storm_api_seconds %.1f s" % (api - t0))
print("bench: alarms.storm_chain_seconds %.1f s" % (chain - t0))
print("bench: alarms.storm_publish_seconds %.1f s" % (pub - t0))
PY
