# The end-to-end pipeline again, with all four services built with
# AddressSanitizer and UndefinedBehaviorSanitizer (build/asan/bin, from
# `make services-asan`): any memory error or undefined behaviour in a
# service aborts it, failing the pipeline, and any report found in the
# sanitizer logs fails the test. Leak checking is left to the unit tests
# (services stopped by signal do not free everything on the way out).
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
for b in simulator detector chainlogger gateway; do
    [ -x "$ROOT/build/asan/bin/$b" ] || { echo "FAIL: missing build/asan/bin/$b (make services-asan)" >&2; exit 1; }
done
logs=$(mktemp -d /tmp/iotac-asan.XXXXXX)
export ASAN_OPTIONS="detect_leaks=0:abort_on_error=1:log_path=$logs/asan"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1:log_path=$logs/ubsan"
BIN=$ROOT/build/asan/bin bash "$ROOT/tests/integration/e2e_pipeline.sh"
rc=$?
if ls "$logs"/* >/dev/null 2>&1; then
    echo "FAIL: sanitizer reports:" >&2
    head -n 40 "$logs"/* >&2
    rc=1
fi
rm -rf "$logs"
exit $rc
