/*
 * history.c -- load, check and write register histories (format in
 * history.h).
 *
 * The loader is strict on purpose: the checker's verdict is only as good
 * as the history it reads, so a field of the wrong type, a misspelt key or
 * a duplicate id stops the load with the line where it happened instead of
 * being guessed around. The writer builds each line with jansson outside
 * its lock (escaping is the expensive part) and only writes and flushes
 * under it.
 */
#include "history.h"

#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

/* The largest id, client or time the format carries (JSON integers are
 * signed 64-bit in jansson). */
#define HIST_INT_MAX ((uint64_t)INT64_MAX)

static void histErr(char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void histErr(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (err == NULL || errlen == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

const char *lms_hist_kind_name(enum lms_hist_kind k)
{
	switch (k) {
	case LMS_HIST_PUT:
		return "put";
	case LMS_HIST_GET:
		return "get";
	case LMS_HIST_CAS:
		return "cas";
	}
	return "?";
}

const char *lms_hist_outcome_name(enum lms_hist_outcome o)
{
	switch (o) {
	case LMS_HIST_OK:
		return "ok";
	case LMS_HIST_FAIL:
		return "fail";
	case LMS_HIST_UNKNOWN:
		return "unknown";
	}
	return "?";
}

uint64_t lms_hist_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

int lms_hist_op_validate(const struct lms_hist_op *op, char *err,
			 size_t errlen)
{
	const char *kind = lms_hist_kind_name(op->kind);

	if (op->kind != LMS_HIST_PUT && op->kind != LMS_HIST_GET &&
	    op->kind != LMS_HIST_CAS) {
		histErr(err, errlen, "invalid operation kind %d",
			(int)op->kind);
		return -EINVAL;
	}
	if (op->outcome != LMS_HIST_OK && op->outcome != LMS_HIST_FAIL &&
	    op->outcome != LMS_HIST_UNKNOWN) {
		histErr(err, errlen, "invalid outcome %d", (int)op->outcome);
		return -EINVAL;
	}
	if (op->id > HIST_INT_MAX || op->client > HIST_INT_MAX) {
		histErr(err, errlen, "id or client above 2^63-1");
		return -EINVAL;
	}
	if (op->key == NULL) {
		histErr(err, errlen, "%s without \"key\"", kind);
		return -EINVAL;
	}
	if (op->kind == LMS_HIST_GET && op->value != NULL) {
		histErr(err, errlen, "get with a \"value\"");
		return -EINVAL;
	}
	if (op->kind != LMS_HIST_GET && op->value == NULL) {
		histErr(err, errlen, "%s without \"value\"", kind);
		return -EINVAL;
	}
	if (op->kind != LMS_HIST_CAS && op->expected != NULL) {
		histErr(err, errlen, "%s with \"expected\"", kind);
		return -EINVAL;
	}
	if (op->start_ns > HIST_INT_MAX) {
		histErr(err, errlen, "\"start_ns\" above 2^63-1");
		return -EINVAL;
	}
	if (op->end_ns == LMS_HIST_NO_END) {
		if (op->outcome != LMS_HIST_UNKNOWN) {
			histErr(err, errlen, "outcome \"%s\" without "
				"\"end_ns\"", lms_hist_outcome_name(op->outcome));
			return -EINVAL;
		}
	} else if (op->end_ns > HIST_INT_MAX) {
		histErr(err, errlen, "\"end_ns\" above 2^63-1");
		return -EINVAL;
	} else if (op->end_ns < op->start_ns) {
		histErr(err, errlen, "\"end_ns\" %llu before \"start_ns\" %llu",
			(unsigned long long)op->end_ns,
			(unsigned long long)op->start_ns);
		return -EINVAL;
	}
	/* A result only exists for an operation that answered. */
	if (op->outcome != LMS_HIST_OK || op->kind != LMS_HIST_GET) {
		if (op->found || op->result != NULL) {
			histErr(err, errlen, "a found/read value on a %s with "
				"outcome \"%s\"", kind,
				lms_hist_outcome_name(op->outcome));
			return -EINVAL;
		}
	} else if (op->found != (op->result != NULL)) {
		histErr(err, errlen, op->found ? "get found without a value"
					       : "get not found with a value");
		return -EINVAL;
	}
	if ((op->outcome != LMS_HIST_OK || op->kind != LMS_HIST_CAS) &&
	    op->swapped) {
		histErr(err, errlen, "\"swapped\" on a %s with outcome \"%s\"",
			kind, lms_hist_outcome_name(op->outcome));
		return -EINVAL;
	}
	return 0;
}

/* ---- a history in memory ----------------------------------------------- */

void lms_history_init(struct lms_history *h)
{
	h->ops = NULL;
	h->n = 0;
	h->cap = 0;
}

void lms_hist_op_free_strings(struct lms_hist_op *op)
{
	/* The strings of a loaded op are ours; the const is for borrowers. */
	free((char *)op->key);
	free((char *)op->value);
	free((char *)op->expected);
	free((char *)op->result);
	free((char *)op->note);
	op->key = op->value = op->expected = op->result = op->note = NULL;
}

void lms_history_free(struct lms_history *h)
{
	for (size_t i = 0; i < h->n; i++)
		lms_hist_op_free_strings(&h->ops[i]);
	free(h->ops);
	lms_history_init(h);
}

/* Duplicate s (NULL stays NULL); false if memory ran out. */
static bool histDup(const char *s, const char **out)
{
	*out = NULL;
	if (s == NULL)
		return true;
	*out = strdup(s);
	return *out != NULL;
}

/* Make room for one more op. */
static int histReserve(struct lms_history *h)
{
	struct lms_hist_op *ops;
	size_t cap;

	if (h->n < h->cap)
		return 0;
	cap = h->cap ? h->cap * 2 : 64;
	ops = realloc(h->ops, cap * sizeof(*ops));
	if (ops == NULL)
		return -ENOMEM;
	h->ops = ops;
	h->cap = cap;
	return 0;
}

int lms_history_add(struct lms_history *h, const struct lms_hist_op *op,
		    char *err, size_t errlen)
{
	struct lms_hist_op c = *op;
	int rv;

	rv = lms_hist_op_validate(op, err, errlen);
	if (rv != 0)
		return rv;
	if (histReserve(h) != 0)
		goto err_nomem;
	c.key = c.value = c.expected = c.result = c.note = NULL;
	if (!histDup(op->key, &c.key) || !histDup(op->value, &c.value) ||
	    !histDup(op->expected, &c.expected) ||
	    !histDup(op->result, &c.result) || !histDup(op->note, &c.note)) {
		lms_hist_op_free_strings(&c);
		goto err_nomem;
	}
	h->ops[h->n++] = c;
	return 0;

err_nomem:
	histErr(err, errlen, "out of memory");
	return -ENOMEM;
}

/* ---- parsing one line -------------------------------------------------- */

/* obj[name] as an integer in [0, 2^63); missing is an error. */
static int parseUint(json_t *obj, const char *name, uint64_t *out, char *err,
		     size_t errlen)
{
	json_t *v = json_object_get(obj, name);

	if (v == NULL) {
		histErr(err, errlen, "missing \"%s\"", name);
		return -EINVAL;
	}
	if (!json_is_integer(v) || json_integer_value(v) < 0) {
		histErr(err, errlen, "\"%s\" must be an integer >= 0", name);
		return -EINVAL;
	}
	*out = (uint64_t)json_integer_value(v);
	return 0;
}

/*
 * obj[name] as a string copied into *out. null_ok: a JSON null (or, with
 * missing_ok, no key at all) gives NULL.
 */
static int parseStr(json_t *obj, const char *name, bool null_ok,
		    bool missing_ok, const char **out, char *err, size_t errlen)
{
	json_t *v = json_object_get(obj, name);

	*out = NULL;
	if (v == NULL) {
		if (missing_ok)
			return 0;
		histErr(err, errlen, "missing \"%s\"", name);
		return -EINVAL;
	}
	if (json_is_null(v) && null_ok)
		return 0;
	if (!json_is_string(v)) {
		histErr(err, errlen, "\"%s\" must be a string%s", name,
			null_ok ? " or null" : "");
		return -EINVAL;
	}
	if (!histDup(json_string_value(v), out)) {
		histErr(err, errlen, "out of memory");
		return -ENOMEM;
	}
	return 0;
}

/* Refuse keys of obj outside the NULL-terminated list allowed. */
static int parseOnlyKeys(json_t *obj, const char *const *allowed,
			 const char *where, char *err, size_t errlen)
{
	const char *k;
	json_t *v;

	json_object_foreach(obj, k, v) {
		size_t i;

		for (i = 0; allowed[i] != NULL; i++)
			if (strcmp(k, allowed[i]) == 0)
				break;
		if (allowed[i] == NULL) {
			histErr(err, errlen, "unknown key \"%s\"%s", k, where);
			return -EINVAL;
		}
	}
	return 0;
}

/* The "result" object of an ok get or cas (op->kind and outcome set). */
static int parseResult(json_t *r, struct lms_hist_op *op, char *err,
		       size_t errlen)
{
	static const char *const get_keys[] = {"found", "value", NULL};
	static const char *const cas_keys[] = {"swapped", NULL};
	json_t *v;
	int rv;

	if (op->kind == LMS_HIST_PUT) {
		if (r != NULL && !json_is_null(r) &&
		    !(json_is_object(r) && json_object_size(r) == 0)) {
			histErr(err, errlen, "put with a non-empty \"result\"");
			return -EINVAL;
		}
		return 0;
	}
	if (r == NULL || !json_is_object(r)) {
		histErr(err, errlen, "%s with outcome \"ok\" needs a "
			"\"result\" object", lms_hist_kind_name(op->kind));
		return -EINVAL;
	}
	if (op->kind == LMS_HIST_CAS) {
		rv = parseOnlyKeys(r, cas_keys, " in \"result\"", err, errlen);
		if (rv != 0)
			return rv;
		v = json_object_get(r, "swapped");
		if (!json_is_boolean(v)) {
			histErr(err, errlen, "\"result.swapped\" must be a "
				"boolean");
			return -EINVAL;
		}
		op->swapped = json_is_true(v);
		return 0;
	}
	rv = parseOnlyKeys(r, get_keys, " in \"result\"", err, errlen);
	if (rv != 0)
		return rv;
	v = json_object_get(r, "found");
	if (!json_is_boolean(v)) {
		histErr(err, errlen, "\"result.found\" must be a boolean");
		return -EINVAL;
	}
	op->found = json_is_true(v);
	rv = parseStr(r, "value", true, true, &op->result, err, errlen);
	if (rv != 0)
		return rv;
	if (op->found && op->result == NULL) {
		histErr(err, errlen, "\"result.value\" missing while "
			"\"found\" is true");
		return -EINVAL;
	}
	if (!op->found && op->result != NULL) {
		histErr(err, errlen, "\"result.value\" given while \"found\" "
			"is false");
		return -EINVAL;
	}
	return 0;
}

static int parseObject(json_t *o, struct lms_hist_op *op, char *err,
		       size_t errlen)
{
	static const char *const keys[] = {
		"id", "client", "op", "key", "value", "expected", "start_ns",
		"end_ns", "outcome", "result", "note", NULL,
	};
	const char *s;
	json_t *v;
	int rv;

	rv = parseOnlyKeys(o, keys, "", err, errlen);
	if (rv != 0)
		return rv;
	if ((rv = parseUint(o, "id", &op->id, err, errlen)) != 0 ||
	    (rv = parseUint(o, "client", &op->client, err, errlen)) != 0)
		return rv;

	v = json_object_get(o, "op");
	s = json_is_string(v) ? json_string_value(v) : "";
	if (strcmp(s, "put") == 0) {
		op->kind = LMS_HIST_PUT;
	} else if (strcmp(s, "get") == 0) {
		op->kind = LMS_HIST_GET;
	} else if (strcmp(s, "cas") == 0) {
		op->kind = LMS_HIST_CAS;
	} else {
		histErr(err, errlen, v == NULL ? "missing \"op\""
			: "\"op\" must be \"put\", \"get\" or \"cas\"");
		return -EINVAL;
	}
	v = json_object_get(o, "outcome");
	s = json_is_string(v) ? json_string_value(v) : "";
	if (strcmp(s, "ok") == 0) {
		op->outcome = LMS_HIST_OK;
	} else if (strcmp(s, "fail") == 0) {
		op->outcome = LMS_HIST_FAIL;
	} else if (strcmp(s, "unknown") == 0) {
		op->outcome = LMS_HIST_UNKNOWN;
	} else {
		histErr(err, errlen, v == NULL ? "missing \"outcome\""
			: "\"outcome\" must be \"ok\", \"fail\" or "
			  "\"unknown\"");
		return -EINVAL;
	}

	if ((rv = parseStr(o, "key", false, false, &op->key, err,
			   errlen)) != 0)
		return rv;
	if (op->kind == LMS_HIST_GET) {
		if (json_object_get(o, "value") != NULL ||
		    json_object_get(o, "expected") != NULL) {
			histErr(err, errlen, "get with \"value\" or "
				"\"expected\" (its answer goes in \"result\")");
			return -EINVAL;
		}
	} else {
		if ((rv = parseStr(o, "value", false, false, &op->value, err,
				   errlen)) != 0)
			return rv;
	}
	if (op->kind == LMS_HIST_CAS) {
		/* Required, so that a forgotten field is not read as
		 * "expect absent". */
		if ((rv = parseStr(o, "expected", true, false, &op->expected,
				   err, errlen)) != 0)
			return rv;
	} else if (op->kind == LMS_HIST_PUT &&
		   json_object_get(o, "expected") != NULL) {
		histErr(err, errlen, "put with \"expected\"");
		return -EINVAL;
	}

	if ((rv = parseUint(o, "start_ns", &op->start_ns, err, errlen)) != 0)
		return rv;
	v = json_object_get(o, "end_ns");
	if ((v == NULL || json_is_null(v)) &&
	    op->outcome == LMS_HIST_UNKNOWN) {
		op->end_ns = LMS_HIST_NO_END;
	} else if ((rv = parseUint(o, "end_ns", &op->end_ns, err,
				   errlen)) != 0) {
		return rv;
	}

	v = json_object_get(o, "result");
	if (op->outcome == LMS_HIST_OK) {
		if ((rv = parseResult(v, op, err, errlen)) != 0)
			return rv;
	} else if (v != NULL && !json_is_null(v)) {
		histErr(err, errlen, "\"result\" given with outcome \"%s\"",
			lms_hist_outcome_name(op->outcome));
		return -EINVAL;
	}
	if ((rv = parseStr(o, "note", false, true, &op->note, err,
			   errlen)) != 0)
		return rv;
	return lms_hist_op_validate(op, err, errlen);
}

int lms_hist_op_parse(const char *line, size_t len, struct lms_hist_op *out,
		      char *err, size_t errlen)
{
	json_error_t jerr;
	json_t *o;
	int rv;

	memset(out, 0, sizeof(*out));
	o = json_loadb(line, len, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY,
		       &jerr);
	if (o == NULL) {
		histErr(err, errlen, "invalid JSON at column %d: %s",
			jerr.column, jerr.text);
		return -EINVAL;
	}
	if (!json_is_object(o)) {
		histErr(err, errlen, "not a JSON object");
		json_decref(o);
		return -EINVAL;
	}
	rv = parseObject(o, out, err, errlen);
	json_decref(o);
	if (rv != 0)
		lms_hist_op_free_strings(out);
	return rv;
}

/* ---- loading a file ---------------------------------------------------- */

struct histIdLine {
	uint64_t id;
	size_t line;
};

static int histIdCmp(const void *a, const void *b)
{
	const struct histIdLine *x = a, *y = b;

	if (x->id != y->id)
		return x->id < y->id ? -1 : 1;
	return x->line < y->line ? -1 : x->line > y->line;
}

static bool histBlank(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (s[i] != ' ' && s[i] != '\t' && s[i] != '\r' &&
		    s[i] != '\n')
			return false;
	return true;
}

int lms_history_load_stream(FILE *f, const char *name, struct lms_history *h,
			    char *err, size_t errlen)
{
	struct histIdLine *ids = NULL;
	char *line = NULL, msg[256];
	size_t linecap = 0, lineno = 0, ids_cap = 0;
	ssize_t got;
	int rv = 0;

	while ((got = getline(&line, &linecap, f)) != -1) {
		struct lms_hist_op op;

		lineno++;
		if (histBlank(line, (size_t)got))
			continue;
		rv = lms_hist_op_parse(line, (size_t)got, &op, msg,
				       sizeof(msg));
		if (rv == 0 && histReserve(h) != 0) {
			lms_hist_op_free_strings(&op);
			rv = -ENOMEM;
			snprintf(msg, sizeof(msg), "out of memory");
		}
		if (rv == 0 && h->n == ids_cap) {
			size_t cap = ids_cap ? ids_cap * 2 : 64;
			struct histIdLine *n = realloc(ids, cap *
							   sizeof(*ids));

			if (n == NULL) {
				lms_hist_op_free_strings(&op);
				rv = -ENOMEM;
				snprintf(msg, sizeof(msg), "out of memory");
			} else {
				ids = n;
				ids_cap = cap;
			}
		}
		if (rv != 0) {
			histErr(err, errlen, "%s:%zu: %s", name, lineno, msg);
			goto err_after_load;
		}
		ids[h->n].id = op.id;
		ids[h->n].line = lineno;
		h->ops[h->n++] = op;
	}
	if (ferror(f)) {
		rv = -EIO;
		histErr(err, errlen, "%s: read error after line %zu", name,
			lineno);
		goto err_after_load;
	}

	if (h->n > 1) {
		qsort(ids, h->n, sizeof(*ids), histIdCmp);
		for (size_t i = 1; i < h->n; i++) {
			if (ids[i].id == ids[i - 1].id) {
				rv = -EINVAL;
				histErr(err, errlen, "%s:%zu: duplicate id %llu "
					"(first on line %zu)", name, ids[i].line,
					(unsigned long long)ids[i].id,
					ids[i - 1].line);
				goto err_after_load;
			}
		}
	}
	free(ids);
	free(line);
	return 0;

err_after_load:
	free(ids);
	free(line);
	lms_history_free(h);
	return rv;
}

int lms_history_load(const char *path, struct lms_history *h, char *err,
		     size_t errlen)
{
	FILE *f;
	int rv;

	if (strcmp(path, "-") == 0)
		return lms_history_load_stream(stdin, "(stdin)", h, err,
					       errlen);
	f = fopen(path, "re");
	if (f == NULL) {
		rv = -errno;
		histErr(err, errlen, "could not open \"%s\": %s", path,
			strerror(-rv));
		return rv;
	}
	rv = lms_history_load_stream(f, path, h, err, errlen);
	fclose(f);
	return rv;
}

/* ---- writing ----------------------------------------------------------- */

/* Set obj[k] = v (v's reference is taken); false on failure. */
static bool histSet(json_t *obj, const char *k, json_t *v)
{
	return v != NULL && json_object_set_new(obj, k, v) == 0;
}

json_t *lms_hist_op_json(const struct lms_hist_op *op)
{
	json_t *o, *r = NULL;
	bool ok;

	if (lms_hist_op_validate(op, NULL, 0) != 0)
		return NULL;
	o = json_object();
	if (o == NULL)
		return NULL;
	ok = histSet(o, "id", json_integer((json_int_t)op->id)) &&
	     histSet(o, "client", json_integer((json_int_t)op->client)) &&
	     histSet(o, "op", json_string(lms_hist_kind_name(op->kind))) &&
	     histSet(o, "key", json_string(op->key));
	if (ok && op->value != NULL)
		ok = histSet(o, "value", json_string(op->value));
	if (ok && op->kind == LMS_HIST_CAS)
		ok = histSet(o, "expected", op->expected
				 ? json_string(op->expected) : json_null());
	ok = ok &&
	     histSet(o, "start_ns", json_integer((json_int_t)op->start_ns)) &&
	     histSet(o, "end_ns", op->end_ns == LMS_HIST_NO_END
			 ? json_null()
			 : json_integer((json_int_t)op->end_ns)) &&
	     histSet(o, "outcome",
		     json_string(lms_hist_outcome_name(op->outcome)));
	if (ok && op->outcome == LMS_HIST_OK && op->kind != LMS_HIST_PUT) {
		r = op->kind == LMS_HIST_GET
			? json_pack("{s:b}", "found", op->found)
			: json_pack("{s:b}", "swapped", op->swapped);
		if (r != NULL && op->result != NULL)
			ok = histSet(r, "value", json_string(op->result));
		if (ok) {
			ok = histSet(o, "result", r);
		} else {
			json_decref(r);
		}
	}
	if (ok && op->note != NULL)
		ok = histSet(o, "note", json_string(op->note));
	if (!ok) {
		json_decref(o);
		return NULL;
	}
	return o;
}

char *lms_hist_op_to_json(const struct lms_hist_op *op)
{
	json_t *o = lms_hist_op_json(op);
	char *s;

	if (o == NULL)
		return NULL;
	s = json_dumps(o, JSON_COMPACT);
	json_decref(o);
	return s;
}

struct lms_hist_writer {
	pthread_mutex_t mu;
	FILE *f;
	int err;        /* sticky: first write error, or 0 */
	uint64_t count; /* lines written */
	uint64_t last_id; /* lms_hist_writer_next_id */
};

int lms_hist_writer_open(const char *path, struct lms_hist_writer **out)
{
	struct lms_hist_writer *w;
	int rv;

	w = calloc(1, sizeof(*w));
	if (w == NULL)
		return -ENOMEM;
	w->f = fopen(path, "we");
	if (w->f == NULL) {
		rv = -errno;
		goto err_after_alloc;
	}
	rv = -pthread_mutex_init(&w->mu, NULL);
	if (rv != 0)
		goto err_after_open;
	*out = w;
	return 0;

err_after_open:
	fclose(w->f);
err_after_alloc:
	free(w);
	return rv;
}

int lms_hist_writer_append(struct lms_hist_writer *w,
			   const struct lms_hist_op *op)
{
	char *line;
	int rv;

	if (lms_hist_op_validate(op, NULL, 0) != 0)
		return -EINVAL;
	line = lms_hist_op_to_json(op);
	if (line == NULL)
		return -ENOMEM;

	pthread_mutex_lock(&w->mu);
	if (w->err == 0) {
		errno = 0;
		if (fputs(line, w->f) == EOF || fputc('\n', w->f) == EOF ||
		    fflush(w->f) == EOF)
			w->err = errno ? -errno : -EIO;
		else
			w->count++;
	}
	rv = w->err;
	pthread_mutex_unlock(&w->mu);
	free(line);
	return rv;
}

uint64_t lms_hist_writer_count(struct lms_hist_writer *w)
{
	uint64_t n;

	pthread_mutex_lock(&w->mu);
	n = w->count;
	pthread_mutex_unlock(&w->mu);
	return n;
}

uint64_t lms_hist_writer_next_id(struct lms_hist_writer *w)
{
	uint64_t id;

	pthread_mutex_lock(&w->mu);
	id = ++w->last_id;
	pthread_mutex_unlock(&w->mu);
	return id;
}

int lms_hist_writer_close(struct lms_hist_writer *w)
{
	int rv;

	if (w == NULL)
		return 0;
	rv = w->err;
	errno = 0;
	if (fclose(w->f) != 0 && rv == 0)
		rv = errno ? -errno : -EIO;
	pthread_mutex_destroy(&w->mu);
	free(w);
	return rv;
}
