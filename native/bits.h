/* Bit tricks on 64-bit words, for the signature code (signature.c,
 * shingles.c). Internal. */
#ifndef KNOWHERE_BITS_H
#define KNOWHERE_BITS_H

#include <stdint.h>

/* The index of the lowest set bit of m != 0. */
static inline unsigned kh_ctz64(uint64_t m) {
#if defined(__GNUC__) || defined(__clang__)
    return (unsigned)__builtin_ctzll(m);
#else
    unsigned z = 0;
    while (!(m & 1)) m >>= 1, z++;
    return z;
#endif
}

/* The set bits of x. By hand: without -mpopcnt (the library is built for
 * any x86-64), __builtin_popcountll is a call into libgcc. */
static inline unsigned kh_popcount64(uint64_t x) {
    x = x - ((x >> 1) & UINT64_C(0x5555555555555555));
    x = (x & UINT64_C(0x3333333333333333)) + ((x >> 2) & UINT64_C(0x3333333333333333));
    x = (x + (x >> 4)) & UINT64_C(0x0F0F0F0F0F0F0F0F);
    return (unsigned)((x * UINT64_C(0x0101010101010101)) >> 56);
}

#endif
