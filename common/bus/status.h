/*
 * status — a service's counters, published periodically as one retained
 * JSON message on status/{service}/{instance}, so that another process
 * (the gateway's /metrics) can show every service's error counters without
 * scraping logs.
 *
 * The message (built with jansson):
 *
 *   {"service": "detector", "instance": "detector", "ts": 1764000000.5,
 *    "interval_s": 5, "uptime_s": 12.0, "final": false,
 *    "metrics": [{"name": "readings_invalid_total", "type": "counter",
 *                 "labels": {"reason": "json"}, "value": 3}, ...]}
 *
 * "final" is true in the last report a service sends when it stops
 * cleanly, so a reader can tell a stopped service from a silent one. The
 * message is retained: a reader that starts later gets the last report at
 * once, and its "ts" shows how old it is.
 *
 * Metric names are [a-z_][a-z0-9_]* (at most STATUS_NAME_MAX - 1 bytes),
 * at most one label per metric, at most STATUS_MAX_METRICS per message.
 * status_parse() enforces the same rules, so a reader never trusts a
 * message further than a writer could produce it.
 *
 * Thread-safety: a status_pub is used by one thread (the service's main
 * loop); the fill callback runs on that thread.
 */
#ifndef COMMON_STATUS_H
#define COMMON_STATUS_H

#include <jansson.h>
#include <stddef.h>

#include "bus/mqtt.h"

#define STATUS_NAME_MAX 64        /* metric, label name and service/instance bytes incl. NUL */
#define STATUS_LABEL_VALUE_MAX 64 /* label value bytes incl. NUL */
#define STATUS_MAX_METRICS 256
#define STATUS_MAX_PAYLOAD 65536

typedef struct status_pub status_pub; /* opaque */

/** Fills a report: appends metrics to `metrics` (a JSON array) with
 *  status_add(). Returns 0, or -1 to skip this report. */
typedef int (*status_fill_fn)(void *user, json_t *metrics);

/** Create a publisher for status/{service}/{instance}.
 *  In:  m: connected or connecting client (borrowed; must outlive the
 *       publisher); service, instance: topic levels, copied (1..63 bytes of
 *       [A-Za-z0-9_.:-]); interval_s: seconds between reports (>= 0.1);
 *       fill/user: called for each report.
 *  Out: *out, owned by the caller (status_pub_destroy).
 *  Returns: 0, or -1 (invalid name or interval, no memory). */
int status_pub_create(status_pub **out, mqtt_client *m, const char *service, const char *instance,
                      double interval_s, status_fill_fn fill, void *user);

/** Publish a report when the interval has passed since the last one
 *  (the first call publishes at once). Call often, e.g. from a main loop.
 *  Returns: 1 published, 0 not due, or -1 (build or publish failed; the
 *  next call retries). Does not block on the network (QoS 0). */
int status_pub_tick(status_pub *s);

/** Publish the last report, with "final": true, and wait up to
 *  timeout_ms for it to reach the broker. Returns 0 or -1. */
int status_pub_final(status_pub *s, int timeout_ms);

/** Free the publisher (publishes nothing). NULL is ok. */
void status_pub_destroy(status_pub *s);

/** Append one metric to a report's array.
 *  In:  name: metric name (rules above); gauge: 0 counter, 1 gauge;
 *       label/label_value: one label, or both NULL; value: finite.
 *  Returns: 0, or -1 (invalid name, label or value, or the array full). */
int status_add(json_t *metrics, const char *name, int gauge, const char *label,
               const char *label_value, double value);

/** 1 when s is a valid metric or label name ([a-z_][a-z0-9_]*, < STATUS_NAME_MAX). */
int status_name_valid(const char *s);

/** 1 when s is a valid service or instance topic level (1..63 of [A-Za-z0-9_.:-]). */
int status_level_valid(const char *s);

/** Give a client its availability topic (before mqtt_client_create):
 *  status/{service}/{instance}/availability, "online" after every connect,
 *  "offline" as its MQTT last will and on a clean stop (bus/mqtt.h).
 *  Out: mo's will_topic (pointing into buf), will_payload, birth_payload.
 *  In:  buf: caller-owned, cap bytes (TOPICS_MAX is enough); it must live
 *       until mqtt_client_create has returned (which copies it).
 *  Returns: 0, or -1 when service or instance is not a valid topic level
 *           (status_level_valid) or buf is too small; mo is then unchanged.
 *  Thread-safe. */
int status_availability(mqtt_options *mo, char *buf, size_t cap, const char *service,
                        const char *instance);

/** A parsed report, as read from status/{service}/{instance}. */
typedef struct {
    char service[STATUS_NAME_MAX];
    char instance[STATUS_NAME_MAX];
    double ts;         /* the writer's Unix s */
    double interval_s; /* its reporting interval */
    int final;         /* it stopped cleanly after this report */
    json_t *metrics;   /* validated array (owned: status_report_free) */
} status_report;

/** Parse and validate a report received on `topic`.
 *  Checks: topic is status/{service}/{instance} and matches the members;
 *  ts and interval_s finite and positive; every metric has a valid name,
 *  type "counter" or "gauge", at most one label with a valid name and a
 *  value of printable ASCII (< STATUS_LABEL_VALUE_MAX), a finite value
 *  (counters not negative); at most STATUS_MAX_METRICS; payload at most
 *  STATUS_MAX_PAYLOAD bytes.
 *  Out: *out (status_report_free); err/errlen: the reason on failure.
 *  Returns: 0, or -1 on any violation (nothing to free then). Thread-safe. */
int status_parse(const char *topic, const void *payload, size_t len, status_report *out, char *err,
                 size_t errlen);

/** Free what a parsed report owns. */
void status_report_free(status_report *r);

#endif
