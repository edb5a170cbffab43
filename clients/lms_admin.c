/*
 * lms_admin.c -- lms-admin, the operator's tool for the Raft cluster.
 *
 *   lms-admin [--config FILE] [--nodes LIST] [--json] [--timeout MS] COMMAND
 *     status                        every node's role, term, leader, indexes
 *     kv put KEY VALUE              replicated key/value store (tests, bench)
 *     kv get KEY [--stale] [--node N]
 *     kv cas KEY OLD NEW            OLD may be --absent
 *     kv del KEY
 *     member add ID PEER_ADDR CLIENT_ADDR
 *     member promote ID
 *     member remove ID
 *     transfer-leader [ID]
 *     checksum                      every node's state checksum and applied
 *                                   index (equal indexes => equal sums)
 *
 * Exit status: 0 ok, 1 the operation failed (the cluster said no), 2 usage,
 * 5 key not found, 6 conflict (cas lost), 7 cluster unavailable.
 *
 * Nodes come from --nodes, else $LMS_NODES, else the config file's client
 * ports. Output is a table for people, or JSON with --json.
 */
#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client.h"
#include "config.h"
#include "isotime.h"
#include "util.h"

enum {
	EXIT_FAIL = 1,
	EXIT_USAGE = 2,
	EXIT_NOTFOUND = 5,
	EXIT_CONFLICT = 6,
	EXIT_UNAVAILABLE = 7,
};

struct admin {
	struct lmsc *c;
	bool json;
	bool stale;
	long node; /* --node N: 1-based index into the node list, 0 = any */
};

static void usage(FILE *f)
{
	fputs("usage: lms-admin [--config FILE] [--nodes LIST] [--json] "
	      "[--timeout MS] COMMAND\n"
	      "\n"
	      "commands:\n"
	      "  status                          role, term, leader, commit and "
	      "applied index of every node\n"
	      "  kv put KEY VALUE\n"
	      "  kv get KEY [--stale] [--node N]\n"
	      "  kv cas KEY OLD NEW              OLD may be --absent\n"
	      "  kv del KEY\n"
	      "  member add ID PEER_ADDR CLIENT_ADDR\n"
	      "  member promote ID\n"
	      "  member remove ID\n"
	      "  transfer-leader [ID]            ID omitted: the most up-to-date "
	      "voter\n"
	      "  checksum                        state checksum and applied index "
	      "of every node\n"
	      "  bootstrap USER --password-file F  create the first admin\n"
	      "  demo --admin USER --password-file F [--material FILE]\n"
	      "                                  demo users, course, assignment, "
	      "material\n"
	      "\n"
	      "Nodes come from --nodes host:port,..., else $LMS_NODES, else the "
	      "client ports in\nthe config file (--config, $LMS_CONFIG or "
	      "./config.json).\n"
	      "Exit status: 0 ok, 1 failed, 2 usage, 5 not found, 6 conflict, "
	      "7 cluster unavailable.\n",
	      f);
}

static int fail_usage(const char *msg)
{
	fprintf(stderr, "lms-admin: %s\n", msg);
	fprintf(stderr, "Try \"lms-admin --help\".\n");
	return EXIT_USAGE;
}

static void print_json(json_t *j)
{
	char *s = json_dumps(j, JSON_INDENT(2) | JSON_SORT_KEYS);
	if (s) {
		puts(s);
		free(s);
	}
	json_decref(j);
}

/* Reports a call that did not get an OK answer; returns the exit status. */
static int report_status(struct admin *a, int rv, Lms__Rpc__Response *r)
{
	if (rv != 0) {
		if (a->json) {
			json_t *j = json_pack("{s:s,s:s}", "error", "UNAVAILABLE",
			                      "message", lmsc_errmsg(a->c));
			char *s = json_dumps(j, JSON_COMPACT);
			fprintf(stderr, "%s\n", s ? s : "");
			free(s);
			json_decref(j);
		} else {
			fprintf(stderr, "lms-admin: %s\n", lmsc_errmsg(a->c));
		}
		return EXIT_UNAVAILABLE;
	}
	if (a->json) {
		json_t *j = json_pack("{s:s,s:s}", "error",
		                      lmsc_status_name(r->status), "message",
		                      r->message ? r->message : "");
		char *s = json_dumps(j, JSON_COMPACT);
		fprintf(stderr, "%s\n", s ? s : "");
		free(s);
		json_decref(j);
	} else {
		fprintf(stderr, "lms-admin: %s: %s\n",
		        lmsc_status_name(r->status),
		        r->message && *r->message ? r->message : "(no detail)");
	}
	switch (r->status) {
	case LMS__RPC__STATUS__NOT_FOUND:
		return EXIT_NOTFOUND;
	case LMS__RPC__STATUS__CONFLICT:
		return EXIT_CONFLICT;
	case LMS__RPC__STATUS__UNAVAILABLE:
		return EXIT_UNAVAILABLE;
	default:
		return EXIT_FAIL;
	}
}

static int call(struct admin *a, Lms__Rpc__Request *req,
                Lms__Rpc__Response **r, unsigned flags)
{
	if (a->node > 0)
		return lmsc_call_node(a->c, (size_t)(a->node - 1), req, r);
	return lmsc_call(a->c, req, r, flags);
}

/* ---------------------------------------------------------------- status */

static json_t *status_json(const Lms__Rpc__StatusResponse *s)
{
	json_t *peers = json_array();
	for (size_t i = 0; i < s->n_peers; i++) {
		const Lms__Rpc__PeerStatus *p = s->peers[i];
		json_array_append_new(peers, json_pack(
			"{s:I,s:b,s:s,s:I,s:I,s:s,s:I}", "id", (json_int_t)p->id,
			"voter", p->voter, "address", p->address ? p->address : "",
			"match_index", (json_int_t)p->match_index, "next_index",
			(json_int_t)p->next_index, "progress",
			p->progress ? p->progress : "", "last_contact_ms",
			(json_int_t)p->last_contact_ms));
	}
	return json_pack("{s:I,s:s,s:I,s:I,s:I,s:I,s:I,s:I,s:o}", "node",
	                 (json_int_t)s->node_id, "role", s->role ? s->role : "",
	                 "term", (json_int_t)s->term, "leader",
	                 (json_int_t)s->leader_id, "commit",
	                 (json_int_t)s->commit_index, "applied",
	                 (json_int_t)s->applied_index, "last_index",
	                 (json_int_t)s->last_index, "snapshot_index",
	                 (json_int_t)s->snapshot_index, "peers", peers);
}

/* How one node's answer (or its silence) is shown by each_node(). */
typedef void (*node_show_fn)(struct admin *a, const char *addr,
                             const Lms__Rpc__Response *r, json_t *all);
typedef void (*node_down_fn)(struct admin *a, const char *id,
                             const char *addr, const char *why, json_t *all);

/* Sends req to every node in turn (no failover: each answers for itself)
 * and shows the answers of kind `want`; a table for people, one JSON
 * array with --json. Exit status 7 when no node answered. */
static int each_node(struct admin *a, Lms__Rpc__Request *req, int want,
                     node_show_fn show, node_down_fn down)
{
	size_t n = lmsc_node_count(a->c);
	json_t *all = json_array();
	unsigned up = 0;
	for (size_t i = 0; i < n; i++) {
		const struct lmsc_node *nd = lmsc_node_at(a->c, i);
		char addr[96], id[24] = "?";
		snprintf(addr, sizeof addr, "%s:%u", nd->host, nd->port);
		if (nd->id)
			snprintf(id, sizeof id, "%llu", (unsigned long long)nd->id);
		Lms__Rpc__Response *r = NULL;
		int rv = lmsc_call_node(a->c, i, req, &r);
		if (rv == 0 && r->status == LMS__RPC__STATUS__OK &&
		    (int)r->result_case == want) {
			up++;
			show(a, addr, r, all);
		} else {
			const char *why = rv != 0 ? lmsc_errmsg(a->c)
			                          : (r->message ? r->message : "");
			if (a->json)
				json_array_append_new(all, json_pack(
					"{s:s,s:s,s:s}", "address", addr, "role",
					"down", "error", why));
			else
				down(a, id, addr, why, all);
		}
		lmsc_response_free(r);
	}
	if (a->json)
		print_json(all);
	else
		json_decref(all);
	if (up == 0) {
		fprintf(stderr, "lms-admin: cluster unavailable: no node "
		        "answered\n");
		return EXIT_UNAVAILABLE;
	}
	return 0;
}

static void status_show(struct admin *a, const char *addr,
                        const Lms__Rpc__Response *r, json_t *all)
{
	const Lms__Rpc__StatusResponse *s = r->status_info;
	if (a->json) {
		json_t *j = status_json(s);
		json_object_set_new(j, "address", json_string(addr));
		json_array_append_new(all, j);
		return;
	}
	printf("%-4llu %-22s %-13s %-8llu %-7llu %-10llu %-10llu\n",
	       (unsigned long long)s->node_id, addr, s->role,
	       (unsigned long long)s->term, (unsigned long long)s->leader_id,
	       (unsigned long long)s->commit_index,
	       (unsigned long long)s->applied_index);
}

static void status_down(struct admin *a, const char *id, const char *addr,
                        const char *why, json_t *all)
{
	printf("%-4s %-22s %-13s %s\n", id, addr, "down", why);
}

static int cmd_status(struct admin *a)
{
	Lms__Rpc__Request req = LMS__RPC__REQUEST__INIT;
	Lms__Rpc__StatusRequest sreq = LMS__RPC__STATUS_REQUEST__INIT;
	req.op_case = LMS__RPC__REQUEST__OP_STATUS;
	req.status = &sreq;
	if (!a->json)
		printf("%-4s %-22s %-13s %-8s %-7s %-10s %-10s\n", "NODE",
		       "ADDRESS", "ROLE", "TERM", "LEADER", "COMMIT", "APPLIED");
	return each_node(a, &req, LMS__RPC__RESPONSE__RESULT_STATUS_INFO,
	                 status_show, status_down);
}

/* -------------------------------------------------------------- checksum */

static void checksum_show(struct admin *a, const char *addr,
                          const Lms__Rpc__Response *r, json_t *all)
{
	const Lms__Rpc__ChecksumResponse *c = r->checksum;
	if (a->json)
		json_array_append_new(all, json_pack(
			"{s:s,s:I,s:s,s:I}", "address", addr, "node",
			(json_int_t)r->node_id, "checksum", c->checksum,
			"applied_index", (json_int_t)c->applied_index));
	else
		printf("%-4llu %-22s %-10llu %s\n", (unsigned long long)r->node_id,
		       addr, (unsigned long long)c->applied_index, c->checksum);
}

static void checksum_down(struct admin *a, const char *id, const char *addr,
                          const char *why, json_t *all)
{
	printf("%-4s %-22s %-10s %s\n", id, addr, "down", why);
}

static int cmd_checksum(struct admin *a)
{
	Lms__Rpc__Request req = LMS__RPC__REQUEST__INIT;
	Lms__Rpc__ChecksumRequest creq = LMS__RPC__CHECKSUM_REQUEST__INIT;
	req.op_case = LMS__RPC__REQUEST__OP_CHECKSUM;
	req.checksum = &creq;
	if (!a->json)
		printf("%-4s %-22s %-10s %s\n", "NODE", "ADDRESS", "APPLIED",
		       "CHECKSUM");
	return each_node(a, &req, LMS__RPC__RESPONSE__RESULT_CHECKSUM,
	                 checksum_show, checksum_down);
}

/* -------------------------------------------------------------------- kv */

static ProtobufCBinaryData bin(const char *s)
{
	ProtobufCBinaryData b = {strlen(s), (uint8_t *)s};
	return b;
}

static void print_value(const ProtobufCBinaryData *v)
{
	fwrite(v->data, 1, v->len, stdout);
	putchar('\n');
}

static int cmd_kv(struct admin *a, int argc, char **argv)
{
	if (argc < 2)
		return fail_usage("kv needs a subcommand: put, get, cas, del");
	const char *sub = argv[0];
	const char *key = argv[1];
	if (!lms_utf8_valid(key, strlen(key)))
		return fail_usage("key is not valid UTF-8");
	Lms__Rpc__Request req = LMS__RPC__REQUEST__INIT;
	Lms__Rpc__Response *r = NULL;
	int rv;

	if (strcmp(sub, "put") == 0) {
		if (argc != 3)
			return fail_usage("usage: kv put KEY VALUE");
		Lms__Rpc__KvPutRequest p = LMS__RPC__KV_PUT_REQUEST__INIT;
		p.key = (char *)key;
		p.value = bin(argv[2]);
		req.op_case = LMS__RPC__REQUEST__OP_KV_PUT;
		req.kv_put = &p;
		rv = call(a, &req, &r, LMSC_WRITE);
		if (rv != 0 || r->status != LMS__RPC__STATUS__OK)
			goto err;
		if (a->json)
			print_json(json_pack("{s:s,s:I}", "key", key, "version",
			                     (json_int_t)r->kv_put->version));
		else
			printf("ok (version %llu)\n",
			       (unsigned long long)r->kv_put->version);
	} else if (strcmp(sub, "get") == 0) {
		if (argc != 2)
			return fail_usage("usage: kv get KEY [--stale] [--node N]");
		Lms__Rpc__KvGetRequest g = LMS__RPC__KV_GET_REQUEST__INIT;
		g.key = (char *)key;
		req.op_case = LMS__RPC__REQUEST__OP_KV_GET;
		req.kv_get = &g;
		req.consistency = a->stale ? LMS__RPC__CONSISTENCY__STALE
		                           : LMS__RPC__CONSISTENCY__LINEARIZABLE;
		rv = call(a, &req, &r, a->stale ? LMSC_ANY_NODE : 0);
		if (rv != 0 || r->status != LMS__RPC__STATUS__OK)
			goto err;
		if (!r->kv_get->found) {
			if (a->json)
				print_json(json_pack("{s:s,s:b,s:I}", "key", key,
				                     "found", 0, "applied_index",
				                     (json_int_t)r->applied_index));
			else
				fprintf(stderr, "lms-admin: key \"%s\" not found\n",
				        key);
			lmsc_response_free(r);
			return EXIT_NOTFOUND;
		}
		if (a->json)
			print_json(json_pack(
				"{s:s,s:b,s:s%,s:I,s:I,s:I}", "key", key, "found", 1,
				"value", (const char *)r->kv_get->value.data,
				r->kv_get->value.len, "version",
				(json_int_t)r->kv_get->version, "applied_index",
				(json_int_t)r->applied_index, "node",
				(json_int_t)r->node_id));
		else
			print_value(&r->kv_get->value);
	} else if (strcmp(sub, "cas") == 0) {
		if (argc != 4)
			return fail_usage("usage: kv cas KEY OLD NEW");
		Lms__Rpc__KvCasRequest cs = LMS__RPC__KV_CAS_REQUEST__INIT;
		cs.key = (char *)key;
		if (strcmp(argv[2], "--absent") == 0)
			cs.expect_absent = 1;
		else
			cs.expected = bin(argv[2]);
		cs.value = bin(argv[3]);
		req.op_case = LMS__RPC__REQUEST__OP_KV_CAS;
		req.kv_cas = &cs;
		rv = call(a, &req, &r, LMSC_WRITE);
		if (rv != 0 || r->status != LMS__RPC__STATUS__OK)
			goto err;
		bool ok = r->kv_cas->swapped;
		if (a->json)
			print_json(json_pack("{s:s,s:b,s:I}", "key", key, "swapped",
			                     ok, "version",
			                     (json_int_t)r->kv_cas->version));
		else if (ok)
			printf("ok (version %llu)\n",
			       (unsigned long long)r->kv_cas->version);
		else if (r->kv_cas->found)
			fprintf(stderr, "lms-admin: cas failed: current value is "
			        "\"%.*s\"\n", (int)r->kv_cas->current.len,
			        (const char *)r->kv_cas->current.data);
		else
			fprintf(stderr, "lms-admin: cas failed: key is absent\n");
		lmsc_response_free(r);
		return ok ? 0 : EXIT_CONFLICT;
	} else if (strcmp(sub, "del") == 0) {
		if (argc != 2)
			return fail_usage("usage: kv del KEY");
		Lms__Rpc__KvDeleteRequest d = LMS__RPC__KV_DELETE_REQUEST__INIT;
		d.key = (char *)key;
		req.op_case = LMS__RPC__REQUEST__OP_KV_DELETE;
		req.kv_delete = &d;
		rv = call(a, &req, &r, LMSC_WRITE);
		if (rv != 0 || r->status != LMS__RPC__STATUS__OK)
			goto err;
		bool found = r->kv_delete->found;
		if (a->json)
			print_json(json_pack("{s:s,s:b}", "key", key, "found",
			                     found));
		else
			printf(found ? "deleted\n" : "not found\n");
		lmsc_response_free(r);
		return found ? 0 : EXIT_NOTFOUND;
	} else {
		return fail_usage("unknown kv subcommand (put, get, cas, del)");
	}
	lmsc_response_free(r);
	return 0;
err:;
	int code = report_status(a, rv, r);
	lmsc_response_free(r);
	return code;
}

/* ------------------------------------------------- membership, transfer */

static int parse_id(const char *s, uint64_t *id)
{
	return lms_parse_u64(s, 1, UINT32_MAX, id);
}

static int cmd_member(struct admin *a, int argc, char **argv)
{
	if (argc < 2)
		return fail_usage("usage: member add|promote|remove ID ...");
	uint64_t id;
	if (parse_id(argv[1], &id) != 0)
		return fail_usage("member: ID must be a positive integer");
	Lms__Rpc__Request req = LMS__RPC__REQUEST__INIT;
	Lms__Rpc__MemberAddRequest add = LMS__RPC__MEMBER_ADD_REQUEST__INIT;
	Lms__Rpc__MemberPromoteRequest pro =
		LMS__RPC__MEMBER_PROMOTE_REQUEST__INIT;
	Lms__Rpc__MemberRemoveRequest rem =
		LMS__RPC__MEMBER_REMOVE_REQUEST__INIT;
	if (strcmp(argv[0], "add") == 0) {
		if (argc != 4)
			return fail_usage("usage: member add ID PEER_ADDR "
			                  "CLIENT_ADDR");
		add.id = id;
		add.peer_address = argv[2];
		add.client_address = argv[3];
		req.op_case = LMS__RPC__REQUEST__OP_MEMBER_ADD;
		req.member_add = &add;
	} else if (strcmp(argv[0], "promote") == 0 && argc == 2) {
		pro.id = id;
		req.op_case = LMS__RPC__REQUEST__OP_MEMBER_PROMOTE;
		req.member_promote = &pro;
	} else if (strcmp(argv[0], "remove") == 0 && argc == 2) {
		rem.id = id;
		req.op_case = LMS__RPC__REQUEST__OP_MEMBER_REMOVE;
		req.member_remove = &rem;
	} else {
		return fail_usage("usage: member add|promote|remove ID ...");
	}
	Lms__Rpc__Response *r = NULL;
	int rv = lmsc_call(a->c, &req, &r, 0);
	if (rv != 0 || r->status != LMS__RPC__STATUS__OK) {
		int code = report_status(a, rv, r);
		lmsc_response_free(r);
		return code;
	}
	uint64_t index = r->result_case == LMS__RPC__RESPONSE__RESULT_MEMBER
	                         ? r->member->index
	                         : 0;
	if (a->json)
		print_json(json_pack("{s:s,s:I,s:I}", "op", argv[0], "id",
		                     (json_int_t)id, "index", (json_int_t)index));
	else
		printf("ok: member %s %llu committed at index %llu\n", argv[0],
		       (unsigned long long)id, (unsigned long long)index);
	lmsc_response_free(r);
	return 0;
}

static int cmd_transfer(struct admin *a, int argc, char **argv)
{
	uint64_t target = 0;
	if (argc > 1)
		return fail_usage("usage: transfer-leader [ID]");
	if (argc == 1 && parse_id(argv[0], &target) != 0)
		return fail_usage("transfer-leader: ID must be a positive integer");
	Lms__Rpc__Request req = LMS__RPC__REQUEST__INIT;
	Lms__Rpc__TransferLeaderRequest t =
		LMS__RPC__TRANSFER_LEADER_REQUEST__INIT;
	t.target = target;
	req.op_case = LMS__RPC__REQUEST__OP_TRANSFER_LEADER;
	req.transfer_leader = &t;
	Lms__Rpc__Response *r = NULL;
	int rv = lmsc_call(a->c, &req, &r, 0);
	if (rv != 0 || r->status != LMS__RPC__STATUS__OK) {
		int code = report_status(a, rv, r);
		lmsc_response_free(r);
		return code;
	}
	uint64_t nl = r->result_case ==
	                      LMS__RPC__RESPONSE__RESULT_TRANSFER_LEADER
	                      ? r->transfer_leader->new_leader
	                      : 0;
	if (a->json)
		print_json(json_pack("{s:I}", "new_leader", (json_int_t)nl));
	else
		printf("ok: node %llu leads\n", (unsigned long long)nl);
	lmsc_response_free(r);
	return 0;
}

/* ------------------------------------------------------------------ main */

/* ------------------------------------------------- bootstrap and demo */

/* The first line of a file (a password), without its newline. */
static char *read_secret(const char *path)
{
	FILE *f = fopen(path, "r");
	if (!f) {
		fprintf(stderr, "lms-admin: cannot read \"%s\": %s\n", path,
		        strerror(errno));
		return NULL;
	}
	char buf[1100];
	char *line = fgets(buf, sizeof buf, f);
	fclose(f);
	if (!line) {
		fprintf(stderr, "lms-admin: \"%s\" is empty\n", path);
		return NULL;
	}
	buf[strcspn(buf, "\r\n")] = '\0';
	return strdup(buf);
}

/* A write with a session token; 0 and *r (OK), else the exit status. */
static int lms_write(struct admin *a, const char *token,
                     Lms__Rpc__Request *req, Lms__Rpc__Response **r)
{
	req->token = (char *)(token ? token : "");
	*r = NULL;
	int rv = lmsc_call(a->c, req, r, LMSC_WRITE);
	if (rv != 0 || (*r)->status != LMS__RPC__STATUS__OK) {
		int code = report_status(a, rv, *r);
		lmsc_response_free(*r);
		*r = NULL;
		return code;
	}
	return 0;
}

static int cmd_bootstrap(struct admin *a, int argc, char **argv)
{
	if (argc != 3 || strcmp(argv[1], "--password-file") != 0)
		return fail_usage("usage: lms-admin bootstrap USER "
		                  "--password-file FILE");
	char *pw = read_secret(argv[2]);
	if (!pw)
		return EXIT_FAIL;
	Lms__Rpc__BootstrapRequest b = LMS__RPC__BOOTSTRAP_REQUEST__INIT;
	b.username = argv[0];
	b.password = pw;
	b.display_name = "Administrator";
	Lms__Rpc__Request req = LMS__RPC__REQUEST__INIT;
	req.op_case = LMS__RPC__REQUEST__OP_BOOTSTRAP;
	req.bootstrap = &b;
	Lms__Rpc__Response *r;
	int rc = lms_write(a, NULL, &req, &r);
	if (rc == 0)
		printf("admin \"%s\" created (user id %llu)\n", argv[0],
		       (unsigned long long)r->bootstrap->user->id);
	lmsc_response_free(r);
	free(pw);
	return rc;
}

/* Logs in; the token (malloc'd) or NULL. */
static char *demo_login(struct admin *a, const char *user, const char *pw)
{
	Lms__Rpc__LoginRequest l = LMS__RPC__LOGIN_REQUEST__INIT;
	l.username = (char *)user;
	l.password = (char *)pw;
	Lms__Rpc__Request req = LMS__RPC__REQUEST__INIT;
	req.op_case = LMS__RPC__REQUEST__OP_LOGIN;
	req.login = &l;
	Lms__Rpc__Response *r;
	if (lms_write(a, NULL, &req, &r) != 0)
		return NULL;
	char *t = strdup(r->login->token);
	lmsc_response_free(r);
	return t;
}

static int demo_user(struct admin *a, const char *token, const char *name,
                     const char *display, Lms__Rpc__Role role)
{
	Lms__Rpc__UserCreateRequest u = LMS__RPC__USER_CREATE_REQUEST__INIT;
	u.username = (char *)name;
	u.password = "pass123";
	u.display_name = (char *)display;
	u.role = role;
	Lms__Rpc__Request req = LMS__RPC__REQUEST__INIT;
	req.op_case = LMS__RPC__REQUEST__OP_USER_CREATE;
	req.user_create = &u;
	Lms__Rpc__Response *r;
	int rc = lms_write(a, token, &req, &r);
	lmsc_response_free(r);
	return rc;
}

static char *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return NULL;
	char *buf = malloc(1 << 20);
	*len = buf ? fread(buf, 1, 1 << 20, f) : 0;
	fclose(f);
	return buf;
}

static int cmd_demo(struct admin *a, int argc, char **argv)
{
	const char *admin = NULL, *pwfile = NULL, *material = NULL;
	for (int i = 0; i + 1 < argc; i += 2) {
		if (strcmp(argv[i], "--admin") == 0)
			admin = argv[i + 1];
		else if (strcmp(argv[i], "--password-file") == 0)
			pwfile = argv[i + 1];
		else if (strcmp(argv[i], "--material") == 0)
			material = argv[i + 1];
		else
			return fail_usage("usage: lms-admin demo --admin USER "
			                  "--password-file F [--material FILE]");
	}
	if (!admin || !pwfile || argc % 2)
		return fail_usage("usage: lms-admin demo --admin USER "
		                  "--password-file F [--material FILE]");
	char *pw = read_secret(pwfile);
	char *at = pw ? demo_login(a, admin, pw) : NULL;
	free(pw);
	if (!at)
		return EXIT_FAIL;
	/* already seeded? (a quiet probe: instructor1 exists) */
	Lms__Rpc__UserListRequest ul = LMS__RPC__USER_LIST_REQUEST__INIT;
	Lms__Rpc__Page pg = LMS__RPC__PAGE__INIT;
	pg.after = "instructor0";
	pg.limit = 1;
	ul.page = &pg;
	Lms__Rpc__Request q = LMS__RPC__REQUEST__INIT;
	q.op_case = LMS__RPC__REQUEST__OP_USER_LIST;
	q.user_list = &ul;
	q.token = at;
	Lms__Rpc__Response *qr = NULL;
	if (lmsc_call(a->c, &q, &qr, 0) == 0 &&
	    qr->status == LMS__RPC__STATUS__OK && qr->user_list->n_users == 1 &&
	    strcmp(qr->user_list->users[0]->username, "instructor1") == 0) {
		printf("demo data already present\n");
		lmsc_response_free(qr);
		free(at);
		return 0;
	}
	lmsc_response_free(qr);
	int rc = demo_user(a, at, "instructor1", "Instructor One",
	                   LMS__RPC__ROLE__ROLE_INSTRUCTOR);
	static const char *const students[] = {"student1", "student2",
	                                       "student3"};
	static const char *const names[] = {"Student One", "Student Two",
	                                    "Student Three"};
	for (int i = 0; i < 3 && rc == 0; i++)
		rc = demo_user(a, at, students[i], names[i],
		               LMS__RPC__ROLE__ROLE_STUDENT);
	free(at);
	char *it = rc == 0 ? demo_login(a, "instructor1", "pass123") : NULL;
	if (!it)
		return rc ? rc : EXIT_FAIL;
	Lms__Rpc__Request req = LMS__RPC__REQUEST__INIT;
	Lms__Rpc__Response *r = NULL;
	Lms__Rpc__CourseCreateRequest cc = LMS__RPC__COURSE_CREATE_REQUEST__INIT;
	cc.code = "DEMO101";
	cc.title = "Introduction to Distributed Systems";
	req.op_case = LMS__RPC__REQUEST__OP_COURSE_CREATE;
	req.course_create = &cc;
	rc = lms_write(a, it, &req, &r);
	lmsc_response_free(r);
	for (int i = 0; i < 3 && rc == 0; i++) {
		Lms__Rpc__EnrollRequest e = LMS__RPC__ENROLL_REQUEST__INIT;
		e.course = "DEMO101";
		e.username = (char *)students[i];
		e.role = LMS__RPC__COURSE_ROLE__COURSE_STUDENT;
		req.op_case = LMS__RPC__REQUEST__OP_ENROLL;
		req.enroll = &e;
		rc = lms_write(a, it, &req, &r);
		lmsc_response_free(r);
	}
	if (rc == 0) {
		char due[LMS_ISO_MAX], cut[LMS_ISO_MAX];
		int64_t now = lms_wall_ms();
		lms_iso_format(now + 7 * 86400000LL, due, sizeof due);
		lms_iso_format(now + 10 * 86400000LL, cut, sizeof cut);
		char *topics[] = {"raft", "consensus"};
		Lms__Rpc__AssignmentCreateRequest ac =
			LMS__RPC__ASSIGNMENT_CREATE_REQUEST__INIT;
		ac.course = "DEMO101";
		ac.title = "Raft leader election";
		ac.description = "Explain in your own words how Raft elects a "
		                 "leader, and why a server persists its term and "
		                 "vote before it answers a RequestVote.";
		ac.due_at = due;
		ac.cutoff_at = cut;
		ac.max_points = 100;
		ac.late_penalty_pct = 10;
		ac.penalty_floor_pct = 50;
		ac.max_attempts = 3;
		ac.n_topics = 2;
		ac.topics = topics;
		req.op_case = LMS__RPC__REQUEST__OP_ASSIGNMENT_CREATE;
		req.assignment_create = &ac;
		rc = lms_write(a, it, &req, &r);
		lmsc_response_free(r);
	}
	if (rc == 0 && material) {
		size_t len = 0;
		char *data = slurp(material, &len);
		if (!data) {
			fprintf(stderr, "lms-admin: cannot read \"%s\"\n", material);
			rc = EXIT_FAIL;
		} else {
			const char *base = strrchr(material, '/');
			Lms__Rpc__File f = LMS__RPC__FILE__INIT;
			f.name = (char *)(base ? base + 1 : material);
			f.data.data = (uint8_t *)data;
			f.data.len = len;
			Lms__Rpc__MaterialUploadRequest mu =
				LMS__RPC__MATERIAL_UPLOAD_REQUEST__INIT;
			mu.course = "DEMO101";
			mu.title = "Notes on Raft consensus";
			mu.topic = "raft";
			mu.file = &f;
			req.op_case = LMS__RPC__REQUEST__OP_MATERIAL_UPLOAD;
			req.material_upload = &mu;
			rc = lms_write(a, it, &req, &r);
			lmsc_response_free(r);
			free(data);
		}
	}
	free(it);
	if (rc == 0)
		printf("demo: instructor1, student1..3 (password pass123) in "
		       "course DEMO101 with an assignment%s\n",
		       material ? " and a material" : "");
	return rc;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{"config", required_argument, NULL, 'c'},
		{"nodes", required_argument, NULL, 'n'},
		{"json", no_argument, NULL, 'j'},
		{"stale", no_argument, NULL, 's'},
		{"node", required_argument, NULL, 'N'},
		{"timeout", required_argument, NULL, 't'},
		{"help", no_argument, NULL, 'h'},
		{"version", no_argument, NULL, 'V'},
		{NULL, 0, NULL, 0},
	};
	struct admin a = {0};
	const char *config_path = NULL, *nodes = NULL;
	uint64_t timeout_ms = 0;
	int ch;
	/* '+' stops at the first non-option (the command); options after
	 * the command are parsed again below, so "kv get K --stale" works. */
	while ((ch = getopt_long(argc, argv, "+c:n:jsN:t:hV", opts, NULL)) != -1) {
		switch (ch) {
		case 'c': config_path = optarg; break;
		case 'n': nodes = optarg; break;
		case 'j': a.json = true; break;
		case 's': a.stale = true; break;
		case 'N': {
			uint64_t v;
			if (lms_parse_u64(optarg, 1, LMSC_MAX_NODES, &v) != 0)
				return fail_usage("--node must be 1..16");
			a.node = (long)v;
			break;
		}
		case 't':
			if (lms_parse_u64(optarg, 1, 3600000, &timeout_ms) != 0)
				return fail_usage("--timeout must be 1..3600000 ms");
			break;
		case 'h': usage(stdout); return 0;
		case 'V': printf("lms-admin %s\n", LMS_VERSION); return 0;
		default: return fail_usage("bad option");
		}
	}
	int cmd_argc = 0;
	char **cmd_argv = calloc((size_t)argc + 1, sizeof *cmd_argv);
	if (!cmd_argv)
		return EXIT_FAIL;
	/* gather the command and its operands; parse trailing options */
	for (int i = optind; i < argc; i++) {
		if (strcmp(argv[i], "--stale") == 0)
			a.stale = true;
		else if (strcmp(argv[i], "--json") == 0)
			a.json = true;
		else if (strcmp(argv[i], "--node") == 0 && i + 1 < argc) {
			uint64_t v;
			if (lms_parse_u64(argv[++i], 1, LMSC_MAX_NODES, &v) != 0) {
				free(cmd_argv);
				return fail_usage("--node must be 1..16");
			}
			a.node = (long)v;
		} else
			cmd_argv[cmd_argc++] = argv[i];
	}
	if (cmd_argc == 0) {
		free(cmd_argv);
		usage(stderr);
		return EXIT_USAGE;
	}

	struct lmsc_node list[LMSC_MAX_NODES];
	size_t n = 0;
	char err[512];
	if (lmsc_nodes_resolve(nodes, config_path, list, &n, err,
	                       sizeof err) != 0) {
		fprintf(stderr, "lms-admin: %s\n", err);
		free(cmd_argv);
		return EXIT_USAGE;
	}
	if (a.node > 0 && (size_t)a.node > n) {
		free(cmd_argv);
		return fail_usage("--node is beyond the node list");
	}
	struct lmsc_options o;
	lmsc_options_default(&o);
	if (timeout_ms) {
		o.total_timeout_ms = (unsigned)timeout_ms;
		if (o.request_timeout_ms > timeout_ms)
			o.request_timeout_ms = (unsigned)timeout_ms;
	}
	a.c = lmsc_new(list, n, &o);
	if (!a.c) {
		free(cmd_argv);
		fprintf(stderr, "lms-admin: could not create client\n");
		return EXIT_FAIL;
	}

	int rc;
	const char *cmd = cmd_argv[0];
	if (strcmp(cmd, "status") == 0 && cmd_argc == 1)
		rc = cmd_status(&a);
	else if (strcmp(cmd, "kv") == 0)
		rc = cmd_kv(&a, cmd_argc - 1, cmd_argv + 1);
	else if (strcmp(cmd, "member") == 0)
		rc = cmd_member(&a, cmd_argc - 1, cmd_argv + 1);
	else if (strcmp(cmd, "checksum") == 0 && cmd_argc == 1)
		rc = cmd_checksum(&a);
	else if (strcmp(cmd, "bootstrap") == 0)
		rc = cmd_bootstrap(&a, cmd_argc - 1, cmd_argv + 1);
	else if (strcmp(cmd, "demo") == 0)
		rc = cmd_demo(&a, cmd_argc - 1, cmd_argv + 1);
	else if (strcmp(cmd, "transfer-leader") == 0)
		rc = cmd_transfer(&a, cmd_argc - 1, cmd_argv + 1);
	else
		rc = fail_usage("unknown command");
	lmsc_free(a.c);
	free(cmd_argv);
	return rc;
}
