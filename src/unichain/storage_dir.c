/* Storage in a directory: one file per unichain_file_t, opened on first use
 * and kept open (pread/pwrite, no per-call open/close). A read of a file that
 * does not exist is CHAINSTORE_ENOENT and creates nothing; writes create the
 * file. The bitfield file is flock()ed, exclusively, like random-access-file's
 * `lock` option does for hypercore, so that two writers of one chain cannot
 * corrupt it; the lock is taken by the first write, so that readers (who
 * never write) open beside a writer.
 * `sync` also fsyncs the directory when it created a file or directory. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include "common/fs_dirsync.h"
#include "common/fs_util.h"

#include "unichain/chain.h"

typedef struct {
  char *dir;
  fs_dirsync_t dsync; /* names of new files and directories, synced with them */
  int fds[UNICHAIN_FILE_COUNT];
  bool read_only[UNICHAIN_FILE_COUNT]; /* opened O_RDONLY (no write permission) */
  bool locked;                         /* holds the writer lock on `bitfield` */
} dir_storage_t;

/* The fd of `file`, opening it (and creating it when `create`). */
static int open_file(dir_storage_t *ds, unichain_file_t file, bool create, int *fd_out) {
  char path[PATH_MAX];
  int fd, flags = O_RDWR | O_CLOEXEC;

  if ((unsigned)file >= UNICHAIN_FILE_COUNT) return CHAINSTORE_EINVAL;
  if (ds->fds[file] >= 0) {
    /* Opened read-only because we lack write permission: writes fail. */
    if (create && ds->read_only[file]) return CHAINSTORE_EIO;
    *fd_out = ds->fds[file];
    return 0;
  }
  if (snprintf(path, sizeof path, "%s/%s", ds->dir, unichain_file_name(file)) >= (int)sizeof path)
    return CHAINSTORE_EINVAL;
  fd = open(path, flags);
  if (fd < 0 && create && errno == ENOENT) {
    fd = open(path, flags | O_CREAT, file == UNICHAIN_FILE_SECRET_KEY ? 0600 : 0666);
    if (fd >= 0) ds->dsync.dirty = true;
  }
  if (fd < 0 && !create && (errno == EACCES || errno == EROFS)) {
    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd >= 0) ds->read_only[file] = true;
  }
  if (fd < 0) return fs_error_from_errno(errno);
  ds->fds[file] = fd;
  *fd_out = fd;
  return 0;
}

/* Before the first write of any file: the writer lock, so that a second
 * writer fails before it changes anything. */
static int writer_lock(dir_storage_t *ds) {
  int fd, err;
  if (ds->locked) return 0;
  if ((err = open_file(ds, UNICHAIN_FILE_BITFIELD, true, &fd)) != 0) return err;
  while (flock(fd, LOCK_EX | LOCK_NB) != 0) {
    if (errno != EINTR) return fs_error_from_errno(errno);
  }
  ds->locked = true;
  return 0;
}

static int dir_read(void *ctx, unichain_file_t file, uint64_t offset, void *buf, size_t len, size_t *got) {
  dir_storage_t *ds = ctx;
  size_t done = 0;
  int fd, err;

  *got = 0;
  err = open_file(ds, file, false, &fd);
  if (err != 0) return err;
  if ((err = fs_pread_all(fd, offset, buf, len, &done)) != 0) return err;
  if (done < len) memset((uint8_t *)buf + done, 0, len - done);
  *got = done;
  return 0;
}

static int dir_write(void *ctx, unichain_file_t file, uint64_t offset, const void *buf, size_t len) {
  dir_storage_t *ds = ctx;
  size_t done = 0;
  int fd, err;

  if (offset > (uint64_t)INT64_MAX || len > (uint64_t)INT64_MAX - offset) return CHAINSTORE_EINVAL;
  if ((err = writer_lock(ds)) != 0) return err;
  err = open_file(ds, file, true, &fd);
  if (err != 0) return err;
  while (done < len) {
    ssize_t n = pwrite(fd, (const uint8_t *)buf + done, len - done, (off_t)(offset + done));
    if (n < 0) {
      if (errno == EINTR) continue;
      return fs_error_from_errno(errno);
    }
    done += (size_t)n;
  }
  return 0;
}

static int dir_writev(void *ctx, unichain_file_t file, uint64_t offset, const unichain_buf_t *bufs, size_t n) {
  dir_storage_t *ds = ctx;
  uint64_t total = 0;
  int fd, err;

  /* Checked before the file is opened, so a bad write creates nothing. */
  for (size_t i = 0; i < n; i++) total += bufs[i].len;
  if (offset > (uint64_t)INT64_MAX || total > (uint64_t)INT64_MAX - offset) return CHAINSTORE_EINVAL;
  if ((err = writer_lock(ds)) != 0) return err;
  err = open_file(ds, file, true, &fd);
  if (err != 0) return err;
  return fs_pwritev_all(fd, offset, bufs, n);
}

static int dir_truncate(void *ctx, unichain_file_t file, uint64_t size) {
  dir_storage_t *ds = ctx;
  int fd, err;

  if (size > (uint64_t)INT64_MAX) return CHAINSTORE_EINVAL;
  if ((err = writer_lock(ds)) != 0) return err;
  err = open_file(ds, file, true, &fd);
  if (err != 0) return err;
  while (ftruncate(fd, (off_t)size) != 0) {
    if (errno != EINTR) return fs_error_from_errno(errno);
  }
  return 0;
}

static int dir_size(void *ctx, unichain_file_t file, uint64_t *size) {
  dir_storage_t *ds = ctx;
  struct stat st;
  int fd, err;

  err = open_file(ds, file, false, &fd);
  if (err != 0) return err;
  if (fstat(fd, &st) != 0) return fs_error_from_errno(errno);
  *size = (uint64_t)st.st_size;
  return 0;
}

static int dir_sync(void *ctx) {
  dir_storage_t *ds = ctx;
  int result = 0;

  for (int i = 0; i < UNICHAIN_FILE_COUNT; i++) {
    if (ds->fds[i] >= 0 && !ds->read_only[i] && fdatasync(ds->fds[i]) != 0) result = fs_error_from_errno(errno);
  }
  if (result == 0) result = fs_dirsync_run(&ds->dsync);
  return result;
}

static void dir_destroy(void *ctx) {
  dir_storage_t *ds = ctx;

  for (int i = 0; i < UNICHAIN_FILE_COUNT; i++) {
    if (ds->fds[i] >= 0) close(ds->fds[i]); /* also drops the flock */
  }
  free(ds->dir);
  fs_dirsync_free(&ds->dsync);
  free(ds);
}

static const unichain_storage_ops_t dir_ops = {
    .read = dir_read,
    .write = dir_write,
    .truncate = dir_truncate,
    .size = dir_size,
    .sync = dir_sync,
    .destroy = dir_destroy,
    .writev = dir_writev,
};

int unichain_storage_dir(unichain_storage_t *out, const char *dir) {
  dir_storage_t *ds;
  int err;

  if (out == NULL || dir == NULL || *dir == 0) return CHAINSTORE_EINVAL;
  ds = calloc(1, sizeof *ds);
  if (ds == NULL) return CHAINSTORE_ENOMEM;
  if ((err = fs_dirsync_init(&ds->dsync, dir, true)) != 0) {
    free(ds);
    return err;
  }
  ds->dir = strdup(dir);
  if (ds->dir == NULL) {
    fs_dirsync_free(&ds->dsync);
    free(ds);
    return CHAINSTORE_ENOMEM;
  }
  for (int i = 0; i < UNICHAIN_FILE_COUNT; i++) ds->fds[i] = -1;
  out->ops = &dir_ops;
  out->ctx = ds;
  return 0;
}
