/*
 * nt_config — see nt_config.h. Each channel object is read member by
 * member from a table of known names, so an unknown member (a typo such as
 * "min_severty") is an error rather than a silently ignored setting.
 */
#include "nt_config.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const type_names[] = {"webhook", "ntfy", "telegram", "email", "mqtt"};

const char *nt_channel_type_name(nt_channel_type t)
{
    return ((unsigned)t < 5) ? type_names[t] : "?";
}

typedef struct {
    char *err;
    size_t errlen;
    int i; /* channel index */
} ctx;

static int fail(ctx *c, const char *member, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int fail(ctx *c, const char *member, const char *fmt, ...)
{
    char msg[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (c->i < 0)
        snprintf(c->err, c->errlen, "%s: %s", member, msg);
    else
        snprintf(c->err, c->errlen, "channels[%d]%s%s: %s", c->i, member ? "." : "",
                 member ? member : "", msg);
    return -1;
}

static int str_member(ctx *c, json_t *o, const char *name, char **dst)
{
    json_t *v = json_object_get(o, name);
    if (!v)
        return 0;
    const char *s = json_string_value(v);
    if (!s || !*s)
        return fail(c, name, "must be a non-empty string");
    for (const char *p = s; *p; p++)
        if ((unsigned char)*p < 0x20)
            return fail(c, name, "must not contain control characters");
    if (!(*dst = strdup(s)))
        return fail(c, name, "out of memory");
    return 0;
}

static int num_member(ctx *c, json_t *o, const char *name, double *dst, double lo, double hi)
{
    json_t *v = json_object_get(o, name);
    if (!v)
        return 0;
    if (!json_is_number(v))
        return fail(c, name, "must be a number");
    double d = json_number_value(v);
    if (!isfinite(d) || d < lo || d > hi)
        return fail(c, name, "must be between %g and %g", lo, hi);
    *dst = d;
    return 0;
}

static int bool_member(ctx *c, json_t *o, const char *name, int *dst)
{
    json_t *v = json_object_get(o, name);
    if (!v)
        return 0;
    if (!json_is_boolean(v))
        return fail(c, name, "must be true or false");
    *dst = json_is_true(v);
    return 0;
}

/* A list of non-empty strings (a single string is a list of one). */
static int list_member(ctx *c, json_t *o, const char *name, char ***dst, int *n)
{
    json_t *v = json_object_get(o, name);
    if (!v)
        return 0;
    size_t k = json_is_array(v) ? json_array_size(v) : 1;
    if ((!json_is_array(v) && !json_is_string(v)) || k == 0)
        return fail(c, name, "must be a string or a non-empty array of strings");
    *dst = calloc(k, sizeof **dst);
    if (!*dst)
        return fail(c, name, "out of memory");
    for (size_t i = 0; i < k; i++) {
        const char *s = json_string_value(json_is_array(v) ? json_array_get(v, i) : v);
        if (!s || !*s)
            return fail(c, name, "item %zu must be a non-empty string", i);
        if (!((*dst)[i] = strdup(s)))
            return fail(c, name, "out of memory");
        (*n)++;
    }
    return 0;
}

/* "HH:MM" -> minutes of the day, or -1. */
static int hhmm(const char *s)
{
    int h, m;
    char tail;
    if (!s || sscanf(s, "%2d:%2d%c", &h, &m, &tail) != 2 || h < 0 || h > 23 || m < 0 || m > 59 ||
        strlen(s) != 5)
        return -1;
    return h * 60 + m;
}

static int quiet_member(ctx *c, json_t *o, nt_channel *ch)
{
    json_t *q = json_object_get(o, "quiet_hours");
    if (!q)
        return 0;
    const char *k;
    json_t *v;
    if (!json_is_object(q))
        return fail(c, "quiet_hours", "must be an object {\"from\":\"22:00\",\"to\":\"07:00\"}");
    json_object_foreach(q, k, v)
    {
        if (strcmp(k, "from") && strcmp(k, "to") && strcmp(k, "utc") && strcmp(k, "except"))
            return fail(c, "quiet_hours", "unknown member \"%s\" (from, to, utc, except)", k);
    }
    ch->quiet_from = hhmm(json_string_value(json_object_get(q, "from")));
    ch->quiet_to = hhmm(json_string_value(json_object_get(q, "to")));
    if (ch->quiet_from < 0 || ch->quiet_to < 0 || ch->quiet_from == ch->quiet_to)
        return fail(c, "quiet_hours", "from and to must be different times \"HH:MM\"");
    if (bool_member(c, q, "utc", &ch->quiet_utc))
        return -1;
    json_t *e = json_object_get(q, "except");
    if (e) {
        ch->quiet_pass = nt_severity_parse(json_string_value(e));
        if (ch->quiet_pass < 0)
            return fail(c, "quiet_hours.except",
                        "must be critical, major, minor or warning (that severe or worse is "
                        "sent at once)");
    }
    return 0;
}

static const char *const known[] = {"name",
                                    "type",
                                    "url",
                                    "secret",
                                    "token",
                                    "base_url",
                                    "chat_id",
                                    "from",
                                    "to",
                                    "username",
                                    "password",
                                    "starttls",
                                    "ca_file",
                                    "topic",
                                    "qos",
                                    "retain",
                                    "min_severity",
                                    "sensors",
                                    "kinds",
                                    "events",
                                    "quiet_hours",
                                    "rate_per_minute",
                                    "group_seconds",
                                    "group_max",
                                    "remind_minutes",
                                    "timeout_seconds",
                                    "backoff_max_seconds"};

static int name_ok(const char *s)
{
    size_t n = s ? strlen(s) : 0;
    if (n == 0 || n >= NT_NAME_MAX)
        return 0;
    for (; *s; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') ||
              *s == '_' || *s == '-' || *s == '.'))
            return 0;
    return 1;
}

/* Members a type needs, and the ones it may not have. */
static int check_type(ctx *c, nt_channel *ch)
{
    switch (ch->type) {
    case NT_WEBHOOK:
    case NT_NTFY:
        if (!ch->url)
            return fail(c, "url", "required for type %s", type_names[ch->type]);
        if (strncmp(ch->url, "http://", 7) && strncmp(ch->url, "https://", 8))
            return fail(c, "url", "must start with http:// or https://");
        break;
    case NT_TELEGRAM:
        if (!ch->token || !ch->chat_id)
            return fail(c, ch->token ? "chat_id" : "token", "required for type telegram");
        if (!ch->base_url && !(ch->base_url = strdup("https://api.telegram.org")))
            return fail(c, "base_url", "out of memory");
        if (strncmp(ch->base_url, "http://", 7) && strncmp(ch->base_url, "https://", 8))
            return fail(c, "base_url", "must start with http:// or https://");
        break;
    case NT_EMAIL:
        if (!ch->url || !ch->from || !ch->to)
            return fail(c, !ch->url ? "url" : !ch->from ? "from" : "to", "required for type email");
        if (strncmp(ch->url, "smtp://", 7) && strncmp(ch->url, "smtps://", 8))
            return fail(c, "url", "must start with smtp:// (STARTTLS) or smtps://");
        break;
    case NT_MQTT:
        if (!ch->topic)
            return fail(c, "topic", "required for type mqtt");
        if (strpbrk(ch->topic, "+#"))
            return fail(c, "topic", "must not contain + or # (a topic, not a filter)");
        break;
    }
    if (ch->secret && ch->type != NT_WEBHOOK)
        return fail(c, "secret", "only for type webhook");
    return 0;
}

static int parse_channel(ctx *c, json_t *o, nt_channel *ch, const nt_config *sofar)
{
    const char *k;
    json_t *v;
    if (!json_is_object(o))
        return fail(c, NULL, "must be an object");
    json_object_foreach(o, k, v)
    {
        size_t i = 0;
        while (i < sizeof known / sizeof known[0] && strcmp(k, known[i]))
            i++;
        if (i == sizeof known / sizeof known[0])
            return fail(c, k, "unknown member (see docs/notifier.md)");
    }
    ch->quiet_from = ch->quiet_to = -1;
    ch->quiet_pass = NT_SEV_CRITICAL;
    ch->min_severity = NT_SEV_WARNING;
    ch->events = NT_EV_DEFAULT;
    ch->rate_per_min = 6;
    ch->group_s = 0;
    ch->group_max = 100;
    ch->timeout_s = 10;
    ch->backoff_max_s = 300;
    ch->starttls = 1;
    ch->qos = 1;

    const char *name = json_string_value(json_object_get(o, "name"));
    if (!name_ok(name))
        return fail(c, "name", "required: 1..63 of A-Z a-z 0-9 _ . -");
    for (int i = 0; i < sofar->n; i++)
        if (strcmp(sofar->ch[i].name, name) == 0)
            return fail(c, "name", "\"%s\" is used twice", name);
    snprintf(ch->name, sizeof ch->name, "%s", name);
    const char *type = json_string_value(json_object_get(o, "type"));
    int t = -1;
    for (int i = 0; type && i < 5; i++)
        if (strcmp(type, type_names[i]) == 0)
            t = i;
    if (t < 0)
        return fail(c, "type", "required: webhook, ntfy, telegram, email or mqtt");
    ch->type = (nt_channel_type)t;

    if (str_member(c, o, "url", &ch->url) || str_member(c, o, "secret", &ch->secret) ||
        str_member(c, o, "token", &ch->token) || str_member(c, o, "base_url", &ch->base_url) ||
        str_member(c, o, "from", &ch->from) || str_member(c, o, "username", &ch->username) ||
        str_member(c, o, "password", &ch->password) || str_member(c, o, "ca_file", &ch->ca_file) ||
        str_member(c, o, "topic", &ch->topic) || list_member(c, o, "to", &ch->to, &ch->nto) ||
        list_member(c, o, "sensors", &ch->sensors, &ch->nsensors) ||
        list_member(c, o, "kinds", &ch->kinds, &ch->nkinds) ||
        bool_member(c, o, "starttls", &ch->starttls) || bool_member(c, o, "retain", &ch->retain) ||
        quiet_member(c, o, ch))
        return -1;
    /* a Telegram chat id is a number or "@channelname" */
    json_t *chat = json_object_get(o, "chat_id");
    if (json_is_integer(chat)) {
        char buf[32];
        snprintf(buf, sizeof buf, "%lld", (long long)json_integer_value(chat));
        ch->chat_id = strdup(buf);
    } else if (chat && str_member(c, o, "chat_id", &ch->chat_id)) {
        return -1;
    }
    json_t *sev = json_object_get(o, "min_severity");
    if (sev && (ch->min_severity = nt_severity_parse(json_string_value(sev))) < 0)
        return fail(c, "min_severity", "must be critical, major, minor or warning");
    json_t *ev = json_object_get(o, "events");
    if (ev) {
        char **names = NULL;
        int n = 0, rc = list_member(c, o, "events", &names, &n);
        ch->events = 0;
        for (int i = 0; rc == 0 && i < n; i++) {
            unsigned b = nt_event_type_parse(names[i]);
            if (!b)
                rc = fail(c, "events", "unknown event \"%s\"", names[i]);
            ch->events |= b;
        }
        for (int i = 0; i < n; i++)
            free(names[i]);
        free(names);
        if (rc)
            return -1;
    }
    double qos = ch->qos, gmax = ch->group_max;
    if (num_member(c, o, "rate_per_minute", &ch->rate_per_min, 0.01, 600000) ||
        num_member(c, o, "group_seconds", &ch->group_s, 0, 3600) ||
        num_member(c, o, "group_max", &gmax, 1, 10000) ||
        num_member(c, o, "remind_minutes", &ch->remind_min, 0, 525600) ||
        num_member(c, o, "timeout_seconds", &ch->timeout_s, 0.1, 300) ||
        num_member(c, o, "backoff_max_seconds", &ch->backoff_max_s, 1, 86400) ||
        num_member(c, o, "qos", &qos, 0, 1))
        return -1;
    if (qos != 0 && qos != 1)
        return fail(c, "qos", "must be 0 or 1");
    ch->qos = (int)qos;
    ch->group_max = (int)gmax;
    return check_type(c, ch);
}

static void free_list(char **l, int n)
{
    for (int i = 0; i < n; i++)
        free(l[i]);
    free(l);
}

static void free_channel(nt_channel *ch)
{
    free(ch->url);
    free(ch->secret);
    free(ch->token);
    free(ch->base_url);
    free(ch->chat_id);
    free(ch->from);
    free(ch->username);
    free(ch->password);
    free(ch->ca_file);
    free(ch->topic);
    free_list(ch->to, ch->nto);
    free_list(ch->sensors, ch->nsensors);
    free_list(ch->kinds, ch->nkinds);
}

void nt_config_free(nt_config *c)
{
    if (!c)
        return;
    for (int i = 0; i < c->n; i++)
        free_channel(&c->ch[i]);
    free(c->ch);
    c->ch = NULL;
    c->n = 0;
}

int nt_config_parse(const char *json, size_t len, nt_config *out, char *err, size_t errlen)
{
    ctx c = {err, errlen, -1};
    json_error_t je;
    int rc = -1;
    memset(out, 0, sizeof *out);
    json_t *root = json_loadb(json, len, JSON_REJECT_DUPLICATES, &je);
    if (!root) {
        snprintf(err, errlen, "not JSON (line %d, column %d): %s", je.line, je.column, je.text);
        return -1;
    }
    const char *k;
    json_t *v;
    if (!json_is_object(root)) {
        fail(&c, "(top)", "must be an object {\"channels\": [...]}");
        goto out;
    }
    json_object_foreach(root, k, v)
    {
        if (strcmp(k, "channels")) {
            fail(&c, k, "unknown member (the file holds {\"channels\": [...]})");
            goto out;
        }
    }
    json_t *chs = json_object_get(root, "channels");
    if (!json_is_array(chs) || json_array_size(chs) == 0 || json_array_size(chs) > 64) {
        fail(&c, "channels", "required: an array of 1..64 channel objects");
        goto out;
    }
    out->ch = calloc(json_array_size(chs), sizeof *out->ch);
    if (!out->ch) {
        fail(&c, "channels", "out of memory");
        goto out;
    }
    for (size_t i = 0; i < json_array_size(chs); i++) {
        c.i = (int)i;
        int r = parse_channel(&c, json_array_get(chs, i), &out->ch[i], out);
        out->n++; /* counted even on failure, so nt_config_free frees it */
        if (r)
            goto out;
    }
    rc = 0;
out:
    json_decref(root);
    if (rc)
        nt_config_free(out);
    return rc;
}

int nt_config_load(const char *path, nt_config *out, char *err, size_t errlen)
{
    char why[400];
    memset(out, 0, sizeof *out);
    FILE *f = fopen(path, "rb");
    if (!f) {
        snprintf(err, errlen, "%s: cannot open", path);
        return -1;
    }
    char *buf = malloc(1 << 20);
    size_t n = buf ? fread(buf, 1, 1 << 20, f) : 0;
    int big = buf && n == (1 << 20);
    fclose(f);
    if (!buf || big) {
        free(buf);
        snprintf(err, errlen, "%s: %s", path, buf ? "larger than 1 MiB" : "out of memory");
        return -1;
    }
    int rc = nt_config_parse(buf, n, out, why, sizeof why);
    free(buf);
    if (rc)
        snprintf(err, errlen, "%s: %s", path, why);
    return rc;
}

const nt_channel *nt_config_find(const nt_config *c, const char *name)
{
    for (int i = 0; c && name && i < c->n; i++)
        if (strcmp(c->ch[i].name, name) == 0)
            return &c->ch[i];
    return NULL;
}
