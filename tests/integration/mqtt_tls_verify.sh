# MQTT over TLS checks the broker's name (#19 item 10): with MQTT_CA_FILE,
# a service connects to a mosquitto TLS listener on loopback whose
# certificate (signed by the dev CA, scripts/dev-certs.sh) names 127.0.0.1,
# and refuses one whose certificate, signed by the same CA, is for another
# name only (what a man in the middle holding any certificate of that CA
# would present).
. "$(dirname "$0")/../lib.sh"
[ -x "$BIN/gateway" ] || fail "missing $BIN/gateway"
command -v openssl >/dev/null || skip "no openssl"
D=$T/tls
"$ROOT/scripts/dev-certs.sh" "$D" >/dev/null
# A second server certificate from the same CA, for another name only.
(
    cd "$D"
    umask 077
    openssl req -newkey rsa:2048 -nodes -keyout wrong.key -out wrong.csr -subj "/CN=wrong.example" 2>/dev/null
    printf 'subjectAltName=DNS:wrong.example\nextendedKeyUsage=serverAuth\nbasicConstraints=CA:FALSE\n' >wrong.ext
    openssl x509 -req -in wrong.csr -CA ca.crt -CAkey ca.key -CAcreateserial -out wrong.crt -days 2 \
        -extfile wrong.ext 2>/dev/null
    chmod 644 wrong.crt wrong.key server.key
)
openssl verify -CAfile "$D/ca.crt" "$D/wrong.crt" >/dev/null || fail "wrong.crt is not signed by the dev CA"

# tls_broker NAME CERT KEY: a mosquitto TLS listener on a free port; sets TLS_PORT.
tls_broker() {
    local name=$1 cert=$2 key=$3 try
    for try in 1 2 3; do
        TLS_PORT=$(free_port)
        cat >"$T/$name.conf" <<CONF
listener $TLS_PORT 127.0.0.1
allow_anonymous true
cafile $D/ca.crt
certfile $cert
keyfile $key
CONF
        bg "$name" mosquitto -c "$T/$name.conf"
        if wait_port "$TLS_PORT" 10 && kill -0 "$LAST_PID" 2>/dev/null; then return 0; fi
    done
    fail "mosquitto ($name) did not start: $(cat "$T/$name.log")"
}
tls_broker good "$D/server.crt" "$D/server.key"
GOOD=$TLS_PORT
tls_broker bad "$D/wrong.crt" "$D/wrong.key"
BAD=$TLS_PORT
mosquitto_pub -h 127.0.0.1 -p "$GOOD" --cafile "$D/ca.crt" -t t -m x || fail "mosquitto_pub to the good listener"

# gateway GOOD|BAD PORT: run a gateway against ssl://127.0.0.1:PORT.
run_gw() {
    GW_PORT=$(free_port)
    bg "gw-$1" env GATEWAY_PORT="$GW_PORT" MQTT_URL="ssl://127.0.0.1:$2" MQTT_CA_FILE="$D/ca.crt" \
        RPC_URL=http://127.0.0.1:9 STATE_DIR="$T/state-$1" "$BIN/gateway"
}
run_gw good "$GOOD"
wait_for 15 grep -q 'mqtt_connected' "$T/gw-good.log" || fail "no TLS connection to a broker with the right name: $(tail -5 "$T/gw-good.log")"
run_gw bad "$BAD"
sleep 8
grep -q 'mqtt_connected' "$T/gw-bad.log" && fail "connected to a broker whose certificate is for wrong.example: $(tail -5 "$T/gw-bad.log")"
grep -qi 'connect' "$T/gw-bad.log" || fail "no connection error logged: $(tail -5 "$T/gw-bad.log")"
echo "mqtt_tls_verify ok"
