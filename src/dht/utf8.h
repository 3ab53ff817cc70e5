/* What a JS round trip through a string does to bytes: invalid UTF-8 becomes
 * U+FFFD (WHATWG decoder, maximal subparts), as when a node re-encodes a
 * decoded message it relays (dht.md §10). */
#ifndef DHT_UTF8_H
#define DHT_UTF8_H

#include <stddef.h>
#include <stdint.h>

/* Writes the sanitized bytes to out (room for 3 * len bytes); returns the
 * output length. */
size_t dht_utf8_sanitize(const uint8_t *in, size_t len, uint8_t *out);

#endif
