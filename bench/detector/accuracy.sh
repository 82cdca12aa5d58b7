#!/usr/bin/env bash
# Detector accuracy with the DEFAULT engine: plain `detector replay FILE`,
# run with an empty environment (no variable can switch a mode on), scored
# by nab_score.py, skab_score.py and sim_score.py. Prints every figure as
# `bench: <name> <value> <unit>` (see docs/BENCHMARKS.md, "Detector
# accuracy"); progress and per-series detail (VERBOSE=1) go to stderr.
#
#   bash bench/detector/accuracy.sh            # everything (~3-6 min on 2 cores)
#
# Environment (all optional):
#   DETECTOR=build/bin/detector   SIMULATOR=build/bin/simulator
#   PARTS="nab skab sim"          which parts to run
#   NAB_DIR=../shared/data/nab (or /work/shared/data/nab) NAB_SERIES="realKnownCause/nyc_taxi.csv ..."
#                                 (keys of windows.json; default every */*.csv)
#   SKAB_DIR=../shared/data/skab (likewise) SKAB_RUNS=0,5 (default every valve1 run)
#   SKAB_SKLEARN=0                no scikit-learn baseline
#   SIM_SEEDS="7 23 101" SIM_SENSORS=20 SIM_DAYS=14
#   OUT=DIR                       keep the converted inputs and replay outputs
#   VERBOSE=1                     per-series / per-run / per-subtype detail
# A part whose data is missing is skipped with a note on stderr; a replay
# that fails makes the script exit 1.
set -euo pipefail
if [ $# -gt 0 ]; then # -h, --help or anything else: the header above
    sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'
    [ "$1" = -h ] || [ "$1" = --help ]; exit
fi
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
cd "$ROOT"
HERE=bench/detector
DETECTOR=${DETECTOR:-build/bin/detector}
SIMULATOR=${SIMULATOR:-build/bin/simulator}
PARTS=${PARTS:-nab skab sim}
# The shared data sit beside the main checkout (../shared), or in /work/shared.
data_dir() { [ -d "$ROOT/../shared/data/$1" ] && echo "$ROOT/../shared/data/$1" || echo "/work/shared/data/$1"; }
NAB_DIR=${NAB_DIR:-$(data_dir nab)}
SKAB_DIR=${SKAB_DIR:-$(data_dir skab)}
SIM_SEEDS=${SIM_SEEDS:-7 23 101}
SIM_SENSORS=${SIM_SENSORS:-20}
SIM_DAYS=${SIM_DAYS:-14}
V=()
[ "${VERBOSE:-0}" = 1 ] && V=(--verbose)
if [ -n "${OUT:-}" ]; then
    T=$OUT
    rm -rf "$T/nab" "$T/skab" "$T/sim" # a previous run's files would be scored too
    mkdir -p "$T"
else
    T=$(mktemp -d /tmp/detector-accuracy.XXXXXX)
    trap 'rm -rf "$T"' EXIT
fi
[ -x "$DETECTOR" ] || { echo "accuracy.sh: no $DETECTOR (make build/bin/detector)" >&2; exit 1; }

# The default engine: nothing from the caller's environment reaches it.
replay() { # CSV OUT
    env -i PATH="$PATH" LOG_LEVEL=warn "$DETECTOR" replay "$1" >"$2" ||
        { echo "accuracy.sh: replay of $1 failed" >&2; exit 1; }
}
want() { [[ " $PARTS " == *" $1 "* ]]; }

if want nab; then
    if [ -f "$NAB_DIR/windows.json" ]; then
        series=${NAB_SERIES:-$(cd "$NAB_DIR" && ls -- */*.csv)}
        for key in $series; do
            mkdir -p "$T/nab/$(dirname "$key")"
            replay "$NAB_DIR/$key" "$T/nab/$key"
        done
        python3 $HERE/nab_score.py "${V[@]}" "$NAB_DIR" "$T/nab"
        python3 $HERE/nab_score.py --with-end-alerts --prefix accuracy.nab_with_end_alerts "$NAB_DIR" "$T/nab" | grep -E 'score |false_positives'
        python3 $HERE/nab_score.py --alarm-rows --prefix accuracy.nab_alarm_rows "$NAB_DIR" "$T/nab"
    else
        echo "accuracy.sh: NAB skipped (no $NAB_DIR/windows.json)" >&2
    fi
fi

if want skab; then
    if [ -d "$SKAB_DIR/valve1" ]; then
        runs=()
        [ -n "${SKAB_RUNS:-}" ] && runs=(--runs "$SKAB_RUNS")
        python3 $HERE/skab_score.py convert "${runs[@]}" "$SKAB_DIR" "$T/skab/in"
        mkdir -p "$T/skab/out"
        for f in "$T"/skab/in/*.csv; do
            replay "$f" "$T/skab/out/$(basename "$f")"
        done
        python3 $HERE/skab_score.py score "${V[@]}" "${runs[@]}" "$SKAB_DIR" "$T/skab/out"
        if [ "${SKAB_SKLEARN:-1}" = 0 ]; then
            :
        elif /usr/bin/python3 -c 'import sklearn' 2>/dev/null; then
            OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 \
                /usr/bin/python3 $HERE/skab_score.py sklearn "${runs[@]}" "$SKAB_DIR"
        else
            echo "accuracy.sh: SKAB scikit-learn baseline skipped (python3-sklearn missing)" >&2
        fi
    else
        echo "accuracy.sh: SKAB skipped (no $SKAB_DIR/valve1)" >&2
    fi
fi

if want sim; then
    if [ -x "$SIMULATOR" ]; then
        dirs=()
        for s in $SIM_SEEDS; do
            d=$T/sim/seed$s
            mkdir -p "$d"
            env -i PATH="$PATH" LOG_LEVEL=warn "$SIMULATOR" --csv "$d/all.csv" --seed "$s" \
                --sensors "$SIM_SENSORS" --days "$SIM_DAYS"
            replay "$d/all.csv" "$d/out.csv"
            dirs+=("$d")
        done
        python3 $HERE/sim_score.py "${V[@]}" --days "$SIM_DAYS" "${dirs[@]}"
    else
        echo "accuracy.sh: simulator part skipped (no $SIMULATOR)" >&2
    fi
fi
