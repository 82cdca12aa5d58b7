#!/usr/bin/env bash
# Detector benchmarks: speed and memory (C helper against build/libcommon.a),
# the scikit-learn reference on the same vectors, NAB windows scoring on the
# shared series (replay --nab), and event accuracy on a labelled simulator
# dataset (seed 7, 20 sensors, 14 days). Figures: `bench: <name> <value> <unit>`.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
B=$ROOT/build/bench/detector
T=$(mktemp -d /tmp/bench-detector.XXXXXX)
trap 'rm -rf "$T"' EXIT
mkdir -p "$B"
[ -x build/bin/detector ] || make -s build/bin/detector

# Speed and memory (one core: the helper is single-threaded).
cc -O2 -g -std=gnu11 -Wall -Wextra -Werror -Icommon -Iservices/detector \
    -o "$B/speed" bench/detector/speed.c $(ls services/detector/*.c | grep -v /main.c) build/libcommon.a -ljansson -lm
LOG_LEVEL=warn "$B/speed" "$T" 2>/dev/null | tee "$T/speed.txt"

# scikit-learn on the same vectors and settings, one thread.
if /usr/bin/python3 -c 'import sklearn' 2>/dev/null; then
    OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 /usr/bin/python3 bench/detector/sklearn_rate.py "$T" | tee "$T/sk.txt"
    awk '/detector.forest_rate /{f=$3} /detector.pipeline_rate /{p=$3}
         FNR==NR{next} /detector.sklearn_rate /{s=$3}
         END{if (s>0) {printf "bench: detector.forest_vs_sklearn %.1f x\n", f/s;
                        printf "bench: detector.pipeline_vs_sklearn %.1f x\n", p/s}}' "$T/speed.txt" "$T/sk.txt"
else
    echo "bench: detector.sklearn_rate skipped (python3-sklearn missing)" >&2
fi

# NAB: the shared series, learning online from the first row.
NAB=${NAB_DIR:-/work/shared/data/nab}
if [ -f "$NAB/windows.json" ]; then
    for f in "$NAB"/*/*.csv; do
        c=$(basename "$(dirname "$f")")
        mkdir -p "$T/nab/$c"
        LOG_LEVEL=warn build/bin/detector replay "$f" --nab --windows "$NAB/windows.json" >"$T/nab/$c/$(basename "$f")"
    done
    python3 bench/detector/nab_score.py "$NAB/windows.json" "$T/nab"
else
    echo "bench: accuracy.nab skipped (no $NAB/windows.json)" >&2
fi

# Simulator dataset: all sensors through one engine, as live.
if [ -x build/bin/simulator ] || make -s build/bin/simulator 2>/dev/null; then
    mkdir -p "$T/sim"
    LOG_LEVEL=warn build/bin/simulator --csv "$T/sim/all.csv" --seed 7 --sensors 20 --days 14
    LOG_LEVEL=warn build/bin/detector replay "$T/sim/all.csv" >"$T/sim/out.csv"
    python3 bench/detector/sim_score.py "$T/sim/all.labels.csv" "$T/sim/out.csv" 14
else
    echo "bench: accuracy.sim skipped (no simulator)" >&2
fi
