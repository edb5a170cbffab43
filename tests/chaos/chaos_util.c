/*
 * chaos_util.c -- small shared pieces of lms-chaos (chaos.h): the seeded
 * random generator, nemesis names, logging, anomalies, node views.
 */
#include "chaos.h"
#include "xoshiro.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* ------------------------------------------------------------ random */

static uint64_t splitmix64(uint64_t *x)
{
	uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

void chaos_rng_seed(struct chaos_rng *r, uint64_t seed)
{
	uint64_t x = seed;
	for (int i = 0; i < 4; i++)
		r->s[i] = splitmix64(&x);
}

uint64_t chaos_rng_next(struct chaos_rng *r)
{
	return lms_xoshiro256ss(r->s);
}

unsigned chaos_rng_range(struct chaos_rng *r, unsigned lo, unsigned hi)
{
	if (hi <= lo)
		return lo;
	return lo + (unsigned)(chaos_rng_next(r) % ((uint64_t)hi - lo + 1));
}

/* ----------------------------------------------------------- nemeses */

static const char *const nemesis_names[CHAOS_N_NEMESES] = {
	"partition", "kill", "pause", "restart-all", "membership",
};

const char *chaos_nemesis_name(unsigned i)
{
	return i < CHAOS_N_NEMESES ? nemesis_names[i] : "?";
}

unsigned chaos_nemesis_parse(const char *list, bool *ok, char *err,
                             size_t errlen)
{
	unsigned mask = 0;
	*ok = false;
	if (!list || !*list || strcmp(list, "none") == 0) {
		*ok = true;
		return 0;
	}
	if (strcmp(list, "all") == 0) {
		*ok = true;
		return CHAOS_ALL_NEMESES;
	}
	const char *p = list;
	while (*p) {
		const char *end = strchr(p, ',');
		size_t len = end ? (size_t)(end - p) : strlen(p);
		bool known = false;
		for (unsigned i = 0; i < CHAOS_N_NEMESES; i++) {
			if (strlen(nemesis_names[i]) == len &&
			    strncmp(p, nemesis_names[i], len) == 0) {
				mask |= 1u << i;
				known = true;
			}
		}
		if (!known) {
			snprintf(err, errlen, "unknown nemesis \"%.*s\" (known: "
			         "partition, kill, pause, restart-all, "
			         "membership, all, none)", (int)len, p);
			return 0;
		}
		p += len;
		if (*p == ',')
			p++;
	}
	*ok = true;
	return mask;
}

void chaos_nemesis_format(unsigned mask, char *buf, size_t cap)
{
	size_t off = 0;
	buf[0] = '\0';
	for (unsigned i = 0; i < CHAOS_N_NEMESES; i++) {
		if (!(mask & (1u << i)))
			continue;
		int w = snprintf(buf + off, cap - off, "%s%s", off ? "," : "",
		                 nemesis_names[i]);
		if (w < 0 || (size_t)w >= cap - off)
			break;
		off += (size_t)w;
	}
	if (!off)
		snprintf(buf, cap, "none");
}

/* ----------------------------------------------------------- logging */

uint64_t chaos_ms(const struct chaos *ch)
{
	return cl_now_ms() - ch->t0_ms;
}

void chaos_log(const struct chaos *ch, const char *fmt, ...)
{
	char msg[2048];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	uint64_t ms = chaos_ms(ch);
	printf("[+%" PRIu64 ".%03" PRIu64 "s] %s\n", ms / 1000, ms % 1000, msg);
	fflush(stdout);
}

void chaos_anomaly(struct chaos *ch, const char *kind, const char *fmt, ...)
{
	struct chaos_anomaly a;
	memset(&a, 0, sizeof a);
	snprintf(a.kind, sizeof a.kind, "%s", kind);
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(a.detail, sizeof a.detail, fmt, ap);
	va_end(ap);
	pthread_mutex_lock(&ch->mu);
	if (ch->n_anoms == ch->cap_anoms) {
		size_t cap = ch->cap_anoms ? 2 * ch->cap_anoms : 16;
		struct chaos_anomaly *n = realloc(ch->anoms, cap * sizeof *n);
		if (n) {
			ch->anoms = n;
			ch->cap_anoms = cap;
		}
	}
	size_t count;
	if (ch->n_anoms < ch->cap_anoms)
		ch->anoms[ch->n_anoms++] = a;
	count = ch->n_anoms;
	pthread_mutex_unlock(&ch->mu);
	/* the first ones in full; after that the summary has them */
	if (count <= 50)
		chaos_log(ch, "ANOMALY (%s): %s", a.kind, a.detail);
}

size_t chaos_anomaly_count(struct chaos *ch)
{
	pthread_mutex_lock(&ch->mu);
	size_t n = ch->n_anoms;
	pthread_mutex_unlock(&ch->mu);
	return n;
}

const char *chaos_rv_name(int rv, char *buf, size_t cap)
{
	if (rv == 0)
		snprintf(buf, cap, "OK");
	else if (rv > 0)
		snprintf(buf, cap, "%s", lmsc_status_name(rv));
	else
		snprintf(buf, cap, "%s", strerror(-rv));
	return buf;
}

/* ------------------------------------------------------------ views */

unsigned chaos_view(struct chaos *ch, struct chaos_node_view *v)
{
	unsigned leader = 0;
	uint64_t best = 0;
	for (unsigned id = 1; id <= CHAOS_NODES; id++) {
		v[id].answered = false;
		memset(&v[id].st, 0, sizeof v[id].st);
		if (!cl_running(ch->cl, id) || ch->cl->nodes[id].paused)
			continue;
		v[id].answered = cl_status(ch->cl, id, &v[id].st) == 0;
		if (v[id].answered && strcmp(v[id].st.role, "leader") == 0 &&
		    v[id].st.term >= best) {
			best = v[id].st.term;
			leader = id;
		}
	}
	/* a leader that someone answering knows a higher term than is
	 * stale (a deposed leader that has not heard yet) */
	for (unsigned id = 1; leader && id <= CHAOS_NODES; id++)
		if (v[id].answered && v[id].st.term > best)
			leader = 0;
	return leader;
}

void chaos_view_format(const struct chaos_node_view *v, char *buf,
                       size_t cap)
{
	size_t off = 0;
	buf[0] = '\0';
	for (unsigned id = 1; id <= CHAOS_NODES && off < cap; id++) {
		int w;
		if (!v[id].answered)
			w = snprintf(buf + off, cap - off, "%sn%u -", id > 1 ? " | "
			             : "", id);
		else
			w = snprintf(buf + off, cap - off,
			             "%sn%u %s t%" PRIu64 " L%" PRIu64 " c%" PRIu64
			             " a%" PRIu64 " last%" PRIu64 " snap%" PRIu64
			             " peers%u", id > 1 ? " | " : "", id,
			             v[id].st.role, v[id].st.term, v[id].st.leader,
			             v[id].st.commit, v[id].st.applied,
			             v[id].st.last_index, v[id].st.snapshot_index,
			             v[id].st.n_peers);
		if (w < 0)
			break;
		off += (size_t)w;
	}
}

/* ------------------------------------------------------------- files */

static int copy_file(const char *from, const char *to)
{
	FILE *in = fopen(from, "rb");
	if (!in)
		return -errno;
	FILE *out = fopen(to, "wb");
	if (!out) {
		int e = errno;
		fclose(in);
		return -e;
	}
	char buf[65536];
	size_t n;
	int rv = 0;
	while ((n = fread(buf, 1, sizeof buf, in)) > 0)
		if (fwrite(buf, 1, n, out) != n) {
			rv = -EIO;
			break;
		}
	fclose(in);
	if (fclose(out) != 0 && rv == 0)
		rv = -EIO;
	return rv;
}

void chaos_copy_logs(struct chaos *ch)
{
	if (!ch->cl || !ch->cl->dir[0])
		return;
	for (unsigned id = 1; id <= ch->cl->n; id++) {
		char to[PATH_MAX + 32];
		snprintf(to, sizeof to, "%s/lmsd%u.log", ch->run_dir, id);
		int rv = copy_file(ch->cl->nodes[id].log, to);
		if (rv != 0 && rv != -ENOENT) /* no log: never started */
			fprintf(stderr, "lms-chaos: could not copy \"%s\": %s\n",
			        ch->cl->nodes[id].log, strerror(-rv));
	}
	char from[PATH_MAX], to[PATH_MAX + 32];
	snprintf(from, sizeof from, "%s", ch->cl->config);
	snprintf(to, sizeof to, "%s/config.json", ch->run_dir);
	int rv = copy_file(from, to);
	if (rv != 0 && rv != -ENOENT)
		fprintf(stderr, "lms-chaos: could not copy \"%s\": %s\n", from,
		        strerror(-rv));
}
