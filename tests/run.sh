#!/usr/bin/env bash
# Runs every test and ends with the line "N passed, N failed, N skipped".
#   unit tests:        build/tests/test_*        (cmocka)
#   the same under ASan/UBSan: build/asan/tests/test_*
#   integration tests: tests/integration/*.sh    (exit 0 pass, 77 skipped, else fail)
# A cmocka binary whose every test was skipped (e.g. nats-server missing)
# counts as skipped, not passed.
# Retries: a failed test runs once more only when it said it failed because
# a server did not come up, elect or connect in time: a line with
# "SLOW-START: <reason>" (shell tests: fail "SLOW-START: ..."; cmocka:
# fail_msg("SLOW-START: ...")), and nothing else went wrong: no "LOST:",
# "DUPLICATE" or "DUP:" line, no other assertion failure (a FAIL:/ERROR:
# line without the marker, a cmocka "[  ERROR   ] --- " message), no
# sanitizer report, no timeout. The first run's log is kept as NAME.log.first.
# Every retried test is listed above the last line as
# "retried: NAME (reason)"; one that passed on retry counts as passed.
# Exit status: 0 when nothing failed and something passed.
# TESTS=pattern runs only tests whose name contains the pattern;
# TEST_TIMEOUT=seconds bounds each test (default 600).
set -u
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
pass=0 failn=0 skipn=0 failed=() retried=()
out=$ROOT/tests/out
mkdir -p "$out"
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1

# slow_start_reason LOG: print the reason when LOG is a failure the test
# itself put down to a slow start and to nothing else; else return 1.
slow_start_reason() {
    local log=$1 line
    line=$(grep -a -m1 -E '(^|[[:space:]])SLOW-START: ' "$log") || return 1
    grep -a -q -E 'LOST:|DUPLICATE|DUP:' "$log" && return 1
    grep -a -q -E '^TIMEOUT after |AddressSanitizer|LeakSanitizer|UndefinedBehaviorSanitizer|runtime error:' "$log" && return 1
    # Other assertion failures: shell tests' "FAIL: ...", cmocka's
    # fail_msg ("ERROR: ...") and assert_* ("[  ERROR   ] --- a != b";
    # fail_msg's own line is "[  ERROR   ] --- [   LINE   ] ...").
    grep -a -E '^(FAIL|ERROR): ' "$log" | grep -a -q -v -E '^(FAIL|ERROR): SLOW-START: ' && return 1
    grep -a -E '\[  ERROR   \] --- ' "$log" | grep -a -q -v -E '\[  ERROR   \] --- \[   LINE   \]' && return 1
    line=${line#*SLOW-START: }
    echo "${line:0:120}"
}

# all_skipped LOG: a cmocka run (exit 0) that passed nothing and skipped something.
all_skipped() {
    grep -a -q -E '^\[  PASSED  \] 0 test\(s\)\.' "$1" && grep -a -q -E '^ *[0-9]+ SKIPPED TEST\(S\)' "$1"
}

run_one() {
    local name=$1; shift
    if [ -n "${TESTS:-}" ] && [[ "$name" != *"$TESTS"* ]]; then return; fi
    local start=$SECONDS log=$out/${name//\//_}.log rc note="" reason
    rm -f "$log.first"
    # A hung test must not hang the run: each gets TEST_TIMEOUT seconds
    # (default 600), then SIGTERM (its EXIT trap stops what it started).
    timeout -k 20 "${TEST_TIMEOUT:-600}" "$@" >"$log" 2>&1 </dev/null
    rc=$?
    [ $rc = 124 ] && echo "TIMEOUT after ${TEST_TIMEOUT:-600}s" >>"$log"
    if [ $rc != 0 ] && [ $rc != 77 ] && reason=$(slow_start_reason "$log"); then
        echo "exit status: $rc" >>"$log"
        mv "$log" "$log.first"
        timeout -k 20 "${TEST_TIMEOUT:-600}" "$@" >"$log" 2>&1 </dev/null
        rc=$?
        [ $rc = 124 ] && echo "TIMEOUT after ${TEST_TIMEOUT:-600}s" >>"$log"
        retried+=("retried: $name ($reason)")
        note=" (retried after SLOW-START: $reason; first run: ${log#$ROOT/}.first)"
    fi
    local dt=$((SECONDS - start))
    if [ $rc = 0 ] && [[ "$name" != integration/* ]] && all_skipped "$log"; then
        rc=77
    fi
    if [ $rc = 0 ]; then
        pass=$((pass + 1)); printf 'PASS %-50s %3ds%s\n' "$name" "$dt" "$note"
    elif [ $rc = 77 ]; then
        skipn=$((skipn + 1))
        local why
        why=$(grep -a -m1 -E '^SKIP|skipping' "$log" || grep -a -m1 'SKIPPED TEST' "$log")
        printf 'SKIP %-50s %s\n' "$name" "$why"
    else
        failn=$((failn + 1)); failed+=("$name")
        printf 'FAIL %-50s %3ds (rc=%d)%s\n' "$name" "$dt" "$rc" "$note"
        # The assertion that failed first, then the end of the log (the
        # servers' logs dumped on failure can push it out of the tail).
        grep -a -m3 -E '^(FAIL|TIMEOUT|ERROR|==[0-9]+==ERROR)' "$log" | sed 's/^/    > /'
        tail -n 40 "$log" | sed 's/^/    | /'
    fi
}

# SUITE=compose: only tests/compose/*.sh (make test-compose); a skip there
# is not a failure of the run.
if [ "${SUITE:-}" = compose ]; then
    for t in tests/compose/*.sh; do
        [ -f "$t" ] && run_one "compose/$(basename "$t" .sh)" bash "$t"
    done
    echo
    [ ${#failed[@]} -gt 0 ] && echo "failed: ${failed[*]}"
    echo "$pass passed, $failn failed, $skipn skipped"
    [ $failn = 0 ]
    exit
fi
for t in build/tests/test_*; do
    [ -x "$t" ] && run_one "unit/$(basename "$t")" "$t"
done
for t in build/asan/tests/test_*; do
    [ -x "$t" ] && run_one "asan/$(basename "$t")" "$t"
done
for t in tests/integration/*.sh; do
    [ -f "$t" ] && run_one "integration/$(basename "$t" .sh)" bash "$t"
done

echo
[ ${#failed[@]} -gt 0 ] && echo "failed: ${failed[*]}"
for r in "${retried[@]+"${retried[@]}"}"; do echo "$r"; done
echo "$pass passed, $failn failed, $skipn skipped"
[ $failn = 0 ] && [ $pass -gt 0 ]
