#!/usr/bin/env bash
# The chain logger's memory with a bounded duplicate window (#6): log N
# anomalies (default 60,000) on Anvil with DEDUP_WINDOW=W (default 5,000) and
# JOURNAL_SYNC=group, sampling its resident memory (VmRSS) and the journal's
# own figures (journal_in_memory, journal_mem_bytes from the status line,
# every STATUS_S s) as it goes. Printed:
#   bench: chain.window.in_memory     ids kept in memory at the end
#   bench: chain.window.mem_bytes     the journal's heap bytes at the end
#   bench: chain.window.rss_first_kb  VmRSS once the first 25% were logged
#   bench: chain.window.rss_last_kb   VmRSS at the end
# Skipped without Anvil (Ganache would take ~5 minutes per 60,000).
. "$(dirname "$0")/../tests/lib.sh"
. "$ROOT/tests/chain/lib.sh"
[ -x "$ANVIL_BIN" ] || skip "anvil not installed"
N=${N:-60000} W=${W:-5000}
build_chain_tools
start_chain anvil
start_mosquitto
export STATE_DIR=$T/state PRIVATE_KEY=$ANVIL_KEY0 BATCH_SIZE=50 BATCH_MAX_DELAY_MS=50
export DEDUP_WINDOW=$W JOURNAL_SYNC=group
deploy_contract
CONTRACT=$CONTRACT_ADDRESS
bg chainlogger "$BIN/chainlogger"
CL=$LAST_PID
wait_for 15 grep -q mqtt_connected "$T/chainlogger.log" || fail "not connected"
logged_ge() { [ "$(total_logged)" -ge "$1" ]; }
rss() { awk '/^VmRSS/ { print $2 }' "/proc/$CL/status"; }
# Publish in 10 chunks with distinct sensors, sampling after each.
first=""
for c in $(seq 0 9); do
    publish_anomalies "mem-$c" $((N / 10)) $((c * N / 10))
    want=$(((c + 1) * N / 10))
    wait_for 300 logged_ge "$want" || fail "only $(total_logged) of $want logged"
    r=$(rss)
    echo "logged $want: VmRSS ${r} kB" >&2
    [ "$c" = 2 ] && first=$r
done
# The status line comes every 10 s: wait for one after the end.
sleep 11
line=$(grep status "$T/chainlogger.log" | tail -1)
echo "$line" >&2
inmem=$(echo "$line" | grep -o 'journal_in_memory=[0-9]*' | cut -d= -f2)
bytes=$(echo "$line" | grep -o 'journal_mem_bytes=[0-9]*' | cut -d= -f2)
echo "bench: chain.window.in_memory $inmem ids (DEDUP_WINDOW=$W, $N logged)"
echo "bench: chain.window.mem_bytes $bytes bytes"
echo "bench: chain.window.rss_first_kb $first kB (after $((3 * N / 10)))"
echo "bench: chain.window.rss_last_kb $(rss) kB (after $N)"
