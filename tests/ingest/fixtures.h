/*
 * fixtures.h -- PDF fixtures for the ingest tests, generated in memory.
 *
 * Why this exists
 * ---------------
 * Committed binary fixtures rot (nobody knows what is inside them or how
 * they were made). These helpers build every PDF the tests need at run
 * time, from code that shows exactly what is in it:
 *   - fx_text_pdf: a real PDF written by cairo (embedded subset fonts,
 *     compressed streams, ToUnicode maps), one page per string;
 *   - fx_image_pdf: one page holding only an image (a "scan");
 *   - fx_hand_pdf: objects written by hand with a correct xref table, for
 *     structures cairo would never produce (no pages, a form bomb);
 *   - fx_bomb_pdf: a page that draws form X1, which draws X2 twice, which
 *     draws X3 twice, ... depth levels: a few hundred bytes that take
 *     poppler exponential time and growing memory to extract;
 *   - fx_encrypt_pdf: runs qpdf (if installed) to encrypt a PDF.
 *
 * Every returned buffer is malloc'd and owned by the caller (free()).
 */
#ifndef LMS_TEST_INGEST_FIXTURES_H
#define LMS_TEST_INGEST_FIXTURES_H

#include <stdbool.h>
#include <stddef.h>

/* Pages of text; '\n' in a string starts a new line on that page. */
unsigned char *fx_text_pdf(const char *const *pages, size_t npages,
			   size_t *len);

/* Pages with nothing drawn on them. */
unsigned char *fx_blank_pdf(size_t npages, size_t *len);

/* One page with an image and no text. */
unsigned char *fx_image_pdf(size_t *len);

/* Objects 1..nobj (bodies without "n 0 obj"), /Root 1 0 R. */
unsigned char *fx_hand_pdf(const char *const *objs, size_t nobj, size_t *len);

/* The form bomb described above (depth 1..60). */
unsigned char *fx_bomb_pdf(unsigned depth, size_t *len);

/* True if the qpdf program is on PATH. */
bool fx_have_qpdf(void);

/*
 * Encrypt pdf with AES-256, user password user_pw ("" for none) and an
 * owner password. NULL if qpdf is missing or fails.
 */
unsigned char *fx_encrypt_pdf(const unsigned char *pdf, size_t len,
			      const char *user_pw, size_t *outlen);

/*
 * Release cairo's and fontconfig's global caches, so that LeakSanitizer
 * sees only our own leaks. Call once, after the last fixture is built
 * (a group teardown).
 */
void fx_cleanup(void);

/* Number of open file descriptors of this process. */
int fx_count_fds(void);

#endif /* LMS_TEST_INGEST_FIXTURES_H */
