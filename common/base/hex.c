/* hex — see hex.h. */
#include "base/hex.h"

#include <string.h>

static const char digits[] = "0123456789abcdef";

size_t hex_encode(char *out, const uint8_t *in, size_t len, int prefix_0x)
{
    size_t o = 0;
    if (prefix_0x) {
        out[o++] = '0';
        out[o++] = 'x';
    }
    for (size_t i = 0; i < len; i++) {
        out[o++] = digits[in[i] >> 4];
        out[o++] = digits[in[i] & 15];
    }
    out[o] = '\0';
    return o;
}

static int nibble(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

long hex_decode(uint8_t *out, size_t cap, const char *in)
{
    if (!in)
        return -1;
    if (in[0] == '0' && (in[1] == 'x' || in[1] == 'X'))
        in += 2;
    size_t n = strlen(in);
    if (n % 2 || n / 2 > cap)
        return -1;
    for (size_t i = 0; i < n / 2; i++) {
        int hi = nibble(in[2 * i]), lo = nibble(in[2 * i + 1]);
        if (hi < 0 || lo < 0)
            return -1;
        out[i] = (uint8_t)(hi << 4 | lo);
    }
    return (long)(n / 2);
}

int hex_to_u64(const char *in, uint64_t *out)
{
    if (!in || in[0] != '0' || (in[1] != 'x' && in[1] != 'X') || in[2] == '\0')
        return -1;
    uint64_t v = 0;
    for (const char *p = in + 2; *p; p++) {
        int d = nibble(*p);
        if (d < 0 || v >> 60)
            return -1;
        v = v << 4 | (uint64_t)d;
    }
    *out = v;
    return 0;
}
