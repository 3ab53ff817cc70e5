/* Values of the @hyperswarm/dht 4.0.1 commands (dht.md §11, §12):
 * PeersInput, PeersOutput and Mutable, encoded and decoded as the JS
 * protocol-buffers code does (see pb.h for the decoder's leniency). Decoded
 * byte fields point into the input. */
#ifndef DHT_VALUES_H
#define DHT_VALUES_H

#include "dht/pb.h"

typedef struct {
  bool has_port;
  uint64_t port; /* decoded default 0 */
  dht_bytes_t local_address;
  bool has_unannounce; /* encoder only: write the field */
  bool unannounce;
} dht_peers_input_t;

typedef struct {
  dht_bytes_t peers;
  dht_bytes_t local_peers;
} dht_peers_output_t;

typedef struct {
  dht_bytes_t value;
  dht_bytes_t signature;
  bool has_seq; /* encoder only; decoded default 0 */
  uint64_t seq;
  dht_bytes_t salt;
} dht_mutable_t;

int dht_peers_input_decode(dht_peers_input_t *v, const uint8_t *buf, size_t len);
size_t dht_peers_input_encoding_length(const dht_peers_input_t *v);
size_t dht_peers_input_encode(const dht_peers_input_t *v, uint8_t *out);

int dht_peers_output_decode(dht_peers_output_t *v, const uint8_t *buf, size_t len);
size_t dht_peers_output_encoding_length(const dht_peers_output_t *v);
size_t dht_peers_output_encode(const dht_peers_output_t *v, uint8_t *out);

int dht_mutable_decode(dht_mutable_t *v, const uint8_t *buf, size_t len);
size_t dht_mutable_encoding_length(const dht_mutable_t *v);
size_t dht_mutable_encode(const dht_mutable_t *v, uint8_t *out);

#endif
