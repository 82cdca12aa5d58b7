#!/usr/bin/env bash
# `make soak` (issue 6): the whole stack for SOAK_SECONDS (600) at SOAK_RATE
# (5,000) readings/s: simulator -> mosquitto -> detector -> anomalies ->
# chainlogger -> Ganache, and the gateway (with WebSocket clients reading
# the feed). Asserts:
#   - resident memory (VmRSS) of every service, sampled every SOAK_SAMPLE_S
#     (10) s after SOAK_WARMUP_S, is flat: the mean of the last quarter of
#     the samples is within SOAK_RSS_PCT (10) % + SOAK_RSS_SLACK_KB (2048)
#     of the mean of all post-warm-up samples, and the gateway's growth
#     beyond that is no more than its chain cache explains (the gateway
#     keeps every on-chain anomaly in memory by design; SOAK_CACHE_BYTES
#     (2048) per anomaly is allowed for it);
#   - the stream really ran at the rate (simulator's achieved rate >= 95 %
#     of SOAK_RATE) and the detector processed every reading published;
#   - no `error` line in any service's log;
#   - no loss: `chainlogger verify` passes and every anomaly the detector
#     published (captured by a persistent QoS 1 subscriber) is on chain
#     exactly once (tests/faults/check_ids.js).
# Prints `soak: ...` figure lines and a per-service memory table; the
# samples are kept in tests/out/soak-rss.csv. Exit 0 = pass.
# Settings: SOAK_SECONDS, SOAK_RATE, SOAK_SENSORS (250), SOAK_WARMUP_S
# (min(120, SOAK_SECONDS/4)), SOAK_SAMPLE_S, SOAK_RSS_PCT, SOAK_RSS_SLACK_KB,
# SOAK_WS_CLIENTS (20), SOAK_SUMMARY (also write the summary there).
. "$(dirname "$0")/../tests/lib.sh"
. "$ROOT/tests/faults/lib.sh"

SOAK_SECONDS=${SOAK_SECONDS:-600}
SOAK_RATE=${SOAK_RATE:-5000}
SOAK_SENSORS=${SOAK_SENSORS:-250}
SOAK_SAMPLE_S=${SOAK_SAMPLE_S:-10}
w=$((SOAK_SECONDS / 4))
SOAK_WARMUP_S=${SOAK_WARMUP_S:-$((w < 120 ? w : 120))}
SOAK_RSS_PCT=${SOAK_RSS_PCT:-10}
SOAK_RSS_SLACK_KB=${SOAK_RSS_SLACK_KB:-2048}
SOAK_WS_CLIENTS=${SOAK_WS_CLIENTS:-20}
OUT=$ROOT/tests/out
mkdir -p "$OUT"

# The services' production settings, except the save interval (so that a
# save happens many times during the run) and stats every 10 s.
export SAVE_INTERVAL=10 STATS_INTERVAL=10
# The simulator as fast as SOAK_RATE allows, QoS 0 (its batched publisher),
# starting 30 simulated days back: 250 sensors at 20 readings/s each is
# 1,200 simulated seconds per second, 8 days in 10 minutes.
export SIM_SENSORS=$SOAK_SENSORS SIM_SPEEDUP=0 SIM_RATE=$SOAK_RATE SIM_QOS=0 SIM_SEED=11 \
    SIM_PROGRESS_INTERVAL=10
SIM_T0=$(($(date +%s) - 30 * 86400))
SIM_W0_MS=$(now_ms)

echo "soak: ${SOAK_SECONDS}s at ${SOAK_RATE} readings/s, $SOAK_SENSORS sensors, warm-up ${SOAK_WARMUP_S}s, sample every ${SOAK_SAMPLE_S}s"
stack_start
node "$ROOT/tests/faults/ws_clients.js" "ws://127.0.0.1:$GATEWAY_PORT/ws" "$SOAK_WS_CLIENTS" "$T/ws.json" \
    >"$T/ws-clients.log" 2>&1 &
PIDS+=("$!")
svc_start simulator
t0=$SECONDS

rss_kb() { sed -n 's/^VmRSS:[[:space:]]*\([0-9]*\) kB/\1/p' "/proc/$1/status" 2>/dev/null || echo 0; }
SERVICES=(detector chainlogger gateway simulator)
echo "t_s,detector_kb,chainlogger_kb,gateway_kb,simulator_kb,mosquitto_kb,ganache_kb,chain_anomalies" >"$T/rss.csv"
chain_total() {
    local body
    body=$(curl -sf --max-time 2 "http://127.0.0.1:$GATEWAY_PORT/api/anomalies?limit=1" 2>/dev/null) || { echo -1; return 0; }
    node -e 'try{console.log(JSON.parse(process.argv[1]).total)}catch(e){console.log(-1)}' "$body"
}

next=$((t0 + SOAK_WARMUP_S))
while [ $((SECONDS - t0)) -lt "$SOAK_SECONDS" ]; do
    for s in "${SERVICES[@]}"; do
        if ! svc_alive "$s"; then
            how="crashed or was killed"
            grep -q ' stopp\(ed\|ing\)' "$(svc_log "$s")" && how="stopped cleanly: something sent it SIGTERM/SIGINT"
            fail "$s died $((SECONDS - t0)) s into the soak ($how)"
        fi
    done
    if [ $SECONDS -ge $next ]; then
        row="$((SECONDS - t0))"
        for s in "${SERVICES[@]}"; do row+=",$(rss_kb "${SVC_PID[$s]}")"; done
        row+=",$(rss_kb "$MOSQ_PID"),$(rss_kb "$CHAIN_PID"),$(chain_total)"
        echo "$row" >>"$T/rss.csv"
        next=$((next + SOAK_SAMPLE_S))
    fi
    sleep 1
done
cp "$T/rss.csv" "$OUT/soak-rss.csv"

svc_term simulator
sim_log=$(svc_log simulator)
sim_readings=$(sed -n 's/.* done readings=\([0-9]*\).*/\1/p' "$sim_log" | tail -1)
sim_rate=$(sed -n 's/.* done .* rate=\([0-9]*\).*/\1/p' "$sim_log" | tail -1)
[ -n "$sim_readings" ] || fail "the simulator did not report its total"
# Drain: the detector's count stops moving (stats every 10 s).
det_readings() { sed -n 's/.*stats readings=\([0-9]*\).*/\1/p' "$(svc_log detector)" | tail -1; }
prev=-1
for _ in $(seq 1 12); do
    sleep 10
    cur=$(det_readings)
    [ "$cur" = "$prev" ] && break
    prev=$cur
done
det_n=$(det_readings)

if ! final_check 180; then
    echo "verify: $VERIFY" >&2
    echo "check: $CHECK" >&2
    fail "anomalies lost or duplicated"
fi
grep -q 'verify: OK' <<<"$VERIFY" || fail "chainlogger verify: $VERIFY"

# Memory: per service, the mean of all samples and of the last quarter.
MEM=$(node -e '
const fs = require("fs");
const [file, pct, slackKb] = process.argv.slice(1);
const rows = fs.readFileSync(file, "utf8").trim().split("\n");
const head = rows.shift().split(",");
const data = rows.map((r) => r.split(",").map(Number));
if (data.length < 4) { console.log("ERROR too few samples: " + data.length); process.exit(0); }
const q = Math.max(1, Math.floor(data.length / 4));
const mean = (a) => a.reduce((x, y) => x + y, 0) / a.length;
const slope = (xs, ys) => { const mx = mean(xs), my = mean(ys); let n = 0, d = 0;
  for (let i = 0; i < xs.length; i++) { n += (xs[i] - mx) * (ys[i] - my); d += (xs[i] - mx) ** 2; } return d ? n / d : 0; };
const ts = data.map((r) => r[0]);
const chain = data.map((r) => r[head.indexOf("chain_anomalies")]);
for (let c = 1; c < head.length - 1; c++) {
  const name = head[c].replace(/_kb$/, "");
  const ys = data.map((r) => r[c]);
  const all = mean(ys), last = mean(ys.slice(-q));
  const allowed = all * (1 + Number(pct) / 100) + Number(slackKb);
  const perMin = slope(ts, ys) * 60, perK = slope(chain, ys) * 1000;
  const checked = !["mosquitto", "ganache"].includes(name);
  const verdict = !checked ? "info" : last <= allowed ? "flat" : "GROWS";
  console.log([name, ys[0], Math.round(all), Math.round(last), Math.max(...ys), Math.round(allowed),
               perMin.toFixed(0), isFinite(perK) ? perK.toFixed(0) : "-", verdict].join(" "));
}' "$T/rss.csv" "$SOAK_RSS_PCT" "$SOAK_RSS_SLACK_KB")

# Error lines: the services log "<time> <level> <service> ..."; none at error.
errors=0
for f in "$T"/detector-*.log "$T"/chainlogger-*.log "$T"/gateway-*.log "$T"/simulator-*.log; do
    n=$(awk '$2 == "error"' "$f" | wc -l)
    if [ "$n" -gt 0 ]; then echo "errors in $(basename "$f"):"; awk '$2 == "error"' "$f" | head -5; fi
    errors=$((errors + n))
done
warns=$(cat "$T"/detector-*.log "$T"/chainlogger-*.log "$T"/gateway-*.log "$T"/simulator-*.log | awk '$2 == "warn"' | wc -l)

samples=$(($(wc -l <"$T/rss.csv") - 1))
{
    echo "soak summary ($(date -u +%Y-%m-%dT%H:%M:%SZ)): ${SOAK_SECONDS}s, target ${SOAK_RATE} readings/s, $SOAK_SENSORS sensors, $SOAK_WS_CLIENTS WebSocket clients"
    echo "soak: readings_published $sim_readings"
    echo "soak: rate $sim_rate readings/s"
    echo "soak: readings_scored_by_detector $det_n"
    echo "soak: anomalies_published $(json_get "$CHECK" published)"
    echo "soak: anomalies_on_chain $(json_get "$CHECK" on_chain)"
    echo "soak: anomalies_lost $(json_get "$CHECK" lost)"
    echo "soak: duplicates $(json_get "$CHECK" duplicates)"
    echo "soak: error_lines $errors"
    echo "soak: warn_lines $warns"
    echo "soak: rss_samples $samples (after ${SOAK_WARMUP_S}s warm-up, every ${SOAK_SAMPLE_S}s)"
    echo "  service      first_kB   mean_kB  lastq_kB    max_kB allowed_kB kB/min kB/1k_anomalies verdict"
    while read -r name first all last max allowed permin perk verdict; do
        printf '  %-11s %9s %9s %9s %9s %10s %6s %15s %s\n' "$name" "$first" "$all" "$last" "$max" "$allowed" "$permin" "$perk" "$verdict"
    done <<<"$MEM"
    echo "  verify: $(grep -o 'journal=.*' <<<"$VERIFY" | head -1)"
} | tee "${SOAK_SUMMARY:-$T/summary.txt}"

grep -q '^ERROR' <<<"$MEM" && fail "$MEM"
grep -q ' GROWS$' <<<"$MEM" && fail "resident memory grows: $(grep ' GROWS$' <<<"$MEM")"
[ "$errors" = 0 ] || fail "$errors error lines in the services' logs"
[ "$((sim_rate * 100))" -ge $((SOAK_RATE * 95)) ] || fail "the stream ran at $sim_rate readings/s, below 95 % of $SOAK_RATE"
[ "$det_n" = "$sim_readings" ] || fail "the detector processed $det_n readings of $sim_readings published"
echo "soak: OK"
