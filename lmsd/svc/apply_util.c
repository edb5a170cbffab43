/*
 * apply_util.c -- helpers of the apply_*.c files (apply_util.h).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "apply_util.h"
#include "isotime.h"

int apu_oom(struct svc_ctx *x)
{
	snprintf(x->err, sizeof x->err, "out of memory");
	return -1;
}

int apu_need_actor(struct svc_ctx *x)
{
	if (x->actor)
		return 1;
	svc_refuse(x, LMS__RPC__STATUS__UNAUTHENTICATED,
	           "not logged in, or the session has expired: log in again");
	return 0;
}

bool apu_is_admin(const struct svc_ctx *x)
{
	return x->actor && x->actor->role == LMS__RPC__ROLE__ROLE_ADMIN;
}

bool apu_is_tutor(const struct svc_ctx *x)
{
	return x->actor && x->actor->role == LMS__RPC__ROLE__ROLE_TUTOR;
}

int apu_time(struct svc_ctx *x, const char *iso, const char *what,
             int64_t *ms)
{
	if (iso && *iso && lms_iso_parse(iso, ms) == 0)
		return 1;
	svc_refuse(x, LMS__RPC__STATUS__INVALID_ARGUMENT,
	           "%s is not an ISO-8601 time: \"%s\"", what, iso ? iso : "");
	return 0;
}

const char *apu_score(double v, char *buf, size_t len)
{
	return svc_hundredths_text(svc_hundredths(v), buf, len);
}

int apu_check_file(struct svc_ctx *x, const Lms__Rpc__File *f)
{
	if (f->size <= (uint64_t)INT64_MAX)
		return 1;
	svc_refuse(x, LMS__RPC__STATUS__INVALID_ARGUMENT,
	           "the size of file \"%s\" is out of range", f->name);
	return 0;
}

int apu_store_file(struct svc_ctx *x, int64_t id, const Lms__Rpc__File *f)
{
	struct svc_params p;
	svc_params_init(&p);
	svc_p_i64(&p, id);
	svc_p_text(&p, f->name);
	svc_p_text(&p, f->media_type);
	svc_p_i64(&p, (int64_t)f->size);
	svc_p_text(&p, f->sha256);
	svc_p_bytes(&p, f->data.data, f->data.len);
	return svc_exec(x,
		"INSERT INTO lms.file (id, name, media_type, size, sha256, data) "
		"VALUES ($1, $2, $3, $4, $5, $6)", &p, NULL);
}

int apu_loaded(struct svc_ctx *x, int rv, const char *what)
{
	if (rv == 1)
		return 0;
	if (rv == 0)
		snprintf(x->err, sizeof x->err,
		         "the %s written by entry %llu cannot be read back", what,
		         (unsigned long long)x->index);
	return -1;
}
