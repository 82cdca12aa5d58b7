/*
 * nt — the notifier's shared types: a routed event and a channel's
 * settings (as read from NOTIFY_CONFIG by nt_config.c).
 *
 * The notifier (docs/notifier.md) turns the gateway's alarm lifecycle
 * events (alarms/events/{sensor_id}, bus/alarm.h) into messages on
 * channels: webhook, ntfy, Telegram, e-mail, MQTT. Files:
 *   nt_event.c   a lifecycle event: the fields routing needs, the document
 *   nt_config.c  NOTIFY_CONFIG: parse and validate the routing file
 *   nt_route.c   which channels want an event; quiet hours
 *   nt_sign.c    HMAC-SHA256 of a webhook body (OpenSSL libcrypto)
 *   nt_msg.c     message bodies and texts: one event or a group
 *   nt_send.c    the channels' protocols (libcurl; MQTT republish)
 *   nt_queue.c   the durable outbox and one delivery thread per channel
 *                (rate limit, grouping, retries with backoff)
 *   nt_remind.c  reminders every N minutes until acknowledged
 *   nt_ha.c      Home Assistant MQTT discovery payloads
 */
#ifndef NT_H
#define NT_H

#include <jansson.h>
#include <stdint.h>

#define NT_NAME_MAX 64 /* channel name incl. NUL: 1..63 of [A-Za-z0-9_.-] */

/* Severities, most severe first (bus/alarm.h's order): a channel's
 * min_severity passes an event whose rank is <= its own. */
enum { NT_SEV_CRITICAL = 0, NT_SEV_MAJOR = 1, NT_SEV_MINOR = 2, NT_SEV_WARNING = 3 };

/* Event kinds a channel may ask for (bit masks). */
enum {
    NT_EV_OPENED = 1 << 0,
    NT_EV_UPDATED = 1 << 1,
    NT_EV_ACKNOWLEDGED = 1 << 2,
    NT_EV_MUTED = 1 << 3,
    NT_EV_FALSE_POSITIVE = 1 << 4,
    NT_EV_CLEARED = 1 << 5,
    NT_EV_REMINDER = 1 << 6,
    NT_EV_TEST = 1 << 7,
};
/* The default: what a person wants to hear about (not every update). */
#define NT_EV_DEFAULT                                                                              \
    (NT_EV_OPENED | NT_EV_ACKNOWLEDGED | NT_EV_CLEARED | NT_EV_REMINDER | NT_EV_TEST)

typedef enum { NT_WEBHOOK, NT_NTFY, NT_TELEGRAM, NT_EMAIL, NT_MQTT } nt_channel_type;

/** One channel of the routing file (owned by its nt_config). */
typedef struct {
    char name[NT_NAME_MAX];
    nt_channel_type type;
    /* where */
    char *url;      /* webhook URL, ntfy topic URL, smtp:// or smtps:// URL */
    char *secret;   /* webhook: HMAC key (may be NULL: no signature header) */
    char *token;    /* telegram bot token; ntfy access token (NULL: none) */
    char *base_url; /* telegram API base (default https://api.telegram.org) */
    char *chat_id;  /* telegram */
    char *from;     /* email */
    char **to;      /* email recipients */
    int nto;
    char *username, *password; /* email (may be NULL) */
    int starttls;              /* email: 1 require STARTTLS (default), 0 plain (tests only) */
    char *ca_file;             /* CA file for https:// and STARTTLS (NULL: system) */
    char *topic;               /* mqtt: republish topic */
    int qos, retain;           /* mqtt */
    /* what */
    int min_severity; /* NT_SEV_*: events at least this severe */
    char **sensors;   /* exact ids, or prefixes ending in '*'; NULL = all */
    int nsensors;
    char **kinds; /* alarm kinds; NULL = all */
    int nkinds;
    unsigned events; /* NT_EV_* mask */
    /* when */
    int quiet_from, quiet_to; /* minutes of the day [from, to) (wraps midnight); -1 = none */
    int quiet_utc;            /* 1: quiet hours in UTC, 0: local time (TZ) */
    int quiet_pass;           /* NT_SEV_*: this severe or worse is sent even in quiet hours */
    double rate_per_min;      /* messages per minute at most (> 0) */
    double group_s;           /* hold the first pending event this long to group more */
    int group_max;            /* events in one grouped message at most */
    double remind_min;        /* reminder period in minutes (0 = none) */
    double timeout_s;         /* one delivery attempt */
    double backoff_max_s;     /* retries back off from 1 s doubling up to this */
} nt_channel;

typedef struct {
    nt_channel *ch;
    int n;
} nt_config;

/** A lifecycle event as the notifier routes it: the fields routing needs,
 *  plus the whole event document (what the bodies carry). */
typedef struct {
    unsigned type;    /* one NT_EV_* bit */
    const char *name; /* "opened", ... (static) */
    int64_t at;       /* Unix ms */
    char id[65];      /* alarm id */
    char sensor_id[65];
    char metric[65];
    char kind[24];
    int severity; /* NT_SEV_* */
    int active;   /* state == active */
    int acked;
    int64_t muted_until; /* Unix ms, 0 = not muted */
    int64_t opened_at;
    json_t *doc; /* {"event","at","by","alarm":{...}} (owned: nt_event_free) */
} nt_event;

/** Parse and validate a lifecycle event payload (bus/alarm.h's codec).
 *  Returns: 0 (out->doc owned by the caller), or -1 with a reason in err.
 *  Thread-safe. */
int nt_event_parse(const void *payload, size_t len, nt_event *out, char *err, size_t errlen);

/** Fill out from an already parsed event document (a reference is taken).
 *  Returns: 0, or -1 with a reason in err. */
int nt_event_from_doc(json_t *doc, nt_event *out, char *err, size_t errlen);

/** Free what an event owns (its doc). NULL is ok. */
void nt_event_free(nt_event *ev);

/** The idempotency key of an event: "{alarm id}:{event}:{at}" (the same
 *  event redelivered gets the same key). Returns: its length, or -1 when
 *  it does not fit in cap. */
int nt_event_key(const nt_event *ev, char *buf, size_t cap);

/** "critical", ... for NT_SEV_*; NULL for anything else. */
const char *nt_severity_name(int sev);
/** Parse a severity name. Returns NT_SEV_* or -1. */
int nt_severity_parse(const char *s);
/** NT_EV_* bit for an event name ("opened", ...), or 0. */
unsigned nt_event_type_parse(const char *s);
/** Name of one NT_EV_* bit, or NULL. */
const char *nt_event_type_name(unsigned bit);

#endif
