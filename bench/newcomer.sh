# bench: newcomer.first_run_s — what a new user waits for on a machine that
# has the dependencies installed: a fresh clone, `make run` as the README
# says (the demo simulator on), until the gateway's /readyz answers 200
# (built, broker, chain, contract deployed, services up, chain cache
# synced); newcomer.first_anomaly_s, until the first anomaly is on the API
# (detected, logged on chain and read back). Then Ctrl-C (TERM) stops it.
# The clone is of this checkout's HEAD (committed work only) into a
# temporary directory; tools/node_modules is linked to this checkout's
# install (as worktrees do), so nothing is downloaded. Ports are free ones,
# not the defaults, so a running stack is not disturbed.
set -uo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
. "$ROOT/scripts/lib/stack.sh"
[ -d "$ROOT/tools/node_modules" ] || { echo "newcomer: skipped: tools/node_modules not installed" >&2; exit 0; }
TMP=$(mktemp -d /tmp/iotac-newcomer.XXXXXX)
PGID=
cleanup() {
    if [ -n "$PGID" ] && kill -0 "$PGID" 2>/dev/null; then
        kill -TERM -- "-$PGID" 2>/dev/null
        for _ in $(seq 1 30); do kill -0 "$PGID" 2>/dev/null || break; sleep 0.5; done
        kill -KILL -- "-$PGID" 2>/dev/null
    fi
    rm -rf "$TMP"
}
trap cleanup EXIT
now() { date +%s.%N; }

t0=$(now)
git clone -q "$ROOT" "$TMP/repo" || { echo "newcomer: git clone failed" >&2; exit 1; }
ln -s "$(readlink -f "$ROOT/tools/node_modules")" "$TMP/repo/tools/node_modules"
export MQTT_PORT=$(free_port) MQTT_LOCAL_PORT=$(free_port) RPC_PORT=$(free_port) GATEWAY_PORT=$(free_port)
# The ports must differ from each other too.
while [ "$(printf '%s\n' "$MQTT_PORT" "$MQTT_LOCAL_PORT" "$RPC_PORT" "$GATEWAY_PORT" | sort -u | wc -l)" != 4 ]; do
    MQTT_LOCAL_PORT=$(free_port) RPC_PORT=$(free_port) GATEWAY_PORT=$(free_port)
done
unset STATE_DIR GATEWAY_TOKEN
(cd "$TMP/repo" && exec setsid make run) >"$TMP/run.out" 2>&1 &
PGID=$!
G=http://127.0.0.1:$GATEWAY_PORT
ready=
for _ in $(seq 1 1200); do
    kill -0 "$PGID" 2>/dev/null || break
    if curl -sf -o /dev/null "$G/readyz"; then ready=$(now); break; fi
    sleep 0.5
done
if [ -z "$ready" ]; then
    echo "newcomer: the stack never became ready:" >&2
    tail -n 30 "$TMP/run.out" >&2
    exit 1
fi
first=
for _ in $(seq 1 600); do
    if curl -sf "$G/api/anomalies?limit=1" | grep -q '"count":[1-9]'; then first=$(now); break; fi
    sleep 0.5
done
if [ -z "$first" ]; then
    echo "newcomer: no anomaly on the API within 5 minutes of ready" >&2
    tail -n 30 "$TMP/run.out" >&2
    exit 1
fi
awk -v a="$t0" -v r="$ready" -v f="$first" 'BEGIN {
    printf "bench: newcomer.first_run_s %.1f s\n", r - a
    printf "bench: newcomer.first_anomaly_s %.1f s\n", f - a }'
