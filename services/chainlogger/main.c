/*
 * chainlogger — writes every anomaly to the AnomalyLogger contract, exactly
 * once. main() parses the configuration and dispatches the subcommand:
 *
 *   chainlogger [run]          consume anomalies/+ and alarms/events/+ (QoS 1,
 *                              persistent session),
 *                              journal each before acknowledging it (cl_intake.c),
 *                              and let the sender thread log them on chain; with
 *                              --partition K --partitions M (cluster mode) only
 *                              apart/K/anomalies/+, anomaly partition K of M
 *   chainlogger deploy         deploy the contract unless the recorded one exists;
 *                              print its address
 *   chainlogger verify         compare the chain with the journal; exit 0 when equal
 *   chainlogger prove ID       prove with the contract's isLogged that anomaly ID is
 *                              logged; print JSON; exit 0 logged, 1 not, 2 error
 *   chainlogger address        print this logger's account address
 *   chainlogger authorize ADDR / revoke ADDR   owner: manage logger accounts
 *   chainlogger transfer-ownership ADDR  owner: name ADDR the pending owner
 *   chainlogger accept-ownership         pending owner (its key as the owner key): take over
 *
 * Two keys: the logger key (KEY_FILE / PRIVATE_KEY) signs batches around the
 * clock; the owner key (OWNER_KEY_FILE / OWNER_PRIVATE_KEY) deploys and signs
 * the owner calls, and need not be on the logging host at all. Without an
 * owner key the logger key signs them (and owns a contract it deploys): the
 * dev set-up, warned about.
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "base/clock.h"
#include "eth/anomaly_log.h"
#include "bus/anomaly.h"
#include "cl.h"
#include "base/config.h"
#include "base/hex.h"
#include "base/log.h"
#include "bus/mqtt.h"
#include "eth/rpc.h"
#include "bus/status.h"
#include "bus/topics.h"

static double status_interval;
static const char *mqtt_url, *mqtt_user, *mqtt_pass, *mqtt_ca, *mqtt_client_id, *rpc_url;
static const char *contract_addr, *key_file, *private_key, *state_dir, *log_level, *contract_json;
static const char *private_key_file; /* PRIVATE_KEY_FILE, same as KEY_FILE */
static const char *owner_key_file, *owner_private_key;
static long chain_id, batch_size, batch_delay_ms, rpc_timeout_ms, receipt_timeout_ms, pipeline;
static long partition, partitions;
static long max_fee_per_gas, max_priority_fee;
static const char *journal_sync_mode;
static long journal_sync_ms, dedup_window;
static int verbose;

static const config_option opts[] = {
    MQTT_CONFIG_ROWS(&mqtt_url, &mqtt_user, &mqtt_pass, &mqtt_ca),
    {"mqtt-client-id", "CHAINLOGGER_CLIENT_ID", CONFIG_STR, "chainlogger",
     "MQTT client id (stable: the persistent session is keyed by it; chainlogger-pK with "
     "--partitions)",
     &mqtt_client_id},
    {"partition", "CHAINLOGGER_PARTITION", CONFIG_INT, "-1",
     "cluster mode: log only anomaly partition K (apart/K/anomalies/+)", &partition},
    {"partitions", "CHAINLOGGER_PARTITIONS", CONFIG_INT, "0",
     "chain loggers splitting the anomalies (0 or 1 = one, on anomalies/+)", &partitions},
    {"rpc-url", "RPC_URL", CONFIG_STR, "http://127.0.0.1:8545", "Ethereum JSON-RPC endpoint",
     &rpc_url},
    {"chain-id", "CHAIN_ID", CONFIG_INT, "1337", "expected chain id (checked with eth_chainId)",
     &chain_id},
    {"contract", "CONTRACT_ADDRESS", CONFIG_STR, NULL,
     "AnomalyLogger address (default: $STATE_DIR/contract-<chain_id>.json)", &contract_addr},
    {"contract-json", "CONTRACT_JSON", CONFIG_STR, "contracts/build/AnomalyLogger.json",
     "compiled contract, for deploy", &contract_json},
    {"key-file", "KEY_FILE", CONFIG_STR, NULL, "file holding the hex private key (mode 600)",
     &key_file},
    {"private-key-file", "PRIVATE_KEY_FILE", CONFIG_STR, NULL,
     "same as KEY_FILE (e.g. a Docker secret, /run/secrets/<name>)", &private_key_file},
    {"private-key", "PRIVATE_KEY", CONFIG_STR, NULL,
     "hex private key when no KEY_FILE (never logged)", &private_key},
    {"owner-key-file", "OWNER_KEY_FILE", CONFIG_STR, NULL,
     "deploy and owner calls: file holding the owner's hex private key (mode 600), not the "
     "logger key",
     &owner_key_file},
    {"owner-private-key", "OWNER_PRIVATE_KEY", CONFIG_STR, NULL,
     "owner's hex private key when no OWNER_KEY_FILE (never logged)", &owner_private_key},
    {"state-dir", "STATE_DIR", CONFIG_STR, "./state", "journal and contract address directory",
     &state_dir},
    {"batch-size", "BATCH_SIZE", CONFIG_INT, "50", "anomalies per transaction (1..200)",
     &batch_size},
    {"batch-max-delay-ms", "BATCH_MAX_DELAY_MS", CONFIG_INT, "200",
     "send a partial batch once its oldest anomaly waited this long", &batch_delay_ms},
    {"pipeline", "PIPELINE_DEPTH", CONFIG_INT, "2",
     "full batches in flight at once (1..8; 1 = serial)", &pipeline},
    {"rpc-timeout-ms", "RPC_TIMEOUT_MS", CONFIG_INT, "10000", "timeout of one JSON-RPC call",
     &rpc_timeout_ms},
    {"max-fee-per-gas", "MAX_FEE_PER_GAS", CONFIG_INT, "1000000000000",
     "ceiling (wei) on the fee per gas signed; a node asking more is refused, retried later",
     &max_fee_per_gas},
    {"max-priority-fee-per-gas", "MAX_PRIORITY_FEE_PER_GAS", CONFIG_INT, "100000000000",
     "ceiling (wei) on the EIP-1559 tip signed", &max_priority_fee},
    {"receipt-timeout-ms", "RECEIPT_TIMEOUT_MS", CONFIG_INT, "60000",
     "wait this long for a receipt before re-checking and re-sending", &receipt_timeout_ms},
    {"status-interval", "STATUS_INTERVAL", CONFIG_DBL, "5",
     "seconds between status reports (retained, status/chainlogger/<client id>); 0 = none",
     &status_interval},
    {"journal-sync", "JOURNAL_SYNC", CONFIG_STR, "each",
     "each: fsync every anomaly before acknowledging it; group: write it, fsync every "
     "JOURNAL_SYNC_MS (kill -9 safe; a power loss can lose the last JOURNAL_SYNC_MS)",
     &journal_sync_mode},
    {"journal-sync-ms", "JOURNAL_SYNC_MS", CONFIG_INT, "5",
     "group commit: fsync the journal at most this often (1..1000)", &journal_sync_ms},
    {"dedup-window", "DEDUP_WINDOW", CONFIG_INT, "200000",
     "anomaly ids kept in memory for duplicate detection (0 = all; older ones are "
     "looked up in the journal file)",
     &dedup_window},
    LOG_CONFIG_ROW(&log_level),
    {"verbose", "VERIFY_VERBOSE", CONFIG_BOOL, "0", "verify: list every mismatch", &verbose},
};
#define NOPTS (sizeof(opts) / sizeof(opts[0]))

static volatile int stop;
static journal *jnl;
static mqtt_client *mq;
static cl_intake intake; /* the MQTT intake: its counters feed the status report */

static void on_signal(int sig)
{
    (void)sig;
    stop = 1;
}

void cl_journal_path(char *out, size_t cap, const char *dir, uint64_t cid, const uint8_t c[20])
{
    char ah[41];
    hex_encode(ah, c, 20, 0);
    snprintf(out, cap, "%s/journal-%llu-%s.log", dir, (unsigned long long)cid, ah);
}

/* The counters as a status report (common/bus/status.h) for the gateway's /metrics. */
static int status_fill(void *user, json_t *m)
{
    const cl_sender *s = user;
    static const struct {
        int code;
        const char *name;
    } rpc_kinds[] = {{RPC_ERR_TRANSPORT, "transport"},
                     {RPC_ERR_PARSE, "parse"},
                     {RPC_ERR_REMOTE, "remote"},
                     {RPC_ERR_NOMEM, "nomem"}};
    journal_mem jm;
    journal_mem_usage(jnl, &jm);
    /* journal_errors_total stays 0 while running: a journal error ends the
     * process (cl_intake.c), which the status shows as a silent death. */
    int rc =
        /* n_accepted counts every journaled record; alarm events have their own */
        status_add(m, "anomalies_accepted_total", 0, NULL, NULL,
                   (double)(intake.n_accepted - intake.n_alarm_events)) |
        status_add(m, "anomalies_invalid_total", 0, NULL, NULL, (double)intake.n_invalid) |
        status_add(m, "duplicates_total", 0, NULL, NULL, (double)intake.n_dups) |
        status_add(m, "alarm_events_accepted_total", 0, NULL, NULL, (double)intake.n_alarm_events) |
        status_add(m, "alarm_events_skipped_total", 0, NULL, NULL, (double)intake.n_alarm_skipped) |
        status_add(m, "dedup_scans_total", 0, NULL, NULL, (double)intake.n_scans) |
        status_add(m, "journal_errors_total", 0, NULL, NULL, 0.0) |
        status_add(m, "journal_ids_in_memory", 1, NULL, NULL, (double)(jm.entries - jm.evicted)) |
        status_add(m, "logged_total", 0, NULL, NULL, (double)s->logged) |
        status_add(m, "batches_total", 0, NULL, NULL, (double)s->batches) |
        status_add(m, "retries_total", 0, NULL, NULL, (double)s->retries) |
        status_add(m, "fee_ceiling_refusals_total", 0, NULL, NULL, (double)s->eth->fee_refusals) |
        status_add(m, "pending", 1, NULL, NULL,
                   (double)(journal_count(jnl) - journal_first_pending(jnl)));
    for (size_t k = 0; k < sizeof rpc_kinds / sizeof rpc_kinds[0]; k++)
        rc |= status_add(m, "rpc_errors_total", 0, "kind", rpc_kinds[k].name,
                         (double)rpc_error_count(rpc_kinds[k].code));
    return rc ? -1 : 0;
}

/* Cluster mode: NATS maps anomalies/{id} to apart/{k}/anomalies/{id}
 * (docs/SCALING.md). The prefix is stripped so the intake validates the
 * same topic in every mode; anything else fails its topic check there. */
static int on_message_part(void *user, const char *topic, const void *payload, size_t len)
{
    if (topics_alarm_event_sensor(topic))
        return cl_intake_alarm_event(user, topic, payload, len);
    return cl_intake_message(user, topics_strip_partition(topic), payload, len);
}

/* One logger: anomalies/+ and the gateway's alarms/events/+ (issue #17). */
static int on_message(void *user, const char *topic, const void *payload, size_t len)
{
    if (topics_alarm_event_sensor(topic))
        return cl_intake_alarm_event(user, topic, payload, len);
    return cl_intake_message(user, topic, payload, len);
}

static void *sender_main(void *arg)
{
    cl_sender *s = arg;
    int rc = cl_sender_run(s);
    if (rc < 0) {
        log_error("sender_stopped rc=%d", rc);
        stop = 2;
    }
    return NULL;
}

static int load_key(tx_key **k)
{
    if (key_file && *key_file && private_key_file && *private_key_file &&
        strcmp(key_file, private_key_file) != 0) {
        log_error("config_invalid reason=\"KEY_FILE and PRIVATE_KEY_FILE name different files\"");
        return -1;
    }
    if (cl_key_load(k, key_file && *key_file ? key_file : private_key_file, private_key) < 0)
        return -1;
    if (cl_key_check_chain(*k, chain_id) < 0) {
        tx_key_destroy(*k);
        *k = NULL;
        return -1;
    }
    return 0;
}

static int resolve_contract(uint8_t addr[20])
{
    if (contract_addr && *contract_addr) {
        if (strlen(contract_addr) != 42 || hex_decode(addr, 20, contract_addr) != 20) {
            log_error("config_invalid option=CONTRACT_ADDRESS");
            return -1;
        }
        return 0;
    }
    if (cl_contract_load(state_dir, (uint64_t)chain_id, addr) == 0)
        return 0;
    log_error("contract_unknown reason=\"set CONTRACT_ADDRESS or run `chainlogger deploy`\"");
    return -1;
}

/* Deploy from the owner's account (o), authorising the logger account (e's). */
static int cmd_deploy(eth_client *o, const eth_client *e)
{
    uint8_t addr[20];
    char ah[43];
    int deployed = 0, rc, backoff = 250;
    if (o != e && memcmp(o->addr, e->addr, 20) == 0) {
        log_error("config_invalid option=OWNER_KEY_FILE reason=\"the owner key is the logger "
                  "key; use a key of its own\"");
        return 2;
    }
    for (int tries = 0; tries < 20; tries++) {
        rc = eth_client_connect(o);
        if (rc == 0)
            rc = cl_deploy(o, state_dir, contract_json, e->addr, addr, &deployed);
        if (rc == 0 || rc == CL_ERR_FATAL)
            break;
        clock_sleep_ms(backoff, &stop);
        backoff = backoff * 2 > 3000 ? 3000 : backoff * 2;
    }
    if (rc < 0)
        return 1;
    hex_encode(ah, addr, 20, 1);
    printf("%s\n", ah);
    return 0;
}

static int cmd_set_logger(eth_client *e, const char *who_hex, int add)
{
    uint8_t c[20], who[20];
    if (!who_hex || strlen(who_hex) != 42 || hex_decode(who, 20, who_hex) != 20) {
        fprintf(stderr, "usage: chainlogger %s 0xADDRESS\n", add ? "authorize" : "revoke");
        return 2;
    }
    if (resolve_contract(c) < 0 || eth_client_connect(e) < 0)
        return 1;
    int rc = cl_set_logger(e, c, who, add);
    if (rc < 0) {
        log_error("set_logger_failed reason=\"%s\"", e->err);
        return 1;
    }
    log_info("%s address=%s", add ? "logger_authorized" : "logger_revoked", who_hex);
    return 0;
}

/* transfer-ownership ADDR (who_hex set) or accept-ownership (NULL), from o. */
static int cmd_ownership(eth_client *o, const char *cmd, const char *who_hex)
{
    uint8_t c[20], who[20];
    int transfer = strcmp(cmd, "transfer-ownership") == 0;
    if (transfer && (!who_hex || strlen(who_hex) != 42 || hex_decode(who, 20, who_hex) != 20)) {
        fprintf(stderr, "usage: chainlogger transfer-ownership 0xADDRESS\n");
        return 2;
    }
    if (resolve_contract(c) < 0 || eth_client_connect(o) < 0)
        return 1;
    int rc = transfer ? cl_transfer_ownership(o, c, who) : cl_accept_ownership(o, c);
    if (rc < 0) {
        log_error("%s_failed account=%s reason=\"%s\"", transfer ? "transfer" : "accept",
                  o->addr_hex, o->err[0] ? o->err : "reverted");
        return 1;
    }
    if (transfer)
        log_info("ownership_transfer_started pending_owner=%s", who_hex);
    else
        log_info("ownership_accepted owner=%s", o->addr_hex);
    return 0;
}

static int cmd_verify(eth_client *e)
{
    uint8_t c[20];
    char path[4096];
    journal *j = NULL;
    if (resolve_contract(c) < 0)
        return 2;
    cl_journal_path(path, sizeof path, state_dir, (uint64_t)chain_id, c);
    int rc = journal_open_readonly(&j, path);
    if (rc < 0) {
        log_error("journal_open_failed path=%s rc=%d", path, rc);
        return 2;
    }
    rc = eth_client_connect(e);
    if (rc == 0)
        rc = cl_verify(e, c, e->addr, j, verbose);
    journal_close(j);
    return rc < 0 ? 2 : rc;
}

static int cmd_prove(eth_client *e, const char *id)
{
    uint8_t c[20];
    if (!id) {
        fprintf(stderr, "usage: chainlogger prove ANOMALY_ID\n");
        return 2;
    }
    if (resolve_contract(c) < 0)
        return 2;
    int rc = eth_client_connect(e);
    if (rc == 0)
        rc = cl_prove(e, c, id);
    return rc < 0 ? 2 : rc;
}

/* Settings cmd_run needs beyond the common ones. Returns 0, or -1 (logged). */
static int check_run_config(void)
{
    if (batch_size < 1 || batch_size > ANOMALY_LOG_MAX_BATCH || batch_delay_ms < 0) {
        log_error("config_invalid option=BATCH_SIZE/BATCH_MAX_DELAY_MS");
        return -1;
    }
    if ((strcmp(journal_sync_mode, "each") != 0 && strcmp(journal_sync_mode, "group") != 0) ||
        journal_sync_ms < 1 || journal_sync_ms > 1000 || dedup_window < 0) {
        log_error("config_invalid option=JOURNAL_SYNC/JOURNAL_SYNC_MS/DEDUP_WINDOW");
        return -1;
    }
    if (partitions > 1 && (partition < 0 || partition >= partitions)) {
        log_error("config_invalid option=CHAINLOGGER_PARTITION partition=%ld partitions=%ld",
                  partition, partitions);
        return -1;
    }
    return 0;
}

/* Open (and when large, compact) the journal of this chain and contract.
 * Returns 0, or -1 (logged). */
static int open_journal(const uint8_t c[20])
{
    char path[4096];
    size_t dropped = 0;
    journal_mem jm;
    cl_journal_path(path, sizeof path, state_dir, (uint64_t)chain_id, c);
    journal_opts jo = {.do_fsync = 1, .window = (uint64_t)dedup_window, .key = cl_intake_key};
    int jrc = journal_open_opts(&jnl, path, &jo, &dropped);
    if (jrc < 0) {
        /* JOURNAL_ERR_CORRUPT: journal_corrupt above names the offset; the
         * file is untouched and needs an operator (docs/RELIABILITY.md). */
        log_error("journal_open_failed path=%s rc=%d%s", path, jrc,
                  jrc == JOURNAL_ERR_CORRUPT ? " reason=corrupt" : "");
        return -1;
    }
    journal_mem_usage(jnl, &jm);
    /* Compaction needs every entry in memory (it only drops 'S' records). */
    if (jm.evicted == 0 && journal_file_size(jnl) > 16u * 1024 * 1024 && journal_compact(jnl) < 0)
        log_warn("journal_compact_failed path=%s", path);
    journal_mem_usage(jnl, &jm);
    log_info("journal_open path=%s entries=%llu pending=%llu dropped_bytes=%zu in_memory=%llu "
             "mem_bytes=%llu",
             path, (unsigned long long)journal_count(jnl),
             (unsigned long long)(journal_count(jnl) - journal_first_pending(jnl)), dropped,
             (unsigned long long)(jm.entries - jm.evicted), (unsigned long long)jm.bytes);
    return 0;
}

/* The sender's settings: the batch and RPC options, the journal, the client. */
static void sender_setup(cl_sender *s, eth_client *e, const uint8_t c[20])
{
    s->j = jnl;
    s->eth = e;
    memcpy(s->contract, c, 20);
    s->batch_size = (int)batch_size;
    s->max_delay_ms = (int)batch_delay_ms;
    s->receipt_timeout_ms = (int)receipt_timeout_ms;
    s->rpc_url = rpc_url;
    s->rpc_timeout_ms = rpc_timeout_ms;
    s->pipeline = (int)pipeline;
    s->mqtt = mq;
    s->stop = &stop;
}

/* The periodic status line (every 10 s while running). */
static void log_run_status(const cl_sender *s)
{
    journal_mem jm;
    journal_mem_usage(jnl, &jm);
    log_info("status accepted=%llu invalid=%llu duplicates=%llu logged=%llu batches=%llu "
             "resends=%llu pending=%llu journal_mem_bytes=%llu journal_in_memory=%llu "
             "dedup_scans=%llu",
             (unsigned long long)intake.n_accepted, (unsigned long long)intake.n_invalid,
             (unsigned long long)intake.n_dups, (unsigned long long)s->logged,
             (unsigned long long)s->batches, (unsigned long long)s->retries,
             (unsigned long long)(journal_count(jnl) - journal_first_pending(jnl)),
             (unsigned long long)jm.bytes, (unsigned long long)(jm.entries - jm.evicted),
             (unsigned long long)intake.n_scans);
}

static int cmd_run(eth_client *e)
{
    uint8_t c[20];
    pthread_t th;
    int rc = 1, thread_started = 0;
    cl_sender s = {0};

    if (check_run_config() != 0 || resolve_contract(c) < 0)
        return 2;
    if (open_journal(c) != 0)
        return 1;

    char part_topic[64], part_cid[64];
    const char *topics[] = {topics_filter_anomalies(), topics_filter_alarm_events()};
    int ntopics = 2;
    const char *cid = mqtt_client_id;
    if (partitions > 1) {
        /* Each logger takes one anomaly partition: the contract deduplicates
         * per logger, so two loggers must never receive the same anomaly. */
        topics_apart_anomaly_filter(part_topic, sizeof part_topic, partition);
        topics[0] = part_topic;
        /* Alarm events are not partitioned: partition 0 logs them all (two
         * loggers would log each twice, under different seqs). */
        ntopics = partition == 0 ? 2 : 1;
        if (strcmp(mqtt_client_id, "chainlogger") == 0) {
            snprintf(part_cid, sizeof part_cid, "chainlogger-p%ld", partition);
            cid = part_cid;
        }
    }
    log_info("subscribing topic=%s%s%s client_id=%s", topics[0], ntopics > 1 ? "," : "",
             ntopics > 1 ? topics[1] : "", cid);
    mqtt_options mo = {.uris = mqtt_url,
                       .client_id = cid,
                       .username = mqtt_user,
                       .password = mqtt_pass,
                       .ca_file = mqtt_ca,
                       .clean_session = 0,
                       .topics = topics,
                       .ntopics = ntopics,
                       .sub_qos = 1,
                       .on_message = partitions > 1 ? on_message_part : on_message,
                       .user = &intake};
    char avail[TOPICS_MAX];
    if (status_availability(&mo, avail, sizeof avail, "chainlogger", cid) != 0)
        log_warn("availability_disabled reason=\"client id is not a valid topic level\"");
    intake.j = jnl;
    intake.sync_each = strcmp(journal_sync_mode, "each") == 0;
    intake.sync_ms = (int)journal_sync_ms;
    intake.stop = &stop;
    if (cl_intake_init(&intake) < 0 || cl_intake_start(&intake) < 0)
        goto out;
    log_info("intake journal_sync=%s journal_sync_ms=%ld dedup_window=%ld", journal_sync_mode,
             journal_sync_ms, dedup_window);
    /* The first message may arrive before mqtt_client_create returns, and
     * its callback publishes with intake.mqtt: set it from the handle paho
     * hands back only after; until then duplicates are not re-announced. */
    if (mqtt_client_create(&mq, &mo) < 0)
        goto out;
    intake.mqtt = mq;

    sender_setup(&s, e, c);
    if (pthread_create(&th, NULL, sender_main, &s) != 0)
        goto out;
    thread_started = 1;
    status_pub *sp = NULL;
    if (status_interval > 0 && status_pub_create(&sp, mq, "chainlogger", mqtt_client_id,
                                                 status_interval, status_fill, &s) != 0)
        log_warn("status_disabled reason=\"client id is not a valid topic level\" client_id=%s",
                 mqtt_client_id);
    double last = clock_mono();
    while (!stop) {
        clock_sleep_ms(200, &stop);
        if (sp)
            status_pub_tick(sp);
        if (clock_mono() - last >= 10) {
            last = clock_mono();
            log_run_status(&s);
        }
    }
    int fatal = stop == 2;
    stop = 1;
    if (sp)
        status_pub_final(sp, 1000); /* "final": a clean stop, not a silent death */
    status_pub_destroy(sp);
    /* Stop consuming first, so nothing is acknowledged after the sender is gone. */
    mqtt_client_destroy(mq);
    mq = NULL;
    intake.mqtt = NULL;
    pthread_join(th, NULL);
    thread_started = 0;
    s.mqtt = NULL;
    rc = fatal ? 1 : 0;
    log_info("stopped logged=%llu accepted=%llu duplicates=%llu dedup_scans=%llu "
             "alarm_events=%llu alarm_events_skipped=%llu",
             (unsigned long long)s.logged, (unsigned long long)intake.n_accepted,
             (unsigned long long)intake.n_dups, (unsigned long long)intake.n_scans,
             (unsigned long long)intake.n_alarm_events, (unsigned long long)intake.n_alarm_skipped);
out:
    stop = stop ? stop : 1;
    mqtt_client_destroy(mq);
    if (thread_started)
        pthread_join(th, NULL);
    cl_intake_stop(&intake);
    journal_close(jnl);
    return rc;
}

int main(int argc, char **argv)
{
    char *pos[argc > 0 ? argc : 1];
    int npos = 0, rc;
    enum log_level lvl;
    tx_key *key = NULL;
    eth_client eth;

    rc = config_parse(opts, NOPTS, argc, argv, pos, &npos);
    if (rc == CONFIG_VERSION)
        return 0;
    if (rc == CONFIG_HELP) {
        printf("\nsubcommands: run (default) | deploy | verify | prove ID | address | "
               "authorize 0xADDR | revoke 0xADDR | transfer-ownership 0xADDR | "
               "accept-ownership\n");
        return 0;
    }
    if (rc < 0)
        return 2;
    if (log_level_parse(log_level, &lvl) < 0) {
        fprintf(stderr, "invalid LOG_LEVEL %s\n", log_level);
        return 2;
    }
    log_init("chainlogger", lvl);
    const char *cmd = npos > 0 ? pos[0] : "run";
    if (chain_id <= 0) {
        log_error("config_invalid option=CHAIN_ID");
        return 2;
    }
    if (max_fee_per_gas <= 0 || max_priority_fee < 0) {
        log_error("config_invalid option=MAX_FEE_PER_GAS/MAX_PRIORITY_FEE_PER_GAS");
        return 2;
    }
    if (mkdir(state_dir, 0700) < 0 && errno != EEXIST) {
        log_error("state_dir_unusable dir=%s errno=%d error=\"%s\"", state_dir, errno,
                  strerror(errno));
        return 1;
    }
    /* prove only reads the chain: anyone may run it, with or without a key. */
    int need_key = strcmp(cmd, "prove") != 0 || (key_file && *key_file) ||
                   (private_key_file && *private_key_file) || (private_key && *private_key);
    if (need_key && load_key(&key) < 0)
        return 2;
    if (eth_client_init(&eth, rpc_url, key, (uint64_t)chain_id, rpc_timeout_ms) < 0) {
        tx_key_destroy(key);
        return 1;
    }
    eth.max_fee_per_gas = (uint64_t)max_fee_per_gas;
    eth.max_priority_fee = (uint64_t)max_priority_fee;
    /* The owner's commands sign with the owner key when one is configured. */
    int owner_cmd = strcmp(cmd, "deploy") == 0 || strcmp(cmd, "authorize") == 0 ||
                    strcmp(cmd, "revoke") == 0 || strcmp(cmd, "transfer-ownership") == 0 ||
                    strcmp(cmd, "accept-ownership") == 0;
    tx_key *owner_key = NULL;
    eth_client owner_eth, *own = &eth;
    if (owner_cmd &&
        ((owner_key_file && *owner_key_file) || (owner_private_key && *owner_private_key))) {
        if (cl_key_load(&owner_key, owner_key_file, owner_private_key) < 0 ||
            cl_key_check_chain(owner_key, chain_id) < 0 ||
            eth_client_init(&owner_eth, rpc_url, owner_key, (uint64_t)chain_id, rpc_timeout_ms) <
                0) {
            tx_key_destroy(owner_key);
            eth_client_free(&eth);
            tx_key_destroy(key);
            return 2;
        }
        owner_eth.max_fee_per_gas = eth.max_fee_per_gas;
        owner_eth.max_priority_fee = eth.max_priority_fee;
        own = &owner_eth;
    } else if (owner_cmd) {
        log_warn("owner_is_logger account=%s reason=\"no OWNER_KEY_FILE/OWNER_PRIVATE_KEY: the "
                 "logger key signs the owner's calls (dev only, docs/chain.md)\"",
                 eth.addr_hex);
    }
    struct sigaction sa = {0};
    sa.sa_handler = on_signal;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);

    if (strcmp(cmd, "run") == 0)
        rc = cmd_run(&eth);
    else if (strcmp(cmd, "deploy") == 0)
        rc = cmd_deploy(own, &eth);
    else if (strcmp(cmd, "verify") == 0)
        rc = cmd_verify(&eth);
    else if (strcmp(cmd, "prove") == 0)
        rc = cmd_prove(&eth, npos > 1 ? pos[1] : NULL);
    else if (strcmp(cmd, "address") == 0) {
        printf("%s\n", eth.addr_hex);
        rc = 0;
    } else if (strcmp(cmd, "authorize") == 0 || strcmp(cmd, "revoke") == 0)
        rc = cmd_set_logger(own, npos > 1 ? pos[1] : NULL, cmd[0] == 'a');
    else if (strcmp(cmd, "transfer-ownership") == 0 || strcmp(cmd, "accept-ownership") == 0)
        rc = cmd_ownership(own, cmd, npos > 1 ? pos[1] : NULL);
    else {
        fprintf(stderr, "unknown subcommand %s (see --help)\n", cmd);
        rc = 2;
    }
    if (own != &eth)
        eth_client_free(own);
    tx_key_destroy(owner_key);
    eth_client_free(&eth);
    tx_key_destroy(key);
    return rc;
}
