/* Opening a chain: the load sequence of hypercore 9 Feed._open and
 * storage.open (unichain.md §7). No hash or signature is checked here. */
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "crypto/tree_hash.h"
#include "unichain/chain.h"

/* Pages read per storage call while loading the bitfield (statAndReadAll). */
#define LOAD_PAGES_PER_READ 32

void unichain_options_init(unichain_options_t *opts) {
  memset(opts, 0, sizeof *opts);
  opts->profile = CHAINSTORE_PROFILE_BITSPACE;
  opts->create_if_missing = true;
  opts->store_secret_key = true;
}

/* What storage.open found. */
typedef struct {
  bool has_key;
  uint8_t key[UNICHAIN_PUBLIC_KEY_BYTES];
  uint8_t *secret; /* sodium_malloc'd, NULL when absent */
  uint64_t pages_read;
} stored_t;

static int read_key_file(unichain_t *chain, stored_t *st) {
  int err = uc_read_exact(&chain->storage, UNICHAIN_FILE_KEY, 0, st->key, sizeof st->key);
  if (err == CHAINSTORE_ENOENT) return 0;
  if (err != 0) return err;
  st->has_key = true;
  return 0;
}

static int read_secret_file(unichain_t *chain, stored_t *st) {
  uint8_t *secret = sodium_malloc(UNICHAIN_SECRET_KEY_BYTES);
  int err;

  if (secret == NULL) return CHAINSTORE_ENOMEM;
  err = uc_read_exact(&chain->storage, UNICHAIN_FILE_SECRET_KEY, 0, secret, UNICHAIN_SECRET_KEY_BYTES);
  if (err != 0) {
    sodium_free(secret);
    return err == CHAINSTORE_ENOENT ? 0 : err;
  }
  st->secret = secret;
  return 0;
}

/* Writes the three headers (the bitfield keeps its page size) and loads the
 * bitfield pages. */
static int write_headers_and_load(unichain_t *chain, stored_t *st) {
  const unichain_storage_t *s = &chain->storage;
  uint8_t header[UC_HEADER_BYTES];
  uint16_t page_size = UC_BITFIELD_PAGE_SIZE;
  uint64_t size = 0, offset;
  uint8_t *buf;
  int err;

  err = uc_read_exact(s, UNICHAIN_FILE_BITFIELD, 0, header, sizeof header);
  if (err == 0) {
    page_size = (uint16_t)(header[5] << 8 | header[6]);
  } else if (err != CHAINSTORE_ENOENT) {
    return err;
  }
  /* hypercore only ever wrote 3584-byte pages (the 9.x layout); any other
   * size would misplace every region. Refuse before writing anything. */
  if (page_size != UC_BITFIELD_PAGE_SIZE) return CHAINSTORE_ECORRUPT;

  if (chain->read_only) goto headers_done;
  uc_header(header, 0, page_size, NULL);
  if ((err = uc_write(s, UNICHAIN_FILE_BITFIELD, 0, header, sizeof header)) != 0) return err;
  uc_header(header, 1, UNICHAIN_SIGNATURE_BYTES, "Ed25519");
  if ((err = uc_write(s, UNICHAIN_FILE_SIGNATURES, 0, header, sizeof header)) != 0) return err;
  uc_header(header, 2, UC_NODE_BYTES, "BLAKE2b");
  if ((err = uc_write(s, UNICHAIN_FILE_TREE, 0, header, sizeof header)) != 0) return err;

headers_done:
  if ((err = read_secret_file(chain, st)) != 0) return err;

  err = s->ops->size(s->ctx, UNICHAIN_FILE_BITFIELD, &size);
  if (err == CHAINSTORE_ENOENT && chain->read_only) return 0;
  if (err != 0) return err;
  if (size <= UC_HEADER_BYTES) return 0;
  buf = malloc((size_t)LOAD_PAGES_PER_READ * UC_BITFIELD_PAGE_SIZE);
  if (buf == NULL) return CHAINSTORE_ENOMEM;
  for (offset = UC_HEADER_BYTES; offset < size;) {
    uint64_t want = size - offset;
    size_t got = 0;
    if (want > (uint64_t)LOAD_PAGES_PER_READ * UC_BITFIELD_PAGE_SIZE)
      want = (uint64_t)LOAD_PAGES_PER_READ * UC_BITFIELD_PAGE_SIZE;
    err = s->ops->read(s->ctx, UNICHAIN_FILE_BITFIELD, offset, buf, (size_t)want, &got);
    if (err == 0 && got < want) err = CHAINSTORE_EIO; /* shrank under us */
    if (err != 0) break;
    for (size_t at = 0; at < got; at += UC_BITFIELD_PAGE_SIZE) {
      size_t len = got - at < UC_BITFIELD_PAGE_SIZE ? got - at : UC_BITFIELD_PAGE_SIZE;
      err = uc_bitfield_load_page(&chain->bits, st->pages_read++, buf + at, len);
      if (err != 0) break;
    }
    if (err != 0) break;
    offset += got;
  }
  free(buf);
  return err;
}

/* Feed._open from onsignature on: liveness, key files, roots. */
static int finish_open(unichain_t *chain, const stored_t *st, bool generated, bool overwrite, bool store_secret_key) {
  const unichain_storage_t *s = &chain->storage;
  unichain_node_t roots[FLAT_TREE_MAX_ROOTS];
  size_t nroots = 0;
  bool retry = true;
  int err;

  for (;;) {
    uint8_t sig[UNICHAIN_SIGNATURE_BYTES];

    if (chain->length > 0) chain->live = uc_signature_read(chain, chain->length - 1, sig) == 0;
    chain->writable = chain->keys.secret_key != NULL && !chain->read_only;

    bool write_key = generated || !st->has_key;
    bool write_secret = store_secret_key && chain->keys.secret_key != NULL &&
                        (generated || st->secret == NULL ||
                         sodium_memcmp(st->secret, chain->keys.secret_key, UNICHAIN_SECRET_KEY_BYTES) != 0);
    if (chain->read_only) write_key = write_secret = overwrite = false;
    if (write_key && (err = uc_write(s, UNICHAIN_FILE_KEY, 0, chain->keys.public_key, UNICHAIN_PUBLIC_KEY_BYTES)) != 0)
      return err;
    if (write_secret &&
        (err = uc_write(s, UNICHAIN_FILE_SECRET_KEY, 0, chain->keys.secret_key, UNICHAIN_SECRET_KEY_BYTES)) != 0)
      return err;
    if (overwrite && (err = s->ops->truncate(s->ctx, UNICHAIN_FILE_BITFIELD, UC_HEADER_BYTES)) != 0) return err;
    /* Forgetting a chain forgets its signatures and tree too: the next
     * append must not sign over them (hypercore keeps them). */
    if (overwrite && ((err = s->ops->truncate(s->ctx, UNICHAIN_FILE_SIGNATURES, UC_HEADER_BYTES)) != 0 ||
                      (err = s->ops->truncate(s->ctx, UNICHAIN_FILE_TREE, UC_HEADER_BYTES)) != 0))
      return err;

    err = uc_roots_read(chain, chain->length, roots, &nroots);
    if (err == 0) break;
    if (err != CHAINSTORE_ENONODE) return err;
    /* A crash between the tree and bitfield writes can leave the head's
     * roots missing: hypercore retries once, one block shorter. */
    if (!retry || chain->length == 0) return CHAINSTORE_ECORRUPT;
    retry = false;
    chain->length--;
  }

  chain->byte_length = 0;
  for (size_t i = 0; i < nroots; i++) chain->byte_length += roots[i].size;
  if ((err = uc_merkle_roots_set(&chain->merkle, roots, nroots, chain->length)) != 0) return err;
  err = uc_check_files(chain);
  if (chain->read_only) chain->writable = false;
  return err;
}

static int open_chain(unichain_t *chain, const unichain_options_t *opts) {
  stored_t st = {0};
  bool have_key = false, generated = false, overwrite = opts->overwrite;
  int err;

  /* The key material given by the caller. A secret key implies its public key. */
  if (opts->secret_key != NULL) {
    err = keypair_from_secret(&chain->keys, opts->secret_key, opts->public_key);
    if (err != 0) return err;
    have_key = true;
  } else if (opts->public_key != NULL) {
    memcpy(chain->keys.public_key, opts->public_key, UNICHAIN_PUBLIC_KEY_BYTES);
    have_key = true;
  }

  /* 1. storage.openKey: adopt the stored key unless told to overwrite. */
  if ((err = read_key_file(chain, &st)) != 0) goto done;
  if (st.has_key && !overwrite && !have_key) {
    memcpy(chain->keys.public_key, st.key, UNICHAIN_PUBLIC_KEY_BYTES);
    have_key = true;
  }
  if (!st.has_key && opts->read_only) {
    /* Nothing stored to read, and nothing may be created. */
    err = CHAINSTORE_ENOCHAIN;
    goto done;
  }
  if (!have_key && opts->read_only) {
    err = CHAINSTORE_ENOCHAIN;
    goto done;
  }
  if (!have_key) {
    /* hypercore writes the headers first and then fails; failing before
     * touching the storage is the same outcome without the litter. */
    if (!opts->create_if_missing) {
      err = CHAINSTORE_ENOCHAIN;
      goto done;
    }
    if ((err = keypair_generate(&chain->keys)) != 0) goto done;
    generated = true;
  }

  /* 2. storage.open: headers, secret key, bitfield pages. */
  if ((err = write_headers_and_load(chain, &st)) != 0) goto done;

  /* 3. Data without a key cannot be verified: reset. */
  if (!st.has_key && st.pages_read > 0) overwrite = true;
  if (overwrite) {
    uc_bitfield_reset(&chain->bits);
    st.has_key = false;
    sodium_free(st.secret);
    st.secret = NULL;
  }
  uc_bitfield_loaded(&chain->bits);

  /* 4. The length is what the tree bits cover from the left. */
  chain->length = uc_tree_blocks(&chain->bits);

  /* 5. Another chain stored here? */
  if (st.has_key && sodium_memcmp(st.key, chain->keys.public_key, UNICHAIN_PUBLIC_KEY_BYTES) != 0) {
    err = CHAINSTORE_EANOTHER;
    goto done;
  }
  /* A stored secret key wins over a given one (hypercore). It must belong to
   * the key: signing with a foreign secret would write unverifiable heads. */
  if (st.secret != NULL) {
    keypair_t stored = {0};
    err = keypair_from_secret(&stored, st.secret, chain->keys.public_key);
    if (err != 0) goto done;
    keypair_clear(&chain->keys);
    chain->keys = stored;
  }

  if (chain->concurrent && (err = uc_cap_to_proven(chain)) != 0) goto done;

  err = finish_open(chain, &st, generated, overwrite, opts->store_secret_key);

done:
  sodium_free(st.secret);
  return err;
}

int unichain_open(unichain_t **out, unichain_storage_t storage, const unichain_options_t *opts) {
  unichain_options_t defaults;
  unichain_t *chain;
  int err;

  if (out != NULL) *out = NULL;
  if (storage.ops == NULL) return CHAINSTORE_EINVAL;
  if (out == NULL) {
    storage.ops->destroy(storage.ctx);
    return CHAINSTORE_EINVAL;
  }
  if (opts == NULL) {
    unichain_options_init(&defaults);
    opts = &defaults;
  }
  if ((err = keypair_crypto_init()) != 0) {
    storage.ops->destroy(storage.ctx);
    return err;
  }
  chain = calloc(1, sizeof *chain);
  if (chain == NULL) {
    storage.ops->destroy(storage.ctx);
    return CHAINSTORE_ENOMEM;
  }
  chain->storage = storage;
  chain->profile = opts->profile;
  chain->sparse = opts->sparse;
  chain->read_only = opts->read_only;
  chain->verify_reads = opts->verify_reads;
  chain->concurrent = opts->read_only && opts->concurrent_writer;
  chain->live = true;
  uc_bitfield_init(&chain->bits);

  err = open_chain(chain, opts);
  if (err == 0) err = chainstore_discovery_key(chain->profile, chain->keys.public_key, chain->discovery_key);
  if (err != 0) {
    unichain_close(chain);
    return err;
  }
  *out = chain;
  return 0;
}
