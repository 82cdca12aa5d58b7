#!/usr/bin/env bash
# Detector benchmarks, all with the default engine: speed and memory (C
# helper against build/libcommon.a and the engine's sources), the
# scikit-learn references on the same vectors, and accuracy
# (bench/detector/accuracy.sh: NAB's 18 shared series, the 16 SKAB valve1
# runs beside a plain scikit-learn IsolationForest, the simulator on seeds
# 7 (tuning), 23 and 101). Figures: `bench: <name> <value> <unit>`; see
# docs/BENCHMARKS.md. MEM_SENSORS (10000) sets the memory figure's fleet.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
B=$ROOT/build/bench/detector
T=$(mktemp -d /tmp/bench-detector.XXXXXX)
trap 'rm -rf "$T"' EXIT
mkdir -p "$B"
[ -x build/bin/detector ] || make -s build/bin/detector
[ -x build/bin/simulator ] || make -s build/bin/simulator || true
[ -f build/libcommon.a ] || make -s build/libcommon.a

# Speed and memory (one core: the helper is single-threaded). Every engine
# source but main.c, so a new det_*.c file needs no change here.
cc -O2 -g -std=gnu11 -Wall -Wextra -Werror -Icommon -Iservices/detector \
    -o "$B/speed" bench/detector/speed.c services/detector/det_*.c build/libcommon.a -ljansson -lm
LOG_LEVEL=warn "$B/speed" "$T" "${MEM_SENSORS:-10000}" 2>"$T/speed.err" | tee "$T/speed.txt"
grep -v ' info ' "$T/speed.err" >&2 || true

# scikit-learn on the same vectors and settings, one thread.
if /usr/bin/python3 -c 'import sklearn' 2>/dev/null; then
    OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 /usr/bin/python3 bench/detector/sklearn_rate.py "$T" | tee "$T/sk.txt"
    awk '/detector.forest_rate /{f=$3} /detector.pipeline_rate /{p=$3} /detector.bytes_per_sensor /{b=$3}
         FNR==NR{next} /detector.sklearn_rate /{s=$3} /detector.sklearn_reading_rate /{r=$3}
         /detector.sklearn_bytes_per_sensor /{sb=$3}
         END{if (s>0) printf "bench: detector.forest_vs_sklearn %.1f x\n", f/s;
             if (r>0) printf "bench: detector.pipeline_vs_sklearn %.1f x\n", p/r;
             if (b>0) printf "bench: detector.sklearn_bytes_vs_detector %.0f x\n", sb/b}' "$T/speed.txt" "$T/sk.txt"
else
    echo "bench: detector.sklearn_rate skipped (python3-sklearn missing)" >&2
fi

# Accuracy with the default engine.
bash bench/detector/accuracy.sh
