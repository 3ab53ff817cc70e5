/* File-system helpers shared by the storage backends (unichain's directory
 * storage and the store's descriptor pool). */
#ifndef CHAINSTORE_FS_UTIL_H
#define CHAINSTORE_FS_UTIL_H

/* The CHAINSTORE_E* code for an errno value from a file operation. */
int fs_error_from_errno(int e);

/* mkdir -p: creates `path` and its missing parents (mode 0755); 0 when it is
 * a directory afterwards. */
int fs_make_dirs(const char *path);

#endif
