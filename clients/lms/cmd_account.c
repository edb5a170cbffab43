/*
 * cmd_account.c -- lms login, logout, whoami and the user commands.
 *
 *   login USER [--password-stdin]   password from the terminal (no echo);
 *                                   the token goes to the session file
 *   logout                          revokes the session, deletes the file
 *   whoami                          the account, its courses, the expiry
 *   user create NAME --role R [--display-name S] [--password-stdin]
 *   user list [--limit N]
 *   user passwd [NAME] [--password-stdin]
 *
 * Passwords never appear on the command line (where ps would show them):
 * the terminal, or lines of stdin with --password-stdin. They are wiped
 * from memory once sent.
 *
 * A password change revokes every session of the account, the caller's
 * own included; after changing their own password a user is logged in
 * again with the new one, so the next command just works.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lms.h"

static void wipe_free(char *s)
{
	if (s) {
		explicit_bzero(s, strlen(s));
		free(s);
	}
}

static const struct opt_spec pw_opts[] = {
	{"password-stdin", 0, OPT_FLAG, NULL,
	 "read the password(s) from standard input, one per line"},
	{NULL, 0, 0, NULL, NULL},
};

/* ------------------------------------------------------------ login */

int login_user(struct cli *cli, const char *user, bool from_stdin)
{
	int rc = 0;
	char prompt[160];
	snprintf(prompt, sizeof prompt, "Password for %s: ", user);
	char *pw = read_password(cli, prompt, from_stdin, cli->in_menu, &rc);
	if (!pw)
		return rc;
	Lms__Rpc__LoginRequest l = LMS__RPC__LOGIN_REQUEST__INIT;
	l.username = (char *)user;
	l.password = pw;
	Lms__Rpc__Request req = LMS__RPC__REQUEST__INIT;
	SET_OP(&req, login, LOGIN, &l);
	Lms__Rpc__Response *r;
	rc = cli_call(cli, &req, CALL_PUBLIC_WRITE, RESULT(LOGIN), &r, NULL);
	wipe_free(pw);
	if (rc)
		return rc;
	const Lms__Rpc__LoginResponse *lr = r->login;
	char err[512], path[4096] = "";
	session_path(path, sizeof path);
	if (session_save(lr->token, err, sizeof err) != 0) {
		lmsc_response_free(r);
		return cli_error(cli, EXIT_FAIL, "IO_ERROR",
		                 "logged in, but could not store the session: %s",
		                 err);
	}
	/* this process goes on with the new session (the menu) */
	free(cli->token);
	cli->token = strdup(lr->token);
	cli->token_from_env = false;
	if (getenv("LMS_TOKEN") && *getenv("LMS_TOKEN"))
		cli_note(cli, "note: $LMS_TOKEN is set and overrides the "
		         "session file\n");
	if (cli->json) {
		json_t *j = json_object();
		json_object_set_new(j, "user", pb_json(&lr->user->base));
		json_object_set_new(j, "expires_at", json_string(lr->expires_at));
		json_object_set_new(j, "session_file", json_string(path));
		out_json(j);
	} else if (!cli->quiet) {
		char t[LMS_TIME_MAX];
		const Lms__Rpc__User *u = lr->user;
		printf("Logged in as %s (%s%s%s); the session is valid until "
		       "%s.\n", u ? u->username : user,
		       u && *u->display_name ? u->display_name : "",
		       u && *u->display_name ? ", " : "",
		       u ? enum_name(&lms__rpc__role__descriptor, u->role) : "",
		       fmt_time(lr->expires_at, t, sizeof t));
	}
	lmsc_response_free(r);
	return 0;
}

static int cmd_login(struct cli *cli, const struct args *a)
{
	return login_user(cli, a->pos[0], arg_has(a, "password-stdin"));
}

/* ------------------------------------------------------------ logout */

static int cmd_logout(struct cli *cli, const struct args *a)
{
	char tok[65], err[512];
	const char *env = getenv("LMS_TOKEN");
	bool from_env = env && *env;
	if (!from_env) {
		int rv = session_load(tok, err, sizeof err);
		if (rv == -ENOENT) {
			if (cli->json)
				out_json(json_pack("{s:i}", "sessions_revoked", 0));
			else if (!cli->quiet)
				printf("Not logged in.\n");
			return 0;
		}
		if (rv == -EINVAL) {
			session_delete();
			if (cli->json)
				out_json(json_pack("{s:i}", "sessions_revoked", 0));
			else if (!cli->quiet)
				printf("Removed a damaged session file.\n");
			return 0;
		}
	}
	Lms__Rpc__LogoutRequest l = LMS__RPC__LOGOUT_REQUEST__INIT;
	Lms__Rpc__Request req = LMS__RPC__REQUEST__INIT;
	SET_OP(&req, logout, LOGOUT, &l);
	Lms__Rpc__Response *r;
	cli->mute = true;
	int rc = cli_call(cli, &req, CALL_WRITE, RESULT(LOGOUT), &r, NULL);
	cli->mute = false;
	unsigned revoked = 0;
	if (rc == EXIT_UNAUTH) {
		/* expired or revoked already: nothing left to revoke */
		rc = 0;
	} else if (rc) {
		/* keep the file: the token may still be valid */
		return cli_error(cli, rc, cli->last_code, "%s", cli->last_err);
	} else {
		revoked = r->logout->sessions_revoked;
		lmsc_response_free(r);
	}
	if (!from_env && session_delete() != 0)
		return cli_error(cli, EXIT_FAIL, "IO_ERROR",
		                 "could not delete the session file: %s",
		                 strerror(errno));
	if (cli->json)
		out_json(json_pack("{s:i}", "sessions_revoked", (int)revoked));
	else if (!cli->quiet)
		printf(revoked ? "Logged out.\n"
		               : "Logged out (the session had already ended).\n");
	return 0;
}

/* ------------------------------------------------------------ whoami */

Lms__Rpc__Response *whoami_fetch(struct cli *cli, int *rc, bool report)
{
	Lms__Rpc__WhoAmIRequest w = LMS__RPC__WHO_AM_IREQUEST__INIT;
	Lms__Rpc__Request req = LMS__RPC__REQUEST__INIT;
	SET_OP(&req, whoami, WHOAMI, &w);
	Lms__Rpc__Response *r;
	bool was = cli->mute;
	cli->mute = was || !report;
	*rc = cli_call(cli, &req, CALL_READ, RESULT(WHOAMI), &r, NULL);
	cli->mute = was;
	return *rc ? NULL : r;
}

static int cmd_whoami(struct cli *cli, const struct args *a)
{
	int rc;
	Lms__Rpc__Response *r = whoami_fetch(cli, &rc, true);
	if (!r)
		return rc;
	const Lms__Rpc__WhoAmIResponse *w = r->whoami;
	const Lms__Rpc__User *u = w->user;
	if (cli->json) {
		out_json(pb_json(&w->base));
	} else if (cli->quiet) {
		printf("%s\n", u ? u->username : "");
	} else if (u) {
		char t[LMS_TIME_MAX];
		bool named = *u->display_name &&
		             strcmp(u->display_name, u->username) != 0;
		printf("%s%s%s%s\n", u->username, named ? " (" : "",
		       named ? u->display_name : "", named ? ")" : "");
		printf("role:     %s\n",
		       enum_name(&lms__rpc__role__descriptor, u->role));
		printf("session:  valid until %s\n",
		       fmt_time(w->expires_at, t, sizeof t));
		if (w->n_courses == 0) {
			printf("courses:  none\n");
		} else {
			printf("courses:\n");
			struct table *tb = table_new(3, "  CODE", "TITLE", "ROLE");
			for (size_t i = 0; i < w->n_courses; i++) {
				const Lms__Rpc__Course *c = w->courses[i];
				table_row(tb, fmt("  %s", c->code), c->title,
				          enum_name(&lms__rpc__course_role__descriptor,
				                    c->my_role));
			}
			table_max(tb, 1, 50);
			table_print(tb, stdout, true);
		}
	}
	lmsc_response_free(r);
	return 0;
}

/* ------------------------------------------------------------ users */

static int parse_role(const char *s, Lms__Rpc__Role *role)
{
	if (strcmp(s, "admin") == 0)
		*role = LMS__RPC__ROLE__ROLE_ADMIN;
	else if (strcmp(s, "instructor") == 0)
		*role = LMS__RPC__ROLE__ROLE_INSTRUCTOR;
	else if (strcmp(s, "student") == 0)
		*role = LMS__RPC__ROLE__ROLE_STUDENT;
	else if (strcmp(s, "tutor") == 0)
		*role = LMS__RPC__ROLE__ROLE_TUTOR;
	else
		return -1;
	return 0;
}

/* A new password: one line of stdin, or typed twice on the terminal. */
static char *new_password(struct cli *cli, const char *prompt,
                          bool from_stdin, int *rc)
{
	char *pw = read_password(cli, prompt, from_stdin, cli->in_menu, rc);
	if (!pw || from_stdin || (cli->in_menu && !isatty(0)))
		return pw;
	char *again = read_password(cli, "Repeat it: ", false, false, rc);
	if (!again) {
		wipe_free(pw);
		return NULL;
	}
	bool same = strcmp(pw, again) == 0;
	wipe_free(again);
	if (!same) {
		wipe_free(pw);
		*rc = cli_error(cli, EXIT_USAGE, "USAGE",
		                "the passwords do not match");
		return NULL;
	}
	return pw;
}

static int cmd_user_create(struct cli *cli, const struct args *a)
{
	Lms__Rpc__Role role;
	const char *rs = arg_get(a, "role");
	if (!rs)
		return cli_usage(cli, "user create", "--role is required "
		                 "(admin, instructor, student or tutor)");
	if (parse_role(rs, &role) != 0)
		return cli_usage(cli, "user create", "--role must be admin, "
		                 "instructor, student or tutor");
	int rc = 0;
	char prompt[160];
	snprintf(prompt, sizeof prompt, "Password for the new user %s: ",
	         a->pos[0]);
	char *pw = new_password(cli, prompt, arg_has(a, "password-stdin"), &rc);
	if (!pw)
		return rc;
	Lms__Rpc__UserCreateRequest u = LMS__RPC__USER_CREATE_REQUEST__INIT;
	u.username = a->pos[0];
	u.password = pw;
	u.display_name = (char *)(arg_get(a, "display-name")
	                                  ? arg_get(a, "display-name")
	                                  : "");
	u.role = role;
	Lms__Rpc__Request req = LMS__RPC__REQUEST__INIT;
	SET_OP(&req, user_create, USER_CREATE, &u);
	Lms__Rpc__Response *r;
	rc = cli_call(cli, &req, CALL_WRITE, RESULT(USER_CREATE), &r, NULL);
	wipe_free(pw);
	if (rc)
		return rc;
	const Lms__Rpc__User *nu = r->user_create->user;
	if (cli->json)
		out_json(pb_json(&r->user_create->base));
	else if (cli->quiet)
		printf("%llu\n", nu ? (unsigned long long)nu->id : 0ULL);
	else if (nu)
		printf("Created user %s (%s), id %llu.\n", nu->username,
		       enum_name(&lms__rpc__role__descriptor, nu->role),
		       (unsigned long long)nu->id);
	lmsc_response_free(r);
	return 0;
}

static int cmd_user_list(struct cli *cli, const struct args *a)
{
	int rc = 0;
	long limit = arg_limit(cli, a, "user list", &rc);
	if (limit < 0)
		return rc;
	json_t *arr = json_array();
	struct table *t = table_new(5, "ID", "USERNAME", "NAME", "ROLE",
	                            "CREATED");
	struct pager pg;
	pager_init(&pg, limit);
	Lms__Rpc__Page *page;
	while ((page = pager_next(&pg))) {
		Lms__Rpc__UserListRequest ul = LMS__RPC__USER_LIST_REQUEST__INIT;
		ul.page = page;
		Lms__Rpc__Request req = LMS__RPC__REQUEST__INIT;
		SET_OP(&req, user_list, USER_LIST, &ul);
		Lms__Rpc__Response *r;
		rc = cli_call(cli, &req, CALL_READ, RESULT(USER_LIST), &r, NULL);
		if (rc)
			break;
		const Lms__Rpc__UserListResponse *l = r->user_list;
		size_t k = pager_took(&pg, l->n_users, l->next);
		for (size_t i = 0; i < k; i++) {
			const Lms__Rpc__User *u = l->users[i];
			char tm[LMS_TIME_MAX];
			json_array_append_new(arr, pb_json(&u->base));
			table_row(t, fmt("%llu", (unsigned long long)u->id),
			          u->username, u->display_name,
			          enum_name(&lms__rpc__role__descriptor, u->role),
			          fmt_time(u->created_at, tm, sizeof tm));
		}
		lmsc_response_free(r);
	}
	pager_free(&pg);
	if (rc == 0) {
		if (cli->json) {
			out_json(json_pack("{s:O}", "users", arr));
		} else {
			table_right(t, 0);
			table_max(t, 2, 40);
			table_print(t, stdout, !cli->quiet);
			t = NULL;
		}
	}
	table_free(t);
	json_decref(arr);
	return rc;
}

static int cmd_user_passwd(struct cli *cli, const struct args *a)
{
	int rc;
	bool from_stdin = arg_has(a, "password-stdin");
	Lms__Rpc__Response *who = whoami_fetch(cli, &rc, true);
	if (!who)
		return rc;
	char me[128];
	snprintf(me, sizeof me, "%s",
	         who->whoami->user ? who->whoami->user->username : "");
	lmsc_response_free(who);
	const char *name = a->npos ? a->pos[0] : me;
	bool own = strcmp(name, me) == 0;
	char *old = NULL, *pw = NULL;
	if (own) {
		old = read_password(cli, "Current password: ", from_stdin,
		                    cli->in_menu, &rc);
		if (!old)
			return rc;
	}
	char prompt[160];
	snprintf(prompt, sizeof prompt, "New password for %s: ", name);
	pw = new_password(cli, prompt, from_stdin, &rc);
	if (!pw) {
		wipe_free(old);
		return rc;
	}
	Lms__Rpc__PasswordChangeRequest p =
		LMS__RPC__PASSWORD_CHANGE_REQUEST__INIT;
	p.username = own ? "" : (char *)name;
	p.old_password = old ? old : "";
	p.new_password = pw;
	Lms__Rpc__Request req = LMS__RPC__REQUEST__INIT;
	SET_OP(&req, password_change, PASSWORD_CHANGE, &p);
	Lms__Rpc__Response *r;
	rc = cli_call(cli, &req, CALL_WRITE, RESULT(PASSWORD_CHANGE), &r, NULL);
	wipe_free(old);
	if (rc) {
		wipe_free(pw);
		return rc;
	}
	unsigned revoked = r->password_change->sessions_revoked;
	lmsc_response_free(r);
	bool relogged = false;
	if (own && !cli->token_from_env) {
		/* our session was revoked with the others: log in again */
		Lms__Rpc__LoginRequest l = LMS__RPC__LOGIN_REQUEST__INIT;
		l.username = me;
		l.password = pw;
		Lms__Rpc__Request lq = LMS__RPC__REQUEST__INIT;
		SET_OP(&lq, login, LOGIN, &l);
		Lms__Rpc__Response *lr;
		char err[512];
		if (cli_call(cli, &lq, CALL_PUBLIC_WRITE, RESULT(LOGIN), &lr,
		             NULL) == 0) {
			relogged = session_save(lr->login->token, err,
			                        sizeof err) == 0;
			if (relogged) {
				free(cli->token);
				cli->token = strdup(lr->login->token);
			}
			lmsc_response_free(lr);
		}
		if (!relogged)
			session_delete();
	}
	wipe_free(pw);
	if (cli->json) {
		out_json(json_pack("{s:s,s:i,s:b}", "username", name,
		                   "sessions_revoked", (int)revoked,
		                   "logged_in_again", relogged));
	} else if (!cli->quiet) {
		printf("Password changed for %s; %u session%s revoked.\n", name,
		       revoked, revoked == 1 ? "" : "s");
		if (own)
			printf(relogged ? "You are logged in again with the new "
			                  "password.\n"
			                : "Log in again with \"lms login %s\".\n",
			       me);
	}
	return 0;
}

/* ------------------------------------------------------------ table */

static const struct opt_spec create_opts[] = {
	{"role", 0, OPT_VALUE, "ROLE", "admin, instructor, student or tutor"},
	{"display-name", 0, OPT_VALUE, "S", "the full name shown to others"},
	{"password-stdin", 0, OPT_FLAG, NULL,
	 "read the password from standard input (one line)"},
	{NULL, 0, 0, NULL, NULL},
};

static const struct opt_spec list_opts[] = {
	LIST_OPTS,
	{NULL, 0, 0, NULL, NULL},
};

const struct command cmds_account[] = {
	{"login", "USER", 1, 1, pw_opts, "log in and keep the session",
	 "The password is read from the terminal without echo, or from "
	 "standard input\nwith --password-stdin. The session token is stored "
	 "in\n$XDG_CONFIG_HOME/lms/session (mode 0600).\n",
	 cmd_login},
	{"logout", "", 0, 0, NULL, "revoke the session and forget it", NULL,
	 cmd_logout},
	{"whoami", "", 0, 0, NULL, "the logged-in account and its courses",
	 NULL, cmd_whoami},
	{"user create", "NAME", 1, 1, create_opts, "create an account (admin)",
	 "The password is asked twice on the terminal, or read from standard "
	 "input\nwith --password-stdin.\n",
	 cmd_user_create},
	{"user list", "", 0, 0, list_opts, "list the accounts (admin)", NULL,
	 cmd_user_list},
	{"user passwd", "[NAME]", 0, 1, pw_opts,
	 "change your password, or (admin) another user's",
	 "Without NAME: your own password; the current one is asked first "
	 "(with\n--password-stdin: two lines, current then new). Every session "
	 "of the account\nis revoked; you are logged in again with the new "
	 "password. With NAME (admin):\nthat user's password, without the "
	 "old one (one line with --password-stdin).\n",
	 cmd_user_passwd},
	{NULL, NULL, 0, 0, NULL, NULL, NULL, NULL},
};
