#!/usr/bin/env bash
# The MQTT client as a consumer, measured by CPU time per message (robust on
# a machine shared with other work, where rates are not): paho MQTTAsync
# through common/bus/mqtt.h (count_sub.c) against libmosquitto
# (count_sub_mosq.c, when libmosquitto-dev is installed), each alone,
# subscribed at QoS 0 to the simulator publishing 1,000 sensors at
# PIPE_CONSUMER_RATE (8,000) readings/s for PIPE_SECONDS (6) s. Called by
# bench/pipeline.sh with its broker:   consumers.sh HOST PORT OUT_DIR
# Prints bench lines pipeline.consumer_cpu_us.{paho,libmosquitto}.
set -euo pipefail
HOST=$1 PORT=$2 OUT=$3
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
RATE=${PIPE_CONSUMER_RATE:-8000}
SECS=${PIPE_SECONDS:-6}
cc -O2 -std=gnu11 -Wall -Wextra -Werror -I"$ROOT/common" -o "$OUT/count_sub" \
    "$ROOT/bench/pipeline/count_sub.c" "$ROOT/build/libcommon.a" -lpaho-mqtt3as -lmosquitto -ljansson -lpthread -lm
clients=(paho)
if [ -f /usr/include/mosquitto.h ]; then
    cc -O2 -std=gnu11 -Wall -Wextra -Werror -o "$OUT/count_sub_mosq" \
        "$ROOT/bench/pipeline/count_sub_mosq.c" -lmosquitto
    clients+=(libmosquitto)
else
    echo "libmosquitto-dev not installed: pipeline.consumer_cpu_us.libmosquitto skipped" >&2
fi
cpu() { awk '{print $14 + $15}' "/proc/$1/stat"; }
hz=$(getconf CLK_TCK)
for c in "${clients[@]}"; do
    if [ "$c" = paho ]; then
        "$OUT/count_sub" "tcp://$HOST:$PORT" 0 2 >"$OUT/consumer-$c.txt" &
    else
        "$OUT/count_sub_mosq" "$HOST" "$PORT" 0 2 >"$OUT/consumer-$c.txt" &
    fi
    pid=$!
    for _ in $(seq 1 50); do grep -q ready "$OUT/consumer-$c.txt" && break; sleep 0.1; done
    c0=$(cpu "$pid")
    "$ROOT/build/bin/simulator" --mqtt-url "tcp://$HOST:$PORT" --sensors 1000 --speedup 0 \
        --rate "$RATE" --run-for "$SECS" --progress-interval 1000 --log-level warn </dev/null
    sleep 1.5
    c1=$(cpu "$pid")
    wait "$pid"
    read -r n _ < <(tail -n 1 "$OUT/consumer-$c.txt")
    awk -v c="$c" -v n="$n" -v t="$((c1 - c0))" -v hz="$hz" 'BEGIN {
        printf "consumer %s: %d messages, %.2f s CPU\n", c, n, t / hz > "/dev/stderr"
        if (n > 0) printf "bench: pipeline.consumer_cpu_us.%s %.1f us/message\n", c, 1e6 * t / hz / n }'
done
