/*
 * det_replay — the detector's offline modes over a CSV file, running the
 * same engine as the live service:
 *   replay: per row and metric, the score, whether the reading was flagged,
 *           and the alert (type + explanation) that refers to it;
 *   replay --nab: the Numenta Anomaly Benchmark results format
 *           (timestamp,value,anomaly_score,label), one row per input row;
 *   train:  learn from history, then save the models and sensor states.
 *
 * CSV: a header row naming the columns; the first column is the time
 * (Unix seconds, or "YYYY-MM-DD HH:MM:SS[.frac]" / ISO 8601 in UTC), every
 * other column a metric. Empty cells are missing values.
 */
#ifndef DET_REPLAY_H
#define DET_REPLAY_H

#include <stdio.h>

#include "det_engine.h"

typedef struct {
    const char *sensor_id;    /* id given to the CSV's readings ("replay") */
    int nab;                  /* 1: NAB results format (first value column only) */
    const char *windows_file; /* NAB windows.json for the label column, or NULL */
    const char *windows_key;  /* key in it, e.g. "realKnownCause/nyc_taxi.csv";
                                 NULL = the CSV path's last two components */
} det_replay_opts;

/** Parse a CSV time cell. Returns 0 and sets *ts, or -1. */
int det_parse_time(const char *s, double *ts);

/** Run the CSV through the engine, writing results to out (NULL: none,
 *  as for training). Returns the number of data rows, or -1 on an
 *  unreadable file or header (reason logged). Bad rows are counted and
 *  skipped (logged at most a few times). */
long det_replay_run(det_engine *e, const char *csv_path, const det_replay_opts *o, FILE *out);

#endif
