/*
 * config — see config.h. Defaults are applied first, then the environment,
 * then flags, each step overwriting the previous; values are validated at
 * every step so a bad environment variable is reported even when a flag
 * would override it later.
 */
#include "base/config.h"
#include "base/version.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static int set_value(const config_option *o, const char *val, const char *source)
{
    if (o->type == CONFIG_STR) {
        *(const char **)o->dst = val;
        return 0;
    }
    if (val == NULL) {
        if (o->type == CONFIG_BOOL) {
            *(int *)o->dst = 0;
            return 0;
        }
        if (o->type == CONFIG_INT)
            *(long *)o->dst = 0;
        else
            *(double *)o->dst = 0;
        return 0;
    }
    char *end = NULL;
    errno = 0;
    switch (o->type) {
    case CONFIG_INT: {
        long v = strtol(val, &end, 10);
        if (errno || end == val || *end != '\0') {
            fprintf(stderr, "invalid integer for %s: '%s'\n", source, val);
            return -1;
        }
        *(long *)o->dst = v;
        return 0;
    }
    case CONFIG_DBL: {
        double v = strtod(val, &end);
        if (errno || end == val || *end != '\0' || !isfinite(v)) {
            fprintf(stderr, "invalid number for %s: '%s'\n", source, val);
            return -1;
        }
        *(double *)o->dst = v;
        return 0;
    }
    case CONFIG_BOOL:
        if (!strcasecmp(val, "1") || !strcasecmp(val, "true") || !strcasecmp(val, "yes") ||
            !strcasecmp(val, "on")) {
            *(int *)o->dst = 1;
            return 0;
        }
        if (!strcasecmp(val, "0") || !strcasecmp(val, "false") || !strcasecmp(val, "no") ||
            !strcasecmp(val, "off") || val[0] == '\0') {
            *(int *)o->dst = 0;
            return 0;
        }
        fprintf(stderr, "invalid boolean for %s: '%s'\n", source, val);
        return -1;
    default:
        return -1;
    }
}

/* How a default reads in the tables: "(unset)" for none, "" for empty. */
static const char *shown_default(const char *def)
{
    return !def ? "(unset)" : def[0] ? def : "\"\"";
}

void config_usage(FILE *f, const char *prog, const config_option *opts, size_t n)
{
    fprintf(f, "usage: %s [options]\n\noptions (flag / environment variable / default):\n", prog);
    for (size_t i = 0; i < n; i++) {
        fprintf(f, "  --%-22s %-24s %-22s %s\n", opts[i].flag, opts[i].env ? opts[i].env : "-",
                shown_default(opts[i].def), opts[i].help ? opts[i].help : "");
    }
}

void config_usage_tsv(FILE *f, const config_option *opts, size_t n)
{
    for (size_t i = 0; i < n; i++)
        fprintf(f, "--%s\t%s\t%s\t%s\n", opts[i].flag, opts[i].env ? opts[i].env : "-",
                shown_default(opts[i].def), opts[i].help ? opts[i].help : "");
}

int config_parse(const config_option *opts, size_t n, int argc, char **argv, char **pos,
                 int *npos)
{
    char src[128];
    if (npos)
        *npos = 0;
    /* --version first: it must work whatever the environment holds. */
    for (int a = 1; a < argc && strcmp(argv[a], "--") != 0; a++)
        if (!strcmp(argv[a], "--version")) {
            const char *prog = strrchr(argv[0], '/');
            printf("%s %s\n", prog ? prog + 1 : argv[0], version_string());
            return CONFIG_VERSION;
        }
    for (size_t i = 0; i < n; i++) {
        snprintf(src, sizeof src, "default of --%s", opts[i].flag);
        if (set_value(&opts[i], opts[i].def, src) != 0)
            return -1;
    }
    for (size_t i = 0; i < n; i++) {
        const char *v = opts[i].env ? getenv(opts[i].env) : NULL;
        if (v == NULL)
            continue;
        snprintf(src, sizeof src, "environment variable %s", opts[i].env);
        if (set_value(&opts[i], v, src) != 0)
            return -1;
    }
    int only_pos = 0;
    for (int a = 1; a < argc; a++) {
        const char *arg = argv[a];
        if (only_pos || arg[0] != '-' || arg[1] == '\0') {
            if (!pos || !npos) {
                fprintf(stderr, "unexpected argument '%s' (see --help)\n", arg);
                return -1;
            }
            pos[(*npos)++] = argv[a];
            continue;
        }
        if (!strcmp(arg, "--")) {
            only_pos = 1;
            continue;
        }
        if (!strcmp(arg, "--help") || !strcmp(arg, "-h")) {
            config_usage(stdout, argv[0], opts, n);
            return CONFIG_HELP;
        }
        if (!strcmp(arg, "--help-tsv")) {
            config_usage_tsv(stdout, opts, n);
            return CONFIG_HELP;
        }
        if (arg[1] != '-') {
            fprintf(stderr, "unknown option '%s' (see --help)\n", arg);
            return -1;
        }
        const char *name = arg + 2;
        const char *eq = strchr(name, '=');
        size_t nlen = eq ? (size_t)(eq - name) : strlen(name);
        const config_option *o = NULL;
        for (size_t i = 0; i < n; i++) {
            if (strlen(opts[i].flag) == nlen && !strncmp(opts[i].flag, name, nlen)) {
                o = &opts[i];
                break;
            }
        }
        if (!o) {
            fprintf(stderr, "unknown option '%s' (see --help)\n", arg);
            return -1;
        }
        const char *val;
        if (eq) {
            val = eq + 1;
        } else if (o->type == CONFIG_BOOL) {
            val = "1";
        } else if (a + 1 < argc) {
            val = argv[++a];
        } else {
            fprintf(stderr, "option --%s needs a value\n", o->flag);
            return -1;
        }
        snprintf(src, sizeof src, "--%s", o->flag);
        if (set_value(o, val, src) != 0)
            return -1;
    }
    return 0;
}
