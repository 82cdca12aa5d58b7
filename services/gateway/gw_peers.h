/*
 * gw_peers — open connections counted per client IP address, so one
 * address cannot take every connection the gateway can hold
 * (GATEWAY_MAX_CONN_PER_IP). An HTTP keep-alive connection and a WebSocket
 * count once each, from accept() to close.
 *
 * Use from the lws thread: gw_peers_admit() when a connection is accepted
 * (LWS_CALLBACK_FILTER_NETWORK_CONNECTION), keep the returned handle with
 * the connection, gw_peers_release() it when the connection is destroyed
 * (LWS_CALLBACK_WSI_DESTROY). IPv4-mapped IPv6 addresses count as their
 * IPv4 address.
 *
 * Thread-safety: none; one thread (the lws loop) calls every function.
 */
#ifndef GW_PEERS_H
#define GW_PEERS_H

#include <stddef.h>
#include <sys/socket.h>

typedef struct gw_peers gw_peers; /* opaque */
typedef struct gw_peer gw_peer;   /* one address's count; opaque */

/** Out: *out (gw_peers_destroy). max_per_ip: connections allowed per
 *  address (>= 1). Returns 0, or -1 (no memory). */
int gw_peers_create(gw_peers **out, long max_per_ip);

/** Free p and every count (NULL is fine). Handles die with it. */
void gw_peers_destroy(gw_peers *p);

/** Count one more connection from sa.
 *  Returns: its handle; NULL when the address already has max_per_ip
 *  connections (refuse it) or on no memory. Never blocks. */
gw_peer *gw_peers_admit(gw_peers *p, const struct sockaddr *sa, socklen_t len);

/** Count one connection less (the handle admit returned; NULL is fine). */
void gw_peers_release(gw_peers *p, gw_peer *h);

/** Connections counted for sa (0 when none). */
long gw_peers_count(const gw_peers *p, const struct sockaddr *sa, socklen_t len);

/** Distinct addresses with at least one connection. */
size_t gw_peers_addresses(const gw_peers *p);

#endif
