/*
 * The MQTT wrapper against a real mosquitto, started by the test itself on a
 * free loopback port: delivery at QoS 1, reconnect and re-subscription after
 * the broker restarts, messages published while it is down delivered after,
 * and redelivery when the callback returns 0; the same promises of the
 * libmosquitto backend.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <fcntl.h>
#include <unistd.h>

#include "base/log.h"
#include "bus/mqtt.h"

static char dir[64];
static int port;
static pid_t broker = -1;

static int pick_port(void)
{
    int s = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t l = sizeof a;
    if (s < 0 || bind(s, (struct sockaddr *)&a, sizeof a) || getsockname(s, (struct sockaddr *)&a, &l))
        return -1;
    int p = ntohs(a.sin_port);
    close(s);
    return p;
}

static void start_broker(void)
{
    char conf[128];
    snprintf(conf, sizeof conf, "%s/m.conf", dir);
    FILE *f = fopen(conf, "w");
    assert_non_null(f);
    fprintf(f, "listener %d 127.0.0.1\nallow_anonymous true\npersistence false\n", port);
    fclose(f);
    broker = fork();
    assert_true(broker >= 0);
    if (broker == 0) {
        int fd = open("/dev/null", 1);
        dup2(fd, 2);
        dup2(fd, 1);
        execlp("mosquitto", "mosquitto", "-c", conf, (char *)NULL);
        _exit(127);
    }
    usleep(300 * 1000);
}

static void stop_broker(void)
{
    if (broker > 0) {
        kill(broker, SIGKILL);
        waitpid(broker, NULL, 0);
        broker = -1;
    }
}

typedef struct {
    pthread_mutex_t mu;
    int count;
    int refuse; /* return 0 this many times */
    int refused;
    char last[64];
} sink;

static int on_msg(void *user, const char *topic, const void *payload, size_t len)
{
    sink *s = user;
    (void)topic;
    pthread_mutex_lock(&s->mu);
    if (s->refuse > 0) {
        s->refuse--;
        s->refused++;
        pthread_mutex_unlock(&s->mu);
        return 0;
    }
    s->count++;
    snprintf(s->last, sizeof s->last, "%.*s", (int)len, (const char *)payload);
    pthread_mutex_unlock(&s->mu);
    return 1;
}

static int wait_count(sink *s, int n, int ms)
{
    for (int i = 0; i < ms / 10; i++) {
        pthread_mutex_lock(&s->mu);
        int c = s->count;
        pthread_mutex_unlock(&s->mu);
        if (c >= n)
            return c;
        usleep(10000);
    }
    return s->count;
}

static void test_publish_reconnect(void **state)
{
    (void)state;
    char uri[64];
    snprintf(uri, sizeof uri, "tcp://127.0.0.1:%d", port);
    sink s = {.mu = PTHREAD_MUTEX_INITIALIZER, .refuse = 1};
    const char *topics[] = {"t/+/x"};
    mqtt_options so = {.uris = uri, .client_id = "test-sub", .clean_session = 1, .topics = topics,
                       .ntopics = 1, .sub_qos = 1, .on_message = on_msg, .user = &s};
    mqtt_options po = {.uris = uri, .client_id = "test-pub", .clean_session = 1};
    mqtt_client *sub = NULL, *pub = NULL;
    assert_int_equal(mqtt_client_create(&sub, &so), 0);
    assert_int_equal(mqtt_client_create(&pub, &po), 0);
    assert_int_equal(mqtt_client_wait_connected(sub, 5000), 0);
    assert_int_equal(mqtt_client_wait_connected(pub, 5000), 0);
    usleep(200 * 1000); /* subscription settles */
    assert_int_equal(mqtt_client_publish(pub, "t/a/x", "one", 3, 1, 0), 0);
    assert_int_equal(mqtt_client_publish(pub, "t/a/y", "nope", 4, 1, 0), 0); /* not subscribed */
    /* The refused message is queued by paho and handed over again on its
     * next receive cycle, in order, before newer ones. */
    usleep(300 * 1000);
    assert_int_equal(s.refused, 1);
    assert_int_equal(mqtt_client_publish(pub, "t/a/x", "two", 3, 1, 0), 0);
    assert_int_equal(wait_count(&s, 2, 5000), 2);
    assert_string_equal(s.last, "two");
    assert_int_equal(mqtt_client_flush(pub, 2000), 0);

    /* Broker goes away: both clients notice; a publish meanwhile is buffered. */
    stop_broker();
    usleep(500 * 1000);
    assert_false(mqtt_client_is_connected(pub));
    assert_int_equal(mqtt_client_publish(pub, "t/b/x", "buffered", 8, 1, 0), 0);
    start_broker();
    assert_int_equal(mqtt_client_wait_connected(sub, 15000), 0);
    assert_int_equal(mqtt_client_wait_connected(pub, 15000), 0);
    /* The buffered message may race the re-subscription (the broker has no
     * persistence here), so publish a fresh one after both are back too. */
    usleep(300 * 1000);
    assert_int_equal(mqtt_client_publish(pub, "t/c/x", "after", 5, 1, 0), 0);
    assert_true(wait_count(&s, 3, 5000) >= 3);
    mqtt_client_destroy(pub);
    mqtt_client_destroy(sub);
}

/* A persistent session the broker lost (restarted without persistence):
 * the reconnect's CONNACK says session present 0, and the wrapper counts
 * it (mqtt_client_sessions_lost) where QoS 1 messages may have been lost;
 * not on the first connect, never for a clean session. */
static void test_session_lost(void **state)
{
    (void)state;
    char uri[64];
    snprintf(uri, sizeof uri, "tcp://127.0.0.1:%d", port);
    const char *topics[] = {"t/+/x"};
    sink s = {.mu = PTHREAD_MUTEX_INITIALIZER};
    mqtt_options po = {.uris = uri, .client_id = "test-persist", .clean_session = 0,
                       .topics = topics, .ntopics = 1, .sub_qos = 1, .on_message = on_msg,
                       .user = &s};
    mqtt_options co = {.uris = uri, .client_id = "test-clean", .clean_session = 1};
    mqtt_client *p = NULL, *c = NULL;
    assert_int_equal(mqtt_client_create(&p, &po), 0);
    assert_int_equal(mqtt_client_create(&c, &co), 0);
    assert_int_equal(mqtt_client_wait_connected(p, 5000), 0);
    assert_int_equal(mqtt_client_wait_connected(c, 5000), 0);
    assert_int_equal(mqtt_client_sessions_lost(p), 0);
    stop_broker();
    usleep(500 * 1000);
    start_broker();
    assert_int_equal(mqtt_client_wait_connected(p, 15000), 0);
    assert_int_equal(mqtt_client_wait_connected(c, 15000), 0);
    assert_int_equal(mqtt_client_sessions_lost(p), 1);
    assert_int_equal(mqtt_client_sessions_lost(c), 0);
    mqtt_client_destroy(c);
    mqtt_client_destroy(p);
}

static void test_invalid_options(void **state)
{
    (void)state;
    mqtt_client *c = (mqtt_client *)0x1;
    mqtt_options o = {.uris = NULL, .client_id = "x"};
    assert_int_equal(mqtt_client_create(&c, &o), -1);
    assert_null(c);
    o.uris = " , ";
    assert_int_equal(mqtt_client_create(&c, &o), -1);
    mqtt_client_destroy(NULL);
}

static void test_connect_reason(void **state)
{
    (void)state;
    /* CONNACK refusals (MQTT 3.1.1 table 3.1) in words, not "CONNACK return code". */
    assert_string_equal(mqtt_connect_reason(1), "unacceptable protocol version");
    assert_string_equal(mqtt_connect_reason(2), "client identifier rejected");
    assert_string_equal(mqtt_connect_reason(3), "server unavailable");
    assert_string_equal(mqtt_connect_reason(4), "bad user name or password");
    assert_string_equal(mqtt_connect_reason(5), "not authorised");
    assert_non_null(strstr(mqtt_connect_reason(6), "unknown CONNACK code"));
    assert_non_null(strstr(mqtt_connect_reason(-1), "unreachable"));
    for (int code = -30; code < 300; code++)
        assert_true(mqtt_connect_reason(code)[0] != '\0');
}

static void test_unreachable_then_up(void **state)
{
    (void)state;
    /* A client created before its broker exists connects once it appears. */
    stop_broker();
    char uri[64];
    snprintf(uri, sizeof uri, "tcp://127.0.0.1:%d", port);
    mqtt_options o = {.uris = uri, .client_id = "late", .clean_session = 1};
    mqtt_client *c = NULL;
    assert_int_equal(mqtt_client_create(&c, &o), 0);
    assert_int_equal(mqtt_client_wait_connected(c, 600), -1);
    start_broker();
    assert_int_equal(mqtt_client_wait_connected(c, 15000), 0);
    mqtt_client_destroy(c);
}

/* A QoS 1 message published with a persistence directory survives the
 * process: published while the broker is down, the publisher dies without
 * a word (_exit, as under kill -9), and a new client with the same id and
 * directory delivers it once the broker is back. */
static void test_persisted_publish(void **state)
{
    (void)state;
    char uri[64], pdir[128];
    snprintf(uri, sizeof uri, "tcp://127.0.0.1:%d", port);
    snprintf(pdir, sizeof pdir, "%s/persist", dir);
    assert_int_equal(mkdir(pdir, 0700), 0);
    sink s = {.mu = PTHREAD_MUTEX_INITIALIZER};
    const char *topics[] = {"p/#"};
    mqtt_options so = {.uris = uri, .client_id = "p-sub", .clean_session = 1, .topics = topics,
                       .ntopics = 1, .sub_qos = 1, .on_message = on_msg, .user = &s};
    mqtt_options po = {.uris = uri, .client_id = "p-pub", .clean_session = 0, .persist_dir = pdir};
    mqtt_client *sub = NULL, *pub = NULL;
    assert_int_equal(mqtt_client_create(&sub, &so), 0);
    assert_int_equal(mqtt_client_wait_connected(sub, 5000), 0);

    stop_broker();
    /* The publisher is a fresh process (this binary, re-executed): a fork
     * alone would inherit paho's threads' locks. */
    pid_t child = fork();
    assert_true(child >= 0);
    if (child == 0) {
        execl("/proc/self/exe", "test_mqtt", "--persist-child", uri, pdir, (char *)NULL);
        _exit(127);
    }
    int status = 0;
    assert_int_equal(waitpid(child, &status, 0), child);
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);

    start_broker();
    assert_int_equal(mqtt_client_wait_connected(sub, 15000), 0);
    usleep(300 * 1000); /* re-subscribed */
    assert_int_equal(mqtt_client_create(&pub, &po), 0);
    assert_int_equal(mqtt_client_wait_connected(pub, 15000), 0);
    assert_int_equal(wait_count(&s, 1, 5000), 1);
    assert_string_equal(s.last, "kept");
    assert_int_equal(mqtt_client_flush(pub, 2000), 0);
    mqtt_client_destroy(pub);
    mqtt_client_destroy(sub);
}

/* The libmosquitto backend (mqtt_options.library) keeps the wrapper's
 * promises: failover past a dead URI, QoS 0 delivery, birth and will on the
 * availability topic (the will at an orderly stop too), reconnect and
 * re-subscription after the broker restarts, a message published while it
 * is down sent after, flush, failover past a broker that never answers.
 * A paho client watches. */
static void test_libmosquitto_backend(void **state)
{
    (void)state;
    char uri[64], uris[128];
    snprintf(uri, sizeof uri, "tcp://127.0.0.1:%d", port);
    snprintf(uris, sizeof uris, "tcp://127.0.0.1:%d,%s", pick_port(), uri); /* first: nobody */
    sink s = {.mu = PTHREAD_MUTEX_INITIALIZER}, w = {.mu = PTHREAD_MUTEX_INITIALIZER};
    const char *topics[] = {"m/+/x"}, *wtopics[] = {"avail/m-sub"};
    mqtt_options so = {.uris = uris, .client_id = "m-sub", .clean_session = 1, .topics = topics,
                       .ntopics = 1, .sub_qos = 0, .on_message = on_msg, .user = &s,
                       .will_topic = "avail/m-sub", .will_payload = "offline",
                       .birth_payload = "online", .library = MQTT_LIBRARY_MOSQUITTO};
    mqtt_options wo = {.uris = uri, .client_id = "m-watch", .clean_session = 1, .topics = wtopics,
                       .ntopics = 1, .sub_qos = 1, .on_message = on_msg, .user = &w,
                       .library = MQTT_LIBRARY_PAHO};
    mqtt_options po = {.uris = uri, .client_id = "m-pub", .clean_session = 1,
                       .library = MQTT_LIBRARY_MOSQUITTO};
    mqtt_client *sub = NULL, *pub = NULL, *watch = NULL;
    assert_int_equal(mqtt_client_create(&watch, &wo), 0);
    assert_int_equal(mqtt_client_wait_connected(watch, 5000), 0);
    usleep(200 * 1000);
    assert_int_equal(mqtt_client_create(&sub, &so), 0);
    assert_int_equal(mqtt_client_create(&pub, &po), 0);
    assert_int_equal(mqtt_client_wait_connected(sub, 10000), 0);
    assert_int_equal(mqtt_client_wait_connected(pub, 5000), 0);
    assert_int_equal(wait_count(&w, 1, 5000), 1);
    assert_string_equal(w.last, "online");
    usleep(200 * 1000); /* subscription settles */
    for (int i = 0; i < 100; i++)
        assert_int_equal(mqtt_client_publish(pub, "m/a/x", "q0", 2, 0, 0), 0);
    assert_int_equal(mqtt_client_publish(pub, "m/a/y", "nope", 4, 1, 0), 0); /* not subscribed */
    assert_int_equal(mqtt_client_publish(pub, "m/a/x", "q1", 2, 1, 0), 0);
    assert_int_equal(mqtt_client_flush(pub, 2000), 0);
    assert_int_equal(wait_count(&s, 101, 5000), 101);
    assert_string_equal(s.last, "q1");

    /* Broker goes away: a publish meanwhile is buffered, sent after. */
    stop_broker();
    usleep(500 * 1000);
    assert_false(mqtt_client_is_connected(pub));
    assert_false(mqtt_client_is_connected(sub));
    assert_int_equal(mqtt_client_publish(pub, "m/b/x", "buffered", 8, 0, 0), 0);
    assert_int_equal(mqtt_client_flush(pub, 100), -1); /* still held */
    start_broker();
    assert_int_equal(mqtt_client_wait_connected(sub, 15000), 0);
    assert_int_equal(mqtt_client_wait_connected(pub, 15000), 0);
    assert_int_equal(mqtt_client_wait_connected(watch, 15000), 0);
    assert_int_equal(mqtt_client_flush(pub, 2000), 0);
    usleep(300 * 1000); /* re-subscribed (the buffered one may have raced it) */
    /* Count from here: "buffered" may or may not have arrived already. */
    int before = wait_count(&s, 0, 0);
    assert_int_equal(mqtt_client_publish(pub, "m/c/x", "after", 5, 0, 0), 0);
    assert_true(wait_count(&s, before + 1, 5000) >= before + 1);
    assert_string_equal(s.last, "after");
    assert_int_equal(mqtt_client_sessions_lost(sub), 0);

    /* An orderly stop publishes the will. */
    usleep(300 * 1000); /* the watcher re-subscribed too */
    int seen = wait_count(&w, 1, 100);
    mqtt_client_destroy(sub);
    assert_true(wait_count(&w, seen + 1, 5000) >= seen + 1);
    assert_string_equal(w.last, "offline");
    mqtt_client_destroy(pub);
    mqtt_client_destroy(watch);

    /* A broker that accepts the connection and never answers (a listening
     * socket nobody accepts on: the kernel completes the handshake) is
     * given up after 5 s for the next URI. */
    int mute = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t al = sizeof a;
    assert_true(mute >= 0);
    assert_int_equal(bind(mute, (struct sockaddr *)&a, sizeof a), 0);
    assert_int_equal(listen(mute, 8), 0);
    assert_int_equal(getsockname(mute, (struct sockaddr *)&a, &al), 0);
    snprintf(uris, sizeof uris, "tcp://127.0.0.1:%d,%s", ntohs(a.sin_port), uri);
    mqtt_options mo = {.uris = uris, .client_id = "m-mute", .clean_session = 1,
                       .library = MQTT_LIBRARY_MOSQUITTO};
    mqtt_client *mc = NULL;
    assert_int_equal(mqtt_client_create(&mc, &mo), 0);
    assert_int_equal(mqtt_client_wait_connected(mc, 3000), -1);
    assert_int_equal(mqtt_client_wait_connected(mc, 10000), 0);
    mqtt_client_destroy(mc);
    close(mute);

    /* Options libmosquitto cannot serve are refused, not half served. */
    mqtt_options bad = {.uris = "ssl://127.0.0.1:8883", .client_id = "x",
                        .library = MQTT_LIBRARY_MOSQUITTO};
    mqtt_client *c = (mqtt_client *)0x1;
    assert_int_equal(mqtt_client_create(&c, &bad), -1);
    assert_null(c);
    bad.uris = uri;
    bad.persist_dir = dir;
    assert_int_equal(mqtt_client_create(&c, &bad), -1);
}

static int setup(void **state)
{
    (void)state;
    log_init("test_mqtt", getenv("DBG") ? LOG_DEBUG : LOG_WARN);
    snprintf(dir, sizeof dir, "/tmp/test_mqtt.XXXXXX");
    if (!mkdtemp(dir))
        return -1;
    port = pick_port();
    start_broker();
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    char cmd[128];
    stop_broker();
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    return system(cmd) == 0 ? 0 : -1;
}

/* Child of test_persisted_publish: publish one QoS 1 message into the
 * persistence directory while the broker is down, then die without a word
 * (_exit: no disconnect, no flush, no free), as under kill -9. */
static int persist_child(const char *uri, const char *pdir)
{
    mqtt_options po = {.uris = uri, .client_id = "p-pub", .clean_session = 0, .persist_dir = pdir};
    mqtt_client *c = NULL;
    log_init("test_mqtt_child", LOG_ERROR);
    if (mqtt_client_create(&c, &po) != 0)
        _exit(1);
    /* Published at once: create has already made the first connect call,
     * which paho needs before it buffers anything. */
    if (mqtt_client_publish(c, "p/x", "kept", 4, 1, 0) != 0)
        _exit(2);
    usleep(100 * 1000);
    _exit(0);
}

int main(int argc, char **argv)
{
    if (argc == 4 && strcmp(argv[1], "--persist-child") == 0)
        return persist_child(argv[2], argv[3]);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_invalid_options),   cmocka_unit_test(test_connect_reason),
        cmocka_unit_test(test_publish_reconnect),
        cmocka_unit_test(test_session_lost), cmocka_unit_test(test_unreachable_then_up),
        cmocka_unit_test(test_persisted_publish), cmocka_unit_test(test_libmosquitto_backend),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
