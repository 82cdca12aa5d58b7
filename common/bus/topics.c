/*
 * topics — see topics.h. The only file that spells a topic. Builders
 * assemble into the caller's buffer and refuse to truncate; the per-reading
 * ones (readings, anomalies, ...) copy with memcpy, not printf, because the
 * simulator builds one per reading at up to ~100k readings/s; parsers only compare prefixes and
 * suffixes, so they cost no more than the strncmp()s they replace in the services.
 */
#include "bus/topics.h"

#include <stdarg.h>
#include <string.h>

#define READINGS_PRE "sensors/"
#define READINGS_SUF "/readings"
#define ANOMALIES_PRE "anomalies/"
#define LOGGED_PRE "chain/logged/"
#define STATUS_PRE "status/"
#define AVAIL_SUF "/availability"
#define LABELS_PRE "sim/labels/"
#define ALARM_PRE "detector/alarm/"
#define FEEDBACK_PRE "detector/feedback/"
#define REPEAT_PRE "detector/repeat/"
#define ALARMS_PRE "alarms/"
#define ALARM_EVENTS_PRE "alarms/events/"
#define PART_PRE "part/"
#define APART_PRE "apart/"
#define Z2M_DEFAULT "zigbee2mqtt/#"
#define TASMOTA_DEFAULT "tele/+/SENSOR"
#define SENML_DEFAULT "senml/#"

/* snprintf that refuses to truncate, for the partition topics (built once
 * at startup): the length, or TOPICS_ERR_TOOLONG with buf "". */
static int build(char *buf, size_t cap, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int build(char *buf, size_t cap, const char *fmt, ...)
{
    if (!buf || cap == 0)
        return TOPICS_ERR_ARG;
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(buf, cap, fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= cap) {
        buf[0] = '\0';
        return n < 0 ? TOPICS_ERR_ARG : TOPICS_ERR_TOOLONG;
    }
    return n;
}

/* buf = parts[0] + parts[1] + ... + parts[n-1], or TOPICS_ERR_TOOLONG with
 * buf "". No printf: this runs once per reading on the simulator's hot path. */
static int join(char *buf, size_t cap, const char *const *parts, int n)
{
    size_t len = 0;
    if (!buf || cap == 0)
        return TOPICS_ERR_ARG;
    for (int i = 0; i < n; i++)
        if (!parts[i])
            return TOPICS_ERR_ARG;
    for (int i = 0; i < n; i++) {
        size_t l = strlen(parts[i]);
        if (l >= cap - len) {
            buf[0] = '\0';
            return TOPICS_ERR_TOOLONG;
        }
        memcpy(buf + len, parts[i], l);
        len += l;
    }
    buf[len] = '\0';
    return (int)len;
}

int topics_reading(char *buf, size_t cap, const char *sensor_id)
{
    const char *p[] = {READINGS_PRE, sensor_id, READINGS_SUF};
    return join(buf, cap, p, 3);
}

int topics_anomaly(char *buf, size_t cap, const char *sensor_id)
{
    const char *p[] = {ANOMALIES_PRE, sensor_id};
    return join(buf, cap, p, 2);
}

int topics_chain_logged(char *buf, size_t cap, const char *sensor_id)
{
    const char *p[] = {LOGGED_PRE, sensor_id};
    return join(buf, cap, p, 2);
}

int topics_sim_label(char *buf, size_t cap, const char *sensor_id)
{
    const char *p[] = {LABELS_PRE, sensor_id};
    return join(buf, cap, p, 2);
}

int topics_status(char *buf, size_t cap, const char *service, const char *instance)
{
    const char *p[] = {STATUS_PRE, service, "/", instance};
    return join(buf, cap, p, 4);
}

int topics_availability(char *buf, size_t cap, const char *service, const char *instance)
{
    const char *p[] = {STATUS_PRE, service, "/", instance, AVAIL_SUF};
    return join(buf, cap, p, 5);
}

int topics_detector_alarm(char *buf, size_t cap, const char *sensor_id, const char *metric)
{
    const char *p[] = {ALARM_PRE, sensor_id, "/", metric};
    return join(buf, cap, p, 4);
}

int topics_detector_feedback(char *buf, size_t cap, const char *sensor_id, const char *metric)
{
    const char *p[] = {FEEDBACK_PRE, sensor_id, "/", metric};
    return join(buf, cap, p, 4);
}

int topics_detector_repeat(char *buf, size_t cap, const char *sensor_id, const char *metric)
{
    const char *p[] = {REPEAT_PRE, sensor_id, "/", metric};
    return join(buf, cap, p, 4);
}

int topics_alarm(char *buf, size_t cap, const char *sensor_id)
{
    const char *p[] = {ALARMS_PRE, sensor_id};
    return join(buf, cap, p, 2);
}

int topics_alarm_event(char *buf, size_t cap, const char *sensor_id)
{
    const char *p[] = {ALARM_EVENTS_PRE, sensor_id};
    return join(buf, cap, p, 2);
}

int topics_part_prefix(char *buf, size_t cap, long k)
{
    if (k < 0)
        return TOPICS_ERR_ARG;
    return build(buf, cap, PART_PRE "%ld/", k);
}

int topics_part(char *buf, size_t cap, long k, const char *topic)
{
    if (k < 0 || !topic)
        return TOPICS_ERR_ARG;
    return build(buf, cap, PART_PRE "%ld/%s", k, topic);
}

int topics_part_any(char *buf, size_t cap, const char *filter)
{
    const char *p[] = {PART_PRE "+/", filter};
    return join(buf, cap, p, 2);
}

int topics_apart_anomaly_filter(char *buf, size_t cap, long k)
{
    if (k < 0)
        return TOPICS_ERR_ARG;
    return build(buf, cap, APART_PRE "%ld/" ANOMALIES_PRE "+", k);
}

const char *topics_filter_readings(void)
{
    return READINGS_PRE "+" READINGS_SUF;
}

const char *topics_filter_anomalies(void)
{
    return ANOMALIES_PRE "+";
}

const char *topics_filter_anomalies_any_partition(void)
{
    return APART_PRE "+/" ANOMALIES_PRE "+";
}

const char *topics_filter_chain_logged(void)
{
    return LOGGED_PRE "+";
}

const char *topics_filter_status(void)
{
    return STATUS_PRE "#";
}

const char *topics_filter_detector_alarms(void)
{
    return ALARM_PRE "+/+";
}

const char *topics_filter_detector_feedback(void)
{
    return FEEDBACK_PRE "+/+";
}

const char *topics_filter_detector_repeats(void)
{
    return REPEAT_PRE "+/+";
}

const char *topics_filter_alarms(void)
{
    return ALARMS_PRE "+";
}

const char *topics_filter_alarm_events(void)
{
    return ALARM_EVENTS_PRE "+";
}

const char *topics_default_zigbee2mqtt(void)
{
    return Z2M_DEFAULT;
}

const char *topics_default_tasmota(void)
{
    return TASMOTA_DEFAULT;
}

const char *topics_default_senml(void)
{
    return SENML_DEFAULT;
}

int topics_parse_reading(const char *topic, char *id, size_t cap)
{
    static const char pre[] = READINGS_PRE, suf[] = READINGS_SUF;
    size_t pl = sizeof pre - 1, sl = sizeof suf - 1;
    if (!topic || !id || cap == 0)
        return TOPICS_ERR_ARG;
    size_t tl = strlen(topic);
    if (tl <= pl + sl || strncmp(topic, pre, pl) != 0 || strcmp(topic + tl - sl, suf) != 0)
        return 1;
    size_t il = tl - pl - sl;
    if (il >= cap) {
        id[0] = '\0';
        return TOPICS_ERR_TOOLONG;
    }
    memcpy(id, topic + pl, il);
    id[il] = '\0';
    return 0;
}

static const char *after(const char *topic, const char *prefix)
{
    size_t pl = strlen(prefix);
    return topic && strncmp(topic, prefix, pl) == 0 ? topic + pl : NULL;
}

const char *topics_anomaly_sensor(const char *topic)
{
    return after(topic, ANOMALIES_PRE);
}

const char *topics_chain_logged_sensor(const char *topic)
{
    return after(topic, LOGGED_PRE);
}

/* One non-empty topic level: no '/', not "". */
static const char *one_level(const char *s)
{
    return s && s[0] && !strchr(s, '/') ? s : NULL;
}

/* {a}/{b}: two non-empty levels. */
static int two_levels(const char *s)
{
    const char *slash = s ? strchr(s, '/') : NULL;
    return slash && slash > s && slash[1] && !strchr(slash + 1, '/');
}

int topics_is_detector_alarm(const char *topic)
{
    return two_levels(after(topic, ALARM_PRE));
}

int topics_is_detector_feedback(const char *topic)
{
    return two_levels(after(topic, FEEDBACK_PRE));
}

int topics_is_detector_repeat(const char *topic)
{
    return two_levels(after(topic, REPEAT_PRE));
}

const char *topics_alarm_sensor(const char *topic)
{
    return one_level(after(topic, ALARMS_PRE));
}

const char *topics_alarm_event_sensor(const char *topic)
{
    return one_level(after(topic, ALARM_EVENTS_PRE));
}

static const char *const broker_stats[TOPICS_BROKER__COUNT] = {
    "$SYS/broker/publish/messages/dropped",
    "$SYS/broker/messages/received",
    "$SYS/broker/messages/sent",
    "$SYS/broker/store/messages/count",
    "$SYS/broker/store/messages/bytes",
    "$SYS/broker/clients/connected",
};

const char *const *topics_broker_stats(int *n)
{
    if (n)
        *n = TOPICS_BROKER__COUNT;
    return broker_stats;
}

int topics_broker_stat(const char *topic)
{
    if (!topic || strncmp(topic, "$SYS/", 5) != 0)
        return -1;
    for (int i = 0; i < TOPICS_BROKER__COUNT; i++)
        if (strcmp(topic, broker_stats[i]) == 0)
            return i;
    return -1;
}

int topics_is_status(const char *topic)
{
    return after(topic, STATUS_PRE) != NULL;
}

int topics_is_availability(const char *topic)
{
    const char *svc = after(topic, STATUS_PRE);
    const char *inst = svc ? strchr(svc, '/') : NULL;
    const char *suf = inst ? strchr(inst + 1, '/') : NULL;
    return suf && inst > svc && suf > inst + 1 && strcmp(suf, AVAIL_SUF) == 0;
}

const char *topics_strip_partition(const char *topic)
{
    const char *p = after(topic, PART_PRE);
    if (!p)
        p = after(topic, APART_PRE);
    if (!p || *p < '0' || *p > '9')
        return topic;
    while (*p >= '0' && *p <= '9')
        p++;
    return *p == '/' ? p + 1 : topic;
}

#define NOTIFY_HA_PRE "notify/ha/"
#define NOTIFY_TEST "notify/test"
#define NOTIFY_CHANNELS_PRE "notify/channels/"
#define HA_STATUS_SUF "/status"

int topics_ha_config(char *buf, size_t cap, const char *prefix, const char *component,
                     const char *node, const char *object_id)
{
    const char *p[] = {prefix, "/", component, "/", node, "/", object_id, "/config"};
    return join(buf, cap, p, 8);
}

int topics_notify_ha(char *buf, size_t cap, const char *sensor_id)
{
    const char *p[] = {NOTIFY_HA_PRE, sensor_id};
    return join(buf, cap, p, 2);
}

const char *topics_notify_test(void)
{
    return NOTIFY_TEST;
}

int topics_notify_channels(char *buf, size_t cap, const char *instance)
{
    const char *p[] = {NOTIFY_CHANNELS_PRE, instance};
    return join(buf, cap, p, 2);
}

const char *topics_filter_notify_channels(void)
{
    return NOTIFY_CHANNELS_PRE "+";
}

const char *topics_notify_channels_instance(const char *topic)
{
    const char *p = after(topic, NOTIFY_CHANNELS_PRE);
    return p && *p && !strchr(p, '/') ? p : NULL;
}

int topics_ha_status(char *buf, size_t cap, const char *prefix)
{
    const char *p[] = {prefix, HA_STATUS_SUF};
    return join(buf, cap, p, 2);
}

/* Who uses each topic. Keep in line with the services: the generated
 * table in docs/ARCHITECTURE.md is what a newcomer reads. */
static const topics_info table[] = {
    {READINGS_PRE "{sensor_id}" READINGS_SUF, "sensors, simulator, gateway (`POST /api/readings`)",
     "detector, gateway", "simulator `SIM_QOS` (0); gateway 1", 0,
     "native reading JSON (`bus/reading.h`)"},
    {Z2M_DEFAULT ", " TASMOTA_DEFAULT ", " SENML_DEFAULT,
     "devices (the default filters; the ingest mapping may change them and adds ESPHome's "
     "state topics)",
     "detector, gateway", "the device's", 0, "device formats (`ingest/`, docs/SENSORS.md)"},
    {PART_PRE "{k}/{device topic}", "NATS mapping of a reading topic (cluster mode)",
     "detector of partition k, gateway (`part/+/...`)", "as published", 0, "as the device topic"},
    {ANOMALIES_PRE "{sensor_id}", "detector", "chain logger, gateway", "1", 0,
     "anomaly JSON (`bus/anomaly.h`)"},
    {APART_PRE "{k}/" ANOMALIES_PRE "{sensor_id}", "NATS mapping of `anomalies/{sensor_id}`",
     "chain logger of partition k, gateway (`apart/+/anomalies/+`)", "1", 0,
     "anomaly JSON (`bus/anomaly.h`)"},
    {LOGGED_PRE "{sensor_id}", "chain logger",
     "gateway (an anomaly logged, or an alarm action's proof)", "1", 0,
     "confirmation JSON (`bus/chain_logged.h`)"},
    {STATUS_PRE "{service}/{instance}", "detector, chain logger", "gateway (`status/#`)", "0", 1,
     "service counters JSON (`bus/status.h`)"},
    {STATUS_PRE "{service}/{instance}" AVAIL_SUF,
     "every service: `online` after connecting, `offline` on a clean stop and as its MQTT last "
     "will (the broker's, on a crash)",
     "people and monitoring (the gateway skips it)", "1", 1, "`online` or `offline`"},
    {ALARM_PRE "{sensor_id}/{metric}", "detector, when a stream enters or leaves its alarm state",
     "gateway (alarm lifecycle), anyone who wants what is in alarm now", "1", 1,
     "`{\"sensor_id\", \"metric\", \"in_alarm\", \"ts\"}`"},
    {FEEDBACK_PRE "{sensor_id}/{metric}",
     "gateway, when a person marks an alarm of the stream a false positive",
     "detector (the stream learns to tolerate that kind)", "1", 0,
     "`{\"sensor_id\", \"metric\", \"kind\", \"verdict\", \"value\", \"score\", \"at\", \"by\"}` "
     "(`bus/alarm_feedback.h`)"},
    {REPEAT_PRE "{sensor_id}/{metric}",
     "detector: alerts folded into a burst of the stream (not published, not on chain), "
     "at most one summary per stream and kind a second",
     "gateway (adds them to the alarm's `count` and peak)", "1", 0,
     "`{\"sensor_id\", \"metric\", \"type\", \"count\", \"peak_value\", \"peak_score\", "
     "\"expected_low\", \"expected_high\", \"last_id\", \"ts\"}` (`bus/alert_repeat.h`)"},
    {ALARMS_PRE "{sensor_id}", "gateway, on every change of the sensor's alarms",
     "notifier, dashboards, anyone who wants the open alarms (`alarms/+`)", "1", 1,
     "the sensor's active alarms (`bus/alarm.h`)"},
    {ALARM_EVENTS_PRE "{sensor_id}",
     "gateway: opened, updated, acknowledged, muted, false_positive, cleared, reminder",
     "notifier (`alarms/events/+`), chain logger (all but updated and reminder go on chain)", "1",
     0, "alarm lifecycle event (`bus/alarm.h`)"},
    {"homeassistant/binary_sensor/{node}/{sensor}_anomaly/config", "notifier",
     "Home Assistant (MQTT discovery)", "1", 1, "discovery config (`notifier/nt_ha.c`)"},
    {"homeassistant/sensor/{node}/{sensor}_score/config", "notifier",
     "Home Assistant (MQTT discovery)", "1", 1, "discovery config (`notifier/nt_ha.c`)"},
    {NOTIFY_HA_PRE "{sensor_id}", "notifier, on every alarm change and anomaly of the sensor",
     "Home Assistant (the entities' state and attributes)", "1", 1,
     "`{\"sensor_id\", \"state\", \"score\", \"kind\", ...}` (`notifier/nt_ha.c`)"},
    {NOTIFY_TEST, "people, the gateway (`POST /api/notify/test`)", "notifier", "1", 0,
     "`{\"channel\": name}` or empty: send a test message (`bus/notify.h`)"},
    {NOTIFY_CHANNELS_PRE "{instance}",
     "notifier, when a delivery succeeds or fails (at most once a second) and with its status",
     "gateway (`GET /api/notify/channels`, the dashboard)", "1", 1,
     "per channel: counters, last delivery, last failure and its reason (`bus/notify.h`)"},
    {"homeassistant" HA_STATUS_SUF, "Home Assistant: `online` when it starts",
     "notifier (publishes its discovery configs again)", "as Home Assistant's", 0,
     "`online` or `offline`"},
    {"(each mqtt channel's `topic`)", "notifier", "your automations", "the channel's `qos`", 0,
     "the webhook body (docs/notifier.md)"},
    {"$SYS/broker/{publish/messages/dropped, messages/received, messages/sent, "
     "store/messages/count, store/messages/bytes, clients/connected}",
     "mosquitto (every `sys_interval`; NATS sends none)", "gateway (`iotad_broker_*` in /metrics)",
     "0", 1, "a decimal number"},
    {LABELS_PRE "{sensor_id}", "simulator", "evaluation (tests, bench)",
     "`SIM_QOS`, at least 1 with paho", 0, "ground truth of an injected anomaly"},
};

const topics_info *topics_table(size_t *n)
{
    if (n)
        *n = sizeof table / sizeof table[0];
    return table;
}

int topics_table_markdown(FILE *out)
{
    if (!out)
        return -1;
    int bad = fprintf(out, "| topic | published by | subscribed by | QoS | retained | payload |\n"
                           "|---|---|---|---|---|---|\n") < 0;
    for (size_t i = 0; i < sizeof table / sizeof table[0]; i++) {
        const topics_info *t = &table[i];
        bad |= fprintf(out, "| `%s` | %s | %s | %s | %s | %s |\n", t->pattern, t->publishers,
                       t->subscribers, t->qos, t->retained ? "yes" : "no", t->payload) < 0;
    }
    return bad || ferror(out) ? -1 : 0;
}
