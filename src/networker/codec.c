/* Checks of extension messages from peers: UTF-8 and JSON text. Bounded:
 * linear in the message, nesting at most NW_JSON_MAX_DEPTH (no recursion
 * deeper than that), nothing allocated. */
#include <stddef.h>
#include <stdint.h>

#include "chainstore/networker.h"

#define NW_JSON_MAX_DEPTH 64

/* Length of the UTF-8 sequence at s (RFC 3629: no overlong forms, no
 * surrogates, at most U+10FFFF), 0 when invalid. */
static size_t utf8_seq(const uint8_t *s, size_t len) {
  uint8_t c = s[0];
  if (c < 0x80)
    return 1;
  size_t n;
  uint8_t lo = 0x80, hi = 0xBF;
  if (c >= 0xC2 && c <= 0xDF)
    n = 2;
  else if (c >= 0xE0 && c <= 0xEF) {
    n = 3;
    if (c == 0xE0)
      lo = 0xA0;
    else if (c == 0xED)
      hi = 0x9F;
  } else if (c >= 0xF0 && c <= 0xF4) {
    n = 4;
    if (c == 0xF0)
      lo = 0x90;
    else if (c == 0xF4)
      hi = 0x8F;
  } else
    return 0;
  if (len < n || s[1] < lo || s[1] > hi)
    return 0;
  for (size_t i = 2; i < n; i++)
    if (s[i] < 0x80 || s[i] > 0xBF)
      return 0;
  return n;
}

bool networker_utf8_valid(const uint8_t *text, size_t len) {
  if (len && text == NULL)
    return false;
  for (size_t i = 0; i < len;) {
    size_t n = utf8_seq(text + i, len - i);
    if (n == 0)
      return false;
    i += n;
  }
  return true;
}

typedef struct {
  const uint8_t *s;
  size_t len, at;
} json_t;

static void ws(json_t *j) {
  while (j->at < j->len &&
         (j->s[j->at] == ' ' || j->s[j->at] == '\t' || j->s[j->at] == '\n' || j->s[j->at] == '\r'))
    j->at++;
}

static bool is_digit(uint8_t c) { return c >= '0' && c <= '9'; }
static bool is_hex(uint8_t c) { return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'); }

static bool lit(json_t *j, const char *w) {
  for (size_t i = 0; w[i]; i++, j->at++)
    if (j->at >= j->len || j->s[j->at] != (uint8_t)w[i])
      return false;
  return true;
}

static bool digits(json_t *j) {
  size_t start = j->at;
  while (j->at < j->len && is_digit(j->s[j->at]))
    j->at++;
  return j->at > start;
}

static bool number(json_t *j) {
  if (j->at < j->len && j->s[j->at] == '-')
    j->at++;
  if (j->at >= j->len)
    return false;
  if (j->s[j->at] == '0')
    j->at++;
  else if (!digits(j))
    return false;
  if (j->at < j->len && j->s[j->at] == '.') {
    j->at++;
    if (!digits(j))
      return false;
  }
  if (j->at < j->len && (j->s[j->at] == 'e' || j->s[j->at] == 'E')) {
    j->at++;
    if (j->at < j->len && (j->s[j->at] == '+' || j->s[j->at] == '-'))
      j->at++;
    if (!digits(j))
      return false;
  }
  return true;
}

static bool string(json_t *j) {
  j->at++; /* the opening quote */
  while (j->at < j->len) {
    uint8_t c = j->s[j->at];
    if (c == '"') {
      j->at++;
      return true;
    }
    if (c < 0x20)
      return false;
    if (c == '\\') {
      if (++j->at >= j->len)
        return false;
      c = j->s[j->at++];
      if (c == 'u') {
        for (int i = 0; i < 4; i++, j->at++)
          if (j->at >= j->len || !is_hex(j->s[j->at]))
            return false;
      } else if (c != '"' && c != '\\' && c != '/' && c != 'b' && c != 'f' && c != 'n' && c != 'r' &&
                 c != 't') {
        return false;
      }
      continue;
    }
    size_t n = utf8_seq(j->s + j->at, j->len - j->at);
    if (n == 0)
      return false;
    j->at += n;
  }
  return false;
}

static bool value(json_t *j, int depth);

static bool container(json_t *j, int depth, uint8_t close, bool object) {
  if (depth >= NW_JSON_MAX_DEPTH)
    return false;
  j->at++;
  ws(j);
  if (j->at < j->len && j->s[j->at] == close) {
    j->at++;
    return true;
  }
  for (;;) {
    if (object) {
      if (j->at >= j->len || j->s[j->at] != '"' || !string(j))
        return false;
      ws(j);
      if (j->at >= j->len || j->s[j->at] != ':')
        return false;
      j->at++;
    }
    if (!value(j, depth + 1))
      return false;
    ws(j);
    if (j->at >= j->len)
      return false;
    if (j->s[j->at] == close) {
      j->at++;
      return true;
    }
    if (j->s[j->at] != ',')
      return false;
    j->at++;
    ws(j);
  }
}

static bool value(json_t *j, int depth) {
  ws(j);
  if (j->at >= j->len)
    return false;
  switch (j->s[j->at]) {
  case '{':
    return container(j, depth, '}', true);
  case '[':
    return container(j, depth, ']', false);
  case '"':
    return string(j);
  case 't':
    return lit(j, "true");
  case 'f':
    return lit(j, "false");
  case 'n':
    return lit(j, "null");
  default:
    return number(j);
  }
}

bool networker_json_valid(const uint8_t *text, size_t len) {
  if (text == NULL)
    return false;
  json_t j = {text, len, 0};
  if (!value(&j, 0))
    return false;
  ws(&j);
  return j.at == len;
}
