#!/usr/bin/env bash
# Simulator throughput to a real mosquitto on a free loopback port, QoS 0,
# 10,000 sensors, unpaced (--speedup 0), for ~10 s each:
#   simulator.rate       the default publisher (own batched MQTT 3.1.1 QoS 0 client)
#   simulator.rate_paho  reference, same run: the common MQTTAsync wrapper (common/bus/mqtt.h)
#   simulator.broker_received  what mosquitto itself counted during the first run
#                        ($SYS/broker/messages/received), as readings/s
#   simulator.dataset_rate  dataset mode (CSV files, no broker), readings/s
# The issue's target is >= 100,000 readings/s for simulator.rate.
. "$(dirname "$0")/../tests/lib.sh"
SECS=${SIM_BENCH_SECONDS:-10}
[ -x "$BIN/simulator" ] || fail "missing $BIN/simulator (make all)"

bench_conf() { printf 'listener %s 127.0.0.1\nallow_anonymous true\npersistence false\nsys_interval 1\n' "$1"; }
MOSQ_NAME=bench-mosquitto start_mosquitto bench_conf
PORT=$MQTT_PORT
URL=$MQTT_URL

broker_received() {
    mosquitto_sub -h 127.0.0.1 -p "$PORT" -t '$SYS/broker/messages/received' -C 1 -W 5 2>/dev/null || echo 0
}

run_rate() { # publisher -> prints the simulator's rate
    local pub=$1
    "$BIN/simulator" --mqtt-url "$URL" --sensors 10000 --speedup 0 --run-for "$SECS" \
        --publisher "$pub" --progress-interval 1000 >"$T/sim-$pub.log" 2>&1 </dev/null ||
        fail "simulator ($pub) failed: $(tail -3 "$T/sim-$pub.log")"
    sed -n 's/.* done readings=\([0-9]*\) .*wall_s=\([0-9.]*\) rate=\([0-9]*\).*/\1 \2 \3/p' "$T/sim-$pub.log"
}

sleep 1.2
before=$(broker_received)
read -r n wall rate < <(run_rate fast)
[ -n "${rate:-}" ] || fail "no rate in $(tail -3 "$T/sim-fast.log")"
sleep 2.2 # let $SYS refresh
after=$(broker_received)
got=$((after - before))
# The $SYS counter includes its own few messages; it must account for
# (nearly) all readings the simulator says it sent.
[ "$got" -ge $((n * 95 / 100)) ] || fail "broker counted $got messages, simulator sent $n"
echo "bench: simulator.rate $rate readings/s"
awk -v g="$got" -v w="$wall" 'BEGIN { printf "bench: simulator.broker_received %.0f readings/s\n", g / w }'

read -r _ _ prate < <(run_rate paho)
echo "bench: simulator.rate_paho ${prate:-0} readings/s"

start=$(date +%s.%N)
"$BIN/simulator" --csv "$T/ds" --sensors 1000 --days 1 --progress-interval 1000 2>"$T/ds.log" ||
    fail "dataset run failed"
end=$(date +%s.%N)
rows=$(sed -n 's/.*readings=\([0-9]*\).*/\1/p' "$T/ds.log")
awk -v r="$rows" -v a="$start" -v b="$end" 'BEGIN { printf "bench: simulator.dataset_rate %.0f readings/s\n", r / (b - a) }'
