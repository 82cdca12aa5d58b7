# The Docker Compose stack for real (make test-compose): builds the image,
# `up`s docker-compose.yml, waits until every service is healthy (one-shots:
# exited 0), adds a device account, publishes readings through the published
# broker port with it, sees the anomaly on the gateway's API and on chain
# (the gateway's proof, checked against the contract), `down`s, `up`s again
# and finds the state kept (the device's account, the anomaly on chain).
# Engine: Docker where a daemon answers, else podman (rootful, runc,
# cgroupfs, file events: a containers.conf of its own), driven by the same
# compose file through docker-compose against podman's API socket. Podman
# runs health checks from systemd timers; where no systemd runs, this test
# runs them (podman healthcheck run) every 3 s.
# Base image: debian:12-slim from a registry where one answers, else one
# built from Debian's packages with debootstrap, kept as localhost/iotac-debian:12
# (the second run reuses it, and the image's layers).
# Skips (77, reason printed) when no engine can start a container here.
# Settings: COMPOSE_BASE_IMAGE (skip the registry/debootstrap choice),
# DEBOOTSTRAP_MIRROR (http://deb.debian.org/debian), CA_BUNDLE (CA file passed
# read-only into podman builds, for TLS-intercepting proxies; default: the
# system bundle). Prints compose.build_s and compose.up_s.
. "$(dirname "$0")/../lib.sh"
cd "$ROOT"
for c in docker-compose curl jq mosquitto_pub; do
    command -v "$c" >/dev/null || fail "$c is not installed (scripts/install-deps.sh --test)"
done
P=iotac-ctest-$$
export MQTT_PORT HTTP_PORT
MQTT_PORT=$(free_port)
HTTP_PORT=$(free_port)
LOCAL_BASE=localhost/iotac-debian:12
G=http://127.0.0.1:$HTTP_PORT

# --- The engine -------------------------------------------------------------
if docker info >/dev/null 2>&1; then
    ENGINE=docker
else
    command -v podman >/dev/null || skip "no Docker daemon and no podman (scripts/install-deps.sh --test)"
    ENGINE=podman
    # runc and cgroupfs work where crun or systemd cgroups do not; limits no
    # higher than this shell's (a container may not raise them).
    cat >"$T/containers.conf" <<EOF
[containers]
default_ulimits = ["nofile=$(ulimit -Hn):$(ulimit -Hn)", "nproc=8192:8192"]
[engine]
runtime = "runc"
cgroup_manager = "cgroupfs"
events_logger = "file"
EOF
    export CONTAINERS_CONF=$T/containers.conf
fi
echo "engine: $ENGINE"

# --- The base image ---------------------------------------------------------
base_image() {
    if [ -n "${COMPOSE_BASE_IMAGE:-}" ]; then echo "$COMPOSE_BASE_IMAGE"; return; fi
    if $ENGINE image inspect debian:12-slim >/dev/null 2>&1; then echo debian:12-slim; return; fi
    if timeout 60 $ENGINE pull -q docker.io/library/debian:12-slim >"$T/pull.log" 2>&1; then
        echo docker.io/library/debian:12-slim; return
    fi
    echo "no image registry answers ($(tail -1 "$T/pull.log")); base image from debootstrap" >&2
    if ! $ENGINE image inspect "$LOCAL_BASE" >/dev/null 2>&1; then
        command -v debootstrap >/dev/null || skip "no image registry and no debootstrap (scripts/install-deps.sh --test)"
        local d=$T/rootfs mirror=${DEBOOTSTRAP_MIRROR:-http://deb.debian.org/debian}
        local t0=$SECONDS
        debootstrap --variant=minbase bookworm "$d" "$mirror" >"$T/debootstrap.log" 2>&1 ||
            fail "debootstrap failed: $(tail -3 "$T/debootstrap.log")"
        rm -rf "$d"/var/cache/apt/archives/*.deb "$d"/var/lib/apt/lists/*
        tar -C "$d" -c . | $ENGINE import - "$LOCAL_BASE" >/dev/null || fail "$ENGINE import of the debootstrap tree failed"
        rm -rf "$d"
        echo "base image $LOCAL_BASE built in $((SECONDS - t0)) s" >&2
    fi
    echo "$LOCAL_BASE"
}
BASE=$(base_image)
if ! out=$($ENGINE run --rm "$BASE" true 2>&1); then
    skip "$ENGINE cannot start a container here: $out"
fi

# --- Build ------------------------------------------------------------------
export BASE_IMAGE=$BASE
t0=$SECONDS
if [ "$ENGINE" = podman ]; then
    ca=()
    CA_BUNDLE=${CA_BUNDLE:-${SSL_CERT_FILE:-/etc/ssl/certs/ca-certificates.crt}}
    [ -r "$CA_BUNDLE" ] && ca=(-v "$CA_BUNDLE:/run/extra-ca.crt:ro")
    podman build --network host --build-arg BASE_IMAGE="$BASE" "${ca[@]+"${ca[@]}"}" \
        -t iot-anomaly-chain:latest . >"$T/build.log" 2>&1 || fail "image build failed: $(tail -20 "$T/build.log")"
else
    docker build --build-arg BASE_IMAGE="$BASE" -t iot-anomaly-chain:latest . >"$T/build.log" 2>&1 ||
        fail "image build failed: $(tail -20 "$T/build.log")"
fi
BUILD_S=$((SECONDS - t0))
echo "compose.build_s $BUILD_S"
# The runtime image has no build tools.
if $ENGINE run --rm iot-anomaly-chain:latest sh -c 'command -v cc || command -v gcc || command -v make || command -v npm'; then
    fail "the runtime image contains build tools"
fi

# --- Compose against the engine ---------------------------------------------
if [ "$ENGINE" = podman ]; then
    sock=$T/podman.sock
    bg podman-api podman system service --time=0 "unix://$sock"
    export DOCKER_HOST=unix://$sock
    wait_for 20 curl -sf --unix-socket "$sock" http://d/_ping || fail "podman API socket never answered"
    # Health checks, where no systemd timer runs them.
    if [ ! -d /run/systemd/system ]; then
        hc_loop() {
            while true; do
                for c in $(podman ps -q --filter "label=com.docker.compose.project=$P"); do
                    podman healthcheck run "$c" >/dev/null 2>&1 &
                done
                wait
                sleep 3
            done
        }
        bg healthchecks hc_loop
    fi
fi
dc() { docker-compose -p "$P" -f docker-compose.yml "$@"; }
compose_down() {
    dc down -v --remove-orphans >"$T/down-final.log" 2>&1 || true
}
trap 'rc=$?; compose_down; (exit $rc); cleanup' EXIT

# all_healthy: every long-running service healthy, every one-shot exited 0.
all_healthy() {
    local s id st bad=0
    for s in $(dc config --services); do
        id=$(dc ps -q "$s" 2>/dev/null | head -1)
        [ -n "$id" ] || { echo "$s: no container"; bad=1; continue; }
        st=$($ENGINE inspect -f '{{.State.Status}} {{.State.ExitCode}} {{if .State.Health}}{{.State.Health.Status}}{{end}}' "$id")
        case "$s:$st" in
            broker-auth:"exited 0"* | deploy:"exited 0"*) ;;
            *:"running 0 healthy") ;;
            *) echo "$s: $st"; bad=1 ;;
        esac
    done
    return $bad
}
# up_healthy WHAT: `up -d` and wait for all_healthy; prints WHAT's seconds.
# Healthy takes 45-190 s on a loaded 2-core machine; 420 s, then a failure
# run.sh retries once (SLOW-START).
up_healthy() {
    local t0=$SECONDS
    dc up -d --no-build >"$T/up-$1.log" 2>&1 ||
        fail "SLOW-START: compose up ($1) failed (a dependency never became healthy?): $(tail -20 "$T/up-$1.log")"
    local end=$((SECONDS + 420))
    until all_healthy >"$T/health.txt"; do
        [ $SECONDS -lt $end ] || {
            for s in $(dc config --services); do dc logs --tail 15 "$s" 2>&1; done
            fail "SLOW-START: not healthy after 420 s ($1): $(cat "$T/health.txt")"
        }
        sleep 2
    done
    echo "compose.up_s ($1) $((SECONDS - t0))"
}
up_healthy first

# --- Secrets per service (#19) ----------------------------------------------
# The gateway (the service facing browsers) sees its own account only: not
# the other services' accounts, the broker's files or the logger's key.
leak=$(dc exec -T gateway sh -c 'for f in /auth/*/*.env /auth/broker/* /state/broker/* /run/secrets/*; do [ -r "$f" ] && echo "$f"; done; true' | tr -d '\r')
[ "$leak" = "/auth/gateway/gateway.env" ] || fail "the gateway container can read: $(echo "$leak" | tr '\n' ' ')"
if $ENGINE inspect -f '{{range .Config.Env}}{{println .}}{{end}}' "$(dc ps -q chainlogger | head -1)" | grep -q '^PRIVATE_KEY='; then
    fail "the chain logger's key is in its environment (docker inspect shows it)"
fi
dc exec -T chainlogger sh -c 'test -r /run/secrets/logger_key' || fail "the chain logger cannot read its key secret"

# --- A device publishes through the published port ------------------------
dc exec -T mosquitto sh -c '/app/scripts/broker-auth.sh add-device ctest --dir /auth/broker >/dev/null && kill -HUP 1' ||
    fail "add-device in the mosquitto container failed"
PW=$(dc exec -T mosquitto cat /auth/broker/devices/ctest.password | tr -d '\r\n')
[ -n "$PW" ] || fail "no password for the device"
pub() { mosquitto_pub -h 127.0.0.1 -p "$MQTT_PORT" -u ctest -P "$PW" -i ctest-pub -t sensors/ctest/readings "$@"; }
# The account is needed: anonymous publishing on the published port is refused.
wait_for 10 pub -m '{"temperature": 21.0}' || fail "the device account cannot publish on 127.0.0.1:$MQTT_PORT"
if mosquitto_pub -h 127.0.0.1 -p "$MQTT_PORT" -i ctest-anon -t sensors/ctest/readings -m '{"temperature": 21}' 2>/dev/null; then
    fail "anonymous publish accepted on the published broker port"
fi
for i in $(seq 1 320); do echo "{\"temperature\": 21.$((i % 10)), \"humidity\": 4$((i % 7)).0}"; done | pub -l ||
    fail "publishing the warm-up readings failed"
pub -m '{"temperature": 1000, "humidity": 45.0}'

# --- The anomaly on the gateway's API and on chain --------------------------
anomaly_id() { curl -sf "$G/api/anomalies?sensor_id=ctest" | jq -r '.items[0].id // empty'; }
wait_for 60 sh -c "curl -sf '$G/api/anomalies?sensor_id=ctest' | jq -e '(.items[0].id) != null'" ||
    fail "no anomaly for ctest on the gateway: $(curl -s "$G/api/anomalies?sensor_id=ctest" | head -c 400)"
ID=$(anomaly_id)
logged() { curl -sf "$G/api/anomalies/$ID" | jq -e '.onchain.logged == true and .verified == true' >/dev/null; }
wait_for 90 logged || fail "anomaly $ID not logged on chain: $(curl -s "$G/api/anomalies/$ID" | head -c 600)"
echo "anomaly $ID logged on chain: $(curl -sf "$G/api/anomalies/$ID" | jq -c '{batch: .onchain.batch, root: .onchain.root}')"
# The demo simulator runs accelerated: its sensors are past their warm-up.
SIMS=$(curl -sf "$G/api/sensors" | jq '[.. | objects | select(has("sensor_id"))] | length')
[ "${SIMS:-0}" -gt 1 ] || fail "the simulator's sensors are missing: $(curl -s "$G/api/sensors" | head -c 300)"

# --- down, up: the state is kept --------------------------------------------
dc down >"$T/down.log" 2>&1 || fail "compose down failed: $(tail -5 "$T/down.log")"
up_healthy again
wait_for 60 logged || fail "after down/up, anomaly $ID is not shown on chain: $(curl -s "$G/api/anomalies/$ID" | head -c 600)"
wait_for 10 pub -m '{"temperature": 21.0}' || fail "after down/up, the device account no longer publishes"
echo "compose ok ($ENGINE, base $BASE): build ${BUILD_S} s; state kept across down/up"
