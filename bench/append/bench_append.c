/* bench_append: append throughput of one Unichain, next to the legacy JS
 * (hypercore 9.12 on node, spawned) and to the machine's bound, all measured
 * in the same run.
 *
 *   (a) 64 KiB blocks appended in batches of 1,024 (one signature per batch)
 *       -> MB/s; bound = crypto_generichash (BLAKE2b-256) over the same bytes.
 *   (b) 4 KiB and 512 B blocks appended one per call (one signature each)
 *       -> appends/s; bound = one BLAKE2b-256 of the block + one
 *       crypto_sign_detached per append.
 *
 * Each figure is the median of --runs runs, in RAM and on disk (a temporary
 * directory). To show where the C time goes, the storage calls are timed (a
 * wrapping unichain_storage_t) and so are the library's calls into
 * libsodium's hashing and signing (crypto_timing.c), with clock_gettime.
 *
 * usage: bench_append [--batches N] [--singles N] [--runs R] [--dir DIR] [--no-js] [--quick]
 * It is a program, not a test. Build it optimised and without sanitizers for
 * meaningful figures (see README, "Benchmarks"). */
#include <errno.h>
#include <ftw.h>
#include <limits.h>
#include <sodium.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

#include "bench_stats.h"
#include "chainstore/unichain.h"
#include "crypto_timing.h"
#include "js_runner.h"
#include "timed_storage.h"

#define BIG_BLOCK (64u * 1024u)
#define BATCH_BLOCKS 1024u
#define POOL_BYTES ((size_t)BIG_BLOCK * BATCH_BLOCKS)
#define MAX_RUNS 15

typedef enum { STORE_RAM = 0, STORE_DISK = 1 } store_kind_t;
static const char *const store_names[] = {"ram", "disk"};

typedef enum { W_BATCH = 0, W_SINGLE_4K, W_SINGLE_512, W_COUNT } workload_t;
static const char *const workload_names[] = {"64 KiB x 1024/batch", "4 KiB, 1 per call", "512 B, 1 per call"};
static const char *const workload_units[] = {"MB/s", "appends/s", "appends/s"};
static const size_t workload_block[] = {BIG_BLOCK, 4096, 512};

typedef struct {
  int batches;
  int singles;
  int runs;
  const char *dir;
  bool no_js;
} config_t;

/* What one C workload run cost, for the disk breakdown. */
typedef struct {
  double append_seconds; /* the appends only */
  double close_seconds;
  uint64_t calls, blocks, bytes;
  timed_stats_t io;
  crypto_timing_t crypto;
} c_cost_t;

static uint8_t *pool; /* random bytes; blocks are slices of it */
static char base_dir[PATH_MAX / 2]; /* room for sub-directory names in PATH_MAX buffers */
static int chain_no;

static void die(const char *what, int err) {
  fprintf(stderr, "bench_append: %s: %s\n", what, err < 0 ? chainstore_strerror(err) : strerror(errno));
  exit(1);
}

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw) {
  (void)st, (void)flag, (void)ftw;
  remove(path);
  return 0;
}

static void rm_tree(const char *path) { nftw(path, rm_entry, 16, FTW_DEPTH | FTW_PHYS); }

static double median(const double *v, int n) { return bench_median(v, n, NULL, NULL); }

/* ---- C: the library ---------------------------------------------------- */

static unichain_t *open_chain(store_kind_t kind, timed_stats_t *io, char *dir_out, size_t dir_cap) {
  unichain_storage_t storage;
  int rc;
  dir_out[0] = '\0';
  if (kind == STORE_RAM) {
    rc = unichain_storage_ram(&storage);
  } else {
    snprintf(dir_out, dir_cap, "%s/c-%d", base_dir, chain_no++);
    rc = unichain_storage_dir(&storage, dir_out);
  }
  if (rc != 0)
    die("storage", rc);
  if (io != NULL && (rc = timed_storage_wrap(&storage, storage, io)) != 0)
    die("timed storage", rc);
  unichain_options_t opts;
  unichain_options_init(&opts);
  unichain_t *chain;
  if ((rc = unichain_open(&chain, storage, &opts)) != 0)
    die("unichain_open", rc);
  return chain;
}

static void close_chain(unichain_t *chain, const char *dir, c_cost_t *cost) {
  double t0 = bench_now();
  unichain_close(chain);
  cost->close_seconds = bench_now() - t0;
  if (dir[0] != '\0')
    rm_tree(dir);
}

/* Returns MB/s or appends/s. */
static double c_run(store_kind_t kind, workload_t w, const config_t *cfg, c_cost_t *cost) {
  char dir[PATH_MAX];
  memset(cost, 0, sizeof *cost);
  unichain_t *chain = open_chain(kind, &cost->io, dir, sizeof dir);
  memset(&cost->io, 0, sizeof cost->io); /* count the appends only, not the open */
  int rc = 0;
  crypto_timing_start(&cost->crypto);
  double t0 = bench_now();
  if (w == W_BATCH) {
    static unichain_buf_t bufs[BATCH_BLOCKS];
    for (unsigned i = 0; i < BATCH_BLOCKS; i++)
      bufs[i] = (unichain_buf_t){pool + (size_t)i * BIG_BLOCK, BIG_BLOCK};
    for (int b = 0; b < cfg->batches && rc == 0; b++)
      rc = unichain_append_batch(chain, bufs, BATCH_BLOCKS, NULL);
    cost->blocks = (uint64_t)cfg->batches * BATCH_BLOCKS;
    cost->calls = (uint64_t)cfg->batches;
  } else {
    size_t size = workload_block[w];
    size_t slots = POOL_BYTES / size;
    for (int i = 0; i < cfg->singles && rc == 0; i++)
      rc = unichain_append(chain, pool + ((size_t)i % slots) * size, size, NULL);
    cost->blocks = (uint64_t)cfg->singles;
    cost->calls = (uint64_t)cfg->singles;
  }
  cost->append_seconds = bench_now() - t0;
  crypto_timing_stop();
  if (rc != 0)
    die("append", rc);
  cost->bytes = cost->blocks * workload_block[w];
  close_chain(chain, dir, cost);
  return w == W_BATCH ? (double)cost->bytes / 1e6 / cost->append_seconds
                      : (double)cost->blocks / cost->append_seconds;
}

/* ---- bound: libsodium alone -------------------------------------------- */

typedef struct {
  double hash_seconds_per_block[W_COUNT];
  double sign_seconds; /* one crypto_sign_detached of a 40-byte signable */
} unit_costs_t;

static double bound_run(workload_t w, const config_t *cfg, unit_costs_t *units) {
  uint8_t out[crypto_generichash_BYTES];
  if (w == W_BATCH) {
    double t0 = bench_now();
    for (int b = 0; b < cfg->batches; b++)
      for (unsigned i = 0; i < BATCH_BLOCKS; i++)
        crypto_generichash(out, sizeof out, pool + (size_t)i * BIG_BLOCK, BIG_BLOCK, NULL, 0);
    double s = bench_now() - t0;
    double bytes = (double)cfg->batches * POOL_BYTES;
    units->hash_seconds_per_block[w] = s / ((double)cfg->batches * BATCH_BLOCKS);
    return bytes / 1e6 / s;
  }
  size_t size = workload_block[w];
  size_t slots = POOL_BYTES / size;
  unsigned char pk[crypto_sign_PUBLICKEYBYTES];
  unsigned char *sk = sodium_malloc(crypto_sign_SECRETKEYBYTES);
  if (sk == NULL)
    die("sodium_malloc", CHAINSTORE_ENOMEM);
  crypto_sign_keypair(pk, sk);
  uint8_t signable[40] = {0}, sig[crypto_sign_BYTES];
  double t0 = bench_now();
  for (int i = 0; i < cfg->singles; i++)
    crypto_generichash(out, sizeof out, pool + ((size_t)i % slots) * size, size, NULL, 0);
  double t1 = bench_now();
  for (int i = 0; i < cfg->singles; i++) {
    memcpy(signable, out, sizeof out);
    signable[39] = (uint8_t)i; /* a different message each time, as a growing chain has */
    crypto_sign_detached(sig, NULL, signable, sizeof signable, sk);
    out[0] ^= sig[0];
  }
  double t2 = bench_now();
  sodium_free(sk);
  units->hash_seconds_per_block[w] = (t1 - t0) / cfg->singles;
  units->sign_seconds = (t2 - t1) / cfg->singles;
  return cfg->singles / (t2 - t0);
}

/* ---- the report -------------------------------------------------------- */

static void print_ratio(double a, double b) {
  if (a > 0 && b > 0)
    printf(" %8.2f", a / b);
  else
    printf(" %8s", "-");
}

static void print_row(store_kind_t kind, workload_t w, double c, double js, double bound) {
  printf("%-5s %-22s %-10s %10.1f ", store_names[kind], workload_names[w], workload_units[w], c);
  if (js > 0)
    printf("%10.1f", js);
  else
    printf("%10s", "n/a");
  printf(" %10.1f", bound);
  print_ratio(c, bound);
  print_ratio(js, bound);
  print_ratio(c, js);
  printf("\n");
}

static const char *file_names[UNICHAIN_FILE_COUNT] = {"key", "secret_key", "tree", "data", "signatures", "bitfield", "name"};

static void print_breakdown(store_kind_t kind, workload_t w, const c_cost_t *avg) {
  double total = avg->append_seconds;
  double writes = timed_total(&avg->io, TIMED_WRITE);
  double syncs = timed_total(&avg->io, TIMED_SYNC);
  double other_io = timed_total(&avg->io, TIMED_READ) + timed_total(&avg->io, TIMED_TRUNCATE) +
                    timed_total(&avg->io, TIMED_SIZE);
  double hashing = avg->crypto.hash_seconds, signing = avg->crypto.sign_seconds;
  double rest = total - writes - syncs - other_io - hashing - signing;
  double calls = (double)avg->calls;
#define PCT(x) (100.0 * (x) / total)
  printf("  %s, %s: %.3f s for %.0f append calls, %.0f blocks (+ %.3f s close)\n", store_names[kind],
         workload_names[w], total, calls, (double)avg->blocks, avg->close_seconds);
  printf("    %-30s %8.3f s %5.1f%%  %.0f calls, %.1f MB\n", "hashing (BLAKE2b)", hashing, PCT(hashing),
         (double)avg->crypto.hash_calls, (double)avg->crypto.hash_bytes / 1e6);
  if (avg->crypto.helper_hash_seconds > 0)
    printf("    %-30s %8.3f s %5.1f%%  in parallel, not part of the total\n", "hashing on a helper thread",
           avg->crypto.helper_hash_seconds, PCT(avg->crypto.helper_hash_seconds));
  printf("    %-30s %8.3f s %5.1f%%  %.0f signatures\n", "signing (Ed25519)", signing, PCT(signing),
         (double)avg->crypto.sign_calls);
  printf("    %-30s %8.3f s %5.1f%%  %.1f calls per append call\n", "storage writes", writes, PCT(writes),
         (double)timed_calls(&avg->io, TIMED_WRITE) / calls);
  for (unsigned f = 0; f < UNICHAIN_FILE_COUNT; f++)
    if (avg->io.calls[TIMED_WRITE][f] > 0)
      printf("      %-28s %8.3f s %5.1f%%  %.1f calls, %.0f bytes per append call\n", file_names[f],
             avg->io.seconds[TIMED_WRITE][f], PCT(avg->io.seconds[TIMED_WRITE][f]),
             (double)avg->io.calls[TIMED_WRITE][f] / calls, (double)avg->io.bytes[TIMED_WRITE][f] / calls);
  printf("    %-30s %8.3f s %5.1f%%  %.0f calls\n", "storage sync (fdatasync)", syncs, PCT(syncs),
         (double)timed_calls(&avg->io, TIMED_SYNC));
  printf("    %-30s %8.3f s %5.1f%%\n", "storage reads, sizes, truncates", other_io, PCT(other_io));
  printf("    %-30s %8.3f s %5.1f%%  (tree nodes, bitfield, copies, timing overhead)\n", "rest of the library", rest,
         PCT(rest));
#undef PCT
}

static const char *fs_name(const char *path) {
  struct statfs sf;
  if (statfs(path, &sf) != 0)
    return "?";
  switch ((unsigned long)sf.f_type) {
  case 0xEF53: return "ext4";
  case 0x01021994: return "tmpfs: not a disk";
  case 0x58465342: return "xfs";
  case 0x9123683E: return "btrfs";
  case 0x794c7630: return "overlayfs";
  default: return "other";
  }
}

static void cost_add(c_cost_t *acc, const c_cost_t *c) {
  acc->append_seconds += c->append_seconds;
  acc->close_seconds += c->close_seconds;
  acc->calls += c->calls, acc->blocks += c->blocks, acc->bytes += c->bytes;
  acc->crypto.hash_seconds += c->crypto.hash_seconds;
  acc->crypto.helper_hash_seconds += c->crypto.helper_hash_seconds;
  acc->crypto.sign_seconds += c->crypto.sign_seconds;
  acc->crypto.hash_calls += c->crypto.hash_calls;
  acc->crypto.sign_calls += c->crypto.sign_calls;
  acc->crypto.hash_bytes += c->crypto.hash_bytes;
  for (int op = 0; op < TIMED_OP_COUNT; op++)
    for (int f = 0; f < UNICHAIN_FILE_COUNT; f++) {
      acc->io.seconds[op][f] += c->io.seconds[op][f];
      acc->io.calls[op][f] += c->io.calls[op][f];
      acc->io.bytes[op][f] += c->io.bytes[op][f];
    }
}

/* Sum of n runs -> average of one. */
static void cost_scale(c_cost_t *c, int n) {
  double d = n;
  uint64_t u = (uint64_t)n;
  c->append_seconds /= d, c->close_seconds /= d;
  c->calls /= u, c->blocks /= u, c->bytes /= u;
  c->crypto.hash_seconds /= d, c->crypto.sign_seconds /= d, c->crypto.helper_hash_seconds /= d;
  c->crypto.hash_calls /= u, c->crypto.sign_calls /= u, c->crypto.hash_bytes /= u;
  for (int op = 0; op < TIMED_OP_COUNT; op++)
    for (int f = 0; f < UNICHAIN_FILE_COUNT; f++) {
      c->io.seconds[op][f] /= d;
      c->io.calls[op][f] /= u;
      c->io.bytes[op][f] /= u;
    }
}

static void usage(void) {
  printf("usage: bench_append [--batches N] [--singles N] [--runs R] [--dir DIR] [--no-js] [--quick]\n"
         "  --batches N  batches of 1,024 x 64 KiB blocks per run of (a) (default 4 = 256 MiB)\n"
         "  --singles N  appends per run of (b), for each block size (default 20000)\n"
         "  --runs R     runs per figure; the median is printed (default 3)\n"
         "  --dir DIR    where the disk runs write (default $TMPDIR or /var/tmp)\n"
         "  --no-js      do not run the JS side (JS: n/a)\n"
         "  --quick      --batches 1 --singles 2000 --runs 1\n"
         "Environment: NODE (node executable), CHAINSTORE_JS_DIR (interop/js with node_modules).\n");
}

static void parse_args(int argc, char **argv, config_t *cfg) {
  *cfg = (config_t){.batches = 4, .singles = 20000, .runs = 3};
  const char *tmp = getenv("TMPDIR");
  cfg->dir = tmp != NULL && tmp[0] != '\0' ? tmp : "/var/tmp";
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    bool has_value = i + 1 < argc;
    if (strcmp(a, "--batches") == 0 && has_value)
      cfg->batches = atoi(argv[++i]);
    else if (strcmp(a, "--singles") == 0 && has_value)
      cfg->singles = atoi(argv[++i]);
    else if (strcmp(a, "--runs") == 0 && has_value)
      cfg->runs = atoi(argv[++i]);
    else if (strcmp(a, "--dir") == 0 && has_value)
      cfg->dir = argv[++i];
    else if (strcmp(a, "--no-js") == 0)
      cfg->no_js = true;
    else if (strcmp(a, "--quick") == 0)
      cfg->batches = 1, cfg->singles = 2000, cfg->runs = 1;
    else {
      usage();
      exit(strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0 ? 0 : 2);
    }
  }
  if (cfg->batches < 1 || cfg->singles < 1 || cfg->runs < 1 || cfg->runs > MAX_RUNS) {
    fprintf(stderr, "bench_append: --batches and --singles >= 1, --runs 1..%d\n", MAX_RUNS);
    exit(2);
  }
}

static const char *build_note(void) {
#if defined(__SANITIZE_ADDRESS__)
  return "WARNING: built with sanitizers, figures are not representative";
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
  return "WARNING: built with sanitizers, figures are not representative";
#endif
#endif
#ifndef __OPTIMIZE__
  return "WARNING: built without optimisation, figures are not representative";
#else
  return "optimised, no sanitizers";
#endif
}

int main(int argc, char **argv) {
  config_t cfg;
  parse_args(argc, argv, &cfg);
  if (crypto_timing_init() != 0) {
    fprintf(stderr, "bench_append: libsodium's functions not found (is it linked as a shared library?)\n");
    return 1;
  }
  if (sodium_init() < 0)
    die("sodium_init", CHAINSTORE_ECRYPTO);
  pool = malloc(POOL_BYTES);
  if (pool == NULL)
    die("malloc", CHAINSTORE_ENOMEM);
  randombytes_buf(pool, POOL_BYTES);

  if ((size_t)snprintf(base_dir, sizeof base_dir, "%s/bench_append.XXXXXX", cfg.dir) >= sizeof base_dir) {
    fprintf(stderr, "bench_append: --dir path too long\n");
    return 2;
  }
  if (mkdtemp(base_dir) == NULL)
    die(base_dir, 0);
  char js_dir[PATH_MAX];
  snprintf(js_dir, sizeof js_dir, "%s/js", base_dir);
  mkdir(js_dir, 0700);

  const char *modules = getenv("CHAINSTORE_JS_DIR");
  js_runner_t js = {
      .node = getenv("NODE") != NULL ? getenv("NODE") : "node",
      .script = BENCH_APPEND_JS,
      .modules = modules != NULL && modules[0] != '\0' ? modules : BENCH_JS_MODULES,
  };
  const char *why = "--no-js";
  bool have_js = !cfg.no_js && js_runner_available(&js, &why);

  printf("bench_append: one Unichain, C (libchainstore) vs JS vs bound (libsodium), same run\n");
  printf("  build: %s\n", build_note());
  printf("  per run: (a) %d x 1,024 x 64 KiB = %d MiB; (b) %d appends per block size; median of %d run(s)\n",
         cfg.batches, cfg.batches * 64, cfg.singles, cfg.runs);
  printf("  disk: %s (%s); the C storage %s\n", base_dir, fs_name(base_dir),
         "calls are timed; disk figures include the page cache, not the device");
  fflush(stdout);

  unit_costs_t units = {0};
  /* Per run r: v_bound[w][r], v_c[k][w][r], v_js[k][w][r] (the JS may fail some runs). */
  static double v_bound[W_COUNT][MAX_RUNS], v_c[2][W_COUNT][MAX_RUNS], v_js[2][W_COUNT][MAX_RUNS];
  int js_ok[2] = {0, 0};
  double bound[W_COUNT], c[2][W_COUNT], jsr[2][W_COUNT];
  static c_cost_t cost_sum[2][W_COUNT];
  char js_versions[128] = "";

  /* The runs interleave bound, C and JS, so that a change in the machine's
   * load hits all three alike. */
  for (int r = 0; r < cfg.runs; r++) {
    for (workload_t w = 0; w < W_COUNT; w++)
      v_bound[w][r] = bound_run(w, &cfg, &units);
    for (store_kind_t k = STORE_RAM; k <= STORE_DISK; k++)
      for (workload_t w = 0; w < W_COUNT; w++) {
        c_cost_t cost;
        v_c[k][w][r] = c_run(k, w, &cfg, &cost);
        cost_add(&cost_sum[k][w], &cost);
      }
    for (store_kind_t k = STORE_RAM; k <= STORE_DISK && have_js; k++) {
      js_result_t res;
      if (js_runner_run(&js, store_names[k], js_dir, cfg.batches, cfg.singles, cfg.singles, &res) != 0)
        continue;
      v_js[k][W_BATCH][js_ok[k]] = res.batch_mbps;
      v_js[k][W_SINGLE_4K][js_ok[k]] = res.single4k_aps;
      v_js[k][W_SINGLE_512][js_ok[k]] = res.single512_aps;
      js_ok[k]++;
      snprintf(js_versions, sizeof js_versions, "%s", res.versions);
      rm_tree(js_dir);
      mkdir(js_dir, 0700);
    }
    fprintf(stderr, "bench_append: run %d of %d done\n", r + 1, cfg.runs);
  }
  for (workload_t w = 0; w < W_COUNT; w++) {
    bound[w] = median(v_bound[w], cfg.runs);
    for (store_kind_t k = STORE_RAM; k <= STORE_DISK; k++) {
      c[k][w] = median(v_c[k][w], cfg.runs);
      jsr[k][w] = js_ok[k] > 0 ? median(v_js[k][w], js_ok[k]) : -1;
    }
  }
  if (have_js && js_ok[0] + js_ok[1] == 0)
    why = "append.js failed (see its error above)";

  printf("  JS: %s\n\n", have_js && js_versions[0] ? js_versions : why);
  printf("%-5s %-22s %-10s %10s %10s %10s %8s %8s %8s\n", "store", "workload", "unit", "C", "JS", "bound", "C/bound",
         "JS/bound", "C/JS");
  for (store_kind_t k = STORE_RAM; k <= STORE_DISK; k++)
    for (workload_t w = 0; w < W_COUNT; w++)
      print_row(k, w, c[k][w], jsr[k][w], bound[w]);
  printf("\nbound (a) = BLAKE2b-256 over the block bytes only; bound (b) = one BLAKE2b-256 of the block + one\n"
         "Ed25519 signature per append (%.1f us per signature, %.2f us per 4 KiB hash). Disk has the same bound.\n",
         units.sign_seconds * 1e6, units.hash_seconds_per_block[W_SINGLE_4K] * 1e6);

  printf("\nwhere the C time goes (average of %d run(s); hashing, signing and storage calls timed with\n"
         "clock_gettime; \"rest\" = everything else the library does; the library hashes the leaves of a\n"
         "batch of 4 MiB or more on two threads, so (a) may use two cores while its bound uses one):\n", cfg.runs);
  for (store_kind_t k = STORE_DISK;; k = STORE_RAM) {
    for (workload_t w = 0; w < W_COUNT; w++) {
      cost_scale(&cost_sum[k][w], cfg.runs);
      print_breakdown(k, w, &cost_sum[k][w]);
    }
    if (k == STORE_RAM)
      break;
  }

  rm_tree(base_dir);
  free(pool);
  return 0;
}
