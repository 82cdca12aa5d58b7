/*
 * gw_chain — see gw_chain.h.
 *
 * Follower: each poll asks eth_blockNumber, then reads the blocks after the
 * last one read with eth_getLogs(address = contract, topics = [event
 * topic]) in ranges. The range adapts to the density of events: it halves
 * when a call fails or returns many logs (a node may refuse or time out on
 * huge answers) and doubles when answers are small, so a sparse chain of
 * millions of blocks and a dense one of 100,000 anomalies both sync in few
 * calls. When the head moves backwards (a dev chain restarted from scratch),
 * the cache is cleared and the chain read again.
 *
 * Archive: the cache keeps only the newest anomalies, so the verifier
 * thread also answers what it evicted. A lookup by id is one eth_getLogs
 * over the whole chain with the id as topic1 (the event indexes it, so the
 * node answers from its index). A page below the cache walks backwards
 * from its cursor in block ranges (the sensor matched after decoding: the
 * current event has no sensor topic), growing the range while it finds few logs, at most
 * GW_ARCHIVE_MAX_CALLS calls; a page that has not filled up by then (a
 * rare filter over a long chain) ends with a cursor at the last block
 * read, so the client pages on rather than the gateway scanning the whole
 * chain in one request.
 *
 * Verifier: re-fetches the receipt of the anomaly's transaction and checks
 * that it succeeded, sits in the recorded block, contains the recorded log
 * at the recorded index, emitted by the contract, and that the log decodes
 * to exactly the cached item. The id itself is recomputed on chain by the
 * contract and re-checked by anomaly_log_decode_log, so content and id agree.
 */
#include "gw_chain.h"

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "base/clock.h"
#include "base/deadline.h"
#include "gw_onchain.h"
#include "base/hex.h"
#include "eth/contract_file.h"
#include "eth/client.h"
#include "eth/keccak.h"
#include "base/log.h"
#include "eth/rpc.h"

#define RANGE_MIN 1
#define RANGE_START 1000
#define RANGE_MAX 100000
#define LOGS_HIGH 4000 /* shrink the range above this many logs per call */
#define LOGS_LOW 500   /* grow it below this many */
#define VERIFY_QUEUE_MAX 256

struct gw_chain {
    gw_chain_options opt;
    char *rpc_url, *state_dir;
    char contract[43];
    pthread_t follower, verifier;
    int follower_started, verifier_started;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int stop;
    gw_chain_status st;
    gw_verify_job *queue, *done;
    int nqueue;
    gw_onchain *onchain;  /* verifier thread only */
    uint64_t resets;      /* chain resets seen by the follower (under mu) */
    uint64_t resets_seen; /* ... and by the verifier (its own) */
};

/* Sleep up to ms unless stopping. Returns 1 when stopping. */
static int nap(gw_chain *c, long ms)
{
    struct timespec until;
    deadline_after_ms(&until, ms);
    pthread_mutex_lock(&c->mu);
    while (!c->stop && pthread_cond_timedwait(&c->cv, &c->mu, &until) != ETIMEDOUT) {
    }
    int stop = c->stop;
    pthread_mutex_unlock(&c->mu);
    return stop;
}

static int stopping(gw_chain *c)
{
    pthread_mutex_lock(&c->mu);
    int s = c->stop;
    pthread_mutex_unlock(&c->mu);
    return s;
}

static int address_valid(const char *a)
{
    if (!a || strlen(a) != 42 || a[0] != '0' || (a[1] != 'x' && a[1] != 'X'))
        return 0;
    uint8_t b[20];
    return hex_decode(b, sizeof b, a) == 20;
}

static void set_contract(gw_chain *c, const char *addr)
{
    pthread_mutex_lock(&c->mu);
    for (int i = 0; i < 42; i++)
        c->contract[i] = (char)(i < 2                                ? "0x"[i]
                                : (addr[i] >= 'A' && addr[i] <= 'F') ? addr[i] - 'A' + 'a'
                                                                     : addr[i]);
    c->contract[42] = '\0';
    memcpy(c->st.contract, c->contract, sizeof c->contract);
    c->st.has_contract = 1;
    pthread_mutex_unlock(&c->mu);
}

/* Read $STATE_DIR/contract-<chain_id>.json. Returns 1 when found. */
static int load_contract_file(gw_chain *c)
{
    char path[CONTRACT_FILE_PATH_MAX], addr[43];
    uint8_t a[20];
    contract_file_path(path, sizeof path, c->state_dir, (uint64_t)c->opt.chain_id);
    int rc = contract_file_read(c->state_dir, (uint64_t)c->opt.chain_id, a);
    if (rc == 0) {
        hex_encode(addr, a, sizeof a, 1);
        set_contract(c, addr);
        log_info("contract_found address=%s file=%s", c->contract, path);
    } else if (rc == CONTRACT_FILE_INVALID) {
        log_rate(20, 30, LOG_WARN, "contract_file_invalid file=%s", path);
    }
    return rc == 0;
}

static void mark_ok(gw_chain *c, int ok)
{
    pthread_mutex_lock(&c->mu);
    if (ok) {
        c->st.reachable = 1;
        c->st.last_ok = clock_wall();
    } else {
        c->st.reachable = 0;
    }
    pthread_mutex_unlock(&c->mu);
    if (!ok)
        gw_metrics_err(c->opt.metrics, GW_ERR_RPC);
}

static void announce(gw_chain *c, const anomaly *a, const anomaly_log_proof *p)
{
    if (!c->opt.bus)
        return;
    json_t *o = json_pack("{s:s, s:s, s:s, s:I, s:I, s:s}", "id", a->id, "sensor_id", a->sensor_id,
                          "tx_hash", p->tx_hash, "block_number", (json_int_t)p->block_number,
                          "log_index", (json_int_t)p->log_index, "source", "chain");
    if (!o)
        return;
    gw_msg *m = gw_msg_from_json(GW_KIND_LOGGED, a->sensor_id, o);
    json_decref(o);
    if (m && gw_bus_push(c->opt.bus, m) != 0)
        gw_metrics_err(c->opt.metrics, GW_ERR_BUS_OVERFLOW);
}

/* Count a failed eth_getLogs (eth_logs_get's rc) as the follower and the
 * archive reader always have: a node that answers with something else
 * than an array is reachable but wrong; any other failure is unreachable. */
static void logs_failed(gw_chain *c, int rc, int archive, uint64_t from, uint64_t to,
                        const char *err)
{
    if (rc == ETH_LOGS_ERR_SHAPE) {
        mark_ok(c, 1);
        gw_metrics_err(c->opt.metrics, GW_ERR_RPC);
        return;
    }
    if (archive)
        log_rate(26, 10, LOG_WARN, "chain_archive_getlogs_failed from=%" PRIu64 " err=\"%s\"", from,
                 err);
    else
        log_rate(21, 10, LOG_WARN,
                 "chain_getlogs_failed from=%" PRIu64 " to=%" PRIu64 " err=\"%s\"", from, to, err);
    mark_ok(c, 0);
}

/* Add one page of events (read from block `from`) to the cache. */
static void add_page(gw_chain *c, json_t *logs, uint64_t from, int announce_new)
{
    size_t i;
    json_t *lg;
    json_array_foreach(logs, i, lg)
    {
        anomaly a;
        anomaly_log_proof p;
        int drc = anomaly_log_decode_log(lg, &a, &p);
        if (drc == ANOMALY_LOG_OTHER_KIND)
            continue; /* an alarm lifecycle record: not an anomaly for the feed */
        if (drc != 0) {
            gw_metrics_err(c->opt.metrics, GW_ERR_CHAIN_LOG_INVALID);
            log_rate(22, 10, LOG_WARN, "chain_log_invalid block_from=%" PRIu64, from);
            continue;
        }
        int arc = gw_cache_add(c->opt.cache, &a, &p);
        if (arc == 0 && announce_new)
            announce(c, &a, &p);
        else if (arc < 0)
            log_rate(23, 10, LOG_ERROR, "chain_cache_add_failed id=%s", a.id);
    }
}

/* The follower's and the archive's paging: the range adapts to the density
 * of events (see the file comment). */
static const eth_log_paging follow_paging = {.range = RANGE_START,
                                             .range_min = RANGE_MIN,
                                             .range_max = RANGE_MAX,
                                             .logs_high = LOGS_HIGH,
                                             .logs_low = LOGS_LOW};

static void *follower_main(void *arg)
{
    gw_chain *c = arg;
    rpc_client *rpc = NULL;
    char err[256];
    uint64_t next = 0; /* first block not read yet */
    uint64_t range = RANGE_START;
    int chain_id_checked = 0;
    json_t *topics = json_pack("[o]", anomaly_log_event_topic0());

    if (!topics || rpc_client_create(&rpc, c->rpc_url, c->opt.timeout_ms) != 0) {
        log_error("chain_rpc_create_failed");
        json_decref(topics);
        return NULL;
    }
    while (!stopping(c)) {
        uint64_t head;
        if (rpc_call_u64(rpc, "eth_blockNumber", json_array(), &head, err, sizeof err) != 0) {
            log_rate(24, 10, LOG_WARN, "chain_unreachable err=\"%s\"", err);
            mark_ok(c, 0);
            nap(c, c->opt.poll_ms);
            continue;
        }
        mark_ok(c, 1);
        if (!chain_id_checked) {
            uint64_t id;
            if (rpc_call_u64(rpc, "eth_chainId", json_array(), &id, err, sizeof err) == 0) {
                chain_id_checked = 1;
                pthread_mutex_lock(&c->mu);
                c->st.chain_id_seen = (long)id;
                pthread_mutex_unlock(&c->mu);
                if ((long)id != c->opt.chain_id)
                    log_error("chain_id_mismatch configured=%ld node=%" PRIu64, c->opt.chain_id,
                              id);
            }
        }
        pthread_mutex_lock(&c->mu);
        int has_contract = c->st.has_contract;
        uint64_t prev_head = c->st.head;
        c->st.head = head;
        pthread_mutex_unlock(&c->mu);
        if (!has_contract && !load_contract_file(c)) {
            log_rate(25, 30, LOG_INFO, "chain_waiting_for_contract state_dir=%s", c->state_dir);
            nap(c, c->opt.poll_ms);
            continue;
        }
        if (next > 0 && head + 1 < next) {
            log_warn("chain_reset head=%" PRIu64 " previous=%" PRIu64 " action=rescan", head,
                     prev_head);
            gw_cache_clear(c->opt.cache);
            next = 0;
            pthread_mutex_lock(&c->mu);
            c->resets++; /* the verifier drops its cached isLogged answers */
            c->st.synced = 0;
            c->st.caught_up = 0;
            pthread_mutex_unlock(&c->mu);
        }
        eth_log_filter f;
        eth_log_pager pg;
        eth_log_paging po = follow_paging;
        po.range = range;
        eth_log_filter_init(&f, c->contract, topics);
        eth_log_pager_init(&pg, rpc, &f, next, head, &po);
        while (!stopping(c)) {
            pthread_mutex_lock(&c->mu);
            int announce_new = c->st.caught_up;
            pthread_mutex_unlock(&c->mu);
            json_t *logs = NULL;
            int rc = eth_log_pager_next(&pg, &logs, err, sizeof err);
            if (rc == 0)
                break;
            if (rc < 0) {
                logs_failed(c, rc, 0, pg.from, pg.to, err);
                if (pg.retry)
                    continue; /* a smaller range */
                break;
            }
            mark_ok(c, 1);
            add_page(c, logs, pg.from, announce_new);
            json_decref(logs);
            uint64_t to = pg.to;
            next = to + 1;
            pthread_mutex_lock(&c->mu);
            c->st.synced = to;
            if (to == head && !c->st.caught_up) {
                c->st.caught_up = 1;
                log_info("chain_synced block=%" PRIu64 " anomalies=%zu", to,
                         gw_cache_count(c->opt.cache));
            }
            pthread_mutex_unlock(&c->mu);
        }
        range = pg.range;
        nap(c, c->opt.poll_ms);
    }
    rpc_client_destroy(rpc);
    json_decref(topics);
    return NULL;
}

/* ---- verification ---------------------------------------------------- */

static int hex_eq(const char *a, const char *b)
{
    return a && b && strcasecmp(a, b) == 0;
}

json_t *gw_chain_verify_result(const char *item_json, const anomaly_log_proof *proof, const char *contract,
                               const json_t *receipt, uint64_t head)
{
    json_t *item = json_loads(item_json, 0, NULL);
    if (!item)
        return NULL;
    const char *reason = NULL;
    int found = 0, status_ok = 0, block_ok = 0, log_ok = 0, address_ok = 0, content_ok = 0;

    if (!json_is_object(receipt)) {
        reason = "transaction receipt not found";
        goto done;
    }
    found = 1;
    status_ok = hex_eq(json_string_value(json_object_get(receipt, "status")), "0x1");
    uint64_t bn;
    block_ok = hex_to_u64(json_string_value(json_object_get(receipt, "blockNumber")), &bn) == 0 &&
               bn == proof->block_number;
    json_t *logs = json_object_get(receipt, "logs"), *lg = NULL, *x;
    size_t i;
    json_array_foreach(logs, i, x)
    {
        uint64_t li;
        if (hex_to_u64(json_string_value(json_object_get(x, "logIndex")), &li) == 0 &&
            li == proof->log_index) {
            lg = x;
            break;
        }
    }
    if (lg) {
        log_ok = 1;
        address_ok = hex_eq(json_string_value(json_object_get(lg, "address")), contract);
        anomaly a;
        anomaly_log_proof p;
        if (anomaly_log_decode_log(lg, &a, &p) == 0) {
            json_t *again = gw_cache_item_json(&a, &p);
            content_ok = again && json_equal(again, item);
            json_decref(again);
        }
    }
    if (!status_ok)
        reason = "transaction failed or status unknown";
    else if (!block_ok)
        reason = "transaction is not in the recorded block";
    else if (!log_ok)
        reason = "no log at the recorded index";
    else if (!address_ok)
        reason = "log not emitted by the contract";
    else if (!content_ok)
        reason = "log content differs from the cached anomaly";
done:;
    int verified = reason == NULL;
    json_t *checks =
        json_pack("{s:b, s:b, s:b, s:b, s:b, s:b}", "receipt_found", found, "status_success",
                  status_ok, "block_matches", block_ok, "log_present", log_ok,
                  "emitted_by_contract", address_ok, "content_matches", content_ok);
    json_t *ver = json_pack("{s:b, s:o, s:s}", "verified", verified, "checks", checks, "contract",
                            contract ? contract : "");
    if (ver) {
        json_object_set_new(ver, "reason", reason ? json_string(reason) : json_null());
        if (verified && head >= proof->block_number)
            json_object_set_new(ver, "confirmations",
                                json_integer((json_int_t)(head - proof->block_number + 1)));
    }
    json_object_set_new(item, "verified", json_boolean(verified));
    json_object_set_new(item, "verification", ver ? ver : json_null());
    return item;
}

/* ---- archive: what the bounded cache evicted ------------------------ */

static void job_error(gw_verify_job *j, int status, const char *code, const char *msg)
{
    json_t *e = json_pack("{s:s, s:s}", "error", msg, "code", code);
    j->result_json = e ? json_dumps(e, JSON_COMPACT) : NULL;
    json_decref(e);
    j->status = status;
}

static void contract_copy(gw_chain *c, char out[43])
{
    pthread_mutex_lock(&c->mu);
    memcpy(out, c->contract, 43);
    pthread_mutex_unlock(&c->mu);
}

/* The contract's per-record events with id t1 (NULL = any). No sensor
 * filter on the node: the current event (Recorded) has no sensor topic,
 * so the records are matched by sensor after decoding. Returns a new
 * reference (caller frees) or NULL. */
static json_t *event_topics(const char *t1)
{
    return json_pack("[o, o]", anomaly_log_event_topic0(), t1 ? json_string(t1) : json_null());
}

/* GW_JOB_VERIFY_ID: fill item_json and proof from the chain. Returns 0,
 * 1 when the id is not on chain (answered 404), -1 on RPC failure (503). */
static int lookup_id(gw_chain *c, rpc_client *rpc, gw_verify_job *j)
{
    char topic[67] = "0x";
    memcpy(topic + 2, j->id, sizeof j->id);
    char err[256], contract[43];
    json_t *logs = NULL, *topics = event_topics(topic);
    eth_log_filter f;
    contract_copy(c, contract);
    eth_log_filter_init(&f, contract, topics);
    int grc = topics ? eth_logs_get(rpc, &f, 0, ETH_BLOCK_LATEST, &logs, err, sizeof err)
                     : RPC_ERR_NOMEM;
    json_decref(topics);
    if (grc != 0) {
        if (grc != RPC_ERR_NOMEM)
            logs_failed(c, grc, 1, 0, ETH_BLOCK_LATEST, err);
        job_error(j, 503, "chain_unavailable", "chain unreachable: cannot read the anomaly now");
        return -1;
    }
    mark_ok(c, 1);
    int rc = 1;
    size_t i;
    json_t *lg;
    json_array_foreach(logs, i, lg)
    {
        anomaly a;
        anomaly_log_proof p;
        if (anomaly_log_decode_log(lg, &a, &p) != 0 || strcmp(a.id, j->id) != 0)
            continue;
        json_t *item = gw_cache_item_json(&a, &p);
        j->item_json =
            item ? json_dumps(item, JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(15))
                 : NULL;
        json_decref(item);
        if (!j->item_json)
            continue;
        j->proof = p;
        rc = 0;
        break;
    }
    json_decref(logs);
    if (rc == 1)
        job_error(j, 404, "not_found", "no anomaly with this id on chain");
    return rc;
}

typedef struct {
    anomaly a;
    anomaly_log_proof p;
} arch_rec;

static int rec_newest_first(const void *x, const void *y)
{
    const anomaly_log_proof *a = &((const arch_rec *)x)->p, *b = &((const arch_rec *)y)->p;
    if (a->block_number != b->block_number)
        return a->block_number > b->block_number ? -1 : 1;
    if (a->log_index != b->log_index)
        return a->log_index > b->log_index ? -1 : 1;
    return 0;
}

/* GW_JOB_PAGE: the page strictly older than q's cursor, newest first. */
static void archive_page(gw_chain *c, rpc_client *rpc, gw_verify_job *j)
{
    const gw_cache_query *q = &j->q;
    char cursor[48] = "";
    json_t *items = json_array(), *doc = NULL;
    arch_rec *recs = NULL;
    char err[256], contract[43];
    json_t *topics = NULL;
    eth_log_filter f;
    eth_log_pager pg;
    eth_log_paging po = follow_paging;
    size_t count = 0;
    int done = 0;

    if (!items)
        goto fail;
    if (!(topics = event_topics(NULL))) /* the sensor is matched below */
        goto fail;
    contract_copy(c, contract);
    eth_log_filter_init(&f, contract, topics);
    po.backward = 1;
    eth_log_pager_init(&pg, rpc, &f, 0, q->cur_block, &po);
    while (!done && pg.calls < GW_ARCHIVE_MAX_CALLS) {
        json_t *logs = NULL;
        int rc = eth_log_pager_next(&pg, &logs, err, sizeof err);
        if (rc == 0) {
            done = 1;
            break;
        }
        if (rc < 0) {
            logs_failed(c, rc, 1, pg.from, pg.to, err);
            if (pg.retry)
                continue; /* a smaller range */
            json_decref(items);
            json_decref(topics);
            job_error(j, 503, "chain_unavailable",
                      "chain unreachable: cannot read older anomalies now");
            return;
        }
        mark_ok(c, 1);
        uint64_t from = pg.from;
        size_t nlogs = json_array_size(logs), nrec = 0;
        free(recs);
        recs = nlogs ? malloc(nlogs * sizeof *recs) : NULL;
        if (nlogs && !recs) {
            json_decref(logs);
            goto fail;
        }
        size_t i;
        json_t *lg;
        json_array_foreach(logs, i, lg)
        {
            int drc = anomaly_log_decode_log(lg, &recs[nrec].a, &recs[nrec].p);
            if (drc != 0) {
                if (drc != ANOMALY_LOG_OTHER_KIND) /* alarm records are skipped, not errors */
                    gw_metrics_err(c->opt.metrics, GW_ERR_CHAIN_LOG_INVALID);
                continue;
            }
            nrec++;
        }
        json_decref(logs);
        /* Nodes return logs in chain order; sorting makes it a guarantee. */
        qsort(recs, nrec, sizeof *recs, rec_newest_first);
        for (i = 0; i < nrec && count < q->limit; i++) {
            const arch_rec *r = &recs[i];
            if (r->p.block_number > q->cur_block ||
                (r->p.block_number == q->cur_block && r->p.log_index >= q->cur_log))
                continue; /* not strictly older than the cursor */
            if (!gw_cache_query_match(q, r->a.sensor_id, (int)r->a.type, r->a.ts))
                continue;
            json_t *item = gw_cache_item_json(&r->a, &r->p);
            if (!item || json_array_append_new(items, item) != 0)
                continue;
            count++;
            if (count == q->limit)
                snprintf(cursor, sizeof cursor, "%" PRIu64 "-%" PRIu32, r->p.block_number,
                         r->p.log_index);
        }
        if (count == q->limit || from == 0) {
            done = 1; /* full (cursor set above), or the chain's start (no cursor) */
            break;
        }
        /* Continue below this range; strictly older than (from, 0) is every
         * block before `from`, which is where a page cut short resumes. */
        snprintf(cursor, sizeof cursor, "%" PRIu64 "-0", from);
    }
    free(recs);
    recs = NULL;
    json_decref(topics);
    topics = NULL;
    if (done && count < q->limit)
        cursor[0] = '\0';
    doc = json_pack("{s:o, s:I, s:o}", "items", items, "count", (json_int_t)count, "next_cursor",
                    cursor[0] ? json_string(cursor) : json_null());
    items = NULL;
    if (!doc || (j->extra && json_object_update(doc, j->extra) != 0))
        goto fail;
    json_object_set_new(doc, "source", json_string("chain"));
    j->result_json = json_dumps(doc, JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(15));
    json_decref(doc);
    j->status = j->result_json ? 200 : 500;
    return;
fail:
    free(recs);
    json_decref(topics);
    json_decref(items);
    json_decref(doc);
    j->result_json = NULL;
    j->status = 500;
}

static void verify_one(gw_chain *c, rpc_client *rpc, gw_verify_job *j)
{
    if (j->kind == GW_JOB_PAGE) {
        archive_page(c, rpc, j);
        return;
    }
    if (j->kind == GW_JOB_VERIFY_ID && lookup_id(c, rpc, j) != 0)
        return;
    char err[256];
    json_t *receipt = NULL;
    int rc = rpc_call(rpc, "eth_getTransactionReceipt", json_pack("[s]", j->proof.tx_hash),
                      &receipt, err, sizeof err);
    if (rc != 0) {
        mark_ok(c, 0);
        json_t *e = json_pack("{s:s, s:s}", "error", "chain unreachable: cannot verify now", "code",
                              "chain_unavailable");
        j->result_json = e ? json_dumps(e, JSON_COMPACT) : NULL;
        json_decref(e);
        j->status = 503;
        return;
    }
    mark_ok(c, 1);
    gw_chain_status st;
    gw_chain_status_get(c, &st);
    json_t *out = gw_chain_verify_result(j->item_json, &j->proof, st.contract, receipt, st.head);
    json_decref(receipt);
    if (out) {
        pthread_mutex_lock(&c->mu);
        uint64_t resets = c->resets;
        pthread_mutex_unlock(&c->mu);
        if (resets != c->resets_seen) {
            gw_onchain_cache_clear(c->onchain);
            c->resets_seen = resets;
        }
        const char *id = json_string_value(json_object_get(out, "id"));
        json_t *oc = id ? gw_onchain_check(c->onchain, rpc, st.contract, id, &j->proof) : NULL;
        json_object_set_new(out, "onchain", oc ? oc : json_null());
    }
    j->result_json =
        out ? json_dumps(out, JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(15)) : NULL;
    json_decref(out);
    j->status = j->result_json ? 200 : 500;
}

static void *verifier_main(void *arg)
{
    gw_chain *c = arg;
    rpc_client *rpc = NULL;
    if (rpc_client_create(&rpc, c->rpc_url, c->opt.timeout_ms) != 0) {
        log_error("chain_rpc_create_failed role=verifier");
        return NULL;
    }
    for (;;) {
        pthread_mutex_lock(&c->mu);
        while (!c->stop && !c->queue)
            pthread_cond_wait(&c->cv, &c->mu);
        if (c->stop) {
            pthread_mutex_unlock(&c->mu);
            break;
        }
        gw_verify_job *j = c->queue;
        c->queue = j->next;
        c->nqueue--;
        pthread_mutex_unlock(&c->mu);

        verify_one(c, rpc, j);

        pthread_mutex_lock(&c->mu);
        j->next = c->done;
        c->done = j;
        pthread_mutex_unlock(&c->mu);
        if (c->opt.wake)
            c->opt.wake(c->opt.wake_arg);
    }
    rpc_client_destroy(rpc);
    return NULL;
}

int gw_chain_verify_submit(gw_chain *c, gw_verify_job *job)
{
    pthread_mutex_lock(&c->mu);
    if (c->nqueue >= VERIFY_QUEUE_MAX) {
        pthread_mutex_unlock(&c->mu);
        return -1;
    }
    job->next = NULL;
    gw_verify_job **pp = &c->queue;
    while (*pp)
        pp = &(*pp)->next;
    *pp = job;
    c->nqueue++;
    pthread_cond_broadcast(&c->cv);
    pthread_mutex_unlock(&c->mu);
    return 0;
}

gw_verify_job *gw_chain_take_done(gw_chain *c)
{
    pthread_mutex_lock(&c->mu);
    gw_verify_job *d = c->done;
    c->done = NULL;
    pthread_mutex_unlock(&c->mu);
    return d;
}

void gw_verify_job_free(gw_verify_job *job)
{
    if (!job)
        return;
    free(job->item_json);
    free(job->result_json);
    json_decref(job->extra);
    free(job);
}

/* ---- lifecycle -------------------------------------------------------- */

void gw_chain_status_get(gw_chain *c, gw_chain_status *out)
{
    pthread_mutex_lock(&c->mu);
    *out = c->st;
    /* Reachable means a recent success, not merely the last call's result. */
    if (out->last_ok > 0 && clock_wall() - out->last_ok > 3.0 * (double)c->opt.poll_ms / 1000.0 + 5)
        out->reachable = 0;
    pthread_mutex_unlock(&c->mu);
}

void gw_chain_redact_url(const char *url, char *out, size_t cap)
{
    if (!cap)
        return;
    out[0] = '\0';
    if (!url)
        return;
    const char *scheme = strstr(url, "://");
    const char *host = scheme ? scheme + 3 : url;
    const char *slash = strchr(host, '/');
    const char *at = strchr(host, '@');
    if (at && (!slash || at < slash))
        host = at + 1;
    size_t n = 0;
    if (scheme) {
        size_t sl = (size_t)(scheme + 3 - url);
        n = sl < cap - 1 ? sl : cap - 1;
        memcpy(out, url, n);
    }
    for (const char *p = host; *p && *p != '?' && *p != '#' && n < cap - 1; p++)
        out[n++] = *p;
    out[n] = '\0';
}

int gw_chain_start(gw_chain **out, const gw_chain_options *opt)
{
    gw_chain *c = calloc(1, sizeof *c);
    if (!c)
        return -1;
    c->opt = *opt;
    if (c->opt.poll_ms <= 0)
        c->opt.poll_ms = 500;
    if (c->opt.timeout_ms <= 0)
        c->opt.timeout_ms = 10000;
    c->rpc_url = strdup(opt->rpc_url ? opt->rpc_url : "http://127.0.0.1:8545");
    c->state_dir = strdup(opt->state_dir ? opt->state_dir : "./state");
    pthread_mutex_init(&c->mu, NULL);
    pthread_cond_init(&c->cv, NULL);
    c->st.chain_id_seen = -1;
    if (!c->rpc_url || !c->state_dir)
        goto fail;
    if (opt->contract && opt->contract[0]) {
        if (!address_valid(opt->contract)) {
            log_error("contract_address_invalid value=%s", opt->contract);
            goto fail;
        }
        set_contract(c, opt->contract);
    }
    if (gw_onchain_create(&c->onchain, opt->proof_cache_max > 0 ? (size_t)opt->proof_cache_max : 0,
                          opt->proof_confirmations, opt->metrics) != 0)
        goto fail;
    if (pthread_create(&c->follower, NULL, follower_main, c) != 0)
        goto fail;
    c->follower_started = 1;
    if (pthread_create(&c->verifier, NULL, verifier_main, c) != 0)
        goto fail;
    c->verifier_started = 1;
    *out = c;
    return 0;
fail:
    log_error("chain_start_failed");
    gw_chain_stop(c);
    return -1;
}

void gw_chain_stop(gw_chain *c)
{
    if (!c)
        return;
    pthread_mutex_lock(&c->mu);
    c->stop = 1;
    pthread_cond_broadcast(&c->cv);
    pthread_mutex_unlock(&c->mu);
    if (c->follower_started)
        pthread_join(c->follower, NULL);
    if (c->verifier_started)
        pthread_join(c->verifier, NULL);
    for (gw_verify_job *lists[2] = {c->queue, c->done}, **l = lists; l < lists + 2; l++) {
        while (*l) {
            gw_verify_job *n = (*l)->next;
            gw_verify_job_free(*l);
            *l = n;
        }
    }
    gw_onchain_free(c->onchain);
    pthread_cond_destroy(&c->cv);
    pthread_mutex_destroy(&c->mu);
    free(c->rpc_url);
    free(c->state_dir);
    free(c);
}
