/*
 * jsonbuf — JSON between jansson values and caller-owned message buffers,
 * with the conventions every message on our topics follows, so they are
 * written down once:
 *   - out: compact, members in insertion order, reals with 15 significant
 *     digits (enough to round-trip what sensors send, short on the wire),
 *     NUL-terminated, never truncated;
 *   - in: at most JSONBUF_MAX_BYTES bytes, duplicate members rejected
 *     (a second "temperature" must not hide the first), NaN/Infinity
 *     literals rejected (jansson never accepts them; 1e999 is an
 *     overflow error), and the top-level type checked.
 * Errors in are reported with the JSONBUF_ERR_* codes below, which
 * bus/reading.h reuses as READING_ERR_TOO_LARGE, _JSON and _TYPE (this
 * header is the lower layer: base/ knows nothing of bus/).
 */
#ifndef COMMON_JSONBUF_H
#define COMMON_JSONBUF_H

#include <jansson.h>
#include <stddef.h>

#define JSONBUF_MAX_BYTES 65536 /* larger payloads are rejected unparsed */

enum {
    JSONBUF_ERR_TOO_LARGE = -1, /* payload above JSONBUF_MAX_BYTES */
    JSONBUF_ERR_JSON = -2,      /* not valid JSON, or a duplicate member */
    JSONBUF_ERR_TYPE = -3,      /* wrong top-level type */
};

/** Serialise a JSON value in the wire form described above.
 *  Returns: the length written (without the NUL), or -1 when o is NULL,
 *           cannot be serialised, or does not fit in cap-1 bytes (buf's
 *           contents are then unspecified).
 *  Out: buf: caller-owned, cap bytes.
 *  In:  o:   the value (not consumed: the caller keeps its reference).
 *  No allocation beyond jansson's own; thread-safe for distinct buffers. */
int jsonbuf_dump(const json_t *o, char *buf, size_t cap);

/** Parse a message payload (not NUL-terminated) into a JSON value of the
 *  given top-level type.
 *  Returns: 0, or JSONBUF_ERR_TOO_LARGE (len > JSONBUF_MAX_BYTES),
 *           JSONBUF_ERR_JSON (not JSON, or a duplicate member) or
 *           JSONBUF_ERR_TYPE (top level is not `type`; the reason is then
 *           type_msg verbatim).
 *  Out: out: on 0, a new reference the caller must json_decref; else NULL.
 *       err: the reason on failure (errlen bytes, may be NULL).
 *  In:  payload, len: the message; type: JSON_OBJECT or JSON_ARRAY;
 *       type_msg: the reason to report for a wrong top-level type. */
int jsonbuf_parse(const void *payload, size_t len, json_type type, const char *type_msg,
                  json_t **out, char *err, size_t errlen);

/** Parse a message payload (not NUL-terminated) of at most max bytes into a
 *  JSON value of any type, duplicate members rejected: the decoders that
 *  check the top-level type themselves, among their other checks.
 *  Returns: 0, or JSONBUF_ERR_TOO_LARGE (len > max; the reason is then
 *           "payload too large") or JSONBUF_ERR_JSON (not JSON, or a
 *           duplicate member; "invalid JSON: " and jansson's reason).
 *  Out: out: on 0, a new reference the caller must json_decref; else NULL.
 *       err: the reason on failure (errlen bytes, may be NULL).
 *  In:  payload, len: the message; max: the decoder's size limit.
 *  No allocation beyond jansson's own; thread-safe. */
int jsonbuf_load(const void *payload, size_t len, size_t max, json_t **out, char *err,
                 size_t errlen);

#endif
