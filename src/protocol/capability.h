/* Channel capabilities (bitprotocol.md §6.3):
 *   capability(key)       = BLAKE2b-256("hypercore capability" || tx || key, key = rx)
 *   remoteCapability(key) = BLAKE2b-256("hypercore capability" || rx || key, key = tx)
 * with tx/rx the local side's split keys. */
#ifndef CHAINSTORE_PROTOCOL_CAPABILITY_H
#define CHAINSTORE_PROTOCOL_CAPABILITY_H

#include <stdbool.h>
#include <stdint.h>

void proto_capability_compute(const uint8_t tx[32], const uint8_t rx[32], const uint8_t key[32],
                              bool remote, uint8_t out[32]);

#endif
