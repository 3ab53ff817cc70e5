/* Frame reader; see frame_reader.h. Mirrors simple-message-channels 1.2.1. */
#include "protocol/frame_reader.h"

#include <stdbool.h>
#include <string.h>

#include "chainstore/error.h"
#include "encoding/varint.h"

/* Body buffers above this are released after their frame. */
#define KEEP_BODY_BUFFER (256 * 1024)

void proto_frame_reader_init(proto_frame_reader_t *r, size_t max_body) {
  memset(r, 0, sizeof *r);
  r->max_body = max_body;
}

void proto_frame_reader_free(proto_frame_reader_t *r) { proto_buf_free(&r->body); }

static void take(const proto_frame_sink_t *sink, uint8_t *out, const uint8_t *in, size_t len) {
  if (sink->transform)
    sink->transform(sink->ctx, out, in, len);
  else
    memcpy(out, in, len);
}

static int deliver(proto_frame_reader_t *r, const proto_frame_sink_t *sink) {
  int rc = sink->on_frame(sink->ctx, r->header, r->body.base, r->body_len);
  r->state = 0;
  r->body.len = 0;
  proto_buf_trim(&r->body, KEEP_BODY_BUFFER);
  return rc;
}

int proto_frame_reader_feed(proto_frame_reader_t *r, const uint8_t *in, size_t len,
                            const proto_frame_sink_t *sink) {
  size_t i = 0;
  while (i < len) {
    if (r->state == 2) {
      size_t want = r->body_len - r->body.len;
      size_t n = len - i < want ? len - i : want;
      int rc = proto_buf_reserve(&r->body, n);
      if (rc != 0)
        return rc;
      take(sink, r->body.base + r->body.len, in + i, n);
      r->body.len += n;
      i += n;
      if (r->body.len == r->body_len && (rc = deliver(r, sink)) != 0)
        return rc;
      continue;
    }

    uint8_t b;
    take(sink, &b, in + i, 1);
    i++;
    if (r->varint_bytes >= PROTO_FRAME_VARINT_MAX)
      return CHAINSTORE_EBADMESSAGE;
    r->varint[r->varint_bytes++] = b;
    if (b & 0x80)
      continue;

    uint64_t value = 0;
    bool overflow; /* cannot be in PROTO_FRAME_VARINT_MAX bytes */
    unsigned used = r->varint_bytes;
    (void)varint_read(r->varint, used, &value, &overflow);
    r->varint_bytes = 0;
    if (r->state == 0) {
      if (value == 0) {
        if (sink->on_keepalive)
          sink->on_keepalive(sink->ctx);
        continue;
      }
      r->length = value;
      r->state = 1;
      continue;
    }
    /* Header read: the body is what remains of L. */
    r->header = value;
    if (r->length < used || r->length - used > r->max_body)
      return CHAINSTORE_EFRAMESIZE;
    r->body_len = (size_t)(r->length - used);
    r->body.len = 0;
    r->state = 2;
    if (r->body_len == 0) {
      int rc = deliver(r, sink);
      if (rc != 0)
        return rc;
    }
  }
  return 0;
}
