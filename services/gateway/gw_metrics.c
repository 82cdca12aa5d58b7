/*
 * gw_metrics — see gw_metrics.h. The rate window is a ring of the last 11
 * cumulative snapshots taken one second apart; rate = (newest - oldest) /
 * seconds between them, so a burst shows up within a second and fades after
 * ten.
 */
#include "gw_metrics.h"

#include <string.h>

static const char *const err_names[GW_ERR__COUNT] = {
    "reading_invalid",
    "anomaly_invalid",
    "logged_invalid",
    "sensor_table_full",
    "http_bad_request",
    "http_unauthorized",
    "http_forbidden",
    "http_too_large",
    "http_not_found",
    "ws_bad_message",
    "ws_too_large",
    "ws_origin",
    "rpc",
    "chain_log_invalid",
    "publish",
    "bus_overflow",
    "status_invalid",
    "status_table_full",
    "onchain_check",
    "host",
    "conn_per_ip",
};

void gw_metrics_init(gw_metrics *m)
{
    memset(m, 0, sizeof *m);
}

void gw_metrics_add(uint64_t *counter, uint64_t n)
{
    __atomic_fetch_add(counter, n, __ATOMIC_RELAXED);
}

uint64_t gw_metrics_get(const uint64_t *counter)
{
    return __atomic_load_n(counter, __ATOMIC_RELAXED);
}

void gw_metrics_err(gw_metrics *m, gw_err_kind kind)
{
    if ((int)kind >= 0 && kind < GW_ERR__COUNT)
        gw_metrics_add(&m->err[kind], 1);
}

void gw_metrics_event(gw_metrics *m, gw_rate_kind kind, uint64_t n)
{
    if ((int)kind >= 0 && kind < GW_RATE__COUNT)
        gw_metrics_add(&m->events[kind], n);
}

const char *gw_metrics_err_name(gw_err_kind kind)
{
    if ((int)kind < 0 || kind >= GW_ERR__COUNT)
        return "unknown";
    return err_names[kind];
}

void gw_metrics_tick(gw_metrics *m)
{
    const int slots = 11;
    for (int k = 0; k < GW_RATE__COUNT; k++)
        m->hist[k][m->hist_pos] = gw_metrics_get(&m->events[k]);
    if (m->hist_n < slots)
        m->hist_n++;
    int oldest = (m->hist_pos - (m->hist_n - 1) + slots) % slots;
    for (int k = 0; k < GW_RATE__COUNT; k++) {
        double secs = (double)(m->hist_n - 1);
        m->rate[k] = secs > 0 ? (double)(m->hist[k][m->hist_pos] - m->hist[k][oldest]) / secs : 0.0;
    }
    m->hist_pos = (m->hist_pos + 1) % slots;
}
