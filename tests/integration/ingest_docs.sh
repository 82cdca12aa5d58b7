#!/usr/bin/env bash
# The "Connect your sensors" guide works as written: runs every ```sh block
# of docs/SENSORS.md's "The formats, one example each" section (only the
# broker port is changed) against the stack as the guide starts it: the
# example mapping config/sensors.example.json and the detector's default
# warm-up. Asserts that each example's 1000 degC spike is alerted for the
# sensor the guide names and confirmed on chain.
. "$(dirname "$0")/../lib.sh"
for b in detector chainlogger; do [ -x "$BIN/$b" ] || skip "missing $BIN/$b"; done
[ -f "$ROOT/contracts/build/AnomalyLogger.json" ] || skip "contract not compiled"

start_mosquitto
start_chain
export STATE_DIR=$T/state
export INGEST_MAPPING=$ROOT/config/sensors.example.json
deploy_contract
export CONTRACT_ADDRESS
bg chainlogger "$BIN/chainlogger"
bg detector "$BIN/detector"
wait_for 20 grep -q "ingest_ready" "$T/detector.log" || fail "detector did not start"
sleep 1
bg anomalies mosquitto_sub -h 127.0.0.1 -p "$MQTT_PORT" -q 1 -v -t 'anomalies/+'
bg logged mosquitto_sub -h 127.0.0.1 -p "$MQTT_PORT" -q 1 -v -t 'chain/logged/+'
sleep 0.5

# Extract the examples: ```sh blocks between the two section headings.
awk '/^## The formats/{on=1} /^## The mapping file/{on=0}
     on && /^```sh$/{inb=1; next} inb && /^```$/{inb=0; print ""; next} inb{print}' \
    "$ROOT/docs/SENSORS.md" >"$T/examples.sh"
n=$(grep -c 'mosquitto_pub' "$T/examples.sh")
[ "$n" -ge 10 ] || fail "found only $n mosquitto_pub commands in the guide"
sed -i "s/-h 127.0.0.1 -p 1884 /-h 127.0.0.1 -p $MQTT_PORT -q 1 /g" "$T/examples.sh"
grep -q -- "-p $MQTT_PORT" "$T/examples.sh" || fail "could not point the examples at the test broker"
(cd "$T" && bash -e examples.sh) || fail "an example command failed"

# The sensors as the guide names them (example mapping renames three).
for s in demo living_room kitchen greenhouse cellar; do
    wait_for 60 sh -c "grep '^anomalies/$s ' '$T/anomalies.log' | grep '\"metric\": *\"temperature\"' | grep -qE '\"value\": *1000(\\.0+)?[,}]'" ||
        fail "no 1000 degC anomaly for $s: $(grep "^anomalies/$s " "$T/anomalies.log" | head -2)"
    line=$(grep "^anomalies/$s " "$T/anomalies.log" | grep -E '"value": *1000(\.0+)?[,}]' | head -1)
    id=$(echo "${line#* }" | node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>console.log(JSON.parse(s).id))')
    wait_for 60 grep -q "^chain/logged/$s .*$id" "$T/logged.log" || fail "anomaly $id of $s not confirmed on chain"
    echo "ok: $s"
done
echo "guide examples ok"
