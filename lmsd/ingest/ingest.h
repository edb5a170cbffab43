/*
 * ingest.h -- text extraction and chunking of uploaded course materials.
 *
 * Why this exists
 * ---------------
 * Instructors upload course materials (PDF or plain text). The tutor needs
 * their text, cut into chunks that PostgreSQL indexes with a tsvector. The
 * apply step must be deterministic, so extraction never runs there: the node
 * that receives an upload calls ingest_extract() and ingest_chunk() BEFORE
 * proposing, and the command carries the resulting text and chunks.
 *
 * A PDF is hostile input. It is parsed by poppler-glib, a large C++ library,
 * in a forked child process under setrlimit(RLIMIT_CPU, RLIMIT_AS), with a
 * wall-clock deadline enforced by the parent (SIGKILL) and a bounded amount
 * of output. The child writes the pages' text back over a pipe in a small
 * framed format (ingest_internal.h); the parent trusts none of it: every
 * length, page number and byte is checked, and the text is cleaned again in
 * the parent. A PDF that crashes, loops or eats memory kills only the child.
 * Plain text is handled in the calling process (no child needed).
 *
 *     struct ingest_result r;
 *     struct ingest_chunks c;
 *     char err[256];
 *     int rv = ingest_extract(buf, len, "notes.pdf", NULL, &r, err, sizeof err);
 *     if (rv < 0)
 *         return reply_error(rv, err);   // err: a message for the user
 *     if (r.warning[0] != '\0')
 *         LMS_WARN("%s", r.warning);      // stored anyway
 *     rv = ingest_chunk(&r, 2000, 200, &c);
 *     ...
 *     ingest_chunks_free(&c);
 *     ingest_result_free(&r);
 *
 * Type detection
 * --------------
 * The content decides, the file name is only a hint:
 *   - data starting with "%PDF-" is a PDF (whatever its name);
 *   - otherwise a file named *.pdf is refused (INGEST_ERR_NOT_PDF);
 *   - otherwise the data is plain text if it is valid UTF-8 (a leading
 *     UTF-8 BOM is stripped) and contains no NUL byte; anything else is
 *     refused (INGEST_ERR_UNSUPPORTED).
 *
 * Text guarantees
 * ---------------
 * Every page's text in a result is valid UTF-8 with no NUL byte and no
 * control character other than '\n' and '\t': CR LF and a lone CR become
 * '\n', other C0 controls, DEL and C1 controls (U+0080..U+009F) are removed,
 * and (PDF only, since text files must be valid to be accepted) an invalid
 * UTF-8 sequence coming from the extractor becomes U+FFFD. So it can go into
 * a PostgreSQL text column as is.
 *
 * Process caveats (the PDF path)
 * ------------------------------
 * ingest_extract() forks and then blocks until the child is done (at most
 * wall_ms): call it from a worker thread, not the event loop. It reaps its
 * own child with waitpid(), so the process must not set SIGCHLD to SIG_IGN
 * nor reap unknown children with waitpid(-1, ...). The child does not
 * exec(): it runs poppler in a copy of the caller. The caller never uses
 * poppler/glib itself, so the child starts with fresh glib state; glibc
 * makes malloc and stdio safe to use after fork() even in a threaded
 * process. The child's stdout and stderr go to /dev/null.
 *
 * Ownership
 * ---------
 * Inputs (data, filename, lim) are borrowed for the duration of the call
 * and never kept. A result or chunk set is owned by the caller once the
 * call returns 0 and must be released with ingest_result_free() or
 * ingest_chunks_free(); on failure nothing is left to free (the output is
 * zeroed, so calling the free function anyway is harmless). Chunks copy
 * their text: they do not point into the result.
 *
 * Errors
 * ------
 * Functions return 0 or a negative value of enum ingest_error. The message
 * buffer receives a PostgreSQL-style message meant for the user, naming the
 * file (sanitized and cut short, since it comes from the user):
 *     could not extract text from "notes.pdf": file is encrypted
 * The functions are thread-safe (no global state).
 */
#ifndef LMS_INGEST_H
#define LMS_INGEST_H

#include <stddef.h>

/* Defaults used for every limit left at 0 (or when lim is NULL). */
#define INGEST_DEFAULT_MAX_INPUT_BYTES ((size_t)16 << 20) /* 16 MiB */
#define INGEST_DEFAULT_MAX_PAGES 2000
#define INGEST_DEFAULT_MAX_TEXT_BYTES ((size_t)16 << 20) /* 16 MiB */
#define INGEST_DEFAULT_CPU_SECONDS 30
#define INGEST_DEFAULT_MEMORY_BYTES ((size_t)512 << 20) /* 512 MiB */
#define INGEST_DEFAULT_WALL_MS 45000

/* Upper bounds accepted for the limits (INGEST_ERR_ARG beyond them). */
#define INGEST_MAX_PAGES_LIMIT 100000
#define INGEST_MAX_TEXT_BYTES_LIMIT ((size_t)1 << 30) /* 1 GiB */

/* Longest warning, NUL included. */
#define INGEST_WARNING_MAX 128

/* Warning stored with a PDF whose pages hold no text. */
#define INGEST_WARNING_NO_TEXT \
	"no text could be extracted: the PDF may be a scanned image"
/* Warning stored with an empty (or whitespace-only) text file. */
#define INGEST_WARNING_EMPTY_TEXT "the file contains no text"

enum ingest_error {
	INGEST_OK = 0,
	INGEST_ERR_ARG = -1,            /* NULL pointer, limit out of range */
	INGEST_ERR_NOMEM = -2,          /* the calling process ran out of memory */
	INGEST_ERR_TOO_LARGE = -3,      /* input larger than max_input_bytes */
	INGEST_ERR_NOT_PDF = -4,        /* named *.pdf but no PDF header */
	INGEST_ERR_UNSUPPORTED = -5,    /* neither a PDF nor UTF-8 text */
	INGEST_ERR_ENCRYPTED = -6,      /* PDF needs a password */
	INGEST_ERR_CORRUPT = -7,        /* truncated/damaged PDF, or no pages */
	INGEST_ERR_TOO_MANY_PAGES = -8, /* more than max_pages */
	INGEST_ERR_TEXT_TOO_LARGE = -9, /* more than max_text_bytes of text */
	INGEST_ERR_TIMEOUT = -10,       /* wall_ms elapsed; child killed */
	INGEST_ERR_CPU = -11,           /* cpu_seconds of CPU time used */
	INGEST_ERR_MEMORY = -12,        /* memory_bytes exhausted */
	INGEST_ERR_EXTRACTOR = -13,     /* child crashed or sent bad output */
	INGEST_ERR_SYSTEM = -14,        /* pipe/fork/wait failed */
};

/*
 * Resource limits. A field left at 0 takes its default (above); pass NULL
 * for all defaults. Only max_input_bytes applies to text files; the others
 * bound the PDF extractor child:
 *   max_input_bytes  size of the upload, checked before anything else
 *   max_pages        pages of a PDF (the child says how many before it
 *                    extracts; the parent refuses more)
 *   max_text_bytes   total text of all pages, as received and as cleaned
 *   cpu_seconds      RLIMIT_CPU of the child (SIGXCPU, then SIGKILL)
 *   memory_bytes     address space the child may add to what it inherited
 *                    from the caller at fork time (RLIMIT_AS is set to the
 *                    inherited size plus this); not applied in an
 *                    AddressSanitizer build, whose shadow mappings make
 *                    RLIMIT_AS unusable
 *   wall_ms          real time from fork to the last frame; the parent
 *                    kills the child when it runs out
 */
struct ingest_limits {
	size_t max_input_bytes;
	size_t max_pages;
	size_t max_text_bytes;
	unsigned cpu_seconds;
	size_t memory_bytes;
	unsigned wall_ms;
};

/* Fill *lim with the defaults. */
void ingest_limits_default(struct ingest_limits *lim);

enum ingest_type {
	INGEST_TYPE_NONE = 0,
	INGEST_TYPE_PDF = 1,
	INGEST_TYPE_TXT = 2,
};

/* "pdf", "txt", or "none". */
const char *ingest_type_name(enum ingest_type type);

/* One page of text: NUL-terminated, len == strlen(text). */
struct ingest_page {
	char *text;
	size_t len;
};

/*
 * An extraction. pages[i] is page i + 1; a text file is one page. A page
 * with no text has text == "" (never NULL). text_bytes is the sum of the
 * pages' len. warning is "" or a message for a file stored anyway (a PDF
 * with no text at all: INGEST_WARNING_NO_TEXT).
 */
struct ingest_result {
	enum ingest_type type;
	size_t page_count;
	struct ingest_page *pages;
	size_t text_bytes;
	char warning[INGEST_WARNING_MAX];
};

/*
 * Detect the type of data[0..len) and extract its text into *out (see the
 * top of this file). filename may be NULL; it is used only as a hint and in
 * messages. lim may be NULL (defaults). On error, *out is zeroed and
 * err[0..errlen) holds the message (err may be NULL when errlen is 0).
 *
 * Returns 0, or INGEST_ERR_ARG (NULL out, NULL data with len > 0, a limit
 * out of range), INGEST_ERR_NOMEM, INGEST_ERR_TOO_LARGE,
 * INGEST_ERR_NOT_PDF, INGEST_ERR_UNSUPPORTED, and for PDFs
 * INGEST_ERR_ENCRYPTED, INGEST_ERR_CORRUPT, INGEST_ERR_TOO_MANY_PAGES,
 * INGEST_ERR_TEXT_TOO_LARGE, INGEST_ERR_TIMEOUT, INGEST_ERR_CPU,
 * INGEST_ERR_MEMORY, INGEST_ERR_EXTRACTOR, INGEST_ERR_SYSTEM.
 */
int ingest_extract(const void *data, size_t len, const char *filename,
		   const struct ingest_limits *lim, struct ingest_result *out,
		   char *err, size_t errlen)
	__attribute__((warn_unused_result));

/* Free what *r owns and zero it. NULL or a zeroed result is fine. */
void ingest_result_free(struct ingest_result *r);

/*
 * A chunk of a document's text. text is NUL-terminated, len bytes, never
 * empty, valid UTF-8, without leading or trailing whitespace. page is the
 * 1-based page its first byte lies on, last_page the page of its last byte
 * (a chunk may run across a page break). ordinal is its index in the set
 * (0, 1, 2, ...).
 */
struct ingest_text_chunk {
	char *text;
	size_t len;
	size_t page;
	size_t last_page;
	size_t ordinal;
};

struct ingest_chunks {
	size_t count;
	struct ingest_text_chunk *items;
};

/* Smallest target_bytes ingest_chunk() accepts. */
#define INGEST_CHUNK_MIN_TARGET 16

/*
 * Cut the text of r into chunks of at most target_bytes each, ending on the
 * best boundary in the second half of that window: a paragraph break (a
 * blank line, or a page break), else the end of a sentence, else a line
 * break, else (anywhere in the window) a space; a word longer than the
 * window is cut between two UTF-8 characters, never inside one. Each chunk
 * after the first starts up to overlap_bytes (and at most half the previous
 * chunk's length) before where the previous one ended, at the start of a
 * word (no overlap when no word starts in that span). Deterministic: the same result and parameters always give the
 * same chunks. A result with no text gives zero chunks. For retrieval a
 * target of 1-4 KB with an overlap of about a tenth suits well; PostgreSQL
 * caps a tsvector at 1 MB, far above any sensible chunk.
 *
 * Returns 0, INGEST_ERR_ARG (NULL pointer, target_bytes below
 * INGEST_CHUNK_MIN_TARGET, overlap_bytes > target_bytes / 2) or
 * INGEST_ERR_NOMEM. On error *out is zeroed.
 */
int ingest_chunk(const struct ingest_result *r, size_t target_bytes,
		 size_t overlap_bytes, struct ingest_chunks *out)
	__attribute__((warn_unused_result));

/* Free what *c owns and zero it. NULL or a zeroed set is fine. */
void ingest_chunks_free(struct ingest_chunks *c);

#endif /* LMS_INGEST_H */
