/* Deduplication by the two Noise static keys (spec §5, hyperswarm
 * lib/queue.js deduplicate). The slot of a pair is hex(local)\nhex(remote):
 * here the 64 raw bytes. With the same transport type on both, the
 * connection dialled by the side with the smaller key survives; with
 * different types, TCP survives. Each side passes its own key first, so
 * both reach the same decision about the same connection. */
#include <string.h>

#include "chainstore/error.h"
#include "swarm/core_internal.h"

static bitswarm_core_conn_t *slot_holder(bitswarm_core_t *core, const uint8_t *key) {
  for (bitswarm_core_conn_t *c = core->conns; c; c = c->next)
    if (c->holds_slot && memcmp(c->slot_key, key, sizeof(c->slot_key)) == 0) return c;
  return NULL;
}

void sw_dedup_release(bitswarm_core_t *core, bitswarm_core_conn_t *conn) {
  (void)core;
  conn->holds_slot = false;
}

/* _dropDuplicate(winner, loser). */
static void drop_duplicate(bitswarm_core_t *core, bitswarm_core_conn_t *winner, bitswarm_core_conn_t *loser) {
  loser->duplicate = true;
  loser->holds_slot = false;
  winner->holds_slot = true;
  if (core->cb.duplicate) core->cb.duplicate(core, loser, core->cb.user);
  /* A server-side loser is left to the remote, which ends it (there it is
   * the losing client). */
  if (!loser->client || loser->state == SW_CONN_DIALING) return;
  /* ban(true): soft ban, end the stream, not dialled again... */
  sw_conn_set_status(loser, SW_BANNED, 0);
  bool had_stream = loser->has_stream;
  sw_conn_disconnected(core, loser);
  if (had_stream) sw_conn_request_close(core, loser, BITSWARM_CORE_END, BITSWARM_CORE_CLOSE_DUPLICATE);
  /* ...until the winner closes: then it is dialled again (the JS looks the
   * record up by the wrong key, so it never is). */
  if (loser->rec) {
    if (!loser->rec->unban_after) core->n_unban_pending++;
    loser->rec->unban_after = winner;
  }
}

int bitswarm_core_deduplicate(bitswarm_core_t *core, bitswarm_core_conn_t *conn,
                              const uint8_t local[BITSWARM_CORE_KEY_BYTES],
                              const uint8_t remote[BITSWARM_CORE_KEY_BYTES]) {
  static const uint8_t zero[BITSWARM_CORE_KEY_BYTES];
  if (!core || !conn || !local) return CHAINSTORE_EINVAL;
  if (!remote) remote = zero;
  if (!conn->has_stream) return 0;

  memcpy(conn->slot_key, local, BITSWARM_CORE_KEY_BYTES);
  memcpy(conn->slot_key + BITSWARM_CORE_KEY_BYTES, remote, BITSWARM_CORE_KEY_BYTES);
  conn->has_slot_key = true;
  int cmp = memcmp(local, remote, BITSWARM_CORE_KEY_BYTES);

  if (cmp == 0) {
    /* peer.destroy(new Error('Connected to self')): banned, so an outbound
     * record for our own address is never dialled again. */
    sw_conn_set_status(conn, SW_BANNED, 0);
    sw_conn_disconnected(core, conn);
    sw_conn_request_close(core, conn, BITSWARM_CORE_DESTROY, BITSWARM_CORE_CLOSE_SELF);
    return 1;
  }

  bitswarm_core_conn_t *other = slot_holder(core, conn->slot_key);
  if (!other) {
    conn->holds_slot = true;
    return 0;
  }
  /* Asked twice for one connection: it keeps its slot. */
  if (other == conn) return 0;

  bitswarm_core_type_t t_new = bitswarm_core_conn_type(conn);
  bitswarm_core_type_t t_other = bitswarm_core_conn_type(other);
  bool other_is_duplicate = t_other == t_new ? (cmp < 0 ? conn->client : !conn->client) : t_other == BITSWARM_CORE_UTP;
  if (other_is_duplicate) {
    drop_duplicate(core, conn, other);
    return 0;
  }
  drop_duplicate(core, other, conn);
  return 1;
}

/* _unbanduplicate, run when a dedup winner's socket closes. */
void sw_dedup_winner_closed(bitswarm_core_t *core, bitswarm_core_conn_t *winner) {
  bool winner_banned = (sw_conn_status(winner) & SW_BANNED) != 0;
  /* One at a time: removing and re-adding changes the table. */
  while (core->n_unban_pending) {
    sw_rec_t *loser = NULL;
    for (size_t b = 0; b < core->n_buckets && !loser; b++)
      for (sw_rec_t *r = core->buckets[b]; r; r = r->hnext)
        if (r->unban_after == winner) {
          loser = r;
          break;
        }
    if (!loser) return;
    loser->unban_after = NULL;
    core->n_unban_pending--;
    /* If we banned the surviving peer, do not unban anyone. */
    if (winner_banned || core->stopped) continue;
    bitswarm_core_peer_t peer = loser->peer;
    uint8_t first[BITSWARM_CORE_TOPIC_BYTES];
    uint8_t topics[BITSWARM_CORE_MAX_PEER_TOPICS][BITSWARM_CORE_TOPIC_BYTES];
    size_t n_topics = loser->n_topics;
    for (size_t i = 0; i < n_topics; i++) memcpy(topics[i], loser->topics[i]->key, BITSWARM_CORE_TOPIC_BYTES);
    if (peer.topic) {
      memcpy(first, loser->first_topic, sizeof(first));
      peer.topic = first;
    }
    /* remove + add: a fresh record (fresh priority), its topics kept. */
    sw_record_remove(core, loser, BITSWARM_CORE_FORGET_REDIAL);
    sw_rec_t *fresh = sw_record_new(core, &peer);
    if (!fresh) continue;
    for (size_t i = 0; i < n_topics; i++) sw_record_add_topic(core, fresh, topics[i]);
    if (!sw_record_update(fresh)) continue;
    bool empty = sw_queue_length(core) == 0;
    if (sw_queue_add(core, fresh) != 0) continue;
    if (empty) sw_drain(core, 1);
  }
}
