/*
 * sim_csv — dataset mode: readings and ground truth written to files
 * instead of a broker (for the detector's accuracy benchmark and for tests).
 *
 * Two layouts, chosen by the path given to --csv:
 *   a directory (any path not ending in ".csv"):
 *       DIR/<sensor_id>.csv   timestamp,temperature,humidity,pressure
 *       DIR/labels.csv        one row per injected event
 *       DIR/windows.json      {"<sensor_id>.csv": [[start, end], ...]} (NAB's format;
 *                             each list also under "<DIR name>/<sensor_id>.csv",
 *                             NAB's "category/file.csv" key)
 *   a file FILE.csv:
 *       FILE.csv              sensor_id,timestamp,temperature,humidity,pressure
 *                             (all sensors, in time order)
 *       FILE.labels.csv, FILE.windows.json (keys are sensor ids)
 * Timestamps are UTC "YYYY-MM-DD HH:MM:SS", like NAB's files. A dropped-out
 * metric leaves its cell empty. labels.csv columns:
 *   id,sensor_id,type,subtype,metric,start,end,start_ts,end_ts,nsamples,magnitude
 * (start/end as timestamps, start_ts/end_ts as Unix seconds; both inclusive
 * and equal to the first/last affected reading's time).
 */
#ifndef SIM_CSV_H
#define SIM_CSV_H

#include "sim_fleet.h"
#include "sim_gen.h"

#include <stdio.h>

typedef struct sim_csv sim_csv; /* opaque */

/** Open a dataset for writing (creates the directory if needed).
 *  Returns: 0, or -1 with a message in err. Out: *out owned by the caller. */
int sim_csv_open(sim_csv **out, const char *path, char *err, size_t errlen);

/** 1 when the dataset is one file for all sensors (rows must then come in
 *  time order from sim_fleet), 0 for one file per sensor. */
int sim_csv_single(const sim_csv *w);

/** Directory layout: start the file of sensor `id` (closes the previous
 *  one). No-op for the single-file layout. Returns 0 or -1 (err set). */
int sim_csv_begin_sensor(sim_csv *w, const char *id, char *err, size_t errlen);

/** Write one reading, and its label row when the sample starts an event.
 *  Returns 0 or -1 on a write error. */
int sim_csv_write(sim_csv *w, const sim_sample *smp);

/** Write the whole run of fleet `f` (which must have a finite stop time):
 *  sensor by sensor for the directory layout, in time order for the single
 *  file. Out: nreadings, nlabels: counts (may be NULL).
 *  Returns: 0, or -1 with a message in err. */
int sim_csv_write_fleet(sim_csv *w, sim_fleet *f, unsigned long long *nreadings,
                        unsigned long long *nlabels, char *err, size_t errlen);

/** Write windows.json, flush and close everything, free w.
 *  Returns 0, or -1 when anything failed to be written (err set). NULL-safe. */
int sim_csv_close(sim_csv *w, char *err, size_t errlen);

/** Format Unix seconds as "YYYY-MM-DD HH:MM:SS" (UTC) into buf (>= 20 bytes). */
void sim_csv_format_ts(double ts, char *buf, size_t cap);

/** Append one label as a labels.csv row (no header) to f. Returns 0 or -1. */
int sim_csv_write_label(FILE *f, const sim_label *l);

/** The labels.csv header line, without newline. */
#define SIM_CSV_LABEL_HEADER                                                                       \
    "id,sensor_id,type,subtype,metric,start,end,start_ts,end_ts,nsamples,magnitude"

#endif
