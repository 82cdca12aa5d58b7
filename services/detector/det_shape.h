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
 *            kept values, refreshed every 64 values). A shape the stream
 *            has shown before is near 0 however large it is, so periodic
 *            series stay silent; a new shape is far.
 *   detection: every `every` values, raw(t) stands `z` standard deviations
 *            above the mean of its own previous values (one per `every`
 *            values over the last `history`; at least 100 values' worth,
 *            the first 50 values not counted), at most once per `gap`.
 *
 * Cost: history x window / every operations per value (on x86-64 CPUs
 * with AVX2, 16 runs at a time in vector registers; elsewhere fewer with
 * the early abandon of the scalar search), and history x 2 + history / every x 2
 * bytes of state per stream (values as int16 codes of 1/256 robust
 * spread, distances as uint16): about 3.9 KB at the defaults, which is
 * why it runs on every stream by default. Online and causal: a value is
 * judged on what came before it only.
 *
 * Thread-safety: none; one state per stream, the caller serialises.
 */
#ifndef DET_SHAPE_H
#define DET_SHAPE_H

#include <stddef.h>

typedef struct {
    int window;       /* shingle length in values (16) */
    int history;      /* values searched and kept for the baseline (1500) */
    int every;        /* the search for new shapes runs every `every` values (4);
                         det_shape_now answers at any value */
    double z;         /* detection threshold in sds of the raw distance (4.5) */
    int gap;          /* values between two detections, at least (300) */
    double confirm_z; /* for the engine: below this z (of the distance to the
                         second nearest earlier run) a run's shape counts as
                         seen before, and the forest's alerts are held back (3) */
} det_shape_params;

typedef struct det_shape det_shape; /* opaque */

/* What one step measured, for the explanation of a detection. */
typedef struct {
    double raw;      /* distance to the nearest earlier shape, in spreads */
    double baseline; /* mean raw distance of the previous values */
    double z;        /* (raw - baseline) / sd */
    double tail;     /* det_shape_now: |newest value - the newest value of the
                        (second) nearest earlier run|, in the stream's units */
} det_shape_info;

/** Defaults: window 16, history 1500, every 4, z 4.5, gap 300, confirm_z 3. */
void det_shape_params_default(det_shape_params *p);

/** Whether p is usable: 2 <= window <= 256, 8 x window <= history <= 100000,
 *  1 <= every <= window, z > 0, gap >= 0, confirm_z finite. Returns 1 or 0. */
int det_shape_params_valid(const det_shape_params *p);

/** Create the state of one stream. Returns 0, or -1 on invalid params or
 *  out of memory. Out: *out, owned by the caller (det_shape_destroy). */
int det_shape_create(det_shape **out, const det_shape_params *p);

/** Free a state (NULL is fine). */
void det_shape_destroy(det_shape *d);

/** Heap bytes one state takes with params p. */
size_t det_shape_bytes(const det_shape_params *p);

/** How unusual the run ending at the newest value is, at any value (not
 *  only every `every`): the same measure and baseline as det_shape_step.
 *  All zero while too little is known. Allocates nothing. Out: info. */
void det_shape_now(const det_shape *d, det_shape_info *info);

/** Mean distance of a run to its nearest earlier run, in robust spreads,
 *  over the kept history (how well the stream's past predicts its runs:
 *  near 0 for a stream that repeats itself), or -1 while too little is
 *  known. */
double det_shape_baseline(const det_shape *d);

/** The robust spread (1.4826 MAD) of the kept values, 0 until known. */
double det_shape_spread(const det_shape *d);

/** Feed the next value of the stream; every `every` values the run that
 *  ends there is judged (info is zero on the others). A non-finite value is ignored (no
 *  detection, not learned).
 *  In: scratch, p->history doubles the caller owns (shared by all states,
 *      used for the median; contents not kept).
 *  Out: info (may be NULL), filled on every call.
 *  Returns 1 when this value completes a new shape, else 0. Allocates
 *  nothing. */
int det_shape_step(det_shape *d, double value, double *scratch, det_shape_info *info);

/** A hint to the CPU that d is about to be stepped: loads the state's
 *  first cache lines ahead of use (d may be NULL). Changes nothing. */
void det_shape_prefetch(const det_shape *d);

/** For tests and benchmarks: 1 makes every search take the portable
 *  scalar loop instead of the vector one (AVX2, when the CPU has it); both
 *  give the same answers. Process-wide and not thread-safe: set it before
 *  any state is stepped. Returns the previous setting. */
int det_shape_force_scalar(int on);

#endif
