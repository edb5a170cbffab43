/*
 * pgsfix.h -- shared fixture of the raft_pg tests: a fresh database per
 * test (pgtest.h), a storage handle on it, and builders for the entries and
 * ready batches the Raft core would hand to pgs_persist.
 *
 * Entries built here own their data (struct fx_entries); a batch borrows
 * them, as a real raft_ready borrows the core's memory.
 */
#ifndef LMS_TESTS_PGSFIX_H
#define LMS_TESTS_PGSFIX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "pgs.h"
#include "pgtest.h"

struct fx {
	PGconn *conn; /* the test's own connection (pgtest) */
	char db[64];
	char conninfo[256];
	raft_id node_id;
	const struct pgs_state_machine *sm;
	struct pgs *pgs;
};

/* Creates the database, runs setup_sql on it (may be NULL: for tables a
 * test state machine needs) and opens the handle with sm (the kv machine
 * when NULL). */
struct fx *fx_new(const char *prefix, raft_id node_id,
                  const struct pgs_state_machine *sm, const char *setup_sql);
/* Opens the handle again (after fx_close_handle). */
void fx_open(struct fx *f);
void fx_close_handle(struct fx *f);
/* Closes everything and drops the database. */
void fx_free(struct fx *f);

/* Loads and asserts success. */
void fx_load(struct fx *f, struct raft_initial_state *s);

/* A growable list of entries that own their data. */
struct fx_entries {
	struct raft_entry *v;
	struct pgs_buf *data;
	size_t n, cap;
};
void fx_entries_free(struct fx_entries *l);
/* Adds an entry; data copied. Returns it. */
struct raft_entry *fx_add(struct fx_entries *l, raft_index index,
                          raft_term term, int type, const void *data,
                          size_t len);
/* NORMAL entry: envelope(client, seq, kv PUT key value). */
struct raft_entry *fx_add_put(struct fx_entries *l, raft_index index,
                              raft_term term, uint64_t client, uint64_t seq,
                              const char *key, const void *value,
                              size_t value_len);
/* CONFIG entry of servers 1..n, all voters, "127.0.0.1:710<id>". */
struct raft_entry *fx_add_config(struct fx_entries *l, raft_index index,
                                 raft_term term, unsigned n);
void fx_config(struct raft_config *c, unsigned n);

/* A batch that appends l->v[from..from+n) and commits them. */
void fx_ready_append_commit(struct raft_ready *rd, const struct fx_entries *l,
                            size_t from, size_t n, bool commit);

/* pgs_persist asserting success (prints pgs_errmsg on failure). */
void fx_persist(struct fx *f, const struct raft_ready *rd,
                struct pgs_apply_result *results);

/* Decodes a kv result, asserting it is well formed. */
struct pgs_kv_result fx_kv(const struct pgs_apply_result *r);

/* Single value of a query on the test connection (malloc'd). */
char *fx_value(struct fx *f, const char *sql);
long long fx_count(struct fx *f, const char *sql);

#endif
