/*
 * mqtt_consumer — how fast an MQTT client library takes messages from
 * mosquitto: the services' wrapper (common/bus/mqtt.h) on each of its two
 * backends, paho and libmosquitto, with nothing else competing for the CPU.
 *
 * The idea: a publisher competing with the consumer for the same two cores
 * measures the machine, not the consumer. So the messages are queued in
 * mosquitto first, for a persistent session (QoS 1, and QoS 0 too with the
 * broker's queue_qos0_messages), while the consumer is away; then the
 * consumer connects and the bench times how fast it drains the queue
 * (broker sending, consumer receiving: the two halves of a service's
 * intake). bench/mqtt_consumer.sh runs the steps:
 *
 *   mqtt_consumer register BACKEND HOST PORT QOS CLIENT_ID
 *       connect with a persistent session, subscribe to sensors/+/readings
 *       at QOS, disconnect
 *   mqtt_consumer publish  libmosquitto HOST PORT QOS N
 *       (the one publisher, raw libmosquitto) publish N readings (1,000 sensors, 3 metrics, ~150
 * bytes of JSON) at QOS and wait until all are sent (QoS 0) or acknowledged (QoS 1) mqtt_consumer
 * drain    BACKEND HOST PORT QOS CLIENT_ID N reconnect the session and count until N messages
 * arrived (or none for 3 s); prints "COUNT SECONDS CPU_SECONDS" (first to last message; the
 * process's CPU time over the drain)
 *
 * BACKEND: paho | libmosquitto (mqtt_options.library). Exit status 0 on success, 1 on a failure
 * (said on stderr), 2 on bad arguments.
 */
#include <mosquitto.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "base/clock.h"
#include "base/log.h"
#include "bus/mqtt.h"

#define TOPIC_FILTER "sensors/+/readings"
#define IDLE_S 3.0

static atomic_long count;
static _Atomic double first_s, last_s;
static atomic_long published;

static double cpu_s(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 + (double)ru.ru_stime.tv_sec +
           ru.ru_stime.tv_usec / 1e6;
}

static void counted(void)
{
    double now = clock_mono();
    if (atomic_fetch_add(&count, 1) == 0)
        first_s = now;
    last_s = now;
}

static int on_paho(void *user, const char *topic, const void *payload, size_t len)
{
    (void)user, (void)topic, (void)payload, (void)len;
    counted();
    return 1;
}

static void on_mosq_publish(struct mosquitto *m, void *u, int mid)
{
    (void)m, (void)u, (void)mid;
    atomic_fetch_add(&published, 1);
}

/* Wait until count reaches n or nothing arrived for IDLE_S. */
static void wait_drained(long n)
{
    double start = clock_mono();
    for (;;) {
        usleep(20 * 1000);
        long k = atomic_load(&count);
        double ref = k > 0 ? last_s : start;
        if (k >= n || clock_mono() - ref > IDLE_S)
            return;
    }
}

/* The consumer through the services' wrapper, on the given library. */
static int wrapper_run(int library, const char *mode, const char *host, int port, int qos,
                       const char *id, long n)
{
    char uri[300];
    snprintf(uri, sizeof uri, "tcp://%s:%d", host, port);
    const char *topics[] = {TOPIC_FILTER};
    mqtt_options o = {.uris = uri,
                      .client_id = id,
                      .clean_session = 0,
                      .topics = topics,
                      .ntopics = 1,
                      .sub_qos = qos,
                      .on_message = on_paho,
                      .library = library};
    mqtt_client *c = NULL;
    double c0 = cpu_s();
    if (mqtt_client_create(&c, &o) != 0 || mqtt_client_wait_connected(c, 10000) != 0) {
        fprintf(stderr, "cannot connect to %s\n", uri);
        mqtt_client_destroy(c);
        return 1;
    }
    if (strcmp(mode, "register") == 0)
        usleep(500 * 1000); /* the SUBACK: the wrapper does not report it */
    else
        wait_drained(n);
    double c1 = cpu_s();
    mqtt_client_destroy(c);
    if (strcmp(mode, "drain") == 0)
        printf("%ld %.4f %.4f\n", atomic_load(&count), last_s - first_s, c1 - c0);
    return 0;
}

static int mosq_connect(struct mosquitto **out, const char *host, int port, const char *id)
{
    struct mosquitto *m = mosquitto_new(id, true, NULL);
    if (!m)
        return -1;
    mosquitto_publish_callback_set(m, on_mosq_publish);
    /* The publisher's window: libmosquitto looks acknowledgements up in a
     * list, so a large one makes the publisher, not the broker, the limit. */
    mosquitto_max_inflight_messages_set(m, 100);
    if (mosquitto_connect(m, host, port, 30) != MOSQ_ERR_SUCCESS ||
        mosquitto_loop_start(m) != MOSQ_ERR_SUCCESS) {
        mosquitto_destroy(m);
        return -1;
    }
    *out = m;
    return 0;
}

static void mosq_close(struct mosquitto *m)
{
    mosquitto_disconnect(m);
    mosquitto_loop_stop(m, false);
    mosquitto_destroy(m);
}

static int mosq_publish(const char *host, int port, int qos, long n)
{
    struct mosquitto *m = NULL;
    char id[64];
    snprintf(id, sizeof id, "bench-pub-%d", (int)getpid());
    if (mosq_connect(&m, host, port, id) != 0)
        return 1;
    static const char *metrics = "\"temperature\":%.2f,\"humidity\":%.2f,\"pressure\":%.2f";
    char topic[64], payload[256], vals[128];
    for (long i = 0; i < n; i++) {
        int s = (int)(i % 1000);
        snprintf(topic, sizeof topic, "sensors/sensor-%04d/readings", s);
        snprintf(vals, sizeof vals, metrics, 20.0 + (double)(i % 7), 40.0 + (double)(i % 11),
                 1013.0 + (double)(i % 5));
        int len = snprintf(payload, sizeof payload,
                           "{\"sensor_id\":\"sensor-%04d\",\"ts\":%ld,\"metrics\":{%s}}", s,
                           1765000000000L + i, vals);
        int rc = mosquitto_publish(m, NULL, topic, len, payload, qos, false);
        if (rc != MOSQ_ERR_SUCCESS) {
            fprintf(stderr, "publish: %s\n", mosquitto_strerror(rc));
            mosq_close(m);
            return 1;
        }
        /* Keep the client's own queue short (see above), never empty. */
        while (i - atomic_load(&published) > 2000)
            usleep(1000);
    }
    double until = clock_mono() + 60;
    while (atomic_load(&published) < n && clock_mono() < until)
        usleep(10 * 1000);
    mosq_close(m);
    if (atomic_load(&published) < n) {
        fprintf(stderr, "publish: only %ld of %ld sent\n", atomic_load(&published), n);
        return 1;
    }
    return 0;
}

int main(int argc, char **argv)
{
    if (argc < 7) {
        fprintf(stderr, "usage: %s register|publish|drain BACKEND HOST PORT QOS ID|N [N]\n",
                argv[0]);
        return 2;
    }
    const char *mode = argv[1], *backend = argv[2], *host = argv[3];
    int port = atoi(argv[4]), qos = atoi(argv[5]);
    log_init("mqtt_consumer", LOG_ERROR);
    mosquitto_lib_init();
    int rc = 2;
    if (strcmp(mode, "publish") == 0)
        rc = mosq_publish(host, port, qos, atol(argv[6]));
    else if (strcmp(mode, "register") != 0 && (strcmp(mode, "drain") != 0 || argc < 8))
        rc = 2;
    else if (strcmp(backend, "paho") == 0 || strcmp(backend, "libmosquitto") == 0)
        rc = wrapper_run(backend[0] == 'p' ? MQTT_LIBRARY_PAHO : MQTT_LIBRARY_MOSQUITTO, mode, host,
                         port, qos, argv[6], argc > 7 ? atol(argv[7]) : 0);
    mosquitto_lib_cleanup();
    return rc;
}
