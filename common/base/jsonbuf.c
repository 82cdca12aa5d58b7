/*
 * jsonbuf — see jsonbuf.h.
 */
#include "base/jsonbuf.h"

#include "base/errbuf.h"

int jsonbuf_dump(const json_t *o, char *buf, size_t cap)
{
    if (!o)
        return -1;
    size_t n =
        json_dumpb(o, buf, cap, JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(15));
    if (n == 0 || n >= cap)
        return -1;
    buf[n] = '\0';
    return (int)n;
}

int jsonbuf_parse(const void *payload, size_t len, json_type type, const char *type_msg,
                  json_t **out, char *err, size_t errlen)
{
    *out = NULL;
    if (len > JSONBUF_MAX_BYTES) {
        errbuf_set(err, errlen, "payload of %zu bytes exceeds %d", len, JSONBUF_MAX_BYTES);
        return JSONBUF_ERR_TOO_LARGE;
    }
    json_error_t jerr;
    json_t *root = json_loadb(payload, len, JSON_REJECT_DUPLICATES, &jerr);
    if (!root) {
        errbuf_set(err, errlen, "invalid JSON: %s", jerr.text);
        return JSONBUF_ERR_JSON;
    }
    if (json_typeof(root) != type) {
        errbuf_set(err, errlen, "%s", type_msg);
        json_decref(root);
        return JSONBUF_ERR_TYPE;
    }
    *out = root;
    return 0;
}

int jsonbuf_load(const void *payload, size_t len, size_t max, json_t **out, char *err,
                 size_t errlen)
{
    json_error_t jerr;
    *out = NULL;
    if (len > max) {
        errbuf_set(err, errlen, "payload too large");
        return JSONBUF_ERR_TOO_LARGE;
    }
    *out = json_loadb(payload, len, JSON_REJECT_DUPLICATES, &jerr);
    if (!*out) {
        errbuf_set(err, errlen, "invalid JSON: %s", jerr.text);
        return JSONBUF_ERR_JSON;
    }
    return 0;
}
