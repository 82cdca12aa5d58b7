/*
 * gw_origin — which browser pages may talk to the gateway. A browser sends
 * the page's Origin with cross-site requests and WebSocket upgrades; we
 * compare it with the Host the request was sent to (same origin) and with
 * a configured policy (CORS_ORIGIN for REST, WS_ALLOWED_ORIGINS for
 * WebSockets). gw_http and gw_ws both ask here, so the rule is written once.
 * No state: every function is thread-safe.
 */
#ifndef GW_ORIGIN_H
#define GW_ORIGIN_H

/** Whether a browser Origin may talk to us under a policy:
 *  policy "" or NULL: only the same origin (Origin's host[:port] equals the
 *  Host header); "*": any; otherwise a comma-separated list of exact
 *  origins (e.g. "https://a.example,http://localhost:3000"), plus the same
 *  origin. A request without Origin (not from a browser) is allowed.
 *  Returns: 1 when allowed, 0 otherwise.
 *  In: policy, origin, host: NUL-terminated; origin and host may be NULL. */
int gw_origin_allowed(const char *policy, const char *origin, const char *host);

#endif
