/*
 * bench_etcd.c -- lms-bench's load against etcd (the --etcd mode), for
 * ops/bench's side-by-side comparison.
 *
 * Why this exists
 * ---------------
 * The issue asks for our write throughput and p99 next to etcd 3.4's on
 * the same machine, in the same run, with comparable small writes.
 * Debian ships etcd-server and etcdctl but not etcd's `benchmark` tool,
 * and etcdctl in a loop measures process start-up, so lms-bench speaks
 * etcd's v3 HTTP/JSON gateway itself (the grpc-gateway every etcd 3.4
 * member serves on its client URL): POST /v3/kv/put {"key": b64,
 * "value": b64} and POST /v3/kv/range {"key": b64} (linearizable, etcd's
 * default), one libcurl easy handle per thread so each thread keeps its
 * keep-alive connection, like each of our threads keeps its lmsc.
 *
 * Fairness
 * --------
 * Our client library talks to the leader; so, by default, do these
 * threads: bench_etcd_init() asks every member for /v3/maintenance/status
 * and picks the one whose member_id is the leader. --etcd-spread puts the
 * threads round-robin on every member instead (followers forward to the
 * leader, as etcd's own benchmark does with several endpoints). Keys and
 * values are those of kv-put / kv-get (bench/<k>, --value-bytes). The
 * gateway's JSON and its internal gRPC hop cost etcd some CPU that its
 * native gRPC clients would not pay: ops/bench says so beside the numbers.
 */
#include <curl/curl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"
#include "util.h"

void bench_etcd_global(bool init)
{
	if (init)
		curl_global_init(CURL_GLOBAL_DEFAULT);
	else
		curl_global_cleanup();
}

static size_t b64_encode(const uint8_t *in, size_t n, char *out)
{
	static const char tab[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	size_t o = 0;
	for (size_t i = 0; i < n; i += 3) {
		uint32_t v = (uint32_t)in[i] << 16;
		if (i + 1 < n)
			v |= (uint32_t)in[i + 1] << 8;
		if (i + 2 < n)
			v |= in[i + 2];
		out[o++] = tab[(v >> 18) & 63];
		out[o++] = tab[(v >> 12) & 63];
		out[o++] = i + 1 < n ? tab[(v >> 6) & 63] : '=';
		out[o++] = i + 2 < n ? tab[v & 63] : '=';
	}
	out[o] = '\0';
	return o;
}

static size_t on_body(char *p, size_t size, size_t nmemb, void *ud)
{
	struct bench_thread *t = ud;
	size_t n = size * nmemb;
	if (t->curl_len + n + 1 > t->curl_cap) {
		size_t cap = (t->curl_len + n + 1) * 2;
		char *nb = realloc(t->curl_buf, cap);
		if (!nb)
			return 0;
		t->curl_buf = nb;
		t->curl_cap = cap;
	}
	memcpy(t->curl_buf + t->curl_len, p, n);
	t->curl_len += n;
	t->curl_buf[t->curl_len] = '\0';
	return n;
}

/* POST body to url + path on t's handle; 0, or a BENCH_ST_* class. The
 * answer is in t->curl_buf. */
static int post(struct bench_thread *t, const char *base, const char *path,
                const char *body)
{
	char url[512];
	snprintf(url, sizeof url, "%s%s", base, path);
	CURL *h = t->curl;
	t->curl_len = 0;
	if (t->curl_buf)
		t->curl_buf[0] = '\0';
	curl_easy_setopt(h, CURLOPT_URL, url);
	curl_easy_setopt(h, CURLOPT_POSTFIELDS, body);
	curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE, (long)strlen(body));
	CURLcode rc = curl_easy_perform(h);
	if (rc == CURLE_OPERATION_TIMEDOUT)
		return BENCH_ST_TIMEOUT;
	if (rc != CURLE_OK) {
		snprintf(t->err, sizeof t->err, "%.120s: %s", url,
		         curl_easy_strerror(rc));
		return BENCH_ST_UNAVAILABLE;
	}
	long code = 0;
	curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &code);
	if (code != 200) {
		snprintf(t->err, sizeof t->err, "%.80s: HTTP %ld: %.120s", url, code,
		         t->curl_buf ? t->curl_buf : "");
		return BENCH_ST_HTTP;
	}
	return 0;
}

static int handle_init(struct bench_thread *t)
{
	CURL *h = curl_easy_init();
	if (!h)
		return -1;
	t->curl = h;
	curl_easy_setopt(h, CURLOPT_POST, 1L);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, t);
	curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, 5000L);
	curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, 1000L);
	curl_easy_setopt(h, CURLOPT_TCP_NODELAY, 1L);
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_PROXY, "");
	return 0;
}

/* Content-Type for every request; built once by bench_etcd_init before
 * any thread starts, then only read. */
static struct curl_slist *json_hdr;

int bench_etcd_thread_init(struct bench_thread *t)
{
	if (handle_init(t) != 0)
		return -1;
	curl_easy_setopt(t->curl, CURLOPT_HTTPHEADER, json_hdr);
	return 0;
}

void bench_etcd_thread_free(struct bench_thread *t)
{
	if (t->curl)
		curl_easy_cleanup(t->curl);
	t->curl = NULL;
	free(t->curl_buf);
	t->curl_buf = NULL;
}

/* A uint64 that etcd's JSON gives as a string ("member_id": "123"). */
static uint64_t json_u64(json_t *o, const char *key)
{
	json_t *v = json_object_get(o, key);
	if (json_is_string(v))
		return strtoull(json_string_value(v), NULL, 10);
	if (json_is_integer(v))
		return (uint64_t)json_integer_value(v);
	return 0;
}

int bench_etcd_init(struct bench *b)
{
	if (!json_hdr)
		json_hdr = curl_slist_append(NULL,
		                             "Content-Type: application/json");
	struct bench_thread t = {.b = b};
	if (bench_etcd_thread_init(&t) != 0)
		return -1;
	int found = -1;
	uint64_t leader = 0;
	for (size_t i = 0; i < b->n_etcd; i++) {
		if (post(&t, b->etcd_urls[i], "/v3/maintenance/status", "{}") !=
		    0) {
			fprintf(stderr, "lms-bench: etcd member %s: %s\n",
			        b->etcd_urls[i], t.err);
			continue;
		}
		json_error_t je;
		json_t *j = json_loads(t.curl_buf, 0, &je);
		if (!j)
			continue;
		uint64_t me = json_u64(json_object_get(j, "header"), "member_id");
		uint64_t l = json_u64(j, "leader");
		if (l)
			leader = l;
		if (me && me == l)
			found = (int)i;
		json_decref(j);
	}
	bench_etcd_thread_free(&t);
	if (found < 0) {
		fprintf(stderr, "lms-bench: no etcd member says it leads "
		        "(leader id %llu)\n", (unsigned long long)leader);
		return -1;
	}
	lms_strlcpy(b->etcd_target, b->etcd_urls[found],
	            sizeof b->etcd_target);
	if (b->verbose)
		fprintf(stderr, "lms-bench: etcd leader is %s\n", b->etcd_target);
	return 0;
}

int bench_etcd_op(struct bench_thread *t, enum bench_op op)
{
	const struct bench *b = t->b;
	const char *base = b->etcd_spread ? b->etcd_urls[t->idx % b->n_etcd]
	                                  : b->etcd_target;
	char key[48], kb[80];
	uint8_t val[4096];
	char vb[4096 * 4 / 3 + 8];
	char body[sizeof kb + sizeof vb + 64];
	snprintf(key, sizeof key, "bench/%llu",
	         (unsigned long long)(bench_rand(&t->rng) % b->keys));
	b64_encode((const uint8_t *)key, strlen(key), kb);
	switch (op) {
	case OP_KV_PUT:
		bench_fill_value(val, b->value_bytes, &t->rng);
		b64_encode(val, b->value_bytes, vb);
		snprintf(body, sizeof body, "{\"key\":\"%s\",\"value\":\"%s\"}",
		         kb, vb);
		return post(t, base, "/v3/kv/put", body);
	case OP_KV_GET:
		snprintf(body, sizeof body, "{\"key\":\"%s\"}", kb);
		return post(t, base, "/v3/kv/range", body);
	default:
		return BENCH_ST_WRONG;
	}
}
