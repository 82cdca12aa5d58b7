/*
 * expl_rows — the explanations file read by tests/chain/anomaly_gen and
 * bench/chain/chain_bench: one explanation per non-empty line, or a line
 * "metric TAB ts TAB value TAB score TAB type TAB explanation" (a detector
 * replay's anomaly, tests/chain/lib.sh real_explanations) that gives the
 * whole anomaly.
 */
#ifndef EXPL_ROWS_H
#define EXPL_ROWS_H

#include <stddef.h>

#include "bus/anomaly.h"

/* One line's anomaly fields; whole is 1 when the line had all six fields and
 * a known anomaly type (its metric, ts, value, score and type are then set). */
typedef struct {
    int whole;
    char metric[READING_NAME_MAX];
    double ts, value, score;
    int type;
} expl_row;

/* Read the non-empty lines of path, at most max, each cut to
 * ANOMALY_EXPLANATION_MAX - 1 bytes, into texts[0..n) and their fields into
 * rows[0..n) (a plain line leaves its row as it was: zero it first).
 * Returns: n, how many lines were read (0 when the file is unreadable or has
 *          no non-empty line).
 * Out: texts, rows: caller-owned arrays of at least max entries.
 * Blocks on the file read; not thread-safe only in that it writes the
 * caller's arrays. */
size_t expl_rows_read(const char *path, char (*texts)[ANOMALY_EXPLANATION_MAX], expl_row *rows,
                      size_t max);

#endif
