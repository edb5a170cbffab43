/*
 * util.h -- small helpers needed by more than one part of the project.
 *
 * Why this exists
 * ---------------
 * A handful of things every program needs and that are easy to get subtly
 * wrong when rewritten inline: parsing an integer from a string with range
 * checks (strtoul accepts "-1", " 7" and "7abc"), clocks in milliseconds,
 * a bounded string copy, UTF-8 validation (the design requires every string
 * from a user to be checked) and hex encoding of hashes and tokens.
 *
 * Ownership
 * ---------
 * Nothing here allocates or keeps a pointer: every output goes to memory
 * the caller provides. No global state.
 *
 * Errors
 * ------
 * Fallible functions return 0 or a negative errno value (-EINVAL for
 * malformed input, -ERANGE for a value out of range, -ENOSPC for an output
 * buffer that is too small). Predicates return bool.
 */
#ifndef LMS_UTIL_H
#define LMS_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * Parse a decimal unsigned integer: one or more ASCII digits and nothing
 * else (no sign, no blanks, no "0x"). Returns 0 and sets *out if the value
 * lies in [min, max]; -EINVAL if s is NULL, empty or not all digits;
 * -ERANGE if it overflows uint64_t or lies outside [min, max]. *out is
 * written only on success.
 */
int lms_parse_u64(const char *s, uint64_t min, uint64_t max, uint64_t *out)
	__attribute__((warn_unused_result));

/* Same for a signed integer: an optional '-' followed by digits. */
int lms_parse_i64(const char *s, int64_t min, int64_t max, int64_t *out)
	__attribute__((warn_unused_result));

/* Milliseconds from CLOCK_MONOTONIC: for timeouts and durations only. */
uint64_t lms_now_ms(void);

/* Milliseconds since the Unix epoch, UTC (CLOCK_REALTIME): for timestamps. */
int64_t lms_wall_ms(void);

/*
 * Copy src into dst (size bytes, size >= 1) and always NUL-terminate.
 * Returns strlen(src): a result >= size means the copy was cut.
 */
size_t lms_strlcpy(char *dst, const char *src, size_t size);

/*
 * True if s[0..len) is well-formed UTF-8 (RFC 3629 / Unicode table 3-7):
 * rejects stray continuation bytes, truncated sequences, overlong forms
 * (C0, C1, E0 80..9F, F0 80..8F), UTF-16 surrogates (ED A0..BF) and code
 * points above U+10FFFF (F4 90.., F5..FF). s need not be NUL-terminated.
 *
 * Note that U+0000 is valid UTF-8: text bound for a PostgreSQL text column
 * must additionally be checked for NUL bytes by the caller.
 */
bool lms_utf8_valid(const char *s, size_t len);

/*
 * Write the lower-case hex form of in[0..n) to out, which must have room
 * for 2 * n + 1 bytes; out is NUL-terminated.
 */
void lms_hex_encode(const void *in, size_t n, char *out);

/*
 * Decode exactly 2 * outlen hex digits (either case) from in[0..inlen)
 * into out[0..outlen). Returns 0, -EINVAL on a non-hex character, or
 * -ERANGE if inlen != 2 * outlen; out is written only on success.
 */
int lms_hex_decode(const char *in, size_t inlen, uint8_t *out, size_t outlen)
	__attribute__((warn_unused_result));

#endif /* LMS_UTIL_H */
