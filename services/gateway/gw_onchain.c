/*
 * gw_onchain — see gw_onchain.h.
 *
 * The cache is a ring of `cap` entries in insertion order (the oldest is
 * overwritten when full) indexed by a hashmap of ids (store/hashmap.h)
 * reserved for cap entries at creation, so a lookup is O(1) and memory is
 * fixed at creation apart from the cached JSON objects themselves.
 */
#include "gw_onchain.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/hex.h"
#include "base/log.h"
#include "base/fnv1a.h"
#include "store/hashmap.h"

typedef struct {
    char id[ANOMALY_ID_HEX];
    json_t *obj; /* NULL: slot free */
} entry;

struct gw_onchain {
    entry *e;
    size_t cap, n, head; /* head: the slot written next (the oldest when full) */
    hashmap index;       /* id -> slot in e */
    long confirmations;
    gw_metrics *metrics;
};

static uint64_t index_hash(const void *ctx, uint64_t v)
{
    const gw_onchain *oc = ctx;
    return fnv1a_str(oc->e[v].id);
}

static int index_eq(const void *ctx, uint64_t v, const void *key)
{
    const gw_onchain *oc = ctx;
    return strcmp(oc->e[v].id, key) == 0;
}

int gw_onchain_create(gw_onchain **out, size_t cap, long confirmations, gw_metrics *metrics)
{
    gw_onchain *oc = calloc(1, sizeof *oc);
    if (!oc)
        return -1;
    oc->confirmations = confirmations < 1 ? 1 : confirmations;
    oc->metrics = metrics;
    oc->cap = cap;
    hashmap_init(&oc->index, 16, index_hash, index_eq, oc);
    if (cap) {
        if (cap > SIZE_MAX / 4 / sizeof(entry))
            goto fail;
        oc->e = calloc(cap, sizeof *oc->e);
        if (!oc->e || hashmap_reserve(&oc->index, cap) != 0)
            goto fail;
    }
    *out = oc;
    return 0;
fail:
    gw_onchain_free(oc);
    return -1;
}

void gw_onchain_cache_clear(gw_onchain *oc)
{
    for (size_t i = 0; i < oc->cap; i++) {
        json_decref(oc->e[i].obj);
        oc->e[i].obj = NULL;
    }
    hashmap_clear(&oc->index);
    oc->n = oc->head = 0;
}

void gw_onchain_free(gw_onchain *oc)
{
    if (!oc)
        return;
    if (oc->e)
        gw_onchain_cache_clear(oc);
    free(oc->e);
    hashmap_free(&oc->index);
    free(oc);
}

size_t gw_onchain_cache_size(const gw_onchain *oc)
{
    return oc->n;
}

static int32_t find(const gw_onchain *oc, const char *id)
{
    uint64_t v;
    return hashmap_find(&oc->index, fnv1a_str(id), id, &v) ? (int32_t)v : -1;
}

json_t *gw_onchain_cache_get(gw_onchain *oc, const char *id)
{
    int32_t i = find(oc, id);
    return i >= 0 ? json_incref(oc->e[i].obj) : NULL;
}

int gw_onchain_cache_put(gw_onchain *oc, const char *id, json_t *obj)
{
    if (!oc->cap || !obj || strlen(id) >= ANOMALY_ID_HEX)
        return -1;
    int32_t i = find(oc, id);
    if (i >= 0) {
        json_decref(oc->e[i].obj);
        oc->e[i].obj = json_incref(obj);
        return 0;
    }
    entry *s = &oc->e[oc->head];
    if (s->obj) { /* full: the oldest leaves the index */
        (void)hashmap_remove(&oc->index, fnv1a_str(s->id), s->id);
        json_decref(s->obj);
        oc->n--;
    }
    snprintf(s->id, sizeof s->id, "%s", id);
    s->obj = json_incref(obj);
    (void)hashmap_insert(&oc->index, fnv1a_str(id), oc->head); /* reserved: cannot fail */
    oc->head = (oc->head + 1) % oc->cap;
    oc->n++;
    return 0;
}

static json_t *hex32(const uint8_t b[32])
{
    char s[67];
    hex_encode(s, b, 32, 1);
    return json_string(s);
}

json_t *gw_onchain_json(const batch_proof *bp, int rc, uint64_t block, const char *err)
{
    if (rc < 0)
        return json_pack("{s:n, s:s}", "logged", "error", err && *err ? err : "chain error");
    json_t *o = json_object();
    if (!o)
        return NULL;
    if (bp->have_batch) {
        json_object_set_new(o, "batch", json_integer((json_int_t)bp->batch.batch));
        json_object_set_new(o, "index", json_integer((json_int_t)bp->index));
    }
    if (bp->have_proof) {
        json_t *p = json_array();
        for (size_t i = 0; p && i < bp->plen; i++)
            json_array_append_new(p, hex32(bp->proof[i]));
        json_object_set_new(o, "root", hex32(bp->root));
        json_object_set_new(o, "proof", p ? p : json_null());
    }
    json_object_set_new(o, "logged", json_boolean(rc == 1));
    json_object_set_new(o, "checked_at_block", json_integer((json_int_t)block));
    if (rc != 1)
        json_object_set_new(o, "reason", json_string(bp->reason ? bp->reason : "not logged"));
    return o;
}

static json_t *failed(gw_onchain *oc, const char *id, const char *why)
{
    if (oc->metrics)
        gw_metrics_err(oc->metrics, GW_ERR_ONCHAIN_CHECK);
    log_rate(27, 10, LOG_WARN, "onchain_check_failed id=%s reason=\"%s\"", id, why);
    return gw_onchain_json(NULL, -1, 0, why);
}

json_t *gw_onchain_check(gw_onchain *oc, rpc_client *rpc, const char *contract, const char *id,
                         const anomaly_log_proof *where)
{
    uint8_t idb[32];
    char err[256] = "";
    uint64_t head;
    batch_proof bp;

    json_t *hit = gw_onchain_cache_get(oc, id);
    if (hit) {
        if (oc->metrics)
            gw_metrics_add(&oc->metrics->onchain_cache_hits, 1);
        return hit;
    }
    if (hex_decode(idb, 32, id) != 32)
        return failed(oc, id, "malformed anomaly id");
    if (!contract || !contract[0])
        return failed(oc, id, "no contract address known yet");
    if (rpc_call_u64(rpc, "eth_blockNumber", json_array(), &head, err, sizeof err) != 0)
        return failed(oc, id, err);
    /* Ask at a fixed block, so checked_at_block is exactly what was asked. */
    int rc = batch_proof_check(rpc, contract, idb, where, head, &bp, err, sizeof err);
    if (rc < 0)
        return failed(oc, id, err);
    if (oc->metrics)
        gw_metrics_add(&oc->metrics->onchain_checks, 1);
    json_t *o = gw_onchain_json(&bp, rc, head, NULL);
    if (o && head >= where->block_number &&
        head - where->block_number + 1 >= (uint64_t)oc->confirmations)
        gw_onchain_cache_put(oc, id, o); /* a full cache only means not cached */
    return o;
}
