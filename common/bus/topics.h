/*
 * topics — the broker contract's names: every MQTT topic and topic filter
 * the C services publish or subscribe to, and the partition prefixes of
 * cluster mode (docs/SCALING.md), spelled here and nowhere else.
 *
 *   sensors/{sensor_id}/readings     native readings (bus/reading.h)
 *   anomalies/{sensor_id}            anomalies (bus/anomaly.h)
 *   chain/logged/{sensor_id}         on-chain confirmations (bus/chain_logged.h)
 *   status/{service}/{instance}      retained service counters (bus/status.h)
 *   status/{service}/{instance}/availability  retained "online" / "offline"
 *                                    (the MQTT last will, bus/mqtt.h)
 *   sim/labels/{sensor_id}           the simulator's ground truth
 *   alarms/{sensor_id}               a sensor's open alarms, retained (bus/alarm.h)
 *   alarms/events/{sensor_id}        alarm lifecycle events (bus/alarm.h)
 *   part/{k}/<device topic>          a reading on partition k (NATS mapping)
 *   apart/{k}/anomalies/{sensor_id}  an anomaly on partition k (NATS mapping)
 *
 * plus the compiled-in default filters of the device formats
 * (Zigbee2MQTT, Tasmota, SenML; see docs/SENSORS.md).
 *
 * Builders write a NUL-terminated topic into a caller-owned buffer and
 * return its length; when it does not fit they return TOPICS_ERR_TOOLONG
 * and leave buf as "" (cap > 0), so a truncated topic is never published.
 * They do not validate ids (sensor_id_valid() and status_level_valid() do);
 * they only assemble. Parsers return pointers into the caller's topic.
 * Every function here is pure: no allocation, no locks, no blocking, and
 * thread-safe. Filters and defaults are static strings owned by this
 * module.
 *
 * topics_table() describes every topic (publisher, subscribers, QoS,
 * retain, payload) for docs/ARCHITECTURE.md, whose table is generated from
 * it (scripts/topics-table.sh) and checked by tests/integration/readme.sh.
 */
#ifndef COMMON_TOPICS_H
#define COMMON_TOPICS_H

#include <stddef.h>
#include <stdio.h>

#define TOPICS_ERR_TOOLONG (-1) /* the topic does not fit in cap bytes */
#define TOPICS_ERR_ARG (-2)     /* NULL argument, cap 0 or negative partition */

/** Room for any topic built from a valid sensor id (64 bytes) or status
 *  service/instance pair and a partition number, including the NUL. */
#define TOPICS_MAX 192

/** sensors/{sensor_id}/readings.
 *  Returns: the length (excluding NUL), TOPICS_ERR_TOOLONG or TOPICS_ERR_ARG.
 *  Out: buf: caller-owned, cap bytes; "" on TOOLONG.
 *  In:  sensor_id: not validated here. */
int topics_reading(char *buf, size_t cap, const char *sensor_id);

/** anomalies/{sensor_id}. Returns and buffer as topics_reading. */
int topics_anomaly(char *buf, size_t cap, const char *sensor_id);

/** chain/logged/{sensor_id}. Returns and buffer as topics_reading. */
int topics_chain_logged(char *buf, size_t cap, const char *sensor_id);

/** sim/labels/{sensor_id}. Returns and buffer as topics_reading. */
int topics_sim_label(char *buf, size_t cap, const char *sensor_id);

/** status/{service}/{instance}. Returns and buffer as topics_reading. */
int topics_status(char *buf, size_t cap, const char *service, const char *instance);

/** detector/alarm/{sensor_id}/{metric}: a stream's alarm state (retained,
 *  QoS 1, published by the detector when it changes).
 *  Returns and buffer as topics_reading. In: metric: not validated here. */
int topics_detector_alarm(char *buf, size_t cap, const char *sensor_id, const char *metric);

/** "detector/alarm/+/+": every stream's alarm state (static). */
const char *topics_filter_detector_alarms(void);
/** 1 when topic is detector/alarm/{sensor_id}/{metric} (two non-empty
 *  levels), else 0. The payload names both (bus/alarm_state.h). */
int topics_is_detector_alarm(const char *topic);

/** detector/feedback/{sensor_id}/{metric}: a person's verdict on one of
 *  the stream's alarms, from the gateway to the detector (QoS 1, not
 *  retained; bus/alarm_feedback.h). Returns and buffer as topics_reading. */
int topics_detector_feedback(char *buf, size_t cap, const char *sensor_id, const char *metric);
/** "detector/feedback/+/+" (static). */
const char *topics_filter_detector_feedback(void);
/** 1 when topic is detector/feedback/{sensor_id}/{metric}, else 0. */
int topics_is_detector_feedback(const char *topic);

/** detector/repeat/{sensor_id}/{metric}: the alerts the detector folded
 *  into a burst of the stream (not published as anomalies), summed over at
 *  most a second (QoS 1, not retained; bus/alert_repeat.h).
 *  Returns and buffer as topics_reading. In: metric: not validated here. */
int topics_detector_repeat(char *buf, size_t cap, const char *sensor_id, const char *metric);
/** "detector/repeat/+/+" (static). */
const char *topics_filter_detector_repeats(void);
/** 1 when topic is detector/repeat/{sensor_id}/{metric}, else 0. */
int topics_is_detector_repeat(const char *topic);

/** alarms/{sensor_id}: the sensor's open alarms (retained, QoS 1, the
 *  gateway publishes on every change; bus/alarm.h).
 *  Returns and buffer as topics_reading. */
int topics_alarm(char *buf, size_t cap, const char *sensor_id);

/** alarms/events/{sensor_id}: one alarm lifecycle event per message
 *  (QoS 1, not retained; bus/alarm.h). Returns and buffer as
 *  topics_reading. Note that a sensor named "events" has its retained
 *  alarms on "alarms/events", which the filter "alarms/events/#" also
 *  matches: subscribe to "alarms/events/+" (topics_filter_alarm_events). */
int topics_alarm_event(char *buf, size_t cap, const char *sensor_id);

/** status/{service}/{instance}/availability: "online" (retained, after
 *  every connect) or "offline" (the MQTT last will; also on a clean stop).
 *  Returns and buffer as topics_reading. */
int topics_availability(char *buf, size_t cap, const char *service, const char *instance);
/** The payloads of the availability topic: "online", "offline" (static). */
#define TOPICS_ONLINE "online"
#define TOPICS_OFFLINE "offline"
/** The reading-partition prefix "part/{k}/" (k >= 0).
 *  Returns: its length, TOPICS_ERR_TOOLONG, or TOPICS_ERR_ARG (k < 0). */
int topics_part_prefix(char *buf, size_t cap, long k);

/** part/{k}/{topic}: a device topic or filter on reading partition k.
 *  Returns and buffer as topics_part_prefix. */
int topics_part(char *buf, size_t cap, long k, const char *topic);

/** part/+/{filter}: a device filter on every reading partition (the
 *  gateway sees all partitions). Returns and buffer as topics_reading. */
int topics_part_any(char *buf, size_t cap, const char *filter);

/** apart/{k}/anomalies/+: the anomaly filter of partition k (a chain
 *  logger takes one partition). Returns and buffer as topics_part_prefix. */
int topics_apart_anomaly_filter(char *buf, size_t cap, long k);

/** Static filters (owned by this module, never NULL):
 *  "sensors/+/readings", "anomalies/+", "apart/+/anomalies/+",
 *  "chain/logged/+", "status/#". */
const char *topics_filter_readings(void);
const char *topics_filter_anomalies(void);
const char *topics_filter_anomalies_any_partition(void);
const char *topics_filter_chain_logged(void);
const char *topics_filter_status(void);
/** "alarms/+" (every sensor's retained alarms; does not match events) and
 *  "alarms/events/+" (every lifecycle event). Static. */
const char *topics_filter_alarms(void);
const char *topics_filter_alarm_events(void);

/** Compiled-in default filters of the device formats (ingest mapping
 *  defaults, docs/SENSORS.md): "zigbee2mqtt/#", "tele/+/SENSOR", "senml/#".
 *  ESPHome has no default: its state topics are configured per group. */
const char *topics_default_zigbee2mqtt(void);
const char *topics_default_tasmota(void);
const char *topics_default_senml(void);

/** Take the sensor id out of sensors/{id}/readings.
 *  Returns: 0 with the id copied to id (NUL-terminated); 1 when the topic
 *  does not have that shape (including an empty id); TOPICS_ERR_TOOLONG
 *  when the id needs cap bytes or more (id is then ""); TOPICS_ERR_ARG.
 *  The id is not validated (an id with '/' is copied as it is). */
int topics_parse_reading(const char *topic, char *id, size_t cap);

/** The part of topic after "anomalies/", or NULL when it does not start
 *  so. The result points into topic and may be "". */
const char *topics_anomaly_sensor(const char *topic);

/** The part of topic after "chain/logged/", or NULL. As above. */
const char *topics_chain_logged_sensor(const char *topic);

/** The sensor id of alarms/{sensor_id} (one level after "alarms/", not
 *  empty), or NULL for any other topic (including alarms/events/{id}).
 *  Points into topic. */
const char *topics_alarm_sensor(const char *topic);

/** The sensor id of alarms/events/{sensor_id} (one non-empty level), or
 *  NULL. Points into topic. */
const char *topics_alarm_event_sensor(const char *topic);

/** 1 when topic is under "status/", else 0. */
int topics_is_status(const char *topic);
/** 1 when topic is status/{service}/{instance}/availability (two
 *  non-empty levels), else 0. */
int topics_is_availability(const char *topic);

/** The broker's own counters that the gateway exports in /metrics
 *  (mosquitto publishes them under $SYS/broker/ every sys_interval; NATS
 *  accepts the subscriptions and sends nothing). Indices of
 *  topics_broker_stats(). */
enum {
    TOPICS_BROKER_DROPPED = 0,  /* $SYS/broker/publish/messages/dropped (counter) */
    TOPICS_BROKER_RECEIVED,     /* $SYS/broker/messages/received (counter) */
    TOPICS_BROKER_SENT,         /* $SYS/broker/messages/sent (counter) */
    TOPICS_BROKER_STORED,       /* $SYS/broker/store/messages/count (queued + retained, gauge) */
    TOPICS_BROKER_STORED_BYTES, /* $SYS/broker/store/messages/bytes (gauge) */
    TOPICS_BROKER_CLIENTS,      /* $SYS/broker/clients/connected (gauge) */
    TOPICS_BROKER__COUNT
};

/** The $SYS topics above, in index order (static, never NULL).
 *  Out: *n: TOPICS_BROKER__COUNT. */
const char *const *topics_broker_stats(int *n);

/** The index of a $SYS topic of topics_broker_stats(), or -1. */
int topics_broker_stat(const char *topic);

/** part/{digits}/X or apart/{digits}/X -> a pointer to X inside topic;
 *  any other topic (including a prefix without digits) is returned as is. */
const char *topics_strip_partition(const char *topic);

/** {prefix}/{component}/{node}/{object_id}/config: a Home Assistant MQTT
 *  discovery message (retained, QoS 1, published by the notifier). prefix
 *  is the discovery prefix ("homeassistant"), component "binary_sensor" or
 *  "sensor"; node and object_id must already be [A-Za-z0-9_-]+ (Home
 *  Assistant's rule). Returns and buffer as topics_reading. */
int topics_ha_config(char *buf, size_t cap, const char *prefix, const char *component,
                     const char *node, const char *object_id);

/** notify/ha/{sensor_id}: the notifier's retained summary of a sensor for
 *  Home Assistant (alarm on/off, its attributes, the last anomaly score).
 *  Returns and buffer as topics_reading. */
int topics_notify_ha(char *buf, size_t cap, const char *sensor_id);

/** "notify/test": ask the notifier to send a test message (payload
 *  optional: {"channel": "<name>"}; none = every channel). Static. */
const char *topics_notify_test(void);

/** notify/channels/{instance}: the notifier's retained per-channel report
 *  (QoS 1; bus/notify.h). Returns and buffer as topics_reading. */
int topics_notify_channels(char *buf, size_t cap, const char *instance);
/** "notify/channels/+" (static). */
const char *topics_filter_notify_channels(void);
/** The instance of notify/channels/{instance} (one non-empty level), or
 *  NULL. Points into topic. */
const char *topics_notify_channels_instance(const char *topic);

/** {prefix}/status: Home Assistant's birth and last will ("online" when it
 *  starts, "offline"), on which discovery configs are published again
 *  (Home Assistant's MQTT discovery documentation). prefix is the
 *  discovery prefix. Returns and buffer as topics_reading. */
int topics_ha_status(char *buf, size_t cap, const char *prefix);

/** One row of the topic table. Strings are static. */
typedef struct {
    const char *pattern;     /* topic with {placeholders} */
    const char *publishers;  /* who publishes */
    const char *subscribers; /* who subscribes */
    const char *qos;         /* QoS of the publishes, as text */
    int retained;            /* 1 when published retained */
    const char *payload;     /* the payload, or the module that codes it */
} topics_info;

/** The table of every topic above; *n gets its number of rows.
 *  Returns: a static array owned by this module. */
const topics_info *topics_table(size_t *n);

/** Write topics_table() as a Markdown table (header line, separator, one
 *  line per row) to out.
 *  Returns: 0, or -1 when writing failed. May block on out; thread-safe
 *  as far as out is. */
int topics_table_markdown(FILE *out);

#endif
