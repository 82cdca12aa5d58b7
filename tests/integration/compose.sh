# The Docker Compose setup, checked without a Docker engine: the compose
# file is valid for docker-compose, names the six services with health
# checks and start conditions, every command it runs exists in the native
# build, and the image installs through the same script as the native path.
# Ports follow MQTT_PORT/HTTP_PORT/BIND_ADDRESS (127.0.0.1 by default), the
# demo simulator runs accelerated, the image is multi-stage and its context
# leaves out state and build output. The real run: tests/compose/up.sh
# (make test-compose).
. "$(dirname "$0")/../lib.sh"
cd "$ROOT"
command -v docker-compose >/dev/null || fail "docker-compose is not installed (scripts/install-deps.sh --test)"
docker-compose -f docker-compose.yml config -q || fail "docker-compose.yml is invalid"
docker-compose -f docker-compose.yml config >"$T/resolved.yml"
services=$(docker-compose -f docker-compose.yml config --services | sort | tr '\n' ' ')
for s in mosquitto ganache simulator detector chainlogger gateway notifier; do
    [[ " $services " == *" $s "* ]] || fail "service $s missing from docker-compose.yml (have: $services)"
done
# Health checks on every long-running service; conditions on start order.
for s in mosquitto ganache gateway detector chainlogger simulator notifier; do
    awk -v s="  $s:" '$0==s{f=1;next} /^  [a-z]/{f=0} f&&/healthcheck:/{found=1} END{exit !found}' "$T/resolved.yml" \
        || fail "service $s has no healthcheck"
done
grep -q 'condition: service_healthy' "$T/resolved.yml" || fail "no depends_on health conditions"
grep -q -- '- 127.0.0.1:1883:1883' "$T/resolved.yml" || fail "broker port 1883 not published on 127.0.0.1"
grep -q -- '- 127.0.0.1:8080:8080' "$T/resolved.yml" || fail "dashboard port 8080 not published on 127.0.0.1"
MQTT_PORT=21883 HTTP_PORT=28080 BIND_ADDRESS=0.0.0.0 docker-compose -f docker-compose.yml config >"$T/ports.yml"
grep -q -- '- 0.0.0.0:21883:1883' "$T/ports.yml" || fail "MQTT_PORT/BIND_ADDRESS do not move the broker port"
grep -q -- '- 0.0.0.0:28080:8080' "$T/ports.yml" || fail "HTTP_PORT/BIND_ADDRESS do not move the dashboard port"
# The demo simulator runs accelerated from a start in the past (as make run).
grep -q "SIM_SPEEDUP: '1440'\|SIM_SPEEDUP: \"1440\"\|SIM_SPEEDUP: 1440" "$T/resolved.yml" || fail "the compose simulator does not run accelerated"
grep -q "SIM_START=\$\${SIM_START:-\$\$(date -u -d '-365 days'" docker-compose.yml || fail "the compose simulator does not start a year back"
# Multi-stage image: the runtime stage has no compiler; .dockerignore keeps
# state and build output out of the context; .env.example lists the settings.
[ "$(grep -c '^FROM ' Dockerfile)" -ge 2 ] || fail "Dockerfile is not multi-stage"
grep -q 'install-deps.sh --runtime' Dockerfile || fail "runtime stage does not use install-deps.sh --runtime"
for d in build state tools/node_modules tests/out bench/out .git .env; do
    grep -qx "$d" .dockerignore || fail ".dockerignore misses $d"
done
for v in MQTT_PORT HTTP_PORT BIND_ADDRESS SIM_SPEEDUP BASE_IMAGE; do
    grep -q "^#* *$v=" .env.example || fail ".env.example misses $v"
    grep -q "\${$v:-" docker-compose.yml || fail "docker-compose.yml does not use $v"
done
# The broker takes accounts only: its configuration is rendered by
# broker-auth.sh, and every service sources its account before starting.
grep -q 'broker-auth.sh init' docker-compose.yml || fail "compose does not generate broker accounts"
for s in simulator detector chainlogger gateway notifier; do
    grep -q "/auth/$s/$s.env && exec /app/build/bin/$s" docker-compose.yml || fail "$s does not use its broker account"
done
# Secrets per service (#19): each service mounts only its own account
# volume, the broker's files only broker-auth and mosquitto, and the chain
# logger's key is a Compose secret, never an environment variable.
for s in simulator detector chainlogger gateway mosquitto ganache deploy; do
    vols=$(awk -v s="  $s:" '$0==s{f=1;next} /^  [a-z]/{f=0} f' "$T/resolved.yml" | { grep -o 'auth-[a-z]*\|broker:/auth' || true; } | sort -u | tr '\n' ' ')
    case "$s" in
        simulator | detector | chainlogger | gateway) [ "$vols" = "auth-$s " ] || fail "$s mounts other credentials: $vols" ;;
        mosquitto) [ "$vols" = "broker:/auth " ] || fail "mosquitto mounts: $vols" ;;
        *) [ -z "$vols" ] || fail "$s mounts credentials: $vols" ;;
    esac
done
if grep -q 'PRIVATE_KEY:' "$T/resolved.yml"; then fail "a private key is passed in the environment"; fi
grep -q 'PRIVATE_KEY_FILE: /run/secrets/logger_key' "$T/resolved.yml" || fail "the chain logger's key is not a Compose secret"
# Every binary a service runs is one the Makefile builds.
for b in $(grep -o '/app/build/bin/[a-z]*' docker-compose.yml | sort -u); do
    [ -x "$ROOT/${b#/app/}" ] || fail "compose runs $b but the build has no ${b#/app/}"
done
# The image installs through the native path's script and runs unprivileged.
grep -q 'scripts/install-deps.sh' Dockerfile || fail "Dockerfile does not use scripts/install-deps.sh"
grep -q '^USER app' Dockerfile || fail "Dockerfile does not drop root"
# The files referenced in the image exist in the repository.
for f in $(grep -o '/app/\(config\|scripts\)/[A-Za-z0-9_.-]*' docker-compose.yml | sort -u); do
    [ -f "$ROOT/${f#/app/}" ] || fail "compose references missing ${f#/app/}"
done
echo "compose ok: $services"
