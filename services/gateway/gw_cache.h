/*
 * gw_cache — the gateway's in-memory index of the anomalies read from the
 * chain (AnomalyLogger events fetched with eth_getLogs). It answers
 * GET /api/anomalies pages and GET /api/anomalies/{id} lookups without
 * touching the chain, so a page of the newest 100 takes the same time
 * whether the chain holds a hundred anomalies or a million.
 *
 * Bounded: it keeps the newest `max` anomalies (GATEWAY_CACHE_ANOMALIES);
 * older ones are evicted and served from the chain on demand (gw_chain's
 * archive jobs): a page whose cursor lies below the oldest cached entry
 * and a lookup of an id not cached. The counts of what was evicted keep
 * "total" right.
 *
 * Entries are kept in chain order (block number, then log index). Each
 * holds the fields the filters need and the item's JSON text, encoded once
 * when the event is read; a page is those texts joined. A hash table maps
 * the anomaly id to its entry.
 *
 * Thread-safety: all functions are thread-safe (a rwlock: the chain thread
 * writes, the lws thread reads).
 */
#ifndef GW_CACHE_H
#define GW_CACHE_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "eth/anomaly_log.h"
#include "bus/anomaly.h"

typedef struct gw_cache gw_cache; /* opaque */

/** Create a cache keeping at most `max` anomalies (0 = no bound); when
 *  full, adding one evicts the oldest.
 *  Out: *out, owned by the caller (gw_cache_destroy). Returns 0 or -1 (no memory). */
int gw_cache_create(gw_cache **out, size_t max);
void gw_cache_destroy(gw_cache *c);

/** Encode the API item for an anomaly and its proof: the anomaly's JSON
 *  (anomaly_to_json) plus tx_hash, block_number, log_index, logger, seq.
 *  Returns a new reference, or NULL when the anomaly does not encode. */
json_t *gw_cache_item_json(const anomaly *a, const anomaly_log_proof *p);

/** Add one anomaly read from chain. Entries must arrive in chain order;
 *  an entry not after the newest one is ignored.
 *  Returns: 0 added, 1 duplicate id or out of order (ignored), -1 no memory
 *  or unencodable anomaly. */
int gw_cache_add(gw_cache *c, const anomaly *a, const anomaly_log_proof *p);

/** Forget everything (the chain was reset or reorganised below us). */
void gw_cache_clear(gw_cache *c);

/** Number of anomalies cached (at most the bound). */
size_t gw_cache_count(gw_cache *c);

typedef struct {
    size_t cached;    /* anomalies held in full */
    size_t max;       /* the bound (0 = none) */
    uint64_t evicted; /* dropped to respect the bound (since the last clear) */
    uint64_t total;   /* anomalies read from chain: cached + evicted */
    int has_oldest;   /* oldest_*: chain position of the oldest cached anomaly */
    uint64_t oldest_block;
    uint32_t oldest_log;
} gw_cache_stats;

/** Snapshot of the counts. Thread-safe. */
void gw_cache_stats_get(gw_cache *c, gw_cache_stats *out);

typedef struct {
    const char *sensor_id; /* NULL = any */
    int type;              /* anomaly_type, or -1 = any */
    double since, until;   /* anomaly ts range, inclusive; NAN = unbounded */
    int has_cursor;        /* only entries strictly older than (cur_block, cur_log) */
    uint64_t cur_block;
    uint32_t cur_log;
    size_t limit; /* 1.. */
} gw_cache_query;

/** Whether q's filters accept an anomaly with these fields (shared with
 *  the chain archive, so both sources filter alike). Returns 1 or 0. */
int gw_cache_query_match(const gw_cache_query *q, const char *sensor_id, int type, double ts);

/** Whether the page q asks for lies wholly below the cache: anomalies were
 *  evicted and q's cursor is at or below the oldest cached one. The page
 *  must then be read from the chain. Returns 1 or 0. */
int gw_cache_needs_chain(gw_cache *c, const gw_cache_query *q);

/** Parse a cursor as produced in "next_cursor" ("<block>-<log_index>").
 *  Returns 0 and fills q's cursor fields, or -1 when malformed. */
int gw_cache_cursor_parse(const char *s, gw_cache_query *q);

/** A page, newest first, as the complete JSON document
 *  {"items": [...], "count": n, "next_cursor": "..."|null, "total": N}.
 *  total counts evicted anomalies too. When the walk reaches the oldest
 *  cached anomaly and older ones were evicted, the page may hold fewer than
 *  q->limit items and still carry a next_cursor (leading to the chain):
 *  only a null next_cursor means the end.
 *  extra: optional object whose members are appended to the document
 *  (borrowed). Out: *len. Returns a malloc'd NUL-terminated string owned by
 *  the caller, or NULL when out of memory. */
char *gw_cache_page(gw_cache *c, const gw_cache_query *q, const json_t *extra, size_t *len);

/** Look up an anomaly by id (64 hex chars).
 *  Out: *item_json: malloc'd copy of the item's JSON (caller frees);
 *       proof (may be NULL). Returns 0, or -1 when unknown (or no memory). */
int gw_cache_get(gw_cache *c, const char *id, char **item_json, anomaly_log_proof *proof);

/** Call fn(arg, item_json, len) for the newest n anomalies, oldest of them
 *  first (so a feed that prepends ends newest on top). The read lock is
 *  held during the calls: fn must not call back into the cache. */
void gw_cache_newest(gw_cache *c, size_t n, void (*fn)(void *, const char *, size_t), void *arg);

#endif
