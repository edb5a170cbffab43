/*
 * rpc.c -- one call from lms to the cluster, and what the user sees when
 * it fails.
 *
 * Every command goes through cli_call():
 *
 *   - the session token: $LMS_TOKEN, else the session file (session.c);
 *     a command that needs one and has none stops here with exit 3
 *     without contacting the cluster;
 *   - reads are linearizable (ReadIndex on the leader) unless --stale,
 *     which lets any node answer from its own database (and says which
 *     applied index the answer reflects);
 *   - writes carry LMSC_WRITE: the client library numbers them and reuses
 *     the number on every retry, so a write whose answer was lost (leader
 *     killed, timeout) is applied once and the retry gets the recorded
 *     result;
 *   - the answer's Status becomes the exit status (cli_status_exit), the
 *     message is shown as "lms: not found: no assignment 99", or with
 *     --json as one JSON object on stderr.
 *
 * File transfers (a spinner label given) get a longer per-attempt timeout:
 * a 16 MiB upload plus text extraction must not be retried after 5 s.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lms.h"
#include "util.h"

/* Per-attempt timeout of a file transfer (the library's default is 5 s). */
#define CLI_SLOW_ATTEMPT_MS 60000
#define CLI_SLOW_TOTAL_MS 120000

int cli_error(struct cli *cli, int rc, const char *code, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	snprintf(cli->last_code, sizeof cli->last_code, "%s", code);
	snprintf(cli->last_err, sizeof cli->last_err, "%s", msg);
	if (cli->mute)
		return rc;
	if (cli->json) {
		json_t *j = json_pack("{s:s,s:s,s:i}", "error", code, "message",
		                      msg, "exit_code", rc);
		char *s = j ? json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
		fprintf(stderr, "%s\n", s ? s : "{}");
		free(s);
		json_decref(j);
	} else {
		fprintf(stderr, "lms: %s\n", msg);
	}
	return rc;
}

void cli_note(struct cli *cli, const char *fmt, ...)
{
	if (cli->quiet || cli->json)
		return;
	va_list ap;
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
}

int cli_status_exit(int status)
{
	switch (status) {
	case LMS__RPC__STATUS__OK:
		return EXIT_OK;
	case LMS__RPC__STATUS__UNAUTHENTICATED:
		return EXIT_UNAUTH;
	case LMS__RPC__STATUS__PERMISSION_DENIED:
		return EXIT_DENIED;
	case LMS__RPC__STATUS__NOT_FOUND:
		return EXIT_NOTFOUND;
	case LMS__RPC__STATUS__INVALID_ARGUMENT:
	case LMS__RPC__STATUS__CONFLICT:
	case LMS__RPC__STATUS__FAILED_PRECONDITION:
	case LMS__RPC__STATUS__TOO_LARGE:
		return EXIT_INVALID;
	case LMS__RPC__STATUS__NOT_LEADER:
	case LMS__RPC__STATUS__UNAVAILABLE:
	case LMS__RPC__STATUS__DEADLINE_EXCEEDED:
		return EXIT_UNAVAILABLE;
	case LMS__RPC__STATUS__INTERNAL:
	default:
		return EXIT_FAIL;
	}
}

static const char *status_words(int status)
{
	switch (status) {
	case LMS__RPC__STATUS__INVALID_ARGUMENT: return "invalid";
	case LMS__RPC__STATUS__UNAUTHENTICATED: return "not authenticated";
	case LMS__RPC__STATUS__PERMISSION_DENIED: return "permission denied";
	case LMS__RPC__STATUS__NOT_FOUND: return "not found";
	case LMS__RPC__STATUS__CONFLICT: return "conflict";
	case LMS__RPC__STATUS__FAILED_PRECONDITION: return "refused";
	case LMS__RPC__STATUS__TOO_LARGE: return "too large";
	case LMS__RPC__STATUS__NOT_LEADER:
	case LMS__RPC__STATUS__UNAVAILABLE:
	case LMS__RPC__STATUS__DEADLINE_EXCEEDED: return "cluster unavailable";
	default: return "error";
	}
}

struct lmsc *cli_client(struct cli *cli, int *rc)
{
	if (cli->c)
		return cli->c;
	struct lmsc_node list[LMSC_MAX_NODES];
	size_t n = 0;
	char err[512];
	if (lmsc_nodes_resolve(cli->nodes, cli->config, list, &n, err,
	                       sizeof err) != 0 || n == 0) {
		*rc = cli_error(cli, EXIT_USAGE, "USAGE",
		                "no cluster nodes: %s (give --nodes "
		                "host:port,..., $LMS_NODES or --config FILE)",
		                n == 0 && !*err ? "empty node list" : err);
		return NULL;
	}
	struct lmsc_options o;
	lmsc_options_default(&o);
	if (cli->timeout_ms) {
		o.total_timeout_ms = cli->timeout_ms;
		if (o.request_timeout_ms > cli->timeout_ms)
			o.request_timeout_ms = cli->timeout_ms;
	}
	cli->c = lmsc_new(list, n, &o);
	if (!cli->c) {
		*rc = cli_error(cli, EXIT_FAIL, "ERROR",
		                "could not create the cluster client");
		return NULL;
	}
	return cli->c;
}

const char *cli_token(struct cli *cli, int *rc)
{
	if (cli->token)
		return cli->token;
	const char *env = getenv("LMS_TOKEN");
	if (env && *env) {
		cli->token = strdup(env);
		cli->token_from_env = true;
		if (!cli->token)
			*rc = cli_error(cli, EXIT_FAIL, "ERROR", "out of memory");
		return cli->token;
	}
	char tok[65], err[512] = "";
	int rv = session_load(tok, err, sizeof err);
	if (rv == -ENOENT) {
		*rc = cli_error(cli, EXIT_UNAUTH, "UNAUTHENTICATED",
		                "not logged in (run \"lms login USER\")");
		return NULL;
	}
	if (rv == -EINVAL) {
		*rc = cli_error(cli, EXIT_UNAUTH, "UNAUTHENTICATED", "%s", err);
		return NULL;
	}
	if (rv != 0) {
		char path[4096] = "";
		session_path(path, sizeof path);
		*rc = cli_error(cli, EXIT_FAIL, "IO_ERROR",
		                "could not read session file \"%s\": %s", path,
		                strerror(-rv));
		return NULL;
	}
	cli->token = strdup(tok);
	if (!cli->token)
		*rc = cli_error(cli, EXIT_FAIL, "ERROR", "out of memory");
	return cli->token;
}

int cli_call(struct cli *cli, Lms__Rpc__Request *req, enum call_kind kind,
             int want, Lms__Rpc__Response **resp, const char *spin)
{
	int rc = 0;
	*resp = NULL;
	req->token = "";
	unsigned flags = 0;
	if (kind == CALL_READ || kind == CALL_WRITE) {
		const char *t = cli_token(cli, &rc);
		if (!t)
			return rc;
		req->token = (char *)t;
	}
	struct lmsc *c = cli_client(cli, &rc);
	if (!c)
		return rc;
	switch (kind) {
	case CALL_READ:
		if (cli->stale) {
			req->consistency = LMS__RPC__CONSISTENCY__STALE;
			flags |= LMSC_ANY_NODE;
		}
		break;
	case CALL_WRITE:
	case CALL_PUBLIC_WRITE:
		flags |= LMSC_WRITE;
		break;
	case CALL_LOCAL:
		flags |= LMSC_ANY_NODE;
		break;
	}
	struct lmsc_options saved;
	bool slow = spin && !cli->timeout_ms;
	if (slow) {
		lmsc_get_options(c, &saved);
		struct lmsc_options o = saved;
		o.request_timeout_ms = CLI_SLOW_ATTEMPT_MS;
		o.total_timeout_ms = CLI_SLOW_TOTAL_MS;
		lmsc_set_options(c, &o);
	}
	struct spinner *sp = spin ? spinner_start(cli, spin) : NULL;
	Lms__Rpc__Response *r = NULL;
	int rv = lmsc_call(c, req, &r, flags);
	spinner_stop(sp);
	if (slow)
		lmsc_set_options(c, &saved);
	if (rv == -ENOMEM)
		return cli_error(cli, EXIT_FAIL, "ERROR", "out of memory");
	if (rv != 0)
		return cli_error(cli, EXIT_UNAVAILABLE, "UNAVAILABLE", "%s",
		                 lmsc_errmsg(c));
	if (r->status != LMS__RPC__STATUS__OK) {
		const char *msg = r->message && *r->message
		                          ? r->message
		                          : lmsc_status_name(r->status);
		rc = cli_status_exit(r->status);
		if (cli->json)
			cli_error(cli, rc, lmsc_status_name(r->status), "%s", msg);
		else
			cli_error(cli, rc, lmsc_status_name(r->status),
			          "%s: %s%s", status_words(r->status),
			          msg,
			          r->status == LMS__RPC__STATUS__UNAUTHENTICATED &&
			                          kind != CALL_PUBLIC_WRITE
			                  ? " (log in with \"lms login USER\")"
			                  : "");
		lmsc_response_free(r);
		return rc;
	}
	if (want && (int)r->result_case != want) {
		rc = cli_error(cli, EXIT_FAIL, "INTERNAL",
		               "node %llu answered with an unexpected result "
		               "(%d, expected %d)", (unsigned long long)r->node_id,
		               (int)r->result_case, want);
		lmsc_response_free(r);
		return rc;
	}
	if (kind == CALL_READ && cli->stale && !cli->in_menu)
		cli_note(cli, "(stale read: node %llu at applied index %llu)\n",
		         (unsigned long long)r->node_id,
		         (unsigned long long)r->applied_index);
	*resp = r;
	return 0;
}

/* ------------------------------------------------------------ paging */

/* $LMS_PAGE_SIZE asks for pages of that many entries instead of the
 * cluster's limits.max_page_size: it changes nothing in the output, only
 * how many round trips it takes (the tests use it to page for real). */
void pager_init(struct pager *p, long limit)
{
	memset(p, 0, sizeof *p);
	p->limit = limit;
	lms__rpc__page__init(&p->page);
	uint64_t ps;
	const char *env = getenv("LMS_PAGE_SIZE");
	if (env && lms_parse_u64(env, 1, 100000, &ps) == 0)
		p->page_size = (uint32_t)ps;
}

Lms__Rpc__Page *pager_next(struct pager *p)
{
	if (p->done)
		return NULL;
	p->page.after = p->after ? p->after : "";
	p->page.limit = p->page_size; /* 0: the server's page size */
	if (p->limit > 0) {
		long left = p->limit - (long)p->count;
		if (p->page.limit == 0 || left < (long)p->page.limit)
			p->page.limit = left > 100000 ? 100000 : (uint32_t)left;
	}
	return &p->page;
}

size_t pager_took(struct pager *p, size_t n, const char *next)
{
	size_t k = n;
	if (p->limit > 0 && p->count + k > (size_t)p->limit)
		k = (size_t)p->limit - p->count;
	p->count += k;
	free(p->after);
	p->after = NULL;
	/* n == 0 with a cursor would loop for ever: a server bug, stop */
	if (!next || !*next || n == 0 ||
	    (p->limit > 0 && p->count >= (size_t)p->limit))
		p->done = true;
	else if (!(p->after = strdup(next)))
		p->done = true;
	return k;
}

void pager_free(struct pager *p)
{
	free(p->after);
	p->after = NULL;
}

long arg_limit(struct cli *cli, const struct args *a, const char *path,
               int *rc)
{
	const char *s = arg_get(a, "limit");
	uint64_t v = 0;
	if (!s)
		return 0;
	if (lms_parse_u64(s, 1, 1000000, &v) != 0) {
		*rc = cli_usage(cli, path, "--limit must be 1..1000000");
		return -1;
	}
	return (long)v;
}
