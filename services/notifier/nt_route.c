/*
 * nt_route — see nt_route.h.
 */
#include "nt_route.h"

#include <string.h>

static int sensor_match(const nt_channel *ch, const char *id)
{
    if (!ch->sensors)
        return 1;
    for (int i = 0; i < ch->nsensors; i++) {
        const char *p = ch->sensors[i];
        size_t n = strlen(p);
        if (n && p[n - 1] == '*') {
            if (strncmp(id, p, n - 1) == 0)
                return 1;
        } else if (strcmp(id, p) == 0) {
            return 1;
        }
    }
    return 0;
}

static int kind_match(const nt_channel *ch, const char *kind)
{
    if (!ch->kinds)
        return 1;
    for (int i = 0; i < ch->nkinds; i++)
        if (strcmp(kind, ch->kinds[i]) == 0)
            return 1;
    return 0;
}

int nt_route_match(const nt_channel *ch, const nt_event *ev)
{
    if (!(ch->events & ev->type))
        return 0;
    if (ev->type == NT_EV_TEST)
        return 1;
    if (ev->muted_until > ev->at)
        return 0;
    return ev->severity <= ch->min_severity && sensor_match(ch, ev->sensor_id) &&
           kind_match(ch, ev->kind);
}

time_t nt_route_release(const nt_channel *ch, int sev, time_t now)
{
    if (ch->quiet_from < 0 || sev <= ch->quiet_pass)
        return now;
    struct tm tm;
    if (!(ch->quiet_utc ? gmtime_r(&now, &tm) : localtime_r(&now, &tm)))
        return now;
    int m = tm.tm_hour * 60 + tm.tm_min;
    int from = ch->quiet_from, to = ch->quiet_to;
    int in = from < to ? (m >= from && m < to) : (m >= from || m < to);
    if (!in)
        return now;
    int left = (to - m + 24 * 60) % (24 * 60); /* minutes to the end */
    return now - tm.tm_sec + (time_t)left * 60;
}
