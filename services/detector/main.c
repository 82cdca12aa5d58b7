/*
 * detector — scores every sensor reading with a streaming Isolation Forest
 * and publishes anomalies.
 *
 *   detector [run]                   live: MQTT readings in, anomalies out
 *   detector replay FILE.csv [--nab] the same engine over a CSV (stdout)
 *   detector train FILE.csv --out DIR  learn from history, save models to DIR
 *
 * Live: subscribes to ingest_topics() (or, with --partition K --partitions
 * N, each of them under part/K/, where the cluster's NATS mappings deliver
 * partition K's devices: part/K/sensors/+/readings, part/K/tele/+/SENSOR,
 * ...) at QoS 1, strips the prefix, decodes with ingest_decode,
 * scores with det_engine, publishes each anomaly as JSON on
 * anomalies/{sensor_id} at QoS 1, and each stream's alarm state, when it
 * changes, retained on detector/alarm/{sensor_id}/{metric}. Models and sensor states are saved to
 * $STATE_DIR/models every SAVE_INTERVAL seconds and on exit, and loaded at
 * start, so a restarted detector resumes without a new warm-up.
 *
 * Intake (det_intake.h): for QoS 0 readings paho's thread only copies each
 * message into a ring; one scoring thread decodes, scores and publishes in
 * batches, so receiving and scoring overlap. QoS 1 readings are scored on
 * paho's thread before their acknowledgement, as before
 * (DETECTOR_INTAKE_BYTES=0: everything that way).
 *
 * Several detectors on one broker: DETECTOR_SHARDS=N, DETECTOR_SHARD=K
 * (0..N-1); each subscribes to everything and scores only the sensors
 * whose id hashes (FNV-1a) to K, so each sensor's state lives in exactly
 * one process (docs/SCALING.md).
 */
#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "base/clock.h"
#include "base/config.h"
#include "base/fnv1a.h"
#include "base/log.h"
#include "bus/alarm_feedback.h"
#include "bus/alarm_state.h"
#include "bus/alert_repeat.h"
#include "bus/anomaly.h"
#include "bus/mqtt.h"
#include "bus/reading.h"
#include "bus/status.h"
#include "bus/topics.h"
#include "det_engine.h"
#include "det_feedback.h"
#include "det_intake.h"
#include "det_repeat.h"
#include "det_replay.h"
#include "det_silent.h"
#include "ingest/ingest.h"

/* Thresholds from the ingest mapping file (docs/SENSORS.md: "threshold" per
 * sensor, or its "profile" looked up as "profile:NAME" in THRESHOLDS_FILE)
 * win over THRESHOLDS_FILE's id prefixes and THRESHOLD. Set once the run command
 * has created its ingest context; read from the scoring thread. */
static ingest *mapping_ig;

static double mapping_threshold(void *ctx, const char *sensor_id)
{
    const det_config *cfg = ctx;
    ingest_sensor_info info;
    char key[SENSOR_ID_MAX];
    if (!mapping_ig || !ingest_sensor_profile(mapping_ig, sensor_id, &info))
        return NAN;
    if (info.threshold > 0 && info.threshold < 1)
        return info.threshold;
    /* A profile named in the mapping takes THRESHOLDS_FILE's "profile:NAME". */
    if (info.profile && snprintf(key, sizeof key, "profile:%s", info.profile) < (int)sizeof key)
        for (int k = 0; k < cfg->noverrides; k++)
            if (strcmp(cfg->overrides[k].prefix, key) == 0)
                return cfg->overrides[k].threshold;
    return NAN;
}

static const char *mqtt_url, *mqtt_user, *mqtt_pass, *mqtt_ca, *state_dir, *log_level;
static const char *thresholds_file, *metric_units, *ingest_map, *client_id, *windows_file,
    *windows_key;
static const char *out_dir, *sensor_id_opt;
static long warmup, trees, psi, seed, lags, retrain_every, save_interval, stats_interval;
static double status_interval;
static long partition, partitions, shape_window, shape_history, shape_gap, shape_every;
static long max_sensors, max_metrics, metric_min_readings;
static long intake_bytes, intake_wait_ms, shard, shards;
static double threshold, z_min, shape_z, shape_confirm, shape_calm_z, burst_k, displace_sd, recent_s, spread_hold_z;
static long burst_n;
static int nab, shape, multi;
static double silent_factor, silent_min_s, stuck_factor, stuck_min_s, feedback_margin;

static const config_option opts[] = {
    MQTT_CONFIG_ROWS(&mqtt_url, &mqtt_user, &mqtt_pass, &mqtt_ca),
    {"client-id", "DETECTOR_CLIENT_ID", CONFIG_STR, NULL,
     "MQTT client id (default detector or detector-pK)", &client_id},
    {"state-dir", "STATE_DIR", CONFIG_STR, "./state", "models are kept in STATE_DIR/models",
     &state_dir},
    LOG_CONFIG_ROW(&log_level),
    {"ingest-mapping", "INGEST_MAPPING", CONFIG_STR, NULL, "ingest mapping file (device formats)",
     &ingest_map},
    {"warmup", "WARMUP", CONFIG_INT, "300", "readings learned before a sensor is scored", &warmup},
    {"trees", "IF_TREES", CONFIG_INT, "100", "trees per forest", &trees},
    {"psi", "IF_PSI", CONFIG_INT, "256", "subsample size per tree", &psi},
    {"seed", "IF_SEED", CONFIG_INT, "1", "training seed (same seed, same models)", &seed},
    {"lags", "FEATURE_LAGS", CONFIG_INT, "3", "lagged deltas in the feature vector (1..6)", &lags},
    {"retrain-every", "RETRAIN_EVERY", CONFIG_INT, "20000",
     "normal readings per metric between retrainings", &retrain_every},
    {"threshold", "THRESHOLD", CONFIG_DBL, "0.55", "forest score threshold (0..1)", &threshold},
    {"z-min", "Z_MIN", CONFIG_DBL, "6", "minimum deviation, in the sensor's own spreads", &z_min},
    {"thresholds-file", "THRESHOLDS_FILE", CONFIG_STR, NULL,
     "JSON per-sensor/profile thresholds {\"default\":..,\"sensors\":{\"id-or-prefix\":..}}",
     &thresholds_file},
    {"metric-units", "METRIC_UNITS", CONFIG_STR, NULL,
     "declared units, metric=unit,...: only these bring physical limits (degC, %RH, hPa) and "
     "a unit in explanations; none is guessed from a metric's name",
     &metric_units},
    {"shape", "SHAPE_DETECT", CONFIG_BOOL, "1",
     "also alert on runs of readings shaped like nothing seen before (~3.8 KB per stream at "
     "the defaults); 0 turns it off except for the THRESHOLDS_FILE \"shape\" list",
     &shape},
    {"multi", "MULTI_DETECT", CONFIG_BOOL, "0",
     "experimental: also judge the metrics of a sensor together (MEWMA Hotelling T2 of their "
     "residuals, 2-8 metrics): in alarm, and one alert, when they leave their usual relation",
     &multi},
    {"shape-window", "SHAPE_WINDOW", CONFIG_INT, "16", "shape: readings per run compared",
     &shape_window},
    {"shape-history", "SHAPE_HISTORY", CONFIG_INT, "1500",
     "shape: earlier readings searched for a similar run", &shape_history},
    {"shape-every", "SHAPE_EVERY", CONFIG_INT, "4",
     "shape: search for new shapes every this many readings (1..window)", &shape_every},
    {"shape-z", "SHAPE_Z", CONFIG_DBL, "4.5",
     "shape: alert when the distance to the nearest run is this many sds above usual", &shape_z},
    {"shape-confirm-z", "SHAPE_CONFIRM_Z", CONFIG_DBL, "3",
     "shape: the forest's alerts need a run at least this unusual (sds); lower = more alerts",
     &shape_confirm},
    {"shape-gap", "SHAPE_GAP", CONFIG_INT, "300", "shape: readings between two shape alerts",
     &shape_gap},
    {"shape-calm-z", "SHAPE_CALM_Z", CONFIG_DBL, "8",
     "shape: on a reading that is otherwise calm, a new shape alerts only at this z or more",
     &shape_calm_z},
    {"burst-readings", "BURST_READINGS", CONFIG_INT, "600",
     "a stream's recent alerts are counted over about this many readings (0: never fold)",
     &burst_n},
    {"burst-alerts", "BURST_ALERTS", CONFIG_DBL, "4",
     "after about this many alerts within BURST_READINGS, a stream's further alerts are "
     "folded into one disturbance (in alarm, not published) until it quiets down",
     &burst_k},
    {"recent-min-s", "RECENT_MIN_S", CONFIG_DBL, "300",
     "a stream's recent mean (its expectation before a daily profile exists) covers at least "
     "60 readings and at least this many seconds of them",
     &recent_s},
    {"spread-hold-z", "SPREAD_HOLD_Z", CONFIG_DBL, "3",
     "a stream's residual spread is not learned while its short shift is at least this many "
     "sds and the value is outside the range seen (0: always learned)",
     &spread_hold_z},
    {"displace-sd", "DISPLACE_SD", CONFIG_DBL, "1.5",
     "after an alert, a stream stays in alarm while its short average is more than this many "
     "of its sds from the level it left (0: off)",
     &displace_sd},
    {"max-sensors", "DETECTOR_MAX_SENSORS", CONFIG_INT, "100000",
     "sensors kept (~4.6 KB per metric each); a new one beyond evicts the least recently seen",
     &max_sensors},
    {"max-metrics", "DETECTOR_MAX_METRICS", CONFIG_INT, "16",
     "metrics kept per sensor (8..32); a new one beyond evicts the sensor's least recently seen",
     &max_metrics},
    {"metric-min-readings", "DETECTOR_METRIC_MIN_READINGS", CONFIG_INT, "50",
     "readings a new metric name needs before it gets a model slot, once half of the 32 are used",
     &metric_min_readings},
    {"save-interval", "SAVE_INTERVAL", CONFIG_INT, "30", "seconds between model saves",
     &save_interval},
    {"status-interval", "STATUS_INTERVAL", CONFIG_DBL, "5",
     "seconds between status reports (retained, status/detector/<client id>); 0 = none",
     &status_interval},
    {"stats-interval", "STATS_INTERVAL", CONFIG_INT, "60", "seconds between stats log lines",
     &stats_interval},
    {"silent-factor", "SILENT_FACTOR", CONFIG_DBL, "5",
     "a sensor is silent after this many usual intervals without a reading", &silent_factor},
    {"silent-min-s", "SILENT_MIN_S", CONFIG_DBL, "300", "... and at least this many seconds",
     &silent_min_s},
    {"stuck-factor", "STUCK_FACTOR", CONFIG_DBL, "20",
     "a stream is stuck after this many of its longest usual steady runs on one value (0 = off)",
     &stuck_factor},
    {"stuck-min-s", "STUCK_MIN_S", CONFIG_DBL, "3600", "... and at least this many seconds",
     &stuck_min_s},
    {"feedback-margin", "FEEDBACK_MARGIN", CONFIG_DBL, "0.05",
     "a false_positive verdict raises the stream's threshold for that kind to the alarm's "
     "score plus this",
     &feedback_margin},
    {"partition", "DETECTOR_PARTITION", CONFIG_INT, "-1",
     "serve only partition K (part/K/ + the ingest topics)", &partition},
    {"partitions", "DETECTOR_PARTITIONS", CONFIG_INT, "0", "number of partitions (0 = off)",
     &partitions},
    {"shard", "DETECTOR_SHARD", CONFIG_INT, "-1",
     "with DETECTOR_SHARDS=N: score only the sensors whose id hashes to K (0..N-1); "
     "N detectors on one broker, each sensor in exactly one",
     &shard},
    {"shards", "DETECTOR_SHARDS", CONFIG_INT, "0",
     "detector processes sharing the sensors (0 = off)", &shards},
    {"intake-bytes", "DETECTOR_INTAKE_BYTES", CONFIG_INT, "16777216",
     "intake ring between the MQTT thread and the scoring thread, bytes (0 = score on the "
     "MQTT thread)",
     &intake_bytes},
    {"intake-wait-ms", "DETECTOR_INTAKE_WAIT_MS", CONFIG_INT, "5000",
     "how long a message waits for room in a full intake ring before it is dropped (counted)",
     &intake_wait_ms},
    {"nab", NULL, CONFIG_BOOL, "0", "replay: write NAB results format", &nab},
    {"windows", NULL, CONFIG_STR, NULL, "replay --nab: NAB windows.json for the label column",
     &windows_file},
    {"windows-key", NULL, CONFIG_STR, NULL, "replay --nab: key in windows.json", &windows_key},
    {"sensor-id", NULL, CONFIG_STR, "replay", "replay/train: sensor id of the CSV's readings",
     &sensor_id_opt},
    {"out", NULL, CONFIG_STR, NULL, "train: directory to save models to", &out_dir},
};
#define NOPTS (sizeof(opts) / sizeof(opts[0]))

/* ---- live service ------------------------------------------------------- */

typedef struct {
    pthread_mutex_t lock; /* guards engine, gaps and counters */
    det_engine *engine;
    ingest *ig;
    mqtt_client *mqtt;
    det_intake *intake; /* NULL: scored on the MQTT thread */
    det_gaps *gaps;     /* per-sensor sequence gaps (readings_missed) */
    int inline_now;     /* stopping: score on the MQTT thread again (atomic) */
    int prefix_len;     /* bytes of "part/K/" to strip from topics */
    uint64_t bad[9];
    uint64_t published, publish_failed, other_shard;
    det_silent *silent;     /* silent sensors, stuck streams (det_silent.h) */
    det_feedback *feedback; /* people's false_positive verdicts (det_feedback.h) */
    uint64_t suppressed;    /* alerts not published: tolerated after feedback */
    uint64_t feedback_in, feedback_bad;
    det_repeat *repeats;        /* folded alerts since the last summary (det_repeat.h) */
    uint64_t repeats_published; /* summaries on detector/repeat/... */
    uint64_t repeats_dropped;   /* folded alerts not counted: the table was full */
} service;

static volatile sig_atomic_t stop_flag;

static void on_signal(int sig)
{
    (void)sig;
    stop_flag = 1;
}

/* Publish a stream's alarm state when it changed: retained, QoS 1, so a
 * subscriber that arrives later learns at once which streams are in an
 * anomalous state now. {"sensor_id","metric","in_alarm","ts"}. */
static void publish_state(service *sv, const char *sensor_id, const char *metric, int in_alarm,
                          double ts)
{
    char tp[TOPICS_MAX + READING_NAME_MAX], buf[ALARM_STATE_MAX_PAYLOAD];
    alarm_state st = {.in_alarm = in_alarm, .ts = ts};
    size_t il = strnlen(sensor_id, sizeof(st.sensor_id)), ml = strnlen(metric, sizeof(st.metric));
    int n = -1;
    if (il < sizeof(st.sensor_id) && ml < sizeof(st.metric)) {
        memcpy(st.sensor_id, sensor_id, il + 1);
        memcpy(st.metric, metric, ml + 1);
        n = alarm_state_to_json(&st, buf, sizeof(buf));
    }
    if (n < 0 || topics_detector_alarm(tp, sizeof(tp), sensor_id, metric) < 0 ||
        mqtt_client_publish(sv->mqtt, tp, buf, (size_t)n, 1, 1) != 0) {
        sv->publish_failed++;
        log_rate(13, 10.0, LOG_ERROR, "publish_failed kind=alarm_state sensor=%s metric=%s",
                 sensor_id, metric);
    } else {
        sv->published++;
    }
}

static void publish_alarm(service *sv, const reading *r, const det_result *res)
{
    publish_state(sv, r->sensor_id, res->metric, res->in_alarm, r->ts);
}

static void publish_anomaly(service *sv, const anomaly *a);

/* Summaries published by one flush, added to the service's counters
 * under its lock afterwards. */
typedef struct {
    service *sv;
    uint64_t published, failed;
} repeat_flush;

/* One summary of a stream's folded alerts on detector/repeat/{sensor}/{metric}
 * (QoS 1, not retained; bus/alert_repeat.h). Called WITHOUT sv->lock:
 * paho holds its own mutex while it delivers a QoS 1 reading to
 * on_message, which takes sv->lock, so publishing under sv->lock from
 * another thread deadlocks (seen in faults.sh). */
static void publish_repeat(void *user, const alert_repeat *r)
{
    repeat_flush *f = user;
    char tp[TOPICS_MAX + READING_NAME_MAX], buf[ALERT_REPEAT_MAX_PAYLOAD];
    int n = alert_repeat_to_json(r, buf, sizeof buf);
    if (n < 0 || topics_detector_repeat(tp, sizeof tp, r->sensor_id, r->metric) < 0 ||
        mqtt_client_publish(f->sv->mqtt, tp, buf, (size_t)n, 1, 0) != 0) {
        f->failed++;
        log_rate(40, 10.0, LOG_ERROR, "publish_failed kind=repeat sensor=%s metric=%s count=%u",
                 r->sensor_id, r->metric, (unsigned)r->count);
        return;
    }
    f->published++;
}

/* Publish what was folded since the last call: the table is swapped with
 * the empty spare under the lock and published after it (main thread). */
static void flush_repeats(service *sv, det_repeat *spare)
{
    repeat_flush f = {.sv = sv};
    pthread_mutex_lock(&sv->lock);
    det_repeat_swap(sv->repeats, spare);
    pthread_mutex_unlock(&sv->lock);
    det_repeat_flush(spare, publish_repeat, &f);
    pthread_mutex_lock(&sv->lock);
    sv->repeats_published += f.published;
    sv->publish_failed += f.failed;
    pthread_mutex_unlock(&sv->lock);
}

/* The engine's fold hook (scoring thread, sv->lock held): sum the alert.
 * Nothing is published here (see publish_repeat); a table full within one
 * second (4096 streams and types folding at once) drops the alert from
 * the count, counted in repeats_dropped. */
static void on_folded(void *user, const anomaly *a)
{
    service *sv = user;
    if (det_repeat_add(sv->repeats, a) != 0)
        sv->repeats_dropped++;
}

/* det_silent's state changes: the retained state always, and an anomaly
 * when a silence or a stuck run starts. */
static void publish_silent(service *sv, const det_silent_event *ev, int n, double now)
{
    for (int i = 0; i < n; i++) {
        publish_state(sv, ev[i].sensor_id, ev[i].metric, ev[i].in_alarm, now);
        log_info("%s sensor=%s metric=%s in_alarm=%d msg=\"%s\"",
                 ev[i].kind == DET_SILENT_KIND_SILENT ? "silent" : "stuck", ev[i].sensor_id,
                 ev[i].metric, ev[i].in_alarm, ev[i].explanation);
        if (ev[i].in_alarm) {
            anomaly a;
            det_silent_to_anomaly(&ev[i], now, &a);
            publish_anomaly(sv, &a);
        }
    }
}

/* detector/feedback/{sensor}/{metric}: a person's false_positive. */
static void on_feedback(service *sv, const char *topic, const void *payload, size_t len)
{
    alarm_feedback fb;
    char err[160], want[TOPICS_MAX + READING_NAME_MAX];
    int rc = alarm_feedback_from_json(payload, len, &fb, err, sizeof(err));
    if (rc == 0 && (topics_detector_feedback(want, sizeof(want), fb.sensor_id, fb.metric) < 0 ||
                    strcmp(want, topic) != 0)) {
        snprintf(err, sizeof(err), "sensor_id/metric do not match the topic");
        rc = -1;
    }
    pthread_mutex_lock(&sv->lock);
    double th = -1;
    if (rc == 0) {
        sv->feedback_in++;
        /* silent/stuck are det_silent's, the other kinds the engine's */
        if (strcmp(fb.kind, "silent") == 0 || strcmp(fb.kind, "stuck") == 0)
            det_silent_tolerate(sv->silent, fb.sensor_id, fb.metric,
                                strcmp(fb.kind, "silent") == 0 ? DET_SILENT_KIND_SILENT
                                                               : DET_SILENT_KIND_STUCK);
        else
            th = det_feedback_add(sv->feedback, &fb);
    } else {
        sv->feedback_bad++;
    }
    pthread_mutex_unlock(&sv->lock);
    if (rc != 0)
        log_rate(14, 10.0, LOG_WARN, "feedback_invalid topic=%.80s reason=\"%s\"", topic, err);
    else
        log_info("feedback sensor=%s metric=%s kind=%s verdict=false_positive score=%.3f by=%s "
                 "effect=\"%s\" threshold=%.3f",
                 fb.sensor_id, fb.metric, fb.kind, fb.score, fb.by[0] ? fb.by : "-",
                 th > 0 ? "kind threshold raised" : "silence/stuck rule loosened", th);
}

/* Decode, score and publish one message. The caller holds sv->lock. */
static void score_message(service *sv, const char *topic, const void *payload, size_t len)
{
    reading rs[16];
    anomaly alerts[32];
    det_silent_event sev[READING_MAX_METRICS + 1];
    char err[160];
    const char *t = topic;
    if (sv->prefix_len > 0 && strlen(topic) > (size_t)sv->prefix_len)
        t = topic + sv->prefix_len;
    int n = ingest_decode(sv->ig, t, payload, len, clock_wall(), rs, 16, err, sizeof(err));
    if (n < 0) {
        int kind = -n < 9 ? -n : 0;
        sv->bad[kind]++;
        log_rate(kind, 10.0, LOG_WARN, "bad_reading topic=%s kind=%s reason=\"%s\"", topic,
                 reading_strerror(n), err);
        return; /* bad input is dropped, never redelivered */
    }
    for (int i = 0; i < n; i++) {
        /* NATS's MQTT closes the connection of a client publishing to a
         * topic with '.' (its subject separator): in cluster mode an
         * anomaly on anomalies/{id} of such a sensor would stall the
         * detector, so the sensor is refused (rename it in the mapping). */
        if (sv->prefix_len > 0 && strchr(rs[i].sensor_id, '.')) {
            sv->bad[-READING_ERR_SENSOR]++;
            log_rate(12, 10.0, LOG_WARN,
                     "bad_reading topic=%s kind=%s sensor=%s reason=\"'.' in a sensor id is "
                     "not allowed in cluster mode (rename it in the mapping's sensors[])\"",
                     topic, reading_strerror(READING_ERR_SENSOR), rs[i].sensor_id);
            continue;
        }
        /* Several detectors on one broker: each keeps the sensors whose
         * id hashes to its shard, so a sensor's state lives in one. */
        if (shards > 0 && fnv1a_str(rs[i].sensor_id) % (uint64_t)shards != (uint64_t)shard) {
            sv->other_shard++;
            continue;
        }
        if (sv->gaps)
            det_gaps_note(sv->gaps, rs[i].sensor_id, rs[i].ts);
        det_result res[READING_MAX_METRICS];
        double now = clock_wall();
        int na = det_engine_process(sv->engine, &rs[i], res, alerts, 32);
        int ns = det_silent_seen(sv->silent, &rs[i], now, sev, READING_MAX_METRICS + 1);
        for (int a = 0; a < na; a++)
            if (det_feedback_suppress(sv->feedback, &alerts[a])) {
                sv->suppressed++;
                log_info("anomaly_tolerated sensor=%s metric=%s type=%s score=%.3f "
                         "reason=false_positive_feedback",
                         alerts[a].sensor_id, alerts[a].metric, anomaly_type_name(alerts[a].type),
                         alerts[a].score);
                alerts[a--] = alerts[--na];
            }
        publish_silent(sv, sev, ns, now);
        if (na < 0) {
            log_rate(10, 10.0, LOG_ERROR, "sensor_dropped sensor=%s reason=out_of_memory",
                     rs[i].sensor_id);
            continue;
        }
        for (int k = 0; na >= 0 && k < rs[i].n; k++)
            if (res[k].alarm_changed)
                publish_alarm(sv, &rs[i], &res[k]);
        for (int a = 0; a < na; a++)
            publish_anomaly(sv, &alerts[a]);
    }
}

/* The intake's callbacks (scoring thread): one lock per batch. */
static void intake_batch(void *user, int begin)
{
    service *sv = user;
    if (begin)
        pthread_mutex_lock(&sv->lock);
    else
        pthread_mutex_unlock(&sv->lock);
}

static void intake_message(void *user, const char *topic, const void *payload, size_t len)
{
    score_message(user, topic, payload, len);
}

/* MQTT callback. QoS 0 readings (nothing is acknowledged) go into the
 * intake ring and are scored on the scoring thread. QoS 1 ones are scored
 * here, on paho's thread, before the acknowledgement, after whatever the
 * ring still holds (a sensor's readings stay in order), so their PUBACK
 * still means "scored": a kill -9 loses none. So are all messages with no
 * ring, or while stopping. */
static int on_message(void *user, const char *topic, const void *payload, size_t len, int qos)
{
    service *sv = user;
    if (topics_is_detector_feedback(topic)) { /* takes the lock itself */
        on_feedback(sv, topic, payload, len);
        return 1;
    }
    if (sv->intake && qos > 0)
        det_intake_drain(sv->intake, 60000);
    if (sv->intake && qos == 0 && !__atomic_load_n(&sv->inline_now, __ATOMIC_ACQUIRE)) {
        if (det_intake_push(sv->intake, topic, payload, len) != 0)
            log_rate(14, 10.0, LOG_ERROR,
                     "intake_dropped topic=%s reason=\"ring full for %ld ms "
                     "or message too large\"",
                     topic, intake_wait_ms);
        return 1;
    }
    pthread_mutex_lock(&sv->lock);
    score_message(sv, topic, payload, len);
    pthread_mutex_unlock(&sv->lock);
    return 1;
}

static void publish_anomaly(service *sv, const anomaly *al)
{
    char buf[2048], tp[SENSOR_ID_MAX + 16];
    int blen = anomaly_to_json(al, buf, sizeof(buf));
    if (blen < 0 || topics_anomaly(tp, sizeof(tp), al->sensor_id) < 0 ||
        mqtt_client_publish(sv->mqtt, tp, buf, (size_t)blen, 1, 0) != 0) {
        sv->publish_failed++;
        log_rate(11, 10.0, LOG_ERROR, "publish_failed topic=%s id=%s", tp, al->id);
        return;
    }
    sv->published++;
    log_info("anomaly sensor=%s metric=%s type=%s score=%.3f value=%g model_version=%ld "
             "id=%.16s",
             al->sensor_id, al->metric, anomaly_type_name(al->type), al->score, al->value,
             al->model_version, al->id);
}

static void log_stats(service *sv)
{
    det_stats st;
    det_intake_stats is = {0};
    uint64_t bad = 0, missed;
    if (sv->intake)
        det_intake_stats_get(sv->intake, &is);
    pthread_mutex_lock(&sv->lock);
    det_engine_stats(sv->engine, &st);
    for (int k = 0; k < 9; k++)
        bad += sv->bad[k];
    missed = sv->gaps ? det_gaps_total(sv->gaps) : 0;
    pthread_mutex_unlock(&sv->lock);
    log_info("stats readings=%llu scored=%llu anomalies=%llu point=%llu contextual=%llu "
             "change_point=%llu folded=%llu sensors=%llu streams=%llu trainings=%llu bad=%llu "
             "published=%llu publish_failed=%llu other_shard=%llu intake_depth=%zu "
             "intake_dropped=%llu missed=%llu",
             (unsigned long long)st.readings, (unsigned long long)st.scored,
             (unsigned long long)st.anomalies, (unsigned long long)st.by_type[0],
             (unsigned long long)st.by_type[1], (unsigned long long)st.by_type[2],
             (unsigned long long)st.folded,
             (unsigned long long)st.sensors, (unsigned long long)st.streams,
             (unsigned long long)st.trainings, (unsigned long long)bad,
             (unsigned long long)sv->published, (unsigned long long)sv->publish_failed,
             (unsigned long long)sv->other_shard, is.depth, (unsigned long long)is.dropped,
             (unsigned long long)missed);
}

/* The counters as a status report (common/bus/status.h) for the gateway's /metrics. */
static int status_fill(void *user, json_t *m)
{
    service *sv = user;
    det_stats st;
    det_intake_stats is = {0};
    uint64_t bad[9], missed, other;
    if (sv->intake)
        det_intake_stats_get(sv->intake, &is);
    pthread_mutex_lock(&sv->lock);
    det_engine_stats(sv->engine, &st);
    memcpy(bad, sv->bad, sizeof bad);
    missed = sv->gaps ? det_gaps_total(sv->gaps) : 0;
    other = sv->other_shard;
    pthread_mutex_unlock(&sv->lock);
    int rc = status_add(m, "readings_total", 0, NULL, NULL, (double)st.readings) |
             status_add(m, "scored_total", 0, NULL, NULL, (double)st.scored) |
             status_add(m, "published_total", 0, NULL, NULL, (double)sv->published) |
             status_add(m, "publish_failed_total", 0, NULL, NULL, (double)sv->publish_failed) |
             status_add(m, "trainings_total", 0, NULL, NULL, (double)st.trainings) |
             status_add(m, "alerts_folded_total", 0, NULL, NULL, (double)st.folded) |
             status_add(m, "sensors", 1, NULL, NULL, (double)st.sensors) |
             status_add(m, "streams", 1, NULL, NULL, (double)st.streams) |
             status_add(m, "max_sensors", 1, NULL, NULL, (double)max_sensors) |
             status_add(m, "max_metrics", 1, NULL, NULL, (double)max_metrics) |
             status_add(m, "evictions_total", 0, "kind", "sensor", (double)st.sensor_evictions) |
             status_add(m, "evictions_total", 0, "kind", "metric", (double)st.stream_evictions) |
             status_add(m, "metrics_refused_total", 0, NULL, NULL, (double)st.metrics_refused) |
             /* The gateway shows these as iotad_detector_<name> (gw_status). */
             status_add(m, "readings_missed_total", 0, NULL, NULL, (double)missed) |
             status_add(m, "readings_other_shard_total", 0, NULL, NULL, (double)other) |
             status_add(m, "intake_depth", 1, NULL, NULL, (double)is.depth) |
             status_add(m, "intake_depth_max", 1, NULL, NULL, (double)is.high) |
             status_add(m, "intake_capacity_bytes", 1, NULL, NULL, (double)is.bytes) |
             status_add(m, "intake_dropped_total", 0, NULL, NULL, (double)is.dropped) |
             status_add(m, "intake_full_waits_total", 0, NULL, NULL, (double)is.full_waits);
    rc |= status_add(m, "repeats_published_total", 0, NULL, NULL, (double)sv->repeats_published);
    rc |= status_add(m, "repeats_dropped_total", 0, NULL, NULL, (double)sv->repeats_dropped);
    for (int t = 0; t < 3; t++)
        rc |= status_add(m, "anomalies_total", 0, "type", anomaly_type_name((anomaly_type)t),
                         (double)st.by_type[t]);
    det_silent_stats ss;
    pthread_mutex_lock(&sv->lock);
    det_silent_stats_get(sv->silent, &ss);
    uint64_t suppressed = sv->suppressed, fb_in = sv->feedback_in, fb_bad = sv->feedback_bad;
    pthread_mutex_unlock(&sv->lock);
    rc |= status_add(m, "anomalies_total", 0, "type", "silent", (double)ss.silent_total) |
          status_add(m, "anomalies_total", 0, "type", "stuck", (double)ss.stuck_total) |
          status_add(m, "sensors_silent", 1, NULL, NULL, (double)ss.silent_now) |
          status_add(m, "streams_stuck", 1, NULL, NULL, (double)ss.stuck_now) |
          status_add(m, "anomalies_tolerated_total", 0, NULL, NULL, (double)suppressed) |
          status_add(m, "feedback_total", 0, NULL, NULL, (double)fb_in) |
          status_add(m, "feedback_invalid_total", 0, NULL, NULL, (double)fb_bad);
    /* bad[0] collects codes reading.h does not name. */
    for (int k = 0; k < 9; k++)
        rc |= status_add(m, "readings_invalid_total", 0, "reason",
                         k ? reading_strerror(-k) : "other", (double)bad[k]);
    return rc ? -1 : 0;
}

static int save_models(service *sv, const char *dir)
{
    pthread_mutex_lock(&sv->lock);
    int rc = det_engine_save(sv->engine, dir);
    pthread_mutex_unlock(&sv->lock);
    return rc;
}

#define SILENT_GRACE_S 10.0 /* seconds after start before silence is judged */

static void save_silent(service *sv, const char *path)
{
    pthread_mutex_lock(&sv->lock);
    int rc = det_silent_save(sv->silent, path);
    pthread_mutex_unlock(&sv->lock);
    if (rc != 0)
        log_rate(15, 60.0, LOG_ERROR, "silent_state_save_failed path=%s", path);
}

static void free_topics(char **t, int n)
{
    for (int i = 0; t && i < n; i++)
        free(t[i]);
    free(t);
}

/* part/K/ + each of the ingest filters, for a partitioned detector.
 * Returns a malloc'd array of n malloc'd strings (free_topics), or NULL. */
static char **partition_topics(const char *const *topics, int n, long k)
{
    char **out = calloc((size_t)n, sizeof *out);
    for (int i = 0; out && i < n; i++) {
        size_t cap = strlen(topics[i]) + 32;
        if (!(out[i] = malloc(cap))) {
            for (int j = 0; j < i; j++)
                free(out[j]);
            free(out);
            return NULL;
        }
        if (topics_part(out[i], cap, k, topics[i]) < 0) {
            free_topics(out, i + 1);
            return NULL;
        }
    }
    return out;
}

static int run_live(det_engine *engine)
{
    int rc = 1;
    service sv = {.engine = engine};
    det_repeat *repeats_spare = NULL; /* the table being published (flush_repeats) */
    status_pub *sp = NULL;
    char models_dir[4096], persist_dir[4096], cid[64], fb_path[4096], silent_path[4096] = "";
    const char *const *topics;
    const char **all_topics = NULL; /* the readings' topics + detector/feedback/+/+ */
    char **part_topics = NULL;
    int ntopics;
    pthread_mutex_init(&sv.lock, NULL);
    det_silent_params silp = {.factor = silent_factor,
                              .min_s = silent_min_s,
                              .stuck_factor = stuck_factor,
                              .stuck_min_s = stuck_min_s};
    if (det_silent_create(&sv.silent, &silp) != 0) {
        log_error("bad_config: SILENT_FACTOR must be >= 1, SILENT_MIN_S, STUCK_FACTOR and "
                  "STUCK_MIN_S >= 0");
        goto out;
    }

    if (mkdir(state_dir, 0755) != 0 && access(state_dir, W_OK) != 0) {
        log_error("state_dir_unusable dir=%s", state_dir);
        goto out;
    }
    snprintf(models_dir, sizeof(models_dir), "%s/models", state_dir);
    int restored = det_engine_load(engine, models_dir);
    if (restored < 0)
        goto out;
    log_info("models_restored dir=%s sensors=%d", models_dir, restored);
    snprintf(silent_path, sizeof(silent_path), "%s/silent.txt", state_dir);
    int nsil = det_silent_load(sv.silent, silent_path);
    if (nsil < 0)
        log_warn("silent_state_ignored path=%s reason=\"not a det_silent file\"", silent_path);
    else
        log_info("silent_state_restored path=%s sensors=%d", silent_path, nsil);
    snprintf(fb_path, sizeof(fb_path), "%s/feedback.json", state_dir);
    if (det_feedback_create(&sv.feedback, fb_path, feedback_margin) != 0) {
        log_error("bad_config: FEEDBACK_MARGIN must be 0..1");
        goto out;
    }
    if (det_repeat_create(&sv.repeats, 4096) != 0 ||
        det_repeat_create(&repeats_spare, 4096) != 0) {
        log_error("out_of_memory what=repeats");
        goto out;
    }
    det_engine_set_fold_hook(engine, on_folded, &sv);

    if (ingest_create(&sv.ig, ingest_map) != 0)
        goto out;
    mapping_ig = sv.ig;
    topics = ingest_topics(sv.ig, &ntopics);
    if (partitions > 0) {
        if (partition < 0 || partition >= partitions) {
            log_error("bad_partition partition=%ld partitions=%ld", partition, partitions);
            goto out;
        }
        /* The mappings in config/nats/node.conf.in put every device of
         * every format the ingest module accepts on one partition. */
        if (!(part_topics = partition_topics(topics, ntopics, partition))) {
            log_error("out_of_memory");
            goto out;
        }
        topics = (const char *const *)part_topics;
        sv.prefix_len = topics_part_prefix(cid, sizeof(cid), partition);
    }
    if (shards < 0 || shards > 1024 || (shards > 0 && (shard < 0 || shard >= shards))) {
        log_error("bad_shard shard=%ld shards=%ld (DETECTOR_SHARD must be 0..N-1)", shard, shards);
        goto out;
    }
    if (intake_bytes != 0 && (intake_bytes < 65536 || intake_wait_ms < 0)) {
        log_error("bad_config: DETECTOR_INTAKE_BYTES must be 0 or >= 65536, "
                  "DETECTOR_INTAKE_WAIT_MS >= 0");
        goto out;
    }
    if (det_gaps_create(&sv.gaps, 4000000) != 0 ||
        (intake_bytes > 0 &&
         det_intake_create(&sv.intake, (size_t)intake_bytes, (int)intake_wait_ms, intake_message,
                           intake_batch, &sv) != 0)) {
        log_error("out_of_memory what=intake");
        goto out;
    }
    if (!(all_topics = calloc((size_t)ntopics + 1, sizeof *all_topics))) {
        log_error("out_of_memory");
        goto out;
    }
    memcpy(all_topics, topics, (size_t)ntopics * sizeof *all_topics);
    all_topics[ntopics++] = topics_filter_detector_feedback();
    topics = all_topics;
    if (client_id)
        snprintf(cid, sizeof(cid), "%s", client_id);
    else if (partitions > 0)
        snprintf(cid, sizeof(cid), "detector-p%ld", partition);
    else if (shards > 0)
        snprintf(cid, sizeof(cid), "detector-s%ld", shard);
    else
        snprintf(cid, sizeof(cid), "detector");

    /* Anomalies are published at QoS 1 from the reading's callback, which
     * then acknowledges the reading: paho's file store keeps each anomaly
     * until the broker has it, so a kill -9 in between loses nothing. */
    snprintf(persist_dir, sizeof(persist_dir), "%s/mqtt-out", state_dir);
    if (mkdir(persist_dir, 0700) != 0 && errno != EEXIST) {
        log_error("state_dir_unusable dir=%s", persist_dir);
        goto out;
    }
    mqtt_options mo = {.uris = mqtt_url,
                       .client_id = cid,
                       .persist_dir = persist_dir,
                       .username = mqtt_user,
                       .password = mqtt_pass,
                       .ca_file = mqtt_ca,
                       .clean_session = 0,
                       .topics = topics,
                       .ntopics = ntopics,
                       .sub_qos = 1,
                       .on_message_qos = on_message,
                       .user = &sv};
    char avail[TOPICS_MAX];
    if (status_availability(&mo, avail, sizeof avail, "detector", cid) != 0)
        log_warn("availability_disabled reason=\"client id is not a valid topic level\"");
    if (mqtt_client_create(&sv.mqtt, &mo) != 0)
        goto out;
    for (int k = 0; k < ntopics; k++)
        log_info("subscribed topic=%s qos=1", topics[k]);
    if (status_interval > 0 &&
        status_pub_create(&sp, sv.mqtt, "detector", cid, status_interval, status_fill, &sv) != 0)
        log_warn("status_disabled reason=\"client id is not a valid topic level\" client_id=%s",
                 cid);
    log_info("started client_id=%s warmup=%ld trees=%ld psi=%ld threshold=%.3f state=%s "
             "intake_bytes=%ld shard=%ld shards=%ld",
             cid, warmup, trees, psi, threshold, models_dir, intake_bytes, shard, shards);

    time_t last_save = time(NULL), last_stats = time(NULL);
    /* Silence is judged once the broker had time to deliver what it queued
     * for us while we were away, or every sensor would look silent. */
    double silent_from = clock_wall() + SILENT_GRACE_S;
    double last_repeats = clock_wall();
    while (!stop_flag) {
        usleep(200 * 1000);
        time_t t = time(NULL);
        if (save_interval > 0 && t - last_save >= save_interval) {
            save_models(&sv, models_dir);
            save_silent(&sv, silent_path);
            last_save = t;
        }
        if (stats_interval > 0 && t - last_stats >= stats_interval) {
            log_stats(&sv);
            last_stats = t;
        }
        if (sp)
            status_pub_tick(sp);
        det_silent_event sev[64];
        double now = clock_wall();
        int ns = 0;
        if (now - last_repeats >= 1.0) { /* at most one summary per stream and type a second */
            flush_repeats(&sv, repeats_spare);
            last_repeats = now;
        }
        while (now >= silent_from) {
            pthread_mutex_lock(&sv.lock);
            ns = det_silent_check(sv.silent, now, sev, 64);
            pthread_mutex_unlock(&sv.lock);
            publish_silent(&sv, sev, ns, now);
            if (ns < 64)
                break;
        }
    }
    log_info("stopping");
    rc = 0;
out:
    /* Stop message delivery before the final save so nothing is lost
     * between the save and the exit. */
    if (sp)
        status_pub_final(sp, 1000); /* "final": a clean stop, not a silent death */
    status_pub_destroy(sp);
    if (sv.intake) {
        /* Score what is queued while the client can still publish, then
         * what arrives from now on on paho's thread, as without a ring. */
        det_intake_drain(sv.intake, 5000);
        __atomic_store_n(&sv.inline_now, 1, __ATOMIC_RELEASE);
        det_intake_drain(sv.intake, 5000);
    }
    if (sv.mqtt) {
        if (sv.repeats && repeats_spare) /* what was folded since the last second */
            flush_repeats(&sv, repeats_spare);
        mqtt_client_flush(sv.mqtt, 2000);
        mqtt_client_destroy(sv.mqtt);
        sv.mqtt = NULL;
    }
    det_intake_destroy(sv.intake);
    sv.intake = NULL;
    if (rc == 0) {
        if (save_models(&sv, models_dir) != 0)
            rc = 1;
        save_silent(&sv, silent_path);
        log_stats(&sv);
    }
    free_topics(part_topics, all_topics ? ntopics - 1 : ntopics);
    free(all_topics);
    det_engine_set_fold_hook(engine, NULL, NULL);
    det_repeat_destroy(sv.repeats);
    det_repeat_destroy(repeats_spare);
    det_silent_destroy(sv.silent);
    det_feedback_destroy(sv.feedback);
    det_gaps_destroy(sv.gaps);
    ingest_destroy(sv.ig);
    pthread_mutex_destroy(&sv.lock);
    return rc;
}

/* The engine's settings from the parsed options and files. Returns 0, or
 * 2 on a bad setting (logged). cfg->threshold_ctx points at cfg itself:
 * the caller's cfg must outlive the engine. */
static int build_config(det_config *cfg)
{
    det_config_default(cfg);
    cfg->warmup = (int)warmup;
    cfg->forest.ntrees = (int)trees;
    cfg->forest.psi = (int)psi;
    cfg->forest.seed = (uint64_t)seed;
    cfg->feat.lags = (int)lags;
    cfg->retrain_every = (int)retrain_every;
    cfg->threshold = threshold;
    cfg->threshold_hook = mapping_threshold;
    cfg->threshold_ctx = cfg;
    cfg->z_min = z_min;
    /* One engine: replay, replay --nab and the live service share these
     * settings; --nab only changes the output format. */
    cfg->shape = shape;
    cfg->multi = multi;
    cfg->shape_p.window = (int)shape_window;
    cfg->shape_p.history = (int)shape_history;
    cfg->shape_p.every = (int)shape_every;
    cfg->shape_p.z = shape_z;
    cfg->shape_p.gap = (int)shape_gap;
    cfg->shape_p.confirm_z = shape_confirm;
    cfg->shape_calm_z = shape_calm_z;
    cfg->burst_n = (int)burst_n;
    cfg->burst_k = burst_k;
    cfg->disp_k = displace_sd;
    cfg->feat.recent_s = recent_s;
    cfg->feat.hold_z = spread_hold_z;
    if (!(shape_calm_z > 0) || burst_n < 0 || burst_n > 100000000 || !(burst_k >= 1 && burst_k < 1e6) ||
        !(displace_sd >= 0 && displace_sd < 1e6) || !(recent_s >= 0 && recent_s < 1e9) ||
        !(spread_hold_z >= 0 && spread_hold_z < 1e6)) {
        log_error("bad_config: check SHAPE_CALM_Z (>0), BURST_READINGS (>=0), BURST_ALERTS (>=1), "
                  "DISPLACE_SD (>=0), RECENT_MIN_S (>=0), SPREAD_HOLD_Z (>=0)");
        return 2;
    }
    cfg->max_sensors = (int)max_sensors;
    cfg->max_metrics = (int)max_metrics;
    cfg->metric_min_readings = (int)metric_min_readings;
    if (max_sensors < 1 || max_sensors > 100000000 || max_metrics < READING_MAX_METRICS ||
        max_metrics > 32 || metric_min_readings < 1 || metric_min_readings > 1000000000) {
        log_error("bad_config: check DETECTOR_MAX_SENSORS (>=1), DETECTOR_MAX_METRICS (8..32), "
                  "DETECTOR_METRIC_MIN_READINGS (>=1)");
        return 2;
    }
    if ((cfg->shape || thresholds_file) &&
        (shape_window > 256 || shape_history > 100000 || shape_every > 256 ||
         shape_gap > 100000000 || !det_shape_params_valid(&cfg->shape_p))) {
        log_error("bad_config: check SHAPE_EVERY (1..window), SHAPE_WINDOW (2..256), SHAPE_HISTORY "
                  "(8 x window.."
                  "100000), SHAPE_Z (>0), SHAPE_GAP (>=0)");
        return 2;
    }
    if (warmup < 2 || warmup > 10000000 || trees < 1 || trees > IFOREST_MAX_TREES || psi < 2 ||
        psi > (1 << IFOREST_MAX_DEPTH) || lags < 1 || lags > TSFEATURES_MAX_LAGS ||
        retrain_every < 1 || !(threshold > 0 && threshold < 1) || !(z_min > 0)) {
        log_error("bad_config: check WARMUP (>=2), IF_TREES, IF_PSI, FEATURE_LAGS (1..6), "
                  "THRESHOLD (0..1), Z_MIN (>0)");
        return 2;
    }
    if (thresholds_file) {
        char err[256];
        if (det_config_load_thresholds(cfg, thresholds_file, err, sizeof(err)) != 0) {
            log_error("bad_thresholds_file reason=\"%s\"", err);
            return 2;
        }
    }
    if (det_config_set_units(cfg, metric_units) != 0) {
        log_error("bad_config: METRIC_UNITS must be metric=unit[,metric=unit...] (at most %d, "
                  "units shorter than %d characters)",
                  DET_MAX_UNITS, DET_UNIT_MAX);
        return 2;
    }
    return 0;
}

/* `detector replay FILE` (results to stdout) or `detector train FILE --out
 * DIR` (models saved). Returns the exit code: 0, 1 or 2. */
static int run_offline(det_engine *engine, const char *cmd, const char *file)
{
    int train = strcmp(cmd, "train") == 0;
    if (train && !out_dir) {
        log_error("train needs --out DIR");
        return 2;
    }
    det_replay_opts ro = {.sensor_id = sensor_id_opt,
                          .nab = nab,
                          .windows_file = windows_file,
                          .windows_key = windows_key};
    long rows = det_replay_run(engine, file, &ro, train ? NULL : stdout);
    if (rows < 0)
        return 1;
    det_stats st;
    det_engine_stats(engine, &st);
    log_info("%s_done file=%s rows=%ld scored=%llu anomalies=%llu trainings=%llu", cmd, file, rows,
             (unsigned long long)st.scored, (unsigned long long)st.anomalies,
             (unsigned long long)st.trainings);
    if (!train)
        return 0;
    if (st.trainings == 0) {
        log_error("train_failed: not enough rows to learn a model (need > WARMUP=%ld)", warmup);
        return 1;
    }
    if (mkdir(out_dir, 0755) != 0 && access(out_dir, W_OK) != 0) {
        log_error("out_dir_unusable dir=%s", out_dir);
        return 1;
    }
    char models_dir[4096];
    snprintf(models_dir, sizeof(models_dir), "%s/models", out_dir);
    if (det_engine_save(engine, models_dir) != 0)
        return 1;
    log_info("train_saved dir=%s (start the detector with STATE_DIR=%s to use it)", models_dir,
             out_dir);
    return 0;
}

int main(int argc, char **argv)
{
    char *pos[64];
    int npos = 0, rc;
    enum log_level lvl;
    det_engine *engine = NULL;
    det_config cfg;

    if (argc > 64) {
        fprintf(stderr, "detector: too many arguments\n");
        return 2;
    }
    int prc = config_parse(opts, NOPTS, argc, argv, pos, &npos);
    if (prc == CONFIG_VERSION)
        return 0;
    if (prc == CONFIG_HELP) {
        printf(
            "\nsubcommands: run (default) | replay FILE.csv [--nab] | train FILE.csv --out DIR\n");
        return 0;
    }
    if (prc != 0)
        return 2;
    if (log_level_parse(log_level, &lvl) != 0) {
        fprintf(stderr, "detector: bad LOG_LEVEL '%s'\n", log_level);
        return 2;
    }
    log_init("detector", lvl);
    if ((rc = build_config(&cfg)) != 0)
        return rc;
    const char *cmd = npos > 0 ? pos[0] : "run";
    /* replay prints every reading's score; the decisions are the same
     * either way (the live service scores only what can alert). */
    cfg.score_all = strcmp(cmd, "replay") == 0;
    if (det_engine_create(&engine, &cfg) != 0) {
        log_error("engine_create_failed");
        return 1;
    }

    if (strcmp(cmd, "run") == 0 && npos <= 1) {
        struct sigaction sa;
        memset(&sa, 0, sizeof(sa));
        sa.sa_handler = on_signal;
        sigaction(SIGINT, &sa, NULL);
        sigaction(SIGTERM, &sa, NULL);
        signal(SIGPIPE, SIG_IGN);
        rc = run_live(engine);
    } else if ((strcmp(cmd, "replay") == 0 || strcmp(cmd, "train") == 0) && npos == 2) {
        rc = run_offline(engine, cmd, pos[1]);
    } else {
        fprintf(stderr, "usage: detector [run] | replay FILE.csv [--nab] | train FILE.csv --out "
                        "DIR   (--help for options)\n");
        rc = 2;
    }
    det_engine_destroy(engine);
    return rc;
}
