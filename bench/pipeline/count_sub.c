/*
 * count_sub — the consumer half of the detector without the detector: the
 * common MQTT wrapper (common/bus/mqtt.h, paho MQTTAsync) subscribed to
 * sensors/+/readings, counting messages and doing nothing else, so
 * bench/pipeline.sh can say how much of the end-to-end rate the MQTT
 * client alone allows.
 *
 *   count_sub MQTT_URL QOS SECONDS_IDLE
 *
 * Prints "count FIRST_S LAST_S" (wall clock of the first and last message)
 * once no message arrived for SECONDS_IDLE after the first.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "base/clock.h"
#include "base/log.h"
#include "bus/mqtt.h"

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static long count;
static double first, last;

static int on_msg(void *user, const char *topic, const void *payload, size_t len)
{
    (void)user, (void)topic, (void)payload, (void)len;
    double now = clock_wall();
    pthread_mutex_lock(&mu);
    if (count++ == 0)
        first = now;
    last = now;
    pthread_mutex_unlock(&mu);
    return 1;
}

int main(int argc, char **argv)
{
    if (argc != 4)
        return 2;
    log_init("count_sub", LOG_ERROR);
    const char *topics[] = {"sensors/+/readings"};
    mqtt_options o = {.uris = argv[1],
                      .client_id = "bench-count-sub",
                      .clean_session = 1,
                      .topics = topics,
                      .ntopics = 1,
                      .sub_qos = atoi(argv[2]),
                      .on_message = on_msg,
                      .library = MQTT_LIBRARY_PAHO}; /* what this bench line names */
    mqtt_client *c = NULL;
    if (mqtt_client_create(&c, &o) != 0 || mqtt_client_wait_connected(c, 10000) != 0)
        return 1;
    printf("ready\n");
    fflush(stdout);
    double idle = atof(argv[3]);
    for (;;) {
        usleep(100 * 1000);
        pthread_mutex_lock(&mu);
        int done = count > 0 && clock_wall() - last > idle;
        pthread_mutex_unlock(&mu);
        if (done)
            break;
    }
    mqtt_client_destroy(c);
    printf("%ld %.3f %.3f\n", count, first, last);
    return 0;
}
