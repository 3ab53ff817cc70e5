#include "discovery/dnspkt.h"

#include <string.h>

#include "chainstore/error.h"
#include "encoding/big_endian.h"

/* ---- reading ---- */

/* Decodes the name at *off into text; *off moves past the name's own bytes
 * (a pointer ends them). Same rules as dns-packet's name.decode, plus the
 * jump cap. */
static int read_name(const uint8_t *buf, size_t len, size_t *off, char out[DNSPKT_NAME_MAX],
                     size_t *out_len) {
  size_t pos = *off;
  size_t limit = *off; /* a pointer must go before this */
  size_t end = 0;      /* where the name's own bytes end, once known */
  bool jumped = false;
  unsigned jumps = 0;
  size_t total = 0; /* label bytes + one length byte each, as dns-packet counts */
  size_t n = 0;

  for (;;) {
    if (pos >= len)
      return CHAINSTORE_EBADMESSAGE;
    uint8_t l = buf[pos++];
    if (l == 0)
      break;
    if ((l & 0xc0) == 0) {
      if (l > len - pos)
        return CHAINSTORE_EBADMESSAGE;
      total += (size_t)l + 1;
      if (total > 254)
        return CHAINSTORE_EBADMESSAGE;
      if (n > 0)
        out[n++] = '.';
      memcpy(out + n, buf + pos, l);
      n += l;
      pos += l;
    } else if ((l & 0xc0) == 0xc0) {
      if (pos >= len)
        return CHAINSTORE_EBADMESSAGE;
      size_t target = ((size_t)(l & 0x3f) << 8) | buf[pos];
      if (target >= limit || ++jumps > DNSPKT_MAX_POINTER_JUMPS)
        return CHAINSTORE_EBADMESSAGE;
      if (!jumped)
        end = pos + 1;
      jumped = true;
      limit = target;
      pos = target;
    } else {
      return CHAINSTORE_EBADMESSAGE;
    }
  }
  /* total <= 254 bounds n at 253: the text and its NUL fit. */
  if (n == 0)
    out[n++] = '.';
  out[n] = '\0';
  *out_len = n;
  *off = jumped ? end : pos;
  return 0;
}

int dnspkt_reader_init(dnspkt_reader_t *r, const uint8_t *buf, size_t len) {
  memset(r, 0, sizeof *r);
  if (len < DNSPKT_HEADER_BYTES)
    return CHAINSTORE_EBADMESSAGE;
  r->buf = buf;
  r->len = len;
  r->header.id = big_endian_read16(buf);
  r->header.flags = big_endian_read16(buf + 2);
  for (int i = 0; i < 4; i++)
    r->header.count[i] = big_endian_read16(buf + 4 + 2 * i);
  r->off = DNSPKT_HEADER_BYTES;
  r->section = 0;
  r->left = r->header.count[0];
  return 0;
}

static int read_rdata(const dnspkt_reader_t *r, dnspkt_record_t *rec) {
  const uint8_t *p = rec->rdata;
  size_t n = rec->rdlen;
  switch (rec->type) {
  case DNSPKT_TYPE_A:
    if (n != 4)
      return CHAINSTORE_EBADMESSAGE;
    memcpy(rec->data.a, p, 4);
    return 0;
  case DNSPKT_TYPE_AAAA:
    if (n != 16)
      return CHAINSTORE_EBADMESSAGE;
    memcpy(rec->data.aaaa, p, 16);
    return 0;
  case DNSPKT_TYPE_SRV: {
    if (n < 7)
      return CHAINSTORE_EBADMESSAGE;
    rec->data.srv.priority = big_endian_read16(p);
    rec->data.srv.weight = big_endian_read16(p + 2);
    rec->data.srv.port = big_endian_read16(p + 4);
    size_t start = (size_t)(p - r->buf);
    size_t off = start + 6;
    /* The target's own bytes must stay inside the rdata; a pointer may
     * lead anywhere before it. */
    int err = read_name(r->buf, start + n, &off, rec->data.srv.target, &rec->data.srv.target_len);
    return err;
  }
  case DNSPKT_TYPE_TXT: {
    size_t pos = 0;
    rec->data.txt.strings = 0;
    rec->data.txt.first = NULL;
    rec->data.txt.first_len = 0;
    while (pos < n) {
      size_t l = p[pos++];
      if (l > n - pos)
        return CHAINSTORE_EBADMESSAGE;
      if (rec->data.txt.strings == 0) {
        rec->data.txt.first = p + pos;
        rec->data.txt.first_len = l;
      }
      rec->data.txt.strings++;
      pos += l;
    }
    return 0;
  }
  default:
    return 0;
  }
}

int dnspkt_reader_next(dnspkt_reader_t *r, dnspkt_record_t *rec) {
  if (r->buf == NULL)
    return CHAINSTORE_EBADMESSAGE;
  while (r->left == 0) {
    if (r->section == 3)
      return 0;
    r->section++;
    r->left = r->header.count[r->section];
  }
  size_t off = r->off;
  int err = read_name(r->buf, r->len, &off, rec->name, &rec->name_len);
  if (err != 0)
    goto bad;
  rec->section = (dnspkt_section_t)r->section;
  if (rec->section == DNSPKT_QUESTION) {
    if (r->len - off < 4)
      goto bad;
    rec->type = big_endian_read16(r->buf + off);
    rec->klass = big_endian_read16(r->buf + off + 2);
    rec->ttl = 0;
    rec->rdata = NULL;
    rec->rdlen = 0;
    memset(&rec->data, 0, sizeof rec->data);
    off += 4;
  } else {
    if (r->len - off < 10)
      goto bad;
    rec->type = big_endian_read16(r->buf + off);
    rec->klass = big_endian_read16(r->buf + off + 2);
    rec->ttl = big_endian_read32(r->buf + off + 4);
    rec->rdlen = big_endian_read16(r->buf + off + 8);
    off += 10;
    if (rec->rdlen > r->len - off)
      goto bad;
    rec->rdata = r->buf + off;
    if (read_rdata(r, rec) != 0)
      goto bad;
    off += rec->rdlen;
  }
  r->off = off;
  r->left--;
  return 1;
bad:
  r->buf = NULL; /* stays failed */
  return CHAINSTORE_EBADMESSAGE;
}

int dnspkt_validate(const uint8_t *buf, size_t len) {
  dnspkt_reader_t r;
  dnspkt_record_t rec;
  int rc = dnspkt_reader_init(&r, buf, len);
  while (rc == 0 && (rc = dnspkt_reader_next(&r, &rec)) == 1)
    rc = 0;
  return rc;
}

/* ---- writing ---- */

size_t dnspkt_name_wire_len(const char *name) {
  size_t n = strlen(name);
  const char *s = name;
  if (n > 0 && s[0] == '.') {
    s++;
    n--;
  }
  if (n > 0 && s[n - 1] == '.')
    n--;
  if (n == 0)
    return 1;
  size_t label = 0;
  for (size_t i = 0; i <= n; i++) {
    if (i == n || s[i] == '.') {
      if (label == 0 || label > 63)
        return 0;
      label = 0;
    } else {
      label++;
    }
  }
  /* A length byte per label replaces each dot, plus the first and the end. */
  size_t wire = n + 2;
  return wire > 255 ? 0 : wire;
}

static void write_name(uint8_t *out, const char *name) {
  size_t n = strlen(name);
  const char *s = name;
  if (n > 0 && s[0] == '.') {
    s++;
    n--;
  }
  if (n > 0 && s[n - 1] == '.')
    n--;
  size_t o = 0;
  size_t i = 0;
  while (i < n) {
    size_t j = i;
    while (j < n && s[j] != '.')
      j++;
    out[o++] = (uint8_t)(j - i);
    memcpy(out + o, s + i, j - i);
    o += j - i;
    i = j + 1;
  }
  out[o] = 0;
}

void dnspkt_writer_init(dnspkt_writer_t *w, uint8_t *buf, size_t cap, uint16_t id, uint16_t flags) {
  memset(w, 0, sizeof *w);
  w->buf = buf;
  w->cap = cap;
  if (cap < DNSPKT_HEADER_BYTES) {
    w->cap = 0;
    return;
  }
  memset(buf, 0, DNSPKT_HEADER_BYTES);
  big_endian_write16(buf, id);
  big_endian_write16(buf + 2, flags);
  w->len = DNSPKT_HEADER_BYTES;
}

/* Room for a record of `rdlen` rdata bytes (questions: -1) named `name`;
 * returns where it starts, with the name and fixed fields written. */
static int begin_record(dnspkt_writer_t *w, unsigned section, const char *name, uint16_t type,
                        uint16_t klass, uint32_t ttl, size_t rdlen, uint8_t **rdata) {
  if (w->cap == 0 || section < w->section || section > 3)
    return CHAINSTORE_EINVAL;
  size_t nl = dnspkt_name_wire_len(name);
  if (nl == 0)
    return CHAINSTORE_EINVAL;
  size_t need = nl + (section == DNSPKT_QUESTION ? 4 : 10 + rdlen);
  if (w->count[section] == UINT16_MAX || need > w->cap - w->len)
    return CHAINSTORE_ELIMIT;
  uint8_t *p = w->buf + w->len;
  write_name(p, name);
  p += nl;
  big_endian_write16(p, type);
  big_endian_write16(p + 2, klass);
  if (section != DNSPKT_QUESTION) {
    big_endian_write32(p + 4, ttl);
    big_endian_write16(p + 8, (uint16_t)rdlen);
    *rdata = p + 10;
  }
  w->len += need;
  w->section = section;
  w->count[section]++;
  big_endian_write16(w->buf + 4 + 2 * section, w->count[section]);
  return 0;
}

int dnspkt_write_question(dnspkt_writer_t *w, const char *name, uint16_t type, uint16_t klass) {
  return begin_record(w, DNSPKT_QUESTION, name, type, klass, 0, 0, NULL);
}

static bool answer_section(dnspkt_section_t s) { return s >= DNSPKT_ANSWER && s <= DNSPKT_ADDITIONAL; }

int dnspkt_write_srv(dnspkt_writer_t *w, dnspkt_section_t section, const char *name, uint16_t klass,
                     uint32_t ttl, uint16_t priority, uint16_t weight, uint16_t port, const char *target) {
  size_t tl = dnspkt_name_wire_len(target);
  if (tl == 0 || !answer_section(section))
    return CHAINSTORE_EINVAL;
  uint8_t *rd;
  int err = begin_record(w, section, name, DNSPKT_TYPE_SRV, klass, ttl, 6 + tl, &rd);
  if (err != 0)
    return err;
  big_endian_write16(rd, priority);
  big_endian_write16(rd + 2, weight);
  big_endian_write16(rd + 4, port);
  write_name(rd + 6, target);
  return 0;
}

int dnspkt_write_txt(dnspkt_writer_t *w, dnspkt_section_t section, const char *name, uint16_t klass,
                     uint32_t ttl, const uint8_t *str, size_t str_len) {
  if (str_len > 255 || !answer_section(section))
    return CHAINSTORE_EINVAL;
  uint8_t *rd;
  int err = begin_record(w, section, name, DNSPKT_TYPE_TXT, klass, ttl, 1 + str_len, &rd);
  if (err != 0)
    return err;
  rd[0] = (uint8_t)str_len;
  if (str_len > 0)
    memcpy(rd + 1, str, str_len);
  return 0;
}

int dnspkt_write_a(dnspkt_writer_t *w, dnspkt_section_t section, const char *name, uint16_t klass,
                   uint32_t ttl, const uint8_t ip[4]) {
  if (!answer_section(section))
    return CHAINSTORE_EINVAL;
  uint8_t *rd;
  int err = begin_record(w, section, name, DNSPKT_TYPE_A, klass, ttl, 4, &rd);
  if (err == 0)
    memcpy(rd, ip, 4);
  return err;
}

int dnspkt_write_aaaa(dnspkt_writer_t *w, dnspkt_section_t section, const char *name, uint16_t klass,
                      uint32_t ttl, const uint8_t ip[16]) {
  if (!answer_section(section))
    return CHAINSTORE_EINVAL;
  uint8_t *rd;
  int err = begin_record(w, section, name, DNSPKT_TYPE_AAAA, klass, ttl, 16, &rd);
  if (err == 0)
    memcpy(rd, ip, 16);
  return err;
}

size_t dnspkt_writer_len(const dnspkt_writer_t *w) { return w->len; }
