/* chainstore info DIR [--json] */
#include <string.h>

#include "cli.h"
#include "cli_util.h"

static const char usage[] =
    "usage: chainstore info DIR [--json] [--profile bitspace|hypercore]\n"
    "\n"
    "Describes every chain stored in DIR, in discovery key order: public\n"
    "key, discovery key, length (blocks), byte length, whether it is\n"
    "writable here, and whether its head is signed (live). A chain whose\n"
    "files disagree is described with what disagrees (exit code 1). The\n"
    "store is opened read-only: nothing is written, ever.\n"
    "\n"
    "  --json        one JSON object instead of text:\n"
    "                {\"directory\": DIR, \"profile\": \"bitspace\"|\"hypercore\",\n"
    "                 \"chains\": [{\"key\": hex, \"discoveryKey\": hex,\n"
    "                   \"length\": n, \"byteLength\": n, \"writable\": bool,\n"
    "                   \"live\": bool[, \"disagreement\": text]}, ...]}\n"
    "                a chain that cannot be opened is {\"discoveryKey\": hex,\n"
    "                \"error\": message} (and the exit code is 1)\n"
    "  --profile P   the store must be of profile P\n";

typedef struct {
  chainstore_t *store;
  bool json;
  int count;
  int failed;
} info_t;

static void json_string(const char *s) {
  putchar('"');
  for (const unsigned char *p = (const unsigned char *)s; *p != '\0'; p++) {
    if (*p == '"' || *p == '\\') printf("\\%c", *p);
    else if (*p < 0x20) printf("\\u%04x", *p);
    else putchar(*p);
  }
  putchar('"');
}

static int describe(void *user, const uint8_t dk[32]) {
  info_t *in = user;
  chainstore_get_options_t o = {0};
  unichain_t *chain;
  char dk_hex[65], key_hex[65];
  o.discovery_key = dk;
  o.passive = true; /* opened one after the other; the cache may evict them */
  cli_hex32(dk, dk_hex);
  int err = chainstore_get(in->store, &o, &chain);
  if (in->json) printf("%s\n  {\"discoveryKey\": \"%s\", ", in->count > 0 ? "," : "", dk_hex);
  in->count++;
  if (err != 0) {
    in->failed++;
    if (in->json) {
      printf("\"error\": ");
      json_string(cli_open_error_text(err));
      printf("}");
    } else {
      printf("discovery key  %s\nerror          %s\n\n", dk_hex, cli_open_error_text(err));
    }
    cli_errorf("chain %s: %s", dk_hex, cli_open_error_text(err));
    return 0;
  }
  cli_hex32(unichain_key(chain), key_hex);
  unsigned long long length = unichain_length(chain), bytes = unichain_byte_length(chain);
  /* A read-only open is never writable: say whether the store can write it. */
  bool writable = unichain_has_secret_key(chain),
       live = unichain_live(chain);
  const char *why = unichain_disagreement(chain);
  if (why != NULL) {
    writable = false;
    in->failed++;
    cli_errorf("chain %s: %s", key_hex, why);
  }
  if (in->json) {
    printf("\"key\": \"%s\", \"length\": %llu, \"byteLength\": %llu, \"writable\": %s, \"live\": %s", key_hex,
           length, bytes, writable ? "true" : "false", live ? "true" : "false");
    if (why != NULL) {
      printf(", \"disagreement\": ");
      json_string(why);
    }
    printf("}");
  } else {
    printf("key            %s\ndiscovery key  %s\nlength         %llu blocks, %llu bytes\n"
           "writable       %s\nlive           %s\n",
           key_hex, dk_hex, length, bytes, writable ? "yes" : "no", live ? "yes" : "no");
    if (why != NULL) printf("damaged        %s\n", why);
    printf("\n");
  }
  return 0;
}

static int keyless(void *user, const uint8_t dk[32]) {
  info_t *in = user;
  char dk_hex[65];
  static const char why[] = "its `key` file is missing: the chain cannot be opened";
  cli_hex32(dk, dk_hex);
  if (in->json) {
    printf("%s\n  {\"discoveryKey\": \"%s\", \"error\": ", in->count > 0 ? "," : "", dk_hex);
    json_string(why);
    printf("}");
  } else {
    printf("discovery key  %s\nerror          %s\n\n", dk_hex, why);
  }
  in->count++;
  in->failed++;
  cli_errorf("chain %s: %s", dk_hex, why);
  return 0;
}

static int run(int argc, char **argv) {
  static const struct option longopts[] = {{"json", no_argument, NULL, 'j'},
                                           {"profile", required_argument, NULL, 'p'},
                                           {"help", no_argument, NULL, 'h'},
                                           {NULL, 0, NULL, 0}};
  cli_store_options_t so = {0};
  info_t in = {NULL, false, 0, 0};
  int c;
  so.must_exist = true;
  so.read_only = true;
  so.cache_size = 16;
  while ((c = cli_getopt(argc, argv, "info", ":h", longopts, NULL)) != -1) {
    if (c == 'h') {
      fputs(usage, stdout);
      return CLI_EXIT_OK;
    }
    if (c == 'j') {
      in.json = true;
      continue;
    }
    if (c == 'p' && cli_parse_profile("info", optarg, &so)) continue;
    return CLI_EXIT_USAGE;
  }
  if (argc - optind != 1) return cli_usage("info", argc - optind < 1 ? "DIR is missing" : "too many arguments");
  const char *dir = argv[optind];

  int rc = cli_open_store(dir, &so, &in.store);
  if (rc != CLI_EXIT_OK) return rc;
  const char *profile = chainstore_profile_name(chainstore_profile(in.store));
  if (in.json) {
    printf("{\"directory\": ");
    json_string(dir);
    printf(", \"profile\": \"%s\", \"chains\": [", profile);
  } else {
    printf("store %s (profile %s)\n\n", dir, profile);
  }
  int err = chainstore_for_each_stored(in.store, describe, &in);
  if (err == 0) err = chainstore_for_each_keyless(in.store, keyless, &in);
  if (in.json) printf("%s]}\n", in.count > 0 ? "\n" : "");
  else printf("%d chain%s\n", in.count, in.count == 1 ? "" : "s");
  if (err != 0) {
    cli_error(dir, err);
    rc = CLI_EXIT_FAILURE;
  }
  if (in.failed > 0) rc = CLI_EXIT_FAILURE;
  chainstore_close(in.store);
  return rc;
}

const cli_command_t cli_command_info = {"info", "describe every chain of a store", run};
