/*
 * test_users.c -- accounts and sessions on the apply side: bootstrap,
 * login (session_create), logout, user_create, password_change.
 */
#include <stdlib.h>
#include <string.h>

#include "harness.h"

#define S(x) LMS__RPC__STATUS__##x

static uint8_t token_a[32], token_b[32], token_c[32];

static void tokens(void)
{
	for (int i = 0; i < 32; i++) {
		token_a[i] = (uint8_t)i;
		token_b[i] = (uint8_t)(0xa0 + i);
		token_c[i] = (uint8_t)(0x40 + i);
	}
}

/* A login command for username with the hash the proposer verified. */
static Lms__Rpc__SessionCreateCmd login_cmd(const char *username,
                                            const char *verified,
                                            uint8_t *token,
                                            const char *expires)
{
	Lms__Rpc__SessionCreateCmd c = LMS__RPC__SESSION_CREATE_CMD__INIT;
	c.username = (char *)username;
	c.verified_hash = (char *)verified;
	c.session_hash.data = token;
	c.session_hash.len = 32;
	c.expires_at = (char *)expires;
	return c;
}

static int logout(struct svc_ctx *x, const uint8_t *token)
{
	return apply_logout(x, token, 32);
}

/* ---------------------------------------------------------- bootstrap */

static void bootstrap_once(void **state)
{
	struct env *e = *state;
	Lms__Rpc__BootstrapCmd c = LMS__RPC__BOOTSTRAP_CMD__INIT;
	c.username = "root";
	c.display_name = "The Admin";
	c.password_hash = "hash-root";
	Lms__Rpc__Response *r = OK(e, NULL, apply_bootstrap, &c);
	assert_int_equal(r->result_case, LMS__RPC__RESPONSE__RESULT_BOOTSTRAP);
	Lms__Rpc__User *u = r->bootstrap->user;
	assert_int_equal(u->id, e->index); /* the id is the entry's index */
	assert_string_equal(u->username, "root");
	assert_string_equal(u->display_name, "The Admin");
	assert_int_equal(u->role, LMS__RPC__ROLE__ROLE_ADMIN);
	assert_string_equal(u->created_at, "2026-03-02T09:00:00Z");
	char *h = env_value(e, "SELECT password_hash || ' ' || "
	                       "lms.iso(password_changed_at) FROM lms.app_user",
	                    0);
	assert_string_equal(h, "hash-root 2026-03-02T09:00:00Z");
	free(h);

	/* a second bootstrap, even under another name, is refused */
	c.username = "mallory";
	REFUSED(e, NULL, apply_bootstrap, &c, S(FAILED_PRECONDITION),
	        "the cluster already has users: log in as an admin");
	assert_int_equal(env_int(e, "SELECT count(*) FROM lms.app_user", 0),
	                 1);
}

/* -------------------------------------------------------------- login */

static void login(void **state)
{
	struct env *e = *state;
	mk_people(e);
	char exp[LMS_ISO_MAX];
	env_time(e, 8 * HOUR, exp);

	Lms__Rpc__SessionCreateCmd c =
		login_cmd("nobody", "hash-nobody", token_a, exp);
	REFUSED(e, NULL, apply_session_create, &c, S(UNAUTHENTICATED),
	        "wrong username or password");
	c = login_cmd("stu1", "hash-stu2", token_a, exp);
	REFUSED(e, NULL, apply_session_create, &c, S(UNAUTHENTICATED),
	        "wrong username or password");
	c = login_cmd("stu1", "", token_a, exp);
	REFUSED(e, NULL, apply_session_create, &c, S(UNAUTHENTICATED),
	        "wrong username or password");

	c = login_cmd("stu1", "hash-stu1", token_a, exp);
	Lms__Rpc__Response *r = OK(e, NULL, apply_session_create, &c);
	assert_int_equal(r->result_case, LMS__RPC__RESPONSE__RESULT_LOGIN);
	assert_string_equal(r->login->token, ""); /* never in the log */
	assert_string_equal(r->login->expires_at, "2026-03-02T17:00:00Z");
	assert_string_equal(r->login->user->username, "stu1");
	assert_int_equal(r->login->user->role, LMS__RPC__ROLE__ROLE_STUDENT);
	char *row = env_value(e,
		"SELECT u.username || ' ' || lms.iso(s.created_at) || ' ' || "
		"  lms.iso(s.expires_at) FROM lms.session s "
		"JOIN lms.app_user u ON u.id = s.user_id "
		"WHERE s.token_hash = '\\x000102030405060708090a0b0c0d0e0f"
		"101112131415161718191a1b1c1d1e1f'", 0);
	assert_string_equal(row,
	                    "stu1 2026-03-02T09:00:00Z 2026-03-02T17:00:00Z");
	free(row);

	/* the same token hash again cannot become a second session */
	REFUSED(e, NULL, apply_session_create, &c, S(CONFLICT), NULL);
	c = login_cmd("stu1", "hash-stu1", token_a, exp);
	c.session_hash.len = 31;
	REFUSED(e, NULL, apply_session_create, &c, S(INVALID_ARGUMENT), NULL);

	/* stu2 logs in too; later stu1 again: stu1's expired session goes,
	 * stu2's (also expired) stays until stu2 logs in */
	c = login_cmd("stu2", "hash-stu2", token_c, exp);
	OK(e, NULL, apply_session_create, &c);
	env_advance(e, 8 * HOUR); /* now == expiry: expired */
	env_time(e, 8 * HOUR, exp);
	c = login_cmd("stu1", "hash-stu1", token_b, exp);
	OK(e, NULL, apply_session_create, &c);
	assert_int_equal(env_int(e,
		"SELECT count(*) FROM lms.session s JOIN lms.app_user u "
		"ON u.id = s.user_id WHERE u.username = 'stu1'", 0), 1);
	assert_int_equal(env_int(e,
		"SELECT count(*) FROM lms.session s JOIN lms.app_user u "
		"ON u.id = s.user_id WHERE u.username = 'stu2'", 0), 1);
	assert_int_equal(env_int(e,
		"SELECT get_byte(token_hash, 0) FROM lms.session s "
		"JOIN lms.app_user u ON u.id = s.user_id "
		"WHERE u.username = 'stu1'", 0), 0xa0);
}

/* ------------------------------------------------------------- logout */

static void logout_revokes_the_session(void **state)
{
	struct env *e = *state;
	mk_people(e);
	char exp[LMS_ISO_MAX];
	env_time(e, HOUR, exp);
	Lms__Rpc__SessionCreateCmd c =
		login_cmd("stu1", "hash-stu1", token_a, exp);
	OK(e, NULL, apply_session_create, &c);
	c = login_cmd("stu1", "hash-stu1", token_b, exp);
	OK(e, NULL, apply_session_create, &c);

	Lms__Rpc__Response *r = OK(e, "stu1", logout, token_a);
	assert_int_equal(r->result_case, LMS__RPC__RESPONSE__RESULT_LOGOUT);
	assert_int_equal(r->logout->sessions_revoked, 1);
	/* the other session of the same user stays */
	assert_int_equal(env_int(e, "SELECT count(*) FROM lms.session", 0), 1);
	r = OK(e, "stu1", logout, token_a);
	assert_int_equal(r->logout->sessions_revoked, 0);
	REFUSED(e, NULL, logout, token_b, S(UNAUTHENTICATED), NULL);
}

/* -------------------------------------------------------- user_create */

static void user_create(void **state)
{
	struct env *e = *state;
	mk_bootstrap(e, "root");
	Lms__Rpc__UserCreateCmd c = LMS__RPC__USER_CREATE_CMD__INIT;
	c.username = "bob";
	c.display_name = "Bob B.";
	c.role = LMS__RPC__ROLE__ROLE_INSTRUCTOR;
	c.password_hash = "hash-bob";
	Lms__Rpc__Response *r = OK(e, "root", apply_user_create, &c);
	assert_int_equal(r->result_case, LMS__RPC__RESPONSE__RESULT_USER_CREATE);
	assert_int_equal(r->user_create->user->id, e->index);
	assert_string_equal(r->user_create->user->username, "bob");
	assert_string_equal(r->user_create->user->display_name, "Bob B.");
	assert_int_equal(r->user_create->user->role,
	                 LMS__RPC__ROLE__ROLE_INSTRUCTOR);
	char *h = env_value(e, "SELECT password_hash || ' ' || role FROM "
	                       "lms.app_user WHERE username = 'bob'", 0);
	assert_string_equal(h, "hash-bob instructor");
	free(h);

	REFUSED(e, "root", apply_user_create, &c, S(CONFLICT),
	        "user \"bob\" already exists");
	mk_user(e, "root", "carol", LMS__RPC__ROLE__ROLE_STUDENT);
	mk_user(e, "root", "tut", LMS__RPC__ROLE__ROLE_TUTOR);
	c.username = "dave";
	REFUSED(e, "bob", apply_user_create, &c, S(PERMISSION_DENIED),
	        "only admins manage users");
	REFUSED(e, "carol", apply_user_create, &c, S(PERMISSION_DENIED),
	        "only admins manage users");
	REFUSED(e, "tut", apply_user_create, &c, S(PERMISSION_DENIED),
	        "only admins manage users");
	REFUSED(e, NULL, apply_user_create, &c, S(UNAUTHENTICATED), NULL);
	c.role = LMS__RPC__ROLE__ROLE_UNSPECIFIED;
	REFUSED(e, "root", apply_user_create, &c, S(INVALID_ARGUMENT), NULL);
	/* an admin may create another admin */
	c.role = LMS__RPC__ROLE__ROLE_ADMIN;
	r = OK(e, "root", apply_user_create, &c);
	assert_int_equal(r->user_create->user->role, LMS__RPC__ROLE__ROLE_ADMIN);
}

/* ---------------------------------------------------- password_change */

static Lms__Rpc__PasswordChangeCmd pw_cmd(const char *username,
                                          const char *verified,
                                          const char *hash)
{
	Lms__Rpc__PasswordChangeCmd c = LMS__RPC__PASSWORD_CHANGE_CMD__INIT;
	c.username = (char *)username;
	c.verified_hash = (char *)verified;
	c.password_hash = (char *)hash;
	return c;
}

static int64_t sessions_of(struct env *e, const char *user)
{
	return env_int(e, "SELECT count(*) FROM lms.session s JOIN "
	                  "lms.app_user u ON u.id = s.user_id "
	                  "WHERE u.username = $1", 1, user);
}

static void password_change(void **state)
{
	struct env *e = *state;
	mk_people(e);
	char exp[LMS_ISO_MAX];
	env_time(e, 10 * HOUR, exp);
	Lms__Rpc__SessionCreateCmd l =
		login_cmd("stu1", "hash-stu1", token_a, exp);
	OK(e, NULL, apply_session_create, &l);
	l = login_cmd("stu1", "hash-stu1", token_b, exp);
	OK(e, NULL, apply_session_create, &l);
	l = login_cmd("stu2", "hash-stu2", token_c, exp);
	OK(e, NULL, apply_session_create, &l);

	/* own password: the old one must be proven */
	Lms__Rpc__PasswordChangeCmd c = pw_cmd("", "hash-wrong", "new-stu1");
	REFUSED(e, "stu1", apply_password_change, &c, S(UNAUTHENTICATED),
	        "the old password is wrong");
	c = pw_cmd("", "", "new-stu1");
	REFUSED(e, "stu1", apply_password_change, &c, S(PERMISSION_DENIED),
	        "the old password is needed");
	c = pw_cmd("stu1", "", "new-stu1"); /* naming oneself: the same */
	REFUSED(e, "stu1", apply_password_change, &c, S(PERMISSION_DENIED),
	        "the old password is needed");
	/* someone else's: admins only */
	c = pw_cmd("stu2", "hash-stu2", "new-stu2");
	REFUSED(e, "stu1", apply_password_change, &c, S(PERMISSION_DENIED),
	        NULL);
	REFUSED(e, "ins", apply_password_change, &c, S(PERMISSION_DENIED),
	        NULL);

	env_advance(e, HOUR);
	c = pw_cmd("", "hash-stu1", "new-stu1");
	Lms__Rpc__Response *r = OK(e, "stu1", apply_password_change, &c);
	assert_int_equal(r->result_case,
	                 LMS__RPC__RESPONSE__RESULT_PASSWORD_CHANGE);
	assert_int_equal(r->password_change->sessions_revoked, 2);
	assert_int_equal(sessions_of(e, "stu1"), 0);
	assert_int_equal(sessions_of(e, "stu2"), 1);
	char *h = env_value(e, "SELECT password_hash || ' ' || "
	                       "lms.iso(password_changed_at) FROM lms.app_user "
	                       "WHERE username = 'stu1'", 0);
	assert_string_equal(h, "new-stu1 2026-03-02T10:00:00Z");
	free(h);
	/* a login checked against the old hash no longer gets in */
	l = login_cmd("stu1", "hash-stu1", token_a, exp);
	REFUSED(e, NULL, apply_session_create, &l, S(UNAUTHENTICATED), NULL);
	l = login_cmd("stu1", "new-stu1", token_a, exp);
	OK(e, NULL, apply_session_create, &l);

	/* an admin sets another user's password without the old one */
	c = pw_cmd("stu2", "", "admin-set");
	r = OK(e, "root", apply_password_change, &c);
	assert_int_equal(r->password_change->sessions_revoked, 1);
	h = env_value(e, "SELECT password_hash FROM lms.app_user "
	                 "WHERE username = 'stu2'", 0);
	assert_string_equal(h, "admin-set");
	free(h);
	c = pw_cmd("ghost", "", "x");
	REFUSED(e, "root", apply_password_change, &c, S(NOT_FOUND),
	        "no user \"ghost\"");
	/* and their own, with the old one checked when given */
	c = pw_cmd("", "hash-wrong", "x");
	REFUSED(e, "root", apply_password_change, &c, S(UNAUTHENTICATED),
	        "the old password is wrong");
	c = pw_cmd("", "hash-root", "new-root");
	r = OK(e, "root", apply_password_change, &c);
	assert_int_equal(r->password_change->sessions_revoked, 0);
}

int main(void)
{
	tokens();
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(bootstrap_once, env_reset),
		cmocka_unit_test_setup(login, env_reset),
		cmocka_unit_test_setup(logout_revokes_the_session, env_reset),
		cmocka_unit_test_setup(user_create, env_reset),
		cmocka_unit_test_setup(password_change, env_reset),
	};
	return cmocka_run_group_tests(tests, env_group_setup,
	                              env_group_teardown);
}
