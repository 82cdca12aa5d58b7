/*
 * sim_live — see sim_live.h. The loop never sleeps longer than 50 ms so
 * that the publisher's keep-alive and reconnect run and a signal is noticed
 * promptly; between sleeps it generates as many readings as are due.
 */
#include "sim_live.h"

#include <math.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "base/clock.h"
#include "base/log.h"
#include "bus/reading.h"
#include "bus/topics.h"
#include "sim_clock.h"
#include "sim_csv.h"

#define POLL_EVERY 256 /* readings between publisher polls */

static void sleep_s(double s)
{
    if (s <= 0)
        return;
    if (s > 0.05)
        s = 0.05;
    struct timespec ts = {0, (long)(s * 1e9)};
    nanosleep(&ts, NULL);
}

typedef struct {
    double t0, last_t, next_report;
    unsigned long long last_n;
    double inst_rate;
} progress;

static void report(const sim_live_cfg *cfg, progress *pg, const sim_live_stats *st, double sim_t,
                   int final)
{
    double now = clock_mono();
    if (!final && now < pg->next_report)
        return;
    double dt = now - pg->last_t;
    if (dt > 0)
        pg->inst_rate = (double)(st->readings - pg->last_n) / dt;
    pg->last_t = now;
    pg->last_n = st->readings;
    pg->next_report = now + (cfg->progress_tty ? 0.25 : cfg->progress_every_s);
    char simt[32] = "-";
    if (isfinite(sim_t))
        sim_csv_format_ts(sim_t, simt, sizeof simt);
    sim_pub_stats ps;
    sim_pub_get_stats(cfg->pub, &ps);
    if (cfg->progress_tty) {
        fprintf(stderr,
                "\rsim %s | %9.0f readings/s | sent %llu | anomalies %llu | dropped %llu | %s  ",
                simt, pg->inst_rate, st->readings, st->labels, ps.dropped,
                sim_pub_connected(cfg->pub) ? "connected" : "DISCONNECTED");
        if (final)
            fputc('\n', stderr);
        fflush(stderr);
    } else {
        log_info("progress sim_time=\"%s\" rate=%.0f readings=%llu anomalies=%llu dropped=%llu "
                 "connected=%d",
                 simt, pg->inst_rate, st->readings, st->labels, ps.dropped,
                 sim_pub_connected(cfg->pub));
    }
}

int sim_live_run(const sim_live_cfg *cfg, sim_live_stats *out)
{
    int rc = 0;
    sim_clock clk;
    sim_bucket bucket;
    sim_sample smp;
    char topic[SENSOR_ID_MAX + 32];
    char payload[512];
    char lbuf[1024];
    sim_live_stats st = {0};
    progress pg = {0};

    sim_clock_start(&clk, cfg->start_ts, cfg->speedup);
    sim_bucket_init(&bucket, cfg->rate);
    double t_begin = clock_mono();
    pg.t0 = pg.last_t = t_begin;
    pg.next_report = t_begin + (cfg->progress_tty ? 0.25 : cfg->progress_every_s);
    double sim_t = cfg->start_ts;
    unsigned since_poll = 0;

    while (!*cfg->stop) {
        if (++since_poll >= POLL_EVERY) {
            since_poll = 0;
            sim_pub_poll(cfg->pub);
            report(cfg, &pg, &st, sim_t, 0);
            if (cfg->run_for_s > 0 && clock_mono() - t_begin >= cfg->run_for_s)
                break;
        }
        double t = sim_fleet_peek_ts(cfg->fleet);
        if (!isfinite(t))
            break; /* every sensor reached the end of the run */
        double wait = sim_clock_wait_s(&clk, t);
        if (wait <= 0)
            wait = sim_bucket_take(&bucket);
        if (wait > 0) {
            since_poll = POLL_EVERY; /* poll (flush) before the next check */
            sim_pub_poll(cfg->pub);
            sleep_s(wait);
            continue;
        }
        int i = sim_fleet_next(cfg->fleet, &smp);
        if (i < 0)
            break;
        sim_t = smp.r.ts;
        if (smp.new_label) {
            int n = sim_label_encode_json(&smp.label, lbuf, sizeof lbuf);
            if (n < 0 || topics_sim_label(topic, sizeof topic, smp.r.sensor_id) < 0) {
                log_error("label_encode_failed sensor=%s", smp.r.sensor_id);
                rc = -1;
                break;
            }
            /* The label goes out before the first abnormal reading, so a
             * live scorer always knows the truth when the reading arrives. */
            sim_pub_publish(cfg->pub, topic, lbuf, (size_t)n, cfg->label_qos);
            if (cfg->labels_csv) {
                sim_csv_write_label(cfg->labels_csv, &smp.label);
                fflush(cfg->labels_csv);
            }
            st.labels++;
            log_debug("anomaly_injected id=%s type=%s metric=%s start=%.0f end=%.0f "
                      "magnitude=%.3f",
                      smp.label.id, sim_subtype_name(smp.label.subtype),
                      sim_metric_name(smp.label.metric), smp.label.start_ts, smp.label.end_ts,
                      smp.label.magnitude);
        }
        int n = reading_encode_json(&smp.r, payload, sizeof payload);
        if (n < 0 || topics_reading(topic, sizeof topic, smp.r.sensor_id) < 0) {
            log_error("reading_encode_failed sensor=%s", smp.r.sensor_id);
            rc = -1;
            break;
        }
        sim_pub_publish(cfg->pub, topic, payload, (size_t)n, cfg->qos);
        st.readings++;
    }
    sim_pub_flush(cfg->pub, 2000);
    st.wall_s = clock_mono() - t_begin;
    st.rate = st.wall_s > 0 ? (double)st.readings / st.wall_s : 0;
    sim_pub_stats ps;
    sim_pub_get_stats(cfg->pub, &ps);
    st.dropped = ps.dropped;
    pg.last_t = t_begin; /* final line: average over the whole run */
    pg.last_n = 0;
    report(cfg, &pg, &st, sim_t, 1);
    *out = st;
    return rc;
}
