/* The store's locks (see store_files.h) and the descriptor pool of a
 * directory store. */
#include "store/store_files.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "chainstore/chainstore.h"
#include "common/fs_util.h"

struct store_files_s {
  int dir_fd;     /* the writer lock (writers only) */
  int readers_fd; /* `master_key`: the readers' lock, -1 when not taken */
  store_fdpool_t *pool;
};

/* Opens DIR/master_key for its lock: -1 with *err 0 when there is none. */
static int open_readers_lock(const char *dir, int *err) {
  char path[PATH_MAX];
  *err = 0;
  if (snprintf(path, sizeof path, "%s/%s", dir, CHAINSTORE_MASTER_KEY_FILE) >= (int)sizeof path) {
    *err = CHAINSTORE_EINVAL;
    return -1;
  }
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0 && errno != ENOENT) *err = fs_error_from_errno(errno);
  return fd;
}

static int lock_nb(int fd, int op) {
  while (flock(fd, op | LOCK_NB) != 0) {
    if (errno == EINTR) continue;
    return errno == EWOULDBLOCK ? CHAINSTORE_EBUSY : fs_error_from_errno(errno);
  }
  return 0;
}

static void files_free(store_files_t *f) {
  store_fdpool_free(f->pool);
  if (f->readers_fd >= 0) close(f->readers_fd); /* drops its lock */
  if (f->dir_fd >= 0) close(f->dir_fd);
  free(f);
}

static int files_open(store_files_t **out, const char *dir, bool read_only, bool exclusive) {
  int err = 0;

  if (out == NULL || dir == NULL) return CHAINSTORE_EINVAL;
  store_files_t *f = calloc(1, sizeof *f);
  if (f == NULL) return CHAINSTORE_ENOMEM;
  f->readers_fd = -1;
  f->dir_fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (f->dir_fd < 0) {
    err = fs_error_from_errno(errno);
    free(f);
    return err;
  }
  /* Readers take only the readers' lock (shared): a writer starts beside
   * them. A writer takes the writer lock; an exclusive one also the
   * readers' lock, exclusively, and only once it is the writer. */
  if (!read_only) err = lock_nb(f->dir_fd, LOCK_EX);
  if (err == 0 && (read_only || exclusive)) {
    f->readers_fd = open_readers_lock(dir, &err);
    if (f->readers_fd >= 0) err = lock_nb(f->readers_fd, read_only ? LOCK_SH : LOCK_EX);
  }
  if (err == 0) err = store_fdpool_new(&f->pool, STORE_FILES_DEFAULT_LIMIT);
  if (err != 0) {
    files_free(f);
    return err;
  }
  store_fdpool_set_read_only(f->pool, read_only);
  *out = f;
  return 0;
}

int store_files_open(store_files_t **out, const char *dir, bool exclusive) {
  return files_open(out, dir, false, exclusive);
}

int store_files_open_read_only(store_files_t **out, const char *dir) { return files_open(out, dir, true, false); }

void store_files_close(store_files_t *files) {
  if (files != NULL) files_free(files);
}

int store_files_storage(store_files_t *files, const char *chain_dir, unichain_storage_t *out) {
  return store_fdpool_storage(files->pool, chain_dir, out);
}

store_fdpool_t *store_files_pool(store_files_t *files) { return files->pool; }

int store_lock_find(dev_t dev, ino_t ino, bool writers_only, long *pid, bool *writing) {
  char line[256];
  int found = CHAINSTORE_ENOENT;

  FILE *f = fopen("/proc/locks", "re");
  if (f == NULL) return CHAINSTORE_EIO;
  /* "1: FLOCK  ADVISORY  WRITE 1234 fd:01:5678 0 EOF" */
  while (found != 0 && fgets(line, sizeof line, f) != NULL) {
    char kind[16], mode[16], access[16];
    unsigned maj, min;
    unsigned long long lino;
    long lpid;
    if (strstr(line, "->") != NULL) continue; /* a waiter */
    if (sscanf(line, "%*[^:]: %15s %15s %15s %ld %x:%x:%llu", kind, mode, access, &lpid, &maj, &min, &lino) != 7)
      continue;
    if (strcmp(kind, "FLOCK") != 0 || lino != (unsigned long long)ino || maj != major(dev) || min != minor(dev))
      continue;
    bool w = strcmp(access, "WRITE") == 0;
    if (writers_only && !w) continue;
    *pid = lpid;
    *writing = w;
    found = 0;
  }
  fclose(f);
  return found;
}

bool store_files_writer_active(const store_files_t *files) {
  struct stat st;
  long pid;
  bool writing;
  if (fstat(files->dir_fd, &st) != 0) return true;
  /* Unknown (no /proc): as if one were, so that a reader never reports
   * a writer's unfinished batch as damage. */
  return store_lock_find(st.st_dev, st.st_ino, true, &pid, &writing) != CHAINSTORE_ENOENT;
}
