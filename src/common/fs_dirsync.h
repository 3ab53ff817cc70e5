/* Durable directory entries. fdatasync of a new file makes its bytes
 * durable, not its name: after a crash the file (or the chain directory
 * holding it) may be gone although its data reached the disk. A backend
 * notes what it created here and syncs the directories before it reports
 * the writes durable. */
#ifndef CHAINSTORE_FS_DIRSYNC_H
#define CHAINSTORE_FS_DIRSYNC_H

#include <stdbool.h>

typedef struct {
  char *dir;       /* the directory whose entries are tracked */
  char *made_from; /* deepest ancestor that existed before we made `dir`, or NULL */
  bool dirty;      /* an entry of `dir` (a file) was created since the last sync */
} fs_dirsync_t;

/* mkdir -p `dir` (unless `make` is false), remembering which directories it
 * created. 0 or a CHAINSTORE_E* code; `ds` is cleared first. */
int fs_dirsync_init(fs_dirsync_t *ds, const char *dir, bool make);

/* fsync of `dir` when a file was created in it, and of every directory
 * from `dir` up to made_from when we created directories. */
int fs_dirsync_run(fs_dirsync_t *ds);

void fs_dirsync_free(fs_dirsync_t *ds);

/* fsync of the directory at `path` (O_RDONLY | O_DIRECTORY). */
int fs_sync_dir(const char *path);

#endif
