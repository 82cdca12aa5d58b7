/*
 * cl_sender — drains the journal into AnomalyLogger transactions, one at a
 * time, oldest first. The exactly-once argument:
 *
 *  1. An entry gets its sequence number once: the S record (seqs, nonce,
 *     tx hash) is fsync'd before the transaction is broadcast, and a
 *     re-send reuses the recorded seqs. New seqs are only ever handed out
 *     above every seq the journal or the contract has seen.
 *  2. The contract logs a (logger, seq) at most once: seqs below the
 *     logger's nextSeq are skipped, a batch with nothing new reverts.
 *  So any number of re-sends, after crashes, timeouts or a chain outage,
 *  logs each entry exactly once; confirmation then reads where it landed
 *  (from the receipt, or from eth_getLogs by id when another transaction
 *  of ours got there first).
 *
 * Batching: up to batch_size ACCEPTED entries, or fewer once the oldest has
 * waited max_delay_ms. Gas: an upper bound computed from the record sizes
 * (per-record LOG4 + data + calldata + loop work, plus fixed storage
 * writes), calibrated once per run against eth_estimateGas (and again after
 * any out-of-gas revert); estimating every batch would double the EVM work
 * the chain does per batch.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "base/clock.h"
#include "eth/abi.h"
#include "eth/anomaly_log.h"
#include "cl.h"
#include "base/hex.h"
#include "base/log.h"
#include "bus/chain_logged.h"
#include "bus/topics.h"

typedef struct {
    uint64_t first; /* journal index of the first entry */
    uint32_t n;
    uint64_t seq; /* seq of the first entry */
    int resend;   /* entries already SENT */
    uint8_t tx[32];
    journal_entry *ent; /* copies of the n entries (batch_size allocated) */
    /* pipelined sending (see the broadcaster below) */
    uint64_t gas;
    uint8_t *raw;
    size_t rawlen;
    int bc_done, bc_rc;
    int64_t batch_no; /* the contract's batch number from our receipt's BatchLogged; -1 unknown */
} batch;

typedef struct {
    cl_sender *s;
    int ready;         /* connected, nonce and seq known */
    uint64_t nonce;    /* next nonce to use */
    uint64_t next_seq; /* next fresh seq */
    double gas_scale;  /* 0 = not calibrated yet */
    uint8_t *packed;   /* scratch: records */
    uint64_t seen_idx; /* first pending index when we first saw it... */
    double seen_at;    /* ...and when */
} sender_state;

int cl_publish_logged(mqtt_client *m, const journal_entry *e, int64_t batch_no)
{
    anomaly_log_rec *r;
    chain_logged c;
    char text[512], topic[TOPICS_MAX];
    int rc = -1;
    if (!m || !(r = malloc(sizeof(*r))))
        return -1;
    if (anomaly_log_decode_any(e->data, e->len, r) < 0)
        goto out;
    memcpy(c.id, anomaly_log_rec_id(r), sizeof c.id);
    hex_encode(c.tx_hash, e->tx_hash, 32, 1);
    c.block_number = (int64_t)e->block;
    c.log_index = e->log_index;
    c.seq = (int64_t)e->seq;
    c.batch = batch_no;
    int n = chain_logged_to_json(&c, text, sizeof text);
    if (n < 0 || topics_chain_logged(topic, sizeof topic, anomaly_log_rec_sensor(r)) < 0)
        goto out;
    rc = mqtt_client_publish(m, topic, text, (size_t)n, 1, 0);
out:
    free(r);
    return rc;
}

/* Connect, check the contract, and learn nonce and next seq. */
static int prepare(sender_state *st)
{
    cl_sender *s = st->s;
    size_t code;
    uint64_t chain_seq, nonce;
    int rc;
    if ((rc = eth_client_connect(s->eth)) < 0)
        return rc;
    if ((rc = eth_client_code_size(s->eth, s->contract, &code)) < 0)
        return rc;
    if (code == 0) {
        log_error("contract_missing reason=\"no code at the contract address; run `chainlogger "
                  "deploy`\"");
        return CL_ERR_CHAIN; /* keep retrying: the operator may deploy */
    }
    if ((rc = eth_client_next_seq(s->eth, s->contract, s->eth->addr, &chain_seq)) < 0 ||
        (rc = eth_client_nonce(s->eth, "pending", &nonce)) < 0)
        return rc;
    uint64_t js = journal_next_seq(s->j);
    st->next_seq = js > chain_seq ? js : chain_seq;
    st->nonce = nonce;
    st->ready = 1;
    log_info("sender_ready nonce=%llu next_seq=%llu chain_next_seq=%llu pending=%llu",
             (unsigned long long)nonce, (unsigned long long)st->next_seq,
             (unsigned long long)chain_seq,
             (unsigned long long)(journal_count(s->j) - journal_first_pending(s->j)));
    return 0;
}

static int confirm(sender_state *st, const batch *b, uint32_t i, uint64_t seq, const uint8_t tx[32],
                   uint64_t block, uint32_t log_index)
{
    cl_sender *s = st->s;
    journal_entry *e = &b->ent[i];
    if (e->state == JOURNAL_CONFIRMED)
        return 0;
    if (journal_mark_confirmed(s->j, b->first + i, seq, tx, block, log_index) < 0)
        return CL_ERR_FATAL;
    e->state = JOURNAL_CONFIRMED;
    e->seq = seq;
    memcpy(e->tx_hash, tx, 32);
    e->block = block;
    e->log_index = log_index;
    s->logged++;
    return 0;
}

/* Apply decoded logs of ours to the batch. */
static int apply_logs(sender_state *st, batch *b, json_t *logs)
{
    size_t k;
    json_t *lg;
    anomaly_log_rec *r = malloc(sizeof(*r));
    if (!r)
        return CL_ERR_FATAL;
    json_array_foreach(logs, k, lg)
    {
        anomaly_log_proof pr;
        anomaly_log_batch bl;
        uint8_t id[32], tx[32];
        if (b->batch_no < 0 && anomaly_log_decode_batch_log(lg, &bl) == 0 &&
            strcasecmp(bl.logger, st->s->eth->addr_hex) == 0 && bl.first_seq <= b->seq + b->n &&
            bl.first_seq + bl.count >= b->seq + b->n)
            b->batch_no = (int64_t)bl.batch; /* the BatchLogged of our transaction */
        if (anomaly_log_decode_log_any(lg, r, &pr) < 0)
            continue;
        if (strcasecmp(pr.logger, st->s->eth->addr_hex) != 0)
            continue;
        if (hex_decode(id, 32, anomaly_log_rec_id(r)) != 32 || hex_decode(tx, 32, pr.tx_hash) != 32)
            continue;
        for (uint32_t i = 0; i < b->n; i++) {
            if (memcmp(b->ent[i].id, id, 32) == 0 && pr.seq == b->seq + i) {
                int rc = confirm(st, b, i, pr.seq, tx, pr.block_number, pr.log_index);
                if (rc < 0) {
                    free(r);
                    return rc;
                }
            }
        }
    }
    free(r);
    return 0;
}

/* Find, by id, the logs of entries that a transaction other than the one we
 * hold logged (a re-send after a crash, or a skip inside a later batch). */
static int confirm_from_logs(sender_state *st, batch *b)
{
    cl_sender *s = st->s;
    json_t *ids = json_array(), *logs = NULL;
    uint64_t head;
    char h[67];
    int rc;
    for (uint32_t i = 0; i < b->n; i++) {
        if (b->ent[i].state == JOURNAL_CONFIRMED)
            continue;
        hex_encode(h, b->ent[i].id, 32, 1);
        json_array_append_new(ids, json_string(h));
    }
    if (json_array_size(ids) == 0) {
        json_decref(ids);
        return 0;
    }
    if ((rc = eth_client_block_number(s->eth, &head)) < 0 ||
        (rc = eth_client_logs(s->eth, s->contract, 0, head, ids, &logs)) < 0) {
        json_decref(ids);
        return rc;
    }
    json_decref(ids);
    rc = apply_logs(st, b, logs);
    json_decref(logs);
    return rc;
}

static int all_confirmed(const batch *b)
{
    for (uint32_t i = 0; i < b->n; i++)
        if (b->ent[i].state != JOURNAL_CONFIRMED)
            return 0;
    return 1;
}

static void publish_batch(sender_state *st, const batch *b)
{
    for (uint32_t i = 0; i < b->n; i++)
        if (cl_publish_logged(st->s->mqtt, &b->ent[i],
                              memcmp(b->ent[i].tx_hash, b->tx, 32) == 0 ? b->batch_no : -1) < 0 &&
            st->s->mqtt)
            log_rate(2, 5, LOG_WARN, "publish_logged_failed");
}

/* Per-record gas upper bound; see the file comment. */
static uint64_t gas_bound(const batch *b, size_t calldata_len)
{
    /* per batch: storage writes incl. the new batch root slot (22,100) and
     * the BatchLogged event (~2,300); per record: its LOG4 and the loop,
     * plus one Merkle node (~150) */
    uint64_t g = 21000 + 16 * (uint64_t)calldata_len + 85000;
    for (uint32_t i = 0; i < b->n; i++)
        g += 1875 + 8 * (96 + abi_padded(b->ent[i].len)) + 1400;
    return g;
}

static int build_calldata(sender_state *st, const batch *b, uint8_t **cd, size_t *cdl)
{
    size_t plen = 0;
    uint8_t sel[4];
    for (uint32_t i = 0; i < b->n; i++) {
        memcpy(st->packed + plen, b->ent[i].data, b->ent[i].len);
        plen += b->ent[i].len;
    }
    abi_selector(ANOMALY_LOG_BATCH_SIG, sel);
    abi_arg args[2] = {{.type = ABI_UINT, .u = b->seq},
                       {.type = ABI_BYTES, .p = st->packed, .len = plen}};
    return abi_encode(sel, args, 2, cd, cdl);
}

/* The receipt of our transaction is in: confirm what it logged. */
static int handle_receipt(sender_state *st, batch *b, json_t *receipt, uint64_t gas_limit)
{
    cl_sender *s = st->s;
    const char *status = json_string_value(json_object_get(receipt, "status"));
    int rc;
    if (status && strcmp(status, "0x1") == 0) {
        if ((rc = apply_logs(st, b, json_object_get(receipt, "logs"))) < 0)
            return rc;
        if (!all_confirmed(b) && (rc = confirm_from_logs(st, b)) < 0)
            return rc;
    } else {
        uint64_t used = 0, next;
        const char *gu = json_string_value(json_object_get(receipt, "gasUsed"));
        if (gu)
            (void)hex_to_u64(gu, &used);
        if ((rc = eth_client_next_seq(s->eth, s->contract, s->eth->addr, &next)) < 0)
            return rc;
        log_warn("batch_reverted first_seq=%llu n=%u chain_next_seq=%llu gas_used=%llu "
                 "gas_limit=%llu",
                 (unsigned long long)b->seq, b->n, (unsigned long long)next,
                 (unsigned long long)used, (unsigned long long)gas_limit);
        if (next >= b->seq + b->n) {
            /* Duplicate: everything was logged before, by another transaction. */
            if ((rc = confirm_from_logs(st, b)) < 0)
                return rc;
        } else {
            /* Out of gas (gas_used == limit; the limit is unknown after a
             * restart, so any other revert counts too): re-estimate before the
             * re-send, which also surfaces NotLogger / SeqGap reverts. */
            st->gas_scale = 0;
            if (next < b->seq) {
                log_error("seq_gap first_seq=%llu chain_next_seq=%llu", (unsigned long long)b->seq,
                          (unsigned long long)next);
                st->ready = 0;
            }
        }
    }
    if (all_confirmed(b)) {
        if (journal_sync(s->j) < 0)
            return CL_ERR_FATAL;
        publish_batch(st, b);
        s->batches++;
        log_debug("batch_confirmed first_seq=%llu n=%u", (unsigned long long)b->seq, b->n);
        return 1;
    }
    return 0;
}

/* Fault injection for the tests: CHAINLOGGER_FAULT=<where>:N acts at the
 * N-th occurrence of <where>:
 *   before-send  _exit(137) (like kill -9) just before broadcasting a
 *                transaction (journal says SENT, the chain never saw it)
 *   after-send   _exit(137) just after the node accepted it (the chain has
 *                it, the receipt was never read)
 *   low-gas      sign the transaction with just enough gas to be accepted
 *                but not to run: it reverts out of gas on chain */
static int fault_hit(const char *where)
{
    static long count;
    static int init;
    static char mode[32];
    static long at;
    if (!init) {
        const char *f = getenv("CHAINLOGGER_FAULT");
        init = 1;
        if (f && sscanf(f, "%31[a-z-]:%ld", mode, &at) != 2)
            at = 0;
    }
    if (at <= 0 || strcmp(mode, where) != 0 || ++count != at)
        return 0;
    log_warn("fault_injected where=%s n=%ld", where, at);
    return 1;
}

static void maybe_crash(const char *where)
{
    if (fault_hit(where))
        _exit(137);
}

/* Intrinsic gas of a call with this calldata (21000 + 16 per non-zero byte + 4 per zero byte). */
static uint64_t intrinsic_gas(const uint8_t *cd, size_t n)
{
    uint64_t g = 21000;
    for (size_t i = 0; i < n; i++)
        g += cd[i] ? 16 : 4;
    return g;
}

/* Build, sign and journal (write-ahead) the transaction for batch b with
 * the next nonce. Afterwards the entries are SENT with b's seqs, and b->raw
 * holds the signed transaction. Returns 0 or a negative error. */
static int sign_batch(sender_state *st, batch *b)
{
    cl_sender *s = st->s;
    uint8_t *cd = NULL, h[32];
    size_t cdl;
    int rc;

    free(b->raw);
    b->raw = NULL;
    if (build_calldata(st, b, &cd, &cdl) < 0)
        return CL_ERR_FATAL;
    uint64_t bound = gas_bound(b, cdl);
    if (st->gas_scale == 0) {
        uint64_t est;
        rc = eth_client_estimate(s->eth, s->contract, cd, cdl, &est);
        if (rc < 0) {
            /* A revert in estimation: not authorised, or seqs out of step. */
            log_rate(3, 10, LOG_ERROR, "estimate_failed first_seq=%llu n=%u reason=\"%s\"",
                     (unsigned long long)b->seq, b->n, s->eth->err);
            st->ready = 0;
            goto out;
        }
        double need = (double)est * 1.25 / (double)bound;
        st->gas_scale = need > 1.0 ? need : 1.0;
        log_info("gas_calibrated estimate=%llu bound=%llu scale=%.3f", (unsigned long long)est,
                 (unsigned long long)bound, st->gas_scale);
    }
    b->gas = (uint64_t)((double)bound * st->gas_scale);
    if (fault_hit("low-gas"))
        b->gas = intrinsic_gas(cd, cdl) + 3000;
    if ((rc = eth_client_refresh_fees(s->eth, 15.0)) < 0)
        goto out;
    rc = eth_client_sign(s->eth, s->contract, cd, cdl, st->nonce, b->gas, &b->raw, &b->rawlen, h);
    if (rc < 0) {
        /* Fee above the ceiling: nothing signed; back off and ask again. */
        rc = rc == CL_ERR_FEE_CEILING ? CL_ERR_FEE_CEILING : CL_ERR_FATAL;
        goto out;
    }
    /* Write-ahead: the seqs and the hash are durable before anyone can see the tx. */
    if (journal_mark_sent(s->j, b->first, b->n, b->seq, st->nonce, h) < 0 ||
        journal_sync(s->j) < 0) {
        rc = CL_ERR_FATAL;
        goto out;
    }
    for (uint32_t i = 0; i < b->n; i++) {
        b->ent[i].state = JOURNAL_SENT;
        memcpy(b->ent[i].tx_hash, h, 32);
    }
    if (!b->resend && b->seq + b->n > st->next_seq)
        st->next_seq = b->seq + b->n;
    b->resend = 1;
    memcpy(b->tx, h, 32);
    st->nonce++;
    maybe_crash("before-send");
    rc = 0;
out:
    free(cd);
    return rc;
}

/* React to the node's answer to eth_sendRawTransaction of b.
 * Returns 0 when sent, or a negative error after fixing what can be fixed. */
static int sent_result(sender_state *st, batch *b, int rc)
{
    cl_sender *s = st->s;
    (void)b;
    if (rc == 0) {
        maybe_crash("after-send");
        s->eth->fee_bump_pct = 0;
        return 0;
    }
    if (rc == CL_ERR_NONCE) {
        uint64_t n;
        if (eth_client_nonce(s->eth, "pending", &n) == 0) {
            log_warn("nonce_resync had=%llu chain=%llu", (unsigned long long)st->nonce,
                     (unsigned long long)n);
            st->nonce = n;
        }
    } else if (rc == CL_ERR_UNDERPRICED) {
        (void)eth_client_bump_fees(s->eth); /* bounded; logged at the limit */
        st->ready = 0; /* re-learn the nonce: this one was not taken */
    }
    return rc;
}

/* Sign, journal, send, and wait for the receipt of batch b, synchronously.
 * Returns 1 when confirmed, 0 to come back later, or a negative error. */
static int submit(sender_state *st, batch *b)
{
    cl_sender *s = st->s;
    json_t *receipt = NULL;
    int rc = sign_batch(st, b);
    if (rc < 0)
        return rc;
    rc = sent_result(st, b, eth_client_send_raw(s->eth, b->raw, b->rawlen));
    if (rc == CL_ERR_NONCE || rc == CL_ERR_UNDERPRICED)
        return 0; /* fixed; the next round re-sends */
    if (rc < 0)
        return rc;
    rc = eth_client_wait_receipt(s->eth, b->tx, s->receipt_timeout_ms, &receipt, s->stop);
    if (rc == 1)
        rc = handle_receipt(st, b, receipt, b->gas);
    json_decref(receipt);
    return rc;
}

/* The oldest pending entries were sent before (this run or an earlier one)
 * and are not confirmed: find out what happened, re-send if needed. */
static int settle(sender_state *st, batch *b)
{
    cl_sender *s = st->s;
    json_t *receipt = NULL;
    uint64_t next;
    int rc = eth_client_receipt(s->eth, b->tx, &receipt);
    if (rc < 0)
        return rc;
    if (rc == 1) {
        rc = handle_receipt(st, b, receipt, 0);
        json_decref(receipt);
        if (rc != 0)
            return rc;
    }
    if ((rc = eth_client_next_seq(s->eth, s->contract, s->eth->addr, &next)) < 0)
        return rc;
    if (next >= b->seq + b->n) {
        if ((rc = confirm_from_logs(st, b)) < 0)
            return rc;
        if (all_confirmed(b)) {
            if (journal_sync(s->j) < 0)
                return CL_ERR_FATAL;
            publish_batch(st, b);
            return 1;
        }
        log_rate(4, 10, LOG_ERROR, "logged_but_not_found first_seq=%llu n=%u chain_next_seq=%llu",
                 (unsigned long long)b->seq, b->n, (unsigned long long)next);
        return CL_ERR_CHAIN;
    }
    if (next < b->seq) {
        log_rate(5, 10, LOG_ERROR, "seq_gap first_seq=%llu chain_next_seq=%llu",
                 (unsigned long long)b->seq, (unsigned long long)next);
        st->ready = 0;
        return CL_ERR_CHAIN;
    }
    s->retries++;
    log_info("batch_resend first_seq=%llu n=%u chain_next_seq=%llu", (unsigned long long)b->seq,
             b->n, (unsigned long long)next);
    return submit(st, b);
}

/* Load the next batch starting at the first pending entry.
 * Returns 1 with *b filled, 0 when there is nothing to send yet. */
static int next_batch(sender_state *st, batch *b)
{
    cl_sender *s = st->s;
    uint64_t fp = journal_first_pending(s->j), cnt = journal_count(s->j);
    if (fp >= cnt) {
        journal_wait(s->j, cnt, 200);
        return 0;
    }
    journal_entry *ent = b->ent;
    free(b->raw); /* the last transaction signed in this slot (found by the soak: ~1 KB a batch) */
    memset(b, 0, sizeof(*b));
    b->ent = ent;
    b->batch_no = -1;
    b->first = fp;
    if (journal_get(s->j, fp, &b->ent[0]) < 0)
        return 0;
    if (b->ent[0].state == JOURNAL_SENT) {
        /* Re-assemble the group sent together: same tx, consecutive seqs. */
        b->resend = 1;
        b->seq = b->ent[0].seq;
        memcpy(b->tx, b->ent[0].tx_hash, 32);
        b->n = 1;
        while (b->n < (uint32_t)s->batch_size && fp + b->n < cnt &&
               journal_get(s->j, fp + b->n, &b->ent[b->n]) == 0 &&
               b->ent[b->n].state == JOURNAL_SENT && memcmp(b->ent[b->n].tx_hash, b->tx, 32) == 0 &&
               b->ent[b->n].seq == b->seq + b->n)
            b->n++;
        return 1;
    }
    b->n = 1;
    while (b->n < (uint32_t)s->batch_size && fp + b->n < cnt &&
           journal_get(s->j, fp + b->n, &b->ent[b->n]) == 0 &&
           b->ent[b->n].state == JOURNAL_ACCEPTED)
        b->n++;
    if (b->n < (uint32_t)s->batch_size && fp + b->n == cnt) {
        double now = clock_mono();
        if (st->seen_idx != fp + 1) {
            st->seen_idx = fp + 1;
            st->seen_at = now;
        }
        double left_ms = s->max_delay_ms - (now - st->seen_at) * 1000.0;
        if (left_ms > 0) {
            journal_wait(s->j, cnt + (uint64_t)(s->batch_size - b->n) - 1,
                         left_ms > 200 ? 200 : (int)left_ms + 1);
            return 0;
        }
    }
    b->seq = st->next_seq;
    return 1;
}

/*
 * Pipelining. A dev chain that mines on submission (Ganache, Anvil) answers
 * eth_sendRawTransaction only once the block is mined, so a strictly serial
 * sender leaves the node idle while it reads the receipt, confirms, publishes
 * and signs the next batch. The broadcaster thread sends signed transactions
 * in nonce order over its own connection while this thread signs the next
 * batch and handles the previous receipt: up to `depth` batches in flight.
 * Only full batches of fresh entries are pipelined; anything unusual
 * (errors, re-sends, partial batches) drains the pipeline and goes through
 * the serial path, so recovery logic exists once.
 */
typedef struct {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    batch *q[CL_MAX_PIPELINE];
    int head, count;
    int quit;
    eth_client eth; /* own connection; shares the key */
} broadcaster;

static void *bcast_main(void *arg)
{
    broadcaster *bc = arg;
    pthread_mutex_lock(&bc->mu);
    for (;;) {
        while (!bc->quit && bc->count == 0)
            pthread_cond_wait(&bc->cv, &bc->mu);
        if (bc->quit)
            break;
        batch *b = bc->q[bc->head];
        pthread_mutex_unlock(&bc->mu);
        int rc = eth_client_send_raw(&bc->eth, b->raw, b->rawlen);
        pthread_mutex_lock(&bc->mu);
        b->bc_rc = rc;
        b->bc_done = 1;
        bc->head = (bc->head + 1) % CL_MAX_PIPELINE;
        bc->count--;
        pthread_cond_broadcast(&bc->cv);
    }
    pthread_mutex_unlock(&bc->mu);
    return NULL;
}

static void bcast_push(broadcaster *bc, batch *b)
{
    pthread_mutex_lock(&bc->mu);
    b->bc_done = 0;
    bc->q[(bc->head + bc->count) % CL_MAX_PIPELINE] = b;
    bc->count++;
    pthread_cond_broadcast(&bc->cv);
    pthread_mutex_unlock(&bc->mu);
}

static int bcast_wait(broadcaster *bc, batch *b)
{
    pthread_mutex_lock(&bc->mu);
    while (!b->bc_done)
        pthread_cond_wait(&bc->cv, &bc->mu);
    int rc = b->bc_rc;
    pthread_mutex_unlock(&bc->mu);
    return rc;
}

/* The next full batch of fresh entries starting at journal index `from`.
 * Returns 1 with *b filled, 0 when there is no full batch yet. */
static int next_full_batch(sender_state *st, batch *b, uint64_t from)
{
    cl_sender *s = st->s;
    if (journal_count(s->j) < from + (uint64_t)s->batch_size)
        return 0;
    b->first = from;
    b->n = 0;
    b->resend = 0;
    b->batch_no = -1;
    while (b->n < (uint32_t)s->batch_size) {
        if (journal_get(s->j, from + b->n, &b->ent[b->n]) < 0 ||
            b->ent[b->n].state != JOURNAL_ACCEPTED)
            return 0;
        b->n++;
    }
    b->seq = st->next_seq;
    return 1;
}

/* Wait for the oldest in-flight batch to be sent, then confirm it.
 * Returns 1 confirmed, 0 not yet (timeout), or a negative error. */
static int complete(sender_state *st, broadcaster *bc, batch *b)
{
    cl_sender *s = st->s;
    json_t *receipt = NULL;
    int rc = sent_result(st, b, bcast_wait(bc, b));
    if (rc < 0)
        return rc;
    rc = eth_client_wait_receipt(s->eth, b->tx, s->receipt_timeout_ms, &receipt, s->stop);
    if (rc == 1) {
        rc = handle_receipt(st, b, receipt, b->gas);
        if (rc == 0)
            rc = CL_ERR_CHAIN; /* mined but not all confirmed: the serial path sorts it out */
    } else if (rc == 0) {
        rc = CL_ERR_CHAIN; /* no receipt in time: settle it serially */
    }
    json_decref(receipt);
    return rc;
}

/* Kept whole (120 lines): one state machine sharing nin/head/backoff across both paths. */
int cl_sender_run(cl_sender *s)
{
    sender_state st = {.s = s};
    broadcaster bc = {0};
    batch slots[CL_MAX_PIPELINE];
    pthread_t th;
    int rc = 0, backoff = 250, started = 0, depth = s->pipeline;
    int nin = 0, head = 0; /* in-flight batches: slots[head .. head+nin-1] (mod depth) */

    memset(slots, 0, sizeof slots);
    if (s->batch_size < 1 || s->batch_size > ANOMALY_LOG_MAX_BATCH)
        return CL_ERR_FATAL;
    if (depth < 1)
        depth = 1;
    if (depth > CL_MAX_PIPELINE)
        depth = CL_MAX_PIPELINE;
    st.packed = malloc((size_t)s->batch_size * JOURNAL_REC_MAX);
    if (!st.packed) {
        rc = CL_ERR_FATAL;
        goto out;
    }
    for (int i = 0; i < depth; i++) {
        slots[i].ent = calloc((size_t)s->batch_size, sizeof(journal_entry));
        if (!slots[i].ent) {
            rc = CL_ERR_FATAL;
            goto out;
        }
    }
    pthread_mutex_init(&bc.mu, NULL);
    pthread_cond_init(&bc.cv, NULL);
    if (eth_client_init(&bc.eth, s->rpc_url, s->eth->key, s->eth->chain_id, s->rpc_timeout_ms) <
            0 ||
        pthread_create(&th, NULL, bcast_main, &bc) != 0) {
        rc = CL_ERR_FATAL;
        goto out;
    }
    started = 1;

    while (!*s->stop) {
        if (!st.ready) {
            rc = prepare(&st);
            if (rc == CL_ERR_FATAL)
                goto out;
            if (rc < 0) {
                clock_sleep_ms(backoff, s->stop);
                backoff = backoff * 2 > 2000 ? 2000 : backoff * 2;
                continue;
            }
        }
        if (nin == 0) {
            /* Serial path: the first pending batch, whatever its state. */
            batch *b = &slots[head];
            if (!next_batch(&st, b))
                continue;
            if (b->resend) {
                rc = settle(&st, b);
            } else if (depth == 1 || b->n < (uint32_t)s->batch_size) {
                rc = submit(&st, b);
            } else {
                rc = sign_batch(&st, b);
                if (rc == 0) {
                    bcast_push(&bc, b);
                    nin = 1;
                }
            }
        } else {
            /* Keep the pipeline full, then complete the oldest batch. */
            while (nin < depth && st.ready) {
                batch *last = &slots[(head + nin - 1) % depth];
                batch *nb = &slots[(head + nin) % depth];
                if (!next_full_batch(&st, nb, last->first + last->n))
                    break;
                if ((rc = sign_batch(&st, nb)) < 0)
                    break;
                bcast_push(&bc, nb);
                nin++;
            }
            if (rc >= 0)
                rc = complete(&st, &bc, &slots[head]);
            if (rc >= 0) {
                head = (head + 1) % depth;
                nin--;
            } else {
                /* Drain: let the broadcaster finish, forget the rest (their
                 * entries are SENT in the journal; the serial path settles them). */
                for (int i = 0; i < nin; i++)
                    (void)bcast_wait(&bc, &slots[(head + i) % depth]);
                nin = 0;
                head = 0;
            }
        }
        if (rc == CL_ERR_FATAL)
            goto out;
        if (rc < 0) {
            /* Chain trouble: back off, then re-learn nonce and seq. */
            st.ready = 0;
            clock_sleep_ms(backoff, s->stop);
            backoff = backoff * 2 > 2000 ? 2000 : backoff * 2;
            continue;
        }
        backoff = 250;
    }
    rc = 0;
out:
    if (started) {
        for (int i = 0; i < nin; i++)
            (void)bcast_wait(&bc, &slots[(head + i) % depth]);
        pthread_mutex_lock(&bc.mu);
        bc.quit = 1;
        pthread_cond_broadcast(&bc.cv);
        pthread_mutex_unlock(&bc.mu);
        pthread_join(th, NULL);
        eth_client_free(&bc.eth);
    }
    for (int i = 0; i < CL_MAX_PIPELINE; i++) {
        free(slots[i].ent);
        free(slots[i].raw);
    }
    free(st.packed);
    return rc;
}
