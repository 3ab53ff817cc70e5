/* The `name` file of a name-derived chain: varint(len) || name
 * (derived-key-storage 2.1.0). It replaces the secret key on disk: the key
 * pair is re-derived from the name whenever the chain is opened. */
#ifndef CHAINSTORE_STORE_NAME_FILE_H
#define CHAINSTORE_STORE_NAME_FILE_H

#include <stddef.h>
#include <stdint.h>

/* Bytes of the encoded file for a name of name_len bytes. */
size_t store_name_file_size(size_t name_len);

/* Writes varint(name_len) || name into out (store_name_file_size bytes);
 * returns the number written. */
size_t store_name_file_encode(const void *name, size_t name_len, uint8_t *out);

/* Parses a whole `name` file as derived-key-storage reads it: at least 2
 * bytes, a varint length (any number of continuation bytes, as the JS varint
 * 5 decoder accepts) and exactly that many name bytes up to the end of the
 * file. On success *name points into buf. Anything else is "no name"
 * (CHAINSTORE_ENOENT): the JS then falls back to the secret key file. */
int store_name_file_decode(const uint8_t *buf, size_t len, const uint8_t **name,
                           size_t *name_len);

#endif
