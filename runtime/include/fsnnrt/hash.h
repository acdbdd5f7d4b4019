/*===- hash.h - the one 64-bit mixer of fsnn ----------------------*- C -*-===//
 *
 * splitmix64 (Steele, Lea and Flood 2014): the zoo's initialisation stream,
 * the data order, the dropout masks and the compiled code's masks all mix
 * through these two functions, so that every platform and standard library
 * draws the same numbers.
 *
 *===----------------------------------------------------------------------===*/

#ifndef FSNNRT_HASH_H
#define FSNNRT_HASH_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The golden-ratio increment of splitmix64's state. */
#define FSNN_GOLDEN_GAMMA 0x9e3779b97f4a7c15ull

/* splitmix64's finaliser: a bijective avalanche of x. */
static inline uint64_t fsnn_mix64(uint64_t x) {
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
  return x ^ (x >> 31);
}

/* The splitmix64 output for state x (the state advanced once, mixed). */
static inline uint64_t fsnn_splitmix64(uint64_t x) {
  return fsnn_mix64(x + FSNN_GOLDEN_GAMMA);
}

#ifdef __cplusplus
}
#endif

#endif /* FSNNRT_HASH_H */
