/*
 * anomaly_gen — test/bench helper: print N valid anomaly JSON messages, one
 * per line (for `mosquitto_pub -l`), with deterministic ids.
 *   anomaly_gen SENSOR N [START] [EXPLANATION_LEN | @FILE]
 * Anomaly i has ts = 1764100000 + START + i (seconds, with milliseconds),
 * so different START values give different ids. EXPLANATION_LEN: an
 * explanation of that many 'x'; @FILE: explanations taken in turn from the
 * non-empty lines of FILE (e.g. bench/chain/explanations.txt, real ones).
 * A line "metric TAB ts TAB value TAB score TAB type TAB explanation" (a
 * detector replay's anomaly, tests/chain/lib.sh real_explanations) gives
 * the whole anomaly: its metric, value, score and type, and its ts moved by
 * whole days (the same time of day, so the explanation still fits; ids
 * stay distinct).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bus/anomaly.h"
#include "expl_rows.h"

static expl_row rows[4096];

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: anomaly_gen SENSOR N [START] [EXPLANATION_LEN | @FILE]\n");
        return 2;
    }
    long n = atol(argv[2]), start = argc > 3 ? atol(argv[3]) : 0;
    long elen = argc > 4 && argv[4][0] != '@' ? atol(argv[4]) : -1;
    static char texts[4096][ANOMALY_EXPLANATION_MAX];
    size_t nexpl = 0;
    if (argc > 4 && argv[4][0] == '@' &&
        !(nexpl = expl_rows_read(argv[4] + 1, texts, rows, 4096))) {
        fprintf(stderr, "anomaly_gen: no explanations in %s\n", argv[4] + 1);
        return 2;
    }
    /* a replayed anomaly is used whole only with a finite value */
    for (size_t k = 0; k < nexpl; k++)
        rows[k].whole = rows[k].whole && isfinite(rows[k].value);
    char buf[4096];
    for (long i = start; i < start + n; i++) {
        anomaly a;
        expl_rows_anomaly(&a, i, argv[1], texts, rows, nexpl, elen);
        a.expected_low = 19.1;
        a.expected_high = 24.3;
        a.model_version = 1;
        anomaly_make_id(&a);
        if (anomaly_to_json(&a, buf, sizeof buf) < 0)
            return 1;
        puts(buf);
    }
    return 0;
}
