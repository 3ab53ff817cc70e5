/* bench_cat: what verified reads cost `chainstore cat`.
 *
 * Builds a chain of 256 MiB (--mib) in 64 KiB and in 4 KiB blocks (--sizes)
 * in a store under --dir (or $TMPDIR, or /var/tmp), then times, in rounds:
 *   cat          `chainstore cat DIR KEY > /dev/null` (each block checked
 *                against its leaf hash: the default)
 *   cat --no-verify   the same, trusting the disk
 *   bound        the verification alone: the leaf hash of every block
 *                (crypto_generichash_init/update/final over the type byte,
 *                the length and the block, as tree_hash_leaf does) over the
 *                same bytes, mapped from the chain's `data` file, in a loop
 * The data is in the page cache for all three (the chain was just written
 * and is read once before timing). Prints MB/s (10^6 bytes of blocks per
 * second), medians over the rounds, and what verification adds to cat
 * (time of cat minus time of cat --no-verify) against the bound's time. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "bench_stats.h"
#include "chainstore/chainstore.h"

#define MAX_ROUNDS 15
#define BATCH 1024

static double now_s(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static void die(const char *what, int err) {
  fprintf(stderr, "bench_cat: %s: %s\n", what, err < 0 ? chainstore_strerror(err) : strerror(errno));
  exit(1);
}

/* A chain of `total` bytes in blocks of `size`; its key in hex, its
 * `data` file's path. */
static void build(const char *dir, size_t size, size_t total, char key_hex[65], char *data_path, size_t path_len) {
  chainstore_t *store;
  unichain_t *chain;
  chainstore_options_t o;
  chainstore_options_init(&o);
  int err = chainstore_open(&store, dir, &o);
  if (err != 0) die("chainstore_open", err);
  if ((err = chainstore_default(store, &chain)) != 0) die("chainstore_default", err);
  uint8_t *buf = malloc(size * BATCH);
  unichain_buf_t *bufs = malloc(sizeof *bufs * BATCH);
  if (buf == NULL || bufs == NULL) die("malloc", 0);
  randombytes_buf(buf, size * BATCH);
  size_t blocks = total / size;
  for (size_t done = 0; done < blocks;) {
    size_t n = blocks - done < BATCH ? blocks - done : BATCH;
    for (size_t i = 0; i < n; i++) {
      memcpy(buf + i * size, &done, sizeof done); /* no two blocks alike */
      bufs[i].base = buf + i * size;
      bufs[i].len = size;
      done++;
    }
    if ((err = unichain_append_batch(chain, bufs, n, NULL)) != 0) die("append", err);
  }
  if ((err = unichain_sync(chain)) != 0) die("sync", err);
  sodium_bin2hex(key_hex, 65, unichain_key(chain), 32);
  const uint8_t *dk = unichain_discovery_key(chain);
  char dk_hex[65];
  sodium_bin2hex(dk_hex, sizeof dk_hex, dk, 32);
  snprintf(data_path, path_len, "%s/%.2s/%.2s/%s/data", dir, dk_hex, dk_hex + 2, dk_hex);
  free(buf);
  free(bufs);
  chainstore_close(store);
}

/* Seconds `chainstore cat DIR KEY [--no-verify] > /dev/null` takes. */
static double time_cat(const char *dir, const char *key, int verify) {
  char *argv[] = {BENCH_CLI, "cat", (char *)dir, (char *)key, verify ? NULL : "--no-verify", NULL};
  double t0 = now_s();
  pid_t pid = fork();
  if (pid < 0) die("fork", 0);
  if (pid == 0) {
    int fd = open("/dev/null", O_WRONLY);
    dup2(fd, 1);
    execv(argv[0], argv);
    _exit(127);
  }
  int st = 0;
  if (waitpid(pid, &st, 0) < 0) die("waitpid", 0);
  double t = now_s() - t0;
  if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
    fprintf(stderr, "bench_cat: chainstore cat failed (status %d)\n", st);
    exit(1);
  }
  return t;
}

/* Seconds to compute every block's leaf hash over the mapped data. */
static double time_bound(const uint8_t *data, size_t size, size_t total) {
  uint8_t out[32], acc = 0;
  double t0 = now_s();
  for (size_t off = 0; off + size <= total; off += size) {
    crypto_generichash_state st;
    uint8_t head[9] = {0};
    for (int i = 0; i < 8; i++) head[1 + i] = (uint8_t)((uint64_t)size >> (56 - 8 * i));
    crypto_generichash_init(&st, NULL, 0, 32);
    crypto_generichash_update(&st, head, sizeof head);
    crypto_generichash_update(&st, data + off, size);
    crypto_generichash_final(&st, out, 32);
    acc ^= out[0];
  }
  double t = now_s() - t0;
  if (acc == 0x5a) fputs("", stderr); /* keeps the loop */
  return t;
}

int main(int argc, char **argv) {
  size_t mib = 256, sizes[8] = {65536, 4096};
  int nsizes = 2, rounds = 5;
  const char *base = getenv("TMPDIR");
  if (base == NULL || *base == 0) base = "/var/tmp";
  for (int i = 1; i < argc; i++) {
    if (strcmp(argv[i], "--mib") == 0 && i + 1 < argc) {
      mib = strtoul(argv[++i], NULL, 10);
    } else if (strcmp(argv[i], "--rounds") == 0 && i + 1 < argc) {
      rounds = atoi(argv[++i]);
      if (rounds < 1) rounds = 1;
      if (rounds > MAX_ROUNDS) rounds = MAX_ROUNDS;
    } else if (strcmp(argv[i], "--dir") == 0 && i + 1 < argc) {
      base = argv[++i];
    } else if (strcmp(argv[i], "--sizes") == 0 && i + 1 < argc) {
      char *s = argv[++i];
      nsizes = 0;
      for (char *t = strtok(s, ","); t != NULL && nsizes < 8; t = strtok(NULL, ",")) sizes[nsizes++] = strtoul(t, NULL, 10);
    } else {
      fprintf(stderr, "usage: bench_cat [--mib N] [--sizes 65536,4096] [--rounds R] [--dir DIR]\n");
      return 2;
    }
  }
  if (sodium_init() < 0) die("sodium_init", 0);
#ifndef NDEBUG
  printf("WARNING: not an optimised build (NDEBUG unset): figures are not representative\n");
#endif
  printf("bench_cat: `chainstore cat` of %zu MiB to /dev/null, verified and not, and the BLAKE2b bound; "
         "medians of %d rounds\n\n",
         mib, rounds);
  printf("%-6s %-22s %9s %9s   %s\n", "block", "what", "MB/s", "seconds", "[lowest-highest MB/s]");
  for (int z = 0; z < nsizes; z++) {
    size_t size = sizes[z], total = mib << 20;
    char dir[4096], key[65], data_path[4200];
    snprintf(dir, sizeof dir, "%s/bench_cat-XXXXXX", base);
    if (mkdtemp(dir) == NULL) die("mkdtemp", 0);
    build(dir, size, total, key, data_path, sizeof data_path);
    int fd = open(data_path, O_RDONLY);
    if (fd < 0) die(data_path, 0);
    const uint8_t *data = mmap(NULL, total, PROT_READ, MAP_SHARED, fd, 0);
    if (data == MAP_FAILED) die("mmap", 0);
    (void)time_cat(dir, key, 0); /* the page cache holds it all from here */
    double tb[MAX_ROUNDS], tv[MAX_ROUNDS], tn[MAX_ROUNDS], extra[MAX_ROUNDS];
    for (int r = 0; r < rounds; r++) {
      tb[r] = time_bound(data, size, total);
      tv[r] = time_cat(dir, key, 1);
      tn[r] = time_cat(dir, key, 0);
      extra[r] = (tv[r] - tn[r]) / tb[r];
    }
    const char *names[3] = {"bound (leaf hashes)", "cat (verified)", "cat --no-verify"};
    double *ts[3] = {tb, tv, tn};
    for (int k = 0; k < 3; k++) {
      double mbs[MAX_ROUNDS], lo, hi;
      for (int r = 0; r < rounds; r++) mbs[r] = (double)total / 1e6 / ts[k][r];
      double m = bench_median(mbs, rounds, &lo, &hi);
      printf("%-6zu %-22s %9.1f %9.3f   [%.1f-%.1f]\n", size, names[k], m, bench_median(ts[k], rounds, NULL, NULL),
             lo, hi);
    }
    double lo, hi, m = bench_median(extra, rounds, &lo, &hi);
    double vr[MAX_ROUNDS];
    for (int r = 0; r < rounds; r++) vr[r] = tn[r] / tv[r];
    printf("%-6zu verification adds %.2fx the bound's time to cat [%.2f-%.2f]; cat verified runs at %.2f of "
           "--no-verify's speed\n\n",
           size, m, lo, hi, bench_median(vr, rounds, NULL, NULL));
    munmap((void *)data, total);
    close(fd);
    char cmd[4200];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0) fprintf(stderr, "bench_cat: could not remove %s\n", dir);
  }
  printf("bound = crypto_generichash_init/update/final per block over the type byte, the 8-byte length and\n"
         "the block (the leaf hash cat checks each block against), over the chain's data file mapped in memory.\n");
  return 0;
}
