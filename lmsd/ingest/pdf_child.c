/*
 * pdf_child.c -- the extractor proper: poppler-glib, in the child process.
 *
 * Why this exists
 * ---------------
 * This is the only file of the project that calls poppler (and so glib).
 * It runs only in the child that sandbox.c forks, after the limits are set:
 * whatever poppler does with a hostile PDF -- crash, loop, allocate without
 * end -- happens in that child. The calling process never initializes glib
 * or poppler, so each child starts from fresh library state.
 *
 * What it does: open the document from memory (no file is written), report
 * an encrypted or unreadable document in one 'E' frame with poppler's
 * reason, else send the page count ('N'), then each page's text ('P') in
 * order, then 'D', and _exit(0). It stops early (and the parent refuses the
 * upload) when there are more pages than max_pages or more text than
 * max_text_bytes: at most one byte over the budget is announced, so the
 * parent sees the overflow without the child pushing megabytes first.
 *
 * _exit(), never exit(): the child is a copy of the caller (a daemon, a test
 * runner) whose atexit handlers and stdio buffers belong to the parent.
 * The work itself is ingest_pdf_frames(), which returns and frees what it
 * allocated, so that the fuzz target (tests/fuzz/fuzz_ingest_pdf.c) can run
 * it in process; ingest_child_run() only turns its result into an exit.
 */
#include "ingest_internal.h"

#include <stdbool.h>
#include <string.h>
#include <unistd.h>

#include <poppler.h>

int ingest_pdf_frames(int fd, const void *data, size_t len,
		      size_t max_pages, size_t max_text_bytes)
{
	GError *gerr = NULL;
	GBytes *bytes = g_bytes_new_static(data, len);
	PopplerDocument *doc;
	size_t total = 0;
	int n, rv;

	doc = poppler_document_new_from_bytes(bytes, NULL, &gerr);
	if (doc == NULL) {
		uint32_t kind = INGEST_CHILD_DAMAGED;
		const char *reason = "unknown error";
		size_t rlen;

		if (gerr != NULL) {
			if (gerr->domain == POPPLER_ERROR &&
			    gerr->code == POPPLER_ERROR_ENCRYPTED)
				kind = INGEST_CHILD_ENCRYPTED;
			if (gerr->message != NULL)
				reason = gerr->message;
		}
		rlen = strlen(reason);
		if (rlen >= INGEST_REASON_MAX)
			rlen = INGEST_REASON_MAX - 1;
		rv = ingest_frame_write(fd, INGEST_TAG_ERROR, kind, reason,
					rlen);
		g_clear_error(&gerr);
		g_bytes_unref(bytes);
		return rv;
	}

	n = poppler_document_get_n_pages(doc);
	if (n < 0)
		n = 0;
	rv = ingest_frame_write(fd, INGEST_TAG_PAGES, (uint32_t)n, NULL, 0);
	if (rv != 0 || n == 0 || (size_t)n > max_pages)
		goto out;

	for (int i = 0; i < n && rv == 0; i++) {
		PopplerPage *page = poppler_document_get_page(doc, i);
		char *text = page != NULL ? poppler_page_get_text(page) : NULL;
		size_t tlen = text != NULL ? strlen(text) : 0;
		bool over = tlen > max_text_bytes - total;

		/* Over the budget: announce one byte too many; the parent
		 * refuses. */
		if (over)
			tlen = max_text_bytes - total + 1;
		total += tlen;
		rv = ingest_frame_write(fd, INGEST_TAG_PAGE, (uint32_t)i,
					text != NULL ? text : "", tlen);
		g_free(text);
		if (page != NULL)
			g_object_unref(page);
		if (over)
			goto out;
	}
	if (rv == 0)
		rv = ingest_frame_write(fd, INGEST_TAG_DONE, (uint32_t)n, NULL,
					0);
out:
	g_object_unref(doc);
	g_bytes_unref(bytes);
	return rv;
}

void ingest_child_run(int fd, const void *data, size_t len,
		      size_t max_pages, size_t max_text_bytes)
{
	if (ingest_pdf_frames(fd, data, len, max_pages, max_text_bytes) != 0)
		_exit(INGEST_CHILD_EXIT_IO);
	_exit(0);
}
