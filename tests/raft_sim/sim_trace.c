/*
 * sim_trace.c -- the event trace: a ring of the last N events.
 *
 * Every event of a run (message send / deliver / drop, batch taken and
 * persisted, entries applied, role change, crash, restart, partition,
 * request) is recorded as a small fixed-size struct and formatted only when
 * printed: formatting on every event would cost more than the simulation.
 * With trace_live each event is also printed as it happens (raft-sim
 * --trace). On an invariant failure the tail of the ring is printed; since
 * the run is a pure function of its seed, rerunning with --trace shows the
 * whole history.
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "sim_internal.h"

void trace_init(struct sim *s)
{
	s->tr_cap = s->o.trace_ring ? s->o.trace_ring : 1;
	s->tr = calloc(s->tr_cap, sizeof(*s->tr));
	if (s->tr == NULL)
		abort();
	s->tr_n = 0;
}

void trace_free(struct sim *s)
{
	free(s->tr);
	s->tr = NULL;
}

static FILE *trace_out(const struct sim *s)
{
	return s->o.trace_out ? s->o.trace_out : stderr;
}

static struct sim_tev *trace_slot(struct sim *s, int kind, raft_id node)
{
	struct sim_tev *e = &s->tr[s->tr_n % s->tr_cap];
	s->tr_n++;
	memset(e, 0, sizeof(*e));
	e->tick = s->now;
	e->event = s->events;
	e->kind = (uint16_t)kind;
	e->node = (uint16_t)node;
	return e;
}

static void trace_emit(struct sim *s, const struct sim_tev *e)
{
	if (!s->o.trace_live)
		return;
	char buf[400];
	trace_format(e, buf, sizeof(buf));
	fprintf(trace_out(s), "%s\n", buf);
}

void trace_add(struct sim *s, int kind, raft_id node, uint32_t x,
               const char *str, uint64_t a0, uint64_t a1, uint64_t a2,
               uint64_t a3, uint64_t a4)
{
	struct sim_tev *e = trace_slot(s, kind, node);
	e->x = x;
	e->s = str;
	e->a[0] = a0;
	e->a[1] = a1;
	e->a[2] = a2;
	e->a[3] = a3;
	e->a[4] = a4;
	trace_emit(s, e);
}

void trace_vnote(struct sim *s, raft_id node, const char *fmt, va_list ap)
{
	struct sim_tev *e = trace_slot(s, TEV_NOTE, node);
	vsnprintf(e->note, sizeof(e->note), fmt, ap);
	trace_emit(s, e);
}

void trace_note(struct sim *s, raft_id node, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	trace_vnote(s, node, fmt, ap);
	va_end(ap);
}

void trace_msg(struct sim *s, int kind, const struct raft_message *m,
               uint64_t seq, uint64_t at, const char *why)
{
	/* A delivery is an event of the receiver; the rest of the sender. */
	struct sim_tev *e = trace_slot(s, kind,
	                               kind == TEV_DELIVER ? m->to : m->from);
	e->x = (uint32_t)m->type | (uint32_t)(m->to << 8) |
	       (uint32_t)(m->from << 16);
	e->s = why;
	e->a[0] = seq;
	e->a[1] = m->term;
	switch (m->type) {
	case RAFT_MSG_PREVOTE:
	case RAFT_MSG_VOTE:
		e->a[2] = m->vote.last_log_index;
		e->a[3] = m->vote.last_log_term;
		e->a[4] = m->vote.transfer;
		break;
	case RAFT_MSG_PREVOTE_RESP:
	case RAFT_MSG_VOTE_RESP:
		e->a[2] = m->vote_resp.granted;
		break;
	case RAFT_MSG_APPEND:
		e->a[2] = m->append.prev_index;
		e->a[3] = m->append.prev_term;
		e->a[4] = m->append.n_entries;
		e->a[5] = m->append.commit;
		e->a[6] = m->append.read_ctx;
		break;
	case RAFT_MSG_APPEND_RESP:
		e->a[2] = m->append_resp.success;
		e->a[3] = m->append_resp.index;
		e->a[4] = m->append_resp.conflict_term;
		e->a[5] = m->append_resp.conflict_index;
		e->a[6] = m->append_resp.last_index;
		break;
	case RAFT_MSG_SNAPSHOT:
		e->a[2] = m->snapshot.index;
		e->a[3] = m->snapshot.snap_term;
		e->a[4] = m->snapshot.offset;
		e->a[5] = m->snapshot.len;
		e->a[6] = m->snapshot.done;
		break;
	case RAFT_MSG_SNAPSHOT_RESP:
		e->a[2] = m->snapshot_resp.index;
		e->a[3] = m->snapshot_resp.next_offset;
		e->a[4] = m->snapshot_resp.rejected;
		break;
	default:
		break;
	}
	(void)at;
	trace_emit(s, e);
}

const char *msg_type_name(int type)
{
	switch (type) {
	case RAFT_MSG_PREVOTE: return "PREVOTE";
	case RAFT_MSG_PREVOTE_RESP: return "PREVOTE_RESP";
	case RAFT_MSG_VOTE: return "VOTE";
	case RAFT_MSG_VOTE_RESP: return "VOTE_RESP";
	case RAFT_MSG_APPEND: return "APPEND";
	case RAFT_MSG_APPEND_RESP: return "APPEND_RESP";
	case RAFT_MSG_SNAPSHOT: return "SNAPSHOT";
	case RAFT_MSG_SNAPSHOT_RESP: return "SNAPSHOT_RESP";
	case RAFT_MSG_TIMEOUT_NOW: return "TIMEOUT_NOW";
	default: return "?";
	}
}

static const char *role_name(uint64_t r)
{
	switch (r) {
	case RAFT_FOLLOWER: return "follower";
	case RAFT_PRECANDIDATE: return "precandidate";
	case RAFT_CANDIDATE: return "candidate";
	case RAFT_LEADER: return "leader";
	default: return "down";
	}
}

static int fmt_msg(const struct sim_tev *e, char *b, size_t n)
{
	int type = (int)(e->x & 0xff);
	unsigned to = (e->x >> 8) & 0xff;
	unsigned from = e->x >> 16;
	const uint64_t *a = e->a;
	int k = snprintf(b, n, "%s %u->%u #%" PRIu64 " term=%" PRIu64,
	                 msg_type_name(type), from, to, a[0], a[1]);
	if (k < 0 || (size_t)k >= n)
		return k;
	b += k;
	n -= (size_t)k;
	switch (type) {
	case RAFT_MSG_PREVOTE:
	case RAFT_MSG_VOTE:
		return k + snprintf(b, n, " last=%" PRIu64 "/%" PRIu64 "%s",
		                    a[2], a[3], a[4] ? " transfer" : "");
	case RAFT_MSG_PREVOTE_RESP:
	case RAFT_MSG_VOTE_RESP:
		return k + snprintf(b, n, " %s", a[2] ? "granted" : "rejected");
	case RAFT_MSG_APPEND:
		return k + snprintf(b, n, " prev=%" PRIu64 "/%" PRIu64
		                    " n=%" PRIu64 " commit=%" PRIu64
		                    " ctx=%" PRIu64, a[2], a[3], a[4], a[5], a[6]);
	case RAFT_MSG_APPEND_RESP:
		return k + snprintf(b, n, " %s index=%" PRIu64
		                    " conflict=%" PRIu64 "@%" PRIu64
		                    " last=%" PRIu64, a[2] ? "ok" : "REJECT",
		                    a[3], a[4], a[5], a[6]);
	case RAFT_MSG_SNAPSHOT:
		return k + snprintf(b, n, " snap=%" PRIu64 "/%" PRIu64
		                    " off=%" PRIu64 " len=%" PRIu64 "%s",
		                    a[2], a[3], a[4], a[5], a[6] ? " done" : "");
	case RAFT_MSG_SNAPSHOT_RESP:
		return k + snprintf(b, n, " snap=%" PRIu64 " next=%" PRIu64 "%s",
		                    a[2], a[3], a[4] ? " rejected" : "");
	default:
		return k;
	}
}

void trace_format(const struct sim_tev *e, char *buf, size_t len)
{
	int k = snprintf(buf, len, "t=%-6" PRIu64 " n%-2u ", e->tick, e->node);
	if (k < 0 || (size_t)k >= len)
		return;
	char *b = buf + k;
	size_t n = len - (size_t)k;
	const uint64_t *a = e->a;
	switch (e->kind) {
	case TEV_SEND:
	case TEV_DELIVER:
	case TEV_DROP:
	case TEV_DUP: {
		static const char *verb[] = {"", "send ", "deliver ", "DROP ",
		                             "dup "};
		int m = snprintf(b, n, "%s", verb[e->kind]);
		if (m < 0 || (size_t)m >= n)
			return;
		fmt_msg(e, b + m, n - (size_t)m);
		if (e->s) {
			size_t used = strlen(buf);
			snprintf(buf + used, len - used, " (%s)", e->s);
		}
		return;
	}
	case TEV_BATCH:
		snprintf(b, n, "batch%s%s%s hs=%" PRIu64 "/%u"
		         " trunc=%" PRIu64 " append=%" PRIu64 "@%" PRIu64
		         " compact<%" PRIu64,
		         (e->x & 1) ? " +hs" : "", (e->x & 2) ? " +chunk" : "",
		         (e->x & 4) ? " +install" : "", a[0], e->x >> 8, a[1],
		         a[2], a[3], a[4]);
		return;
	case TEV_PERSIST:
		snprintf(b, n, "persisted: %" PRIu64 " messages sent after it (%"
		         PRIu64 " had gone at once), %" PRIu64 " reads answered",
		         a[1], a[0], a[2]);
		return;
	case TEV_APPLY:
		snprintf(b, n, "apply %" PRIu64 "..%" PRIu64 " (%" PRIu64
		         " commands applied in all)", a[0], a[1], a[2]);
		return;
	case TEV_ROLE:
		snprintf(b, n, "ROLE %s term=%" PRIu64 " leader=%" PRIu64
		         " commit=%" PRIu64, role_name(a[0]), a[1], a[2], a[3]);
		return;
	case TEV_CRASH:
		snprintf(b, n, "CRASH (incarnation %" PRIu64 ", %s)", a[0],
		         e->s ? e->s : "");
		return;
	case TEV_RESTART:
		snprintf(b, n, "RESTART incarnation=%u term=%" PRIu64
		         " vote=%" PRIu64 " snap=%" PRIu64 " last=%" PRIu64
		         " applied=%" PRIu64, e->x, a[0], a[1], a[2], a[3], a[4]);
		return;
	case TEV_PAUSE:
		snprintf(b, n, "PAUSE for %" PRIu64 " ticks", a[0]);
		return;
	case TEV_RESUME:
		snprintf(b, n, "RESUME");
		return;
	case TEV_CUT:
		snprintf(b, n, "%s %" PRIu64 "->%" PRIu64,
		         e->s ? e->s : "cut", a[0], a[1]);
		return;
	case TEV_HEAL:
		snprintf(b, n, "HEAL network%s", e->s ? e->s : "");
		return;
	case TEV_PROPOSE:
		snprintf(b, n, "propose rv=%" PRIu64 " index=%" PRIu64
		         " term=%" PRIu64 " payload#%" PRIu64, a[0], a[1], a[2],
		         a[3]);
		return;
	case TEV_READ:
		snprintf(b, n, "read_index ctx=%" PRIu64 " rv=%" PRIu64
		         " bound=%" PRIu64, a[0], a[1], a[2]);
		return;
	case TEV_READ_DONE:
		snprintf(b, n, "read done ctx=%" PRIu64 " index=%" PRIu64
		         " rv=%" PRIu64, a[0], a[1], a[2]);
		return;
	case TEV_SNAP_TAKEN:
		snprintf(b, n, "snapshot taken index=%" PRIu64 " term=%" PRIu64
		         " size=%" PRIu64, a[0], a[1], a[2]);
		return;
	case TEV_SNAP_INSTALL:
		snprintf(b, n, "snapshot INSTALLED index=%" PRIu64
		         " term=%" PRIu64, a[0], a[1]);
		return;
	case TEV_CONFIG:
		snprintf(b, n, "%s target=%" PRIu64 " rv=%" PRIu64
		         " index=%" PRIu64, e->s ? e->s : "?", a[0], a[1], a[2]);
		return;
	case TEV_RETIRE:
		snprintf(b, n, "RETIRED");
		return;
	case TEV_NOTE:
		snprintf(b, n, "-- %s", e->note);
		return;
	default:
		snprintf(b, n, "event %u", e->kind);
		return;
	}
}

void sim_trace_dump(const struct sim *s, FILE *out, unsigned n)
{
	size_t have = s->tr_n < s->tr_cap ? s->tr_n : s->tr_cap;
	size_t want = (n == 0 || n > have) ? have : n;
	size_t start = s->tr_n - want;
	char buf[400];
	fprintf(out, "---- trace: last %zu of %zu events ----\n", want,
	        s->tr_n);
	for (size_t i = start; i < s->tr_n; i++) {
		trace_format(&s->tr[i % s->tr_cap], buf, sizeof(buf));
		fprintf(out, "%s\n", buf);
	}
	fprintf(out, "---- end of trace ----\n");
}
