/* Topics known to the core: the joined ones (JS discovery._domains) and
 * the left ones still named by a peer record. A left topic keeps its object
 * while records refer to it, so a rejoin finds it again. */
#include <stdlib.h>
#include <string.h>

#include "chainstore/error.h"
#include "swarm/core_internal.h"

sw_topic_t *sw_topic_find(const bitswarm_core_t *core, const uint8_t *key) {
  for (sw_topic_t *t = core->topics; t; t = t->next)
    if (memcmp(t->key, key, BITSWARM_CORE_TOPIC_BYTES) == 0) return t;
  return NULL;
}

static sw_topic_t *topic_get(bitswarm_core_t *core, const uint8_t *key) {
  sw_topic_t *t = sw_topic_find(core, key);
  if (t) return t;
  t = calloc(1, sizeof(*t));
  if (!t) return NULL;
  memcpy(t->key, key, BITSWARM_CORE_TOPIC_BYTES);
  t->next = core->topics;
  core->topics = t;
  return t;
}

static void topic_maybe_free(bitswarm_core_t *core, sw_topic_t *t) {
  if (t->joined || t->refs) return;
  for (sw_topic_t **pp = &core->topics; *pp; pp = &(*pp)->next) {
    if (*pp == t) {
      *pp = t->next;
      free(t);
      return;
    }
  }
}

sw_topic_t *sw_topic_ref(bitswarm_core_t *core, const uint8_t *key) {
  sw_topic_t *t = topic_get(core, key);
  if (t) t->refs++;
  return t;
}

void sw_topic_unref(bitswarm_core_t *core, sw_topic_t *t) {
  t->refs--;
  topic_maybe_free(core, t);
}

void sw_topics_free(bitswarm_core_t *core) {
  sw_topic_t *t = core->topics;
  while (t) {
    sw_topic_t *next = t->next;
    free(t);
    t = next;
  }
  core->topics = NULL;
}

static void pass_reset(bitswarm_core_t *core, sw_topic_t *t) {
  if (!t->pending) t->pending_from = core->flush_epoch;
  t->pending = true;
  t->max_replies = 1;
  t->max_count = 0;
  t->max_local_replies = 1;
  t->max_local_count = 0;
}

int bitswarm_core_join(bitswarm_core_t *core, const uint8_t topic[BITSWARM_CORE_TOPIC_BYTES], uint64_t now) {
  if (!core || !topic) return CHAINSTORE_EINVAL;
  if (core->stopped) return CHAINSTORE_ECLOSED;
  core->now = now;
  sw_topic_t *t = sw_topic_find(core, topic);
  if (!(t && t->joined) && core->n_joined >= BITSWARM_CORE_MAX_TOPICS) return CHAINSTORE_ELIMIT;
  if (t && t->joined) {
    /* JS destroys the old topic (its flush waiters are released) and
     * makes a new one, whose first pass is pending. */
    sw_flush_topic_flushed(core, t, t->pending);
  } else {
    t = topic_get(core, topic);
    if (!t) return CHAINSTORE_ENOMEM;
    t->joined = true;
    core->n_joined++;
  }
  pass_reset(core, t);
  return 0;
}

void bitswarm_core_leave(bitswarm_core_t *core, const uint8_t topic[BITSWARM_CORE_TOPIC_BYTES], uint64_t now) {
  if (!core || !topic) return;
  core->now = now;
  sw_topic_t *t = sw_topic_find(core, topic);
  if (!t || !t->joined) return;
  bool was_pending = t->pending;
  t->joined = false;
  t->pending = false;
  core->n_joined--;
  sw_flush_topic_flushed(core, t, was_pending); /* _stopDht releases the waiters */
  topic_maybe_free(core, t);
}

bool bitswarm_core_is_joined(const bitswarm_core_t *core, const uint8_t topic[BITSWARM_CORE_TOPIC_BYTES]) {
  const sw_topic_t *t = core && topic ? sw_topic_find(core, topic) : NULL;
  return t && t->joined;
}

static sw_topic_t *joined(bitswarm_core_t *core, const uint8_t *topic) {
  sw_topic_t *t = core && topic ? sw_topic_find(core, topic) : NULL;
  return t && t->joined ? t : NULL;
}

void bitswarm_core_topic_pass_start(bitswarm_core_t *core, const uint8_t topic[BITSWARM_CORE_TOPIC_BYTES],
                                    uint64_t now) {
  sw_topic_t *t = joined(core, topic);
  if (!t) return;
  core->now = now;
  pass_reset(core, t);
}

static void pass_flushed(bitswarm_core_t *core, sw_topic_t *t) {
  if (!t->pending) return;
  t->pending = false;
  sw_flush_topic_flushed(core, t, true);
}

void bitswarm_core_topic_pass_reply(bitswarm_core_t *core, const uint8_t topic[BITSWARM_CORE_TOPIC_BYTES],
                                    size_t n_peers, size_t n_local, uint64_t now) {
  sw_topic_t *t = joined(core, topic);
  if (!t || !t->pending) return;
  core->now = now;
  /* discovery.md §5, as @hyperswarm/discovery 2.0.1 counts: six answers
   * agreeing on the largest peer count flush the pass early. An empty or
   * absent list changes nothing (0 is never > or >= a maximum of >= 1). */
  if (n_peers) {
    if (n_peers > t->max_replies && n_peers < 16) {
      t->max_replies = n_peers;
      t->max_count = 1;
    } else if (n_peers >= t->max_replies) {
      t->max_count++;
    }
  }
  if (n_local) {
    /* The new-maximum test compares with the remote list's maximum (upstream slip). */
    if (n_local > t->max_replies && n_local < 16) {
      t->max_local_replies = n_local;
      t->max_local_count = 1;
    } else if (n_local >= t->max_local_replies) {
      t->max_local_count++;
    }
  }
  if (t->max_local_count >= 6 || t->max_count >= 6) pass_flushed(core, t);
}

void bitswarm_core_topic_pass_end(bitswarm_core_t *core, const uint8_t topic[BITSWARM_CORE_TOPIC_BYTES], int err,
                                  uint64_t now) {
  (void)err;
  sw_topic_t *t = joined(core, topic);
  if (!t) return;
  core->now = now;
  pass_flushed(core, t);
}

bool bitswarm_core_topic_flush_pending(const bitswarm_core_t *core, const uint8_t topic[BITSWARM_CORE_TOPIC_BYTES]) {
  const sw_topic_t *t = core && topic ? sw_topic_find(core, topic) : NULL;
  return t && t->joined && t->pending;
}
