/*
 * simulator — a fleet of simulated temperature/humidity/pressure sensors
 * with labelled anomalies.
 *
 *   simulator                      live: publish on sensors/{id}/readings and
 *                                  the ground truth on sim/labels/{id}
 *   simulator --csv DIR|FILE.csv   dataset: write readings and labels, no broker
 *
 * main() only reads the configuration and wires the modules:
 * sim_profile (profiles, fleets) -> sim_fleet/sim_gen (signals, anomalies)
 * -> sim_live + sim_pub (MQTT) or sim_csv (files). docs/simulator.md is the
 * user's guide.
 */
#include <limits.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/clock.h"
#include "base/config.h"
#include "base/log.h"
#include "bus/mqtt.h"
#include "sim_clock.h"
#include "sim_csv.h"
#include "sim_fleet.h"
#include "sim_gen.h"
#include "sim_live.h"
#include "sim_profile.h"
#include "sim_pub.h"

static const char *mqtt_url, *mqtt_user, *mqtt_pass, *mqtt_ca, *client_id;
static const char *profiles_path, *fleet_spec, *start_text, *mix_spec, *labels_csv_path;
static const char *csv_path, *pub_mode, *log_level_name;
static long seed, sensors, qos, warmup;
static double speedup, duration, days, run_for, rate, anomaly_rate, magnitude, progress_s;

static const config_option opts[] = {
    MQTT_CONFIG_ROWS(&mqtt_url, &mqtt_user, &mqtt_pass, &mqtt_ca),
    {"client-id", "SIM_CLIENT_ID", CONFIG_STR, NULL, "MQTT client id (default simulator-<pid>)",
     &client_id},
    {"profiles", "SIM_PROFILES", CONFIG_STR, "services/simulator/profiles.json",
     "sensor profile file (JSON)", &profiles_path},
    {"fleet", "SIM_FLEET", CONFIG_STR, NULL,
     "profiles and counts, e.g. office:3,server_room:1 (default: the file's fleet)", &fleet_spec},
    {"sensors", "SIM_SENSORS", CONFIG_INT, "0",
     "total sensors: scale the fleet's counts to this (0 = as given)", &sensors},
    {"seed", "SIM_SEED", CONFIG_INT, "1", "random seed: same seed, same data", &seed},
    {"speedup", "SIM_SPEEDUP", CONFIG_DBL, "1",
     "simulated seconds per wall second (1440 = a day per minute; 0 = as fast as possible)",
     &speedup},
    {"start", "SIM_START", CONFIG_STR, "auto",
     "simulated start: ISO date/time (UTC), Unix seconds or now (auto: now live, "
     "2025-01-01 for --csv)",
     &start_text},
    {"duration", "SIM_DURATION", CONFIG_DBL, "0",
     "stop after this many simulated seconds (0 = never; --csv default 7 days)", &duration},
    {"days", "SIM_DAYS", CONFIG_DBL, "0", "same as --duration, in simulated days", &days},
    {"run-for", "SIM_RUN_FOR", CONFIG_DBL, "0",
     "stop after this many wall-clock seconds (0 = never)", &run_for},
    {"rate", "SIM_RATE", CONFIG_DBL, "0",
     "max readings per wall second (0 = as the sampling intervals and speedup say)", &rate},
    {"qos", "SIM_QOS", CONFIG_INT, "0", "MQTT QoS of readings (labels use at least 1 with paho)",
     &qos},
    {"publisher", "SIM_PUBLISHER", CONFIG_STR, "auto",
     "auto | fast (own batched QoS 0 client) | paho (common MQTTAsync wrapper)", &pub_mode},
    {"anomaly-rate", "SIM_ANOMALY_RATE", CONFIG_DBL, "2",
     "injected events per sensor per simulated day (0 = none)", &anomaly_rate},
    {"anomaly-mix", "SIM_ANOMALY_MIX", CONFIG_STR, NULL,
     "relative weights, e.g. spike:3,contextual:1 or point:1,change_point:1 (default: all)",
     &mix_spec},
    {"anomaly-magnitude", "SIM_ANOMALY_MAGNITUDE", CONFIG_DBL, "1",
     "multiplier on the profiles' anomaly_scale", &magnitude},
    {"anomaly-warmup", "SIM_ANOMALY_WARMUP", CONFIG_INT, "500",
     "no anomaly in a sensor's first N readings (detector training)", &warmup},
    {"labels-csv", "SIM_LABELS_CSV", CONFIG_STR, NULL, "live mode: also append labels to this CSV",
     &labels_csv_path},
    {"csv", "SIM_CSV", CONFIG_STR, NULL,
     "dataset mode: write DIR/<sensor>.csv + labels.csv, or one FILE.csv; no broker", &csv_path},
    {"progress-interval", "SIM_PROGRESS_INTERVAL", CONFIG_DBL, "10",
     "seconds between progress log lines when stderr is not a terminal", &progress_s},
    LOG_CONFIG_ROW(&log_level_name),
};
#define NOPTS (sizeof opts / sizeof *opts)

static volatile sig_atomic_t stop_flag;

/* A relative profile path that does not exist from the working directory is
 * tried relative to the repository the binary lives in (build/bin/../..),
 * so `build/bin/simulator` works from any directory. */
static const char *resolve_profiles(const char *path, char *buf, size_t cap)
{
    if (path[0] == '/' || access(path, R_OK) == 0)
        return path;
    char exe[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n <= 0)
        return path;
    exe[n] = '\0';
    char *slash = strrchr(exe, '/');
    if (!slash)
        return path;
    *slash = '\0';
    if ((size_t)snprintf(buf, cap, "%s/../../%s", exe, path) >= cap || access(buf, R_OK) != 0)
        return path;
    return buf;
}

static void on_signal(int sig)
{
    (void)sig;
    stop_flag = 1;
}

/* Load the profiles and build the fleet's entries (profile, count) from
 * SIM_FLEET or the file's fleet, scaled to SIM_SENSORS; checks the numeric
 * settings on the way. Returns 0, or -1 (logged). */
static int load_fleet(sim_profile_set *set, sim_fleet_entry *entries, int *ne)
{
    char err[512];
    char pbuf[PATH_MAX + 64];
    if (sim_profiles_load(resolve_profiles(profiles_path, pbuf, sizeof pbuf), set, err,
                          sizeof err) < 0) {
        log_error("profiles_invalid error=\"%s\"", err);
        return -1;
    }
    const char *spec = fleet_spec && *fleet_spec ? fleet_spec : set->fleet;
    if (spec && *spec) {
        *ne = sim_fleet_parse(spec, set, entries, SIM_FLEET_MAX, err, sizeof err);
        if (*ne < 0) {
            log_error("fleet_invalid fleet=\"%s\" error=\"%s\"", spec, err);
            return -1;
        }
    } else {
        *ne = set->n < SIM_FLEET_MAX ? set->n : SIM_FLEET_MAX;
        for (int i = 0; i < *ne; i++)
            entries[i] = (sim_fleet_entry){i, 1};
    }
    if (sensors < 0 || sensors > 1000000 || qos < 0 || qos > 2 || speedup < 0 || rate < 0 ||
        anomaly_rate < 0 || magnitude < 0 || warmup < 0 || duration < 0 || days < 0 ||
        run_for < 0) {
        log_error("config_invalid reason=\"negative or out-of-range value (sensors <= 1000000, "
                  "qos 0..2)\"");
        return -1;
    }
    if (sensors > 0)
        sim_fleet_scale(entries, *ne, (int)sensors);
    return 0;
}

/* The injected anomalies' settings. Returns 0, or -1 (logged). */
static int anomaly_config(sim_anomaly_cfg *acfg)
{
    char err[512];
    sim_anomaly_defaults(acfg);
    acfg->rate_per_day = anomaly_rate;
    acfg->magnitude = magnitude;
    acfg->warmup_readings = warmup;
    if (mix_spec && sim_anomaly_mix_parse(mix_spec, acfg, err, sizeof err) < 0) {
        log_error("anomaly_mix_invalid error=\"%s\"", err);
        return -1;
    }
    return 0;
}

/* The simulated start (SIM_START; auto = now live, 2025-01-01 for --csv)
 * and span in seconds (<= 0: no end). Returns 0, or -1 (logged). */
static int time_span(double *start_ts, double *span, const char **start_text_used)
{
    const char *st = start_text;
    if (strcmp(st, "auto") == 0)
        st = csv_path ? "2025-01-01" : "now";
    if (sim_parse_time(st, start_ts) < 0) {
        log_error("start_invalid start=\"%s\" reason=\"expected YYYY-MM-DD[THH:MM:SS[Z]], Unix "
                  "seconds or now\"",
                  start_text);
        return -1;
    }
    *span = days > 0 ? days * 86400.0 : duration;
    if (csv_path && *span <= 0)
        *span = 7 * 86400.0;
    *start_text_used = st;
    return 0;
}

/* Dataset mode: write the fleet's readings and labels to CSV, no broker.
 * Returns 0, or -1 (logged). */
static int write_dataset(sim_fleet *fleet, const sim_profile_set *set,
                         const sim_fleet_entry *entries, int ne, double start_ts, double stop_ts,
                         const sim_anomaly_cfg *acfg)
{
    char err[512];
    sim_csv *csv = NULL;
    if (sim_fleet_init(fleet, set, entries, ne, (uint64_t)seed, start_ts, stop_ts,
                       anomaly_rate > 0 ? acfg : NULL) < 0) {
        log_error("fleet_init_failed reason=\"no sensors or out of memory\"");
        return -1;
    }
    unsigned long long nr = 0, nl = 0;
    if (sim_csv_open(&csv, csv_path, err, sizeof err) < 0 ||
        sim_csv_write_fleet(csv, fleet, &nr, &nl, err, sizeof err) < 0) {
        log_error("dataset_failed error=\"%s\"", err);
        sim_csv_close(csv, NULL, 0);
        return -1;
    }
    if (sim_csv_close(csv, err, sizeof err) < 0) {
        log_error("dataset_failed error=\"%s\"", err);
        return -1;
    }
    log_info("dataset_written path=%s sensors=%d readings=%llu anomalies=%llu seed=%ld", csv_path,
             fleet->n, nr, nl, seed);
    return 0;
}

/* Live mode: publish the fleet's readings to the broker in simulated
 * time until stopped. Returns 0, or -1 (logged). */
static int run_live(sim_fleet *fleet, const sim_profile_set *set, const sim_fleet_entry *entries,
                    int ne, const char *st, double start_ts, double span,
                    const sim_anomaly_cfg *acfg)
{
    int rc = -1;
    sim_pub *pub = NULL;
    FILE *labels_f = NULL;
    double stop_ts = span > 0 ? start_ts + span : INFINITY;
    if (labels_csv_path) {
        int fresh = access(labels_csv_path, F_OK) != 0;
        labels_f = fopen(labels_csv_path, "a");
        if (!labels_f) {
            log_error("labels_csv_open_failed path=%s", labels_csv_path);
            goto out;
        }
        if (fresh)
            fputs(SIM_CSV_LABEL_HEADER "\n", labels_f);
    }
    static char cid[64]; /* client_id points into it */
    if (!client_id) {
        snprintf(cid, sizeof cid, "simulator-%ld", (long)getpid());
        client_id = cid;
    }
    sim_pub_options po = {mqtt_url, client_id, mqtt_user, mqtt_pass, mqtt_ca, (int)qos, pub_mode};
    if (sim_pub_create(&pub, &po) < 0)
        goto out;

    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);

    if (sim_pub_wait_connected(pub, 10000) < 0)
        log_warn("mqtt_not_connected_yet uri=%s reason=\"readings are dropped until it is\"",
                 mqtt_url);
    if (strcmp(st, "now") == 0) { /* the wait above must not put the clock behind */
        start_ts = floor(clock_wall());
        stop_ts = span > 0 ? start_ts + span : INFINITY;
    }
    if (sim_fleet_init(fleet, set, entries, ne, (uint64_t)seed, start_ts, stop_ts,
                       anomaly_rate > 0 ? acfg : NULL) < 0) {
        log_error("fleet_init_failed reason=\"no sensors or out of memory\"");
        goto out;
    }
    log_info("start sensors=%d publisher=%s qos=%ld speedup=%g rate=%g start=%.0f seed=%ld "
             "anomaly_rate=%g",
             fleet->n, sim_pub_kind(pub), qos, speedup, rate, start_ts, seed, anomaly_rate);
    sim_live_cfg lc = {
        .fleet = fleet,
        .pub = pub,
        .qos = (int)qos,
        .label_qos = strcmp(sim_pub_kind(pub), "paho") == 0 && qos < 1 ? 1 : (int)qos,
        .start_ts = start_ts,
        .speedup = speedup,
        .rate = rate,
        .run_for_s = run_for,
        .progress_tty = isatty(STDERR_FILENO),
        .progress_every_s = progress_s > 0 ? progress_s : 10,
        .labels_csv = labels_f,
        .stop = &stop_flag,
    };
    sim_live_stats ls;
    if (sim_live_run(&lc, &ls) < 0)
        goto out;
    log_info("done readings=%llu anomalies=%llu dropped=%llu wall_s=%.2f rate=%.0f", ls.readings,
             ls.labels, ls.dropped, ls.wall_s, ls.rate);
    rc = 0;
out:
    sim_pub_destroy(pub);
    if (labels_f)
        fclose(labels_f);
    return rc;
}

int main(int argc, char **argv)
{
    int rc = 1;
    sim_profile_set set = {0};
    sim_fleet fleet = {0};
    sim_fleet_entry entries[SIM_FLEET_MAX];
    sim_anomaly_cfg acfg;
    const char *st;
    double start_ts, span;
    int ne = 0;

    int prc = config_parse(opts, NOPTS, argc, argv, NULL, NULL);
    if (prc == CONFIG_HELP)
        return 0;
    if (prc < 0)
        return 2;
    enum log_level lvl;
    if (log_level_parse(log_level_name, &lvl) < 0) {
        fprintf(stderr, "invalid LOG_LEVEL '%s'\n", log_level_name);
        return 2;
    }
    log_init("simulator", lvl);

    if (load_fleet(&set, entries, &ne) < 0 || anomaly_config(&acfg) < 0 ||
        time_span(&start_ts, &span, &st) < 0)
        goto out;
    double stop_ts = span > 0 ? start_ts + span : INFINITY;
    int mrc = csv_path ? write_dataset(&fleet, &set, entries, ne, start_ts, stop_ts, &acfg)
                       : run_live(&fleet, &set, entries, ne, st, start_ts, span, &acfg);
    rc = mrc < 0 ? 1 : 0;
out:
    sim_fleet_free(&fleet);
    sim_profiles_free(&set);
    return rc;
}
