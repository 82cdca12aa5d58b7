#!/usr/bin/env bash
# Several detectors on one mosquitto (docs/SCALING.md): two detectors with
# DETECTOR_SHARDS=2 split the sensors by the FNV-1a hash of their id, with
# no sensor in both and none in neither (each scores exactly the sensors
# its shard owns, counted against the same hash computed here); what the
# detectors do not own is counted, not lost. Also: a regular sensor with
# three readings missing is counted as readings_missed (3), and the
# gateway's /metrics shows the detectors' intake and gap counters and
# mosquitto's $SYS drop counter (iotad_ prefix).
. "$(dirname "$0")/../lib.sh"
. "$ROOT/tests/gateway/lib.sh"

command -v mosquitto >/dev/null || skip "mosquitto not installed"
for b in detector gateway; do [ -x "$BIN/$b" ] || fail "build/bin/$b missing (make all)"; done
PY=/usr/bin/python3

sys_conf() { plain_mosquitto_conf "$1"; echo "sys_interval 1"; }
start_mosquitto sys_conf
export WARMUP=20 SAVE_INTERVAL=0 STATS_INTERVAL=1 STATUS_INTERVAL=1
NS=40 NR=30
for k in 0 1; do
    bg "det$k" env STATE_DIR="$T/s$k" DETECTOR_SHARDS=2 DETECTOR_SHARD=$k "$BIN/detector"
done
for k in 0 1; do
    wait_for 15 grep -q 'mqtt_connected' "$T/det$k.log" || fail "detector $k did not connect"
    grep -q "client_id=detector-s$k .*shard=$k shards=2" "$T/det$k.log" || fail "detector $k: no shard in its start line"
done
start_gateway
sleep 1 # subscriptions made

# NS sensors x NR readings (every 60 s), one file per sensor, then sensor
# gap-$$ with readings 10, 11 and 20 of 30 left out.
mkdir -p "$T/load"
$PY - "$T/load" "$NS" "$NR" "$$" <<'PY'
import sys
d, ns, nr, pid = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
for s in range(ns):
    with open('%s/sh-%02d' % (d, s), 'w') as f:
        for i in range(nr):
            f.write('{"ts": %d, "temperature": %.2f}\n' % (1764000000 + 60 * i, 20 + (i % 7) / 10))
with open('%s/gap-%s' % (d, pid), 'w') as f:
    for i in range(30):
        if i not in (10, 11, 20):
            f.write('{"ts": %d, "temperature": 21.0}\n' % (1764000000 + 60 * i))
PY
for f in "$T"/load/*; do
    mosquitto_pub -h 127.0.0.1 -p "$MQTT_PORT" -q 1 -t "sensors/$(basename "$f")/readings" -l <"$f"
done
TOTAL=$((NS * NR + 27))

last() { sed -n "s/.* stats .*\\b$2=\\([0-9]*\\).*/\\1/p" "$T/det$1.log" | tail -n 1; }
done_all() { [ $(($(last 0 readings) + $(last 0 other_shard))) -ge $TOTAL ] &&
    [ $(($(last 1 readings) + $(last 1 other_shard))) -ge $TOTAL ]; }
wait_for 30 done_all || fail "LOST: detectors saw $(($(last 0 readings) + $(last 0 other_shard))) and $(($(last 1 readings) + $(last 1 other_shard))) of $TOTAL readings"

# The split the hash says (FNV-1a 64 of the id, modulo 2).
read -r want0 want1 < <($PY - "$NS" "$$" <<'PY'
import sys
def fnv(s):
    h = 0xcbf29ce484222325
    for b in s.encode():
        h = ((h ^ b) * 0x100000001b3) & 0xFFFFFFFFFFFFFFFF
    return h
ids = ['sh-%02d' % s for s in range(int(sys.argv[1]))] + ['gap-' + sys.argv[2]]
print(sum(fnv(i) % 2 == 0 for i in ids), sum(fnv(i) % 2 == 1 for i in ids))
PY
)
s0=$(last 0 sensors) s1=$(last 1 sensors)
echo "shard 0: sensors=$s0 (want $want0) readings=$(last 0 readings); shard 1: sensors=$s1 (want $want1) readings=$(last 1 readings)"
[ "$s0" = "$want0" ] && [ "$s1" = "$want1" ] || fail "split differs from the hash: $s0/$s1, want $want0/$want1"
[ $((s0 + s1)) = $((NS + 1)) ] || fail "DUP or LOST: $((s0 + s1)) sensors held, $((NS + 1)) published"
[ $(($(last 0 readings) + $(last 1 readings))) = $TOTAL ] ||
    fail "DUP or LOST: scored $(($(last 0 readings) + $(last 1 readings))) readings of $TOTAL"
[ "$(last 0 other_shard)" = "$(last 1 readings)" ] || fail "shard 0 skipped $(last 0 other_shard), shard 1 scored $(last 1 readings)"
[ $(($(last 0 missed) + $(last 1 missed))) = 3 ] || fail "readings_missed: $(last 0 missed) + $(last 1 missed), want 3"
[ $(($(last 0 intake_dropped) + $(last 1 intake_dropped))) = 0 ] || fail "intake dropped readings"

# /metrics: the detectors' counters (through their status reports) and the broker's.
m() { curl -sf "$G/metrics" | awk -v n="$1" '$1 == n { s += $2; f = 1 } END { if (f) print s }'; }
has() { [ -n "$(m "$1")" ]; }
wait_for 10 has 'iotad_broker_messages_dropped_total' || fail "no iotad_broker_messages_dropped_total in /metrics"
for k in 0 1; do
    wait_for 10 has "iotad_detector_readings_missed_total{instance=\"detector-s$k\"}" ||
        fail "no readings_missed of detector-s$k in /metrics: $(curl -sf "$G/metrics" | grep -m3 detector)"
done
has "iotad_detector_intake_depth{instance=\"detector-s0\"}" || fail "no intake depth in /metrics"
missed=$(($(m "iotad_detector_readings_missed_total{instance=\"detector-s0\"}") + $(m "iotad_detector_readings_missed_total{instance=\"detector-s1\"}")))
[ "$missed" = 3 ] || fail "/metrics readings_missed $missed, want 3"
echo "detector_shards ok: $s0 + $s1 sensors, missed=$missed, broker dropped=$(m iotad_broker_messages_dropped_total)"
