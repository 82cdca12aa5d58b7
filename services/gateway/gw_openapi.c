/*
 * gw_openapi — see gw_openapi.h.
 *
 * The assembler's .incbin copies openapi.json into .rodata between two
 * hidden symbols, plus a NUL. The path is relative to the directory the
 * compiler runs in: the repository root, where make and scripts/fuzz.sh
 * run (the Makefile lists openapi.json as a prerequisite of this object so
 * an edit rebuilds it).
 */
#include "gw_openapi.h"

#include "base/version.h"

__asm__(".pushsection .rodata\n"
        ".global gw_openapi_start\n"
        ".hidden gw_openapi_start\n"
        ".global gw_openapi_end\n"
        ".hidden gw_openapi_end\n"
        "gw_openapi_start:\n"
        ".incbin \"services/gateway/openapi.json\"\n"
        "gw_openapi_end:\n"
        ".byte 0\n"
        ".popsection\n");

extern const char gw_openapi_start[] __attribute__((visibility("hidden")));
extern const char gw_openapi_end[] __attribute__((visibility("hidden")));

const char *gw_openapi_text(size_t *len)
{
    if (len)
        *len = (size_t)(gw_openapi_end - gw_openapi_start);
    return gw_openapi_start;
}

json_t *gw_openapi_document(void)
{
    size_t len;
    const char *text = gw_openapi_text(&len);
    json_t *doc = json_loadb(text, len, JSON_REJECT_DUPLICATES, NULL);
    json_t *info = json_object_get(doc, "info");
    if (!json_is_object(info) ||
        json_object_set_new(info, "version", json_string(version_string())) != 0) {
        json_decref(doc);
        return NULL;
    }
    return doc;
}
