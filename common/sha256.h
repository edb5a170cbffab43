/*
 * sha256.h -- SHA-256 (FIPS 180-4) and HMAC-SHA256 (RFC 2104).
 *
 * Why this exists
 * ---------------
 * The design stores only the SHA-256 of session tokens, and peers prove
 * knowledge of the cluster secret with an HMAC challenge-response before any
 * Raft message is accepted. None of our chosen libraries exports a hash
 * (libscrypt keeps its SHA-256 internal), so we carry our own, checked
 * against the FIPS and RFC 4231 test vectors in tests/common/test_sha256.c.
 *
 * Ownership: contexts are plain values on the caller's stack; nothing is
 * allocated. lms_ct_equal compares in constant time (for MACs and hashes).
 */
#ifndef LMS_SHA256_H
#define LMS_SHA256_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define LMS_SHA256_LEN 32

struct lms_sha256 {
	uint32_t h[8];
	uint64_t total; /* bytes hashed so far */
	uint8_t block[64];
	size_t used; /* bytes in block */
};

void lms_sha256_init(struct lms_sha256 *c);
void lms_sha256_update(struct lms_sha256 *c, const void *data, size_t len);
void lms_sha256_final(struct lms_sha256 *c, uint8_t out[LMS_SHA256_LEN]);
void lms_sha256(const void *data, size_t len, uint8_t out[LMS_SHA256_LEN]);

struct lms_hmac_sha256 {
	struct lms_sha256 inner;
	struct lms_sha256 outer;
};

void lms_hmac_sha256_init(struct lms_hmac_sha256 *c, const void *key,
                          size_t keylen);
void lms_hmac_sha256_update(struct lms_hmac_sha256 *c, const void *data,
                            size_t len);
void lms_hmac_sha256_final(struct lms_hmac_sha256 *c,
                           uint8_t out[LMS_SHA256_LEN]);
void lms_hmac_sha256(const void *key, size_t keylen, const void *data,
                     size_t len, uint8_t out[LMS_SHA256_LEN]);

/* True when a and b (n bytes each) are equal; time depends on n only. */
bool lms_ct_equal(const void *a, const void *b, size_t n);

#endif
