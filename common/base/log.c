/*
 * log — see log.h. One formatted buffer per line, written with one fwrite
 * under the stdio lock, so concurrent lines never interleave.
 */
#include "base/log.h"

#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "base/clock.h"

static const char *log_service = "?";
static enum log_level log_min = LOG_INFO;
static const char *const level_names[] = {"debug", "info", "warn", "error"};

void log_init(const char *service, enum log_level min_level)
{
    log_service = service ? service : "?";
    log_min = min_level;
}

int log_level_parse(const char *name, enum log_level *out)
{
    for (int i = 0; i < 4; i++) {
        if (name && strcmp(name, level_names[i]) == 0) {
            *out = (enum log_level)i;
            return 0;
        }
    }
    return -1;
}

void log_vmsg(enum log_level level, const char *fmt, va_list ap)
{
    if (level < log_min || level > LOG_ERROR)
        return;
    char line[2048];
    struct timespec ts;
    struct tm tm;
    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    int n = snprintf(line, sizeof line, "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ %s %s ",
                     tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min,
                     tm.tm_sec, ts.tv_nsec / 1000000, level_names[level], log_service);
    if (n < 0)
        return;
    int m = vsnprintf(line + n, sizeof line - (size_t)n - 1, fmt, ap);
    size_t len = (size_t)n + (m < 0 ? 0 : (size_t)m);
    if (len > sizeof line - 2)
        len = sizeof line - 2; /* truncated: keep one line */
    /* A message must stay on one line: fold any newline it carries. */
    for (size_t i = (size_t)n; i < len; i++)
        if (line[i] == '\n' || line[i] == '\r')
            line[i] = ' ';
    line[len++] = '\n';
    flockfile(stderr);
    fwrite(line, 1, len, stderr);
    funlockfile(stderr);
}

void log_msg(enum log_level level, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    log_vmsg(level, fmt, ap);
    va_end(ap);
}

static pthread_mutex_t rate_lock = PTHREAD_MUTEX_INITIALIZER;
static double rate_last[LOG_RATE_SLOTS];
static unsigned long rate_suppressed[LOG_RATE_SLOTS];

void log_rate(int key, double interval_s, enum log_level level, const char *fmt, ...)
{
    if (key < 0 || key >= LOG_RATE_SLOTS)
        key = 0;
    double now = clock_mono();
    unsigned long suppressed = 0;
    pthread_mutex_lock(&rate_lock);
    int emit = rate_last[key] == 0 || now - rate_last[key] >= interval_s;
    if (emit) {
        rate_last[key] = now;
        suppressed = rate_suppressed[key];
        rate_suppressed[key] = 0;
    } else {
        rate_suppressed[key]++;
    }
    pthread_mutex_unlock(&rate_lock);
    if (!emit)
        return;
    char msg[1536];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (suppressed)
        log_msg(level, "%s suppressed=%lu", msg, suppressed);
    else
        log_msg(level, "%s", msg);
}
