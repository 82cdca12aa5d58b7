/*
 * anomaly_gen — test/bench helper: print N valid anomaly JSON messages, one
 * per line (for `mosquitto_pub -l`), with deterministic ids.
 *   anomaly_gen SENSOR N [START] [EXPLANATION_LEN]
 * Anomaly i has ts = 1764100000 + START + i (seconds, with milliseconds),
 * so different START values give different ids.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bus/anomaly.h"

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: anomaly_gen SENSOR N [START] [EXPLANATION_LEN]\n");
        return 2;
    }
    long n = atol(argv[2]), start = argc > 3 ? atol(argv[3]) : 0;
    long elen = argc > 4 ? atol(argv[4]) : -1;
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
        if (elen >= 0) {
            long k = elen < (long)sizeof a.explanation - 1 ? elen : (long)sizeof a.explanation - 1;
            memset(a.explanation, 'x', (size_t)k);
        } else {
            snprintf(a.explanation, sizeof a.explanation,
                     "%s %.2f is far outside the expected range 19.10..24.30 (n=%ld)", a.metric,
                     a.value, i);
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
