/*
 * isotime.h -- times on the wire: ISO-8601 text <-> milliseconds since the
 * Unix epoch (UTC).
 *
 * The LMS protocol carries every time as text (lms.proto). Clients may send
 * any of
 *     2026-11-23T10:00:00Z          2026-11-23T10:00:00.250Z
 *     2026-11-23T11:00:00+01:00     2026-11-23 10:00Z      2026-11-23T10:00
 * (a time without a zone is refused by lms_iso_parse: on the wire it would
 * be ambiguous; the CLI turns local input into UTC first). The node
 * normalises to the canonical form that lms_iso_format writes and the
 * database's lms.iso() function also produces:
 *     2026-11-23T10:00:00Z      or, when milliseconds are non-zero,
 *     2026-11-23T10:00:00.250Z
 * Years 1970..9999; fractions beyond milliseconds are truncated.
 */
#ifndef LMS_ISOTIME_H
#define LMS_ISOTIME_H

#include <stddef.h>
#include <stdint.h>

#define LMS_ISO_MAX 32 /* buffer size for lms_iso_format */

/* 0 and *ms on success, -1 when s is not an ISO-8601 time with a zone. */
int lms_iso_parse(const char *s, int64_t *ms);

/* Canonical UTC text of ms into buf (LMS_ISO_MAX bytes); returns buf. */
char *lms_iso_format(int64_t ms, char *buf, size_t len);

#endif
