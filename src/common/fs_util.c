#include "common/fs_util.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "chainstore/error.h"

int fs_error_from_errno(int e) {
  switch (e) {
  case ENOENT:
  case ENOTDIR:
    return CHAINSTORE_ENOENT;
  case ENOMEM:
    return CHAINSTORE_ENOMEM;
  case EEXIST:
    return CHAINSTORE_EEXIST;
  case EWOULDBLOCK:
    return CHAINSTORE_EBUSY;
  case EINVAL:
  case EFBIG:
  case EOVERFLOW:
    return CHAINSTORE_EINVAL;
  default:
    return CHAINSTORE_EIO;
  }
}

int fs_make_dirs(const char *path) {
  char *p = strdup(path);
  int result = 0;

  if (p == NULL)
    return CHAINSTORE_ENOMEM;
  for (char *s = p + 1;; s++) {
    char c = *s;
    if (c != '/' && c != 0)
      continue;
    *s = 0;
    if (mkdir(p, 0755) != 0 && errno != EEXIST) {
      result = fs_error_from_errno(errno);
      break;
    }
    *s = c;
    if (c == 0)
      break;
  }
  if (result == 0) {
    struct stat st;
    if (stat(path, &st) != 0 || !S_ISDIR(st.st_mode))
      result = CHAINSTORE_EIO;
  }
  free(p);
  return result;
}
