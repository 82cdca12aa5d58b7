#!/usr/bin/env bash
# broker_auth — the broker as `scripts/broker-auth.sh` + config/mosquitto-secure.conf.in
# set it up: a real mosquitto on free loopback ports with the generated
# password file and ACL, an anonymous loopback listener and a TLS listener
# with dev certificates. Asserts:
#   - anonymous and wrong-password connections to the authenticated (and
#     TLS) listeners are refused;
#   - each service account publishes exactly its topics: allowed messages
#     reach an observer, denied ones never do;
#   - each service account receives exactly the topics it may read: a
#     subscriber without the right gets nothing that an observer got;
#   - a device account publishes only its own topics;
#   - the anonymous loopback listener can read and inject readings but not
#     forge anomalies or chain confirmations;
#   - TLS works with the dev CA and fails against a CA that did not sign it;
#   - init is idempotent (passwords kept) and files are 0600 in a 0700 dir;
#   - the simulator (common/bus/mqtt.h and its fast publisher) authenticates with
#     MQTT_USERNAME/MQTT_PASSWORD, over TLS with MQTT_CA_FILE too.
. "$(dirname "$0")/../lib.sh"

command -v mosquitto >/dev/null && command -v mosquitto_passwd >/dev/null || skip "mosquitto not installed"
command -v mosquitto_sub >/dev/null || skip "mosquitto-clients not installed"

D=$T/auth
"$ROOT/scripts/broker-auth.sh" init "$D" "$ROOT/config/sensors.example.json" >/dev/null
for dev in dev1 t1 greenhouse; do
    "$ROOT/scripts/broker-auth.sh" add-device "$dev" --dir "$D" >/dev/null
done
have_tls=0
if command -v openssl >/dev/null; then
    "$ROOT/scripts/dev-certs.sh" "$D/tls" >/dev/null
    have_tls=1
fi

# ---- files: modes and idempotence ----------------------------------------
[ "$(stat -c %a "$D")" = 700 ] || fail "auth dir is not 0700"
for f in passwd acl simulator.password detector.password chainlogger.password gateway.password \
    gateway.env devices/dev1.password; do
    [ "$(stat -c %a "$D/$f")" = 600 ] || fail "$f is not 0600 ($(stat -c %a "$D/$f"))"
done
grep -q '^gateway:\$7\$' "$D/passwd" || fail "passwd has no hashed gateway entry"
if grep -qF "$(cat "$D/gateway.password")" "$D/passwd" "$D/acl"; then fail "a plaintext password is in passwd/acl"; fi
before=$(cat "$D"/*.password "$D"/devices/*.password | md5sum)
"$ROOT/scripts/broker-auth.sh" init "$D" "$ROOT/config/sensors.example.json" >/dev/null
after=$(cat "$D"/*.password "$D"/devices/*.password | md5sum)
[ "$before" = "$after" ] || fail "init changed existing passwords"
grep -q '^user dev1$' "$D/acl" || fail "init dropped the device accounts"
if "$ROOT/scripts/broker-auth.sh" add-device anomalies --dir "$D" 2>/dev/null; then fail "reserved device name accepted"; fi
if "$ROOT/scripts/broker-auth.sh" add-device 'x/#' --dir "$D" 2>/dev/null; then fail "wildcard device name accepted"; fi
# A '.' separates a device from its parts in sensor ids (docs/SENSORS.md).
if "$ROOT/scripts/broker-auth.sh" add-device a.b --dir "$D" 2>/dev/null; then fail "device name with '.' accepted"; fi
# Extra topics may not reach what the services publish.
for t in anomalies/x anomalies chain/logged/x status/detector/x part/0/x sim/x '$SYS/x' $'ok/a\nb'; do
    if "$ROOT/scripts/broker-auth.sh" add-device dev9 "$t" --dir "$D" 2>/dev/null; then
        fail "extra topic '$t' accepted"
    fi
done
[ ! -f "$D/devices/dev9.topics" ] || fail "a refused add-device created the account"
"$ROOT/scripts/broker-auth.sh" add-device dev9 custom/dev9/x --dir "$D" >/dev/null || fail "plain extra topic refused"
grep -qx 'topic write custom/dev9/x' "$D/acl" || fail "extra topic not in the acl"
"$ROOT/scripts/broker-auth.sh" remove-device dev9 --dir "$D" >/dev/null
# conf pastes values into sed: '/', '&', '|' and '\' arrive literally; a
# newline (a configuration line of its own) or a non-number port is refused.
odd="$T/odd/a&b|c\\d"
STATE_DIR=$odd "$ROOT/scripts/broker-auth.sh" conf "$D" "$T/odd.conf" || fail "conf refused a path with & and |"
grep -qxF "persistence_location $odd/mosquitto/" "$T/odd.conf" || fail "conf mangled a path with & | \\"
bad="$T/bad/x&y
listener 1884 0.0.0.0
allow_anonymous true"
if STATE_DIR=$bad "$ROOT/scripts/broker-auth.sh" conf "$D" "$T/bad.conf" 2>/dev/null; then fail "conf accepted a newline in STATE_DIR"; fi
if STATE_DIR=$T/bad MQTT_BIND=$'0.0.0.0\nallow_anonymous true' "$ROOT/scripts/broker-auth.sh" conf "$D" "$T/bad.conf" 2>/dev/null; then
    fail "conf accepted a newline in MQTT_BIND"
fi
if STATE_DIR=$T/bad MQTT_PORT='1883 0.0.0.0' "$ROOT/scripts/broker-auth.sh" conf "$D" "$T/bad.conf" 2>/dev/null; then fail "conf accepted a bad port"; fi
[ ! -e "$T/bad.conf" ] || fail "a refused conf wrote its output"
[ ! -e "$T/bad" ] || fail "a refused conf created STATE_DIR"

# ---- broker ----------------------------------------------------------------
# secure_conf P L [S]: the configuration `broker-auth.sh conf` renders for
# the authenticated listener P, the anonymous loopback one L and TLS on S.
secure_conf() {
    MQTT_PORT=$1 MQTT_BIND=127.0.0.1 MQTT_LOCAL_PORT=$2 MQTT_TLS_PORT=${3:-} STATE_DIR=$T/state \
        "$ROOT/scripts/broker-auth.sh" conf "$D" "$T/rendered.conf" && cat "$T/rendered.conf"
}
MOSQ_NAME=mosquitto-secure start_mosquitto secure_conf $((2 + have_tls))
read -r P L S <<<"$MQTT_PORTS"
grep -q '^per_listener_settings true' "$MOSQ_CONF" || fail "conf lacks per_listener_settings"
if grep -v '^#' "$MOSQ_CONF" | grep -q '@'; then fail "unfilled placeholder in conf"; fi

pw() { cat "$D/$1.password" 2>/dev/null || cat "$D/devices/$1.password"; }
# pub USER TOPIC MSG: publish at QoS 1 on the authenticated listener (waits for PUBACK).
pub() { mosquitto_pub -h 127.0.0.1 -p "$P" -i "pub-$1-$RANDOM" -u "$1" -P "$(pw "$1")" -q 1 -t "$2" -m "$3"; }

# Observer: anonymous, loopback listener, everything.
bg observer stdbuf -oL mosquitto_sub -h 127.0.0.1 -p "$L" -i observer -d -v -q 1 -t '#'
wait_for 10 grep -q 'Subscribed' "$T/observer.log" || fail "observer could not subscribe"

# ---- connections -----------------------------------------------------------
# The loopback listener serves health checks: $SYS/broker/uptime, anonymously.
mosquitto_sub -h 127.0.0.1 -p "$L" -t '$SYS/broker/uptime' -C 1 -W 5 >/dev/null ||
    fail "anonymous loopback client cannot read \$SYS/broker/uptime (health check)"
if mosquitto_sub -h 127.0.0.1 -p "$P" -t '$SYS/broker/uptime' -C 1 -W 3 >/dev/null 2>&1; then
    fail "anonymous client read \$SYS on the authenticated listener"
fi
if mosquitto_pub -h 127.0.0.1 -p "$P" -q 1 -t sensors/anon/readings -m tok-anon 2>/dev/null; then
    fail "anonymous publish accepted on the authenticated listener"
fi
if mosquitto_pub -h 127.0.0.1 -p "$P" -u detector -P wrong -q 1 -t anomalies/x -m tok-wrongpw 2>/dev/null; then
    fail "wrong password accepted"
fi
if mosquitto_pub -h 127.0.0.1 -p "$P" -u nobody -P "$(pw detector)" -q 1 -t anomalies/x -m tok-nouser 2>/dev/null; then
    fail "unknown user accepted"
fi

# ---- readers: started before the publishes, each on one topic ---------------
# user topic expect(1 = receives, 0 = must not)
READERS=(
    "detector sensors/s1/readings 1"
    "detector zigbee2mqtt/dev1 1"
    "detector tele/t1/SENSOR 1"
    "detector greenhouse/sensor/greenhouse_temperature/state 1"
    "detector chain/logged/s1 0"
    "detector sim/labels/s1 0"
    "chainlogger anomalies/s1 1"
    "chainlogger sensors/s1/readings 0"
    "chainlogger sim/labels/s1 0"
    "gateway sensors/s1/readings 1"
    "gateway anomalies/s1 1"
    "gateway chain/logged/s1 1"
    "gateway sim/labels/s1 1"
    "gateway zigbee2mqtt/dev1 1"
    "simulator sensors/s1/readings 0"
    "simulator anomalies/s1 0"
    "dev1 sensors/s1/readings 0"
    "dev1 anomalies/s1 0"
    "gateway status/detector/d1 1"
    "gateway status/chainlogger/c1 1"
    "chainlogger status/detector/d1 0"
    "detector status/chainlogger/c1 0"
    "dev1 status/detector/d1 0"
)
i=0
for r in "${READERS[@]}"; do
    read -r u t _ <<<"$r"
    bg "reader$i" stdbuf -oL mosquitto_sub -h 127.0.0.1 -p "$P" -i "reader$i" -u "$u" -P "$(pw "$u")" -d -v -q 1 -t "$t"
    i=$((i + 1))
done
for j in $(seq 0 $((i - 1))); do
    wait_for 10 grep -q 'Subscribed' "$T/reader$j.log" || fail "reader$j (${READERS[$j]}) did not get a SUBACK"
done

# ---- publishes ---------------------------------------------------------------
# user topic expect(1 = accepted, 0 = dropped); the payload is a unique token.
PUBS=(
    "simulator sensors/s1/readings 1"
    "simulator sim/labels/s1 1"
    "simulator anomalies/s1 0"
    "simulator chain/logged/s1 0"
    "detector anomalies/s1 1"
    "detector sensors/s1/readings 0"
    "detector chain/logged/s1 0"
    "detector sim/labels/s1 0"
    "chainlogger chain/logged/s1 1"
    "chainlogger anomalies/s1 0"
    "chainlogger sensors/s1/readings 0"
    "gateway sensors/s2/readings 1"
    "gateway sensors/s2/other 0"
    "gateway anomalies/s1 0"
    "gateway chain/logged/s1 0"
    "gateway sim/labels/s1 0"
    "dev1 sensors/dev1/readings 1"
    "dev1 zigbee2mqtt/dev1 1"
    "dev1 tele/dev1/SENSOR 1"
    "dev1 sensors/dev2/readings 0"
    "dev1 sensors/s1/readings 0"
    "dev1 zigbee2mqtt/other 0"
    "dev1 anomalies/dev1 0"
    "dev1 chain/logged/dev1 0"
    "t1 tele/t1/SENSOR 1"
    "t1 tele/dev1/SENSOR 0"
    "greenhouse greenhouse/sensor/greenhouse_temperature/state 1"
    "detector status/detector/d1 1"
    "detector status/chainlogger/c1 0"
    "chainlogger status/chainlogger/c1 1"
    "chainlogger status/detector/d1 0"
    "gateway status/gateway/g1 0"
    "simulator status/detector/d1 0"
    "dev1 status/detector/d1 0"
)
i=0
for p in "${PUBS[@]}"; do
    read -r u t _ <<<"$p"
    pub "$u" "$t" "tok-pub$i-" || fail "publish by $u to $t failed to complete"
    i=$((i + 1))
done
# Anonymous loopback listener: may inject readings, not anomalies/confirmations.
mosquitto_pub -h 127.0.0.1 -p "$L" -q 1 -t sensors/local/readings -m tok-local-ok || fail "local publish failed"
mosquitto_pub -h 127.0.0.1 -p "$L" -q 1 -t anomalies/local -m tok-local-anomaly || true
mosquitto_pub -h 127.0.0.1 -p "$L" -q 1 -t chain/logged/local -m tok-local-chain || true

# Every publish above completed (PUBACK) before the next started, so once
# the marker is in, everything the broker forwarded is in.
pub simulator sensors/marker/readings tok-marker-end
wait_for 10 grep -q 'tok-marker-end' "$T/observer.log" || fail "observer did not get the marker"
sleep 0.3

bad=0
i=0
for p in "${PUBS[@]}"; do
    read -r u t e <<<"$p"
    if grep -q "tok-pub$i-" "$T/observer.log"; then got=1; else got=0; fi
    if [ "$got" != "$e" ]; then
        echo "publish by $u to $t: expected $([ "$e" = 1 ] && echo delivered || echo dropped), was $([ "$got" = 1 ] && echo delivered || echo dropped)" >&2
        bad=$((bad + 1))
    fi
    i=$((i + 1))
done
grep -q tok-local-ok "$T/observer.log" || { echo "local reading publish dropped" >&2; bad=$((bad + 1)); }
if grep -q 'tok-local-anomaly\|tok-local-chain' "$T/observer.log"; then
    echo "anonymous loopback client forged an anomaly/confirmation" >&2; bad=$((bad + 1))
fi
if grep -q 'tok-anon\|tok-wrongpw\|tok-nouser' "$T/observer.log"; then
    echo "a refused connection's message was delivered" >&2; bad=$((bad + 1))
fi

# Readers: whatever the observer saw on a reader's topic, a reader with the
# right saw too, and a reader without it saw nothing.
i=0
for r in "${READERS[@]}"; do
    read -r u t e <<<"$r"
    toks=$(grep -E "^$t tok-" "$T/observer.log" | awk '{print $2}' || true)
    [ -n "$toks" ] || { echo "no message was published on $t (test bug)" >&2; bad=$((bad + 1)); }
    for tok in $toks; do
        if grep -q -- "$tok" "$T/reader$i.log"; then got=1; else got=0; fi
        if [ "$got" != "$e" ]; then
            echo "reader $u on $t: $([ "$e" = 1 ] && echo missed || echo received) $tok" >&2
            bad=$((bad + 1))
        fi
    done
    i=$((i + 1))
done
[ $bad = 0 ] || fail "$bad ACL expectations not met"
echo "ACL: ${#PUBS[@]} publishes and ${#READERS[@]} readers as expected"

# ---- TLS -------------------------------------------------------------------------
if [ $have_tls = 1 ]; then
    mosquitto_pub -h 127.0.0.1 -p "$S" --cafile "$D/tls/ca.crt" -u simulator -P "$(pw simulator)" \
        -q 1 -t sensors/tls/readings -m tok-tls-ok || fail "TLS publish with the dev CA failed"
    mosquitto_pub -h localhost -p "$S" --cafile "$D/tls/ca.crt" -u simulator -P "$(pw simulator)" \
        -q 1 -t sensors/tls/readings -m tok-tls-localhost || fail "TLS to 'localhost' failed (SAN)"
    if mosquitto_pub -h 127.0.0.1 -p "$S" --cafile "$D/tls/ca.crt" -q 1 -t sensors/tls/readings \
        -m tok-tls-anon 2>/dev/null; then fail "anonymous publish accepted on TLS"; fi
    if mosquitto_pub -h 127.0.0.1 -p "$S" --cafile /etc/ssl/certs/ca-certificates.crt \
        -u simulator -P "$(pw simulator)" -q 1 -t sensors/tls/readings -m tok-tls-wrongca 2>/dev/null; then
        fail "TLS accepted a server certificate the given CA did not sign"
    fi
    mosquitto_pub -h 127.0.0.1 -p "$S" --cafile "$D/tls/ca.crt" -u detector -P "$(pw detector)" \
        -q 1 -t sensors/tls/readings -m tok-tls-denied || true
    pub simulator sensors/marker/readings tok-marker-tls
    wait_for 10 grep -q tok-marker-tls "$T/observer.log" || fail "observer did not get the TLS marker"
    grep -q tok-tls-ok "$T/observer.log" && grep -q tok-tls-localhost "$T/observer.log" ||
        fail "TLS publishes not delivered"
    if grep -q 'tok-tls-anon\|tok-tls-wrongca\|tok-tls-denied' "$T/observer.log"; then
        fail "TLS listener delivered what it should have refused"
    fi
    echo "TLS: dev CA accepted, foreign CA and anonymous refused, ACL applied"
fi

# ---- the services' own MQTT code with credentials -------------------------------
# The simulator's two publishers: the common wrapper (paho) and its own fast one.
if [ -x "$BIN/simulator" ]; then
    sim() { # sim NAME URL [extra env...]
        local name=$1 url=$2; shift 2
        env MQTT_URL="$url" MQTT_USERNAME=simulator MQTT_PASSWORD="$(pw simulator)" "$@" \
            "$BIN/simulator" --fleet office:1 --run-for 3 --rate 20 --speedup 60 \
            --client-id "sim-$name" >"$T/sim-$name.log" 2>&1 || true
    }
    count_sim() { grep -c '^sensors/office[^ ]*/readings ' "$T/observer.log" || true; }
    for publisher in paho fast; do
        n0=$(count_sim)
        sim "$publisher" "tcp://127.0.0.1:$P" SIM_PUBLISHER=$publisher
        n1=$(count_sim)
        [ "$n1" -gt "$n0" ] || fail "simulator ($publisher publisher) published nothing with its account; see $T/sim-$publisher.log"
        echo "simulator ($publisher) with MQTT_USERNAME/MQTT_PASSWORD: $((n1 - n0)) readings"
    done
    n0=$(count_sim)
    env MQTT_URL="tcp://127.0.0.1:$P" MQTT_USERNAME=simulator MQTT_PASSWORD=wrong SIM_PUBLISHER=paho \
        timeout 5 "$BIN/simulator" --fleet office:1 --run-for 2 --rate 20 --speedup 60 \
        --client-id sim-wrong >"$T/sim-wrong.log" 2>&1 || true
    n1=$(count_sim)
    [ "$n1" = "$n0" ] || fail "simulator with a wrong password got readings through"
    if [ $have_tls = 1 ]; then
        n0=$(count_sim)
        sim tls "ssl://127.0.0.1:$S" MQTT_CA_FILE="$D/tls/ca.crt" SIM_PUBLISHER=paho
        n1=$(count_sim)
        [ "$n1" -gt "$n0" ] || fail "simulator over TLS (MQTT_CA_FILE) published nothing; see $T/sim-tls.log"
        echo "simulator over TLS with MQTT_CA_FILE: $((n1 - n0)) readings"
    fi
else
    echo "note: build/bin/simulator not built; service credential check skipped"
fi
echo "PASS broker_auth"
