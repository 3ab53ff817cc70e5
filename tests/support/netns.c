#include <errno.h>
#include <net/if.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "test_support.h"

static int bring_lo_up(char *why, size_t why_len) {
  int fd = socket(AF_INET, SOCK_DGRAM, 0);
  if (fd < 0) {
    snprintf(why, why_len, "socket: %s", strerror(errno));
    return -1;
  }
  struct ifreq ifr;
  memset(&ifr, 0, sizeof ifr);
  strncpy(ifr.ifr_name, "lo", IFNAMSIZ - 1);
  int rc = ioctl(fd, SIOCGIFFLAGS, &ifr);
  if (rc == 0) {
    ifr.ifr_flags |= IFF_UP | IFF_RUNNING;
    rc = ioctl(fd, SIOCSIFFLAGS, &ifr);
  }
  if (rc != 0)
    snprintf(why, why_len, "cannot bring lo up: %s", strerror(errno));
  close(fd);
  return rc == 0 ? 0 : -1;
}

int test_netns_enter(char *why, size_t why_len) {
  if (geteuid() != 0) {
    snprintf(why, why_len, "needs root to enter a fresh network namespace (CI runs as root)");
    return -1;
  }
  if (unshare(CLONE_NEWNET) != 0) {
    snprintf(why, why_len, "unshare(CLONE_NEWNET) failed: %s", strerror(errno));
    return -1;
  }
  return bring_lo_up(why, why_len);
}

int test_netns_enter_with_veth(char *why, size_t why_len) {
  if (test_netns_enter(why, why_len) != 0)
    return -1;
  /* The `ip` command acts on the namespace of the calling process, which is
   * now the fresh one. */
  const char *cmds[] = {
      "ip link add v0 type veth peer name v1",
      "ip addr add 10.77.0.1/24 dev v0",
      "ip addr add 10.77.0.2/24 dev v1",
      "ip link set v0 up",
      "ip link set v1 up",
      "ip route add 224.0.0.0/4 dev v0",
  };
  for (size_t i = 0; i < sizeof cmds / sizeof cmds[0]; i++) {
    char cmd[256];
    snprintf(cmd, sizeof cmd, "%s >/dev/null 2>&1", cmds[i]);
    if (system(cmd) != 0) {
      snprintf(why, why_len, "'%s' failed (iproute2 missing?)", cmds[i]);
      return -1;
    }
  }
  return 0;
}
