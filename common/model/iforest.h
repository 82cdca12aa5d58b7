/*
 * iforest — Isolation Forest (Liu, Ting & Zhou, ICDM 2008) for streaming
 * scoring: train once on a sample, then score each new point in well under
 * a microsecond without allocating.
 *
 * Definition (the unit tests check these):
 *   - each tree is grown on a subsample of psi points drawn without
 *     replacement; a node splits on a random feature (among those not
 *     constant in the node) at a threshold uniform in (min, max); growth
 *     stops at depth ceil(log2 psi) or when a node holds one point;
 *   - the path length h(x) of a point in a tree is the depth of its leaf
 *     plus c(size of the leaf), c(n) = 2 H(n-1) - 2 (n-1)/n, the average
 *     path length of an unsuccessful search in a binary search tree of n
 *     keys (c(2) = 1, c(1) = c(0) = 0, H(i) ~ ln i + 0.5772156649);
 *   - the score is s(x) = 2^(-E[h(x)] / c(psi)), in (0, 1]: near 1 for
 *     points isolated quickly, about 0.5 or less for ordinary points.
 *
 * Layout: every tree is stored as a complete binary tree of depth D (the
 * depth limit): 2^D - 1 split nodes {threshold, feature} followed by 2^D
 * leaf values (depth + c(size), precomputed). A node that became a leaf
 * above depth D is stored as a "pass-through" split with threshold +inf, so
 * a point always walks exactly D steps with i = 2i + 1 + (x[f] > t): no
 * branches to mispredict, children found by arithmetic, one tree in a few
 * KiB. Scoring advances all trees one level at a time, so their loads
 * overlap.
 *
 * Determinism: training uses its own PRNG (splitmix64) seeded from the
 * params, so the same data and seed give a bit-identical forest.
 *
 * Thread-safety: a trained forest is immutable; any number of threads may
 * score with it concurrently. Training allocates; scoring never does.
 */
#ifndef COMMON_IFOREST_H
#define COMMON_IFOREST_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define IFOREST_MAX_DIM 32   /* features per point */
#define IFOREST_MAX_DEPTH 14 /* depth limit (psi up to 16384) */
#define IFOREST_MAX_TREES 4096
#define IFOREST_FILE_VERSION 1

/** Error codes (negative). */
enum {
    IFOREST_ERR_ARG = -1,      /* invalid argument (dim, n, params out of range) */
    IFOREST_ERR_NOMEM = -2,    /* allocation failed */
    IFOREST_ERR_IO = -3,       /* read/write failed or file truncated */
    IFOREST_ERR_FORMAT = -4,   /* bad magic, unsupported version, invalid field */
    IFOREST_ERR_CHECKSUM = -5, /* contents do not match the stored checksum */
};

typedef struct {
    int ntrees;    /* number of trees (default 100) */
    int psi;       /* subsample size per tree (default 256) */
    int max_depth; /* depth limit; 0 = ceil(log2(psi)) as in the paper */
    uint64_t seed; /* PRNG seed; same seed + same data = same forest */
} iforest_params;

typedef struct iforest iforest; /* opaque, immutable once trained */

/** Fill *p with the defaults (100 trees, psi 256, depth ceil(log2 psi), seed 1). */
void iforest_params_default(iforest_params *p);

/** c(n): average path length of an unsuccessful BST search among n points. */
double iforest_c(double n);

/** Short name of an IFOREST_ERR_* code. */
const char *iforest_strerror(int err);

/** Train a forest.
 *  Returns: 0, IFOREST_ERR_ARG (n < 2, dim outside 1..IFOREST_MAX_DIM, bad
 *           params, non-finite input), or IFOREST_ERR_NOMEM.
 *  Out: *out: the forest, owned by the caller (iforest_destroy).
 *  In:  p: parameters (NULL for defaults); x: n points of dim floats,
 *       row-major (x[i*dim + j]); not retained. When n < psi all n points
 *       are used per tree and c(n) normalises the score.
 *  May take milliseconds (100 trees x 256 points: about 1 ms). */
int iforest_train(iforest **out, const iforest_params *p, const float *x, size_t n, int dim);

/** Free a forest. NULL is ok. */
void iforest_destroy(iforest *f);

/** Anomaly score s(x) in (0, 1] of one point of iforest_dim(f) floats.
 *  Allocates nothing; thread-safe. Non-finite features are treated as
 *  "go left" at every split (callers should not pass them). */
double iforest_score(const iforest *f, const float *x);

/** Mean path length E[h(x)] over the trees (the score is 2^(-E[h]/c(psi))). */
double iforest_path_length(const iforest *f, const float *x);

/** Score n points (row-major) into out[0..n-1]; same values as
 *  iforest_score, faster for batches. Allocates nothing. */
void iforest_score_batch(const iforest *f, const float *x, size_t n, double *out);

/** Explain the score of x from its isolation paths.
 *  Out: contrib[0..dim-1]: share of each feature in isolating x, summing to
 *       1 (each split on x's path in each tree adds 1/h of that tree, so
 *       features that cut x off in short paths weigh most); may be NULL.
 *       *splits: mean number of real splits on x's paths (the "isolated
 *       after N splits"); may be NULL.
 *       *normal_splits: mean number of splits expected for an ordinary
 *       point, c(psi); may be NULL.
 *  Returns: the score s(x), as iforest_score. Allocates nothing. */
double iforest_explain(const iforest *f, const float *x, double *contrib, double *splits,
                       double *normal_splits);

/** Shape accessors. Returns: the feature vector length the forest was
 *  trained on (iforest_dim), its number of trees (iforest_ntrees), and
 *  the depth every tree is stored at (iforest_depth: 2^depth leaves per
 *  tree). In: f, not NULL. Thread-safe; allocate nothing. */
int iforest_dim(const iforest *f);
int iforest_ntrees(const iforest *f);
/** Points actually used per tree (min(psi, n)). */
int iforest_psi(const iforest *f);
int iforest_depth(const iforest *f);
/** Heap bytes held by the forest. */
size_t iforest_bytes(const iforest *f);

/** Serialise to an open stream: header (magic "IFOR", version, shape,
 *  seed), the node and leaf arrays (little-endian), and an FNV-1a 64
 *  checksum of everything before it.
 *  Returns: 0 or IFOREST_ERR_IO. */
int iforest_write(const iforest *f, FILE *fp);

/** Read what iforest_write wrote, from the current position of fp.
 *  Returns: 0; IFOREST_ERR_IO (short read), IFOREST_ERR_FORMAT (magic,
 *           version or a field out of range), IFOREST_ERR_CHECKSUM,
 *           IFOREST_ERR_NOMEM.
 *  Out: *out: the forest, owned by the caller. */
int iforest_read(iforest **out, FILE *fp);

/** iforest_write/iforest_read to/from a file. Saving writes a temporary
 *  file and renames it, so a crash never leaves a half-written model.
 *  Returns: as iforest_write / iforest_read; also IFOREST_ERR_IO when the
 *           file cannot be opened, and (save) IFOREST_ERR_ARG when path is
 *           too long for its temporary name.
 *  Out: *out (load): the forest, owned by the caller (iforest_destroy);
 *       NULL on error.
 *  In:  path: not kept. May block on disk I/O. */
int iforest_save(const iforest *f, const char *path);
int iforest_load(iforest **out, const char *path);

/** Bit-exact equality of two forests (shape, seed and every node). */
int iforest_equal(const iforest *a, const iforest *b);

#endif
