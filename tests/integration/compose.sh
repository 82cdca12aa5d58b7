# The Docker Compose setup, checked without a Docker engine: the compose
# file is valid for docker-compose, names the six services with health
# checks and start conditions, every command it runs exists in the native
# build, and the image installs through the same script as the native path.
. "$(dirname "$0")/../lib.sh"
cd "$ROOT"
command -v docker-compose >/dev/null || fail "docker-compose is not installed (scripts/install-deps.sh --test)"
docker-compose -f docker-compose.yml config -q || fail "docker-compose.yml is invalid"
docker-compose -f docker-compose.yml config >"$T/resolved.yml"
services=$(docker-compose -f docker-compose.yml config --services | sort | tr '\n' ' ')
for s in mosquitto ganache simulator detector chainlogger gateway; do
    [[ " $services " == *" $s "* ]] || fail "service $s missing from docker-compose.yml (have: $services)"
done
# Health checks on the broker, the chain and the gateway; conditions on start order.
for s in mosquitto ganache gateway; do
    awk -v s="  $s:" '$0==s{f=1;next} /^  [a-z]/{f=0} f&&/healthcheck:/{found=1} END{exit !found}' "$T/resolved.yml" \
        || fail "service $s has no healthcheck"
done
grep -q 'condition: service_healthy' "$T/resolved.yml" || fail "no depends_on health conditions"
grep -q '1883:1883\|published: 1883\|published: "1883"' "$T/resolved.yml" || fail "broker port 1883 not published"
grep -q '8080:8080\|published: 8080\|published: "8080"' "$T/resolved.yml" || fail "dashboard port 8080 not published"
# The broker takes accounts only: its configuration is rendered by
# broker-auth.sh, and every service sources its account before starting.
grep -q 'broker-auth.sh init' docker-compose.yml || fail "compose does not generate broker accounts"
for s in simulator detector chainlogger gateway; do
    grep -q "/state/broker/$s.env && exec /app/build/bin/$s" docker-compose.yml || fail "$s does not use its broker account"
done
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
