#include "chainstore/error.h"

const char *chainstore_strerror(int err) {
  switch (err) {
  case 0:
    return "success";
#define XX(name, value, msg)                                                   \
  case value:                                                                  \
    return msg;
    CHAINSTORE_ERRNO_MAP(XX)
#undef XX
  default:
    return "unknown error";
  }
}

const char *chainstore_err_name(int err) {
  switch (err) {
  case 0:
    return "CHAINSTORE_OK";
#define XX(name, value, msg)                                                   \
  case value:                                                                  \
    return "CHAINSTORE_" #name;
    CHAINSTORE_ERRNO_MAP(XX)
#undef XX
  default:
    return "CHAINSTORE_UNKNOWN";
  }
}

#include <errno.h>

int chainstore_error_from_errno(int e) {
  if (e < 0) e = -e;
  switch (e) {
  case 0:
    return 0;
  case ENOENT:
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
  case ETIMEDOUT:
    return CHAINSTORE_ETIMEDOUT;
  case ECANCELED:
    return CHAINSTORE_ECANCELED;
  case EROFS:
    return CHAINSTORE_EROFS;
  case ENOSPC:
    return CHAINSTORE_ENOSPC;
  case ENOTDIR:
    return CHAINSTORE_ENOTDIR;
  case EACCES:
  case EPERM:
    return CHAINSTORE_EACCES;
  case ECONNREFUSED:
    return CHAINSTORE_ECONNREFUSED;
  case EADDRINUSE:
    return CHAINSTORE_EADDRINUSE;
  case EDQUOT:
    return CHAINSTORE_EDQUOT;
  case ECONNRESET:
    return CHAINSTORE_ECONNRESET;
  case ENETUNREACH:
    return CHAINSTORE_ENETUNREACH;
  case EHOSTUNREACH:
    return CHAINSTORE_EHOSTUNREACH;
  case EADDRNOTAVAIL:
    return CHAINSTORE_EADDRNOTAVAIL;
  case EISDIR:
    return CHAINSTORE_EISDIR;
  case EMFILE:
  case ENFILE:
    return CHAINSTORE_EMFILE;
  case EPIPE:
    return CHAINSTORE_EPIPE;
  case ENAMETOOLONG:
    return CHAINSTORE_ENAMETOOLONG;
  default:
    return CHAINSTORE_EIO;
  }
}
