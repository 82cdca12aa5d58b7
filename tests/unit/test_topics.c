/* common/bus/topics: every builder gives the exact topic the services have
 * always used (these strings are the wire contract; docs/ARCHITECTURE.md),
 * refuses to truncate, and the parsers take apart what the builders make.
 *
 * `test_topics --markdown` prints the topic table instead of testing:
 * scripts/topics-table.sh writes it into docs/ARCHITECTURE.md. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
/* cmocka.h needs the three above first */
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bus/reading.h"
#include "bus/topics.h"

static const char ID64[] = "abcdefghijabcdefghijabcdefghijabcdefghijabcdefghijabcdefghij1234";

typedef int (*build1_fn)(char *, size_t, const char *);

/* fn(id) == want exactly; and with one byte too few: TOOLONG and "". */
static void check_build1(build1_fn fn, const char *id, const char *want)
{
    char buf[TOPICS_MAX];
    int n = fn(buf, sizeof buf, id);
    assert_int_equal(n, (int)strlen(want));
    assert_string_equal(buf, want);
    /* exactly fits: strlen + 1 */
    memset(buf, 'x', sizeof buf);
    assert_int_equal(fn(buf, strlen(want) + 1, id), (int)strlen(want));
    assert_string_equal(buf, want);
    memset(buf, 'x', sizeof buf);
    assert_int_equal(fn(buf, strlen(want), id), TOPICS_ERR_TOOLONG);
    assert_string_equal(buf, "");
    assert_int_equal(fn(buf, 1, id), TOPICS_ERR_TOOLONG);
    assert_string_equal(buf, "");
    assert_int_equal(fn(buf, 0, id), TOPICS_ERR_ARG);
    assert_int_equal(fn(NULL, sizeof buf, id), TOPICS_ERR_ARG);
    assert_int_equal(fn(buf, sizeof buf, NULL), TOPICS_ERR_ARG);
}

static void test_sensor_topics(void **state)
{
    (void)state;
    check_build1(topics_reading, "demo-1", "sensors/demo-1/readings");
    check_build1(topics_anomaly, "demo-1", "anomalies/demo-1");
    check_build1(topics_chain_logged, "demo-1", "chain/logged/demo-1");
    check_build1(topics_sim_label, "demo-1", "sim/labels/demo-1");
    /* The longest valid sensor id fits TOPICS_MAX in every topic. */
    assert_true(sensor_id_valid(ID64));
    char want[TOPICS_MAX];
    snprintf(want, sizeof want, "sensors/%s/readings", ID64);
    check_build1(topics_reading, ID64, want);
    snprintf(want, sizeof want, "anomalies/%s", ID64);
    check_build1(topics_anomaly, ID64, want);
    snprintf(want, sizeof want, "chain/logged/%s", ID64);
    check_build1(topics_chain_logged, ID64, want);
    snprintf(want, sizeof want, "sim/labels/%s", ID64);
    check_build1(topics_sim_label, ID64, want);
    /* An id too long for the caller's buffer is an error, never a cut topic. */
    char small[SENSOR_ID_MAX + 16];
    assert_int_equal(topics_reading(small, sizeof small, ID64), TOPICS_ERR_TOOLONG);
    assert_string_equal(small, "");
    assert_int_equal(topics_chain_logged(small, sizeof small, ID64), 13 + 64);
}

static void test_status_topic(void **state)
{
    (void)state;
    char buf[TOPICS_MAX];
    assert_int_equal(topics_status(buf, sizeof buf, "detector", "detector-p1"), 27);
    assert_string_equal(buf, "status/detector/detector-p1");
    assert_int_equal(topics_status(buf, 27, "detector", "detector-p1"), TOPICS_ERR_TOOLONG);
    assert_string_equal(buf, "");
    assert_int_equal(topics_status(buf, 28, "detector", "detector-p1"), 27);
    assert_int_equal(topics_status(buf, sizeof buf, NULL, "x"), TOPICS_ERR_ARG);
    assert_int_equal(topics_status(buf, sizeof buf, "x", NULL), TOPICS_ERR_ARG);
    /* Two 63-byte levels (status_level_valid's maximum) fit TOPICS_MAX. */
    char lvl[64];
    memset(lvl, 'a', 63);
    lvl[63] = '\0';
    assert_int_equal(topics_status(buf, sizeof buf, lvl, lvl), 7 + 63 + 1 + 63);
    /* Availability: the same levels and "/availability", within TOPICS_MAX. */
    assert_int_equal(topics_availability(buf, sizeof buf, "detector", "detector-p1"), 27 + 13);
    assert_string_equal(buf, "status/detector/detector-p1/availability");
    assert_true(topics_is_availability(buf));
    assert_true(topics_is_status(buf));
    assert_int_equal(topics_availability(buf, 40, "detector", "detector-p1"), TOPICS_ERR_TOOLONG);
    assert_string_equal(buf, "");
    assert_int_equal(topics_availability(buf, sizeof buf, NULL, "x"), TOPICS_ERR_ARG);
    assert_int_equal(topics_availability(buf, sizeof buf, lvl, lvl), 7 + 63 + 1 + 63 + 13);
    assert_false(topics_is_availability("status/detector/detector-p1"));
    assert_false(topics_is_availability("status/detector/availability"));
    assert_false(topics_is_availability("status//x/availability"));
    assert_false(topics_is_availability("status/a//availability"));
    assert_false(topics_is_availability("status/a/b/availability/x"));
    assert_false(topics_is_availability(NULL));
}

static void test_partition_topics(void **state)
{
    (void)state;
    char buf[TOPICS_MAX];
    assert_int_equal(topics_part_prefix(buf, sizeof buf, 3), 7);
    assert_string_equal(buf, "part/3/");
    assert_int_equal(topics_part_prefix(buf, sizeof buf, 0), 7);
    assert_string_equal(buf, "part/0/");
    assert_int_equal(topics_part_prefix(buf, sizeof buf, -1), TOPICS_ERR_ARG);
    assert_int_equal(topics_part_prefix(buf, 7, 3), TOPICS_ERR_TOOLONG);
    assert_string_equal(buf, "");

    assert_int_equal(topics_part(buf, sizeof buf, 12, "sensors/+/readings"), 26);
    assert_string_equal(buf, "part/12/sensors/+/readings");
    assert_int_equal(topics_part(buf, sizeof buf, 2, "zigbee2mqtt/#"), 20);
    assert_string_equal(buf, "part/2/zigbee2mqtt/#");
    assert_int_equal(topics_part(buf, 20, 2, "zigbee2mqtt/#"), TOPICS_ERR_TOOLONG);
    assert_string_equal(buf, "");
    assert_int_equal(topics_part(buf, sizeof buf, -2, "x"), TOPICS_ERR_ARG);
    assert_int_equal(topics_part(buf, sizeof buf, 2, NULL), TOPICS_ERR_ARG);

    assert_int_equal(topics_part_any(buf, sizeof buf, "tele/+/SENSOR"), 20);
    assert_string_equal(buf, "part/+/tele/+/SENSOR");
    assert_int_equal(topics_part_any(buf, 20, "tele/+/SENSOR"), TOPICS_ERR_TOOLONG);
    assert_string_equal(buf, "");
    assert_int_equal(topics_part_any(buf, sizeof buf, NULL), TOPICS_ERR_ARG);

    assert_int_equal(topics_apart_anomaly_filter(buf, sizeof buf, 4), 19);
    assert_string_equal(buf, "apart/4/anomalies/+");
    assert_int_equal(topics_apart_anomaly_filter(buf, 19, 4), TOPICS_ERR_TOOLONG);
    assert_string_equal(buf, "");
    assert_int_equal(topics_apart_anomaly_filter(buf, sizeof buf, -1), TOPICS_ERR_ARG);
}

static void test_filters_and_defaults(void **state)
{
    (void)state;
    assert_string_equal(topics_filter_readings(), "sensors/+/readings");
    assert_string_equal(topics_filter_anomalies(), "anomalies/+");
    assert_string_equal(topics_filter_anomalies_any_partition(), "apart/+/anomalies/+");
    assert_string_equal(topics_filter_chain_logged(), "chain/logged/+");
    assert_string_equal(topics_filter_status(), "status/#");
    assert_string_equal(topics_default_zigbee2mqtt(), "zigbee2mqtt/#");
    assert_string_equal(topics_default_tasmota(), "tele/+/SENSOR");
    assert_string_equal(topics_default_senml(), "senml/#");
}

static void test_parse_reading(void **state)
{
    (void)state;
    char id[SENSOR_ID_MAX], topic[TOPICS_MAX];
    assert_int_equal(topics_parse_reading("sensors/demo/readings", id, sizeof id), 0);
    assert_string_equal(id, "demo");
    /* what the builder makes, the parser takes apart */
    assert_true(topics_reading(topic, sizeof topic, ID64) > 0);
    assert_int_equal(topics_parse_reading(topic, id, sizeof id), 0);
    assert_string_equal(id, ID64);
    /* not this shape */
    const char *other[] = {"sensors//readings",   "sensors/readings",   "sensor/x/readings",
                           "sensors/x/reading",   "anomalies/x",        "",
                           "sensors/x/readings/", "xsensors/x/readings"};
    for (size_t i = 0; i < sizeof other / sizeof *other; i++)
        assert_int_equal(topics_parse_reading(other[i], id, sizeof id), 1);
    /* an id of 65 bytes does not fit SENSOR_ID_MAX */
    snprintf(topic, sizeof topic, "sensors/%sX/readings", ID64);
    strcpy(id, "stale");
    assert_int_equal(topics_parse_reading(topic, id, sizeof id), TOPICS_ERR_TOOLONG);
    assert_string_equal(id, "");
    /* levels are not the parser's business: sensor_id_valid() refuses them */
    assert_int_equal(topics_parse_reading("sensors/a/b/readings", id, sizeof id), 0);
    assert_string_equal(id, "a/b");
    assert_int_equal(topics_parse_reading(NULL, id, sizeof id), TOPICS_ERR_ARG);
    assert_int_equal(topics_parse_reading("sensors/a/readings", NULL, 8), TOPICS_ERR_ARG);
    assert_int_equal(topics_parse_reading("sensors/a/readings", id, 0), TOPICS_ERR_ARG);
}

static void test_parse_others(void **state)
{
    (void)state;
    char topic[TOPICS_MAX];
    assert_true(topics_anomaly(topic, sizeof topic, "s1") > 0);
    assert_string_equal(topics_anomaly_sensor(topic), "s1");
    assert_string_equal(topics_anomaly_sensor("anomalies/"), "");
    assert_null(topics_anomaly_sensor("anomalie/s1"));
    assert_null(topics_anomaly_sensor("chain/logged/s1"));
    assert_null(topics_anomaly_sensor(NULL));
    assert_true(topics_chain_logged(topic, sizeof topic, "s1") > 0);
    assert_string_equal(topics_chain_logged_sensor(topic), "s1");
    assert_null(topics_chain_logged_sensor("anomalies/s1"));
    assert_null(topics_chain_logged_sensor("chain/logge/s1"));
    assert_true(topics_status(topic, sizeof topic, "a", "b") > 0);
    assert_true(topics_is_status(topic));
    assert_false(topics_is_status("statu/a/b"));
    assert_false(topics_is_status("xstatus/a"));
}

static void test_strip_partition(void **state)
{
    (void)state;
    char topic[TOPICS_MAX];
    assert_true(topics_part(topic, sizeof topic, 7, "sensors/a/readings") > 0);
    assert_string_equal(topics_strip_partition(topic), "sensors/a/readings");
    assert_string_equal(topics_strip_partition("apart/12/anomalies/a"), "anomalies/a");
    assert_string_equal(topics_strip_partition("part/0/tele/x/SENSOR"), "tele/x/SENSOR");
    /* not a partition prefix: returned as it is (same pointer) */
    const char *same[] = {"part/x/sensors/a/readings",
                          "part//a",
                          "part/12",
                          "apart/1x/a",
                          "parts/1/a",
                          "anomalies/a",
                          "",
                          "part/",
                          "apart/-1/a"};
    for (size_t i = 0; i < sizeof same / sizeof *same; i++)
        assert_ptr_equal(topics_strip_partition(same[i]), same[i]);
    assert_string_equal(topics_strip_partition("part/1/"), "");
}

static void test_table(void **state)
{
    (void)state;
    size_t n = 0;
    const topics_info *t = topics_table(&n);
    assert_true(n >= 8);
    /* every row complete; every topic the builders make appears in it */
    const char *must[] = {"sensors/{sensor_id}/readings",
                          "anomalies/{sensor_id}",
                          "chain/logged/{sensor_id}",
                          "status/{service}/{instance}",
                          "sim/labels/{sensor_id}",
                          "part/{k}/{device topic}",
                          "apart/{k}/anomalies/{sensor_id}",
                          "status/{service}/{instance}/availability",
                          "detector/alarm/{sensor_id}/{metric}"};
    for (size_t i = 0; i < n; i++)
        assert_true(t[i].pattern && t[i].publishers && t[i].subscribers && t[i].qos &&
                    t[i].payload && !strchr(t[i].publishers, '|') &&
                    !strchr(t[i].subscribers, '|') && !strchr(t[i].payload, '|'));
    for (size_t k = 0; k < sizeof must / sizeof *must; k++) {
        int found = 0;
        for (size_t i = 0; i < n; i++)
            found |= strcmp(t[i].pattern, must[k]) == 0;
        assert_true(found);
    }
    /* status, the detector's alarm states and the gateway's per-sensor
     * alarms are the retained topics */
    for (size_t i = 0; i < n; i++)
        assert_int_equal(t[i].retained, strncmp(t[i].pattern, "status/", 7) == 0 ||
                                            strncmp(t[i].pattern, "detector/alarm/", 15) == 0 ||
                                            strcmp(t[i].pattern, "alarms/{sensor_id}") == 0 ||
                                            (strncmp(t[i].pattern, "homeassistant/", 14) == 0 &&
                                             strcmp(t[i].pattern, "homeassistant/status") != 0) ||
                                            strncmp(t[i].pattern, "notify/ha/", 10) == 0 ||
                                            strncmp(t[i].pattern, "notify/channels/", 16) == 0 ||
                                            strncmp(t[i].pattern, "$SYS/", 5) == 0);
    /* the notifier's (Home Assistant discovery, its summaries, test trigger) */
    char b[TOPICS_MAX];
    assert_int_equal(
        topics_ha_config(b, sizeof b, "homeassistant", "binary_sensor", "iotad", "room-1_anomaly"),
        (int)strlen("homeassistant/binary_sensor/iotad/room-1_anomaly/config"));
    assert_string_equal(b, "homeassistant/binary_sensor/iotad/room-1_anomaly/config");
    assert_int_equal(topics_ha_config(b, 10, "homeassistant", "sensor", "n", "o"),
                     TOPICS_ERR_TOOLONG);
    assert_string_equal(b, "");
    assert_int_equal(topics_notify_ha(b, sizeof b, "room-1"), 16);
    assert_string_equal(b, "notify/ha/room-1");
    assert_string_equal(topics_notify_test(), "notify/test");
    /* the channel report and Home Assistant's birth topic */
    assert_int_equal(topics_notify_channels(b, sizeof b, "notifier"), 24);
    assert_string_equal(b, "notify/channels/notifier");
    assert_string_equal(topics_filter_notify_channels(), "notify/channels/+");
    assert_string_equal(topics_notify_channels_instance("notify/channels/n-1"), "n-1");
    assert_null(topics_notify_channels_instance("notify/channels/"));
    assert_null(topics_notify_channels_instance("notify/channels/a/b"));
    assert_null(topics_notify_channels_instance("notify/test"));
    assert_int_equal(topics_ha_status(b, sizeof b, "homeassistant"), 20);
    assert_string_equal(b, "homeassistant/status");
    assert_int_equal(topics_ha_status(b, 5, "homeassistant"), TOPICS_ERR_TOOLONG);
    /* the broker's figures: each found by its own index, nothing else */
    int nb = 0;
    const char *const *bs = topics_broker_stats(&nb);
    assert_int_equal(nb, TOPICS_BROKER__COUNT);
    for (int i = 0; i < nb; i++)
        assert_int_equal(topics_broker_stat(bs[i]), i);
    assert_int_equal(topics_broker_stat("$SYS/broker/publish/messages/dropped"),
                     TOPICS_BROKER_DROPPED);
    assert_int_equal(topics_broker_stat("$SYS/broker/uptime"), -1);
    assert_int_equal(topics_broker_stat("sensors/$SYS/readings"), -1);
    assert_int_equal(topics_broker_stat(NULL), -1);

    /* markdown: header, separator, one line per row */
    FILE *f = tmpfile();
    assert_non_null(f);
    assert_int_equal(topics_table_markdown(f), 0);
    rewind(f);
    char line[1024];
    size_t lines = 0;
    while (fgets(line, sizeof line, f)) {
        assert_true(line[0] == '|');
        if (lines == 1)
            assert_string_equal(line, "|---|---|---|---|---|---|\n");
        if (lines >= 2)
            assert_true(strncmp(line + 2, "`", 1) == 0 && strstr(line, t[lines - 2].pattern));
        lines++;
    }
    assert_int_equal(lines, n + 2);
    fclose(f);
    assert_int_equal(topics_table_markdown(NULL), -1);
}

int main(int argc, char **argv)
{
    if (argc == 2 && strcmp(argv[1], "--markdown") == 0)
        return topics_table_markdown(stdout) == 0 ? 0 : 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sensor_topics),    cmocka_unit_test(test_status_topic),
        cmocka_unit_test(test_partition_topics), cmocka_unit_test(test_filters_and_defaults),
        cmocka_unit_test(test_parse_reading),    cmocka_unit_test(test_parse_others),
        cmocka_unit_test(test_strip_partition),  cmocka_unit_test(test_table),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
