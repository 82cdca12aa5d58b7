#!/usr/bin/env bash
# The MQTT client libraries as consumers (issue #20 item 1, docs/SCALING.md):
# how many messages a second paho (common/bus/mqtt.h, what the services use)
# and libmosquitto take from mosquitto, same publisher, QoS 0 and QoS 1.
# The messages (MQC_MESSAGES, 200,000 readings of 3 metrics, ~150 bytes)
# are queued in mosquitto for the consumer's persistent session while it is
# away, then it reconnects and drains them (bench/mqtt_consumer.c says why):
# no publisher competes for the CPU, so the rate is the broker's sending
# plus the client's receiving. Each case runs MQC_ROUNDS (3) times; the best
# round is printed (a shared machine only ever makes a round slower):
#   mqtt.consumer_rate.{paho,libmosquitto}[.qos1]    messages/s
#   mqtt.consumer_cpu_us.{paho,libmosquitto}[.qos1]  the consumer's CPU per
#                                                    message (same round)
# The broker keeps its default max_inflight_messages (20) at QoS 1, as the
# services' broker does.
. "$(dirname "$0")/../tests/lib.sh"
N=${MQC_MESSAGES:-200000}
ROUNDS=${MQC_ROUNDS:-3}
B=$ROOT/build/bench/mqtt_consumer
[ -x "$B" ] || make -s -C "$ROOT" build/bench/mqtt_consumer >&2 || fail "cannot build $B"
conf() {
    cat <<CONF
listener $1 127.0.0.1
allow_anonymous true
persistence false
queue_qos0_messages true
max_queued_messages 0
CONF
}
MOSQ_NAME=mqc-mosquitto start_mosquitto conf
H=127.0.0.1 P=$MQTT_PORT
for qos in 0 1; do
    sfx=
    [ "$qos" = 1 ] && sfx=.qos1
    for lib in paho libmosquitto; do
        best=0 best_cpu=0
        for r in $(seq 1 "$ROUNDS"); do
            id=mqc-$lib-$qos-$r
            "$B" register "$lib" $H "$P" "$qos" "$id" || fail "register $lib qos $qos"
            "$B" publish libmosquitto $H "$P" "$qos" "$N" || fail "publish qos $qos"
            read -r got secs cpu < <("$B" drain "$lib" $H "$P" "$qos" "$id" "$N") ||
                fail "drain $lib qos $qos"
            [ "$got" = "$N" ] || echo "LOST: $lib qos $qos received $got of $N" >&2
            rate=$(awk -v n="$got" -v s="$secs" 'BEGIN { printf "%.0f", (s > 0 ? n / s : 0) }')
            cpu_us=$(awk -v n="$got" -v c="$cpu" 'BEGIN { printf "%.2f", (n > 0 ? 1e6 * c / n : 0) }')
            echo "round $r: $lib qos $qos: $got messages in $secs s, consumer CPU $cpu s" >&2
            [ "$rate" -gt "$best" ] && best=$rate best_cpu=$cpu_us
        done
        echo "bench: mqtt.consumer_rate.$lib$sfx $best messages/s"
        echo "bench: mqtt.consumer_cpu_us.$lib$sfx $best_cpu us/message"
    done
done
