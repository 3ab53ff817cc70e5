/* The frame decoder and everything behind it (message decoding, channels,
 * extensions), on a stream without encryption so that every input byte is a
 * frame byte. The stream has opened chain {1} (discovery key below) and
 * registered stream extensions; handlers answer some messages so that sends
 * and closes happen from inside callbacks. Byte 0 picks options, byte 1 the
 * read size. */
#include <stdint.h>
#include <string.h>

#include "chainstore/bitprotocol.h"

static bitprotocol_channel_t *fz_channel;

static int fz_send(bitprotocol_t *p, const uint8_t *b, size_t n, void *u) { return 0; }
static uint64_t fz_now(bitprotocol_t *p, void *u) { return 0; }

static void fz_dk(bitprotocol_t *p, const uint8_t dk[32], void *u);

static void fz_have(bitprotocol_channel_t *ch, const bitprotocol_msg_have_t *m, void *u) {
  bitprotocol_msg_want_t w = {m->start, true, m->length};
  bitprotocol_send_want(ch, &w);
}
static void fz_data(bitprotocol_channel_t *ch, const bitprotocol_msg_data_t *m, void *u) {
  if (m->index == 7)
    bitprotocol_channel_close(ch);
}
static void fz_request(bitprotocol_channel_t *ch, const bitprotocol_msg_request_t *m, void *u) {
  bitprotocol_msg_data_t d = {m->index, {(const uint8_t *)"v", 1}, NULL, 0, {NULL, 0}};
  bitprotocol_send_data(ch, &d);
  if (m->index == 9)
    bitprotocol_destroy(bitprotocol_channel_stream(ch), 0);
}
static void fz_close(bitprotocol_channel_t *ch, void *u) {
  if (ch == fz_channel)
    fz_channel = NULL;
}

static const bitprotocol_channel_handlers_t fz_handlers = {
    .on_have = fz_have, .on_data = fz_data, .on_request = fz_request, .on_close = fz_close};

static void fz_dk(bitprotocol_t *p, const uint8_t dk[32], void *u) {
  /* Open remote chains whose discovery key starts with 0x01, refuse 0x02. */
  uint8_t key[32] = {0};
  key[0] = dk[1];
  if (dk[0] == 1)
    bitprotocol_channel_open(p, dk, key, &fz_handlers, NULL, NULL);
  else if (dk[0] == 2)
    bitprotocol_channel_reject(p, dk);
}

static void fz_ext(bitprotocol_extension_t *ext, const uint8_t *m, size_t len, void *u) {
  if (len && m[0] == 'e')
    bitprotocol_extension_send(ext, m, len);
  if (len && m[0] == 'u')
    bitprotocol_extension_unregister(ext);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  bitprotocol_callbacks_t cb = {.send = fz_send, .now = fz_now, .on_discovery_key = fz_dk};
  bitprotocol_options_t o;
  bitprotocol_t *p;
  static const uint8_t key[32] = {1};
  if (size < 2)
    return 0;
  bitprotocol_options_init(&o);
  o.mode = BITPROTOCOL_MODE_PLAINTEXT;
  o.live = data[0] & 1;
  o.max_channels = (data[0] & 2) ? 4 : 0;
  o.max_extensions = (data[0] & 4) ? 2 : 0;
  o.max_frame_size = (data[0] & 8) ? 64 : 0;
  if (bitprotocol_init(&p, &cb, NULL, &o) != 0)
    return 0;
  bitprotocol_extension_register(p, "alpha", fz_ext, NULL, NULL);
  bitprotocol_extension_register(p, "beta", fz_ext, NULL, NULL);
  bitprotocol_extension_register(p, "alpha", fz_ext, NULL, NULL);
  fz_channel = NULL;
  bitprotocol_channel_open(p, NULL, key, &fz_handlers, NULL, &fz_channel);
  bitprotocol_start(p);
  size_t step = data[1] ? data[1] : size;
  data += 2;
  size -= 2;
  while (size > 0 && !bitprotocol_is_destroyed(p)) {
    size_t n = size < step ? size : step;
    bitprotocol_recv(p, data, n);
    data += n;
    size -= n;
  }
  if (!bitprotocol_is_destroyed(p) && (o.live))
    bitprotocol_close(p);
  bitprotocol_recv_eof(p);
  bitprotocol_free(p);
  return 0;
}
