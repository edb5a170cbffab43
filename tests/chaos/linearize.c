/*
 * linearize.c -- the linearizability checker of register histories.
 *
 * The question
 * ------------
 * A history is a set of operations, each with a call time, a return time
 * and an answer. It is linearizable if every operation can be given a
 * single instant inside [call, return] such that, taken in the order of
 * those instants, the operations form a legal sequential run of the model
 * (a register, see linearize.h) giving exactly the recorded answers.
 *
 * Splitting by key
 * ----------------
 * Registers of different keys do not interact, and linearizability is a
 * local property (Herlihy & Wing 1990, "P-compositionality" in Porcupine):
 * the whole history is linearizable iff the sub-history of every key is.
 * So each key is searched on its own; a search is exponential in the
 * number of overlapping operations at worst, and splitting keeps that
 * number small.
 *
 * The search (Wing & Gong 1993, Lowe 2017, as in Porcupine)
 * ---------------------------------------------------------
 * Every operation with a known outcome gives two entries, its call and its
 * return, and all entries of the key go in one doubly linked list sorted
 * by time (a call before a return at the same instant, so operations whose
 * intervals touch count as concurrent, the permissive reading).
 *
 * We build a linearization from its first operation on. An operation may
 * go next iff its call entry comes before the first return entry R still
 * in the list: every operation called before R's time may have taken
 * effect before it, while an operation called later cannot precede R's
 * operation, which had returned (real-time order). So the loop scans the
 * list from its head:
 *
 *   - at a call entry: if the model accepts the operation in the current
 *     state with the recorded answer, linearize it: push (operation, old
 *     state) on a stack, take the new state, remove ("lift") its call and
 *     return entries from the list, and start scanning again from the
 *     head. Otherwise look at the next entry.
 *
 *   - at R, the first return entry: the operation returning there is not
 *     linearized yet and nothing after it may go first. Once the unknown
 *     operations have been tried too (below), this is a dead end: pop the
 *     last linearized operation, put its entries back ("unlift",
 *     dancing-links style: entries go back in the reverse order they were
 *     taken out, so their saved neighbours are right), restore the state,
 *     and go on scanning right after its call entry, i.e. try the next
 *     choice. Popping from an empty stack means every choice failed: the
 *     history is not linearizable.
 *
 * The search succeeds when every operation with a known outcome is
 * linearized.
 *
 * Unknown outcomes
 * ----------------
 * An operation that timed out may have taken effect at any time after its
 * call, or never: its return is at +infinity. It has no return entry, so
 * it never blocks anything; its call entry lives in a second list, and in
 * each situation the ones called no later than R are extra candidates,
 * tried after the known ones. "Never" needs nothing special: once every
 * known operation is linearized the remaining unknown ones can be put at
 * the very end -- always legal, since a put, and a cas whose answer nobody
 * saw, are accepted in every state -- where they affect nothing that was
 * observed, exactly as if they never happened. That is why the search
 * stops as soon as the known operations are all linearized. A get with an
 * unknown outcome constrains nothing and is dropped before the search, as
 * is every operation with the outcome "fail".
 *
 * Fewer choices
 * -------------
 * A completion of a situation is a sequence of the remaining operations,
 * legal for the model and for real time, that linearizes every known one.
 * Call it normal if (a) no unknown operation in it stands where it
 * changes nothing (a cas whose expectation does not match, a put of the
 * value already there), (b) no unknown operation in it is directly
 * followed by a put (it would be overwritten unseen), and (c) from a
 * "restricted" situation -- one whose last operation was unknown -- it
 * does not start with a put. Any completion of the initial situation can
 * be made normal by removing the unknown operations that break (a) or
 * (b): each such removal leaves every state the others see unchanged.
 * The search only looks for normal completions, which allows it to skip:
 *
 *   1. When a read the state allows (a get, or a cas that did not swap)
 *      is pending, it is taken at once as the only choice: in a normal
 *      completion, move it to the front -- it changes nothing, and since
 *      it was called before every pending return nothing had to precede
 *      it -- then remove an unknown operation the move left directly
 *      before a put, if any.
 *   2. An unknown operation where it changes nothing, by (a).
 *   3. A put right after an unknown operation, by (b) and (c).
 *   4. An unknown operation u that no candidate could use right after
 *      it. After u comes, by (b), a get that read u's value, a cas that
 *      swapped expecting it, an unknown cas expecting it (itself followed
 *      by such a user of its own value, and so on), or a cas that did not
 *      swap; the last kind, if the state before u allows it as well, would
 *      have been taken by rule 1, so it expects the current state. So
 *      candidates() tries the unknown writers of the values that pending
 *      reads need (from an index by value, so that the unknown operations
 *      that never took effect, which stay pending to the end, do not cost
 *      a scan each time), and all of them when a pending cas that did not
 *      swap expects the current state.
 *
 * Memoization, and why it is sound
 * --------------------------------
 * Without it the search retries the same situation through many orders of
 * the same operations. A situation is described by (S, s, restricted): the
 * set S of operations already linearized, the model state s after them,
 * and the flag above. The lists still to be scanned are the original ones
 * minus the entries of S -- a function of S alone, whatever order S was
 * linearized in -- and what may go next depends only on those lists, on s
 * and on the flag. So whether a situation has a normal completion does
 * not depend on how we got there. When the search leaves a situation for
 * good (it pops it) without having succeeded, every choice from it has
 * been tried: it goes into the cache of failed situations, and is never
 * entered again.
 *
 * The cache answers for more than exact matches. Write S = K + U, the
 * known and the unknown operations linearized. If (K + U', s, f') failed,
 * U' is a subset of U, and f' is unrestricted or f is restricted, then
 * (K + U, s, f) is skipped: any normal completion of it is one of
 * (K + U', s, f') as well -- the extra unknown operations of U \ U'
 * merely stay pending there (they have no return to block anything), and
 * an unrestricted situation allows whatever a restricted one does.
 * Without this every unknown write that never took effect would double
 * the situations after it, with and without it. Trying known candidates
 * before unknown ones makes the search meet the situation with fewer
 * unknowns first, so the later ones are the ones skipped.
 *
 * Soundness of the whole: a failed situation has no normal completion.
 * Suppose D is the first one to fail that has one, c. By rules 1 to 4, c
 * can be rearranged into a normal completion whose first operation x the
 * search tried at D; the rest of it is a normal completion of D + x. But
 * D + x either failed earlier, or was skipped for an earlier failure that
 * covers it, which then has that normal completion too: either way an
 * earlier failure had one, against the choice of D. So the search says
 * "not linearizable" only when no linearization exists.
 *
 * S is a bitset: the known operations in call order, which the cache
 * stores run-length encoded ("all ones up to the oldest pending
 * operation, a few mixed words, zeros"; cacheKey), and the unknown ones
 * stored as they are (they are compared as subsets).
 *
 * The budget
 * ----------
 * Every loop iteration is a step, and so is every entry looked at while
 * computing the unknown candidates and every comparison with a cached
 * situation beyond the first of a lookup; a key that needs more steps
 * than the budget (or more cache memory than allowed) is "undecided",
 * never "ok".
 *
 * Before the search, two cheap necessary conditions are checked so the
 * commonest anomalies get a direct explanation: a value read (by a get, or
 * as the expectation of a successful cas) must have been written by some
 * put or cas of the key that did not fail, and that write must have
 * started before the read returned.
 *
 * Explanations
 * ------------
 * At every dead end, the partial linearization on the stack is a candidate
 * explanation; we keep the deepest one (noteDeadEnd). For a history that is not
 * linearizable it shows how far a legal order gets: the operations in
 * order, the register after them, the operation that had to come next
 * (R's, whose return blocked the scan) and the ones that could have been
 * tried before it.
 */
#include "linearize.h"

#include <assert.h>
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

/* The state "absent" (also the expectation "absent" of a cas). */
#define LIN_ABSENT (-1)
/* Operations shown at the end of a partial linearization. */
#define LIN_SHOW_TAIL 8
/* Pending operations listed in an explanation. */
#define LIN_SHOW_PENDING 12
/* Entries of linearized[] / pending[] given in the JSON output. */
#define LIN_JSON_TAIL 20

/* One operation of the key being checked. */
struct linOp {
	size_t hist;            /* index in the history */
	enum lms_hist_kind kind;
	bool known;             /* outcome ok (else unknown: no return) */
	bool swapped;           /* cas, known: the recorded answer */
	int32_t arg;            /* put, cas: the value written */
	int32_t expect;         /* cas: the expected value or LIN_ABSENT */
	int32_t read;           /* get: the value read or LIN_ABSENT */
	uint32_t bit;           /* its bit in kbits (known) or ubits */
	uint64_t start, end;    /* end: UINT64_MAX when unknown */
};

/* A call or return entry in one of the time-ordered lists. */
struct linEntry {
	struct linEntry *prev, *next;
	struct linEntry *match; /* call: its return (NULL if unknown) */
	uint64_t time;
	uint32_t op;
	bool call;
};

/* A failed situation in the cache: pool[off .. off+klen) is the encoded
 * known set, pool[off+klen .. off+klen+ulen) the unknown set's words
 * (trailing zero words left out). */
struct linCacheEnt {
	uint64_t hash;  /* of the known encoding and the state */
	uint64_t off;
	uint32_t klen;
	uint32_t ulen;
	int32_t state;
	bool after_unknown; /* the restricted variant (see keySearch) */
};

struct linCache {
	uint64_t *pool;
	size_t pool_len, pool_cap;
	struct linCacheEnt *ents;
	size_t n, ents_cap;
	uint32_t *slots; /* 0 empty, else index in ents + 1 */
	size_t n_slots;  /* power of two */
	size_t max_bytes;
	uint64_t *scratch; /* encoding buffer, 2 * nkw + 2 words */
};

/* One stack frame: an operation linearized and what to restore. */
struct linFrame {
	uint32_t op;
	int32_t state;          /* before it */
	size_t cands_len;       /* length of the candidate stack before it */
	struct linEntry *r;     /* the first return entry where it was taken */
	bool forced;            /* a read taken as the only choice */
	/* An unknown operation: the candidate list it was taken from. */
	size_t cand_off, cand_n, cand_i;
};

/* Everything about the key being checked. */
struct linKey {
	const struct lms_history *h;
	const struct lms_lin_options *opt;
	struct lms_lin_key *res;
	const size_t *group;    /* indexes of this key's ops in h */
	size_t n_group;
	uint64_t t0;            /* times are shown relative to it */

	struct linOp *ops;
	size_t n;               /* kept operations */
	size_t n_known;
	const char **values;    /* interned values, sorted */
	size_t n_values;

	struct linEntry *entries;
	struct linEntry **call_of; /* op -> its call entry */
	struct linEntry khead;     /* sentinel of the known list */
	struct linEntry uhead;     /* sentinel of the unknown calls */

	/* The linearized set S = K + U. Words [0, klo) of kbits are all
	 * ones and words [khi, nkw) all zeros, both exactly (cacheKey). */
	uint64_t *kbits, *ubits;
	size_t nkw, nuw, klo, khi;

	/* Unknown operations by the value they write (uw_ops[uw_off[v] ..
	 * uw_off[v+1]), in call order), and the scratch of candidates(). */
	size_t *uw_off;
	uint32_t *uw_ops;
	uint32_t *need_stamp;   /* per value */
	uint32_t stamp;
	int32_t *need_list;

	struct linFrame *stack;
	size_t depth;
	uint32_t *cands;        /* the candidate stack (unknown ops) */
	size_t cands_len, cands_cap;
	struct linCache cache;
	bool cache_full;        /* undecided because of max_cache_bytes */
	uint64_t steps;

	/* The best dead end seen (noteDeadEnd): best_lin[0 .. best_depth);
	 * its first best_valid entries equal the current stack. */
	bool have_best;
	size_t best_known, best_depth, best_valid;
	uint32_t *best_lin;
	uint32_t best_blocked;
};

/* ---- small helpers ----------------------------------------------------- */

/* A growable string for explanations; on ENOMEM it stays NULL-safe. */
struct linBuf {
	char *s;
	size_t len, cap;
	bool oom;
};

static void bufAdd(struct linBuf *b, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void bufAdd(struct linBuf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (b->oom)
		return;
	for (;;) {
		size_t room = b->cap - b->len;

		va_start(ap, fmt);
		n = vsnprintf(b->s ? b->s + b->len : NULL, room, fmt, ap);
		va_end(ap);
		if (n < 0) {
			b->oom = true;
			return;
		}
		if ((size_t)n < room) {
			b->len += (size_t)n;
			return;
		}
		size_t cap = (b->cap ? b->cap * 2 : 256) + (size_t)n;
		char *s = realloc(b->s, cap);
		if (s == NULL) {
			b->oom = true;
			return;
		}
		b->s = s;
		b->cap = cap;
	}
}

/* Take the string out of b (NULL if memory ran out). */
static char *bufTake(struct linBuf *b)
{
	if (b->oom) {
		free(b->s);
		return NULL;
	}
	if (b->s == NULL)
		return strdup("");
	return b->s;
}

/*
 * A value for people: quoted, quotes, backslashes and control bytes
 * escaped, cut at 48 bytes; NULL is "absent".
 */
static void quoteValue(char *out, size_t len, const char *v)
{
	size_t o = 0, i;

	if (len < 16) {
		if (len > 0)
			out[0] = '\0';
		return;
	}
	if (v == NULL) {
		snprintf(out, len, "absent");
		return;
	}
	out[o++] = '"';
	for (i = 0; v[i] != '\0' && o + 8 < len; i++) {
		unsigned char c = (unsigned char)v[i];

		if (i == 48)
			break;
		if (c == '"' || c == '\\') {
			out[o++] = '\\';
			out[o++] = (char)c;
		} else if (c < 0x20 || c == 0x7f) {
			o += (size_t)snprintf(out + o, len - o, "\\x%02x", c);
		} else {
			out[o++] = (char)c;
		}
	}
	if (v[i] != '\0')
		o += (size_t)snprintf(out + o, len - o, "...");
	out[o++] = '"';
	out[o] = '\0';
}

/* Seconds since t0, "+1.234567s"; "?" for no time. */
static void fmtTime(char *out, size_t len, uint64_t t, uint64_t t0)
{
	if (t == LMS_HIST_NO_END) {
		snprintf(out, len, "?");
		return;
	}
	if (t >= t0)
		snprintf(out, len, "+%llu.%06llus",
			 (unsigned long long)((t - t0) / 1000000000u),
			 (unsigned long long)((t - t0) % 1000000000u / 1000));
	else
		snprintf(out, len, "-%llu.%06llus",
			 (unsigned long long)((t0 - t) / 1000000000u),
			 (unsigned long long)((t0 - t) % 1000000000u / 1000));
}

void lms_lin_format_op(char *buf, size_t len, const struct lms_hist_op *op,
		       uint64_t t0_ns)
{
	char a[128], b[128], ts[32], te[32], what[300];

	fmtTime(ts, sizeof(ts), op->start_ns, t0_ns);
	fmtTime(te, sizeof(te), op->end_ns, t0_ns);
	switch (op->kind) {
	case LMS_HIST_PUT:
		quoteValue(a, sizeof(a), op->value);
		snprintf(what, sizeof(what), "put %s", a);
		break;
	case LMS_HIST_GET:
		quoteValue(a, sizeof(a), op->result);
		if (op->outcome == LMS_HIST_OK)
			snprintf(what, sizeof(what), "get -> %s", a);
		else
			snprintf(what, sizeof(what), "get");
		break;
	case LMS_HIST_CAS:
		quoteValue(a, sizeof(a), op->expected);
		quoteValue(b, sizeof(b), op->value);
		if (op->outcome == LMS_HIST_OK)
			snprintf(what, sizeof(what), "cas %s -> %s: %s", a, b,
				 op->swapped ? "swapped" : "not swapped");
		else
			snprintf(what, sizeof(what), "cas %s -> %s", a, b);
		break;
	default:
		snprintf(what, sizeof(what), "?");
	}
	snprintf(buf, len, "#%llu c%llu %s%s%s [%s .. %s]",
		 (unsigned long long)op->id, (unsigned long long)op->client,
		 what, op->outcome == LMS_HIST_OK ? "" : " (",
		 op->outcome == LMS_HIST_OK ? ""
		 : op->outcome == LMS_HIST_FAIL ? "failed)" : "unknown)",
		 ts, te);
}

const char *lms_lin_verdict_name(enum lms_lin_verdict v)
{
	switch (v) {
	case LMS_LIN_OK:
		return "linearizable";
	case LMS_LIN_ANOMALY:
		return "NOT linearizable";
	case LMS_LIN_UNDECIDED:
		return "undecided";
	}
	return "?";
}

static const char *verdictWord(enum lms_lin_verdict v)
{
	return v == LMS_LIN_OK ? "ok"
	       : v == LMS_LIN_ANOMALY ? "anomaly" : "undecided";
}

/* ---- the model --------------------------------------------------------- */

/*
 * Apply op in state s: true and *next if the register accepts it with the
 * recorded answer. An unknown put or cas is accepted in every state (its
 * answer was not seen); a cas swaps iff the state equals its expectation,
 * with LIN_ABSENT matching an absent register.
 */
static bool modelStep(const struct linOp *op, int32_t s, int32_t *next)
{
	bool match;

	switch (op->kind) {
	case LMS_HIST_PUT:
		*next = op->arg;
		return true;
	case LMS_HIST_GET:
		*next = s;
		return s == op->read;
	case LMS_HIST_CAS:
		match = s == op->expect;
		*next = match ? op->arg : s;
		return !op->known || match == op->swapped;
	}
	return false;
}

/* ---- the cache of failed situations ------------------------------------ */

static uint64_t mix(uint64_t h, uint64_t w)
{
	h ^= w + 0x9e3779b97f4a7c15ull + (h << 6) + (h >> 2);
	h *= 0xff51afd7ed558ccdull;
	return h ^ (h >> 33);
}

static size_t cacheBytes(const struct linCache *c)
{
	return c->pool_cap * sizeof(*c->pool) +
	       c->ents_cap * sizeof(*c->ents) +
	       c->n_slots * sizeof(*c->slots);
}

/*
 * Run-length encode the known set into c->scratch; returns the length in
 * words. Tokens: a word (LIN_RUN_ZERO | r) or (LIN_RUN_ONES | r) stands for
 * r words all 0 or all 1; (LIN_LIT | r) is followed by r literal words.
 * The encoding is a function of the set, so two sets are equal iff their
 * encodings are.
 */
#define LIN_RUN_ZERO (1ull << 62)
#define LIN_RUN_ONES (2ull << 62)
#define LIN_LIT (3ull << 62)

static size_t cacheEncode(struct linCache *c, uint64_t *out,
			  const uint64_t *bits, size_t nwords)
{
	size_t o = 0, i = 0;

	while (i < nwords) {
		uint64_t w = bits[i];
		size_t j = i + 1;

		if (w == 0 || w == ~0ull) {
			while (j < nwords && bits[j] == w)
				j++;
			out[o++] = (w == 0 ? LIN_RUN_ZERO : LIN_RUN_ONES) |
				   (uint64_t)(j - i);
		} else {
			while (j < nwords && bits[j] != 0 && bits[j] != ~0ull)
				j++;
			out[o++] = LIN_LIT | (uint64_t)(j - i);
			memcpy(out + o, bits + i, (j - i) * sizeof(*out));
			o += j - i;
		}
		i = j;
	}
	return o;
}

/* Words of the unknown set up to its last non-zero one. */
static size_t unknownLen(const uint64_t *ubits, size_t nuw)
{
	while (nuw > 0 && ubits[nuw - 1] == 0)
		nuw--;
	return nuw;
}

static int cacheInit(struct linCache *c, size_t nkw, size_t max_bytes)
{
	memset(c, 0, sizeof(*c));
	c->max_bytes = max_bytes;
	c->scratch = malloc((2 * nkw + 2) * sizeof(*c->scratch));
	c->n_slots = 1024;
	c->slots = calloc(c->n_slots, sizeof(*c->slots));
	if (c->scratch == NULL || c->slots == NULL)
		return -ENOMEM;
	return 0;
}

static void cacheFree(struct linCache *c)
{
	free(c->pool);
	free(c->ents);
	free(c->slots);
	free(c->scratch);
	memset(c, 0, sizeof(*c));
}

/* Double the slot table and rehash. */
static int cacheGrowSlots(struct linCache *c)
{
	size_t n = c->n_slots * 2;
	uint32_t *slots = calloc(n, sizeof(*slots));

	if (slots == NULL)
		return -ENOMEM;
	for (size_t e = 0; e < c->n; e++) {
		size_t i = c->ents[e].hash & (n - 1);

		while (slots[i] != 0)
			i = (i + 1) & (n - 1);
		slots[i] = (uint32_t)(e + 1);
	}
	free(c->slots);
	c->slots = slots;
	c->n_slots = n;
	return 0;
}

/* Grow *p (elements of size sz) to hold at least need; 0 or -ENOMEM. */
static int growArray(void **p, size_t *cap, size_t need, size_t sz)
{
	size_t n = *cap ? *cap : 256;
	void *q;

	if (need <= *cap)
		return 0;
	while (n < need)
		n *= 2;
	q = realloc(*p, n * sz);
	if (q == NULL)
		return -ENOMEM;
	*p = q;
	*cap = n;
	return 0;
}

/*
 * Encode the known set into scratch; its length and the hash of
 * (encoding, state). Words below klo are all ones and from khi on all
 * zeros, exactly, so only [klo, khi) needs looking at (a window about as
 * wide as the concurrency) and the result is the encoding of the whole.
 */
static uint64_t cacheKey(struct linCache *c, const uint64_t *kbits,
			 size_t nkw, size_t klo, size_t khi, int32_t state,
			 size_t *klen)
{
	uint64_t h = mix(0x12345, (uint64_t)(uint32_t)state);
	size_t o = 0;

	if (klo > 0)
		c->scratch[o++] = LIN_RUN_ONES | (uint64_t)klo;
	o += cacheEncode(c, c->scratch + o, kbits + klo, khi - klo);
	if (khi < nkw)
		c->scratch[o++] = LIN_RUN_ZERO | (uint64_t)(nkw - khi);
	*klen = o;
	for (size_t i = 0; i < *klen; i++)
		h = mix(h, c->scratch[i]);
	return h;
}

/*
 * Does the cache hold a failed situation that covers (k's linearized set,
 * state, after_unknown): same known set and state, a subset of its
 * unknown set, and not restricted unless this one is? Each cached
 * situation compared beyond the first adds a step to *steps.
 */
static bool cacheCovers(struct linCache *c, const struct linKey *k,
			int32_t state, bool after_unknown, uint64_t *steps)
{
	const uint64_t *ubits = k->ubits;
	size_t klen, ulen = unknownLen(ubits, k->nuw), seen = 0;
	uint64_t h = cacheKey(c, k->kbits, k->nkw, k->klo, k->khi, state,
			      &klen);

	for (size_t i = h & (c->n_slots - 1); c->slots[i] != 0;
	     i = (i + 1) & (c->n_slots - 1)) {
		const struct linCacheEnt *e = &c->ents[c->slots[i] - 1];
		const uint64_t *eu;
		size_t w;

		if (e->hash != h || e->state != state || e->klen != klen ||
		    (e->after_unknown && !after_unknown))
			continue;
		if (seen++ > 0)
			(*steps)++;
		if (memcmp(c->pool + e->off, c->scratch,
			   klen * sizeof(*c->scratch)) != 0)
			continue;
		if (e->ulen > ulen)
			continue;
		eu = c->pool + e->off + e->klen;
		for (w = 0; w < e->ulen; w++)
			if ((eu[w] & ~ubits[w]) != 0)
				break;
		if (w == e->ulen)
			return true;
	}
	return false;
}

/*
 * Record (k's linearized set, state, after_unknown) as failed. Returns 0,
 * -ENOMEM, or -ENOSPC when the cache would exceed max_bytes.
 */
static int cacheAdd(struct linCache *c, const struct linKey *k,
		    int32_t state, bool after_unknown)
{
	const uint64_t *ubits = k->ubits;
	size_t klen, ulen = unknownLen(ubits, k->nuw), i, extra = 0;
	uint64_t h = cacheKey(c, k->kbits, k->nkw, k->klo, k->khi, state,
			      &klen);
	struct linCacheEnt *e;

	/* Check the memory limit before growing anything. */
	if (c->n + 1 >= UINT32_MAX)
		return -ENOSPC;
	if (c->pool_len + klen + ulen > c->pool_cap)
		extra += (c->pool_cap ? c->pool_cap : 256) * sizeof(*c->pool);
	if (c->n + 1 > c->ents_cap)
		extra += (c->ents_cap ? c->ents_cap : 256) * sizeof(*c->ents);
	if ((c->n + 1) * 2 > c->n_slots)
		extra += c->n_slots * sizeof(*c->slots);
	if (cacheBytes(c) + extra > c->max_bytes)
		return -ENOSPC;
	if (growArray((void **)&c->pool, &c->pool_cap,
		      c->pool_len + klen + ulen, sizeof(*c->pool)) != 0 ||
	    growArray((void **)&c->ents, &c->ents_cap, c->n + 1,
		      sizeof(*c->ents)) != 0)
		return -ENOMEM;

	e = &c->ents[c->n];
	e->hash = h;
	e->off = c->pool_len;
	e->klen = (uint32_t)klen;
	e->ulen = (uint32_t)ulen;
	e->state = state;
	e->after_unknown = after_unknown;
	memcpy(c->pool + c->pool_len, c->scratch, klen * sizeof(*c->pool));
	memcpy(c->pool + c->pool_len + klen, ubits, ulen * sizeof(*c->pool));
	c->pool_len += klen + ulen;
	for (i = h & (c->n_slots - 1); c->slots[i] != 0;
	     i = (i + 1) & (c->n_slots - 1))
		;
	c->slots[i] = (uint32_t)(c->n + 1);
	c->n++;
	if (c->n * 2 > c->n_slots && cacheGrowSlots(c) != 0)
		return -ENOMEM;
	return 0;
}

/* ---- the entry list ---------------------------------------------------- */

/* Take op's call and return entries out of the list. */
static void lift(struct linEntry *call)
{
	call->prev->next = call->next;
	if (call->next != NULL)
		call->next->prev = call->prev;
	if (call->match != NULL) {
		struct linEntry *r = call->match;

		r->prev->next = r->next;
		if (r->next != NULL)
			r->next->prev = r->prev;
	}
}

/* Put them back: the reverse of lift, in the reverse order. */
static void unlift(struct linEntry *call)
{
	if (call->match != NULL) {
		struct linEntry *r = call->match;

		r->prev->next = r;
		if (r->next != NULL)
			r->next->prev = r;
	}
	call->prev->next = call;
	if (call->next != NULL)
		call->next->prev = call;
}

static int entryCmp(const void *a, const void *b)
{
	const struct linEntry *x = a, *y = b;

	if (x->time != y->time)
		return x->time < y->time ? -1 : 1;
	if (x->call != y->call)
		return x->call ? -1 : 1; /* calls first: touching = overlap */
	return x->op < y->op ? -1 : x->op > y->op;
}

/* ---- preparing one key ------------------------------------------------- */

static int strpCmp(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static int32_t valueId(const struct linKey *k, const char *v)
{
	const char **p;

	if (v == NULL)
		return LIN_ABSENT;
	p = bsearch(&v, k->values, k->n_values, sizeof(*k->values), strpCmp);
	assert(p != NULL);
	return (int32_t)(p - k->values);
}

static const char *valueStr(const struct linKey *k, int32_t id)
{
	return id == LIN_ABSENT ? NULL : k->values[id];
}

/* Is history op o dropped before the search? */
static bool dropped(const struct lms_hist_op *o)
{
	return o->outcome == LMS_HIST_FAIL ||
	       (o->outcome == LMS_HIST_UNKNOWN && o->kind == LMS_HIST_GET);
}

/* Operations by call time: known before unknown for bit numbering. */
static int opCmp(const void *a, const void *b)
{
	const struct linOp *x = a, *y = b;

	if (x->start != y->start)
		return x->start < y->start ? -1 : 1;
	return x->hist < y->hist ? -1 : x->hist > y->hist;
}

/* Link the sorted entries e[0..n) into a list after the sentinel head. */
static void keyLink(struct linKey *k, struct linEntry *head,
		    struct linEntry *e, size_t n)
{
	head->prev = NULL;
	head->next = n ? &e[0] : NULL;
	for (size_t i = 0; i < n; i++) {
		e[i].prev = i ? &e[i - 1] : head;
		e[i].next = i + 1 < n ? &e[i + 1] : NULL;
		if (e[i].call)
			k->call_of[e[i].op] = &e[i];
		else
			k->call_of[e[i].op]->match = &e[i]; /* call first */
	}
}

/* Build ops[], values[], the entry lists and the bitsets of key k. */
static int keyPrepare(struct linKey *k)
{
	const struct lms_hist_op *ho;
	size_t nv = 0, ne = 0, nk, i, j;
	uint32_t bit_known = 0, bit_unknown = 0;

	k->ops = calloc(k->n_group ? k->n_group : 1, sizeof(*k->ops));
	k->values = calloc(2 * k->n_group + 1, sizeof(*k->values));
	if (k->ops == NULL || k->values == NULL)
		return -ENOMEM;

	/* The values of the key, interned: ids are indexes in values[]. */
	for (i = 0; i < k->n_group; i++) {
		ho = &k->h->ops[k->group[i]];
		if (dropped(ho))
			continue;
		if (ho->value != NULL)
			k->values[nv++] = ho->value;
		if (ho->expected != NULL)
			k->values[nv++] = ho->expected;
		if (ho->result != NULL)
			k->values[nv++] = ho->result;
	}
	qsort(k->values, nv, sizeof(*k->values), strpCmp);
	for (i = 0, j = 0; i < nv; i++)
		if (j == 0 || strcmp(k->values[j - 1], k->values[i]) != 0)
			k->values[j++] = k->values[i];
	k->n_values = j;

	for (i = 0; i < k->n_group; i++) {
		struct linOp *op = &k->ops[k->n];

		ho = &k->h->ops[k->group[i]];
		if (dropped(ho))
			continue;
		op->hist = k->group[i];
		op->kind = ho->kind;
		op->known = ho->outcome == LMS_HIST_OK;
		op->swapped = ho->swapped;
		op->arg = valueId(k, ho->value);
		op->expect = valueId(k, ho->expected);
		op->read = valueId(k, ho->result);
		op->start = ho->start_ns;
		op->end = op->known ? ho->end_ns : UINT64_MAX;
		k->n++;
		if (op->known)
			k->n_known++;
	}
	qsort(k->ops, k->n, sizeof(*k->ops), opCmp);
	for (i = 0; i < k->n; i++)
		k->ops[i].bit = k->ops[i].known ? bit_known++ : bit_unknown++;

	k->entries = calloc(2 * k->n + 1, sizeof(*k->entries));
	k->call_of = calloc(k->n + 1, sizeof(*k->call_of));
	k->nkw = (k->n_known + 63) / 64 + 1;
	k->nuw = (k->n - k->n_known + 63) / 64 + 1;
	k->kbits = calloc(k->nkw, sizeof(*k->kbits));
	k->ubits = calloc(k->nuw, sizeof(*k->ubits));
	k->stack = calloc(k->n + 1, sizeof(*k->stack));
	k->best_lin = calloc(k->n + 1, sizeof(*k->best_lin));
	k->uw_off = calloc(k->n_values + 2, sizeof(*k->uw_off));
	k->uw_ops = calloc(k->n - k->n_known + 1, sizeof(*k->uw_ops));
	k->need_stamp = calloc(k->n_values + 1, sizeof(*k->need_stamp));
	k->need_list = calloc(k->n_values + 1, sizeof(*k->need_list));
	if (k->entries == NULL || k->call_of == NULL || k->kbits == NULL ||
	    k->ubits == NULL || k->stack == NULL || k->best_lin == NULL ||
	    k->uw_off == NULL || k->uw_ops == NULL || k->need_stamp == NULL ||
	    k->need_list == NULL)
		return -ENOMEM;

	/* The unknown writers of each value (counting sort, in call
	 * order). */
	for (i = 0; i < k->n; i++)
		if (!k->ops[i].known)
			k->uw_off[k->ops[i].arg + 2]++;
	for (i = 0; i < k->n_values; i++)
		k->uw_off[i + 2] += k->uw_off[i + 1];
	for (i = 0; i < k->n; i++)
		if (!k->ops[i].known)
			k->uw_ops[k->uw_off[k->ops[i].arg + 1]++] =
				(uint32_t)i;

	/* The known operations' calls and returns in entries[0 .. nk), the
	 * unknown ones' calls in entries[nk .. ne), each part sorted. */
	for (i = 0; i < k->n; i++) {
		if (!k->ops[i].known)
			continue;
		k->entries[ne++] = (struct linEntry){
			.time = k->ops[i].start, .op = (uint32_t)i,
			.call = true};
		k->entries[ne++] = (struct linEntry){
			.time = k->ops[i].end, .op = (uint32_t)i,
			.call = false};
	}
	nk = ne;
	for (i = 0; i < k->n; i++)
		if (!k->ops[i].known)
			k->entries[ne++] = (struct linEntry){
				.time = k->ops[i].start, .op = (uint32_t)i,
				.call = true};
	qsort(k->entries, nk, sizeof(*k->entries), entryCmp);
	qsort(k->entries + nk, ne - nk, sizeof(*k->entries), entryCmp);
	keyLink(k, &k->khead, k->entries, nk);
	keyLink(k, &k->uhead, k->entries + nk, ne - nk);
	return cacheInit(&k->cache, k->nkw,
			 k->opt->max_cache_bytes ? k->opt->max_cache_bytes
						 : LMS_LIN_DEFAULT_CACHE_BYTES);
}

static void keyFree(struct linKey *k)
{
	free(k->ops);
	free(k->values);
	free(k->entries);
	free(k->call_of);
	free(k->kbits);
	free(k->ubits);
	free(k->stack);
	free(k->best_lin);
	free(k->uw_off);
	free(k->uw_ops);
	free(k->need_stamp);
	free(k->need_list);
	free(k->cands);
	cacheFree(&k->cache);
}

/* ---- explanations ------------------------------------------------------ */

static uint64_t historyT0(const struct lms_history *h)
{
	uint64_t t0 = UINT64_MAX;

	for (size_t i = 0; i < h->n; i++)
		if (h->ops[i].start_ns < t0)
			t0 = h->ops[i].start_ns;
	return t0 == UINT64_MAX ? 0 : t0;
}

static void bufOp(struct linBuf *b, const struct linKey *k, size_t i,
		  const char *indent)
{
	char line[512];

	lms_lin_format_op(line, sizeof(line), &k->h->ops[i], k->t0);
	bufAdd(b, "%s%s\n", indent, line);
}

/*
 * Look for a read of a value that no surviving write could have supplied:
 * never written, only written by failed operations, or only by writes
 * called after the read returned. Fills the explanation of k->res and
 * returns true if one is found (the earliest such read).
 */
static bool keyPrecheck(struct linKey *k)
{
	uint64_t *first_write;
	size_t best = SIZE_MAX;
	int32_t best_v = LIN_ABSENT;
	struct linBuf b = {0};
	char q[128];

	first_write = malloc((k->n_values + 1) * sizeof(*first_write));
	if (first_write == NULL)
		return false; /* the search will find it anyway */
	for (size_t v = 0; v < k->n_values; v++)
		first_write[v] = UINT64_MAX;
	for (size_t i = 0; i < k->n; i++) {
		const struct linOp *op = &k->ops[i];

		if (op->kind != LMS_HIST_GET && op->start < first_write[op->arg])
			first_write[op->arg] = op->start;
	}
	for (size_t i = 0; i < k->n; i++) {
		const struct linOp *op = &k->ops[i];
		int32_t v = op->kind == LMS_HIST_GET ? op->read
			    : op->kind == LMS_HIST_CAS && op->known &&
			      op->swapped ? op->expect : LIN_ABSENT;

		if (v == LIN_ABSENT || first_write[v] <= op->end)
			continue;
		if (best == SIZE_MAX || op->end < k->ops[best].end) {
			best = i;
			best_v = v;
		}
	}
	if (best == SIZE_MAX) {
		free(first_write);
		return false;
	}

	quoteValue(q, sizeof(q), k->values[best_v]);
	bufAdd(&b, "  this %s cannot be placed:\n",
	       k->ops[best].kind == LMS_HIST_GET ? "read" : "cas");
	bufOp(&b, k, k->ops[best].hist, "    ");
	if (first_write[best_v] != UINT64_MAX) {
		bufAdd(&b, "  it saw %s, but every write of %s was called "
		       "after it returned:\n", q, q);
		for (size_t i = 0; i < k->n; i++)
			if (k->ops[i].kind != LMS_HIST_GET &&
			    k->ops[i].arg == best_v)
				bufOp(&b, k, k->ops[i].hist, "    ");
	} else {
		bool failed = false;

		for (size_t i = 0; i < k->n_group; i++) {
			const struct lms_hist_op *o = &k->h->ops[k->group[i]];

			if (o->outcome == LMS_HIST_FAIL && o->value != NULL &&
			    strcmp(o->value, k->values[best_v]) == 0) {
				if (!failed)
					bufAdd(&b, "  it saw %s, which only "
					       "operations that failed wrote:\n",
					       q);
				failed = true;
				bufOp(&b, k, k->group[i], "    ");
			}
		}
		if (!failed)
			bufAdd(&b, "  it saw %s, which no operation on this "
			       "key wrote\n", q);
	}
	k->res->verdict = LMS_LIN_ANOMALY;
	k->res->blocked = k->ops[best].hist;
	k->res->explanation = bufTake(&b);
	free(first_write);
	return true;
}

/*
 * Remember the dead end at return entry r if it is the best explanation
 * yet: the most known operations linearized, and among those the fewest
 * unknown ones (the search tries unknown operations speculatively at the
 * end of a partial linearization; the situation before those attempts is
 * the one to show). Only the part of the stack that changed since the
 * last copy is copied, so the copies cost no more than the pushes.
 */
static void noteDeadEnd(struct linKey *k, const struct linEntry *r,
			size_t remaining)
{
	size_t known = k->n_known - remaining;

	if (k->have_best && (known < k->best_known ||
			     (known == k->best_known &&
			      k->depth >= k->best_depth)))
		return;
	k->have_best = true;
	k->best_known = known;
	for (size_t i = k->best_valid; i < k->depth; i++)
		k->best_lin[i] = k->stack[i].op;
	k->best_depth = k->best_valid = k->depth;
	k->best_blocked = r->op;
}

/* Copy the deepest dead end into the result and explain it. */
static int keyExplainSearch(struct linKey *k)
{
	struct lms_lin_key *r = k->res;
	const struct linOp *blocked;
	struct linBuf b = {0};
	int32_t s = LIN_ABSENT, next;
	size_t last_writer = SIZE_MAX, from;
	char q[128], e[128];
	bool *in;

	if (!k->have_best)
		return 0;
	blocked = &k->ops[k->best_blocked];
	r->blocked = blocked->hist;
	r->linearized = calloc(k->best_depth + 1, sizeof(*r->linearized));
	r->pending = calloc(k->n + 1, sizeof(*r->pending));
	in = calloc(k->n + 1, sizeof(*in));
	if (r->linearized == NULL || r->pending == NULL || in == NULL) {
		free(in);
		return -ENOMEM;
	}
	for (size_t i = 0; i < k->best_depth; i++) {
		const struct linOp *op = &k->ops[k->best_lin[i]];
		bool wrote = op->kind == LMS_HIST_PUT ||
			     (op->kind == LMS_HIST_CAS && s == op->expect);

		r->linearized[i] = op->hist;
		modelStep(op, s, &s);
		if (wrote)
			last_writer = op->hist;
	}
	r->n_linearized = k->best_depth;
	r->state_found = s != LIN_ABSENT;
	r->state_value = valueStr(k, s);
	/* Pending there: not linearized, called no later than the blocked
	 * operation returned; the known ones first. */
	for (size_t i = 0; i < k->best_depth; i++)
		in[k->best_lin[i]] = true;
	for (int pass = 0; pass < 2; pass++)
		for (size_t i = 0; i < k->n; i++)
			if (!in[i] && i != k->best_blocked &&
			    k->ops[i].known == (pass == 0) &&
			    k->ops[i].start <= blocked->end)
				r->pending[r->n_pending++] = k->ops[i].hist;
	free(in);

	bufAdd(&b, "  no valid order places this operation:\n");
	bufOp(&b, k, blocked->hist, "    ");
	quoteValue(q, sizeof(q), valueStr(k, s));
	if (!modelStep(blocked, s, &next)) {
		if (blocked->kind == LMS_HIST_GET) {
			quoteValue(e, sizeof(e), valueStr(k, blocked->read));
			bufAdd(&b, "  it read %s, but at the furthest point "
			       "reached the register holds %s\n", e, q);
		} else if (blocked->swapped) {
			quoteValue(e, sizeof(e), valueStr(k, blocked->expect));
			bufAdd(&b, "  it swapped expecting %s, but at the "
			       "furthest point reached the register holds "
			       "%s\n", e, q);
		} else {
			bufAdd(&b, "  it did not swap, but at the furthest "
			       "point reached the register holds its "
			       "expected value %s\n", q);
		}
	} else {
		bufAdd(&b, "  it could go next (register %s), but every "
		       "order continuing from there fails\n", q);
	}
	if (blocked->kind == LMS_HIST_GET ||
	    (blocked->kind == LMS_HIST_CAS && blocked->swapped)) {
		int32_t v = blocked->kind == LMS_HIST_GET ? blocked->read
							  : blocked->expect;
		size_t shown = 0;

		quoteValue(e, sizeof(e), valueStr(k, v));
		for (size_t i = 0; i < k->n && v != LIN_ABSENT; i++) {
			if (k->ops[i].kind == LMS_HIST_GET ||
			    k->ops[i].arg != v)
				continue;
			if (shown++ == 0)
				bufAdd(&b, "  %s was written by:\n", e);
			if (shown <= LIN_SHOW_TAIL)
				bufOp(&b, k, k->ops[i].hist, "    ");
		}
		if (shown > LIN_SHOW_TAIL)
			bufAdd(&b, "    ... %zu more\n", shown - LIN_SHOW_TAIL);
	}
	bufAdd(&b, "  the longest partial linearization holds %zu of %zu "
	       "operations; it ends with:\n", k->best_depth, k->n);
	from = k->best_depth > LIN_SHOW_TAIL ? k->best_depth - LIN_SHOW_TAIL
					     : 0;
	if (from > 0)
		bufAdd(&b, "    ... %zu before\n", from);
	if (k->best_depth == 0)
		bufAdd(&b, "    (nothing: the register is still absent)\n");
	for (size_t i = from; i < k->best_depth; i++)
		bufOp(&b, k, r->linearized[i], "    ");
	if (last_writer != SIZE_MAX) {
		char who[512];

		lms_lin_format_op(who, sizeof(who), &k->h->ops[last_writer],
				  k->t0);
		bufAdd(&b, "  the register then holds %s, last written by "
		       "%s\n", q, who);
	} else {
		bufAdd(&b, "  the register then holds %s\n", q);
	}
	if (r->n_pending > 0) {
		bufAdd(&b, "  not linearized there, called before it "
		       "returned (%zu):\n", r->n_pending);
		for (size_t i = 0; i < r->n_pending &&
				   i < LIN_SHOW_PENDING; i++)
			bufOp(&b, k, r->pending[i], "    ");
		if (r->n_pending > LIN_SHOW_PENDING)
			bufAdd(&b, "    ... %zu more\n",
			       r->n_pending - LIN_SHOW_PENDING);
	} else {
		bufAdd(&b, "  no other operation could have gone before it\n");
	}
	r->explanation = bufTake(&b);
	return r->explanation ? 0 : -ENOMEM;
}

/* ---- the search -------------------------------------------------------- */

/* Add op's bit to the linearized set, keeping klo and khi exact. */
static void setAdd(struct linKey *k, const struct linOp *op)
{
	size_t w = op->bit / 64;

	if (!op->known) {
		k->ubits[w] |= 1ull << (op->bit % 64);
		return;
	}
	k->kbits[w] |= 1ull << (op->bit % 64);
	if (w >= k->khi)
		k->khi = w + 1;
	while (k->klo < k->nkw && k->kbits[k->klo] == ~0ull)
		k->klo++;
}

/* Take op's bit out again. */
static void setRemove(struct linKey *k, const struct linOp *op)
{
	size_t w = op->bit / 64;

	if (!op->known) {
		k->ubits[w] &= ~(1ull << (op->bit % 64));
		return;
	}
	k->kbits[w] &= ~(1ull << (op->bit % 64));
	if (w < k->klo)
		k->klo = w;
	while (k->khi > 0 && k->kbits[k->khi - 1] == 0)
		k->khi--;
}

static bool setHas(const struct linKey *k, const struct linOp *op)
{
	const uint64_t *bits = op->known ? k->kbits : k->ubits;

	return (bits[op->bit / 64] >> (op->bit % 64)) & 1;
}

/* Was the last operation linearized one with an unknown outcome? */
static bool afterUnknown(const struct linKey *k)
{
	return k->depth > 0 && !k->ops[k->stack[k->depth - 1].op].known;
}

/* Mark value v as needed (candidates()). */
static void need(struct linKey *k, int32_t v, size_t *n)
{
	if (v == LIN_ABSENT || k->need_stamp[v] == k->stamp)
		return;
	k->need_stamp[v] = k->stamp;
	k->need_list[(*n)++] = v;
}

static int u32Cmp(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

/*
 * May unknown operation u go next, in state s, with the known scan
 * stopped at return entry r? It must be called no later than r (a call
 * at r's very instant counts as before it, as in the list), not be
 * linearized yet, change the state (else it can go at the end), and not
 * be a put right after another unknown operation (see keySearch).
 */
static bool unknownMayGo(const struct linKey *k, const struct linOp *u,
			 const struct linEntry *r, int32_t s, bool after_unknown)
{
	int32_t next;

	if (u->start > r->time || setHas(k, u))
		return false;
	if (after_unknown && u->kind == LMS_HIST_PUT)
		return false;
	return modelStep(u, s, &next) && next != s;
}

/*
 * The unknown operations worth trying in the current situation (state s,
 * the known scan stopped at r), pushed on the candidate stack in call
 * order; returns how many.
 *
 * An unknown operation u only needs trying if some candidate y -- a
 * pending operation called no later than r -- could come right after it
 * and use its value: a get that read it, a cas that swapped expecting it,
 * or an unknown cas expecting it, itself worth trying (followed back
 * through chains of such cas). Any other place for u can be avoided: a
 * put right after u makes u invisible (u goes to the end); a cas that did
 * not swap and is legal before u as well can go first; if nothing comes
 * after u at all, it goes to the end. The one case where any u may help
 * is a cas that did not swap although the state equals its expectation:
 * then every unknown operation that changes the state is tried. So
 * instead of every unknown operation still pending (they pile up: one
 * that never took effect stays pending to the end), only the writers of
 * the values needed are looked at.
 */
static int candidates(struct linKey *k, const struct linEntry *r, int32_t s,
		      bool after_unknown, size_t *count)
{
	const struct linEntry *e;
	bool wildcard = false;
	size_t n_need = 0, n = 0;

	if (++k->stamp == 0) { /* wrapped: clear the stamps */
		memset(k->need_stamp, 0, k->n_values * sizeof(*k->need_stamp));
		k->stamp = 1;
	}
	for (e = k->khead.next; e != r; e = e->next) {
		const struct linOp *y = &k->ops[e->op];

		k->steps++;
		if (y->kind == LMS_HIST_GET)
			need(k, y->read, &n_need);
		else if (y->kind == LMS_HIST_CAS && y->swapped)
			need(k, y->expect, &n_need);
		else if (y->kind == LMS_HIST_CAS && y->expect == s)
			wildcard = true;
	}

	if (wildcard) {
		for (e = k->uhead.next; e != NULL && e->time <= r->time;
		     e = e->next) {
			k->steps++;
			if (!unknownMayGo(k, &k->ops[e->op], r, s,
					  after_unknown))
				continue;
			if (growArray((void **)&k->cands, &k->cands_cap,
				      k->cands_len + n + 1,
				      sizeof(*k->cands)) != 0)
				return -ENOMEM;
			k->cands[k->cands_len + n++] = e->op;
		}
		*count = n;
		return 0;
	}

	/* Close the needs over unknown cas: a cas writing a needed value
	 * needs its expectation first. need_list grows as we go. */
	for (size_t i = 0; i < n_need; i++) {
		int32_t v = k->need_list[i];

		for (size_t j = k->uw_off[v]; j < k->uw_off[v + 1]; j++) {
			const struct linOp *u = &k->ops[k->uw_ops[j]];

			k->steps++;
			if (u->kind == LMS_HIST_CAS && u->start <= r->time &&
			    !setHas(k, u))
				need(k, u->expect, &n_need);
		}
	}
	for (size_t i = 0; i < n_need; i++) {
		int32_t v = k->need_list[i];

		for (size_t j = k->uw_off[v]; j < k->uw_off[v + 1]; j++) {
			k->steps++;
			if (!unknownMayGo(k, &k->ops[k->uw_ops[j]], r, s,
					  after_unknown))
				continue;
			if (growArray((void **)&k->cands, &k->cands_cap,
				      k->cands_len + n + 1,
				      sizeof(*k->cands)) != 0)
				return -ENOMEM;
			k->cands[k->cands_len + n++] = k->uw_ops[j];
		}
	}
	if (n > 1)
		qsort(k->cands + k->cands_len, n, sizeof(*k->cands), u32Cmp);
	*count = n;
	return 0;
}

/*
 * Linearize the operation of call entry e (the model accepted it: next is
 * the state after it) unless the resulting situation is covered by a
 * failed one. f holds what the frame must remember besides the operation
 * and the state. Returns 1 if it went in, 0 if not.
 */
static int keyEnter(struct linKey *k, struct linEntry *e, int32_t *state,
		    int32_t next, const struct linFrame *f)
{
	const struct linOp *op = &k->ops[e->op];
	struct linFrame *top;

	setAdd(k, op);
	if (cacheCovers(&k->cache, k, next, !op->known, &k->steps)) {
		setRemove(k, op);
		return 0;
	}
	top = &k->stack[k->depth++];
	*top = *f;
	top->op = e->op;
	top->state = *state;
	top->cands_len = k->cands_len;
	*state = next;
	lift(e);
	return 1;
}

/*
 * Starting on a situation: find the first return entry (*r) and the
 * first known operation before it that reads without writing -- a get,
 * or a cas that did not swap -- and that the model accepts in state s
 * (NULL if none).
 */
static struct linEntry *readOnlyFirst(struct linKey *k, int32_t s,
				      struct linEntry **r)
{
	struct linEntry *e, *found = NULL;
	int32_t next;

	for (e = k->khead.next; e->call; e = e->next) {
		const struct linOp *op = &k->ops[e->op];

		k->steps++;
		if (found == NULL && op->kind != LMS_HIST_PUT &&
		    !(op->kind == LMS_HIST_CAS && op->swapped) &&
		    modelStep(op, s, &next))
			found = e;
	}
	*r = e;
	return found;
}

/*
 * The loop described at the top of this file. Each situation is scanned
 * in phases:
 *
 *   SCAN_NEW      a read that the state allows (a get, or a cas that did
 *                 not swap) is linearized at once, as the only choice: if
 *                 any completion exists, one starts with it -- move it to
 *                 the front: it changes nothing, and nothing had to come
 *                 before it, since it was called before every pending
 *                 return. If that fails, the situation fails.
 *   SCAN_KNOWN    otherwise each known candidate in turn, up to the first
 *                 return entry r;
 *   SCAN_UNKNOWN  then the unknown operations worth trying (candidates(),
 *                 kept on the candidate stack while the situation is on
 *                 the search stack);
 *   DEAD_END      then give up on the situation.
 *
 * Right after an unknown operation, a put is never tried: the unknown
 * operation would be invisible (overwritten unseen), and a linearization
 * with it there is as good without it. That makes the future of a
 * situation depend on whether the last operation was unknown; such
 * situations are cached as "restricted" and only cover restricted ones
 * (cacheCovers), while unrestricted failures cover both.
 *
 * Returns 0 with k->res->verdict set, or -ENOMEM.
 */
static int keySearch(struct linKey *k)
{
	enum { SCAN_NEW, SCAN_KNOWN, SCAN_UNKNOWN, DEAD_END } phase = SCAN_NEW;
	uint64_t budget = k->opt->budget ? k->opt->budget
					 : LMS_LIN_DEFAULT_BUDGET;
	size_t remaining = k->n_known, cand_off = 0, cand_n = 0, cand_i = 0;
	struct linEntry *e = NULL, *r = NULL;
	int32_t state = LIN_ABSENT, next;
	int rv;

	while (remaining > 0) {
		bool after_unknown = afterUnknown(k);

		if (k->steps++ >= budget) {
			k->res->verdict = LMS_LIN_UNDECIDED;
			goto out;
		}
		switch (phase) {
		case SCAN_NEW: {
			struct linFrame f = {.forced = true};

			e = readOnlyFirst(k, state, &r);
			f.r = r;
			if (e == NULL) {
				phase = SCAN_KNOWN;
				e = k->khead.next;
			} else {
				modelStep(&k->ops[e->op], state, &next);
				if (keyEnter(k, e, &state, next, &f))
					remaining--;
				else
					phase = DEAD_END;
			}
			continue;
		}

		case SCAN_KNOWN:
			if (!e->call) {
				/* The first return: now the unknown ones. */
				rv = candidates(k, r, state, after_unknown,
						&cand_n);
				if (rv != 0)
					return rv;
				cand_off = k->cands_len;
				k->cands_len += cand_n;
				cand_i = 0;
				phase = SCAN_UNKNOWN;
				continue;
			}
			if (!(after_unknown &&
			      k->ops[e->op].kind == LMS_HIST_PUT) &&
			    modelStep(&k->ops[e->op], state, &next)) {
				struct linFrame f = {.r = r};

				if (keyEnter(k, e, &state, next, &f)) {
					remaining--;
					phase = SCAN_NEW;
					continue;
				}
			}
			e = e->next;
			continue;

		case SCAN_UNKNOWN:
			if (cand_i < cand_n) {
				struct linFrame f = {
					.r = r, .cand_off = cand_off,
					.cand_n = cand_n, .cand_i = cand_i,
				};
				uint32_t u = k->cands[cand_off + cand_i];

				modelStep(&k->ops[u], state, &next);
				if (keyEnter(k, k->call_of[u], &state, next,
					     &f)) {
					phase = SCAN_NEW;
					continue;
				}
				cand_i++;
				continue;
			}
			phase = DEAD_END;
			continue;

		case DEAD_END: {
			/* Every choice tried: leave this situation as failed
			 * and take back the last choice. */
			const struct linFrame *f;
			const struct linOp *op;

			noteDeadEnd(k, r, remaining);
			if (k->depth == 0) {
				k->res->verdict = LMS_LIN_ANOMALY;
				goto out;
			}
			rv = cacheAdd(&k->cache, k, state, after_unknown);
			if (rv == -ENOSPC) {
				k->cache_full = true;
				k->res->verdict = LMS_LIN_UNDECIDED;
				goto out;
			}
			if (rv < 0)
				return rv;
			f = &k->stack[--k->depth];
			if (k->best_valid > k->depth)
				k->best_valid = k->depth;
			op = &k->ops[f->op];
			state = f->state;
			k->cands_len = f->cands_len;
			r = f->r;
			setRemove(k, op);
			e = k->call_of[f->op];
			unlift(e);
			if (op->known)
				remaining++;
			if (f->forced) {
				/* Its only choice failed: so does it. */
				phase = DEAD_END;
			} else if (op->known) {
				phase = SCAN_KNOWN;
				e = e->next; /* the next choice after it */
			} else {
				cand_off = f->cand_off;
				cand_n = f->cand_n;
				cand_i = f->cand_i + 1;
				phase = SCAN_UNKNOWN;
			}
			continue;
		}
		}
	}
	k->res->verdict = LMS_LIN_OK;
out:
	k->res->steps = k->steps;
	k->res->cache_entries = k->cache.n;
	return 0;
}

/* Check the operations group[0..n) of one key into *res. */
static int checkKey(const struct lms_history *h,
		    const struct lms_lin_options *opt, const size_t *group,
		    size_t n, uint64_t t0, struct lms_lin_key *res)
{
	struct linKey k = {
		.h = h, .opt = opt, .res = res, .group = group, .n_group = n,
		.t0 = t0,
	};
	int rv;

	res->blocked = SIZE_MAX;
	rv = keyPrepare(&k);
	if (rv != 0)
		goto out;
	res->n_ops = k.n;
	res->n_unknown = k.n - k.n_known;
	if (keyPrecheck(&k)) {
		rv = res->explanation ? 0 : -ENOMEM;
		goto out;
	}
	rv = keySearch(&k);
	if (rv != 0)
		goto out;
	if (res->verdict == LMS_LIN_ANOMALY) {
		rv = keyExplainSearch(&k);
	} else if (res->verdict == LMS_LIN_UNDECIDED) {
		struct linBuf b = {0};

		if (k.cache_full)
			bufAdd(&b, "  the memo cache reached its limit of %zu "
			       "MiB after %llu steps (%zu failed situations)\n",
			       (opt->max_cache_bytes ? opt->max_cache_bytes
				: LMS_LIN_DEFAULT_CACHE_BYTES) >> 20,
			       (unsigned long long)res->steps,
			       res->cache_entries);
		else
			bufAdd(&b, "  the search budget of %llu steps ran out "
			       "(%zu failed situations cached)\n",
			       (unsigned long long)(opt->budget ? opt->budget
						    : LMS_LIN_DEFAULT_BUDGET),
			       res->cache_entries);
		bufAdd(&b, "  the deepest partial linearization held %zu of "
		       "%zu operations; a larger %s may decide it, or a "
		       "history with fewer writes in flight per key\n",
		       k.best_depth, k.n,
		       k.cache_full ? "cache (--cache-mib)"
				    : "budget (--budget)");
		res->explanation = bufTake(&b);
		rv = res->explanation ? 0 : -ENOMEM;
	}
out:
	keyFree(&k);
	return rv;
}

/* ---- the whole history ------------------------------------------------- */

/* History indexes by key, then call time (qsort_r: the history is the
 * context, no global state). */
static int groupCmp(const void *a, const void *b, void *arg)
{
	const struct lms_history *h = arg;
	const struct lms_hist_op *x = &h->ops[*(const size_t *)a];
	const struct lms_hist_op *y = &h->ops[*(const size_t *)b];
	int c = strcmp(x->key, y->key);

	if (c != 0)
		return c;
	if (x->start_ns != y->start_ns)
		return x->start_ns < y->start_ns ? -1 : 1;
	return *(const size_t *)a < *(const size_t *)b ? -1 : 1;
}

void lms_lin_result_free(struct lms_lin_result *r)
{
	for (size_t i = 0; i < r->n_keys; i++) {
		free(r->keys[i].key);
		free(r->keys[i].explanation);
		free(r->keys[i].linearized);
		free(r->keys[i].pending);
	}
	free(r->keys);
	memset(r, 0, sizeof(*r));
}

int lms_lin_check(const struct lms_history *h,
		  const struct lms_lin_options *opt,
		  struct lms_lin_result *out)
{
	static const struct lms_lin_options defaults = {0};
	size_t *idx = NULL, i, j, n_keys = 0;
	uint64_t t0 = historyT0(h);
	int rv = 0;

	memset(out, 0, sizeof(*out));
	if (opt == NULL)
		opt = &defaults;
	for (i = 0; i < h->n; i++)
		if (lms_hist_op_validate(&h->ops[i], NULL, 0) != 0)
			return -EINVAL;
	out->n_ops = h->n;
	if (h->n == 0)
		return 0;

	idx = malloc(h->n * sizeof(*idx));
	if (idx == NULL)
		return -ENOMEM;
	for (i = 0; i < h->n; i++)
		idx[i] = i;
	qsort_r(idx, h->n, sizeof(*idx), groupCmp, (void *)h);
	for (i = 0; i < h->n; i++)
		if (i == 0 || strcmp(h->ops[idx[i]].key,
				     h->ops[idx[i - 1]].key) != 0)
			n_keys++;
	out->keys = calloc(n_keys, sizeof(*out->keys));
	if (out->keys == NULL) {
		rv = -ENOMEM;
		goto err_after_idx;
	}

	for (i = 0; i < h->n; i = j) {
		struct lms_lin_key *k = &out->keys[out->n_keys];
		const char *key = h->ops[idx[i]].key;

		for (j = i; j < h->n && strcmp(h->ops[idx[j]].key, key) == 0;
		     j++) {
			const struct lms_hist_op *o = &h->ops[idx[j]];

			if (o->outcome == LMS_HIST_FAIL)
				out->n_failed++;
			else if (o->outcome == LMS_HIST_UNKNOWN &&
				 o->kind == LMS_HIST_GET)
				out->n_unknown_reads++;
		}
		out->n_keys++;
		k->key = strdup(key);
		if (k->key == NULL) {
			rv = -ENOMEM;
			goto err_after_idx;
		}
		rv = checkKey(h, opt, idx + i, j - i, t0, k);
		if (rv != 0)
			goto err_after_idx;
		out->n_checked += k->n_ops;
		out->n_unknown_writes += k->n_unknown;
		out->steps += k->steps;
		if (k->verdict == LMS_LIN_ANOMALY)
			out->n_anomalies++;
		else if (k->verdict == LMS_LIN_UNDECIDED)
			out->n_undecided++;
	}
	out->verdict = out->n_anomalies ? LMS_LIN_ANOMALY
		       : out->n_undecided ? LMS_LIN_UNDECIDED : LMS_LIN_OK;
	free(idx);
	return 0;

err_after_idx:
	free(idx);
	lms_lin_result_free(out);
	return rv;
}

/* ---- reporting --------------------------------------------------------- */

void lms_lin_result_print(FILE *f, const struct lms_history *h,
			  const struct lms_lin_result *r)
{
	fprintf(f, "operations: %zu (checked %zu, of which %zu with unknown "
		"outcome; dropped %zu failed, %zu unknown reads)\n",
		r->n_ops, r->n_checked, r->n_unknown_writes, r->n_failed,
		r->n_unknown_reads);
	fprintf(f, "keys: %zu, search steps: %llu\n", r->n_keys,
		(unsigned long long)r->steps);
	for (size_t i = 0; i < r->n_keys; i++) {
		const struct lms_lin_key *k = &r->keys[i];
		char q[128];

		quoteValue(q, sizeof(q), k->key);
		fprintf(f, "key %s: %s (%zu ops, %zu unknown, %llu steps)\n",
			q, lms_lin_verdict_name(k->verdict), k->n_ops,
			k->n_unknown, (unsigned long long)k->steps);
		if (k->explanation != NULL && k->verdict != LMS_LIN_OK)
			fputs(k->explanation, f);
	}
	fprintf(f, "anomalies: %zu, undecided keys: %zu\n", r->n_anomalies,
		r->n_undecided);
	fprintf(f, "verdict: %s\n", lms_lin_verdict_name(r->verdict));
}

/* [OP, ...] for the history indexes ix[from..n). */
static json_t *opsJson(const struct lms_history *h, const size_t *ix,
		       size_t from, size_t n)
{
	json_t *a = json_array();

	for (size_t i = from; a != NULL && i < n; i++) {
		json_t *o = lms_hist_op_json(&h->ops[ix[i]]);

		if (o == NULL || json_array_append_new(a, o) != 0) {
			json_decref(a);
			return NULL;
		}
	}
	return a;
}

static json_t *keyJson(const struct lms_history *h,
		       const struct lms_lin_key *k)
{
	json_t *o = json_pack("{s:s,s:s,s:I,s:I,s:I}", "key", k->key,
			      "verdict", verdictWord(k->verdict),
			      "ops", (json_int_t)k->n_ops,
			      "unknown", (json_int_t)k->n_unknown,
			      "steps", (json_int_t)k->steps);
	size_t from;
	int bad = 0;

	if (o == NULL)
		return NULL;
	if (k->verdict != LMS_LIN_OK && k->explanation != NULL)
		bad |= json_object_set_new(o, "explanation",
					   json_string(k->explanation));
	if (k->verdict == LMS_LIN_ANOMALY) {
		if (k->blocked != SIZE_MAX)
			bad |= json_object_set_new(
				o, "blocked", lms_hist_op_json(&h->ops[k->blocked]));
		from = k->n_linearized > LIN_JSON_TAIL
			       ? k->n_linearized - LIN_JSON_TAIL : 0;
		bad |= json_object_set_new(o, "linearized_count",
				json_integer((json_int_t)k->n_linearized));
		bad |= json_object_set_new(o, "linearized_tail",
				opsJson(h, k->linearized, from,
					k->n_linearized));
		bad |= json_object_set_new(o, "state",
				k->state_found
				? json_pack("{s:b,s:s}", "found", 1, "value",
					    k->state_value)
				: json_pack("{s:b}", "found", 0));
		bad |= json_object_set_new(o, "pending_count",
				json_integer((json_int_t)k->n_pending));
		bad |= json_object_set_new(o, "pending",
				opsJson(h, k->pending, 0,
					k->n_pending > LIN_JSON_TAIL
					? LIN_JSON_TAIL : k->n_pending));
	}
	if (bad) {
		json_decref(o);
		return NULL;
	}
	return o;
}

json_t *lms_lin_result_json(const struct lms_history *h,
			    const struct lms_lin_result *r)
{
	json_t *keys = json_array(), *o;

	for (size_t i = 0; keys != NULL && i < r->n_keys; i++) {
		json_t *k = keyJson(h, &r->keys[i]);

		if (k == NULL || json_array_append_new(keys, k) != 0) {
			json_decref(keys);
			return NULL;
		}
	}
	if (keys == NULL)
		return NULL;
	o = json_pack("{s:s,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:o}",
		      "verdict", verdictWord(r->verdict),
		      "ops", (json_int_t)r->n_ops,
		      "checked", (json_int_t)r->n_checked,
		      "failed_dropped", (json_int_t)r->n_failed,
		      "unknown_reads_dropped", (json_int_t)r->n_unknown_reads,
		      "unknown_writes", (json_int_t)r->n_unknown_writes,
		      "anomalies", (json_int_t)r->n_anomalies,
		      "undecided", (json_int_t)r->n_undecided,
		      "steps", (json_int_t)r->steps, "keys", keys);
	return o;
}
