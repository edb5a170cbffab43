/*
 * sim_store.c -- a node's simulated durable store and its state machine.
 *
 * The store holds only what the node persisted through completed ready
 * batches (sim_node.c writes it at completion time, never at take time), so
 * a crash that drops the in-memory core loses exactly the unpersisted work.
 * Entries are deep copies: the core's ready memory dies at raft_advance().
 *
 * The state machine is deliberately tiny but real: a rolling hash over the
 * payloads of applied NORMAL entries (so any divergence, double apply or
 * lost entry changes it), a count, and a table of 8 slots holding the last
 * payload that hashed to each slot. Its snapshot is a byte string with a
 * checksum, a few hundred bytes, so that with the simulator's small chunk
 * size every snapshot transfer takes several chunks.
 */
#include <stdlib.h>
#include <string.h>

#include "sim_internal.h"

/* ------------------------------------------------------------ the log */

raft_index slog_last(const struct sim_log *l)
{
	return l->n ? l->v[l->n - 1].index : 0;
}

const struct sim_entry *slog_get(const struct sim_log *l, raft_index i)
{
	if (l->n == 0 || i < l->v[0].index || i > slog_last(l))
		return NULL;
	return &l->v[i - l->v[0].index];
}

void slog_truncate(struct sim_log *l, raft_index from)
{
	while (l->n > 0 && l->v[l->n - 1].index >= from) {
		free(l->v[l->n - 1].data);
		l->n--;
	}
}

void slog_compact(struct sim_log *l, raft_index before)
{
	size_t k = 0;
	while (k < l->n && l->v[k].index < before) {
		free(l->v[k].data);
		k++;
	}
	if (k > 0) {
		memmove(l->v, l->v + k, (l->n - k) * sizeof(*l->v));
		l->n -= k;
	}
}

void slog_clear(struct sim_log *l)
{
	slog_truncate(l, 0);
}

int slog_append(struct sim_log *l, const struct raft_entry *e)
{
	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 64;
		struct sim_entry *v = realloc(l->v, cap * sizeof(*v));
		if (v == NULL)
			abort();
		l->v = v;
		l->cap = cap;
	}
	struct sim_entry *d = &l->v[l->n];
	d->term = e->term;
	d->index = e->index;
	d->type = e->type;
	d->len = e->len;
	d->data = malloc(e->len ? e->len : 1);
	if (d->data == NULL)
		abort();
	if (e->len)
		memcpy(d->data, e->data, e->len);
	l->n++;
	return 0;
}

/* ---------------------------------------------------------- the store */

void store_init(struct sim_store *st)
{
	memset(st, 0, sizeof(*st));
	sm_init(&st->sm);
}

void store_free(struct sim_store *st)
{
	slog_clear(&st->log);
	free(st->log.v);
	for (int k = 0; k < SIM_SNAPS_KEPT; k++)
		free(st->snap[k].data);
	free(st->in.data);
	memset(st, 0, sizeof(*st));
}

/* --------------------------------------------------- the state machine */

uint64_t entry_chash(int type, const void *data, size_t len)
{
	return sim_hash_bytes(0x51ed270b27b5d0e3ULL * (uint64_t)type, data, len);
}

void sm_init(struct sim_sm *sm)
{
	memset(sm, 0, sizeof(*sm));
}

void sm_apply(struct sim_sm *sm, const struct raft_entry *e)
{
	sm->applied = e->index;
	if (e->type != RAFT_ENTRY_NORMAL)
		return; /* NOOP and CONFIG are recorded as applied only */
	sm->hash = sim_hash_bytes(sm->hash, e->data, e->len);
	sm->count++;
	unsigned slot = (unsigned)(sim_hash_bytes(7, e->data, e->len) %
	                           SIM_SM_KEYS);
	size_t n = e->len < SIM_SM_VAL - 1 ? e->len : SIM_SM_VAL - 1;
	memset(sm->kv[slot], 0, SIM_SM_VAL);
	memcpy(sm->kv[slot], e->data, n);
}

#define SM_MAGIC "SIMSM\x01\0\0"
#define SM_ENC_LEN (8 + 3 * 8 + SIM_SM_KEYS * SIM_SM_VAL + 8)

static void put64(unsigned char *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (unsigned char)(v >> (8 * i));
}

static uint64_t get64(const unsigned char *p)
{
	uint64_t v = 0;
	for (int i = 0; i < 8; i++)
		v |= (uint64_t)p[i] << (8 * i);
	return v;
}

unsigned char *sm_encode(const struct sim_sm *sm, size_t *len)
{
	unsigned char *p = malloc(SM_ENC_LEN);
	if (p == NULL)
		abort();
	memcpy(p, SM_MAGIC, 8);
	put64(p + 8, sm->applied);
	put64(p + 16, sm->hash);
	put64(p + 24, sm->count);
	memcpy(p + 32, sm->kv, SIM_SM_KEYS * SIM_SM_VAL);
	put64(p + SM_ENC_LEN - 8, sim_hash_bytes(0, p, SM_ENC_LEN - 8));
	*len = SM_ENC_LEN;
	return p;
}

int sm_decode(const unsigned char *p, size_t len, struct sim_sm *out)
{
	if (p == NULL || len != SM_ENC_LEN || memcmp(p, SM_MAGIC, 8) != 0)
		return -1;
	if (get64(p + SM_ENC_LEN - 8) != sim_hash_bytes(0, p, SM_ENC_LEN - 8))
		return -1;
	sm_init(out);
	out->applied = get64(p + 8);
	out->hash = get64(p + 16);
	out->count = get64(p + 24);
	memcpy(out->kv, p + 32, SIM_SM_KEYS * SIM_SM_VAL);
	return 0;
}
