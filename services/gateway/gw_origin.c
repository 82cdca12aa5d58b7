/*
 * gw_origin — see gw_origin.h.
 */
#include "gw_origin.h"

#include <string.h>
#include <strings.h>

int gw_origin_allowed(const char *policy, const char *origin, const char *host)
{
    if (!origin || !*origin)
        return 1;
    if (policy && strcmp(policy, "*") == 0)
        return 1;
    /* Same origin: the part after "scheme://" equals the Host header. */
    const char *sep = strstr(origin, "://");
    if (sep && host && *host && strcasecmp(sep + 3, host) == 0)
        return 1;
    if (!policy || !*policy)
        return 0;
    size_t ol = strlen(origin);
    for (const char *p = policy; *p;) {
        while (*p == ' ' || *p == ',')
            p++;
        const char *e = p;
        while (*e && *e != ',')
            e++;
        size_t n = (size_t)(e - p);
        while (n && p[n - 1] == ' ')
            n--;
        if (n && n == ol && strncasecmp(p, origin, n) == 0)
            return 1;
        p = e;
    }
    return 0;
}
