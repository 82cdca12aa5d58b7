#!/usr/bin/env bash
# Fault tests (issue 6): the whole stack under a steady stream, faults in
# turn, then nothing lost and nothing doubled. Also `make faults`.
#
# Stream: the simulator (12 sensors, 600x accelerated, many injected
# anomalies, readings at QoS 1) -> mosquitto (persistence) -> detector ->
# anomalies/# -> chainlogger -> Ganache (database dir), and the gateway with
# 100 WebSocket clients that reconnect with backoff (tests/faults/ws_clients.js).
# A persistent QoS 1 subscriber (mosquitto_sub -c) captures every anomaly
# the detector publishes, across the broker restart.
#
# Faults, one after the other while the stream runs:
#   kill -9 detector, chainlogger, gateway (100 WS clients connected),
#   simulator, each restarted after FAULT_DOWN_S; mosquitto stopped and
#   restarted on the same port and store; Ganache stopped for
#   GANACHE_DOWN_S (60) and restarted on the same port and database; the
#   gateway restarted (SIGTERM) with 100 WS clients connected.
# After each: the gateway's /healthz is 200 within 10 s of the fault ending
# (measured), anomalies reach the chain again, the killed service is back;
# after the detector's kill it resumes with its saved models (same
# model_version, no training, every known sensor scored at once); after each
# gateway fault all 100 WebSocket clients have reconnected.
# At the end: every reading the simulator published at QoS 1 (counted by an
# independent persistent subscriber) was scored by a detector (their
# counters); `chainlogger verify` passes; every captured anomaly id is on
# chain, read from the chain itself (tests/faults/check_ids.js: eth_getLogs
# over AnomalyLogged, all loggers, decoded with the contract's ABI), none
# twice. Prints a summary; the figures go to docs/RELIABILITY.md.
#
# Settings: FAULT_DOWN_S (3), GANACHE_DOWN_S (60), WS_CLIENTS (100),
# FAULTS_SUMMARY (also write the summary to this file).
. "$(dirname "$0")/../lib.sh"
. "$ROOT/tests/faults/lib.sh"

FAULT_DOWN_S=${FAULT_DOWN_S:-3}
GANACHE_DOWN_S=${GANACHE_DOWN_S:-60}
WS_CLIENTS=${WS_CLIENTS:-100}
HEALTHY_LIMIT_MS=10000
NSENSORS=16

# Detector: short warm-up, frequent saves (a kill -9 loses at most ~1 s of
# sensor state), no retraining during the run (so model_version must stay).
export WARMUP=60 SAVE_INTERVAL=1 STATS_INTERVAL=1 RETRAIN_EVERY=100000000
# Chain logger: small batches, so anomalies are in flight at every fault.
export BATCH_SIZE=10 BATCH_MAX_DELAY_MS=100
# Simulator: 16 sensors x 10 readings/s at QoS 1, a simulated day every
# 144 s, 300 injected events per sensor per day, mostly single readings.
export SIM_SENSORS=$NSENSORS SIM_SPEEDUP=600 SIM_ANOMALY_RATE=300 SIM_ANOMALY_WARMUP=80 \
    SIM_ANOMALY_MIX=point:3,change_point:1 SIM_QOS=1 SIM_SEED=6 SIM_PROGRESS_INTERVAL=5
SIM_T0=$(($(date +%s) - 60 * 86400))
SIM_W0_MS=$(now_ms)

run_start=$SECONDS
stack_start
# An independent count of the readings that reached the broker: a persistent
# QoS 1 subscriber (like the capture), one topic per line; subscribed once
# its ping topic answers.
mosquitto_sub -h 127.0.0.1 -p "$MQTT_PORT" -c -i faults-readings -q 1 -t 'sensors/+/readings' \
    -t faults/readings-ping -F '%t' >>"$T/readings.txt" 2>>"$T/readings.log" &
READINGS_PID=$!
PIDS+=("$READINGS_PID")
wait_for 10 sh -c "mosquitto_pub -h 127.0.0.1 -p $MQTT_PORT -q 1 -t faults/readings-ping -m x &&
    sleep 0.2 && grep -q '^faults/readings-ping' '$T/readings.txt'" || fail "the readings subscriber never subscribed"
svc_start simulator

# The stream is up when the detector has trained and anomalies reach the chain.
wait_for 40 grep -q "model_trained metric=temperature" "$(svc_log detector)" || fail "detector never trained"
wait_for 40 sh -c "[ \$(grep -c . '$T/capture.jsonl') -ge 5 ]" || fail "fewer than 5 anomalies in 40 s: $(captured)"

node "$ROOT/tests/faults/ws_clients.js" "ws://127.0.0.1:$GATEWAY_PORT/ws" "$WS_CLIENTS" "$T/ws.json" \
    >"$T/ws-clients.log" 2>&1 &
WS_PID=$!
PIDS+=("$WS_PID")

# ws_field KEY: a field of the WebSocket clients' status.
ws_field() { node -e 'const s=JSON.parse(require("fs").readFileSync(process.argv[1]));console.log(s[process.argv[2]])' "$T/ws.json" "$1" 2>/dev/null || echo -1; }
# ws_reconnected BASELINE_FILE: clients connected now with more opens than in the baseline.
ws_reconnected() {
    node -e '
const fs = require("fs");
const s = JSON.parse(fs.readFileSync(process.argv[1])), b = JSON.parse(fs.readFileSync(process.argv[2]));
let n = 0;
for (let i = 0; i < s.opens.length; i++) if (s.opens[i] > b.opens[i]) n++;
console.log(s.connected === s.clients ? n : Math.min(n, s.connected));' "$T/ws.json" "$1" 2>/dev/null || echo 0
}
wait_for 20 sh -c "[ \"\$(node -e 'console.log(JSON.parse(require(\"fs\").readFileSync(\"$T/ws.json\")).connected)')\" = $WS_CLIENTS ]" ||
    fail "only $(ws_field connected) of $WS_CLIENTS WebSocket clients connected"

# chain_total: anomalies on chain as the gateway reads them.
chain_total() {
    local body
    body=$(curl -sf --max-time 2 "http://127.0.0.1:$GATEWAY_PORT/api/anomalies?limit=1" 2>/dev/null) || { echo -1; return 0; }
    node -e 'try{console.log(JSON.parse(process.argv[1]).total)}catch(e){console.log(-1)}' "$body"
}

# model versions per metric the detector used so far (all generations' logs).
versions_now() {
    cat "$T"/detector-*.log | sed -n 's/.*model_trained metric=\([^ ]*\) version=\([0-9]*\).*/\1=\2/p' | sort -t= -k1,1 -u
}

NAMES=() HEALTH=() RESUME=() NOTES=()
record() { NAMES+=("$1"); HEALTH+=("$2"); RESUME+=("$3"); NOTES+=("$4"); }

# fault_ended: the fault is over (the service restarted, the broker or
# Ganache listening again): poll /healthz at once; sets T_END and H (ms).
fault_ended() {
    T_END=$(now_ms)
    H=$(healthz_ms "$T_END" 30) || fail "$1: /healthz not 200 within 30 s of the fault ending"
    [ "$H" -le "$HEALTHY_LIMIT_MS" ] || fail "$1: /healthz took $H ms (> $HEALTHY_LIMIT_MS) after the fault ended"
}

# after_fault NAME NOTE: after fault_ended and the fault's own checks: new
# anomalies reach the chain (beyond what is there now) within 60 s, and
# every service is alive.
after_fault() {
    local name=$1 note=$2 c0 r=-1
    c0=$(chain_total)
    local end=$((SECONDS + 60))
    while [ $SECONDS -lt $end ]; do
        local c
        c=$(chain_total)
        if [ "$c" -gt "$c0" ]; then r=$(($(now_ms) - T_END)); break; fi
        sleep 0.2
    done
    [ "$r" -ge 0 ] || fail "$name: no new anomaly reached the chain within 60 s after the fault (total $c0)"
    for s in detector chainlogger gateway simulator; do svc_alive "$s" || fail "$name: $s died"; done
    kill -0 "$CAPTURE_PID" 2>/dev/null || fail "$name: the capture subscriber died"
    record "$name" "$H" "$r" "$note"
    printf 'fault %-22s healthz %5d ms  next anomaly on chain %6d ms  %s\n' "$name" "$H" "$r" "$note"
}

# --- 1. kill -9 the detector ---------------------------------------------
sleep 2
V_BEFORE=$(versions_now)
[ -n "$V_BEFORE" ] || fail "no model version before the detector kill"
svc_kill9 detector
sleep "$FAULT_DOWN_S"
svc_start detector
fault_ended "kill -9 detector"
DLOG=$(svc_log detector)
wait_for 10 grep -q models_restored "$DLOG" || fail "restarted detector did not load its models"
restored=$(sed -n 's/.*models_restored .* sensors=\([0-9]*\).*/\1/p' "$DLOG" | head -1)
[ "$restored" = "$NSENSORS" ] || fail "detector restored $restored sensors, want $NSENSORS"
# The first stats line with readings: every reading scored at once (3 metrics
# per reading; a detector warming up again would score none for 60 readings
# per sensor, i.e. the first ~6 s).
wait_for 15 grep -q 'stats readings=[1-9]' "$DLOG" || fail "restarted detector processes nothing"
read -r rd sc < <(sed -n 's/.*stats readings=\([0-9]*\) scored=\([0-9]*\).*/\1 \2/p' "$DLOG" | awk '$1>0' | head -1)
[ "$sc" -ge $((2 * rd)) ] || fail "restarted detector scored $sc metrics of $rd readings: warming up again?"
wait_for 30 grep -q ' anomaly sensor=' "$DLOG" || fail "restarted detector published no anomaly in 30 s"
grep -q model_trained "$DLOG" && fail "restarted detector trained a new model instead of resuming"
while read -r line; do
    m=$(echo "$line" | sed -n 's/.* metric=\([^ ]*\) .*/\1/p')
    v=$(echo "$line" | sed -n 's/.* model_version=\([0-9]*\).*/\1/p')
    echo "$V_BEFORE" | grep -qx "$m=$v" || fail "anomaly after restart used model_version $v for $m; before: $(echo $V_BEFORE)"
done < <(grep ' anomaly sensor=' "$DLOG")
after_fault "kill -9 detector" "restored=$restored first_stats=$rd/$sc models=$(echo $V_BEFORE | tr ' ' ,)"

# --- 2. kill -9 the chain logger -------------------------------------------
# Right after an anomaly was published, so that it is likely between the
# journal and a receipt when the logger dies.
sleep 2
cap0=$(captured)
wait_for 20 sh -c "[ \$(grep -c . '$T/capture.jsonl') -gt $cap0 ]" || fail "no anomaly for 20 s before the chain logger kill"
svc_kill9 chainlogger
sleep "$FAULT_DOWN_S"
svc_start chainlogger
fault_ended "kill -9 chainlogger"
wait_for 15 grep -q journal_open "$(svc_log chainlogger)" || fail "chain logger did not reopen its journal"
after_fault "kill -9 chainlogger" "$(sed -n 's/.*\(journal_open .*\)/\1/p' "$(svc_log chainlogger)" | head -1 | sed 's/path=[^ ]* //')"

# gateway_fault NAME SIGNAL: stop the gateway with SIGNAL (KILL or TERM)
# while the WebSocket clients are connected, restart it, and wait until
# every client has reconnected.
gateway_fault() {
    local name=$1 sig=$2 t_end n=0 w=-1
    [ "$(ws_field connected)" = "$WS_CLIENTS" ] || fail "$name: only $(ws_field connected) WS clients connected before"
    cp "$T/ws.json" "$T/ws.base.json"
    if [ "$sig" = KILL ]; then svc_kill9 gateway; else svc_term gateway; fi
    sleep "$FAULT_DOWN_S"
    svc_start gateway
    t_end=$(now_ms)
    fault_ended "$name"
    local end=$((SECONDS + 20))
    while [ $SECONDS -lt $end ]; do
        n=$(ws_reconnected "$T/ws.base.json")
        if [ "$n" = "$WS_CLIENTS" ]; then w=$(($(now_ms) - t_end)); break; fi
        sleep 0.2
    done
    [ "$n" = "$WS_CLIENTS" ] || fail "$name: $n of $WS_CLIENTS WebSocket clients reconnected within 20 s"
    # ... and the feed flows to them again.
    local m0
    m0=$(ws_field messages)
    wait_for 20 sh -c "[ \$(node -e 'console.log(JSON.parse(require(\"fs\").readFileSync(\"$T/ws.json\")).messages)') -gt $m0 ]" ||
        fail "$name: no WebSocket message after the clients reconnected"
    after_fault "$name" "ws_reconnected=$n/$WS_CLIENTS in ${w} ms"
}

# --- 3. kill -9 the gateway with 100 WebSocket clients ----------------------
sleep 2
gateway_fault "kill -9 gateway" KILL

# --- 4. kill -9 the simulator ------------------------------------------------
sleep 2
svc_kill9 simulator
sleep "$FAULT_DOWN_S"
svc_start simulator
fault_ended "kill -9 simulator"
wait_for 10 grep -q 'mqtt_connected' "$(svc_log simulator)" || fail "simulator did not reconnect"
after_fault "kill -9 simulator" ""

# --- 5. broker restart (persistence) ----------------------------------------
sleep 2
broker_stop
sleep "$FAULT_DOWN_S"
down=$(healthz_code)
broker_start
fault_ended "broker restart"
[ "$down" = 503 ] || echo "note: /healthz answered $down while the broker was down"
cap0=$(captured)
wait_for 30 sh -c "[ \$(grep -c . '$T/capture.jsonl') -gt $cap0 ]" || fail "the capture subscriber got nothing after the broker restart"
after_fault "broker restart" "healthz while down: $down"

# --- 6. Ganache stopped for 60 s --------------------------------------------
sleep 2
ganache_stop
g0=$SECONDS
saw503=0
while [ $((SECONDS - g0)) -lt "$GANACHE_DOWN_S" ]; do
    [ "$(healthz_code)" = 503 ] && saw503=1
    sleep 1
done
[ $saw503 = 1 ] || fail "/healthz never reported the chain down during the Ganache outage"
g1=$(now_ms)
ganache_start
gstart=$(($(now_ms) - g1))
fault_ended "ganache down"
after_fault "ganache down ${GANACHE_DOWN_S}s" "healthz 503 while down: yes; Ganache listening ${gstart} ms after its start"

# --- 7. gateway restarted (SIGTERM) with 100 WebSocket clients ---------------
sleep 2
gateway_fault "gateway restart" TERM

# --- the end: stop the stream, let it drain, count ---------------------------
svc_term simulator
# The detector has drained its queue when its reading count stops moving.
prev=-1
for _ in $(seq 1 30); do
    cur=$(sed -n 's/.*stats readings=\([0-9]*\).*/\1/p' "$(svc_log detector)" | tail -1)
    [ "$cur" = "$prev" ] && break
    prev=$cur
    sleep 1
done
sleep 2
# What the detectors logged as published: the last one was never killed, so
# all of its anomalies must have been captured (they crossed the broker
# restart in its publish buffer); the killed one's are counted only.
logged_ids() { sed -n 's/.* anomaly sensor=.* id=\([0-9a-f]\{16\}\).*/\1/p' "$@"; }
MUST_IDS=$T/must.ids INFO_IDS=$T/info.ids
logged_ids "$(svc_log detector)" >"$MUST_IDS"
logged_ids "$(svc_log detector 1)" >"$INFO_IDS"
# Every reading published at QoS 1 was scored: the independent subscriber's
# count against the detectors' own (each generation's last stats line; the
# one still running is stopped with SIGTERM, which logs its final count).
# The killed generation's count is its last stats line before the kill -9,
# up to ~2 s (STATS_INTERVAL=1, whole seconds) older than the kill: the
# readings of that window were scored but are not in any count, so at most
# that many may be unaccounted for; none may be counted twice beyond it.
svc_term detector
stat_of() { grep 'stats readings=' "$2" | tail -1 | grep -o " $1=[0-9]*" | cut -d= -f2; }
pub_readings=$(grep -c '^sensors/' "$T/readings.txt" || true)
det_readings=0 det_bad=0
for g in $(seq 1 "${SVC_GEN[detector]}"); do
    n=$(stat_of readings "$(svc_log detector "$g")") b=$(stat_of bad "$(svc_log detector "$g")")
    det_readings=$((det_readings + ${n:-0})) det_bad=$((det_bad + ${b:-0}))
done
# The killed generation's stream rate (readings/s) over its last two stats lines.
read -r win_rate < <(grep -o 'stats readings=[0-9]*' "$(svc_log detector 1)" | tail -2 | cut -d= -f2 | tr '\n' ' ' |
    awk '{print ($2 > $1) ? $2 - $1 : 0}')
readings_window=$((2 * win_rate + 10))
unaccounted=$((pub_readings - det_readings))
echo "readings: published $pub_readings (independent subscriber), counted by the detectors $det_readings, bad $det_bad, unaccounted $unaccounted (killed generation's unlogged window <= $readings_window)"
[ "$pub_readings" -gt 0 ] || fail "the readings subscriber counted nothing"
[ "$det_bad" = 0 ] || fail "the detector refused $det_bad readings"
[ "$unaccounted" -le "$readings_window" ] || fail "readings lost: $unaccounted of $pub_readings published were never scored (window $readings_window)"
[ "$unaccounted" -ge 0 ] || fail "readings counted twice: the detectors counted $det_readings of $pub_readings published"
if ! final_check 120; then
    echo "verify: $VERIFY" >&2
    echo "check: $CHECK" >&2
    fail "anomalies lost or duplicated"
fi
echo "$VERIFY"
grep -q 'verify: OK' <<<"$VERIFY" || fail "chainlogger verify did not pass"
grep -q 'missing=0 (pending=0) extra=0 duplicated=0' <<<"$VERIFY" || fail "verify: $VERIFY"

published=$(json_get "$CHECK" published)
onchain=$(json_get "$CHECK" on_chain)
lost=$(json_get "$CHECK" lost)
dups=$(json_get "$CHECK" duplicates)
msgs=$(json_get "$CHECK" published_messages)
[ "$published" -gt 0 ] || fail "no anomaly captured"
[ "$lost" = 0 ] && [ "$dups" = 0 ] || fail "lost=$lost duplicates=$dups"
must=$(json_get "$CHECK" must)
killed_nc=$(json_get "$CHECK" killed_not_captured)
killed_logged=$(json_get "$CHECK" killed_logged)

injected=0
for f in "$T"/simulator-*.log; do
    n=$(sed -n 's/.* anomalies=\([0-9]*\).*/\1/p' "$f" | tail -1)
    injected=$((injected + ${n:-0}))
done
{
    echo "faults summary ($(date -u +%Y-%m-%dT%H:%M:%SZ), $((SECONDS - run_start)) s)"
    echo "  faults survived:        ${#NAMES[@]} of 7"
    echo "  anomalies published:    $published distinct ids ($msgs messages captured; the simulator injected $injected events)"
    echo "  on chain:               $onchain (verify: $(grep -o 'journal=.*' <<<"$VERIFY" | head -1))"
    echo "  lost:                   $lost"
    echo "  duplicates on chain:    $dups (AnomalyLogged events read with eth_getLogs: $(json_get "$CHECK" events), totalLogged() $(json_get "$CHECK" total_logged))"
    echo "  readings:               $pub_readings published at QoS 1 (independent subscriber), $det_readings counted by the detectors,"
    echo "                          $unaccounted unaccounted (<= $readings_window: scored in the killed detector's last unlogged ~2 s)"
    echo "  detector's own count:   $must published by the detector that was never killed, all captured;"
    echo "                          $killed_nc of $killed_logged logged by the killed one not captured (in flight at kill -9)"
    echo "  time to healthy (/healthz 200 after the fault ended) and to the next anomaly on chain:"
    for i in "${!NAMES[@]}"; do
        printf '    %-22s %5d ms  %6d ms  %s\n' "${NAMES[$i]}" "${HEALTH[$i]}" "${RESUME[$i]}" "${NOTES[$i]}"
    done
} | tee "${FAULTS_SUMMARY:-$T/summary.txt}"
echo "faults: OK"
