/*
 * log.c -- the in-memory Raft log since the last compaction point.
 *
 * Why this exists
 * ---------------
 * Every other file asks the log the same few questions: "what is the term
 * at index i", "which entries follow i, within these batching bounds",
 * "append these", "drop everything from i on" (a real conflict), "drop
 * everything up to i" (compaction behind a snapshot). Keeping them here
 * keeps index arithmetic in one place.
 *
 * Layout
 * ------
 * Entries offset+1 .. offset+n live in a ring buffer whose capacity is a
 * power of two: appending is amortized O(1) (the ring doubles when full),
 * compaction advances `head`, truncation shrinks `n`. `offset` is the last
 * index no longer held (the snapshot or compaction point) and `offset_term`
 * its term, so the consistency check of an APPEND whose prev_index is
 * exactly the compaction point still works.
 *
 * Ownership
 * ---------
 * The log owns a private malloc'd copy of each entry's data (NULL when the
 * entry is empty) and frees it when the entry is truncated or compacted.
 * Nobody keeps a pointer into the ring: whatever leaves the core is a deep
 * copy made by log_copy(). log_append() is all-or-nothing, so a follower
 * that runs out of memory in the middle of an AppendEntries leaves its log
 * exactly as it was.
 *
 * Terms in a Raft log never decrease along the indexes, which lets the
 * fast-backup searches below be binary searches.
 */
#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

#define LOG_MIN_CAP 16

void log_init(struct raft_log *l)
{
	memset(l, 0, sizeof(*l));
}

static struct raft_entry *log_slot(const struct raft_log *l, raft_index i)
{
	size_t pos = (size_t)(i - l->offset - 1);
	return &l->ring[(l->head + pos) & (l->cap - 1)];
}

void log_close(struct raft_log *l)
{
	log_truncate(l, l->offset + 1);
	free(l->ring);
	log_init(l);
}

raft_index log_first_index(const struct raft_log *l)
{
	return l->offset + 1;
}

raft_index log_last_index(const struct raft_log *l)
{
	return l->offset + l->n;
}

raft_term log_last_term(const struct raft_log *l)
{
	if (l->n == 0)
		return l->offset_term;
	return log_slot(l, log_last_index(l))->term;
}

bool log_term_at(const struct raft_log *l, raft_index i, raft_term *term)
{
	if (i == l->offset) {
		*term = l->offset_term;
		return true;
	}
	if (i < l->offset || i > log_last_index(l))
		return false;
	*term = log_slot(l, i)->term;
	return true;
}

const struct raft_entry *log_get(const struct raft_log *l, raft_index i)
{
	if (i <= l->offset || i > log_last_index(l))
		return NULL;
	return log_slot(l, i);
}

/* Makes room for `need` entries, unwrapping the ring into a new one. */
static int log_grow(struct raft_log *l, size_t need)
{
	if (need <= l->cap)
		return RAFT_OK;
	size_t cap = l->cap ? l->cap : LOG_MIN_CAP;
	while (cap < need)
		cap *= 2;
	struct raft_entry *ring = malloc(cap * sizeof(*ring));
	if (ring == NULL)
		return RAFT_ENOMEM;
	for (size_t k = 0; k < l->n; k++)
		ring[k] = l->ring[(l->head + k) & (l->cap - 1)];
	free(l->ring);
	l->ring = ring;
	l->cap = cap;
	l->head = 0;
	return RAFT_OK;
}

/* Appends e[0..n) whose indexes are consecutive from e[0].index, which may
 * be at most last+1: held entries with index >= e[0].index are replaced
 * (the caller has established that they conflict). Data is copied. All or
 * nothing: RAFT_ENOMEM leaves the log unchanged. */
int log_append(struct raft_log *l, const struct raft_entry *e, size_t n)
{
	if (n == 0)
		return RAFT_OK;
	raft_index first = e[0].index;
	assert(first > l->offset && first <= log_last_index(l) + 1);

	void *small[8];
	void **copies = small;
	if (n > sizeof(small) / sizeof(small[0])) {
		copies = malloc(n * sizeof(*copies));
		if (copies == NULL)
			return RAFT_ENOMEM;
	}
	size_t k;
	for (k = 0; k < n; k++) {
		copies[k] = NULL;
		if (e[k].len == 0)
			continue;
		copies[k] = malloc(e[k].len);
		if (copies[k] == NULL)
			goto err_after_copies;
		memcpy(copies[k], e[k].data, e[k].len);
	}
	size_t keep = (size_t)(first - l->offset - 1);
	size_t need = keep + n > l->n ? keep + n : l->n;
	if (log_grow(l, need) != RAFT_OK)
		goto err_after_copies;

	log_truncate(l, first);
	for (k = 0; k < n; k++) {
		struct raft_entry *s = &l->ring[(l->head + l->n) & (l->cap - 1)];
		*s = e[k];
		s->index = first + k;
		s->data = copies[k];
		l->n++;
	}
	if (copies != small)
		free(copies);
	return RAFT_OK;

err_after_copies:
	while (k-- > 0)
		free(copies[k]);
	if (copies != small)
		free(copies);
	return RAFT_ENOMEM;
}

/* Drops entries with index >= from. */
void log_truncate(struct raft_log *l, raft_index from)
{
	if (from <= l->offset)
		from = l->offset + 1;
	while (log_last_index(l) >= from && l->n > 0) {
		struct raft_entry *s = log_slot(l, log_last_index(l));
		free((void *)s->data);
		s->data = NULL;
		l->n--;
	}
}

/* Drops entries with index <= upto (upto <= last), remembering the term of
 * upto as the new compaction point. */
void log_compact(struct raft_log *l, raft_index upto)
{
	if (upto <= l->offset)
		return;
	assert(upto <= log_last_index(l));
	raft_term t = log_slot(l, upto)->term;
	while (l->offset < upto) {
		struct raft_entry *s = &l->ring[l->head];
		free((void *)s->data);
		s->data = NULL;
		l->head = (l->head + 1) & (l->cap - 1);
		l->n--;
		l->offset++;
	}
	l->offset_term = t;
}

/* Drops every entry; the log now continues after (index, term). */
void log_reset(struct raft_log *l, raft_index index, raft_term term)
{
	log_truncate(l, l->offset + 1);
	l->head = 0;
	l->offset = index;
	l->offset_term = term;
}

/* How many entries from `from` fit in max_n entries and max_bytes of data
 * (a single bigger entry still goes alone); *bytes gets their data size. */
size_t log_slice_count(const struct raft_log *l, raft_index from,
                       size_t max_n, size_t max_bytes, size_t *bytes)
{
	size_t n = 0;
	size_t sum = 0;
	raft_index last = log_last_index(l);
	if (from <= l->offset)
		from = l->offset + 1;
	for (raft_index i = from; i <= last && n < max_n; i++) {
		size_t len = log_slot(l, i)->len;
		if (n > 0 && sum + len > max_bytes)
			break;
		sum += len;
		n++;
	}
	*bytes = sum;
	return n;
}

/* Deep-copies n entries from `from` into out[], their data packed into
 * `data` (sized by log_slice_count()). Returns the bytes used. */
size_t log_copy(const struct raft_log *l, raft_index from, size_t n,
                struct raft_entry *out, unsigned char *data)
{
	size_t off = 0;
	for (size_t k = 0; k < n; k++) {
		const struct raft_entry *s = log_slot(l, from + k);
		out[k] = *s;
		if (s->len == 0) {
			out[k].data = NULL;
			continue;
		}
		memcpy(data + off, s->data, s->len);
		out[k].data = data + off;
		off += s->len;
	}
	return off;
}

/* First held index whose term equals the term at `at` (a held index). */
raft_index log_first_of_term(const struct raft_log *l, raft_index at)
{
	raft_term t = log_slot(l, at)->term;
	raft_index lo = l->offset + 1;
	raft_index hi = at;
	while (lo < hi) {
		raft_index mid = lo + (hi - lo) / 2;
		if (log_slot(l, mid)->term < t)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* Largest index i in [offset, upto] with term(i) <= term; false if none. */
bool log_last_at_most_term(const struct raft_log *l, raft_term term,
                           raft_index upto, raft_index *out)
{
	if (upto > log_last_index(l))
		upto = log_last_index(l);
	if (upto < l->offset)
		return false;
	if (upto == l->offset || log_slot(l, l->offset + 1)->term > term) {
		if (l->offset_term > term)
			return false;
		*out = l->offset;
		return true;
	}
	/* Invariant: term(lo) <= term, answer in [lo, upto]. */
	raft_index lo = l->offset + 1;
	raft_index hi = upto;
	while (lo < hi) {
		raft_index mid = lo + (hi - lo + 1) / 2;
		if (log_slot(l, mid)->term <= term)
			lo = mid;
		else
			hi = mid - 1;
	}
	*out = lo;
	return true;
}
