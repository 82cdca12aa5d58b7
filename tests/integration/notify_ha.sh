#!/usr/bin/env bash
# notify_ha — Home Assistant discovery survives what makes a broker forget
# retained messages (issue #18): the notifier publishes every known
# sensor's discovery configs again
#   1. when Home Assistant says "online" on homeassistant/status (its birth
#      message when it starts; HA's MQTT discovery documentation): the
#      retained config is cleared by hand, "online" brings it back;
#   2. after it reconnects to a broker that lost its retained messages
#      (mosquitto restarted with an empty store): the config, the summary
#      and the availability ("online") are there again.
. "$(dirname "$0")/../lib.sh"
[ -x "$BIN/notifier" ] || skip "missing $BIN/notifier"
start_mosquitto
MP=$MQTT_PORT
RX_PORT=$(free_port) # no channel receiver is needed: nothing listens here
cat >"$T/notify.json" <<JSON
{"channels": [{"name": "ops", "type": "webhook", "url": "http://127.0.0.1:$RX_PORT/hook",
               "sensors": ["nobody"]}]}
JSON
NOTIFY_CONFIG=$T/notify.json NOTIFY_OUTBOX=$T/outbox NOTIFY_STATUS_INTERVAL=1 bg notifier "$BIN/notifier"
wait_for 10 grep -q mqtt_connected "$T/notifier.log" || fail "SLOW-START: notifier did not connect"
sleep 0.5 # subscriptions
CFG=homeassistant/binary_sensor/iotad/room-9_anomaly/config
have_config() { mosquitto_sub -p "$MP" -t "$CFG" -C 1 -W 1 2>/dev/null | grep -q '"device_class":"problem"'; }
AID=$(printf 'cd%.0s' $(seq 32))
mosquitto_pub -p "$MP" -q 1 -t anomalies/room-9 -m "{\"id\":\"$AID\",\"sensor_id\":\"room-9\",\"ts\":1764100000.5,\"metric\":\"temperature\",\"value\":81.5,\"score\":0.83,\"type\":\"point\",\"explanation\":\"too hot\",\"expected_low\":19.1,\"expected_high\":24.3,\"model_version\":3}"
wait_for 5 have_config || fail "no discovery config for room-9"

# 1. the retained config is gone (cleared by hand); Home Assistant's birth brings it back
mosquitto_pub -p "$MP" -q 1 -r -n -t "$CFG"
sleep 0.5
have_config && fail "the retained config was not cleared"
mosquitto_pub -p "$MP" -q 1 -t homeassistant/status -m offline
sleep 1
have_config && fail "\"offline\" on homeassistant/status republished the configs"
mosquitto_pub -p "$MP" -q 1 -t homeassistant/status -m online
wait_for 5 have_config || fail "\"online\" on homeassistant/status did not bring the config back"
grep -q 'notify_ha_republished sensors=1' "$T/notifier.log" || fail "no notify_ha_republished in the log"

# 2. the broker restarts with an empty store: every retained message is gone
stop_pid "$MOSQ_PID" 10
rm -rf "$T/mosq" && mkdir -p "$T/mosq"
if [ "$(id -u)" = 0 ] && id mosquitto >/dev/null 2>&1; then chown -R mosquitto "$T/mosq"; fi
mosquitto_restart
wait_for 15 have_config || fail "the config did not come back after the broker lost its store"
mosquitto_sub -p "$MP" -t notify/ha/room-9 -C 1 -W 2 | grep -q '"score":0.83' || fail "the summary did not come back"
[ "$(mosquitto_sub -p "$MP" -t status/notifier/notifier/availability -C 1 -W 2)" = online ] || fail "availability not online again"
# the channel report is retained again too (at the next status interval)
wait_for 5 bash -c "mosquitto_sub -p $MP -t notify/channels/notifier -C 1 -W 1 | grep -q '\"name\":\"ops\"'" ||
    fail "no channel report on notify/channels/notifier after the restart"
echo "notify_ha: ok"
