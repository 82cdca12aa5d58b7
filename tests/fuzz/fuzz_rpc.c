/*
 * fuzz_rpc — JSON-RPC response handling in common/eth/rpc.c: the body
 * collector (growth, cap), the JSON-RPC envelope checks ("result" /
 * "error"), and the hex QUANTITY parsing of rpc_call_u64.
 *
 * rpc.c has no separate parse function, so instead of a network this
 * harness links its own curl_easy_init/setopt/perform/getinfo/cleanup: a
 * definition in the executable takes precedence over libcurl's for the
 * calls rpc.o makes, and the fake "perform" hands the fuzz input to
 * rpc.c's write callback exactly as libcurl would (in chunks), then
 * reports the HTTP status the input asks for. Everything after the
 * transfer is the real code. The nasty-input unit test (tests/unit/
 * test_nasty.c) exercises the same path through real libcurl and a real
 * loopback HTTP server.
 *
 * Input layout and checks: nasty_rpc() in nasty.h.
 */
#include <curl/curl.h>
#include <stdarg.h>

#include "nasty.h"

#undef curl_easy_setopt
#undef curl_easy_getinfo

typedef size_t (*write_fn)(char *, size_t, size_t, void *);

static struct {
    int dummy;
    write_fn write;
    void *write_data;
    const uint8_t *body;
    size_t len, chunk;
    long status;
} fake;

CURL *curl_easy_init(void)
{
    return (CURL *)&fake;
}

void curl_easy_cleanup(CURL *h)
{
    (void)h;
}

CURLcode curl_easy_setopt(CURL *h, CURLoption opt, ...)
{
    va_list ap;
    va_start(ap, opt);
    NASTY_CHECK(h == (CURL *)&fake);
    if (opt == CURLOPT_WRITEFUNCTION)
        fake.write = va_arg(ap, write_fn);
    else if (opt == CURLOPT_WRITEDATA)
        fake.write_data = va_arg(ap, void *);
    va_end(ap);
    return CURLE_OK;
}

CURLcode curl_easy_perform(CURL *h)
{
    NASTY_CHECK(h == (CURL *)&fake && fake.write);
    size_t off = 0;
    while (off < fake.len) {
        size_t n = fake.chunk && fake.chunk < fake.len - off ? fake.chunk : fake.len - off;
        /* libcurl's buffer is writable and not NUL-terminated; copy so ASan
         * sees an overread of exactly n bytes. */
        char *tmp = malloc(n);
        if (!tmp)
            abort();
        memcpy(tmp, fake.body + off, n);
        size_t w = fake.write(tmp, 1, n, fake.write_data);
        free(tmp);
        if (w != n)
            return CURLE_WRITE_ERROR;
        off += n;
    }
    return CURLE_OK;
}

CURLcode curl_easy_getinfo(CURL *h, CURLINFO info, ...)
{
    va_list ap;
    va_start(ap, info);
    NASTY_CHECK(h == (CURL *)&fake);
    if (info == CURLINFO_RESPONSE_CODE)
        *va_arg(ap, long *) = fake.status;
    va_end(ap);
    return CURLE_OK;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static rpc_client *c;

    if (size < 2)
        return 0;
    if (!c && rpc_client_create(&c, "http://127.0.0.1:1/", 1000) != 0)
        abort();
    fake.status = (data[0] & 2) ? 500 : 200;
    fake.chunk = data[1];
    fake.body = data + 2;
    fake.len = size - 2;
    nasty_rpc(c, data, size);
    return 0;
}
