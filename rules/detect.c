#include "detect.h"

#include <ctype.h>
#include <pthread.h>
#include <stdint.h>
#include <string.h>
#include <strings.h>

#include "util.h"

typedef unsigned char v16u8 __attribute__((vector_size(16)));

/* The bytes a detector stops at: a table for single bytes and the same
 * bytes as a list for 16 at a time. */
struct stops {
	bool tab[256];
	unsigned n;
	unsigned char c[6];
};

/* The next index at or after i whose byte is in set, or len: each
 * detector only stops where its structure can begin, so a long value of
 * prose is crossed 16 bytes per step (a vector compare per stop byte). */
static size_t next_of(const char *s, size_t i, size_t len, const struct stops *set)
{
	for (; i + 16 <= len; i += 16) {
		v16u8 v, any = { 0 };
		uint64_t lo, hi;
		memcpy(&v, s + i, 16);
		for (unsigned k = 0; k < set->n; k++)
			any |= (v16u8)(v == (v16u8){ 0 } + set->c[k]);
		memcpy(&lo, &any, 8);
		memcpy(&hi, (const char *)&any + 8, 8);
		if (lo | hi)
			return i + (lo ? (size_t)__builtin_ctzll(lo) / 8
				       : 8 + (size_t)__builtin_ctzll(hi) / 8);
	}
	while (i < len && !set->tab[(unsigned char)s[i]])
		i++;
	return i;
}

static const struct stops cmdi_set = {
	{ [';'] = 1, ['|'] = 1, ['&'] = 1, ['\n'] = 1, ['`'] = 1, ['$'] = 1 },
	6,
	{ ';', '|', '&', '\n', '`', '$' },
};
static const struct stops xss_set = { { ['<'] = 1, [':'] = 1 }, 2, { '<', ':' } };
static const struct stops path_set = {
	{ ['.'] = 1, [0xc0] = 1, ['/'] = 1, [':'] = 1, [0] = 1 },
	5,
	{ '.', 0xc0, '/', ':', 0 },
};

/* c is one of set's bytes. strchr() alone is no test: it finds the NUL
 * that ends set, so a NUL byte in a value would pass for any of them. */
static bool in_set(char c, const char *set)
{
	return c && strchr(set, c);
}

static bool has_prefix_ci_rest(const char *s, size_t len, size_t at, const char *p)
{
	size_t n = strlen(p);
	return at + n <= len && strncasecmp(s + at, p, n) == 0;
}

/* The first byte decides most comparisons: checked inline, before the
 * call (|0x20 folds case for letters and, as a filter, keeps every pair
 * tolower() would call equal). */
static inline __attribute__((always_inline)) bool has_prefix_ci(const char *s, size_t len,
								size_t at, const char *p)
{
	return at < len && ((unsigned char)s[at] | 0x20) == ((unsigned char)p[0] | 0x20) &&
	       has_prefix_ci_rest(s, len, at, p);
}

size_t detect_url_decode(const char *src, size_t len, char *dst, bool form)
{
	size_t o = 0;

	for (size_t i = 0; i < len; i++) {
		int hi, lo;
		if (src[i] == '%' && i + 2 < len && (hi = util_hexval(src[i + 1])) >= 0 &&
		    (lo = util_hexval(src[i + 2])) >= 0) {
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
	unsigned char len;
};

static const struct command commands[] = {
	{ "bash", STRONG, 4 },     { "zsh", STRONG, 3 },      { "dash", STRONG, 4 },
	{ "ksh", STRONG, 3 },      { "csh", STRONG, 3 },      { "tcsh", STRONG, 4 },
	{ "busybox", STRONG, 7 },  { "nc", STRONG, 2 },       { "ncat", STRONG, 4 },
	{ "netcat", STRONG, 6 },   { "socat", STRONG, 5 },    { "telnet", STRONG, 6 },
	{ "curl", STRONG, 4 },     { "wget", STRONG, 4 },     { "tftp", STRONG, 4 },
	{ "whoami", STRONG, 6 },   { "uname", STRONG, 5 },    { "nslookup", STRONG, 8 },
	{ "python", STRONG, 6 },   { "python2", STRONG, 7 },  { "python3", STRONG, 7 },
	{ "perl", STRONG, 4 },     { "php", STRONG, 3 },      { "powershell", STRONG, 10 },
	{ "certutil", STRONG, 8 }, { "ifconfig", STRONG, 8 }, { "base64", STRONG, 6 },
	{ "xxd", STRONG, 3 },      { "mkfifo", STRONG, 6 },   { "printenv", STRONG, 8 },
	{ "chmod", STRONG, 5 },    { "chown", STRONG, 5 },    { "useradd", STRONG, 7 },
	{ "crontab", STRONG, 7 },  { "nohup", STRONG, 5 },    { "openssl", STRONG, 7 },
	{ "sudo", STRONG, 4 },     { "id", WEAK_ALONE, 2 },   { "ls", WEAK_ALONE, 2 },
	{ "pwd", WEAK_ALONE, 3 },  { "sh", WEAK_ALONE, 2 },   { "cat", WEAK, 3 },
	{ "rm", WEAK, 2 },         { "sleep", WEAK, 5 },      { "echo", WEAK, 4 },
	{ "env", WEAK, 3 },        { "ping", WEAK, 4 },       { "dig", WEAK, 3 },
	{ "ssh", WEAK, 3 },        { "scp", WEAK, 3 },        { "ftp", WEAK, 3 },
	{ "node", WEAK, 4 },       { "ruby", WEAK, 4 },       { "lua", WEAK, 3 },
	{ "awk", WEAK, 3 },        { "find", WEAK, 4 },       { "touch", WEAK, 5 },
	{ "kill", WEAK, 4 },       { "su", WEAK, 2 },         { "eval", WEAK, 4 },
	{ "exec", WEAK, 4 },       { "timeout", WEAK, 7 },    { "xargs", WEAK, 5 },
	{ "tar", WEAK, 3 },        { "dd", WEAK, 2 },         { "head", WEAK, 4 },
	{ "tail", WEAK, 4 },       { "grep", WEAK, 4 },       { "cmd", WEAK, 3 },
	{ "hostname", WEAK, 8 },
};

#define CMD_MAX   10  /* the longest name: powershell */
#define CMD_SLOTS 256 /* > 3x the commands: short probe runs */

static unsigned char cmd_slot[CMD_SLOTS]; /* 1 + index into commands; 0: empty */
static pthread_once_t cmd_once = PTHREAD_ONCE_INIT;

static uint32_t cmd_hash(const char *w, size_t n)
{
	uint32_t h = 2166136261u; /* FNV-1a */
	for (size_t i = 0; i < n; i++)
		h = (h ^ (unsigned char)w[i]) * 16777619u;
	return h;
}

static void cmd_index(void)
{
	for (size_t k = 0; k < sizeof commands / sizeof commands[0]; k++) {
		uint32_t h = cmd_hash(commands[k].name, commands[k].len);
		while (cmd_slot[h % CMD_SLOTS])
			h++;
		cmd_slot[h % CMD_SLOTS] = (unsigned char)(k + 1);
	}
}

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
	/* The whole word, looked up by hash: a separator in prose is followed
	 * by a word that is almost never a command. */
	char word[CMD_MAX + 1];
	size_t w = 0;
	while (i + w < len && !word_end(s[i + w])) {
		if (w == CMD_MAX)
			return NULL;
		word[w] = (char)tolower((unsigned char)s[i + w]);
		w++;
	}
	pthread_once(&cmd_once, cmd_index);
	for (uint32_t h = cmd_hash(word, w);; h++) {
		unsigned k = cmd_slot[h % CMD_SLOTS];
		if (k == 0)
			return NULL;
		if (commands[k - 1].len == w && memcmp(word, commands[k - 1].name, w) == 0) {
			*n = i + w - at;
			/* /bin/cat is a program, whatever the English says. */
			static const struct command strong = { "", STRONG, 0 };
			return dir ? &strong : &commands[k - 1];
		}
	}
}

/* What follows a command word looks like a shell command line: an
 * option, a path, a variable, a quote, a number (sleep 5), a redirection
 * or another operator. Prose ("; cat videos") does not. */
static bool shell_args_at(const char *s, size_t len, size_t at, int kind)
{
	size_t i = at;
	while (i < len && (s[i] == ' ' || s[i] == '\t'))
		i++;
	/* system() and execve() read a command line up to its NUL. */
	if (i == len || s[i] == 0)
		return kind != WEAK;
	/* $IFS is a blank to the shell, braced or not ("cat$IFS/etc/passwd") */
	if (kind == STRONG || has_prefix_ci(s, len, i, "${ifs}") ||
	    (has_prefix_ci(s, len, i, "$ifs") &&
	     (i + 4 == len || !(isalnum((unsigned char)s[i + 4]) || s[i + 4] == '_'))))
		return true;
	if (i == at && !in_set(s[i], "|;&<>`)\n"))
		return false; /* "cat's": not a word boundary we trust */
	return in_set(s[i], "-/.~$'\"<>|;&`)\n0123456789");
}

bool detect_cmdi(const char *s, size_t len, struct detect_hit *hit)
{
	for (size_t i = next_of(s, 0, len, &cmdi_set); i < len;
	     i = next_of(s, i + 1, len, &cmdi_set)) {
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
		/* Each '|' and '&' of that run is a stop that would come to the
		 * same place: the scan goes on past the run (a value of 200,000
		 * '&' took twelve seconds, the run crossed again at every one). */
		size_t run_end = after;
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
		if (run_end > i + 1)
			i = run_end - 1;
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

/* The character a reference at s[i] ('&') stands for in an attribute
 * value, its length in *n; -1 for none. Numeric ones with or without
 * their ';' (a browser takes "&#58" too), and the named ones that can
 * spell or split a scheme. */
static long charref_at(const char *s, size_t len, size_t i, size_t *n)
{
	static const struct {
		const char *name;
		char c;
	} named[] = { { "colon;", ':' }, { "Tab;", '\t' },   { "NewLine;", '\n' },
		      { "sol;", '/' },   { "period;", '.' }, { "amp;", '&' } };
	size_t j = i + 1;

	if (j < len && s[j] == '#') {
		bool hex = j + 1 < len && (s[j + 1] == 'x' || s[j + 1] == 'X');
		long v = 0;
		size_t start = j += hex ? 2 : 1;
		for (; j < len && (hex ? util_hexval(s[j]) >= 0 : isdigit((unsigned char)s[j]));
		     j++)
			if (v < 0x110000)
				v = v * (hex ? 16 : 10) + (hex ? util_hexval(s[j]) : s[j] - '0');
		if (j == start)
			return -1;
		if (j < len && s[j] == ';')
			j++;
		*n = j - i;
		return v;
	}
	for (size_t k = 0; k < sizeof named / sizeof named[0]; k++) {
		size_t m = strlen(named[k].name);
		if (j + m <= len && memcmp(s + j, named[k].name, m) == 0) {
			*n = 1 + m;
			return named[k].c;
		}
	}
	return -1;
}

/* A script URL spelled with character references or split by tabs and
 * line breaks, as a browser reads an attribute value: it decodes the
 * references, then drops every tab, CR and LF from the URL before it
 * reads the scheme ("java&#x09;script&colon;alert(1)" runs). The value
 * is read once, the last characters kept in a window. */
static bool script_url_encoded(const char *s, size_t len, size_t *where)
{
	/* The last 32 characters read, as a ring: win[k % 32] is the k-th. */
	char win[32];
	size_t src[32], total = 0;

	for (size_t i = 0; i < len;) {
		size_t n = 1;
		long c = s[i] == '&' ? charref_at(s, len, i, &n) : (unsigned char)s[i];
		if (c < 0) {
			c = '&';
			n = 1;
		}
		size_t at = i;
		i += n;
		if (c == '\t' || c == '\n' || c == '\r')
			continue;
		c = c < 0x80 ? tolower((int)c) : 0x80;
		win[total % 32] = (char)c;
		src[total % 32] = at;
		total++;
		if (c != ':' && c != 'l') /* every script URL ends so */
			continue;
		for (size_t k = 0; k < sizeof script_urls / sizeof script_urls[0]; k++) {
			size_t m = strlen(script_urls[k]), j = 0;
			if (total < m)
				continue;
			while (j < m && win[(total - m + j) % 32] == script_urls[k][j])
				j++;
			if (j < m ||
			    (total > m && isalnum((unsigned char)win[(total - m - 1) % 32])))
				continue;
			*where = src[(total - m) % 32];
			return true;
		}
	}
	return false;
}

/* Whether a browser would read s otherwise than its bytes: a tab or a
 * line break, or a character reference ("rock & roll" has none). */
static bool spelled_otherwise(const char *s, size_t len)
{
	if (memchr(s, '\t', len) || memchr(s, '\n', len) || memchr(s, '\r', len))
		return true;
	for (const char *p = s, *end = s + len; (p = memchr(p, '&', (size_t)(end - p))); p++) {
		size_t n;
		if (charref_at(s, len, (size_t)(p - s), &n) >= 0)
			return true;
	}
	return false;
}

bool detect_xss(const char *s, size_t len, struct detect_hit *hit)
{
	size_t enc;

	if (spelled_otherwise(s, len) && script_url_encoded(s, len, &enc)) {
		hit->offset = enc;
		hit->reason = "script URL";
		return true;
	}
	for (size_t i = next_of(s, 0, len, &xss_set); i < len;
	     i = next_of(s, i + 1, len, &xss_set)) {
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
	for (size_t i = next_of(s, 0, len, &path_set); i < len;
	     i = next_of(s, i + 1, len, &path_set)) {
		unsigned char c = (unsigned char)s[i];
		if (c == 0) {
			hit->offset = i;
			hit->reason = "NUL byte in a value";
			return true;
		}
		if (c == '.' || c == 0xc0) {
			bool seg_start = i == 0 || in_set(s[i - 1], "/\\=\"' \t\r\n");
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
		if (at > 0 && !in_set(s[at - 1], "=\"' \t:;,("))
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
