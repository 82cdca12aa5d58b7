#!/usr/bin/env bash
# cluster.sh — a NATS cluster on one machine, speaking MQTT on every node,
# for cluster mode (`make run-cluster`), its tests and its benchmark.
#
#   scripts/cluster.sh start DIR [BASE_PORT]   render configs into DIR, start
#                                              the nodes, wait until MQTT QoS 1
#                                              works through each, print ports
#   scripts/cluster.sh stop DIR                stop every node of DIR
#   scripts/cluster.sh kill DIR I              kill -9 node I (1-based), for tests
#   scripts/cluster.sh restart DIR I           start node I again (same config, same store)
#   scripts/cluster.sh status DIR              one line per node: up/down and ports
#
# Port layout from BASE_PORT (node i = 0..NODES-1):
#   MQTT BASE+i, NATS clients BASE+10+i, routes BASE+20+i, monitoring BASE+30+i.
# Without BASE_PORT a free block in 20000..32000 is chosen.
#
# DIR/cluster.env is written for shells to source: NATS_NODES, NATS_PARTITIONS,
# NATS_MQTT_PORTS, NATS_CLIENT_PORTS, NATS_HTTP_PORTS (space-separated), MQTT_URL
# (every node, comma-separated, in node order: what services take) and
# NATS_PIDS. Settings (environment): NODES (3), PARTITIONS (4), CHAINLOGGERS
# (1; above 1, anomalies are split between that many chain loggers), BIND
# (127.0.0.1), CLUSTER_NAME (iotac), MAX_FILE_STORE (1G), READY_TIMEOUT (60 s),
# WATCH_PID (stop the nodes when this process exits), MQTT_MSGS_MAX_AGE and
# MQTT_MSGS_MAX_BYTES (the QoS 1 message stream's limits: start creates it
# with limits retention before any MQTT client, scripts/nats-streams.sh;
# MQTT_MSGS_RECREATE=1 converts an older store's interest-retention stream).
# Login (issue #19): AUTH_DIR, a scripts/broker-auth.sh directory (init
# done), gives the nodes one user per broker account with the ACL's topics
# (broker-auth.sh nats; `make run-cluster` sets it); NATS_TLS_DIR
# (server.crt, server.key, ca.crt: scripts/dev-certs.sh) puts TLS on the
# MQTT listeners (MQTT_URL then says ssl://). Without both, BIND must be a
# loopback address: a cluster with no login or no TLS is not offered to the
# network. The NATS client, route and monitoring ports are always on
# 127.0.0.1. DIR then holds passwords: it is made 0700, the configs 0600.
# The nodes outlive this script (pid files DIR/nI.pid); callers stop them
# with `stop`, which TERMs them and KILLs what is left after 10 s.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
TEMPLATE=$ROOT/config/nats/node.conf.in

usage() {
    # the header comment, whatever its length
    awk 'NR == 1 { next } /^#/ { sub(/^# ?/, ""); print; next } { exit }' "$0" >&2
    exit 2
}

. "$ROOT/scripts/lib/stack.sh" # port_open

# pick_base NODES: a base port whose whole block (4 x 10 ports) is free.
# Below Linux's ephemeral range (32768+): there a port nobody listens on
# can still be the local end of some outgoing connection, and bind fails.
pick_base() {
    local n=$1 b ok
    for _ in $(seq 1 100); do
        b=$(((RANDOM % 1200) * 10 + 20000))
        ok=1
        for off in 0 10 20 30; do
            for ((i = 0; i < n; i++)); do
                if port_open $((b + off + i)); then ok=0; break 2; fi
            done
        done
        [ $ok = 1 ] && { echo "$b"; return 0; }
    done
    echo "cluster: no free port block found" >&2
    return 1
}

# load DIR: read DIR/cluster.env (written by start).
load() {
    local dir=$1
    [ -f "$dir/cluster.env" ] || { echo "cluster: no cluster in $dir (missing cluster.env)" >&2; exit 1; }
    # shellcheck disable=SC1091
    . "$dir/cluster.env"
    read -r -a MQTT_PORTS <<<"$NATS_MQTT_PORTS"
    read -r -a HTTP_PORTS <<<"$NATS_HTTP_PORTS"
    read -r -a CLIENT_PORTS <<<"$NATS_CLIENT_PORTS"
    # With login: mosquitto clients read DIR/mosq/mosquitto_{pub,sub}, the
    # stream script NATS_USER/NATS_PASSWORD (both as nats-admin).
    if [ -n "${NATS_AUTH_DIR:-}" ]; then
        export XDG_CONFIG_HOME=$dir/mosq NATS_USER=nats-admin
        NATS_PASSWORD=$(cat "$NATS_AUTH_DIR/nats-admin.password")
        export NATS_PASSWORD
    fi
}

node_pid() { # node_pid DIR I: the pid of node I if it runs, else nothing
    local f=$1/n$2.pid p
    [ -f "$f" ] || return 0
    p=$(cat "$f" 2>/dev/null || true)
    if [ -n "$p" ] && kill -0 "$p" 2>/dev/null; then echo "$p"; fi
}

start_node() { # start_node DIR I
    local dir=$1 i=$2
    rm -f "$dir/n$i.pid"
    nats-server -c "$dir/n$i.conf" >>"$dir/n$i.log" 2>&1 </dev/null &
    echo $! >"$dir/n$i.pid"
}

# mqtt_roundtrip SUB_PORT PUB_PORT: a QoS 1 message published on one node
# arrives at a subscriber on another. This needs the routes and JetStream
# (MQTT's session streams) to be up, so it is the readiness check.
mqtt_roundtrip() {
    local sp=$1 pp=$2 topic="cluster/ready/$RANDOM$RANDOM" out
    out=$(mktemp)
    timeout 8 mosquitto_sub -h 127.0.0.1 -p "$sp" -q 1 -t "$topic" -C 1 -W 6 >"$out" 2>/dev/null &
    local sub=$!
    # The subscription is made asynchronously; publish until it is seen.
    for _ in $(seq 1 25); do
        mosquitto_pub -h 127.0.0.1 -p "$pp" -q 1 -t "$topic" -m ready >/dev/null 2>&1 || true
        if [ -s "$out" ]; then break; fi
        sleep 0.2
    done
    wait "$sub" 2>/dev/null || true
    local ok=1
    grep -q ready "$out" && ok=0
    rm -f "$out"
    return $ok
}

wait_ready() { # wait_ready DIR: every node's MQTT listener carries QoS 1 messages
    local dir=$1 n=${#MQTT_PORTS[@]} end=$((SECONDS + ${READY_TIMEOUT:-60})) i
    for ((i = 0; i < n; i++)); do
        local p=${MQTT_PORTS[$i]} q=${MQTT_PORTS[$(((i + 1) % n))]}
        while ! port_open "$p"; do
            [ -n "$(node_pid "$dir" $((i + 1)))" ] || { echo "cluster: node $((i + 1)) exited; see $dir/n$((i + 1)).log" >&2; tail -n 3 "$dir/n$((i + 1)).log" >&2; return 1; }
            [ $SECONDS -lt $end ] || { echo "cluster: node $((i + 1)) did not open MQTT port $p; see $dir/n$((i + 1)).log" >&2; return 1; }
            sleep 0.1
        done
        # JetStream first: MQTT connections made before the cluster has elected
        # a meta leader wait 4 s and fail ("lookup sessions stream ... timeout").
        until curl -sf "http://127.0.0.1:${HTTP_PORTS[$i]}/jsz" 2>/dev/null | grep -q '"leader": *"[^"]'; do
            [ $SECONDS -lt $end ] || { echo "cluster: node $((i + 1)) JetStream not healthy; see $dir/n$((i + 1)).log" >&2; return 1; }
            sleep 0.2
        done
        # Before any MQTT client: NATS would create $MQTT_msgs itself, with
        # interest retention, which loses QoS 1 messages after a node kill.
        if [ "$i" = 0 ]; then
            READY_TIMEOUT=$((end - SECONDS > 1 ? end - SECONDS : 1)) \
                "$ROOT/scripts/nats-streams.sh" ${MQTT_MSGS_RECREATE:+--recreate} 127.0.0.1 "${CLIENT_PORTS[0]}" "$((n < 3 ? n : 3))" || {
                echo "cluster: the QoS 1 message stream is not usable (see above); a store from before limits retention is converted by MQTT_MSGS_RECREATE=1 (QoS 1 messages not yet delivered are dropped)" >&2
                return 1
            }
        fi
        until mqtt_roundtrip "$p" "$q"; do
            [ $SECONDS -lt $end ] || { echo "cluster: MQTT QoS 1 through node $((i + 1)) (port $p) did not work; see $dir/n$((i + 1)).log" >&2; return 1; }
            sleep 0.5
        done
    done
}

cmd_start() {
    local dir=$1 base=${2:-}
    local n=${NODES:-3} parts=${PARTITIONS:-4} bind=${BIND:-127.0.0.1} loggers=${CHAINLOGGERS:-1}
    command -v nats-server >/dev/null || { echo "cluster: nats-server is not installed (apt-get install nats-server)" >&2; exit 1; }
    command -v mosquitto_pub >/dev/null || { echo "cluster: mosquitto_pub is not installed (mosquitto-clients)" >&2; exit 1; }
    [[ "$n" =~ ^[1-9]$ ]] || { echo "cluster: NODES must be 1..9" >&2; exit 2; }
    [[ "$parts" =~ ^[1-9][0-9]*$ ]] || { echo "cluster: PARTITIONS must be a positive integer" >&2; exit 2; }
    [[ "$loggers" =~ ^[1-9][0-9]*$ ]] || { echo "cluster: CHAINLOGGERS must be a positive integer" >&2; exit 2; }
    # One chain logger takes anomalies/+ as with mosquitto; several split
    # them by the same hash (chainlogger --partition J --partitions M).
    local amap=""
    [ "$loggers" -gt 1 ] && amap="  \"anomalies.*\": \"apart.{{partition($loggers,1)}}.anomalies.{{wildcard(1)}}\""
    mkdir -p "$dir"
    dir=$(cd "$dir" && pwd)
    for ((i = 1; i <= n; i++)); do
        if [ -n "$(node_pid "$dir" $i)" ]; then
            echo "cluster: node $i of $dir is already running" >&2
            exit 1
        fi
    done
    [ -n "$base" ] || base=$(pick_base "$n")
    local replicas=$((n < 3 ? n : 3))
    local auth=${AUTH_DIR:-} tls=${NATS_TLS_DIR:-} scheme=tcp tls_line=""
    case "$bind" in
        127.* | localhost | ::1) ;;
        *)
            [ -n "$auth" ] && [ -n "$tls" ] || {
                echo "cluster: BIND=$bind would offer MQTT beyond this machine: that needs login (AUTH_DIR) and TLS (NATS_TLS_DIR); use BIND=127.0.0.1 otherwise" >&2
                exit 2
            } ;;
    esac
    chmod 700 "$dir"
    if [ -n "$auth" ]; then
        "$ROOT/scripts/broker-auth.sh" nats "$auth" "$dir/auth.conf" || { echo "cluster: cannot render the accounts of $auth" >&2; exit 1; }
        # The readiness checks' MQTT clients log in as nats-admin, the
        # password read from a 0600 options file, never a command line.
        mkdir -p "$dir/mosq"
        (umask 077 && printf -- '-u nats-admin\n-P %s\n%s' "$(cat "$auth/nats-admin.password")" \
            "${tls:+--cafile $tls/ca.crt
}" | tee "$dir/mosq/mosquitto_pub" >"$dir/mosq/mosquitto_sub")
    else
        rm -f "$dir/auth.conf"
        rm -rf "$dir/mosq"
    fi
    if [ -n "$tls" ]; then
        for f in ca.crt server.crt server.key; do
            [ -f "$tls/$f" ] || { echo "cluster: $tls/$f missing (scripts/dev-certs.sh $tls)" >&2; exit 1; }
        done
        tls_line="  tls { cert_file: \"$tls/server.crt\", key_file: \"$tls/server.key\" }"
        scheme=ssl
    fi
    local mqtt_ports="" client_ports="" http_ports="" uris=""
    for ((i = 0; i < n; i++)); do
        local routes=""
        for ((j = 0; j < n; j++)); do
            [ $j = $i ] && continue
            routes+="    nats-route://127.0.0.1:$((base + 20 + j))"$'\n'
        done
        routes=${routes%$'\n'}
        mkdir -p "$dir/js$((i + 1))"
        local conf=$dir/n$((i + 1)).conf
        # Fill the template; ROUTES spans lines, so it is substituted by awk.
        sed -e "s|@NAME@|n$((i + 1))|g" -e "s|@BIND@|$bind|g" \
            -e "s|@CLIENT_PORT@|$((base + 10 + i))|g" -e "s|@ROUTE_PORT@|$((base + 20 + i))|g" \
            -e "s|@MQTT_PORT@|$((base + i))|g" -e "s|@HTTP_PORT@|$((base + 30 + i))|g" \
            -e "s|@STORE_DIR@|$dir/js$((i + 1))|g" -e "s|@CLUSTER_NAME@|${CLUSTER_NAME:-iotac}|g" \
            -e "s|@MAX_FILE_STORE@|${MAX_FILE_STORE:-1G}|g" -e "s|@REPLICAS@|$replicas|g" \
            -e "s|@PARTITIONS@|$parts|g" "$TEMPLATE" |
            awk -v r="$routes" -v a="$amap" -v t="$tls_line" -v af="${auth:+$dir/auth.conf}" '
                $0 == "@ROUTES@" { print r; next }
                $0 == "@ANOMALY_MAPPING@" { if (a != "") print a; next }
                $0 == "@MQTT_TLS@" { if (t != "") print t; next }
                $0 == "@AUTH@" { if (af != "") while ((getline l < af) > 0) print l; next }
                { print }' >"$conf"
        chmod 600 "$conf"
        nats-server -t -c "$conf" >/dev/null 2>&1 || {
            echo "cluster: invalid config $conf:" >&2
            nats-server -t -c "$conf" >&2 || true
            exit 1
        }
        mqtt_ports+="$((base + i)) "
        client_ports+="$((base + 10 + i)) "
        http_ports+="$((base + 30 + i)) "
        uris+="$scheme://127.0.0.1:$((base + i)),"
    done
    for ((i = 1; i <= n; i++)); do start_node "$dir" $i; done
    local pids=""
    for ((i = 1; i <= n; i++)); do pids+="$(cat "$dir/n$i.pid") "; done
    cat >"$dir/cluster.env" <<ENV
NATS_NODES=$n
NATS_PARTITIONS=$parts
NATS_CHAINLOGGERS=$loggers
NATS_BASE_PORT=$base
NATS_MQTT_PORTS="${mqtt_ports% }"
NATS_CLIENT_PORTS="${client_ports% }"
NATS_HTTP_PORTS="${http_ports% }"
NATS_PIDS="${pids% }"
NATS_AUTH_DIR=${auth:+$(cd "$auth" && pwd)}
MQTT_URL=${uris%,}
ENV
    load "$dir"
    # A caller that may die without calling `stop` (a crashing test) names
    # itself in WATCH_PID: the nodes are stopped when that process is gone.
    if [ -n "${WATCH_PID:-}" ]; then
        (
            # Remember the pids too: the caller may delete DIR on its way out.
            known=""
            while kill -0 "$WATCH_PID" 2>/dev/null; do
                known=$(cat "$dir"/n*.pid 2>/dev/null | tr '\n' ' ')
                sleep 1
            done
            if [ -f "$dir/cluster.env" ]; then
                "$0" stop "$dir"
            else
                for p in $known; do
                    grep -qa "$dir/n" "/proc/$p/cmdline" 2>/dev/null && kill -KILL "$p"
                done
            fi
        ) >/dev/null 2>&1 </dev/null &
    fi
    if ! wait_ready "$dir"; then
        cmd_stop "$dir"
        exit 1
    fi
    echo "cluster: $n NATS nodes up in $dir, $parts partitions, $loggers chain logger partition(s)"
    for ((i = 1; i <= n; i++)); do
        echo "  n$i  mqtt $scheme://127.0.0.1:$((base + i - 1))  nats 127.0.0.1:$((base + 9 + i))  monitor http://127.0.0.1:$((base + 29 + i))/  log $dir/n$i.log"
    done
    echo "  MQTT_URL=$MQTT_URL"
}

cmd_stop() {
    local dir=$1 i p pids=()
    load "$dir"
    for ((i = 1; i <= NATS_NODES; i++)); do
        p=$(node_pid "$dir" $i)
        [ -n "$p" ] && { kill -TERM "$p" 2>/dev/null || true; pids+=("$p"); }
    done
    for _ in $(seq 1 100); do
        local alive=0
        for p in "${pids[@]+"${pids[@]}"}"; do kill -0 "$p" 2>/dev/null && alive=1; done
        [ $alive = 0 ] && break
        sleep 0.1
    done
    for p in "${pids[@]+"${pids[@]}"}"; do kill -KILL "$p" 2>/dev/null || true; done
    return 0
}

cmd_kill() {
    local dir=$1 i=$2 p
    load "$dir"
    p=$(node_pid "$dir" "$i")
    [ -n "$p" ] || { echo "cluster: node $i is not running" >&2; exit 1; }
    kill -KILL "$p"
    for _ in $(seq 1 50); do kill -0 "$p" 2>/dev/null || return 0; sleep 0.1; done
}

cmd_restart() {
    local dir=$1 i=$2
    load "$dir"
    [ -z "$(node_pid "$dir" "$i")" ] || { echo "cluster: node $i is running" >&2; exit 1; }
    start_node "$dir" "$i"
    local p=${MQTT_PORTS[$((i - 1))]} q=${MQTT_PORTS[$((i % NATS_NODES))]} end=$((SECONDS + ${READY_TIMEOUT:-60}))
    until port_open "$p" && mqtt_roundtrip "$p" "$q"; do
        [ $SECONDS -lt $end ] || { echo "cluster: node $i did not come back; see $dir/n$i.log" >&2; exit 1; }
        sleep 0.5
    done
    cat "$dir/n$i.pid"
}

cmd_status() {
    local dir=$1 i p
    load "$dir"
    for ((i = 1; i <= NATS_NODES; i++)); do
        p=$(node_pid "$dir" $i)
        printf 'n%d %s mqtt=%s monitor=%s\n' "$i" "$([ -n "$p" ] && echo "up pid=$p" || echo down)" "${MQTT_PORTS[$((i - 1))]}" "${HTTP_PORTS[$((i - 1))]}"
    done
}

[ $# -ge 2 ] || usage
case "$1" in
    start) cmd_start "$2" "${3:-}" ;;
    stop) cmd_stop "$2" ;;
    kill) [ $# -ge 3 ] || usage; cmd_kill "$2" "$3" ;;
    restart) [ $# -ge 3 ] || usage; cmd_restart "$2" "$3" ;;
    status) cmd_status "$2" ;;
    *) usage ;;
esac
