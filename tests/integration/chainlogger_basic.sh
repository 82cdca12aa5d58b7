#!/usr/bin/env bash
# Chain logger, normal operation: anomalies from several sensors published on
# MQTT reach the chain exactly once; chain/logged/{sensor} is published for
# each with tx hash, block and log index; invalid messages (bad JSON, id not
# matching content, topic/sensor mismatch) are dropped; re-published
# duplicates and a restart do not log anything twice; `verify` passes and
# detects a journal entry that is not on chain.
. "$(dirname "$0")/../lib.sh"
. "$ROOT/tests/chain/lib.sh"
setup_chainlogger
export BATCH_SIZE=20 BATCH_MAX_DELAY_MS=100
timeout 60 mosquitto_sub -h 127.0.0.1 -p "$MQTT_PORT" -q 1 -t 'chain/logged/#' -v >"$T/logged.txt" &
SUB=$!; PIDS+=("$SUB")
bg chainlogger "$BIN/chainlogger"
CL=$LAST_PID
wait_for 15 grep -q sender_ready "$T/chainlogger.log" || fail "chain logger not ready"
wait_for 15 grep -q mqtt_connected "$T/chainlogger.log" || fail "chain logger not connected"

publish_anomalies room-1 70 0
publish_anomalies room-2 45 1000
publish_anomalies line-7 5 2000
# Invalid: malformed JSON, an id that is not the content's id, sensor differing from topic.
mosquitto_pub -h 127.0.0.1 -p "$MQTT_PORT" -q 1 -t anomalies/room-1 -m '{"id": "zz", "ts": '
good=$("$T/anomaly_gen" room-1 1 5000)
mosquitto_pub -h 127.0.0.1 -p "$MQTT_PORT" -q 1 -t anomalies/room-1 -m "${good/\"id\":\"/\"id\":\"00}"
mosquitto_pub -h 127.0.0.1 -p "$MQTT_PORT" -q 1 -t anomalies/room-9 -m "$good"
# Duplicates: the first 30 again.
publish_anomalies room-1 30 0
wait_verified 60
grep -q 'journal=120 chain=120 matched=120 missing=0' "$T/verify.out" || fail "expected 120 matched"
[ "$(total_logged)" = 120 ] || fail "totalLogged is $(total_logged), want 120"
wait_for 20 test "$(wc -l <"$T/logged.txt")" -ge 120 || fail "only $(wc -l <"$T/logged.txt") chain/logged messages"
grep -q 'invalid=3' "$T/chainlogger.log" || wait_for 12 grep -q 'invalid=3' "$T/chainlogger.log" || fail "invalid messages not counted"

# chain/logged carries id, tx_hash, block_number, log_index, and its id is on chain in that tx.
line=$(grep '^chain/logged/line-7 ' "$T/logged.txt" | head -1)
[ -n "$line" ] || fail "no chain/logged/line-7 message"
json=${line#* }
id=$(echo "$json" | sed 's/.*"id":"\([0-9a-f]*\)".*/\1/')
tx=$(echo "$json" | sed 's/.*"tx_hash":"\(0x[0-9a-f]*\)".*/\1/')
echo "$json" | grep -q '"block_number":[0-9]' || fail "no block_number in $json"
echo "$json" | grep -q '"log_index":[0-9]' || fail "no log_index in $json"
rpc eth_getTransactionReceipt "[\"$tx\"]" | grep -q "0x$id" || fail "id $id not in receipt of $tx"
# Every id is announced once (duplicates re-announce, so count distinct ids).
n=$(sed 's/.*"id":"\([0-9a-f]*\)".*/\1/' "$T/logged.txt" | sort -u | wc -l)
[ "$n" = 120 ] || fail "$n distinct ids announced, want 120"

# Restart (SIGTERM) and publish everything again: nothing new on chain.
kill "$CL"; wait "$CL" 2>/dev/null || true
bg chainlogger2 "$BIN/chainlogger"
publish_anomalies room-1 70 0
publish_anomalies room-2 5 1040   # 1040..1044 already logged; 
publish_anomalies room-2 3 1045   # 1045..1047 new
wait_for 30 grep -q 'duplicates=75' "$T/chainlogger2.log" || fail "restart: duplicates not recognised"
wait_verified 30
grep -q 'journal=123 chain=123 matched=123' "$T/verify.out" || fail "expected 123 after restart"
[ "$(total_logged)" = 123 ] || fail "totalLogged $(total_logged) after restart, want 123"

# verify notices an anomaly the journal holds but the chain does not: a
# journal from another run of the logger, pointed at a fresh contract.
kill "$LAST_PID"; wait "$LAST_PID" 2>/dev/null || true
mv "$STATE_DIR/contract-1337.json" "$T/contract.json.bak"
NEW=$("$BIN/chainlogger" deploy 2>>"$T/deploy.log")
jn=$(ls "$STATE_DIR"/journal-1337-"${CONTRACT#0x}".log)
cp "$jn" "$STATE_DIR/journal-1337-${NEW#0x}.log"
if verify_ok; then fail "verify passed with 123 anomalies missing"; fi
grep -q 'missing=123' "$T/verify.out" || { cat "$T/verify.out"; fail "missing not reported"; }
echo "chainlogger_basic: OK"
