/*
 * crc32c — CRC-32C (Castagnoli, reflected polynomial 0x82F63B78), the
 * checksum of every durable record (store/journal, store/outbox).
 */
#ifndef BASE_CRC32C_H
#define BASE_CRC32C_H

#include <stddef.h>
#include <stdint.h>

/** CRC-32C of p[0..n) (initial value and final xor 0xffffffff; "123456789"
 *  gives 0xE3069283). Pure, allocates nothing; thread-safe (its table is
 *  built once, under pthread_once). */
uint32_t crc32c(const uint8_t *p, size_t n);

#endif
