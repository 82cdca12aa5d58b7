/*
 * The gateway's OpenAPI description (services/gateway/openapi.json,
 * embedded by gw_openapi.c) against its route table (gw_api_routes):
 * every route is described, every described operation is a route (or one
 * of the few paths served outside the table), path parameters are
 * declared, every $ref resolves, write routes require the bearer token;
 * and GET /api/openapi.json serves it with the build's version.
 *
 * A new route needs nothing here: its row in gw_api_routes and its
 * operation in openapi.json are checked by the loops below.
 * tests/integration/gateway_openapi.sh calls every operation for real.
 */
/* cmocka.h needs these headers first. */
// clang-format off
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
// clang-format on

#include <stdio.h>
#include <string.h>

#include "base/version.h"
#include "gateway/gw_api.h"
#include "gateway/gw_openapi.h"

/* Paths the spec describes that lws or the static file server answers,
 * not gw_api_routes. */
static const char *const outside_table[] = {"/ws", "/"};

static const char *const http_methods[] = {"get",     "put",  "post",  "delete",
                                           "options", "head", "patch", "trace"};

static json_t *spec(void)
{
    size_t len;
    const char *text = gw_openapi_text(&len);
    json_error_t err;
    json_t *doc = json_loadb(text, len, JSON_REJECT_DUPLICATES, &err);
    if (!doc)
        fail_msg("openapi.json line %d: %s", err.line, err.text);
    return doc;
}

static const char *method_name(int m)
{
    return m == GW_M_POST ? "post" : "get";
}

static void test_document(void **st)
{
    (void)st;
    json_t *doc = spec();
    assert_string_equal(json_string_value(json_object_get(doc, "openapi")), "3.1.0");
    json_t *info = json_object_get(doc, "info");
    assert_non_null(json_string_value(json_object_get(info, "title")));
    assert_non_null(json_string_value(json_object_get(info, "version")));
    assert_true(json_is_object(json_object_get(doc, "paths")));
    json_decref(doc);
}

static void test_every_route_described(void **st)
{
    (void)st;
    json_t *doc = spec();
    json_t *paths = json_object_get(doc, "paths");
    int n = 0;
    for (const gw_route *r = gw_api_routes; r->path; r++, n++) {
        json_t *op = json_object_get(json_object_get(paths, r->path), method_name(r->method));
        if (!json_is_object(op))
            fail_msg("route %s %s is not in openapi.json", method_name(r->method), r->path);
        if (!json_is_object(json_object_get(op, "responses")))
            fail_msg("%s %s: no responses", method_name(r->method), r->path);
        /* Write routes say they need the token; read routes do not. */
        json_t *sec = json_object_get(op, "security");
        int has_sec = json_is_array(sec) && json_array_size(sec) > 0;
        if (has_sec != r->write)
            fail_msg("%s %s: security %s, route write=%d", method_name(r->method), r->path,
                     has_sec ? "required" : "absent", r->write);
    }
    assert_true(n >= 10);
    json_decref(doc);
}

static int in_table(const char *path, const char *method)
{
    for (const gw_route *r = gw_api_routes; r->path; r++)
        if (strcmp(r->path, path) == 0 && strcmp(method_name(r->method), method) == 0)
            return 1;
    for (size_t i = 0; i < sizeof outside_table / sizeof *outside_table; i++)
        if (strcmp(outside_table[i], path) == 0 && strcmp(method, "get") == 0)
            return 1;
    return 0;
}

/* Path parameters: each "{name}" of the template declared in: path,
 * required, and each declared path parameter in the template. */
static void check_params(const char *path, const char *method, json_t *op)
{
    json_t *params = json_object_get(op, "parameters");
    size_t i;
    json_t *p;
    json_array_foreach(params, i, p)
    {
        const char *name = json_string_value(json_object_get(p, "name"));
        const char *in = json_string_value(json_object_get(p, "in"));
        if (!name || !in)
            fail_msg("%s %s: parameter %zu without name or in", method, path, i);
        if (strcmp(in, "path") != 0)
            continue;
        char brace[96];
        snprintf(brace, sizeof brace, "{%s}", name);
        if (!strstr(path, brace))
            fail_msg("%s %s: path parameter %s not in the template", method, path, name);
        if (!json_is_true(json_object_get(p, "required")))
            fail_msg("%s %s: path parameter %s must be required", method, path, name);
    }
    for (const char *b = strchr(path, '{'); b; b = strchr(b + 1, '{')) {
        size_t n = strcspn(b + 1, "}");
        int found = 0;
        json_array_foreach(params, i, p)
        {
            const char *name = json_string_value(json_object_get(p, "name"));
            found |= strlen(name) == n && strncmp(name, b + 1, n) == 0 &&
                     strcmp(json_string_value(json_object_get(p, "in")), "path") == 0;
        }
        if (!found)
            fail_msg("%s %s: {%.*s} is not declared", method, path, (int)n, b + 1);
    }
}

static void test_every_operation_routed(void **st)
{
    (void)st;
    json_t *doc = spec();
    json_t *paths = json_object_get(doc, "paths");
    json_t *ids = json_object();
    const char *path;
    json_t *item;
    json_object_foreach(paths, path, item)
    {
        int ops = 0;
        for (size_t k = 0; k < sizeof http_methods / sizeof *http_methods; k++) {
            json_t *op = json_object_get(item, http_methods[k]);
            if (!op)
                continue;
            ops++;
            if (!in_table(path, http_methods[k]))
                fail_msg("openapi.json describes %s %s, which no route serves", http_methods[k],
                         path);
            const char *id = json_string_value(json_object_get(op, "operationId"));
            if (!id || json_object_get(ids, id))
                fail_msg("%s %s: operationId missing or not unique", http_methods[k], path);
            json_object_set_new(ids, id, json_true());
            json_t *responses = json_object_get(op, "responses");
            if (!json_is_object(responses) || json_object_size(responses) == 0)
                fail_msg("%s %s: no responses", http_methods[k], path);
            check_params(path, http_methods[k], op);
        }
        if (ops == 0)
            fail_msg("path %s has no operation", path);
    }
    json_decref(ids);
    json_decref(doc);
}

/* Every "$ref" ("#/a/b/c") names something in the document. */
static void check_refs(json_t *doc, json_t *v)
{
    if (json_is_array(v)) {
        size_t i;
        json_t *e;
        json_array_foreach(v, i, e) check_refs(doc, e);
        return;
    }
    if (!json_is_object(v))
        return;
    const char *k;
    json_t *e;
    json_object_foreach(v, k, e)
    {
        if (strcmp(k, "$ref") == 0) {
            const char *ref = json_string_value(e);
            if (!ref || strncmp(ref, "#/", 2) != 0)
                fail_msg("$ref %s is not local", ref ? ref : "(not a string)");
            char buf[256];
            snprintf(buf, sizeof buf, "%s", ref + 2);
            json_t *at = doc;
            for (char *save, *part = strtok_r(buf, "/", &save); part;
                 part = strtok_r(NULL, "/", &save))
                at = json_object_get(at, part);
            if (!at)
                fail_msg("$ref %s resolves to nothing", ref);
        } else {
            check_refs(doc, e);
        }
    }
}

static void test_refs_resolve(void **st)
{
    (void)st;
    json_t *doc = spec();
    check_refs(doc, doc);
    json_decref(doc);
}

static void test_route_match(void **st)
{
    (void)st;
    gw_params pp;
    assert_true(gw_api_route_match("/api/chain", "/api/chain", &pp));
    assert_int_equal(pp.n, 0);
    assert_true(gw_api_route_match("/api/chain", "/api/chain/", &pp));
    assert_false(gw_api_route_match("/api/chain", "/api/chain//", &pp));
    assert_false(gw_api_route_match("/api/chain", "/api/chains", &pp));
    assert_false(gw_api_route_match("/api/chain", "/api/chai", &pp));
    assert_true(
        gw_api_route_match("/api/sensors/{sensor_id}/readings", "/api/sensors/s-1/readings", &pp));
    assert_int_equal(pp.n, 1);
    assert_string_equal(pp.v[0], "s-1");
    assert_false(
        gw_api_route_match("/api/sensors/{sensor_id}/readings", "/api/sensors//readings", &pp));
    assert_false(
        gw_api_route_match("/api/sensors/{sensor_id}/readings", "/api/sensors/a/b/readings", &pp));
    assert_false(gw_api_route_match("/api/anomalies/{anomaly_id}", "/api/anomalies/", &pp));
    assert_true(gw_api_route_match("/a/{x}/b/{y}", "/a/1/b/22", &pp));
    assert_int_equal(pp.n, 2);
    assert_string_equal(pp.v[1], "22");
    char longp[400];
    snprintf(longp, sizeof longp, "/api/anomalies/%0300d", 7);
    assert_false(gw_api_route_match("/api/anomalies/{anomaly_id}", longp, &pp));
}

static void test_served(void **st)
{
    (void)st;
    gw_config cfg;
    memset(&cfg, 0, sizeof cfg);
    static gw g; /* large; zeroed: the route needs no broker or chain */
    g.cfg = &cfg;
    gw_request rq;
    memset(&rq, 0, sizeof rq);
    rq.method = GW_M_GET;
    rq.path = "/api/openapi.json";
    gw_response rs;
    memset(&rs, 0, sizeof rs);
    gw_api_handle(&g, &rq, &rs);
    assert_int_equal(rs.status, 200);
    assert_string_equal(rs.content_type, "application/json");
    json_t *doc = json_loadb(rs.body, rs.len, 0, NULL);
    assert_non_null(doc);
    assert_string_equal(json_string_value(json_object_get(json_object_get(doc, "info"), "version")),
                        version_string());
    assert_non_null(json_object_get(json_object_get(doc, "paths"), "/api/openapi.json"));
    json_decref(doc);
    gw_api_response_free(&rs);

    /* HEAD is answered as GET; another method on a known path is 405. */
    rq.method = GW_M_HEAD;
    memset(&rs, 0, sizeof rs);
    gw_api_handle(&g, &rq, &rs);
    assert_int_equal(rs.status, 200);
    gw_api_response_free(&rs);
    rq.method = GW_M_POST;
    memset(&rs, 0, sizeof rs);
    gw_api_handle(&g, &rq, &rs);
    assert_int_equal(rs.status, 405);
    gw_api_response_free(&rs);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_document),
        cmocka_unit_test(test_every_route_described),
        cmocka_unit_test(test_every_operation_routed),
        cmocka_unit_test(test_refs_resolve),
        cmocka_unit_test(test_route_match),
        cmocka_unit_test(test_served),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
