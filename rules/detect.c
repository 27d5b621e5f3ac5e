#include "detect.h"

#include <ctype.h>
#include <string.h>
#include <strings.h>

static size_t cap(size_t len)
{
	return len > DETECT_MAX ? DETECT_MAX : len;
}

/* The next index at or after i whose byte is in set (a 256-entry table),
 * or len: each detector only stops where its structure can begin, so a
 * long value of prose is crossed at table-lookup speed. */
static size_t next_of(const char *s, size_t i, size_t len, const bool set[256])
{
	while (i < len && !set[(unsigned char)s[i]])
		i++;
	return i;
}

static const bool cmdi_set[256] = {
	[';'] = 1, ['|'] = 1, ['&'] = 1, ['\n'] = 1, ['`'] = 1, ['$'] = 1
};
static const bool xss_set[256] = { ['<'] = 1, [':'] = 1 };
static const bool path_set[256] = { ['.'] = 1, [0xc0] = 1, ['/'] = 1, [':'] = 1, [0] = 1 };

/* The first byte decides most comparisons: checked before the call. */
static bool has_prefix_ci(const char *s, size_t len, size_t at, const char *p)
{
	if (at >= len || tolower((unsigned char)s[at]) != tolower((unsigned char)p[0]))
		return false;
	size_t n = strlen(p);
	return at + n <= len && strncasecmp(s + at, p, n) == 0;
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = (char)tolower((unsigned char)c);
	return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

size_t detect_url_decode(const char *src, size_t len, char *dst, bool form)
{
	size_t o = 0;

	for (size_t i = 0; i < len; i++) {
		int hi, lo;
		if (src[i] == '%' && i + 2 < len && (hi = hexval(src[i + 1])) >= 0 &&
		    (lo = hexval(src[i + 2])) >= 0) {
			dst[o++] = (char)(hi * 16 + lo);
			i += 2;
		} else {
			dst[o++] = form && src[i] == '+' ? ' ' : src[i];
		}
	}
	return o;
}

/* ---- command injection ---- */

/* Programs an injected command line starts with. Strong ones are not
 * English words: whatever follows them (a host name, a URL) is enough.
 * Weak ones (cat, id, sleep) need what follows to look like a command
 * line; the few classics probed alone ("; id") may also end the value. */
struct command {
	const char *name;
	enum { STRONG, WEAK, WEAK_ALONE } kind;
};

static const struct command commands[] = {
	{ "bash", STRONG },     { "zsh", STRONG },      { "dash", STRONG },
	{ "ksh", STRONG },      { "csh", STRONG },      { "tcsh", STRONG },
	{ "busybox", STRONG },  { "nc", STRONG },       { "ncat", STRONG },
	{ "netcat", STRONG },   { "socat", STRONG },    { "telnet", STRONG },
	{ "curl", STRONG },     { "wget", STRONG },     { "tftp", STRONG },
	{ "whoami", STRONG },   { "uname", STRONG },    { "nslookup", STRONG },
	{ "python", STRONG },   { "python2", STRONG },  { "python3", STRONG },
	{ "perl", STRONG },     { "php", STRONG },      { "powershell", STRONG },
	{ "certutil", STRONG }, { "ifconfig", STRONG }, { "base64", STRONG },
	{ "xxd", STRONG },      { "mkfifo", STRONG },   { "printenv", STRONG },
	{ "chmod", STRONG },    { "chown", STRONG },    { "useradd", STRONG },
	{ "crontab", STRONG },  { "nohup", STRONG },    { "openssl", STRONG },
	{ "sudo", STRONG },     { "id", WEAK_ALONE },   { "ls", WEAK_ALONE },
	{ "pwd", WEAK_ALONE },  { "sh", WEAK_ALONE },   { "cat", WEAK },
	{ "rm", WEAK },         { "sleep", WEAK },      { "echo", WEAK },
	{ "env", WEAK },        { "ping", WEAK },       { "dig", WEAK },
	{ "ssh", WEAK },        { "scp", WEAK },        { "ftp", WEAK },
	{ "node", WEAK },       { "ruby", WEAK },       { "lua", WEAK },
	{ "awk", WEAK },        { "find", WEAK },       { "touch", WEAK },
	{ "kill", WEAK },       { "su", WEAK },         { "eval", WEAK },
	{ "exec", WEAK },       { "timeout", WEAK },    { "xargs", WEAK },
	{ "tar", WEAK },        { "dd", WEAK },         { "head", WEAK },
	{ "tail", WEAK },       { "grep", WEAK },       { "cmd", WEAK },
	{ "hostname", WEAK },
};

static bool word_end(char c)
{
	return !(isalnum((unsigned char)c) || c == '_' || c == '-' || c == '.');
}

/* The command word at s[at] (after an optional directory such as /bin/),
 * its length in *n; NULL when it is not one of ours. */
static const struct command *command_at(const char *s, size_t len, size_t at, size_t *n)
{
	size_t i = at;
	bool dir = false;
	if (i < len && s[i] == '/') {
		size_t last = i;
		while (i < len && !isspace((unsigned char)s[i]) && s[i] != ';' && s[i] != '|' &&
		       s[i] != '&')
			if (s[i++] == '/')
				last = i;
		i = last;
		dir = true;
	}
	if (i >= len || !isalpha((unsigned char)s[i]))
		return NULL;
	for (size_t k = 0; k < sizeof commands / sizeof commands[0]; k++) {
		if (tolower((unsigned char)s[i]) != commands[k].name[0])
			continue;
		size_t w = strlen(commands[k].name);
		if (i + w <= len && strncasecmp(s + i, commands[k].name, w) == 0 &&
		    (i + w == len || word_end(s[i + w]))) {
			*n = i + w - at;
			/* /bin/cat is a program, whatever the English says. */
			static const struct command strong = { "", STRONG };
			return dir ? &strong : &commands[k];
		}
	}
	return NULL;
}

/* What follows a command word looks like a shell command line: an
 * option, a path, a variable, a quote, a number (sleep 5), a redirection
 * or another operator. Prose ("; cat videos") does not. */
static bool shell_args_at(const char *s, size_t len, size_t at, int kind)
{
	size_t i = at;
	while (i < len && (s[i] == ' ' || s[i] == '\t'))
		i++;
	if (i == len)
		return kind != WEAK;
	if (kind == STRONG || has_prefix_ci(s, len, i, "${ifs}"))
		return true;
	if (i == at && !strchr("|;&<>`)\n", s[i]))
		return false; /* "cat's": not a word boundary we trust */
	return strchr("-/.~$'\"<>|;&`)\n0123456789", s[i]) != NULL;
}

bool detect_cmdi(const char *s, size_t len, struct detect_hit *hit)
{
	len = cap(len);
	for (size_t i = next_of(s, 0, len, cmdi_set); i < len;
	     i = next_of(s, i + 1, len, cmdi_set)) {
		size_t after;
		char c = s[i];
		if (c == ';' || c == '|' || c == '&' || c == '\n' || c == '`')
			after = i + 1;
		else if (c == '$' && i + 1 < len && s[i + 1] == '(')
			after = i + 2;
		else
			continue;
		while (after < len && (s[after] == '|' || s[after] == '&'))
			after++; /* || and && */
		while (after < len && (s[after] == ' ' || s[after] == '\t'))
			after++;
		if (has_prefix_ci(s, len, after, "${ifs}"))
			after += 6;
		size_t n = 0;
		const struct command *cmd = command_at(s, len, after, &n);
		if (cmd && shell_args_at(s, len, after + n, cmd->kind)) {
			hit->offset = i;
			hit->reason = c == '`' || c == '$'
					      ? "command substitution"
					      : "shell separator followed by a command";
			return true;
		}
	}
	return false;
}

/* ---- cross-site scripting ---- */

static const char *const script_tags[] = { "script", "iframe",   "object", "embed",
					   "applet", "frameset", "base" };
static const char *const script_urls[] = { "javascript:", "vbscript:", "data:text/html",
					   "livescript:" };

/* An attribute name starting with "on" (onerror, onload, ...) followed by
 * '=' inside the tag that starts at s[lt]. */
static bool event_handler_in_tag(const char *s, size_t len, size_t lt, size_t *where)
{
	for (size_t i = lt + 1; i < len && s[i] != '>' && s[i] != '<'; i++) {
		bool sep = isspace((unsigned char)s[i - 1]) || s[i - 1] == '/' || s[i - 1] == '"' ||
			   s[i - 1] == '\'';
		if (!sep || tolower((unsigned char)s[i]) != 'o' || i + 2 >= len ||
		    tolower((unsigned char)s[i + 1]) != 'n')
			continue;
		size_t j = i + 2;
		while (j < len && isalpha((unsigned char)s[j]))
			j++;
		if (j == i + 2)
			continue;
		while (j < len && isspace((unsigned char)s[j]))
			j++;
		if (j < len && s[j] == '=') {
			*where = i;
			return true;
		}
	}
	return false;
}

bool detect_xss(const char *s, size_t len, struct detect_hit *hit)
{
	len = cap(len);
	for (size_t i = next_of(s, 0, len, xss_set); i < len; i = next_of(s, i + 1, len, xss_set)) {
		if (s[i] == '<') {
			size_t t = i + 1, where;
			if (t < len && s[t] == '/')
				t++;
			for (size_t k = 0; k < sizeof script_tags / sizeof script_tags[0]; k++) {
				size_t n = strlen(script_tags[k]);
				if (has_prefix_ci(s, len, t, script_tags[k]) &&
				    (t + n == len || !isalnum((unsigned char)s[t + n]))) {
					hit->offset = i;
					hit->reason = "script-capable element";
					return true;
				}
			}
			if (t < len && isalpha((unsigned char)s[t]) &&
			    event_handler_in_tag(s, len, i, &where)) {
				hit->offset = where;
				hit->reason = "event handler attribute";
				return true;
			}
		}
		if (s[i] != ':')
			continue;
		/* A scheme ends at this colon: look back for the ones that run. */
		for (size_t k = 0; k < sizeof script_urls / sizeof script_urls[0]; k++) {
			size_t n = (size_t)(strchr(script_urls[k], ':') - script_urls[k]);
			if (i < n)
				continue;
			size_t at = i - n;
			if (has_prefix_ci(s, len, at, script_urls[k]) &&
			    (at == 0 || !isalnum((unsigned char)s[at - 1]))) {
				hit->offset = at;
				hit->reason = "script URL";
				return true;
			}
		}
	}
	return false;
}

/* ---- path traversal ---- */

static const char *const sensitive[] = {
	"/etc/passwd", "/etc/shadow",      "/etc/hosts", "/proc/self/",       "/proc/1/",
	"/root/",      ".aws/credentials", ".ssh/id_",   "/var/run/secrets/", "c:\\windows\\",
	"c:/windows/", "win.ini",          "boot.ini",   "/etc/group",        ".env",
	"web.config",
};

/* A ".." path segment at s[i]: "../", "..\" or ".." at the end, with
 * overlong UTF-8 dots and slashes (0xc0 0xae, 0xc0 0xaf) counted too. */
static size_t dotdot_at(const char *s, size_t len, size_t i)
{
	size_t j = i, dots = 0;
	while (dots < 2 && j < len) {
		if (s[j] == '.') {
			j++;
		} else if (j + 1 < len && (unsigned char)s[j] == 0xc0 &&
			   (unsigned char)s[j + 1] == 0xae) {
			j += 2;
		} else {
			break;
		}
		dots++;
	}
	if (dots < 2)
		return 0;
	if (j == len)
		return j - i;
	if (s[j] == '/' || s[j] == '\\')
		return j + 1 - i;
	if (j + 1 < len && (unsigned char)s[j] == 0xc0 && (unsigned char)s[j + 1] == 0xaf)
		return j + 2 - i;
	return 0;
}

bool detect_path_traversal(const char *s, size_t len, struct detect_hit *hit)
{
	len = cap(len);
	for (size_t i = next_of(s, 0, len, path_set); i < len;
	     i = next_of(s, i + 1, len, path_set)) {
		unsigned char c = (unsigned char)s[i];
		if (c == 0) {
			hit->offset = i;
			hit->reason = "NUL byte in a value";
			return true;
		}
		if (c == '.' || c == 0xc0) {
			bool seg_start = i == 0 || strchr("/\\=\"' \t\r\n", s[i - 1]);
			size_t n = seg_start ? dotdot_at(s, len, i) : 0;
			if (!n)
				continue;
			bool climbs = dotdot_at(s, len, i + n) > 0;
			for (size_t k = 0; !climbs && k < sizeof sensitive / sizeof sensitive[0];
			     k++)
				climbs = has_prefix_ci(s, len, i + n - 1, sensitive[k]) ||
					 has_prefix_ci(s, len, i + n, sensitive[k]);
			if (climbs) {
				hit->offset = i;
				hit->reason = "climbs out of a directory";
				return true;
			}
			continue;
		}
		/* An absolute name of a secret starts at '/', or at the drive
		 * letter before "c:" — as a whole value or after a separator. */
		size_t at = c == ':' && i > 0 ? i - 1 : i;
		if (at > 0 && !strchr("=\"' \t:;,(", s[at - 1]))
			continue;
		for (size_t k = 0; k < sizeof sensitive / sizeof sensitive[0]; k++) {
			if (sensitive[k][0] != '/' && sensitive[k][1] != ':')
				continue;
			if (has_prefix_ci(s, len, at, sensitive[k])) {
				hit->offset = at;
				hit->reason = "names a sensitive system file";
				return true;
			}
		}
	}
	return false;
}
