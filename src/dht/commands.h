/* The @hyperswarm/dht 4.0.1 commands on the answering side (`peers`,
 * `immutable-store`, `mutable-store`) and the helpers the querying side
 * shares with them. */
#ifndef DHT_COMMANDS_H
#define DHT_COMMANDS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dht/pb.h"

#define DHT_MUTABLE_SIGNABLE_MAX (6 + 4 + 64 + 6 + 20 + 1 + 3 + 5 + 1000)

/* The message a mutable record's signature covers (hypersign):
 * [4:salt<len>:<salt>]3:seqi<seq>e1:v<len>:<value>. Returns its length.
 * value_len <= 1000 and salt_len <= 64 (callers check). */
size_t dht_mutable_signable(const uint8_t *value, size_t value_len, bool has_salt, const uint8_t *salt,
                            size_t salt_len, uint64_t seq, uint8_t *out);

#endif
