/*
 * output.c -- what lms prints: aligned tables for people, JSON documents
 * for scripts, times in local time.
 *
 * JSON
 * ----
 * With --json every command prints exactly one JSON document on stdout.
 * Its shape is the result message of the command's RPC in lmsd/lms.proto,
 * written by pb_json() from the protobuf-c descriptors, so the keys are
 * the proto field names (snake_case) and stay stable as long as the
 * protocol does:
 *   - every field is present, with its default when unset (0, "", false,
 *     []); an absent sub-message is null;
 *   - enums are lower-case names without their type's prefix (ROLE_ADMIN
 *     -> "admin", COURSE_TA -> "ta", QUERY_OPEN -> "open", TO_TUTOR ->
 *     "tutor");
 *   - times are the wire's canonical UTC ISO-8601 strings (never local);
 *   - bytes (a file's data) are left out: files go to files (-o).
 * Lists merge all their pages into one array and drop `next`. A command
 * may add keys of its own (documented with the command).
 *
 * Tables
 * ------
 * Columns are padded to the widest cell, counted in characters (UTF-8
 * code points, close enough for names and titles), long cells cut with
 * "..." where a column has a maximum. Headers are upper case.
 */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "isotime.h"
#include "lms.h"

/* ------------------------------------------------------------ JSON */

void out_json(json_t *j)
{
	char *s = j ? json_dumps(j, JSON_INDENT(2) | JSON_SORT_KEYS) : NULL;
	if (s) {
		puts(s);
		free(s);
	} else {
		puts("null");
	}
	json_decref(j);
}

const char *enum_name(const ProtobufCEnumDescriptor *d, int v)
{
	static char ring[8][64];
	static unsigned next;
	const ProtobufCEnumValue *ev = protobuf_c_enum_descriptor_get_value(d, v);
	if (!ev)
		return "unknown";
	static const char *const prefixes[] = {"COURSE_ROLE_", "QUERY_STATUS_",
	                                       "COURSE_", "QUERY_", "ROLE_",
	                                       "TO_"};
	const char *n = ev->name;
	for (size_t i = 0; i < sizeof prefixes / sizeof prefixes[0]; i++) {
		size_t len = strlen(prefixes[i]);
		if (strncmp(n, prefixes[i], len) == 0 && n[len]) {
			n += len;
			break;
		}
	}
	char *out = ring[next++ % 8];
	size_t i = 0;
	for (; n[i] && i < 63; i++)
		out[i] = (char)(n[i] >= 'A' && n[i] <= 'Z' ? n[i] - 'A' + 'a'
		                                         : n[i]);
	out[i] = '\0';
	return out;
}

/* One value of field f at p (a scalar, string or message pointer). */
static json_t *pb_value(const ProtobufCFieldDescriptor *f, const void *p)
{
	switch (f->type) {
	case PROTOBUF_C_TYPE_INT32:
	case PROTOBUF_C_TYPE_SINT32:
	case PROTOBUF_C_TYPE_SFIXED32:
		return json_integer(*(const int32_t *)p);
	case PROTOBUF_C_TYPE_UINT32:
	case PROTOBUF_C_TYPE_FIXED32:
		return json_integer(*(const uint32_t *)p);
	case PROTOBUF_C_TYPE_INT64:
	case PROTOBUF_C_TYPE_SINT64:
	case PROTOBUF_C_TYPE_SFIXED64:
		return json_integer((json_int_t)*(const int64_t *)p);
	case PROTOBUF_C_TYPE_UINT64:
	case PROTOBUF_C_TYPE_FIXED64:
		return json_integer((json_int_t)*(const uint64_t *)p);
	case PROTOBUF_C_TYPE_FLOAT:
		return json_real(*(const float *)p);
	case PROTOBUF_C_TYPE_DOUBLE:
		return json_real(*(const double *)p);
	case PROTOBUF_C_TYPE_BOOL:
		return json_boolean(*(const protobuf_c_boolean *)p);
	case PROTOBUF_C_TYPE_ENUM:
		return json_string(enum_name(f->descriptor, *(const int *)p));
	case PROTOBUF_C_TYPE_STRING: {
		const char *s = *(char *const *)p;
		return json_string(s ? s : "");
	}
	case PROTOBUF_C_TYPE_MESSAGE:
		return pb_json(*(ProtobufCMessage *const *)p);
	case PROTOBUF_C_TYPE_BYTES:
	default:
		return NULL;
	}
}

static size_t pb_elem_size(const ProtobufCFieldDescriptor *f)
{
	switch (f->type) {
	case PROTOBUF_C_TYPE_INT64:
	case PROTOBUF_C_TYPE_SINT64:
	case PROTOBUF_C_TYPE_SFIXED64:
	case PROTOBUF_C_TYPE_UINT64:
	case PROTOBUF_C_TYPE_FIXED64:
	case PROTOBUF_C_TYPE_DOUBLE:
		return 8;
	case PROTOBUF_C_TYPE_STRING:
	case PROTOBUF_C_TYPE_MESSAGE:
		return sizeof(void *);
	case PROTOBUF_C_TYPE_BYTES:
		return sizeof(ProtobufCBinaryData);
	case PROTOBUF_C_TYPE_BOOL:
		return sizeof(protobuf_c_boolean);
	default:
		return 4;
	}
}

json_t *pb_json(const ProtobufCMessage *m)
{
	if (!m)
		return json_null();
	const ProtobufCMessageDescriptor *d = m->descriptor;
	json_t *o = json_object();
	for (unsigned i = 0; i < d->n_fields; i++) {
		const ProtobufCFieldDescriptor *f = &d->fields[i];
		if (f->type == PROTOBUF_C_TYPE_BYTES)
			continue;
		const char *base = (const char *)m;
		if (f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) {
			uint32_t which = *(const uint32_t *)(base +
			                                     f->quantifier_offset);
			if (which != f->id)
				continue;
		}
		if (f->label == PROTOBUF_C_LABEL_REPEATED) {
			size_t n = *(const size_t *)(base + f->quantifier_offset);
			const char *arr = *(char *const *)(base + f->offset);
			json_t *a = json_array();
			size_t es = pb_elem_size(f);
			for (size_t k = 0; k < n && arr; k++) {
				json_t *v = pb_value(f, arr + k * es);
				if (v)
					json_array_append_new(a, v);
			}
			json_object_set_new(o, f->name, a);
			continue;
		}
		json_t *v = pb_value(f, base + f->offset);
		if (v)
			json_object_set_new(o, f->name, v);
	}
	return o;
}

/* ------------------------------------------------------------ tables */

struct table {
	int ncols;
	size_t nrows, cap;
	char **cells;     /* (nrows + 1) * ncols, row 0 = headers */
	int max[64];      /* 0 = no limit */
	bool right[64];
};

static char *xstrdup(const char *s)
{
	char *d = strdup(s ? s : "-");
	if (!d) {
		fputs("lms: out of memory\n", stderr);
		exit(EXIT_FAIL);
	}
	return d;
}

static void table_grow(struct table *t)
{
	if (t->nrows + 1 < t->cap)
		return;
	size_t cap = t->cap ? t->cap * 2 : 16;
	char **c = realloc(t->cells, cap * (size_t)t->ncols * sizeof *c);
	if (!c) {
		fputs("lms: out of memory\n", stderr);
		exit(EXIT_FAIL);
	}
	t->cells = c;
	t->cap = cap;
}

struct table *table_new(int ncols, ...)
{
	struct table *t = calloc(1, sizeof *t);
	if (!t || ncols > 64) {
		fputs("lms: out of memory\n", stderr);
		exit(EXIT_FAIL);
	}
	t->ncols = ncols;
	table_grow(t);
	va_list ap;
	va_start(ap, ncols);
	for (int i = 0; i < ncols; i++)
		t->cells[i] = xstrdup(va_arg(ap, const char *));
	va_end(ap);
	return t;
}

struct table *table_new_v(int ncols, const char *const *headers)
{
	struct table *t = calloc(1, sizeof *t);
	if (!t || ncols > 64 || ncols < 1) {
		fputs("lms: out of memory\n", stderr);
		exit(EXIT_FAIL);
	}
	t->ncols = ncols;
	table_grow(t);
	for (int i = 0; i < ncols; i++)
		t->cells[i] = xstrdup(headers[i]);
	return t;
}

void table_row_v(struct table *t, const char *const *cells)
{
	table_grow(t);
	t->nrows++;
	for (int i = 0; i < t->ncols; i++) {
		const char *s = cells[i];
		t->cells[t->nrows * (size_t)t->ncols + (size_t)i] =
			xstrdup(s && *s ? s : "-");
	}
}

void table_row(struct table *t, ...)
{
	table_grow(t);
	t->nrows++;
	va_list ap;
	va_start(ap, t);
	for (int i = 0; i < t->ncols; i++) {
		const char *s = va_arg(ap, const char *);
		t->cells[t->nrows * (size_t)t->ncols + (size_t)i] =
			xstrdup(s && *s ? s : "-");
	}
	va_end(ap);
}

void table_max(struct table *t, int col, int max) { t->max[col] = max; }
void table_right(struct table *t, int col) { t->right[col] = true; }
size_t table_rows(const struct table *t) { return t->nrows; }

/* Characters (code points) of s; control characters count as one. */
static int utf8_width(const char *s)
{
	int n = 0;
	for (; *s; s++)
		if (((unsigned char)*s & 0xC0) != 0x80)
			n++;
	return n;
}

/* s cut to max characters ("..." at the end), one line, into out. */
static void cell_fit(const char *s, int max, char *out, size_t len)
{
	size_t o = 0;
	int chars = 0;
	int w = utf8_width(s);
	int keep = max > 0 && w > max ? max - 3 : w;
	for (; *s && o + 5 < len; s++) {
		unsigned char ch = (unsigned char)*s;
		if ((ch & 0xC0) != 0x80) {
			if (chars == keep)
				break;
			chars++;
		}
		out[o++] = ch == '\n' || ch == '\t' || ch == '\r' ? ' ' : (char)ch;
	}
	if (max > 0 && w > max)
		for (int i = 0; i < 3 && o + 1 < len; i++)
			out[o++] = '.';
	out[o] = '\0';
}

void table_print(struct table *t, FILE *f, bool headers)
{
	int width[64] = {0};
	size_t cellmax = 4096;
	char *buf = malloc(cellmax);
	if (!buf)
		exit(EXIT_FAIL);
	for (size_t r = headers ? 0 : 1; r <= t->nrows; r++)
		for (int c = 0; c < t->ncols; c++) {
			cell_fit(t->cells[r * (size_t)t->ncols + (size_t)c],
			         t->max[c], buf, cellmax);
			int w = utf8_width(buf);
			if (w > width[c])
				width[c] = w;
		}
	for (size_t r = headers ? 0 : 1; r <= t->nrows; r++) {
		for (int c = 0; c < t->ncols; c++) {
			cell_fit(t->cells[r * (size_t)t->ncols + (size_t)c],
			         t->max[c], buf, cellmax);
			int pad = width[c] - utf8_width(buf);
			bool last = c == t->ncols - 1;
			if (t->right[c] && r > 0)
				fprintf(f, "%*s%s", pad, "", buf);
			else
				fprintf(f, "%s%*s", buf, last ? 0 : pad, "");
			if (!last)
				fputs("  ", f);
		}
		fputc('\n', f);
	}
	free(buf);
	table_free(t);
}

void table_free(struct table *t)
{
	if (!t)
		return;
	for (size_t i = 0; i < (t->nrows + 1) * (size_t)t->ncols; i++)
		free(t->cells[i]);
	free(t->cells);
	free(t);
}

/* ------------------------------------------------------------ formats */

const char *fmt(const char *f, ...)
{
	static char ring[24][512];
	static unsigned next;
	char *out = ring[next++ % 24];
	va_list ap;
	va_start(ap, f);
	vsnprintf(out, sizeof ring[0], f, ap);
	va_end(ap);
	return out;
}

const char *fmt_time(const char *iso, char *buf, size_t len)
{
	int64_t ms;
	if (!iso || !*iso) {
		snprintf(buf, len, "-");
		return buf;
	}
	if (lms_iso_parse(iso, &ms) != 0) {
		snprintf(buf, len, "%s", iso);
		return buf;
	}
	time_t t = (time_t)(ms / 1000);
	struct tm tm;
	if (!localtime_r(&t, &tm) ||
	    strftime(buf, len, "%Y-%m-%d %H:%M", &tm) == 0)
		snprintf(buf, len, "%s", iso);
	return buf;
}

const char *fmt_duration(int64_t ms, char *buf, size_t len)
{
	int64_t s = ms / 1000;
	if (s >= 2 * 86400)
		snprintf(buf, len, "%lld days", (long long)(s / 86400));
	else if (s >= 86400)
		snprintf(buf, len, "1 day");
	else if (s >= 2 * 3600)
		snprintf(buf, len, "%lld hours", (long long)(s / 3600));
	else if (s >= 3600)
		snprintf(buf, len, "1 hour");
	else if (s >= 120)
		snprintf(buf, len, "%lld minutes", (long long)(s / 60));
	else
		snprintf(buf, len, "%lld seconds", (long long)s);
	return buf;
}

const char *fmt_size(uint64_t n, char *buf, size_t len)
{
	if (n < 1024)
		snprintf(buf, len, "%llu B", (unsigned long long)n);
	else if (n < 1024 * 1024)
		snprintf(buf, len, "%.1f KiB", (double)n / 1024.0);
	else
		snprintf(buf, len, "%.1f MiB", (double)n / (1024.0 * 1024.0));
	return buf;
}

const char *fmt_score(double v, char *buf, size_t len)
{
	double r = round(v * 100.0) / 100.0;
	if (fabs(r - round(r)) < 1e-9)
		snprintf(buf, len, "%.0f", r);
	else if (fabs(r * 10.0 - round(r * 10.0)) < 1e-9)
		snprintf(buf, len, "%.1f", r);
	else
		snprintf(buf, len, "%.2f", r);
	return buf;
}

const char *fmt_excerpt(const char *text, size_t max, char *buf, size_t len)
{
	size_t o = 0, chars = 0;
	bool space = false, cut = false;
	const char *p = text ? text : "";
	while (*p == ' ' || *p == '\n' || *p == '\t' || *p == '\r')
		p++;
	for (; *p; p++) {
		unsigned char ch = (unsigned char)*p;
		if (ch == ' ' || ch == '\n' || ch == '\t' || ch == '\r') {
			space = true;
			continue;
		}
		bool start = (ch & 0xC0) != 0x80;
		if (start && (chars + (space ? 1 : 0) >= max || o + 8 >= len)) {
			cut = true;
			break;
		}
		if (space && start) {
			buf[o++] = ' ';
			chars++;
			space = false;
		}
		if (start)
			chars++;
		buf[o++] = ch < 0x20 ? ' ' : (char)ch;
	}
	if (cut && o + 4 < len) {
		memcpy(buf + o, "...", 3);
		o += 3;
	}
	buf[o] = '\0';
	return buf;
}
