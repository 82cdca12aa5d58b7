/*
 * fleet_pub — bench helper (bench/alarms.sh, the memory figures): a large
 * fleet of sensors with a few of them in a fault. Sensors "fleet-000000"
 * ... send readings of three metrics (temperature, humidity, pressure)
 * on sensors/{id}/readings, QoS 0, paced at RATE readings a second:
 *   1. ROUNDS readings from every one of N sensors (their state is made);
 *   2. then WARM normal readings from the first K sensors (past the
 *      detector's warm-up) and FAULT readings with temperature 30 degrees
 *      above normal (the same K: each alerts and stays in alarm).
 * Readings are a minute apart in their timestamps (ending about now);
 * values are normal with a little deterministic noise.
 *   fleet_pub MQTT_URL N ROUNDS K WARM FAULT RATE
 * Prints the number of readings published on stdout. Exit status 0, or 1
 * on an error (reason on stderr).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/clock.h"
#include "base/log.h"
#include "bus/mqtt.h"
#include "bus/reading.h"
#include "bus/topics.h"

typedef struct {
    mqtt_client *c;
    double t0, rate;
    long sent;
} pacer;

/* A small deterministic noise in [-0.5, 0.5) from (sensor, round). */
static double noise(long s, long r, int k)
{
    unsigned long x = (unsigned long)s * 2654435761u ^ (unsigned long)r * 40503u ^ (unsigned long)k;
    x ^= x >> 13;
    x *= 0x5bd1e995u;
    x ^= x >> 15;
    return (double)(x % 1000) / 1000.0 - 0.5;
}

/* Publish sensor s's reading number r (ts) with temperature offset dt. */
static int send_one(pacer *p, long s, long r, double ts, double dt)
{
    double due = p->t0 + (double)p->sent / p->rate;
    while (clock_wall() < due) {
        struct timespec w = {0, 500000};
        nanosleep(&w, NULL);
    }
    reading rd;
    memset(&rd, 0, sizeof rd);
    snprintf(rd.sensor_id, sizeof rd.sensor_id, "fleet-%06ld", s);
    rd.ts = ts;
    char topic[TOPICS_MAX], js[512];
    if (reading_add(&rd, "temperature", 21.0 + 0.3 * noise(s, r, 1) + dt) != 0 ||
        reading_add(&rd, "humidity", 45.0 + 1.0 * noise(s, r, 2)) != 0 ||
        reading_add(&rd, "pressure", 1013.0 + 0.5 * noise(s, r, 3)) != 0)
        return -1;
    int len = reading_encode_json(&rd, js, sizeof js);
    if (len < 0 || topics_reading(topic, sizeof topic, rd.sensor_id) < 0)
        return -1;
    /* the client's queue may be full for a moment (the machine is shared):
     * wait for it rather than lose a reading, for up to 30 s */
    for (int tries = 0; mqtt_client_publish(p->c, topic, js, (size_t)len, 0, 0) != 0; tries++) {
        if (tries == 3000)
            return -1;
        struct timespec w = {0, 10000000};
        nanosleep(&w, NULL);
    }
    p->sent++;
    return 0;
}

int main(int argc, char **argv)
{
    if (argc != 8) {
        fprintf(stderr, "usage: fleet_pub MQTT_URL N ROUNDS K WARM FAULT RATE\n");
        return 1;
    }
    log_init("fleet_pub", LOG_WARN);
    long n = atol(argv[2]), rounds = atol(argv[3]), k = atol(argv[4]);
    long warm = atol(argv[5]), fault = atol(argv[6]);
    pacer p = {.rate = atof(argv[7])};
    mqtt_options o = {.uris = argv[1],
                      .client_id = "fleet-pub",
                      .clean_session = 1,
                      .max_inflight = 1000,
                      .max_buffered = 100000};
    if (n < 1 || rounds < 1 || k < 0 || k > n || warm < 0 || fault < 0 || !(p.rate > 0) ||
        mqtt_client_create(&p.c, &o) != 0 || mqtt_client_wait_connected(p.c, 10000) != 0) {
        fprintf(stderr, "fleet_pub: bad arguments or no broker at %s\n", argv[1]);
        return 1;
    }
    int rc = 1;
    long total = rounds + warm + fault;
    double base = (double)(long)clock_wall() - 60.0 * (double)total;
    p.t0 = clock_wall();
    for (long r = 0; r < rounds; r++)
        for (long s = 0; s < n; s++)
            if (send_one(&p, s, r, base + 60.0 * (double)r, 0.0) != 0)
                goto fail;
    for (long r = rounds; r < total; r++)
        for (long s = 0; s < k; s++)
            if (send_one(&p, s, r, base + 60.0 * (double)r, r >= rounds + warm ? 30.0 : 0.0) != 0)
                goto fail;
    if (mqtt_client_flush(p.c, 180000) != 0) {
        fprintf(stderr, "fleet_pub: not all sent within 180 s\n");
        goto out;
    }
    printf("%ld\n", p.sent);
    rc = 0;
    goto out;
fail:
    fprintf(stderr, "fleet_pub: publish %ld failed\n", p.sent);
out:
    mqtt_client_destroy(p.c);
    return rc;
}
