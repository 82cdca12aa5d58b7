#!/usr/bin/env bash
# The broker recipes of docs/SENSORS.md, run against real mosquitto brokers:
#  1. device accounts: a password file made with mosquitto_passwd and an ACL
#     with one `user` block per device and a `pattern` line; a device may
#     publish its own topics only, anonymous clients are refused, and
#     mosquitto reloads both files on SIGHUP (adding a device needs no restart).
#  2. bridging: config/mosquitto-bridge.example.conf, with its placeholders
#     filled in, copies a remote broker's device topics (Zigbee2MQTT,
#     Tasmota, ESPHome/HA, SenML) into ours, and nothing else.
. "$(dirname "$0")/../lib.sh"

# sub_collect FILE PORT USER PASS TOPIC...: subscribe in the background.
sub_collect() {
    local file=$1 port=$2 user=$3 pass=$4; shift 4
    local args=()
    for t in "$@"; do args+=(-t "$t"); done
    bg "sub-$(basename "$file")" mosquitto_sub -h 127.0.0.1 -p "$port" -u "$user" -P "$pass" \
        -i "sub-$RANDOM" -v -q 1 "${args[@]}"
    SUB_PID=$LAST_PID
    # mosquitto_sub writes to its log; link the name the test reads
    ln -sf "$T/sub-$(basename "$file").log" "$file"
    sleep 0.5
}

# start_broker NAME CONF_FN: mosquitto with CONF_FN's config ($T/NAME.conf)
# on a free port (lib's start_mosquitto, 5 tries: tests run in parallel
# here). Sets BROKER_PORT and BROKER_PID.
start_broker() {
    MOSQ_NAME=$1 MOSQ_ATTEMPTS=5 start_mosquitto "$2"
    BROKER_PORT=$MQTT_PORT BROKER_PID=$MOSQ_PID
}

# --- 1. device accounts and ACL ---------------------------------------------
mkdir -p "$T/auth"
PW=$T/auth/passwd ACL=$T/auth/acl
# exactly the commands of the guide (-b: non-interactive for the test)
mosquitto_passwd -c -b "$PW" reader reader-secret
mosquitto_passwd -b "$PW" tasmota-kitchen kitchen-secret
mosquitto_passwd -b "$PW" demo demo-secret
chmod 600 "$PW"
cat >"$ACL" <<'ACL'
# a service that reads everything (the detector, the gateway)
user reader
topic read #

# a Tasmota device whose Topic is "kitchen"
user tasmota-kitchen
topic write tele/kitchen/#
topic write stat/kitchen/#
topic read cmnd/kitchen/#

# native sensors whose username is their sensor id
pattern write sensors/%u/readings
ACL
# Run as root, mosquitto would switch to user "mosquitto", which cannot read
# the test's private temp dir: stay the current user.
ME=$(id -un)
auth_conf() {
    cat <<CONF
user $ME
per_listener_settings true
listener $1 127.0.0.1
allow_anonymous false
password_file $PW
acl_file $ACL
CONF
}
start_broker auth auth_conf
PORT=$BROKER_PORT AUTH_PID=$BROKER_PID

OUT=$T/auth-received
sub_collect "$OUT" "$PORT" reader reader-secret '#'
pub() { mosquitto_pub -h 127.0.0.1 -p "$PORT" -q 1 "$@"; }
pub -u tasmota-kitchen -P kitchen-secret -t tele/kitchen/SENSOR -m '{"BME280":{"Temperature":21}}'
pub -u tasmota-kitchen -P kitchen-secret -t tele/garage/SENSOR -m 'not-mine' || true
pub -u tasmota-kitchen -P kitchen-secret -t sensors/kitchen/readings -m 'not-mine' || true
pub -u demo -P demo-secret -t sensors/demo/readings -m '{"temperature":21}'
pub -u demo -P demo-secret -t sensors/other/readings -m 'not-mine' || true
if pub -t sensors/demo/readings -m 'anonymous' 2>/dev/null; then fail "anonymous publish accepted"; fi
if pub -u demo -P wrong -t sensors/demo/readings -m 'bad-password' 2>/dev/null; then
    fail "wrong password accepted"
fi
wait_for 5 grep -q 'sensors/demo/readings' "$OUT" || fail "demo's own reading not delivered"
grep -q 'tele/kitchen/SENSOR' "$OUT" || fail "kitchen's own telemetry not delivered"
sleep 0.5
if grep -q 'not-mine\|anonymous\|bad-password' "$OUT"; then
    cat "$OUT" >&2
    fail "a device published outside its topics"
fi

# adding a device: new password + ACL lines, SIGHUP, no restart
mosquitto_passwd -b "$PW" senml-gw1 gw1-secret
printf '\nuser senml-gw1\ntopic write senml/gw1\n' >>"$ACL"
kill -HUP "$AUTH_PID"
ok=0
for _ in $(seq 1 20); do
    if pub -u senml-gw1 -P gw1-secret -t senml/gw1 -m '[{"n":"temp","v":20}]' 2>/dev/null; then
        ok=1
        break
    fi
    sleep 0.25
done
[ $ok = 1 ] || fail "new device refused after SIGHUP"
wait_for 5 grep -q 'senml/gw1' "$OUT" || fail "new device's pack not delivered"
kill -0 "$AUTH_PID" || fail "broker died on SIGHUP"
echo "ok: device accounts and ACL"

# --- 2. bridge ----------------------------------------------------------------
mkdir -p "$T/remote"
mosquitto_passwd -c -b "$T/remote/passwd" bridge change-me
remote_conf() {
    printf 'user %s\nlistener %s 127.0.0.1\nallow_anonymous true\npassword_file %s\n' \
        "$ME" "$1" "$T/remote/passwd"
}
start_broker remote remote_conf
RPORT=$BROKER_PORT
ours_conf() {
    printf 'user %s\nlistener %s 127.0.0.1\nallow_anonymous true\n' "$ME" "$1"
    sed -e "s/REMOTE_HOST/127.0.0.1/" -e "s/REMOTE_PORT/$RPORT/" \
        "$ROOT/config/mosquitto-bridge.example.conf"
}
start_broker ours ours_conf
LPORT=$BROKER_PORT

BOUT=$T/bridged
bg sub-bridged mosquitto_sub -h 127.0.0.1 -p "$LPORT" -v -t '#'
ln -sf "$T/sub-bridged.log" "$BOUT"
# the bridge connects asynchronously: publish until the first copy arrives
rpub() { mosquitto_pub -h 127.0.0.1 -p "$RPORT" "$@"; }
for _ in $(seq 1 40); do
    rpub -t 'zigbee2mqtt/Living room' -m '{"temperature":21.5}'
    grep -q 'zigbee2mqtt/Living room' "$BOUT" && break
    sleep 0.25
done
grep -q 'zigbee2mqtt/Living room {"temperature":21.5}' "$BOUT" || fail "bridge did not copy zigbee2mqtt/#"
rpub -t tele/kitchen/SENSOR -m '{"BME280":{"Temperature":21}}'
rpub -t greenhouse/sensor/greenhouse_temperature/state -m '21.4'
rpub -t homeassistant/sensor/porch_temperature/state -m '50'
rpub -t senml/cellar -m '[{"n":"temp","v":12}]'
rpub -t private/alarm/code -m 'secret'
rpub -t tele/kitchen/STATE -m '{}'
for t in tele/kitchen/SENSOR greenhouse/sensor/greenhouse_temperature/state \
    homeassistant/sensor/porch_temperature/state senml/cellar; do
    wait_for 5 grep -q "^$t " "$BOUT" || fail "bridge did not copy $t"
done
sleep 0.5
if grep -q 'private/alarm\|tele/kitchen/STATE' "$BOUT"; then fail "bridge copied a topic not listed"; fi
# nothing flows back: ours -> remote
ROUT=$T/remote-seen
bg sub-remote mosquitto_sub -h 127.0.0.1 -p "$RPORT" -v -t 'anomalies/#'
ln -sf "$T/sub-remote.log" "$ROUT"
sleep 0.3
mosquitto_pub -h 127.0.0.1 -p "$LPORT" -t anomalies/x -m '{}'
sleep 0.5
[ ! -s "$ROUT" ] || fail "bridge sent our topics to the remote broker"
echo "ok: bridge"
