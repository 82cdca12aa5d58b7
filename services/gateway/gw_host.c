/*
 * gw_host — see gw_host.h. The allow-list is one copy of the configured
 * text cut into NUL-terminated names, each lower-cased and stripped of a
 * port and a trailing dot, so a request's Host is compared the same way.
 */
#include "gw_host.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#define HOSTS_MAX 64
#define NAME_MAX_LEN 253 /* RFC 1035 2.3.4, as text */

struct gw_hosts {
    int any;
    char *buf;
    const char *names[HOSTS_MAX];
    int n;
};

/* Reduce "Name.Example.:8080" / "[::1]:8080" to the comparable host part in
 * dst ("name.example" / "::1"). Returns 0, or -1 when it is not a host. */
static int host_part(const char *in, size_t len, char *dst, size_t cap)
{
    const char *p = in, *end = in + len;
    if (len && *p == '[') {
        const char *close = memchr(p, ']', len);
        if (!close)
            return -1;
        p++;
        end = close;
    } else {
        const char *colon = memchr(p, ':', len);
        if (colon)
            end = colon;
    }
    size_t n = (size_t)(end - p);
    while (n && p[n - 1] == '.')
        n--;
    if (n == 0 || n >= cap || n > NAME_MAX_LEN)
        return -1;
    for (size_t i = 0; i < n; i++) {
        char c = p[i];
        int ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                 c == '-' || c == '.' || c == '_' || (in[0] == '[' && c == ':');
        if (!ok)
            return -1;
        dst[i] = (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c;
    }
    dst[n] = '\0';
    return 0;
}

static int is_ip_literal(const char *h)
{
    unsigned char a[16];
    return inet_pton(AF_INET, h, a) == 1 || inet_pton(AF_INET6, h, a) == 1;
}

static int add_name(gw_hosts *h, const char *name, size_t len, char **w, char *err, size_t cap)
{
    char tmp[NAME_MAX_LEN + 2];
    int dot = len && name[0] == '.';
    if (len == 1 && name[0] == '*') {
        h->any = 1;
        return 0;
    }
    if (host_part(name + dot, len - (size_t)dot, tmp, sizeof tmp) != 0 || h->n == HOSTS_MAX) {
        snprintf(err, cap, "GATEWAY_ALLOWED_HOSTS: '%.*s' is not a host name (or more than %d)",
                 (int)(len > 80 ? 80 : len), name, HOSTS_MAX);
        return -1;
    }
    char *d = *w;
    if (dot)
        *d++ = '.';
    size_t tl = strlen(tmp);
    memcpy(d, tmp, tl + 1);
    h->names[h->n++] = *w;
    *w = d + tl + 1;
    return 0;
}

int gw_hosts_create(gw_hosts **out, const char *allowed, const char *bind_host, char *err,
                    size_t err_cap)
{
    err[0] = '\0';
    gw_hosts *h = calloc(1, sizeof *h);
    size_t al = allowed ? strlen(allowed) : 0, bl = bind_host ? strlen(bind_host) : 0;
    char self[NAME_MAX_LEN + 2] = "";
    if (gethostname(self, sizeof self) != 0)
        self[0] = '\0';
    self[sizeof self - 1] = '\0';
    size_t sl = strlen(self);
    if (!h || !(h->buf = malloc(al + bl + sl + 32))) {
        free(h);
        snprintf(err, err_cap, "out of memory");
        return -1;
    }
    char *w = h->buf;
    if (add_name(h, "localhost", 9, &w, err, err_cap) != 0)
        goto fail;
    /* This machine's own name: it resolves to the gateway, not to a page. */
    if (sl && add_name(h, self, sl, &w, err, err_cap) != 0)
        err[0] = '\0'; /* a name we cannot compare is just not added */
    /* The listening name, when it is one (an address is an IP literal, and
     * the wildcard or an interface name is nobody's Host). */
    if (bl && !is_ip_literal(bind_host) && strchr(bind_host, '.'))
        if (add_name(h, bind_host, bl, &w, err, err_cap) != 0)
            goto fail;
    for (const char *p = allowed; p && *p;) {
        while (*p == ' ' || *p == ',')
            p++;
        const char *e = p;
        while (*e && *e != ',')
            e++;
        size_t n = (size_t)(e - p);
        while (n && p[n - 1] == ' ')
            n--;
        if (n && add_name(h, p, n, &w, err, err_cap) != 0)
            goto fail;
        p = e;
    }
    *out = h;
    return 0;
fail:
    gw_hosts_destroy(h);
    return -1;
}

void gw_hosts_destroy(gw_hosts *h)
{
    if (!h)
        return;
    free(h->buf);
    free(h);
}

int gw_hosts_allowed(const gw_hosts *h, const char *host)
{
    char name[NAME_MAX_LEN + 2];
    if (!host || !*host || h->any)
        return 1;
    if (host_part(host, strlen(host), name, sizeof name) != 0)
        return 0;
    if (is_ip_literal(name))
        return 1;
    size_t nl = strlen(name);
    for (int i = 0; i < h->n; i++) {
        const char *a = h->names[i];
        if (a[0] != '.') {
            if (strcmp(a, name) == 0)
                return 1;
            continue;
        }
        /* ".example.com": example.com itself or any name ending in it. */
        size_t al = strlen(a);
        if (strcmp(a + 1, name) == 0 || (nl > al && strcmp(name + nl - al, a) == 0))
            return 1;
    }
    return 0;
}

int gw_host_is_loopback(const char *bind_host)
{
    struct in_addr v4;
    struct in6_addr v6;
    if (!bind_host || !*bind_host)
        return 0;
    if (strcasecmp(bind_host, "localhost") == 0 || strcmp(bind_host, "lo") == 0)
        return 1;
    if (inet_pton(AF_INET, bind_host, &v4) == 1)
        return (ntohl(v4.s_addr) >> 24) == 127;
    if (inet_pton(AF_INET6, bind_host, &v6) == 1)
        return IN6_IS_ADDR_LOOPBACK(&v6);
    return 0;
}
