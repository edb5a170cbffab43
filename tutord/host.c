/*
 * host.c -- turn an OLLAMA_HOST value or a configured URL into a base URL.
 *
 * Why this exists
 * ---------------
 * Ollama's own CLI and libraries read OLLAMA_HOST loosely ("0.0.0.0",
 * "box:8080", "https://gpu.example"), and an operator who has set it for
 * `ollama run` expects tutord to reach the same server. This file applies
 * the same rules as Ollama's envconfig (see ollama.h): no scheme means
 * http and port 11434; "http://" without a port means 80 and "https://"
 * 443; quotes, blanks and trailing slashes are ignored. Unlike Ollama,
 * which silently falls back to the default port, an invalid port is an
 * error here: a typo in a config should be loud.
 *
 * Pure string code: no allocation, no global state.
 */
#include "ollama.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#define HOST_MAX 256

static bool host_name_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       (c >= '0' && c <= '9') || c == '.' || c == '-' || c == '_';
}

static bool host_v6_char(char c)
{
	return (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F') ||
	       (c >= '0' && c <= '9') || c == ':' || c == '.';
}

/* A host name or IPv4 address; or an IPv6 address with an optional zone. */
static bool host_ok(const char *h, size_t n, bool ipv6)
{
	bool zone = false;

	if (n == 0 || n >= HOST_MAX)
		return false;
	for (size_t i = 0; i < n; i++) {
		if (ipv6 && !zone && h[i] == '%' && i > 0 && i + 1 < n)
			zone = true;
		else if (ipv6 && !zone ? !host_v6_char(h[i])
				       : !host_name_char(h[i]))
			return false;
	}
	return true;
}

/* Digits only, 1..65535. */
static int host_port(const char *p, size_t n, unsigned *out)
{
	unsigned v = 0;

	if (n == 0 || n > 5)
		return -EINVAL;
	for (size_t i = 0; i < n; i++) {
		if (p[i] < '0' || p[i] > '9')
			return -EINVAL;
		v = v * 10 + (unsigned)(p[i] - '0');
	}
	if (v == 0 || v > 65535)
		return -EINVAL;
	*out = v;
	return 0;
}

static bool host_is_trim(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '"' ||
	       c == '\'';
}

int ollama_url_normalize(const char *in, char *out, size_t outlen)
{
	const char *s, *e, *sep, *hp, *hp_end, *path;
	const char *host;
	size_t host_len;
	const char *scheme = "http";
	unsigned port = OLLAMA_DEFAULT_PORT;
	bool ipv6 = false;
	int n;

	if (in == NULL)
		in = "";
	s = in;
	e = in + strlen(in);
	while (s < e && host_is_trim(*s))
		s++;
	while (e > s && host_is_trim(e[-1]))
		e--;

	sep = NULL;
	for (const char *p = s; p + 3 <= e; p++) {
		if (memcmp(p, "://", 3) == 0) {
			sep = p;
			break;
		}
		if (*p == '/')
			break;
	}
	if (sep != NULL) {
		size_t sl = (size_t)(sep - s);

		if (sl == 4 && strncasecmp(s, "http", 4) == 0) {
			scheme = "http";
			port = 80;
		} else if (sl == 5 && strncasecmp(s, "https", 5) == 0) {
			scheme = "https";
			port = 443;
		} else {
			return -EINVAL;
		}
		hp = sep + 3;
	} else {
		hp = s;
	}
	while (e > hp && e[-1] == '/')
		e--;

	path = memchr(hp, '/', (size_t)(e - hp));
	hp_end = path ? path : e;
	if (path == NULL)
		path = e;

	if (hp == hp_end) {
		host = "127.0.0.1";
		host_len = strlen(host);
	} else if (*hp == '[') {
		const char *rb = memchr(hp, ']', (size_t)(hp_end - hp));

		if (rb == NULL)
			return -EINVAL;
		host = hp + 1;
		host_len = (size_t)(rb - host);
		ipv6 = true;
		if (rb + 1 < hp_end) {
			if (rb[1] != ':' ||
			    host_port(rb + 2, (size_t)(hp_end - rb - 2),
				      &port))
				return -EINVAL;
		}
	} else {
		const char *colon = memchr(hp, ':', (size_t)(hp_end - hp));
		const char *colon2 = colon ? memchr(colon + 1, ':',
						    (size_t)(hp_end - colon - 1))
					   : NULL;

		if (colon2 != NULL) {
			/* Two colons or more: a bare IPv6 address. */
			host = hp;
			host_len = (size_t)(hp_end - hp);
			ipv6 = true;
		} else if (colon != NULL) {
			host = hp;
			host_len = (size_t)(colon - hp);
			if (host_port(colon + 1,
				      (size_t)(hp_end - colon - 1), &port))
				return -EINVAL;
			if (host_len == 0) {
				host = "127.0.0.1";
				host_len = strlen(host);
			}
		} else {
			host = hp;
			host_len = (size_t)(hp_end - hp);
		}
	}
	if (!host_ok(host, host_len, ipv6))
		return -EINVAL;
	for (const char *p = path; p < e; p++)
		if ((unsigned char)*p <= ' ' || *p == '?' || *p == '#')
			return -EINVAL;

	n = snprintf(out, outlen, "%s://%s%.*s%s:%u%.*s", scheme,
		     ipv6 ? "[" : "", (int)host_len, host, ipv6 ? "]" : "",
		     port, (int)(e - path), path);
	if (n < 0 || (size_t)n >= outlen)
		return -ENOSPC;
	return 0;
}
