/*
 * errbuf — the one way a module writes a human-readable reason into a
 * caller's (err, errlen) buffer. Many decoders and loaders take such a
 * pair so that callers can log why input was rejected; they all need the
 * same care: a NULL or zero-sized buffer means "not wanted", and the text
 * is truncated, always NUL-terminated, never overflowing.
 */
#ifndef COMMON_ERRBUF_H
#define COMMON_ERRBUF_H

#include <stdarg.h>
#include <stddef.h>

/** Format a reason into the caller's error buffer (printf-style).
 *  Returns: nothing; does nothing when err is NULL or errlen is 0.
 *  Out: err:    caller-owned buffer of errlen bytes; on return it holds the
 *               text, truncated to errlen-1 bytes and NUL-terminated.
 *  In:  errlen: size of err in bytes.
 *       fmt:    printf format and its arguments.
 *  Thread-safe (touches only err). */
void errbuf_set(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#endif
