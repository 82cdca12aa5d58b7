/*
 * sim_clock — see sim_clock.h.
 */
#define _GNU_SOURCE /* timegm, strptime */
#include "sim_clock.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/clock.h"

int sim_parse_time(const char *text, double *ts)
{
    if (!text || !*text)
        return -1;
    if (strcmp(text, "now") == 0) {
        *ts = floor(clock_wall());
        return 0;
    }
    char *end;
    double v = strtod(text, &end);
    if (*end == '\0' && isfinite(v) && v >= 0 && end - text >= 5) {
        *ts = v;
        return 0;
    }
    static const char *const fmts[] = {"%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M",
                                       "%Y-%m-%d"};
    for (size_t i = 0; i < sizeof fmts / sizeof *fmts; i++) {
        struct tm tm;
        memset(&tm, 0, sizeof tm);
        const char *rest = strptime(text, fmts[i], &tm);
        if (!rest)
            continue;
        long off = 0;
        if (*rest == 'Z' || *rest == 'z') {
            rest++;
        } else if ((*rest == '+' || *rest == '-') && strlen(rest) == 6 && rest[3] == ':') {
            int hh = atoi(rest + 1), mm = atoi(rest + 4);
            off = (hh * 3600L + mm * 60L) * (*rest == '-' ? -1 : 1);
            rest += 6;
        }
        if (*rest != '\0')
            continue;
        time_t t = timegm(&tm);
        if (t == (time_t)-1)
            return -1;
        *ts = (double)(t - off);
        return 0;
    }
    return -1;
}

void sim_clock_start(sim_clock *c, double sim0, double speedup)
{
    c->sim0 = sim0;
    c->mono0 = clock_mono();
    c->speedup = speedup;
}

double sim_clock_now(const sim_clock *c)
{
    if (c->speedup <= 0)
        return INFINITY;
    return c->sim0 + (clock_mono() - c->mono0) * c->speedup;
}

double sim_clock_wait_s(const sim_clock *c, double t)
{
    if (c->speedup <= 0)
        return 0;
    return (t - c->sim0) / c->speedup - (clock_mono() - c->mono0);
}

void sim_bucket_init(sim_bucket *b, double rate)
{
    b->rate = rate > 0 ? rate : 0;
    b->tokens = b->rate > 10 ? b->rate / 10 : 1;
    b->last = clock_mono();
}

double sim_bucket_take(sim_bucket *b)
{
    if (b->rate <= 0)
        return 0;
    if (b->tokens < 1) {
        double now = clock_mono();
        double burst = b->rate > 10 ? b->rate / 10 : 1;
        b->tokens += (now - b->last) * b->rate;
        if (b->tokens > burst)
            b->tokens = burst;
        b->last = now;
        if (b->tokens < 1)
            return (1 - b->tokens) / b->rate;
    }
    b->tokens -= 1;
    return 0;
}
