/*
 * chain_logged — see chain_logged.h. Both halves of the `chain/logged`
 * message: the chain logger encodes, the gateway decodes. The decoder's
 * checks and reasons are the ones the gateway has always logged.
 */
#include "bus/chain_logged.h"

#include <jansson.h>
#include <string.h>

#include "base/errbuf.h"
#include "base/jsonbuf.h"

int chain_logged_to_json(const chain_logged *c, char *buf, size_t cap)
{
    if (!c || !buf)
        return -1;
    json_t *o = json_pack("{s:s, s:s, s:I}", "id", c->id, "tx_hash", c->tx_hash, "block_number",
                          (json_int_t)c->block_number);
    const char *opt_name[3] = {"log_index", "seq", "batch"};
    int64_t opt_val[3] = {c->log_index, c->seq, c->batch};
    for (int i = 0; o && i < 3; i++)
        if (opt_val[i] >= 0 &&
            json_object_set_new(o, opt_name[i], json_integer((json_int_t)opt_val[i])) != 0) {
            json_decref(o);
            return -1;
        }
    int n = o ? jsonbuf_dump(o, buf, cap) : -1;
    json_decref(o);
    return n;
}

/* s is exactly `digits` hex digits, after "0x"/"0X" when prefix is set. */
static int is_hex(const char *s, size_t digits, int prefix)
{
    if (!s)
        return 0;
    if (prefix) {
        if (s[0] != '0' || (s[1] != 'x' && s[1] != 'X'))
            return 0;
        s += 2;
    }
    size_t n = 0;
    for (; s[n]; n++) {
        char c = s[n];
        if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F')))
            return 0;
    }
    return n == digits;
}

int chain_logged_from_json(const void *payload, size_t len, chain_logged *out, char *err,
                           size_t errlen)
{
    int rc = -1;
    if (!out) {
        errbuf_set(err, errlen, "no output");
        return -1;
    }
    json_t *root;
    if (jsonbuf_load(payload, len, CHAIN_LOGGED_MAX_PAYLOAD, &root, err, errlen) != 0)
        return -1;
    const char *id = json_string_value(json_object_get(root, "id"));
    const char *tx = json_string_value(json_object_get(root, "tx_hash"));
    json_t *bn = json_object_get(root, "block_number");
    json_t *li = json_object_get(root, "log_index");
    json_t *sq = json_object_get(root, "seq"), *ba = json_object_get(root, "batch");
    if (!json_is_object(root))
        errbuf_set(err, errlen, "not a JSON object");
    else if (!is_hex(id, 64, 0))
        errbuf_set(err, errlen, "id must be 64 hex digits");
    else if (!is_hex(tx, 64, 1))
        errbuf_set(err, errlen, "tx_hash must be 0x and 64 hex digits");
    else if (!json_is_integer(bn) || json_integer_value(bn) < 0)
        errbuf_set(err, errlen, "block_number must be a non-negative integer");
    else if (li && !(json_is_integer(li) && json_integer_value(li) >= 0))
        errbuf_set(err, errlen, "log_index must be a non-negative integer");
    else if ((sq && !(json_is_integer(sq) && json_integer_value(sq) >= 0)) ||
             (ba && !(json_is_integer(ba) && json_integer_value(ba) >= 0)))
        errbuf_set(err, errlen, "seq and batch must be non-negative integers");
    else {
        memcpy(out->id, id, 65);
        memcpy(out->tx_hash, tx, 67);
        out->block_number = (int64_t)json_integer_value(bn);
        out->log_index = li ? (int64_t)json_integer_value(li) : -1;
        out->seq = sq ? (int64_t)json_integer_value(sq) : -1;
        out->batch = ba ? (int64_t)json_integer_value(ba) : -1;
        rc = 0;
    }
    json_decref(root);
    return rc;
}
