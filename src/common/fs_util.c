#include "common/fs_util.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <limits.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include "chainstore/error.h"

int fs_error_from_errno(int e) {
  /* ENOTDIR stays "not a directory": a file where a directory belongs is
   * not a missing file. */
  return chainstore_error_from_errno(e);
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
    if (stat(path, &st) != 0) result = fs_error_from_errno(errno);
    else if (!S_ISDIR(st.st_mode)) result = CHAINSTORE_ENOTDIR;
  }
  free(p);
  return result;
}

int fs_pwritev_all(int fd, uint64_t offset, const unichain_buf_t *bufs, size_t n) {
  struct iovec iov[IOV_MAX];
  size_t next = 0; /* first buffer not fully written */
  size_t skip = 0; /* bytes of bufs[next] already written */
  uint64_t total = 0;

  for (size_t i = 0; i < n; i++)
    total += bufs[i].len;
  if (offset > (uint64_t)INT64_MAX || total > (uint64_t)INT64_MAX - offset)
    return CHAINSTORE_EINVAL;
  while (next < n) {
    int cnt = 0;
    for (size_t i = next; i < n && cnt < IOV_MAX; i++) {
      size_t off = i == next ? skip : 0;
      if (bufs[i].len - off == 0)
        continue;
      iov[cnt].iov_base = (uint8_t *)bufs[i].base + off;
      iov[cnt].iov_len = bufs[i].len - off;
      cnt++;
    }
    if (cnt == 0)
      break;
    ssize_t w = pwritev(fd, iov, cnt, (off_t)offset);
    if (w < 0) {
      if (errno == EINTR)
        continue;
      return fs_error_from_errno(errno);
    }
    offset += (uint64_t)w;
    size_t left = (size_t)w;
    while (next < n) {
      size_t rest = bufs[next].len - skip;
      if (left < rest) {
        skip += left;
        break;
      }
      left -= rest;
      next++;
      skip = 0;
    }
  }
  return 0;
}

int fs_pread_all(int fd, uint64_t offset, void *buf, size_t len, size_t *got) {
  size_t done = 0;
  while (done < len && offset + done <= (uint64_t)INT64_MAX) {
    ssize_t n = pread(fd, (uint8_t *)buf + done, len - done, (off_t)(offset + done));
    if (n < 0) {
      if (errno == EINTR) continue;
      return fs_error_from_errno(errno);
    }
    if (n == 0) break;
    done += (size_t)n;
  }
  *got = done;
  return 0;
}
