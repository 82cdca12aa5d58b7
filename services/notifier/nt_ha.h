/*
 * nt_ha — Home Assistant, with no YAML: MQTT discovery messages for every
 * sensor the notifier hears of (an alarm or an anomaly), and a retained
 * summary per sensor that the entities read.
 *
 * Per sensor, one device (identifiers ["iotad_<sensor>"], name the
 * mapping's label or else the sensor id, model "<profile> sensor" from the
 * mapping or else "iotad sensor", manufacturer "iotad") with two entities:
 *   {prefix}/binary_sensor/{node}/{object}_anomaly/config   device_class
 *     "problem"; state from alarms/{sensor_id} (ON while active_total > 0);
 *     attributes (kind, severity, explanation, value, expected range,
 *     on-chain proof link, ...) from notify/ha/{sensor_id};
 *   {prefix}/sensor/{node}/{object}_score/config  the last anomaly score,
 *     from notify/ha/{sensor_id}.
 * Both are available while status/notifier/{instance}/availability says
 * "online" (retained; "offline" is the notifier's MQTT last will).
 * {object} is the sensor id with every character outside [A-Za-z0-9_-]
 * replaced by '_' (Home Assistant's rule for ids in discovery topics).
 *
 * Thread-safety: nt_ha_* that take an nt_ha lock it; the payload builders
 * are pure.
 */
#ifndef NT_HA_H
#define NT_HA_H

#include <jansson.h>
#include <stddef.h>

#include "bus/mqtt.h"
#include "ingest/ingest.h"

typedef struct {
    const char *prefix;     /* discovery prefix, e.g. "homeassistant" */
    const char *node;       /* node id ([A-Za-z0-9_-]+), e.g. "iotad" */
    const char *instance;   /* the notifier's instance (availability topic) */
    const char *public_url; /* the gateway's URL for proof links, e.g. "http://localhost:8080" */
    const ingest *mapping;  /* the sensor mapping (device name = its label, model from its
                               profile), or NULL; borrowed, must outlive the users */
} nt_ha_opts;

typedef struct nt_ha nt_ha; /* opaque */

/** Build the object id for sensor_id + "_" + suffix.
 *  Returns: its length, or -1 when it does not fit in cap or is empty. */
int nt_ha_object_id(const char *sensor_id, const char *suffix, char *out, size_t cap);

/** The binary_sensor discovery payload of a sensor. Returns a new
 *  reference, or NULL (bad argument or no memory). */
json_t *nt_ha_binary_config(const nt_ha_opts *o, const char *sensor_id);
/** The score sensor's discovery payload. Returns as above. */
json_t *nt_ha_score_config(const nt_ha_opts *o, const char *sensor_id);

/** A publisher over client m (borrowed). opts' strings are copied.
 *  Returns NULL on no memory or a node that is not [A-Za-z0-9_-]+. */
nt_ha *nt_ha_new(const nt_ha_opts *opts, mqtt_client *m);
void nt_ha_free(nt_ha *h);

/** A sensor's retained alarms (alarms/{sensor_id}, bus/alarm.h): announce
 *  the sensor when new, publish its summary. Returns 0, or -1 when the
 *  payload is not valid (counted by the caller). */
int nt_ha_on_alarms(nt_ha *h, const char *sensor_id, const void *payload, size_t len);
/** An anomaly (anomalies/{sensor_id}, bus/anomaly.h): as above. */
int nt_ha_on_anomaly(nt_ha *h, const char *sensor_id, const void *payload, size_t len);

/** Give the publisher its client once it exists (messages that arrive
 *  before are recorded, not published) and publish every sensor known so
 *  far. m is borrowed. */
void nt_ha_set_client(nt_ha *h, mqtt_client *m);

/** Publish every known sensor's discovery configs and summary again: the
 *  broker may have lost its retained messages (restarted without
 *  persistence), or Home Assistant restarted and asks for them ("online"
 *  on {prefix}/status, its birth message). Publishing is queued (does not
 *  block on the network).
 *  Returns: the number of sensors published, or -1 when one failed (the
 *  caller tries again later); 0 before nt_ha_set_client. */
int nt_ha_republish(nt_ha *h);

/** Sensors announced so far. */
size_t nt_ha_sensors(nt_ha *h);

#endif
