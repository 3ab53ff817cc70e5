/* DNS packet codec: the subset multicast DNS discovery uses (spec
 * discovery.md §3), written the way dns-packet 5.6.1 writes it and read the
 * way it reads it.
 *
 * Writing: names are never compressed (dns-packet 5 writes every name in
 * full), so a packet we build is byte for byte what the JS sends.
 *
 * Reading: a reader walks the records of one packet without allocating.
 * Names come out as dns-packet's text form (labels joined with '.', the root
 * as "."), which is what the JS compares topic names against. Compressed
 * names are followed, as dns-packet does, only backwards: each pointer must
 * go before the place the previous one led to (or the name's start), so a
 * loop is impossible; besides that at most DNSPKT_MAX_POINTER_JUMPS pointers
 * per name, so a chain of pointers cannot make one name cost more than a
 * few hundred steps. A record whose fixed layout does not fit its rdlength
 * (A not 4 bytes, AAAA not 16, SRV shorter than its target, TXT strings past
 * the rdata) makes the whole packet malformed, as a throw in dns-packet
 * drops the whole packet. Record types the discovery does not use are
 * skipped by their rdlength without looking inside. */
#ifndef DISCOVERY_DNSPKT_H
#define DISCOVERY_DNSPKT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define DNSPKT_HEADER_BYTES 12
/* Text form of a name: at most 253 characters (dns-packet's 254-byte
 * limit on labels + length bytes, minus the last dot) and a NUL. */
#define DNSPKT_NAME_MAX 254
#define DNSPKT_MAX_POINTER_JUMPS 64

#define DNSPKT_FLAG_QR 0x8000u
#define DNSPKT_FLAG_AA 0x0400u

#define DNSPKT_TYPE_A 1
#define DNSPKT_TYPE_TXT 16
#define DNSPKT_TYPE_AAAA 28
#define DNSPKT_TYPE_SRV 33
#define DNSPKT_CLASS_IN 1

typedef enum {
  DNSPKT_QUESTION = 0,
  DNSPKT_ANSWER = 1,
  DNSPKT_AUTHORITY = 2,
  DNSPKT_ADDITIONAL = 3
} dnspkt_section_t;

typedef struct {
  uint16_t id;
  uint16_t flags; /* the whole flags word, QR included */
  uint16_t count[4];
} dnspkt_header_t;

typedef struct {
  dnspkt_section_t section;
  char name[DNSPKT_NAME_MAX];
  size_t name_len;
  uint16_t type;
  uint16_t klass; /* as on the wire: the mDNS flush / unicast bit included */
  uint32_t ttl;   /* 0 for questions */
  const uint8_t *rdata; /* into the packet; NULL for questions */
  uint16_t rdlen;
  union {
    struct {
      uint16_t priority, weight, port;
      char target[DNSPKT_NAME_MAX];
      size_t target_len;
    } srv;
    struct {
      unsigned strings;     /* how many character strings */
      const uint8_t *first; /* the first one (into the packet), if any */
      size_t first_len;
    } txt;
    uint8_t a[4];
    uint8_t aaaa[16];
  } data;
} dnspkt_record_t;

typedef struct {
  const uint8_t *buf;
  size_t len;
  size_t off;
  dnspkt_header_t header;
  unsigned section;
  unsigned left; /* records left in the current section */
} dnspkt_reader_t;

/* Reads the header. CHAINSTORE_EBADMESSAGE if shorter than 12 bytes. */
int dnspkt_reader_init(dnspkt_reader_t *r, const uint8_t *buf, size_t len);
/* The next record: 1 and *rec filled, 0 after the last one, or
 * CHAINSTORE_EBADMESSAGE (the reader stays at the error). Bytes after the
 * last counted record are ignored, as dns-packet does. */
int dnspkt_reader_next(dnspkt_reader_t *r, dnspkt_record_t *rec);
/* Reads every record: 0 if the whole packet is well formed. */
int dnspkt_validate(const uint8_t *buf, size_t len);

typedef struct {
  uint8_t *buf;
  size_t cap;
  size_t len;
  unsigned section;
  uint16_t count[4];
} dnspkt_writer_t;

void dnspkt_writer_init(dnspkt_writer_t *w, uint8_t *buf, size_t cap, uint16_t id, uint16_t flags);
/* Each appends one record. Records go in section order (questions, answers,
 * authorities, additionals): CHAINSTORE_EINVAL for a record of an earlier
 * section or a bad name, CHAINSTORE_ELIMIT when it does not fit (the packet
 * is left as it was before the call). Names are text as dns-packet takes
 * them: one leading and one trailing dot are ignored; labels 1..63 bytes. */
int dnspkt_write_question(dnspkt_writer_t *w, const char *name, uint16_t type, uint16_t klass);
int dnspkt_write_srv(dnspkt_writer_t *w, dnspkt_section_t section, const char *name, uint16_t klass,
                     uint32_t ttl, uint16_t priority, uint16_t weight, uint16_t port, const char *target);
/* One character string (at most 255 bytes). */
int dnspkt_write_txt(dnspkt_writer_t *w, dnspkt_section_t section, const char *name, uint16_t klass,
                     uint32_t ttl, const uint8_t *str, size_t str_len);
int dnspkt_write_a(dnspkt_writer_t *w, dnspkt_section_t section, const char *name, uint16_t klass,
                   uint32_t ttl, const uint8_t ip[4]);
int dnspkt_write_aaaa(dnspkt_writer_t *w, dnspkt_section_t section, const char *name, uint16_t klass,
                      uint32_t ttl, const uint8_t ip[16]);
/* Bytes written so far: a complete packet, counts included. */
size_t dnspkt_writer_len(const dnspkt_writer_t *w);

/* Wire bytes of a name as dnspkt_write_* would write it, or 0 when it is
 * not a name dnspkt can write. */
size_t dnspkt_name_wire_len(const char *name);

#endif
