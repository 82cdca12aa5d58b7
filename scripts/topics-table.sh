#!/usr/bin/env bash
# Prints docs/ARCHITECTURE.md's topic table from the topics module's own
# table (common/bus/topics.c, printed by `build/tests/test_topics
# --markdown`), so the document cannot drift from the code.
# `scripts/topics-table.sh --update` rewrites the part of ARCHITECTURE.md
# between the topics markers; tests/integration/readme.sh fails when they
# differ. Needs `make unit` first.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
DOC=$ROOT/docs/ARCHITECTURE.md
table() { "$ROOT/build/tests/test_topics" --markdown; }
if [ "${1:-}" = --update ]; then
    tmp=$(mktemp)
    table >"$tmp"
    awk -v f="$tmp" '
        /<!-- topics:begin -->/ { print; while ((getline l < f) > 0) print l; skip = 1; next }
        /<!-- topics:end -->/ { skip = 0 }
        !skip' "$DOC" >"$tmp.doc"
    mv "$tmp.doc" "$DOC"
    rm -f "$tmp"
else
    table
fi
