/*
 * cl_verify — `chainlogger verify`: read back every AnomalyLogged event of
 * this logger from the chain (eth_getLogs, in block ranges) and compare it
 * with the journal, field by field:
 *   missing     in the journal, not on chain (includes entries still pending)
 *   extra       on chain, not in the journal
 *   duplicated  on chain more than once
 *   altered     on chain with different content than the journal holds
 * The journal holds each anomaly in the exact on-chain record encoding, so
 * "same content" is byte equality; when it differs, each field is reported.
 *
 * Then every BatchLogged event of this logger is checked: the Merkle root
 * over the ids of the records found on chain for its seqs must equal the
 * root in the event and the root the contract stored (batchRoot). A batch
 * that fails counts as altered (reason=root_mismatch or records_missing):
 * the chain's records and its on-chain commitment disagree.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "eth/anomaly_log.h"
#include "cl.h"
#include "base/hex.h"
#include "base/log.h"
#include "eth/merkle.h"

#define RANGE 5000 /* blocks per eth_getLogs call */

typedef struct {
    uint32_t count; /* times seen on chain */
    int altered;
} seen;

static void diff_fields(const journal_entry *je, const anomaly *c, uint64_t idx, int verbose)
{
    anomaly a;
    if (anomaly_log_decode_record(je->data, je->len, &a) < 0) {
        printf("altered index=%llu reason=journal_record_unreadable\n", (unsigned long long)idx);
        return;
    }
    if (!verbose)
        return;
#define DIFF(cond, name, fmt, x, y)                                                                \
    if (cond)                                                                                      \
        printf("altered id=%s field=%s journal=" fmt " chain=" fmt "\n", a.id, name, x, y);
    DIFF(strcmp(a.sensor_id, c->sensor_id), "sensor_id", "%s", a.sensor_id, c->sensor_id);
    DIFF(strcmp(a.metric, c->metric), "metric", "%s", a.metric, c->metric);
    DIFF(llround(a.ts * 1000) != llround(c->ts * 1000), "ts", "%.3f", a.ts, c->ts);
    DIFF(memcmp(&a.value, &c->value, 8), "value", "%.17g", a.value, c->value);
    DIFF(memcmp(&a.score, &c->score, 8), "score", "%.17g", a.score, c->score);
    DIFF(a.type != c->type, "type", "%d", (int)a.type, (int)c->type);
    DIFF(strcmp(a.explanation, c->explanation), "explanation", "\"%s\"", a.explanation,
         c->explanation);
#undef DIFF
}

/* One decoded AnomalyLogged event, for the batch root check. */
typedef struct {
    uint64_t seq;
    uint8_t id[32];
    char tx[67];
} onchain_rec;

static int by_seq(const void *a, const void *b)
{
    const onchain_rec *x = a, *y = b;
    return x->seq < y->seq ? -1 : x->seq > y->seq;
}

/* Check one batch against the records found. Returns 1 ok, 0 altered, <0 chain error. */
static int check_batch(eth_client *e, const uint8_t contract[20], const anomaly_log_batch *b,
                       const onchain_rec *recs, size_t nrecs)
{
    uint8_t root[32], stored[32], (*leaves)[32];
    size_t lo = 0, hi = nrecs, found = 0;
    const char *why = NULL;
    int rc;

    if (b->count == 0) {
        why = "empty_batch";
        goto report;
    }
    leaves = malloc((size_t)b->count * 32);
    if (!leaves)
        return CL_ERR_FATAL;
    while (lo < hi) { /* first record with seq >= first_seq */
        size_t mid = lo + (hi - lo) / 2;
        if (recs[mid].seq < b->first_seq)
            lo = mid + 1;
        else
            hi = mid;
    }
    for (size_t i = lo; i < nrecs && recs[i].seq - b->first_seq < b->count; i++)
        if (strcasecmp(recs[i].tx, b->tx_hash) == 0 && found == recs[i].seq - b->first_seq)
            memcpy(leaves[found++], recs[i].id, 32);
    if (found != b->count) {
        free(leaves);
        why = "records_missing";
        goto report;
    }
    rc = merkle_root((const uint8_t(*)[32])leaves, b->count, root);
    free(leaves);
    if (rc < 0)
        return CL_ERR_FATAL;
    if ((rc = eth_client_batch_root(e, contract, b->batch, stored)) < 0)
        return rc;
    if (memcmp(root, b->root, 32) == 0 && memcmp(root, stored, 32) == 0)
        return 1;
    why = "root_mismatch";
report:
    printf("altered batch=%llu tx=%s first_seq=%llu count=%u reason=%s\n",
           (unsigned long long)b->batch, b->tx_hash, (unsigned long long)b->first_seq, b->count,
           why);
    return 0;
}

int cl_verify(eth_client *e, const uint8_t contract[20], const uint8_t logger[20], journal *j,
              int verbose)
{
    uint64_t head, n = journal_count(j), onchain = 0;
    uint64_t missing = 0, extra = 0, dup = 0, altered = 0, matched = 0, pending = 0, moved = 0;
    uint64_t batches = 0, bad_batches = 0;
    seen *sv = calloc(n ? n : 1, sizeof(*sv));
    journal_entry *je = malloc(sizeof(*je));
    onchain_rec *recs = NULL;
    size_t nrecs = 0, caprecs = 0;
    json_t *topics = NULL, *logs = NULL;
    char addr[43];
    eth_log_filter f;
    eth_log_pager pg;
    int rc;

    if (!sv || !je) {
        free(sv);
        free(je);
        return CL_ERR_FATAL;
    }
    if ((rc = eth_client_block_number(e, &head)) < 0)
        goto out;
    hex_encode(addr, contract, 20, 1);
    if (!(topics = eth_client_anomaly_topics(NULL, logger))) {
        rc = CL_ERR_FATAL;
        goto out;
    }
    eth_log_filter_init(&f, addr, topics);
    eth_client_pager(e, &pg, &f, 0, head, RANGE);
    while ((rc = eth_client_pager_next(e, &pg, &logs)) == 1) {
        json_t *lg;
        size_t k;
        json_array_foreach(logs, k, lg)
        {
            anomaly c;
            anomaly_log_proof pr;
            uint8_t id[32], rec[ANOMALY_LOG_RECORD_MAX];
            onchain++;
            if (anomaly_log_decode_log(lg, &c, &pr) < 0 || hex_decode(id, 32, c.id) != 32) {
                const char *bn = json_string_value(json_object_get(lg, "blockNumber"));
                printf("extra reason=undecodable_log block=%s\n", bn ? bn : "?");
                extra++;
                continue;
            }
            if (nrecs == caprecs) {
                size_t nc = caprecs ? 2 * caprecs : 1024;
                onchain_rec *nr = realloc(recs, nc * sizeof(*nr));
                if (!nr) {
                    json_decref(logs);
                    rc = CL_ERR_FATAL;
                    goto out;
                }
                recs = nr;
                caprecs = nc;
            }
            recs[nrecs].seq = pr.seq;
            memcpy(recs[nrecs].id, id, 32);
            memcpy(recs[nrecs].tx, pr.tx_hash, sizeof recs[nrecs].tx);
            nrecs++;
            int64_t idx = journal_find(j, id);
            if (idx < 0) {
                if (verbose)
                    printf("extra id=%s sensor=%s block=%llu tx=%s\n", c.id, c.sensor_id,
                           (unsigned long long)pr.block_number, pr.tx_hash);
                extra++;
                continue;
            }
            if ((uint64_t)idx >= n) /* appended after we counted: ignore */
                continue;
            sv[idx].count++;
            if (sv[idx].count == 2) {
                dup++;
                if (verbose)
                    printf("duplicated id=%s block=%llu tx=%s\n", c.id,
                           (unsigned long long)pr.block_number, pr.tx_hash);
            }
            if (journal_get(j, (uint64_t)idx, je) < 0)
                continue;
            int rl = anomaly_log_encode_record(&c, rec, sizeof rec);
            if (rl < 0 || (size_t)rl != je->len || memcmp(rec, je->data, je->len) != 0) {
                if (!sv[idx].altered)
                    altered++;
                sv[idx].altered = 1;
                diff_fields(je, &c, (uint64_t)idx, verbose);
            }
            if (je->state == JOURNAL_CONFIRMED) {
                char txh[67];
                hex_encode(txh, je->tx_hash, 32, 1);
                if (strcasecmp(txh, pr.tx_hash) != 0 || je->block != pr.block_number)
                    moved++; /* e.g. re-mined after a reorg: content still matches */
            }
        }
        json_decref(logs);
    }
    if (rc < 0)
        goto out;
    /* The batch roots: each batch's stored root against the records found. */
    if (nrecs > 1)
        qsort(recs, nrecs, sizeof(*recs), by_seq);
    json_decref(topics);
    if (!(topics = eth_client_batch_topics(logger))) {
        rc = CL_ERR_FATAL;
        goto out;
    }
    eth_log_filter_init(&f, addr, topics);
    eth_client_pager(e, &pg, &f, 0, head, RANGE);
    while ((rc = eth_client_pager_next(e, &pg, &logs)) == 1) {
        json_t *lg;
        size_t k;
        json_array_foreach(logs, k, lg)
        {
            anomaly_log_batch b;
            batches++;
            if (anomaly_log_decode_batch_log(lg, &b) < 0) {
                printf("altered reason=undecodable_batch_log\n");
                bad_batches++;
                continue;
            }
            if ((rc = check_batch(e, contract, &b, recs, nrecs)) < 0) {
                json_decref(logs);
                goto out;
            }
            bad_batches += rc == 0;
        }
        json_decref(logs);
    }
    if (rc < 0)
        goto out;
    altered += bad_batches;
    for (uint64_t i = 0; i < n; i++) {
        if (sv[i].count == 0) {
            if (journal_get(j, i, je) == 0 && je->state != JOURNAL_CONFIRMED)
                pending++;
            missing++;
            if (verbose && journal_get(j, i, je) == 0) {
                char idh[65];
                hex_encode(idh, je->id, 32, 0);
                printf("missing id=%s state=%s\n", idh,
                       je->state == JOURNAL_CONFIRMED ? "confirmed"
                       : je->state == JOURNAL_SENT    ? "sent"
                                                      : "accepted");
            }
        } else if (sv[i].count == 1 && !sv[i].altered) {
            matched++;
        }
    }
    printf("verify: journal=%llu chain=%llu matched=%llu missing=%llu (pending=%llu) extra=%llu "
           "duplicated=%llu altered=%llu proof_mismatch=%llu batches=%llu bad_batch_roots=%llu\n",
           (unsigned long long)n, (unsigned long long)onchain, (unsigned long long)matched,
           (unsigned long long)missing, (unsigned long long)pending, (unsigned long long)extra,
           (unsigned long long)dup, (unsigned long long)altered, (unsigned long long)moved,
           (unsigned long long)batches, (unsigned long long)bad_batches);
    rc = (missing || extra || dup || altered) ? 1 : 0;
    printf("verify: %s\n", rc == 0 ? "OK" : "MISMATCH");
out:
    json_decref(topics);
    free(recs);
    free(sv);
    free(je);
    return rc;
}
