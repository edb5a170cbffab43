/*
 * fixtures.c -- build the ingest tests' PDFs in memory (see fixtures.h).
 *
 * cairo writes the "real" PDFs through a write callback into a growing
 * buffer; the hand-made ones are printed object by object while their
 * offsets are recorded for the xref table, which must be exact (20-byte
 * entries, offsets from the first byte) or poppler would have to
 * reconstruct it. qpdf is run with posix_spawnp (no shell) on files in a
 * private mkdtemp directory that is removed afterwards.
 */
#include "fixtures.h"

#include <dirent.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cairo.h>
#include <cairo-pdf.h>
#include <fontconfig/fontconfig.h>

extern char **environ;

/* ---- a growing byte buffer ---------------------------------------------- */

struct fx_buf {
	unsigned char *p;
	size_t len, cap;
};

static void fx_append(struct fx_buf *b, const void *data, size_t n)
{
	if (b->len + n + 1 > b->cap) {
		size_t cap = b->cap ? b->cap : 4096;

		while (cap < b->len + n + 1)
			cap *= 2;
		b->p = realloc(b->p, cap);
		if (b->p == NULL)
			abort();
		b->cap = cap;
	}
	memcpy(b->p + b->len, data, n);
	b->len += n;
	b->p[b->len] = '\0';
}

__attribute__((format(printf, 2, 3)))
static void fx_printf(struct fx_buf *b, const char *fmt, ...)
{
	char tmp[4096];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(tmp, sizeof tmp, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof tmp)
		abort();
	fx_append(b, tmp, (size_t)n);
}

static cairo_status_t fx_cairo_write(void *closure, const unsigned char *data,
				     unsigned int n)
{
	fx_append(closure, data, n);
	return CAIRO_STATUS_SUCCESS;
}

/* ---- cairo PDFs ---------------------------------------------------------- */

typedef void (*fx_draw_fn)(cairo_t *cr, size_t page, const void *arg);

static unsigned char *fx_cairo_pdf(size_t npages, fx_draw_fn draw,
				   const void *arg, size_t *len)
{
	struct fx_buf b = { 0 };
	cairo_surface_t *s;
	cairo_t *cr;

	s = cairo_pdf_surface_create_for_stream(fx_cairo_write, &b, 595, 842);
	cr = cairo_create(s);
	for (size_t i = 0; i < npages; i++) {
		if (draw != NULL)
			draw(cr, i, arg);
		cairo_show_page(cr);
	}
	cairo_destroy(cr);
	cairo_surface_finish(s);
	if (cairo_surface_status(s) != CAIRO_STATUS_SUCCESS)
		abort();
	cairo_surface_destroy(s);
	*len = b.len;
	return b.p;
}

static void fx_draw_text(cairo_t *cr, size_t page, const void *arg)
{
	const char *const *pages = arg;
	const char *p = pages[page];
	double y = 80;

	cairo_select_font_face(cr, "sans", CAIRO_FONT_SLANT_NORMAL,
			       CAIRO_FONT_WEIGHT_NORMAL);
	cairo_set_font_size(cr, 12);
	while (*p != '\0') {
		const char *nl = strchr(p, '\n');
		size_t n = nl ? (size_t)(nl - p) : strlen(p);
		char line[512];

		if (n >= sizeof line)
			abort();
		memcpy(line, p, n);
		line[n] = '\0';
		cairo_move_to(cr, 50, y);
		cairo_show_text(cr, line);
		y += 18;
		p += n;
		if (*p == '\n')
			p++;
	}
}

unsigned char *fx_text_pdf(const char *const *pages, size_t npages,
			   size_t *len)
{
	return fx_cairo_pdf(npages, fx_draw_text, pages, len);
}

unsigned char *fx_blank_pdf(size_t npages, size_t *len)
{
	return fx_cairo_pdf(npages, NULL, NULL, len);
}

static void fx_draw_image(cairo_t *cr, size_t page, const void *arg)
{
	cairo_surface_t *img = cairo_image_surface_create(CAIRO_FORMAT_RGB24,
							  64, 64);
	unsigned char *px;
	int stride;

	cairo_surface_flush(img);
	px = cairo_image_surface_get_data(img);
	stride = cairo_image_surface_get_stride(img);
	for (int y = 0; y < 64; y++) {
		for (int x = 0; x < 64; x++) {
			uint32_t v = ((x / 8 + y / 8) % 2) ? 0x202020 : 0xe0e0e0;

			memcpy(px + y * stride + x * 4, &v, 4);
		}
	}
	cairo_surface_mark_dirty(img);
	cairo_scale(cr, 6, 6);
	cairo_set_source_surface(cr, img, 10, 10);
	cairo_paint(cr);
	cairo_surface_destroy(img);
}

unsigned char *fx_image_pdf(size_t *len)
{
	return fx_cairo_pdf(1, fx_draw_image, NULL, len);
}

/* ---- hand-made PDFs ------------------------------------------------------ */

unsigned char *fx_hand_pdf(const char *const *objs, size_t nobj, size_t *len)
{
	struct fx_buf b = { 0 };
	size_t *offs = calloc(nobj, sizeof *offs);
	size_t xref;

	if (offs == NULL)
		abort();
	/* The binary comment line tells tools the file is not 7-bit text. */
	fx_printf(&b, "%%PDF-1.4\n%%\xE2\xE3\xCF\xD3\n");
	for (size_t i = 0; i < nobj; i++) {
		offs[i] = b.len;
		fx_printf(&b, "%zu 0 obj\n", i + 1);
		fx_append(&b, objs[i], strlen(objs[i]));
		fx_printf(&b, "\nendobj\n");
	}
	xref = b.len;
	fx_printf(&b, "xref\n0 %zu\n0000000000 65535 f \n", nobj + 1);
	for (size_t i = 0; i < nobj; i++)
		fx_printf(&b, "%010zu 00000 n \n", offs[i]);
	fx_printf(&b, "trailer\n<< /Size %zu /Root 1 0 R >>\nstartxref\n%zu\n%%%%EOF\n",
		  nobj + 1, xref);
	free(offs);
	*len = b.len;
	return b.p;
}

unsigned char *fx_bomb_pdf(unsigned depth, size_t *len)
{
	/* 1 catalog, 2 pages, 3 page, 4 font, 5 contents, 6.. forms */
	size_t nobj = 5 + depth;
	char **objs = calloc(nobj, sizeof *objs);
	const char *leaf = "BT /F1 12 Tf 72 700 Td (ab) Tj ET";
	const char *node = "/X Do /X Do";
	const char *top = "BT /F1 12 Tf 72 720 Td (Hello bomb) Tj ET /X Do";
	unsigned char *pdf;

	if (objs == NULL || depth < 1 || depth > 60)
		abort();
	for (size_t i = 0; i < nobj; i++) {
		objs[i] = malloc(512);
		if (objs[i] == NULL)
			abort();
	}
	snprintf(objs[0], 512, "<< /Type /Catalog /Pages 2 0 R >>");
	snprintf(objs[1], 512, "<< /Type /Pages /Kids [3 0 R] /Count 1 >>");
	snprintf(objs[2], 512,
		 "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] "
		 "/Contents 5 0 R /Resources << /Font << /F1 4 0 R >> "
		 "/XObject << /X 6 0 R >> >> >>");
	snprintf(objs[3], 512,
		 "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>");
	snprintf(objs[4], 512, "<< /Length %zu >>\nstream\n%s\nendstream",
		 strlen(top), top);
	for (unsigned d = 0; d < depth; d++) {
		size_t k = 5 + d; /* object k + 1 */

		if (d + 1 == depth)
			snprintf(objs[k], 512,
				 "<< /Type /XObject /Subtype /Form /BBox [0 0 612 792] "
				 "/Resources << /Font << /F1 4 0 R >> >> /Length %zu >>\n"
				 "stream\n%s\nendstream", strlen(leaf), leaf);
		else
			snprintf(objs[k], 512,
				 "<< /Type /XObject /Subtype /Form /BBox [0 0 612 792] "
				 "/Resources << /XObject << /X %zu 0 R >> >> /Length %zu >>\n"
				 "stream\n%s\nendstream", k + 2, strlen(node), node);
	}
	pdf = fx_hand_pdf((const char *const *)objs, nobj, len);
	for (size_t i = 0; i < nobj; i++)
		free(objs[i]);
	free(objs);
	return pdf;
}

/* ---- qpdf ---------------------------------------------------------------- */

bool fx_have_qpdf(void)
{
	const char *path = getenv("PATH");
	char *copy, *dir, *save = NULL;
	bool found = false;

	if (path == NULL)
		path = "/usr/bin:/bin";
	copy = strdup(path);
	for (dir = strtok_r(copy, ":", &save); dir != NULL && !found;
	     dir = strtok_r(NULL, ":", &save)) {
		char file[4096];

		snprintf(file, sizeof file, "%s/qpdf", dir);
		found = access(file, X_OK) == 0;
	}
	free(copy);
	return found;
}

static bool fx_write_file(const char *path, const void *data, size_t len)
{
	FILE *f = fopen(path, "wb");
	bool ok;

	if (f == NULL)
		return false;
	ok = fwrite(data, 1, len, f) == len;
	return fclose(f) == 0 && ok;
}

static unsigned char *fx_read_file(const char *path, size_t *len)
{
	struct fx_buf b = { 0 };
	char tmp[8192];
	FILE *f = fopen(path, "rb");
	size_t n;

	if (f == NULL)
		return NULL;
	while ((n = fread(tmp, 1, sizeof tmp, f)) > 0)
		fx_append(&b, tmp, n);
	fclose(f);
	*len = b.len;
	return b.p;
}

unsigned char *fx_encrypt_pdf(const unsigned char *pdf, size_t len,
			      const char *user_pw, size_t *outlen)
{
	char dir[] = "/tmp/lms-ingest-test-XXXXXX";
	char in[64], out[64];
	unsigned char *result = NULL;
	pid_t pid;
	int status;

	if (!fx_have_qpdf() || mkdtemp(dir) == NULL)
		return NULL;
	snprintf(in, sizeof in, "%s/in.pdf", dir);
	snprintf(out, sizeof out, "%s/out.pdf", dir);
	if (fx_write_file(in, pdf, len)) {
		char *argv[] = { "qpdf", "--encrypt", (char *)user_pw, "owner-pw",
				 "256", "--", in, out, NULL };

		if (posix_spawnp(&pid, "qpdf", NULL, NULL, argv, environ) == 0 &&
		    waitpid(pid, &status, 0) == pid && WIFEXITED(status) &&
		    WEXITSTATUS(status) == 0)
			result = fx_read_file(out, outlen);
	}
	unlink(in);
	unlink(out);
	rmdir(dir);
	return result;
}

/* ---- process state ------------------------------------------------------- */

void fx_cleanup(void)
{
	cairo_debug_reset_static_data();
	FcFini();
}

int fx_count_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;
	int n = 0;

	if (d == NULL)
		return -1;
	while ((e = readdir(d)) != NULL) {
		if (e->d_name[0] != '.')
			n++;
	}
	closedir(d);
	return n - 1; /* the directory stream's own descriptor */
}
