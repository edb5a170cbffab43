/*
 * config.c -- load config.json into a struct lms_config and check it.
 *
 * The file format lives in tables, one per JSON object (cluster, node, pg,
 * raft, ...): each row names a key, its C type and offset in the struct,
 * whether it is required, its range and its default. One generic walker
 * reads any object against its table, so "unknown key", "wrong type",
 * "missing key", "out of range" and defaults behave the same at every
 * level; the checks that relate several keys (ports, node ids, timeouts)
 * run afterwards on the filled struct, in config_check().
 *
 * Ownership: the struct starts zeroed; every string is strdup'ed into it as
 * it is parsed (defaults included), so lms_config_free can release a
 * half-built struct on any error path by walking the same tables. The
 * jansson tree is local to lms_config_load and freed before it returns.
 */
#include "config.h"
#include "util.h"

#include <errno.h>
#include <jansson.h>
#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* ---- the tables -------------------------------------------------------- */

enum cfg_kind {
	CFG_STR,     /* char *, non-empty */
	CFG_UINT,    /* unsigned */
	CFG_INT,     /* int */
	CFG_SIZE,    /* size_t */
	CFG_DOUBLE,  /* double, JSON integer or real */
	CFG_BOOL,    /* bool, JSON true/false */
	CFG_LEVEL,   /* enum lms_log_level, from a string */
	CFG_SECTION, /* nested object, described by .section */
	CFG_NODES,   /* the nodes array (top level only) */
};

struct cfg_section;

struct cfg_field {
	const char *name;
	enum cfg_kind kind;
	size_t offset;
	bool required;
	long long min, max;   /* integer kinds */
	double dmin, dmax;    /* CFG_DOUBLE */
	long long def_int;    /* integer kinds and CFG_LEVEL */
	double def_double;
	const char *def_str;
	const struct cfg_section *section;
};

struct cfg_section {
	const struct cfg_field *fields;
	size_t n_fields;
};

#define SECTION(tbl) { tbl, sizeof(tbl) / sizeof(tbl[0]) }

#define STR_REQ(T, f) \
	{ .name = #f, .kind = CFG_STR, .offset = offsetof(T, f), .required = true }
#define STR_DEF(T, f, d) \
	{ .name = #f, .kind = CFG_STR, .offset = offsetof(T, f), .def_str = d }
#define NUM_REQ(K, T, f, lo, hi) \
	{ .name = #f, .kind = K, .offset = offsetof(T, f), .required = true, \
	  .min = lo, .max = hi }
#define NUM_DEF(K, T, f, lo, hi, d) \
	{ .name = #f, .kind = K, .offset = offsetof(T, f), .min = lo, \
	  .max = hi, .def_int = d }
#define BOOL_DEF(T, f, d) \
	{ .name = #f, .kind = CFG_BOOL, .offset = offsetof(T, f), .def_int = d }
#define DBL_DEF(T, f, lo, hi, d) \
	{ .name = #f, .kind = CFG_DOUBLE, .offset = offsetof(T, f), \
	  .dmin = lo, .dmax = hi, .def_double = d }
#define LEVEL_DEF(T, f, d) \
	{ .name = #f, .kind = CFG_LEVEL, .offset = offsetof(T, f), .def_int = d }
#define SEC_REQ(T, f, s) \
	{ .name = #f, .kind = CFG_SECTION, .offset = offsetof(T, f), \
	  .required = true, .section = &s }
#define SEC_OPT(T, f, s) \
	{ .name = #f, .kind = CFG_SECTION, .offset = offsetof(T, f), \
	  .section = &s }

#define PORT_MAX 65535
#define MS_MAX 3600000              /* one hour */
#define BYTES_MAX 4294967295LL      /* a frame length is a u32 */

static const struct cfg_field cluster_fields[] = {
	STR_REQ(struct lms_cluster_config, name),
	STR_REQ(struct lms_cluster_config, secret),
	STR_REQ(struct lms_cluster_config, data_dir),
	STR_REQ(struct lms_cluster_config, pg_user),
};
static const struct cfg_section cluster_section = SECTION(cluster_fields);

static const struct cfg_field pg_fields[] = {
	STR_REQ(struct lms_pg_config, host),
	NUM_REQ(CFG_UINT, struct lms_pg_config, port, 1, PORT_MAX),
	STR_REQ(struct lms_pg_config, data_dir),
	STR_REQ(struct lms_pg_config, database),
};
static const struct cfg_section pg_section = SECTION(pg_fields);

static const struct cfg_field node_fields[] = {
	NUM_REQ(CFG_UINT, struct lms_node_config, id, 1, LMS_NODE_ID_MAX),
	STR_REQ(struct lms_node_config, host),
	NUM_REQ(CFG_UINT, struct lms_node_config, peer_port, 1, PORT_MAX),
	NUM_REQ(CFG_UINT, struct lms_node_config, client_port, 1, PORT_MAX),
	NUM_REQ(CFG_UINT, struct lms_node_config, http_port, 1, PORT_MAX),
	SEC_REQ(struct lms_node_config, pg, pg_section),
	BOOL_DEF(struct lms_node_config, join, false),
};
static const struct cfg_section node_section = SECTION(node_fields);

#define R struct lms_raft_config
static const struct cfg_field raft_fields[] = {
	NUM_DEF(CFG_UINT, R, tick_ms, 1, 60000, LMS_DEFAULT_RAFT_TICK_MS),
	NUM_DEF(CFG_UINT, R, election_timeout_min_ms, 1, MS_MAX,
		LMS_DEFAULT_RAFT_ELECTION_TIMEOUT_MIN_MS),
	NUM_DEF(CFG_UINT, R, election_timeout_max_ms, 1, MS_MAX,
		LMS_DEFAULT_RAFT_ELECTION_TIMEOUT_MAX_MS),
	NUM_DEF(CFG_UINT, R, heartbeat_ms, 1, MS_MAX,
		LMS_DEFAULT_RAFT_HEARTBEAT_MS),
	NUM_DEF(CFG_UINT, R, max_entries_per_msg, 1, 1000000,
		LMS_DEFAULT_RAFT_MAX_ENTRIES_PER_MSG),
	NUM_DEF(CFG_SIZE, R, max_bytes_per_msg, 1, BYTES_MAX,
		LMS_DEFAULT_RAFT_MAX_BYTES_PER_MSG),
	NUM_DEF(CFG_UINT, R, max_inflight, 1, 65536,
		LMS_DEFAULT_RAFT_MAX_INFLIGHT),
	NUM_DEF(CFG_UINT, R, snapshot_threshold_entries, 1, UINT_MAX,
		LMS_DEFAULT_RAFT_SNAPSHOT_THRESHOLD_ENTRIES),
	NUM_DEF(CFG_UINT, R, snapshot_trailing_entries, 0, UINT_MAX,
		LMS_DEFAULT_RAFT_SNAPSHOT_TRAILING_ENTRIES),
	NUM_DEF(CFG_SIZE, R, snapshot_chunk_bytes, 1, BYTES_MAX,
		LMS_DEFAULT_RAFT_SNAPSHOT_CHUNK_BYTES),
};
#undef R
static const struct cfg_section raft_section = SECTION(raft_fields);

#define L struct lms_limits_config
static const struct cfg_field limits_fields[] = {
	NUM_DEF(CFG_SIZE, L, max_frame_bytes, 1, BYTES_MAX,
		LMS_DEFAULT_LIMITS_MAX_FRAME_BYTES),
	NUM_DEF(CFG_SIZE, L, max_upload_bytes, 1, BYTES_MAX,
		LMS_DEFAULT_LIMITS_MAX_UPLOAD_BYTES),
	NUM_DEF(CFG_SIZE, L, max_text_bytes, 1, BYTES_MAX,
		LMS_DEFAULT_LIMITS_MAX_TEXT_BYTES),
	NUM_DEF(CFG_UINT, L, max_page_size, 1, 1000000,
		LMS_DEFAULT_LIMITS_MAX_PAGE_SIZE),
};
#undef L
static const struct cfg_section limits_section = SECTION(limits_fields);

#define A struct lms_auth_config
static const struct cfg_field auth_fields[] = {
	NUM_DEF(CFG_UINT, A, scrypt_log2_n, 15, 24,
		LMS_DEFAULT_AUTH_SCRYPT_LOG2_N),
	NUM_DEF(CFG_UINT, A, scrypt_r, 1, 255, LMS_DEFAULT_AUTH_SCRYPT_R),
	NUM_DEF(CFG_UINT, A, scrypt_p, 1, 255, LMS_DEFAULT_AUTH_SCRYPT_P),
	NUM_DEF(CFG_UINT, A, token_lifetime_s, 1, 315360000,
		LMS_DEFAULT_AUTH_TOKEN_LIFETIME_S),
};
#undef A
static const struct cfg_section auth_section = SECTION(auth_fields);

#define T struct lms_tutor_config
static const struct cfg_field tutor_fields[] = {
	STR_DEF(T, ollama_url, LMS_DEFAULT_TUTOR_OLLAMA_URL),
	STR_DEF(T, model, LMS_DEFAULT_TUTOR_MODEL),
	NUM_DEF(CFG_UINT, T, connect_timeout_ms, 1, MS_MAX,
		LMS_DEFAULT_TUTOR_CONNECT_TIMEOUT_MS),
	NUM_DEF(CFG_UINT, T, request_timeout_ms, 1, 86400000,
		LMS_DEFAULT_TUTOR_REQUEST_TIMEOUT_MS),
	NUM_DEF(CFG_UINT, T, num_ctx, 1, 1048576, LMS_DEFAULT_TUTOR_NUM_CTX),
	NUM_DEF(CFG_INT, T, num_predict, -2, 1048576,
		LMS_DEFAULT_TUTOR_NUM_PREDICT),
	DBL_DEF(T, temperature, 0.0, 2.0, LMS_DEFAULT_TUTOR_TEMPERATURE),
	STR_DEF(T, keep_alive, LMS_DEFAULT_TUTOR_KEEP_ALIVE),
	NUM_DEF(CFG_UINT, T, http_port, 1, PORT_MAX,
		LMS_DEFAULT_TUTOR_HTTP_PORT),
	STR_DEF(T, username, LMS_DEFAULT_TUTOR_USERNAME),
};
#undef T
static const struct cfg_section tutor_section = SECTION(tutor_fields);

static const struct cfg_field log_fields[] = {
	LEVEL_DEF(struct lms_log_config, level, LMS_DEFAULT_LOG_LEVEL),
};
static const struct cfg_section log_section = SECTION(log_fields);

static const struct cfg_field top_fields[] = {
	SEC_REQ(struct lms_config, cluster, cluster_section),
	{ .name = "nodes", .kind = CFG_NODES,
	  .offset = offsetof(struct lms_config, nodes), .required = true },
	SEC_OPT(struct lms_config, raft, raft_section),
	SEC_OPT(struct lms_config, limits, limits_section),
	SEC_OPT(struct lms_config, auth, auth_section),
	SEC_OPT(struct lms_config, tutor, tutor_section),
	SEC_OPT(struct lms_config, log, log_section),
};
static const struct cfg_section top_section = SECTION(top_fields);

/* ---- errors ------------------------------------------------------------ */

struct cfg_ctx {
	const char *path; /* as given by the caller, for messages */
	char *err;
	size_t errlen;
};

/* Longest key path we build, e.g. "nodes[15].pg.data_dir". */
#define CFG_KEY_MAX 128

/*
 * Format `config "<file>": [key "<key>": ]<message>` and return rv.
 */
static int cfg_fail(struct cfg_ctx *c, int rv, const char *key,
		    const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static int cfg_fail(struct cfg_ctx *c, int rv, const char *key,
		    const char *fmt, ...)
{
	va_list ap;
	int n;

	if (c->err == NULL || c->errlen == 0)
		return rv;
	if (key != NULL)
		n = snprintf(c->err, c->errlen, "config \"%s\": key \"%s\": ",
			     c->path, key);
	else
		n = snprintf(c->err, c->errlen, "config \"%s\": ", c->path);
	if (n < 0 || (size_t)n >= c->errlen)
		return rv;
	va_start(ap, fmt);
	vsnprintf(c->err + n, c->errlen - (size_t)n, fmt, ap);
	va_end(ap);
	return rv;
}

static int cfg_nomem(struct cfg_ctx *c)
{
	return cfg_fail(c, -ENOMEM, NULL, "out of memory");
}

static const char *cfg_json_type(const json_t *v)
{
	switch (json_typeof(v)) {
	case JSON_OBJECT:
		return "object";
	case JSON_ARRAY:
		return "array";
	case JSON_STRING:
		return "string";
	case JSON_INTEGER:
		return "integer";
	case JSON_REAL:
		return "real";
	case JSON_TRUE:
	case JSON_FALSE:
		return "boolean";
	case JSON_NULL:
		return "null";
	}
	return "unknown";
}

static int cfg_type_error(struct cfg_ctx *c, const char *key,
			  const char *expected, const json_t *v)
{
	return cfg_fail(c, -EINVAL, key, "expected %s, got %s", expected,
			cfg_json_type(v));
}

/*
 * Format a key path into out (CFG_KEY_MAX bytes). Paths built from our own
 * tables always fit; an absurdly long unknown key from the file is cut,
 * which is fine for a message.
 */
static void cfg_key(char *out, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void cfg_key(char *out, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(out, CFG_KEY_MAX, fmt, ap);
	va_end(ap);
}

/* "parent.name", or "name" at the top level. */
static void cfg_key_join(char *out, const char *parent, const char *name)
{
	if (parent[0] == '\0')
		cfg_key(out, "%s", name);
	else
		cfg_key(out, "%s.%s", parent, name);
}

/* ---- the walker -------------------------------------------------------- */

static int cfg_parse_section(struct cfg_ctx *c, json_t *obj, const char *key,
			     const struct cfg_section *sec, void *base);

static int cfg_set_str(struct cfg_ctx *c, char **slot, const char *s)
{
	char *copy = strdup(s);

	if (copy == NULL)
		return cfg_nomem(c);
	free(*slot);
	*slot = copy;
	return 0;
}

/* Store an integer already checked against the field's range. */
static void cfg_store_int(const struct cfg_field *f, void *slot, long long n)
{
	switch (f->kind) {
	case CFG_UINT:
		*(unsigned *)slot = (unsigned)n;
		break;
	case CFG_INT:
		*(int *)slot = (int)n;
		break;
	case CFG_SIZE:
		*(size_t *)slot = (size_t)n;
		break;
	case CFG_LEVEL:
		*(enum lms_log_level *)slot = (enum lms_log_level)n;
		break;
	case CFG_BOOL:
		*(bool *)slot = n != 0;
		break;
	default:
		break;
	}
}

static int cfg_apply_defaults(struct cfg_ctx *c, const struct cfg_section *sec,
			      void *base);

/* Give the optional field f of the object at base its default. */
static int cfg_apply_default(struct cfg_ctx *c, const struct cfg_field *f,
			     void *base)
{
	void *slot = (char *)base + f->offset;

	switch (f->kind) {
	case CFG_STR:
		return cfg_set_str(c, slot, f->def_str);
	case CFG_DOUBLE:
		*(double *)slot = f->def_double;
		return 0;
	case CFG_SECTION:
		return cfg_apply_defaults(c, f->section, slot);
	case CFG_NODES:
		return 0; /* always required */
	default:
		cfg_store_int(f, slot, f->def_int);
		return 0;
	}
}

/* Give every optional key of sec (recursively) its default. */
static int cfg_apply_defaults(struct cfg_ctx *c, const struct cfg_section *sec,
			      void *base)
{
	for (size_t i = 0; i < sec->n_fields; i++) {
		int rv;

		if (sec->fields[i].required)
			continue;
		rv = cfg_apply_default(c, &sec->fields[i], base);
		if (rv != 0)
			return rv;
	}
	return 0;
}

static int cfg_parse_nodes(struct cfg_ctx *c, json_t *arr, const char *key,
			   struct lms_node_config *nodes, unsigned *n_nodes)
{
	size_t n, i;
	json_t *elem;

	if (!json_is_array(arr))
		return cfg_type_error(c, key, "array", arr);
	n = json_array_size(arr);
	if (n == 0)
		return cfg_fail(c, -EINVAL, key,
				"at least one node is required");
	if (n > LMS_CONFIG_MAX_NODES)
		return cfg_fail(c, -EINVAL, key,
				"%zu nodes given, at most %d are supported", n,
				LMS_CONFIG_MAX_NODES);
	json_array_foreach(arr, i, elem) {
		char ekey[CFG_KEY_MAX];
		int rv;

		cfg_key(ekey, "%s[%zu]", key, i);
		if (!json_is_object(elem))
			return cfg_type_error(c, ekey, "object", elem);
		*n_nodes = (unsigned)i + 1;
		rv = cfg_parse_section(c, elem, ekey, &node_section, &nodes[i]);
		if (rv != 0)
			return rv;
	}
	return 0;
}

static int cfg_parse_field(struct cfg_ctx *c, json_t *v, const char *key,
			   const struct cfg_field *f, void *base)
{
	void *slot = (char *)base + f->offset;

	switch (f->kind) {
	case CFG_STR:
		if (!json_is_string(v))
			return cfg_type_error(c, key, "string", v);
		if (json_string_length(v) == 0)
			return cfg_fail(c, -EINVAL, key, "must not be empty");
		return cfg_set_str(c, slot, json_string_value(v));

	case CFG_UINT:
	case CFG_INT:
	case CFG_SIZE: {
		json_int_t n;

		if (!json_is_integer(v))
			return cfg_type_error(c, key, "integer", v);
		n = json_integer_value(v);
		if (n < f->min || n > f->max)
			return cfg_fail(c, -EINVAL, key,
					"value %lld is out of range %lld..%lld",
					(long long)n, f->min, f->max);
		cfg_store_int(f, slot, n);
		return 0;
	}

	case CFG_DOUBLE: {
		double d;

		if (!json_is_number(v))
			return cfg_type_error(c, key, "number", v);
		d = json_number_value(v);
		if (!(d >= f->dmin && d <= f->dmax))
			return cfg_fail(c, -EINVAL, key,
					"value %g is out of range %g..%g", d,
					f->dmin, f->dmax);
		*(double *)slot = d;
		return 0;
	}

	case CFG_BOOL:
		if (!json_is_boolean(v))
			return cfg_type_error(c, key, "boolean", v);
		*(bool *)slot = json_is_true(v);
		return 0;

	case CFG_LEVEL: {
		enum lms_log_level level;

		if (!json_is_string(v))
			return cfg_type_error(c, key, "string", v);
		if (lms_log_level_parse(json_string_value(v), &level) != 0)
			return cfg_fail(c, -EINVAL, key,
					"unknown log level \"%s\" (expected "
					"debug, info, warn or error)",
					json_string_value(v));
		cfg_store_int(f, slot, level);
		return 0;
	}

	case CFG_SECTION:
		if (!json_is_object(v))
			return cfg_type_error(c, key, "object", v);
		return cfg_parse_section(c, v, key, f->section, slot);

	case CFG_NODES: {
		struct lms_config *cfg = base;

		return cfg_parse_nodes(c, v, key, cfg->nodes, &cfg->n_nodes);
	}
	}
	return cfg_fail(c, -EINVAL, key, "unsupported field kind");
}

static const struct cfg_field *cfg_find(const struct cfg_section *sec,
					const char *name)
{
	for (size_t i = 0; i < sec->n_fields; i++)
		if (strcmp(sec->fields[i].name, name) == 0)
			return &sec->fields[i];
	return NULL;
}

/*
 * Read obj (already known to be an object, found at key path `key`, "" for
 * the top level) into base according to sec. Unknown keys are reported
 * first, in file order; then each field in table order.
 */
static int cfg_parse_section(struct cfg_ctx *c, json_t *obj, const char *key,
			     const struct cfg_section *sec, void *base)
{
	const char *name;
	json_t *v;

	json_object_foreach(obj, name, v) {
		if (cfg_find(sec, name) == NULL) {
			char ukey[CFG_KEY_MAX];

			cfg_key_join(ukey, key, name);
			return cfg_fail(c, -EINVAL, NULL, "unknown key \"%s\"",
					ukey);
		}
	}
	for (size_t i = 0; i < sec->n_fields; i++) {
		const struct cfg_field *f = &sec->fields[i];
		char fkey[CFG_KEY_MAX];
		int rv;

		cfg_key_join(fkey, key, f->name);
		v = json_object_get(obj, f->name);
		if (v == NULL) {
			if (f->required)
				return cfg_fail(c, -EINVAL, NULL,
						"missing required key \"%s\"",
						fkey);
			rv = cfg_apply_default(c, f, base);
		} else {
			rv = cfg_parse_field(c, v, fkey, f, base);
		}
		if (rv != 0)
			return rv;
	}
	return 0;
}

/* ---- paths ------------------------------------------------------------- */

/* dir + "/" + p unless p is absolute; leading "./" dropped. malloc'ed. */
static char *cfg_resolve(const char *dir, const char *p)
{
	size_t dlen, plen;
	char *out;

	if (p[0] == '/')
		return strdup(p);
	while (p[0] == '.' && p[1] == '/') {
		p += 2;
		while (*p == '/')
			p++;
	}
	if (p[0] == '\0' || strcmp(p, ".") == 0)
		return strdup(dir);
	dlen = strlen(dir);
	if (dlen > 0 && dir[dlen - 1] == '/')
		dlen--;
	plen = strlen(p);
	out = malloc(dlen + 1 + plen + 1);
	if (out == NULL)
		return NULL;
	memcpy(out, dir, dlen);
	out[dlen] = '/';
	memcpy(out + dlen + 1, p, plen + 1);
	return out;
}

/* Absolute directory holding the file at path (which exists). */
static int cfg_file_dir(struct cfg_ctx *c, const char *path, char **dir)
{
	char *abs = realpath(path, NULL);
	char *slash;

	if (abs == NULL) {
		int e = errno != 0 ? errno : EIO;

		return cfg_fail(c, -e, NULL, "could not resolve path: %s",
				strerror(e));
	}
	slash = strrchr(abs, '/');
	if (slash == abs)
		slash[1] = '\0'; /* the file is in "/" */
	else if (slash != NULL)
		*slash = '\0';
	*dir = abs;
	return 0;
}

static int cfg_resolve_paths(struct cfg_ctx *c, struct lms_config *cfg)
{
	int rv = cfg_file_dir(c, cfg->path, &cfg->dir);

	if (rv != 0)
		return rv;
	cfg->cluster.data_dir_abs = cfg_resolve(cfg->dir, cfg->cluster.data_dir);
	if (cfg->cluster.data_dir_abs == NULL)
		return cfg_nomem(c);
	for (unsigned i = 0; i < cfg->n_nodes; i++) {
		struct lms_pg_config *pg = &cfg->nodes[i].pg;

		pg->data_dir_abs = cfg_resolve(cfg->dir, pg->data_dir);
		if (pg->data_dir_abs == NULL)
			return cfg_nomem(c);
	}
	return 0;
}

/* ---- checks across keys ------------------------------------------------ */

struct cfg_port {
	const char *host;                  /* NULL: any host (tutord) */
	unsigned port;
	const struct lms_pg_config *pg;    /* set for a PostgreSQL port */
	unsigned node;                     /* index in nodes[] */
	char key[CFG_KEY_MAX];
};

static bool cfg_same_host(const char *a, const char *b)
{
	return a == NULL || b == NULL || strcasecmp(a, b) == 0;
}

static int cfg_check_ids(struct cfg_ctx *c, const struct lms_config *cfg)
{
	for (unsigned j = 1; j < cfg->n_nodes; j++) {
		for (unsigned i = 0; i < j; i++) {
			char key[CFG_KEY_MAX];

			if (cfg->nodes[i].id != cfg->nodes[j].id)
				continue;
			cfg_key(key, "nodes[%u].id", j);
			return cfg_fail(c, -EINVAL, key,
					"duplicate node id %u (also nodes[%u].id)",
					cfg->nodes[j].id, i);
		}
	}
	return 0;
}

/* Two nodes naming the same PostgreSQL server (host and port). */
static int cfg_check_shared_pg(struct cfg_ctx *c, const struct cfg_port *a,
			       const struct cfg_port *b)
{
	char key[CFG_KEY_MAX];

	if (strcmp(a->pg->database, b->pg->database) == 0) {
		cfg_key(key, "nodes[%u].pg.database", b->node);
		return cfg_fail(c, -EINVAL, key,
				"database \"%s\" on %s:%u is already used by "
				"nodes[%u]", b->pg->database, b->host, b->port,
				a->node);
	}
	if (strcmp(a->pg->data_dir_abs, b->pg->data_dir_abs) != 0) {
		cfg_key(key, "nodes[%u].pg.data_dir", b->node);
		return cfg_fail(c, -EINVAL, key,
				"\"%s\" differs from nodes[%u].pg.data_dir "
				"although both name the PostgreSQL server at "
				"%s:%u", b->pg->data_dir, a->node, b->host,
				b->port);
	}
	return 0;
}

static int cfg_check_ports(struct cfg_ctx *c, const struct lms_config *cfg)
{
	struct cfg_port ports[LMS_CONFIG_MAX_NODES * 4 + 1];
	size_t n = 0;

	for (unsigned i = 0; i < cfg->n_nodes; i++) {
		const struct lms_node_config *nd = &cfg->nodes[i];
		const struct {
			const char *name, *host;
			unsigned port;
			const struct lms_pg_config *pg;
		} own[] = {
			{ "peer_port", nd->host, nd->peer_port, NULL },
			{ "client_port", nd->host, nd->client_port, NULL },
			{ "http_port", nd->host, nd->http_port, NULL },
			{ "pg.port", nd->pg.host, nd->pg.port, &nd->pg },
		};

		for (size_t k = 0; k < sizeof(own) / sizeof(own[0]); k++) {
			ports[n].host = own[k].host;
			ports[n].port = own[k].port;
			ports[n].pg = own[k].pg;
			ports[n].node = i;
			cfg_key(ports[n].key, "nodes[%u].%s", i,
				 own[k].name);
			n++;
		}
	}
	ports[n].host = NULL;
	ports[n].port = cfg->tutor.http_port;
	ports[n].pg = NULL;
	ports[n].node = 0;
	cfg_key(ports[n].key, "tutor.http_port");
	n++;

	for (size_t j = 1; j < n; j++) {
		for (size_t i = 0; i < j; i++) {
			const struct cfg_port *a = &ports[i], *b = &ports[j];

			if (a->port != b->port || !cfg_same_host(a->host, b->host))
				continue;
			if (a->pg != NULL && b->pg != NULL) {
				int rv = cfg_check_shared_pg(c, a, b);

				if (rv != 0)
					return rv;
				continue;
			}
			if (b->host == NULL)
				return cfg_fail(c, -EINVAL, b->key,
						"port %u is already used by %s",
						b->port, a->key);
			return cfg_fail(c, -EINVAL, b->key,
					"port %u on host \"%s\" is already used "
					"by %s", b->port, b->host, a->key);
		}
	}

	/* Two different servers on one host cannot share a data directory. */
	for (unsigned j = 1; j < cfg->n_nodes; j++) {
		for (unsigned i = 0; i < j; i++) {
			const struct lms_pg_config *a = &cfg->nodes[i].pg;
			const struct lms_pg_config *b = &cfg->nodes[j].pg;
			char key[CFG_KEY_MAX];

			if (a->port == b->port ||
			    strcasecmp(a->host, b->host) != 0 ||
			    strcmp(a->data_dir_abs, b->data_dir_abs) != 0)
				continue;
			cfg_key(key, "nodes[%u].pg.data_dir", j);
			return cfg_fail(c, -EINVAL, key,
					"\"%s\" is already the data directory of "
					"the PostgreSQL server of nodes[%u] "
					"(%s:%u)", b->data_dir, i, a->host,
					a->port);
		}
	}
	return 0;
}

static int cfg_check_raft(struct cfg_ctx *c, const struct lms_config *cfg)
{
	const struct lms_raft_config *r = &cfg->raft;
	const struct lms_limits_config *l = &cfg->limits;

	if (r->election_timeout_min_ms >= r->election_timeout_max_ms)
		return cfg_fail(c, -EINVAL, "raft.election_timeout_min_ms",
				"%u must be less than "
				"raft.election_timeout_max_ms (%u)",
				r->election_timeout_min_ms,
				r->election_timeout_max_ms);
	if (r->heartbeat_ms >= r->election_timeout_min_ms)
		return cfg_fail(c, -EINVAL, "raft.heartbeat_ms",
				"%u must be less than "
				"raft.election_timeout_min_ms (%u)",
				r->heartbeat_ms, r->election_timeout_min_ms);
	if (r->tick_ms > r->heartbeat_ms)
		return cfg_fail(c, -EINVAL, "raft.tick_ms",
				"%u must not exceed raft.heartbeat_ms (%u)",
				r->tick_ms, r->heartbeat_ms);
	if (r->max_bytes_per_msg > l->max_frame_bytes)
		return cfg_fail(c, -EINVAL, "raft.max_bytes_per_msg",
				"%zu must not exceed limits.max_frame_bytes (%zu)",
				r->max_bytes_per_msg, l->max_frame_bytes);
	if (r->snapshot_chunk_bytes > l->max_frame_bytes)
		return cfg_fail(c, -EINVAL, "raft.snapshot_chunk_bytes",
				"%zu must not exceed limits.max_frame_bytes (%zu)",
				r->snapshot_chunk_bytes, l->max_frame_bytes);
	return 0;
}

static int cfg_check_limits(struct cfg_ctx *c, const struct lms_config *cfg)
{
	const struct lms_limits_config *l = &cfg->limits;

	if (l->max_upload_bytes >= l->max_frame_bytes)
		return cfg_fail(c, -EINVAL, "limits.max_upload_bytes",
				"%zu must be less than limits.max_frame_bytes "
				"(%zu)", l->max_upload_bytes,
				l->max_frame_bytes);
	if (l->max_text_bytes > l->max_frame_bytes)
		return cfg_fail(c, -EINVAL, "limits.max_text_bytes",
				"%zu must not exceed limits.max_frame_bytes "
				"(%zu)", l->max_text_bytes, l->max_frame_bytes);
	return 0;
}

static int cfg_check_tutor(struct cfg_ctx *c, const struct lms_config *cfg)
{
	const char *url = cfg->tutor.ollama_url;

	if (strncmp(url, "http://", 7) != 0 && strncmp(url, "https://", 8) != 0)
		return cfg_fail(c, -EINVAL, "tutor.ollama_url",
				"\"%s\" is not an http:// or https:// URL", url);
	return 0;
}

static int cfg_check(struct cfg_ctx *c, const struct lms_config *cfg)
{
	int rv;

	if ((rv = cfg_check_ids(c, cfg)) != 0 ||
	    (rv = cfg_check_ports(c, cfg)) != 0 ||
	    (rv = cfg_check_raft(c, cfg)) != 0 ||
	    (rv = cfg_check_limits(c, cfg)) != 0 ||
	    (rv = cfg_check_tutor(c, cfg)) != 0)
		return rv;
	return 0;
}

/* ---- loading ----------------------------------------------------------- */

/* Whole file into a malloc'ed buffer, at most LMS_CONFIG_MAX_FILE_BYTES. */
static int cfg_read_file(struct cfg_ctx *c, const char *path, char **data,
			 size_t *len)
{
	FILE *f = fopen(path, "r");
	size_t cap = 4096, n = 0;
	char *buf;
	int rv;

	if (f == NULL) {
		int e = errno != 0 ? errno : EIO;

		return cfg_fail(c, -e, NULL, "could not open file: %s",
				strerror(e));
	}
	buf = malloc(cap);
	if (buf == NULL) {
		rv = cfg_nomem(c);
		goto err_after_open;
	}
	for (;;) {
		size_t got;

		if (n == cap) {
			char *nbuf;

			if (cap > LMS_CONFIG_MAX_FILE_BYTES) {
				rv = cfg_fail(c, -EFBIG, NULL,
					      "file is larger than %d bytes",
					      LMS_CONFIG_MAX_FILE_BYTES);
				goto err_after_buf;
			}
			nbuf = realloc(buf, cap * 2);
			if (nbuf == NULL) {
				rv = cfg_nomem(c);
				goto err_after_buf;
			}
			buf = nbuf;
			cap *= 2;
		}
		got = fread(buf + n, 1, cap - n, f);
		n += got;
		if (got == 0) {
			if (ferror(f)) {
				rv = cfg_fail(c, errno != 0 ? -errno : -EIO,
					      NULL, "could not read file: %s",
					      strerror(errno != 0 ? errno : EIO));
				goto err_after_buf;
			}
			break;
		}
	}
	if (n > LMS_CONFIG_MAX_FILE_BYTES) {
		rv = cfg_fail(c, -EFBIG, NULL, "file is larger than %d bytes",
			      LMS_CONFIG_MAX_FILE_BYTES);
		goto err_after_buf;
	}
	fclose(f);
	*data = buf;
	*len = n;
	return 0;

err_after_buf:
	free(buf);
err_after_open:
	fclose(f);
	return rv;
}

int lms_config_load(const char *path, struct lms_config *out, char *err,
		    size_t errlen)
{
	struct cfg_ctx c = { path != NULL ? path : "(null)", err, errlen };
	json_error_t jerr;
	json_t *root;
	char *data = NULL;
	size_t len = 0;
	int rv;

	memset(out, 0, sizeof(*out));
	if (err != NULL && errlen > 0)
		err[0] = '\0';
	if (path == NULL)
		return cfg_fail(&c, -EINVAL, NULL, "no file name given");

	errno = 0;
	rv = cfg_read_file(&c, path, &data, &len);
	if (rv != 0)
		return rv;
	root = json_loadb(data, len, JSON_REJECT_DUPLICATES, &jerr);
	free(data);
	if (root == NULL)
		return cfg_fail(&c, -EINVAL, NULL,
				"invalid JSON at line %d, column %d: %s",
				jerr.line, jerr.column, jerr.text);
	if (!json_is_object(root)) {
		rv = cfg_fail(&c, -EINVAL, NULL,
			      "expected an object at the top level, got %s",
			      cfg_json_type(root));
		goto err_after_root;
	}

	out->path = strdup(path);
	if (out->path == NULL) {
		rv = cfg_nomem(&c);
		goto err_after_root;
	}
	if ((rv = cfg_parse_section(&c, root, "", &top_section, out)) != 0 ||
	    (rv = cfg_resolve_paths(&c, out)) != 0 ||
	    (rv = cfg_check(&c, out)) != 0)
		goto err_after_root;
	json_decref(root);
	return 0;

err_after_root:
	json_decref(root);
	lms_config_free(out);
	return rv;
}

/* ---- freeing and lookups ----------------------------------------------- */

static void cfg_free_section(const struct cfg_section *sec, void *base)
{
	for (size_t i = 0; i < sec->n_fields; i++) {
		const struct cfg_field *f = &sec->fields[i];
		void *slot = (char *)base + f->offset;

		if (f->kind == CFG_STR) {
			free(*(char **)slot);
			*(char **)slot = NULL;
		} else if (f->kind == CFG_SECTION) {
			cfg_free_section(f->section, slot);
		}
	}
}

void lms_config_free(struct lms_config *cfg)
{
	if (cfg == NULL)
		return;
	cfg_free_section(&top_section, cfg);
	for (unsigned i = 0; i < LMS_CONFIG_MAX_NODES; i++) {
		cfg_free_section(&node_section, &cfg->nodes[i]);
		free(cfg->nodes[i].pg.data_dir_abs);
	}
	free(cfg->cluster.data_dir_abs);
	free(cfg->path);
	free(cfg->dir);
	memset(cfg, 0, sizeof(*cfg));
}

const struct lms_node_config *lms_config_node(const struct lms_config *cfg,
					      unsigned id)
{
	for (unsigned i = 0; i < cfg->n_nodes; i++)
		if (cfg->nodes[i].id == id)
			return &cfg->nodes[i];
	return NULL;
}

const char *lms_config_default_path(void)
{
	const char *p = getenv("LMS_CONFIG");

	return p != NULL && p[0] != '\0' ? p : "config.json";
}

int lms_config_node_id_from_env(unsigned *id)
{
	const char *s = getenv("LMS_NODE_ID");
	uint64_t v;
	int rv;

	if (s == NULL || s[0] == '\0')
		return -ENOENT;
	rv = lms_parse_u64(s, 1, LMS_NODE_ID_MAX, &v);
	if (rv != 0)
		return rv;
	*id = (unsigned)v;
	return 0;
}

/* ---- libpq connection string ------------------------------------------- */

struct cfg_buf {
	char *buf;
	size_t len, pos;
	bool full;
};

static void cfg_putc(struct cfg_buf *b, char ch)
{
	if (b->full || b->pos + 1 >= b->len) {
		b->full = true;
		return;
	}
	b->buf[b->pos++] = ch;
	b->buf[b->pos] = '\0';
}

static void cfg_puts(struct cfg_buf *b, const char *s)
{
	while (*s != '\0')
		cfg_putc(b, *s++);
}

/* " key=value", quoted as libpq wants when needed. */
static void cfg_put_kv(struct cfg_buf *b, const char *key, const char *value)
{
	bool quote = value[0] == '\0' || strpbrk(value, " \t\n\r\f\v'\\") != NULL;

	if (b->pos > 0)
		cfg_putc(b, ' ');
	cfg_puts(b, key);
	cfg_putc(b, '=');
	if (!quote) {
		cfg_puts(b, value);
		return;
	}
	cfg_putc(b, '\'');
	for (const char *p = value; *p != '\0'; p++) {
		if (*p == '\'' || *p == '\\')
			cfg_putc(b, '\\');
		cfg_putc(b, *p);
	}
	cfg_putc(b, '\'');
}

int lms_config_pg_conninfo(const struct lms_config *cfg,
			   const struct lms_node_config *node, char *buf,
			   size_t len)
{
	struct cfg_buf b = { buf, len, 0, false };
	char port[16];

	if (len == 0)
		return -ENOSPC;
	buf[0] = '\0';
	snprintf(port, sizeof(port), "%u", node->pg.port);
	cfg_put_kv(&b, "host", node->pg.host);
	cfg_put_kv(&b, "port", port);
	cfg_put_kv(&b, "dbname", node->pg.database);
	cfg_put_kv(&b, "user", cfg->cluster.pg_user);
	return b.full ? -ENOSPC : 0;
}
