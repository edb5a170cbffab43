/*
 * sessions.c -- svc_login_sessions, on a cluster whose config sets
 * auth.token_lifetime_s to LIFETIME_S:
 *
 *   - login through each of the five nodes (followers relay it): a token
 *     that works through that node (linearizable) and, once every node
 *     applied it, on every node (stale); its expiry is now + lifetime;
 *   - a wrong password and an unknown user get the same UNAUTHENTICATED
 *     answer (no account enumeration);
 *   - logout revokes that session only: the token fails on every node,
 *     another session of the same user still works;
 *   - a password change revokes every session of the account, the old
 *     password no longer logs in, the new one does; an admin setting a
 *     user's password revokes that user's sessions too;
 *   - a session past its expiry is refused on every node, by reads and by
 *     writes.
 */
#include <inttypes.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "isotime.h"
#include "svc_util.h"
#include "util.h"

#define LIFETIME_S 15

/* whoami with token through node id: the status. stale: from the node's
 * own database. */
static int whoami_on(struct cluster *cl, unsigned id, const char *token,
                     bool stale, char *user, size_t cap)
{
	Lms__Rpc__WhoAmIRequest q = LMS__RPC__WHO_AM_IREQUEST__INIT;
	Lms__Rpc__Request req = LMS__RPC__REQUEST__INIT;
	SV_SET(&req, whoami, WHOAMI, &q);
	req.consistency = stale ? LMS__RPC__CONSISTENCY__STALE
	                        : LMS__RPC__CONSISTENCY__LINEARIZABLE;
	int rv = 0;
	Lms__Rpc__Response *r = sv_call_node(cl, id, token, &req, &rv);
	if (!r)
		fail_msg("whoami on node %u: no answer: %s", id, strerror(-rv));
	int st = (int)r->status;
	if (user && cap)
		snprintf(user, cap, "%s",
		         st == LMS__RPC__STATUS__OK && r->whoami->user
		                 ? r->whoami->user->username
		                 : "");
	lmsc_response_free(r);
	return st;
}

/* Every node, linearizable and (after every node applied what the leader
 * has) stale: whoami with token has status want. */
static void token_everywhere(struct cluster *cl, const char *token, int want,
                             const char *what)
{
	cl_wait_applied_all(cl, sv_max_applied(cl), SV_CONVERGE_MS);
	for (unsigned id = 1; id <= 5; id++)
		for (int stale = 0; stale < 2; stale++) {
			int st = whoami_on(cl, id, token, stale, NULL, 0);
			if (st != want)
				fail_msg("%s: whoami on node %u (%s) answered %s, "
				         "expected %s", what, id,
				         stale ? "stale" : "linearizable",
				         lmsc_status_name(st),
				         lmsc_status_name(want));
		}
}

/* Login through node id only; the answer (caller frees). */
static Lms__Rpc__Response *login_via(struct cluster *cl, unsigned id,
                                     const char *user, const char *pw)
{
	Lms__Rpc__LoginRequest l = LMS__RPC__LOGIN_REQUEST__INIT;
	l.username = (char *)user;
	l.password = (char *)pw;
	Lms__Rpc__Request req = LMS__RPC__REQUEST__INIT;
	SV_SET(&req, login, LOGIN, &l);
	int rv = 0;
	Lms__Rpc__Response *r = sv_call_node(cl, id, NULL, &req, &rv);
	if (!r)
		fail_msg("login through node %u: no answer: %s", id,
		         strerror(-rv));
	return r;
}

static Lms__Rpc__Response *password_change(struct lmsc *c, const char *token,
                                           const char *user, const char *old,
                                           const char *pw)
{
	Lms__Rpc__PasswordChangeRequest p =
		LMS__RPC__PASSWORD_CHANGE_REQUEST__INIT;
	p.username = (char *)user;
	p.old_password = (char *)old;
	p.new_password = (char *)pw;
	return SV_CALL(c, token, password_change, PASSWORD_CHANGE, &p);
}

void svc_login_sessions(void **state)
{
	struct cluster *cl = *state;
	struct cl_options o = {0};
	o.token_lifetime_s = LIFETIME_S;
	cl_boot(cl, &o);
	cl_wait_leader(cl, NULL, 0, SV_LEADER_MS);
	struct lmsc *c = cl_client(cl, NULL, 0);
	assert_non_null(c);
	sv_install_schema(cl, c);
	char adm[65];
	sv_bootstrap(c, "root", "root-password");
	sv_login(c, "root", "root-password", adm);
	sv_user(c, adm, "alice", "alice-password",
	        LMS__RPC__ROLE__ROLE_STUDENT);
	sv_user(c, adm, "bob", "bob-password", LMS__RPC__ROLE__ROLE_STUDENT);

	/* ---- login through every node */
	char tokens[6][65];
	for (unsigned id = 1; id <= 5; id++) {
		Lms__Rpc__Response *r = login_via(cl, id, "alice",
		                                  "alice-password");
		sv_expect(r, LMS__RPC__STATUS__OK, "login through node %u", id);
		if (strlen(r->login->token) != 64)
			fail_msg("login through node %u: token \"%s\"", id,
			         r->login->token);
		snprintf(tokens[id], sizeof tokens[id], "%s", r->login->token);
		int64_t exp = sv_iso_ms(r->login->expires_at);
		int64_t want = lms_wall_ms() + LIFETIME_S * 1000;
		if (exp < want - 10000 || exp > want + 10000)
			fail_msg("login through node %u expires at %s: expected "
			         "about now + %d s (auth.token_lifetime_s)", id,
			         r->login->expires_at, LIFETIME_S);
		lmsc_response_free(r);
		char user[80];
		int st = whoami_on(cl, id, tokens[id], false, user, sizeof user);
		if (st != LMS__RPC__STATUS__OK || strcmp(user, "alice") != 0)
			fail_msg("whoami through node %u with its login's token: "
			         "%s (%s)", id, lmsc_status_name(st), user);
	}
	for (unsigned id = 1; id <= 5; id++)
		for (unsigned k = 1; k < id; k++)
			if (strcmp(tokens[id], tokens[k]) == 0)
				fail_msg("logins %u and %u got the same token", k,
				         id);
	token_everywhere(cl, tokens[3], LMS__RPC__STATUS__OK,
	                 "the token of the login through node 3");
	print_message("[svc] sessions: alice logged in through each of the 5 "
	              "nodes; each token works on every node\n");

	/* ---- wrong password and unknown user look the same */
	Lms__Rpc__Response *wrong = login_via(cl, 2, "alice", "not-her-password");
	Lms__Rpc__Response *nouser = login_via(cl, 4, "mallory", "any-password");
	sv_expect(wrong, LMS__RPC__STATUS__UNAUTHENTICATED, "wrong password");
	sv_expect(nouser, LMS__RPC__STATUS__UNAUTHENTICATED, "unknown user");
	if (strcmp(wrong->message, nouser->message) != 0)
		fail_msg("a wrong password says \"%s\" but an unknown user "
		         "\"%s\": the answers must not tell them apart",
		         wrong->message, nouser->message);
	print_message("[svc] sessions: wrong password and unknown user: "
	              "\"%s\"\n", wrong->message);
	lmsc_response_free(wrong);
	lmsc_response_free(nouser);

	/* ---- logout revokes that session only */
	char keep[65], gone[65];
	sv_login(c, "alice", "alice-password", keep);
	sv_login(c, "alice", "alice-password", gone);
	Lms__Rpc__LogoutRequest lo = LMS__RPC__LOGOUT_REQUEST__INIT;
	Lms__Rpc__Request req = LMS__RPC__REQUEST__INIT;
	SV_SET(&req, logout, LOGOUT, &lo);
	int rv = 0;
	Lms__Rpc__Response *r = sv_call_node(cl, 5, gone, &req, &rv);
	if (!r)
		fail_msg("logout through node 5: %s", strerror(-rv));
	sv_expect(r, LMS__RPC__STATUS__OK, "logout through node 5");
	if (r->logout->sessions_revoked != 1)
		fail_msg("logout revoked %u sessions, expected 1",
		         r->logout->sessions_revoked);
	lmsc_response_free(r);
	token_everywhere(cl, gone, LMS__RPC__STATUS__UNAUTHENTICATED,
	                 "a logged-out token");
	token_everywhere(cl, keep, LMS__RPC__STATUS__OK,
	                 "another session of the user who logged out");
	r = SV_CALL(c, gone, logout, LOGOUT, &lo);
	sv_expect(r, LMS__RPC__STATUS__UNAUTHENTICATED,
	          "a second logout with the revoked token");
	lmsc_response_free(r);
	print_message("[svc] sessions: logout revoked its token on every node; "
	              "the user's other session still works\n");

	/* ---- password change revokes every session of the account */
	char b1[65], b2[65];
	sv_login(c, "bob", "bob-password", b1);
	sv_login(c, "bob", "bob-password", b2);
	r = password_change(c, b1, "", "not-bobs-password", "bob-new-password");
	sv_expect(r, LMS__RPC__STATUS__UNAUTHENTICATED,
	          "password change with a wrong old password");
	lmsc_response_free(r);
	r = password_change(c, b1, "", "bob-password", "bob-new-password");
	sv_expect(r, LMS__RPC__STATUS__OK, "bob changes his password");
	if (r->password_change->sessions_revoked != 2)
		fail_msg("bob's password change revoked %u sessions, expected "
		         "2", r->password_change->sessions_revoked);
	lmsc_response_free(r);
	token_everywhere(cl, b1, LMS__RPC__STATUS__UNAUTHENTICATED,
	                 "bob's session that changed the password");
	token_everywhere(cl, b2, LMS__RPC__STATUS__UNAUTHENTICATED,
	                 "bob's other session");
	r = login_via(cl, 1, "bob", "bob-password");
	sv_expect(r, LMS__RPC__STATUS__UNAUTHENTICATED,
	          "login with bob's old password");
	lmsc_response_free(r);
	char b3[65];
	sv_login(c, "bob", "bob-new-password", b3);
	token_everywhere(cl, b3, LMS__RPC__STATUS__OK,
	                 "bob's login with the new password");
	/* an admin sets alice's password: her sessions go */
	sv_login(c, "root", "root-password", adm);
	r = password_change(c, adm, "alice", "", "alice-new-password");
	sv_expect(r, LMS__RPC__STATUS__OK, "the admin sets alice's password");
	if (r->password_change->sessions_revoked < 1)
		fail_msg("setting alice's password revoked %u sessions; she "
		         "had at least one live one",
		         r->password_change->sessions_revoked);
	lmsc_response_free(r);
	token_everywhere(cl, keep, LMS__RPC__STATUS__UNAUTHENTICATED,
	                 "alice's session after the admin set her password");
	print_message("[svc] sessions: password changes revoked every session "
	              "of the account on every node\n");

	/* ---- expiry */
	char t[65];
	Lms__Rpc__Response *lr = login_via(cl, 2, "bob", "bob-new-password");
	sv_expect(lr, LMS__RPC__STATUS__OK, "bob logs in (expiry part)");
	snprintf(t, sizeof t, "%s", lr->login->token);
	int64_t exp = sv_iso_ms(lr->login->expires_at);
	lmsc_response_free(lr);
	token_everywhere(cl, t, LMS__RPC__STATUS__OK, "a fresh session");
	int64_t wait = exp - lms_wall_ms() + 1500;
	if (wait > 0)
		cl_sleep_ms((unsigned)wait);
	token_everywhere(cl, t, LMS__RPC__STATUS__UNAUTHENTICATED,
	                 "a session past its expiry");
	r = SV_CALL(c, t, logout, LOGOUT, &lo);
	sv_expect(r, LMS__RPC__STATUS__UNAUTHENTICATED,
	          "a write (logout) with an expired session");
	lmsc_response_free(r);
	r = password_change(c, t, "", "bob-new-password", "bob-third-password");
	sv_expect(r, LMS__RPC__STATUS__UNAUTHENTICATED,
	          "a password change with an expired session");
	lmsc_response_free(r);
	print_message("[svc] sessions: a session is refused on every node "
	              "once past its expiry (lifetime %d s)\n", LIFETIME_S);

	cl_assert_converged(cl, SV_CONVERGE_MS);
	lmsc_free(c);
	cl_stop_all(cl);
	cl_pass(cl);
}
