/*
 * storm_pub — bench helper (bench/alarms.sh): an alarm storm. Publishes one
 * change_point anomaly for each of N sensors ("storm-00000" ...), evenly
 * spread over SECONDS, QoS 1 on anomalies/{sensor_id}, as the detector
 * would; then waits until the broker acknowledged them all.
 *   storm_pub MQTT_URL N SECONDS
 * Prints the Unix time (s, ms precision) of its first publish on stdout.
 * Exit status 0, or 1 on an error (reason on stderr).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/clock.h"
#include "base/log.h"
#include "bus/anomaly.h"
#include "bus/mqtt.h"
#include "bus/topics.h"

int main(int argc, char **argv)
{
    if (argc != 4) {
        fprintf(stderr, "usage: storm_pub MQTT_URL N SECONDS\n");
        return 1;
    }
    log_init("storm_pub", LOG_WARN);
    long n = atol(argv[2]);
    double secs = atof(argv[3]);
    mqtt_options o = {.uris = argv[1], .client_id = "storm-pub", .clean_session = 1,
                      .max_inflight = 1000, .max_buffered = 100000};
    mqtt_client *c = NULL;
    if (n < 1 || !(secs > 0) || mqtt_client_create(&c, &o) != 0 ||
        mqtt_client_wait_connected(c, 10000) != 0) {
        fprintf(stderr, "storm_pub: bad arguments or no broker at %s\n", argv[1]);
        return 1;
    }
    int rc = 1;
    double t0 = clock_wall();
    printf("%.3f\n", t0);
    fflush(stdout);
    for (long i = 0; i < n; i++) {
        double due = t0 + secs * (double)i / (double)n;
        while (clock_wall() < due) {
            struct timespec ts = {0, 1000000};
            nanosleep(&ts, NULL);
        }
        anomaly a;
        memset(&a, 0, sizeof a);
        snprintf(a.sensor_id, sizeof a.sensor_id, "storm-%05ld", i);
        snprintf(a.metric, sizeof a.metric, "temperature");
        a.ts = clock_wall();
        a.value = 31.5;
        a.score = 0.72;
        a.type = ANOMALY_CHANGE_POINT;
        snprintf(a.explanation, sizeof a.explanation,
                 "temperature shifted up by 9.5 from the expected 22.0 and stays there");
        a.expected_low = a.expected_high = 0.0 / 0.0;
        a.model_version = -1;
        anomaly_make_id(&a);
        char topic[TOPICS_MAX], js[4096];
        int len = anomaly_to_json(&a, js, sizeof js);
        if (topics_anomaly(topic, sizeof topic, a.sensor_id) < 0 || len < 0 ||
            mqtt_client_publish(c, topic, js, (size_t)len, 1, 0) != 0) {
            fprintf(stderr, "storm_pub: publish %ld failed\n", i);
            goto out;
        }
    }
    if (mqtt_client_flush(c, 60000) != 0) {
        fprintf(stderr, "storm_pub: not all acknowledged within 60 s\n");
        goto out;
    }
    rc = 0;
out:
    mqtt_client_destroy(c);
    return rc;
}
