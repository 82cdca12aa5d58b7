#!/usr/bin/env bash
# broker-auth.sh — accounts, passwords and ACL for the MQTT broker, so that
# no one reaches it anonymously from the network and each service can use
# only the topics it needs (docs/RELIABILITY.md, "Broker security").
#
#   scripts/broker-auth.sh init DIR [MAPPING]
#       Create or refresh, in DIR (idempotent: existing passwords are kept):
#         DIR/<svc>.password   one random password per service, mode 0600
#                              (simulator detector chainlogger gateway)
#         DIR/<svc>.env        MQTT_USERNAME=<svc> and MQTT_PASSWORD=..., 0600,
#                              for `set -a; . DIR/<svc>.env` or `env_file:`
#         DIR/passwd           mosquitto password file (hashed), 0600
#         DIR/acl              per-user topic rules for the authenticated listeners
#         DIR/acl-local        rules for the optional anonymous loopback listener
#       MAPPING (or $INGEST_MAPPING) is the ingest mapping file; the detector
#       and the gateway may also read the device topics it configures
#       (custom Zigbee2MQTT/Tasmota/SenML topics, ESPHome state topics).
#   scripts/broker-auth.sh add-device NAME [TOPIC...] [--dir DIR]
#       Add (or keep) an account for one device, allowed to publish only its
#       own topics: sensors/NAME/readings, zigbee2mqtt/NAME, tele/NAME/#,
#       NAME/sensor/+/state, NAME/status, senml/NAME, plus any TOPIC given
#       (no wildcards, nothing under anomalies/ chain/ status/ part/ sim/ $).
#       NAME is 1..64 of [A-Za-z0-9_:-] (no '.': in sensor ids it separates a
#       device from its parts). Prints the device's password file. Regenerates
#       passwd and acl; a running mosquitto picks them up on SIGHUP.
#   scripts/broker-auth.sh remove-device NAME [--dir DIR]
#   scripts/broker-auth.sh conf DIR OUT
#       Render config/mosquitto-secure.conf.in into OUT using DIR and these
#       environment variables (defaults in brackets):
#         MQTT_PORT [1883], MQTT_BIND [0.0.0.0]  the authenticated listener
#         MQTT_LOCAL_PORT [""]   anonymous listener on 127.0.0.1 (read all,
#                                write only the ingest topics); "" = none
#         MQTT_TLS_PORT [""]     TLS listener (passwords + ACL); "" = none
#         MQTT_TLS_DIR [DIR/tls] ca.crt, server.crt, server.key (scripts/dev-certs.sh)
#         STATE_DIR [./state]    persistence goes to STATE_DIR/mosquitto/
#         MQTT_BROKER_USER [the current user]  user mosquitto runs as; it must
#                                be able to read DIR (files are 0600)
#       Values are checked first: one line each, ports numbers, address and
#       user plain words; paths may contain '/', '&', '|' (escaped for sed).
#   scripts/broker-auth.sh nats DIR OUT
#       Render the same accounts and ACL (DIR/acl, as init/add-device left
#       it) as a NATS authorization block for cluster mode (scripts/cluster.sh
#       AUTH_DIR, docker-compose.cluster.yml): one NATS user per account with
#       its password, `topic write` -> publish, `topic read` -> subscribe (MQTT
#       '/' '+' '#' -> NATS '.' '*' '>'; "a/#" also allows "a", as in
#       mosquitto); a rule on a topic the cluster maps (sensors/..., device
#       topics -> part/{k}/...; anomalies/... -> apart/{j}/...) also covers the
#       mapped subject, which is what NATS checks. Readers may subscribe to
#       $MQTT.sub.> (NATS delivers QoS 1 messages there). Plus user
#       nats-admin (password DIR/nats-admin.password, created here): the
#       JetStream API for scripts/nats-streams.sh and the readiness checks'
#       topics. OUT is 0600 (it holds the passwords).
# DIR defaults to $BROKER_AUTH_DIR, else $STATE_DIR/broker, for add-device
# and remove-device. Passwords never appear on a command line (mosquitto_passwd
# -U hashes a 0600 file in place) and are never printed.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
SERVICES=(simulator detector chainlogger gateway notifier)
# Topic prefixes a device name may not take (they belong to the services).
RESERVED=" sensors anomalies chain sim part zigbee2mqtt tele senml homeassistant simulator detector chainlogger gateway notifier notify status "

die() { echo "broker-auth: $*" >&2; exit 2; }

default_dir() { echo "${BROKER_AUTH_DIR:-${STATE_DIR:-$ROOT/state}/broker}"; }

new_password() { head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n'; }

# ensure_password FILE: create FILE with a random password unless present.
ensure_password() {
    local f=$1
    if [ ! -s "$f" ]; then
        (umask 077 && new_password >"$f.tmp" && mv "$f.tmp" "$f")
    fi
    chmod 600 "$f"
}

# Device names: no '.', which separates a device from its parts in sensor
# ids (device "a" owns "a.<part>", docs/SENSORS.md "Which device may write
# which sensor"): a device "a.b" would share ids with device "a"'s part "b".
valid_name() { [[ "$1" =~ ^[A-Za-z0-9_:-]{1,64}$ ]]; }
# Existing names (remove-device) may still carry a '.'.
valid_old_name() { [[ "$1" =~ ^[A-Za-z0-9_.:-]{1,64}$ ]]; }

# Topic roots an extra device topic may not start with: what the services
# publish (anomalies, chain confirmations, status reports, partitions, the
# simulator's control) and the broker's own $-topics.
extra_topic_ok() {
    local t=$1 root=${1%%/*}
    [ -n "$t" ] && [[ "$t" != *[+#]* && "$t" != *[[:cntrl:]]* ]] || return 1
    case "$root" in anomalies | chain | status | part | sim | \$*) return 1 ;; esac
    return 0
}

# conf: a value pasted into the config must be one line (a newline would add
# a configuration line of its own) ...
one_line() { [[ "$2" != *[[:cntrl:]]* ]] || die "$1 must not contain control characters (newline, ...)"; }
# ... and is escaped for the right-hand side of a sed s|...|...| command.
sed_rhs() { printf '%s' "$1" | sed -e 's/[\\|&]/\\&/g'; }
port_ok() { [[ "$2" =~ ^[0-9]{1,5}$ ]] && [ "$2" -ge 1 ] && [ "$2" -le 65535 ] || die "$1 must be a port number, not '$2'"; }

# Topics the ingest adapters read: the defaults of every adapter, plus what
# the mapping file configures (node is already a dependency for Ganache).
ingest_read_topics() {
    local mapping=${1:-}
    printf '%s\n' "sensors/+/readings" "zigbee2mqtt/#" "tele/+/SENSOR" "+/sensor/+/state" \
        "homeassistant/sensor/+/state" "senml/#"
    [ -n "$mapping" ] || return 0
    [ -f "$mapping" ] || die "mapping file $mapping not found"
    node -e '
        const m = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
        const a = m.adapters || {}, out = [];
        const on = (s) => s && s.enabled !== false;
        if (on(a.zigbee2mqtt) && a.zigbee2mqtt.topic) out.push(a.zigbee2mqtt.topic);
        if (on(a.tasmota) && a.tasmota.topic) out.push(a.tasmota.topic);
        if (on(a.senml)) for (const t of a.senml.topics || []) out.push(t);
        if (on(a.esphome)) for (const g of a.esphome.groups || []) for (const s of g.states || [])
            out.push(s.topic ? s.topic : `${g.prefix}/${g.component || "sensor"}/${s.name}/state`);
        for (const t of out) if (typeof t === "string" && t && !/[\n\r]/.test(t)) console.log(t);
    ' "$mapping"
}

write_acl() {
    local dir=$1 mapping=${2:-} tmp
    tmp=$(mktemp "$dir/.acl.XXXXXX")
    local ingest
    ingest=$(ingest_read_topics "$mapping" | awk '!seen[$0]++')
    {
        echo "# Generated by scripts/broker-auth.sh; edit that, not this."
        echo "# Anything not allowed here is denied (publishes dropped, subscriptions refused)."
        echo
        echo "user simulator"
        echo "topic write sensors/#"
        echo "topic write sim/#"
        echo "topic write status/simulator/+/availability" # online/offline (MQTT last will)
        echo
        echo "user detector"
        while IFS= read -r t; do echo "topic read $t"; done <<<"$ingest"
        echo "topic read part/#"
        echo "topic write anomalies/#"
        echo "topic write detector/alarm/#"
        echo "topic write detector/repeat/#" # folded alerts, summed (bus/alert_repeat.h)
        echo "topic read detector/feedback/#" # people's false_positive verdicts (issue #17)
        echo "topic write status/detector/#"
        echo
        echo "user chainlogger"
        echo "topic read anomalies/#"
        echo "topic read alarms/events/#" # the audit trail of alarm lifecycles (issue #17)
        echo "topic write chain/#"
        echo "topic write status/chainlogger/#"
        echo
        echo "user notifier"
        echo "topic read alarms/#"
        echo "topic read anomalies/#"
        echo "topic read notify/test"
        echo "topic read homeassistant/status" # HA's birth: discovery configs published again
        echo "topic write notify/#"        # HA summaries, mqtt channels (keep their topics here)
        echo "topic write homeassistant/#" # Home Assistant discovery
        echo "topic write status/notifier/#"
        echo
        echo "user gateway"
        while IFS= read -r t; do echo "topic read $t"; done <<<"$ingest"
        echo "topic read sensors/#"
        echo "topic read anomalies/#"
        echo "topic read detector/alarm/#"
        echo "topic read detector/repeat/#"
        echo "topic read chain/#"
        echo "topic read sim/#"
        echo "topic read status/#"
        echo "topic write sensors/+/readings"
        echo "topic write status/gateway/+/availability" # online/offline (MQTT last will)
        echo "topic write alarms/#" # alarm lifecycle (issue #17), read by the notifier
        echo "topic write detector/feedback/#" # false_positive verdicts, read by the detector
        echo "topic read notify/channels/+" # the notifier's channel reports (GET /api/notify/channels)
        echo "topic write notify/test"      # POST /api/notify/test
        if [ -d "$dir/devices" ]; then
            for f in "$dir"/devices/*.topics; do
                [ -f "$f" ] || continue
                local name
                name=$(basename "$f" .topics)
                echo
                echo "user $name"
                while IFS= read -r t; do [ -n "$t" ] && echo "topic write $t"; done <"$f"
            done
        fi
    } >"$tmp"
    chmod 600 "$tmp"
    mv "$tmp" "$dir/acl"

    # The anonymous loopback listener (when enabled): local tools may watch
    # everything and inject readings in every format the detector reads
    # (the same generated list as its ACL: a device on this machine, or a
    # person trying docs/SENSORS.md, needs no account), but cannot forge
    # anomalies, chain confirmations or status.
    tmp=$(mktemp "$dir/.acl-local.XXXXXX")
    {
        echo "# Generated by scripts/broker-auth.sh: anonymous clients on 127.0.0.1 only."
        echo "topic read #"
        echo "topic read \$SYS/#" # "#" does not cover $SYS; health checks read its uptime
        echo "topic write notify/test" # a test message from the notifier (docs/notifier.md)
        # A mapping may name any topic: never one under the services' own prefixes.
        while IFS= read -r t; do
            case "$t" in anomalies/* | chain/* | status/* | part/* | sim/* | "#" | +/+* | +/#) continue ;; esac
            echo "topic write $t"
        done <<<"$ingest"
    } >"$tmp"
    chmod 600 "$tmp"
    mv "$tmp" "$dir/acl-local"
}

write_passwd() {
    local dir=$1 tmp u f
    tmp=$(mktemp "$dir/.passwd.XXXXXX") # mode 0600
    for u in "${SERVICES[@]}"; do
        printf '%s:%s\n' "$u" "$(cat "$dir/$u.password")" >>"$tmp"
    done
    if [ -d "$dir/devices" ]; then
        for f in "$dir"/devices/*.password; do
            [ -f "$f" ] || continue
            printf '%s:%s\n' "$(basename "$f" .password)" "$(cat "$f")" >>"$tmp"
        done
    fi
    mosquitto_passwd -U "$tmp" >/dev/null
    chmod 600 "$tmp"
    mv "$tmp" "$dir/passwd"
}

cmd_init() {
    local dir=${1:-} mapping=${2:-${INGEST_MAPPING:-}}
    [ -n "$dir" ] || die "usage: $0 init DIR [MAPPING]"
    command -v mosquitto_passwd >/dev/null || die "mosquitto_passwd not found (apt-get install mosquitto)"
    mkdir -p "$dir"
    chmod 700 "$dir"
    for u in "${SERVICES[@]}"; do
        ensure_password "$dir/$u.password"
        (umask 077 && printf 'MQTT_USERNAME=%s\nMQTT_PASSWORD=%s\n' "$u" "$(cat "$dir/$u.password")" \
            >"$dir/$u.env.tmp" && mv "$dir/$u.env.tmp" "$dir/$u.env")
    done
    # Remember the mapping, so add-device regenerates the same read rules.
    if [ -n "$mapping" ]; then
        [ -f "$mapping" ] || die "mapping file $mapping not found"
        (umask 077 && readlink -f "$mapping" >"$dir/mapping")
    else
        rm -f "$dir/mapping"
    fi
    write_passwd "$dir"
    write_acl "$dir" "$mapping"
    echo "broker-auth: accounts ${SERVICES[*]} ready in $dir"
}

stored_mapping() { [ -f "$1/mapping" ] && cat "$1/mapping" || true; }

# Parse a trailing --dir DIR out of "$@" into DIR_ARG; the rest into ARGS.
split_dir() {
    DIR_ARG=$(default_dir)
    ARGS=()
    while [ $# -gt 0 ]; do
        if [ "$1" = --dir ]; then
            [ $# -ge 2 ] || die "--dir needs a directory"
            DIR_ARG=$2
            shift 2
        else
            ARGS+=("$1")
            shift
        fi
    done
}

cmd_add_device() {
    split_dir "$@"
    set -- "${ARGS[@]+"${ARGS[@]}"}"
    local name=${1:-} dir=$DIR_ARG
    [ -n "$name" ] || die "usage: $0 add-device NAME [TOPIC...] [--dir DIR]"
    shift
    valid_name "$name" || die "device name must be 1..64 characters of [A-Za-z0-9_:-] (no '.': it separates a device from its parts)"
    case "$RESERVED" in *" $name "*) die "'$name' is reserved for the services" ;; esac
    [ -f "$dir/passwd" ] || die "$dir is not initialised: run $0 init $dir first"
    mkdir -p "$dir/devices"
    chmod 700 "$dir/devices"
    local topics=("sensors/$name/readings" "zigbee2mqtt/$name" "tele/$name/#" "$name/sensor/+/state"
                  "$name/status" "senml/$name")
    for t in "$@"; do
        extra_topic_ok "$t" ||
            die "extra topic '$t': no wildcards or control characters, and not under anomalies/, chain/, status/, part/, sim/ or \$ (those belong to the services)"
        topics+=("$t")
    done
    ensure_password "$dir/devices/$name.password"
    (umask 077 && printf '%s\n' "${topics[@]}" >"$dir/devices/$name.topics")
    write_passwd "$dir"
    write_acl "$dir" "$(stored_mapping "$dir")"
    echo "broker-auth: device '$name' may publish: ${topics[*]}"
    echo "broker-auth: its password is in $dir/devices/$name.password (send SIGHUP to mosquitto to reload)"
}

cmd_remove_device() {
    split_dir "$@"
    local name=${ARGS[0]:-} dir=$DIR_ARG
    [ -n "$name" ] && valid_old_name "$name" || die "usage: $0 remove-device NAME [--dir DIR]"
    rm -f "$dir/devices/$name.password" "$dir/devices/$name.topics"
    write_passwd "$dir"
    write_acl "$dir" "$(stored_mapping "$dir")"
    echo "broker-auth: device '$name' removed"
}

cmd_conf() {
    local dir=${1:-} out=${2:-}
    [ -n "$dir" ] && [ -n "$out" ] || die "usage: $0 conf DIR OUT"
    local state=${STATE_DIR:-$ROOT/state} user=${MQTT_BROKER_USER:-$(id -un)}
    local port=${MQTT_PORT:-1883} bind=${MQTT_BIND:-0.0.0.0}
    local lport=${MQTT_LOCAL_PORT:-} tport=${MQTT_TLS_PORT:-}
    # Every value lands in the config through sed, so all are checked before
    # anything is created: one line each (checked before $(...) would strip
    # a trailing newline), ports numbers, address and user plain words; the
    # paths are escaped (sed_rhs) and may hold '/', '&', '|'.
    one_line "the auth directory" "$dir"
    one_line STATE_DIR "$state"
    one_line MQTT_TLS_DIR "${MQTT_TLS_DIR:-}"
    port_ok MQTT_PORT "$port"
    [ -z "$lport" ] || port_ok MQTT_LOCAL_PORT "$lport"
    [ -z "$tport" ] || port_ok MQTT_TLS_PORT "$tport"
    [[ "$bind" =~ ^[A-Za-z0-9.:_-]+$ ]] || die "MQTT_BIND must be an address or host name, not '$bind'"
    [[ "$user" =~ ^[A-Za-z0-9._-]+$ ]] || die "MQTT_BROKER_USER must be a user name, not '$user'"
    [ -f "$dir/passwd" ] || die "$dir is not initialised: run $0 init $dir first"
    dir=$(cd "$dir" && pwd)
    mkdir -p "$state/mosquitto"
    state=$(cd "$state" && pwd)
    local tls_dir=${MQTT_TLS_DIR:-$dir/tls}
    local keep_local='/^@LOCAL@/d' keep_tls='/^@TLS@/d'
    [ -n "${MQTT_LOCAL_PORT:-}" ] && keep_local='s/^@LOCAL@//'
    if [ -n "${MQTT_TLS_PORT:-}" ]; then
        for f in ca.crt server.crt server.key; do
            [ -f "$tls_dir/$f" ] || die "TLS: $tls_dir/$f missing (scripts/dev-certs.sh $tls_dir)"
        done
        keep_tls='s/^@TLS@//'
    fi
    sed -e "$keep_local" -e "$keep_tls" \
        -e "s|@AUTH_DIR@|$(sed_rhs "$dir")|g" -e "s|@STATE_DIR@|$(sed_rhs "$state")|g" \
        -e "s|@TLS_DIR@|$(sed_rhs "$tls_dir")|g" \
        -e "s|@MQTT_PORT@|$port|g" -e "s|@MQTT_BIND@|$bind|g" \
        -e "s|@MQTT_LOCAL_PORT@|$lport|g" -e "s|@MQTT_TLS_PORT@|$tport|g" \
        -e "s|@BROKER_USER@|$user|g" \
        "$ROOT/config/mosquitto-secure.conf.in" >"$out"
}

# nats_subjects MODE TOPIC: the NATS subjects an ACL topic covers in cluster
# mode (see `nats` above), one per line; nothing for a topic NATS's MQTT
# cannot carry ('.' or ' ' in it, empty levels) or that is not plain text.
nats_subjects() {
    local t=$2 s root subj=() bad=0
    case "$t" in '' | *.* | *' '* | *'"'* | *\\* | /* | */ | *//*) bad=1 ;; esac
    [[ "$t" == *[[:cntrl:]]* ]] && bad=1
    if [ $bad = 1 ]; then
        echo "broker-auth: nats: topic '$t' cannot be expressed in NATS (skipped)" >&2
        return 0
    fi
    case "$t" in \$*) return 0 ;; esac # $SYS and the like: not served over NATS's MQTT
    s=${t//\//.}
    s=${s//+/*}
    s=${s//#/>}
    root=${s%%.*}
    subj+=("$s")
    case "$root" in
        anomalies) subj+=("apart.*.$s") ;;
        chain | status | detector | sim | part | apart | alarms | '>') ;;
        *) subj+=("part.*.$s") ;;
    esac
    for s in "${subj[@]}"; do
        echo "$s"
        # MQTT "a/#" matches "a" too; NATS "a.>" does not.
        [[ "$s" == *.\> ]] && echo "${s%.>}"
    done
    return 0
}

# nats_list SUBJECT...: a NATS config list of quoted subjects.
nats_list() {
    local first=1 s
    printf '['
    for s in "$@"; do
        [ $first = 1 ] || printf ', '
        printf '"%s"' "$s"
        first=0
    done
    printf ']'
}

# nats_user NAME PASSWORD_FILE PUB_FILE SUB_FILE: one entry of users = [...].
nats_user() {
    local name=$1 pw pub=() sub=() perm_pub perm_sub
    pw=$(cat "$2")
    [[ "$pw" =~ ^[A-Za-z0-9]+$ ]] || die "nats: the password of '$name' is not a generated one"
    mapfile -t pub < <(awk '!seen[$0]++' "$3")
    mapfile -t sub < <(awk '!seen[$0]++' "$4")
    if [ ${#pub[@]} -gt 0 ]; then perm_pub="{allow: $(nats_list "${pub[@]}")}"; else perm_pub='{deny: [">"]}'; fi
    if [ ${#sub[@]} -gt 0 ]; then perm_sub="{allow: $(nats_list "${sub[@]}" '$MQTT.sub.>')}"; else perm_sub='{deny: [">"]}'; fi
    printf '    {user: "%s", password: "%s",\n     permissions: {publish: %s, subscribe: %s}}\n' \
        "$name" "$pw" "$perm_pub" "$perm_sub"
}

cmd_nats() {
    local dir=${1:-} out=${2:-}
    [ -n "$dir" ] && [ -n "$out" ] || die "usage: $0 nats DIR OUT"
    [ -f "$dir/acl" ] || die "$dir is not initialised: run $0 init $dir first"
    ensure_password "$dir/nats-admin.password"
    local tmp user="" kind t pw
    tmp=$(mktemp -d)
    # Split DIR/acl into per-user publish and subscribe lists.
    while read -r kind a b; do
        case "$kind" in
            user) user=$a; : >"$tmp/$user.pub"; : >"$tmp/$user.sub" ;;
            topic)
                [ -n "$user" ] || continue
                case "$a" in
                    write) nats_subjects write "$b" >>"$tmp/$user.pub" ;;
                    read) nats_subjects read "$b" >>"$tmp/$user.sub" ;;
                    readwrite) nats_subjects write "$b" >>"$tmp/$user.pub"; nats_subjects read "$b" >>"$tmp/$user.sub" ;;
                esac ;;
        esac
    done <"$dir/acl"
    {
        echo "# Generated by scripts/broker-auth.sh nats from $dir/acl; edit that, not this."
        echo "authorization {"
        echo "  users = ["
        printf '%s\n' '$JS.API.>' 'cluster.ready.>' 'health.>' >"$tmp/.admin.pub"
        printf '%s\n' '_INBOX.>' 'cluster.ready.>' >"$tmp/.admin.sub"
        nats_user nats-admin "$dir/nats-admin.password" "$tmp/.admin.pub" "$tmp/.admin.sub"
        for f in "$tmp"/*.pub; do
            user=$(basename "$f" .pub)
            if [ -f "$dir/$user.password" ]; then pw=$dir/$user.password
            elif [ -f "$dir/devices/$user.password" ]; then pw=$dir/devices/$user.password
            else continue; fi
            nats_user "$user" "$pw" "$f" "$tmp/$user.sub"
        done
        echo "  ]"
        echo "}"
    } >"$tmp/out"
    rm -f "$tmp"/*.pub "$tmp"/*.sub "$tmp"/.admin.*
    chmod 600 "$tmp/out"
    if [ "$out" = /dev/stdout ]; then cat "$tmp/out"; else mv "$tmp/out" "$out"; fi
    rm -rf "$tmp"
}

cmd=${1:-}
[ $# -gt 0 ] && shift
case "$cmd" in
    init) cmd_init "$@" ;;
    add-device) cmd_add_device "$@" ;;
    remove-device) cmd_remove_device "$@" ;;
    conf) cmd_conf "$@" ;;
    nats) cmd_nats "$@" ;;
    *) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//' >&2; exit 2 ;;
esac
