#!/usr/bin/env bash
# `make bench`: runs every bench/<area>.sh in turn (not lib.sh, the start
# they share). Each prints its figures as `bench: <name> <value> <unit>`,
# with the reference it is compared with measured in the same run. All figures are also collected in
# bench/out/latest.txt so runs can be compared. BENCH=substr runs a subset.
set -u
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
mkdir -p bench/out
: >bench/out/latest.txt
rc=0
for b in bench/*.sh; do
    name=$(basename "$b" .sh)
    case $name in run | lib) continue ;; esac # lib.sh: sourced by the others
    if [ -n "${BENCH:-}" ] && [[ "$name" != *"$BENCH"* ]]; then continue; fi
    echo "== $name"
    if ! bash "$b" 2>"bench/out/$name.err" | tee -a bench/out/latest.txt; then
        echo "bench $name failed; see bench/out/$name.err" >&2
        tail -n 20 "bench/out/$name.err" >&2
        rc=1
    fi
done
echo
echo "figures:"
grep '^bench: ' bench/out/latest.txt
exit $rc
