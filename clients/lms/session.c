/*
 * session.c -- the session token file of lms.
 *
 * `lms login` stores the token the cluster handed out in
 * $XDG_CONFIG_HOME/lms/session (else ~/.config/lms/session): the token
 * alone on one line, which is also what lms-migrate reads. The token is a
 * password for 24 hours, so:
 *
 *   - the directory is created 0700 and the file 0600 (set with fchmod,
 *     whatever the umask);
 *   - the file is written under a temporary name in the same directory,
 *     fsynced and renamed over the old one: a crash leaves the old session
 *     or the new one, never half a token;
 *   - a file that is readable by others when loaded is put back to 0600
 *     (someone copied it around) and a damaged one is reported, not sent.
 *
 * $LMS_TOKEN overrides the file (rpc.c, cli_token); nothing here reads it.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lms.h"

#define TOKEN_HEX 64

int session_path(char *buf, size_t len)
{
	const char *xdg = getenv("XDG_CONFIG_HOME");
	const char *home = getenv("HOME");
	int n;
	if (xdg && *xdg)
		n = snprintf(buf, len, "%s/lms/session", xdg);
	else if (home && *home)
		n = snprintf(buf, len, "%s/.config/lms/session", home);
	else
		return -1;
	return n < 0 || (size_t)n >= len ? -1 : 0;
}

static bool token_ok(const char *t)
{
	if (strlen(t) != TOKEN_HEX)
		return false;
	for (const char *p = t; *p; p++)
		if (!((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f') ||
		      (*p >= 'A' && *p <= 'F')))
			return false;
	return true;
}

int session_load(char tok[65], char *err, size_t errlen)
{
	char path[4096];
	if (session_path(path, sizeof path) != 0)
		return -ENOENT;
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return -errno;
	struct stat st;
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		snprintf(err, errlen, "session file \"%s\" is not a regular "
		         "file", path);
		return -EINVAL;
	}
	if (st.st_mode & 077)
		(void)fchmod(fd, 0600);
	char buf[256];
	ssize_t n = read(fd, buf, sizeof buf - 1);
	close(fd);
	if (n < 0)
		return -errno;
	buf[n] = '\0';
	while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r' ||
	                 buf[n - 1] == ' '))
		buf[--n] = '\0';
	if (!token_ok(buf)) {
		snprintf(err, errlen, "session file \"%s\" is damaged; log in "
		         "again", path);
		return -EINVAL;
	}
	memcpy(tok, buf, TOKEN_HEX + 1);
	return 0;
}

/* mkdir -p of the directory of path (the last component excluded), the
 * directories it creates 0700; the session's own directory is set to 0700
 * even when it existed. */
static int session_mkdirs(const char *path, char *err, size_t errlen)
{
	char dir[4096];
	snprintf(dir, sizeof dir, "%s", path);
	char *slash = strrchr(dir, '/');
	if (!slash || slash == dir)
		return 0;
	*slash = '\0';
	for (char *p = dir + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(dir, 0700) != 0 && errno != EEXIST)
			goto err;
		*p = '/';
	}
	if (mkdir(dir, 0700) != 0 && errno != EEXIST)
		goto err;
	struct stat st;
	if (lstat(dir, &st) != 0 || !S_ISDIR(st.st_mode)) {
		snprintf(err, errlen, "\"%s\" is not a directory", dir);
		return -ENOTDIR;
	}
	if ((st.st_mode & 0777) != 0700 && chmod(dir, 0700) != 0)
		goto err;
	return 0;
err:;
	int e = errno;
	snprintf(err, errlen, "could not create directory \"%s\": %s", dir,
	         strerror(e));
	return -e;
}

int session_save(const char *tok, char *err, size_t errlen)
{
	char path[4096], tmp[4096 + 16];
	if (session_path(path, sizeof path) != 0) {
		snprintf(err, errlen, "neither $XDG_CONFIG_HOME nor $HOME is "
		         "set: nowhere to keep the session");
		return -ENOENT;
	}
	int rv = session_mkdirs(path, err, errlen);
	if (rv)
		return rv;
	snprintf(tmp, sizeof tmp, "%s.XXXXXX", path);
	int fd = mkstemp(tmp);
	if (fd < 0) {
		rv = -errno;
		snprintf(err, errlen, "could not create \"%s\": %s", tmp,
		         strerror(errno));
		return rv;
	}
	char line[TOKEN_HEX + 2];
	int len = snprintf(line, sizeof line, "%s\n", tok);
	if (fchmod(fd, 0600) != 0 || write(fd, line, (size_t)len) != len ||
	    fsync(fd) != 0) {
		rv = -errno;
		snprintf(err, errlen, "could not write \"%s\": %s", tmp,
		         strerror(errno));
		close(fd);
		unlink(tmp);
		return rv ? rv : -EIO;
	}
	close(fd);
	if (rename(tmp, path) != 0) {
		rv = -errno;
		snprintf(err, errlen, "could not rename \"%s\" to \"%s\": %s",
		         tmp, path, strerror(errno));
		unlink(tmp);
		return rv;
	}
	return 0;
}

int session_delete(void)
{
	char path[4096];
	if (session_path(path, sizeof path) != 0)
		return 0;
	if (unlink(path) != 0 && errno != ENOENT)
		return -errno;
	return 0;
}
