#!/usr/bin/env bash
# nats-streams.sh — create NATS MQTT's message stream ($MQTT_msgs) with
# limits retention, before the first MQTT client connects (docs/SCALING.md).
#
#   scripts/nats-streams.sh [--recreate] HOST PORT [REPLICAS]
#
# HOST:PORT is a node's NATS client listener (not its MQTT one). REPLICAS
# (default 3) is the stream's replica count, as mqtt.stream_replicas.
# NATS_USER and NATS_PASSWORD, when set, log in as that user: the stream is
# made in the user's account (with NATS accounts, run it once per account).
#
# Why: left to itself, nats-server 2.9 creates $MQTT_msgs with interest
# retention. A stream leader that does not (yet) know a subscription's
# consumer, as just after a node kill, then skips a QoS 1 message it has no
# interest for and acknowledges it all the same: the publisher gets its
# PUBACK and the message is gone. With limits retention every acknowledged
# QoS 1 message is stored, and the consumers take it from the stream as
# before (they start at new messages, so old ones are not replayed to new
# subscriptions). Messages are dropped by age and size instead:
#   MQTT_MSGS_MAX_AGE  (default 24h; Go duration syntax: 90m, 24h, ...)
#                      how long a partition's detector may be down without
#                      losing readings
#   MQTT_MSGS_MAX_BYTES (default 536870912, 512 MiB) the stream's size cap;
#                      the oldest messages go first. JetStream reserves it
#                      on every replica: keep it below the nodes'
#                      jetstream.max_file_store, with room for the session
#                      and retained-message streams
# When the stream already exists it is left as it is (limits included). If
# it has interest retention (an MQTT client connected first, or a store
# from before this script), it warns and exits 1; --recreate then deletes
# that stream and creates the limits one. Run it with every MQTT client
# stopped: QoS 1 messages not yet delivered are deleted with the stream,
# and the sessions' consumers are re-created when their clients return.
#
# Speaks the NATS client protocol over bash's /dev/tcp (no NATS client
# tool in Debian 12). Exits 0 when the stream exists with limits retention,
# 1 on other outcomes, 2 on bad arguments.
set -euo pipefail
# A server that closes the connection while we still write (a refused
# log-in): let the write fail (EPIPE) rather than the signal kill us.
trap '' PIPE

recreate=0
[ "${1:-}" = --recreate ] && { recreate=1; shift; }
[ $# -ge 2 ] || { awk 'NR == 1 { next } /^#/ { sub(/^# ?/, ""); print; next } { exit }' "$0" >&2; exit 2; }
host=$1 port=$2 replicas=${3:-3}
[[ "$port" =~ ^[0-9]+$ && "$replicas" =~ ^[1-5]$ ]] || { echo "nats-streams: bad PORT or REPLICAS" >&2; exit 2; }

# duration_ns 24h|90m|30s|1h30m -> nanoseconds
duration_ns() {
    local d=$1 total=0 n u
    [[ "$d" =~ ^([0-9]+[hms])+$ ]] || { echo "nats-streams: bad duration '$d' (e.g. 24h, 90m)" >&2; exit 2; }
    while [[ "$d" =~ ^([0-9]+)([hms])(.*)$ ]]; do
        n=${BASH_REMATCH[1]} u=${BASH_REMATCH[2]} d=${BASH_REMATCH[3]}
        case $u in h) total=$((total + n * 3600)) ;; m) total=$((total + n * 60)) ;; s) total=$((total + n)) ;; esac
    done
    echo $((total * 1000000000))
}
max_age=$(duration_ns "${MQTT_MSGS_MAX_AGE:-24h}")
max_bytes=${MQTT_MSGS_MAX_BYTES:-536870912}
[[ "$max_bytes" =~ ^[1-9][0-9]*$ ]] || { echo "nats-streams: bad MQTT_MSGS_MAX_BYTES" >&2; exit 2; }

# json_str S: S as a JSON string (quotes, backslashes and control characters escaped).
json_str() {
    local v=$1 out="" c i
    for ((i = 0; i < ${#v}; i++)); do
        c=${v:i:1}
        case $c in
            '"') out+='\"' ;;
            '\') out+='\\' ;;
            [[:cntrl:]]) out+=$(printf '\\u%04x' "'$c") ;;
            *) out+=$c ;;
        esac
    done
    printf '"%s"' "$out"
}
auth=""
if [ -n "${NATS_USER:-}" ]; then
    auth=",\"user\":$(json_str "$NATS_USER"),\"pass\":$(json_str "${NATS_PASSWORD:-}")"
fi

# request SUBJECT PAYLOAD: one JetStream API request; prints the reply's
# payload (JSON) or nothing after 5 s.
request() {
    local subj=$1 body=$2 line ok=0
    # (braces: a plain `exec ... 2>/dev/null` would silence the shell's
    # stderr for good, and the refusal below with it)
    { exec 3<>"/dev/tcp/$host/$port"; } 2>/dev/null || return 1
    IFS= read -r -t 5 line <&3 || { exec 3<&-; return 1; } # INFO
    # Log in and wait for the answer to a PING before sending anything
    # else: a server that refuses the log-in sends -ERR and closes, and a
    # write after that close would reset the connection and discard the
    # -ERR unread.
    printf 'CONNECT {"verbose":false,"pedantic":false,"headers":true,"no_responders":true,"name":"nats-streams"%s}\r\nPING\r\n' "$auth" >&3 2>/dev/null
    while IFS= read -r -t 5 line <&3; do
        line=${line%$'\r'}
        case $line in
            PONG) ok=1; break ;;
            -ERR*)
                echo "nats-streams: $host:$port said: $line" >&2
                case $line in *uthorization* | *uthentication*) echo AUTH-REFUSED ;; esac
                break ;;
        esac
    done
    [ $ok = 1 ] || { exec 3<&-; return 1; }
    printf 'SUB _INBOX.nats-streams.%s 1\r\nPUB %s _INBOX.nats-streams.%s %d\r\n%s\r\n' \
        "$$" "$subj" "$$" "${#body}" "$body" >&3 2>/dev/null
    while IFS= read -r -t 5 line <&3; do
        line=${line%$'\r'}
        case $line in
            PING) printf 'PONG\r\n' >&3 2>/dev/null ;;
            MSG\ *)
                IFS= read -r -t 5 line <&3 || break
                printf '%s\n' "${line%$'\r'}"
                exec 3<&-
                return 0
                ;;
            HMSG\ *) # no responders (503): JetStream not ready yet
                IFS= read -r -t 5 line <&3 || true
                break
                ;;
            -ERR*) echo "nats-streams: $host:$port said: $line" >&2; break ;;
        esac
    done
    exec 3<&-
    return 1
}

cfg="{\"name\":\"\$MQTT_msgs\",\"subjects\":[\"\$MQTT.msgs.>\"],\"retention\":\"limits\",\"storage\":\"file\",\"num_replicas\":$replicas,\"max_age\":$max_age,\"max_bytes\":$max_bytes,\"discard\":\"old\"}"
# Look first (an existing stream is kept as it is), create if missing.
# JetStream answers once the cluster has a meta leader; retry until then.
end=$((SECONDS + ${READY_TIMEOUT:-60}))
while :; do
    reply=$(request '$JS.API.STREAM.INFO.$MQTT_msgs' '' || true)
    case $reply in
        AUTH-REFUSED*) echo "nats-streams: log-in refused (set NATS_USER and NATS_PASSWORD)" >&2; exit 1 ;;
        *'"err_code":10059'*) # not found: create it
            reply=$(request '$JS.API.STREAM.CREATE.$MQTT_msgs' "$cfg" || true) ;;
    esac
    case $reply in
        *'"error"'*) ;;
        *'"retention":"limits"'*) exit 0 ;;
        *'"retention":"interest"'* | *'"retention":"workqueue"'*)
            [[ $reply =~ \"retention\":\"([a-z]+)\" ]]
            if [ $recreate = 1 ]; then
                del=$(request '$JS.API.STREAM.DELETE.$MQTT_msgs' '' || true)
                case $del in
                    *'"success":true'*) echo "nats-streams: deleted \$MQTT_msgs (${BASH_REMATCH[1]} retention); creating it with limits retention" >&2; continue ;;
                    *) echo "nats-streams: could not delete \$MQTT_msgs: ${del:-no answer}" >&2; exit 1 ;;
                esac
            fi
            echo "nats-streams: warning: \$MQTT_msgs exists with ${BASH_REMATCH[1]} retention, not limits (an MQTT client connected before it was created): acknowledged QoS 1 messages can be lost after a node failure; stop every MQTT client and run again with --recreate (docs/SCALING.md)" >&2
            exit 1 ;;
    esac
    case $reply in
        *'"err_code":10023'* | *'"err_code":10047'*) # no room: retrying will not help
            echo "nats-streams: cannot create \$MQTT_msgs: $reply (lower MQTT_MSGS_MAX_BYTES or raise max_file_store)" >&2
            exit 1 ;;
    esac
    # 10005 "no suitable peers for placement" also comes while a new
    # cluster's peers are still reporting to the meta leader (seen on a
    # loaded 2-core machine): retry it until the deadline like no answer.
    if [ $SECONDS -ge $end ]; then
        case $reply in
            *'"err_code":10005'*) echo "nats-streams: cannot create \$MQTT_msgs: $reply (the cluster's peers never became ready within READY_TIMEOUT, or no node has room: lower MQTT_MSGS_MAX_BYTES or raise max_file_store)" >&2 ;;
            *) echo "nats-streams: could not create \$MQTT_msgs through $host:$port: ${reply:-no answer}" >&2 ;;
        esac
        exit 1
    fi
    sleep 0.5
done
