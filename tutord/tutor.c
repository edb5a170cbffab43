/*
 * tutor.c -- the tutor's work loop (tutor.h has the steps and the rules).
 *
 * One worker thread owns everything here except `stats` (read by the
 * event-loop thread for /health and /metrics under `mu`) and `stop`
 * (set by the event-loop thread; waits sleep on `cv` so a stop wakes them).
 *
 * The question being worked on is `held`: a copy of what the claim
 * returned, the local time until which this worker may still start a
 * request for it, and, once Ollama produced it, the answer waiting to be
 * stored (so a cluster hiccup never makes us ask Ollama twice).
 */
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "config.h"
#include "live.h"
#include "log.h"
#include "ollama.h"
#include "prompt.h"
#include "tutor.h"
#include "util.h"

#define SEARCH_LIMIT 5
#define OLLAMA_RECHECK_MS 10000 /* /api/tags while idle */
#define SEARCH_MAX_CHARS 6000

struct held {
	bool valid;
	uint64_t id;
	char *course;
	char *student;
	char *body;
	uint64_t claimed_ms;   /* lms_now_ms at the claim */
	uint64_t start_by_ms;  /* no new Ollama request after this */
	/* set once Ollama answered; stored next */
	char *answer;
	Lms__Rpc__Source **sources;
	size_t n_sources;
	uint64_t eval_count;
	double tps;
};

/* A growable byte buffer, always NUL-terminated once allocated. */
struct tbuf {
	char *p;
	size_t len, cap;
};

static int tbuf_add(struct tbuf *b, const char *s, size_t n)
{
	if (b->len + n + 1 > b->cap) {
		size_t cap = b->cap ? b->cap : 1024;
		while (cap < b->len + n + 1)
			cap *= 2;
		char *p = realloc(b->p, cap);
		if (!p)
			return -1;
		b->p = p;
		b->cap = cap;
	}
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
	return 0;
}

static void tbuf_free(struct tbuf *b)
{
	free(b->p);
	memset(b, 0, sizeof *b);
}

/*
 * The answer as it streams (live.h): the raw visible text of the current
 * Ollama request, how much of it is settled (`done`: no citation or blank
 * pending at that point, so filtering it cannot change with what comes
 * next), and the filtered text sent so far.
 */
struct stream_filter {
	struct tbuf raw;
	size_t done;
	struct tbuf out;
	size_t n_given;  /* labels S1..Sn of this prompt */
};

struct tutor {
	const struct lms_config *cfg;
	struct lmsc *c;
	struct ollama_client *ollama;
	char *password;
	char worker[TUTOR_WORKER_MAX + 1];       /* the name */
	char claim_worker[TUTOR_WORKER_MAX + 1]; /* name + stream URL */
	char *stream_base;                       /* NULL: no streams */
	struct live *live;
	struct stream_filter sf;
	char last_error[256];                    /* of the last request */
	uint64_t ollama_checked_ms;              /* last /api/tags check */
	char *token;
	unsigned lease_ms;
	unsigned idle_min, idle_max, retry_min, retry_max;
	size_t max_answer;
	bool progress_refused_logged;
	struct held held;

	atomic_bool stop;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	struct tutor_stats stats; /* under mu */
};

static const double latency_bounds[TUTOR_LATENCY_BUCKETS] = {
	0.5, 1, 2, 5, 10, 20, 30, 60, 120, 180, 300};

/* ------------------------------------------------------------ stats */

static void stats_state(struct tutor *t, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void stats_state(struct tutor *t, const char *fmt, ...)
{
	va_list ap;
	pthread_mutex_lock(&t->mu);
	va_start(ap, fmt);
	vsnprintf(t->stats.state, sizeof t->stats.state, fmt, ap);
	va_end(ap);
	pthread_mutex_unlock(&t->mu);
}

#define STATS(t, stmt)                          \
	do {                                    \
		pthread_mutex_lock(&(t)->mu);   \
		stmt;                           \
		pthread_mutex_unlock(&(t)->mu); \
	} while (0)

void tutor_stats_get(struct tutor *t, struct tutor_stats *out)
{
	pthread_mutex_lock(&t->mu);
	*out = t->stats;
	pthread_mutex_unlock(&t->mu);
}

const char *tutor_worker_name(const struct tutor *t)
{
	return t->worker;
}

/* ---------------------------------------------------------- waiting */

/* Sleep ms unless stopped; true when stopped. */
static bool tutor_sleep(struct tutor *t, unsigned ms)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += ms / 1000;
	ts.tv_nsec += (long)(ms % 1000) * 1000000L;
	if (ts.tv_nsec >= 1000000000L) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000L;
	}
	pthread_mutex_lock(&t->mu);
	while (!atomic_load(&t->stop)) {
		if (pthread_cond_timedwait(&t->cv, &t->mu, &ts) == ETIMEDOUT)
			break;
	}
	pthread_mutex_unlock(&t->mu);
	return atomic_load(&t->stop);
}

void tutor_stop(struct tutor *t)
{
	pthread_mutex_lock(&t->mu);
	atomic_store(&t->stop, true);
	pthread_cond_broadcast(&t->cv);
	pthread_mutex_unlock(&t->mu);
}

static unsigned backoff_next(unsigned cur, unsigned lo, unsigned hi)
{
	if (cur < lo)
		return lo;
	return cur >= hi / 2 ? hi : cur * 2;
}

/* ------------------------------------------------------------ setup */

struct tutor *tutor_new(const struct tutor_options *o, char *err,
                        size_t errlen)
{
	struct tutor *t = calloc(1, sizeof *t);
	if (!t) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	t->cfg = o->cfg;
	pthread_mutex_init(&t->mu, NULL);
	pthread_cond_init(&t->cv, NULL);
	atomic_init(&t->stop, false);
	const struct lms_tutor_config *tc = &o->cfg->tutor;

	if (o->worker && *o->worker) {
		snprintf(t->worker, sizeof t->worker, "%s", o->worker);
	} else {
		char host[64] = "localhost";
		if (gethostname(host, sizeof host) != 0)
			snprintf(host, sizeof host, "localhost");
		host[sizeof host - 1] = '\0';
		snprintf(t->worker, sizeof t->worker, "%s:%ld", host,
		         (long)getpid());
	}
	snprintf(t->claim_worker, sizeof t->claim_worker, "%s", t->worker);
	if (o->stream_base) {
		t->live = o->live;
		t->stream_base = strdup(o->stream_base);
		if (!t->stream_base) {
			snprintf(err, errlen, "out of memory");
			goto fail;
		}
		if (strlen(t->worker) + 1 + strlen(t->stream_base) +
		    LIVE_KEY_LEN > TUTOR_WORKER_MAX) {
			snprintf(err, errlen, "worker name \"%s\" and stream "
			         "URL %s are longer than %d bytes together: "
			         "choose a shorter --worker", t->worker,
			         t->stream_base, TUTOR_WORKER_MAX);
			goto fail;
		}
	}
	unsigned long lease = o->lease_ms ? o->lease_ms
	                                  : 2ul * tc->request_timeout_ms;
	if (lease < 10000)
		lease = 10000;
	if (lease > 3600000)
		lease = 3600000;
	t->lease_ms = (unsigned)lease;
	t->idle_min = o->idle_min_ms ? o->idle_min_ms : 200;
	t->idle_max = o->idle_max_ms ? o->idle_max_ms : 2000;
	t->retry_min = o->retry_min_ms ? o->retry_min_ms : 250;
	t->retry_max = o->retry_max_ms ? o->retry_max_ms : 5000;
	t->max_answer = o->cfg->limits.max_text_bytes;

	t->password = strdup(o->password ? o->password : "");
	struct lmsc_options lo;
	lmsc_options_default(&lo);
	t->c = lmsc_new(o->nodes, o->n_nodes, &lo);
	if (!t->password || !t->c) {
		snprintf(err, errlen, "out of memory");
		goto fail;
	}

	struct ollama_config oc;
	ollama_config_from_tutor(&oc, tc);
	if (t->max_answer && t->max_answer < OLLAMA_DEFAULT_MAX_ANSWER_BYTES)
		oc.max_answer_bytes = t->max_answer;
	if (ollama_client_new(&oc, &t->ollama, err, errlen) != OLLAMA_OK)
		goto fail;

	t->stats.latency.name = "tutord_answer_seconds";
	t->stats.latency.kind = LMS_METRIC_HISTOGRAM;
	t->stats.latency.n_bounds = TUTOR_LATENCY_BUCKETS;
	memcpy(t->stats.latency.bounds, latency_bounds,
	       sizeof latency_bounds);
	snprintf(t->stats.state, sizeof t->stats.state, "starting");
	return t;
fail:
	tutor_free(t);
	return NULL;
}

static void held_clear(struct held *h)
{
	free(h->course);
	free(h->student);
	free(h->body);
	free(h->answer);
	for (size_t i = 0; i < h->n_sources; i++) {
		free(h->sources[i]->label);
		free(h->sources[i]->title);
		free(h->sources[i]);
	}
	free(h->sources);
	memset(h, 0, sizeof *h);
}

void tutor_free(struct tutor *t)
{
	if (!t)
		return;
	held_clear(&t->held);
	tbuf_free(&t->sf.raw);
	tbuf_free(&t->sf.out);
	free(t->stream_base);
	ollama_client_free(t->ollama);
	lmsc_free(t->c);
	if (t->password) {
		explicit_bzero(t->password, strlen(t->password));
		free(t->password);
	}
	free(t->token);
	pthread_cond_destroy(&t->cv);
	pthread_mutex_destroy(&t->mu);
	free(t);
}

/* ------------------------------------------------------- cluster calls */

enum call_result {
	CALL_OK = 0,
	CALL_REFUSED,     /* the service said no (status in *status) */
	CALL_UNAVAILABLE, /* no answer from the cluster */
};

/* One call with the session token. Returns CALL_OK with *r, or
 * CALL_REFUSED with *r (status != OK; caller frees), or CALL_UNAVAILABLE. */
static enum call_result tutor_call(struct tutor *t, Lms__Rpc__Request *req,
                                   Lms__Rpc__Response **r, unsigned flags)
{
	req->token = t->token ? t->token : "";
	*r = NULL;
	int rv = lmsc_call(t->c, req, r, flags);
	if (rv != 0) {
		LMS_WARN("cluster call failed: %s", lmsc_errmsg(t->c));
		STATS(t, t->stats.cluster_errors++);
		return CALL_UNAVAILABLE;
	}
	if ((*r)->status == LMS__RPC__STATUS__UNAUTHENTICATED) {
		LMS_INFO("session no longer valid (%s): logging in again",
		         (*r)->message);
		free(t->token);
		t->token = NULL;
		STATS(t, t->stats.logged_in = false);
	}
	return (*r)->status == LMS__RPC__STATUS__OK ? CALL_OK : CALL_REFUSED;
}

static int tutor_login(struct tutor *t)
{
	const char *user = t->cfg->tutor.username;
	Lms__Rpc__LoginRequest l = LMS__RPC__LOGIN_REQUEST__INIT;
	l.username = (char *)user;
	l.password = t->password;
	Lms__Rpc__Request req = LMS__RPC__REQUEST__INIT;
	req.op_case = LMS__RPC__REQUEST__OP_LOGIN;
	req.login = &l;
	Lms__Rpc__Response *r;
	enum call_result cr = tutor_call(t, &req, &r, LMSC_WRITE);
	if (cr != CALL_OK) {
		if (cr == CALL_REFUSED)
			LMS_ERROR("could not log in as \"%s\": %s: %s", user,
			          lmsc_status_name(r->status), r->message);
		stats_state(t, "could not log in as \"%s\"", user);
		lmsc_response_free(r);
		return -1;
	}
	if (!r->login || !r->login->user ||
	    r->login->user->role != LMS__RPC__ROLE__ROLE_TUTOR)
		LMS_WARN("account \"%s\" does not have the tutor role: "
		         "claims will be refused", user);
	free(t->token);
	t->token = strdup(r->login->token);
	lmsc_response_free(r);
	if (!t->token)
		return -1;
	LMS_INFO("logged in as \"%s\" (worker %s)", user, t->worker);
	STATS(t, t->stats.logged_in = true);
	return 0;
}

/* ------------------------------------------------------------ ollama */

static bool ollama_down_error(int e)
{
	return e == OLLAMA_ERR_UNREACHABLE || e == OLLAMA_ERR_TIMEOUT ||
	       e == OLLAMA_ERR_NETWORK || e == OLLAMA_ERR_HTTP ||
	       e == OLLAMA_ERR_MODEL_NOT_FOUND;
}

static int tutor_check_ollama(struct tutor *t)
{
	int rv = ollama_check_model(t->ollama, NULL);
	t->ollama_checked_ms = lms_now_ms();
	if (rv == OLLAMA_OK) {
		bool was_up;
		STATS(t, (was_up = t->stats.ollama_up,
		          t->stats.ollama_up = true));
		if (!was_up)
			LMS_INFO("ollama at %s serves model \"%s\"",
			         ollama_client_url(t->ollama),
			         ollama_client_model(t->ollama));
		return 0;
	}
	STATS(t, (t->stats.ollama_errors++, t->stats.ollama_up = false));
	stats_state(t, "waiting for ollama: %s", ollama_errmsg(t->ollama));
	return -1;
}

static int chat_cancel(void *user)
{
	struct tutor *t = user;
	return atomic_load(&t->stop);
}

/* ------------------------------------------------------------ claim */

/* 1 claimed (t->held set), 0 none open, -1 error. */
static int tutor_claim(struct tutor *t)
{
	Lms__Rpc__QueryClaimRequest q = LMS__RPC__QUERY_CLAIM_REQUEST__INIT;
	char key[LIVE_KEY_LEN + 1] = "";
	if (t->stream_base) {
		if (live_key_new(key) != 0) {
			LMS_ERROR("no random bytes for a stream key: %m");
			return -1;
		}
		int n = snprintf(t->claim_worker, sizeof t->claim_worker,
		                 "%s %s%s", t->worker, t->stream_base, key);
		if (n < 0 || (size_t)n >= sizeof t->claim_worker)
			return -1; /* tutor_new checked the length */
	}
	q.course = "";
	q.worker = t->claim_worker;
	q.lease_ms = t->lease_ms;
	Lms__Rpc__Request req = LMS__RPC__REQUEST__INIT;
	req.op_case = LMS__RPC__REQUEST__OP_QUERY_CLAIM;
	req.query_claim = &q;
	Lms__Rpc__Response *r;
	uint64_t now = lms_now_ms();
	enum call_result cr = tutor_call(t, &req, &r, LMSC_WRITE);
	if (cr != CALL_OK) {
		if (cr == CALL_REFUSED &&
		    r->status != LMS__RPC__STATUS__UNAUTHENTICATED)
			LMS_ERROR("could not claim a question: %s: %s",
			          lmsc_status_name(r->status), r->message);
		lmsc_response_free(r);
		return -1;
	}
	int found = r->query_claim && r->query_claim->found &&
	            r->query_claim->query;
	if (found) {
		const Lms__Rpc__Query *qq = r->query_claim->query;
		struct held *h = &t->held;
		held_clear(h);
		h->id = qq->id;
		h->course = strdup(qq->course);
		h->student = strdup(qq->student);
		h->body = strdup(qq->body);
		h->claimed_ms = now;
		/* a request started after this might outlive the lease */
		unsigned req_ms = t->cfg->tutor.request_timeout_ms;
		h->start_by_ms = now + (t->lease_ms > req_ms
		                        ? t->lease_ms - req_ms : 0);
		h->valid = h->course && h->student && h->body;
		if (!h->valid) {
			held_clear(h);
			found = -1;
		} else {
			LMS_INFO("claimed question %llu of %s in %s",
			         (unsigned long long)h->id, h->student,
			         h->course);
			live_begin(t->live, h->id, key);
			STATS(t, t->stats.claimed++);
		}
	}
	lmsc_response_free(r);
	return found;
}

/* -------------------------------------------------------- context */

/* The student's level: in the topic the question is about when they
 * have graded work in it (tutor_topic_pick; *topic gets a copy of its
 * name), else in the course overall (*topic NULL). */
static enum tutor_level tutor_student_level(struct tutor *t,
                                            const struct held *h,
                                            const char *const *chunk_topics,
                                            size_t n_chunks, char **topic)
{
	*topic = NULL;
	Lms__Rpc__ProgressRequest p = LMS__RPC__PROGRESS_REQUEST__INIT;
	p.course = h->course;
	p.student = h->student;
	Lms__Rpc__Request req = LMS__RPC__REQUEST__INIT;
	req.op_case = LMS__RPC__REQUEST__OP_PROGRESS;
	req.progress = &p;
	Lms__Rpc__Response *r;
	enum call_result cr = tutor_call(t, &req, &r, 0);
	enum tutor_level l = TUTOR_LEVEL_INTERMEDIATE;
	if (cr == CALL_OK && r->progress && r->progress->n_progress > 0) {
		const Lms__Rpc__Progress *pr = r->progress->progress[0];
		l = tutor_level_from_scores(pr->recent, pr->n_recent,
		                            pr->graded, pr->average);
		const char **names = pr->n_topics
		                     ? calloc(pr->n_topics, sizeof *names) : NULL;
		for (size_t i = 0; names && i < pr->n_topics; i++)
			names[i] = pr->topics[i]->topic;
		int k = names ? tutor_topic_pick(h->body, chunk_topics,
		                                 n_chunks, names,
		                                 pr->n_topics)
		              : -1;
		free(names);
		if (k >= 0) {
			const Lms__Rpc__TopicProgress *tp = pr->topics[k];
			l = tutor_level_from_scores(tp->recent, tp->n_recent,
			                            tp->graded, tp->average);
			*topic = strdup(tp->topic);
		}
	} else if (cr == CALL_REFUSED &&
	           r->status == LMS__RPC__STATUS__PERMISSION_DENIED) {
		if (!t->progress_refused_logged)
			LMS_WARN("the service refuses the tutor account the "
			         "students' progress (%s): answering at the "
			         "intermediate level", r->message);
		t->progress_refused_logged = true;
	} else if (cr == CALL_REFUSED) {
		LMS_WARN("could not read the progress of %s in %s: %s: %s",
		         h->student, h->course, lmsc_status_name(r->status),
		         r->message);
	}
	lmsc_response_free(r);
	return l;
}

/* The material search; *resp owns the chunks (NULL when none). */
static void tutor_search(struct tutor *t, const struct held *h,
                         Lms__Rpc__Response **resp)
{
	Lms__Rpc__MaterialSearchRequest s =
		LMS__RPC__MATERIAL_SEARCH_REQUEST__INIT;
	s.course = h->course;
	s.query = h->body;
	s.limit = SEARCH_LIMIT;
	/* about half of the context window, at ~4 characters a token */
	unsigned budget = t->cfg->tutor.num_ctx * 2;
	s.max_chars = budget < SEARCH_MAX_CHARS ? budget : SEARCH_MAX_CHARS;
	Lms__Rpc__Request req = LMS__RPC__REQUEST__INIT;
	req.op_case = LMS__RPC__REQUEST__OP_MATERIAL_SEARCH;
	req.material_search = &s;
	enum call_result cr = tutor_call(t, &req, resp, 0);
	if (cr == CALL_REFUSED)
		LMS_WARN("material search in %s refused: %s: %s", h->course,
		         lmsc_status_name((*resp)->status), (*resp)->message);
	if (cr != CALL_OK || !(*resp)->material_search) {
		lmsc_response_free(*resp);
		*resp = NULL;
	}
}

/* Cut s to at most max bytes on a UTF-8 character boundary. */
static void utf8_cut(char *s, size_t max)
{
	size_t n = strlen(s);
	if (n <= max)
		return;
	while (max > 0 && ((unsigned char)s[max] & 0xC0) == 0x80)
		max--;
	s[max] = '\0';
}

static bool blank(const char *s)
{
	for (; *s; s++)
		if (*s != ' ' && *s != '\n' && *s != '\t' && *s != '\r')
			return false;
	return true;
}

/* ------------------------------------------------------------ answer */

/* A '[' this close to the end may still become a citation. */
#define CITATION_MAX 256

/* Where the settled part of raw text p[0..len) ends, from `from` on:
 * before an open '[' near the end, before trailing blanks (a citation
 * that is dropped takes the blank before it along), on a character
 * boundary. Filtering is local to each citation, so filtering the
 * settled part alone gives what filtering the whole would give there. */
static size_t settled_end(const char *p, size_t len, size_t from)
{
	size_t end = len;
	for (size_t i = len; i > from && len - i < CITATION_MAX; i--) {
		if (p[i - 1] == ']')
			break;
		if (p[i - 1] == '[') {
			end = i - 1;
			break;
		}
	}
	while (end > from && p[end - 1] == ' ')
		end--;
	while (end > from && ((unsigned char)p[end] & 0xC0) == 0x80)
		end--;
	return end;
}

/* Filters raw[done..upto) and sends the result to the answer stream
 * (within the answer's size limit). */
static void stream_settle(struct tutor *t, size_t upto)
{
	struct stream_filter *f = &t->sf;
	if (upto <= f->done)
		return;
	char keep = f->raw.p[upto];
	f->raw.p[upto] = '\0';
	char *seg = tutor_citations_filter(f->raw.p + f->done, f->n_given,
	                                   NULL);
	f->raw.p[upto] = keep;
	f->done = upto;
	if (!seg)
		return; /* the client compares with the stored answer */
	size_t n = strlen(seg);
	if (t->max_answer && f->out.len + n > t->max_answer) {
		n = f->out.len < t->max_answer ? t->max_answer - f->out.len : 0;
		while (n > 0 && ((unsigned char)seg[n] & 0xC0) == 0x80)
			n--;
	}
	if (n && tbuf_add(&f->out, seg, n) == 0)
		live_text(t->live, seg, n);
	free(seg);
}

static int on_content(const char *text, size_t len, void *user)
{
	struct tutor *t = user;
	struct stream_filter *f = &t->sf;
	if (tbuf_add(&f->raw, text, len) != 0)
		return 0;
	stream_settle(t, settled_end(f->raw.p, f->raw.len, f->done));
	return 0;
}

/* A new Ollama request: the stream starts again. */
static void stream_restart(struct tutor *t, size_t n_given)
{
	struct stream_filter *f = &t->sf;
	f->raw.len = f->out.len = f->done = 0;
	f->n_given = n_given;
	live_attempt(t->live);
}

/* The request succeeded with `answer` (filtered, cut): send what is
 * still held back, and tell whether the stream carried exactly it. */
static void stream_complete(struct tutor *t, const char *answer)
{
	struct stream_filter *f = &t->sf;
	if (f->raw.len)
		stream_settle(t, f->raw.len);
	if (f->out.len != strlen(answer) ||
	    (f->out.len && memcmp(f->out.p, answer, f->out.len) != 0))
		LMS_WARN("question %llu: the streamed text differs from the "
		         "answer stored (%zu vs %zu bytes)",
		         (unsigned long long)t->held.id, f->out.len,
		         strlen(answer));
}

/* Ask Ollama for the held question; 0 with held.answer set, -1. */
static int tutor_generate(struct tutor *t)
{
	struct held *h = &t->held;
	Lms__Rpc__Response *sr = NULL;
	tutor_search(t, h, &sr);
	size_t n = sr ? sr->material_search->n_chunks : 0;
	struct tutor_chunk *chunks = n ? calloc(n, sizeof *chunks) : NULL;
	const char **chunk_topics = n ? calloc(n, sizeof *chunk_topics) : NULL;
	if (n && (!chunks || !chunk_topics)) {
		free(chunks);
		free(chunk_topics);
		lmsc_response_free(sr);
		return -1;
	}
	for (size_t i = 0; i < n; i++)
		chunk_topics[i] = sr->material_search->chunks[i]->topic;
	char *topic;
	enum tutor_level level = tutor_student_level(t, h, chunk_topics, n,
	                                             &topic);
	free(chunk_topics);
	for (size_t i = 0; i < n; i++) {
		const Lms__Rpc__MaterialChunk *mc =
			sr->material_search->chunks[i];
		chunks[i].material_id = mc->material_id;
		chunks[i].chunk = mc->chunk;
		chunks[i].page = mc->page;
		chunks[i].title = mc->title;
		chunks[i].text = mc->text;
	}
	struct tutor_prompt_in in = {
		.course = h->course,
		.question = h->body,
		.level = level,
		.topic = topic,
		.chunks = chunks,
		.n_chunks = n,
	};
	struct tutor_prompt p;
	int rv = tutor_prompt_build_random(&in, &p);
	free(chunks);
	lmsc_response_free(sr);
	if (rv != 0) {
		free(topic);
		LMS_ERROR("could not build the prompt for question %llu: %s",
		          (unsigned long long)h->id, strerror(-rv));
		return -1;
	}
	LMS_INFO("question %llu: level %s%s%s%s, %zu material chunks",
	         (unsigned long long)h->id, tutor_level_name(level),
	         topic ? " (topic \"" : "", topic ? topic : "",
	         topic ? "\")" : "", p.n_sources);
	free(topic);
	stats_state(t, "answering question %llu",
	            (unsigned long long)h->id);

	struct ollama_message msgs[2] = {
		{.role = "system", .content = p.system},
		{.role = "user", .content = p.user},
	};
	struct ollama_chat_request cr = {
		.messages = msgs,
		.n_messages = 2,
		.stream = true,
		.on_content = t->live ? on_content : NULL,
		.should_cancel = chat_cancel,
		.user = t,
	};
	struct ollama_result res;
	stream_restart(t, p.n_sources);
	rv = ollama_chat(t->ollama, &cr, &res);
	if (rv == OLLAMA_OK && blank(res.answer)) {
		rv = OLLAMA_ERR_MALFORMED;
		snprintf(res.message, sizeof res.message,
		         "ollama returned an empty answer");
	}
	if (rv != OLLAMA_OK) {
		if (rv != OLLAMA_ERR_CANCELLED) {
			LMS_WARN("question %llu: ollama failed (%s): %s",
			         (unsigned long long)h->id,
			         ollama_error_name(rv), res.message);
			STATS(t, (t->stats.ollama_errors++,
			          t->stats.ollama_up = !ollama_down_error(rv)));
			stats_state(t, "question %llu waits for ollama: %s",
			            (unsigned long long)h->id, res.message);
		}
		lms_strlcpy(t->last_error, res.message, sizeof t->last_error);
		ollama_result_free(&res);
		tutor_prompt_free(&p);
		return -1;
	}
	STATS(t, t->stats.ollama_up = true);

	bool *used = p.n_sources ? calloc(p.n_sources, sizeof *used) : NULL;
	char *answer = tutor_citations_filter(res.answer, p.n_sources, used);
	size_t n_used = 0;
	for (size_t i = 0; used && i < p.n_sources; i++)
		n_used += used[i];
	bool all = n_used == 0; /* none cited: the context it was given */
	size_t n_src = all ? p.n_sources : n_used;
	Lms__Rpc__Source **src = n_src ? calloc(n_src, sizeof *src) : NULL;
	bool oom = !answer || (p.n_sources && !used) || (n_src && !src);
	size_t k = 0;
	for (size_t i = 0; !oom && i < p.n_sources; i++) {
		if (!all && !used[i])
			continue;
		Lms__Rpc__Source *s = malloc(sizeof *s);
		if (!s) {
			oom = true;
			break;
		}
		lms__rpc__source__init(s);
		s->label = strdup(p.sources[i].label);
		s->title = strdup(p.sources[i].title);
		s->material_id = p.sources[i].material_id;
		s->chunk = p.sources[i].chunk;
		s->page = p.sources[i].page;
		src[k++] = s;
		if (!s->label || !s->title)
			oom = true;
	}
	free(used);
	h->answer = answer;
	h->sources = src;
	h->n_sources = k;
	h->eval_count = res.eval_count;
	h->tps = res.tokens_per_second;
	ollama_result_free(&res);
	tutor_prompt_free(&p);
	if (oom) {
		LMS_ERROR("out of memory preparing answer %llu",
		          (unsigned long long)h->id);
		free(h->answer);
		h->answer = NULL;
		return -1;
	}
	if (t->max_answer)
		utf8_cut(h->answer, t->max_answer);
	if (t->live)
		stream_complete(t, h->answer);
	return 0;
}

/* Store held.answer: 0 stored or refused for good (held dropped), -1
 * retry later. */
static int tutor_store(struct tutor *t)
{
	struct held *h = &t->held;
	Lms__Rpc__QueryAnswerRequest a = LMS__RPC__QUERY_ANSWER_REQUEST__INIT;
	a.id = h->id;
	a.body = h->answer;
	a.sources = h->sources;
	a.n_sources = h->n_sources;
	a.worker = t->claim_worker;
	Lms__Rpc__Request req = LMS__RPC__REQUEST__INIT;
	req.op_case = LMS__RPC__REQUEST__OP_QUERY_ANSWER;
	req.query_answer = &a;
	Lms__Rpc__Response *r;
	enum call_result cr = tutor_call(t, &req, &r, LMSC_WRITE);
	if (cr == CALL_UNAVAILABLE ||
	    (cr == CALL_REFUSED &&
	     (r->status == LMS__RPC__STATUS__UNAUTHENTICATED ||
	      r->status == LMS__RPC__STATUS__UNAVAILABLE ||
	      r->status == LMS__RPC__STATUS__DEADLINE_EXCEEDED ||
	      r->status == LMS__RPC__STATUS__INTERNAL))) {
		lmsc_response_free(r);
		return -1;
	}
	if (cr == CALL_REFUSED) {
		LMS_WARN("answer to question %llu refused: %s: %s",
		         (unsigned long long)h->id,
		         lmsc_status_name(r->status), r->message);
		live_end(t->live, false, r->message);
	} else {
		double secs = (double)(lms_now_ms() - h->claimed_ms) / 1000.0;
		LMS_INFO("answered question %llu in %.1f s (%zu sources, "
		         "%.1f tokens/s)", (unsigned long long)h->id, secs,
		         h->n_sources, h->tps);
		STATS(t, (t->stats.answered++,
		          t->stats.tokens += h->eval_count,
		          t->stats.last_tokens_per_second = h->tps,
		          lms_metric_observe(&t->stats.latency, secs)));
		live_end(t->live, true, NULL);
	}
	lmsc_response_free(r);
	held_clear(h);
	return 0;
}

/* Gives the held question back (QueryRelease), so that any tutord may
 * claim it at once instead of when its lease runs out; the claim's own
 * lease covers the case where this fails. Within quick_ms (0: the
 * client's defaults). Drops held either way. */
static void tutor_release(struct tutor *t, const char *why, unsigned quick_ms)
{
	struct held *h = &t->held;
	Lms__Rpc__QueryReleaseRequest q = LMS__RPC__QUERY_RELEASE_REQUEST__INIT;
	q.id = h->id;
	q.worker = t->claim_worker;
	Lms__Rpc__Request req = LMS__RPC__REQUEST__INIT;
	req.op_case = LMS__RPC__REQUEST__OP_QUERY_RELEASE;
	req.query_release = &q;
	struct lmsc_options saved, o;
	lmsc_get_options(t->c, &saved);
	if (quick_ms) {
		o = saved;
		o.request_timeout_ms = o.total_timeout_ms = quick_ms;
		lmsc_set_options(t->c, &o);
	}
	Lms__Rpc__Response *r;
	enum call_result cr = tutor_call(t, &req, &r, LMSC_WRITE);
	if (quick_ms)
		lmsc_set_options(t->c, &saved);
	if (cr == CALL_OK)
		LMS_INFO("gave question %llu back (%s)",
		         (unsigned long long)h->id, why);
	else
		LMS_WARN("could not give question %llu back (%s): %s; it "
		         "waits for its lease to run out",
		         (unsigned long long)h->id, why,
		         cr == CALL_REFUSED ? r->message : "no answer");
	lmsc_response_free(r);
	live_end(t->live, false, why);
	held_clear(h);
}

/* -------------------------------------------------------------- loop */

void tutor_run(struct tutor *t)
{
	unsigned idle = 0, retry = 0;
	bool ollama_ok = false;
	while (!atomic_load(&t->stop)) {
		if (!t->token && tutor_login(t) != 0) {
			retry = backoff_next(retry, t->retry_min, t->retry_max);
			tutor_sleep(t, retry);
			continue;
		}
		if (!ollama_ok) {
			if (tutor_check_ollama(t) != 0) {
				retry = backoff_next(retry, t->retry_min,
				                     t->retry_max);
				LMS_WARN("%s; retrying in %u ms",
				         ollama_errmsg(t->ollama), retry);
				tutor_sleep(t, retry);
				continue;
			}
			ollama_ok = true;
		}
		struct held *h = &t->held;
		if (h->valid && !h->answer && lms_now_ms() > h->start_by_ms) {
			LMS_WARN("giving question %llu back: its claim runs "
			         "out before another request could end",
			         (unsigned long long)h->id);
			tutor_release(t, "this tutor could not answer in "
			              "time; the question waits for the next "
			              "free tutor", 0);
		}
		if (!h->valid &&
		    lms_now_ms() - t->ollama_checked_ms >= OLLAMA_RECHECK_MS) {
			/* idle: notice Ollama going away before a question
			 * is claimed (and /health says so) */
			if (tutor_check_ollama(t) != 0) {
				ollama_ok = false;
				continue;
			}
		}
		if (!h->valid) {
			stats_state(t, "waiting for questions");
			int rv = tutor_claim(t);
			if (rv < 0) {
				retry = backoff_next(retry, t->retry_min,
				                     t->retry_max);
				tutor_sleep(t, retry);
				continue;
			}
			if (rv == 0) {
				idle = backoff_next(idle, t->idle_min,
				                    t->idle_max);
				tutor_sleep(t, idle);
				continue;
			}
			idle = 0;
		}
		if (!h->answer && tutor_generate(t) != 0) {
			if (atomic_load(&t->stop))
				break;
			bool up;
			STATS(t, up = t->stats.ollama_up);
			ollama_ok = up;
			retry = backoff_next(retry, t->retry_min, t->retry_max);
			live_wait(t->live, t->last_error, retry);
			tutor_sleep(t, retry);
			continue;
		}
		if (tutor_store(t) != 0) {
			retry = backoff_next(retry, t->retry_min, t->retry_max);
			tutor_sleep(t, retry);
			continue;
		}
		retry = 0;
	}
	if (t->held.valid && t->token)
		tutor_release(t, "the tutor is stopping; the question waits "
		              "for the next tutor", 1000);
	else if (t->held.valid)
		live_end(t->live, false, "the tutor is stopping");
	stats_state(t, "stopped");
}
