/*
 * gw_openapi — the gateway's OpenAPI 3.1 description, served at
 * GET /api/openapi.json.
 *
 * The document is a reviewable file in the source,
 * services/gateway/openapi.json, embedded in the binary at build time
 * (gw_openapi.c, .incbin): no file to install, and it cannot drift from
 * the binary it describes. tests/unit/test_gw_openapi.c checks it against
 * the route table (gw_api_routes); tests/integration/gateway_openapi.sh
 * calls every operation on a running gateway.
 */
#ifndef GW_OPENAPI_H
#define GW_OPENAPI_H

#include <stddef.h>

#include <jansson.h>

/** The embedded document, byte for byte as in openapi.json.
 *  Out: len: its length (the text is also NUL-terminated).
 *  Returns: a static string, never NULL. Thread-safe. */
const char *gw_openapi_text(size_t *len);

/** The document as served: parsed, with info.version set to
 *  version_string().
 *  Returns: a new reference (caller decrefs), or NULL when out of memory
 *  (the embedded text is checked by the unit test, so it parses).
 *  Thread-safe. */
json_t *gw_openapi_document(void);

#endif
