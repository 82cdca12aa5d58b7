/*
 * det_shape — the engine's shape detector: finds a run of readings whose
 * shape the stream has not shown before (a "discord", as in matrix-profile
 * methods), for series the daily-profile features describe poorly (server
 * load, traffic, business counts, machine temperatures).
 *
 *   raw(t) = distance from the last `window` values (a shingle) to their
 *            nearest neighbour among the shingles of the previous `history`
 *            values that do not overlap them: the mean absolute difference,
 *            in units of the stream's robust spread (1.4826 MAD of the
 *            previous `history` values, refreshed every 64 values). A shape
 *            the stream has shown before is near 0 however large it is, so
 *            periodic series stay silent; a new shape is far.
 *   detection: raw(t) stands `z` standard deviations above the mean of its
 *            own previous `history` values (at least 100 of them, the first
 *            50 values not counted), at most once per `gap` values.
 *
 * Cost: history x window operations per value (10-25 us at 2000 x 16 on this machine)
 * and (3 history + 4 window) doubles of state per stream (about 48 KiB at
 * the defaults), which is why the engine runs it only when configured.
 * Online and causal: a value is judged on what came before it only.
 *
 * Thread-safety: none; one state per stream, the caller serialises.
 */
#ifndef DET_SHAPE_H
#define DET_SHAPE_H

#include <stddef.h>

typedef struct {
    int window;       /* shingle length in values (16) */
    int history;      /* values searched and kept for the baseline (2000) */
    double z;         /* detection threshold in sds of the raw distance (4.5) */
    int gap;          /* values between two detections, at least (300) */
    double confirm_z; /* for the engine: below this z a run's shape counts as
                         seen before, and the forest's alerts are held back (3) */
} det_shape_params;

typedef struct det_shape det_shape; /* opaque */

/* What one step measured, for the explanation of a detection. */
typedef struct {
    double raw;      /* distance to the nearest earlier shape, in spreads */
    double baseline; /* mean raw distance of the previous values */
    double z;        /* (raw - baseline) / sd */
} det_shape_info;

/** Defaults: window 16, history 2000, z 4.5, gap 300, confirm_z 3. */
void det_shape_params_default(det_shape_params *p);

/** Whether p is usable: 2 <= window <= 256, 8 x window <= history <= 100000,
 *  z > 0, gap >= 0, confirm_z finite. Returns 1 or 0. */
int det_shape_params_valid(const det_shape_params *p);

/** Create the state of one stream. Returns 0, or -1 on invalid params or
 *  out of memory. Out: *out, owned by the caller (det_shape_destroy). */
int det_shape_create(det_shape **out, const det_shape_params *p);

/** Free a state (NULL is fine). */
void det_shape_destroy(det_shape *d);

/** Heap bytes one state takes with params p. */
size_t det_shape_bytes(const det_shape_params *p);

/** Feed the next value of the stream. A non-finite value is ignored (no
 *  detection, not learned).
 *  In: scratch, p->history doubles the caller owns (shared by all states,
 *      used for the median; contents not kept).
 *  Out: info (may be NULL), filled on every call.
 *  Returns 1 when this value completes a new shape, else 0. Allocates
 *  nothing. */
int det_shape_step(det_shape *d, double value, double *scratch, det_shape_info *info);

#endif
