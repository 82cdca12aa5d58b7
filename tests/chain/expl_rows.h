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

/* Anomaly i of the generated sequence (what anomaly_gen prints and
 * chain_bench signs): sensor_id sensor; metric, ts, value, score and type
 * from i; the explanation texts[i % n] when n > 0, else elen 'x' when
 * elen >= 0, else a sentence with the metric, value and i. A whole row
 * rows[i % n] gives its metric, value, score and type and its ts moved by
 * i + 1 days plus i % 1000 ms (the same time of day, so the same
 * explanation; a distinct id for every i).
 * Out: a: zeroed first; expected_low/high, model_version and the id are left
 *      to the caller.
 * In:  texts, rows: n entries (both may be NULL when n is 0). */
void expl_rows_anomaly(anomaly *a, long i, const char *sensor,
                       const char (*texts)[ANOMALY_EXPLANATION_MAX], const expl_row *rows,
                       size_t n, long elen);

#endif
