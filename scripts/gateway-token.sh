#!/usr/bin/env sh
# gateway-token.sh FILE [compose]: print the gateway's write token (GATEWAY_TOKEN),
# creating FILE with a new random one (32 bytes from /dev/urandom as 64 hex
# digits, mode 0600) when it does not exist yet, so the token survives
# restarts. Used by scripts/run.sh ($STATE_DIR/gateway.token) and
# docker-compose.yml (/auth/gateway/gateway.token; with "compose", how to use it is
# printed on stderr, i.e. in the container's log).
#   curl -H "Authorization: Bearer $(cat FILE)" -H 'Content-Type: application/json' \
#        -d '{"sensor_id":"demo","temperature":21.5}' http://localhost:8080/api/readings
set -eu
f=${1:?usage: gateway-token.sh FILE}
if [ ! -s "$f" ]; then
    dir=$(dirname "$f")
    mkdir -p "$dir"
    tmp=$(mktemp "$dir/.gateway.token.XXXXXX")
    chmod 600 "$tmp"
    od -An -N32 -tx1 /dev/urandom | tr -d ' \n' >"$tmp"
    [ "$(wc -c <"$tmp")" -eq 64 ] || { rm -f "$tmp"; echo "gateway-token.sh: could not read /dev/urandom" >&2; exit 1; }
    mv "$tmp" "$f"
fi
tok=$(cat "$f")
case "$tok" in *[!0-9a-zA-Z._~+/=-]* | "") echo "gateway-token.sh: $f does not hold a token" >&2; exit 1 ;; esac
if [ "${2:-}" = compose ]; then
    cat >&2 <<MSG
gateway: writes (POST /api/readings, the dashboard's form) need the token in $f:
  curl -H "Authorization: Bearer \$(docker compose exec -T gateway cat $f)" \\
       -H 'Content-Type: application/json' -d '{"sensor_id":"demo","temperature":21.5}' \\
       http://localhost:8080/api/readings
MSG
fi
printf '%s\n' "$tok"
