/*
 * codec.h -- struct raft_message <-> PeerFrame bytes (raft/raft.proto).
 *
 * Why this exists
 * ---------------
 * The Raft core speaks struct raft_message (raft/include/raft.h); the wire
 * speaks protobuf-c PeerFrames in u32 big-endian length frames
 * (common/frame.h). This file is the pure conversion between the two and
 * nothing else: no sockets, no libevent, no state. Keeping it apart from the
 * transport lets it be unit tested message type by message type and fuzzed
 * on its own (rnet_decode must survive any byte string).
 *
 * Decoding is also where hostile input is stopped. A RaftMessage that
 * protobuf-c accepts is still checked field by field before the core sees
 * it: message and entry types in range, ids not 0, entries only on APPEND
 * and numbered prev_index + 1, prev_index + 2, ..., at most max_entries of
 * them, a snapshot chunk inside its snapshot (offset + len <= total, done
 * exactly on the last byte), a configuration of at most RAFT_MAX_SERVERS
 * servers with ids, roles and addresses (< RAFT_ADDRESS_MAX bytes) that
 * struct raft_config can hold. Fields a message type does not use must be
 * left at their defaults (raft.proto says so); a frame that carries entries,
 * a config or chunk bytes on the wrong message type is rejected.
 *
 * Ownership
 * ---------
 * rnet_encode / rnet_frame_encode return a malloc'd buffer the caller
 * frees with free(). rnet_decode fills a caller-provided struct
 * rnet_decoded: its msg points into memory owned by the same struct
 * (entries array, entry data, chunk bytes), valid until
 * rnet_decoded_free(). Nothing passed in is kept.
 *
 * Errors
 * ------
 * Negative errno values, as in common/: -EINVAL (a message that cannot be
 * encoded, or bytes that do not decode to a valid message), -EMSGSIZE
 * (encoding larger than a frame can announce), -ENOMEM. Decoders also write
 * a one-line reason into err[0..errlen) (may be NULL / 0), e.g.
 * "entry 3 has type 9".
 */
#ifndef RNET_CODEC_H
#define RNET_CODEC_H

#include <stddef.h>
#include <stdint.h>

#include "raft.h"
#include "raft.pb-c.h"

/* Default bound on entries in one APPEND (above config's 1000000). */
#define RNET_MAX_ENTRIES (1u << 20)

/*
 * Encode m as one complete frame: the 4-byte big-endian length, then a
 * PeerFrame whose body is a RaftMessage. On success *buf (malloc'd, the
 * caller frees it) holds *len bytes, *len = 4 + payload.
 *
 * -EINVAL: m fails rnet_check (below), e.g. a snapshot chunk with len > 0
 * but data NULL (the transport's caller fills snapshot chunk data before
 * sending, see raft.h). -EMSGSIZE, -ENOMEM.
 */
int rnet_encode(const struct raft_message *m, uint8_t **buf, size_t *len)
	__attribute__((warn_unused_result));

/*
 * The checks of the top of this file on a struct raft_message: 0, or
 * -EINVAL with a reason. rnet_encode and rnet_raft_from_pb both apply it,
 * so what one side encodes the other accepts.
 */
int rnet_check(const struct raft_message *m, size_t max_entries, char *err,
	       size_t errlen)
	__attribute__((warn_unused_result));

/* Same for any PeerFrame (handshake frames). */
int rnet_frame_encode(const Lms__Raft__PeerFrame *f, uint8_t **buf,
		      size_t *len)
	__attribute__((warn_unused_result));

/*
 * Unpack a frame payload (without its 4-byte header) into a PeerFrame with
 * a body set. On success *out is owned by the caller:
 * lms__raft__peer_frame__free_unpacked(*out, NULL). -EINVAL when the bytes
 * do not decode or no body is set.
 */
int rnet_frame_decode(const void *payload, size_t len,
		      Lms__Raft__PeerFrame **out, char *err, size_t errlen)
	__attribute__((warn_unused_result));

/*
 * Check a RaftMessage (see the top of this file) and convert it. On success
 * *m borrows from pb (entry data, chunk bytes) and from *entries, an array
 * malloc'd here (NULL when there are none) that the caller frees with
 * free() after use. -EINVAL with a reason, or -ENOMEM.
 */
int rnet_raft_from_pb(const Lms__Raft__RaftMessage *pb, size_t max_entries,
		      struct raft_message *m, struct raft_entry **entries,
		      char *err, size_t errlen)
	__attribute__((warn_unused_result));

/* A decoded RaftMessage and the memory its pointers point into. */
struct rnet_decoded {
	struct raft_message msg;
	Lms__Raft__PeerFrame *frame; /* owned */
	struct raft_entry *entries;  /* owned; msg.append.entries */
};

/*
 * rnet_frame_decode + a body that must be a RaftMessage +
 * rnet_raft_from_pb (with RNET_MAX_ENTRIES). On success the caller calls
 * rnet_decoded_free(out) after using out->msg; on failure out holds
 * nothing to free (rnet_decoded_free on it is harmless).
 */
int rnet_decode(const void *payload, size_t len, struct rnet_decoded *out,
		char *err, size_t errlen)
	__attribute__((warn_unused_result));

void rnet_decoded_free(struct rnet_decoded *d);

/* "hello", "challenge", "proof", "raft message", "empty frame". */
const char *rnet_frame_body_name(const Lms__Raft__PeerFrame *f);

#endif /* RNET_CODEC_H */
