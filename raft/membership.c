/*
 * membership.c -- the cluster configuration and single-server changes.
 *
 * Why this exists
 * ---------------
 * Chapter 4 of the dissertation: configurations live in the log as
 * RAFT_ENTRY_CONFIG entries, and "each server always uses the latest
 * configuration in its log, regardless of whether that configuration entry
 * has been committed" (Section 4.1). This file tracks that configuration
 * (and the one before it), rolls back when an uncommitted configuration
 * entry is truncated away, and implements the leader's add / promote /
 * remove, one server at a time.
 *
 * Where the configuration comes from
 * ----------------------------------
 *   - the latest CONFIG entry above the snapshot index, if any;
 *   - else the snapshot's configuration (as of its index);
 *   - else nothing (n == 0): a server joining an existing cluster, which
 *     just waits to be contacted by a leader.
 * config_prev is the configuration before the latest one, by the same
 * rules. Both are recomputed by scanning the log backwards after a
 * truncation or an install, which is rare; appends update them in O(1).
 *
 * Rules enforced here
 * -------------------
 *   - "a leader ... will not begin another change until the previous
 *     change's entry has committed" (Section 4.1): RAFT_EBUSY;
 *   - a new leader commits an entry of its term before any change (the fix
 *     to single-server changes in the dissertation's errata, Ongaro on
 *     raft-dev, 2015): RAFT_EBUSY until its no-op commits;
 *   - new servers join as non-voters and are promoted once caught up
 *     (Section 4.2.1): RAFT_ECATCHUP;
 *   - a removed leader "steps down once the Cnew entry is committed"
 *     (Section 4.2.2);
 *   - a server outside its latest configuration campaigns only while that
 *     configuration is uncommitted and it was a voter before it (Section
 *     4.2.2: it "might still be needed until the Cnew entry is
 *     committed"); once the removal is committed it never campaigns.
 */
#include <assert.h>
#include <string.h>

#include "internal.h"

const struct raft_server *membership_find(const struct raft_config *c,
                                          raft_id id)
{
	for (unsigned k = 0; k < c->n && k < RAFT_MAX_SERVERS; k++)
		if (c->servers[k].id == id)
			return &c->servers[k];
	return NULL;
}

bool membership_is_voter(const struct raft_config *c, raft_id id)
{
	const struct raft_server *s = membership_find(c, id);
	return s != NULL && s->role == RAFT_VOTER;
}

unsigned membership_n_voters(const struct raft_config *c)
{
	unsigned n = 0;
	for (unsigned k = 0; k < c->n && k < RAFT_MAX_SERVERS; k++)
		if (c->servers[k].role == RAFT_VOTER)
			n++;
	return n;
}

/* Structurally valid: at most RAFT_MAX_SERVERS servers, ids non-zero and
 * unique, known roles. (An empty configuration is valid.) */
bool membership_valid(const struct raft_config *c)
{
	if (c->n > RAFT_MAX_SERVERS)
		return false;
	for (unsigned k = 0; k < c->n; k++) {
		const struct raft_server *s = &c->servers[k];
		if (s->id == 0 ||
		    (s->role != RAFT_VOTER && s->role != RAFT_NONVOTER))
			return false;
		for (unsigned j = 0; j < k; j++)
			if (c->servers[j].id == s->id)
				return false;
	}
	return true;
}

static bool membership_decode_at(const struct raft *r, raft_index i,
                                 struct raft_config *out)
{
	const struct raft_entry *e = log_get(&r->log, i);
	return e != NULL && e->type == RAFT_ENTRY_CONFIG &&
	       raft_config_decode(e->data, e->len, out) == RAFT_OK;
}

/* Recomputes config and config_prev from the log and the snapshot. */
void membership_rebuild(struct raft *r)
{
	int found = 0;
	raft_index lo = r->snapshot.index + 1;
	for (raft_index i = log_last_index(&r->log); i >= lo && found < 2;
	     i--) {
		struct raft_config c;
		if (!membership_decode_at(r, i, &c))
			continue;
		if (found == 0) {
			r->config = c;
			r->config_index = i;
		} else {
			r->config_prev = c;
			r->config_prev_index = i;
		}
		found++;
	}
	if (found == 0) {
		r->config = r->snapshot.config;
		r->config_index = r->snapshot.index;
	}
	if (found < 2) {
		r->config_prev = r->snapshot.config;
		r->config_prev_index = r->snapshot.index;
	}
}

/* The configuration in effect at `index` (>= the snapshot index). */
void membership_config_at(const struct raft *r, raft_index index,
                          struct raft_config *out)
{
	if (index >= r->config_index) {
		*out = r->config;
		return;
	}
	for (raft_index i = index; i > r->snapshot.index; i--)
		if (membership_decode_at(r, i, out))
			return;
	*out = r->snapshot.config;
}

/* Entries from..to were appended: the latest CONFIG among them takes
 * effect at once ("The new configuration takes effect on each server as
 * soon as it is added to that server's log", Section 4.1). */
void membership_on_append(struct raft *r, raft_index from, raft_index to)
{
	bool changed = false;
	for (raft_index i = from; i <= to; i++) {
		struct raft_config c;
		if (!membership_decode_at(r, i, &c))
			continue;
		r->config_prev = r->config;
		r->config_prev_index = r->config_index;
		r->config = c;
		r->config_index = i;
		changed = true;
	}
	if (changed && r->role == RAFT_LEADER)
		progress_sync(r);
}

/* Entries from `from` on were truncated. Section 4.1: "a log entry for a
 * configuration change can be removed (if leadership changes); in this
 * case, a server must be prepared to fall back to the previous
 * configuration in its log." */
void membership_on_truncate(struct raft *r, raft_index from)
{
	if (r->config_index < from && r->config_prev_index < from)
		return;
	membership_rebuild(r);
	if (r->role == RAFT_LEADER)
		progress_sync(r);
}

bool membership_can_campaign(const struct raft *r)
{
	if (membership_is_voter(&r->config, r->id))
		return true;
	return membership_find(&r->config, r->id) == NULL &&
	       r->config_index > r->commit &&
	       membership_is_voter(&r->config_prev, r->id);
}

/* Commit index moved (leader). Once the latest configuration is
 * committed, the servers it removed get one last heartbeat, which carries
 * the commit index: having the entry and knowing it committed, they stop
 * campaigning (membership_can_campaign()). Then the leader forgets them.
 * Section 4.2.2: "a leader that is removed from the configuration steps
 * down once the Cnew entry is committed". */
void membership_on_commit(struct raft *r)
{
	if (r->role != RAFT_LEADER || r->config_index > r->commit)
		return;
	bool dropped = false;
	for (unsigned k = 0; k < RAFT_MAX_SERVERS; k++) {
		struct raft_progress *p = &r->progress[k];
		if (!p->used || membership_find(&r->config, p->id) != NULL)
			continue;
		replication_send(r, p, true, true);
		dropped = true;
	}
	if (dropped)
		progress_sync(r);
	if (r->config_index > 0 && membership_find(&r->config, r->id) == NULL)
		election_become_follower(r, r->term, 0);
}

/* ------------------------------------------------------------ changes */

static int membership_check_leader(struct raft *r)
{
	if (r->role != RAFT_LEADER)
		return raft_error_set(r, RAFT_ENOTLEADER,
		                      "not the leader (leader is %llu)",
		                      (unsigned long long)r->leader);
	return RAFT_OK;
}

static int membership_check_busy(struct raft *r)
{
	if (r->transfer_target != 0)
		return raft_error_set(r, RAFT_EBUSY,
		                      "leadership transfer to %llu in progress",
		                      (unsigned long long)r->transfer_target);
	if (r->config_index > r->commit)
		return raft_error_set(r, RAFT_EBUSY,
		                      "configuration change at index %llu is not "
		                      "committed yet",
		                      (unsigned long long)r->config_index);
	if (r->commit < r->noop_index)
		return raft_error_set(r, RAFT_EBUSY,
		                      "no entry of term %llu committed yet",
		                      (unsigned long long)r->term);
	return RAFT_OK;
}

/* Appends `next` as a CONFIG entry, in effect at once. */
static int membership_append(struct raft *r, const struct raft_config *next,
                             raft_index *index)
{
	unsigned char buf[RAFT_CONFIG_ENCODED_MAX];
	size_t len = raft_config_encode(next, buf, sizeof(buf));
	assert(len > 0 && len <= sizeof(buf));
	struct raft_entry e;
	memset(&e, 0, sizeof(e));
	e.term = r->term;
	e.index = log_last_index(&r->log) + 1;
	e.type = RAFT_ENTRY_CONFIG;
	e.data = buf;
	e.len = len;
	if (log_append(&r->log, &e, 1) != RAFT_OK)
		return raft_error_set(r, RAFT_ENOMEM,
		                      "out of memory appending configuration "
		                      "entry %llu",
		                      (unsigned long long)e.index);
	membership_on_append(r, e.index, e.index);
	if (index != NULL)
		*index = e.index;
	replication_broadcast(r, false);
	/* A smaller quorum may commit what was waiting. */
	replication_maybe_commit(r);
	return RAFT_OK;
}

int raft_add_server(struct raft *r, raft_id id, const char *address,
                    raft_index *index)
{
	int rv = membership_check_leader(r);
	if (rv != RAFT_OK)
		return rv;
	if (id == 0 || address == NULL ||
	    strnlen(address, RAFT_ADDRESS_MAX) >= RAFT_ADDRESS_MAX)
		return raft_error_set(r, RAFT_EINVAL,
		                      "invalid server id or address");
	if (membership_find(&r->config, id) != NULL)
		return raft_error_set(r, RAFT_EEXISTS,
		                      "server %llu is already in the "
		                      "configuration", (unsigned long long)id);
	if (r->config.n >= RAFT_MAX_SERVERS)
		return raft_error_set(r, RAFT_EINVAL,
		                      "configuration is full (%d servers)",
		                      RAFT_MAX_SERVERS);
	rv = membership_check_busy(r);
	if (rv != RAFT_OK)
		return rv;
	/* Section 4.2.1: "a new server joins the cluster as a non-voting
	 * member. The leader replicates log entries to it, but it is not
	 * yet counted towards majorities". */
	struct raft_config next = r->config;
	struct raft_server *s = &next.servers[next.n++];
	memset(s, 0, sizeof(*s));
	s->id = id;
	s->role = RAFT_NONVOTER;
	strcpy(s->address, address);
	return membership_append(r, &next, index);
}

int raft_promote(struct raft *r, raft_id id, raft_index *index)
{
	int rv = membership_check_leader(r);
	if (rv != RAFT_OK)
		return rv;
	const struct raft_server *cur = membership_find(&r->config, id);
	if (cur == NULL)
		return raft_error_set(r, RAFT_ENOTFOUND,
		                      "server %llu is not in the configuration",
		                      (unsigned long long)id);
	if (cur->role == RAFT_VOTER)
		return raft_error_set(r, RAFT_EINVAL,
		                      "server %llu is already a voter",
		                      (unsigned long long)id);
	rv = membership_check_busy(r);
	if (rv != RAFT_OK)
		return rv;
	/* Section 4.2.1: "Once the new server has caught up with the rest of
	 * the cluster, the reconfiguration can proceed". */
	const struct raft_progress *p = progress_find(r, id);
	raft_index match = p ? p->match : 0;
	raft_index last = log_last_index(&r->log);
	if (match + r->opts.catchup_margin < last)
		return raft_error_set(r, RAFT_ECATCHUP,
		                      "server %llu has %llu of %llu entries "
		                      "(margin %llu)",
		                      (unsigned long long)id,
		                      (unsigned long long)match,
		                      (unsigned long long)last,
		                      (unsigned long long)r->opts.catchup_margin);
	struct raft_config next = r->config;
	for (unsigned k = 0; k < next.n; k++)
		if (next.servers[k].id == id)
			next.servers[k].role = RAFT_VOTER;
	return membership_append(r, &next, index);
}

int raft_remove_server(struct raft *r, raft_id id, raft_index *index)
{
	int rv = membership_check_leader(r);
	if (rv != RAFT_OK)
		return rv;
	if (membership_find(&r->config, id) == NULL)
		return raft_error_set(r, RAFT_ENOTFOUND,
		                      "server %llu is not in the configuration",
		                      (unsigned long long)id);
	rv = membership_check_busy(r);
	if (rv != RAFT_OK)
		return rv;
	struct raft_config next;
	memset(&next, 0, sizeof(next));
	for (unsigned k = 0; k < r->config.n; k++)
		if (r->config.servers[k].id != id)
			next.servers[next.n++] = r->config.servers[k];
	if (membership_n_voters(&next) == 0)
		return raft_error_set(r, RAFT_EINVAL,
		                      "removing server %llu would leave no voter",
		                      (unsigned long long)id);
	return membership_append(r, &next, index);
}
