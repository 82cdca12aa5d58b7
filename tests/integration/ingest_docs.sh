#!/usr/bin/env bash
# The "Connect your sensors" guides work as written, against the broker as
# `make run` sets it up (scripts/broker-auth.sh: service accounts with their
# ACL, and the anonymous loopback listener with its acl-local) and the
# example mapping config/sensors.example.json, the detector's default
# warm-up, and only the port number changed in each command:
#   - every command of README.md's "Connect your sensors" block: each one's
#     reading reaches the detector (its status report counts one more
#     reading and one more sensor);
#   - every ```sh block of docs/SENSORS.md's "The formats, one example each":
#     each example's 1000 degC spike is alerted for the sensor the guide
#     names and confirmed on chain.
# A listener whose ACL drops a device format fails both (mosquitto drops a
# denied publish silently, so mosquitto_pub alone succeeds).
. "$(dirname "$0")/../lib.sh"
for b in detector chainlogger; do [ -x "$BIN/$b" ] || skip "missing $BIN/$b"; done
[ -f "$ROOT/contracts/build/AnomalyLogger.json" ] || skip "contract not compiled"
command -v mosquitto_passwd >/dev/null || skip "mosquitto_passwd not installed"

export INGEST_MAPPING=$ROOT/config/sensors.example.json
export STATE_DIR=$T/state
mkdir -p "$STATE_DIR"
D=$T/auth
"$ROOT/scripts/broker-auth.sh" init "$D" "$INGEST_MAPPING" >/dev/null
start_auth_mosquitto "$D"
start_ganache
(umask 077 && echo "$GANACHE_KEY0" >"$T/logger.key")
export KEY_FILE=$T/logger.key
# account SVC CMD...: run CMD with SVC's broker account, as run.sh does.
# It execs CMD: call it only in a subshell ($(...) or bg, whose job is one),
# so the pid bg records is CMD's own and the cleanup stops it (a subshell
# of its own here left the services running after the test).
account() { set -a && . "$D/$1.env" && set +a && shift && exec "$@"; }
CONTRACT_ADDRESS=$(account chainlogger "$BIN/chainlogger" deploy 2>"$T/deploy.log") || fail "deploy failed"
export CONTRACT_ADDRESS
bg chainlogger account chainlogger "$BIN/chainlogger"
STATUS_INTERVAL=0.3 bg detector account detector "$BIN/detector"
wait_for 20 grep -q "ingest_ready" "$T/detector.log" || fail "detector did not start"
sleep 1
bg anomalies mosquitto_sub -h 127.0.0.1 -p "$L" -q 1 -v -t 'anomalies/+'
bg logged mosquitto_sub -h 127.0.0.1 -p "$L" -q 1 -v -t 'chain/logged/+'
sleep 0.5

# detector_count NAME: the detector's latest reported counter NAME.
detector_count() {
    mosquitto_sub -h 127.0.0.1 -p "$L" -t status/detector/detector -C 1 -W 5 |
        node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>{
            const m=JSON.parse(s).metrics.find(x=>x.name===process.argv[1]);console.log(m?m.value:0)})' "$1"
}
# count_above NAME N: the detector's counter NAME is above N.
count_above() { [ "$(detector_count "$1")" -gt "$2" ]; }

# ---- README.md: one message per format ------------------------------------
awk '/^### Connect your sensors/{on=1; next} on && /^#/{on=0}
     on && /^```sh$/{inb=1; next} inb && /^```$/{inb=0; next} inb{print}' \
    "$ROOT/README.md" >"$T/readme.sh"
[ "$(grep -c 'mosquitto_pub' "$T/readme.sh")" -ge 5 ] || fail "README's sensor block has too few mosquitto_pub: $(cat "$T/readme.sh")"
sed -i "s/mosquitto_pub -p 1884 /mosquitto_pub -p $L -q 1 /g" "$T/readme.sh"
if grep -q -- '-p 1884' "$T/readme.sh"; then fail "README's sensor block has a command the test cannot redirect"; fi
# One example per command; a `for` loop up to its `done` is one command.
n=0
while IFS= read -r line; do
    cmd=$line
    case "$line" in for\ *)
        while [ "$line" != done ] && IFS= read -r line; do cmd+=$'\n'$line; line=${line%%#*}; line=${line%"${line##*[! ]}"}; done ;;
    esac
    readings=$(detector_count readings_total)
    sensors=$(detector_count sensors)
    (cd "$T" && bash -ec "$cmd") || fail "README example failed: $cmd"
    wait_for 10 count_above readings_total "$readings" || fail "README example's reading never reached the detector: $cmd"
    wait_for 10 count_above sensors "$sensors" || fail "README example did not register a new sensor: $cmd"
    n=$((n + 1))
done <"$T/readme.sh"
[ $n -ge 5 ] || fail "only $n README examples ran"
echo "ok: README's $n sensor examples reach the detector"

# ---- docs/SENSORS.md: warm-up and spike, per format ------------------------
awk '/^## The formats/{on=1} /^## The mapping file/{on=0}
     on && /^```sh$/{inb=1; next} inb && /^```$/{inb=0; print ""; next} inb{print}' \
    "$ROOT/docs/SENSORS.md" >"$T/examples.sh"
n=$(grep -c 'mosquitto_pub' "$T/examples.sh")
[ "$n" -ge 10 ] || fail "found only $n mosquitto_pub commands in the guide"
sed -i "s/-h 127.0.0.1 -p 1884 /-h 127.0.0.1 -p $L -q 1 /g" "$T/examples.sh"
if grep -q -- '-p 1884' "$T/examples.sh"; then fail "the guide has a command the test cannot redirect"; fi
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
