#!/usr/bin/env bash
# Prints docs/CONFIGURATION.md's tables, one per service, from the services'
# own option tables (`<service> --help-tsv`: tab-separated, so an empty or
# spaced default cannot shift a column), so the document cannot drift from
# the code. `scripts/config-tables.sh --update` rewrites the part of
# docs/CONFIGURATION.md between the config markers;
# tests/integration/readme.sh fails when they differ.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
DOC=$ROOT/docs/CONFIGURATION.md
tables() {
    for s in simulator detector chainlogger gateway notifier; do
        echo "#### $s"
        echo
        echo "| flag | environment | default | meaning |"
        echo "|---|---|---|---|"
        "$ROOT/build/bin/$s" --help-tsv | awk -F'\t' '
            NF == 4 && /^--/ {
                flag = $1; env = $2; def = $3; help = $4
                if (def == "(unset)") def = "-"
                gsub(/\|/, "\\|", help); gsub(/</, "\\&lt;", help); gsub(/>/, "\\&gt;", help)
                gsub(/\|/, "\\|", def)
                printf "| `%s` | `%s` | `%s` | %s |\n", flag, env, def, help
            }'
        echo
    done
}
if [ "${1:-}" = --update ]; then
    tmp=$(mktemp)
    tables >"$tmp"
    awk -v f="$tmp" '
        /<!-- config:begin -->/ { print; while ((getline l < f) > 0) print l; skip = 1; next }
        /<!-- config:end -->/ { skip = 0 }
        !skip' "$DOC" >"$tmp.doc"
    mv "$tmp.doc" "$DOC"
    rm -f "$tmp"
else
    tables
fi
