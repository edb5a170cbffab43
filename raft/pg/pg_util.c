/*
 * pg_util.c -- small helpers every file of raft/pg uses: error messages,
 * the growable buffer, byte order, query parameters and running queries.
 *
 * Every query of the driver goes through pg_query() or pg_command(), which
 * check PQresultStatus against the one status the caller expects, PQclear
 * a result they do not hand back, and keep the server's message (primary
 * text only, one line) in pgs->dberr. Callers wrap it into a message that
 * says what failed: "could not append entries 10..20: <dberr>".
 *
 * Parameters travel in binary for integers and bytea (no text round trip,
 * no escaping), in text for strings; integers are big endian on the wire.
 */
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pg_internal.h"

const char *pgs_strerror(int rv)
{
	switch (rv) {
	case PGS_OK: return "success";
	case PGS_ENOMEM: return "out of memory";
	case PGS_EDB: return "database failure";
	case PGS_ECORRUPT: return "stored state is inconsistent";
	case PGS_EIDENTITY: return "database belongs to another node";
	case PGS_EINVAL: return "invalid argument";
	case PGS_ENOTFOUND: return "not found";
	case PGS_EBROKEN: return "storage must be reloaded after a failure";
	case PGS_EBUSY: return "database in use by another process";
	default: return "unknown error";
	}
}

int pg_fail(struct pgs *pgs, int rv, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(pgs->errmsg, sizeof pgs->errmsg, fmt, ap);
	va_end(ap);
	return rv;
}

/* One line, no "ERROR:  " prefix, no trailing newline. */
static void message_clean(const char *in, char *out, size_t cap)
{
	static const char *prefixes[] = {"ERROR:  ", "FATAL:  ", "PANIC:  "};
	for (size_t i = 0; i < sizeof prefixes / sizeof prefixes[0]; i++) {
		size_t n = strlen(prefixes[i]);
		if (strncmp(in, prefixes[i], n) == 0) {
			in += n;
			break;
		}
	}
	size_t o = 0;
	for (; *in && o + 1 < cap; in++) {
		char c = *in;
		if (c == '\n' || c == '\r' || c == '\t')
			c = ' ';
		out[o++] = c;
	}
	while (o > 0 && out[o - 1] == ' ')
		o--;
	out[o] = '\0';
	if (o == 0)
		snprintf(out, cap, "unknown error");
}

void pg_message(PGconn *conn, const PGresult *res, char *out, size_t cap)
{
	const char *m = NULL;
	if (res)
		m = PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY);
	if (!m || !*m)
		m = conn ? PQerrorMessage(conn) : "no connection";
	message_clean(m, out, cap);
}

/* ------------------------------------------------------------- buffers */

int pgs_buf_reserve(struct pgs_buf *b, size_t extra)
{
	if (extra <= b->cap - b->len)
		return PGS_OK;
	if (extra > SIZE_MAX / 2 - b->len)
		return PGS_ENOMEM;
	size_t cap = b->cap ? b->cap : 256;
	while (cap - b->len < extra)
		cap *= 2;
	unsigned char *d = realloc(b->data, cap);
	if (!d)
		return PGS_ENOMEM;
	b->data = d;
	b->cap = cap;
	return PGS_OK;
}

int pgs_buf_append(struct pgs_buf *b, const void *p, size_t n)
{
	if (n == 0)
		return PGS_OK;
	int rv = pgs_buf_reserve(b, n);
	if (rv)
		return rv;
	memcpy(b->data + b->len, p, n);
	b->len += n;
	return PGS_OK;
}

void pgs_buf_reset(struct pgs_buf *b)
{
	b->len = 0;
}

void pgs_buf_free(struct pgs_buf *b)
{
	free(b->data);
	b->data = NULL;
	b->len = b->cap = 0;
}

/* ---------------------------------------------------------- byte order */

void pg_put_be16(unsigned char *p, uint16_t v)
{
	p[0] = (unsigned char)(v >> 8);
	p[1] = (unsigned char)v;
}

void pg_put_be32(unsigned char *p, uint32_t v)
{
	for (int i = 3; i >= 0; i--, v >>= 8)
		p[i] = (unsigned char)v;
}

void pg_put_be64(unsigned char *p, uint64_t v)
{
	for (int i = 7; i >= 0; i--, v >>= 8)
		p[i] = (unsigned char)v;
}

uint16_t pg_get_be16(const unsigned char *p)
{
	return (uint16_t)((p[0] << 8) | p[1]);
}

uint32_t pg_get_be32(const unsigned char *p)
{
	uint32_t v = 0;
	for (int i = 0; i < 4; i++)
		v = (v << 8) | p[i];
	return v;
}

uint64_t pg_get_be64(const unsigned char *p)
{
	uint64_t v = 0;
	for (int i = 0; i < 8; i++)
		v = (v << 8) | p[i];
	return v;
}

void pg_put_le32(unsigned char *p, uint32_t v)
{
	for (int i = 0; i < 4; i++, v >>= 8)
		p[i] = (unsigned char)v;
}

void pg_put_le64(unsigned char *p, uint64_t v)
{
	for (int i = 0; i < 8; i++, v >>= 8)
		p[i] = (unsigned char)v;
}

uint32_t pg_get_le32(const unsigned char *p)
{
	uint32_t v = 0;
	for (int i = 3; i >= 0; i--)
		v = (v << 8) | p[i];
	return v;
}

uint64_t pg_get_le64(const unsigned char *p)
{
	uint64_t v = 0;
	for (int i = 7; i >= 0; i--)
		v = (v << 8) | p[i];
	return v;
}

int pg_buf_u8(struct pgs_buf *b, uint8_t v)
{
	return pgs_buf_append(b, &v, 1);
}

int pg_buf_u16le(struct pgs_buf *b, uint16_t v)
{
	unsigned char p[2] = {(unsigned char)v, (unsigned char)(v >> 8)};
	return pgs_buf_append(b, p, 2);
}

int pg_buf_u32le(struct pgs_buf *b, uint32_t v)
{
	unsigned char p[4];
	pg_put_le32(p, v);
	return pgs_buf_append(b, p, 4);
}

int pg_buf_u64le(struct pgs_buf *b, uint64_t v)
{
	unsigned char p[8];
	pg_put_le64(p, v);
	return pgs_buf_append(b, p, 8);
}

/* -------------------------------------------------------- binary arrays */

/* The binary form of a one-dimensional array without NULLs (array_recv):
 * int32 ndim = 1 | int32 flags = 0 | int32 element type | int32 length |
 * int32 lower bound = 1 | per element: int32 size | bytes. */
int pg_array_start(struct pgs_buf *b, unsigned oid, size_t n)
{
	unsigned char h[20];
	pg_put_be32(h, 1);
	pg_put_be32(h + 4, 0);
	pg_put_be32(h + 8, oid);
	pg_put_be32(h + 12, (uint32_t)n);
	pg_put_be32(h + 16, 1);
	pgs_buf_reset(b);
	return pgs_buf_append(b, h, sizeof h);
}

int pg_array_add(struct pgs_buf *b, const void *p, size_t n)
{
	unsigned char len[4];
	pg_put_be32(len, (uint32_t)n);
	int rv = pgs_buf_append(b, len, 4);
	return rv ? rv : pgs_buf_append(b, p, n);
}

int pg_array_add_u64(struct pgs_buf *b, uint64_t v)
{
	unsigned char x[8];
	pg_put_be64(x, v);
	return pg_array_add(b, x, 8);
}

int pg_array_add_i16(struct pgs_buf *b, int16_t v)
{
	unsigned char x[2];
	pg_put_be16(x, (uint16_t)v);
	return pg_array_add(b, x, 2);
}

/* ---------------------------------------------------------- parameters */

void pg_params_init(struct pg_params *p)
{
	memset(p, 0, sizeof *p);
}

void pg_param_u64(struct pg_params *p, uint64_t v)
{
	if (p->n >= PG_MAX_PARAMS)
		abort(); /* programmer error: raise PG_MAX_PARAMS */
	pg_put_be64(p->ints[p->n], v);
	p->values[p->n] = (const char *)p->ints[p->n];
	p->lengths[p->n] = 8;
	p->formats[p->n] = 1;
	p->n++;
}

void pg_param_i64(struct pg_params *p, int64_t v)
{
	pg_param_u64(p, (uint64_t)v);
}

void pg_param_i16(struct pg_params *p, int16_t v)
{
	if (p->n >= PG_MAX_PARAMS)
		abort();
	pg_put_be16(p->ints[p->n], (uint16_t)v);
	p->values[p->n] = (const char *)p->ints[p->n];
	p->lengths[p->n] = 2;
	p->formats[p->n] = 1;
	p->n++;
}

void pg_param_bytes(struct pg_params *p, const void *data, size_t len)
{
	if (p->n >= PG_MAX_PARAMS || len > INT32_MAX)
		abort(); /* callers bound their sizes well below 1 GB */
	/* libpq wants a non-NULL pointer for a non-NULL value. */
	p->values[p->n] = len ? (const char *)data : "";
	p->lengths[p->n] = (int)len;
	p->formats[p->n] = 1;
	p->n++;
}

void pg_param_text(struct pg_params *p, const char *s)
{
	if (p->n >= PG_MAX_PARAMS)
		abort();
	p->values[p->n] = s;
	p->lengths[p->n] = 0;
	p->formats[p->n] = 0;
	p->n++;
}

/* ------------------------------------------------------------- queries */

PGresult *pg_query(struct pgs *pgs, PGconn *conn, const char *stmt,
                   const char *sql, const struct pg_params *p,
                   bool binary_result, ExecStatusType want)
{
	int n = p ? p->n : 0;
	const char *const *values = p ? p->values : NULL;
	const int *lengths = p ? p->lengths : NULL;
	const int *formats = p ? p->formats : NULL;
	PGresult *res;
	if (stmt)
		res = PQexecPrepared(conn, stmt, n, values, lengths, formats,
		                     binary_result ? 1 : 0);
	else
		res = PQexecParams(conn, sql, n, NULL, values, lengths, formats,
		                   binary_result ? 1 : 0);
	if (res && PQresultStatus(res) == want)
		return res;
	if (res && PQresultStatus(res) != PGRES_FATAL_ERROR &&
	    PQresultStatus(res) != PGRES_NONFATAL_ERROR)
		snprintf(pgs->dberr, sizeof pgs->dberr,
		         "unexpected result status %s",
		         PQresStatus(PQresultStatus(res)));
	else
		pg_message(conn, res, pgs->dberr, sizeof pgs->dberr);
	PQclear(res);
	return NULL;
}

int pg_command(struct pgs *pgs, PGconn *conn, const char *sql)
{
	PGresult *res = PQexec(conn, sql);
	ExecStatusType st = PQresultStatus(res);
	if (res && (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK)) {
		PQclear(res);
		return 0;
	}
	pg_message(conn, res, pgs->dberr, sizeof pgs->dberr);
	PQclear(res);
	return -1;
}

uint64_t pg_cmd_rows(const PGresult *res)
{
	const char *s = PQcmdTuples((PGresult *)res);
	uint64_t v = 0;
	for (; s && *s >= '0' && *s <= '9'; s++)
		v = v * 10 + (uint64_t)(*s - '0');
	return v;
}

int64_t pg_get_i64(const PGresult *res, int row, int col)
{
	return (int64_t)pg_get_be64(
		(const unsigned char *)PQgetvalue(res, row, col));
}

int16_t pg_get_i16(const PGresult *res, int row, int col)
{
	return (int16_t)pg_get_be16(
		(const unsigned char *)PQgetvalue(res, row, col));
}

/* --------------------------------------------------------- identifiers */

bool pg_valid_ident(const char *s, size_t len)
{
	if (len == 0 || len > 63)
		return false;
	if (!(s[0] == '_' || (s[0] >= 'a' && s[0] <= 'z')))
		return false;
	for (size_t i = 1; i < len; i++) {
		char c = s[i];
		if (!(c == '_' || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')))
			return false;
	}
	return true;
}

bool pg_valid_table(const char *s)
{
	if (!s)
		return false;
	const char *dot = strchr(s, '.');
	if (!dot)
		return pg_valid_ident(s, strlen(s));
	return pg_valid_ident(s, (size_t)(dot - s)) &&
	       pg_valid_ident(dot + 1, strlen(dot + 1));
}

char *pg_quote_table(const char *name)
{
	size_t n = strlen(name);
	char *q = malloc(n + 5);
	if (!q)
		return NULL;
	const char *dot = strchr(name, '.');
	if (dot)
		snprintf(q, n + 5, "\"%.*s\".\"%s\"", (int)(dot - name), name,
		         dot + 1);
	else
		snprintf(q, n + 5, "\"%s\"", name);
	return q;
}
