/*
 * log — levelled, one-line-per-event logging for every service.
 *
 * Each line reads: `2026-11-25T22:10:03.120Z info detector event key=value ...`
 * so a person can read it and a machine can split it on spaces and '='.
 * Lines go to stderr; a line is written with a single fwrite so lines from
 * different threads never interleave. Never log secrets (keys, passwords).
 */
#ifndef COMMON_LOG_H
#define COMMON_LOG_H

#include <stdarg.h>

#include "base/config.h"

/* The log level setting as a row of a service's config_option table
 * (base/config.h), the same in every service; parse the value with
 * log_level_parse().
 *   In: name: const char ** the level's name lands in.
 * Use inside the table's initialiser: `LOG_CONFIG_ROW(&level),` */
/* clang-format off */
#define LOG_CONFIG_ROW(name)                                                                       \
    {"log-level", "LOG_LEVEL", CONFIG_STR, "info", "debug, info, warn or error", (name)}
/* clang-format on */

enum log_level { LOG_DEBUG = 0, LOG_INFO = 1, LOG_WARN = 2, LOG_ERROR = 3 };

/** Set the service name printed on every line and the minimum level.
 *  Args: service: static string (not copied; must outlive all logging).
 *  Not thread-safe: call once from main() before threads start. */
void log_init(const char *service, enum log_level min_level);

/** Parse "debug", "info", "warn" or "error".
 *  Returns: 0 and sets *out, or -1 for an unknown name. */
int log_level_parse(const char *name, enum log_level *out);

/** Write one line at `level`: printf-style message, by convention an event
 *  word followed by key=value pairs. Thread-safe; never blocks on locks
 *  held by other modules. */
void log_msg(enum log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/** log_msg with a va_list (for wrappers); ap is consumed. Thread-safe. */
void log_vmsg(enum log_level level, const char *fmt, va_list ap);

/** Like log_msg, but at most one line per `interval_s` seconds for the
 *  given `key` slot (0..LOG_RATE_SLOTS-1); suppressed lines are counted
 *  and reported as suppressed=N on the next line that gets through.
 *  Use for errors that a flood of bad input could repeat. Thread-safe.
 *  Slots 0-39 belong to the services (each its own), 40-63 to common/
 *  (bus/mqtt 41-44, eth/client 45-46), so a library's lines never share
 *  a slot with a service's. */
#define LOG_RATE_SLOTS 64
void log_rate(int key, double interval_s, enum log_level level, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

#define log_debug(...) log_msg(LOG_DEBUG, __VA_ARGS__)
#define log_info(...) log_msg(LOG_INFO, __VA_ARGS__)
#define log_warn(...) log_msg(LOG_WARN, __VA_ARGS__)
#define log_error(...) log_msg(LOG_ERROR, __VA_ARGS__)

#endif
