#!/usr/bin/env bash
# availability — each service's retained status/{service}/{instance}/availability
# (common/bus/topics.h, the MQTT last will set by common/bus/mqtt.h),
# against the broker as `make run` sets it up (service accounts and ACL):
#   - the detector connects: `online`, retained;
#   - killed with kill -9: `offline`, retained, within its keep-alive time
#     (the broker publishes its will);
#   - restarted: `online` again; stopped cleanly (SIGTERM): `offline`;
#   - the simulator's paho publisher and the gateway's account may publish
#     their own availability too (ACL).
. "$(dirname "$0")/../lib.sh"
[ -x "$BIN/detector" ] || skip "missing $BIN/detector"
command -v mosquitto_passwd >/dev/null || skip "mosquitto_passwd not installed"

export STATE_DIR=$T/state
mkdir -p "$STATE_DIR"
D=$T/auth
"$ROOT/scripts/broker-auth.sh" init "$D" >/dev/null
start_auth_mosquitto "$D"
account() { (set -a && . "$D/$1.env" && shift && exec "$@"); }
# retained TOPIC: the retained payload on TOPIC now ("" when none).
retained() { mosquitto_sub -h 127.0.0.1 -p "$L" -t "$1" -C 1 -W 1 2>/dev/null || true; }
is() { [ "$(retained "$1")" = "$2" ]; }

TOPIC=status/detector/det-a/availability
KEEPALIVE=20 # common/bus/mqtt.h default
DET_PW=$(cat "$D/detector.password")
# The detector itself must be the process killed: no wrapper in between.
MQTT_USERNAME=detector MQTT_PASSWORD=$DET_PW DETECTOR_CLIENT_ID=det-a bg detector "$BIN/detector"
DET=$LAST_PID
wait_for 20 is $TOPIC online || fail "no retained online on $TOPIC: '$(retained $TOPIC)'"
echo "ok: online after connecting"
kill -9 "$DET"
t0=$SECONDS
wait_for $KEEPALIVE is $TOPIC offline || fail "no retained offline within ${KEEPALIVE}s of kill -9: '$(retained $TOPIC)'"
echo "ok: offline $((SECONDS - t0))s after kill -9"
MQTT_USERNAME=detector MQTT_PASSWORD=$DET_PW DETECTOR_CLIENT_ID=det-a bg detector2 "$BIN/detector"
DET=$LAST_PID
wait_for 20 is $TOPIC online || fail "no online after restart: '$(retained $TOPIC)'"
echo "ok: online after restart"
kill -TERM "$DET"
wait_for 20 is $TOPIC offline || fail "no offline after a clean stop: '$(retained $TOPIC)'"
echo "ok: offline after a clean stop"

# The other services' accounts may publish their own availability (the ACL).
if [ -x "$BIN/simulator" ]; then
    account simulator env SIM_PUBLISHER=paho "$BIN/simulator" --fleet office:1 --run-for 2 --rate 5 \
        --speedup 60 --client-id sim-a >"$T/sim.log" 2>&1 || fail "simulator failed"
    is status/simulator/sim-a/availability offline || fail "simulator: no retained offline after its run"
    grep -q "availability_disabled" "$T/sim.log" && fail "simulator disabled availability"
    echo "ok: simulator (paho publisher) online/offline"
    # The fast publisher writes its own CONNECT: the same will.
    MQTT_USERNAME=simulator MQTT_PASSWORD=$(cat "$D/simulator.password") SIM_PUBLISHER=fast \
        bg simfast "$BIN/simulator" --fleet office:1 --run-for 60 --rate 5 --speedup 60 --client-id sim-f
    SIMF=$LAST_PID
    wait_for 20 is status/simulator/sim-f/availability online || fail "fast simulator: no online"
    kill -9 "$SIMF"
    wait_for $KEEPALIVE is status/simulator/sim-f/availability offline || fail "fast simulator: no offline after kill -9"
    echo "ok: simulator (fast publisher) online, offline after kill -9"
fi
mosquitto_pub -h 127.0.0.1 -p "$P" -u gateway -P "$(cat "$D/gateway.password")" -q 1 -r \
    -t status/gateway/g-a/availability -m online || fail "gateway account publish failed"
is status/gateway/g-a/availability online || fail "the gateway account may not publish its availability"
echo "ok: gateway account publishes its availability"
