# Cluster mode's broker login (issue #19, item 1): scripts/cluster.sh with
# AUTH_DIR (as `make run-cluster`) gives the NATS nodes the same accounts
# and topic rules as mosquitto's ACL (scripts/broker-auth.sh nats). On a
# 3-node cluster with one device account "dev1":
#   - an anonymous client and a wrong password are refused;
#   - dev1's reading arrives at a detector-account QoS 1 subscriber as
#     part/{k}/sensors/dev1/readings (the mapping still works);
#   - dev1 publishing anomalies/dev1 or another sensor's readings, and the
#     gateway account publishing anomalies/..., never reach the chain
#     logger's subscription, while the detector account's anomaly does (so
#     the refusals are not a dead subscriber);
#   - cluster.sh refuses a non-loopback BIND without login and TLS, and
#     docker-compose.cluster.yml publishes MQTT on 127.0.0.1 only.
. "$(dirname "$0")/../lib.sh"
cd "$ROOT"
command -v nats-server >/dev/null || skip "nats-server not installed"
for c in mosquitto_pub mosquitto_sub mosquitto_passwd; do
    command -v $c >/dev/null || skip "$c not installed"
done

# Refused before anything starts: no login or no TLS on a public address.
if BIND=0.0.0.0 scripts/cluster.sh start "$T/open" >"$T/open.log" 2>&1; then
    scripts/cluster.sh stop "$T/open" || true
    fail "cluster.sh started on 0.0.0.0 without login and TLS"
fi
grep -q "needs login (AUTH_DIR) and TLS" "$T/open.log" || fail "unexpected refusal: $(cat "$T/open.log")"
if command -v docker-compose >/dev/null; then
    docker-compose -f docker-compose.cluster.yml config >"$T/cluster.yml" 2>"$T/compose.log" ||
        fail "docker-compose.cluster.yml is invalid: $(tail -3 "$T/compose.log")"
    n=$(grep -c -- '- 127.0.0.1:188[345]:1883' "$T/cluster.yml" || true)
    [ "$n" = 3 ] || fail "docker-compose.cluster.yml publishes MQTT beyond 127.0.0.1"
fi

A=$T/auth
scripts/broker-auth.sh init "$A" >/dev/null
scripts/broker-auth.sh add-device dev1 --dir "$A" >/dev/null
WATCH_PID=$$ AUTH_DIR=$A NODES=3 PARTITIONS=4 scripts/cluster.sh start "$T/nats" >"$T/cluster.log" 2>&1 || {
    grep -q -e 'did not open MQTT port' -e 'JetStream not healthy' -e 'did not work' "$T/cluster.log" &&
        fail "SLOW-START: the NATS cluster was not ready in time"
    fail "cluster did not start: $(tail -5 "$T/cluster.log")"
}
stop_nats() { scripts/cluster.sh stop "$T/nats" >/dev/null 2>&1 || true; }
trap 'stop_nats; cleanup' EXIT
. "$T/nats/cluster.env"
read -r -a P <<<"$NATS_MQTT_PORTS"
pw() { cat "$A/$1.password" 2>/dev/null || cat "$A/devices/$1.password"; }

# 1. No login, wrong password: refused (CONNACK 5, mosquitto_pub exits non-zero).
if mosquitto_pub -h 127.0.0.1 -p "${P[0]}" -q 1 -t sensors/anon/readings -m '{"t":1}' 2>"$T/anon.err"; then
    fail "an anonymous client published"
fi
grep -qi "not authori" "$T/anon.err" || fail "anonymous client: unexpected error $(cat "$T/anon.err")"
if mosquitto_pub -h 127.0.0.1 -p "${P[1]}" -u detector -P wrong -q 1 -t anomalies/x -m '{}' 2>/dev/null; then
    fail "a wrong password was accepted"
fi

# 2. Subscribers with the services' accounts, QoS 1, on two other nodes.
mosquitto_sub -h 127.0.0.1 -p "${P[1]}" -u detector -P "$(pw detector)" -i auth-det -q 1 \
    -t 'part/+/sensors/+/readings' -v >"$T/det.out" 2>"$T/det.err" &
det_pid=$!
mosquitto_sub -h 127.0.0.1 -p "${P[2]}" -u chainlogger -P "$(pw chainlogger)" -i auth-cl -q 1 \
    -t 'anomalies/+' -v >"$T/cl.out" 2>"$T/cl.err" &
cl_pid=$!
trap 'kill $det_pid $cl_pid 2>/dev/null || true; stop_nats; cleanup' EXIT
# Subscriptions are made asynchronously: probe until both see a message.
ok=0
for i in $(seq 1 50); do
    mosquitto_pub -h 127.0.0.1 -p "${P[0]}" -u dev1 -P "$(pw dev1)" -q 1 -t sensors/dev1/readings -m "{\"probe\":$i}"
    mosquitto_pub -h 127.0.0.1 -p "${P[0]}" -u detector -P "$(pw detector)" -q 1 -t anomalies/probe -m "{\"probe\":$i}"
    if grep -q '^part/[0-3]/sensors/dev1/readings ' "$T/det.out" && grep -q '^anomalies/probe ' "$T/cl.out"; then
        ok=1
        break
    fi
    sleep 0.2
done
[ $ok = 1 ] || fail "SLOW-START: QoS 1 subscriptions with accounts not working within 10 s (det: $(cat "$T/det.err" "$T/det.out" | tail -2); cl: $(cat "$T/cl.err" "$T/cl.out" | tail -2))"

# 3. Forgeries, then a marker from the detector account after them.
mosquitto_pub -h 127.0.0.1 -p "${P[0]}" -u dev1 -P "$(pw dev1)" -q 1 -t anomalies/dev1 -m '{"forged":"device"}' || true
mosquitto_pub -h 127.0.0.1 -p "${P[0]}" -u dev1 -P "$(pw dev1)" -q 1 -t sensors/victim/readings -m '{"forged":"other sensor"}' || true
mosquitto_pub -h 127.0.0.1 -p "${P[0]}" -u gateway -P "$(pw gateway)" -q 1 -t anomalies/gw -m '{"forged":"gateway"}' || true
mosquitto_pub -h 127.0.0.1 -p "${P[0]}" -u detector -P "$(pw detector)" -q 1 -t anomalies/marker -m '{"marker":1}'
wait_for 10 grep -q '^anomalies/marker ' "$T/cl.out" || fail "the detector account's anomaly never arrived"
sleep 1 # anything published before the marker has had its chance
if grep -q forged "$T/cl.out" "$T/det.out"; then
    fail "a forged message was delivered: $(grep -h forged "$T/cl.out" "$T/det.out")"
fi
grep -q "Publish Violation - User \"dev1\", Subject \"apart\.\|Publish Violation - User \"dev1\", Subject \"anomalies\." "$T"/nats/n1.log ||
    fail "node 1 did not log dev1's refused anomaly"
echo "cluster auth ok: anonymous and wrong password refused; dev1 reads through, its anomalies/ and other sensors' topics and the gateway's anomalies/ refused"
