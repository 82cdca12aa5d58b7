#!/usr/bin/env bash
# `make fuzz`: builds the libFuzzer harnesses in tests/fuzz/ with clang
# (-fsanitize=fuzzer,address,undefined) and runs each for a bounded time.
#
#   scripts/fuzz.sh                 every harness, FUZZ_SECONDS each
#   scripts/fuzz.sh rpc anomaly_log        only these (names after fuzz_)
#   FUZZ_SECONDS=60  seconds per harness (default 60)
#   FUZZ_JOBS=1      parallel fuzzing processes per harness (libFuzzer -fork)
#   FUZZ_BUILD_ONLY=1  build, run each seed corpus once, do not fuzz
#
# The sources under test (common/*.c and the services' non-main files) are
# compiled with clang here, instrumented for coverage, separately from the
# gcc build in build/. Each harness starts from its committed seed corpus
# tests/fuzz/corpus/<name>/ plus inputs generated here (a 10 MB payload,
# deep nesting, many fields) and keeps what it learns in
# build/fuzz/corpus/<name>/, so later runs start where earlier ones ended.
# Crashes are saved as build/fuzz/crashes/<name>/crash-*; reproduce one with
#   build/fuzz/bin/fuzz_<name> build/fuzz/crashes/<name>/crash-...
# Prints one line per harness ("fuzz: <name> execs=N seconds=S corpus=N
# result=ok|CRASH") and exits non-zero when any harness crashed or did not build.
set -uo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
OUT=$ROOT/build/fuzz
SECONDS_EACH=${FUZZ_SECONDS:-60}
JOBS=${FUZZ_JOBS:-1}
CC=${FUZZ_CC:-clang}
CFLAGS="-std=gnu11 -g -O1 -fno-omit-frame-pointer -Icommon -Iservices -Wall -Wextra -Werror"
CFLAGS+=" -Wno-unused-command-line-argument"
SAN="-fsanitize=address,undefined -fno-sanitize-recover=all"
LIBS="-lpaho-mqtt3as -lmosquitto -ljansson -lcurl -lwebsockets -lsecp256k1 -lpthread -lm"
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:allocator_may_return_null=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}

if ! echo 'int LLVMFuzzerTestOneInput(const char*d,long n){(void)d;(void)n;return 0;}' |
    $CC -x c -fsanitize=fuzzer -o /dev/null - 2>/dev/null; then
    echo "fuzz: $CC cannot link -fsanitize=fuzzer; install libclang-rt-14-dev (scripts/install-deps.sh --test)" >&2
    exit 2
fi

mkdir -p "$OUT/obj" "$OUT/bin" "$OUT/corpus" "$OUT/crashes" "$OUT/gen"

# --- the code under test, instrumented ------------------------------------
# Each file on its own, so a file another engineer is in the middle of
# editing only breaks the harnesses that need it (they then fail to link).
lib_src=(common/*/*.c)
for s in services/*/; do
    for f in "$s"*.c; do
        [ -f "$f" ] && [ "$(basename "$f")" != main.c ] && lib_src+=("$f")
    done
done
objs=()
for src in "${lib_src[@]}"; do
    o=$OUT/obj/${src%.c}.o
    mkdir -p "$(dirname "$o")"
    if [ ! -f "$o" ] || [ "$src" -nt "$o" ] || [ -n "$(find common services -name '*.h' -newer "$o" 2>/dev/null | head -1)" ]; then
        if ! $CC $CFLAGS $SAN -fsanitize=fuzzer-no-link -c "$src" -o "$o" 2>"$o.err"; then
            echo "fuzz: warning: $src does not compile with clang (harnesses needing it will fail):" >&2
            head -n 5 "$o.err" >&2
            rm -f "$o"
            continue
        fi
    fi
    objs+=("$o")
done
rm -f "$OUT/libfuzzcommon.a"
llvm-ar rcs "$OUT/libfuzzcommon.a" "${objs[@]}" 2>/dev/null || ar rcs "$OUT/libfuzzcommon.a" "${objs[@]}"

# --- generated seeds: too big or too regular to commit ---------------------
# One set per harness, behind the prefix bytes that harness reads first
# (tests/fuzz/fuzz_<name>.c documents them). They are run once each, whole:
# libFuzzer would truncate them to -max_len if they were in the corpus.
gen=$OUT/gen
/usr/bin/python3 - "$gen" <<'PY'
import os, sys
root = sys.argv[1]
bodies = {
    # 10 MB: a valid-looking reading padded with a huge string member
    "big_10mb.json": b'{"temperature":21.5,"pad":"' + b"x" * (10 * 1024 * 1024) + b'"}',
    # deep nesting (jansson stops at 2048 levels; go well past it)
    "deep_arrays.json": b"[" * 100000 + b"]" * 100000,
    "deep_objects.json": b'{"a":' * 50000 + b"1" + b"}" * 50000,
    # a huge number of fields / records
    "many_fields.json": b"{" + b",".join(b'"m%d":%d' % (i, i) for i in range(100000)) + b"}",
    "many_records.json": b"[" + b",".join(b'{"n":"temp","v":%d}' % i for i in range(50000)) + b"]",
}
prefixes = {
    "reading": [b""], "anomaly": [b""], "anomaly_log": [b"\x00"], "rpc": [b"\x00\x00", b"\x01\x00"],
    # ingest: native, zigbee2mqtt, tasmota, senml, esphome topics
    "ingest": [b"\x00", b"\x01", b"\x02", b"\x03", b"\x04"],
}
for h, pres in prefixes.items():
    d = os.path.join(root, h)
    os.makedirs(d, exist_ok=True)
    for name, body in bodies.items():
        for i, pre in enumerate(pres):
            p = os.path.join(d, "%d_%s" % (i, name))
            if not os.path.exists(p) or os.path.getsize(p) != len(pre) + len(body):
                with open(p, "wb") as f:
                    f.write(pre + body)
PY

# harness name -> extra environment
harnesses=()
for h in tests/fuzz/fuzz_*.c; do
    n=$(basename "$h" .c); n=${n#fuzz_}
    if [ $# -gt 0 ]; then
        want=0
        for a in "$@"; do [ "$a" = "$n" ] && want=1; done
        [ $want = 1 ] || continue
    fi
    harnesses+=("$n")
done

# Mapping examples shipped in config/ (the ingest engineer's), for fuzz_ingest.
maps=""
for m in config/*.json; do
    [ -f "$m" ] || continue
    if grep -q '"adapters"' "$m"; then maps+="${maps:+:}$ROOT/$m"; fi
done
export FUZZ_INGEST_MAPPINGS=$maps

failed=0
summary=()
for n in "${harnesses[@]}"; do
    bin=$OUT/bin/fuzz_$n
    if ! $CC $CFLAGS -fsanitize=fuzzer $SAN -Itests/fuzz -o "$bin" "tests/fuzz/fuzz_$n.c" \
        "$OUT/libfuzzcommon.a" $LIBS 2>"$OUT/build-$n.log"; then
        echo "fuzz: $n: BUILD FAILED" >&2
        tail -n 15 "$OUT/build-$n.log" >&2
        summary+=("fuzz: $n execs=0 seconds=0 corpus=0 result=BUILD_FAILED")
        failed=1
        continue
    fi
    seeds=tests/fuzz/corpus/$n
    work=$OUT/corpus/$n
    crashes=$OUT/crashes/$n
    mkdir -p "$work" "$crashes" "$seeds"
    log=$OUT/$n.log
    args=(-max_len=65536 -timeout=10 -rss_limit_mb=2048 -print_final_stats=1
          -artifact_prefix="$crashes/")
    # First the generated giants, whole, once each.
    bigs=("$gen/$n"/*)
    if [ -e "${bigs[0]}" ] && ! "$bin" -rss_limit_mb=4096 -timeout=60 \
        -artifact_prefix="$crashes/" "${bigs[@]}" >"$OUT/$n.big.log" 2>&1; then
        echo "fuzz: $n: CRASH on a generated input; log $OUT/$n.big.log" >&2
        grep -E -m3 -A12 'ERROR|runtime error:|contract violated' "$OUT/$n.big.log" >&2
        summary+=("fuzz: $n execs=0 seconds=0 corpus=0 result=CRASH")
        failed=1
        continue
    fi
    if [ "${FUZZ_BUILD_ONLY:-0}" = 1 ]; then
        args+=(-runs=0)
    else
        args+=(-max_total_time="$SECONDS_EACH")
        [ "$JOBS" -gt 1 ] && args+=(-fork="$JOBS" -ignore_crashes=0)
    fi
    start=$SECONDS
    "$bin" "${args[@]}" "$work" "$seeds" >"$log" 2>&1
    rc=$?
    dt=$((SECONDS - start))
    execs=$(grep -Eo 'stat::number_of_executed_units: *[0-9]+' "$log" | grep -Eo '[0-9]+$' | tail -1)
    [ -z "$execs" ] && execs=$(grep -Eo '^#[0-9]+' "$log" | tail -1 | tr -d '#')
    ncorp=$(find "$work" -type f | wc -l)
    if [ $rc != 0 ] || grep -qE '^==[0-9]+==ERROR|runtime error:|contract violated' "$log"; then
        result=CRASH
        failed=1
        echo "fuzz: $n: CRASH (rc=$rc); log $log" >&2
        grep -E -m3 -A12 'ERROR|runtime error:|contract violated' "$log" >&2
        ls "$crashes" >&2
    else
        result=ok
    fi
    # Known, reported findings (tests/fuzz/nasty.h) are not fatal; say which were hit.
    known=$(grep -ho 'known finding hit[^:]*: [a-z0-9-]*' "$log" "$OUT/$n.big.log" 2>/dev/null |
        sed 's/.*: //' | sort -u | paste -sd, -)
    line="fuzz: $n execs=${execs:-0} seconds=$dt corpus=$ncorp result=$result${known:+ known_findings=$known}"
    echo "$line"
    summary+=("$line")
done

{
    echo "# last fuzz run: $(date -u +%Y-%m-%dT%H:%M:%SZ), FUZZ_SECONDS=$SECONDS_EACH"
    printf '%s\n' "${summary[@]}"
} >"$OUT/last-run.txt"
exit $failed
