/*
 * gw_buf — a growable byte buffer for building HTTP bodies (JSON pieces
 * produced by jansson, Prometheus text) without fixed-size limits.
 */
#ifndef GW_BUF_H
#define GW_BUF_H

#include <stddef.h>

typedef struct {
    char *p;    /* NUL-terminated contents (NULL until the first append) */
    size_t len; /* bytes used, excluding the NUL */
    size_t cap;
    int failed; /* set when an allocation failed; later appends are ignored */
} gw_buf;

/** Append n bytes. Returns 0, or -1 when out of memory (then b->failed is set). */
int gw_buf_append(gw_buf *b, const void *data, size_t n);

/** Append a NUL-terminated string. Returns 0 or -1. */
int gw_buf_puts(gw_buf *b, const char *s);

/** Append printf-style text (for Prometheus text only, never JSON).
 *  Returns 0 or -1. */
int gw_buf_printf(gw_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/** Take ownership of the contents (caller frees); b is reset. Never NULL
 *  unless out of memory: an empty buffer yields "". */
char *gw_buf_take(gw_buf *b, size_t *len);

/** Free the contents and reset. */
void gw_buf_free(gw_buf *b);

#endif
