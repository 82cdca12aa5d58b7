#!/usr/bin/env bash
# tests/run.sh itself, on fake tests in a copy of the tree layout (a temp
# dir with tests/run.sh, build/tests/test_* and tests/integration/*.sh):
#   - a failure whose log has LOST: is not retried (even with SLOW-START:)
#     and fails; so is one with DUPLICATE, DUP:, or another assertion failure;
#   - a failure the test puts down to a slow start ("FAIL: SLOW-START: r")
#     runs again, passes, counts as passed and is listed "retried: NAME (r)";
#     one that is slow twice fails and is listed as well;
#   - a plain failure is not retried;
#   - a cmocka binary whose every test skipped counts as skipped; one with a
#     passed test and skipped ones counts as passed; a cmocka fail_msg with
#     SLOW-START: is retried, a cmocka assertion failure is not;
#   - exit 77 is skipped; the last line is exactly "N passed, N failed, N
#     skipped" and the exit status is 1 when something failed.
. "$(dirname "$0")/../lib.sh"
command -v cc >/dev/null || skip "no C compiler"
F=$T/tree
mkdir -p "$F/tests/integration" "$F/build/tests"
cp "$ROOT/tests/run.sh" "$F/tests/run.sh"
RUNS=$T/runs # one line per run of a fake test: its name
: >"$RUNS"

# fake NAME BODY: tests/integration/NAME.sh, which records each run first.
fake() {
    printf 'echo %s >>%q\n%s\n' "$1" "$RUNS" "$2" >"$F/tests/integration/$1.sh"
}
# nth NAME: how many times NAME ran before this run.
nth='n=$(grep -cx "$(basename "$0" .sh)" '"$RUNS"')'
fake pass 'echo ok; exit 0'
fake skipped 'echo "SKIP: not here" >&2; exit 77'
fake plainfail 'echo "FAIL: wrong answer" >&2; exit 1'
fake lost 'echo "SLOW-START: node 2 slow"; echo "FAIL: LOST: 3 of 100 acknowledged messages" >&2; exit 1'
fake dup 'echo "FAIL: SLOW-START: slow"; echo "DUPLICATE id 0x12 on chain" >&2; exit 1'
fake assertion 'echo "SLOW-START: slow elect"; echo "FAIL: 2 sensors alerted twice" >&2; exit 1'
fake slowonce "$nth"'
[ "$n" -ge 2 ] && exit 0
echo "FAIL: SLOW-START: the NATS cluster was not ready in time" >&2; exit 1'
fake slowtwice 'echo "FAIL: SLOW-START: broker never came up" >&2; exit 1'

# cmocka binaries (the real library): all skipped, mixed, fail_msg with
# the marker on the first run only, an assertion failure after a marker.
cat >"$T/cm.c" <<C
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
static int runs(const char *name)
{
    char line[64];
    int n = 0;
    FILE *f = fopen("$RUNS", "r");
    while (f && fgets(line, sizeof line, f))
        n += strncmp(line, name, strlen(name)) == 0 && line[strlen(name)] == '\n';
    if (f)
        fclose(f);
    f = fopen("$RUNS", "a");
    fprintf(f, "%s\n", name);
    fclose(f);
    return n;
}
static void t_skip(void **s) { (void)s; skip(); }
static void t_ok(void **s) { (void)s; assert_int_equal(1, 1); }
static void t_slow(void **s) { (void)s; if (runs("cm_slow") == 0) fail_msg("SLOW-START: client not connected within 15 s"); }
static void t_bad(void **s) { (void)s; runs("cm_bad"); print_message("SLOW-START: slow\n"); assert_int_equal(1, 2); }
int main(int argc, char **argv)
{
    (void)argc;
    const char *m = strrchr(argv[0], '_') + 1;
    const struct CMUnitTest skips[] = {cmocka_unit_test(t_skip), cmocka_unit_test(t_skip)};
    const struct CMUnitTest mixed[] = {cmocka_unit_test(t_ok), cmocka_unit_test(t_skip)};
    const struct CMUnitTest slow[] = {cmocka_unit_test(t_slow), cmocka_unit_test(t_skip)};
    const struct CMUnitTest bad[] = {cmocka_unit_test(t_bad)};
    if (strcmp(m, "allskip") == 0)
        return cmocka_run_group_tests(skips, NULL, NULL);
    if (strcmp(m, "mixed") == 0)
        return cmocka_run_group_tests(mixed, NULL, NULL);
    if (strcmp(m, "slow") == 0)
        return cmocka_run_group_tests(slow, NULL, NULL);
    return cmocka_run_group_tests(bad, NULL, NULL);
}
C
cc -o "$T/cm" "$T/cm.c" -lcmocka || skip "cmocka not installed"
for m in allskip mixed slow bad; do cp "$T/cm" "$F/build/tests/test_cm_$m"; done

rc=0
TESTS= bash "$F/tests/run.sh" >"$T/run.out" 2>&1 || rc=$?
cat "$T/run.out"
ran() { grep -cx "$1" "$RUNS" || true; }
line() { grep -E "^$1 +$2 " "$T/run.out" >/dev/null || fail "no '$1 $2' line"; }

[ "$rc" = 1 ] || fail "run.sh exited $rc with failures, want 1"
[ "$(tail -n 1 "$T/run.out")" = "4 passed, 6 failed, 2 skipped" ] ||
    fail "last line: '$(tail -n 1 "$T/run.out")', want '4 passed, 6 failed, 2 skipped'"
line PASS integration/pass
line SKIP integration/skipped
line SKIP unit/test_cm_allskip
line PASS unit/test_cm_mixed
for t in plainfail lost dup assertion slowtwice; do line FAIL "integration/$t"; done
line FAIL unit/test_cm_bad
line PASS integration/slowonce
line PASS unit/test_cm_slow
# Retried: only the slow-start ones, each once.
for t in lost dup assertion plainfail; do [ "$(ran "$t")" = 1 ] || fail "$t ran $(ran "$t") times, want 1"; done
[ "$(ran cm_bad)" = 1 ] || fail "cmocka assertion failure ran $(ran cm_bad) times, want 1"
[ "$(ran slowonce)" = 2 ] || fail "slowonce ran $(ran slowonce) times, want 2"
[ "$(ran slowtwice)" = 2 ] || fail "slowtwice ran $(ran slowtwice) times, want 2"
[ "$(ran cm_slow)" = 2 ] || fail "cmocka slow start ran $(ran cm_slow) times, want 2"
# The retried lines, just above the last one, and nothing else listed.
want="retried: unit/test_cm_slow (client not connected within 15 s)
retried: integration/slowonce (the NATS cluster was not ready in time)
retried: integration/slowtwice (broker never came up)"
got=$(grep '^retried: ' "$T/run.out")
[ "$got" = "$want" ] || fail "retried lines: '$got', want '$want'"
[ "$(tail -n 4 "$T/run.out" | head -n 3)" = "$want" ] || fail "retried lines are not just above the last line"
[ -f "$F/tests/out/integration_slowonce.log.first" ] || fail "the first run's log was not kept"
grep -q 'SLOW-START' "$F/tests/out/integration_slowonce.log.first" || fail "first log content"

# Nothing failed, something passed: exit 0, no retried line.
rc=0
TESTS=pass bash "$F/tests/run.sh" >"$T/run2.out" 2>&1 || rc=$?
[ "$rc" = 0 ] || fail "all passed but run.sh exited $rc"
[ "$(tail -n 1 "$T/run2.out")" = "1 passed, 0 failed, 0 skipped" ] || fail "last line: $(tail -n 1 "$T/run2.out")"
! grep -q '^retried:' "$T/run2.out" || fail "retried line without a retry"
echo "run_sh: OK"
