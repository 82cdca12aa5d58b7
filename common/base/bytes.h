/*
 * bytes — fixed-width integers to and from byte arrays in a stated byte
 * order, independent of the host's. Big-endian is the network and
 * Ethereum order (ABI words, RLP, anomaly records, WebSocket frame
 * lengths); little-endian is the order of our own files (journal, saved
 * forests). Each function reads or writes exactly 2, 4 or 8 bytes at p;
 * p need not be aligned. All are static inline: no state, thread-safe,
 * never block.
 */
#ifndef COMMON_BYTES_H
#define COMMON_BYTES_H

#include <stdint.h>

/** Store v at p[0..1], most significant byte first. */
static inline void bytes_put_be16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}

/** Store v at p[0..7], most significant byte first. */
static inline void bytes_put_be64(uint8_t *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (uint8_t)(v >> (56 - 8 * i));
}

/** The big-endian 16-bit value at p[0..1]. */
static inline uint16_t bytes_get_be16(const uint8_t *p)
{
    return (uint16_t)((uint16_t)p[0] << 8 | p[1]);
}

/** The big-endian 64-bit value at p[0..7]. */
static inline uint64_t bytes_get_be64(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v = (v << 8) | p[i];
    return v;
}

/** Store v at p[0..1], least significant byte first. */
static inline void bytes_put_le16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
}

/** Store v at p[0..3], least significant byte first. */
static inline void bytes_put_le32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

/** Store v at p[0..7], least significant byte first. */
static inline void bytes_put_le64(uint8_t *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

/** The little-endian 16-bit value at p[0..1]. */
static inline uint16_t bytes_get_le16(const uint8_t *p)
{
    return (uint16_t)(p[0] | (uint16_t)p[1] << 8);
}

/** The little-endian 32-bit value at p[0..3]. */
static inline uint32_t bytes_get_le32(const uint8_t *p)
{
    uint32_t v = 0;
    for (int i = 0; i < 4; i++)
        v |= (uint32_t)p[i] << (8 * i);
    return v;
}

/** The little-endian 64-bit value at p[0..7]. */
static inline uint64_t bytes_get_le64(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v |= (uint64_t)p[i] << (8 * i);
    return v;
}

#endif
