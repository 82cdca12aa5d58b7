/*
 * count_sub_mosq — count_sub.c with libmosquitto (Debian's
 * libmosquitto-dev) instead of paho: the same subscription, counting only,
 * so bench/pipeline.sh compares the two clients as consumers on the same
 * load (docs/SCALING.md). Built only when mosquitto.h is installed.
 *
 *   count_sub_mosq HOST PORT QOS SECONDS_IDLE
 *
 * Prints "ready", then "count FIRST_S LAST_S" once no message arrived for
 * SECONDS_IDLE after the first.
 */
#include <mosquitto.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static long count;
static double first, last;

static double wall(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static void on_msg(struct mosquitto *m, void *u, const struct mosquitto_message *msg)
{
    (void)m, (void)u, (void)msg;
    double now = wall();
    if (count++ == 0)
        first = now;
    last = now;
}

int main(int argc, char **argv)
{
    if (argc != 5)
        return 2;
    mosquitto_lib_init();
    struct mosquitto *m = mosquitto_new("bench-count-sub-mosq", true, NULL);
    if (!m || mosquitto_connect(m, argv[1], atoi(argv[2]), 30) != MOSQ_ERR_SUCCESS)
        return 1;
    mosquitto_message_callback_set(m, on_msg);
    if (mosquitto_subscribe(m, NULL, "sensors/+/readings", atoi(argv[3])) != MOSQ_ERR_SUCCESS)
        return 1;
    printf("ready\n");
    fflush(stdout);
    double idle = atof(argv[4]);
    while (!(count > 0 && wall() - last > idle))
        if (mosquitto_loop(m, 100, 1) != MOSQ_ERR_SUCCESS)
            return 1;
    printf("%ld %.3f %.3f\n", count, first, last);
    mosquitto_destroy(m);
    mosquitto_lib_cleanup();
    return 0;
}
