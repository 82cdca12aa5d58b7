/*
 * cl_verify — `chainlogger verify`: read back every AnomalyLogged event of
 * this logger from the chain (eth_getLogs, in block ranges), anomalies and
 * alarm lifecycle events alike, and compare it with the journal, field by
 * field:
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

/* What one `verify` run holds: the journal side (seen per entry), the
 * records found on chain (for the batch roots) and the counters it prints. */
typedef struct {
    eth_client *e;
    const uint8_t *contract, *logger;
    journal *j;
    int verbose;
    uint64_t head, n;
    char addr[43];
    seen *sv;
    journal_entry *je;
    onchain_rec *recs;
    size_t nrecs, caprecs;
    uint64_t onchain, missing, extra, dup, altered, matched, pending, moved;
    uint64_t batches, bad_batches;
    uint64_t alarm_events;       /* alarm lifecycle records found on chain */
    anomaly_log_rec *rec, *jrec; /* scratch for check_record: chain, journal */
} verify_run;

/* Keep (seq, id, tx) of a decoded record for the batch root check.
 * Returns 0, or CL_ERR_FATAL when out of memory. */
static int keep_record(verify_run *v, uint64_t seq, const uint8_t id[32], const char *tx)
{
    if (v->nrecs == v->caprecs) {
        size_t nc = v->caprecs ? 2 * v->caprecs : 1024;
        onchain_rec *nr = realloc(v->recs, nc * sizeof(*nr));
        if (!nr)
            return CL_ERR_FATAL;
        v->recs = nr;
        v->caprecs = nc;
    }
    onchain_rec *r = &v->recs[v->nrecs++];
    r->seq = seq;
    memcpy(r->id, id, 32);
    memcpy(r->tx, tx, sizeof r->tx);
    return 0;
}

/* One AnomalyLogged event against the journal. Returns 0, or CL_ERR_FATAL. */
static int check_record(verify_run *v, json_t *lg)
{
    anomaly_log_rec *r = v->rec;
    anomaly_log_proof pr;
    uint8_t id[32], rec[ANOMALY_LOG_RECORD_MAX];
    uint8_t who[20];
    int drc = anomaly_log_decode_log_any(lg, r, &pr);
    /* another logger's record (the node filter cannot tell: its topic moved) */
    if (drc == 0 && v->logger &&
        (hex_decode(who, 20, pr.logger) != 20 || memcmp(who, v->logger, 20) != 0))
        return 0;
    v->onchain++;
    if (drc < 0 || hex_decode(id, 32, anomaly_log_rec_id(r)) != 32) {
        const char *bn = json_string_value(json_object_get(lg, "blockNumber"));
        printf("extra reason=undecodable_log block=%s\n", bn ? bn : "?");
        v->extra++;
        return 0;
    }
    if (keep_record(v, pr.seq, id, pr.tx_hash) < 0)
        return CL_ERR_FATAL;
    v->alarm_events += r->kind == ANOMALY_LOG_KIND_ALARM;
    int64_t idx = journal_find(v->j, id);
    if (idx < 0) {
        if (v->verbose)
            printf("extra id=%s sensor=%s block=%llu tx=%s\n", anomaly_log_rec_id(r),
                   anomaly_log_rec_sensor(r), (unsigned long long)pr.block_number, pr.tx_hash);
        v->extra++;
        return 0;
    }
    if ((uint64_t)idx >= v->n) /* appended after we counted: ignore */
        return 0;
    seen *sv = &v->sv[idx];
    if (++sv->count == 2) {
        v->dup++;
        if (v->verbose)
            printf("duplicated id=%s block=%llu tx=%s\n", anomaly_log_rec_id(r),
                   (unsigned long long)pr.block_number, pr.tx_hash);
    }
    journal_entry *je = v->je;
    if (journal_get(v->j, (uint64_t)idx, je) < 0)
        return 0;
    /* The same bytes, or the same content: a journal written before the
     * compact explanations (eth/expl_codec.h) holds raw text the encoder
     * would now store as a template, for the very record on chain. The
     * field-by-field report is for anomalies (an alarm event's fields are
     * printed whole). */
    int rl = anomaly_log_encode_any(r, rec, sizeof rec);
    int same = rl >= 0 && (size_t)rl == je->len && memcmp(rec, je->data, je->len) == 0;
    if (!same && anomaly_log_decode_any(je->data, je->len, v->jrec) == 0 &&
        v->jrec->kind == r->kind)
        same = r->kind == 0 ? memcmp(&v->jrec->a, &r->a, sizeof r->a) == 0
                            : memcmp(&v->jrec->e, &r->e, sizeof r->e) == 0;
    if (!same) {
        if (!sv->altered)
            v->altered++;
        sv->altered = 1;
        if (r->kind == 0)
            diff_fields(je, &r->a, (uint64_t)idx, v->verbose);
        else
            printf("altered id=%s kind=alarm_event alarm=%s event=%s at=%lld by=\"%s\"\n", r->e.id,
                   r->e.alarm_id, alarm_event_name(r->e.event), (long long)r->e.at, r->e.by);
    }
    if (je->state == JOURNAL_CONFIRMED) {
        char txh[67];
        hex_encode(txh, je->tx_hash, 32, 1);
        if (strcasecmp(txh, pr.tx_hash) != 0 || je->block != pr.block_number)
            v->moved++; /* e.g. re-mined after a reorg: content still matches */
    }
    return 0;
}

/* One BatchLogged event: its root against the records found. Returns 0,
 * or a negative CL_ERR_*. */
static int check_batch_log(verify_run *v, json_t *lg)
{
    anomaly_log_batch b;
    v->batches++;
    if (anomaly_log_decode_batch_log(lg, &b) < 0) {
        printf("altered reason=undecodable_batch_log\n");
        v->bad_batches++;
        return 0;
    }
    int rc = check_batch(v->e, v->contract, &b, v->recs, v->nrecs);
    if (rc < 0)
        return rc;
    v->bad_batches += rc == 0;
    return 0;
}

/* Page over every log of this logger matching topics (owned by the
 * caller) from block 0 to head, handing each to fn. Returns 0, or a
 * negative CL_ERR_* (from the chain or from fn). */
static int each_log(verify_run *v, json_t *topics, int (*fn)(verify_run *, json_t *))
{
    eth_log_filter f;
    eth_log_pager pg;
    json_t *logs = NULL;
    int rc;
    eth_log_filter_init(&f, v->addr, topics);
    eth_client_pager(v->e, &pg, &f, 0, v->head, RANGE);
    while ((rc = eth_client_pager_next(v->e, &pg, &logs)) == 1) {
        json_t *lg;
        size_t k;
        json_array_foreach(logs, k, lg)
        {
            if ((rc = fn(v, lg)) < 0)
                break;
        }
        json_decref(logs);
        if (rc < 0)
            return rc;
    }
    return rc < 0 ? rc : 0;
}

/* The journal side: entries seen on chain exactly once and unaltered are
 * matched; the others missing (and pending when not yet confirmed). */
static void tally_journal(verify_run *v)
{
    journal_entry *je = v->je;
    for (uint64_t i = 0; i < v->n; i++) {
        if (v->sv[i].count == 1 && !v->sv[i].altered) {
            v->matched++;
            continue;
        }
        if (v->sv[i].count != 0 || journal_get(v->j, i, je) < 0) {
            v->missing += v->sv[i].count == 0;
            continue;
        }
        v->missing++;
        if (je->state != JOURNAL_CONFIRMED)
            v->pending++;
        if (v->verbose) {
            char idh[65];
            hex_encode(idh, je->id, 32, 0);
            printf("missing id=%s state=%s\n", idh,
                   je->state == JOURNAL_CONFIRMED ? "confirmed"
                   : je->state == JOURNAL_SENT    ? "sent"
                                                  : "accepted");
        }
    }
}

/* Print the summary. Returns 1 when anything disagrees, else 0. */
static int report(const verify_run *v)
{
    printf("verify: journal=%llu chain=%llu matched=%llu missing=%llu (pending=%llu) extra=%llu "
           "duplicated=%llu altered=%llu proof_mismatch=%llu batches=%llu bad_batch_roots=%llu "
           "alarm_events=%llu\n",
           (unsigned long long)v->n, (unsigned long long)v->onchain, (unsigned long long)v->matched,
           (unsigned long long)v->missing, (unsigned long long)v->pending,
           (unsigned long long)v->extra, (unsigned long long)v->dup, (unsigned long long)v->altered,
           (unsigned long long)v->moved, (unsigned long long)v->batches,
           (unsigned long long)v->bad_batches, (unsigned long long)v->alarm_events);
    int rc = (v->missing || v->extra || v->dup || v->altered) ? 1 : 0;
    printf("verify: %s\n", rc == 0 ? "OK" : "MISMATCH");
    return rc;
}

int cl_verify(eth_client *e, const uint8_t contract[20], const uint8_t logger[20], journal *j,
              int verbose)
{
    verify_run v = {.e = e, .contract = contract, .logger = logger, .j = j, .verbose = verbose};
    json_t *topics = NULL;
    int rc = CL_ERR_FATAL;

    v.n = journal_count(j);
    v.sv = calloc(v.n ? v.n : 1, sizeof(*v.sv));
    v.je = malloc(sizeof(*v.je));
    v.rec = malloc(sizeof(*v.rec));
    v.jrec = malloc(sizeof(*v.jrec));
    if (!v.sv || !v.je || !v.rec || !v.jrec)
        goto out;
    if ((rc = eth_client_block_number(e, &v.head)) < 0)
        goto out;
    hex_encode(v.addr, contract, 20, 1);
    rc = CL_ERR_FATAL;
    if (!(topics = eth_client_anomaly_topics(NULL)))
        goto out;
    if ((rc = each_log(&v, topics, check_record)) < 0)
        goto out;
    /* The batch roots: each batch's stored root against the records found. */
    if (v.nrecs > 1)
        qsort(v.recs, v.nrecs, sizeof(*v.recs), by_seq);
    json_decref(topics);
    rc = CL_ERR_FATAL;
    if (!(topics = eth_client_batch_topics(logger)))
        goto out;
    if ((rc = each_log(&v, topics, check_batch_log)) < 0)
        goto out;
    v.altered += v.bad_batches;
    tally_journal(&v);
    rc = report(&v);
out:
    json_decref(topics);
    free(v.recs);
    free(v.sv);
    free(v.je);
    free(v.rec);
    free(v.jrec);
    return rc;
}
