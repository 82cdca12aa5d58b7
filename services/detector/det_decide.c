/*
 * det_decide — the decision state machine of one scored reading (the
 * rules are listed in det_engine.h and docs/detector.md):
 *
 *   IDLE --candidate--> PENDING --calm--> point alert, IDLE
 *                               --sustained--> CONTEXT | CHANGE (alert)
 *   CHANGE --end_n calm readings--> change end alert, IDLE
 *   IDLE --absurd--> POINT (alert) ; IDLE --stuck run--> STUCK (alert)
 *
 * One reading is judged in a `step`: everything computed from it once
 * (features, score, whether it is a candidate, whether it is calm), then
 * handed to the function of the stream's current state. A reading that is
 * part of an event is not learned (det_decide returns 0).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "det_internal.h"

/* One reading of one stream, as the decision sees it. */
typedef struct {
    det_engine *e;
    const det_config *c;
    det_sensor *sen;
    det_stream *st;
    det_model *md;
    det_sink *out;
    double ts, x, score; /* score: NAN until step_score computes it */
    const iforest *forest;
    double *score_p; /* the caller's copy of score */
    const float *vec;
    const tsfeatures_info *info;
    const det_shape_info *shi;
    double zc, zr, sh, sp, jump;
    int absurd, jumped, material, candidate, calm_now, repeated, bin;
    unsigned stuck_need;
    det_pending cur;
    int learn;
} step;

/* Is this a value that is usual at another time of day (contextual)
 * rather than a new level (change point)? Judged on the pending reading:
 * the onset was smooth (no step from the previous reading) and the value
 * is closer to what is expected 12 hours away, or inside the day's range. */
static int looks_contextual(const det_engine *e, const det_stream *st, const det_pending *p)
{
    if (!st->fs.phase)
        return 0; /* no daily profile yet: no context to judge by */
    double dev = fabs(p->value - p->expected);
    double step = fabs(p->vec[TSFEATURE_DELTA1]);
    if (step > e->cfg.z_min)
        return 0; /* it jumped: a level change */
    double other, osd;
    if (tsfeatures_expected(&st->fs, p->ts + 43200.0, &other, &osd) &&
        fabs(p->value - other) < 0.5 * dev)
        return 1;
    return p->value >= p->day_lo && p->value <= p->day_hi;
}

/* ---- routines -----------------------------------------------------------
 * A change that starts at the same time of day as one did yesterday, and
 * covers the hours yesterday's did, is a routine (a heating schedule, a
 * daily shift pattern) or proof that the learned daily profile is wrong
 * there (it was learned from a day with an undetected event in it): either
 * way it is learned rather than reported again, and the profile bins it
 * touches are rewritten quickly. Two 48-bit masks per day. */

static void routine_roll(det_stream *st, double ts)
{
    int32_t day = (int32_t)floor(ts / 86400.0);
    if (day == st->rt_day)
        return;
    int next = day == st->rt_day + 1;
    st->rt_start[1] = next ? st->rt_start[0] : 0;
    st->rt_flag[1] = next ? st->rt_flag[0] : 0;
    st->rt_start[0] = st->rt_flag[0] = 0;
    st->rt_day = day;
}

static int bin_near(uint64_t mask, int b)
{
    int lo = (b + TSFEATURES_BINS - 1) % TSFEATURES_BINS, hi = (b + 1) % TSFEATURES_BINS;
    return (int)(((mask >> b) | (mask >> lo) | (mask >> hi)) & 1u);
}

/* Learn this reading as part of a routine: rewrite its bin once a day. */
static void routine_learn(det_stream *st, double ts)
{
    int b = tsfeatures_bin(ts);
    if (!((st->rt_flag[0] >> b) & 1u))
        tsfeatures_relearn_bin(&st->fs, ts);
    st->rt_flag[0] |= 1ull << b;
}

void det_stream_reset(det_stream *st)
{
    int16_t model = st->model;
    det_shape *shape = st->shape; /* shapes stay known across a new normal */
    memset(st, 0, sizeof(*st));
    st->model = model;
    st->shape = shape;
    tsfeatures_init(&st->fs);
}

/* An event is over: back to normal, where the next EVENT_COOLDOWN
 * readings may not start another event unless physically absurd (see
 * ST_IDLE), so the tail of this one is not reported a second time. */
static void end_event(det_stream *st)
{
    st->state = ST_IDLE;
    st->cooldown = EVENT_COOLDOWN;
}

/* Whether the run ending at this reading has a shape the stream showed
 * before (judged only when it matters: it is the last test of a candidate). */
static int seen_shape(const step *s)
{
    if (!s->st->shape)
        return 0;
    det_shape_info now;
    det_shape_now(s->st->shape, &now);
#ifdef DET_TRACE
    fprintf(stderr, "S raw=%.3f base=%.3f z=%.2f\n", now.raw, now.baseline, now.z);
#endif
    /* Seen: the run is as close to an earlier one as runs usually are,
     * and that run ended where this one does (it explains at least half of
     * the deviation the forest flags), so a spike on a curve seen before
     * is still new. */
    return !(now.z >= s->c->shape_p.confirm_z) && now.tail < 0.5 * fabs(s->x - s->info->expected);
}

int det_calm(const det_config *c, const float *vec)
{
    return fabs(vec[TSFEATURE_SHIFT]) < c->shift_min / 2 &&
           fabs(vec[TSFEATURE_Z_CONTEXT]) < c->z_min / 2 &&
           vec[TSFEATURE_SPREAD] < c->spread_min / 2;
}

/* The forest's score of this reading, computed on first use: a reading
 * that is neither material, absurd nor stuck cannot alert, whatever its
 * score, so most readings never need one. */
static double step_score(step *s)
{
    if (isnan(s->score)) {
        s->score = iforest_score(s->forest, s->vec);
        *s->score_p = s->score;
    }
    return s->score;
}

static int stuck_now(const step *s);

static void step_init(step *s)
{
    const det_config *c = s->c;
    det_stream *st = s->st;
    const float *vec = s->vec;
    s->zc = vec[TSFEATURE_Z_CONTEXT];
    s->zr = vec[TSFEATURE_Z_RECENT];
    s->sh = vec[TSFEATURE_SHIFT];
    s->sp = vec[TSFEATURE_SPREAD];
    s->repeated = st->fs.nlag > 0 && (float)s->x == st->last;
    s->absurd = det_physically_absurd(s->md->unit, s->x) ||
                (fabs(s->zc) >= c->z_absurd && fabs(s->zr) >= c->z_absurd);
    /* A step far beyond this sensor's usual reading-to-reading change
     * is material even when the value stays inside the range the
     * weather makes usual: outdoor residual spreads are wide, the
     * noise between two readings is not. The value must also stand
     * out from the recent readings (half z_min of their spread), so a
     * smooth, slow signal's small step is not an event. */
    s->jump = fabs(vec[TSFEATURE_DELTA1]);
    s->jumped = st->fs.nlag > 0 && s->jump >= c->jump_min && fabs(s->zr) >= c->z_min / 2;
    s->material = fabs(s->zc) >= c->z_min || fabs(s->sh) >= c->shift_min ||
                  s->sp >= c->spread_min || s->jumped;
    /* With the shape detector on, a run shaped like one seen before
     * (a stream that spikes every hour, a square wave) is this
     * stream's normal, however the forest scores the reading. */
    s->stuck_need = (unsigned)c->stuck_min;
    if (s->stuck_need < 2u * st->max_run + 2u)
        s->stuck_need = 2u * st->max_run + 2u;
    if (s->absurd || stuck_now(s))
        step_score(s); /* an alert from it carries the score */
    s->candidate = s->absurd || (s->material &&
                                 step_score(s) >= det_engine_threshold(s->e, s->sen->id) &&
                                 !seen_shape(s));
    s->calm_now = det_calm(c, vec);
    det_pending cur = {.ts = s->ts,
                       .value = s->x,
                       .score = isnan(s->score) ? 0.0 : s->score,
                       .expected = s->info->expected,
                       .sd = s->info->expected_sd,
                       .prev = st->fs.nlag > 0 ? st->fs.lag[0] : s->x,
                       .noise = s->info->step_noise,
                       .version = s->md->version};
    memcpy(cur.vec, vec, sizeof(cur.vec));
    if (s->candidate)
        tsfeatures_day_range(&st->fs, &cur.day_lo, &cur.day_hi);
    s->cur = cur;
    s->learn = 1;
}

static void trace(const step *s)
{
#ifdef DET_TRACE
    static const char *tr_id, *tr_m;
    if (!tr_id) {
        tr_id = getenv("TRACE_ID") ? getenv("TRACE_ID") : "";
        tr_m = getenv("TRACE_M") ? getenv("TRACE_M") : "";
    }
    if (strcmp(tr_id, s->sen->id) == 0 && strcmp(tr_m, s->md->metric) == 0)
        fprintf(stderr,
                "T %.0f x=%.3f st=%d cd=%d sc=%.3f zc=%.2f zr=%.2f sh=%.2f sp=%.2f d1=%.2f "
                "cand=%d mat=%d jumped=%d exp=%.2f esd=%.3f rt=%d\n",
                s->ts, s->x, s->st->state, s->st->cooldown, s->score, s->zc, s->zr, s->sh, s->sp,
                s->jump, s->candidate, s->material, s->jumped, s->info->expected,
                s->info->expected_sd, s->st->routine);
#else
    (void)s;
#endif
}

static void alert(step *s, anomaly_type type, const det_pending *p, anomaly *a)
{
    det_alert_fill(a, s->sen->id, s->md->metric, type, p);
}

/* A physically absurd value always alerts, whatever the stream is doing
 * (an open change, a stuck run, a pending spike): it is a broken sensor
 * or a broken message, never part of another event. A run of absurd
 * values is one event. Returns 1 when the reading was handled here. */
static int decide_insane(step *s)
{
    det_stream *st = s->st;
    anomaly a;
    if (!det_physically_absurd(s->md->unit, s->x) || st->state == ST_IDLE)
        return 0;
    s->learn = 0;
    if (st->was_absurd)
        return 1; /* the same absurd run */
    if (st->state == ST_PENDING) {
        alert(s, ANOMALY_POINT, &st->p, &a);
        det_explain_point(s->e, s->md, &a, &st->p, NULL);
        det_emit(s->e, s->out, &a);
        st->state = ST_POINT;
    } else if (st->state == ST_STUCK) {
        st->state = ST_POINT;
    }
    alert(s, ANOMALY_POINT, &s->cur, &a);
    det_explain_point(s->e, s->md, &a, &s->cur, " (a value no working sensor reports)");
    det_emit(s->e, s->out, &a);
    return 1;
}

/* Inside a routine (see above): still inside the hours yesterday's event
 * covered, a candidate is learned. Returns 1 when handled here. */
static int decide_routine(step *s)
{
    det_stream *st = s->st;
    if (st->state != ST_IDLE || !st->routine)
        return 0;
    if (!bin_near(st->rt_flag[1] | st->rt_start[1], s->bin))
        st->routine = 0;
    else if (s->candidate && !s->absurd && !s->jumped) {
        routine_learn(st, s->ts);
        return 1;
    }
    return 0;
}

static int stuck_now(const step *s)
{
    return s->st->same_run + 1u >= s->stuck_need && !det_saturated(s->md->unit, s->x, &s->st->fs);
}

static void decide_idle(step *s)
{
    det_stream *st = s->st;
    anomaly a;
    if (st->cooldown > 0)
        st->cooldown--;
    if (stuck_now(s)) {
        alert(s, ANOMALY_POINT, &s->cur, &a);
        a.score = s->score > 0.5 ? s->score : 0.5;
        det_explain_stuck(&a, s->md->unit, st->same_run + 1u, st->max_run + 1u);
        det_emit(s->e, s->out, &a);
        st->state = ST_STUCK;
        s->learn = 0;
    } else if (s->candidate && (st->cooldown == 0 || s->absurd)) {
        s->learn = 0;
        if (s->absurd) {
            alert(s, ANOMALY_POINT, &s->cur, &a);
            det_explain_point(s->e, s->md, &a, &s->cur,
                              det_physically_absurd(s->md->unit, s->x)
                                  ? " (a value no working sensor reports)"
                                  : NULL);
            det_emit(s->e, s->out, &a);
            st->state = ST_POINT;
        } else {
            st->p = s->cur;
            st->pend_n = 1;
            st->state = ST_PENDING;
        }
    }
}

/* The pending reading was sustained: open a contextual event or a change. */
static void open_event(step *s, double pj, int pjump, int erratic)
{
    const det_config *c = s->c;
    det_stream *st = s->st;
    anomaly a;
    s->learn = 0;
    st->rt_start[0] |= 1ull << tsfeatures_bin(st->p.ts);
    /* A noise change raises the reading-to-reading steps; a shift or an
     * out-of-hours value raises only the residual (both raise the
     * residual variance, the spread feature). */
    int spread = (st->p.vec[TSFEATURE_SPREAD] >= c->spread_min && st->p.noise >= NOISE_MIN) ||
                 (s->sp >= c->spread_min && fabs(s->sh) < c->shift_min &&
                  s->info->step_noise >= NOISE_MIN) ||
                 erratic;
    st->jump = (pjump && !spread) ? pj : 0.0;
    st->base_v = st->p.prev;
    st->base_exp = st->p.expected;
    if (!spread && !pjump && looks_contextual(s->e, st, &st->p)) {
        alert(s, ANOMALY_CONTEXTUAL, &st->p, &a);
        det_explain_context(s->e, s->md, &a, &st->p);
        st->state = ST_CONTEXT;
    } else {
        st->change = spread ? CH_SPREAD : CH_SHIFT;
        alert(s, ANOMALY_CHANGE_POINT, &st->p, &a);
        det_explain_change_start(s->e, s->md, &a, &st->p, st->change);
        st->state = ST_CHANGE;
    }
    det_emit(s->e, s->out, &a);
    st->ev_ts = st->p.ts;
    st->calm = 0;
}

static void decide_pending(step *s)
{
    det_stream *st = s->st;
    double x = s->x;
    /* A jump that holds: the reading after it is still more than half the
     * jump away from the level it left. */
    double pj = st->p.value - st->p.prev;
    int pjump = fabs(st->p.vec[TSFEATURE_DELTA1]) >= s->c->jump_min;
    int holds = pjump && (x - st->p.prev) * pj > 0 && fabs(x - st->p.prev) >= 0.5 * fabs(pj);
    /* Straight back to the level it left: a spike or a drop. */
    int returned = pjump && fabs(x - st->p.prev) < 0.5 * fabs(pj);
    /* Jumping again, elsewhere: the noise grew. */
    int erratic = pjump && s->jumped && !holds && !returned;
    int pbin = tsfeatures_bin(st->p.ts);
    if (!returned && (s->candidate || holds) && bin_near(st->rt_start[1], pbin)) {
        /* It started at this time yesterday too: a routine. */
        st->rt_start[0] |= 1ull << pbin;
        routine_learn(st, st->p.ts);
        routine_learn(st, s->ts);
        st->routine = 1;
        st->state = ST_IDLE;
    } else if (!returned && (s->candidate || holds)) {
        open_event(s, pj, pjump, erratic); /* sustained */
    } else {
        /* Back to normal at once: it was a point anomaly. */
        anomaly a;
        alert(s, ANOMALY_POINT, &st->p, &a);
        det_explain_point(s->e, s->md, &a, &st->p, NULL);
        det_emit(s->e, s->out, &a);
        end_event(st);
    }
}

/* Is an open change or contextual event calm at this reading? A step back
 * towards the expectation, of at least half the deviation just before it:
 * the change ended there (a drift or a shift snapping back). From then on
 * the readings are judged against the level the step reached, moved along
 * with the expected daily course, because the expectation learned before
 * the change may be stale by now (weather). */
static int open_calm(step *s)
{
    det_stream *st = s->st;
    const double x = s->x, expected = s->info->expected;
    int calm_now = s->calm_now;
    double prev_v = st->fs.nlag > 0 ? st->fs.lag[0] : x;
    double dev_prev = prev_v - expected, stepv = x - prev_v;
    if (st->fs.nlag > 0 && !st->was_absurd && s->jump >= s->c->jump_min && stepv * dev_prev < 0 &&
        fabs(stepv) >= 0.5 * fabs(dev_prev) && st->change == CH_SHIFT) {
        st->jump = 0.0;
        st->back = stepv;
        st->back_v = x;
        st->back_exp = expected;
        calm_now = 1;
    } else if (st->back != 0.0) {
        double lvl = st->back_v + (expected - st->back_exp);
        calm_now = fabs(x - lvl) < 0.35 * fabs(st->back) && !s->jumped;
        if (!calm_now)
            st->back = 0.0;
    } else if (st->jump != 0.0) {
        /* Back when it jumps back (a step of at least half the first, the
         * other way), or when near the level the jump left, moved along
         * with the expected daily course since. */
        double back = st->base_v + (expected - st->base_exp);
        double step = st->fs.nlag > 0 && !st->was_absurd ? x - st->fs.lag[0] : 0.0;
        if (step * st->jump < 0 && fabs(step) >= 0.5 * fabs(st->jump)) {
            st->jump = 0.0;
            calm_now = 1;
        } else {
            calm_now = calm_now && fabs(x - back) < 0.35 * fabs(st->jump);
        }
    } else if (st->change == CH_SPREAD) {
        calm_now = calm_now && !s->jumped;
    }
    return calm_now;
}

static void decide_open(step *s)
{
    det_stream *st = s->st;
    s->learn = 0;
    st->rt_flag[0] |= 1ull << s->bin;
    int calm_now = open_calm(s);
    if (calm_now && st->calm == 0) {
        st->calm_ts = s->ts;
        st->calm_v = s->x;
    }
    st->calm = calm_now ? st->calm + 1 : 0;
    if (st->calm >= s->c->end_n) {
        if (st->state == ST_CHANGE) {
            /* Decided end_n calm readings later, but the change ended at
             * the first of them: the alert says when. */
            anomaly a;
            s->cur.ts = st->calm_ts;
            s->cur.value = st->calm_v;
            s->cur.score = step_score(s); /* the end alert carries this reading's score */
            alert(s, ANOMALY_CHANGE_POINT, &s->cur, &a);
            det_explain_change_end(&a, s->md->unit, &s->cur, st->ev_ts, 0);
            det_emit(s->e, s->out, &a);
        }
        end_event(st);
        st->back = 0.0;
        s->learn = 1;
    } else if (s->ts - st->ev_ts > s->c->change_max_s) {
        /* Never back: the old normal is gone. No alert (nothing ended;
         * the start was reported), the sensor is re-learned. */
        log_info("change_accepted sensor=%s metric=%s hours=%.1f", s->sen->id, s->md->metric,
                 (s->ts - st->ev_ts) / 3600.0);
        det_stream_reset(st);
        s->learn = 1;
    }
}

int det_decide(det_engine *e, det_sensor *sen, det_stream *st, double ts, double x,
               const float *vec, const tsfeatures_info *info, const iforest *forest,
               double *score, const det_shape_info *shi, det_sink *out)
{
    step s = {.e = e,
              .c = &e->cfg,
              .sen = sen,
              .st = st,
              .md = &e->models[st->model],
              .out = out,
              .ts = ts,
              .x = x,
              .score = *score,
              .forest = forest,
              .score_p = score,
              .vec = vec,
              .info = info,
              .shi = shi};
    step_init(&s);
    int handled = decide_insane(&s);
    trace(&s);
    routine_roll(st, ts);
    s.bin = tsfeatures_bin(ts);
    if (!handled)
        handled = decide_routine(&s);
    /* Stuck: the value has not moved for far longer than usual, and not
     * at a saturation limit (100 %RH in fog is real). Checked in an open
     * change too: a sensor that froze is a new event. */
    if (!handled && stuck_now(&s) &&
        (st->state == ST_IDLE || st->state == ST_CHANGE || st->state == ST_CONTEXT)) {
        st->state = ST_IDLE;
        st->routine = 0;
        st->cooldown = 0;
    }
    switch (handled ? -1 : st->state) {
    case ST_IDLE:
        decide_idle(&s);
        break;
    case ST_PENDING:
        decide_pending(&s);
        break;
    case ST_POINT:
        if (s.candidate)
            s.learn = 0;
        else
            end_event(st);
        break;
    case ST_STUCK:
        if (s.repeated)
            s.learn = 0;
        else
            end_event(st);
        break;
    case ST_CHANGE:
    case ST_CONTEXT:
        decide_open(&s);
        break;
    }
    return s.learn;
}
