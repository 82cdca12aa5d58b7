/*
 * cl_intake — the chain logger's intake: every anomaly message from the
 * broker is validated, checked for duplicates and appended to the journal
 * before the MQTT callback returns. What "before it returns" buys depends
 * on paho, so here is what paho.mqtt.c 1.3.11 (Debian's libpaho-mqtt1.3
 * 1.3.12-1) does with an incoming QoS 1 PUBLISH, read from its source and
 * checked in the disassembly of the installed library:
 *
 *   MQTTProtocol_handlePublishes: Protocol_processPublication(), *then*
 *   the PUBACK (MQTTPacket_send_puback or a queued ack).
 *   Protocol_processPublication: when paho's message queue is empty and the
 *   client is connected, it calls our callback right there, on the receive
 *   thread; only when the queue is not empty, or the callback returned 0,
 *   is the message queued (and stored in the persistence directory, when
 *   there is one) for a later delivery.
 *
 * So the PUBACK leaves after our callback returns, whatever it returns.
 * Returning 1 after the journal write is therefore the acknowledgement we
 * want, and returning 0 would be wrong: paho acknowledges the message
 * anyway and keeps it in memory only, where an exit loses it. This module
 * never returns 0: when the journal cannot take a message it exits the
 * process from inside the callback, before paho can acknowledge, and the
 * broker delivers the message again to the restarted logger (persistent
 * session). (Older paho releases acknowledged before calling back; paho's
 * file persistence does not help there either, as a directly delivered
 * message is never stored. tests/integration/chainlogger_intake.sh kills
 * the logger inside the callback and fails if the broker lost the message.)
 *
 * Durability of the journal write, JOURNAL_SYNC:
 *   each   fsync before the callback returns: survives kill -9 and power loss.
 *   group  write(2) before the callback returns (survives kill -9: the data
 *          is in the kernel), fsync by a committer thread at most every
 *          JOURNAL_SYNC_MS ms. A power loss or kernel crash can lose the
 *          anomalies acknowledged in the last JOURNAL_SYNC_MS ms (plus one
 *          fsync's duration). The sender's own journal_sync before it
 *          broadcasts a batch covers every earlier record, so nothing can
 *          reach the chain that the journal could forget.
 *
 * Alarm lifecycle events (`alarms/events/{sensor_id}`, issue #17) take the
 * same path (cl_intake_alarm_event): one journal entry per audited event
 * under its deterministic id (eth/anomaly_log.h, record kind 0x01), so a
 * re-delivery is a duplicate and the sender batches them with anomalies.
 *
 * Duplicates: the journal keeps the ids of its newest DEDUP_WINDOW entries
 * in memory. An anomaly not found there whose ts is not above the newest
 * ts evicted from the window (journal_horizon) may be an old duplicate: the
 * journal file is searched before it is accepted (slow, counted, logged).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "eth/anomaly_log.h"
#include "bus/alarm.h"
#include "bus/anomaly.h"
#include "bus/topics.h"
#include "cl.h"
#include "base/hex.h"
#include "base/log.h"
#include "base/clock.h"

/* Fault injection for the tests (CHAINLOGGER_FAULT=<where>:N, see cl_sender.c):
 *   intake-stall  the N-th message's callback never returns (the test kills
 *                 the process there: the broker must still hold the message)
 *   intake-fail   from the N-th message on, the journal append fails as a
 *                 broken disk would (sticky) */
static long fault_at(const char *where)
{
    char mode[32];
    long at;
    const char *f = getenv("CHAINLOGGER_FAULT");
    if (!f || sscanf(f, "%31[a-z-]:%ld", mode, &at) != 2 || strcmp(mode, where) != 0)
        return 0;
    return at;
}

int cl_intake_init(cl_intake *in)
{
    in->fault_stall = fault_at("intake-stall");
    in->fault_fail = fault_at("intake-fail");
    return 0;
}

int64_t cl_intake_key(const uint8_t *data, size_t len)
{
    int64_t ts;
    return anomaly_log_record_ts_ms(data, len, &ts) == 0 ? ts : INT64_MIN;
}

/* The journal cannot take the message: see the file comment for why this
 * exits instead of returning 0. */
static void give_up(int rc)
{
    log_error("journal_append_failed rc=%d action=exit reason=\"exit before the MQTT "
              "acknowledgement, so that the broker delivers it again\"",
              rc);
    _exit(1);
}

/* Not in the window, and no newer than what left it: it may be in the
 * journal already. Returns 1 duplicate, 0 new (or exits). */
static int old_duplicate(cl_intake *in, const uint8_t id[32], const char *id_hex,
                         const char *sensor)
{
    uint64_t idx;
    double t0 = clock_mono();
    int rc = journal_scan_id(in->j, id, &idx);
    double t1 = clock_mono();
    if (rc < 0)
        give_up(rc);
    in->n_scans++;
    log_rate(15, 5, LOG_INFO,
             "dedup_scan id=%.16s sensor=%s found=%d entry=%lld ms=%.1f reason=\"older than "
             "the duplicate window\"",
             id_hex, sensor, rc, rc == 1 ? (long long)idx : -1LL, (t1 - t0) * 1e3);
    return rc;
}

/* Journal one record under its id, unless it is a duplicate (then its
 * confirmation is published again when it has one). Exits when the journal
 * fails (see give_up). */
static void journal_record(cl_intake *in, const uint8_t id[32], const uint8_t *rec, size_t rl,
                           const char *id_hex, const char *sensor)
{
    uint64_t idx;
    int flags = in->sync_each ? JOURNAL_APPEND_SYNC : 0;
    int rc = in->fault_fail && (long)in->n_messages >= in->fault_fail
                 ? JOURNAL_ERR_IO
                 : journal_append_mode(in->j, id, rec, rl, &idx, flags);
    if (rc == 2) {
        /* Not in memory, and no newer than what left it: it may be in the
         * journal already. Only this thread appends, so "not in the file"
         * stays true until the append below. */
        if (old_duplicate(in, id, id_hex, sensor) == 1) {
            /* Logged long ago: its confirmation is no longer in memory to
             * publish again (the chain has it: `verify`, eth_getLogs by id). */
            in->n_dups++;
            return;
        }
        rc = journal_append_mode(in->j, id, rec, rl, &idx, flags | JOURNAL_APPEND_CHECKED);
    }
    if (rc < 0)
        give_up(rc);
    if (rc == 1) {
        in->n_dups++;
        journal_entry *e = malloc(sizeof(*e));
        if (e && journal_get(in->j, idx, e) == 0 && e->state == JOURNAL_CONFIRMED)
            (void)cl_publish_logged(in->mqtt, e, -1); /* the publisher may have missed it */
        free(e);
        return;
    }
    in->n_accepted++;
}

int cl_intake_message(void *user, const char *topic, const void *payload, size_t len)
{
    cl_intake *in = user;
    anomaly a, chk;
    char err[160];
    uint8_t id[32], rec[ANOMALY_LOG_RECORD_MAX];

    in->n_messages++;
    if (in->fault_stall && (long)in->n_messages == in->fault_stall) {
        log_warn("fault_injected where=intake-stall n=%ld", in->fault_stall);
        for (;;)
            pause(); /* the test kills us here */
    }
    if (anomaly_from_json(payload, len, &a, err, sizeof err) < 0) {
        in->n_invalid++;
        log_rate(10, 5, LOG_WARN, "anomaly_invalid topic=%s reason=\"%s\"", topic, err);
        return 1; /* malformed input will not get better: drop it */
    }
    const char *tsensor = topics_anomaly_sensor(topic) ? topics_anomaly_sensor(topic) : "";
    if (strcmp(tsensor, a.sensor_id) != 0) {
        in->n_invalid++;
        log_rate(11, 5, LOG_WARN,
                 "anomaly_invalid topic=%s reason=\"sensor_id differs from topic\"", topic);
        return 1;
    }
    chk = a;
    anomaly_make_id(&chk);
    if (strcasecmp(chk.id, a.id) != 0 || hex_decode(id, 32, chk.id) != 32) {
        in->n_invalid++;
        log_rate(12, 5, LOG_WARN,
                 "anomaly_invalid topic=%s id=%.16s reason=\"id is not the "
                 "deterministic id of its content\"",
                 topic, a.id);
        return 1;
    }
    if (!ANOMALY_TYPE_ON_CHAIN(a.type))
        return 1; /* a silent sensor: the gateway's alarm, not a chain record (#17) */
    int rl = anomaly_log_encode_record(&a, rec, sizeof rec);
    if (rl < 0) {
        in->n_invalid++;
        log_rate(13, 5, LOG_WARN,
                 "anomaly_invalid topic=%s id=%.16s reason=\"out of range for "
                 "the contract\"",
                 topic, a.id);
        return 1;
    }
    journal_record(in, id, rec, (size_t)rl, a.id, a.sensor_id);
    return 1;
}

int cl_intake_alarm_event(void *user, const char *topic, const void *payload, size_t len)
{
    cl_intake *in = user;
    alarm_event *ev = malloc(sizeof(*ev));
    alarm_log_event le;
    char err[160];
    uint8_t id[32], rec[ANOMALY_LOG_ALARM_RECORD_MAX];

    in->n_messages++;
    if (!ev)
        give_up(JOURNAL_ERR_NOMEM); /* redelivered after the restart */
    if (alarm_event_from_json(payload, len, ev, err, sizeof err) < 0) {
        in->n_invalid++;
        log_rate(16, 5, LOG_WARN, "alarm_event_invalid topic=%.80s reason=\"%s\"", topic, err);
        goto out;
    }
    const char *tsensor = topics_alarm_event_sensor(topic);
    if (!tsensor || strcmp(tsensor, ev->alarm.sensor_id) != 0) {
        in->n_invalid++;
        log_rate(16, 5, LOG_WARN,
                 "alarm_event_invalid topic=%.80s reason=\"sensor_id differs from topic\"", topic);
        goto out;
    }
    if (!anomaly_log_alarm_event_logged(ev->event)) {
        in->n_alarm_skipped++; /* "updated" repeats and reminders are not audited */
        goto out;
    }
    int rl;
    if (anomaly_log_alarm_from_event(ev, &le) < 0 || hex_decode(id, 32, le.id) != 32 ||
        (rl = anomaly_log_encode_alarm(&le, rec, sizeof rec)) < 0) {
        in->n_invalid++;
        log_rate(
            17, 5, LOG_WARN,
            "alarm_event_invalid topic=%.80s alarm=%s reason=\"out of range for the contract\"",
            topic, ev->alarm.id);
        goto out;
    }
    uint64_t before = in->n_accepted;
    journal_record(in, id, rec, (size_t)rl, le.id, le.sensor_id);
    if (in->n_accepted != before)
        in->n_alarm_events++;
out:
    free(ev);
    return 1;
}

/* Group commit: fsync what the callback wrote, at most every sync_ms. */
static void *committer_main(void *arg)
{
    cl_intake *in = arg;
    while (!*in->stop) {
        struct timespec d = {in->sync_ms / 1000, (in->sync_ms % 1000) * 1000000L};
        nanosleep(&d, NULL);
        if (journal_sync(in->j) < 0) {
            /* Written records may not be on disk and were acknowledged: the
             * journal is failed (sticky); exit and recover from the file. */
            log_error("journal_commit_failed action=stop");
            *in->stop = 2;
            break;
        }
        in->n_commits++;
    }
    return NULL;
}

int cl_intake_start(cl_intake *in)
{
    if (in->sync_each)
        return 0;
    if (pthread_create(&in->committer, NULL, committer_main, in) != 0)
        return -1;
    in->committer_started = 1;
    return 0;
}

void cl_intake_stop(cl_intake *in)
{
    if (in->committer_started) {
        pthread_join(in->committer, NULL);
        in->committer_started = 0;
    }
    if (in->j)
        (void)journal_sync(in->j);
}
