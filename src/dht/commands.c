/* Answering side of `peers` (dht.md §11), `immutable-store` and
 * `mutable-store` (§12). Where the JS handler throws inside the UDP message
 * handler (and the process dies), these drop the request without a reply. */
#include "dht/commands.h"

#include <stdio.h>
#include <string.h>

#include <sodium.h>

#include "dht/node_internal.h"
#include "dht/values.h"

#define PEERS_MAX_LOCAL 32
#define PEERS_MAX_TOTAL 128

static void reply_error(dht_node_t *node, const dht_incoming_t *in, const char *err,
                        const uint8_t *value, size_t value_len, bool has_value) {
  uint8_t closer[DHT_K * DHT_NODE_BYTES];
  const dht_message_t *m = in->msg;
  size_t n = dht_node_closer_nodes(node, m->target.ptr, m->target.len, closer);
  dht_node_reply(node, in, err, closer, n, true, value, value_len, has_value);
}

static void reply_ok(dht_node_t *node, const dht_incoming_t *in, const uint8_t *value, size_t value_len,
                     bool has_value) {
  uint8_t closer[DHT_K * DHT_NODE_BYTES];
  const dht_message_t *m = in->msg;
  size_t n = dht_node_closer_nodes(node, m->target.ptr, m->target.len, closer);
  dht_node_reply(node, in, NULL, closer, n, true, value, value_len, has_value);
}

/* ---- peers ---- */

/* JS filter(): drop the first record equal to `item` (swap with the last). */
static size_t filter(dht_record_t *list, size_t n, const dht_record_t *item) {
  for (size_t i = 0; i < n; i++) {
    if (list[i].len == item->len && memcmp(list[i].b, item->b, item->len) == 0) {
      list[i] = list[n - 1];
      return n - 1;
    }
  }
  return n;
}

static void on_peers(dht_node_t *node, const dht_incoming_t *in) {
  const dht_message_t *m = in->msg;
  dht_peers_input_t v;
  /* No value: the JS handler reads null.port and throws. */
  if (!m->value.present || dht_peers_input_decode(&v, m->value.ptr, m->value.len) != 0)
    return;
  uint64_t port = v.port ? v.port : in->from.port;
  if (!(port > 0 && port < 65536)) {
    reply_error(node, in, "Invalid port", NULL, 0, false);
    return;
  }
  dht_addr_t from = in->from;
  from.port = (uint16_t)port;
  dht_record_t remote = {6, {0}};
  dht_addr_encode(&from, remote.b);

  /* Names: 'r' || topic and 'l' || topic || first two LAN address bytes (the
   * JS "<hex>" and "<hex>@local.<hex2>"). Only a 6-byte localAddress counts:
   * the JS client always sends 6 bytes; other lengths are ignored here. */
  uint8_t rname[1 + DHT_MAX_TARGET], lname[1 + DHT_MAX_TARGET + 2];
  size_t tlen = m->target.len;
  rname[0] = 'r';
  memcpy(rname + 1, m->target.ptr, tlen);
  bool has_local = v.local_address.present && v.local_address.len == DHT_PEER_BYTES;
  dht_record_t local = {4, {0}};
  if (has_local) {
    lname[0] = 'l';
    memcpy(lname + 1, m->target.ptr, tlen);
    memcpy(lname + 1 + tlen, v.local_address.ptr, 2);
    memcpy(local.b, v.local_address.ptr + 2, 4);
  }

  if (in->type == DHT_TYPE_QUERY) {
    dht_record_t lrec[PEERS_MAX_LOCAL], rrec[PEERS_MAX_TOTAL];
    size_t nl = 0, nr;
    if (has_local) {
      nl = dht_records_get(&node->records, lname, tlen + 3, PEERS_MAX_LOCAL, lrec);
      nl = filter(lrec, nl, &local);
    }
    nr = dht_records_get(&node->records, rname, tlen + 1, PEERS_MAX_TOTAL - nl, rrec);
    nr = filter(rrec, nr, &remote);
    dht_node_emit(node, DHT_EVENT_LOOKUP, NULL, &from, NULL, m->target.ptr, tlen, 0);
    uint8_t peers[PEERS_MAX_TOTAL * 6], locals[PEERS_MAX_LOCAL * 4];
    for (size_t i = 0; i < nr; i++)
      memcpy(peers + 6 * i, rrec[i].b, 6);
    for (size_t i = 0; i < nl; i++)
      memcpy(locals + 4 * i, lrec[i].b, 4);
    dht_peers_output_t out = {nr ? dht_bytes(peers, 6 * nr) : dht_bytes_none(),
                              nl ? dht_bytes(locals, 4 * nl) : dht_bytes_none()};
    uint8_t value[2 + 3 + PEERS_MAX_TOTAL * 6 + 2 + PEERS_MAX_LOCAL * 4];
    size_t len = dht_peers_output_encode(&out, value);
    reply_ok(node, in, value, len, true);
    return;
  }
  if (v.unannounce) {
    dht_records_remove(&node->records, rname, tlen + 1, &remote);
    if (has_local)
      dht_records_remove(&node->records, lname, tlen + 3, &local);
    dht_node_emit(node, DHT_EVENT_UNANNOUNCE, NULL, &from, NULL, m->target.ptr, tlen, 0);
  } else {
    dht_records_add(&node->records, rname, tlen + 1, &remote);
    if (has_local)
      dht_records_add(&node->records, lname, tlen + 3, &local);
    dht_node_emit(node, DHT_EVENT_ANNOUNCE, NULL, &from, NULL, m->target.ptr, tlen, 0);
  }
  reply_ok(node, in, NULL, 0, false);
}

/* ---- immutable-store ---- */

static void on_immutable(dht_node_t *node, const dht_incoming_t *in) {
  const dht_message_t *m = in->msg;
  uint8_t key[1 + DHT_MAX_TARGET];
  key[0] = 'i';
  memcpy(key + 1, m->target.ptr, m->target.len);
  if (in->type == DHT_TYPE_QUERY) {
    const dht_store_value_t *v = dht_store_get(&node->store, key, 1 + m->target.len);
    if (v)
      reply_ok(node, in, v->value, v->value_len, true);
    else
      reply_ok(node, in, NULL, 0, false);
    return;
  }
  if (!m->value.present)
    return; /* JS hashes null and throws */
  uint8_t hash[32];
  crypto_generichash(hash, sizeof hash, m->value.ptr, m->value.len, NULL, 0);
  /* Values over 1000 bytes are refused here (the JS only checks on put), so
   * a hostile putter cannot make a node hold 64 KiB values. */
  if (m->target.len != 32 || sodium_memcmp(hash, m->target.ptr, 32) != 0 ||
      m->value.len > DHT_STORE_VALUE_MAX) {
    reply_error(node, in, "ERR_INVALID_INPUT", NULL, 0, false);
    return;
  }
  dht_store_value_t v;
  memset(&v, 0, sizeof v);
  v.value_len = m->value.len;
  memcpy(v.value, m->value.ptr, m->value.len);
  dht_store_set(&node->store, key, 1 + m->target.len, &v);
  reply_ok(node, in, NULL, 0, false);
}

/* ---- mutable-store ---- */

size_t dht_mutable_signable(const uint8_t *value, size_t value_len, bool has_salt, const uint8_t *salt,
                            size_t salt_len, uint64_t seq, uint8_t *out) {
  size_t o = 0;
  if (has_salt) {
    o += (size_t)sprintf((char *)out + o, "4:salt%zu:", salt_len);
    if (salt_len)
      memcpy(out + o, salt, salt_len);
    o += salt_len;
  }
  o += (size_t)sprintf((char *)out + o, "3:seqi%llue1:v%zu:", (unsigned long long)seq, value_len);
  if (value_len)
    memcpy(out + o, value, value_len);
  return o + value_len;
}

static size_t encode_record(const dht_store_value_t *v, uint8_t *out) {
  dht_mutable_t rec = {dht_bytes(v->value, v->value_len), dht_bytes(v->signature, 64), true, v->seq,
                       v->has_salt ? dht_bytes(v->salt, v->salt_len) : dht_bytes_none()};
  return dht_mutable_encode(&rec, out);
}

static void on_mutable(dht_node_t *node, const dht_incoming_t *in) {
  const dht_message_t *m = in->msg;
  dht_mutable_t v;
  /* No value: the JS destructures null and throws. */
  if (!m->value.present || dht_mutable_decode(&v, m->value.ptr, m->value.len) != 0)
    return;
  uint8_t key[DHT_STORE_KEY_MAX];
  size_t klen = 0;
  key[klen++] = 'm';
  memcpy(key + klen, m->target.ptr, m->target.len);
  klen += m->target.len;
  uint8_t out[DHT_STORE_VALUE_MAX + 64 + DHT_STORE_SALT_MAX + 32];

  if (in->type == DHT_TYPE_QUERY) {
    if (v.salt.present && v.salt.len > DHT_STORE_SALT_MAX) {
      reply_ok(node, in, NULL, 0, false); /* nothing can be stored under it */
      return;
    }
    if (v.salt.present) {
      memcpy(key + klen, v.salt.ptr, v.salt.len);
      klen += v.salt.len;
    }
    const dht_store_value_t *r = dht_store_get(&node->store, key, klen);
    if (r && r->seq >= v.seq)
      reply_ok(node, in, out, encode_record(r, out), true);
    else
      reply_ok(node, in, NULL, 0, false);
    return;
  }

  if (!v.value.present || !v.signature.present) {
    reply_ok(node, in, NULL, 0, false);
    return;
  }
  /* The JS throws on each of these (hypersign asserts, sodium-native length
   * checks): drop. */
  if (v.value.len > DHT_STORE_VALUE_MAX || (v.salt.present && v.salt.len > DHT_STORE_SALT_MAX) ||
      v.signature.len != crypto_sign_BYTES || m->target.len != crypto_sign_PUBLICKEYBYTES)
    return;
  if (v.salt.present) {
    memcpy(key + klen, v.salt.ptr, v.salt.len);
    klen += v.salt.len;
  }
  uint8_t msg[DHT_MUTABLE_SIGNABLE_MAX];
  size_t mlen = dht_mutable_signable(v.value.ptr, v.value.len, v.salt.present, v.salt.ptr, v.salt.len,
                                     v.seq, msg);
  if (crypto_sign_verify_detached(v.signature.ptr, msg, mlen, m->target.ptr) != 0) {
    reply_error(node, in, "ERR_INVALID_INPUT", NULL, 0, false);
    return;
  }
  const dht_store_value_t *local = dht_store_get(&node->store, key, klen);
  if (local) {
    const char *err = NULL;
    if (v.seq == local->seq &&
        (local->value_len != v.value.len || memcmp(local->value, v.value.ptr, v.value.len) != 0))
      err = "ERR_INVALID_SEQ";
    else if (v.seq <= local->seq)
      err = "ERR_SEQ_MUST_EXCEED_CURRENT";
    if (err)
      reply_error(node, in, err, out, encode_record(local, out), true);
    /* ...and, as the JS does, the record is stored anyway and a success
     * reply with the same rid follows (dht.md §12). */
  }
  dht_store_value_t rec;
  memset(&rec, 0, sizeof rec);
  rec.value_len = v.value.len;
  memcpy(rec.value, v.value.ptr, v.value.len);
  memcpy(rec.signature, v.signature.ptr, 64);
  rec.seq = v.seq;
  rec.has_salt = v.salt.present;
  rec.salt_len = v.salt.present ? v.salt.len : 0;
  if (rec.salt_len)
    memcpy(rec.salt, v.salt.ptr, rec.salt_len);
  dht_store_set(&node->store, key, klen, &rec);
  reply_ok(node, in, NULL, 0, false);
}

void dht_commands_dispatch(dht_node_t *node, const dht_incoming_t *in) {
  const dht_message_t *m = in->msg;
  if (!m->target.present || m->target.len > DHT_MAX_TARGET)
    return;
  if (dht_bytes_eq_str(m->command, "peers"))
    on_peers(node, in);
  else if (dht_bytes_eq_str(m->command, "immutable-store"))
    on_immutable(node, in);
  else if (dht_bytes_eq_str(m->command, "mutable-store"))
    on_mutable(node, in);
  else
    reply_error(node, in, "Unsupported command", NULL, 0, false);
}
