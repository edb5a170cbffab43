/*
 * handshake.c -- nonces and macs of the peer handshake (raft/raft.proto).
 *
 * Why this exists
 * ---------------
 * Both roles compute the same two macs over the same bytes; one function
 * computing them for both keeps the byte layout in one place:
 *
 *     HMAC-SHA256(secret, label | cluster | from | to | nonce_c | nonce_s)
 *
 * with label "lms-peer-acceptor" (the acceptor's challenge mac) or
 * "lms-peer-connector" (the connector's proof), from = the connector's id
 * and to = the acceptor's id (as in the hello, whichever side computes),
 * both 8-byte little-endian. The cluster name is not length-prefixed; the
 * fixed 80-byte tail keeps the layout unambiguous.
 *
 * Nonces are 32 bytes from getrandom(2) (the kernel CSPRNG), fresh per
 * connection on each side, so a recorded handshake cannot be replayed.
 */
#include "net_internal.h"

#include <errno.h>
#include <string.h>
#include <sys/random.h>

int rnet_nonce(uint8_t out[RNET_NONCE_LEN])
{
	size_t got = 0;

	while (got < RNET_NONCE_LEN) {
		ssize_t n = getrandom(out + got, RNET_NONCE_LEN - got, 0);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		got += (size_t)n;
	}
	return 0;
}

static void put_le64(uint8_t out[8], uint64_t v)
{
	for (int i = 0; i < 8; i++)
		out[i] = (uint8_t)(v >> (8 * i));
}

void rnet_mac(const struct rnet *t, const char *label, raft_id from,
	      raft_id to, const uint8_t nonce_c[RNET_NONCE_LEN],
	      const uint8_t nonce_s[RNET_NONCE_LEN],
	      uint8_t out[LMS_SHA256_LEN])
{
	struct lms_hmac_sha256 h;
	uint8_t ids[16];

	put_le64(ids, from);
	put_le64(ids + 8, to);
	lms_hmac_sha256_init(&h, t->secret, t->secret_len);
	lms_hmac_sha256_update(&h, label, strlen(label));
	lms_hmac_sha256_update(&h, t->cluster, strlen(t->cluster));
	lms_hmac_sha256_update(&h, ids, sizeof(ids));
	lms_hmac_sha256_update(&h, nonce_c, RNET_NONCE_LEN);
	lms_hmac_sha256_update(&h, nonce_s, RNET_NONCE_LEN);
	lms_hmac_sha256_final(&h, out);
	explicit_bzero(&h, sizeof(h));
}
