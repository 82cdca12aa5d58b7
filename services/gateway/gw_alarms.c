/*
 * gw_alarms — see gw_alarms.h. The table is one array of records (slots
 * reused after eviction) searched linearly: at the bound of 10,000 alarms
 * a scan is a few microseconds, far below the rate anomalies arrive at,
 * and it keeps removal and persistence trivial. Streams the detector says
 * are in alarm are kept in a second small array (only those in alarm, so
 * it stays the size of what is alarming).
 */
#include "gw_alarms.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/clock.h"
#include "base/hex.h"
#include "base/log.h"
#include "bus/chain_logged.h"
#include "eth/anomaly_log.h"

#define NOTE_KEPT 128 /* bytes of a note kept in an alarm's history */
#define STATE_VERSION 1

typedef struct {
    char id[ANOMALY_ID_HEX];
    int64_t at;
    double value, score;
} hist_anomaly;

typedef struct {
    alarm_event_type event;
    int64_t at;
    char by[ALARM_WHO_MAX];
    char note[NOTE_KEPT];
    /* the on-chain audit record of this action (eth/anomaly_log.h, kind 0x01) */
    int audited; /* 1: the chain logger logs it; eid is its id */
    uint8_t eid[32];
    int logged; /* 1: chain/logged confirmed it (the fields below) */
    char tx[CHAIN_LOGGED_TX_HEX];
    int64_t block, seq, batch; /* seq, batch: -1 when the confirmation lacked them */
} hist_action;

typedef struct {
    int used;
    uint64_t seq;       /* order of opening, for pages */
    int64_t calm_since; /* when the stream last left its alarm state (ms), 0 = not seen */
    int long_bumped;    /* severity already raised for lasting sev_long_s */
    char last_repeat[ANOMALY_ID_HEX]; /* last_id of the detector's last repeat summary */
    alarm_obj a;
    int nanom, nact; /* entries held (ring order: oldest overwritten) */
    hist_anomaly anom[GW_ALARMS_HISTORY];
    hist_action act[GW_ALARMS_ACTIONS];
} rec;

typedef struct {
    char sensor_id[SENSOR_ID_MAX];
    char metric[READING_NAME_MAX]; /* "" = every metric */
    int64_t until;
} mute;

typedef struct {
    char sensor_id[SENSOR_ID_MAX];
    char metric[READING_NAME_MAX];
} stream_key;

typedef struct {
    char sensor[SENSOR_ID_MAX]; /* prefix; "" = every sensor */
    char kind[ALARM_KIND_MAX];  /* "*" = every kind */
    double calm_s;
} calm_rule;

struct gw_alarms {
    pthread_mutex_t mu;
    calm_rule rules[GW_ALARMS_CALM_RULES];
    size_t nrules;
    gw_alarms_options o;
    char *path;
    rec *r;
    size_t nslots, cap; /* slots in use (used or free), allocated */
    stream_key *hot;    /* streams in alarm now */
    size_t nhot, hotcap;
    mute mutes[GW_ALARMS_MUTES];
    size_t nmutes;
    alarm_obj *scratch; /* a sensor's active alarms, for emit */
    size_t scratchcap;
    size_t nsilent; /* active silent alarms: readings skip the scan when 0 */
    uint64_t seq;
    int dirty;
    int64_t last_save;
    gw_alarms_stats st;
};

/* ---- severity ---------------------------------------------------------- */

static alarm_severity up(alarm_severity s)
{
    return s == ALARM_CRITICAL ? s : (alarm_severity)(s - 1);
}

alarm_severity gw_alarms_severity(const gw_alarms_options *o, const char *kind, double score,
                                  double value, double lo, double hi, double active_s)
{
    double far = 0; /* range widths outside the expected range */
    if (isfinite(lo) && isfinite(hi) && hi > lo && isfinite(value))
        far = value > hi ? (value - hi) / (hi - lo) : value < lo ? (lo - value) / (hi - lo) : 0;
    if (strcmp(kind, "silent") == 0 || (o->sev_absurd > 0 && far >= o->sev_absurd))
        return ALARM_CRITICAL;
    alarm_severity s = score >= o->sev_major_score   ? ALARM_MAJOR
                       : score >= o->sev_minor_score ? ALARM_MINOR
                                                     : ALARM_WARNING;
    if (o->sev_far > 0 && far >= o->sev_far)
        s = up(s);
    if (o->sev_long_s > 0 && active_s >= o->sev_long_s)
        s = up(s);
    return s;
}

/* ---- helpers (lock held) ---------------------------------------------- */

static void copy_cut(char *dst, size_t cap, const char *src)
{
    size_t n = src ? strlen(src) : 0;
    if (n >= cap) {
        n = cap - 1;
        while (n > 0 && ((unsigned char)src[n] & 0xC0) == 0x80)
            n--; /* never split a UTF-8 character */
    }
    if (n)
        memcpy(dst, src, n);
    dst[n] = '\0';
}

static rec *find_active(gw_alarms *a, const char *sensor, const char *metric, const char *kind)
{
    for (size_t i = 0; i < a->nslots; i++) {
        rec *r = &a->r[i];
        if (r->used && r->a.state == ALARM_ACTIVE && strcmp(r->a.sensor_id, sensor) == 0 &&
            strcmp(r->a.metric, metric) == 0 && strcmp(r->a.kind, kind) == 0)
            return r;
    }
    return NULL;
}

static rec *find_id(gw_alarms *a, const char *id)
{
    for (size_t i = 0; i < a->nslots; i++)
        if (a->r[i].used && strcmp(a->r[i].a.id, id) == 0)
            return &a->r[i];
    return NULL;
}

static ssize_t hot_find(const gw_alarms *a, const char *sensor, const char *metric)
{
    for (size_t i = 0; i < a->nhot; i++)
        if (strcmp(a->hot[i].sensor_id, sensor) == 0 && strcmp(a->hot[i].metric, metric) == 0)
            return (ssize_t)i;
    return -1;
}

static int64_t mute_until(const gw_alarms *a, const char *sensor, const char *metric, int64_t now)
{
    int64_t until = 0;
    for (size_t i = 0; i < a->nmutes; i++) {
        const mute *m = &a->mutes[i];
        if (m->until > now && strcmp(m->sensor_id, sensor) == 0 &&
            (!m->metric[0] || strcmp(m->metric, metric) == 0) && m->until > until)
            until = m->until;
    }
    return until;
}

static int by_severity(const void *x, const void *y)
{
    const alarm_obj *p = x, *q = y;
    if (p->severity != q->severity)
        return (int)p->severity - (int)q->severity;
    return p->opened_at < q->opened_at ? 1 : p->opened_at > q->opened_at ? -1 : 0;
}

static void record_action(rec *r, alarm_event_type ev, int64_t at, const char *by, const char *note)
{
    if (r->nact == GW_ALARMS_ACTIONS) {
        memmove(&r->act[0], &r->act[1], sizeof r->act[0] * (GW_ALARMS_ACTIONS - 1));
        r->nact--;
    }
    hist_action *h = &r->act[r->nact++];
    memset(h, 0, sizeof *h);
    h->event = ev;
    h->at = at;
    copy_cut(h->by, sizeof h->by, by);
    copy_cut(h->note, sizeof h->note, note);
    /* The id the chain logger gives this event's record: the proof is
     * matched by it when chain/logged confirms it (gw_alarms_mark_logged). */
    alarm_log_event le;
    memset(&le, 0, sizeof le);
    le.event = ev;
    le.at = at;
    copy_cut(le.sensor_id, sizeof le.sensor_id, r->a.sensor_id);
    copy_cut(le.metric, sizeof le.metric, r->a.metric);
    copy_cut(le.alarm_id, sizeof le.alarm_id, r->a.id);
    h->audited = anomaly_log_alarm_event_logged(ev) && anomaly_log_alarm_make_id(&le) == 0 &&
                 hex_decode(h->eid, 32, le.id) == 32;
}

int gw_alarms_mark_logged(gw_alarms *a, const char *sensor_id, const char *id_hex,
                          const char *tx_hash, int64_t block, int64_t seq, int64_t batch)
{
    uint8_t id[32];
    int found = 0;
    if (!a || !sensor_id || !tx_hash || !id_hex || hex_decode(id, 32, id_hex) != 32)
        return 0;
    pthread_mutex_lock(&a->mu);
    for (size_t i = 0; i < a->nslots && !found; i++) {
        rec *r = &a->r[i];
        if (!r->used || strcmp(r->a.sensor_id, sensor_id) != 0)
            continue;
        for (int k = 0; k < r->nact; k++) {
            hist_action *h = &r->act[k];
            if (!h->audited || memcmp(h->eid, id, 32) != 0)
                continue;
            h->logged = 1;
            copy_cut(h->tx, sizeof h->tx, tx_hash);
            h->block = block;
            h->seq = seq;
            h->batch = batch;
            a->dirty = 1;
            found = 1;
            break;
        }
    }
    pthread_mutex_unlock(&a->mu);
    return found;
}

/* Tell the world: history, then the callback with the sensor's active
 * alarms, most severe first. */
static void emit(gw_alarms *a, rec *r, alarm_event_type type, int64_t now, const char *by,
                 const char *note)
{
    a->dirty = 1;
    if (type != ALARM_EV_UPDATED)
        record_action(r, type, now, by, note);
    if (!a->o.emit)
        return;
    size_t n = 0;
    int short_list = 0;
    for (size_t i = 0; i < a->nslots; i++) {
        const rec *q = &a->r[i];
        if (!q->used || q->a.state != ALARM_ACTIVE || strcmp(q->a.sensor_id, r->a.sensor_id))
            continue;
        if (n == a->scratchcap) {
            size_t nc = a->scratchcap ? 2 * a->scratchcap : 16;
            alarm_obj *p = realloc(a->scratch, nc * sizeof *p);
            if (!p) {
                short_list = 1; /* active_total undercounts: logged below */
                break;
            }
            a->scratch = p;
            a->scratchcap = nc;
        }
        a->scratch[n++] = q->a;
    }
    if (short_list)
        log_rate(28, 60, LOG_WARN, "alarms_emit_list_short sensor_id=%s", r->a.sensor_id);
    qsort(a->scratch, n, sizeof *a->scratch, by_severity);
    alarm_event ev;
    memset(&ev, 0, sizeof ev);
    ev.event = type;
    ev.at = now;
    copy_cut(ev.by, sizeof ev.by, by);
    copy_cut(ev.note, sizeof ev.note, note);
    ev.alarm = r->a;
    a->o.emit(a->o.emit_user, &ev, a->scratch, n);
}

static void clear_rec(gw_alarms *a, rec *r, int64_t now, const char *by)
{
    r->a.state = ALARM_CLEARED;
    r->a.cleared_at = now ? now : 1;
    if (strcmp(r->a.kind, "silent") == 0 && a->nsilent)
        a->nsilent--;
    a->st.cleared++;
    emit(a, r, ALARM_EV_CLEARED, now, by, NULL);
}

/* A free slot: unused, a new one, or the cleared alarm cleared longest
 * ago (evicted). NULL when every slot holds an active alarm. */
static rec *take_slot(gw_alarms *a)
{
    for (size_t i = 0; i < a->nslots; i++)
        if (!a->r[i].used)
            return &a->r[i];
    if (a->nslots < a->o.max_alarms) {
        if (a->nslots == a->cap) {
            size_t nc = a->cap ? 2 * a->cap : 64;
            if (nc > a->o.max_alarms)
                nc = a->o.max_alarms;
            rec *p = realloc(a->r, nc * sizeof *p);
            if (!p)
                return NULL;
            a->r = p;
            a->cap = nc;
        }
        memset(&a->r[a->nslots], 0, sizeof a->r[0]);
        return &a->r[a->nslots++];
    }
    rec *old = NULL;
    for (size_t i = 0; i < a->nslots; i++) {
        rec *r = &a->r[i];
        if (r->a.state == ALARM_CLEARED && (!old || r->a.cleared_at < old->a.cleared_at))
            old = r;
    }
    if (old)
        a->st.evicted++;
    return old;
}

/* silent and stuck come from det_silent, whose state says exactly when
 * they end: cleared by that state (or, silent, by any reading), never by
 * time. */
static int state_driven(const char *kind)
{
    return strcmp(kind, "silent") == 0 || strcmp(kind, "stuck") == 0;
}

static const char *kind_of(const anomaly *an)
{
    const char *k = anomaly_type_name(an->type);
    return k ? k : "unknown";
}

/* ---- hysteresis rules --------------------------------------------------- */

/* Parse rules into out (may be NULL: check only). Returns the count or -1. */
static int parse_rules(const char *s, calm_rule *out, char *err, size_t errlen)
{
    int n = 0;
    char item[160];
    while (s && *s) {
        size_t len = strcspn(s, ",");
        if (len == 0 || len >= sizeof item) {
            snprintf(err, errlen, "ALARM_CALM_RULES: empty or too long item");
            return -1;
        }
        memcpy(item, s, len);
        item[len] = '\0';
        s += len + (s[len] == ',');
        char *eq = strchr(item, '='), *slash = strchr(item, '/'), *end;
        if (!eq || (slash && slash > eq)) {
            snprintf(err, errlen, "ALARM_CALM_RULES: '%s' is not [SENSOR/]KIND=SECONDS", item);
            return -1;
        }
        *eq = '\0';
        const char *kind = slash ? slash + 1 : item, *sensor = "";
        if (slash) {
            *slash = '\0';
            sensor = item;
        }
        double v = strtod(eq + 1, &end);
        if (end == eq + 1 || *end || !isfinite(v) || v < 0 ||
            (sensor[0] && !sensor_id_valid(sensor)) ||
            (strcmp(kind, "*") != 0 && !alarm_kind_valid(kind))) {
            snprintf(err, errlen, "ALARM_CALM_RULES: bad sensor, kind or seconds in '%s'", item);
            return -1;
        }
        if (n == GW_ALARMS_CALM_RULES) {
            snprintf(err, errlen, "ALARM_CALM_RULES: more than %d rules", GW_ALARMS_CALM_RULES);
            return -1;
        }
        if (out) { /* lengths checked by sensor_id_valid / alarm_kind_valid */
            memcpy(out[n].sensor, sensor, strlen(sensor) + 1);
            memcpy(out[n].kind, kind, strlen(kind) + 1);
            out[n].calm_s = v;
        }
        n++;
    }
    return n;
}

int gw_alarms_calm_rules_check(const char *rules, char *err, size_t errlen)
{
    return parse_rules(rules, NULL, err, errlen) < 0 ? -1 : 0;
}

/* The hysteresis of one alarm (see gw_alarms_calm_rules_check). */
static double calm_of(const gw_alarms *a, const alarm_obj *x)
{
    const calm_rule *best = NULL;
    size_t best_len = 0;
    int best_exact = 0;
    for (size_t i = 0; i < a->nrules; i++) {
        const calm_rule *r = &a->rules[i];
        size_t sl = strlen(r->sensor);
        int exact = strcmp(r->kind, "*") != 0;
        if (strncmp(x->sensor_id, r->sensor, sl) != 0 || (exact && strcmp(r->kind, x->kind) != 0))
            continue;
        if (!best || sl > best_len || (sl == best_len && exact > best_exact)) {
            best = r;
            best_len = sl;
            best_exact = exact;
        }
    }
    if (best)
        return best->calm_s;
    return strcmp(x->kind, "point") == 0 ? a->o.point_calm_s : a->o.calm_s;
}

/* ---- lifecycle --------------------------------------------------------- */

/* A repeat of an active alarm: count, last, peak, severity (never down). */
static void fold(gw_alarms *a, rec *r, const anomaly *an, const char *kind, int64_t now)
{
    alarm_obj *x = &r->a;
    x->count++;
    x->last_at = now;
    r->calm_since = 0;
    copy_cut(x->last_anomaly_id, sizeof x->last_anomaly_id, an->id);
    copy_cut(x->explanation, sizeof x->explanation, an->explanation);
    if (an->score > x->peak_score) {
        x->peak_score = an->score;
        x->peak_value = an->value;
    }
    alarm_severity s = gw_alarms_severity(&a->o, kind, an->score, an->value, an->expected_low,
                                          an->expected_high, (double)(now - x->opened_at) / 1000.0);
    if (s < x->severity)
        x->severity = s;
}

/* A new alarm for an, or NULL when every slot is active (counted). */
static rec *open_new(gw_alarms *a, const anomaly *an, const char *kind, int64_t now)
{
    rec *r = take_slot(a);
    if (!r) {
        a->st.refused_full++;
        log_rate(29, 30, LOG_WARN,
                 "alarm_refused reason=full max=%zu sensor_id=%s metric=%s kind=%s",
                 a->o.max_alarms, an->sensor_id, an->metric, kind);
        return NULL;
    }
    memset(r, 0, sizeof *r);
    r->used = 1;
    r->seq = ++a->seq;
    alarm_obj *x = &r->a;
    copy_cut(x->sensor_id, sizeof x->sensor_id, an->sensor_id);
    copy_cut(x->metric, sizeof x->metric, an->metric);
    copy_cut(x->kind, sizeof x->kind, kind);
    x->state = ALARM_ACTIVE;
    x->opened_at = x->last_at = now;
    x->count = 1;
    x->peak_value = an->value;
    x->peak_score = an->score;
    copy_cut(x->last_anomaly_id, sizeof x->last_anomaly_id, an->id);
    copy_cut(x->explanation, sizeof x->explanation, an->explanation);
    x->severity = gw_alarms_severity(&a->o, kind, an->score, an->value, an->expected_low,
                                     an->expected_high, 0);
    x->muted_until = mute_until(a, x->sensor_id, x->metric, now);
    alarm_make_id(x);
    /* the same key opened in the same ms (after a restart): keep ids unique */
    while (find_id(a, x->id) != r) {
        x->opened_at++;
        alarm_make_id(x);
    }
    a->st.opened++;
    a->nsilent += strcmp(kind, "silent") == 0;
    return r;
}

int gw_alarms_on_anomaly(gw_alarms *a, const anomaly *an, int64_t now)
{
    int rc = 0;
    const char *kind = kind_of(an);
    pthread_mutex_lock(&a->mu);
    rec *r = find_active(a, an->sensor_id, an->metric, kind);
    for (int i = 0; r && i < r->nanom; i++)
        if (strcmp(r->anom[i].id, an->id) == 0) {
            a->st.duplicates++; /* redelivered (QoS 1, a detector restart): counted once */
            goto out;
        }
    if (r)
        fold(a, r, an, kind, now);
    else if (!(r = open_new(a, an, kind, now))) {
        rc = GW_ALARMS_ERR_FULL;
        goto out;
    }
    if (r->nanom == GW_ALARMS_HISTORY) {
        memmove(&r->anom[0], &r->anom[1], sizeof r->anom[0] * (GW_ALARMS_HISTORY - 1));
        r->nanom--;
    }
    hist_anomaly *h = &r->anom[r->nanom++];
    copy_cut(h->id, sizeof h->id, an->id);
    h->at = now;
    h->value = an->value;
    h->score = an->score;
    emit(a, r, r->a.count == 1 ? ALARM_EV_OPENED : ALARM_EV_UPDATED, now, NULL, NULL);
    /* point_calm_s = 0: a point alert opens and clears at once */
    if (strcmp(kind, "point") == 0 && a->o.point_calm_s <= 0 &&
        hot_find(a, an->sensor_id, an->metric) < 0)
        clear_rec(a, r, now, NULL);
out:
    pthread_mutex_unlock(&a->mu);
    return rc;
}

int gw_alarms_on_repeat(gw_alarms *a, const alert_repeat *rp, int64_t now)
{
    int rc = 0, opened = 0;
    const char *k = anomaly_type_name(rp->type);
    const char *kind = k ? k : "unknown";
    /* the summary as the anomaly it stands for: its peak */
    anomaly an;
    memset(&an, 0, sizeof an);
    copy_cut(an.sensor_id, sizeof an.sensor_id, rp->sensor_id);
    copy_cut(an.metric, sizeof an.metric, rp->metric);
    an.type = rp->type;
    an.value = rp->peak_value;
    an.score = rp->peak_score;
    an.expected_low = rp->expected_low;
    an.expected_high = rp->expected_high;
    pthread_mutex_lock(&a->mu);
    rec *r = find_active(a, rp->sensor_id, rp->metric, kind);
    if (r && strcmp(r->last_repeat, rp->last_id) == 0) {
        a->st.duplicates++; /* redelivered (QoS 1): counted once */
        goto out;
    }
    if (r) {
        /* fold() without the anomaly's own fields: id and explanation stay
         * those of the last published anomaly */
        alarm_obj *x = &r->a;
        char id[sizeof x->last_anomaly_id], ex[sizeof x->explanation];
        memcpy(id, x->last_anomaly_id, sizeof id);
        memcpy(ex, x->explanation, sizeof ex);
        copy_cut(an.id, sizeof an.id, id);
        fold(a, r, &an, kind, now);
        memcpy(x->last_anomaly_id, id, sizeof id);
        memcpy(x->explanation, ex, sizeof ex);
        x->count += rp->count - 1; /* fold counted one */
    } else {
        snprintf(an.explanation, sizeof an.explanation,
                 "%u further %s alerts of a burst, folded by the detector (not published)",
                 (unsigned)rp->count, kind);
        if (!(r = open_new(a, &an, kind, now))) {
            rc = GW_ALARMS_ERR_FULL;
            goto out;
        }
        r->a.count = rp->count;
        opened = 1;
    }
    copy_cut(r->last_repeat, sizeof r->last_repeat, rp->last_id);
    a->st.repeats += rp->count;
    emit(a, r, opened ? ALARM_EV_OPENED : ALARM_EV_UPDATED, now, NULL, NULL);
    if (strcmp(kind, "point") == 0 && a->o.point_calm_s <= 0 &&
        hot_find(a, rp->sensor_id, rp->metric) < 0)
        clear_rec(a, r, now, NULL);
out:
    pthread_mutex_unlock(&a->mu);
    return rc;
}

void gw_alarms_on_state(gw_alarms *a, const alarm_state *st, int64_t now)
{
    pthread_mutex_lock(&a->mu);
    ssize_t h = hot_find(a, st->sensor_id, st->metric);
    if (st->in_alarm && h < 0) {
        if (a->nhot == a->hotcap && a->hotcap < a->o.max_alarms) {
            size_t nc = a->hotcap ? 2 * a->hotcap : 64;
            stream_key *p = realloc(a->hot, nc * sizeof *p);
            if (p) {
                a->hot = p;
                a->hotcap = nc;
            }
        }
        if (a->nhot < a->hotcap) {
            copy_cut(a->hot[a->nhot].sensor_id, SENSOR_ID_MAX, st->sensor_id);
            copy_cut(a->hot[a->nhot].metric, READING_NAME_MAX, st->metric);
            a->nhot++;
        }
    } else if (!st->in_alarm && h >= 0) {
        a->hot[h] = a->hot[--a->nhot];
    }
    for (size_t i = 0; i < a->nslots; i++) {
        rec *r = &a->r[i];
        if (!r->used || r->a.state != ALARM_ACTIVE || strcmp(r->a.sensor_id, st->sensor_id) ||
            strcmp(r->a.metric, st->metric))
            continue;
        if (st->in_alarm) {
            r->calm_since = 0;
        } else if (state_driven(r->a.kind)) {
            clear_rec(a, r, now, NULL);
        } else {
            r->calm_since = now;
            if (strcmp(r->a.kind, "point") == 0 && a->o.point_calm_s <= 0)
                clear_rec(a, r, now, NULL);
        }
    }
    pthread_mutex_unlock(&a->mu);
}

void gw_alarms_on_reading(gw_alarms *a, const reading *rd, int64_t now)
{
    pthread_mutex_lock(&a->mu);
    for (size_t i = 0; a->nsilent && i < a->nslots; i++) {
        rec *r = &a->r[i];
        if (r->used && r->a.state == ALARM_ACTIVE && strcmp(r->a.kind, "silent") == 0 &&
            strcmp(r->a.sensor_id, rd->sensor_id) == 0 &&
            (strcmp(r->a.metric, ALARM_METRIC_SENSOR) == 0 || reading_find(rd, r->a.metric) >= 0))
            clear_rec(a, r, now, NULL);
    }
    pthread_mutex_unlock(&a->mu);
}

void gw_alarms_tick(gw_alarms *a, int64_t now)
{
    pthread_mutex_lock(&a->mu);
    for (size_t i = 0; i < a->nslots; i++) {
        rec *r = &a->r[i];
        if (!r->used || r->a.state != ALARM_ACTIVE || state_driven(r->a.kind))
            continue;
        double calm = calm_of(a, &r->a);
        int64_t since = r->calm_since > r->a.last_at ? r->calm_since : r->a.last_at;
        if (hot_find(a, r->a.sensor_id, r->a.metric) < 0 && (double)(now - since) >= calm * 1000) {
            clear_rec(a, r, now, NULL);
            continue;
        }
        if (!r->long_bumped && a->o.sev_long_s > 0 &&
            (double)(now - r->a.opened_at) >= a->o.sev_long_s * 1000) {
            r->long_bumped = 1;
            if (r->a.severity != ALARM_CRITICAL) {
                r->a.severity = up(r->a.severity);
                emit(a, r, ALARM_EV_UPDATED, now, NULL, NULL);
            }
        }
    }
    for (size_t i = 0; i < a->nmutes;) {
        if (a->mutes[i].until <= now) {
            a->mutes[i] = a->mutes[--a->nmutes];
            a->dirty = 1;
        } else {
            i++;
        }
    }
    int due = a->path && a->dirty && (double)(now - a->last_save) >= a->o.save_every_s * 1000;
    pthread_mutex_unlock(&a->mu);
    if (due)
        gw_alarms_save(a);
}

/* ---- people ------------------------------------------------------------ */

int gw_alarms_act(gw_alarms *a, const char *id, gw_alarm_action act, const char *by,
                  const char *note, long minutes, int64_t now, alarm_obj *out)
{
    int rc = 0;
    if (!id || !alarm_who_valid(by) || (act == GW_ALARM_MUTE && (minutes < 0 || minutes > 525600)))
        return GW_ALARMS_ERR_ARG;
    pthread_mutex_lock(&a->mu);
    rec *r = find_id(a, id);
    if (!r) {
        rc = GW_ALARMS_ERR_NOT_FOUND;
        goto out;
    }
    alarm_obj *x = &r->a;
    switch (act) {
    case GW_ALARM_ACK:
        if (!x->acked) {
            x->acked = 1;
            copy_cut(x->acked_by, sizeof x->acked_by, by);
            emit(a, r, ALARM_EV_ACKNOWLEDGED, now, by, NULL);
        }
        break;
    case GW_ALARM_CLEAR:
        if (x->state == ALARM_ACTIVE)
            clear_rec(a, r, now, by);
        break;
    case GW_ALARM_MUTE:
        x->muted_until = minutes ? now + (int64_t)minutes * 60000 : 0;
        emit(a, r, ALARM_EV_MUTED, now, by, NULL);
        break;
    case GW_ALARM_FALSE_POSITIVE:
        if (!x->false_positive) {
            x->false_positive = 1;
            emit(a, r, ALARM_EV_FALSE_POSITIVE, now, by, note);
            if (x->state == ALARM_ACTIVE)
                clear_rec(a, r, now, by);
        }
        break;
    default:
        rc = GW_ALARMS_ERR_ARG;
    }
    if (out)
        *out = *x;
out:
    pthread_mutex_unlock(&a->mu);
    return rc;
}

int gw_alarms_mute_scope(gw_alarms *a, const char *sensor_id, const char *metric, long minutes,
                         const char *by, int64_t now)
{
    if (!sensor_id || !sensor_id_valid(sensor_id) || !alarm_who_valid(by) || minutes < 0 ||
        minutes > 525600 || (metric && strlen(metric) >= READING_NAME_MAX))
        return GW_ALARMS_ERR_ARG;
    if (!metric)
        metric = "";
    int64_t until = minutes ? now + (int64_t)minutes * 60000 : 0;
    int n = 0;
    pthread_mutex_lock(&a->mu);
    mute *m = NULL;
    for (size_t i = 0; i < a->nmutes && !m; i++)
        if (strcmp(a->mutes[i].sensor_id, sensor_id) == 0 &&
            strcmp(a->mutes[i].metric, metric) == 0)
            m = &a->mutes[i];
    if (!m && until) {
        if (a->nmutes == GW_ALARMS_MUTES) {
            n = GW_ALARMS_ERR_FULL;
            goto out;
        }
        m = &a->mutes[a->nmutes++];
        copy_cut(m->sensor_id, sizeof m->sensor_id, sensor_id);
        copy_cut(m->metric, sizeof m->metric, metric);
    }
    if (m)
        m->until = until; /* 0: dropped by the next tick */
    a->dirty = 1;
    for (size_t i = 0; i < a->nslots; i++) {
        rec *r = &a->r[i];
        if (!r->used || r->a.state != ALARM_ACTIVE || strcmp(r->a.sensor_id, sensor_id) ||
            (metric[0] && strcmp(r->a.metric, metric)))
            continue;
        r->a.muted_until = until;
        emit(a, r, ALARM_EV_MUTED, now, by, NULL);
        n++;
    }
out:
    pthread_mutex_unlock(&a->mu);
    return n;
}

/* ---- queries ----------------------------------------------------------- */

static int by_seq_desc(const void *x, const void *y)
{
    const rec *p = *(rec *const *)x, *q = *(rec *const *)y;
    return p->seq < q->seq ? 1 : p->seq > q->seq ? -1 : 0;
}

json_t *gw_alarms_list_json(gw_alarms *a, const gw_alarms_query *q)
{
    json_t *out = NULL, *arr = json_array();
    rec **pick = NULL;
    size_t n = 0, active = 0;
    if (!arr)
        return NULL;
    pthread_mutex_lock(&a->mu);
    pick = malloc((a->nslots ? a->nslots : 1) * sizeof *pick);
    if (!pick)
        goto out;
    for (size_t i = 0; i < a->nslots; i++) {
        rec *r = &a->r[i];
        if (!r->used)
            continue;
        active += r->a.state == ALARM_ACTIVE;
        if ((q->state >= 0 && (int)r->a.state != q->state) ||
            (q->sensor_id && strcmp(q->sensor_id, r->a.sensor_id)) ||
            (q->severity >= 0 && (int)r->a.severity != q->severity) ||
            (q->cursor && r->seq >= q->cursor) || (q->until && r->a.opened_at >= q->until) ||
            (q->since && r->a.cleared_at && r->a.cleared_at < q->since))
            continue;
        pick[n++] = r;
    }
    qsort(pick, n, sizeof *pick, by_seq_desc);
    size_t take = n < q->limit ? n : q->limit;
    for (size_t i = 0; i < take; i++)
        if (json_array_append_new(arr, alarm_to_jobj(&pick[i]->a)))
            goto out;
    char cur[24];
    snprintf(cur, sizeof cur, "%llu", take ? (unsigned long long)pick[take - 1]->seq : 0ULL);
    out = json_pack("{s:O, s:o, s:I}", "alarms", arr, "next_cursor",
                    n > take ? json_string(cur) : json_null(), "active", (json_int_t)active);
out:
    pthread_mutex_unlock(&a->mu);
    free(pick);
    json_decref(arr);
    return out;
}

/* null, or -1 as null */
static json_t *int_or_null(int64_t v)
{
    return v >= 0 ? json_integer((json_int_t)v) : json_null();
}

static json_t *action_json(const hist_action *h)
{
    json_t *o = json_pack("{s:s, s:I, s:o}", "event", alarm_event_name(h->event), "at",
                          (json_int_t)h->at, "by", h->by[0] ? json_string(h->by) : json_null());
    if (o && h->note[0])
        json_object_set_new(o, "note", json_string(h->note));
    /* proof: where the chain logger logged this action, null while pending
     * (and for actions that do not go on chain) */
    json_t *pr = h->logged ? json_pack("{s:s, s:I, s:o, s:o}", "tx_hash", h->tx, "block_number",
                                       (json_int_t)h->block, "seq", int_or_null(h->seq), "batch",
                                       int_or_null(h->batch))
                           : json_null();
    if (o)
        json_object_set_new(o, "proof", pr ? pr : json_null());
    return o;
}

/* A saved action's proof back into h (nothing when null or malformed). */
static void load_proof(hist_action *h, const json_t *pr)
{
    const char *tx = json_string_value(json_object_get(pr, "tx_hash"));
    json_t *bn = json_object_get(pr, "block_number"), *sq = json_object_get(pr, "seq"),
           *ba = json_object_get(pr, "batch");
    if (!h->audited || !tx || strlen(tx) != CHAIN_LOGGED_TX_HEX - 1 || !json_is_integer(bn))
        return;
    h->logged = 1;
    copy_cut(h->tx, sizeof h->tx, tx);
    h->block = (int64_t)json_integer_value(bn);
    h->seq = json_is_integer(sq) ? (int64_t)json_integer_value(sq) : -1;
    h->batch = json_is_integer(ba) ? (int64_t)json_integer_value(ba) : -1;
}

static json_t *anomaly_hist_json(const hist_anomaly *h)
{
    return json_pack("{s:s, s:I, s:f, s:f}", "id", h->id, "at", (json_int_t)h->at, "value",
                     h->value, "score", h->score);
}

json_t *gw_alarms_get_json(gw_alarms *a, const char *id, int *found)
{
    json_t *out = NULL;
    *found = 0;
    pthread_mutex_lock(&a->mu);
    rec *r = id ? find_id(a, id) : NULL;
    if (r) {
        *found = 1;
        json_t *an = json_array(), *ac = json_array();
        for (int i = r->nanom - 1; an && i >= 0; i--)
            json_array_append_new(an, anomaly_hist_json(&r->anom[i]));
        for (int i = 0; ac && i < r->nact; i++)
            json_array_append_new(ac, action_json(&r->act[i]));
        out = json_pack("{s:o, s:o, s:o}", "alarm", alarm_to_jobj(&r->a), "anomalies", an,
                        "actions", ac);
    }
    pthread_mutex_unlock(&a->mu);
    return out;
}

void gw_alarms_stats_get(gw_alarms *a, gw_alarms_stats *out)
{
    pthread_mutex_lock(&a->mu);
    *out = a->st;
    out->total = out->active = 0;
    for (size_t i = 0; i < a->nslots; i++) {
        out->total += a->r[i].used;
        out->active += a->r[i].used && a->r[i].a.state == ALARM_ACTIVE;
    }
    out->mutes = a->nmutes;
    pthread_mutex_unlock(&a->mu);
}

/* ---- persistence ------------------------------------------------------- */

/* The whole table as JSON (lock held). */
static json_t *state_json(gw_alarms *a)
{
    json_t *alarms = json_array(), *mutes = json_array();
    for (size_t i = 0; alarms && i < a->nslots; i++) {
        const rec *r = &a->r[i];
        if (!r->used)
            continue;
        json_t *an = json_array(), *ac = json_array();
        for (int k = 0; an && k < r->nanom; k++)
            json_array_append_new(an, anomaly_hist_json(&r->anom[k]));
        for (int k = 0; ac && k < r->nact; k++)
            json_array_append_new(ac, action_json(&r->act[k]));
        json_array_append_new(alarms,
                              json_pack("{s:I, s:I, s:b, s:o, s:o, s:o}", "seq", (json_int_t)r->seq,
                                        "calm_since", (json_int_t)r->calm_since, "long_bumped",
                                        r->long_bumped, "alarm", alarm_to_jobj(&r->a), "anomalies",
                                        an, "actions", ac));
    }
    for (size_t i = 0; mutes && i < a->nmutes; i++)
        json_array_append_new(mutes, json_pack("{s:s, s:s, s:I}", "sensor_id",
                                               a->mutes[i].sensor_id, "metric", a->mutes[i].metric,
                                               "until", (json_int_t)a->mutes[i].until));
    return json_pack("{s:i, s:I, s:o, s:o}", "version", STATE_VERSION, "seq", (json_int_t)a->seq,
                     "alarms", alarms, "mutes", mutes);
}

int gw_alarms_save(gw_alarms *a)
{
    int rc = -1, fd = -1;
    FILE *f = NULL;
    char *tmp = NULL;
    if (!a->path)
        return 0;
    pthread_mutex_lock(&a->mu);
    json_t *j = state_json(a);
    int64_t was_dirty = a->dirty;
    a->dirty = 0;
    pthread_mutex_unlock(&a->mu);
    size_t tl = strlen(a->path) + 8;
    if (!j || !(tmp = malloc(tl)))
        goto out;
    snprintf(tmp, tl, "%s.tmp", a->path);
    fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0 || !(f = fdopen(fd, "w")))
        goto out;
    fd = -1; /* f owns it */
    if (json_dumpf(j, f, JSON_COMPACT | JSON_REAL_PRECISION(17)) != 0 || fflush(f) != 0 ||
        fsync(fileno(f)) != 0)
        goto out;
    if (fclose(f) != 0) {
        f = NULL;
        goto out;
    }
    f = NULL;
    if (rename(tmp, a->path) != 0)
        goto out;
    rc = 0;
out:
    if (f)
        fclose(f);
    if (fd >= 0)
        close(fd);
    pthread_mutex_lock(&a->mu);
    if (rc != 0) {
        a->st.save_errors++;
        a->dirty |= (int)was_dirty; /* try again at the next tick */
        log_rate(30, 60, LOG_ERROR, "alarms_save_failed path=%s errno=%d reason=\"%s\"", a->path, errno,
                 strerror(errno));
        if (tmp)
            unlink(tmp);
    }
    a->last_save = (int64_t)(clock_wall() * 1000);
    pthread_mutex_unlock(&a->mu);
    json_decref(j);
    free(tmp);
    return rc;
}

/* One saved record into a fresh slot. Returns 0, -1 (invalid: err set)
 * or -2 (no room: every slot holds an active alarm). */
static int load_rec(gw_alarms *a, const json_t *o, char *err, size_t errlen)
{
    json_t *seq = json_object_get(o, "seq"), *an = json_object_get(o, "anomalies"),
           *ac = json_object_get(o, "actions");
    if (!json_is_integer(seq) || !json_is_array(an) || !json_is_array(ac)) {
        snprintf(err, errlen, "record without seq, anomalies or actions");
        return -1;
    }
    rec *r = take_slot(a);
    if (!r)
        return -2;
    memset(r, 0, sizeof *r);
    if (alarm_from_jobj(json_object_get(o, "alarm"), &r->a, err, errlen) != 0)
        return -1; /* the slot stays unused */
    r->seq = (uint64_t)json_integer_value(seq);
    r->calm_since = (int64_t)json_integer_value(json_object_get(o, "calm_since"));
    r->long_bumped = json_is_true(json_object_get(o, "long_bumped"));
    size_t i;
    json_t *v;
    json_array_foreach(an, i, v)
    {
        if (r->nanom == GW_ALARMS_HISTORY)
            break;
        hist_anomaly *h = &r->anom[r->nanom++];
        copy_cut(h->id, sizeof h->id, json_string_value(json_object_get(v, "id")));
        h->at = (int64_t)json_integer_value(json_object_get(v, "at"));
        h->value = json_number_value(json_object_get(v, "value"));
        h->score = json_number_value(json_object_get(v, "score"));
    }
    json_array_foreach(ac, i, v)
    {
        alarm_event_type ev;
        if (r->nact == GW_ALARMS_ACTIONS ||
            alarm_event_parse(json_string_value(json_object_get(v, "event")), &ev) != 0)
            continue;
        record_action(r, ev, (int64_t)json_integer_value(json_object_get(v, "at")),
                      json_string_value(json_object_get(v, "by")),
                      json_string_value(json_object_get(v, "note")));
        load_proof(&r->act[r->nact - 1], json_object_get(v, "proof"));
    }
    r->used = 1;
    if (r->seq > a->seq)
        a->seq = r->seq;
    return 0;
}

static int load(gw_alarms *a)
{
    json_error_t jerr;
    char err[200] = "";
    if (access(a->path, F_OK) != 0)
        return 0; /* first start */
    json_t *root = json_load_file(a->path, JSON_REJECT_DUPLICATES, &jerr);
    json_t *alarms = root ? json_object_get(root, "alarms") : NULL;
    json_t *mutes = root ? json_object_get(root, "mutes") : NULL;
    if (!root)
        snprintf(err, sizeof err, "invalid JSON: %s", jerr.text);
    else if (json_integer_value(json_object_get(root, "version")) != STATE_VERSION ||
             !json_is_array(alarms) || !json_is_array(mutes))
        snprintf(err, sizeof err, "not an alarms state file of version %d", STATE_VERSION);
    size_t i;
    json_t *v;
    if (!err[0]) {
        json_t *seq = json_object_get(root, "seq");
        a->seq = json_is_integer(seq) ? (uint64_t)json_integer_value(seq) : 0;
        json_array_foreach(alarms, i, v)
        {
            int rc = load_rec(a, v, err, sizeof err);
            if (rc == -2) {
                /* GATEWAY_ALARMS_MAX lowered below what was saved: keep what fits */
                log_warn("alarms_load_truncated path=%s kept=%zu of=%zu max=%zu", a->path,
                         a->nslots, json_array_size(alarms), a->o.max_alarms);
                break;
            }
            if (rc != 0)
                break;
        }
    }
    if (!err[0]) {
        json_array_foreach(mutes, i, v)
        {
            const char *s = json_string_value(json_object_get(v, "sensor_id"));
            const char *m = json_string_value(json_object_get(v, "metric"));
            if (a->nmutes == GW_ALARMS_MUTES || !s || !sensor_id_valid(s) || !m ||
                strlen(m) >= READING_NAME_MAX)
                continue;
            mute *x = &a->mutes[a->nmutes++];
            copy_cut(x->sensor_id, sizeof x->sensor_id, s);
            copy_cut(x->metric, sizeof x->metric, m);
            x->until = (int64_t)json_integer_value(json_object_get(v, "until"));
        }
    }
    json_decref(root);
    if (err[0]) {
        /* Keep the evidence, start empty. */
        char bad[4096];
        snprintf(bad, sizeof bad, "%s.bad", a->path);
        a->st.load_errors++;
        log_error("alarms_load_failed path=%s reason=\"%s\" action=\"renamed to %s, starting "
                  "empty\"",
                  a->path, err, bad);
        rename(a->path, bad);
        a->nslots = 0;
        a->nmutes = 0;
        a->seq = 0;
        return -1;
    }
    size_t active = 0;
    for (i = 0; i < a->nslots; i++) {
        active += a->r[i].used && a->r[i].a.state == ALARM_ACTIVE;
        a->nsilent += a->r[i].used && a->r[i].a.state == ALARM_ACTIVE &&
                      strcmp(a->r[i].a.kind, "silent") == 0;
    }
    log_info("alarms_loaded path=%s alarms=%zu active=%zu mutes=%zu", a->path, a->nslots, active,
             a->nmutes);
    return 0;
}

/* ---- life -------------------------------------------------------------- */

int gw_alarms_create(gw_alarms **out, const gw_alarms_options *opt)
{
    gw_alarms *a = calloc(1, sizeof *a);
    if (!a)
        return -1;
    a->o = *opt;
    if (!a->o.max_alarms)
        a->o.max_alarms = 10000;
    if (a->o.save_every_s <= 0)
        a->o.save_every_s = 2;
    a->o.path = NULL;
    a->o.calm_rules = NULL;
    char err[200];
    int nr = parse_rules(opt->calm_rules, a->rules, err, sizeof err);
    if (nr < 0)
        log_error("bad_config %s", err);
    if (nr < 0 || (opt->path && !(a->path = strdup(opt->path)))) {
        free(a);
        return -1;
    }
    a->nrules = (size_t)nr;
    pthread_mutex_init(&a->mu, NULL);
    if (a->path)
        load(a);
    *out = a;
    return 0;
}

void gw_alarms_destroy(gw_alarms *a)
{
    if (!a)
        return;
    if (a->path && a->dirty)
        gw_alarms_save(a);
    pthread_mutex_destroy(&a->mu);
    free(a->r);
    free(a->hot);
    free(a->scratch);
    free(a->path);
    free(a);
}
