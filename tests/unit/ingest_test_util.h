/* Helpers shared by the ingest unit tests (tests/unit/test_ingest*.c). */
#ifndef INGEST_TEST_UTIL_H
#define INGEST_TEST_UTIL_H

#include <math.h>
#include <string.h>

#include "ingest/ingest.h"

#define NOW 1700000000.0

/* Decode a NUL-terminated payload at NOW. */
static inline int dec(ingest *ig, const char *topic, const char *payload, reading *out, int cap)
{
    char err[160];
    return ingest_decode(ig, topic, payload, strlen(payload), NOW, out, cap, err, sizeof err);
}

/* Value of metric `name` in r, NAN when absent. */
static inline double metric(const reading *r, const char *name)
{
    int i = reading_find(r, name);
    return i < 0 ? NAN : r->m[i].value;
}

static inline int near(double a, double b)
{
    return fabs(a - b) < 1e-6;
}

/* A context from a JSON literal; fails the test on error. */
#define MAPPING(igp, json)                                                                         \
    do {                                                                                           \
        char merr_[256] = "";                                                                      \
        int mrc_ = ingest_create_from_json((igp), (json), strlen(json), merr_, sizeof merr_);      \
        if (mrc_ != 0)                                                                             \
            fail_msg("mapping rejected: %s", merr_);                                               \
    } while (0)

#endif
