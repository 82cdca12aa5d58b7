/*
 * ingest_norm — the normalisation every ingest adapter shares, so that a
 * Zigbee2MQTT "temperature", a Tasmota "Temperature" in degF and a SenML
 * record with unit "K" all become the same metric `temperature` in degC.
 *
 * Units are converted by family (what the unit measures), not by metric
 * name: an allow-listed extra metric in "K" is still converted to degC.
 * Unknown units on the three known metrics are an error rather than a
 * guess, because a reading in the wrong unit would be scored as an anomaly
 * (or hide one). Humidity is never rescaled from its value alone (a real
 * 0.8 %RH in a dry box would otherwise become 80 %RH): only a unit that
 * says "fraction" ("/", "ratio", "fraction") multiplies by 100.
 *
 * Two rules every adapter goes through here (issue #19): every value is
 * bounded like a native one (adapter_check_value: finite, |v| <= 1e15,
 * before and after conversion), and a sensor id named in a payload stays
 * under the device that owns the topic (adapter_device_sensor_id).
 */
#define _GNU_SOURCE /* strchrnul, timegm */
#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "ingest/adapter.h"

/* ---- metric names ----------------------------------------------------- */

static const struct {
    const char *alias, *name;
} metric_aliases[] = {
    {"temperature", "temperature"},
    {"temp", "temperature"},
    {"tmp", "temperature"},
    {"air_temperature", "temperature"},
    {"ambient_temperature", "temperature"},
    {"humidity", "humidity"},
    {"hum", "humidity"},
    {"humid", "humidity"},
    {"rh", "humidity"},
    {"relative_humidity", "humidity"},
    {"relativehumidity", "humidity"},
    {"pressure", "pressure"},
    {"press", "pressure"},
    {"baro", "pressure"},
    {"barometer", "pressure"},
    {"air_pressure", "pressure"},
    {"atmospheric_pressure", "pressure"},
    {"barometric_pressure", "pressure"},
};

int adapter_metric_name(const char *field, char *out, size_t cap)
{
    char low[READING_NAME_MAX];
    size_t n = strlen(field);
    if (n == 0 || n >= sizeof low || n >= cap)
        return -1;
    for (size_t i = 0; i <= n; i++)
        low[i] = (char)tolower((unsigned char)field[i]);
    for (size_t i = 0; i < sizeof metric_aliases / sizeof metric_aliases[0]; i++) {
        if (strcmp(low, metric_aliases[i].alias) == 0) {
            snprintf(out, cap, "%s", metric_aliases[i].name);
            return 0;
        }
    }
    memcpy(out, low, n + 1);
    return 0;
}

enum adapter_family adapter_metric_family(const char *metric)
{
    if (strcmp(metric, "temperature") == 0)
        return ADAPTER_FAM_TEMPERATURE;
    if (strcmp(metric, "pressure") == 0)
        return ADAPTER_FAM_PRESSURE;
    if (strcmp(metric, "humidity") == 0)
        return ADAPTER_FAM_HUMIDITY;
    return ADAPTER_FAM_UNKNOWN;
}

/* ---- units ------------------------------------------------------------ */

/* canonical = scale * v + offset. Spellings: SenML (RFC 8428 section 12.1:
 * "Cel", "K", "Pa", "%RH", "/"), Tasmota ("C", "F", "hPa", "mmHg",
 * "inHg"), ESPHome/Home Assistant ("°C", "°F", "hPa", "%"), and common
 * ASCII forms. Compared case-sensitively where case carries meaning
 * ("mbar" vs "Mbar" is not a real risk, "K" vs "k" is). */
static const struct {
    const char *unit;
    enum adapter_family fam;
    double scale, offset;
} units[] = {
    {"Cel", ADAPTER_FAM_TEMPERATURE, 1, 0},
    {"C", ADAPTER_FAM_TEMPERATURE, 1, 0},
    {"\xc2\xb0"
     "C",
     ADAPTER_FAM_TEMPERATURE, 1, 0}, /* °C */
    {"degC", ADAPTER_FAM_TEMPERATURE, 1, 0},
    {"celsius", ADAPTER_FAM_TEMPERATURE, 1, 0},
    {"Celsius", ADAPTER_FAM_TEMPERATURE, 1, 0},
    {"K", ADAPTER_FAM_TEMPERATURE, 1, -273.15},
    {"kelvin", ADAPTER_FAM_TEMPERATURE, 1, -273.15},
    {"F", ADAPTER_FAM_TEMPERATURE, 5.0 / 9.0, -32.0 * 5.0 / 9.0},
    {"\xc2\xb0"
     "F",
     ADAPTER_FAM_TEMPERATURE, 5.0 / 9.0, -32.0 * 5.0 / 9.0}, /* °F */
    {"degF", ADAPTER_FAM_TEMPERATURE, 5.0 / 9.0, -32.0 * 5.0 / 9.0},
    {"Far", ADAPTER_FAM_TEMPERATURE, 5.0 / 9.0, -32.0 * 5.0 / 9.0},
    {"fahrenheit", ADAPTER_FAM_TEMPERATURE, 5.0 / 9.0, -32.0 * 5.0 / 9.0},
    {"Fahrenheit", ADAPTER_FAM_TEMPERATURE, 5.0 / 9.0, -32.0 * 5.0 / 9.0},
    {"hPa", ADAPTER_FAM_PRESSURE, 1, 0},
    {"mbar", ADAPTER_FAM_PRESSURE, 1, 0},
    {"mb", ADAPTER_FAM_PRESSURE, 1, 0},
    {"millibar", ADAPTER_FAM_PRESSURE, 1, 0},
    {"Pa", ADAPTER_FAM_PRESSURE, 0.01, 0},
    {"kPa", ADAPTER_FAM_PRESSURE, 10, 0},
    {"bar", ADAPTER_FAM_PRESSURE, 1000, 0},
    {"inHg", ADAPTER_FAM_PRESSURE, 33.8638866667, 0}, /* 1 inHg (0 degC) = 3386.38866667 Pa */
    {"mmHg", ADAPTER_FAM_PRESSURE, 1.33322387415, 0}, /* 1 mmHg = 133.322387415 Pa */
    {"psi", ADAPTER_FAM_PRESSURE, 68.9475729318, 0},  /* 1 psi = 6894.75729318 Pa */
    {"%RH", ADAPTER_FAM_HUMIDITY, 1, 0},
    {"%", ADAPTER_FAM_HUMIDITY, 1, 0},
    {"RH", ADAPTER_FAM_HUMIDITY, 1, 0},
    {"/", ADAPTER_FAM_HUMIDITY, 100, 0}, /* SenML "ratio" (RFC 8428: 1 = 100%) */
    {"ratio", ADAPTER_FAM_HUMIDITY, 100, 0},
    {"fraction", ADAPTER_FAM_HUMIDITY, 100, 0},
};

static int unit_index(const char *unit)
{
    for (size_t i = 0; i < sizeof units / sizeof units[0]; i++)
        if (strcmp(unit, units[i].unit) == 0)
            return (int)i;
    return -1;
}

enum adapter_family adapter_unit_family(const char *unit)
{
    if (!unit || !*unit)
        return ADAPTER_FAM_UNKNOWN;
    int i = unit_index(unit);
    return i < 0 ? ADAPTER_FAM_UNKNOWN : units[i].fam;
}

int adapter_unit_convert(enum adapter_family fam, const char *unit, double v, double *out)
{
    if (!unit || !*unit) {
        *out = v;
        return 0;
    }
    int i = unit_index(unit);
    if (i < 0 || units[i].fam != fam)
        return -1;
    *out = units[i].scale * v + units[i].offset;
    return 0;
}

int adapter_metrics_find(const adapter_metrics *m, const char *metric)
{
    for (int i = 0; i < m->n; i++)
        if (strcmp(m->name[i], metric) == 0)
            return i;
    return -1;
}

int adapter_check_value(const char *metric, double v, char *err, size_t errlen)
{
    if (isfinite(v) && fabs(v) <= READING_MAX_ABS)
        return 0;
    if (isfinite(v))
        errbuf_set(err, errlen, "metric '%.40s' is out of range (|value| > %g)", metric,
                   READING_MAX_ABS);
    else
        errbuf_set(err, errlen, "metric '%.40s' is not finite", metric);
    return READING_ERR_TYPE;
}

int adapter_add_value(const adapter_metrics *m, reading *r, const char *field, const char *unit, double v,
                 char *err, size_t errlen)
{
    char metric[READING_NAME_MAX];
    if (adapter_metric_name(field, metric, sizeof metric) != 0)
        return 0; /* longer than any metric we could pass on */
    int k = adapter_metrics_find(m, metric);
    if (k < 0)
        return 0;
    int rc = adapter_check_value(metric, v, err, errlen);
    if (rc < 0)
        return rc;
    if (!unit || !*unit)
        unit = m->unit[k];
    enum adapter_family fam = adapter_metric_family(metric);
    if (fam == ADAPTER_FAM_UNKNOWN)
        fam = adapter_unit_family(unit); /* extra metric: convert when the unit is known */
    double cv = v;
    if (fam != ADAPTER_FAM_UNKNOWN && adapter_unit_convert(fam, unit, v, &cv) != 0) {
        errbuf_set(err, errlen, "unit '%.20s' is not a unit of %s", unit, metric);
        return READING_ERR_FORMAT;
    }
    /* Checked again: a bounded value can leave the bound once converted
     * (9.99e14 psi is 6.9e16 hPa). */
    if ((rc = adapter_check_value(metric, cv, err, errlen)) < 0)
        return rc;
    rc = reading_add(r, metric, cv);
    if (rc == READING_ERR_TOO_MANY) {
        errbuf_set(err, errlen, "more than %d metrics", READING_MAX_METRICS);
        return rc;
    }
    return rc < 0 ? rc : 1;
}

/* ---- sensor ids ------------------------------------------------------- */

int adapter_sensor_id(const ingest *ig, const char *source, const char *id_prefix, const char *name,
                 char out[SENSOR_ID_MAX])
{
    for (int i = 0; i < ig->nsensors; i++) {
        const adapter_sensor *s = &ig->sensors[i];
        if (s->source && s->name && strcmp(s->source, source) == 0 && strcmp(s->name, name) == 0) {
            snprintf(out, SENSOR_ID_MAX, "%s", s->id); /* validated when loaded */
            return 0;
        }
    }
    size_t n = 0;
    const char *parts[2] = {id_prefix ? id_prefix : "", name};
    for (int p = 0; p < 2; p++) {
        for (const char *c = parts[p]; *c && n < SENSOR_ID_MAX - 1; c++) {
            char ch = *c;
            int ok = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
                     (ch >= '0' && ch <= '9') || ch == '_' || ch == '-' || ch == '.' || ch == ':';
            out[n++] = ok ? ch : '_';
        }
    }
    out[n] = '\0';
    return n > 0 && sensor_id_valid(out) ? 0 : READING_ERR_SENSOR;
}

/* Append src to out[*n..] with every character outside the id alphabet
 * replaced by '_', and also '.' when `dots` is 0. Returns -1 when it does
 * not fit in SENSOR_ID_MAX - 1 characters. */
static int id_append(char *out, size_t *n, const char *src, int dots)
{
    for (const char *c = src; *c; c++) {
        char ch = *c;
        int ok = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
                 ch == '_' || ch == '-' || ch == ':' || (ch == '.' && dots);
        if (*n >= SENSOR_ID_MAX - 1)
            return -1;
        out[(*n)++] = ok ? ch : '_';
    }
    out[*n] = '\0';
    return 0;
}

int adapter_device_sensor_id(const ingest *ig, const char *source, const char *id_prefix,
                             const char *device, const char *sub, char out[SENSOR_ID_MAX],
                             char *err, size_t errlen)
{
    char sub_clean[ADAPTER_NAME_MAX], natural[2 * ADAPTER_NAME_MAX + 2];
    size_t n = 0;
    if (!*device) {
        errbuf_set(err, errlen, "no device in the topic");
        return READING_ERR_SENSOR;
    }
    if (!sub)
        sub = "";
    /* '.' separates the device from its parts: a part may not add another
     * level ("b.c" would reach device "a.b"'s part "c"). */
    size_t sl = strlen(sub);
    if (sl >= sizeof sub_clean) {
        errbuf_set(err, errlen, "sensor name in the payload is longer than %d",
                   ADAPTER_NAME_MAX - 1);
        return READING_ERR_SENSOR;
    }
    for (size_t i = 0; i <= sl; i++)
        sub_clean[i] = sub[i] == '.' ? '_' : sub[i];
    snprintf(natural, sizeof natural, "%s%s%s", device, *sub_clean ? "." : "", sub_clean);
    for (int i = 0; i < ig->nsensors; i++) {
        const adapter_sensor *s = &ig->sensors[i];
        if (s->source && s->name && strcmp(s->source, source) == 0 &&
            strcmp(s->name, natural) == 0) {
            snprintf(out, SENSOR_ID_MAX, "%s", s->id); /* validated when loaded */
            return 0;
        }
    }
    out[0] = '\0';
    if (id_append(out, &n, id_prefix ? id_prefix : "", 1) < 0 ||
        id_append(out, &n, device, 1) < 0 ||
        (*sub_clean && (id_append(out, &n, ".", 1) < 0 || id_append(out, &n, sub_clean, 0) < 0))) {
        errbuf_set(err, errlen, "sensor id '%.40s...' of device '%.40s' is longer than %d", natural,
                   device, SENSOR_ID_MAX - 1);
        return READING_ERR_SENSOR;
    }
    if (!sensor_id_valid(out)) {
        errbuf_set(err, errlen, "no usable sensor id for device '%.40s'", device);
        return READING_ERR_SENSOR;
    }
    return 0;
}

/* ---- topics ----------------------------------------------------------- */

int adapter_topic_match(const char *filter, const char *topic, char *cap, size_t capn)
{
    const char *f = filter, *t = topic, *cs = NULL, *ce = NULL;
    int tdone = 0; /* the topic has no level left to match */
    for (;;) {
        const char *fe = strchrnul(f, '/');
        if (fe - f == 1 && *f == '#') {
            /* the rest, including no level at all: "a/#" matches "a" */
            if (!cs) {
                cs = t;
                ce = t + strlen(t);
            }
            break;
        }
        if (tdone)
            return 0;
        const char *te = strchrnul(t, '/');
        if (fe - f == 1 && *f == '+') {
            if (!cs) {
                cs = t;
                ce = te;
            }
        } else if (fe - f != te - t || memcmp(f, t, (size_t)(fe - f)) != 0) {
            return 0;
        }
        if (*fe == '\0' && *te == '\0')
            break;
        if (*fe == '\0')
            return 0; /* the topic is deeper than the filter */
        f = fe + 1;
        if (*te == '\0') {
            tdone = 1;
            t = te;
        } else {
            t = te + 1;
        }
    }
    if (cap && capn) {
        size_t n = cs ? (size_t)(ce - cs) : 0;
        if (n >= capn)
            return -1;
        if (n)
            memcpy(cap, cs, n);
        cap[n] = '\0';
    }
    return 1;
}

/* ---- time ------------------------------------------------------------- */

static int digits(const char **p, int n, int *out)
{
    int v = 0;
    for (int i = 0; i < n; i++) {
        char c = (*p)[i];
        if (c < '0' || c > '9')
            return -1;
        v = v * 10 + (c - '0');
    }
    *p += n;
    *out = v;
    return 0;
}

int adapter_parse_iso8601(const char *s, int default_offset_s, double *out)
{
    int Y, M, D, h, m, sec;
    const char *p = s;
    if (digits(&p, 4, &Y) || *p++ != '-' || digits(&p, 2, &M) || *p++ != '-' || digits(&p, 2, &D))
        return -1;
    if (*p != 'T' && *p != ' ')
        return -1;
    p++;
    if (digits(&p, 2, &h) || *p++ != ':' || digits(&p, 2, &m) || *p++ != ':' || digits(&p, 2, &sec))
        return -1;
    double frac = 0;
    if (*p == '.') {
        p++;
        double scale = 0.1;
        if (*p < '0' || *p > '9')
            return -1;
        for (int i = 0; *p >= '0' && *p <= '9'; p++, i++) {
            if (i < 9)
                frac += (*p - '0') * scale;
            scale /= 10;
        }
    }
    int offset = default_offset_s;
    if (*p == 'Z') {
        offset = 0;
        p++;
    } else if (*p == '+' || *p == '-') {
        int sign = *p++ == '-' ? -1 : 1, oh, om;
        if (digits(&p, 2, &oh))
            return -1;
        if (*p == ':')
            p++;
        if (digits(&p, 2, &om) || oh > 23 || om > 59)
            return -1;
        offset = sign * (oh * 3600 + om * 60);
    }
    if (*p)
        return -1;
    static const int mdays[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (Y < 1970 || M < 1 || M > 12 || D < 1 || D > mdays[M - 1] || h > 23 || m > 59 || sec > 60)
        return -1;
    struct tm tm = {.tm_year = Y - 1900,
                    .tm_mon = M - 1,
                    .tm_mday = D,
                    .tm_hour = h,
                    .tm_min = m,
                    .tm_sec = sec};
    time_t t = timegm(&tm);
    if (t == (time_t)-1)
        return -1;
    *out = (double)t - offset + frac;
    return 0;
}

int adapter_check_ts(double ts, double now, char *err, size_t errlen)
{
    if (!isfinite(ts) || ts < 0 || ts > now + READING_MAX_FUTURE_S) {
        errbuf_set(err, errlen, "ts %.3f is out of range", isfinite(ts) ? ts : -1.0);
        return READING_ERR_TS;
    }
    return 0;
}
