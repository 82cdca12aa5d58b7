/*
 * expl_rows — see expl_rows.h: the explanations file shared by the chain
 * tests' anomaly generator and the chain benchmark's reference client.
 */
#include "expl_rows.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Split a tab-separated line into *r; the explanation is left in line. */
static void parse_row(char *line, expl_row *r)
{
    char *f[6], *save = NULL;
    int n = 0;
    for (char *t = strtok_r(line, "\t", &save); t && n < 6; t = strtok_r(NULL, "\t", &save))
        f[n++] = t;
    if (n != 6 || strlen(f[0]) >= READING_NAME_MAX)
        return;
    snprintf(r->metric, sizeof r->metric, "%s", f[0]);
    r->ts = atof(f[1]);
    r->value = strtod(f[2], NULL);
    r->score = strtod(f[3], NULL);
    r->type = atoi(f[4]);
    r->whole = r->type >= 0 && r->type <= ANOMALY_CHANGE_POINT;
    memmove(line, f[5], strlen(f[5]) + 1);
}

size_t expl_rows_read(const char *path, char (*texts)[ANOMALY_EXPLANATION_MAX], expl_row *rows,
                      size_t max)
{
    FILE *f = fopen(path, "r");
    char line[4096];
    size_t n = 0;
    if (!f)
        return 0;
    while (n < max && fgets(line, sizeof line, f)) {
        line[strcspn(line, "\r\n")] = 0;
        if (strchr(line, '\t'))
            parse_row(line, &rows[n]);
        size_t len = strlen(line);
        if (!len)
            continue;
        if (len >= ANOMALY_EXPLANATION_MAX)
            len = ANOMALY_EXPLANATION_MAX - 1;
        memcpy(texts[n], line, len);
        texts[n++][len] = 0;
    }
    fclose(f);
    return n;
}

void expl_rows_anomaly(anomaly *a, long i, const char *sensor,
                       const char (*texts)[ANOMALY_EXPLANATION_MAX], const expl_row *rows,
                       size_t n, long elen)
{
    memset(a, 0, sizeof *a);
    snprintf(a->sensor_id, sizeof a->sensor_id, "%s", sensor);
    snprintf(a->metric, sizeof a->metric, "%s",
             i % 3 == 0   ? "temperature"
             : i % 3 == 1 ? "humidity"
                          : "pressure");
    a->ts = 1764100000.0 + (double)i + 0.125;
    a->value = 20.0 + (double)(i % 1000) * 0.37 + 1000.0;
    a->score = 0.6 + (double)(i % 97) / 300.0;
    a->type = (anomaly_type)(i % 3);
    if (n) {
        memcpy(a->explanation, texts[(size_t)i % n], sizeof a->explanation);
    } else if (elen >= 0) {
        long k = elen < (long)sizeof a->explanation - 1 ? elen : (long)sizeof a->explanation - 1;
        memset(a->explanation, 'x', (size_t)k);
    } else {
        snprintf(a->explanation, sizeof a->explanation,
                 "%s %.2f is far outside the expected range 19.10..24.30 (n=%ld)", a->metric,
                 a->value, i);
    }
    if (n && rows[(size_t)i % n].whole) {
        const expl_row *r = &rows[(size_t)i % n];
        snprintf(a->metric, sizeof a->metric, "%s", r->metric);
        /* i whole days later, plus i ms: the same minute of the day (so
         * the same explanation) and a distinct id for every i (rows of
         * different sensors or days may share a metric and a time) */
        a->ts = r->ts + 86400.0 * (double)(i + 1) + (double)(i % 1000) / 1000.0;
        a->value = r->value;
        a->score = r->score;
        a->type = (anomaly_type)r->type;
    }
}
