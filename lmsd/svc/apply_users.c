/*
 * apply_users.c -- accounts and sessions on the apply side (svc.h):
 * bootstrap, login (session_create), logout, user_create,
 * password_change.
 *
 * Nothing secret reaches the log: the proposer hashed the password
 * (scrypt) and the session token (SHA-256) before proposing. For login and
 * password change it also verified the password against the hash it read
 * then, and the command carries that hash (verified_hash): apply accepts
 * only if the account still has exactly that hash, so a password changed
 * between the check and the apply does not let the old password in.
 */
#include <stdlib.h>
#include <string.h>

#include "apply_util.h"

/* ---------------------------------------------------------- bootstrap */

int apply_bootstrap(struct svc_ctx *x, const Lms__Rpc__BootstrapCmd *c)
{
	PGresult *res = svc_query(x,
		"SELECT EXISTS (SELECT 1 FROM lms.app_user)", NULL);
	if (!res)
		return -1;
	bool has_users = svc_bool(res, 0, 0);
	PQclear(res);
	if (has_users)
		return svc_refuse(x, LMS__RPC__STATUS__FAILED_PRECONDITION,
		                  "the cluster already has users: log in as an "
		                  "admin");

	APU_NEW(x, r, bootstrap_response, BootstrapResponse);
	struct svc_params p;
	svc_params_init(&p);
	svc_p_i64(&p, (int64_t)x->index);
	svc_p_text(&p, c->username);
	svc_p_text(&p, c->display_name);
	svc_p_text(&p, c->password_hash);
	svc_p_text(&p, x->now);
	if (svc_exec(x,
		"INSERT INTO lms.app_user (id, username, display_name, role, "
		"  password_hash, created_at, password_changed_at) "
		"VALUES ($1, $2, $3, 'admin', $4, $5, $5)", &p, NULL) ||
	    apu_loaded(x, svc_load_user(x, (int64_t)x->index, &r->user),
	               "user")) {
		free(r);
		return -1;
	}
	x->resp->result_case = LMS__RPC__RESPONSE__RESULT_BOOTSTRAP;
	x->resp->bootstrap = r;
	return 0;
}

/* -------------------------------------------------------------- login */

int apply_session_create(struct svc_ctx *x,
                         const Lms__Rpc__SessionCreateCmd *c)
{
	static const char wrong[] = "wrong username or password";
	struct svc_params p;
	svc_params_init(&p);
	svc_p_text(&p, c->username);
	PGresult *res = svc_query(x,
		"SELECT id, password_hash FROM lms.app_user WHERE username = $1",
		&p);
	if (!res)
		return -1;
	if (PQntuples(res) != 1) {
		PQclear(res);
		return svc_refuse(x, LMS__RPC__STATUS__UNAUTHENTICATED, wrong);
	}
	int64_t user_id = svc_i64(res, 0, 0);
	bool match = c->verified_hash && *c->verified_hash &&
	             strcmp(PQgetvalue(res, 0, 1), c->verified_hash) == 0;
	PQclear(res);
	if (!match)
		return svc_refuse(x, LMS__RPC__STATUS__UNAUTHENTICATED, wrong);

	/* the proposer made these; checked so that no insert can fail */
	if (c->session_hash.len != 32)
		return svc_refuse(x, LMS__RPC__STATUS__INVALID_ARGUMENT,
		                  "the session hash must be 32 bytes");
	int64_t expires_ms;
	if (!apu_time(x, c->expires_at, "the session expiry", &expires_ms))
		return 0;
	svc_params_init(&p);
	svc_p_bytes(&p, c->session_hash.data, c->session_hash.len);
	res = svc_query(x,
		"SELECT EXISTS (SELECT 1 FROM lms.session WHERE token_hash = $1)",
		&p);
	if (!res)
		return -1;
	bool taken = svc_bool(res, 0, 0);
	PQclear(res);
	if (taken)
		return svc_refuse(x, LMS__RPC__STATUS__CONFLICT,
		                  "the session already exists");

	APU_NEW(x, r, login_response, LoginResponse);
	/* the user's expired sessions go when a new one starts */
	svc_params_init(&p);
	svc_p_i64(&p, user_id);
	svc_p_text(&p, x->now);
	if (svc_exec(x,
		"DELETE FROM lms.session WHERE user_id = $1 "
		"  AND expires_at <= $2::timestamptz", &p, NULL))
		goto err;
	svc_params_init(&p);
	svc_p_bytes(&p, c->session_hash.data, c->session_hash.len);
	svc_p_i64(&p, user_id);
	svc_p_text(&p, x->now);
	svc_p_text(&p, c->expires_at);
	res = svc_query(x,
		"INSERT INTO lms.session (token_hash, user_id, created_at, "
		"  expires_at) VALUES ($1, $2, $3, $4) "
		"RETURNING lms.iso(expires_at)", &p);
	if (!res)
		goto err;
	r->expires_at = svc_text(res, 0, 0);
	PQclear(res);
	if (!r->expires_at) {
		r->expires_at = (char *)protobuf_c_empty_string;
		protobuf_c_message_free_unpacked(&r->base, NULL);
		return apu_oom(x);
	}
	if (apu_loaded(x, svc_load_user(x, user_id, &r->user), "user"))
		goto err;
	/* r->token stays "": the proposer puts the token in the answer it
	 * sends; the log and the recorded result never hold it */
	x->resp->result_case = LMS__RPC__RESPONSE__RESULT_LOGIN;
	x->resp->login = r;
	return 0;
err:
	protobuf_c_message_free_unpacked(&r->base, NULL);
	return -1;
}

/* ------------------------------------------------------------- logout */

int apply_logout(struct svc_ctx *x, const uint8_t *token_hash, size_t len)
{
	if (!apu_need_actor(x))
		return 0;
	if (!token_hash || len != 32)
		return svc_refuse(x, LMS__RPC__STATUS__UNAUTHENTICATED,
		                  "not logged in");
	APU_NEW(x, r, logout_response, LogoutResponse);
	struct svc_params p;
	svc_params_init(&p);
	svc_p_bytes(&p, token_hash, len);
	uint64_t rows = 0;
	if (svc_exec(x, "DELETE FROM lms.session WHERE token_hash = $1", &p,
	             &rows)) {
		free(r);
		return -1;
	}
	r->sessions_revoked = (uint32_t)rows;
	x->resp->result_case = LMS__RPC__RESPONSE__RESULT_LOGOUT;
	x->resp->logout = r;
	return 0;
}

/* -------------------------------------------------------- user_create */

int apply_user_create(struct svc_ctx *x, const Lms__Rpc__UserCreateCmd *c)
{
	if (!apu_need_actor(x))
		return 0;
	if (!apu_is_admin(x))
		return svc_refuse(x, LMS__RPC__STATUS__PERMISSION_DENIED,
		                  "only admins manage users");
	const char *role = svc_role_name(c->role);
	if (!*role)
		return svc_refuse(x, LMS__RPC__STATUS__INVALID_ARGUMENT,
		                  "a user needs a role (admin, instructor, "
		                  "student or tutor)");
	int64_t id;
	int rv = svc_user_id(x, c->username, &id, NULL);
	if (rv < 0)
		return -1;
	if (rv == 1)
		return svc_refuse(x, LMS__RPC__STATUS__CONFLICT,
		                  "user \"%s\" already exists", c->username);

	APU_NEW(x, r, user_create_response, UserCreateResponse);
	struct svc_params p;
	svc_params_init(&p);
	svc_p_i64(&p, (int64_t)x->index);
	svc_p_text(&p, c->username);
	svc_p_text(&p, c->display_name);
	svc_p_text(&p, role);
	svc_p_text(&p, c->password_hash);
	svc_p_text(&p, x->now);
	if (svc_exec(x,
		"INSERT INTO lms.app_user (id, username, display_name, role, "
		"  password_hash, created_at, password_changed_at) "
		"VALUES ($1, $2, $3, $4, $5, $6, $6)", &p, NULL) ||
	    apu_loaded(x, svc_load_user(x, (int64_t)x->index, &r->user),
	               "user")) {
		free(r);
		return -1;
	}
	x->resp->result_case = LMS__RPC__RESPONSE__RESULT_USER_CREATE;
	x->resp->user_create = r;
	return 0;
}

/* ---------------------------------------------------- password_change */

/*
 * Who may set whose password:
 *   - anyone their own, proving the old one (verified_hash = the hash the
 *     proposer checked it against, which must still be the current one);
 *   - an admin anyone's, without the old one (verified_hash ""); an admin
 *     who did give an old password has it checked like anyone else.
 */
int apply_password_change(struct svc_ctx *x,
                          const Lms__Rpc__PasswordChangeCmd *c)
{
	if (!apu_need_actor(x))
		return 0;
	const char *name = c->username && *c->username ? c->username
	                                                : x->actor->username;
	bool own = strcmp(name, x->actor->username) == 0;
	bool given = c->verified_hash && *c->verified_hash;
	if (!own && !apu_is_admin(x))
		return svc_refuse(x, LMS__RPC__STATUS__PERMISSION_DENIED,
		                  "only admins change another user's password");
	if (own && !given && !apu_is_admin(x))
		return svc_refuse(x, LMS__RPC__STATUS__PERMISSION_DENIED,
		                  "the old password is needed");

	struct svc_params p;
	svc_params_init(&p);
	svc_p_text(&p, name);
	PGresult *res = svc_query(x,
		"SELECT id, password_hash FROM lms.app_user WHERE username = $1",
		&p);
	if (!res)
		return -1;
	if (PQntuples(res) != 1) {
		PQclear(res);
		return svc_refuse(x, LMS__RPC__STATUS__NOT_FOUND,
		                  "no user \"%s\"", name);
	}
	int64_t user_id = svc_i64(res, 0, 0);
	bool match = given && strcmp(PQgetvalue(res, 0, 1),
	                             c->verified_hash) == 0;
	PQclear(res);
	if (given && !match)
		return svc_refuse(x, LMS__RPC__STATUS__UNAUTHENTICATED,
		                  "the old password is wrong");
	if (!c->password_hash || !*c->password_hash)
		return svc_refuse(x, LMS__RPC__STATUS__INVALID_ARGUMENT,
		                  "the new password hash is missing");

	APU_NEW(x, r, password_change_response, PasswordChangeResponse);
	svc_params_init(&p);
	svc_p_i64(&p, user_id);
	svc_p_text(&p, c->password_hash);
	svc_p_text(&p, x->now);
	uint64_t rows = 0;
	if (svc_exec(x,
		"UPDATE lms.app_user SET password_hash = $2, "
		"  password_changed_at = $3 WHERE id = $1", &p, NULL))
		goto err;
	svc_params_init(&p);
	svc_p_i64(&p, user_id);
	if (svc_exec(x, "DELETE FROM lms.session WHERE user_id = $1", &p,
	             &rows))
		goto err;
	r->sessions_revoked = (uint32_t)rows;
	x->resp->result_case = LMS__RPC__RESPONSE__RESULT_PASSWORD_CHANGE;
	x->resp->password_change = r;
	return 0;
err:
	free(r);
	return -1;
}
