/* DNS packet codec: every packet of vectors/mdns decodes to what dns-packet
 * 5.6.1 decoded, and re-encodes from those fields byte for byte; compressed
 * names from other mDNS stacks are read; hostile names, lengths and counts
 * are refused without reading out of bounds. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "chainstore/error.h"
#include "discovery/dnspkt.h"
#include "test_support.h"

static uint16_t type_code(const char *t) {
  if (strcmp(t, "SRV") == 0)
    return DNSPKT_TYPE_SRV;
  if (strcmp(t, "TXT") == 0)
    return DNSPKT_TYPE_TXT;
  if (strcmp(t, "A") == 0)
    return DNSPKT_TYPE_A;
  if (strcmp(t, "AAAA") == 0)
    return DNSPKT_TYPE_AAAA;
  fail_msg("unexpected record type %s", t);
  return 0;
}

/* Checks one decoded record against dns-packet's JSON and writes it again. */
static void check_and_rewrite(const dnspkt_record_t *rec, const cJSON *want, dnspkt_writer_t *w) {
  assert_string_equal(rec->name, tv_str(want, "name"));
  assert_int_equal(rec->name_len, strlen(rec->name));
  assert_int_equal(rec->type, type_code(tv_str(want, "type")));
  assert_string_equal("IN", tv_str(want, "class"));
  assert_int_equal(rec->klass & 0x7fff, DNSPKT_CLASS_IN);
  if (rec->section == DNSPKT_QUESTION) {
    assert_int_equal(dnspkt_write_question(w, rec->name, rec->type, rec->klass), 0);
    return;
  }
  assert_int_equal(rec->ttl, (uint32_t)tv_num(want, "ttl"));
  const cJSON *flush = tv_get(want, "flush");
  assert_int_equal(cJSON_IsTrue(flush), (rec->klass & 0x8000) != 0);
  const cJSON *data = tv_get(want, "data");
  switch (rec->type) {
  case DNSPKT_TYPE_SRV:
    assert_int_equal(rec->data.srv.priority, (int)tv_num(data, "priority"));
    assert_int_equal(rec->data.srv.weight, (int)tv_num(data, "weight"));
    assert_int_equal(rec->data.srv.port, (int)tv_num(data, "port"));
    assert_string_equal(rec->data.srv.target, tv_str(data, "target"));
    assert_int_equal(dnspkt_write_srv(w, rec->section, rec->name, rec->klass, rec->ttl, rec->data.srv.priority,
                                      rec->data.srv.weight, rec->data.srv.port, rec->data.srv.target),
                     0);
    break;
  case DNSPKT_TYPE_TXT: {
    assert_int_equal(rec->data.txt.strings, cJSON_GetArraySize(data));
    assert_int_equal(rec->data.txt.strings, 1);
    const char *s = cJSON_GetArrayItem(data, 0)->valuestring;
    assert_memory_equal(s, "hex:", 4);
    size_t n;
    uint8_t *bytes = tv_hex(s + 4, &n);
    assert_int_equal(rec->data.txt.first_len, n);
    assert_bytes_equal(rec->data.txt.first, bytes, n);
    free(bytes);
    assert_int_equal(dnspkt_write_txt(w, rec->section, rec->name, rec->klass, rec->ttl, rec->data.txt.first,
                                      rec->data.txt.first_len),
                     0);
    break;
  }
  case DNSPKT_TYPE_A: {
    char text[16];
    snprintf(text, sizeof text, "%u.%u.%u.%u", rec->data.a[0], rec->data.a[1], rec->data.a[2], rec->data.a[3]);
    assert_string_equal(text, data->valuestring);
    assert_int_equal(dnspkt_write_a(w, rec->section, rec->name, rec->klass, rec->ttl, rec->data.a), 0);
    break;
  }
  default:
    fail_msg("unexpected type %u", rec->type);
  }
}

static const char *SECTIONS[] = {"questions", "answers", "authorities", "additionals"};

static void check_packet(const char *hex, const cJSON *decoded) {
  size_t len;
  uint8_t *pkt = tv_hex(hex, &len);
  assert_int_equal(dnspkt_validate(pkt, len), 0);
  dnspkt_reader_t r;
  assert_int_equal(dnspkt_reader_init(&r, pkt, len), 0);
  if (decoded != NULL) {
    assert_int_equal(r.header.id, (int)tv_num(decoded, "id"));
    bool response = strcmp(tv_str(decoded, "type"), "response") == 0;
    assert_int_equal((r.header.flags & DNSPKT_FLAG_QR) != 0, response);
    assert_int_equal(r.header.flags & 0x7fff, (int)tv_num(decoded, "flags"));
    for (int s = 0; s < 4; s++)
      assert_int_equal(r.header.count[s], cJSON_GetArraySize(tv_get(decoded, SECTIONS[s])));
  }
  uint8_t out[1024];
  dnspkt_writer_t w;
  dnspkt_writer_init(&w, out, sizeof out, r.header.id, r.header.flags);
  int index[4] = {0};
  dnspkt_record_t rec;
  int rc;
  while ((rc = dnspkt_reader_next(&r, &rec)) == 1) {
    if (decoded != NULL) {
      const cJSON *want = cJSON_GetArrayItem(tv_get(decoded, SECTIONS[rec.section]), index[rec.section]++);
      assert_non_null(want);
      check_and_rewrite(&rec, want, &w);
    } else {
      assert_int_equal(rec.section, DNSPKT_QUESTION);
      assert_int_equal(dnspkt_write_question(&w, rec.name, rec.type, rec.klass), 0);
    }
  }
  assert_int_equal(rc, 0);
  assert_int_equal(dnspkt_writer_len(&w), len);
  assert_bytes_equal(out, pkt, len);
  free(pkt);
}

static void every_vector_packet_decodes_and_reencodes_byte_for_byte(void **state) {
  cJSON *v = tv_load("mdns/mdns.json");
  check_packet(tv_str(v, "srvQueryHex"), NULL);
  int packets = 0;
  const char *profiles[] = {"upstream", "fork"};
  for (int p = 0; p < 2; p++) {
    const cJSON *prof = tv_get(v, profiles[p]);
    const cJSON *step;
    cJSON_ArrayForEach(step, tv_get(prof, "steps")) {
      const cJSON *pk;
      cJSON_ArrayForEach(pk, tv_get(step, "packets")) {
        check_packet(tv_str(pk, "hex"), tv_get(pk, "decoded"));
        packets++;
      }
    }
  }
  assert_int_equal(packets, 6);
  cJSON_Delete(v);
}

/* A packet from bytes written out by hand. */
typedef struct {
  uint8_t b[600];
  size_t n;
} raw_t;

static void put(raw_t *r, const void *p, size_t n) {
  memcpy(r->b + r->n, p, n);
  r->n += n;
}
static void put16(raw_t *r, uint16_t v) {
  uint8_t b[2] = {(uint8_t)(v >> 8), (uint8_t)v};
  put(r, b, 2);
}
static void header(raw_t *r, uint16_t flags, uint16_t qd, uint16_t an) {
  r->n = 0;
  put16(r, 0);
  put16(r, flags);
  put16(r, qd);
  put16(r, an);
  put16(r, 0);
  put16(r, 0);
}

static void compressed_names_are_followed(void **state) {
  raw_t r;
  header(&r, 0x8400, 0, 2);
  /* SRV "abc.example.local", target pointing into the owner name; TXT
   * owner as one pointer to the first name. */
  size_t name_at = r.n;
  put(&r, "\003abc\007example\005local\000", 19);
  put16(&r, DNSPKT_TYPE_SRV);
  put16(&r, 0x8001); /* flush bit + IN */
  put(&r, "\0\0\0\x78", 4);
  put16(&r, 6 + 2);
  put(&r, "\0\0\0\0\x12\x34", 6);
  put16(&r, (uint16_t)(0xc000 | (name_at + 4))); /* "example.local" */
  put16(&r, (uint16_t)(0xc000 | name_at));
  put16(&r, DNSPKT_TYPE_TXT);
  put16(&r, 1);
  put(&r, "\0\0\0\0", 4);
  put16(&r, 4);
  put(&r, "\003id=", 4);
  assert_int_equal(dnspkt_validate(r.b, r.n), 0);

  dnspkt_reader_t rd;
  dnspkt_record_t rec;
  dnspkt_reader_init(&rd, r.b, r.n);
  assert_int_equal(dnspkt_reader_next(&rd, &rec), 1);
  assert_string_equal(rec.name, "abc.example.local");
  assert_int_equal(rec.klass, 0x8001);
  assert_int_equal(rec.ttl, 0x78);
  assert_int_equal(rec.data.srv.port, 0x1234);
  assert_string_equal(rec.data.srv.target, "example.local");
  assert_int_equal(dnspkt_reader_next(&rd, &rec), 1);
  assert_string_equal(rec.name, "abc.example.local");
  assert_int_equal(rec.data.txt.strings, 1);
  assert_int_equal(rec.data.txt.first_len, 3);
  assert_int_equal(dnspkt_reader_next(&rd, &rec), 0);
  assert_int_equal(dnspkt_reader_next(&rd, &rec), 0);
}

static int one_question(const uint8_t *name, size_t name_len) {
  raw_t r;
  header(&r, 0, 1, 0);
  put(&r, name, name_len);
  put16(&r, DNSPKT_TYPE_SRV);
  put16(&r, 1);
  return dnspkt_validate(r.b, r.n);
}

static void hostile_names_are_refused(void **state) {
  /* A pointer to itself, forward, and into a loop. */
  assert_int_equal(one_question((const uint8_t *)"\xc0\x0c", 2), CHAINSTORE_EBADMESSAGE);
  assert_int_equal(one_question((const uint8_t *)"\xc0\x20", 2), CHAINSTORE_EBADMESSAGE);
  assert_int_equal(one_question((const uint8_t *)"\001a\xc0\x0c", 4), CHAINSTORE_EBADMESSAGE);
  /* Reserved label types 0x40 / 0x80. */
  assert_int_equal(one_question((const uint8_t *)"\x41" "a", 2), CHAINSTORE_EBADMESSAGE);
  assert_int_equal(one_question((const uint8_t *)"\x81" "a", 2), CHAINSTORE_EBADMESSAGE);
  /* A label past the end, a name without its end. */
  assert_int_equal(one_question((const uint8_t *)"\x3f" "abc", 4), CHAINSTORE_EBADMESSAGE);
  raw_t r;
  header(&r, 0, 1, 0);
  put(&r, "\003abc", 4);
  assert_int_equal(dnspkt_validate(r.b, r.n), CHAINSTORE_EBADMESSAGE);
  /* Longer than 254 bytes: five 63-byte labels. */
  uint8_t big[5 * 64 + 1];
  for (int i = 0; i < 5; i++) {
    big[i * 64] = 63;
    memset(big + i * 64 + 1, 'x', 63);
  }
  big[5 * 64] = 0;
  assert_int_equal(one_question(big, sizeof big), CHAINSTORE_EBADMESSAGE);
  /* The root name is ".". */
  dnspkt_reader_t rd;
  dnspkt_record_t rec;
  header(&r, 0, 1, 0);
  put(&r, "\0\0\x21\0\x01", 5);
  dnspkt_reader_init(&rd, r.b, r.n);
  assert_int_equal(dnspkt_reader_next(&rd, &rec), 1);
  assert_string_equal(rec.name, ".");
}

static void pointer_chains_are_capped(void **state) {
  /* Each name after the first is one pointer to the one before it: legal
   * (always backwards) but a chain as long as the packet. */
  raw_t r;
  header(&r, 0, 0, 0);
  put(&r, "\001a\000", 3);
  size_t prev = DNSPKT_HEADER_BYTES;
  for (int i = 0; i < 100; i++) {
    size_t here = r.n;
    put16(&r, (uint16_t)(0xc000 | prev));
    prev = here;
  }
  /* A question whose name starts the chain at its end. */
  size_t qname = prev;
  raw_t q;
  header(&q, 0, 1, 0);
  memcpy(q.b + q.n, r.b + DNSPKT_HEADER_BYTES, r.n - DNSPKT_HEADER_BYTES);
  q.n = r.n;
  /* The question's own name is one pointer to the last link. */
  put16(&q, (uint16_t)(0xc000 | qname));
  put16(&q, DNSPKT_TYPE_SRV);
  put16(&q, 1);
  /* The chain is no record: the reader starts at the question. */
  dnspkt_reader_t rd;
  dnspkt_record_t rec;
  dnspkt_reader_init(&rd, q.b, q.n);
  rd.off = r.n;
  assert_int_equal(dnspkt_reader_next(&rd, &rec), CHAINSTORE_EBADMESSAGE);
  /* Within the cap it reads: a pointer to link 62 makes 64 jumps. */
  q.n = r.n;
  size_t link = DNSPKT_HEADER_BYTES + 3 + 2 * (DNSPKT_MAX_POINTER_JUMPS - 2);
  put16(&q, (uint16_t)(0xc000 | link));
  put16(&q, DNSPKT_TYPE_SRV);
  put16(&q, 1);
  dnspkt_reader_init(&rd, q.b, q.n);
  rd.off = r.n;
  assert_int_equal(dnspkt_reader_next(&rd, &rec), 1);
  assert_string_equal(rec.name, "a");
}

static void bad_lengths_and_counts_are_refused(void **state) {
  raw_t r;
  /* Header only but counts say more. */
  header(&r, 0x8400, 0, 5);
  assert_int_equal(dnspkt_validate(r.b, r.n), CHAINSTORE_EBADMESSAGE);
  header(&r, 0xffff, 0xffff, 0xffff);
  assert_int_equal(dnspkt_validate(r.b, r.n), CHAINSTORE_EBADMESSAGE);
  /* Shorter than a header. */
  assert_int_equal(dnspkt_validate(r.b, 11), CHAINSTORE_EBADMESSAGE);
  /* A with 5 bytes, AAAA with 4, SRV of 6, TXT string past its rdata,
   * rdlength past the packet. */
  struct {
    uint16_t type;
    uint16_t rdlen;
    const char *rdata;
    size_t n;
  } bad[] = {
      {DNSPKT_TYPE_A, 5, "\1\2\3\4\5", 5},
      {DNSPKT_TYPE_AAAA, 4, "\1\2\3\4", 4},
      {DNSPKT_TYPE_SRV, 6, "\0\0\0\0\0\1", 6},
      {DNSPKT_TYPE_SRV, 8, "\0\0\0\0\0\1\003a", 8}, /* target runs past rdata */
      {DNSPKT_TYPE_TXT, 3, "\005ab", 3},
      {99, 40, "xx", 2},
  };
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    header(&r, 0x8400, 0, 1);
    put(&r, "\001a\000", 3);
    put16(&r, bad[i].type);
    put16(&r, 1);
    put(&r, "\0\0\0\0", 4);
    put16(&r, bad[i].rdlen);
    put(&r, bad[i].rdata, bad[i].n);
    assert_int_equal(dnspkt_validate(r.b, r.n), CHAINSTORE_EBADMESSAGE);
  }
  /* Unknown types are skipped by their length; trailing bytes ignored. */
  header(&r, 0x8400, 0, 1);
  put(&r, "\001a\000", 3);
  put16(&r, 99);
  put16(&r, 1);
  put(&r, "\0\0\0\0", 4);
  put16(&r, 2);
  put(&r, "xyjunk", 6);
  assert_int_equal(dnspkt_validate(r.b, r.n), 0);
}

static void writer_refuses_bad_names_order_and_overflow(void **state) {
  uint8_t buf[64];
  dnspkt_writer_t w;
  dnspkt_writer_init(&w, buf, sizeof buf, 0, 0);
  assert_int_equal(dnspkt_write_question(&w, "a..b", 33, 1), CHAINSTORE_EINVAL);
  char label[70];
  memset(label, 'x', 64);
  label[64] = 0;
  assert_int_equal(dnspkt_write_question(&w, label, 33, 1), CHAINSTORE_EINVAL);
  uint8_t ip[4] = {1, 2, 3, 4};
  assert_int_equal(dnspkt_write_a(&w, DNSPKT_ANSWER, ".a.", 1, 0, ip), 0);
  assert_int_equal(dnspkt_write_question(&w, "a", 33, 1), CHAINSTORE_EINVAL);
  size_t before = dnspkt_writer_len(&w);
  uint8_t s[40] = {0};
  assert_int_equal(dnspkt_write_txt(&w, DNSPKT_ANSWER, "abc", 1, 0, s, sizeof s), CHAINSTORE_ELIMIT);
  assert_int_equal(dnspkt_writer_len(&w), before);
  assert_int_equal(dnspkt_validate(buf, dnspkt_writer_len(&w)), 0);
  assert_int_equal(dnspkt_name_wire_len("."), 1);
  assert_int_equal(dnspkt_name_wire_len(""), 1);
  assert_int_equal(dnspkt_name_wire_len("0.0.0.0"), 9);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(every_vector_packet_decodes_and_reencodes_byte_for_byte),
      cmocka_unit_test(compressed_names_are_followed),
      cmocka_unit_test(hostile_names_are_refused),
      cmocka_unit_test(pointer_chains_are_capped),
      cmocka_unit_test(bad_lengths_and_counts_are_refused),
      cmocka_unit_test(writer_refuses_bad_names_order_and_overflow),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
