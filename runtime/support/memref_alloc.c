/*===- memref_alloc.c - the heap of compiled CPU models -------------------===//
 *
 * The allocation functions of MLIR's generic memref lowering
 * (finalize-memref-to-llvm{use-generic-functions}), linked into every CPU
 * model by fsnn-compile. A call of a compiled model allocates and frees the
 * same buffers, in the same sizes, every time (and every step of its time
 * loop does): served by malloc, the large ones came from fresh mmap'd pages
 * on each call, and their page faults cost more than the arithmetic (146k
 * minor faults per 30 F400 training steps). Here a freed buffer is kept in
 * a list for its size and handed out again, so that after the first call a
 * model allocates nothing from the system and touches no new pages.
 *
 * Shared by every thread that runs the model (the runtime starts its
 * workers per call), under one mutex; at most kMaxCachedBytes are kept,
 * beyond that a freed buffer goes back to the C library. Everything kept
 * is freed when the library is unloaded. C with hidden symbols: the model
 * exports only its ABI.
 *
 *===----------------------------------------------------------------------===*/

#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>

#define FSNN_HIDDEN __attribute__((visibility("hidden")))

/* Every block starts with this header, padded to the alignment the
 * lowering asks for at most (64 bytes: one-shot-bufferize's
 * buffer-alignment), so the payload is 64-byte aligned. */
enum { kHeaderBytes = 64, kSizeClasses = 512 };
static const uint64_t kMaxCachedBytes = (uint64_t)1 << 31;

typedef struct Block {
  struct Block *next;
  uint64_t size; /* payload bytes, a multiple of kHeaderBytes */
} Block;

typedef struct SizeClass {
  uint64_t size; /* 0: unused slot */
  Block *free;
} SizeClass;

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static SizeClass classes[kSizeClasses];
static uint64_t cachedBytes;
static uint64_t systemAllocations;

/* The slot of `size` (open addressing), or null when the table is full. */
static SizeClass *classOf(uint64_t size) {
  uint64_t hash = (size / kHeaderBytes) * 0x9e3779b97f4a7c15ull;
  for (unsigned probe = 0; probe < kSizeClasses; ++probe) {
    SizeClass *slot = &classes[(hash + probe) % kSizeClasses];
    if (slot->size == size || slot->size == 0) {
      slot->size = size;
      return slot;
    }
  }
  return 0;
}

static void *payloadOf(Block *block) { return (char *)block + kHeaderBytes; }

FSNN_HIDDEN void *_mlir_memref_to_llvm_alloc(uint64_t bytes) {
  /* At least one unit: a zero-byte buffer would share the size 0 that marks
   * an unused slot of the table. */
  uint64_t size = (bytes + kHeaderBytes - 1) / kHeaderBytes * kHeaderBytes;
  if (size < bytes)
    return 0;
  if (size == 0)
    size = kHeaderBytes;
  pthread_mutex_lock(&lock);
  SizeClass *slot = classOf(size);
  Block *block = slot ? slot->free : 0;
  if (block) {
    slot->free = block->next;
    cachedBytes -= size;
  }
  pthread_mutex_unlock(&lock);
  if (block)
    return payloadOf(block);
  void *memory = 0;
  if (size > UINT64_MAX - kHeaderBytes ||
      posix_memalign(&memory, kHeaderBytes, kHeaderBytes + size) != 0)
    return 0;
  __atomic_add_fetch(&systemAllocations, 1, __ATOMIC_RELAXED);
  block = (Block *)memory;
  block->size = size;
  return payloadOf(block);
}

FSNN_HIDDEN void *_mlir_memref_to_llvm_aligned_alloc(uint64_t alignment,
                                                     uint64_t bytes) {
  /* Every payload is 64-byte aligned; the lowering asks for no more. */
  if (alignment > kHeaderBytes)
    return 0;
  return _mlir_memref_to_llvm_alloc(bytes);
}

FSNN_HIDDEN void _mlir_memref_to_llvm_free(void *payload) {
  if (!payload)
    return;
  Block *block = (Block *)((char *)payload - kHeaderBytes);
  pthread_mutex_lock(&lock);
  SizeClass *slot =
      cachedBytes + block->size <= kMaxCachedBytes ? classOf(block->size) : 0;
  if (slot) {
    block->next = slot->free;
    slot->free = block;
    cachedBytes += block->size;
  }
  pthread_mutex_unlock(&lock);
  if (!slot)
    free(block);
}

/* How many blocks came from the C library since the model was loaded: flat
 * across calls once the cache is warm (test/unit/compiler). */
FSNN_HIDDEN uint64_t fsnn_model_support_system_allocations(void) {
  return __atomic_load_n(&systemAllocations, __ATOMIC_RELAXED);
}

__attribute__((destructor)) static void releaseCache(void) {
  for (unsigned i = 0; i < kSizeClasses; ++i) {
    Block *block = classes[i].free;
    while (block) {
      Block *next = block->next;
      free(block);
      block = next;
    }
    classes[i].free = 0;
  }
  cachedBytes = 0;
}
