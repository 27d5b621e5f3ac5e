/* Scripts without a code extension: which rules their #! line selects. */
#include "script.h"

#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cleanup.h"

bool rules_may_be_script(const char *path)
{
	const char *base = strrchr(path, '/');

	base = base ? base + 1 : path;
	return base[0] && !strchr(base + 1, '.');
}

/* The next blank-separated word of the #! line at *p (advanced past it),
 * as a pointer and length; 0 at the end of the line. */
static size_t word(const char **p, const char *end, const char **w)
{
	const char *s = *p;

	while (s < end && (*s == ' ' || *s == '\t'))
		s++;
	*w = s;
	while (s < end && *s != ' ' && *s != '\t' && *s != '\n' && *s != '\r')
		s++;
	*p = s;
	return (size_t)(s - *w);
}

static bool named(const char *w, size_t n, const char *name)
{
	size_t k = strlen(name);
	return n == k && !memcmp(w, name, k);
}

/* python, python3, python3.11, pypy3: a name and then digits and dots. */
static bool versioned(const char *w, size_t n, const char *name)
{
	size_t k = strlen(name);

	if (n < k || memcmp(w, name, k) != 0)
		return false;
	for (size_t i = k; i < n; i++)
		if (!((w[i] >= '0' && w[i] <= '9') || w[i] == '.'))
			return false;
	return true;
}

static const char *ext_of_program(const char *w, size_t n)
{
	static const char *const shells[] = { "sh", "bash", "dash", "ash", "ksh", "mksh", "zsh" };
	const char *slash = memrchr(w, '/', n);

	if (slash) {
		n -= (size_t)(slash + 1 - w);
		w = slash + 1;
	}
	if (versioned(w, n, "python") || versioned(w, n, "pypy"))
		return ".py";
	if (named(w, n, "node") || named(w, n, "nodejs"))
		return ".js";
	for (size_t i = 0; i < ARRAY_SIZE(shells); i++)
		if (named(w, n, shells[i]))
			return ".sh";
	if (versioned(w, n, "perl"))
		return ".pl";
	if (versioned(w, n, "ruby"))
		return ".rb";
	if (versioned(w, n, "php"))
		return ".php";
	return NULL;
}

const char *rules_script_ext(const char *head, size_t n)
{
	const char *end, *w, *p = head + 2;
	size_t len;

	if (n < 2 || head[0] != '#' || head[1] != '!')
		return NULL;
	end = memchr(head, '\n', n);
	end = end ? end : head + n;
	if (!(len = word(&p, end, &w)))
		return NULL;
	const char *slash = memrchr(w, '/', len);
	const char *base = slash ? slash + 1 : w;
	if (!named(base, len - (size_t)(base - w), "env"))
		return ext_of_program(w, len);
	/* env [-S] [-i] [-u NAME] [-C DIR] [NAME=VALUE ...] PROGRAM */
	while ((len = word(&p, end, &w)) != 0) {
		if (named(w, len, "-u") || named(w, len, "-C") || named(w, len, "--unset") ||
		    named(w, len, "--chdir")) {
			word(&p, end, &w);
			continue;
		}
		if (w[0] == '-' || memchr(w, '=', len))
			continue;
		return ext_of_program(w, len);
	}
	return NULL;
}

const char *rules_script_ext_of(const char *path)
{
	_cleanup_fd_ int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY);
	char head[RULES_SCRIPT_HEAD];
	struct stat st;

	if (fd < 0 || fstat(fd, &st) < 0 || !S_ISREG(st.st_mode))
		return NULL;
	ssize_t n = pread(fd, head, sizeof head, 0);
	return n > 0 ? rules_script_ext(head, (size_t)n) : NULL;
}
