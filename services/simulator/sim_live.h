/*
 * sim_live — the live mode loop: paces the fleet's readings on the
 * simulated clock (and an optional rate cap), publishes them on
 * sensors/{id}/readings and each injected event's label on
 * sim/labels/{id}, and reports progress (a refreshed line on a terminal,
 * a log line every few seconds otherwise).
 */
#ifndef SIM_LIVE_H
#define SIM_LIVE_H

#include <signal.h>
#include <stdio.h>

#include "sim_fleet.h"
#include "sim_pub.h"

typedef struct {
    sim_fleet *fleet;            /* not owned */
    sim_pub *pub;                /* not owned */
    int qos;                     /* QoS of readings */
    int label_qos;               /* QoS of labels */
    double start_ts;             /* simulated time at which the clock starts */
    double speedup;              /* 0 = unpaced (as fast as possible) */
    double rate;                 /* max readings per wall second, 0 = unlimited */
    double run_for_s;            /* stop after this many wall seconds, 0 = no limit */
    int progress_tty;            /* 1: refresh a progress line on stderr */
    double progress_every_s;     /* log interval when not a terminal */
    FILE *labels_csv;            /* also append labels here (header already written), or NULL */
    volatile sig_atomic_t *stop; /* set by a signal handler to end the run */
} sim_live_cfg;

typedef struct {
    unsigned long long readings; /* generated and handed to the publisher */
    unsigned long long labels;   /* events injected */
    unsigned long long dropped;  /* publisher drops (readings and labels) */
    double wall_s;               /* duration of the run */
    double rate;                 /* readings / wall_s */
} sim_live_stats;

/** Run until the fleet reaches its stop time, run_for_s passes, or *stop
 *  is set. Blocks. Returns: 0, or -1 when a message could not be encoded
 *  (a bug: values are always finite). */
int sim_live_run(const sim_live_cfg *cfg, sim_live_stats *out);

#endif
