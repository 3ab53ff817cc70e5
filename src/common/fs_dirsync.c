#include "common/fs_dirsync.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "chainstore/error.h"
#include "common/fs_util.h"

int fs_sync_dir(const char *path) {
  int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return fs_error_from_errno(errno);
  int err = 0;
  /* EINVAL: a file system that cannot sync directories (nothing to do). */
  if (fsync(fd) != 0 && errno != EINVAL) err = fs_error_from_errno(errno);
  close(fd);
  return err;
}

/* The deepest existing prefix of `path` (a copy), or NULL when all exists. */
static char *existing_ancestor(const char *path) {
  struct stat st;
  if (stat(path, &st) == 0) return NULL;
  char *p = strdup(path);
  if (p == NULL) return NULL;
  for (;;) {
    char *slash = strrchr(p, '/');
    if (slash == NULL) {
      strcpy(p, ".");
      return p;
    }
    if (slash == p) {
      p[1] = 0; /* "/" */
      return p;
    }
    *slash = 0;
    if (stat(p, &st) == 0) return p;
  }
}

int fs_dirsync_init(fs_dirsync_t *ds, const char *dir, bool make) {
  memset(ds, 0, sizeof *ds);
  if ((ds->dir = strdup(dir)) == NULL) return CHAINSTORE_ENOMEM;
  if (!make) return 0;
  ds->made_from = existing_ancestor(dir);
  int err = fs_make_dirs(dir);
  if (err != 0) fs_dirsync_free(ds);
  return err;
}

int fs_dirsync_run(fs_dirsync_t *ds) {
  int err;
  if (ds->dir == NULL || (!ds->dirty && ds->made_from == NULL)) return 0;
  if ((err = fs_sync_dir(ds->dir)) != 0) return err;
  ds->dirty = false;
  if (ds->made_from == NULL) return 0;
  /* Each directory we made is an entry of its parent: sync up to the
   * ancestor that existed. */
  char *p = strdup(ds->dir);
  if (p == NULL) return CHAINSTORE_ENOMEM;
  for (int guard = 0; err == 0 && guard < 4096; guard++) {
    char *slash = strrchr(p, '/');
    if (slash == NULL) strcpy(p, ".");
    else if (slash == p) p[1] = 0;
    else *slash = 0;
    err = fs_sync_dir(p);
    if (strcmp(p, ds->made_from) == 0 || slash == NULL || slash == p) break;
  }
  free(p);
  if (err == 0) {
    free(ds->made_from);
    ds->made_from = NULL;
  }
  return err;
}

void fs_dirsync_free(fs_dirsync_t *ds) {
  free(ds->dir);
  free(ds->made_from);
  ds->dir = ds->made_from = NULL;
}
