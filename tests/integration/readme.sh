# The README tells the truth: it opens with exactly the two commands, .ci/run
# runs the test one, docs/CONFIGURATION.md's tables match the services' own
# option tables (and docs/ARCHITECTURE.md's topic table the topics
# module's), and every environment variable run.sh documents exists.
. "$(dirname "$0")/../lib.sh"
cd "$ROOT"
first=$(awk '/^```/{n++; next} n==1' README.md)
[ "$(echo "$first" | grep -c .)" = 2 ] || fail "README's first block is not exactly two commands: $first"
echo "$first" | sed -n 1p | grep -q '^make run ' || fail "first command is not make run"
echo "$first" | sed -n 2p | grep -q '^make test ' || fail "second command is not make test"
grep -q '^make test$' .ci/run || fail ".ci/run does not run make test"
# The configuration tables live in docs/CONFIGURATION.md (README links to
# it) and match the services' own option tables.
grep -q '(docs/CONFIGURATION.md)' README.md || fail "README does not link docs/CONFIGURATION.md"
if grep -q 'config:begin' README.md; then fail "README still holds configuration tables"; fi
scripts/config-tables.sh >"$T/tables.md"
awk '/<!-- config:begin -->/{f=1;next} /<!-- config:end -->/{f=0} f' docs/CONFIGURATION.md >"$T/doc-tables.md"
[ -s "$T/doc-tables.md" ] || fail "docs/CONFIGURATION.md has no tables"
diff -u "$T/doc-tables.md" "$T/tables.md" >"$T/diff" || fail "docs/CONFIGURATION.md tables are stale (scripts/config-tables.sh --update): $(head -20 "$T/diff")"
# The generator cannot check itself: rows have four cells, and a setting
# whose default is empty (the gateway's CORS_ORIGIN) keeps its columns.
bad=$(grep '^| `--' docs/CONFIGURATION.md | sed 's/\\|//g' | awk -F'|' 'NF != 6' || true)
[ -z "$bad" ] || fail "configuration rows without four cells: $bad"
grep -qF "| \`--cors-origin\` | \`CORS_ORIGIN\` | \`\"\"\` | origins allowed cross-origin:" docs/CONFIGURATION.md ||
    fail "an empty default shifts the columns: $(grep -F -- '--cors-origin' docs/CONFIGURATION.md)"
# docs/ARCHITECTURE.md's topic table is the topics module's own (common/bus/topics.c).
[ -x build/tests/test_topics ] || fail "build/tests/test_topics is missing (make unit)"
scripts/topics-table.sh >"$T/topics.md"
awk '/<!-- topics:begin -->/{f=1;next} /<!-- topics:end -->/{f=0} f' docs/ARCHITECTURE.md >"$T/doc-topics.md"
[ -s "$T/topics.md" ] || fail "scripts/topics-table.sh printed nothing"
diff -u "$T/doc-topics.md" "$T/topics.md" >"$T/diff" || fail "docs/ARCHITECTURE.md topic table is stale (scripts/topics-table.sh --update): $(head -20 "$T/diff")"
# Each service answers --help with its table and exit 0, and rejects an
# unknown flag; --version prints "<service> <version>", one version for all.
versions=""
for s in simulator detector chainlogger gateway; do
    "$BIN/$s" --help >/dev/null || fail "$s --help failed"
    if "$BIN/$s" --no-such-flag >/dev/null 2>&1; then fail "$s accepted an unknown flag"; fi
    v=$("$BIN/$s" --version) || fail "$s --version failed"
    [[ "$v" =~ ^$s\ [^\ ]+$ ]] || fail "$s --version printed '$v'"
    versions+="${v#* }"$'\n'
done
[ "$(echo "$versions" | grep -c .)" = 4 ] && [ "$(echo "$versions" | sort -u | grep -c .)" = 1 ] ||
    fail "the services report different versions: $versions"
echo "README ok"
