/*
 * config — one table of settings per service: each setting has a flag, an
 * environment variable, a default and a help line. Precedence: flag >
 * environment > default. The same table prints --help, so the README's
 * configuration tables can be checked against it (`<service> --help`).
 *
 * Example:
 *     static const char *mqtt_url;
 *     static long port;
 *     static const config_option opts[] = {
 *         {"mqtt-url", "MQTT_URL", CONFIG_STR, "tcp://127.0.0.1:1883", "broker URI(s)", &mqtt_url},
 *         {"port", "GATEWAY_PORT", CONFIG_INT, "8080", "HTTP port", &port},
 *     };
 *     rc = config_parse(opts, 2, argc, argv, pos, &npos);
 */
#ifndef COMMON_CONFIG_H
#define COMMON_CONFIG_H

#include <stddef.h>
#include <stdio.h>

typedef enum {
    CONFIG_STR,  /* dst: const char **  (points into argv, environ or the default; not owned) */
    CONFIG_INT,  /* dst: long *          (decimal, range-checked by strtol) */
    CONFIG_DBL,  /* dst: double *        (finite only) */
    CONFIG_BOOL, /* dst: int *           (1/0, true/false, yes/no, on/off; a bare flag sets 1) */
} config_type;

typedef struct {
    const char *flag; /* long flag without dashes, e.g. "mqtt-url" */
    const char *env;  /* environment variable, or NULL */
    config_type type;
    const char *def;  /* default as text; NULL = unset (CONFIG_STR dst becomes NULL) */
    const char *help; /* one line */
    void *dst;
} config_option;

#define CONFIG_HELP 1    /* config_parse printed --help: exit 0 */
#define CONFIG_VERSION 2 /* config_parse printed --version (base/version.h): exit 0 */

/** Fill every option's dst from flags, environment and defaults.
 *  Flags take `--flag value` or `--flag=value`; `--` ends flags. Arguments
 *  that are not flags (subcommands, file names) are returned in order.
 *  Returns: 0 on success; CONFIG_VERSION when --version was given (the
 *           program's name and version printed to stdout, nothing parsed);
 *           CONFIG_HELP when --help/-h (usage) or --help-tsv
 *           (config_usage_tsv) was given (printed
 *           to stdout); -1 on an unknown flag, a missing or malformed value
 *           (message printed to stderr naming the flag or variable).
 *  Out:  pos:  array of at least argc entries, receives the positional args
 *              (pointers into argv; not owned); may be NULL when npos is NULL
 *              and then positional arguments are an error.
 *        npos: number of positional args.
 *  Not thread-safe (reads the environment). */
int config_parse(const config_option *opts, size_t n, int argc, char **argv, char **pos,
                 int *npos);

/** Print a usage table (flag, variable, default, help) to `f`, for people.
 *  A default of NULL reads "(unset)", an empty one "". */
void config_usage(FILE *f, const char *prog, const config_option *opts, size_t n);

/** The same table for scripts (`<service> --help-tsv`, scripts/config-tables.sh):
 *  one line per option, "--flag<TAB>VARIABLE<TAB>default<TAB>help", with
 *  "-" for no variable and defaults as config_usage shows them, so an empty
 *  or spaced default cannot shift a column. */
void config_usage_tsv(FILE *f, const config_option *opts, size_t n);

#endif
