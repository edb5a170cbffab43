/*
 * isotime.c -- ISO-8601 parsing and formatting without the C library's
 * time zone machinery (timegm is not standard C and mktime reads TZ): the
 * civil-date arithmetic is done here (days from civil, H. Hinnant's
 * algorithm).
 */
#include <stdbool.h>
#include <stdio.h>

#include "isotime.h"

static int64_t days_from_civil(int64_t y, unsigned m, unsigned d)
{
	y -= m <= 2;
	int64_t era = (y >= 0 ? y : y - 399) / 400;
	unsigned yoe = (unsigned)(y - era * 400);
	unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + (int64_t)doe - 719468;
}

static void civil_from_days(int64_t z, int64_t *y, unsigned *m, unsigned *d)
{
	z += 719468;
	int64_t era = (z >= 0 ? z : z - 146096) / 146097;
	unsigned doe = (unsigned)(z - era * 146097);
	unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	unsigned mp = (5 * doy + 2) / 153;
	*d = doy - (153 * mp + 2) / 5 + 1;
	*m = mp < 10 ? mp + 3 : mp - 9;
	*y = (int64_t)yoe + era * 400 + (*m <= 2);
}

/* Reads exactly n digits. */
static bool digits(const char **p, int n, unsigned *out)
{
	unsigned v = 0;
	for (int i = 0; i < n; i++) {
		char c = (*p)[i];
		if (c < '0' || c > '9')
			return false;
		v = v * 10 + (unsigned)(c - '0');
	}
	*p += n;
	*out = v;
	return true;
}

static unsigned month_days(unsigned y, unsigned m)
{
	static const unsigned days[] = {31, 28, 31, 30, 31, 30,
	                                31, 31, 30, 31, 30, 31};
	bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
	return m == 2 && leap ? 29 : days[m - 1];
}

int lms_iso_parse(const char *s, int64_t *ms)
{
	if (!s)
		return -1;
	const char *p = s;
	unsigned y, mo, d, h, mi, sec = 0, frac = 0;
	if (!digits(&p, 4, &y) || *p++ != '-' || !digits(&p, 2, &mo) ||
	    *p++ != '-' || !digits(&p, 2, &d))
		return -1;
	if (*p != 'T' && *p != 't' && *p != ' ')
		return -1;
	p++;
	if (!digits(&p, 2, &h) || *p++ != ':' || !digits(&p, 2, &mi))
		return -1;
	if (*p == ':') {
		p++;
		if (!digits(&p, 2, &sec))
			return -1;
		if (*p == '.' || *p == ',') {
			p++;
			int n = 0;
			while (*p >= '0' && *p <= '9') {
				if (n < 3)
					frac = frac * 10 + (unsigned)(*p - '0');
				n++;
				p++;
			}
			if (n == 0 || n > 9)
				return -1;
			for (; n < 3; n++)
				frac *= 10;
		}
	}
	int64_t offset_min = 0;
	if (*p == 'Z' || *p == 'z') {
		p++;
	} else if (*p == '+' || *p == '-') {
		int sign = *p++ == '-' ? -1 : 1;
		unsigned oh, om = 0;
		if (!digits(&p, 2, &oh))
			return -1;
		if (*p == ':')
			p++;
		if (*p && !digits(&p, 2, &om))
			return -1;
		if (oh > 23 || om > 59)
			return -1;
		offset_min = sign * (int64_t)(oh * 60 + om);
	} else {
		return -1; /* no zone */
	}
	if (*p != '\0')
		return -1;
	if (y < 1970 || y > 9999 || mo < 1 || mo > 12 || d < 1 ||
	    d > month_days(y, mo) || h > 23 || mi > 59 || sec > 59)
		return -1;
	int64_t days = days_from_civil(y, mo, d);
	int64_t t = ((days * 24 + h) * 60 + mi - offset_min) * 60 + sec;
	if (t < 0)
		return -1;
	*ms = t * 1000 + frac;
	return 0;
}

char *lms_iso_format(int64_t ms, char *buf, size_t len)
{
	int64_t secs = ms >= 0 ? ms / 1000 : (ms - 999) / 1000;
	int64_t rem = ms - secs * 1000;
	int64_t days = secs >= 0 ? secs / 86400 : (secs - 86399) / 86400;
	int64_t sod = secs - days * 86400;
	int64_t y;
	unsigned m, d;
	civil_from_days(days, &y, &m, &d);
	if (rem)
		snprintf(buf, len, "%04lld-%02u-%02uT%02u:%02u:%02u.%03uZ",
		         (long long)y, m, d, (unsigned)(sod / 3600),
		         (unsigned)(sod / 60 % 60), (unsigned)(sod % 60),
		         (unsigned)rem);
	else
		snprintf(buf, len, "%04lld-%02u-%02uT%02u:%02u:%02uZ",
		         (long long)y, m, d, (unsigned)(sod / 3600),
		         (unsigned)(sod / 60 % 60), (unsigned)(sod % 60));
	return buf;
}
