/* The file format's section checksum (docs/format.md: XXH3-64 of the
 * little-endian XXH3-64s of 256 KiB chunks), written here apart from
 * native/serialize.c, so that tests can make files whose checksums are
 * right but whose contents are not. Include after native/xxh3.c. */
#ifndef KNOWHERE_TEST_FORMAT_CHECKSUM_H
#define KNOWHERE_TEST_FORMAT_CHECKSUM_H

#include <stdint.h>
#include <stdlib.h>

#include "check.h"

enum { CHUNK = 256 << 10 };

static void put64(uint8_t *p, uint64_t v) {
    for (int i = 0; i < 8; ++i) p[i] = (uint8_t)(v >> (8 * i));
}

static uint64_t chunked_checksum(const uint8_t *p, size_t len) {
    size_t chunks = (len + CHUNK - 1) / CHUNK;
    uint8_t *hashes = malloc(chunks * 8 + 1);
    REQUIRE(hashes != NULL);
    for (size_t c = 0; c < chunks; ++c) {
        size_t n = len - c * CHUNK < CHUNK ? len - c * CHUNK : CHUNK;
        put64(hashes + 8 * c, kh_xxh3_64(p + c * CHUNK, n));
    }
    uint64_t sum = kh_xxh3_64(hashes, chunks * 8);
    free(hashes);
    return sum;
}

#endif
