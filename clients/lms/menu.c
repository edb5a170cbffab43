/*
 * menu.c -- `lms menu`, the interactive mode: numbered menus for students
 * and for instructors (TAs and admins get the instructors' menu, admins
 * with the account items too).
 *
 * The menu is a front end over the subcommands: each item asks for what
 * it needs, one line at a time, and then runs the same code as the
 * command line would (cli_dispatch with a built argv), so a menu action
 * and its command always behave, print and fail alike.
 *
 * Input is read with getline() from stdin, in a terminal or from a
 * script ("printf '2\nDEMO101\nq\n' | lms menu"):
 *   - a choice that is not in the menu is refused and asked again;
 *   - an empty answer takes the default shown in brackets, or is asked
 *     again when the value is required;
 *   - end of input anywhere ends the menu with status 0;
 *   - "q" quits (the session stays), "0" logs out and quits.
 * Passwords come from the terminal without echo, or as a line of stdin
 * when stdin is not a terminal. When stdin is a script its lines are
 * echoed after the prompts, so the output reads like a session.
 *
 * Course codes: the last one entered is offered as the default of the
 * next prompt (and a user with exactly one course starts with it).
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "lms.h"

#define MENU_EOF (-1)
#define MENU_MAX_KEEP 32
#define LOGIN_TRIES 3

struct menu {
	struct cli *cli;
	bool staff, admin;
	char user[128];
	char course[64];        /* default course code */
	char *keep[MENU_MAX_KEEP]; /* answers of the current action */
	int nkeep;
	bool relogin;           /* an action found the session gone */
};

struct item {
	const char *label;
	int (*fn)(struct menu *m);
};

/* ------------------------------------------------------------ prompts */

static void menu_forget(struct menu *m)
{
	for (int i = 0; i < m->nkeep; i++)
		free(m->keep[i]);
	m->nkeep = 0;
}

/*
 * Asks label; *out is the answer (kept until the action ends), def when
 * the answer is empty, "" when it is empty without a default and not
 * required. 0, or MENU_EOF.
 */
static int ask(struct menu *m, const char *label, const char *def,
               bool required, const char **out)
{
	char prompt[256];
	if (def && *def)
		snprintf(prompt, sizeof prompt, "%s [%s]: ", label, def);
	else
		snprintf(prompt, sizeof prompt, "%s%s: ", label,
		         required ? "" : " (empty: none)");
	for (;;) {
		char *line = prompt_line(prompt);
		if (!line)
			return MENU_EOF;
		/* trim blanks around */
		char *s = line;
		while (*s == ' ' || *s == '\t')
			s++;
		size_t n = strlen(s);
		while (n && (s[n - 1] == ' ' || s[n - 1] == '\t'))
			s[--n] = '\0';
		if (!*s && def && *def) {
			free(line);
			*out = def;
			return 0;
		}
		if (!*s && required) {
			free(line);
			printf("A value is needed.\n");
			continue;
		}
		memmove(line, s, n + 1);
		if (m->nkeep == MENU_MAX_KEEP) {
			free(line);
			*out = "";
			return 0;
		}
		m->keep[m->nkeep++] = line;
		*out = line;
		return 0;
	}
}

/* A course code (required, or optional: "" = every course); the last one
 * given becomes the default of the next prompt. */
static int ask_course_opt(struct menu *m, bool required, const char **out)
{
	int rv = ask(m, "Course code", m->course, required, out);
	if (rv == 0 && **out && *out != m->course)
		snprintf(m->course, sizeof m->course, "%s", *out);
	return rv;
}

static int ask_course(struct menu *m, const char **out)
{
	return ask_course_opt(m, true, out);
}

/* A yes/no question; *yes. */
static int ask_yes(struct menu *m, const char *label, bool def, bool *yes)
{
	const char *a;
	for (;;) {
		int rv = ask(m, label, def ? "y" : "n", true, &a);
		if (rv)
			return rv;
		if (strcasecmp(a, "y") == 0 || strcasecmp(a, "yes") == 0) {
			*yes = true;
			return 0;
		}
		if (strcasecmp(a, "n") == 0 || strcasecmp(a, "no") == 0) {
			*yes = false;
			return 0;
		}
		printf("Answer y or n.\n");
	}
}

/* Runs a command line: run(m, "assignment", "list", code, NULL). */
static int run(struct menu *m, ...)
{
	char *argv[32];
	int argc = 0;
	va_list ap;
	va_start(ap, m);
	const char *s;
	while ((s = va_arg(ap, const char *)) && argc < 31)
		argv[argc++] = (char *)s;
	va_end(ap);
	argv[argc] = NULL;
	putchar('\n');
	fflush(stdout);
	int rc = cli_dispatch(m->cli, argc, argv);
	fflush(stdout);
	if (rc == EXIT_UNAUTH)
		m->relogin = true;
	return 0;
}

/* The same from an argv built by the caller. */
static int run_v(struct menu *m, int argc, char **argv)
{
	putchar('\n');
	fflush(stdout);
	int rc = cli_dispatch(m->cli, argc, argv);
	fflush(stdout);
	if (rc == EXIT_UNAUTH)
		m->relogin = true;
	return 0;
}

/* ------------------------------------------------------------ common items */

static int act_courses(struct menu *m)
{
	return run(m, "course", "list", NULL);
}

static int act_assignments(struct menu *m)
{
	const char *c;
	int rv = ask_course(m, &c);
	return rv ? rv : run(m, "assignment", "list", c, NULL);
}

static int act_assignment_show(struct menu *m)
{
	const char *id, *save;
	int rv = ask(m, "Assignment id", NULL, true, &id);
	if (rv)
		return rv;
	if ((rv = ask(m, "Save its attachment as", NULL, false, &save)))
		return rv;
	if (*save)
		return run(m, "assignment", "show", id, "-o", save, NULL);
	return run(m, "assignment", "show", id, NULL);
}

static int act_materials(struct menu *m)
{
	const char *c;
	int rv = ask_course(m, &c);
	return rv ? rv : run(m, "material", "list", c, NULL);
}

static int act_material_get(struct menu *m)
{
	const char *id, *save;
	int rv = ask(m, "Material id", NULL, true, &id);
	if (rv || (rv = ask(m, "Save as (empty: its own name)", NULL, false,
	                    &save)))
		return rv;
	if (*save)
		return run(m, "material", "get", id, "-o", save, NULL);
	return run(m, "material", "get", id, NULL);
}

static int act_material_search(struct menu *m)
{
	const char *c, *w;
	int rv = ask_course(m, &c);
	if (rv || (rv = ask(m, "Words to look for", NULL, true, &w)))
		return rv;
	return run(m, "material", "search", c, w, NULL);
}

static int act_questions(struct menu *m)
{
	const char *c, *id;
	bool open = false;
	int rv = ask_course_opt(m, false, &c);
	if (rv)
		return rv;
	if (m->staff && (rv = ask_yes(m, "Only open questions?", true, &open)))
		return rv;
	char *argv[6] = {"query", "list"};
	int argc = 2;
	if (*c)
		argv[argc++] = (char *)c;
	if (open)
		argv[argc++] = "--open";
	run_v(m, argc, argv);
	if ((rv = ask(m, "Question id to read", NULL, false, &id)))
		return rv;
	return *id ? run(m, "query", "show", id, NULL) : 0;
}

static int act_progress(struct menu *m)
{
	const char *c, *s = "";
	int rv = ask_course_opt(m, m->staff, &c);
	if (rv)
		return rv;
	if (m->staff &&
	    (rv = ask(m, "Student (empty: every student)", NULL, false, &s)))
		return rv;
	char *argv[6] = {"progress"};
	int argc = 1;
	if (*c)
		argv[argc++] = (char *)c;
	if (*s) {
		argv[argc++] = "--student";
		argv[argc++] = (char *)s;
	}
	return run_v(m, argc, argv);
}

static int act_passwd(struct menu *m)
{
	return run(m, "user", "passwd", NULL);
}

static int act_cluster(struct menu *m)
{
	return run(m, "cluster", "status", NULL);
}

/* ------------------------------------------------------------ student */

static int act_submit(struct menu *m)
{
	const char *id, *file, *text;
	int rv = ask(m, "Assignment id", NULL, true, &id);
	if (rv)
		return rv;
	for (;;) {
		if ((rv = ask(m, "File to upload", NULL, false, &file)) ||
		    (rv = ask(m, "Text answer", NULL, false, &text)))
			return rv;
		if (*file || *text)
			break;
		printf("Give a file, a text, or both.\n");
	}
	char *argv[8] = {"submit", (char *)id};
	int argc = 2;
	if (*file)
		argv[argc++] = (char *)file;
	if (*text) {
		argv[argc++] = "--text";
		argv[argc++] = (char *)text;
	}
	return run_v(m, argc, argv);
}

static int act_my_submissions(struct menu *m)
{
	const char *id;
	int rv = ask(m, "Assignment id", NULL, true, &id);
	return rv ? rv : run(m, "submission", "list", id, NULL);
}

static int act_grades(struct menu *m)
{
	const char *c;
	int rv = ask_course_opt(m, false, &c);
	if (rv)
		return rv;
	return *c ? run(m, "grades", c, NULL) : run(m, "grades", NULL);
}

static int act_ask_tutor(struct menu *m)
{
	const char *c, *q;
	int rv = ask_course(m, &c);
	if (rv || (rv = ask(m, "Your question", NULL, true, &q)))
		return rv;
	return run(m, "ask", c, q, "--wait", "30", NULL);
}

static int act_ask_instructors(struct menu *m)
{
	const char *c, *q;
	int rv = ask_course(m, &c);
	if (rv || (rv = ask(m, "Your question", NULL, true, &q)))
		return rv;
	return run(m, "query", "post", c, q, "--to", "instructor", NULL);
}

/* ------------------------------------------------------------ staff */

static int act_course_create(struct menu *m)
{
	const char *c, *t;
	int rv = ask(m, "New course code", NULL, true, &c);
	if (rv || (rv = ask(m, "Title", NULL, true, &t)))
		return rv;
	snprintf(m->course, sizeof m->course, "%s", c);
	return run(m, "course", "create", c, "--title", t, NULL);
}

static int act_enroll(struct menu *m)
{
	const char *c, *u, *r;
	int rv = ask_course(m, &c);
	if (rv || (rv = ask(m, "Username", NULL, true, &u)) ||
	    (rv = ask(m, "Role (student, ta, instructor)", "student", true, &r)))
		return rv;
	return run(m, "course", "enroll", c, u, "--role", r, NULL);
}

static int act_members(struct menu *m)
{
	const char *c;
	int rv = ask_course(m, &c);
	return rv ? rv : run(m, "course", "members", c, NULL);
}

static int act_assignment_create(struct menu *m)
{
	const char *c, *title, *desc, *due, *cut, *pts, *pen, *floor_, *att,
		*topics, *file;
	int rv;
	if ((rv = ask_course(m, &c)) ||
	    (rv = ask(m, "Title", NULL, true, &title)) ||
	    (rv = ask(m, "Description", NULL, false, &desc)) ||
	    (rv = ask(m, "Due (YYYY-MM-DD HH:MM, local time)", NULL, true,
	              &due)) ||
	    (rv = ask(m, "Cut-off, no submissions after it", NULL, false,
	              &cut)) ||
	    (rv = ask(m, "Points", "100", true, &pts)) ||
	    (rv = ask(m, "Late penalty, percent per day", "0", true, &pen)) ||
	    (rv = ask(m, "Penalty floor, percent kept at least", "0", true,
	              &floor_)) ||
	    (rv = ask(m, "Attempts allowed (0: unlimited)", "0", true, &att)) ||
	    (rv = ask(m, "Topics, separated by commas", NULL, false,
	              &topics)) ||
	    (rv = ask(m, "Attachment file", NULL, false, &file)))
		return rv;
	char *argv[64] = {"assignment", "create", (char *)c, "--title",
	                  (char *)title, "--due", (char *)due, "--points",
	                  (char *)pts, "--late-penalty", (char *)pen,
	                  "--penalty-floor", (char *)floor_, "--attempts",
	                  (char *)att};
	int argc = 15;
	if (*desc) {
		argv[argc++] = "--description";
		argv[argc++] = (char *)desc;
	}
	if (*cut) {
		argv[argc++] = "--cutoff";
		argv[argc++] = (char *)cut;
	}
	if (*file) {
		argv[argc++] = "--attach";
		argv[argc++] = (char *)file;
	}
	/* topics: split the kept answer in place */
	char *save = NULL;
	for (char *t = strtok_r((char *)topics, ",", &save); t && argc < 62;
	     t = strtok_r(NULL, ",", &save)) {
		while (*t == ' ')
			t++;
		size_t n = strlen(t);
		while (n && t[n - 1] == ' ')
			t[--n] = '\0';
		if (!*t)
			continue;
		argv[argc++] = "--topic";
		argv[argc++] = t;
	}
	return run_v(m, argc, argv);
}

static int act_extend(struct menu *m)
{
	const char *id, *u, *due, *cut;
	int rv;
	if ((rv = ask(m, "Assignment id", NULL, true, &id)) ||
	    (rv = ask(m, "Student", NULL, true, &u)) ||
	    (rv = ask(m, "New due (YYYY-MM-DD HH:MM)", NULL, true, &due)) ||
	    (rv = ask(m, "New cut-off", NULL, false, &cut)))
		return rv;
	if (*cut)
		return run(m, "assignment", "extend", id, u, "--due", due,
		           "--cutoff", cut, NULL);
	return run(m, "assignment", "extend", id, u, "--due", due, NULL);
}

static int act_submissions(struct menu *m)
{
	const char *id, *s;
	int rv = ask(m, "Assignment id", NULL, true, &id);
	if (rv || (rv = ask(m, "Student (empty: everyone)", NULL, false, &s)))
		return rv;
	if (*s)
		return run(m, "submission", "list", id, "--student", s, NULL);
	return run(m, "submission", "list", id, NULL);
}

static int act_submission_get(struct menu *m)
{
	const char *id, *save;
	int rv = ask(m, "Submission id", NULL, true, &id);
	if (rv || (rv = ask(m, "Save its file as (empty: its own name)", NULL,
	                    false, &save)))
		return rv;
	if (*save)
		return run(m, "submission", "get", id, "-o", save, NULL);
	return run(m, "submission", "get", id, NULL);
}

static int act_grade(struct menu *m)
{
	const char *id, *score, *fb;
	int rv;
	if ((rv = ask(m, "Submission id", NULL, true, &id)) ||
	    (rv = ask(m, "Score", NULL, true, &score)) ||
	    (rv = ask(m, "Feedback", NULL, false, &fb)))
		return rv;
	if (*fb)
		return run(m, "grade", id, score, "--feedback", fb, NULL);
	return run(m, "grade", id, score, NULL);
}

static int act_gradebook(struct menu *m)
{
	const char *c;
	int rv = ask_course(m, &c);
	return rv ? rv : run(m, "gradebook", c, NULL);
}

static int act_upload(struct menu *m)
{
	const char *c, *f, *t, *topic;
	int rv;
	if ((rv = ask_course(m, &c)) ||
	    (rv = ask(m, "File (PDF or text)", NULL, true, &f)) ||
	    (rv = ask(m, "Title (empty: the file name)", NULL, false, &t)) ||
	    (rv = ask(m, "Topic", NULL, false, &topic)))
		return rv;
	char *argv[10] = {"material", "upload", (char *)c, (char *)f};
	int argc = 4;
	if (*t) {
		argv[argc++] = "--title";
		argv[argc++] = (char *)t;
	}
	if (*topic) {
		argv[argc++] = "--topic";
		argv[argc++] = (char *)topic;
	}
	return run_v(m, argc, argv);
}

static int act_answer(struct menu *m)
{
	const char *id, *text;
	int rv = ask(m, "Question id", NULL, true, &id);
	if (rv)
		return rv;
	run(m, "query", "show", id, NULL);
	if ((rv = ask(m, "Your answer", NULL, true, &text)))
		return rv;
	return run(m, "query", "answer", id, text, NULL);
}

static int act_stats(struct menu *m)
{
	const char *c;
	int rv = ask_course(m, &c);
	return rv ? rv : run(m, "stats", c, NULL);
}

static int act_user_create(struct menu *m)
{
	const char *u, *r, *d;
	int rv;
	if ((rv = ask(m, "Username", NULL, true, &u)) ||
	    (rv = ask(m, "Role (admin, instructor, student)", "student", true,
	              &r)) ||
	    (rv = ask(m, "Full name", NULL, false, &d)))
		return rv;
	if (*d)
		return run(m, "user", "create", u, "--role", r,
		           "--display-name", d, NULL);
	return run(m, "user", "create", u, "--role", r, NULL);
}

static int act_users(struct menu *m)
{
	return run(m, "user", "list", NULL);
}

/* ------------------------------------------------------------ menus */

static const struct item student_items[] = {
	{"My courses", act_courses},
	{"Assignments of a course", act_assignments},
	{"Assignment details", act_assignment_show},
	{"Submit an assignment", act_submit},
	{"My submissions", act_my_submissions},
	{"My grades", act_grades},
	{"Course materials", act_materials},
	{"Download a material", act_material_get},
	{"Search the materials", act_material_search},
	{"Ask the AI tutor", act_ask_tutor},
	{"Ask the instructors", act_ask_instructors},
	{"My questions and answers", act_questions},
	{"My progress", act_progress},
	{"Change my password", act_passwd},
	{NULL, NULL},
};

static const struct item staff_items[] = {
	{"My courses", act_courses},
	{"Create a course", act_course_create},
	{"Enroll a user in a course", act_enroll},
	{"Members of a course", act_members},
	{"Assignments of a course", act_assignments},
	{"Create an assignment", act_assignment_create},
	{"Grant an extension", act_extend},
	{"Submissions to an assignment", act_submissions},
	{"Read and download a submission", act_submission_get},
	{"Grade a submission", act_grade},
	{"Gradebook", act_gradebook},
	{"Upload a material", act_upload},
	{"Course materials", act_materials},
	{"Questions", act_questions},
	{"Answer a question", act_answer},
	{"Students' progress", act_progress},
	{"Class statistics", act_stats},
	{"Cluster status", act_cluster},
	{"Change my password", act_passwd},
	{NULL, NULL},
};

static const struct item admin_items[] = {
	{"Create a user", act_user_create},
	{"List users", act_users},
	{NULL, NULL},
};

/* The items of the menu for m, in order, into out (returns how many). */
static size_t menu_items(const struct menu *m, const struct item **out,
                         size_t max)
{
	size_t n = 0;
	const struct item *base = m->staff ? staff_items : student_items;
	for (const struct item *it = base; it->label && n < max; it++)
		out[n++] = it;
	if (m->admin)
		for (const struct item *it = admin_items; it->label && n < max;
		     it++)
			out[n++] = it;
	return n;
}

/* ------------------------------------------------------------ session */

/* Who is logged in; false when there is no valid session. */
static bool menu_whoami(struct menu *m)
{
	int rc;
	Lms__Rpc__Response *r = whoami_fetch(m->cli, &rc, false);
	if (!r)
		return false;
	const Lms__Rpc__WhoAmIResponse *w = r->whoami;
	const Lms__Rpc__User *u = w->user;
	snprintf(m->user, sizeof m->user, "%s", u ? u->username : "?");
	m->admin = u && u->role == LMS__RPC__ROLE__ROLE_ADMIN;
	m->staff = m->admin || (u && u->role == LMS__RPC__ROLE__ROLE_INSTRUCTOR);
	for (size_t i = 0; i < w->n_courses; i++)
		if (w->courses[i]->my_role ==
		            LMS__RPC__COURSE_ROLE__COURSE_INSTRUCTOR ||
		    w->courses[i]->my_role == LMS__RPC__COURSE_ROLE__COURSE_TA)
			m->staff = true;
	if (w->n_courses == 1 && !m->course[0])
		snprintf(m->course, sizeof m->course, "%s",
		         w->courses[0]->code);
	printf("Logged in as %s (%s%s).\n", m->user,
	       u ? enum_name(&lms__rpc__role__descriptor, u->role) : "?",
	       m->staff && u && u->role == LMS__RPC__ROLE__ROLE_STUDENT
	               ? ", teaching assistant"
	               : "");
	lmsc_response_free(r);
	return true;
}

/* Logs in (up to LOGIN_TRIES); 0, MENU_EOF, or an exit status. */
static int menu_login(struct menu *m)
{
	for (int i = 0; i < LOGIN_TRIES; i++) {
		const char *u;
		int rv = ask(m, "Username", NULL, true, &u);
		if (rv)
			return rv;
		rv = login_user(m->cli, u, false);
		menu_forget(m);
		if (rv == 0 && menu_whoami(m))
			return 0;
		if (rv == EXIT_USAGE && feof(stdin))
			return MENU_EOF;
		if (rv == EXIT_UNAVAILABLE)
			return rv;
	}
	fprintf(stderr, "lms: too many failed logins\n");
	return EXIT_UNAUTH;
}

static int cmd_menu(struct cli *cli, const struct args *a)
{
	if (cli->json)
		return cli_usage(cli, "menu", "the menu is for people; use the "
		                 "commands with --json in scripts");
	struct menu m;
	memset(&m, 0, sizeof m);
	m.cli = cli;
	cli->in_menu = true;
	cli->quiet = false;
	printf("LMS menu. Type the number of an action; q quits, 0 logs out "
	       "and quits.\n");
	int rc = 0;
	if (!menu_whoami(&m)) {
		if (!strcmp(cli->last_code, "UNAVAILABLE") ||
		    !strcmp(cli->last_code, "USAGE")) {
			fprintf(stderr, "lms: %s\n", cli->last_err);
			return strcmp(cli->last_code, "USAGE") == 0
			               ? EXIT_USAGE
			               : EXIT_UNAVAILABLE;
		}
		printf("Please log in.\n");
		rc = menu_login(&m);
		if (rc)
			return rc == MENU_EOF ? 0 : rc;
	}
	for (;;) {
		if (m.relogin) {
			m.relogin = false;
			printf("\nYour session has ended; please log in again.\n");
			rc = menu_login(&m);
			if (rc)
				return rc == MENU_EOF ? 0 : rc;
		}
		const struct item *items[64];
		size_t n = menu_items(&m, items, 64);
		printf("\n%s menu (%s)\n", m.staff ? "Instructor" : "Student",
		       m.user);
		for (size_t i = 0; i < n; i++)
			printf("%3zu  %s\n", i + 1, items[i]->label);
		printf("  0  Log out and quit\n  q  Quit\n");
		const struct item *chosen = NULL;
		while (!chosen) {
			char *line = prompt_line("Choice: ");
			if (!line) {
				putchar('\n');
				return 0; /* end of input: a clean exit */
			}
			char *s = line;
			while (*s == ' ' || *s == '\t')
				s++;
			size_t len = strlen(s);
			while (len && (s[len - 1] == ' ' || s[len - 1] == '\t'))
				s[--len] = '\0';
			if (strcasecmp(s, "q") == 0 || strcasecmp(s, "quit") == 0) {
				free(line);
				return 0;
			}
			if (strcmp(s, "0") == 0) {
				free(line);
				char *argv[] = {"logout", NULL};
				return cli_dispatch(cli, 1, argv);
			}
			char *end;
			long k = strtol(s, &end, 10);
			if (*s && !*end && k >= 1 && (size_t)k <= n)
				chosen = items[k - 1];
			else if (*s)
				printf("Invalid choice \"%s\": type a number from "
				       "1 to %zu, 0 or q.\n", s, n);
			free(line);
		}
		rc = chosen->fn(&m);
		menu_forget(&m);
		if (rc == MENU_EOF) {
			putchar('\n');
			return 0;
		}
	}
}

const struct command cmds_menu[] = {
	{"menu", "", 0, 0, NULL, "interactive menus for students and staff",
	 "Logs in if needed, then shows numbered actions. Reads lines from "
	 "standard input,\nso it also runs from a script; end of input quits "
	 "with status 0.\n",
	 cmd_menu},
	{NULL, NULL, 0, 0, NULL, NULL, NULL, NULL},
};
