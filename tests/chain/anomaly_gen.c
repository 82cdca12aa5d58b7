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
        memset(&a, 0, sizeof a);
        snprintf(a.sensor_id, sizeof a.sensor_id, "%s", argv[1]);
        snprintf(a.metric, sizeof a.metric, "%s",
                 i % 3 == 0   ? "temperature"
                 : i % 3 == 1 ? "humidity"
                              : "pressure");
        a.ts = 1764100000.0 + (double)i + 0.125;
        a.value = 20.0 + (double)(i % 1000) * 0.37 + 1000.0;
        a.score = 0.6 + (double)(i % 97) / 300.0;
        a.type = (anomaly_type)(i % 3);
        if (nexpl) {
            memcpy(a.explanation, texts[(size_t)i % nexpl], sizeof a.explanation);
        } else if (elen >= 0) {
            long k = elen < (long)sizeof a.explanation - 1 ? elen : (long)sizeof a.explanation - 1;
            memset(a.explanation, 'x', (size_t)k);
        } else {
            snprintf(a.explanation, sizeof a.explanation,
                     "%s %.2f is far outside the expected range 19.10..24.30 (n=%ld)", a.metric,
                     a.value, i);
        }
        if (nexpl && rows[(size_t)i % nexpl].whole) {
            const expl_row *r = &rows[(size_t)i % nexpl];
            snprintf(a.metric, sizeof a.metric, "%s", r->metric);
            /* i whole days later, plus i ms: the same minute of the day (so
             * the same explanation) and a distinct id for every i (rows of
             * different sensors or days may share a metric and a time) */
            a.ts = r->ts + 86400.0 * (double)(i + 1) + (double)(i % 1000) / 1000.0;
            a.value = r->value;
            a.score = r->score;
            a.type = (anomaly_type)r->type;
        }
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
