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
