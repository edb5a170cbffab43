/*
 * util.c -- integer parsing, clocks, bounded copy, UTF-8 and hex.
 *
 * See util.h for why each helper exists. Nothing in this file allocates or
 * keeps state; every function writes only to memory its caller passed in.
 */
#include "util.h"

#include <errno.h>
#include <string.h>
#include <time.h>

/* ---- integer parsing -------------------------------------------------- */

/* Digits only, into a uint64_t; -EINVAL if not digits, -ERANGE on overflow. */
static int util_parse_digits(const char *s, uint64_t *out)
{
	uint64_t v = 0;

	if (s == NULL || *s == '\0')
		return -EINVAL;
	for (; *s != '\0'; s++) {
		unsigned d;

		if (*s < '0' || *s > '9')
			return -EINVAL;
		d = (unsigned)(*s - '0');
		if (v > (UINT64_MAX - d) / 10)
			return -ERANGE;
		v = v * 10 + d;
	}
	*out = v;
	return 0;
}

int lms_parse_u64(const char *s, uint64_t min, uint64_t max, uint64_t *out)
{
	uint64_t v;
	int rv;

	/* Scan the whole string first: "12x" is malformed, not out of range. */
	rv = util_parse_digits(s, &v);
	if (rv == -ERANGE) {
		for (const char *p = s; *p != '\0'; p++)
			if (*p < '0' || *p > '9')
				return -EINVAL;
	}
	if (rv != 0)
		return rv;
	if (v < min || v > max)
		return -ERANGE;
	*out = v;
	return 0;
}

int lms_parse_i64(const char *s, int64_t min, int64_t max, int64_t *out)
{
	uint64_t mag;
	int64_t v;
	bool neg = false;
	int rv;

	if (s != NULL && *s == '-') {
		neg = true;
		s++;
	}
	rv = lms_parse_u64(s, 0, UINT64_MAX, &mag);
	if (rv != 0)
		return rv;
	if (neg) {
		/* INT64_MIN's magnitude is INT64_MAX + 1. */
		if (mag > (uint64_t)INT64_MAX + 1)
			return -ERANGE;
		v = mag == (uint64_t)INT64_MAX + 1 ? INT64_MIN : -(int64_t)mag;
	} else {
		if (mag > (uint64_t)INT64_MAX)
			return -ERANGE;
		v = (int64_t)mag;
	}
	if (v < min || v > max)
		return -ERANGE;
	*out = v;
	return 0;
}

/* ---- clocks ------------------------------------------------------------ */

uint64_t lms_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

int64_t lms_wall_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ---- strings ----------------------------------------------------------- */

size_t lms_strlcpy(char *dst, const char *src, size_t size)
{
	size_t n = strlen(src);

	if (size > 0) {
		size_t k = n < size ? n : size - 1;

		memcpy(dst, src, k);
		dst[k] = '\0';
	}
	return n;
}

/*
 * Well-formed sequences, after Unicode 15 table 3-7:
 *
 *   U+0000..U+007F     00..7F
 *   U+0080..U+07FF     C2..DF  80..BF
 *   U+0800..U+0FFF     E0      A0..BF  80..BF
 *   U+1000..U+CFFF     E1..EC  80..BF  80..BF
 *   U+D000..U+D7FF     ED      80..9F  80..BF
 *   U+E000..U+FFFF     EE..EF  80..BF  80..BF
 *   U+10000..U+3FFFF   F0      90..BF  80..BF  80..BF
 *   U+40000..U+FFFFF   F1..F3  80..BF  80..BF  80..BF
 *   U+100000..U+10FFFF F4      80..8F  80..BF  80..BF
 *
 * Only the second byte has a lead-dependent range; it is what excludes
 * overlongs (E0, F0), surrogates (ED) and values above U+10FFFF (F4).
 */
bool lms_utf8_valid(const char *str, size_t len)
{
	const unsigned char *s = (const unsigned char *)str;
	size_t i = 0;

	while (i < len) {
		unsigned char c = s[i];
		unsigned char lo = 0x80, hi = 0xBF;
		size_t need;

		if (c < 0x80) {
			i++;
			continue;
		}
		if (c >= 0xC2 && c <= 0xDF) {
			need = 1;
		} else if (c >= 0xE0 && c <= 0xEF) {
			need = 2;
			if (c == 0xE0)
				lo = 0xA0;
			else if (c == 0xED)
				hi = 0x9F;
		} else if (c >= 0xF0 && c <= 0xF4) {
			need = 3;
			if (c == 0xF0)
				lo = 0x90;
			else if (c == 0xF4)
				hi = 0x8F;
		} else {
			return false; /* 80..C1 (stray or overlong lead), F5..FF */
		}
		if (len - i - 1 < need)
			return false; /* truncated at the end of the input */
		if (s[i + 1] < lo || s[i + 1] > hi)
			return false;
		for (size_t k = 2; k <= need; k++)
			if (s[i + k] < 0x80 || s[i + k] > 0xBF)
				return false;
		i += need + 1;
	}
	return true;
}

/* ---- hex --------------------------------------------------------------- */

void lms_hex_encode(const void *in, size_t n, char *out)
{
	static const char digits[] = "0123456789abcdef";
	const uint8_t *p = in;

	for (size_t i = 0; i < n; i++) {
		out[2 * i] = digits[p[i] >> 4];
		out[2 * i + 1] = digits[p[i] & 0x0F];
	}
	out[2 * n] = '\0';
}

static int util_hex_value(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int lms_hex_decode(const char *in, size_t inlen, uint8_t *out, size_t outlen)
{
	if (outlen > SIZE_MAX / 2 || inlen != 2 * outlen)
		return -ERANGE;
	/* Check everything first so that out is untouched on error. */
	for (size_t i = 0; i < inlen; i++)
		if (util_hex_value(in[i]) < 0)
			return -EINVAL;
	for (size_t i = 0; i < outlen; i++)
		out[i] = (uint8_t)(util_hex_value(in[2 * i]) << 4 |
				   util_hex_value(in[2 * i + 1]));
	return 0;
}
