/*
 * gw_alarms_api — see gw_alarms_api.h. The emit callback runs with the
 * gw_alarms lock held (one table per gateway), which is also what makes
 * its static encoding buffer safe; it only queues (MQTT publish, bus push).
 */
#include "gw_alarms_api.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "base/clock.h"
#include "base/log.h"
#include "bus/alarm_feedback.h"
#include "bus/topics.h"

#define PAGE_DEFAULT 100
#define PAGE_MAX 1000
#define DEFAULT_WHO "token"

static int64_t now_ms(void)
{
    return (int64_t)(clock_wall() * 1000);
}

static void publish(gw *g, const char *topic, const char *buf, int n, int retain)
{
    if (!g->mqtt || n < 0)
        return;
    if (mqtt_client_publish(g->mqtt, topic, buf, (size_t)n, 1, retain) != 0) {
        gw_metrics_err(&g->metrics, GW_ERR_PUBLISH);
        log_rate(31, 10, LOG_WARN, "publish_failed topic=%.80s", topic);
    }
}

void gw_alarms_api_emit(void *user, const alarm_event *ev, const alarm_obj *active, size_t n)
{
    gw *g = user;
    static char buf[ALARM_MAX_PAYLOAD]; /* under the gw_alarms lock */
    char topic[TOPICS_MAX];
    const char *sid = ev->alarm.sensor_id;
    int len = alarm_event_to_json(ev, buf, sizeof buf);
    if (len < 0) {
        log_rate(31, 10, LOG_ERROR, "alarm_encode_failed id=%s", ev->alarm.id);
        return;
    }
    if (topics_alarm_event(topic, sizeof topic, sid) >= 0)
        publish(g, topic, buf, len, 0);
    gw_msg *m = gw_msg_wrap(GW_KIND_ALARM, sid, buf, (size_t)len);
    if (m && gw_bus_push(g->bus, m) != 0)
        gw_metrics_err(&g->metrics, GW_ERR_BUS_OVERFLOW);
    log_info("alarm event=%s id=%s sensor_id=%s metric=%s kind=%s severity=%s count=%lld by=%s",
             alarm_event_name(ev->event), ev->alarm.id, sid, ev->alarm.metric, ev->alarm.kind,
             alarm_severity_name(ev->alarm.severity), (long long)ev->alarm.count,
             ev->by[0] ? ev->by : "-");
    len = alarm_sensor_to_json(sid, ev->at, active, n, buf, sizeof buf);
    if (topics_alarm(topic, sizeof topic, sid) >= 0)
        publish(g, topic, buf, len, 1);
}

int gw_alarms_api_create(gw *g)
{
    gw_alarms_options o = g->cfg->alarms;
    char path[4096];
    const char *dir = g->cfg->state_dir ? g->cfg->state_dir : "./state";
    o.max_alarms = (size_t)g->cfg->alarms_max;
    o.emit = gw_alarms_api_emit;
    o.emit_user = g;
    o.path = NULL;
    if (mkdir(dir, 0700) != 0 && errno != EEXIST)
        log_warn("alarms_not_persisted state_dir=%s errno=%d reason=\"%s\"", dir, errno, strerror(errno));
    else if (snprintf(path, sizeof path, "%s/alarms.json", dir) < (int)sizeof path)
        o.path = path;
    return gw_alarms_create(&g->alarms, &o);
}

int gw_alarms_api_match(const char *path)
{
    return path && strncmp(path, "/api/alarms", 11) == 0 && (path[11] == '\0' || path[11] == '/');
}

/* ---- answers ----------------------------------------------------------- */

static const char *qarg(const gw_request *rq, const char *name)
{
    for (int i = 0; i < rq->nargs; i++)
        if (strcmp(rq->args[i].name, name) == 0)
            return rq->args[i].value;
    return NULL;
}

static int parse_u64(const char *s, uint64_t *out)
{
    char *end;
    if (!s || !*s || *s == '-')
        return -1;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || *end)
        return -1;
    *out = v;
    return 0;
}

/* A time filter: absent or empty = 0 (unbounded), else 1..INT64_MAX ms. */
static int parse_ms(const char *s, int64_t *out)
{
    uint64_t u;
    *out = 0;
    if (!s || !*s)
        return 0;
    if (parse_u64(s, &u) != 0 || u == 0 || u > INT64_MAX)
        return -1;
    *out = (int64_t)u;
    return 0;
}

static void handle_list(gw *g, const gw_request *rq, gw_response *rs)
{
    gw_alarms_query q = {.state = -1, .severity = -1, .limit = PAGE_DEFAULT};
    const char *v = qarg(rq, "state");
    alarm_status st;
    alarm_severity sev;
    uint64_t u;
    if (v && strcmp(v, "all") != 0) {
        if (alarm_status_parse(v, &st) != 0)
            return gw_api_error_counted(g, rs, 400, "state", "state must be active, cleared or all");
        q.state = (int)st;
    }
    v = qarg(rq, "severity");
    if (v && *v) {
        if (alarm_severity_parse(v, &sev) != 0)
            return gw_api_error_counted(g, rs, 400, "severity",
                        "severity must be critical, major, minor or warning");
        q.severity = (int)sev;
    }
    v = qarg(rq, "sensor_id");
    if (v && *v) {
        if (!sensor_id_valid(v))
            return gw_api_error_counted(g, rs, 400, "sensor_id", "not a valid sensor id");
        q.sensor_id = v;
    }
    v = qarg(rq, "limit");
    if (v && (parse_u64(v, &u) != 0 || u < 1 || u > PAGE_MAX))
        return gw_api_error_counted(g, rs, 400, "limit", "limit must be 1..1000");
    if (v)
        q.limit = (size_t)u;
    v = qarg(rq, "cursor");
    if (v && *v && (parse_u64(v, &q.cursor) != 0 || q.cursor == 0))
        return gw_api_error_counted(g, rs, 400, "cursor", "cursor must be a next_cursor of a previous page");
    if (parse_ms(qarg(rq, "since"), &q.since) != 0)
        return gw_api_error_counted(g, rs, 400, "since", "since must be a time in Unix milliseconds");
    if (parse_ms(qarg(rq, "until"), &q.until) != 0)
        return gw_api_error_counted(g, rs, 400, "until", "until must be a time in Unix milliseconds");
    if (q.since && q.until && q.until <= q.since)
        return gw_api_error_counted(g, rs, 400, "until", "until must be after since");
    json_t *j = gw_alarms_list_json(g->alarms, &q);
    if (!j)
        return gw_api_error(rs, 500, "internal", "out of memory");
    gw_api_json(rs, 200, j);
}

static void handle_one(gw *g, const char *id, gw_response *rs)
{
    int found = 0;
    json_t *j = alarm_id_valid(id) ? gw_alarms_get_json(g->alarms, id, &found) : NULL;
    if (!j && found)
        return gw_api_error(rs, 500, "internal", "out of memory");
    if (!j)
        return gw_api_error_counted(g, rs, 404, "not_found", "no alarm with this id");
    gw_api_json(rs, 200, j);
}

/* The JSON body (may be empty: {}), and who acted. Returns the body (new
 * reference) or NULL after answering 400. */
static json_t *read_body(gw *g, const gw_request *rq, gw_response *rs, const char **who)
{
    json_error_t jerr;
    json_t *b = rq->body && rq->body_len
                    ? json_loadb(rq->body, rq->body_len, JSON_REJECT_DUPLICATES, &jerr)
                    : json_object();
    if (!json_is_object(b)) {
        json_decref(b);
        gw_api_error_counted(g, rs, 400, "json", "the body must be a JSON object (or empty)");
        return NULL;
    }
    json_t *by = json_object_get(b, "by");
    const char *q = qarg(rq, "by");
    *who = DEFAULT_WHO;
    if (by) {
        *who = json_string_value(by);
    } else if (q && *q) {
        *who = q;
    }
    if (!alarm_who_valid(*who)) {
        json_decref(b);
        gw_api_error_counted(g, rs, 400, "by", "by must be a name of 1..64 printable characters");
        return NULL;
    }
    return b;
}

static int get_minutes(const json_t *b, long *out)
{
    json_t *m = json_object_get(b, "minutes");
    if (!json_is_integer(m) || json_integer_value(m) < 0 || json_integer_value(m) > 525600)
        return -1;
    *out = (long)json_integer_value(m);
    return 0;
}

/* false_positive: tell the detector the stream's behaviour was normal. */
static void feedback(gw *g, const alarm_obj *x, const char *who, int64_t now)
{
    alarm_feedback f;
    char topic[TOPICS_MAX + READING_NAME_MAX], buf[1024];
    memset(&f, 0, sizeof f);
    snprintf(f.sensor_id, sizeof f.sensor_id, "%s", x->sensor_id);
    snprintf(f.metric, sizeof f.metric, "%s", x->metric);
    snprintf(f.kind, sizeof f.kind, "%s", x->kind);
    f.value = x->peak_value;
    f.score = x->peak_score;
    f.at = now;
    snprintf(f.by, sizeof f.by, "%s", who);
    int n = alarm_feedback_to_json(&f, buf, sizeof buf);
    if (n > 0 && topics_detector_feedback(topic, sizeof topic, x->sensor_id, x->metric) >= 0)
        publish(g, topic, buf, n, 0);
}

static void handle_action(gw *g, const gw_request *rq, const char *id, const char *verb,
                          gw_response *rs)
{
    static const struct {
        const char *verb;
        gw_alarm_action act;
    } verbs[] = {{"ack", GW_ALARM_ACK},
                 {"clear", GW_ALARM_CLEAR},
                 {"mute", GW_ALARM_MUTE},
                 {"false_positive", GW_ALARM_FALSE_POSITIVE}};
    const char *who;
    long minutes = 0;
    int act = -1;
    for (size_t i = 0; i < sizeof verbs / sizeof verbs[0]; i++)
        if (strcmp(verb, verbs[i].verb) == 0)
            act = (int)verbs[i].act;
    if (act < 0)
        return gw_api_error_counted(g, rs, 404, "not_found", "actions are ack, clear, mute, false_positive");
    json_t *b = read_body(g, rq, rs, &who);
    if (!b)
        return;
    json_t *note = json_object_get(b, "note");
    if (act == GW_ALARM_MUTE && get_minutes(b, &minutes) != 0) {
        gw_api_error_counted(g, rs, 400, "minutes", "minutes must be an integer 0..525600 (0 lifts the mute)");
        goto out;
    }
    if (note && !json_is_string(note)) {
        gw_api_error_counted(g, rs, 400, "note", "note must be a string");
        goto out;
    }
    alarm_obj x;
    int64_t now = now_ms();
    int rc = alarm_id_valid(id) ? gw_alarms_act(g->alarms, id, (gw_alarm_action)act, who,
                                                json_string_value(note), minutes, now, &x)
                                : GW_ALARMS_ERR_NOT_FOUND;
    if (rc == GW_ALARMS_ERR_NOT_FOUND) {
        gw_api_error_counted(g, rs, 404, "not_found", "no alarm with this id");
        goto out;
    }
    if (rc != 0) {
        gw_api_error_counted(g, rs, 400, "invalid", "invalid action arguments");
        goto out;
    }
    if (act == GW_ALARM_FALSE_POSITIVE)
        feedback(g, &x, who, now);
    gw_api_json(rs, 200, json_pack("{s:o}", "alarm", alarm_to_jobj(&x)));
out:
    json_decref(b);
}

static void handle_mute_scope(gw *g, const gw_request *rq, gw_response *rs)
{
    const char *who;
    long minutes;
    json_t *b = read_body(g, rq, rs, &who);
    if (!b)
        return;
    const char *sid = json_string_value(json_object_get(b, "sensor_id"));
    json_t *metric = json_object_get(b, "metric");
    const char *m = json_string_value(metric);
    if (!sid || !sensor_id_valid(sid)) {
        gw_api_error_counted(g, rs, 400, "sensor_id", "sensor_id is required: a valid sensor id");
        goto out;
    }
    if ((metric && !json_is_null(metric) && !m) || (m && strlen(m) >= READING_NAME_MAX)) {
        gw_api_error_counted(g, rs, 400, "metric", "metric must be null or a metric name");
        goto out;
    }
    if (get_minutes(b, &minutes) != 0) {
        gw_api_error_counted(g, rs, 400, "minutes", "minutes must be an integer 0..525600 (0 lifts the mute)");
        goto out;
    }
    int64_t now = now_ms();
    int n = gw_alarms_mute_scope(g->alarms, sid, m, minutes, who, now);
    if (n == GW_ALARMS_ERR_FULL) {
        gw_api_error(rs, 503, "full", "too many mutes in force");
        goto out;
    }
    if (n < 0) {
        gw_api_error_counted(g, rs, 400, "invalid", "invalid mute");
        goto out;
    }
    log_info("alarm_mute sensor_id=%s metric=%s minutes=%ld by=%s muted=%d", sid, m ? m : "*",
             minutes, who, n);
    gw_api_json(rs, 200,
           json_pack("{s:i, s:s, s:o, s:o}", "muted", n, "sensor_id", sid, "metric",
                     m ? json_string(m) : json_null(), "until",
                     minutes ? json_integer((json_int_t)(now + minutes * 60000)) : json_null()));
out:
    json_decref(b);
}

void gw_alarms_api_handle(gw *g, const gw_request *rq, gw_response *rs)
{
    const char *p = rq->path + 11; /* after /api/alarms */
    if (!g->alarms)
        return gw_api_error(rs, 503, "unavailable", "alarms are not enabled");
    if (*p == '/')
        p++;
    char id[ALARM_ID_MAX + 1];
    const char *slash = strchr(p, '/');
    size_t il = slash ? (size_t)(slash - p) : strlen(p);
    if (il >= sizeof id)
        return gw_api_error_counted(g, rs, 404, "not_found", "no alarm with this id");
    memcpy(id, p, il);
    id[il] = '\0';

    if (rq->method == GW_M_POST) {
        if (!gw_api_authorized(g, rq->authorization))
            return gw_api_unauthorized(g, rs);
        if (!slash && strcmp(id, "mute") == 0)
            return handle_mute_scope(g, rq, rs);
        if (!slash || il == 0 || strchr(slash + 1, '/'))
            return gw_api_error_counted(g, rs, 404, "not_found", "POST /api/alarms/{id}/{action}");
        return handle_action(g, rq, id, slash + 1, rs);
    }
    if (rq->method != GW_M_GET && rq->method != GW_M_HEAD)
        return gw_api_error(rs, 405, "method", "method not allowed");
    if (il == 0 && !slash)
        return handle_list(g, rq, rs);
    if (slash)
        return gw_api_error_counted(g, rs, 404, "not_found", "no such endpoint");
    handle_one(g, id, rs);
}
