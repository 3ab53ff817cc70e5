/* Ephemeral key pairs made ahead of time, while a loop has nothing to do.
 *
 * Every BitProtocol handshake needs a fresh ephemeral X25519 key pair: a
 * fixed-base scalar multiplication, about a fifth of one side's handshake
 * crypto. A pool made on a loop makes them when the loop would otherwise
 * wait for I/O, and a stream given the pool (bitprotocol_uv_options_t)
 * takes one instead of making it, so its first Noise message leaves that
 * much sooner. A busy peer spends its idle moments, between bursts of
 * connections, on the next handshakes' keys.
 *
 * Refilling never delays work that is ready: a pair is made only in a loop
 * turn whose poll would find no event waiting (checked with a zero-timeout
 * poll of the loop's backend descriptor), one pair per turn. With the pool
 * empty a stream makes its own key, as without a pool.
 *
 * Each pair is fresh randomness, used by one stream only, and wiped from the
 * pool as it is taken; the pairs live in guarded, locked memory
 * (sodium_malloc) and are wiped when the pool closes. A child process made
 * by fork() never uses its parent's pairs: the pool empties itself in the
 * child before its first use there.
 *
 * Thread safety: a pool belongs to its loop's thread, as libuv handles do. */
#ifndef CHAINSTORE_BITPROTOCOL_KEYPOOL_H
#define CHAINSTORE_BITPROTOCOL_KEYPOOL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <uv.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct bitprotocol_keypool_s bitprotocol_keypool_t;

/* A key pair as the pool hands it out: secret key, then public key. */
#define BITPROTOCOL_KEYPAIR_BYTES 64
#define BITPROTOCOL_KEYPOOL_DEFAULT_SIZE 16
#define BITPROTOCOL_KEYPOOL_MAX_SIZE 1024

/* Starts a pool of `size` pairs on `loop` (0: the default size; more than
 * the maximum: CHAINSTORE_EINVAL). It fills up in the loop's idle turns and
 * does not keep the loop alive. CHAINSTORE_ENOMEM when the guarded memory
 * cannot be had (RLIMIT_MEMLOCK). */
int bitprotocol_keypool_init(bitprotocol_keypool_t **out, uv_loop_t *loop, size_t size);

/* Moves one pair out of the pool into keypair: true if there was one. The
 * caller uses it for one stream and wipes it (bitprotocol_uv_start does both). */
bool bitprotocol_keypool_take(bitprotocol_keypool_t *pool,
                              uint8_t keypair[BITPROTOCOL_KEYPAIR_BYTES]);

/* Pairs ready now. */
size_t bitprotocol_keypool_count(const bitprotocol_keypool_t *pool);

/* Wipes the pairs and closes the pool; its memory is released by the loop
 * (run it once more before uv_loop_close). Streams take their pair as they
 * start, so streams still running do not need the pool; no new stream may
 * be given it after this. NULL is ignored. */
void bitprotocol_keypool_close(bitprotocol_keypool_t *pool);

#ifdef __cplusplus
}
#endif
#endif
