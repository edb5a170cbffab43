/*
 * chaos_nemesis.c -- the faults of a chaos run (chaos.h), on the main
 * thread, one at a time.
 *
 * The schedule comes from the seed alone: before each fault the nemesis
 * draws, always in the same order and always all of them, the gap before
 * it, its kind (among the enabled ones), how long it lasts, a sub-kind, an
 * auxiliary choice and a permutation of the nodes. So one seed gives the
 * same sequence of kinds, shapes and durations on every run; what depends
 * on the run is only which node leads when a fault aims at "the leader".
 *
 *   partition    random halves (2 | 3); the leader alone; the leader and
 *                one follower (a minority leader); a ring (each node
 *                reaches its two neighbours only); a bridge (two pairs
 *                that only the middle node reaches). nftables, through
 *                the harness (needs root and nft: skipped otherwise)
 *   kill         SIGKILL of one node (the leader half of the time) or of
 *                three (a majority), restarted at the end of the fault
 *   pause        SIGSTOP of one node (the leader more often than not),
 *                SIGCONT at the end
 *   restart-all  every node stopped (SIGTERM, then it must exit with
 *                status 0; or SIGKILL), down for a moment, started again
 *   membership   a node (the leader 40% of the time) removed from the
 *                configuration, left running or stopped while out, then
 *                started, added back as a non-voter and promoted
 *
 * After each fault chaos_heal_all() brings back the full cluster (bounded;
 * the final heal before the checks has a longer bound). Every fault writes
 * a start and an end line to faults.log (time since the start of the run,
 * wall clock UTC, number, kind, what was done) and to stdout.
 *
 * A node that exits without being told to (a crash, an assertion, a fatal
 * error) is an anomaly: chaos_reap() notices it between steps and the next
 * heal starts it again.
 */
#include "chaos.h"

#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "isotime.h"
#include "util.h"

#define NEM_START_MS 20000     /* a (re)started node's client port */
#define NEM_STOP_MS 15000      /* SIGTERM to exit */
#define NEM_HEAL_MS 30000      /* the heal after each fault */
#define NEM_REMOVE_RETRY_MS 10000

static const char *const subkind_names[CHAOS_N_NEMESES][6] = {
	{"halves", "leader-alone", "leader-minority", "ring", "bridge", NULL},
	{"one", "leader", "majority", NULL, NULL, NULL},
	{"one", "leader", NULL, NULL, NULL, NULL},
	{"sigterm", "sigkill", NULL, NULL, NULL, NULL},
	{"running", "stopped", "leader-running", "leader-stopped", NULL, NULL},
};

/* --------------------------------------------------------------- log */

static void fault_line(struct chaos *ch, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static void fault_line(struct chaos *ch, const char *fmt, ...)
{
	char msg[1024], wall[LMS_ISO_MAX];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	lms_iso_format(lms_wall_ms(), wall, sizeof wall);
	uint64_t ms = chaos_ms(ch);
	if (ch->faults) {
		fprintf(ch->faults, "+%" PRIu64 ".%03" PRIu64 "s %s %s\n",
		        ms / 1000, ms % 1000, wall, msg);
		fflush(ch->faults);
	}
	chaos_log(ch, "%s", msg);
}

/* The last `lines` lines of a file into buf, newlines as " / ". */
static void log_tail(const char *path, char *buf, size_t cap, unsigned lines)
{
	buf[0] = '\0';
	FILE *f = fopen(path, "r");
	if (!f)
		return;
	char *ring[16] = {0};
	if (lines > 16)
		lines = 16;
	char line[512];
	size_t count = 0;
	while (fgets(line, sizeof line, f)) {
		line[strcspn(line, "\n")] = '\0';
		free(ring[count % lines]);
		ring[count % lines] = strdup(line);
		count++;
	}
	fclose(f);
	size_t off = 0;
	for (size_t i = count > lines ? count - lines : 0; i < count; i++) {
		const char *l = ring[i % lines] ? ring[i % lines] : "";
		int w = snprintf(buf + off, cap - off, "%s%s", off ? " / " : "",
		                 l);
		if (w < 0 || (size_t)w >= cap - off)
			break;
		off += (size_t)w;
	}
	for (unsigned i = 0; i < lines; i++)
		free(ring[i]);
}

/* ----------------------------------------------------------- nodes */

unsigned chaos_reap(struct chaos *ch)
{
	unsigned n = 0;
	for (unsigned id = 1; id <= CHAOS_NODES; id++) {
		struct cl_node *nd = &ch->cl->nodes[id];
		int status;
		if (nd->pid <= 0 || waitpid(nd->pid, &status, WNOHANG) != nd->pid)
			continue;
		pid_t pid = nd->pid;
		nd->pid = 0;
		nd->paused = false;
		char why[96], tail[700];
		if (WIFEXITED(status))
			snprintf(why, sizeof why, "exited with status %d",
			         WEXITSTATUS(status));
		else if (WIFSIGNALED(status))
			snprintf(why, sizeof why, "was killed by signal %d (%s)",
			         WTERMSIG(status), strsignal(WTERMSIG(status)));
		else
			snprintf(why, sizeof why, "ended (status 0x%x)", status);
		log_tail(nd->log, tail, sizeof tail, 4);
		chaos_anomaly(ch, "node-exit", "node %u (pid %ld) %s without "
		              "being told to; its log ends: %s", id, (long)pid,
		              why, tail);
		n++;
	}
	return n;
}

/* Starts the nodes of ids all at once, then waits for each. */
static void start_nodes(struct chaos *ch, const unsigned *ids, size_t n)
{
	char why[160];
	bool spawned[CHAOS_NODES + 1] = {0};
	for (size_t i = 0; i < n; i++) {
		if (cl_running(ch->cl, ids[i]))
			continue;
		cl_start_try(ch->cl, ids[i], 0, why, sizeof why);
		spawned[ids[i]] = true;
	}
	for (size_t i = 0; i < n; i++) {
		unsigned id = ids[i];
		if (!spawned[id] ||
		    cl_wait_up_try(ch->cl, id, NEM_START_MS, why, sizeof why) == 0)
			continue;
		char tail[700];
		log_tail(ch->cl->nodes[id].log, tail, sizeof tail, 4);
		chaos_anomaly(ch, "node-start", "node %u did not start: %s; its "
		              "log ends: %s", id, why, tail);
	}
}

/* SIGTERM to every node in ids at once, then each must exit with status
 * 0 within NEM_STOP_MS (what lmsd promises); anomalies otherwise. */
static void stop_nodes(struct chaos *ch, const unsigned *ids, size_t n)
{
	uint64_t start = cl_now_ms();
	for (size_t i = 0; i < n; i++) {
		struct cl_node *nd = &ch->cl->nodes[ids[i]];
		if (nd->pid <= 0)
			continue;
		if (nd->paused)
			kill(nd->pid, SIGCONT);
		nd->paused = false;
		kill(nd->pid, SIGTERM);
	}
	for (size_t i = 0; i < n; i++) {
		unsigned id = ids[i];
		if (!cl_running(ch->cl, id))
			continue;
		uint64_t now = cl_now_ms();
		unsigned left = now - start >= NEM_STOP_MS
		                        ? 1 : (unsigned)(NEM_STOP_MS - (now - start));
		int rc = cl_wait_exit(ch->cl, id, left);
		if (rc == 0)
			continue;
		char tail[700];
		log_tail(ch->cl->nodes[id].log, tail, sizeof tail, 4);
		if (rc == -2) {
			cl_kill(ch->cl, id);
			chaos_anomaly(ch, "node-stop", "node %u did not exit within "
			              "%u ms of SIGTERM (killed); its log ends: %s",
			              id, NEM_STOP_MS, tail);
		} else {
			chaos_anomaly(ch, "node-stop", "node %u %s after SIGTERM; "
			              "its log ends: %s", id,
			              rc < 0 ? "died of a signal" : "exited non-zero",
			              tail);
		}
	}
}

void chaos_stop_all(struct chaos *ch)
{
	unsigned all[CHAOS_NODES];
	size_t n = 0;
	chaos_reap(ch);
	for (unsigned id = 1; id <= CHAOS_NODES; id++)
		if (cl_running(ch->cl, id))
			all[n++] = id;
	stop_nodes(ch, all, n);
}

/* The leader now, or 0 after waiting up to wait_ms for one. */
static unsigned find_leader(struct chaos *ch, unsigned wait_ms)
{
	struct chaos_node_view v[CHAOS_NODES + 1];
	uint64_t deadline = cl_now_ms() + wait_ms;
	for (;;) {
		unsigned leader = chaos_view(ch, v);
		if (leader || cl_now_ms() >= deadline)
			return leader;
		cl_sleep_ms(100);
	}
}

static bool in_config(const struct cl_status *st, unsigned id, bool *voter)
{
	for (unsigned i = 0; i < st->n_peers; i++) {
		if (st->peers[i].id == id) {
			*voter = st->peers[i].voter;
			return true;
		}
	}
	*voter = false;
	return false;
}

/* Every node a voter again, one change at a time, through the leader. */
static bool restore_members(struct chaos *ch, uint64_t deadline)
{
	int last_rv = 0;
	unsigned last_id = 0;
	const char *last_op = "";
	for (;;) {
		struct chaos_node_view v[CHAOS_NODES + 1];
		unsigned leader = chaos_view(ch, v);
		if (leader) {
			const struct cl_status *ls = &v[leader].st;
			bool all = true;
			for (unsigned id = 1; id <= CHAOS_NODES; id++) {
				bool voter;
				bool in = in_config(ls, id, &voter);
				ch->cl->nodes[id].member = in;
				if (in && voter)
					continue;
				all = false;
				if (!cl_running(ch->cl, id)) {
					start_nodes(ch, &id, 1);
					if (!cl_running(ch->cl, id))
						break;
				}
				const char *op = in ? "promote" : "add";
				int rv = cl_member(ch->cl, op, id, NULL);
				if (rv != last_rv || id != last_id ||
				    strcmp(op, last_op) != 0) {
					char nb[64];
					chaos_log(ch, "heal: member %s %u: %s", op, id,
					          chaos_rv_name(rv, nb, sizeof nb));
				}
				last_rv = rv;
				last_id = id;
				last_op = op;
				if (rv == 0 && !in)
					ch->cl->nodes[id].member = true;
				break; /* one change at a time */
			}
			if (all)
				return true;
		}
		if (cl_now_ms() >= deadline)
			return false;
		chaos_reap(ch);
		cl_sleep_ms(200);
	}
}

bool chaos_heal_all(struct chaos *ch, unsigned timeout_ms)
{
	uint64_t deadline = cl_now_ms() + timeout_ms;
	chaos_reap(ch);
	if (ch->cl->partitioned)
		cl_heal(ch->cl);
	for (unsigned id = 1; id <= CHAOS_NODES; id++)
		if (cl_running(ch->cl, id) && ch->cl->nodes[id].paused)
			cl_resume(ch->cl, id);
	unsigned down[CHAOS_NODES];
	size_t n = 0;
	for (unsigned id = 1; id <= CHAOS_NODES; id++)
		if (!cl_running(ch->cl, id))
			down[n++] = id;
	start_nodes(ch, down, n);
	return restore_members(ch, deadline);
}

/* Sleeps until `until` (ms since the start), watching the nodes. */
static void hold(struct chaos *ch, uint64_t until)
{
	for (;;) {
		chaos_reap(ch);
		uint64_t now = chaos_ms(ch);
		if (now >= until)
			break;
		uint64_t left = until - now;
		cl_sleep_ms(left < 100 ? (unsigned)left : 100);
	}
}

/* --------------------------------------------------------- a fault */

struct fault {
	unsigned no;
	unsigned kind;        /* bit index of enum chaos_nemesis */
	unsigned sub;         /* index into subkind_names[kind] */
	unsigned draw_sub;    /* 0..99 */
	unsigned aux;         /* 0..99 */
	unsigned perm[CHAOS_NODES];
	unsigned dur_ms;
	uint64_t start_ms;
	uint64_t heal_ms;     /* when the fault's own undoing began */
	char what[512];
};

static void fault_begin(struct chaos *ch, struct fault *f)
{
	f->start_ms = chaos_ms(ch);
	ch->n_faults++;
	ch->fault_kinds[f->kind]++;
	ch->fault_subkinds[f->kind][f->sub]++;
	ch->fault_open = true;
	fault_line(ch, "fault %u start %s/%s: %s (for %u ms)", f->no,
	           chaos_nemesis_name(f->kind), subkind_names[f->kind][f->sub],
	           f->what, f->dur_ms);
}

static void fault_end(struct chaos *ch, struct fault *f, const char *how)
{
	uint64_t healed_at = chaos_ms(ch);
	if (!f->heal_ms)
		f->heal_ms = healed_at;
	bool ok = chaos_heal_all(ch, NEM_HEAL_MS);
	ch->fault_open = false;
	uint64_t now = chaos_ms(ch);
	fault_line(ch, "fault %u end %s/%s: %s; held %" PRIu64 " ms; cluster "
	           "whole again after %" PRIu64 " ms%s", f->no,
	           chaos_nemesis_name(f->kind), subkind_names[f->kind][f->sub],
	           how, f->heal_ms - f->start_ms, now - f->heal_ms,
	           ok ? "" : " (NOT all five voters yet: the final heal "
	                     "tries again)");
}

static size_t fmt_ids(char *buf, size_t cap, const unsigned *ids, size_t n)
{
	size_t off = 0;
	buf[0] = '\0';
	for (size_t i = 0; i < n; i++) {
		int w = snprintf(buf + off, cap - off, "%s%u", i ? "," : "",
		                 ids[i]);
		if (w < 0 || (size_t)w >= cap - off)
			break;
		off += (size_t)w;
	}
	return off;
}

/* The target of a fault that aims at the leader when aux < pct: the
 * leader, else the first node of the permutation. */
static unsigned pick(struct chaos *ch, const struct fault *f, unsigned pct,
                     bool *is_leader)
{
	*is_leader = false;
	if (f->aux < pct) {
		unsigned l = find_leader(ch, 2000);
		if (l) {
			*is_leader = true;
			return l;
		}
	}
	return f->perm[0];
}

static void do_partition(struct chaos *ch, struct fault *f)
{
	unsigned s = f->draw_sub;
	unsigned side[CHAOS_NODES];
	size_t n = 0;
	char ids[64], rest[64];
	unsigned others[CHAOS_NODES];
	if (s < 30) {
		f->sub = 0;
		side[n++] = f->perm[0];
		side[n++] = f->perm[1];
	} else if (s < 65) {
		unsigned l = find_leader(ch, 2000);
		f->sub = s < 50 ? 1 : 2;
		side[n++] = l ? l : f->perm[0];
		if (f->sub == 2)
			for (unsigned i = 0; i < CHAOS_NODES && n < 2; i++)
				if (f->perm[i] != side[0])
					side[n++] = f->perm[i];
		if (!l)
			snprintf(f->what, sizeof f->what, "(no leader known) ");
	} else if (s < 82) {
		f->sub = 3;
	} else {
		f->sub = 4;
	}
	if (f->sub <= 2) {
		size_t k = 0;
		for (unsigned id = 1; id <= CHAOS_NODES; id++) {
			bool in = false;
			for (size_t i = 0; i < n; i++)
				in |= side[i] == id;
			if (!in)
				others[k++] = id;
		}
		fmt_ids(ids, sizeof ids, side, n);
		fmt_ids(rest, sizeof rest, others, k);
		size_t off = strlen(f->what);
		snprintf(f->what + off, sizeof f->what - off, "{%s} | {%s}", ids,
		         rest);
		fault_begin(ch, f);
		cl_partition(ch->cl, side, n);
	} else {
		const unsigned *p = f->perm;
		unsigned pairs[5][2];
		size_t np = 0;
		if (f->sub == 3) {
			/* ring p0-p1-p2-p3-p4-p0: cut the non-adjacent pairs */
			static const unsigned cut[5][2] = {
				{0, 2}, {0, 3}, {1, 3}, {1, 4}, {2, 4}};
			for (size_t i = 0; i < 5; i++) {
				pairs[np][0] = p[cut[i][0]];
				pairs[np][1] = p[cut[i][1]];
				np++;
			}
			snprintf(f->what, sizeof f->what, "ring %u-%u-%u-%u-%u-%u "
			         "(each node reaches its two neighbours only)",
			         p[0], p[1], p[2], p[3], p[4], p[0]);
		} else {
			/* bridge {p0,p1} - p2 - {p3,p4} */
			static const unsigned cut[4][2] = {
				{0, 3}, {0, 4}, {1, 3}, {1, 4}};
			for (size_t i = 0; i < 4; i++) {
				pairs[np][0] = p[cut[i][0]];
				pairs[np][1] = p[cut[i][1]];
				np++;
			}
			snprintf(f->what, sizeof f->what, "bridge {%u,%u} - %u - "
			         "{%u,%u} (only node %u reaches both sides)", p[0],
			         p[1], p[2], p[3], p[4], p[2]);
		}
		size_t off = strlen(f->what);
		snprintf(f->what + off, sizeof f->what - off, "; cut");
		for (size_t i = 0; i < np; i++) {
			off = strlen(f->what);
			snprintf(f->what + off, sizeof f->what - off, " %u-%u",
			         pairs[i][0], pairs[i][1]);
		}
		fault_begin(ch, f);
		cl_cut_links(ch->cl, (const unsigned (*)[2])pairs, np);
	}
	hold(ch, f->start_ms + f->dur_ms);
	f->heal_ms = chaos_ms(ch);
	cl_heal(ch->cl);
	fault_end(ch, f, "links restored");
}

static void do_kill(struct chaos *ch, struct fault *f)
{
	unsigned victims[3];
	size_t n = 0;
	bool is_leader = false;
	if (f->draw_sub < 65) {
		victims[n++] = pick(ch, f, 50, &is_leader);
		f->sub = is_leader ? 1 : 0;
	} else {
		f->sub = 2;
		unsigned l = f->aux < 50 ? find_leader(ch, 2000) : 0;
		if (l)
			victims[n++] = l;
		is_leader = l != 0;
		for (unsigned i = 0; i < CHAOS_NODES && n < 3; i++)
			if (f->perm[i] != l)
				victims[n++] = f->perm[i];
	}
	char ids[64];
	fmt_ids(ids, sizeof ids, victims, n);
	snprintf(f->what, sizeof f->what, "SIGKILL node%s %s%s",
	         n > 1 ? "s" : "", ids,
	         !is_leader ? "" : n > 1 ? " (the leader first)"
	                                 : " (the leader)");
	fault_begin(ch, f);
	for (size_t i = 0; i < n; i++)
		if (cl_running(ch->cl, victims[i]))
			cl_kill(ch->cl, victims[i]);
	hold(ch, f->start_ms + f->dur_ms);
	f->heal_ms = chaos_ms(ch);
	start_nodes(ch, victims, n);
	fault_end(ch, f, "restarted");
}

static void do_pause(struct chaos *ch, struct fault *f)
{
	bool is_leader = false;
	unsigned id = pick(ch, f, 60, &is_leader);
	f->sub = is_leader ? 1 : 0;
	snprintf(f->what, sizeof f->what, "SIGSTOP node %u%s", id,
	         is_leader ? " (the leader)" : "");
	fault_begin(ch, f);
	if (cl_running(ch->cl, id))
		cl_pause(ch->cl, id);
	hold(ch, f->start_ms + f->dur_ms);
	f->heal_ms = chaos_ms(ch);
	if (cl_running(ch->cl, id) && ch->cl->nodes[id].paused)
		cl_resume(ch->cl, id);
	fault_end(ch, f, "SIGCONT");
}

static void do_restart_all(struct chaos *ch, struct fault *f)
{
	bool term = f->aux < 50;
	f->sub = term ? 0 : 1;
	unsigned down = f->dur_ms / 4 < 200 ? 200 : f->dur_ms / 4;
	snprintf(f->what, sizeof f->what, "%s every node, down %u ms",
	         term ? "SIGTERM" : "SIGKILL", down);
	f->dur_ms = down;
	fault_begin(ch, f);
	unsigned all[CHAOS_NODES];
	size_t n = 0;
	for (unsigned id = 1; id <= CHAOS_NODES; id++)
		if (cl_running(ch->cl, id))
			all[n++] = id;
	if (term) {
		stop_nodes(ch, all, n);
	} else {
		for (size_t i = 0; i < n; i++)
			cl_kill(ch->cl, all[i]);
	}
	hold(ch, chaos_ms(ch) + down);
	f->heal_ms = chaos_ms(ch);
	unsigned ids[CHAOS_NODES] = {1, 2, 3, 4, 5};
	start_nodes(ch, ids, CHAOS_NODES);
	fault_end(ch, f, "all started again");
}

static void do_membership(struct chaos *ch, struct fault *f)
{
	bool is_leader = false;
	unsigned id = pick(ch, f, 40, &is_leader);
	bool stop_out = f->draw_sub < 50;
	f->sub = (is_leader ? 2 : 0) + (stop_out ? 1 : 0);
	snprintf(f->what, sizeof f->what, "member remove %u%s%s", id,
	         is_leader ? " (the leader)" : "",
	         stop_out ? ", stopped while out" : ", left running");
	fault_begin(ch, f);
	uint64_t deadline = cl_now_ms() + NEM_REMOVE_RETRY_MS;
	int rv;
	for (;;) {
		rv = cl_member(ch->cl, "remove", id, NULL);
		if (rv != LMS__RPC__STATUS__FAILED_PRECONDITION ||
		    cl_now_ms() >= deadline)
			break;
		cl_sleep_ms(200);
	}
	char nb[64];
	fault_line(ch, "fault %u: member remove %u: %s", f->no, id,
	           chaos_rv_name(rv, nb, sizeof nb));
	if (rv == 0) {
		ch->cl->nodes[id].member = false;
		if (stop_out && cl_running(ch->cl, id))
			stop_nodes(ch, &id, 1);
	}
	hold(ch, f->start_ms + f->dur_ms);
	f->heal_ms = chaos_ms(ch);
	start_nodes(ch, &id, 1);
	fault_end(ch, f, "added back and promoted");
}

/* The enabled kinds (bit indexes) in order; returns how many. */
static unsigned enabled_kinds(unsigned mask, unsigned *kinds)
{
	unsigned n = 0;
	for (unsigned i = 0; i < CHAOS_N_NEMESES; i++)
		if (mask & (1u << i))
			kinds[n++] = i;
	return n;
}

/* Every draw of one fault, always all of them, in this order: the
 * schedule depends on the seed (and the options) only. */
static void draw_fault(struct chaos_rng *rng, const struct chaos_opts *o,
                       const unsigned *kinds, unsigned n_kinds,
                       struct fault *f, unsigned *gap)
{
	*gap = chaos_rng_range(rng, o->gap_min_ms, o->gap_max_ms);
	unsigned k = chaos_rng_range(rng, 0, n_kinds ? n_kinds - 1 : 0);
	f->kind = n_kinds ? kinds[k] : 0;
	f->dur_ms = chaos_rng_range(rng, o->fault_min_ms, o->fault_max_ms);
	f->draw_sub = chaos_rng_range(rng, 0, 99);
	f->aux = chaos_rng_range(rng, 0, 99);
	for (unsigned i = 0; i < CHAOS_NODES; i++)
		f->perm[i] = i + 1;
	for (unsigned i = CHAOS_NODES - 1; i > 0; i--) {
		unsigned j = chaos_rng_range(rng, 0, i);
		unsigned t = f->perm[i];
		f->perm[i] = f->perm[j];
		f->perm[j] = t;
	}
}

void chaos_print_schedule(const struct chaos *ch, unsigned count)
{
	unsigned kinds[CHAOS_N_NEMESES];
	unsigned n_kinds = enabled_kinds(ch->nemeses, kinds);
	struct chaos_rng rng;
	chaos_rng_seed(&rng, ch->o.seed);
	uint64_t t = 0;
	printf("seed %" PRIu64 ": the first %u faults (times assume each "
	       "heal takes no time; \"leader\" means whoever leads then)\n",
	       ch->o.seed, count);
	for (unsigned no = 1; n_kinds && no <= count; no++) {
		struct fault f;
		unsigned gap;
		memset(&f, 0, sizeof f);
		draw_fault(&rng, &ch->o, kinds, n_kinds, &f, &gap);
		t += gap;
		printf("  %2u  +%5.1fs  %-11s for %5u ms  sub %2u aux %2u  "
		       "nodes %u%u%u%u%u\n", no, (double)t / 1000.0,
		       chaos_nemesis_name(f.kind), f.dur_ms, f.draw_sub, f.aux,
		       f.perm[0], f.perm[1], f.perm[2], f.perm[3], f.perm[4]);
		t += f.dur_ms;
	}
}

void chaos_nemesis_run(struct chaos *ch, uint64_t until_ms)
{
	unsigned kinds[CHAOS_N_NEMESES];
	unsigned n_kinds = enabled_kinds(ch->nemeses, kinds);
	for (unsigned no = 1;; no++) {
		struct fault f;
		unsigned gap;
		memset(&f, 0, sizeof f);
		draw_fault(&ch->nrng, &ch->o, kinds, n_kinds, &f, &gap);
		f.no = no;
		uint64_t at = chaos_ms(ch) + gap;
		hold(ch, at < until_ms ? at : until_ms);
		if (!n_kinds || chaos_ms(ch) + 1000 >= until_ms)
			break;
		if (chaos_ms(ch) + f.dur_ms > until_ms)
			f.dur_ms = (unsigned)(until_ms - chaos_ms(ch));
		switch (1u << f.kind) {
		case CHAOS_PARTITION:
			do_partition(ch, &f);
			break;
		case CHAOS_KILL:
			do_kill(ch, &f);
			break;
		case CHAOS_PAUSE:
			do_pause(ch, &f);
			break;
		case CHAOS_RESTART_ALL:
			do_restart_all(ch, &f);
			break;
		default:
			do_membership(ch, &f);
			break;
		}
	}
	hold(ch, until_ms);
}

const char *chaos_subkind_name(unsigned kind, unsigned sub)
{
	if (kind >= CHAOS_N_NEMESES || sub >= 6)
		return NULL;
	return subkind_names[kind][sub];
}
