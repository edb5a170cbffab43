/*
 * raft.c -- the life of a core: options, creation from persisted state,
 * errors, accessors and status.
 *
 * Why this exists
 * ---------------
 * raft_new() is where persisted state re-enters the protocol, so it is
 * where it is checked: a log with gaps or terms going backwards, an applied
 * index beyond the log or a CONFIG entry that does not decode means the
 * storage below us is broken, and starting anyway could violate safety.
 * After a restart (Section 3.8 of the dissertation: "The most interesting
 * example is the commit index, which can safely be reinitialized to zero on
 * a restart") we start commit at max(snapshot index, applied), which the
 * caller made durable; every entry it hands back is durable by definition.
 *
 * First start (Chapter 4, "System integration", and raft.h): when both the
 * log and the snapshot are empty and a bootstrap configuration is given,
 * the core appends it as a CONFIG entry at index 1, term 1, handed out in
 * the first ready batch for persistence. The hard state stays at term 0
 * until an election. Every initial member must bootstrap with the same
 * configuration so that all their logs start identical.
 *
 * Randomness comes from a xorshift64* generator seeded (through
 * splitmix64) by raft_options.seed mixed with our id, stored in the
 * struct: the core is deterministic for a given seed.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

/* -------------------------------------------------------------- errors */

const char *raft_strerror(int rv)
{
	switch (rv) {
	case RAFT_OK:
		return "success";
	case RAFT_ENOMEM:
		return "out of memory";
	case RAFT_EINVAL:
		return "invalid argument";
	case RAFT_ENOTLEADER:
		return "not the leader";
	case RAFT_EBUSY:
		return "a configuration change or leadership transfer is in "
		       "progress";
	case RAFT_ENOTFOUND:
		return "no such server in the configuration";
	case RAFT_EEXISTS:
		return "server already in the configuration";
	case RAFT_ECATCHUP:
		return "server has not caught up with the log";
	case RAFT_ETOOBIG:
		return "entry too big";
	case RAFT_ECORRUPT:
		return "persisted state is inconsistent";
	case RAFT_ELEADERSHIPLOST:
		return "leadership lost";
	case RAFT_EREMOVED:
		return "server removed from the configuration";
	default:
		return "unknown error";
	}
}

int raft_error_set(struct raft *r, int rv, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(r->errmsg, sizeof(r->errmsg), fmt, ap);
	va_end(ap);
	return rv;
}

const char *raft_errmsg(const struct raft *r)
{
	return r->errmsg;
}

const char *raft_role_name(int role)
{
	switch (role) {
	case RAFT_FOLLOWER:
		return "follower";
	case RAFT_PRECANDIDATE:
		return "pre-candidate";
	case RAFT_CANDIDATE:
		return "candidate";
	case RAFT_LEADER:
		return "leader";
	default:
		return "unknown";
	}
}

/* ---------------------------------------------------------- randomness */

static uint64_t raft_splitmix64(uint64_t *x)
{
	uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

/* xorshift64* (Vigna): enough for election timeouts, and reproducible. */
uint64_t raft_rand(struct raft *r)
{
	uint64_t x = r->prng;
	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	r->prng = x;
	return x * 0x2545f4914f6cdd1dULL;
}

/* ------------------------------------------------------------- options */

void raft_options_default(struct raft_options *o)
{
	memset(o, 0, sizeof(*o));
	o->election_ticks = 10;
	o->heartbeat_ticks = 1;
	o->pre_vote = true;
	o->check_quorum = true;
	o->max_entries_per_msg = 64;
	o->max_bytes_per_msg = 1024 * 1024;
	o->max_entry_bytes = 0; /* = max_bytes_per_msg */
	o->max_inflight = 64;
	o->snapshot_trailing = 1000;
	o->snapshot_chunk_bytes = 256 * 1024;
	o->catchup_margin = 100;
}

static const char *raft_options_check(const struct raft_options *o)
{
	if (o->id == 0)
		return "server id 0 is reserved";
	if (o->election_ticks < 1)
		return "election_ticks must be at least 1";
	if (o->heartbeat_ticks < 1 || o->heartbeat_ticks >= o->election_ticks)
		return "heartbeat_ticks must be in [1, election_ticks)";
	if (o->max_entries_per_msg < 1 || o->max_bytes_per_msg < 1)
		return "message batching bounds must be at least 1";
	if (o->max_inflight < 1)
		return "max_inflight must be at least 1";
	if (o->snapshot_chunk_bytes < 1)
		return "snapshot_chunk_bytes must be at least 1";
	return NULL;
}

/* ----------------------------------------------------------- lifecycle */

static bool raft_entry_type_valid(int type)
{
	return type == RAFT_ENTRY_NORMAL || type == RAFT_ENTRY_NOOP ||
	       type == RAFT_ENTRY_CONFIG;
}

/* Checks the persisted entries and loads those above the snapshot. */
static int raft_load_log(struct raft *r, const struct raft_initial_state *s,
                         char *err, size_t errlen)
{
	const struct raft_snapshot_meta *snap = &s->snapshot;
	size_t first = 0;
	while (first < s->n_entries && s->entries[first].index <= snap->index)
		first++;
	if (first == s->n_entries)
		return RAFT_OK;
	raft_term prev_term = snap->index > 0 ? snap->term : 0;
	raft_index want = snap->index + 1;
	for (size_t k = first; k < s->n_entries; k++, want++) {
		const struct raft_entry *e = &s->entries[k];
		if (e->index != want) {
			snprintf(err, errlen, "log entry %llu where %llu was "
			         "expected (gap or disorder)",
			         (unsigned long long)e->index,
			         (unsigned long long)want);
			return RAFT_ECORRUPT;
		}
		if (e->term == 0 || e->term < prev_term) {
			snprintf(err, errlen, "log entry %llu has term %llu "
			         "after term %llu", (unsigned long long)e->index,
			         (unsigned long long)e->term,
			         (unsigned long long)prev_term);
			return RAFT_ECORRUPT;
		}
		if (!raft_entry_type_valid(e->type) ||
		    (e->len > 0 && e->data == NULL)) {
			snprintf(err, errlen, "log entry %llu is malformed",
			         (unsigned long long)e->index);
			return RAFT_ECORRUPT;
		}
		if (e->type == RAFT_ENTRY_CONFIG &&
		    raft_config_decode(e->data, e->len, NULL) != RAFT_OK) {
			snprintf(err, errlen, "configuration entry %llu does not "
			         "decode", (unsigned long long)e->index);
			return RAFT_ECORRUPT;
		}
		prev_term = e->term;
	}
	if (log_append(&r->log, s->entries + first, s->n_entries - first) !=
	    RAFT_OK) {
		snprintf(err, errlen, "out of memory loading the log");
		return RAFT_ENOMEM;
	}
	return RAFT_OK;
}

/* First start of an initial member: the configuration becomes entry 1. */
static int raft_bootstrap(struct raft *r, const struct raft_config *c,
                          char *err, size_t errlen)
{
	if (!membership_valid(c) || membership_n_voters(c) == 0) {
		snprintf(err, errlen, "bootstrap configuration is invalid "
		         "(ids, roles, or no voter)");
		return RAFT_EINVAL;
	}
	unsigned char buf[RAFT_CONFIG_ENCODED_MAX];
	size_t len = raft_config_encode(c, buf, sizeof(buf));
	struct raft_entry e;
	memset(&e, 0, sizeof(e));
	e.term = 1;
	e.index = 1;
	e.type = RAFT_ENTRY_CONFIG;
	e.data = buf;
	e.len = len;
	if (log_append(&r->log, &e, 1) != RAFT_OK) {
		snprintf(err, errlen, "out of memory bootstrapping");
		return RAFT_ENOMEM;
	}
	return RAFT_OK;
}

struct raft *raft_new(const struct raft_options *o,
                      const struct raft_initial_state *s, char *errbuf,
                      size_t errlen)
{
	char scratch[RAFT_ERRMSG_SIZE];
	if (errbuf == NULL || errlen == 0) {
		errbuf = scratch;
		errlen = sizeof(scratch);
	}
	errbuf[0] = '\0';
	if (o == NULL || s == NULL) {
		snprintf(errbuf, errlen, "no options or initial state");
		return NULL;
	}
	const char *bad = raft_options_check(o);
	if (bad != NULL) {
		snprintf(errbuf, errlen, "invalid options: %s", bad);
		return NULL;
	}
	if (s->n_entries > 0 && s->entries == NULL) {
		snprintf(errbuf, errlen, "entries missing");
		return NULL;
	}

	struct raft *r = calloc(1, sizeof(*r));
	if (r == NULL) {
		snprintf(errbuf, errlen, "out of memory");
		return NULL;
	}
	r->opts = *o;
	r->id = o->id;
	uint64_t x = o->seed ^ (o->id * 0xd1b54a32d192ed03ULL);
	r->prng = raft_splitmix64(&x);
	if (r->prng == 0)
		r->prng = 0x9e3779b97f4a7c15ULL;

	r->inflight_pool = calloc((size_t)RAFT_MAX_SERVERS * o->max_inflight,
	                          sizeof(*r->inflight_pool));
	if (r->inflight_pool == NULL) {
		snprintf(errbuf, errlen, "out of memory");
		goto err_after_alloc;
	}
	for (unsigned k = 0; k < RAFT_MAX_SERVERS; k++)
		r->progress[k].inflight =
			r->inflight_pool + (size_t)k * o->max_inflight;

	log_init(&r->log);
	if (s->snapshot.index > 0) {
		if (!membership_valid(&s->snapshot.config)) {
			snprintf(errbuf, errlen, "snapshot %llu has an invalid "
			         "configuration",
			         (unsigned long long)s->snapshot.index);
			goto err_after_pool;
		}
		r->snapshot = s->snapshot;
	}
	log_reset(&r->log, r->snapshot.index, r->snapshot.term);
	if (raft_load_log(r, s, errbuf, errlen) != RAFT_OK)
		goto err_after_log;

	raft_index last = log_last_index(&r->log);
	bool bootstrapped = false;
	if (r->snapshot.index == 0 && last == 0 && s->bootstrap.n > 0) {
		if (raft_bootstrap(r, &s->bootstrap, errbuf, errlen) != RAFT_OK)
			goto err_after_log;
		bootstrapped = true;
	}

	r->term = s->hard_state.term;
	r->vote = s->hard_state.vote;
	r->applied = s->applied > r->snapshot.index ? s->applied
	                                            : r->snapshot.index;
	if (r->applied > last) {
		snprintf(errbuf, errlen, "applied index %llu is beyond the log "
		         "(last %llu)", (unsigned long long)r->applied,
		         (unsigned long long)last);
		goto err_after_log;
	}
	r->commit = r->applied;
	/* What we were given is durable; a bootstrap entry is not yet. */
	r->stable = bootstrapped ? 0 : last;
	r->sent = r->stable;

	membership_rebuild(r);
	r->role = RAFT_FOLLOWER;
	r->leader = 0;
	election_reset_timeout(r);
	return r;

err_after_log:
	log_close(&r->log);
err_after_pool:
	free(r->inflight_pool);
err_after_alloc:
	free(r);
	return NULL;
}

void raft_free(struct raft *r)
{
	if (r == NULL)
		return;
	log_close(&r->log);
	ready_close(r);
	free(r->reads);
	free(r->inflight_pool);
	free(r);
}

/* ----------------------------------------------------------- accessors */

raft_id raft_leader(const struct raft *r)
{
	return r->leader;
}

int raft_role(const struct raft *r)
{
	return r->role;
}

raft_term raft_current_term(const struct raft *r)
{
	return r->term;
}

raft_term raft_term_at(const struct raft *r, raft_index index)
{
	raft_term t = 0;
	if (index == 0 || !log_term_at(&r->log, index, &t))
		return 0;
	return t;
}

void raft_status(const struct raft *r, struct raft_status *st)
{
	memset(st, 0, sizeof(*st));
	st->id = r->id;
	st->role = r->role;
	st->term = r->term;
	st->vote = r->vote;
	st->leader = r->leader;
	st->commit_index = r->commit;
	st->applied_index = r->applied;
	st->last_index = log_last_index(&r->log);
	st->last_term = log_last_term(&r->log);
	st->first_index = log_first_index(&r->log);
	st->snapshot_index = r->snapshot.index;
	st->config_index = r->config_index;
	st->config_committed = r->config_index <= r->commit;
	st->transfer_target = r->transfer_target;
	st->term_committed =
		r->role == RAFT_LEADER && r->commit >= r->noop_index;
	st->n_peers = r->config.n;
	bool leader = r->role == RAFT_LEADER;
	for (unsigned k = 0; k < r->config.n && k < RAFT_MAX_SERVERS; k++) {
		const struct raft_server *s = &r->config.servers[k];
		struct raft_peer_status *p = &st->peers[k];
		p->id = s->id;
		p->role_in_config = s->role;
		memcpy(p->address, s->address, sizeof(p->address));
		p->address[RAFT_ADDRESS_MAX - 1] = '\0';
		if (!leader)
			continue;
		if (s->id == r->id) {
			p->match_index = r->stable;
			p->next_index = st->last_index + 1;
			p->progress = RAFT_PROGRESS_REPLICATE;
			continue;
		}
		for (unsigned j = 0; j < RAFT_MAX_SERVERS; j++) {
			const struct raft_progress *q = &r->progress[j];
			if (!q->used || q->id != s->id)
				continue;
			p->match_index = q->match;
			p->next_index = q->next;
			p->progress = q->state;
			p->inflight = q->in_count;
			p->ticks_since_contact = q->ticks_since_contact;
		}
	}
}
