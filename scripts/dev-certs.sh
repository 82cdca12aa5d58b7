#!/usr/bin/env bash
# dev-certs.sh DIR — a development certificate authority and a server
# certificate for the broker's TLS listener, with openssl. Idempotent: kept
# while valid for another day, regenerated otherwise.
#   DIR/ca.crt, DIR/ca.key          the dev CA (clients: MQTT_CA_FILE=DIR/ca.crt)
#   DIR/server.crt, DIR/server.key  signed by it, valid for localhost,
#                                   mosquitto (the compose service), this host's
#                                   name, 127.0.0.1 and ::1, plus DEV_CERT_SANS
#                                   (e.g. "DNS:broker.lan,IP:192.168.1.10")
# Keys are 0600. For development only: use your own CA in production and
# point MQTT_TLS_DIR at it.
set -euo pipefail
dir=${1:-}
[ -n "$dir" ] || { echo "usage: $0 DIR" >&2; exit 2; }
command -v openssl >/dev/null || { echo "dev-certs: openssl not found (apt-get install openssl)" >&2; exit 2; }
mkdir -p "$dir"
cd "$dir"
days=${DEV_CERT_DAYS:-825}

valid() { [ -f "$1" ] && openssl x509 -in "$1" -noout -checkend 86400 >/dev/null 2>&1; }

umask 077
if ! valid ca.crt || [ ! -f ca.key ]; then
    openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.crt -days "$days" \
        -subj "/CN=iot-anomaly dev CA" -addext "basicConstraints=critical,CA:TRUE" \
        -addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null
    rm -f server.crt
fi
sans="DNS:localhost,DNS:mosquitto,DNS:$(hostname),IP:127.0.0.1,IP:::1${DEV_CERT_SANS:+,$DEV_CERT_SANS}"
if ! valid server.crt || [ ! -f server.key ] ||
    ! openssl verify -CAfile ca.crt server.crt >/dev/null 2>&1; then
    openssl req -newkey rsa:2048 -nodes -keyout server.key -out server.csr \
        -subj "/CN=localhost" 2>/dev/null
    printf 'subjectAltName=%s\nextendedKeyUsage=serverAuth\nbasicConstraints=CA:FALSE\n' "$sans" >server.ext
    openssl x509 -req -in server.csr -CA ca.crt -CAkey ca.key -CAcreateserial -out server.crt \
        -days "$days" -extfile server.ext 2>/dev/null
    rm -f server.csr server.ext
fi
chmod 600 ca.key server.key
chmod 644 ca.crt server.crt
echo "dev-certs: CA $dir/ca.crt, server certificate $dir/server.crt ($sans)"
