/*
 * ingest_internal.h -- what the files of lmsd/ingest/ share with each other (and
 * with the unit tests), not with the rest of the project.
 *
 * Why this exists
 * ---------------
 * lmsd/ingest/ is split by concern: text.c cleans text, proto.c speaks the pipe
 * format between the extractor child and its parent, sandbox.c runs the
 * child under limits, pdf_child.c is the only file that touches poppler,
 * extract.c ties them together behind ingest_extract(), chunk.c cuts text.
 * The pipe parser is declared here so that tests can feed it hostile byte
 * streams without a child process.
 *
 * The pipe format (child -> parent)
 * ---------------------------------
 * A sequence of frames, each
 *
 *     u8 tag | u32 length (big-endian) | u32 arg (big-endian) | bytes
 *
 * where length counts arg and bytes (so length >= 4). In order:
 *
 *     'N' arg = page count, no bytes           (first frame), then
 *     'P' arg = page index (0, 1, ...), bytes = that page's text, once per
 *         page in order, then
 *     'D' arg = page count again, no bytes     (end of output)
 * or, instead of all of that,
 *     'E' arg = enum ingest_child_error, bytes = the PDF library's reason.
 *
 * The parent accepts nothing else: a page count of 0 or above max_pages, a
 * page out of order, a length beyond what the text budget still allows, an
 * unknown tag, a 'D' before the last page or with the wrong count: the
 * child is killed and the upload refused. The child's bytes are cleaned
 * (ingest_text_clean) whatever they contain.
 *
 * Ownership: a struct ingest_proto owns the pages it has received until
 * ingest_proto_take() moves them into a result; ingest_proto_free()
 * releases whatever is left.
 */
#ifndef LMS_INGEST_INTERNAL_H
#define LMS_INGEST_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ingest.h"

/* ---- text (text.c) ----------------------------------------------------- */

/*
 * Decode one UTF-8 sequence (Unicode table 3-7) at s[0..n), n >= 1.
 * Returns its length (1..4) and sets *cp, or, for an ill-formed sequence,
 * minus the length of its maximal subpart (the bytes to replace by one
 * U+FFFD, 1..3).
 */
int ingest_utf8_next(const unsigned char *s, size_t n, uint32_t *cp);

/* Why text fails the plain-text check, for messages. */
enum ingest_text_flaw {
	INGEST_TEXT_OK = 0,
	INGEST_TEXT_INVALID_UTF8 = 1,
	INGEST_TEXT_NUL = 2,
};

/*
 * Check s[0..n) for the plain-text rules (valid UTF-8, no NUL). On a flaw,
 * *offset is the byte offset of the first offending sequence.
 */
enum ingest_text_flaw ingest_text_check(const char *s, size_t n,
					size_t *offset);

/*
 * Clean s[0..n) into a new NUL-terminated string (*out, *outlen): CR LF and
 * CR become LF; C0 controls other than LF and TAB, DEL and C1 controls are
 * dropped (NUL included); each ill-formed UTF-8 sequence becomes U+FFFD.
 * Returns 0 or INGEST_ERR_NOMEM (*out untouched). Caller frees *out.
 */
int ingest_text_clean(const char *s, size_t n, char **out, size_t *outlen);

/* Size ingest_text_clean() would produce for s[0..n) (NUL excluded). */
size_t ingest_text_clean_size(const char *s, size_t n);

/* True if s[0..n) has nothing but ' ', '\t', '\n', '\r'. */
bool ingest_text_blank(const char *s, size_t n);

/* ---- pipe format (proto.c) --------------------------------------------- */

enum {
	INGEST_TAG_PAGES = 'N',
	INGEST_TAG_PAGE = 'P',
	INGEST_TAG_DONE = 'D',
	INGEST_TAG_ERROR = 'E',
};

/* What an 'E' frame reports. */
enum ingest_child_error {
	INGEST_CHILD_ENCRYPTED = 1, /* the document needs a password */
	INGEST_CHILD_DAMAGED = 2,   /* the library could not open it */
};

#define INGEST_FRAME_HEADER 9    /* tag + length + arg */
#define INGEST_REASON_MAX 256    /* longest reason kept from an 'E' frame */
#define INGEST_PROTO_MSG_MAX 256

enum ingest_proto_state {
	INGEST_PROTO_HEADER = 0, /* collecting the 9 header bytes */
	INGEST_PROTO_BODY,       /* collecting a frame's bytes */
	INGEST_PROTO_DONE,       /* a 'D' or 'E' frame arrived */
	INGEST_PROTO_FAILED,     /* refused; see err and msg */
};

struct ingest_proto {
	/* Limits, set by ingest_proto_init(). */
	size_t max_pages;
	size_t max_text_bytes;

	enum ingest_proto_state state;
	unsigned char header[INGEST_FRAME_HEADER];
	size_t header_have;
	unsigned char tag;
	uint32_t arg;
	char *body;            /* bytes of the current frame, body_len of them */
	size_t body_len;
	size_t body_have;

	size_t page_count;     /* from 'N'; 0 before it */
	size_t next_page;      /* pages received so far */
	struct ingest_page *pages; /* page_count entries, cleaned text */
	size_t raw_bytes;      /* text bytes received (before cleaning) */
	size_t clean_bytes;    /* text bytes kept (after cleaning) */

	/* After an 'E' frame: what the child reported (reason cleaned). */
	uint32_t child_error;
	char reason[INGEST_REASON_MAX];

	/* After a refusal: the error and its message (no file name). */
	int err;
	char msg[INGEST_PROTO_MSG_MAX];
};

void ingest_proto_init(struct ingest_proto *p, size_t max_pages,
		       size_t max_text_bytes);

/*
 * Feed n bytes read from the child. Returns 0 (more is expected), 1 (the
 * output is complete: state is INGEST_PROTO_DONE) or a negative enum
 * ingest_error with p->msg set (state INGEST_PROTO_FAILED). Bytes after the
 * end of the output are a protocol error. Once it has returned non-zero,
 * later calls return the same value without looking at the bytes.
 */
int ingest_proto_feed(struct ingest_proto *p, const void *buf, size_t n);

/*
 * After a 'D' frame: move the pages into *out (type PDF, page_count,
 * text_bytes, and the no-text warning when every page is blank). After an
 * 'E' frame: return INGEST_ERR_ENCRYPTED or INGEST_ERR_CORRUPT with the
 * message in msg. Any other state: INGEST_ERR_EXTRACTOR.
 */
int ingest_proto_take(struct ingest_proto *p, struct ingest_result *out,
		      char *msg, size_t msglen);

void ingest_proto_free(struct ingest_proto *p);

/*
 * Child side: write one frame to fd (blocking, EINTR-safe). Returns 0 or
 * -1 with errno set.
 */
int ingest_frame_write(int fd, unsigned char tag, uint32_t arg,
		       const void *bytes, size_t n);

/* ---- the extractor child (sandbox.c, pdf_child.c) ----------------------- */

/* Exit statuses of the child, besides 0. */
enum {
	INGEST_CHILD_EXIT_NOMEM = 70, /* an allocation failed (errno ENOMEM) */
	INGEST_CHILD_EXIT_SETUP = 71, /* could not set up its limits */
	INGEST_CHILD_EXIT_IO = 72,    /* could not write to the parent */
};

/*
 * Parent side: run the extractor child on a PDF (lim fully resolved, no
 * zero fields). On success fills *out; on failure returns a negative enum
 * ingest_error and puts the reason (no file name) in msg.
 */
int ingest_pdf_extract(const void *data, size_t len,
		       const struct ingest_limits *lim,
		       struct ingest_result *out, char *msg, size_t msglen);

/*
 * The extraction without the process around it: open the PDF with poppler
 * and write the frames to fd (blocking). Returns 0 once the output is
 * written (an 'E' frame and an early stop on a limit included), or -1 with
 * errno when a write failed. Frees everything it allocated. Only
 * ingest_child_run() and the fuzz target call it: poppler runs in the
 * sandbox, never in a daemon.
 */
int ingest_pdf_frames(int fd, const void *data, size_t len,
		      size_t max_pages, size_t max_text_bytes);

/*
 * Child side, after the sandbox is in place: ingest_pdf_frames(), then
 * _exit(0), or _exit(INGEST_CHILD_EXIT_IO) when a write failed. Never
 * returns.
 */
void ingest_child_run(int fd, const void *data, size_t len,
		      size_t max_pages, size_t max_text_bytes)
	__attribute__((noreturn));

#endif /* LMS_INGEST_INTERNAL_H */
