/*
 * nt_msg — see nt_msg.h. Texts are built with snprintf into fixed buffers
 * (they are prose, never JSON); every JSON value goes through jansson.
 */
#include "nt_msg.h"

#include <stdio.h>
#include <string.h>

#include "nt.h"

static const char *str(const json_t *o, const char *k)
{
    const char *s = json_string_value(json_object_get(o, k));
    return s ? s : "";
}

/* The text of one event document. */
static void event_text(const json_t *doc, const char *channel, char *buf, size_t cap)
{
    const json_t *a = json_object_get(doc, "alarm");
    const char *ev = str(doc, "event"), *by = str(doc, "by");
    const char *expl = str(a, "explanation");
    if (strcmp(ev, "test") == 0) {
        snprintf(buf, cap, "Test message from the iotad notifier (channel %s).", channel);
        return;
    }
    const char *what = strcmp(ev, "opened") == 0           ? "alarm opened"
                       : strcmp(ev, "cleared") == 0        ? "alarm cleared (recovered)"
                       : strcmp(ev, "acknowledged") == 0   ? "alarm acknowledged"
                       : strcmp(ev, "reminder") == 0       ? "alarm still active, not acknowledged"
                       : strcmp(ev, "muted") == 0          ? "alarm muted"
                       : strcmp(ev, "false_positive") == 0 ? "alarm marked a false positive"
                                                           : "alarm updated";
    snprintf(buf, cap, "[%s] %s%s%s: %s %s%s%s%s%s", str(a, "severity"), str(a, "sensor_id"),
             *str(a, "metric") ? " " : "", str(a, "metric"), str(a, "kind"), what,
             *by ? " by " : "", by, *expl ? ". " : "", expl);
}

static int sev_rank(const json_t *doc)
{
    int s = nt_severity_parse(str(json_object_get(doc, "alarm"), "severity"));
    return s < 0 ? NT_SEV_WARNING : s;
}

/* The summary line of a group. */
static void group_text(json_t *const *docs, size_t n, char *buf, size_t cap)
{
    size_t nev[8] = {0}, nsensors = 0;
    int worst = NT_SEV_WARNING;
    long long lo = 0, hi = 0;
    char list[512] = "";
    size_t listed = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned t = nt_event_type_parse(str(docs[i], "event"));
        for (int b = 0; b < 8; b++)
            if (t == 1u << b)
                nev[b]++;
        const json_t *at = json_object_get(docs[i], "at");
        long long v = json_is_integer(at) ? json_integer_value(at) : 0;
        if (i == 0 || v < lo)
            lo = v;
        if (i == 0 || v > hi)
            hi = v;
        if (sev_rank(docs[i]) < worst)
            worst = sev_rank(docs[i]);
        const char *sid = str(json_object_get(docs[i], "alarm"), "sensor_id");
        size_t j = 0;
        while (j < i && strcmp(sid, str(json_object_get(docs[j], "alarm"), "sensor_id")))
            j++;
        if (j < i)
            continue; /* sensor seen already */
        nsensors++;
        if (listed < 10) {
            size_t l = strlen(list);
            snprintf(list + l, sizeof list - l, "%s%s", listed ? ", " : "", sid);
            listed++;
        }
    }
    char counts[256] = "";
    for (int b = 0; b < 8; b++) {
        if (!nev[b])
            continue;
        size_t l = strlen(counts);
        snprintf(counts + l, sizeof counts - l, "%s%zu %s", l ? ", " : "", nev[b],
                 nt_event_type_name(1u << b));
    }
    snprintf(buf, cap, "%zu alarm events on %zu sensors within %lld s (%s); most severe %s: %s%s",
             n, nsensors, (hi - lo + 999) / 1000, counts, nt_severity_name(worst), list,
             nsensors > listed ? ", ..." : "");
}

static json_t *one_body(const char *channel, json_t *doc, const char *key)
{
    char text[1024];
    json_t *b = json_deep_copy(doc);
    if (!b)
        return NULL;
    event_text(doc, channel, text, sizeof text);
    if (json_object_set_new(b, "idempotency_key", json_string(key)) ||
        json_object_set_new(b, "channel", json_string(channel)) ||
        json_object_set_new(b, "text", json_string(text))) {
        json_decref(b);
        return NULL;
    }
    return b;
}

json_t *nt_msg_body(const char *channel, json_t *const *docs, const char *const *keys, size_t n)
{
    if (n == 0)
        return NULL;
    if (n == 1)
        return one_body(channel, docs[0], keys[0]);
    char text[1024], gkey[320];
    json_t *arr = json_array();
    if (!arr)
        return NULL;
    size_t nsensors = 0;
    for (size_t i = 0; i < n; i++) {
        const char *sid = str(json_object_get(docs[i], "alarm"), "sensor_id");
        size_t j = 0;
        while (j < i && strcmp(sid, str(json_object_get(docs[j], "alarm"), "sensor_id")))
            j++;
        nsensors += j == i;
        if (json_array_append_new(arr, one_body(channel, docs[i], keys[i]))) {
            json_decref(arr);
            return NULL;
        }
    }
    group_text(docs, n, text, sizeof text);
    snprintf(gkey, sizeof gkey, "group:%s:%zu", keys[0], n);
    return json_pack("{s:s, s:s, s:s, s:I, s:I, s:s, s:o}", "event", "group", "idempotency_key",
                     gkey, "channel", channel, "count", (json_int_t)n, "sensors",
                     (json_int_t)nsensors, "text", text, "events", arr);
}

const char *nt_msg_text(const json_t *body)
{
    return str(body, "text");
}

void nt_msg_title(const json_t *body, char *buf, size_t cap)
{
    const char *ev = str(body, "event");
    if (strcmp(ev, "group") == 0) {
        const json_t *c = json_object_get(body, "count"), *s = json_object_get(body, "sensors");
        snprintf(buf, cap, "%lld alarm events on %lld sensors", (long long)json_integer_value(c),
                 (long long)json_integer_value(s));
    } else if (strcmp(ev, "test") == 0) {
        snprintf(buf, cap, "iotad test message");
    } else {
        const json_t *a = json_object_get(body, "alarm");
        snprintf(buf, cap, "%s: %s %s alarm %s", str(a, "severity"), str(a, "sensor_id"),
                 str(a, "metric"), ev);
    }
}

/* The most severe event rank in body, and whether all of it is good news. */
static int worst(const json_t *body, int *good)
{
    const json_t *evs = json_object_get(body, "events");
    int w = NT_SEV_WARNING + 1;
    *good = 1;
    size_t n = json_is_array(evs) ? json_array_size(evs) : 1;
    for (size_t i = 0; i < n; i++) {
        const json_t *d = json_is_array(evs) ? json_array_get(evs, i) : body;
        const char *ev = str(d, "event");
        if (strcmp(ev, "cleared") && strcmp(ev, "acknowledged") && strcmp(ev, "false_positive"))
            *good = 0;
        if (sev_rank(d) < w)
            w = sev_rank(d);
    }
    return w;
}

int nt_msg_priority(const json_t *body)
{
    int good;
    int w = worst(body, &good);
    if (good || strcmp(str(body, "event"), "test") == 0)
        return 2;
    static const int prio[] = {5, 4, 3, 3};
    return prio[w > 3 ? 3 : w];
}

const char *nt_msg_tags(const json_t *body)
{
    int good;
    int w = worst(body, &good);
    if (strcmp(str(body, "event"), "test") == 0)
        return "test_tube";
    if (good)
        return "white_check_mark";
    return w == NT_SEV_CRITICAL ? "rotating_light" : "warning";
}
