#include <errno.h>
#include <fcntl.h>
#include <regex.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cleanup.h"
#include "log.h"
#include "unit.h"

/* argv and envp are char *const *; -Wwrite-strings makes literals const. */
#define MUT(s) ((char *)(uintptr_t)(s))

/* A log on a memfd; each test reads back what the last emits wrote. */
struct sink {
	int fd;
	off_t pos;
	struct log_ctx *l;
};

static char *const test_env[] = {
	MUT("HOME=/root"),
	MUT("AWS_SECRET_ACCESS_KEY=wJalrXUtnFEMI/K7MDENG"),
	MUT("AWS_SESSION_TOKEN=tok-abc"),
	MUT("MY_PASSWORD=hunter2"),
	MUT("API_KEY=hunter2-extended"), /* contains MY_PASSWORD's value */
	MUT("SHORT_KEY=abc"),            /* under 4 bytes: ignored */
	MUT("DB_Credential=s3cr3t\xff"),
	MUT("NOEQUALS"),
	NULL,
};

static bool sink_open(struct sink *s, bool allowed)
{
	struct log_opts o = { .function = "fn", .allowed = allowed, .envp = test_env };
	char err[256];

	s->pos = 0;
	s->l = NULL;
	s->fd = memfd_create("log", MFD_CLOEXEC);
	if (s->fd < 0)
		return false;
	o.fd = s->fd;
	return log_open(&o, &s->l, err, sizeof err) == 0;
}

static void sink_close(struct sink *s)
{
	log_free(s->l);
	close(s->fd);
}

/* Everything written since the last call (caller frees). */
static char *sink_read(struct sink *s)
{
	struct stat st;
	char *buf;
	ssize_t n;

	if (fstat(s->fd, &st) < 0 || st.st_size < s->pos)
		return NULL;
	buf = calloc(1, (size_t)(st.st_size - s->pos) + 1);
	if (!buf)
		return NULL;
	n = pread(s->fd, buf, (size_t)(st.st_size - s->pos), s->pos);
	if (n < 0) {
		free(buf);
		return NULL;
	}
	s->pos += n;
	return buf;
}

static size_t count_lines(const char *s)
{
	size_t n = 0;

	for (; s && *s; s++)
		n += *s == '\n';
	return n;
}

/* The one line written since the last read, parsed; NULL unless exactly
 * one whole line was written. */
static cJSON *sink_line(struct sink *s)
{
	_cleanup_free_ char *text = sink_read(s);
	size_t n = text ? strlen(text) : 0;

	if (n == 0 || count_lines(text) != 1 || text[n - 1] != '\n')
		return NULL;
	return cJSON_Parse(text);
}

static const char *get_str(const cJSON *o, const char *key)
{
	return cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(o, key));
}

UNIT_SUITE(log_fields)
{
	static const char *const order[] = { "ts",  "event",      "action", "function",
					     "pid", "request_id", "path" };
	struct sink s;
	regex_t re;
	cJSON *ev, *line, *it;
	size_t i = 0;

	CHECK(regcomp(&re, "^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\\.[0-9]{3}Z$",
		      REG_EXTENDED | REG_NOSUB) == 0);
	CHECK(sink_open(&s, false));
	log_set_request_id(s.l, "req-1");
	ev = log_begin(s.l, "exec", "kill", 42);
	CHECK(ev != NULL);
	cJSON_AddStringToObject(ev, "path", "/bin/sh");
	CHECK(log_emit(s.l, ev) == 0);
	line = sink_line(&s);
	CHECK(line != NULL);
	for (it = line ? line->child : NULL; it; it = it->next, i++)
		CHECK_STR(i < ARRAY_SIZE(order) ? order[i] : "(extra)", it->string);
	CHECK(i == ARRAY_SIZE(order));
	CHECK(get_str(line, "ts") && regexec(&re, get_str(line, "ts"), 0, NULL, 0) == 0);
	CHECK_STR(get_str(line, "event"), "exec");
	CHECK_STR(get_str(line, "action"), "kill");
	CHECK_STR(get_str(line, "function"), "fn");
	it = cJSON_GetObjectItemCaseSensitive(line, "pid");
	CHECK(cJSON_IsNumber(it) && it->valuedouble == 42);
	CHECK_STR(get_str(line, "request_id"), "req-1");
	cJSON_Delete(line);

	log_set_request_id(s.l, "req-2");
	log_set_request_id(s.l, NULL);
	CHECK(log_emit(s.l, log_begin(s.l, "dns", "deny", 7)) == 0);
	line = sink_line(&s);
	CHECK(line && !cJSON_HasObjectItem(line, "request_id"));
	CHECK(line && cJSON_GetArraySize(line) == 5);
	cJSON_Delete(line);

	CHECK(log_emit(s.l, NULL) == -ENOMEM);
	log_free(NULL);
	regfree(&re);
	sink_close(&s);
}

UNIT_SUITE(log_secret_names)
{
	static const struct {
		const char *name;
		bool secret;
	} cases[] = {
		{ "AWS_SECRET_ACCESS_KEY", true },
		{ "AWS_SESSION_TOKEN", true },
		{ "AWS_ACCESS_KEY_ID", true },
		{ "github_token", true },
		{ "DbPassword", true },
		{ "LDAP_PASSWD", true },
		{ "GOOGLE_APPLICATION_CREDENTIALS", true },
		{ "STRIPE_KEY", true },
		{ "client_secret", true },
		{ "HOME", false },
		{ "AWS_REGION", false },
		{ "AWS_LAMBDA_FUNCTION_NAME", false },
		{ "PATH", false },
		{ "", false },
	};

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++)
		CHECK_MSG(log_is_secret_name(cases[i].name) == cases[i].secret, cases[i].name);
	CHECK(!log_is_secret_name(NULL));
}

UNIT_SUITE(log_redact_strings)
{
	static const struct {
		const char *in;
		const char *want;
	} cases[] = {
		{ "x hunter2 y", "x [REDACTED:MY_PASSWORD] y" },
		{ "hunter2hunter2", "[REDACTED:MY_PASSWORD][REDACTED:MY_PASSWORD]" },
		{ "hunter2-extended!", "[REDACTED:API_KEY]!" }, /* longer secret wins */
		{ "hunter2-ext", "[REDACTED:MY_PASSWORD]-ext" },
		{ "k=wJalrXUtnFEMI/K7MDENG&t=tok-abc",
		  "k=[REDACTED:AWS_SECRET_ACCESS_KEY]&t=[REDACTED:AWS_SESSION_TOKEN]" },
		{ "abc /root", "abc /root" }, /* short and non-secret values stay */
		{ "s3cr3t\xff", "[REDACTED:DB_Credential]" },
		{ "hunte", "hunte" },
		/* a secret cut by a truncation still leaks its head: redact it */
		{ "--key=wJalrXUt\xe2\x80\xa6",
		  "--key=[REDACTED:AWS_SECRET_ACCESS_KEY]\xe2\x80\xa6" },
		{ "tok-a\xe2\x80\xa6", "[REDACTED:AWS_SESSION_TOKEN]\xe2\x80\xa6" },
		{ "wJa\xe2\x80\xa6", "wJa\xe2\x80\xa6" }, /* under 4 bytes */
		/* any case: DNS names arrive lower-cased */
		{ "q.wjalrxutnfemi/k7mdeng.evil.test",
		  "q.[REDACTED:AWS_SECRET_ACCESS_KEY].evil.test" },
		{ "HUNTER2", "[REDACTED:MY_PASSWORD]" },
		{ "", "" },
	};
	struct sink s;

	CHECK(sink_open(&s, false));
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		char *r = log_redact(s.l, cases[i].in);

		CHECK_STR(r, cases[i].want);
		free(r);
	}
	CHECK(log_redact(s.l, NULL) == NULL);
	sink_close(&s);
}

UNIT_SUITE(log_redact_tree)
{
	struct sink s;
	cJSON *ev, *obj, *arr, *inner, *line;
	_cleanup_free_ char *text = NULL;
	static const char literal[] = "ref hunter2";

	CHECK(sink_open(&s, false));
	ev = log_begin(s.l, "invoke", "deny", 1);
	obj = cJSON_AddObjectToObject(ev, "env");
	cJSON_AddStringToObject(cJSON_AddObjectToObject(obj, "inner"), "v", "pw=hunter2");
	arr = cJSON_AddArrayToObject(ev, "list");
	cJSON_AddItemToArray(arr, cJSON_CreateString("tok-abc and tok-abc"));
	inner = cJSON_CreateObject();
	cJSON_AddItemToArray(arr, inner);
	cJSON_AddItemToObject(inner, "deep",
			      cJSON_CreateStringArray((const char *[]){ "hunter2" }, 1));
	cJSON_AddNumberToObject(ev, "hunter2", 1); /* a secret as a key */
	cJSON_AddItemToObjectCS(ev, "tok-abc-const", cJSON_CreateNull());
	cJSON_AddItemToObject(ev, "ref", cJSON_CreateStringReference(literal));
	CHECK(log_emit(s.l, ev) == 0);

	text = sink_read(&s);
	CHECK(text && count_lines(text) == 1);
	CHECK(text && !strstr(text, "hunter2") && !strstr(text, "tok-abc") && !strstr(text, "abc"));
	line = text ? cJSON_Parse(text) : NULL;
	CHECK(line != NULL);
	obj = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(line, "env"),
					       "inner");
	CHECK_STR(get_str(obj, "v"), "pw=[REDACTED:MY_PASSWORD]");
	arr = cJSON_GetObjectItemCaseSensitive(line, "list");
	CHECK_STR(cJSON_GetStringValue(cJSON_GetArrayItem(arr, 0)),
		  "[REDACTED:AWS_SESSION_TOKEN] and [REDACTED:AWS_SESSION_TOKEN]");
	inner = cJSON_GetObjectItemCaseSensitive(cJSON_GetArrayItem(arr, 1), "deep");
	CHECK_STR(cJSON_GetStringValue(cJSON_GetArrayItem(inner, 0)), "[REDACTED:MY_PASSWORD]");
	CHECK(cJSON_IsNumber(cJSON_GetObjectItemCaseSensitive(line, "[REDACTED:MY_PASSWORD]")));
	CHECK(cJSON_IsNull(
		cJSON_GetObjectItemCaseSensitive(line, "[REDACTED:AWS_SESSION_TOKEN]-const")));
	CHECK_STR(get_str(line, "ref"), "ref [REDACTED:MY_PASSWORD]");
	CHECK_STR(literal, "ref hunter2"); /* a borrowed string is not written to */
	cJSON_Delete(line);
	sink_close(&s);
}

static int count_of(const cJSON *ev, const char *event, const char *action)
{
	const cJSON *c = cJSON_GetObjectItemCaseSensitive(ev, "counts");
	const cJSON *n = cJSON_GetObjectItemCaseSensitive(
		cJSON_GetObjectItemCaseSensitive(c, event), action);

	return cJSON_IsNumber(n) ? n->valueint : -1;
}

UNIT_SUITE(log_allow_filter)
{
	static const struct {
		const char *event, *action;
	} seq[] = {
		{ "exec", "allow" },   { "exec", "allow" }, { "exec", "kill" },
		{ "connect", "deny" }, { "exec", "allow" }, { "dns", "audit" },
	};
	for (int allowed = 0; allowed <= 1; allowed++) {
		struct sink s;
		_cleanup_free_ char *text = NULL;
		cJSON *ev, *line;

		CHECK(sink_open(&s, allowed));
		for (size_t i = 0; i < ARRAY_SIZE(seq); i++)
			CHECK(log_emit(s.l, log_begin(s.l, seq[i].event, seq[i].action, 9)) == 0);
		text = sink_read(&s);
		CHECK(count_lines(text) == (allowed ? 6 : 3));
		CHECK(allowed || (text && !strstr(text, "\"allow\"")));

		ev = log_begin(s.l, "exit", "audit", 9);
		log_add_counts(s.l, ev);
		CHECK(log_emit(s.l, ev) == 0);
		line = sink_line(&s);
		CHECK(count_of(line, "exec", "allow") == 3);
		CHECK(count_of(line, "exec", "kill") == 1);
		CHECK(count_of(line, "connect", "deny") == 1);
		CHECK(count_of(line, "dns", "audit") == 1);
		CHECK(count_of(line, "exit", "audit") == -1); /* counted after it is built */
		cJSON_Delete(line);
		sink_close(&s);
	}
}

static char *filled(size_t n, char c)
{
	char *p = malloc(n + 1);

	if (p) {
		memset(p, c, n);
		p[n] = '\0';
	}
	return p;
}

UNIT_SUITE(log_line_cap)
{
	static const struct {
		size_t len;
		char fill;
	} big[] = { { 1 << 20, 'A' }, { 1 << 20, '\x01' }, { 70000, '"' } };
	struct sink s;

	CHECK(sink_open(&s, false));
	for (size_t i = 0; i < ARRAY_SIZE(big); i++) {
		_cleanup_free_ char *payload = filled(big[i].len, big[i].fill);
		_cleanup_free_ char *text = NULL;
		char want[64];
		const char *got;
		cJSON *ev = log_begin(s.l, "invoke", "deny", 3), *line;

		cJSON_AddStringToObject(ev, "payload", payload);
		cJSON_AddStringToObject(ev, "source", "aws:sns");
		CHECK(log_emit(s.l, ev) == 0);
		text = sink_read(&s);
		CHECK(text && strlen(text) <= 65536 && count_lines(text) == 1);
		line = text ? cJSON_Parse(text) : NULL;
		CHECK(line != NULL);
		got = get_str(line, "payload");
		snprintf(want, sizeof want, "\xe2\x80\xa6(truncated %zu bytes)", big[i].len - 256);
		CHECK(got && strlen(got) == 256 + strlen(want) && strcmp(got + 256, want) == 0);
		CHECK_STR(get_str(line, "source"), "aws:sns");
		cJSON_Delete(line);
	}

	/* Two 40 KB strings: cutting the first is enough, the second stays. */
	{
		_cleanup_free_ char *a = filled(40000, 'a'), *b = filled(39000, 'b');
		cJSON *ev = log_begin(s.l, "invoke", "deny", 3), *line;

		cJSON_AddStringToObject(ev, "a", a);
		cJSON_AddStringToObject(ev, "b", b);
		CHECK(log_emit(s.l, ev) == 0);
		line = sink_line(&s);
		CHECK(line && strlen(get_str(line, "a")) < 300);
		CHECK_STR(get_str(line, "b"), b);
		cJSON_Delete(line);
	}

	/* Too many small items: only the common fields survive, still JSON. */
	{
		cJSON *ev = log_begin(s.l, "exec", "kill", 3), *line, *arr;

		log_set_request_id(s.l, "r");
		cJSON_Delete(ev);
		ev = log_begin(s.l, "exec", "kill", 3);
		arr = cJSON_AddArrayToObject(ev, "argv");
		for (int i = 0; i < 20000; i++)
			cJSON_AddItemToArray(arr, cJSON_CreateString("abcdefgh"));
		CHECK(log_emit(s.l, ev) == 0);
		line = sink_line(&s);
		CHECK(line && !cJSON_HasObjectItem(line, "argv"));
		CHECK(line && get_str(line, "log_error") && get_str(line, "ts"));
		CHECK_STR(get_str(line, "request_id"), "r");
		CHECK_STR(get_str(line, "event"), "exec");
		cJSON_Delete(line);
	}
	sink_close(&s);
}

UNIT_SUITE(log_utf8)
{
	static const struct {
		const char *in;
		const char *want;
	} cases[] = {
#define R "\xef\xbf\xbd"
		{ "ok \xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80",
		  "ok \xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80" },
		{ "\xff", R },
		{ "a\xc3", "a" R },
		{ "\xc3(", R "(" },
		{ "\xe2\x82", R },               /* truncated 3-byte sequence */
		{ "\xc0\xaf", R R },             /* overlong */
		{ "\xed\xa0\x80", R R R },       /* UTF-16 surrogate */
		{ "\xf4\x90\x80\x80", R R R R }, /* above U+10FFFF */
		{ "x\xf0\x9f\x98y", "x" R "y" },
		{ "\x01\n\t\"\\", "\x01\n\t\"\\" }, /* escaped by cJSON */
#undef R
	};
	struct sink s;

	CHECK(sink_open(&s, false));
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		cJSON *ev = log_begin(s.l, "code", "deny", 1), *line;

		cJSON_AddStringToObject(ev, "path", cases[i].in);
		cJSON_AddNumberToObject(ev, cases[i].in, 1);
		CHECK(log_emit(s.l, ev) == 0);
		line = sink_line(&s);
		CHECK_MSG(line != NULL, cases[i].want);
		CHECK_STR(get_str(line, "path"), cases[i].want);
		CHECK(cJSON_HasObjectItem(line, cases[i].want));
		cJSON_Delete(line);
	}
	sink_close(&s);
}

UNIT_SUITE(log_file_sink)
{
	char dir[] = "/tmp/fng-log-XXXXXX", path[64], err[256];
	struct log_opts o = { .function = "fn" };
	struct log_ctx *l = NULL;
	_cleanup_free_ char *text = NULL;
	struct stat st;
	FILE *f;
	size_t n = 0;
	char *save = NULL;

	CHECK(mkdtemp(dir) != NULL);
	snprintf(path, sizeof path, "%s/fnguard.log", dir);
	o.path = path;
	for (int round = 0; round < 2; round++) {
		CHECK(log_open(&o, &l, err, sizeof err) == 0);
		for (int i = 0; i < 3; i++) {
			cJSON *ev = log_begin(l, "exec", "deny", 100 + i);

			log_add_strv(ev, "argv", (char *[]){ MUT("sh"), MUT("-c"), MUT("id") }, 3,
				     8, 64);
			CHECK(log_emit(l, ev) == 0);
		}
		log_free(l);
	}
	CHECK(stat(path, &st) == 0 && (st.st_mode & 0777) == 0600);
	f = fopen(path, "r");
	CHECK(f != NULL);
	if (f) {
		text = calloc(1, 4096);
		CHECK(text && fread(text, 1, 4095, f) > 0);
		fclose(f);
	}
	for (char *ln = text ? strtok_r(text, "\n", &save) : NULL; ln;
	     ln = strtok_r(NULL, "\n", &save), n++) {
		cJSON *line = cJSON_Parse(ln);

		CHECK(line && cJSON_GetObjectItemCaseSensitive(line, "pid")->valueint ==
				      100 + (int)(n % 3));
		cJSON_Delete(line);
	}
	CHECK(n == 6);
	unlink(path);

	snprintf(path, sizeof path, "%s/missing/fnguard.log", dir);
	CHECK(log_open(&o, &l, err, sizeof err) == -ENOENT);
	CHECK(strstr(err, path) && strstr(err, "No such file") && strstr(err, "Hint:"));
	rmdir(dir);

	o.path = NULL;
	o.fd = -1;
	CHECK(log_open(&o, &l, err, sizeof err) == -EBADF);
}

UNIT_SUITE(log_write_errors)
{
	struct log_opts o = { .function = "fn" };
	struct log_ctx *l = NULL;
	char err[256];
	int p[2];
	void (*old_pipe)(int);
	cJSON *ev;
	_cleanup_free_ char *big = filled(8000, 'z');

	/* A short write is an error, never finished with a second write. */
	CHECK(pipe2(p, O_NONBLOCK | O_CLOEXEC) == 0);
	CHECK(fcntl(p[1], F_SETPIPE_SZ, 4096) >= 4096);
	o.fd = p[1];
	CHECK(log_open(&o, &l, err, sizeof err) == 0);
	ev = log_begin(l, "invoke", "deny", 1);
	cJSON_AddStringToObject(ev, "payload", big);
	CHECK(log_emit(l, ev) == -EIO);
	close(p[0]);
	/* The supervisor ignores SIGPIPE; here only for this write. */
	old_pipe = signal(SIGPIPE, SIG_IGN);
	CHECK(log_emit(l, log_begin(l, "exec", "deny", 1)) == -EPIPE);
	signal(SIGPIPE, old_pipe);
	close(p[1]);
	CHECK(log_emit(l, log_begin(l, "exec", "deny", 1)) == -EBADF);
	log_free(l);
}

UNIT_SUITE(log_strv)
{
	static const struct {
		const char *in;
		const char *want;
	} items[] = {
		{ "python3", "pyth\xe2\x80\xa6" },
		{ "ab", "ab" },
		{ "abcd", "abcd" },
		{ "a\xc3\xa9\xc3\xa9", "a\xc3\xa9\xe2\x80\xa6" },           /* é not split */
		{ "\xe2\x82\xac\xe2\x82\xac", "\xe2\x82\xac\xe2\x80\xa6" }, /* € not split */
	};
	char *argv[ARRAY_SIZE(items) + 1] = { 0 };
	cJSON *ev = cJSON_CreateObject(), *arr;

	for (size_t i = 0; i < ARRAY_SIZE(items); i++)
		argv[i] = MUT(items[i].in);
	log_add_strv(ev, "argv", argv, ARRAY_SIZE(items), 16, 4);
	arr = cJSON_GetObjectItemCaseSensitive(ev, "argv");
	CHECK(cJSON_GetArraySize(arr) == (int)ARRAY_SIZE(items));
	for (size_t i = 0; i < ARRAY_SIZE(items); i++)
		CHECK_STR(cJSON_GetStringValue(cJSON_GetArrayItem(arr, (int)i)), items[i].want);
	CHECK(!cJSON_HasObjectItem(ev, "argv_truncated"));

	log_add_strv(ev, "args", argv, ARRAY_SIZE(items), 2, 64);
	CHECK(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(ev, "args")) == 2);
	CHECK(cJSON_GetObjectItemCaseSensitive(ev, "args_truncated")->valueint == 3);

	log_add_strv(ev, "none", NULL, 0, 2, 64);
	CHECK(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(ev, "none")) == 0);
	cJSON_Delete(ev);
}
