/* Error codes shared by every module of libchainstore.
 *
 * Every fallible call returns 0 on success or one of the negative codes below.
 * chainstore_strerror() gives a human-readable message for any code. Codes are
 * grouped by module so that a code says where a failure was detected; the
 * numeric values are part of the ABI and never change once released. */
#ifndef CHAINSTORE_ERROR_H
#define CHAINSTORE_ERROR_H

#ifdef __cplusplus
extern "C" {
#endif

#define CHAINSTORE_ERRNO_MAP(XX)                                                       \
  /* generic */                                                                       \
  XX(EINVAL, -1, "invalid argument")                                                  \
  XX(ENOMEM, -2, "out of memory")                                                     \
  XX(EIO, -3, "input/output error")                                                   \
  XX(ENOENT, -4, "no such file or entry")                                             \
  XX(EEXIST, -5, "already exists")                                                    \
  XX(ECLOSED, -6, "handle is closed")                                                 \
  XX(ETIMEDOUT, -7, "timed out")                                                      \
  XX(ECANCELED, -8, "operation cancelled")                                            \
  XX(ELIMIT, -9, "a documented limit was exceeded")                                   \
  XX(EBUSY, -10, "resource busy or locked")                                           \
  XX(ENOTSUP, -11, "operation not supported")                                         \
  XX(ECRYPTO, -12, "cryptographic library failure")                                   \
  XX(EPROFILE, -13, "network profile does not match the store")                       \
  XX(EAGAIN, -14, "try again later")                                                  \
  /* the system's cause of a failed call, kept (chainstore_error_from_errno) */       \
  XX(EROFS, -50, "read-only file system")                                             \
  XX(ENOSPC, -51, "no space left on device")                                          \
  XX(ENOTDIR, -52, "not a directory")                                                 \
  XX(EACCES, -53, "permission denied")                                                \
  XX(ECONNREFUSED, -54, "connection refused")                                         \
  XX(EADDRINUSE, -55, "address already in use")                                       \
  XX(EDQUOT, -56, "disk quota exceeded")                                              \
  XX(ECONNRESET, -57, "connection reset by peer")                                     \
  XX(ENETUNREACH, -58, "network is unreachable")                                      \
  XX(EHOSTUNREACH, -59, "no route to host")                                           \
  XX(EADDRNOTAVAIL, -60, "address not available")                                     \
  XX(EISDIR, -61, "is a directory")                                                   \
  XX(EMFILE, -62, "too many open files")                                              \
  XX(EPIPE, -63, "broken pipe")                                                       \
  XX(ENAMETOOLONG, -64, "file name too long")                                         \
  /* unichain (log, storage) */                                                       \
  XX(ECORRUPT, -100, "stored data is damaged")                                        \
  XX(EANOTHER, -101, "Another unichain is stored here")                               \
  XX(ENOCHAIN, -102, "No unichain is stored here")                                    \
  XX(ENOTWRITABLE, -103, "Feed is not writable")                                      \
  XX(EBLOCKSIZE, -104, "Individual blocks has be less than 8MB")                      \
  XX(ENOTDOWNLOADED, -105, "Block not downloaded")                                    \
  XX(ENOSIGNATURE, -106, "No signature available for this index")                     \
  XX(EBADSIGNATURE, -107, "Signature verification failed")                            \
  XX(ENOPROOF, -108, "No proof available for this index")                             \
  XX(ENONODE, -109, "No node found")                                                  \
  XX(EDATASIZE, -110, "Unexpected data size")                                         \
  XX(EMISSINGROOTS, -111, "Missing tree roots needed for verify")                     \
  XX(EREMOTENOSIG, -112, "Remote did not include a signature")                        \
  XX(EREMOTESIG, -113, "Remote signature could not be verified")                      \
  XX(ECHECKSUM, -114, "Remote checksum failed")                                       \
  XX(EEMPTY, -115, "feed is empty")                                                   \
  XX(ENOTAVAILABLE, -116, "Block not available from peers")                           \
  XX(ENOUPDATE, -117, "No update available from peers")                               \
  XX(EKEYMISMATCH, -118, "secret key does not match the public key")                  \
  XX(EDISAGREE, -119, "the chain's files disagree (run 'chainstore verify' for details)") \
  XX(EFORK, -120, "a signed tree conflicts with the stored one (a fork): refused")   \
  XX(EBADBLOCK, -121, "stored block does not match its hash")                         \
  XX(EREADONLY, -122, "opened read-only")                                             \
  XX(EUNLINKED, -123, "a proof's roots cover stored blocks without linking to them")  \
  /* chainstore (store of chains) */                                                  \
  XX(EBADNAME, -200, "Stored an incorrect name.")                                     \
  XX(ENOTREADY, -201, "Chainstore.ready must be called before get.")                  \
  XX(EDEFAULTNAME, -202, "If the default option is set, a name must be specified.")   \
  XX(EMASTERKEY, -203, "master_key is missing or not 32 bytes (it is never replaced)") \
  /* bitprotocol (stream) */                                                          \
  XX(EPROTO, -300, "protocol violation by the remote peer")                           \
  XX(EHANDSHAKE, -301, "Noise handshake failed")                                      \
  XX(EDECRYPT, -302, "stream decryption failed")                                      \
  XX(EFRAMESIZE, -303, "frame larger than the maximum frame size")                    \
  XX(EBADMESSAGE, -304, "malformed message")                                          \
  XX(ECAPABILITY, -305, "Invalid remote channel capability")                          \
  XX(ECHANNELS, -306, "too many open channels")                                       \
  XX(EEXTENSIONS, -307, "too many extensions")                                        \
  XX(EREJECTED, -308, "remote peer rejected by authentication")                       \
  XX(EIDLE, -309, "remote timed out")                                                 \
  XX(EDESTROYED, -310, "stream destroyed")                                            \
  /* utp (uTP connections) */                                                        \
  XX(EUTPRESET, -600, "uTP connection reset by the peer")                             \
  XX(EUTPREFUSED, -601, "uTP connection refused by the peer")                         \
  /* dht */                                                                           \
  XX(EDHTMSG, -400, "malformed DHT message")                                          \
  XX(EDHTTOKEN, -401, "invalid DHT roundtrip token")                                  \
  XX(EDHTNOCMD, -402, "unknown DHT command")                                          \
  XX(EDHTBOOTSTRAP, -403, "DHT bootstrap failed")                                    \
  XX(EDHTNORESPONSE, -404, "No nodes responded")                                      \
  XX(EDHTNOCLOSE, -405, "No close nodes responded")

typedef enum {
#define CHAINSTORE_XX_(name, value, msg) CHAINSTORE_##name = (value),
  CHAINSTORE_ERRNO_MAP(CHAINSTORE_XX_)
#undef CHAINSTORE_XX_
  CHAINSTORE_OK = 0
} chainstore_errno_t;

/* Message for an error code; never NULL. Unknown codes give "unknown error". */
const char *chainstore_strerror(int err);

/* The CHAINSTORE_E* code for an errno value (or a negated one, as libuv
 * gives), keeping the system's cause where a code exists for it; other
 * values give CHAINSTORE_EIO. */
int chainstore_error_from_errno(int e);

/* Symbolic name of an error code, e.g. "CHAINSTORE_EINVAL"; never NULL. */
const char *chainstore_err_name(int err);

#ifdef __cplusplus
}
#endif
#endif
