# scripts/nats-streams.sh against a real nats-server (one node, JetStream
# and MQTT on, free loopback ports). Checks:
#   1. on a fresh server it creates $MQTT_msgs with limits retention and the
#      given age and size limits, and NATS's MQTT layer then uses that
#      stream: a QoS 1 message goes through and is stored in it (with
#      interest retention and no consumer left it would be dropped);
#   2. running it again is a no-op (exit 0, same stream);
#   3. where an MQTT client came first (NATS created the stream with
#      interest retention), it exits 1 with a warning naming the problem,
#      and leaves the stream alone; --recreate then replaces it, and QoS 1
#      through MQTT works on the new stream;
#   4. on a server with users, no credentials is a clear error at once and
#      NATS_USER/NATS_PASSWORD (escaped into the CONNECT JSON) work; also
#      when the server closes the connection while the script still writes;
#   5. bad arguments exit 2; no server answers: exit 1 within READY_TIMEOUT.
. "$(dirname "$0")/../lib.sh"
cd "$ROOT"
command -v nats-server >/dev/null || skip "nats-server not installed"
command -v mosquitto_pub >/dev/null || skip "mosquitto-clients not installed"

# start_nats NAME [EXTRA]: one node with JetStream and MQTT (EXTRA: more
# config lines); sets NPORT, MPORT, HPORT.
start_nats() {
    local name=$1 extra=${2:-}
    NPORT=$(free_port) MPORT=$(free_port) HPORT=$(free_port)
    mkdir -p "$T/$name-js"
    cat >"$T/$name.conf" <<CONF
server_name: $name
listen: 127.0.0.1:$NPORT
http: 127.0.0.1:$HPORT
jetstream { store_dir: "$T/$name-js", max_file_store: 256M }
mqtt { listen: 127.0.0.1:$MPORT }
$extra
CONF
    bg "$name" nats-server -c "$T/$name.conf"
    wait_port "$MPORT" 20 || fail "nats-server $name did not start"
}

# stream_field FIELD: a field of $MQTT_msgs's config as the monitor shows it.
stream_field() {
    curl -s "http://127.0.0.1:$HPORT/jsz?accounts=true&streams=true&config=true" |
        tr -d ' \n' | grep -o "\"name\":\"\\\$MQTT_msgs\"[^}]*" | grep -o "\"$1\":[^,]*" | head -1 | cut -d: -f2 | tr -d '"'
}

# ---- 1. fresh server ---------------------------------------------------
start_nats a
MQTT_MSGS_MAX_AGE=2h30m MQTT_MSGS_MAX_BYTES=67108864 scripts/nats-streams.sh 127.0.0.1 "$NPORT" 1 \
    >"$T/a-create.log" 2>&1 || { cat "$T/a-create.log" >&2; fail "creating the stream failed"; }
[ "$(stream_field retention)" = limits ] || fail "retention is '$(stream_field retention)', want limits"
[ "$(stream_field max_age)" = $((9000 * 1000000000)) ] || fail "max_age is $(stream_field max_age), want 2h30m in ns"
[ "$(stream_field max_bytes)" = 67108864 ] || fail "max_bytes is $(stream_field max_bytes)"

# The MQTT layer takes the stream as it is: a QoS 1 message published with
# no QoS 1 subscriber anywhere is still stored (limits retention).
mosquitto_pub -h 127.0.0.1 -p "$MPORT" -q 1 -i t-pub -t sensors/s1/readings -m '{"v":1}' ||
    fail "QoS 1 publish through NATS MQTT failed"
msgs=$(curl -s "http://127.0.0.1:$HPORT/jsz?accounts=true&streams=true" | tr -d ' \n' |
    grep -o '"name":"\$MQTT_msgs"[^}]*}[^}]*' | grep -o '"messages":[0-9]*' | head -1 | cut -d: -f2)
[ "${msgs:-0}" -ge 1 ] || fail "the QoS 1 message was not kept in \$MQTT_msgs (messages=${msgs:-?})"
[ "$(stream_field retention)" = limits ] || fail "the MQTT layer changed the stream's retention"

# ---- 2. again: no-op -------------------------------------------------------
scripts/nats-streams.sh 127.0.0.1 "$NPORT" 1 >"$T/a-again.log" 2>&1 || { cat "$T/a-again.log" >&2; fail "second run failed"; }
[ ! -s "$T/a-again.log" ] || { cat "$T/a-again.log" >&2; fail "second run printed something"; }

# ---- 3. an MQTT client came first --------------------------------------------
start_nats b
mosquitto_pub -h 127.0.0.1 -p "$MPORT" -q 1 -i t-first -t x/y -m z || fail "QoS 1 publish to node b failed"
[ "$(stream_field retention)" = interest ] || fail "expected NATS's own interest-retention stream on node b"
set +e
scripts/nats-streams.sh 127.0.0.1 "$NPORT" 1 >"$T/b.log" 2>&1
rc=$?
set -e
[ $rc = 1 ] || fail "exit $rc with an interest-retention stream, want 1"
grep -q 'interest retention' "$T/b.log" || { cat "$T/b.log" >&2; fail "no warning about interest retention"; }
[ "$(stream_field retention)" = interest ] || fail "the existing stream was changed"
# --recreate converts it; QoS 1 through MQTT still works afterwards (the
# client's session consumer is made again when it subscribes).
MQTT_MSGS_MAX_BYTES=67108864 scripts/nats-streams.sh --recreate 127.0.0.1 "$NPORT" 1 >"$T/b-recreate.log" 2>&1 ||
    { cat "$T/b-recreate.log" >&2; fail "--recreate failed"; }
[ "$(stream_field retention)" = limits ] || fail "--recreate left retention '$(stream_field retention)'"
timeout 10 mosquitto_sub -h 127.0.0.1 -p "$MPORT" -q 1 -i t-sub -c -t r/+ -C 1 -W 8 >"$T/b-sub.out" &
sub=$!
for _ in $(seq 1 40); do
    mosquitto_pub -h 127.0.0.1 -p "$MPORT" -q 1 -i t-pub2 -t r/1 -m after-recreate || true
    [ -s "$T/b-sub.out" ] && break
    sleep 0.2
done
wait $sub || true
grep -q after-recreate "$T/b-sub.out" || fail "QoS 1 through MQTT did not work after --recreate"

# ---- 4. a server with users: NATS_USER / NATS_PASSWORD ---------------------
start_nats c 'authorization { users: [ { user: "ops", password: "p\"w\\1" } ] }'
set +e
READY_TIMEOUT=20 scripts/nats-streams.sh 127.0.0.1 "$NPORT" 1 >"$T/c-anon.log" 2>&1; rc=$?
set -e
[ $rc = 1 ] || fail "no credentials: exit $rc, want 1"
grep -q 'log-in refused' "$T/c-anon.log" || { cat "$T/c-anon.log" >&2; fail "no credentials: no clear error"; }
NATS_USER=ops NATS_PASSWORD='p"w\1' MQTT_MSGS_MAX_BYTES=67108864 scripts/nats-streams.sh 127.0.0.1 "$NPORT" 1 \
    >"$T/c-auth.log" 2>&1 || { cat "$T/c-auth.log" >&2; fail "with credentials (a quote and a backslash in the password) it failed"; }
[ "$(stream_field retention)" = limits ] || fail "with credentials: retention '$(stream_field retention)'"

# A server that refuses the log-in and closes at once: a clear error, not
# death by SIGPIPE (exit 141, seen once in CI against the real server, when
# the script wrote its request before reading the answer to its log-in).
fake=$(free_port)
/usr/bin/python3 - "$fake" >"$T/fake.log" 2>&1 <<'PY' &
import socket, sys
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", int(sys.argv[1])))
s.listen(4)
s.settimeout(20)
for _ in range(5):  # wait_port's probe, then the script's attempts
    c, _ = s.accept()
    try:
        c.sendall(b'INFO {"server_id":"fake","auth_required":true}\r\n')
        c.settimeout(5)
        if c.recv(4096):  # the CONNECT, as a real server reads it first
            c.sendall(b"-ERR 'Authorization Violation'\r\n")
    except OSError:
        pass
    c.close()
PY
PIDS+=($!)
wait_port "$fake" 10 || fail "the fake server did not start"
set +e
READY_TIMEOUT=5 scripts/nats-streams.sh 127.0.0.1 "$fake" 1 >"$T/fake-run.log" 2>&1; rc=$?
set -e
[ $rc = 1 ] || { cat "$T/fake-run.log" >&2; fail "log-in refused and connection closed: exit $rc, want 1"; }
grep -q 'log-in refused' "$T/fake-run.log" || { cat "$T/fake-run.log" >&2; fail "closed connection: no clear error"; }
grep -q "said: -ERR 'Authorization Violation'" "$T/fake-run.log" ||
    { cat "$T/fake-run.log" >&2; fail "the server's own error is not shown"; }

# ---- 5. bad arguments, nobody listening --------------------------------------
set +e
scripts/nats-streams.sh 127.0.0.1 >/dev/null 2>&1; rc1=$?
scripts/nats-streams.sh 127.0.0.1 "$NPORT" 9 >/dev/null 2>&1; rc2=$?
MQTT_MSGS_MAX_AGE=soon scripts/nats-streams.sh 127.0.0.1 "$NPORT" >/dev/null 2>&1; rc3=$?
dead=$(free_port)
start=$SECONDS
READY_TIMEOUT=2 scripts/nats-streams.sh 127.0.0.1 "$dead" >"$T/dead.log" 2>&1; rc4=$?
set -e
[ "$rc1 $rc2 $rc3" = "2 2 2" ] || fail "bad arguments exited $rc1 $rc2 $rc3, want 2 2 2"
[ $rc4 = 1 ] || fail "no server: exit $rc4, want 1"
[ $((SECONDS - start)) -le 10 ] || fail "no server: took $((SECONDS - start)) s"
grep -q 'could not create' "$T/dead.log" || { cat "$T/dead.log" >&2; fail "no server: no clear error"; }
echo "nats_streams: limits retention created, kept by MQTT, idempotent; interest stream reported and --recreate converts it; credentials; bad input refused"
