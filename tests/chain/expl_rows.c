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
