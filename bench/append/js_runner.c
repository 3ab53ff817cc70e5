#include "js_runner.h"

#include "bench_js.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

/* Runs argv, captures up to cap-1 bytes of its stdout into out. Returns the
 * exit status, or -1 if it could not run. */
static int run_capture(char *const argv[], char *out, size_t cap) {
  int fds[2];
  if (pipe(fds) != 0)
    return -1;
  pid_t pid = fork();
  if (pid < 0) {
    close(fds[0]);
    close(fds[1]);
    return -1;
  }
  if (pid == 0) {
    dup2(fds[1], STDOUT_FILENO);
    close(fds[0]);
    close(fds[1]);
    execvp(argv[0], argv);
    _exit(127);
  }
  close(fds[1]);
  size_t n = 0;
  for (;;) {
    char sink[4096];
    char *dst = n + 1 < cap ? out + n : sink;
    size_t room = n + 1 < cap ? cap - 1 - n : sizeof sink;
    ssize_t got = read(fds[0], dst, room);
    if (got <= 0)
      break;
    if (dst != sink)
      n += (size_t)got;
  }
  out[n] = '\0';
  close(fds[0]);
  int status;
  if (waitpid(pid, &status, 0) < 0)
    return -1;
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

bool js_runner_available(const js_runner_t *js, const char **why) {
  struct stat st;
  if ((*why = bench_js_missing(js->node, js->modules, "hypercore")) != NULL) return false;
  if (stat(js->script, &st) != 0) {
    *why = "append.js not found";
    return false;
  }
  return true;
}

static double value_of(const char *text, const char *name) {
  size_t len = strlen(name);
  for (const char *p = text; p != NULL && *p != '\0';) {
    if (strncmp(p, name, len) == 0 && p[len] == '=')
      return strtod(p + len + 1, NULL);
    p = strchr(p, '\n');
    if (p != NULL)
      p++;
  }
  return -1;
}

int js_runner_run(const js_runner_t *js, const char *storage, const char *dir, int batches,
                  int singles4k, int singles512, js_result_t *out) {
  char b[32], s4[32], s5[32];
  snprintf(b, sizeof b, "%d", batches);
  snprintf(s4, sizeof s4, "%d", singles4k);
  snprintf(s5, sizeof s5, "%d", singles512);
  char *argv[] = {(char *)js->node, (char *)js->script, "--modules", (char *)js->modules,
                  "--storage", (char *)storage, "--dir", (char *)(dir ? dir : "."),
                  "--batches", b, "--singles4k", s4, "--singles512", s5, NULL};
  char text[4096];
  int rc = run_capture(argv, text, sizeof text);
  out->batch_mbps = value_of(text, "batch_mbps");
  out->single4k_aps = value_of(text, "single4k_aps");
  out->single512_aps = value_of(text, "single512_aps");
  out->versions[0] = '\0';
  const char *v = strstr(text, "versions=");
  if (v != NULL) {
    v += strlen("versions=");
    size_t n = strcspn(v, "\n");
    if (n >= sizeof out->versions)
      n = sizeof out->versions - 1;
    memcpy(out->versions, v, n);
    out->versions[n] = '\0';
  }
  return rc == 0 ? 0 : -1;
}
