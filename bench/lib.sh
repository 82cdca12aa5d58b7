# bench/lib.sh — the start of a bench script that runs services on a
# throw-away stack (scripts/lib/stack.sh). Source it with `set -euo pipefail`
# already on:
#   . "$(dirname "$0")/lib.sh" NAME BINARY...
# Sets ROOT (the repository), BIN (its build/bin), T (a new directory
# /tmp/iotac-bench-NAME.XXXXXX, mode 755 so services running as other users
# can read it; also STACK_DIR) and sources scripts/lib/stack.sh. Exits 1
# when a BINARY (a name under build/bin) is missing. The caller sets its own
# EXIT trap (stop_started, then removing "$T").
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BIN=$ROOT/build/bin
for _b in "${@:2}"; do
    [ -x "$BIN/$_b" ] || { echo "missing $BIN/$_b (make all)" >&2; exit 1; }
done
T=$(mktemp -d "/tmp/iotac-bench-$1.XXXXXX")
chmod 755 "$T"
STACK_DIR=$T
. "$ROOT/scripts/lib/stack.sh"
