/*
 * chain_bench — helpers for bench/chain.sh.
 *
 *   chain_bench ref RPC CONTRACT KEY BATCH N [K [EXPLANATIONS_FILE]]
 *       The reference client: presigns N/BATCH logBatch transactions (the
 *       same record encoding and anomaly shapes as tests/chain/anomaly_gen;
 *       explanations taken in turn from the non-empty lines of
 *       EXPLANATIONS_FILE when given), then sends them keeping K (default 1)
 *       in flight: it sends until K are unconfirmed, then waits for the
 *       oldest one's receipt before sending the next. Prints
 *       "rate <anomalies/s> gas <gas/anomaly> expl_bytes <mean explanation length>
 *       rec_bytes <mean record length on chain>". CHAIN_BENCH_RAW_EXPL=1 encodes
 *       the explanations as raw text (the format before eth/expl_codec.h).
 *       Nothing else runs in the timed loop: this is what the chain itself
 *       accepts with K transactions in flight.
 *   chain_bench gas RPC CONTRACT FROM TO
 *       Gas per anomaly over blocks FROM..TO: the sum of the blocks' gasUsed
 *       divided by the AnomalyLogged events in them.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/clock.h"
#include "eth/abi.h"
#include "eth/anomaly_log.h"
#include "cl.h"
#include "base/hex.h"
#include "base/log.h"
#include "expl_rows.h"

static char (*texts)[ANOMALY_EXPLANATION_MAX]; /* explanations to use in turn, or NULL */
static size_t nexpl;
/* Lines "metric TAB ts TAB value TAB score TAB type TAB explanation" (what
 * the detector replay wrote) give whole anomalies: these per line. */
static expl_row *rows;

/* Read the non-empty lines of path (at most 4096) into texts.
 * Returns 0, or -1 when the file is unreadable, empty or memory runs out. */
static int load_explanations(const char *path)
{
    if (!(texts = calloc(4096, sizeof(*texts))) || !(rows = calloc(4096, sizeof(*rows))))
        return -1;
    nexpl = expl_rows_read(path, texts, rows, 4096);
    return nexpl ? 0 : -1;
}

static anomaly mk(long i, const char *sensor)
{
    anomaly a;
    expl_rows_anomaly(&a, i, sensor, texts, rows, nexpl, -1);
    if (nexpl && rows[(size_t)i % nexpl].whole) {
        /* the replay prints scores to 6 decimals; the engine's have every
         * digit and go on the wire with 15 significant ones (bus/anomaly.h),
         * so the record holds such a score: digits added below the 6th */
        char sc[32];
        snprintf(sc, sizeof sc, "%.15g",
                 rows[(size_t)i % nexpl].score + (double)((i * 7919 + 13) % 999999937) * 1e-15);
        a.score = strtod(sc, NULL);
    }
    a.expected_low = a.expected_high = NAN;
    a.model_version = -1;
    anomaly_make_id(&a);
    return a;
}

/* CHAIN_BENCH_RAW_EXPL=1: the records as before compact explanations (the
 * explanation as raw text), the reference of the gas figure. */
static int raw_expl;

static int encode_batch(const anomaly *a, size_t n, uint64_t first_seq, uint8_t **cd, size_t *cdl)
{
    if (!raw_expl)
        return anomaly_log_encode_batch(a, n, first_seq, cd, cdl);
    static uint8_t packed[ANOMALY_LOG_MAX_BATCH * ANOMALY_LOG_RECORD_MAX];
    uint8_t sel[4];
    size_t plen = 0;
    for (size_t i = 0; i < n; i++) {
        int r = anomaly_log_encode_record_raw(&a[i], packed + plen, ANOMALY_LOG_RECORD_MAX);
        if (r < 0)
            return -1;
        plen += (size_t)r;
    }
    abi_selector(ANOMALY_LOG_BATCH_SIG, sel);
    abi_arg args[2] = {{.type = ABI_UINT, .u = first_seq},
                       {.type = ABI_BYTES, .p = packed, .len = plen}};
    return abi_encode(sel, args, 2, cd, cdl);
}

static int cmd_ref(int argc, char **argv)
{
    const char *re = getenv("CHAIN_BENCH_RAW_EXPL");
    raw_expl = re && strcmp(re, "1") == 0;
    if (argc < 7)
        return 2;
    uint8_t contract[20];
    tx_key *k;
    eth_client e;
    long batch = atol(argv[5]), n = atol(argv[6]), inflight = argc > 7 ? atol(argv[7]) : 1;
    if (hex_decode(contract, 20, argv[3]) != 20 || tx_key_from_hex(&k, argv[4]) < 0 || batch < 1 ||
        batch > ANOMALY_LOG_MAX_BATCH || n < batch || inflight < 1)
        return 2;
    if (argc > 8 && load_explanations(argv[8]) < 0) {
        fprintf(stderr, "no explanations in %s\n", argv[8]);
        return 2;
    }
    if (eth_client_init(&e, argv[2], k, 1337, 30000) < 0 || eth_client_connect(&e) < 0)
        return 1;
    long ntx = n / batch;
    uint64_t nonce, seq, gas = 0;
    if (eth_client_nonce(&e, "pending", &nonce) < 0 ||
        eth_client_next_seq(&e, contract, e.addr, &seq) < 0)
        return 1;
    uint8_t **raw = calloc((size_t)ntx, sizeof(*raw)), (*hash)[32] = calloc((size_t)ntx, 32);
    size_t *rawlen = calloc((size_t)ntx, sizeof(*rawlen));
    anomaly *a = malloc((size_t)batch * sizeof(*a));
    if (!raw || !hash || !rawlen || !a)
        return 1;
    double expl_bytes = 0, rec_bytes = 0;
    for (long t = 0; t < ntx; t++) {
        uint8_t *cd;
        size_t cdl;
        for (long i = 0; i < batch; i++) {
            a[i] = mk(900000 + t * batch + i, "ref-sensor");
            expl_bytes += (double)strlen(a[i].explanation);
            uint8_t rec[ANOMALY_LOG_RECORD_MAX];
            int rl = raw_expl ? anomaly_log_encode_record_raw(&a[i], rec, sizeof rec)
                              : anomaly_log_encode_record(&a[i], rec, sizeof rec);
            rec_bytes += rl > 0 ? rl : 0;
        }
        if (encode_batch(a, (size_t)batch, seq + (uint64_t)(t * batch), &cd, &cdl) < 0) {
            fprintf(stderr, "encode of batch %ld failed\n", t);
            return 1;
        }
        if (gas == 0) {
            if (eth_client_estimate(&e, contract, cd, cdl, &gas) < 0) {
                fprintf(stderr, "estimate failed: %s\n", e.err);
                return 1;
            }
            gas = gas * 13 / 10;
        }
        if (eth_client_sign(&e, contract, cd, cdl, nonce + (uint64_t)t, gas, &raw[t], &rawlen[t],
                            hash[t]) < 0)
            return 1;
        free(cd);
    }
    double t0 = clock_mono();
    uint64_t used = 0;
    long sent = 0;
    for (long t = 0; t < ntx; t++) { /* t: the oldest unconfirmed transaction */
        json_t *r = NULL;
        for (; sent < ntx && sent - t < inflight; sent++)
            if (eth_client_send_raw(&e, raw[sent], rawlen[sent]) < 0) {
                fprintf(stderr, "send %ld failed: %s\n", sent, e.err);
                return 1;
            }
        if (eth_client_wait_receipt(&e, hash[t], 30000, &r, NULL) != 1) {
            fprintf(stderr, "receipt %ld: %s\n", t, e.err);
            return 1;
        }
        uint64_t g = 0;
        const char *st = json_string_value(json_object_get(r, "status"));
        const char *gu = json_string_value(json_object_get(r, "gasUsed"));
        if (!st || strcmp(st, "0x1") != 0) {
            fprintf(stderr, "tx %ld reverted\n", t);
            return 1;
        }
        if (gu && hex_to_u64(gu, &g) == 0)
            used += g;
        json_decref(r);
        free(raw[t]);
    }
    double dt = clock_mono() - t0;
    printf("rate %.1f gas %.0f expl_bytes %.0f rec_bytes %.0f\n", (double)(ntx * batch) / dt,
           (double)used / (double)(ntx * batch), expl_bytes / (double)(ntx * batch),
           rec_bytes / (double)(ntx * batch));
    free(raw);
    free(hash);
    free(rawlen);
    free(a);
    eth_client_free(&e);
    tx_key_destroy(k);
    return 0;
}

static int cmd_gas(int argc, char **argv)
{
    if (argc < 6)
        return 2;
    uint8_t contract[20];
    eth_client e;
    uint64_t from = strtoull(argv[4], NULL, 0), to = strtoull(argv[5], NULL, 0), gas = 0;
    if (hex_decode(contract, 20, argv[3]) != 20 ||
        eth_client_init(&e, argv[2], NULL, 1337, 30000) < 0)
        return 2;
    json_t *logs = NULL;
    if (eth_client_logs(&e, contract, from, to, NULL, &logs) < 0)
        return 1;
    size_t nlogs = json_array_size(logs);
    json_decref(logs);
    for (uint64_t b = from; b <= to; b++) {
        char q[24];
        json_t *blk = NULL;
        uint64_t g;
        snprintf(q, sizeof q, "0x%llx", (unsigned long long)b);
        if (rpc_call(e.rpc, "eth_getBlockByNumber", json_pack("[s,b]", q, 0), &blk, NULL, 0) < 0)
            return 1;
        const char *gu = json_string_value(json_object_get(blk, "gasUsed"));
        if (gu && hex_to_u64(gu, &g) == 0)
            gas += g;
        json_decref(blk);
    }
    if (nlogs == 0)
        return 1;
    printf("gas %.0f anomalies %zu\n", (double)gas / (double)nlogs, nlogs);
    eth_client_free(&e);
    return 0;
}

int main(int argc, char **argv)
{
    log_init("chain_bench", LOG_WARN);
    if (argc > 1 && strcmp(argv[1], "ref") == 0)
        return cmd_ref(argc, argv);
    if (argc > 1 && strcmp(argv[1], "gas") == 0)
        return cmd_gas(argc, argv);
    fprintf(stderr, "usage: chain_bench ref RPC CONTRACT KEY BATCH N [K [EXPLANATIONS_FILE]] | "
                    "gas RPC CONTRACT FROM TO\n");
    return 2;
}
