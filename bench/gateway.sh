#!/usr/bin/env bash
# Gateway benchmarks (figures as `bench: <name> <value> <unit>`):
#
# WebSocket fan-out: GW_BENCH_CLIENTS (1000) clients connected to /ws while
# GW_BENCH_RATE (1000) anomalies/s are published on MQTT for GW_BENCH_SECONDS
# (10) through a real mosquitto (bench/gateway/wsbench.c). Reported:
#   gateway.ws.offered_rate     messages/s the clients should receive (the reference)
#   gateway.ws.delivered_rate   messages/s they did receive
#   gateway.ws.lost             messages not delivered (dropped for slow clients)
#   gateway.ws.p50_ms / p99_ms  publish-to-client latency
#   gateway.cpu_percent         gateway CPU over the run (100 = one core)
#   gateway.rss_mb              gateway resident memory after the run
#
# Capacity curve: the same fan-out at GW_CURVE_RATES (10 25 50 100 250 1000)
# anomalies/s, GW_CURVE_SECONDS (5) each:
#   gateway.ws.p99_ms.at_<offered msg/s>  p99 at each offered rate
#   gateway.ws.capacity         the largest offered rate delivered complete
#                               with p99 <= 50 ms
#
# Chain reads: GW_BENCH_ANOMALIES (100000) anomalies logged on Ganache by the
# real chain logger (batches of 200), then GET /api/anomalies?limit=100
# timed (median of 200 requests) against GET /healthz on the same server
# (the reference: an answer that does no work), plus a sensor-filtered page.
set -euo pipefail
. "$(dirname "$0")/../tests/lib.sh"
. "$ROOT/tests/gateway/lib.sh"
CLIENTS=${GW_BENCH_CLIENTS:-1000}
RATE=${GW_BENCH_RATE:-1000}
SECS=${GW_BENCH_SECONDS:-10}
NANOM=${GW_BENCH_ANOMALIES:-100000}

mkdir -p "$ROOT/build"
cc -O2 -std=gnu11 -Wall -Wextra -I"$ROOT/common" -o "$ROOT/build/wsbench" \
    "$ROOT/bench/gateway/wsbench.c" "$ROOT/build/libcommon.a" \
    -lpaho-mqtt3as -lmosquitto -ljansson -lcurl -lpthread -lm

start_mosquitto
start_chain
export STATE_DIR=$T/state
deploy_contract
start_gateway WS_MAX_CLIENTS=$((CLIENTS + 100)) GATEWAY_MAX_CONN_PER_IP=$((CLIENTS + 100))
wait_for 20 curl -sf "$G/readyz" || fail "gateway not ready"

# --- WebSocket fan-out ------------------------------------------------------
cpu() { awk '{print $14 + $15}' "/proc/$GW_PID/stat"; }
hz=$(getconf CLK_TCK)
c0=$(cpu)
t0=$(date +%s.%N)
"$ROOT/build/wsbench" 127.0.0.1 "$GW_PORT" "$MQTT_URL" "$CLIENTS" "$RATE" "$SECS" >"$T/ws.out" 2>"$T/ws.err" ||
    fail "wsbench failed: $(cat "$T/ws.err")"
c1=$(cpu)
t1=$(date +%s.%N)
cat "$T/ws.out" >&2
val() { awk -v k="$1" '$1 == k { print $2 }' "$T/ws.out"; }
echo "bench: gateway.ws.clients $CLIENTS clients"
echo "bench: gateway.ws.offered_rate $(val expected_rate) msg/s"
echo "bench: gateway.ws.delivered_rate $(val delivered_rate) msg/s"
echo "bench: gateway.ws.lost $(val lost) messages"
echo "bench: gateway.ws.p50_ms $(val p50_ms) ms"
echo "bench: gateway.ws.p99_ms $(val p99_ms) ms"
awk -v c="$((c1 - c0))" -v hz="$hz" -v a="$t0" -v b="$t1" \
    'BEGIN { printf "bench: gateway.cpu_percent %.0f %%\n", 100 * c / hz / (b - a) }'
awk '/VmRSS/ { printf "bench: gateway.rss_mb %.1f MB\n", $2 / 1024 }' "/proc/$GW_PID/status"

# --- capacity curve --------------------------------------------------------
# The same fan-out at GW_CURVE_RATES anomalies/s (offered = rate x clients
# messages/s), GW_CURVE_SECONDS (5) each: p99 per offered rate, and the
# capacity, the largest offered rate delivered complete with p99 <= 50 ms
# (0 when none is). One figure on the cliff edge says little; the curve
# says where the edge is.
CURVE_RATES=${GW_CURVE_RATES:-10 25 50 100 250 1000}
CURVE_SECS=${GW_CURVE_SECONDS:-5}
cap=0
for r in $CURVE_RATES; do
    "$ROOT/build/wsbench" 127.0.0.1 "$GW_PORT" "$MQTT_URL" "$CLIENTS" "$r" "$CURVE_SECS" \
        >"$T/curve-$r.out" 2>"$T/curve-$r.err" || fail "wsbench at $r/s failed: $(cat "$T/curve-$r.err")"
    cv() { awk -v k="$1" '$1 == k { print $2 }' "$T/curve-$r.out"; }
    offered=$(cv expected_rate)
    echo "bench: gateway.ws.p99_ms.at_$offered $(cv p99_ms) ms"
    echo "curve: offered $offered msg/s delivered $(cv delivered_rate) lost $(cv lost) p99 $(cv p99_ms) ms" >&2
    if awk -v p="$(cv p99_ms)" -v l="$(cv lost)" 'BEGIN { exit !(p <= 50 && l == 0) }'; then
        [ "$offered" -gt "$cap" ] && cap=$offered
    fi
    sleep 1 # let the clients' queues empty between steps
done
echo "bench: gateway.ws.capacity $cap msg/s"

# --- anomalies on chain, read back --------------------------------------------
BATCH_SIZE=200 BATCH_MAX_DELAY_MS=50 bg chainlogger "$BIN/chainlogger"
sensors=20
per=$((NANOM / sensors))
start=$SECONDS
for s in $(seq 1 $sensors); do
    node "$ROOT/tests/gateway/anomalies.js" "bench-$s" "$per" $((1764000000 + s * 100000)) 60 >"$T/a-$s.jsonl"
    mosquitto_pub -h 127.0.0.1 -p "$MQTT_PORT" -q 1 -t "anomalies/bench-$s" -l <"$T/a-$s.jsonl"
done
total=$((per * sensors))
# Wait until the gateway has read them all from the chain (bounded: 10 min).
deadline=$((SECONDS + 600))
n=0
while [ $SECONDS -lt $deadline ]; do
    n=$(metric iotad_gateway_chain_anomalies)
    [ "$n" -ge "$total" ] && break
    sleep 2
done
echo "logged and read $n of $total anomalies in $((SECONDS - start)) s" >&2
echo "bench: gateway.api.anomalies_on_chain $n anomalies"

timeit() { # median time_total in ms of 200 GETs of $1
    for i in $(seq 1 200); do curl -s -o /dev/null -w '%{time_total}\n' "$1"; done |
        sort -n | awk '{ a[NR] = $1 } END { printf "%.2f", a[int((NR + 1) / 2)] * 1000 }'
}
echo "bench: gateway.api.healthz_ms $(timeit "$G/healthz") ms"
echo "bench: gateway.api.anomalies_ms $(timeit "$G/api/anomalies?limit=100") ms"
echo "bench: gateway.api.anomalies_sensor_ms $(timeit "$G/api/anomalies?limit=100&sensor_id=bench-1") ms"
