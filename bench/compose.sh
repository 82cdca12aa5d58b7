# bench: compose.up_s — the Compose stack from a built image to every service
# healthy (`up -d` until the last health check passes), and compose.build_s,
# the image build (layers cached from an earlier build count as such: the
# figure is what a user sees on a second `docker compose up --build`).
# Runs tests/compose/up.sh, which also checks the stack end to end; it
# prints nothing here when no container engine runs (the test skips).
set -uo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
out=$(bash "$ROOT/tests/compose/up.sh" 2>&1)
rc=$?
if [ $rc = 77 ]; then
    echo "compose: skipped: $(echo "$out" | grep -m1 '^SKIP')" >&2
    exit 0
fi
[ $rc = 0 ] || { echo "$out" | tail -n 30 >&2; exit 1; }
echo "$out" | awk '$1 == "compose.build_s" { print "bench: compose.build_s " $2 " s" }
                   $1 == "compose.up_s" && $2 == "(first)" { print "bench: compose.up_s " $3 " s" }
                   $1 == "compose.up_s" && $2 == "(again)" { print "bench: compose.up_s.again " $3 " s" }'
