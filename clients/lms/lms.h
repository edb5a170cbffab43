/*
 * lms.h -- what the files of the `lms` command-line client share.
 *
 * Why this exists
 * ---------------
 * `lms` is one program with some forty subcommands (issue 6, README
 * "The lms command"). They all need the same few things, kept here so a
 * command file holds only what is particular to its commands:
 *
 *   main.c      main(): hands the command line to cli_main()
 *   dispatch.c  global options, the command table, --help at every level,
 *               the argument parser every command goes through
 *   rpc.c       one call to the cluster: the session token, stale reads,
 *               exactly-once writes (LMSC_WRITE), Status -> exit code,
 *               errors for people or as JSON on stderr
 *   session.c   the session token file ($XDG_CONFIG_HOME/lms/session)
 *   output.c    aligned tables, JSON documents (protobuf -> JSON), times
 *               in local time, sizes
 *   input.c     times typed by people, passwords without echo, files in
 *               and out (progress bars, no silent overwrite)
 *   cmd_*.c     the commands, by area
 *   menu.c      `lms menu`, the interactive front end over the commands
 *
 * Ownership
 * ---------
 * One struct cli per process (the menu reuses it for every action). The
 * cluster client is created on first use, so `--help` and usage errors
 * never need a node list. Strings in struct args point into argv.
 *
 * Exit status (every command)
 * ---------------------------
 *   0 ok, 1 other error, 2 usage, 3 unauthenticated (no or expired
 *   session, wrong password), 4 permission denied, 5 not found, 6 invalid
 *   or conflict (bad value, cut-off passed, already exists, a local file
 *   that would be overwritten), 7 cluster unavailable.
 */
#ifndef LMS_CLI_H
#define LMS_CLI_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "client.h"

enum {
	EXIT_OK = 0,
	EXIT_FAIL = 1,
	EXIT_USAGE = 2,
	EXIT_UNAUTH = 3,
	EXIT_DENIED = 4,
	EXIT_NOTFOUND = 5,
	EXIT_INVALID = 6,
	EXIT_UNAVAILABLE = 7,
};

/* Files above this size get a progress bar (on a terminal). */
#define CLI_PROGRESS_MIN (1u << 20)
/* The largest file lms reads for an upload: a request is one frame and
 * the client library refuses frames over 32 MiB; the cluster's own
 * limits.max_upload_bytes (16 MiB shipped) answers TOO_LARGE below it. */
#define CLI_MAX_FILE (31u << 20)

struct cli {
	/* global options */
	const char *nodes;      /* --nodes */
	const char *config;     /* --config */
	unsigned timeout_ms;    /* --timeout, 0 = the library's defaults */
	bool json;              /* --json */
	bool quiet;             /* -q */
	bool stale;             /* --stale */
	/* the process */
	bool tty_out, tty_err;  /* stdout / stderr are terminals */
	bool in_menu;           /* commands run from lms menu */
	struct lmsc *c;         /* created by cli_client() */
	char *token;            /* loaded by cli_token(); malloc'd */
	bool token_from_env;    /* LMS_TOKEN */
	/* errors: cli_error() records the last one here and prints it
	 * unless mute (a caller that handles a refusal itself) */
	bool mute;
	char last_code[32];
	char last_err[1024];
};

/* ------------------------------------------------------------ arguments */

enum opt_kind { OPT_FLAG, OPT_VALUE, OPT_LIST };

struct opt_spec {
	const char *name;       /* long name without "--" */
	char shrt;              /* short letter or 0 */
	enum opt_kind kind;
	const char *metavar;    /* "FILE" for options with a value */
	const char *help;
};

#define ARGS_MAX_POS 8
#define ARGS_MAX_OCC 64

/* A command line after parsing: operands and option occurrences. */
struct args {
	const struct opt_spec *spec; /* the command's options (name NULL ends) */
	int npos;
	char *pos[ARGS_MAX_POS];
	int nocc;
	struct {
		int opt;             /* index into spec */
		const char *val;     /* NULL for a flag */
	} occ[ARGS_MAX_OCC];
};

/* The last value of option name (NULL when not given). */
const char *arg_get(const struct args *a, const char *name);
/* Whether flag (or option) name was given. */
bool arg_has(const struct args *a, const char *name);
/* Every value of a repeatable option, in order, into out (max); count. */
size_t arg_list(const struct args *a, const char *name, const char **out,
                size_t max);

struct command {
	const char *path;       /* "assignment create" */
	const char *operands;   /* "CODE" for the synopsis, may be "" */
	int min_pos, max_pos;
	const struct opt_spec *opts; /* may be NULL; name NULL ends */
	const char *summary;    /* one line */
	const char *details;    /* more help (may be NULL) */
	int (*run)(struct cli *cli, const struct args *a);
};

/* The whole program: global options, then the command (main.c). */
int cli_main(int argc, char **argv);

/* Runs one command line (argv[0] is the first word of the command, e.g.
 * "assignment"); global options are accepted after the command too.
 * Returns the exit status. Used by main and by the menu. */
int cli_dispatch(struct cli *cli, int argc, char **argv);

/* Usage error for the command: message, hint, EXIT_USAGE. */
int cli_usage(struct cli *cli, const char *path, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* ------------------------------------------------------------ rpc.c */

/* The cluster client (created on first use); NULL after reporting the
 * error (node list missing or bad). *rc gets the exit status then. */
struct lmsc *cli_client(struct cli *cli, int *rc);

enum call_kind {
	CALL_READ,         /* linearizable, or stale with --stale */
	CALL_WRITE,        /* LMSC_WRITE: a seq the retries reuse */
	CALL_PUBLIC_WRITE, /* a write without a session (login) */
	CALL_LOCAL,        /* status: any node, no token */
};

/*
 * Sends req and waits for the answer. Returns 0 with *resp (status OK,
 * result of kind want unless want is 0), or the exit status after
 * reporting the error (stderr, JSON there with --json); *resp is NULL
 * then. Needs a session except for CALL_PUBLIC_WRITE and CALL_LOCAL.
 * spin: a label for a spinner on a terminal while waiting (NULL: none).
 */
int cli_call(struct cli *cli, Lms__Rpc__Request *req, enum call_kind kind,
             int want, Lms__Rpc__Response **resp, const char *spin);

/* The exit status of a Status of lms.proto. */
int cli_status_exit(int status);

/* Reports an error: "lms: message" for people, or one JSON object
 * {"error": code, "message": ..., "exit_code": rc} on stderr. Returns rc. */
int cli_error(struct cli *cli, int rc, const char *code, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/* A message for people on stderr (nothing with -q or --json). */
void cli_note(struct cli *cli, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* The session token, loaded once; NULL after reporting "not logged in"
 * (EXIT_UNAUTH in *rc). */
const char *cli_token(struct cli *cli, int *rc);

/* ------------------------------------------------------------ session.c */

/* The session file path into buf: $XDG_CONFIG_HOME/lms/session, else
 * $HOME/.config/lms/session. -1 when neither is set. */
int session_path(char *buf, size_t len);
/* Reads the token (64 hex digits) into tok (65 bytes). 0, -ENOENT (no
 * file), -EINVAL (damaged; message in err), or another -errno. */
int session_load(char tok[65], char *err, size_t errlen);
/* Stores the token: directory 0700, file 0600, written to a temporary
 * file and renamed. 0 or -errno with a message in err. */
int session_save(const char *tok, char *err, size_t errlen);
/* Deletes the file; 0 also when there was none. */
int session_delete(void);

/* ------------------------------------------------------------ output.c */

/* Prints j (stolen) as one JSON document on stdout. */
void out_json(json_t *j);
/* A protobuf message as JSON: every field under its proto name, enums
 * as lower-case names (ROLE_ADMIN -> "admin"), absent messages as null,
 * bytes left out. NULL m gives null. */
json_t *pb_json(const ProtobufCMessage *m);
/* The lower-case name of an enum value (as pb_json writes it). */
const char *enum_name(const ProtobufCEnumDescriptor *d, int v);

struct table;
struct table *table_new(int ncols, ...); /* headers */
/* Adds a row of ncols cells (copied; NULL shown as "-"). */
void table_row(struct table *t, ...);
/* The same with arrays (ncols <= 64). */
struct table *table_new_v(int ncols, const char *const *headers);
void table_row_v(struct table *t, const char *const *cells);
/* Limits column col to max display characters (longer: cut with "..."). */
void table_max(struct table *t, int col, int max);
/* Right-aligns column col (numbers). */
void table_right(struct table *t, int col);
/* Prints (with the header row if headers) and frees. */
void table_print(struct table *t, FILE *f, bool headers);
/* Frees without printing (NULL is fine). */
void table_free(struct table *t);
size_t table_rows(const struct table *t);

/* An ISO-8601 UTC time from the wire in local time ("2026-11-23 11:00");
 * "-" for "". buf LMS_TIME_MAX bytes. */
#define LMS_TIME_MAX 64
const char *fmt_time(const char *iso, char *buf, size_t len);
/* "3 days", "5 hours", "12 minutes" for a duration in ms (>= 0). */
const char *fmt_duration(int64_t ms, char *buf, size_t len);
/* "1.2 MiB" */
const char *fmt_size(uint64_t n, char *buf, size_t len);
/* A score without needless decimals ("85", "76.5"). */
const char *fmt_score(double v, char *buf, size_t len);
/* text on one line (runs of blanks and newlines made one space), cut to
 * max characters with "..." at a character boundary, into buf. */
const char *fmt_excerpt(const char *text, size_t max, char *buf, size_t len);
/* Printf into a static ring of buffers (for table cells). */
const char *fmt(const char *f, ...) __attribute__((format(printf, 1, 2)));

/* ------------------------------------------------------------ input.c */

/* A time typed by a person: ISO-8601 with a zone, or "YYYY-MM-DD HH:MM"
 * (also with 'T' and seconds) in local time. Canonical UTC ISO into out
 * (LMS_ISO_MAX bytes). 0 or -1 with a message in err. */
int parse_time(const char *s, char *out, char *err, size_t errlen);
/* A positive id. */
int parse_id(const char *s, uint64_t *id);
/* A number 0..max with at most two decimals. */
int parse_points(const char *s, double max, double *v);

/* Reads a password: from stdin (one line) when from_stdin or when
 * stdin is not a terminal and allow_line is set, else from the terminal
 * without echo. malloc'd, NULL after reporting the error (*rc). */
char *read_password(struct cli *cli, const char *prompt, bool from_stdin,
                    bool allow_line, int *rc);

/* Reads a whole regular file (at most CLI_MAX_FILE bytes), with a
 * progress bar on a terminal above CLI_PROGRESS_MIN. NULL after
 * reporting the error (*rc). */
uint8_t *file_read(struct cli *cli, const char *path, size_t *len, int *rc);

/* The last path component of a name from the server, made safe as a file
 * name in the current directory (no '/', no control characters, not
 * "." or "..", not starting with '-' or '.'). */
void safe_basename(const char *name, char *out, size_t len);

/* Checks that path may be written (it does not exist, or force). 0 or
 * the exit status after reporting. "-" is stdout. */
int file_check_target(struct cli *cli, const char *path, bool force);
/* Writes data to path ("-": stdout) through a temporary file in the same
 * directory: never a half-written file, never an existing file replaced
 * unless force. Progress bar on a terminal above CLI_PROGRESS_MIN. */
int file_write(struct cli *cli, const char *path, const uint8_t *data,
               size_t len, bool force);

/* Saves a downloaded file f (data filled by the server) to out ("-":
 * stdout; NULL: the server's file name made safe by safe_basename, in the
 * current directory) after checking its SHA-256 against f->sha256. The
 * path used goes to saved (len bytes). 0 or the exit status. */
int file_save_download(struct cli *cli, const Lms__Rpc__File *f,
                       const char *out, bool force, char *saved, size_t len);

/* Progress on stderr (only on a terminal, never with -q / --json). */
struct progress;
struct progress *progress_start(struct cli *cli, const char *label,
                                uint64_t total);
void progress_update(struct progress *p, uint64_t done);
void progress_end(struct progress *p);
/* A spinner with the elapsed time, drawn by a thread until stopped. */
struct spinner;
struct spinner *spinner_start(struct cli *cli, const char *label);
void spinner_stop(struct spinner *s);

/* Reads one line from stdin for the menu (prompt on stdout). malloc'd,
 * without its newline; NULL at end of input. */
char *prompt_line(const char *prompt);

/* ------------------------------------------------------------ stream.c */

/* Following a tutor's answer stream (tutord/live.h) for `lms ask`. */
struct ask_stream {
	bool print;          /* show the text on stdout as it comes */
	unsigned attempt;    /* the tutor's request being shown (0: none) */
	char *text;          /* its text so far, NUL-terminated */
	size_t text_len;
	bool waiting;        /* the tutor said it waits for its model */
	bool interrupted;    /* an attempt failed on the way */
	bool ended, stored;  /* the end line came: stored or released */
	char reason[256];    /* why it was released */
	bool shown_any;      /* some text was printed */
	bool at_line_start;
	/* called once, the first time the tutor says it waits for its
	 * model (may be NULL) */
	void (*on_waiting)(void *arg);
	void *arg;
};
/* The stream URL in a question's claimed_by, or NULL. */
const char *ask_stream_url(const char *claimed_by);
int ask_stream_init(struct ask_stream *st, bool print); /* 0 or -1 */
void ask_stream_free(struct ask_stream *st);
/* Follows url until the stream ends (0: st->ended) or fails (-1, why in
 * err), at the latest at deadline_ms (lms_now_ms clock). */
int ask_stream_follow(struct ask_stream *st, const char *url,
                      uint64_t deadline_ms, char *err, size_t errlen);

/* ------------------------------------------------------------ commands */

extern const struct command cmds_account[];
extern const struct command cmds_course[];
extern const struct command cmds_work[];
extern const struct command cmds_material[];
extern const struct command cmds_query[];
extern const struct command cmds_report[];
extern const struct command cmds_menu[];

/* Sets the oneof of a request: SET_OP(&req, whoami, WHOAMI, &w). */
#define SET_OP(req, field, OPCASE, msg)                                      \
	do {                                                                 \
		(req)->op_case = LMS__RPC__REQUEST__OP_##OPCASE;             \
		(req)->field = (msg);                                        \
	} while (0)
#define RESULT(OPCASE) LMS__RPC__RESPONSE__RESULT_##OPCASE

/* Paging helpers (rpc.c). */

/*
 * Paging through a list (Page.after = the previous answer's next) up to
 * --limit entries:
 *
 *   struct pager pg;
 *   pager_init(&pg, limit);
 *   while ((page = pager_next(&pg))) {
 *       ...request with page...; rc = cli_call(...); if (rc) break;
 *       size_t k = pager_took(&pg, n_items_of_answer, answer->next);
 *       ...show the first k items...
 *   }
 *   pager_free(&pg);
 */
struct pager {
	long limit;        /* 0 = all */
	size_t count;      /* items taken so far */
	char *after;       /* cursor for the next page (malloc'd) */
	bool done;
	uint32_t page_size; /* $LMS_PAGE_SIZE, 0 = the cluster's */
	Lms__Rpc__Page page;
};
void pager_init(struct pager *p, long limit);
Lms__Rpc__Page *pager_next(struct pager *p);
size_t pager_took(struct pager *p, size_t n, const char *next);
void pager_free(struct pager *p);
/* --limit N of a list command (0 = all); -1 after a usage error (*rc). */
long arg_limit(struct cli *cli, const struct args *a, const char *path,
               int *rc);

/* The whoami of the session (cmd_account.c; the caller frees with
 * lmsc_response_free): NULL and *rc on failure, the error reported unless
 * !report. */
Lms__Rpc__Response *whoami_fetch(struct cli *cli, int *rc, bool report);
/* Logs in as user (password from the terminal, or a line of stdin in the
 * menu / with from_stdin) and stores the session. 0 or the exit status. */
int login_user(struct cli *cli, const char *user, bool from_stdin);

#define LIST_OPTS                                                            \
	{"limit", 0, OPT_VALUE, "N", "show at most N entries"}

#endif
