#!/usr/bin/env bash
# End-to-end pipeline throughput through one mosquitto (docs/SCALING.md),
# all figures from one run with one publisher (the simulator, 1,000
# sensors, readings of 3 metrics, unpaced):
#   pipeline.broker_rate    the reference: readings/s one subscriber
#                           (mosquitto_sub, QoS 0) receives from mosquitto
#                           alone while the simulator publishes for PIPE_SECONDS
#   pipeline.paho_consumer_rate  the same with the services' MQTT client
#                           (common/bus/mqtt.h over paho) counting only
#   pipeline.e2e_rate       readings/s scored end to end (QoS 0): the
#                           detector(s) consuming, the gateway subscribed and
#                           one dashboard WebSocket client (parsing every
#                           message) connected; from the first publish to
#                           the moment the detectors' counters stop
#   pipeline.e2e_dropped    readings published but not scored in a second
#                           run paced at PIPE_PACED_PCT (90) % of e2e_rate
#                           (broker drops, intake drops): 0 is the target
#   pipeline.e2e_paced_rate the rate of that paced run (offered)
#   pipeline.e2e_rate_qos1  as e2e_rate with the readings published and
#                           consumed at QoS 1 (paho publisher)
#   pipeline.broker_dropped mosquitto's $SYS/broker/publish/messages/dropped
#                           over the whole run
#   pipeline.dash_reading_share  readings the dashboard client received, in %
#                           of those published while it was connected
#                           (coalesced per sensor: WS_READING_INTERVAL_MS)
#   pipeline.consumer_cpu_us.{paho,libmosquitto}  CPU time per message of
#                           a counting consumer on each client library
#                           (bench/pipeline/consumers.sh)
#   pipeline.{detector,gateway,broker}_cpu_us  CPU time per reading of
#                           each process over the e2e run (all its threads):
#                           on a machine shared with other work the rates
#                           measure the machine, these measure the code
# The detectors first learn every sensor (WARMUP=30 readings per metric) so
# the measured phases score. PIPE_DETECTORS (1) detector processes share
# the sensors (DETECTOR_SHARDS, docs/SCALING.md). PIPE_PERF=1 records a
# `perf` profile of detector, gateway and mosquitto over the e2e run
# (build/bench/pipeline/*.perf.txt). Bounded: about 2-3 minutes on a quiet
# machine (each phase waits at most 40 s for the detectors to drain).
. "$(dirname "$0")/../tests/lib.sh"
. "$ROOT/tests/gateway/lib.sh"
SENSORS=${PIPE_SENSORS:-1000}
SECS=${PIPE_SECONDS:-6}
NDET=${PIPE_DETECTORS:-1}
PACED=${PIPE_PACED_PCT:-90}
OUT=$ROOT/build/bench/pipeline
mkdir -p "$OUT"
for b in detector gateway simulator; do [ -x "$BIN/$b" ] || fail "missing $BIN/$b (make all)"; done

conf() {
    cat <<CONF
listener $1 127.0.0.1
allow_anonymous true
persistence false
sys_interval 1
max_queued_messages 100000
CONF
}
MOSQ_NAME=pipe-mosquitto start_mosquitto conf
PORT=$MQTT_PORT

now() { date +%s.%N; }
sysval() { mosquitto_sub -h 127.0.0.1 -p "$PORT" -t "\$SYS/broker/$1" -C 1 -W 4 2>/dev/null || echo 0; }
# sim NAME START_UNIX [ARGS...]: one simulator run, prints "readings wall_s".
sim() {
    local name=$1 start=$2
    shift 2
    "$BIN/simulator" --mqtt-url "$MQTT_URL" --sensors "$SENSORS" --start "$start" \
        --progress-interval 1000 --anomaly-warmup 0 "$@" >"$T/sim-$name.log" 2>&1 </dev/null ||
        fail "simulator ($name) failed: $(tail -3 "$T/sim-$name.log")"
    sed -n 's/.* done readings=\([0-9]*\) .*wall_s=\([0-9.]*\) .*/\1 \2/p' "$T/sim-$name.log"
}
# Simulated time runs on from one phase to the next (a jump would make
# every stream of the detector handle a gap at once): NEXT is where the
# last run's simulated clock stopped.
next_start() {
    local t
    t=$(sed -n 's/.*sim_time="\([^"]*\)".*/\1/p' "$T/sim-$1.log" | tail -n 1)
    NEXT=$(($(date -u -d "$t" +%s) + 1))
}
T0=$(($(date +%s) - 30 * 86400))

# --- the reference: mosquitto alone, one subscriber ------------------------
mosquitto_sub -h 127.0.0.1 -p "$PORT" -t 'sensors/+/readings' -F '%U' >"$T/ref.txt" 2>/dev/null &
SUB=$!
PIDS+=("$SUB")
sleep 0.5
read -r n_ref _ < <(sim ref $((T0 - 86400 * 10)) --speedup 0 --run-for "$SECS")
sleep 1
stop_pid "$SUB" 10
read -r got first last < <(awk 'NR==1{f=$1} {l=$1} END{print NR, f, l}' "$T/ref.txt")
awk -v n="$got" -v f="$first" -v l="$last" -v p="$n_ref" 'BEGIN {
    printf "reference: published %d received %d in %.2f s\n", p, n, l - f > "/dev/stderr"
    printf "bench: pipeline.broker_rate %.0f readings/s\n", n / (l - f) }'

# The same with the MQTT client the services use (common/bus/mqtt.h, paho),
# counting only: the most any service consuming through it can take.
cc -O2 -std=gnu11 -Wall -Wextra -Werror -I"$ROOT/common" -o "$OUT/count_sub" \
    "$ROOT/bench/pipeline/count_sub.c" "$ROOT/build/libcommon.a" -lpaho-mqtt3as -lmosquitto -ljansson -lpthread -lm
"$OUT/count_sub" "$MQTT_URL" 0 2 >"$T/paho.txt" 2>"$T/paho.err" &
SUB=$!
PIDS+=("$SUB")
wait_for 10 grep -q ready "$T/paho.txt" || fail "count_sub did not connect: $(cat "$T/paho.err")"
read -r n_paho _ < <(sim paho $((T0 - 86400 * 5)) --speedup 0 --run-for "$SECS")
wait "$SUB" || fail "count_sub failed"
read -r got first last < <(tail -n 1 "$T/paho.txt")
awk -v n="$got" -v f="$first" -v l="$last" -v p="$n_paho" 'BEGIN {
    printf "paho consumer: published %d received %d in %.2f s\n", p, n, l - f > "/dev/stderr"
    printf "bench: pipeline.paho_consumer_rate %.0f readings/s\n", n / (l - f) }'

# The two MQTT client libraries as consumers, by CPU time per message.
bash "$ROOT/bench/pipeline/consumers.sh" 127.0.0.1 "$PORT" "$OUT"

# --- the stack: gateway + dashboard client + detector(s) --------------------
start_gateway
# No chain here: the gateway is up once it has its broker.
wait_for 20 sh -c "curl -s '$G/healthz' | grep -q '\"mqtt\":true'" || fail "gateway not connected"
node "$ROOT/bench/pipeline/dashclient.js" "ws://127.0.0.1:$GW_PORT/ws" "$T/dash.ready" >"$T/dash.txt" 2>"$T/dash.err" &
DASH=$!
PIDS+=("$DASH")
wait_for 10 test -f "$T/dash.ready" || fail "dashboard client did not connect"
export WARMUP=30 STATUS_INTERVAL=1 STATS_INTERVAL=1 SAVE_INTERVAL=0
declare -a DETS=()
for k in $(seq 0 $((NDET - 1))); do
    mkdir -p "$T/det$k"
    shard=()
    [ "$NDET" -gt 1 ] && shard=(DETECTOR_SHARD=$k DETECTOR_SHARDS=$NDET)
    bg "detector$k" env STATE_DIR="$T/det$k" DETECTOR_CLIENT_ID="det$k" "${shard[@]}" "$BIN/detector"
    DETS+=("$LAST_PID")
done
wait_for 10 grep -q ' stats readings=' "$T/detector$((NDET - 1)).log" || fail "detectors not up"

# idle DEADLINE_S: wait until the detectors' counters (their stats log
# lines, one a second) stop moving, or DEADLINE_S passes.
idle() {
    local end=$((SECONDS + $1)) a b=none
    while [ $SECONDS -lt $end ]; do
        sleep 2.1
        a=$(for k in $(seq 0 $((NDET - 1))); do
            sed -n 's/.* stats readings=\([0-9]*\) .*/\1/p' "$T/detector$k.log" | tail -n 1
        done | awk '{s += $1} END {print s + 0}')
        [ "$a" = "$b" ] && [ "$a" != 0 ] && return 0
        b=$a
    done
    echo "detectors still busy after $1 s" >&2
}
phase() { # phase NAME START ARGS...: run, wait idle, print rate.py's line
    local name=$1 t_start t_stop
    t_start=$(now)
    read -r n wall < <(sim "$@")
    idle 40
    t_stop=$(now)
    set -- $(python3 "$ROOT/bench/pipeline/rate.py" "$t_start" "$t_stop" "$T"/detector*.log)
    echo "$name: published $n in $wall s; detectors $*" >&2
    P_PUB=$n P_DONE=$2 P_SECS=$4 P_RATE=$6 P_QDROP=${8:-0} P_MISS=${10:-0}
}

# Warm-up: every sensor learns (>= WARMUP readings per metric).
phase warm $T0 --speedup 0 --duration $((120 * 35))
next_start warm
W_PUB=$P_PUB

drop0=$(sysval publish/messages/dropped)
cpu() { awk '{print $14 + $15}' "/proc/$1/stat"; }
c_gw=$(cpu "$GW_PID") c_mq=$(cpu "$MOSQ_PID") c_det=0 tc=$(now)
for d in "${DETS[@]}"; do c_det=$((c_det + $(cpu "$d"))); done
PERFS=()
if [ "${PIPE_PERF:-0}" = 1 ] && command -v perf >/dev/null; then
    # The whole phase, publishing and draining: samples are CPU time, so a
    # busy machine gives fewer of them, not a different picture.
    perf record -F 1999 -g -o "$OUT/detector.perf" -p "${DETS[0]}" >/dev/null 2>&1 &
    PERFS+=("$!")
    perf record -F 1999 -g -o "$OUT/gateway.perf" -p "$GW_PID" >/dev/null 2>&1 &
    PERFS+=("$!")
    perf record -F 1999 -g -o "$OUT/mosquitto.perf" -p "$MOSQ_PID" >/dev/null 2>&1 &
    PERFS+=("$!")
fi
phase e2e $NEXT --speedup 0 --run-for "$SECS"
next_start e2e
for p in "${PERFS[@]+"${PERFS[@]}"}"; do kill -INT "$p"; wait "$p" || true; done
hz=$(getconf CLK_TCK)
d_det=0
for d in "${DETS[@]}"; do d_det=$((d_det + $(cpu "$d"))); done
awk -v g="$(($(cpu "$GW_PID") - c_gw))" -v d="$((d_det - c_det))" -v m="$(($(cpu "$MOSQ_PID") - c_mq))" \
    -v hz="$hz" -v a="$tc" -v b="$(now)" -v n="$P_DONE" 'BEGIN {
    printf "cpu over the e2e phase: gateway %.0f%% detectors %.0f%% mosquitto %.0f%%\n",
        100 * g / hz / (b - a), 100 * d / hz / (b - a), 100 * m / hz / (b - a) > "/dev/stderr"
    if (n > 0) {
        printf "bench: pipeline.detector_cpu_us %.1f us/reading\n", 1e6 * d / hz / n
        printf "bench: pipeline.gateway_cpu_us %.1f us/reading\n", 1e6 * g / hz / n
        printf "bench: pipeline.broker_cpu_us %.1f us/reading\n", 1e6 * m / hz / n
    } }'
E2E_RATE=$P_RATE
echo "bench: pipeline.e2e_rate $E2E_RATE readings/s"
echo "bench: pipeline.e2e_unpaced_dropped $((P_PUB - P_DONE)) readings"
stop_pid "$DASH" 20
awk -v p="$((W_PUB + P_PUB))" '$1=="reading"{r=$2} $1=="closed"{c=$2}
    END { printf "bench: pipeline.dash_reading_share %.1f %%\n", 100 * r / p;
          if (c) print "dashboard client was cut off by the gateway" > "/dev/stderr" }' "$T/dash.txt"
cat "$T/dash.txt" >&2

paced=$((E2E_RATE * PACED / 100))
phase paced $NEXT --speedup 0 --rate "$paced" --run-for "$SECS"
next_start paced
echo "bench: pipeline.e2e_paced_rate $paced readings/s"
echo "bench: pipeline.e2e_dropped $((P_PUB - P_DONE)) readings"
echo "bench: pipeline.e2e_intake_dropped $P_QDROP readings"

phase qos1 $NEXT --speedup 0 --qos 1 --publisher paho --run-for "$SECS"
echo "bench: pipeline.e2e_rate_qos1 $P_RATE readings/s"
echo "bench: pipeline.e2e_qos1_dropped $((P_PUB - P_DONE)) readings"
drop1=$(sysval publish/messages/dropped)
echo "bench: pipeline.broker_dropped $((drop1 - drop0)) messages"

if [ "${PIPE_PERF:-0}" = 1 ]; then
    for s in detector gateway mosquitto; do
        [ -f "$OUT/$s.perf" ] && perf report -i "$OUT/$s.perf" --no-children --percent-limit 1 \
            --sort dso,symbol -g none --stdio 2>/dev/null | grep -v '^$' | head -60 >"$OUT/$s.perf.txt"
    done
    echo "profiles: $OUT/*.perf.txt" >&2
fi
