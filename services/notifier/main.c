/*
 * notifier — tells people where they already are: the gateway's alarm
 * lifecycle events become messages on webhooks, ntfy, Telegram, e-mail and
 * MQTT, from a durable outbox, and every sensor appears in Home Assistant
 * through MQTT discovery. docs/notifier.md says why this is a service of
 * its own and how to configure it.
 *
 *   notifier [run]          subscribe and deliver (default)
 *   notifier check-config   validate NOTIFY_CONFIG and exit (0 valid, 2 not)
 *
 * Besides the status report it publishes, retained, a channel report on
 * notify/channels/{instance} (bus/notify.h: each channel's counters, last
 * delivery and last failure with its reason) when a delivery succeeded or
 * failed (at most once a second) and with every status report; the
 * gateway's GET /api/notify/channels and the dashboard show it. Home
 * Assistant's configs are published again after every reconnect (the
 * broker may have restarted without its retained messages) and when Home
 * Assistant says "online" on {prefix}/status (its birth message).
 *
 * This file parses the configuration and wires the modules (nt.h lists
 * them); the MQTT callback routes each message to them.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>

#include "base/clock.h"
#include "base/config.h"
#include "base/log.h"
#include "bus/alarm.h"
#include "bus/mqtt.h"
#include "bus/notify.h"
#include "bus/status.h"
#include "bus/topics.h"
#include "ingest/ingest.h"
#include "nt.h"
#include "nt_config.h"
#include "nt_ha.h"
#include "nt_queue.h"
#include "nt_remind.h"
#include "nt_route.h"

static const char *mqtt_url, *mqtt_user, *mqtt_pass, *mqtt_ca, *log_level, *config_path,
    *outbox_path, *instance, *ha_prefix, *ha_node, *public_url, *mapping_path;
static int do_fsync = 1, ha_on = 1;
static double status_interval = 5;

static const config_option opts[] = {
    MQTT_CONFIG_ROWS(&mqtt_url, &mqtt_user, &mqtt_pass, &mqtt_ca),
    LOG_CONFIG_ROW(&log_level),
    {"config", "NOTIFY_CONFIG", CONFIG_STR, NULL,
     "routing file (JSON: channels, severities, quiet hours, rate limits; docs/notifier.md); "
     "required",
     &config_path},
    {"outbox", "NOTIFY_OUTBOX", CONFIG_STR, "state/notifier.outbox",
     "durable outbox file (its directory must exist)", &outbox_path},
    {"fsync", "NOTIFY_FSYNC", CONFIG_BOOL, "1",
     "fsync the outbox before an event counts as accepted (0 only for benchmarks)", &do_fsync},
    {"instance", "NOTIFIER_INSTANCE", CONFIG_STR, "notifier",
     "instance name: MQTT client id (persistent session) and status/notifier/{instance}",
     &instance},
    {"ha", "NOTIFY_HA", CONFIG_BOOL, "1", "publish Home Assistant MQTT discovery", &ha_on},
    {"ha-prefix", "NOTIFY_HA_PREFIX", CONFIG_STR, "homeassistant",
     "Home Assistant discovery prefix", &ha_prefix},
    {"ha-node", "NOTIFY_HA_NODE", CONFIG_STR, "iotad",
     "node id in the discovery topics ([A-Za-z0-9_-]+)", &ha_node},
    {"ingest-mapping", INGEST_MAPPING_ENV, CONFIG_STR, NULL,
     "sensor mapping file (docs/SENSORS.md): Home Assistant device names (label) and models "
     "(profile)",
     &mapping_path},
    {"public-url", "NOTIFY_PUBLIC_URL", CONFIG_STR, "http://localhost:8080",
     "the gateway's URL as people reach it (proof links); empty = none", &public_url},
    {"status-interval", "NOTIFY_STATUS_INTERVAL", CONFIG_DBL, "5",
     "seconds between status reports (status/notifier/{instance}); 0 = none", &status_interval},
};
#define NOPTS (sizeof(opts) / sizeof(opts[0]))

static volatile int stop;
static nt_config cfg;
static nt_queue *queue;
static nt_remind *remind;
static nt_ha *ha;
static ingest *mapping;
static mqtt_client *mq;

/* Counters of the status report (the MQTT thread writes, the main thread
 * reads: approximate reads are fine for counters). */
static volatile unsigned long n_events, n_invalid, n_routed, n_skipped, n_tests, n_ha_invalid,
    n_ha_republished;
/* Set by the MQTT thread (a connect, Home Assistant's birth), acted on by
 * the main loop: publishing every sensor's configs is not done on the
 * MQTT thread. */
static volatile int ha_due;
static char ha_status_topic[TOPICS_MAX];

static void on_signal(int sig)
{
    (void)sig;
    stop = 1;
}

static int64_t wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* An event that could not be written to the outbox must not be
 * acknowledged: paho sends the PUBACK when the callback returns, whatever
 * it returns (bus/mqtt.h), so exit first; the broker keeps the message in
 * the persistent session and delivers it again after the restart. */
static void die_unstored(const char *what)
{
    log_error("notify_outbox_write_failed what=%s action=exit reason=\"exit before the MQTT "
              "acknowledgement: the broker redelivers\"",
              what);
    _exit(1);
}

static uint64_t route(const nt_event *ev)
{
    uint64_t mask = 0;
    for (int i = 0; i < cfg.n && i < 64; i++)
        if (nt_route_match(&cfg.ch[i], ev))
            mask |= 1ull << i;
    return mask;
}

static void on_event(const void *payload, size_t len)
{
    nt_event ev;
    alarm_event checked;
    char err[200];
    n_events++;
    /* the bus codec decides what a valid event is; the notifier keeps the document */
    if (alarm_event_from_json(payload, len, &checked, err, sizeof err) ||
        nt_event_parse(payload, len, &ev, err, sizeof err)) {
        n_invalid++;
        log_rate(1, 10, LOG_WARN, "notify_event_invalid error=\"%s\"", err);
        return;
    }
    nt_remind_observe(remind, &ev, wall_ms());
    /* reminders are the notifier's own (nt_remind.h), not relayed */
    uint64_t mask = ev.type == NT_EV_REMINDER ? 0 : route(&ev);
    if (mask) {
        if (nt_queue_submit(queue, &ev, mask) < 0)
            die_unstored("event");
        n_routed++;
    } else {
        n_skipped++;
    }
    nt_event_free(&ev);
}

/* notify/test: {"channel": name} or empty for every channel (bus/notify.h). */
static void on_test(const void *payload, size_t len)
{
    char name[NOTIFY_NAME_MAX], err[200];
    if (notify_test_from_json(payload, len, name, sizeof name, err, sizeof err)) {
        n_invalid++;
        log_rate(3, 10, LOG_WARN, "notify_test_invalid error=\"%s\"", err);
        return;
    }
    const char *want = name[0] ? name : NULL;
    int64_t now = wall_ms();
    json_t *doc =
        json_pack("{s:s, s:I, s:s, s:{s:s, s:s, s:s, s:s, s:s, s:s, s:b, s:n, s:I, s:s}}", "event",
                  "test", "at", (json_int_t)now, "by", "notify/test", "alarm", "id", "test",
                  "sensor_id", "test", "metric", "test", "kind", "test", "severity", "warning",
                  "state", "cleared", "acked", 1, "muted_until", "opened_at", (json_int_t)now,
                  "explanation", "a test message: this channel works");
    nt_event ev;
    if (doc && nt_event_from_doc(doc, &ev, err, sizeof err) == 0) {
        uint64_t mask = 0;
        for (int i = 0; i < cfg.n && i < 64; i++)
            if (!want || strcmp(want, cfg.ch[i].name) == 0)
                mask |= 1ull << i;
        if (mask && nt_queue_submit(queue, &ev, mask) < 0)
            die_unstored("test");
        n_tests++;
        log_info("notify_test channel=%s channels=%d", want ? want : "(all)",
                 __builtin_popcountll(mask));
        nt_event_free(&ev);
    }
    json_decref(doc);
}

static int on_message(void *user, const char *topic, const void *payload, size_t len)
{
    (void)user;
    const char *sid;
    if (topics_alarm_event_sensor(topic)) {
        on_event(payload, len);
    } else if ((sid = topics_alarm_sensor(topic))) {
        if (len && nt_remind_sensor(remind, sid, payload, len, wall_ms()) < 0)
            n_invalid++;
        if (ha && len && nt_ha_on_alarms(ha, sid, payload, len) < 0)
            n_ha_invalid++;
    } else if ((sid = topics_anomaly_sensor(topic))) {
        if (ha && nt_ha_on_anomaly(ha, sid, payload, len) < 0)
            n_ha_invalid++;
    } else if (strcmp(topic, topics_notify_test()) == 0) {
        on_test(payload, len);
    } else if (ha && strcmp(topic, ha_status_topic) == 0) {
        /* Home Assistant's birth message: it (re)started and reads discovery now */
        if (len == strlen(TOPICS_ONLINE) && memcmp(payload, TOPICS_ONLINE, len) == 0)
            ha_due = 1;
    }
    return 1;
}

static void on_state(void *user, int connected)
{
    (void)user;
    if (connected && ha)
        ha_due = 1; /* the broker may have come back without its retained messages */
}

/* The channel report (bus/notify.h), retained on notify/channels/{instance}. */
static int publish_channels(void)
{
    static notify_channel_stat rows[NOTIFY_CHANNELS_MAX];
    char topic[TOPICS_MAX];
    size_t n = nt_queue_channels(queue, rows, NOTIFY_CHANNELS_MAX);
    json_t *doc = notify_channels_to_doc(instance, wall_ms(), rows, n);
    char *s = doc ? json_dumps(doc, JSON_COMPACT) : NULL;
    int rc = -1;
    if (s && topics_notify_channels(topic, sizeof topic, instance) > 0)
        rc = mqtt_client_publish(mq, topic, s, strlen(s), 1, 1);
    free(s);
    json_decref(doc);
    return rc;
}

/* Main-loop duties besides reminders and status: Home Assistant's configs
 * when due, the channel report when a delivery changed something (at most
 * once a second) or with the status interval. */
static void tick(int64_t now)
{
    static int64_t chan_at;
    static uint64_t chan_seen = (uint64_t)-1;
    if (ha && ha_due && mqtt_client_is_connected(mq)) {
        ha_due = 0;
        int n = nt_ha_republish(ha);
        if (n < 0)
            ha_due = 1; /* try again on the next tick */
        else if (n > 0) {
            n_ha_republished++;
            log_info("notify_ha_republished sensors=%d", n);
        }
    }
    uint64_t ch = nt_queue_changes(queue);
    double every = status_interval > 0 ? status_interval * 1000 : 60000;
    if (mqtt_client_is_connected(mq) &&
        ((ch != chan_seen && now - chan_at >= 1000) || now - chan_at >= every)) {
        if (publish_channels() == 0) {
            chan_seen = ch;
            chan_at = now;
        }
    }
}

static int emit_reminder(void *user, const nt_event *ev, uint64_t mask)
{
    (void)user;
    if (nt_queue_submit(queue, ev, mask) < 0)
        return -1; /* retried on the next tick */
    log_info("notify_reminder alarm=%s", ev->id);
    return 0;
}

static int status_fill(void *user, json_t *m)
{
    (void)user;
    if (status_add(m, "events_total", 0, NULL, NULL, (double)n_events) ||
        status_add(m, "events_invalid_total", 0, NULL, NULL, (double)n_invalid) ||
        status_add(m, "events_routed_total", 0, NULL, NULL, (double)n_routed) ||
        status_add(m, "events_unrouted_total", 0, NULL, NULL, (double)n_skipped) ||
        status_add(m, "tests_total", 0, NULL, NULL, (double)n_tests) ||
        status_add(m, "ha_invalid_total", 0, NULL, NULL, (double)n_ha_invalid) ||
        status_add(m, "ha_republished_total", 0, NULL, NULL, (double)n_ha_republished) ||
        status_add(m, "reminders_followed", 1, NULL, NULL, (double)nt_remind_count(remind)) ||
        status_add(m, "ha_sensors", 1, NULL, NULL, (double)(ha ? nt_ha_sensors(ha) : 0)))
        return -1;
    return nt_queue_fill_status(queue, m);
}

static int run(void)
{
    int rc = 1;
    status_pub *sp = NULL;
    char err[512];
    const char *topics[6];
    int ntopics = 0;
    if (nt_config_load(config_path, &cfg, err, sizeof err)) {
        log_error("notify_config_invalid error=\"%s\"", err);
        return 2;
    }
    for (int i = 0; i < cfg.n; i++)
        log_info("notify_channel name=%s type=%s min_severity=%s rate_per_minute=%g "
                 "group_seconds=%g remind_minutes=%g",
                 cfg.ch[i].name, nt_channel_type_name(cfg.ch[i].type),
                 nt_severity_name(cfg.ch[i].min_severity), cfg.ch[i].rate_per_min,
                 cfg.ch[i].group_s, cfg.ch[i].remind_min);
    if (!(remind = nt_remind_new(&cfg)) ||
        nt_queue_open(&queue, outbox_path, &cfg, NULL, do_fsync) < 0)
        goto out;
    if (ha_on && mapping_path && *mapping_path && ingest_create(&mapping, mapping_path) < 0) {
        rc = 2; /* the reason is logged */
        goto out;
    }
    if (ha_on) {
        nt_ha_opts ho = {ha_prefix, ha_node, instance, public_url, mapping};
        if (!(ha = nt_ha_new(&ho, NULL))) {
            log_error("notify_ha_invalid reason=\"NOTIFY_HA_NODE must be [A-Za-z0-9_-]+\"");
            rc = 2;
            goto out;
        }
    }
    topics[ntopics++] = topics_filter_alarm_events();
    topics[ntopics++] = topics_filter_alarms();
    topics[ntopics++] = topics_notify_test();
    if (ha_on) {
        topics[ntopics++] = topics_filter_anomalies();
        if (topics_ha_status(ha_status_topic, sizeof ha_status_topic, ha_prefix) < 0) {
            log_error("notify_ha_invalid reason=\"NOTIFY_HA_PREFIX too long\"");
            rc = 2;
            goto out;
        }
        topics[ntopics++] = ha_status_topic;
    }
    mqtt_options mo = {.uris = mqtt_url,
                       .client_id = instance,
                       .username = mqtt_user,
                       .password = mqtt_pass,
                       .ca_file = mqtt_ca,
                       .clean_session = 0, /* events published while we are away wait */
                       .topics = topics,
                       .ntopics = ntopics,
                       .sub_qos = 1,
                       .on_message = on_message,
                       .on_state = on_state};
    char avail[TOPICS_MAX];
    if (status_availability(&mo, avail, sizeof avail, "notifier", instance) != 0) {
        log_error("notify_instance_invalid instance=%s (1..63 of [A-Za-z0-9_.:-])", instance);
        rc = 2;
        goto out;
    }
    if (mqtt_client_create(&mq, &mo) < 0)
        goto out;
    nt_queue_set_mqtt(queue, mq);
    if (ha)
        nt_ha_set_client(ha, mq);
    if (status_interval > 0 &&
        status_pub_create(&sp, mq, "notifier", instance, status_interval, status_fill, NULL))
        log_warn("status_disabled instance=%s", instance);
    log_info("notify_started channels=%d outbox=%s pending=%llu ha=%d", cfg.n, outbox_path,
             (unsigned long long)nt_queue_pending(queue), ha_on);
    while (!stop) {
        clock_sleep_ms(200, &stop);
        nt_remind_tick(remind, wall_ms(), emit_reminder, NULL);
        tick(wall_ms());
        if (sp)
            status_pub_tick(sp);
    }
    rc = 0;
    if (sp)
        status_pub_final(sp, 1000);
out:
    status_pub_destroy(sp);
    nt_queue_stop(queue);    /* no delivery uses the client any more (mqtt channels) */
    mqtt_client_destroy(mq); /* no callback submits any more */
    mq = NULL;
    nt_queue_close(queue);
    nt_ha_free(ha);
    ingest_destroy(mapping);
    nt_remind_free(remind);
    nt_config_free(&cfg);
    return rc;
}

int main(int argc, char **argv)
{
    char *pos[8];
    int npos = 0;
    enum log_level lvl;
    if (argc > 8) {
        fprintf(stderr, "too many arguments (see --help)\n");
        return 2;
    }
    int c = config_parse(opts, NOPTS, argc, argv, pos, &npos);
    if (c == CONFIG_HELP || c == CONFIG_VERSION)
        return 0;
    if (c < 0)
        return 2;
    if (log_level_parse(log_level, &lvl)) {
        fprintf(stderr, "LOG_LEVEL must be debug, info, warn or error\n");
        return 2;
    }
    log_init("notifier", lvl);
    const char *cmd = npos > 0 ? pos[0] : "run";
    if (!config_path || !*config_path) {
        fprintf(stderr, "notifier: NOTIFY_CONFIG (--config) is required: a JSON routing file, "
                        "e.g. {\"channels\": [{\"name\": \"ops\", \"type\": \"webhook\", "
                        "\"url\": \"http://127.0.0.1:9000/hook\", \"secret\": \"s3cret\"}]} "
                        "(docs/notifier.md)\n");
        return 2;
    }
    if (strcmp(cmd, "check-config") == 0) {
        char err[512];
        if (nt_config_load(config_path, &cfg, err, sizeof err)) {
            fprintf(stderr, "notifier: invalid configuration: %s\n", err);
            return 2;
        }
        printf("%s: %d channel(s) valid\n", config_path, cfg.n);
        nt_config_free(&cfg);
        return 0;
    }
    if (strcmp(cmd, "run") != 0) {
        fprintf(stderr, "unknown subcommand %s (run, check-config)\n", cmd);
        return 2;
    }
    curl_global_init(CURL_GLOBAL_DEFAULT);
    struct sigaction sa = {0};
    sa.sa_handler = on_signal;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
    int rc = run();
    curl_global_cleanup();
    return rc;
}
