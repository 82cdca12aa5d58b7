/*
 * sim_profile — see sim_profile.h. The parser is table-driven: each JSON key
 * maps to an offset in the struct and a valid range, so adding a field is one
 * line and every field gets the same type and range checks.
 */
#include "sim_profile.h"

#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/errbuf.h"

static const char *const metric_names[SIM_NMETRICS] = {"temperature", "humidity", "pressure"};

const char *sim_metric_name(int metric)
{
    if (metric < 0 || metric >= SIM_NMETRICS)
        return "?";
    return metric_names[metric];
}

int sim_metric_index(const char *name)
{
    for (int i = 0; i < SIM_NMETRICS; i++)
        if (strcmp(name, metric_names[i]) == 0)
            return i;
    return -1;
}

typedef struct {
    const char *key;
    size_t off;
    double lo, hi;
} field;

#define MF(k, f, lo, hi)                                                                           \
    {                                                                                              \
        k, offsetof(sim_metric_params, f), lo, hi                                                  \
    }
static const field metric_fields[] = {
    MF("base", base, -300, 5000),
    MF("daily_amp", daily_amp, 0, 200),
    MF("peak_hour", peak_hour, 0, 24),
    MF("seasonal_amp", seasonal_amp, 0, 200),
    MF("weather_std", weather_std, 0, 200),
    MF("follow", follow, 0, 1),
    MF("noise", noise, 0, 100),
    MF("noise_tau_s", noise_tau_s, 1e-3, 1e9),
    MF("resolution", resolution, 0, 100),
    MF("cycle_amp", cycle_amp, 0, 100),
    MF("cycle_period_s", cycle_period_s, 0, 1e9),
    MF("anomaly_scale", anomaly_scale, 0, 5000),
};
#define PF(k, f, lo, hi)                                                                           \
    {                                                                                              \
        k, offsetof(sim_profile, f), lo, hi                                                        \
    }
static const field profile_fields[] = {
    PF("interval_s", interval_s, 1, 86400),
    PF("latitude", latitude, -90, 90),
    PF("utc_offset_h", utc_offset_h, -14, 14),
};

/* Defaults for a metric before the file's keys are applied. */
static void metric_defaults(int metric, sim_metric_params *m)
{
    memset(m, 0, sizeof *m);
    m->peak_hour = 15;
    m->noise_tau_s = 600;
    m->resolution = 0.01;
    switch (metric) {
    case SIM_TEMPERATURE:
        m->base = 20;
        m->noise = 0.05;
        m->anomaly_scale = 5;
        break;
    case SIM_HUMIDITY:
        m->base = 45;
        m->follow = 0.5;
        m->noise = 0.3;
        m->anomaly_scale = 12;
        break;
    case SIM_PRESSURE:
        m->base = 1013.25;
        m->weather_std = 6;
        m->daily_amp = 0.5;
        m->noise = 0.05;
        m->noise_tau_s = 60;
        m->anomaly_scale = 6;
        break;
    }
}

/* Apply the numeric keys of `obj` through `tab`; unknown keys are errors
 * unless listed in `extra` (handled by the caller). */
static int apply_fields(json_t *obj, const field *tab, size_t ntab, void *dst,
                        const char *const *extra, const char *where, char *err, size_t errlen)
{
    const char *key;
    json_t *val;
    json_object_foreach(obj, key, val)
    {
        int known = 0;
        for (const char *const *e = extra; e && *e; e++)
            if (strcmp(*e, key) == 0)
                known = 1;
        if (known)
            continue;
        size_t i;
        for (i = 0; i < ntab; i++)
            if (strcmp(tab[i].key, key) == 0)
                break;
        if (i == ntab) {
            errbuf_set(err, errlen, "%s: unknown key '%s'", where, key);
            return -1;
        }
        if (!json_is_number(val)) {
            errbuf_set(err, errlen, "%s.%s: must be a number", where, key);
            return -1;
        }
        double v = json_number_value(val);
        if (!isfinite(v) || v < tab[i].lo || v > tab[i].hi) {
            errbuf_set(err, errlen, "%s.%s: %g is outside [%g, %g]", where, key, v, tab[i].lo,
                       tab[i].hi);
            return -1;
        }
        *(double *)((char *)dst + tab[i].off) = v;
    }
    return 0;
}

static int copy_name(char *dst, json_t *val, const char *where, const char *key, char *err,
                     size_t errlen)
{
    if (!json_is_string(val)) {
        errbuf_set(err, errlen, "%s.%s: must be a string", where, key);
        return -1;
    }
    const char *s = json_string_value(val);
    size_t n = strlen(s);
    if (n == 0 || n >= SIM_NAME_MAX) {
        errbuf_set(err, errlen, "%s.%s: must be 1..%d characters", where, key, SIM_NAME_MAX - 1);
        return -1;
    }
    for (const char *p = s; *p; p++) {
        char c = *p;
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '-' || c == '.')) {
            errbuf_set(err, errlen, "%s.%s: '%s' may only hold [A-Za-z0-9_.-]", where, key, s);
            return -1;
        }
    }
    memcpy(dst, s, n + 1);
    return 0;
}

static int parse_profile(json_t *o, int idx, sim_profile *p, char *err, size_t errlen)
{
    char where[64];
    snprintf(where, sizeof where, "profiles[%d]", idx);
    if (!json_is_object(o)) {
        errbuf_set(err, errlen, "%s: must be an object", where);
        return -1;
    }
    memset(p, 0, sizeof *p);
    p->interval_s = 60;
    for (int m = 0; m < SIM_NMETRICS; m++)
        metric_defaults(m, &p->m[m]);

    json_t *name = json_object_get(o, "name");
    if (!name) {
        errbuf_set(err, errlen, "%s: missing 'name'", where);
        return -1;
    }
    if (copy_name(p->name, name, where, "name", err, errlen) < 0)
        return -1;
    snprintf(where, sizeof where, "profile '%s'", p->name);
    memcpy(p->id_prefix, p->name, sizeof p->name);
    memcpy(p->site, "default", sizeof "default");

    static const char *const extra[] = {"name",     "id_prefix", "site",    "temperature",
                                        "humidity", "pressure",  "comment", NULL};
    if (apply_fields(o, profile_fields, sizeof profile_fields / sizeof *profile_fields, p, extra,
                     where, err, errlen) < 0)
        return -1;
    if (p->interval_s != floor(p->interval_s)) {
        errbuf_set(err, errlen, "%s.interval_s: must be a whole number of seconds", where);
        return -1;
    }
    json_t *v;
    if ((v = json_object_get(o, "id_prefix")) &&
        copy_name(p->id_prefix, v, where, "id_prefix", err, errlen) < 0)
        return -1;
    if ((v = json_object_get(o, "site")) && copy_name(p->site, v, where, "site", err, errlen) < 0)
        return -1;
    if ((v = json_object_get(o, "comment")) && !json_is_string(v)) {
        errbuf_set(err, errlen, "%s.comment: must be a string", where);
        return -1;
    }
    for (int m = 0; m < SIM_NMETRICS; m++) {
        json_t *mo = json_object_get(o, metric_names[m]);
        if (!mo)
            continue;
        char mwhere[96];
        snprintf(mwhere, sizeof mwhere, "%s.%s", where, metric_names[m]);
        if (!json_is_object(mo)) {
            errbuf_set(err, errlen, "%s: must be an object", mwhere);
            return -1;
        }
        static const char *const mextra[] = {"comment", NULL};
        if (apply_fields(mo, metric_fields, sizeof metric_fields / sizeof *metric_fields, &p->m[m],
                         mextra, mwhere, err, errlen) < 0)
            return -1;
    }
    double rh = p->m[SIM_HUMIDITY].base;
    if (rh <= 0 || rh > 100) {
        errbuf_set(err, errlen, "%s.humidity.base: %g is not a relative humidity in (0, 100]",
                   where, rh);
        return -1;
    }
    if (p->m[SIM_PRESSURE].base <= 0) {
        errbuf_set(err, errlen, "%s.pressure.base: must be positive", where);
        return -1;
    }
    return 0;
}

int sim_profiles_parse(const char *json, size_t len, sim_profile_set *out, char *err, size_t errlen)
{
    int rc = -1;
    json_error_t jerr;
    sim_profile *arr = NULL;
    json_t *root = json_loadb(json, len, JSON_REJECT_DUPLICATES, &jerr);
    if (!root) {
        errbuf_set(err, errlen, "invalid JSON at line %d column %d: %s", jerr.line, jerr.column,
                   jerr.text);
        goto out;
    }
    if (!json_is_object(root)) {
        errbuf_set(err, errlen, "top level must be an object with a 'profiles' array");
        goto out;
    }
    const char *key;
    json_t *val;
    json_object_foreach(root, key, val)
    {
        if (strcmp(key, "profiles") && strcmp(key, "fleet") && strcmp(key, "comment")) {
            errbuf_set(err, errlen, "unknown top-level key '%s'", key);
            goto out;
        }
    }
    json_t *profiles = json_object_get(root, "profiles");
    if (!json_is_array(profiles) || json_array_size(profiles) == 0) {
        errbuf_set(err, errlen, "'profiles' must be a non-empty array");
        goto out;
    }
    size_t n = json_array_size(profiles);
    if (n > 1000) {
        errbuf_set(err, errlen, "too many profiles (%zu > 1000)", n);
        goto out;
    }
    arr = calloc(n, sizeof *arr);
    if (!arr) {
        errbuf_set(err, errlen, "out of memory");
        goto out;
    }
    for (size_t i = 0; i < n; i++) {
        if (parse_profile(json_array_get(profiles, i), (int)i, &arr[i], err, errlen) < 0)
            goto out;
        for (size_t j = 0; j < i; j++) {
            if (strcmp(arr[i].name, arr[j].name) == 0) {
                errbuf_set(err, errlen, "profile '%s' is defined twice", arr[i].name);
                goto out;
            }
            if (strcmp(arr[i].id_prefix, arr[j].id_prefix) == 0) {
                errbuf_set(err, errlen, "profiles '%s' and '%s' share id_prefix '%s'", arr[j].name,
                           arr[i].name, arr[i].id_prefix);
                goto out;
            }
        }
    }
    json_t *fleet = json_object_get(root, "fleet");
    out->fleet[0] = '\0';
    if (fleet) {
        if (!json_is_string(fleet) || strlen(json_string_value(fleet)) >= sizeof out->fleet) {
            errbuf_set(err, errlen, "'fleet' must be a string shorter than %zu", sizeof out->fleet);
            goto out;
        }
        memcpy(out->fleet, json_string_value(fleet), strlen(json_string_value(fleet)) + 1);
    }
    out->p = arr;
    out->n = (int)n;
    arr = NULL;
    rc = 0;
out:
    free(arr);
    json_decref(root);
    return rc;
}

int sim_profiles_load(const char *path, sim_profile_set *out, char *err, size_t errlen)
{
    int rc = -1;
    char *buf = NULL;
    FILE *f = fopen(path, "rb");
    if (!f) {
        errbuf_set(err, errlen, "%s: %s", path, strerror(errno));
        goto out;
    }
    size_t cap = 1 << 20, len;
    buf = malloc(cap);
    if (!buf) {
        errbuf_set(err, errlen, "%s: out of memory", path);
        goto out;
    }
    len = fread(buf, 1, cap, f);
    if (ferror(f) || len == cap) {
        errbuf_set(err, errlen, "%s: read error or larger than 1 MiB", path);
        goto out;
    }
    char msg[256];
    if (sim_profiles_parse(buf, len, out, msg, sizeof msg) < 0) {
        errbuf_set(err, errlen, "%s: %s", path, msg);
        goto out;
    }
    rc = 0;
out:
    if (f)
        fclose(f);
    free(buf);
    return rc;
}

void sim_profiles_free(sim_profile_set *set)
{
    if (!set)
        return;
    free(set->p);
    set->p = NULL;
    set->n = 0;
}

int sim_profiles_find(const sim_profile_set *set, const char *name)
{
    for (int i = 0; i < set->n; i++)
        if (strcmp(set->p[i].name, name) == 0)
            return i;
    return -1;
}

int sim_fleet_parse(const char *spec, const sim_profile_set *set, sim_fleet_entry *out, int max,
                    char *err, size_t errlen)
{
    int n = 0;
    const char *p = spec ? spec : "";
    while (*p) {
        while (*p == ' ' || *p == ',')
            p++;
        if (!*p)
            break;
        const char *end = p;
        while (*end && *end != ',')
            end++;
        char item[96];
        size_t ilen = (size_t)(end - p);
        while (ilen > 0 && p[ilen - 1] == ' ')
            ilen--;
        if (ilen >= sizeof item) {
            errbuf_set(err, errlen, "fleet entry '%.*s' is too long", (int)ilen, p);
            return -1;
        }
        memcpy(item, p, ilen);
        item[ilen] = '\0';
        long count = 1;
        char *colon = strchr(item, ':');
        if (colon) {
            *colon = '\0';
            char *cend;
            errno = 0;
            count = strtol(colon + 1, &cend, 10);
            if (errno || cend == colon + 1 || *cend || count < 0 || count > 1000000) {
                errbuf_set(err, errlen, "fleet entry '%s': count '%s' is not 0..1000000", item,
                           colon + 1);
                return -1;
            }
        }
        int idx = sim_profiles_find(set, item);
        if (idx < 0) {
            errbuf_set(err, errlen, "fleet entry '%s': no such profile", item);
            return -1;
        }
        if (n >= max) {
            errbuf_set(err, errlen, "fleet has more than %d entries", max);
            return -1;
        }
        out[n].profile = idx;
        out[n].count = (int)count;
        n++;
        p = end;
    }
    if (n == 0) {
        errbuf_set(err, errlen, "fleet spec is empty");
        return -1;
    }
    return n;
}

int sim_fleet_scale(sim_fleet_entry *e, int n, int total)
{
    if (n > SIM_FLEET_MAX)
        n = SIM_FLEET_MAX;
    long sum = 0;
    for (int i = 0; i < n; i++)
        sum += e[i].count;
    if (sum <= 0) { /* all zero: spread evenly */
        for (int i = 0; i < n; i++)
            e[i].count = 1;
        sum = n;
    }
    double rem[SIM_FLEET_MAX];
    int assigned = 0;
    for (int i = 0; i < n; i++) {
        double exact = (double)total * e[i].count / (double)sum;
        e[i].count = (int)floor(exact);
        rem[i] = exact - e[i].count;
        assigned += e[i].count;
    }
    /* Largest remainder first; ties go to the earlier entry (deterministic). */
    while (assigned < total) {
        int best = 0;
        for (int i = 1; i < n; i++)
            if (rem[i] > rem[best])
                best = i;
        e[best].count++;
        rem[best] = -1;
        assigned++;
    }
    return assigned;
}
