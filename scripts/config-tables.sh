#!/usr/bin/env bash
# Prints the README's configuration tables, one per service, from the
# services' own option tables (`<service> --help`), so the README cannot
# drift from the code. `scripts/config-tables.sh --update` rewrites the
# part of README.md between the config markers; tests/integration/readme.sh
# fails when they differ.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
tables() {
    for s in simulator detector chainlogger gateway; do
        echo "#### $s"
        echo
        echo "| flag | environment | default | meaning |"
        echo "|---|---|---|---|"
        "$ROOT/build/bin/$s" --help | awk '
            /^  --/ {
                flag = $1; env = $2; def = $3
                help = $0; sub(/^  --[^ ]+ +[^ ]+ +[^ ]+ +/, "", help)
                if (def == "(unset)") def = "-"
                gsub(/\|/, "\\|", help); gsub(/</, "\\&lt;", help); gsub(/>/, "\\&gt;", help)
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
        !skip' "$ROOT/README.md" >"$tmp.readme"
    mv "$tmp.readme" "$ROOT/README.md"
    rm -f "$tmp"
else
    tables
fi
