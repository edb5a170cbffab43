/*
 * dispatch.c -- lms: global options, the command table, the argument
 * parser and --help at every level.
 *
 *   lms [GLOBAL OPTIONS] COMMAND [SUBCOMMAND] [OPERANDS] [OPTIONS]
 *
 * Commands are declared in tables (struct command, one per cmd_*.c file):
 * a path of one or two words ("whoami", "assignment create"), the operands
 * for the synopsis, how many operands it takes, its options and a handler.
 * The parser here is the only one: it knows every command's options, so an
 * option's value is never mistaken for an operand and global options may
 * also come after the command ("lms course list --json"). "--" ends the
 * options ("lms query post C101 -- -1 is odd?").
 *
 * Help: "lms --help" lists every command, "lms assignment --help" the
 * commands of a group, "lms assignment create --help" one command with its
 * options. Help asked for goes to stdout with status 0; a usage error
 * prints one line and a hint on stderr with status 2.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lms.h"
#include "util.h"

static const struct opt_spec global_opts[] = {
	{"config", 0, OPT_VALUE, "FILE", "config.json with the nodes"},
	{"nodes", 0, OPT_VALUE, "LIST", "host:port,... of the client ports"},
	{"json", 0, OPT_FLAG, NULL, "machine-readable output"},
	{"stale", 0, OPT_FLAG, NULL, "allow stale reads (any node)"},
	{"quiet", 'q', OPT_FLAG, NULL, "only the essentials"},
	{"timeout", 0, OPT_VALUE, "MS", "give up after MS milliseconds"},
	{"help", 'h', OPT_FLAG, NULL, "this help"},
	{NULL, 0, 0, NULL, NULL},
};

static const struct command *const *all_tables(void)
{
	static const struct command *const t[] = {
		cmds_account, cmds_course, cmds_work, cmds_material,
		cmds_query,   cmds_report, cmds_menu, NULL,
	};
	return t;
}

/* ------------------------------------------------------------ arguments */

static int spec_find(const struct opt_spec *s, const char *name, size_t len,
                     char shrt)
{
	for (int i = 0; s && s[i].name; i++) {
		if (shrt ? s[i].shrt == shrt
		         : strlen(s[i].name) == len &&
		                   strncmp(s[i].name, name, len) == 0)
			return i;
	}
	return -1;
}

const char *arg_get(const struct args *a, const char *name)
{
	const char *v = NULL;
	for (int i = 0; i < a->nocc; i++)
		if (strcmp(a->spec[a->occ[i].opt].name, name) == 0)
			v = a->occ[i].val;
	return v;
}

bool arg_has(const struct args *a, const char *name)
{
	for (int i = 0; i < a->nocc; i++)
		if (strcmp(a->spec[a->occ[i].opt].name, name) == 0)
			return true;
	return false;
}

size_t arg_list(const struct args *a, const char *name, const char **out,
                size_t max)
{
	size_t n = 0;
	for (int i = 0; i < a->nocc && n < max; i++)
		if (strcmp(a->spec[a->occ[i].opt].name, name) == 0)
			out[n++] = a->occ[i].val;
	return n;
}

static int global_set(struct cli *cli, const char *name, const char *val,
                      bool *help, const char *path)
{
	if (strcmp(name, "config") == 0) {
		cli->config = val;
	} else if (strcmp(name, "nodes") == 0) {
		cli->nodes = val;
	} else if (strcmp(name, "json") == 0) {
		cli->json = true;
	} else if (strcmp(name, "stale") == 0) {
		cli->stale = true;
	} else if (strcmp(name, "quiet") == 0) {
		cli->quiet = true;
	} else if (strcmp(name, "timeout") == 0) {
		uint64_t ms;
		if (lms_parse_u64(val, 1, 3600000, &ms) != 0)
			return cli_usage(cli, path,
			                 "--timeout must be 1..3600000 ms");
		cli->timeout_ms = (unsigned)ms;
	} else if (strcmp(name, "help") == 0) {
		*help = true;
	}
	return 0;
}

/*
 * Parses argv[0..argc) against spec plus the global options. stop_at_pos:
 * stop at the first operand (the leading global options of main). Returns
 * 0 (*used: how many words were consumed), or EXIT_USAGE after reporting.
 */
static int parse_args(struct cli *cli, const char *path, int argc,
                      char **argv, const struct opt_spec *spec,
                      struct args *a, bool *help, bool stop_at_pos,
                      int *used)
{
	bool only_pos = false;
	int i;
	a->spec = spec;
	for (i = 0; i < argc; i++) {
		char *s = argv[i];
		if (only_pos || s[0] != '-' || s[1] == '\0') {
			if (stop_at_pos)
				break;
			if (a->npos == ARGS_MAX_POS)
				return cli_usage(cli, path, "too many operands");
			a->pos[a->npos++] = s;
			continue;
		}
		if (strcmp(s, "--") == 0) {
			only_pos = true;
			continue;
		}
		const char *name;
		size_t len;
		const char *val = NULL;
		char shrt = 0;
		if (s[1] == '-') {
			name = s + 2;
			const char *eq = strchr(name, '=');
			len = eq ? (size_t)(eq - name) : strlen(name);
			if (eq)
				val = eq + 1;
		} else {
			shrt = s[1];
			name = s + 1;
			len = 1;
			if (s[2])
				val = s + 2;
		}
		const struct opt_spec *sp = global_opts;
		int k = spec_find(global_opts, name, len, shrt);
		if (k < 0 && spec) {
			sp = spec;
			k = spec_find(spec, name, len, shrt);
		}
		if (k < 0)
			return cli_usage(cli, path, "unknown option \"%s\"", s);
		const struct opt_spec *o = &sp[k];
		if (o->kind == OPT_FLAG && val)
			return cli_usage(cli, path, "option --%s takes no value",
			                 o->name);
		if (o->kind != OPT_FLAG && !val) {
			if (i + 1 >= argc)
				return cli_usage(cli, path, "option --%s needs a "
				                 "value (%s)", o->name, o->metavar);
			val = argv[++i];
		}
		if (sp == global_opts) {
			int rc = global_set(cli, o->name, val, help, path);
			if (rc)
				return rc;
			continue;
		}
		if (a->nocc == ARGS_MAX_OCC)
			return cli_usage(cli, path, "too many options");
		a->occ[a->nocc].opt = k;
		a->occ[a->nocc].val = val;
		a->nocc++;
	}
	*used = i;
	return 0;
}

/* ------------------------------------------------------------ help */

static void print_globals(FILE *f)
{
	fputs("\nglobal options (before or after the command):\n", f);
	for (const struct opt_spec *o = global_opts; o->name; o++) {
		char left[48];
		if (o->shrt)
			snprintf(left, sizeof left, "-%c, --%s%s%s", o->shrt,
			         o->name, o->metavar ? " " : "",
			         o->metavar ? o->metavar : "");
		else
			snprintf(left, sizeof left, "--%s%s%s", o->name,
			         o->metavar ? " " : "", o->metavar ? o->metavar : "");
		fprintf(f, "  %-24s %s\n", left, o->help);
	}
}

static void print_synopsis(FILE *f, const struct command *c)
{
	fprintf(f, "lms %s%s%s%s", c->path, *c->operands ? " " : "",
	        c->operands, c->opts && c->opts[0].name ? " [options]" : "");
}

static void help_command(const struct command *c)
{
	fputs("usage: ", stdout);
	print_synopsis(stdout, c);
	printf("\n\n%s\n", c->summary);
	if (c->details)
		printf("\n%s", c->details);
	if (c->opts && c->opts[0].name) {
		fputs("\noptions:\n", stdout);
		for (const struct opt_spec *o = c->opts; o->name; o++) {
			char left[64], sh[8] = "";
			if (o->shrt)
				snprintf(sh, sizeof sh, "-%c, ", o->shrt);
			snprintf(left, sizeof left, "%s--%s%s%s", sh, o->name,
			         o->metavar ? " " : "", o->metavar ? o->metavar : "");
			printf("  %-26s %s%s\n", left,
			       o->help, o->kind == OPT_LIST ? " (repeatable)" : "");
		}
	}
	print_globals(stdout);
}

/* Every command whose path starts with group (NULL: all). */
static void help_list(FILE *f, const char *group)
{
	size_t glen = group ? strlen(group) : 0;
	for (const struct command *const *t = all_tables(); *t; t++)
		for (const struct command *c = *t; c->path; c++) {
			if (group && (strncmp(c->path, group, glen) != 0 ||
			              (c->path[glen] != ' ' && c->path[glen])))
				continue;
			char syn[160];
			snprintf(syn, sizeof syn, "%s%s%s", c->path,
			         *c->operands ? " " : "", c->operands);
			if (strlen(syn) > 34)
				fprintf(f, "  %s\n  %-34s %s\n", syn, "", c->summary);
			else
				fprintf(f, "  %-34s %s\n", syn, c->summary);
		}
}

static void help_top(FILE *f)
{
	fputs("usage: lms [GLOBAL OPTIONS] COMMAND [OPERANDS] [OPTIONS]\n"
	      "\n"
	      "The command-line client of the LMS: students, instructors and "
	      "admins.\n"
	      "\ncommands:\n",
	      f);
	help_list(f, NULL);
	print_globals(f);
	fputs("\n"
	      "Nodes come from --nodes, else $LMS_NODES, else the config file "
	      "(--config,\n$LMS_CONFIG or ./config.json). The session token is "
	      "kept in\n$XDG_CONFIG_HOME/lms/session (~/.config/lms/session); "
	      "$LMS_TOKEN overrides it.\n"
	      "Times are shown in local time and typed as ISO-8601 "
	      "(2026-11-23T10:00:00Z)\nor \"YYYY-MM-DD HH:MM\" in local time.\n"
	      "Exit status: 0 ok, 1 error, 2 usage, 3 not logged in, 4 "
	      "permission denied,\n5 not found, 6 invalid or conflict, 7 "
	      "cluster unavailable.\n"
	      "\"lms COMMAND --help\" describes a command.\n",
	      f);
}

int cli_usage(struct cli *cli, const char *path, const char *fmt, ...)
{
	char msg[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	if (cli->json) {
		cli_error(cli, EXIT_USAGE, "USAGE", "%s%s%s", path ? path : "",
		          path ? ": " : "", msg);
	} else {
		fprintf(stderr, "lms: %s%s%s\n", path ? path : "",
		        path ? ": " : "", msg);
		fprintf(stderr, "Try \"lms %s%s--help\".\n", path ? path : "",
		        path ? " " : "");
	}
	return EXIT_USAGE;
}

/* ------------------------------------------------------------ dispatch */

/* Words of argv that match path ("assignment create" -> 2), or 0. */
static int path_match(const char *path, int argc, char **argv)
{
	int words = 0;
	const char *p = path;
	while (*p) {
		const char *end = strchr(p, ' ');
		size_t len = end ? (size_t)(end - p) : strlen(p);
		if (words >= argc || strlen(argv[words]) != len ||
		    strncmp(argv[words], p, len) != 0)
			return 0;
		words++;
		p += len;
		if (*p == ' ')
			p++;
	}
	return words;
}

static bool is_group(const char *w)
{
	size_t len = strlen(w);
	for (const struct command *const *t = all_tables(); *t; t++)
		for (const struct command *c = *t; c->path; c++)
			if (strncmp(c->path, w, len) == 0 && c->path[len] == ' ')
				return true;
	return false;
}

int cli_dispatch(struct cli *cli, int argc, char **argv)
{
	const struct command *best = NULL;
	int best_words = 0;
	for (const struct command *const *t = all_tables(); *t; t++)
		for (const struct command *c = *t; c->path; c++) {
			int w = path_match(c->path, argc, argv);
			if (w > best_words) {
				best = c;
				best_words = w;
			}
		}
	if (!best) {
		if (argc > 0 && is_group(argv[0])) {
			bool help = argc == 1 ? false
			                      : strcmp(argv[1], "--help") == 0 ||
			                                strcmp(argv[1], "-h") == 0;
			if (help) {
				printf("usage: lms %s SUBCOMMAND ...\n\n"
				       "subcommands:\n", argv[0]);
				help_list(stdout, argv[0]);
				print_globals(stdout);
				return 0;
			}
			if (!cli->json) {
				fprintf(stderr, "lms: %s: %s\n", argv[0],
				        argc == 1 ? "needs a subcommand"
				                  : "unknown subcommand");
				fprintf(stderr, "usage:\n");
				help_list(stderr, argv[0]);
				return EXIT_USAGE;
			}
			return cli_usage(cli, argv[0], argc == 1
			                 ? "needs a subcommand"
			                 : "unknown subcommand \"%s\"", argv[1]);
		}
		return cli_usage(cli, NULL, "unknown command \"%s\"",
		                 argc > 0 ? argv[0] : "");
	}
	struct args a;
	memset(&a, 0, sizeof a);
	bool help = false;
	int used = 0;
	int rc = parse_args(cli, best->path, argc - best_words,
	                    argv + best_words, best->opts, &a, &help, false,
	                    &used);
	if (rc)
		return rc;
	if (help) {
		help_command(best);
		return 0;
	}
	if (a.npos < best->min_pos || a.npos > best->max_pos) {
		char syn[256];
		snprintf(syn, sizeof syn, "lms %s %s", best->path,
		         best->operands);
		return cli_usage(cli, best->path, "%s operands; usage: %s",
		                 a.npos < best->min_pos ? "missing" : "too many",
		                 syn);
	}
	return best->run(cli, &a);
}

int cli_main(int argc, char **argv)
{
	struct cli cli;
	memset(&cli, 0, sizeof cli);
	cli.tty_out = isatty(STDOUT_FILENO) == 1;
	cli.tty_err = isatty(STDERR_FILENO) == 1;

	if (argc == 2 && strcmp(argv[1], "--version") == 0) {
		printf("lms %s\n", LMS_VERSION);
		return 0;
	}
	struct args a;
	memset(&a, 0, sizeof a);
	bool help = false;
	int used = 0;
	int rc = parse_args(&cli, NULL, argc - 1, argv + 1, NULL, &a, &help,
	                    true, &used);
	if (rc)
		return rc;
	int rest = argc - 1 - used;
	char **rest_argv = argv + 1 + used;
	if (rest == 0) {
		if (help) {
			help_top(stdout);
			return 0;
		}
		if (cli.json)
			return cli_usage(&cli, NULL, "no command given");
		help_top(stderr);
		return EXIT_USAGE;
	}
	if (help) {
		/* "lms --help assignment create": help of what follows */
		char **v = calloc((size_t)rest + 2, sizeof *v);
		if (!v)
			return EXIT_FAIL;
		memcpy(v, rest_argv, (size_t)rest * sizeof *v);
		v[rest] = "--help";
		rc = cli_dispatch(&cli, rest + 1, v);
		free(v);
	} else {
		rc = cli_dispatch(&cli, rest, rest_argv);
	}
	lmsc_free(cli.c);
	free(cli.token);
	fflush(stdout);
	if (ferror(stdout) && rc == 0) {
		fprintf(stderr, "lms: could not write the output\n");
		rc = EXIT_FAIL;
	}
	return rc;
}
