# Every service's error counters in the gateway's /metrics (issue 6): the
# detector and the chain logger publish retained status reports
# (common/bus/status) on status/{service}/{instance}; the gateway exports them.
# Real mosquitto, Ganache, deployed contract, detector, chain logger and
# gateway. Sends malformed readings (by reason) and malformed and duplicate
# anomalies, and checks the exact counts in /metrics; a forged status
# report is refused and counted; a service that stops cleanly shows up=0
# at once ("final"), one killed with -9 shows up=0 once its report is stale.
. "$(dirname "$0")/../lib.sh"
. "$ROOT/tests/gateway/lib.sh"
for b in detector chainlogger gateway; do [ -x "$BIN/$b" ] || fail "missing $BIN/$b"; done
start_mosquitto
start_chain
export STATE_DIR=$T/state STATUS_INTERVAL=1
deploy_contract
bg chainlogger env CHAINLOGGER_CLIENT_ID=cl-test "$BIN/chainlogger"
CL_PID=$LAST_PID
bg detector env STATE_DIR="$T/det" DETECTOR_MAX_SENSORS=3 "$BIN/detector"
DET_PID=$LAST_PID
start_gateway
wait_for 20 curl -sf "$G/healthz" || fail "/healthz never 200"

M() { curl -sf "$G/metrics"; }
# val SERIES: the value of one exact series line (empty when absent).
val() { M | awk -v s="$1" '$1 == s { print $2 }'; }
want() { # want SERIES VALUE [SECONDS]
    wait_for "${3:-20}" sh -c "curl -sf '$G/metrics' | awk -v s='$1' -v v='$2' '\$1 == s && \$2 == v { f = 1 } END { exit !f }'" ||
        fail "$1: want $2, got '$(val "$1")'"
}
wait_for 20 sh -c "curl -sf '$G/metrics' | grep -q '^iotad_status_up{service=\"detector\",instance=\"detector\"} 1'" ||
    fail "no detector status in /metrics: $(M | grep iotad_ | head)"
wait_for 20 sh -c "curl -sf '$G/metrics' | grep -q '^iotad_status_up{service=\"chainlogger\",instance=\"cl-test\"} 1'" ||
    fail "no chain logger status in /metrics"

# --- detector: invalid readings by reason ------------------------------------
pubm() { mosquitto_pub -h 127.0.0.1 -p "$MQTT_PORT" -q 1 -t "$1" -m "$2"; }
for i in 1 2 3; do pubm sensors/bad1/readings 'not json {'; done
pubm sensors/bad1/readings '{"temperature": NaN}'
for i in 1 2; do pubm sensors/bad1/readings '{"temperature": "hot"}'; done # no numeric metric
for i in 1 2; do pubm sensors/bad1/readings '[1, 2]'; done
pubm sensors/bad1/readings '{"ts": 1764000000}'
pubm sensors/bad1/readings '{"ts": -5, "temperature": 1}'
pubm 'sensors/bad%2B/readings' '{"temperature": 1}'
for i in 1 2 3 4 5; do pubm sensors/good1/readings "{\"temperature\": 2$i.5}"; done
D='iotad_detector_readings_invalid_total{instance="detector",reason='
want "${D}\"json\"}" 4
want "${D}\"type\"}" 2
want "${D}\"no_metric\"}" 3
want "${D}\"timestamp\"}" 1
want "${D}\"sensor_id\"}" 1
want "${D}\"too_large\"}" 0
want 'iotad_detector_readings_total{instance="detector"}' 5
# The sensor limit (issue #19): 3 kept; 4 more new ids evict 2 (good1 and
# the first of them), least recently seen first.
want 'iotad_detector_max_sensors{instance="detector"}' 3
for i in 1 2 3 4; do pubm "sensors/ev$i/readings" '{"temperature": 20.5}'; done
want 'iotad_detector_evictions_total{instance="detector",kind="sensor"}' 2
want 'iotad_detector_sensors{instance="detector"}' 3
want 'iotad_detector_evictions_total{instance="detector",kind="metric"}' 0

# --- chain logger: invalid, duplicate and logged anomalies --------------------
A=st-$RANDOM
node "$ROOT/tests/gateway/anomalies.js" "$A" 2 1764200000 >"$T/anoms.jsonl"
first=$(head -1 "$T/anoms.jsonl")
pubm "anomalies/$A" 'garbage'
pubm "anomalies/$A" '{"id": "zz"}'
pubm "anomalies/other-$A" "$first" # sensor id differs from the topic
while read -r line; do pubm "anomalies/$A" "$line"; done <"$T/anoms.jsonl"
pubm "anomalies/$A" "$first" # a duplicate
C='iotad_chainlogger_'
want "${C}anomalies_invalid_total{instance=\"cl-test\"}" 3
want "${C}anomalies_accepted_total{instance=\"cl-test\"}" 2
want "${C}duplicates_total{instance=\"cl-test\"}" 1
# logged: the 2 anomalies and the alarm lifecycle events the gateway made of them
want "${C}pending{instance=\"cl-test\"}" 0 30
EV=$(val "${C}alarm_events_accepted_total{instance=\"cl-test\"}")
want "${C}logged_total{instance=\"cl-test\"}" $((2 + ${EV%.*})) 30
want "${C}pending{instance=\"cl-test\"}" 0
want "${C}journal_errors_total{instance=\"cl-test\"}" 0
want "${C}rpc_errors_total{instance=\"cl-test\",kind=\"transport\"}" 0
grep -q '^# TYPE iotad_chainlogger_pending gauge$' <<<"$(M)" || fail "pending is not typed as a gauge"
grep -q '^# TYPE iotad_chainlogger_logged_total counter$' <<<"$(M)" || fail "logged_total is not typed as a counter"
[ "$(M | grep -c '^# TYPE iotad_detector_readings_invalid_total ')" = 1 ] || fail "one TYPE line per family"

# --- a forged or malformed report is refused and counted ----------------------
pubm status/detector/forged '{"service":"detector","instance":"other","ts":1,"interval_s":1,"metrics":[]}'
pubm status/detector/forged2 '{"service":"detector","instance":"forged2","ts":1764000000,"interval_s":1,"metrics":[{"name":"x y","type":"counter","value":1}]}'
pubm status/detector/forged3 'not json'
want 'iotad_gateway_errors_total{kind="status_invalid"}' 3
grep -q 'instance="forged' <<<"$(M)" && fail "a refused report reached /metrics"

# --- stale and stopped services ----------------------------------------------
kill -TERM "$DET_PID"
wait "$DET_PID" 2>/dev/null || true
want 'iotad_status_up{service="detector",instance="detector"}' 0 10
# The final report keeps the last counts.
want "${D}\"json\"}" 4 2
kill -9 "$CL_PID"
wait "$CL_PID" 2>/dev/null || true
# Interval 1 s: stale after 3 x 1 + 5 s.
want 'iotad_status_up{service="chainlogger",instance="cl-test"}' 0 20
age=$(val 'iotad_status_age_seconds{service="chainlogger",instance="cl-test"}')
node -e 'process.exit(Number(process.argv[1]) >= 8 ? 0 : 1)' "$age" || fail "stale age $age < 8"

# A gateway started now gets the retained reports at once.
OLD_G=$G
start_gateway
wait_for 10 sh -c "curl -sf '$G/metrics' | grep -q '^iotad_chainlogger_logged_total{instance=\"cl-test\"} $((2 + ${EV%.*}))\$'" ||
    fail "a new gateway did not get the retained report"
G=$OLD_G
echo "status metrics: detector and chain logger counters exact in /metrics, forged reports refused, stale and stopped services marked"
