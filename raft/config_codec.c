/*
 * config_codec.c -- the byte format of a cluster configuration.
 *
 * Why this exists
 * ---------------
 * A configuration travels inside RAFT_ENTRY_CONFIG log entries, which the
 * caller stores opaquely (PostgreSQL bytea) and every replica decodes
 * again, possibly years later and on another build. So the format is the
 * core's own, fixed, versioned and little endian, and decoding trusts
 * nothing: a corrupt entry is reported, never half-read.
 *
 * Format, version 1 (all integers little endian):
 *
 *     u32  magic 0x47464352 ("RCFG" in memory order)
 *     u8   version (1)
 *     u8   n, the number of servers (<= RAFT_MAX_SERVERS)
 *     n times:
 *         u64  id (non-zero, unique)
 *         u8   role (RAFT_VOTER or RAFT_NONVOTER)
 *         u8   address length L (< RAFT_ADDRESS_MAX)
 *         L    address bytes (no NUL, none embedded)
 *
 * Nothing may follow the last server.
 */
#include <string.h>

#include "internal.h"

#define CONFIG_MAGIC 0x47464352u
#define CONFIG_VERSION 1
#define CONFIG_HEADER 6
#define CONFIG_SERVER_FIXED 10

static void config_codec_put_u64(unsigned char *p, uint64_t v)
{
	for (int k = 0; k < 8; k++)
		p[k] = (unsigned char)(v >> (8 * k));
}

static uint64_t config_codec_get_u64(const unsigned char *p)
{
	uint64_t v = 0;
	for (int k = 0; k < 8; k++)
		v |= (uint64_t)p[k] << (8 * k);
	return v;
}

static size_t config_codec_addr_len(const struct raft_server *s)
{
	size_t n = 0;
	while (n < RAFT_ADDRESS_MAX - 1 && s->address[n] != '\0')
		n++;
	return n;
}

/* Returns the encoded size, or 0 when c is not a valid configuration
 * (more than RAFT_MAX_SERVERS servers, id 0, a duplicate id or an unknown
 * role): such a value must never reach a log entry. Nothing is written
 * unless the whole encoding fits in cap. Addresses longer than
 * RAFT_ADDRESS_MAX - 1 bytes (not NUL ended) are cut there. */
size_t raft_config_encode(const struct raft_config *c, void *buf, size_t cap)
{
	if (c == NULL || !membership_valid(c))
		return 0;
	size_t size = CONFIG_HEADER;
	for (unsigned k = 0; k < c->n; k++)
		size += CONFIG_SERVER_FIXED + config_codec_addr_len(&c->servers[k]);
	if (buf == NULL || cap < size)
		return size;

	unsigned char *p = buf;
	p[0] = (unsigned char)(CONFIG_MAGIC & 0xff);
	p[1] = (unsigned char)((CONFIG_MAGIC >> 8) & 0xff);
	p[2] = (unsigned char)((CONFIG_MAGIC >> 16) & 0xff);
	p[3] = (unsigned char)((CONFIG_MAGIC >> 24) & 0xff);
	p[4] = CONFIG_VERSION;
	p[5] = (unsigned char)c->n;
	p += CONFIG_HEADER;
	for (unsigned k = 0; k < c->n; k++) {
		const struct raft_server *s = &c->servers[k];
		size_t alen = config_codec_addr_len(s);
		config_codec_put_u64(p, s->id);
		p[8] = (unsigned char)s->role;
		p[9] = (unsigned char)alen;
		memcpy(p + CONFIG_SERVER_FIXED, s->address, alen);
		p += CONFIG_SERVER_FIXED + alen;
	}
	return size;
}

int raft_config_decode(const void *buf, size_t len, struct raft_config *out)
{
	struct raft_config c;
	memset(&c, 0, sizeof(c));
	const unsigned char *p = buf;
	if (buf == NULL || len < CONFIG_HEADER)
		return RAFT_ECORRUPT;
	uint32_t magic = (uint32_t)p[0] | (uint32_t)p[1] << 8 |
	                 (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
	if (magic != CONFIG_MAGIC || p[4] != CONFIG_VERSION ||
	    p[5] > RAFT_MAX_SERVERS)
		return RAFT_ECORRUPT;
	c.n = p[5];
	size_t off = CONFIG_HEADER;
	for (unsigned k = 0; k < c.n; k++) {
		struct raft_server *s = &c.servers[k];
		if (len - off < CONFIG_SERVER_FIXED)
			return RAFT_ECORRUPT;
		s->id = config_codec_get_u64(p + off);
		s->role = p[off + 8];
		size_t alen = p[off + 9];
		off += CONFIG_SERVER_FIXED;
		if (alen >= RAFT_ADDRESS_MAX || len - off < alen)
			return RAFT_ECORRUPT;
		if (memchr(p + off, '\0', alen) != NULL)
			return RAFT_ECORRUPT;
		memcpy(s->address, p + off, alen);
		s->address[alen] = '\0';
		off += alen;
	}
	if (off != len || !membership_valid(&c))
		return RAFT_ECORRUPT;
	if (out != NULL)
		*out = c;
	return RAFT_OK;
}
