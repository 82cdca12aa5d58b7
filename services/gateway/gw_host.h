/*
 * gw_host — which names the gateway answers to (the HTTP Host header) and
 * whether the address it listens on is loopback only.
 *
 * DNS rebinding: a web page from http://evil.example:8080/ makes its own
 * name resolve to 127.0.0.1 (or to the gateway's LAN address) and then talks
 * to the gateway as "same origin"; the browser still sends
 * "Host: evil.example:8080". Refusing Host names the gateway does not know
 * stops it. Allowed are:
 *   - "localhost" and any IP literal (127.0.0.1, [::1], 192.168.1.5): an IP
 *     literal is no DNS name, so it cannot be rebound (webpack-dev-server's
 *     allowedHosts "auto" makes the same choice);
 *   - this machine's name (gethostname()) and the name the gateway was told
 *     to listen on (GATEWAY_HOST), when a name;
 *   - each entry of GATEWAY_ALLOWED_HOSTS, a comma list of names (a leading
 *     dot allows the name and every subdomain: ".example.com"), or "*" for
 *     any Host.
 * The port part of Host is ignored (a rebinding page can use any port). A
 * request without Host (HTTP/1.0, not a browser) is allowed.
 */
#ifndef GW_HOST_H
#define GW_HOST_H

#include <stddef.h>

typedef struct gw_hosts gw_hosts; /* opaque */

/** Build the allow-list.
 *  In: allowed: GATEWAY_ALLOWED_HOSTS (NULL or "" = the defaults only);
 *      bind_host: GATEWAY_HOST (NULL = none).
 *  Out: *out, owned by the caller (gw_hosts_destroy).
 *  Returns: 0; -1 when an entry is not a host name (err says which, in
 *  err_cap bytes) or no memory. */
int gw_hosts_create(gw_hosts **out, const char *allowed, const char *bind_host, char *err,
                    size_t err_cap);

/** Free h (NULL is fine). */
void gw_hosts_destroy(gw_hosts *h);

/** 1 when a request with this Host header may be answered, else 0.
 *  host: the header's value, NULL or "" when absent. Thread-safe (reads only). */
int gw_hosts_allowed(const gw_hosts *h, const char *host);

/** 1 when listening on `bind_host` (GATEWAY_HOST) reaches this machine
 *  only: an address in 127.0.0.0/8, ::1, "localhost" or "lo". The
 *  wildcard ("", "0.0.0.0", "::") and every other address or interface
 *  name return 0. */
int gw_host_is_loopback(const char *bind_host);

#endif
