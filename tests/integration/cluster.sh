# Cluster mode end to end (docs/SCALING.md): 3 NATS nodes, 2 partitions
# served by 2 detectors, 2 chain loggers (each its own key, journal and
# anomaly partition) on Ganache, 2 gateways with a WebSocket client each,
# all on free loopback ports. Checks:
#   1. docker-compose.cluster.yml is valid and its NATS config parses;
#   2. readings of 120 native sensors and 12 SenML devices (senml/{dev},
#      a non-native format, mapped to part/{k}/senml/{dev}) published
#      through all three nodes: each sensor is scored by exactly one
#      detector (per-detector sensor and reading counts add up exactly, with
#      the gateways' QoS 0 subscriptions overlapping the detectors' QoS 1
#      ones; no sensor alerts in both), the spike injected in every sensor
#      is logged on chain, both chain loggers log, and each gateway's
#      WebSocket client receives every anomaly;
#   3. mid-stream, kill -9 one NATS node (publishers and services on it
#      fail over), kill -9 one detector, restarted from its checkpoint, and
#      kill -9 one chain logger, restarted: every spike injected after that
#      (some within what would be a new warm-up) is on chain; the anomalies
#      published by the detectors are all on chain, no id twice
#      across both loggers; `chainlogger verify` agrees with each logger's
#      journal; each gateway's WebSocket client got every anomaly.
# A failure only because NATS did not come up, elect or (re)connect in time
# says "FAIL: SLOW-START: ..." (tests/run.sh runs the test once more then);
# a loss says "LOST:".
. "$(dirname "$0")/../lib.sh"
cd "$ROOT"
command -v nats-server >/dev/null || skip "nats-server not installed"
for b in detector chainlogger gateway; do [ -x "$BIN/$b" ] || fail "build/bin/$b missing (make all)"; done

# ---- 1. compose file and its NATS configuration --------------------------
if command -v docker-compose >/dev/null; then
    docker-compose -f docker-compose.cluster.yml config -q || fail "docker-compose.cluster.yml is invalid"
    services=" $(docker-compose -f docker-compose.cluster.yml config --services | tr '\n' ' ') "
    for s in nats1 nats2 nats3 ganache deploy chainlogger-p0 chainlogger-p1 gateway detector-p0 detector-p1 detector-p2 detector-p3; do
        [[ "$services" == *" $s "* ]] || fail "service $s missing from docker-compose.cluster.yml"
    done
    for b in $(grep -o '/app/build/bin/[a-z]*' docker-compose.cluster.yml | sort -u); do
        [ -x "$ROOT/${b#/app/}" ] || fail "compose runs $b but the build has no ${b#/app/}"
    done
fi
# The NATS health check creates the limits-retention message stream first.
grep -q '/app/scripts/nats-streams.sh 127.0.0.1 4222 3 &&' docker-compose.cluster.yml ||
    fail "docker-compose.cluster.yml's NATS health check does not create \$MQTT_msgs first"
[ -x scripts/nats-streams.sh ] || fail "scripts/nats-streams.sh is not executable"
NATS_NAME=t NATS_STORE_DIR=$T/js-t nats-server -t -c config/nats/compose.conf >/dev/null 2>&1 \
    || fail "config/nats/compose.conf does not parse"

# ---- helper: a failing-over QoS 1 publisher and the anomaly id function --
# Built from the common library, so it publishes exactly as services do.
cat >"$T/helper.c" <<'C'
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "bus/anomaly.h"
#include "base/log.h"
#include "bus/mqtt.h"
/* helper ids:  stdin "sensor metric ts type" -> anomaly id per line
 * helper pub URIS CLIENT_ID RATE: stdin "topic payload" -> QoS 1, RATE msg/s */
int main(int argc, char **argv)
{
    char line[1024];
    log_init("helper", LOG_WARN);
    if (argc == 2 && strcmp(argv[1], "ids") == 0) {
        anomaly a;
        char type[32];
        while (fgets(line, sizeof line, stdin)) {
            memset(&a, 0, sizeof a);
            if (sscanf(line, "%63s %31s %lf %31s", a.sensor_id, a.metric, &a.ts, type) != 4 ||
                anomaly_type_parse(type, &a.type) != 0)
                return 2;
            anomaly_make_id(&a);
            printf("%s\n", a.id);
        }
        return 0;
    }
    if (argc != 5 || strcmp(argv[1], "pub") != 0)
        return 2;
    mqtt_options o = {.uris = argv[2], .client_id = argv[3], .clean_session = 0,
                      .max_buffered = 100000, .max_inflight = 200};
    mqtt_client *c = NULL;
    if (mqtt_client_create(&c, &o) != 0 || mqtt_client_wait_connected(c, 30000) != 0)
        return 1;
    long rate = atol(argv[4]), n = 0;
    struct timespec t0, now;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    while (fgets(line, sizeof line, stdin)) {
        char *sp = strchr(line, ' ');
        if (!sp)
            return 2;
        *sp++ = '\0';
        size_t len = strcspn(sp, "\n");
        while (mqtt_client_publish(c, line, sp, len, 1, 0) != 0)
            usleep(10000); /* buffer full while failing over: wait */
        n++;
        for (;;) { /* pace: message n is due at t0 + n/rate */
            clock_gettime(CLOCK_MONOTONIC, &now);
            double el = (now.tv_sec - t0.tv_sec) + (now.tv_nsec - t0.tv_nsec) / 1e9;
            if (el * rate >= n)
                break;
            usleep(1000);
        }
    }
    int rc = mqtt_client_flush(c, 90000) == 0 ? 0 : 1;
    if (rc)
        fprintf(stderr, "helper: not everything acknowledged\n");
    mqtt_client_destroy(c);
    return rc;
}
C
cc -std=gnu11 -O1 -Icommon -o "$T/helper" "$T/helper.c" build/libcommon.a \
    -lpaho-mqtt3as -lmosquitto -ljansson -lpthread -lm || fail "helper did not build"

# ---- the stack ----------------------------------------------------------
PARTS=2
WATCH_PID=$$ NODES=3 PARTITIONS=$PARTS CHAINLOGGERS=2 scripts/cluster.sh start "$T/nats" >"$T/cluster.log" 2>&1 \
    || {
        cat "$T/cluster.log" >&2
        # cluster.sh's readiness timeouts (not a node that exited) are a slow start
        if grep -q -e 'did not open MQTT port' -e 'JetStream not healthy' -e 'did not work' "$T/cluster.log"; then
            fail "SLOW-START: the NATS cluster was not ready in time"
        fi
        fail "cluster did not start"
    }
. "$T/nats/cluster.env"
PIDS+=($NATS_PIDS) # stopped by lib.sh's cleanup whatever the outcome
read -r -a MP <<<"$NATS_MQTT_PORTS"
u() { local s=""; for i in "$@"; do s+="tcp://127.0.0.1:${MP[$((i - 1))]},"; done; echo "${s%,}"; }
start_chain
# Two chain loggers, each with its own key and state directory; the
# deployer (key 0) authorises the second.
KEYS=("$GANACHE_KEY0" "$GANACHE_KEY1")
mkdir -p "$T/cl0" "$T/cl1"
STATE_DIR=$T/cl0 PRIVATE_KEY=${KEYS[0]} deploy_contract
export CONTRACT_ADDRESS
ADDR1=$(PRIVATE_KEY=${KEYS[1]} "$BIN/chainlogger" address) || fail "chainlogger address failed"
STATE_DIR=$T/cl0 PRIVATE_KEY=${KEYS[0]} "$BIN/chainlogger" authorize "$ADDR1" >>"$T/deploy.log" 2>&1 ||
    fail "authorize of the second logger failed"
cl_urls=("$(u 3 1 2)" "$(u 2 3 1)") # logger 0 on node 3, logger 1 on node 2 first
start_logger() { # start_logger K LOGNAME: anomaly partition K of 2
    STATE_DIR=$T/cl$1 PRIVATE_KEY=${KEYS[$1]} MQTT_URL=${cl_urls[$1]} bg "$2" \
        "$BIN/chainlogger" --partition "$1" --partitions 2
}
start_logger 0 cl0
CL0=$LAST_PID
start_logger 1 cl1
CL1=$LAST_PID

# SenML is enabled for the detectors and gateways: a non-native format
# that the cluster partitions by device (senml/{dev} -> part/{k}/senml/{dev}).
echo '{"adapters": {"senml": {}}}' >"$T/mapping.json"
export INGEST_MAPPING=$T/mapping.json

# Two gateways (on nodes 2 and 3, which stay up), each with a WebSocket
# client that records the id of every anomaly it receives.
cat >"$T/wsids.js" <<'JS'
const fs = require('fs');
const WebSocket = require(process.argv[2] + '/tools/node_modules/ws');
const [url, out] = process.argv.slice(3);
function go() {
  const ws = new WebSocket(url);
  ws.on('open', () => fs.writeFileSync(out + '.ready', 'ready\n'));
  ws.on('message', (d) => {
    const m = JSON.parse(d.toString());
    if (m.type === 'anomaly') fs.appendFileSync(out, m.data.id + '\n');
  });
  ws.on('close', () => { fs.appendFileSync(out + '.closed', 'closed\n'); setTimeout(go, 500); });
  ws.on('error', () => {});
}
go();
JS
for g in A B; do
    for try in 1 2 3; do
        port=$(free_port)
        [ $g = A ] && url=$(u 2 3 1) || url=$(u 3 2 1)
        mkdir -p "$T/gw$g"
        STATE_DIR=$T/gw$g GATEWAY_PORT=$port GATEWAY_HOST=127.0.0.1 MQTT_URL=$url bg "gw$g" "$BIN/gateway"
        wait_port "$port" 10 && kill -0 "$LAST_PID" 2>/dev/null && break
    done
    kill -0 "$LAST_PID" 2>/dev/null || fail "gateway $g did not start"
    eval "GW_$g=$port"
    node "$T/wsids.js" "$ROOT" "ws://127.0.0.1:$port/ws" "$T/ws$g.ids" >"$T/ws$g.log" 2>&1 &
    PIDS+=($!)
done
wait_for 15 test -f "$T/wsA.ids.ready" -a -f "$T/wsB.ids.ready" || fail "WebSocket clients did not connect"

export WARMUP=40 SAVE_INTERVAL=1 STATS_INTERVAL=1 IF_TREES=50 IF_PSI=64 LOG_LEVEL=info
start_detector() { # start_detector K LOGNAME: partition K, its own state dir
    mkdir -p "$T/d$1"
    STATE_DIR=$T/d$1 MQTT_URL=$(u $((1 + $1)) 3 $((2 - $1))) bg "$2" \
        "$BIN/detector" --partition "$1" --partitions "$PARTS"
}
start_detector 0 det0
D0=$LAST_PID
start_detector 1 det1
D1=$LAST_PID

# wait_subscribed SUBJECT...: some node has an MQTT subscription on each
# NATS subject. A QoS 1 reading published before its detector subscribed
# is not kept ($MQTT_msgs keeps messages only for existing consumers).
wait_subscribed() {
    local end=$((SECONDS + 30)) s all
    while :; do
        all=$(for h in $NATS_HTTP_PORTS; do curl -s "http://127.0.0.1:$h/connz?subs=1&limit=1000"; done |
            jq -r '.connections[]?.subscriptions_list[]?' 2>/dev/null | sort -u)
        local missing=""
        for s in "$@"; do grep -qxF "$s" <<<"$all" || missing+=" $s"; done
        [ -z "$missing" ] && return 0
        [ $SECONDS -lt $end ] || fail "SLOW-START: no subscription on$missing after 30 s (there are: $(echo $all))"
        sleep 0.3
    done
}
wait_subscribed 'part.0.sensors.*.readings' 'part.1.sensors.*.readings' 'part.0.senml.>' 'part.1.senml.>' \
    'apart.0.anomalies.*' 'apart.1.anomalies.*' 'apart.*.anomalies.*' 'part.*.sensors.*.readings'

# Readings: sensor s, index i; ts one minute apart; temperature near 21
# with a deterministic wobble; spikes (1000 degC) at the given indices.
# SenML devices sml000.. get the same series as a SenML pack on
# senml/{dev} (sensor id from "bn", time from "bt").
NS=120 NSML=12 T0=1764000000
gen() { # gen FROM TO SPIKES... -> "topic payload" lines, index-major
    local from=$1 to=$2
    shift 2
    awk -v from="$from" -v to="$to" -v ns=$NS -v nsml=$NSML -v t0=$T0 -v spikes="$*" 'BEGIN {
        n = split(spikes, sp, " "); for (k = 1; k <= n; k++) isspike[sp[k]] = 1
        for (i = from; i < to; i++) {
            for (s = 0; s < ns; s++) {
                v = (i in isspike) ? 1000 : 21 + ((s * 7 + i * 13) % 10) / 20.0
                printf "sensors/s%03d/readings {\"ts\":%d,\"temperature\":%.2f}\n", s, t0 + i * 60, v
            }
            for (s = 0; s < nsml; s++) {
                v = (i in isspike) ? 1000 : 21 + ((s * 7 + i * 13) % 10) / 20.0
                printf "senml/sml%03d [{\"bn\":\"sml%03d:\",\"bt\":%d,\"n\":\"temperature\",\"u\":\"Cel\",\"v\":%.2f}]\n", s, s, t0 + i * 60, v
            }
        }
    }'
}
expected_ids() { # expected_ids SPIKES... -> the spikes' anomaly ids
    for i in "$@"; do
        for ((s = 0; s < NS; s++)); do printf 's%03d temperature %d point\n' $s $((T0 + i * 60)); done
        for ((s = 0; s < NSML; s++)); do printf 'sml%03d temperature %d point\n' $s $((T0 + i * 60)); done
    done | "$T/helper" ids
}
# publish NAME FROM TO RATE SPIKES...: three publishers, one per node first,
# each a third of the sensors (by line), all failing over to the others.
publish() {
    local name=$1 from=$2 to=$3 rate=$4
    shift 4
    gen "$from" "$to" "$@" >"$T/$name.lines"
    for k in 0 1 2; do
        awk -v k=$k 'NR % 3 == k' "$T/$name.lines" |
            "$T/helper" pub "$(u $((k + 1)) $(((k + 1) % 3 + 1)) $(((k + 2) % 3 + 1)))" "pub$k" "$rate" \
                >"$T/$name-$k.log" 2>&1 &
        PIDS+=($!)
        eval "PUB_$k=\$!"
    done
}
wait_publishers() {
    for k in 0 1 2; do
        eval "p=\$PUB_$k"
        wait "$p" && continue
        # acknowledgements that never came: the publisher still holds them
        grep -q 'not everything acknowledged' "$T/$1-$k.log" &&
            fail "SLOW-START: publisher $k did not get every reading acknowledged in time (see $T/$1-$k.log)"
        fail "publisher $k failed (see $T/$1-$k.log)"
    done
}
# topic0 of Recorded(bytes32,address), the per-record event (tests/chain/lib.sh)
RECORDED_TOPIC=0xdca60c2087041cbb12d9a57628c6cad28ecbd0437e47c7ab6c3aa6e162bf4497
chain_logs() { # every Recorded event (3 topics: sig, id, logger)
    rpc eth_getLogs "[{\"address\":\"$CONTRACT_ADDRESS\",\"fromBlock\":\"0x0\",\"toBlock\":\"latest\",\"topics\":[\"$RECORDED_TOPIC\"]}]" |
        jq -c '.result[]'
}
chain_ids() { # every anomaly id logged on chain, one per line (not the alarm
    # events: their record, the data's start, begins with 0x00; anomaly_log.h)
    chain_logs | jq -r 'select(.data[2:4] != "00") | .topics[1]' | sed 's/^0x//'
}
ws_missing() { # ws_missing G FILE: ids in FILE gateway G's WebSocket client has not received
    grep -cvxFf <(sort -u "$T/ws$1.ids" 2>/dev/null) "$2" || true
}
wait_ws() { # wait_ws FILE SECONDS: both WebSocket clients received every id in FILE
    local end=$((SECONDS + $2))
    while [ "$(ws_missing A "$1")" != 0 ] || [ "$(ws_missing B "$1")" != 0 ]; do
        [ $SECONDS -lt $end ] || return 1
        sleep 1
    done
}
wait_on_chain() { # wait_on_chain FILE SECONDS: every id in FILE is on chain
    local end=$((SECONDS + $2)) missing
    while :; do
        chain_ids >"$T/chain.ids"
        missing=$(grep -cvxFf "$T/chain.ids" "$1" || true)
        [ "$missing" = 0 ] && return 0
        [ $SECONDS -lt $end ] || { echo "$missing of $(wc -l <"$1") expected anomalies not on chain" >&2; return 1; }
        sleep 2
    done
}
last_stat() { # last_stat LOG FIELD: the value in the last stats line
    grep -o "stats readings=.*" "$T/$1.log" | tail -n 1 | grep -o "$2=[0-9]*" | cut -d= -f2
}

# ---- 2. steady state: warm-up, one spike per sensor --------------------
publish a 0 60 3300 50
wait_publishers a
expected_ids 50 >"$T/expect-a.ids"
wait_on_chain "$T/expect-a.ids" 60 || fail "phase 1: injected anomalies did not all reach the chain"
# The detectors log their counts every second; wait until they stop moving.
prev=""
for _ in $(seq 1 30); do
    sleep 1.2
    cur="$(last_stat det0 readings) $(last_stat det1 readings)"
    [ "$cur" = "$prev" ] && break
    prev=$cur
done
r0=$(last_stat det0 readings) r1=$(last_stat det1 readings)
NT=$((NS + NSML))
if [ $((r0 + r1)) != $((NT * 60)) ]; then
    # Not all delivered yet: NATS redelivers a QoS 1 message it could not
    # hand over after ack_wait (30 s). Late is a finding; missing a failure.
    echo "phase 1: only $((r0 + r1)) of $((NT * 60)) readings scored; waiting for redelivery" >&2
    for _ in $(seq 1 40); do
        sleep 1
        r0=$(last_stat det0 readings) r1=$(last_stat det1 readings)
        [ $((r0 + r1)) = $((NT * 60)) ] && { echo "phase 1: the rest arrived $SECONDS s into the test (redelivered)" >&2; break; }
    done
fi
n0=$(last_stat det0 sensors) n1=$(last_stat det1 sensors)
echo "phase 1: detector 0 scored $r0 readings of $n0 sensors, detector 1 $r1 of $n1"
[ "$n0" -gt 0 ] && [ "$n1" -gt 0 ] || fail "a detector got no sensors ($n0, $n1)"
[ $((n0 + n1)) = $NT ] || fail "sensors split $n0 + $n1 != $NT: some sensor went to both or neither"
[ $((r0 + r1)) -ge $((NT * 60)) ] || fail "LOST: readings scored $r0 + $r1 < $((NT * 60)) published"
[ $((r0 + r1)) = $((NT * 60)) ] || fail "readings $r0 + $r1 != $((NT * 60))"
both=$(comm -12 <(grep -o 'anomaly sensor=[a-z0-9]*' "$T/det0.log" | sort -u) \
    <(grep -o 'anomaly sensor=[a-z0-9]*' "$T/det1.log" | sort -u) | wc -l)
[ "$both" = 0 ] || fail "$both sensors alerted from both detectors"
sml=$(cat "$T/det0.log" "$T/det1.log" | grep -o 'anomaly sensor=sml[0-9]*' | sort -u | wc -l)
[ "$sml" = $NSML ] || fail "only $sml of $NSML SenML devices alerted through the cluster"
# Both chain loggers took a share (anomaly partition = hash(sensor) mod 2).
per_logger=$(chain_logs | jq -r '.topics[2]' | sort | uniq -c | wc -l)
[ "$per_logger" = 2 ] || fail "anomalies were logged by $per_logger chain logger(s), not 2"
wait_ws "$T/expect-a.ids" 20 ||
    fail "phase 1: WebSocket clients missing anomalies: gateway A $(ws_missing A "$T/expect-a.ids"), B $(ws_missing B "$T/expect-a.ids")"
echo "phase 1: $(wc -l <"$T/expect-a.ids") anomalies on chain from 2 loggers ($(chain_logs | jq -r '.topics[2]' | sort | uniq -c | awk '{printf "%s ", $1}')), all on both gateways' WebSocket feeds"

# ---- 3. failures mid-stream --------------------------------------------
# 7920 readings at 1100/s: index i every 0.12 s. Node 1 (first choice of
# publisher 0, detector 0) dies at i ~ 68, detector 0 at i ~ 76 and is
# back at i ~ 80 from its checkpoint; chain logger 0 dies at i ~ 84 and is
# back at i ~ 92. Spikes at 85 and 95 fall within a new warm-up (40
# readings) if the checkpoint were not used; 110 later.
publish b 60 120 1100 85 95 110
sleep 1
scripts/cluster.sh kill "$T/nats" 1 || fail "could not kill node 1"
sleep 1
kill -9 "$D0"
sleep 0.5
start_detector 0 det0b
sleep 0.5
kill -9 "$CL0"
sleep 1
start_logger 0 cl0b
CL0=$LAST_PID
wait_publishers b
expected_ids 85 95 110 >"$T/expect-b.ids"
cat "$T/expect-a.ids" "$T/expect-b.ids" >"$T/expect.ids"
wait_on_chain "$T/expect.ids" 90 || fail "after the failures: injected anomalies missing on chain"
grep -q 'models_restored.*sensors=[1-9]' "$T/det0b.log" || fail "the restarted detector did not restore its partition's state"
dups=$(chain_ids | sort | uniq -d | wc -l)
[ "$dups" = 0 ] || fail "$dups anomaly ids are on chain more than once (across both loggers)"
grep -q 'journal_open.*entries=[1-9]' "$T/cl0b.log" || fail "the restarted chain logger did not reopen its journal"
# Exactly once across both loggers: every anomaly the detectors published
# (ids compared on the 16 hex digits the detectors log) is on chain, given
# time for the last batches; none twice (above).
cat "$T"/det0.log "$T"/det0b.log "$T"/det1.log | grep -o 'anomaly sensor=.* id=[0-9a-f]*' |
    grep -o 'id=[0-9a-f]*$' | cut -d= -f2 | sort -u >"$T/published.ids"
for _ in $(seq 1 30); do
    chain_ids | cut -c1-16 | sort -u >"$T/chain16.ids"
    [ "$(comm -23 "$T/published.ids" "$T/chain16.ids" | wc -l)" = 0 ] && break
    sleep 1
done
lost=$(comm -23 "$T/published.ids" "$T/chain16.ids" | wc -l)
[ "$lost" = 0 ] || fail "LOST: $lost of $(wc -l <"$T/published.ids") anomalies the detectors published are not on chain"
echo "after failures: $(wc -l <"$T/expect.ids") injected anomalies on chain, $(chain_ids | wc -l) anomalies in all, $(wc -l <"$T/published.ids") distinct published by the detectors, no duplicates"
grep -q 'mqtt_connection_lost' "$T/det1.log" "$T/cl0.log" "$T/cl1.log" "$T/b-0.log" 2>/dev/null ||
    echo "note: no service was connected to the killed node"
chain_ids >"$T/all.ids"
wait_ws "$T/all.ids" 30 ||
    fail "after failures: WebSocket clients missing anomalies: gateway A $(ws_missing A "$T/all.ids"), B $(ws_missing B "$T/all.ids") of $(wc -l <"$T/all.ids")"
echo "both gateways' WebSocket clients received all $(wc -l <"$T/all.ids") anomalies"

# Each journal and the chain agree (the loggers are stopped first so the
# journals are complete).
kill -TERM "$CL0" "$CL1"
for _ in $(seq 1 50); do kill -0 "$CL0" 2>/dev/null || kill -0 "$CL1" 2>/dev/null || break; sleep 0.1; done
for k in 0 1; do
    STATE_DIR=$T/cl$k PRIVATE_KEY=${KEYS[$k]} MQTT_URL=$(u 2 3) "$BIN/chainlogger" verify >"$T/verify$k.log" 2>&1 ||
        { cat "$T/verify$k.log" >&2; fail "chainlogger verify (logger $k): journal and chain differ"; }
done
echo "cluster ok"
