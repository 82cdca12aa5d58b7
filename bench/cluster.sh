#!/usr/bin/env bash
# Cluster mode throughput and loss (docs/SCALING.md), all in one run:
#   cluster.rate         readings/s processed end to end (published at QoS 1
#                        through the 3 NATS nodes, consumed by 2 detectors
#                        each serving one of 2 partitions, no other
#                        consumer, as in single_rate; before 2026-12-08 the
#                        independent subscriber below ran here too)
#   cluster.single_rate  the same load through one mosquitto and one detector
#   cluster.pack_rate    as cluster.rate, the same readings published as SenML
#                        packs of BENCH_PACK (10) readings of one sensor each
#   cluster.lost         readings published (acknowledged at QoS 1) that never
#                        came out of the cluster when a NATS node is killed
#                        with kill -9 while they flow (must be 0): N minus the
#                        distinct readings an independent QoS 1 subscriber
#                        (mosquitto_sub on a node that is not killed, persistent
#                        session, to all partitions) received; not floored
#   cluster.redelivered  the subscriber's copies beyond the first (QoS 1 redelivery)
#   cluster.detector_gap N minus what the detectors' counters say they
#                        processed, not floored: > 0 readings the detectors
#                        missed, < 0 readings they processed twice
# Load: BENCH_SENSORS (200) sensors x BENCH_READINGS (100) readings, from 3
# publishers (one per node first, failing over to the others) as fast as
# the brokers acknowledge. The clock runs from the first publish to the
# moment the detectors' counters (logged every second) reach the total.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
command -v nats-server >/dev/null || { echo "cluster bench: nats-server not installed" >&2; exit 1; }
T=$(mktemp -d /tmp/iotac-bench-cluster.XXXXXX)
STACK_DIR=$T
. "$ROOT/scripts/lib/stack.sh"
cleanup() {
    stop_started 3
    for d in "$T"/nats*; do [ -f "$d/cluster.env" ] && scripts/cluster.sh stop "$d" >/dev/null 2>&1; done
    rm -rf "$T"
}
trap cleanup EXIT
NS=${BENCH_SENSORS:-200} NR=${BENCH_READINGS:-100}
N=$((NS * NR))
export WARMUP=40 STATS_INTERVAL=1 SAVE_INTERVAL=30 IF_TREES=50 IF_PSI=64 LOG_LEVEL=info

# The publisher: the common MQTT wrapper, QoS 1, persistent session,
# failing over between the URIs it is given (as services do).
cat >"$T/pub.c" <<'C'
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include "base/log.h"
#include "bus/mqtt.h"
int main(int argc, char **argv) /* pub URIS CLIENT_ID < "topic payload" lines */
{
    char line[1024];
    log_init("bench-pub", LOG_ERROR);
    if (argc != 3)
        return 2;
    mqtt_options o = {.uris = argv[1], .client_id = argv[2], .clean_session = 0,
                      .max_buffered = 200000, .max_inflight = 500};
    mqtt_client *c = NULL;
    if (mqtt_client_create(&c, &o) != 0 || mqtt_client_wait_connected(c, 30000) != 0)
        return 1;
    while (fgets(line, sizeof line, stdin)) {
        char *sp = strchr(line, ' ');
        if (!sp)
            return 2;
        *sp++ = '\0';
        while (mqtt_client_publish(c, line, sp, strcspn(sp, "\n"), 1, 0) != 0)
            usleep(2000);
    }
    int rc = mqtt_client_flush(c, 120000) == 0 ? 0 : 1;
    mqtt_client_destroy(c);
    return rc;
}
C
cc -std=gnu11 -O2 -Icommon -o "$T/pub" "$T/pub.c" build/libcommon.a -lpaho-mqtt3as -lmosquitto -ljansson -lpthread -lm

awk -v ns="$NS" -v nr="$NR" 'BEGIN {
    for (i = 0; i < nr; i++) for (s = 0; s < ns; s++)
        printf "sensors/b%04d/readings {\"ts\":%d,\"temperature\":%.2f}\n", s, 1764000000 + i * 60, 21 + ((s * 7 + i * 13) % 10) / 20.0
}' >"$T/load"
for k in 0 1 2; do awk -v k=$k 'NR % 3 == k' "$T/load" >"$T/load$k"; done
# The same readings as SenML packs (docs/SENSORS.md), BENCH_PACK (10)
# consecutive readings of one sensor per message: cluster.pack_rate.
PACK=${BENCH_PACK:-10}
awk -v ns="$NS" -v nr="$NR" -v p="$PACK" 'BEGIN {
    for (i = 0; i < nr; i += p) for (s = 0; s < ns; s++) {
        printf "senml/b%04d [", s
        for (j = i; j < i + p && j < nr; j++)
            printf "%s{%s\"n\":\"temperature\",\"t\":%d,\"v\":%.2f}", (j > i ? "," : ""),
                (j == i ? sprintf("\"bn\":\"b%04d\",\"bt\":1764000000,", s) : ""), j * 60,
                21 + ((s * 7 + j * 13) % 10) / 20.0
        printf "]\n"
    }
}' >"$T/pload"
for k in 0 1 2; do awk -v k=$k 'NR % 3 == k' "$T/pload" >"$T/pload$k"; done
echo '{"adapters": {"senml": {"topics": ["senml/#"]}}}' >"$T/senml.json"

now() { date +%s.%N; }
count() { # count LOG...: sum of the last `readings=` of each detector log
    local s=0 v f
    for f in "$@"; do
        v=$(grep -o 'stats readings=[0-9]*' "$f" 2>/dev/null | tail -n 1 | cut -d= -f2)
        s=$((s + ${v:-0}))
    done
    echo "$s"
}
# wait_count TIMEOUT LOG...: until the detectors processed N readings, or
# their counters stop moving for 10 s; prints the count.
wait_count() {
    local timeout=$1 end c prev=-1 still=0
    shift
    end=$((SECONDS + timeout))
    while [ $SECONDS -lt $end ]; do
        c=$(count "$@")
        [ "$c" -ge "$N" ] && break
        if [ "$c" = "$prev" ]; then still=$((still + 1)); else still=0; fi
        [ $still -ge 50 ] && break
        prev=$c
        sleep 0.2
    done
    count "$@"
}
# run_load NAME URIS0 URIS1 URIS2 [KILL_CMD]: publish the load ($T/load0..2,
# or with LOAD=pload the packs); its start time in LOAD_T0.
run_load() {
    local name=$1 t0 pids=() k
    t0=$(now)
    for k in 0 1 2; do
        "$T/pub" "${@:$((k + 2)):1}" "$name-pub$k" <"$T/${LOAD:-load}$k" >"$T/$name-pub$k.log" 2>&1 &
        pids+=($!)
        PIDS+=($!)
    done
    if [ -n "${6:-}" ]; then
        sleep 2
        eval "$6"
    fi
    for k in 0 1 2; do wait "${pids[$k]}" || echo "bench: $name publisher $k did not finish" >&2; done
    LOAD_T0=$t0
}
rate() { awk -v n="$1" -v t0="$2" -v t1="$3" 'BEGIN { printf "%.0f", n / (t1 - t0) }'; }

wait_sub() { # wait_sub HTTP_PORTS SUBJECT...: the subjects have subscribers
    local ports=$1 end=$((SECONDS + 30)) all s ok
    shift
    while [ $SECONDS -lt $end ]; do
        all=$(for h in $ports; do curl -s "http://127.0.0.1:$h/connz?subs=1&limit=1000"; done |
            jq -r '.connections[]?.subscriptions_list[]?' 2>/dev/null | sort -u)
        ok=1
        for s in "$@"; do grep -qxF "$s" <<<"$all" || ok=0; done
        [ $ok = 1 ] && return 0
        sleep 0.3
    done
    echo "bench: detectors did not subscribe" >&2
    for f in "$T"/*-det*.log "$T"/*-cluster.log; do echo "== $f" >&2; tail -n 5 "$f" >&2; done
    return 1
}

# cluster_run NAME KILL(0/1) [pack]: a fresh 3-node cluster, 2 detectors
# (with pack: taking SenML, fed the packs); sets
# RES_C (readings processed), RES_T0, RES_T1. With KILL=1 also the
# independent subscriber (RES_S, RES_SR); without, no consumer but the
# detectors, as in the single-broker run (docs/SCALING.md: each QoS 1
# consumer costs the cluster about as much CPU as the publish itself).
cluster_run() {
    local name=$1 kill=$2 d=$T/nats-$1
    WATCH_PID=$$ NODES=3 PARTITIONS=2 scripts/cluster.sh start "$d" >"$T/$name-cluster.log" 2>&1
    . "$d/cluster.env"
    local -a mp
    read -r -a mp <<<"$NATS_MQTT_PORTS"
    local u1="tcp://127.0.0.1:${mp[0]},tcp://127.0.0.1:${mp[1]},tcp://127.0.0.1:${mp[2]}"
    local u2="tcp://127.0.0.1:${mp[1]},tcp://127.0.0.1:${mp[2]},tcp://127.0.0.1:${mp[0]}"
    local u3="tcp://127.0.0.1:${mp[2]},tcp://127.0.0.1:${mp[0]},tcp://127.0.0.1:${mp[1]}"
    local mapping=()
    [ "${3:-}" = pack ] && mapping=("INGEST_MAPPING=$T/senml.json")
    for k in 0 1; do
        mkdir -p "$T/$name-d$k"
        env "${mapping[@]}" STATE_DIR=$T/$name-d$k MQTT_URL=$([ $k = 0 ] && echo "$u2" || echo "$u3") \
            build/bin/detector --partition $k --partitions 2 >"$T/$name-det$k.log" 2>&1 &
        PIDS+=($!)
    done
    # The independent count (KILL=1 only): a QoS 1 subscriber to every
    # partition's readings, on node 3 (the kill hits node 1), one "topic
    # payload" line per copy.
    local sub="" subjects=('part.0.sensors.*.readings' 'part.1.sensors.*.readings')
    if [ "$kill" = 1 ]; then
        mosquitto_sub -h 127.0.0.1 -p "${mp[2]}" -c -i "bench-count-$name" -q 1 \
            -t 'part/+/sensors/+/readings' -v >"$T/$name-sub.txt" 2>"$T/$name-sub.log" &
        sub=$!
        PIDS+=($sub)
        subjects+=('part.*.sensors.*.readings')
    fi
    [ "${3:-}" = pack ] && subjects+=('part.0.senml.>' 'part.1.senml.>')
    wait_sub "$NATS_HTTP_PORTS" "${subjects[@]}"
    local killcmd=""
    [ "$kill" = 1 ] && killcmd="scripts/cluster.sh kill $d 1"
    LOAD=$([ "${3:-}" = pack ] && echo pload || echo load) run_load "$name" "$u1" "$u2" "$u3" "$killcmd"
    RES_T0=$LOAD_T0
    RES_C=$(wait_count 180 "$T/$name-det0.log" "$T/$name-det1.log")
    RES_T1=$(now)
    [ -n "$sub" ] || return 0
    # The subscriber's count: until it has N distinct readings or it stops
    # moving for 10 s. RES_S distinct readings, RES_SR copies received.
    local prev=-1 still=0 end=$((SECONDS + 120))
    while [ $SECONDS -lt $end ]; do
        RES_S=$(grep '^part/' "$T/$name-sub.txt" | sed 's|^part/[0-9]*/||' | sort -u | grep -c . || true)
        [ "$RES_S" -ge "$N" ] && break
        if [ "$RES_S" = "$prev" ]; then still=$((still + 1)); else still=0; fi
        [ $still -ge 20 ] && break
        prev=$RES_S
        sleep 0.5
    done
    RES_SR=$(grep -c '^part/' "$T/$name-sub.txt" || true)
    kill "$sub" 2>/dev/null || true
}

# -- the cluster, no failure
cluster_run steady 0
[ "$RES_C" -ge "$N" ] || echo "bench: cluster processed only $RES_C of $N readings" >&2
echo "bench: cluster.rate $(rate "$RES_C" "$RES_T0" "$RES_T1") readings/s"

# -- the same load through one mosquitto and one detector
single_conf() {
    printf 'listener %s 127.0.0.1\nallow_anonymous true\npersistence false\nmax_queued_messages 1000000\nmax_inflight_messages 1000\n' "$1"
}
start_mosquitto single_conf
MP=$MQTT_PORT
mkdir -p "$T/single-d"
STATE_DIR=$T/single-d MQTT_URL=tcp://127.0.0.1:$MP bg single-det build/bin/detector
for _ in $(seq 1 50); do grep -q mqtt_connected "$T/single-det.log" && break; sleep 0.1; done
sleep 0.5
us=tcp://127.0.0.1:$MP
run_load single "$us" "$us" "$us"
t0=$LOAD_T0
c=$(wait_count 180 "$T/single-det.log")
t1=$(now)
[ "$c" -ge "$N" ] || echo "bench: single processed only $c of $N readings" >&2
echo "bench: cluster.single_rate $(rate "$c" "$t0" "$t1") readings/s"

# -- the cluster, the same readings in packs of $PACK (fewer, larger messages)
cluster_run pack 0 pack
[ "$RES_C" -ge "$N" ] || echo "bench: cluster (packs) processed only $RES_C of $N readings" >&2
echo "bench: cluster.pack_rate $(rate "$RES_C" "$RES_T0" "$RES_T1") readings/s (SenML packs of $PACK readings)"

# -- the cluster with a node killed 2 s into the load
cluster_run kill 1
echo "bench: cluster.lost $((N - RES_S)) readings (of $N published; $RES_S distinct received by the independent subscriber)"
echo "bench: cluster.redelivered $((RES_SR - RES_S)) readings"
echo "bench: cluster.detector_gap $((N - RES_C)) readings (the detectors counted $RES_C)"
echo "bench: cluster.kill_rate $(rate "$RES_C" "$RES_T0" "$RES_T1") readings/s"
