#include "inspect.h"

#include <ctype.h>
#include <errno.h>
#include <pthread.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>
#include <nettle/base64.h>

#include "b64.h"
#include "cleanup.h"
#include "detect.h"
#include "jsonfix.h"
#include "policy.h"
#include "sqli.h"

#define INSP_DEPTH 16 /* nested decodings and JSON levels */
/* String leaves judged per event, decoded ones included: past it the
 * event is refused whole (-E2BIG), never judged in part. A 6 MB
 * synchronous payload of short strings stays under it. */
#define INSP_LEAVES (1u << 20)

struct walk {
	const struct insp_opts *o;
	struct insp_finding *f;
	size_t leaves;
	int err;
};

/* ---- an arena for cJSON's nodes while one event is inspected ----
 *
 * A 1 MB SQS batch is tens of thousands of cJSON nodes, each a malloc and
 * a free (a fifth of the inspection's time). During insp_event() cJSON
 * allocates from chunks that are dropped whole: an inner document (JSON
 * in a string) is released as soon as it is walked, stack-wise, so a
 * batch of messages costs one message's tree at a time, as with malloc.
 * cJSON's hooks are global: the inspection runs on one thread (the
 * supervisor's event loop) and nothing else parses meanwhile. */
#define ARENA_CHUNK (256u * 1024u)

struct chunk {
	struct chunk *prev;
	size_t used, cap;
	_Alignas(16) char d[];
};

static struct chunk *arena; /* the current chunk while hooks are set */
/* Chunks released by an inner document or the last event, kept for the
 * next: freeing them gave each of a batch's inner documents that crossed
 * a chunk's end a fresh mmap and its page faults (a tenth of the time on
 * an SQS batch). Bounded: past ARENA_SPARE bytes they are freed. */
#define ARENA_SPARE (4u * 1024u * 1024u)
static struct chunk *spare;
static size_t spare_bytes;

static void *arena_alloc(size_t n)
{
	n = (n + 15) & ~(size_t)15;
	if (!arena || arena->cap - arena->used < n) {
		struct chunk *c = NULL;
		if (n <= ARENA_CHUNK && spare) {
			c = spare;
			spare = c->prev;
			spare_bytes -= c->cap;
		} else {
			size_t cap = n > ARENA_CHUNK ? n : ARENA_CHUNK;
			if (!(c = malloc(sizeof *c + cap)))
				return NULL;
			c->cap = cap;
		}
		c->prev = arena;
		c->used = 0;
		arena = c;
	}
	void *p = arena->d + arena->used;
	arena->used += n;
	return p;
}

static void arena_free(void *p)
{
	(void)p; /* released with its chunk */
}

struct arena_mark {
	struct chunk *c;
	size_t used;
};

static struct arena_mark arena_mark(void)
{
	return (struct arena_mark){ arena, arena ? arena->used : 0 };
}

/* Drops everything allocated since m. */
static void arena_release(struct arena_mark m)
{
	while (arena && arena != m.c) {
		struct chunk *prev = arena->prev;
		if (arena->cap == ARENA_CHUNK && spare_bytes + arena->cap <= ARENA_SPARE) {
			arena->prev = spare;
			spare = arena;
			spare_bytes += arena->cap;
		} else {
			free(arena);
		}
		arena = prev;
	}
	if (arena)
		arena->used = m.used;
}

/* A value's JSON path, as links up the walk's stack: it is written out
 * only for a finding (building it for every leaf, key copies and
 * strlen() of the parent's path, was a tenth of an SQS batch's time). */
struct jpath {
	const struct jpath *up; /* NULL: the root ("") */
	char kind;              /* '.' key, '[' index, '|' decoding step, '=' form key */
	const char *s;          /* key or step name, len bytes */
	size_t len, idx;
};

#define STEP(up, name) ((struct jpath){ (up), '|', (name), sizeof(name) - 1, 0 })

/* Appends n bytes at at; a path past its buffer is cut. */
static size_t put(char *dst, size_t at, size_t size, const char *s, size_t n)
{
	if (at >= size - 1)
		return at;
	if (n > size - 1 - at)
		n = size - 1 - at;
	memcpy(dst + at, s, n);
	dst[at + n] = 0;
	return at + n;
}

static size_t path_render(const struct jpath *p, char *dst, size_t size)
{
	if (!p) {
		dst[0] = 0;
		return 0;
	}
	size_t at = path_render(p->up, dst, size);
	char num[24];
	size_t n = sizeof num, idx = p->idx;
	switch (p->kind) {
	case '.':
		if (at > 0)
			at = put(dst, at, size, ".", 1);
		return put(dst, at, size, p->s, p->len);
	case '[':
		num[--n] = ']';
		do
			num[--n] = (char)('0' + idx % 10);
		while ((idx /= 10) && n > 1);
		num[--n] = '[';
		return put(dst, at, size, num + n, sizeof num - n);
	case '=':
		at = put(dst, at, size, "[", 1);
		at = put(dst, at, size, p->s, p->len > 64 ? 64 : p->len);
		return put(dst, at, size, "]", 1);
	default:
		return put(dst, at, size, p->s, p->len);
	}
}

static void finding(struct walk *w, const char *attack, const char *rule, const struct jpath *path,
		    const char *s, size_t len)
{
	struct insp_finding *f = w->f;
	size_t n = len < sizeof f->payload - 1 ? len : sizeof f->payload - 1;

	f->attack = attack;
	snprintf(f->rule, sizeof f->rule, "%s", rule ? rule : attack);
	if (!path_render(path, f->path, sizeof f->path))
		snprintf(f->path, sizeof f->path, "$");
	memcpy(f->payload, s, n);
	f->payload[n] = 0;
	for (size_t i = 0; i < n; i++) /* a log line, not a terminal */
		if ((unsigned char)f->payload[i] < 0x20)
			f->payload[i] = ' ';
}

struct first_rule {
	char id[128];
	bool hit;
};

static bool on_rule(void *arg, const struct rules_finding *rf)
{
	struct first_rule *fr = arg;
	snprintf(fr->id, sizeof fr->id, "%s", rf->rule_id);
	fr->hit = true;
	return false;
}

/* What a value is made of, in one pass: each detector and decoding runs
 * only where the bytes its structure needs are there. */
enum {
	K_ODD = 1u << 0,   /* not a letter, digit, '_' or '-' */
	K_CMDI = 1u << 1,  /* ; | & newline ` $ */
	K_XSS = 1u << 2,   /* < : & tab CR LF */
	K_PATH = 1u << 3,  /* . / : NUL 0xc0 */
	K_PCT = 1u << 4,   /* % */
	K_PLUS = 1u << 5,  /* + */
	K_EQ = 1u << 6,    /* = */
	K_SPACE = 1u << 7, /* ' ' */
};

/* XSS: '&' '\t' '\n' '\r' too, which can spell or split a script URL's
 * scheme (detect.h). */
static const unsigned char kinds[256] = {
	[0] = K_ODD | K_PATH,
	[';'] = K_ODD | K_CMDI,
	['|'] = K_ODD | K_CMDI,
	['&'] = K_ODD | K_CMDI | K_XSS,
	['\n'] = K_ODD | K_CMDI | K_XSS,
	['`'] = K_ODD | K_CMDI,
	['\t'] = K_ODD | K_XSS,
	['\r'] = K_ODD | K_XSS,
	['$'] = K_ODD | K_CMDI,
	['<'] = K_ODD | K_XSS,
	[':'] = K_ODD | K_XSS | K_PATH,
	['.'] = K_ODD | K_PATH,
	['/'] = K_ODD | K_PATH,
	[0xc0] = K_ODD | K_PATH,
	['%'] = K_ODD | K_PCT,
	['+'] = K_ODD | K_PLUS,
	['='] = K_ODD | K_EQ,
	[' '] = K_ODD | K_SPACE,
};

/* kinds[] with K_ODD on every byte that is not a letter, digit, '_' or
 * '-' (isalnum() per byte was most of the cost of short values). */
static unsigned char kinds_byte[256];
static pthread_once_t kinds_once = PTHREAD_ONCE_INIT;

static void kinds_index(void)
{
	for (int c = 0; c < 256; c++)
		kinds_byte[c] = (unsigned char)(kinds[c] |
						((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
								 (c >= '0' && c <= '9') ||
								 c == '_' || c == '-'
							 ? 0
							 : K_ODD));
}

typedef unsigned char v16u8 __attribute__((vector_size(16)));

static bool any_of(v16u8 v)
{
	uint64_t lo, hi;
	memcpy(&lo, &v, 8);
	memcpy(&hi, (const char *)&v + 8, 8);
	return (lo | hi) != 0;
}

#define K_ALL 0xffu

/* 16 bytes at a time: which of the kinds not in have are in the block
 * (each test is a few vector operations: once a kind is found in a long
 * value, the blocks after it are not asked about it again). A block of
 * word bytes holds none of them: every kind is a non-word byte. */
static unsigned kinds_of16(v16u8 v, unsigned have)
{
	const v16u8 z = { 0 };
	unsigned k = 0;

	if (!(have & K_ODD)) {
		v16u8 l = v | (z + 0x20); /* ASCII letters folded to lower case */
		v16u8 word = (v16u8)((l >= z + 'a') & (l <= z + 'z')) |
			     (v16u8)((v >= z + '0') & (v <= z + '9')) | (v16u8)(v == z + '_') |
			     (v16u8)(v == z + '-');
		if (!any_of(~word))
			return 0;
		k |= K_ODD;
	}
	if (!(have & K_CMDI) &&
	    any_of((v16u8)(v == z + ';') | (v16u8)(v == z + '|') | (v16u8)(v == z + '&') |
		   (v16u8)(v == z + '\n') | (v16u8)(v == z + '`') | (v16u8)(v == z + '$')))
		k |= K_CMDI;
	v16u8 colon = (v16u8)(v == z + ':');
	if (!(have & K_XSS) &&
	    any_of((v16u8)(v == z + '<') | colon | (v16u8)(v == z + '&') | (v16u8)(v == z + '\t') |
		   (v16u8)(v == z + '\n') | (v16u8)(v == z + '\r')))
		k |= K_XSS;
	if (!(have & K_PATH) && any_of((v16u8)(v == z + '.') | (v16u8)(v == z + '/') | colon |
				       (v16u8)(v == z) | (v16u8)(v == z + 0xc0)))
		k |= K_PATH;
	if (!(have & K_PCT) && any_of((v16u8)(v == z + '%')))
		k |= K_PCT;
	if (!(have & K_PLUS) && any_of((v16u8)(v == z + '+')))
		k |= K_PLUS;
	if (!(have & K_EQ) && any_of((v16u8)(v == z + '=')))
		k |= K_EQ;
	if (!(have & K_SPACE) && any_of((v16u8)(v == z + ' ')))
		k |= K_SPACE;
	return k;
}

static unsigned kinds_of(const char *s, size_t len)
{
	unsigned k = 0;
	size_t i = 0;
	for (; i + 16 <= len && k != K_ALL; i += 16) {
		v16u8 v;
		memcpy(&v, s + i, 16);
		k |= kinds_of16(v, k);
	}
	pthread_once(&kinds_once, kinds_index);
	for (; i < len && k != K_ALL; i++)
		k |= kinds_byte[(unsigned char)s[i]];
	return k;
}

/* The detectors and rules on one value (made of k: kinds_of()). True on
 * a finding. */
static bool judge_value(struct walk *w, const struct jpath *path, const char *s, size_t len,
			unsigned k)
{
	unsigned d = w->o->detect;
	struct detect_hit h;
	struct sqli_result sr;

	if (len == 0)
		return false;
	/* One word of letters, digits, '_' and '-': no quote, space,
	 * operator, separator, markup or path, so no detector can find
	 * anything in it (most keys and many values; rule files still see it). */
	if (!(k & K_ODD))
		d = 0;
	if (!(k & K_CMDI))
		d &= ~(unsigned)POL_DETECT_CMDI;
	if (!(k & K_XSS))
		d &= ~(unsigned)POL_DETECT_XSS;
	if (!(k & K_PATH))
		d &= ~(unsigned)POL_DETECT_PATH_TRAVERSAL;
	if ((d & POL_DETECT_SQLI) && sqli_detect(s, len, &sr)) {
		char why[128];
		snprintf(why, sizeof why, "sqli:%s:%s", sqli_ctx_name(sr.ctx), sr.fingerprint);
		finding(w, "sqli", why, path, s, len);
		return true;
	}
	static const struct {
		unsigned bit;
		const char *name;
		bool (*fn)(const char *, size_t, struct detect_hit *);
	} dets[] = {
		{ POL_DETECT_CMDI, "cmdi", detect_cmdi },
		{ POL_DETECT_XSS, "xss", detect_xss },
		{ POL_DETECT_PATH_TRAVERSAL, "path_traversal", detect_path_traversal },
	};
	for (size_t i = 0; i < sizeof dets / sizeof dets[0]; i++) {
		if ((d & dets[i].bit) && dets[i].fn(s, len, &h)) {
			finding(w, dets[i].name, h.reason, path, s, len);
			return true;
		}
	}
	if (w->o->rules) {
		struct first_rule fr = { .hit = false };
		/* No file name: a value that starts with #! selects nothing. */
		int rc = rules_scan(w->o->rules, NULL, s, len, on_rule, &fr);
		/* -E2BIG: a rule gave up at PCRE2's match limit on this value
		 * (a crafted one can make a pattern backtrack): not judged,
		 * so refused. */
		if (rc < 0 && !fr.hit)
			w->err = rc;
		if (fr.hit) {
			finding(w, "rule", fr.id, path, s, len);
			return true;
		}
	}
	return false;
}

static bool walk_json(struct walk *w, const cJSON *node, const struct jpath *path, int depth);
static bool check_string(struct walk *w, const struct jpath *path, const char *s, size_t len,
			 int depth, bool base64_hint);

/* base64 of at least 8 bytes decoding to text: what API Gateway and ALB
 * put in `body` with isBase64Encoded. Plain base64 quickly (b64.h), the
 * rest as nettle reads it (whitespace between quads); *plain says which. */
static char *base64_text(const char *s, size_t len, size_t *out, bool *plain)
{
	struct base64_decode_ctx ctx;
	size_t n = BASE64_DECODE_LENGTH(len);
	char *buf = malloc(n + 1);

	*plain = false;
	if (!buf)
		return NULL;
	ssize_t quick = n >= len / 4 * 3 ? b64_plain(s, len, (unsigned char *)buf) : -1;
	if (quick >= 0) {
		buf[quick] = 0;
		*out = (size_t)quick;
		*plain = true;
		return buf;
	}
	base64_decode_init(&ctx);
	if (!base64_decode_update(&ctx, &n, (uint8_t *)buf, len, s) || !base64_decode_final(&ctx)) {
		free(buf);
		return NULL;
	}
	buf[n] = 0;
	*out = n;
	return buf;
}

/* A body that is not plain base64: each lenient runtime's reading (b64.h)
 * that differs from what was judged already (seen, n bytes) is judged. */
static bool check_lenient(struct walk *w, const struct jpath *path, const char *s, size_t len,
			  int depth, const char *seen, size_t n)
{
	_cleanup_free_ unsigned char *node = malloc(B64_OUT_MAX(len) + 1);
	_cleanup_free_ unsigned char *py = malloc(B64_OUT_MAX(len) + 1);
	struct jpath sub = STEP(path, "|base64");

	if (!node || !py) {
		w->err = -ENOMEM;
		return false;
	}
	size_t nn = b64_node(s, len, node);
	ssize_t np = b64_python(s, len, py);
	bool node_new = !seen || nn != n || memcmp(node, seen, n) != 0;
	bool py_new = np >= 0 && (!seen || (size_t)np != n || memcmp(py, seen, n) != 0) &&
		      ((size_t)np != nn || memcmp(py, node, nn) != 0);
	node[nn] = 0;
	if (node_new && check_string(w, &sub, (const char *)node, nn, depth + 1, false))
		return true;
	if (!py_new)
		return false;
	py[np] = 0;
	return check_string(w, &sub, (const char *)py, (size_t)np, depth + 1, false);
}

static bool urlencoded(const char *s, size_t len, unsigned k)
{
	if (!(k & (K_PCT | K_PLUS)))
		return false;
	for (size_t i = 0; k & K_PCT && i + 2 < len; i++)
		if (s[i] == '%' && isxdigit((unsigned char)s[i + 1]) &&
		    isxdigit((unsigned char)s[i + 2]))
			return true;
	return (k & K_PLUS) && (k & K_EQ);
}

/* k=v&k=v without spaces: each value on its own (a detector judges a
 * value as one spliced into a query or a command line). */
static bool check_form(struct walk *w, const struct jpath *path, const char *s, size_t len,
		       int depth, unsigned k)
{
	if ((k & K_SPACE) || !(k & K_EQ))
		return false;
	for (size_t i = 0; i < len;) {
		const char *amp = memchr(s + i, '&', len - i);
		size_t end = amp ? (size_t)(amp - s) : len;
		const char *eq = memchr(s + i, '=', end - i);
		if (eq) {
			size_t kl = (size_t)(eq - (s + i));
			struct jpath sub = { path, '=', s + i, kl, 0 };
			size_t vlen = end - (size_t)(eq + 1 - s);
			if (check_string(w, &sub, eq + 1, vlen, depth + 1, false))
				return true;
		}
		i = end + 1;
	}
	return false;
}

/* Whether JSON text holds an escaped NUL ("u0000" after an odd run of
 * backslashes): cJSON ends its strings at a NUL, so whatever follows it
 * in the value (an injection after "harmless\u0000") would go unjudged,
 * while the function's own parser keeps it. Such a document is refused
 * as not judged whole. */
static bool escaped_at(const char *s, const char *p)
{
	size_t run = 0;
	while (p - run > s && p[-(ptrdiff_t)run - 1] == '\\')
		run++;
	return run & 1;
}

static bool nul_escape(const char *s, size_t len)
{
	/* JSON's escapes are lower case: "\U0000" is no escape, and cJSON
	 * refuses the document (it is then judged as text). A backslash
	 * followed by 'u' is looked for 16 positions at a time (memmem was a
	 * twentieth of an SQS batch's time: every inner document is scanned
	 * too), then "0000" after it and an odd run of backslashes before. */
	const v16u8 z = { 0 };
	size_t i = 0;
	for (; i + 17 <= len; i += 16) {
		v16u8 a, b;
		memcpy(&a, s + i, 16);
		memcpy(&b, s + i + 1, 16);
		v16u8 m = (v16u8)(a == z + '\\') & (v16u8)(b == z + 'u');
		if (!any_of(m))
			continue;
		for (size_t k = 0; k < 16; k++)
			if (m[k] && i + k + 6 <= len && memcmp(s + i + k + 2, "0000", 4) == 0 &&
			    escaped_at(s, s + i + k + 1))
				return true;
	}
	for (; i + 6 <= len; i++)
		if (memcmp(s + i, "\\u0000", 6) == 0 && escaped_at(s, s + i + 1))
			return true;
	return false;
}

/* cJSON parses the first value in s and ignores what follows: with more
 * than blanks after it, *trailing is set and the caller judges the whole
 * text as well (`{"a":1} ' OR 1=1 --` is a document to cJSON, and text
 * to a function that stores it as it came). NULL: no document. */
static cJSON *parse_one(const char *s, size_t len, bool *trailing)
{
	const char *end = NULL;
	cJSON *d = cJSON_ParseWithLengthOpts(s, len, &end, false);

	*trailing = false;
	if (d && end) {
		while (end < s + len && isspace((unsigned char)*end))
			end++;
		*trailing = end < s + len;
	}
	return d;
}

/* A document cJSON refuses may still be one to the function's runtime
 * (NaN, a lone surrogate escape: jsonfix.h): it is then read as they
 * read it, so that its other fields are judged one by one too. */
static cJSON *parse_doc(const char *s, size_t len, bool *trailing)
{
	cJSON *d = parse_one(s, len, trailing);
	if (d)
		return d;
	size_t n;
	_cleanup_free_ char *fixed = jfix_relaxed(s, len, &n);
	return fixed ? parse_one(fixed, n, trailing) : NULL;
}

/* Values judged clean earlier in the same event, by their bytes: a batch
 * repeats its values (one note in 2,000 items, a message text cycling
 * through a batch), and a verdict depends on nothing but the value, its
 * depth and whether it is a base64 body (the path only names a finding).
 * Short values only, copied here: decoded buffers and inner documents
 * are freed as the walk goes on. Exact compare: a hash collision must
 * never make a value clean. One thread inspects (as the arena). */
#define MEMO_SLOTS  4096u
#define MEMO_MAXLEN 96u
#define MEMO_BYTES  (128u * 1024u)

struct memo_slot {
	uint64_t h;
	uint32_t gen, off;
	uint16_t len;
	uint8_t depth, b64;
};

static struct {
	struct memo_slot s[MEMO_SLOTS];
	char bytes[MEMO_BYTES];
	uint32_t gen; /* the event's; slots of another are empty */
	size_t used;
} memo;

static void memo_begin(void)
{
	if (++memo.gen == 0) { /* wrapped: no slot may look current */
		memset(memo.s, 0, sizeof memo.s);
		memo.gen = 1;
	}
	memo.used = 0;
}

static uint64_t memo_hash(const char *s, size_t len, int depth, bool b64)
{
	uint64_t h = 0xcbf29ce484222325ull ^ ((uint64_t)depth << 1 | b64);
	for (size_t i = 0; i < len; i++)
		h = (h ^ (unsigned char)s[i]) * 0x100000001b3ull;
	return h ^ (h >> 29);
}

/* The slot holding the value, or the empty one where it would go; NULL
 * when the probe finds neither. */
static struct memo_slot *memo_slot(uint64_t h, const char *s, size_t len, int depth, bool b64)
{
	for (uint32_t n = 0, i = (uint32_t)h & (MEMO_SLOTS - 1); n < 8;
	     n++, i = (i + 1) & (MEMO_SLOTS - 1)) {
		struct memo_slot *m = &memo.s[i];
		if (m->gen != memo.gen)
			return m;
		if (m->h == h && m->len == len && m->depth == depth && m->b64 == b64 &&
		    memcmp(memo.bytes + m->off, s, len) == 0)
			return m;
	}
	return NULL;
}

/* K_UNKNOWN: kinds_of() not run yet. */
#define K_UNKNOWN (~0u)

static bool check_fresh(struct walk *w, const struct jpath *path, const char *s, size_t len,
			int depth, bool base64_hint, unsigned k);

static bool check_string(struct walk *w, const struct jpath *path, const char *s, size_t len,
			 int depth, bool base64_hint)
{
	if (w->err)
		return false;
	if (depth > INSP_DEPTH || ++w->leaves > INSP_LEAVES) {
		w->err = -E2BIG; /* the rest would go unjudged: refused */
		return false;
	}
	if (len > MEMO_MAXLEN || len == 0)
		return check_fresh(w, path, s, len, depth, base64_hint, K_UNKNOWN);
	/* One word of letters and digits costs less to judge than to look
	 * up (no detector runs on it): only the rule files, if any. */
	unsigned k = kinds_of(s, len);
	if (!(k & K_ODD) && !w->o->rules)
		return check_fresh(w, path, s, len, depth, base64_hint, k);
	uint64_t h = memo_hash(s, len, depth, base64_hint);
	struct memo_slot *m = memo_slot(h, s, len, depth, base64_hint);
	if (m && m->gen == memo.gen)
		return false; /* judged clean before */
	bool hit = check_fresh(w, path, s, len, depth, base64_hint, k);
	/* Kept only when judged whole and clean; the walk below may have
	 * filled the slot meanwhile (an inner value): probe again. */
	if (hit || w->err || memo.used + len > MEMO_BYTES ||
	    !(m = memo_slot(h, s, len, depth, base64_hint)) || m->gen == memo.gen)
		return hit;
	memcpy(memo.bytes + memo.used, s, len);
	*m = (struct memo_slot){ .h = h,
				 .gen = memo.gen,
				 .off = (uint32_t)memo.used,
				 .len = (uint16_t)len,
				 .depth = (uint8_t)depth,
				 .b64 = base64_hint };
	memo.used += len;
	return false;
}

static bool check_fresh(struct walk *w, const struct jpath *path, const char *s, size_t len,
			int depth, bool base64_hint, unsigned k)
{
	/* JSON inside a string (an SNS Message) is judged field by field,
	 * each with its own path, rather than as one text of quotes. */
	size_t i = 0;
	while (i < len && isspace((unsigned char)s[i]))
		i++;
	if (i < len && (s[i] == '{' || s[i] == '[')) {
		if (nul_escape(s, len)) {
			w->err = -EILSEQ;
			return false;
		}
		struct arena_mark m = arena_mark();
		bool trailing, hit = false;
		cJSON *inner = parse_doc(s, len, &trailing);
		if (inner) {
			struct jpath sub = STEP(path, "|json");
			hit = walk_json(w, inner, &sub, depth + 1);
		}
		arena_release(m);
		if (inner && (hit || w->err || !trailing))
			return hit;
	}
	if (k == K_UNKNOWN)
		k = kinds_of(s, len);
	if (judge_value(w, path, s, len, k))
		return true;
	/* A form or query string is split before decoding (a decoded value
	 * may hold '&' or '='); each value is then decoded on its own. A
	 * base64 body has '+' and '=' too: it is decoded as base64 instead. */
	if (!base64_hint && check_form(w, path, s, len, depth, k))
		return true;
	if (!base64_hint && urlencoded(s, len, k)) {
		char *dec = malloc(len + 1);
		if (!dec) {
			w->err = -ENOMEM;
			return false;
		}
		size_t n = detect_url_decode(s, len, dec, true);
		dec[n] = 0;
		struct jpath sub = STEP(path, "|url");
		bool hit = (n != len || memcmp(dec, s, len) != 0) &&
			   check_string(w, &sub, dec, n, depth + 1, false);
		free(dec);
		if (hit)
			return true;
	}
	if (base64_hint) {
		size_t n = 0;
		bool plain;
		_cleanup_free_ char *dec = base64_text(s, len, &n, &plain);
		if (dec) {
			struct jpath sub = STEP(path, "|base64");
			if (check_string(w, &sub, dec, n, depth + 1, false))
				return true;
		}
		/* Not plain base64: the runtimes' decoders disagree on it. */
		if (!plain && !w->err && check_lenient(w, path, s, len, depth, dec, n))
			return true;
	}
	return false;
}

static bool walk_json(struct walk *w, const cJSON *node, const struct jpath *path, int depth)
{
	size_t idx = 0;

	if (depth > INSP_DEPTH * 4) {
		w->err = -E2BIG; /* what is deeper would go unjudged: refused */
		return false;
	}
	/* API Gateway and ALB: `body` is base64 when its sibling says so.
	 * Where functions could read it otherwise, the body is judged both
	 * ways: the key given twice, differently (cJSON counts the first,
	 * Python the last), or a value that is truthy without being true
	 * (the string "true", which `if event["isBase64Encoded"]` takes). */
	bool b64 = false, text = true;
	int seen = 0;
	for (const cJSON *c = cJSON_IsObject(node) ? node->child : NULL; c; c = c->next)
		if (c->string && c->string[0] == 'i' && strcmp(c->string, "isBase64Encoded") == 0) {
			bool truthy = !cJSON_IsFalse(c) && !cJSON_IsNull(c) &&
				      !(cJSON_IsNumber(c) && c->valuedouble == 0) &&
				      !(cJSON_IsString(c) && !c->valuestring[0]);
			b64 = b64 || truthy;
			text = (seen++ ? text : false) || !cJSON_IsTrue(c);
		}
	for (const cJSON *c = node->child; c; c = c->next, idx++) {
		struct jpath sub = { path, '[', NULL, 0, idx };
		if (!cJSON_IsArray(node)) {
			sub.kind = '.';
			sub.s = c->string ? c->string : "?";
			sub.len = strlen(sub.s);
		}
		/* Keys are input too (a query parameter's name). */
		if (c->string && cJSON_IsObject(node) &&
		    judge_value(w, &sub, c->string, sub.len, kinds_of(c->string, sub.len)))
			return true;
		if (cJSON_IsString(c) && c->valuestring) {
			size_t vl = strlen(c->valuestring);
			bool body = c->string && strcmp(c->string, "body") == 0;
			if (check_string(w, &sub, c->valuestring, vl, depth, b64 && body) ||
			    (b64 && body && text &&
			     check_string(w, &sub, c->valuestring, vl, depth, false)))
				return true;
		} else if ((cJSON_IsObject(c) || cJSON_IsArray(c)) &&
			   walk_json(w, c, &sub, depth + 1)) {
			return true;
		}
		if (w->err)
			return false;
	}
	return false;
}

static const char *source_of(const cJSON *root)
{
	const cJSON *recs = cJSON_GetObjectItemCaseSensitive(root, "Records");
	const cJSON *first = cJSON_IsArray(recs) ? recs->child : NULL;
	if (first) {
		static const char *const known[] = { "aws:sns", "aws:sqs", "aws:s3", "aws:dynamodb",
						     "aws:kinesis" };
		const cJSON *es = cJSON_GetObjectItemCaseSensitive(first, "EventSource");
		if (!cJSON_IsString(es))
			es = cJSON_GetObjectItemCaseSensitive(first, "eventSource");
		for (size_t i = 0; cJSON_IsString(es) && i < sizeof known / sizeof known[0]; i++)
			if (strcmp(es->valuestring, known[i]) == 0)
				return known[i];
	}
	const cJSON *rc = cJSON_GetObjectItemCaseSensitive(root, "requestContext");
	if (cJSON_GetObjectItemCaseSensitive(rc, "elb"))
		return "aws:alb";
	const cJSON *ver = cJSON_GetObjectItemCaseSensitive(root, "version");
	if (rc && cJSON_IsString(ver) && strcmp(ver->valuestring, "2.0") == 0 &&
	    cJSON_GetObjectItemCaseSensitive(root, "routeKey"))
		return "aws:apigateway:v2";
	if (rc && cJSON_GetObjectItemCaseSensitive(root, "httpMethod"))
		return "aws:apigateway";
	if (cJSON_GetObjectItemCaseSensitive(root, "detail-type") &&
	    cJSON_GetObjectItemCaseSensitive(root, "source"))
		return "aws:events";
	return "unknown";
}

const char *insp_source(const char *body, size_t len)
{
	cJSON *root = cJSON_ParseWithLength(body, len);
	const char *src = root ? source_of(root) : "unknown";
	cJSON_Delete(root);
	return src;
}

int insp_event(const struct insp_opts *o, const char *body, size_t len, struct insp_finding *f)
{
	struct walk w = { .o = o, .f = f };
	bool hit;

	memset(f, 0, sizeof *f);
	if (nul_escape(body, len))
		return -EILSEQ;
	memo_begin();
	cJSON_Hooks hooks = { arena_alloc, arena_free };
	cJSON_InitHooks(&hooks);
	bool trailing;
	cJSON *root = parse_doc(body, len, &trailing);
	f->source = root ? source_of(root) : "unknown";
	if (root && (cJSON_IsObject(root) || cJSON_IsArray(root)))
		hit = walk_json(&w, root, NULL, 0);
	else if (root && cJSON_IsString(root))
		hit = check_string(&w, NULL, root->valuestring, strlen(root->valuestring), 0,
				   false);
	else
		hit = check_string(&w, NULL, body, len, 0, false);
	if (!hit && !w.err && root && trailing)
		hit = check_string(&w, NULL, body, len, 0, false);
	arena_release((struct arena_mark){ 0 });
	cJSON_InitHooks(NULL);
	if (hit)
		return 1;
	return w.err ? w.err : 0;
}

/* ---- the texts inside a response ---- */

struct texts {
	insp_text_fn fn;
	void *arg;
	size_t leaves;
	int err;
};

static bool texts_doc(struct texts *t, const char *s, size_t len, int depth);

static bool texts_string(struct texts *t, const char *s, size_t len, int depth, bool b64)
{
	if (t->err)
		return false;
	if (depth > INSP_DEPTH || ++t->leaves > INSP_LEAVES) {
		t->err = -E2BIG; /* the rest would go unseen: refused */
		return false;
	}
	if (t->fn(t->arg, s, len) || texts_doc(t, s, len, depth + 1))
		return true;
	if (!b64 || t->err)
		return false;
	/* A body API Gateway decodes before it leaves: as each runtime's
	 * decoder reads it (b64.h), the same readings as for events. */
	size_t n = 0;
	bool plain;
	_cleanup_free_ char *dec = base64_text(s, len, &n, &plain);
	if (dec && texts_string(t, dec, n, depth + 1, false))
		return true;
	if (plain)
		return false;
	_cleanup_free_ unsigned char *node = malloc(B64_OUT_MAX(len) + 1);
	_cleanup_free_ unsigned char *py = malloc(B64_OUT_MAX(len) + 1);
	if (!node || !py) {
		t->err = -ENOMEM;
		return false;
	}
	size_t nn = b64_node(s, len, node);
	ssize_t np = b64_python(s, len, py);
	return texts_string(t, (const char *)node, nn, depth + 1, false) ||
	       (np >= 0 && texts_string(t, (const char *)py, (size_t)np, depth + 1, false));
}

static bool texts_node(struct texts *t, const cJSON *node, int depth)
{
	bool b64 = false;

	if (depth > INSP_DEPTH * 4) {
		t->err = -E2BIG;
		return false;
	}
	for (const cJSON *c = cJSON_IsObject(node) ? node->child : NULL; c; c = c->next)
		if (c->string && strcmp(c->string, "isBase64Encoded") == 0)
			b64 = b64 || (!cJSON_IsFalse(c) && !cJSON_IsNull(c));
	for (const cJSON *c = node->child; c && !t->err; c = c->next) {
		if (c->string && cJSON_IsObject(node) &&
		    texts_string(t, c->string, strlen(c->string), depth, false))
			return true;
		if (cJSON_IsString(c) && c->valuestring) {
			bool body = b64 && c->string && strcmp(c->string, "body") == 0;
			if (texts_string(t, c->valuestring, strlen(c->valuestring), depth, body))
				return true;
		} else if ((cJSON_IsObject(c) || cJSON_IsArray(c)) && texts_node(t, c, depth + 1)) {
			return true;
		}
	}
	return false;
}

static bool texts_doc(struct texts *t, const char *s, size_t len, int depth)
{
	size_t i = 0;
	while (i < len && isspace((unsigned char)s[i]))
		i++;
	if (i == len || (s[i] != '{' && s[i] != '['))
		return false;
	struct arena_mark m = arena_mark();
	bool trailing, hit = false;
	cJSON *d = parse_doc(s, len, &trailing);
	if (d)
		hit = texts_node(t, d, depth);
	arena_release(m);
	return hit;
}

int insp_response_texts(const char *body, size_t len, insp_text_fn fn, void *arg)
{
	struct texts t = { .fn = fn, .arg = arg };

	cJSON_Hooks hooks = { arena_alloc, arena_free };
	cJSON_InitHooks(&hooks);
	bool hit = texts_doc(&t, body, len, 0);
	arena_release((struct arena_mark){ 0 });
	cJSON_InitHooks(NULL);
	return hit ? 1 : t.err;
}

/* AKIA/ASIA followed by 16 upper-case letters or digits, on word bounds. */
static bool aws_key_at(const char *s, size_t len, size_t i)
{
	if (i + 20 > len || (i > 0 && isalnum((unsigned char)s[i - 1])) ||
	    (strncmp(s + i, "AKIA", 4) != 0 && strncmp(s + i, "ASIA", 4) != 0))
		return false;
	for (size_t k = 4; k < 20; k++)
		if (!isupper((unsigned char)s[i + k]) && !isdigit((unsigned char)s[i + k]))
			return false;
	return i + 20 == len || !isalnum((unsigned char)s[i + 20]);
}

bool insp_aws_key(const char *s, size_t len, size_t *at)
{
	for (size_t i = 0; i + 20 <= len; i++) {
		if (s[i] == 'A' && aws_key_at(s, len, i)) {
			*at = i;
			return true;
		}
	}
	return false;
}

int insp_response(const struct rules *r, const char *body, size_t len, struct insp_finding *f)
{
	struct insp_opts o = { .rules = r };
	struct walk w = { .o = &o, .f = f };

	memset(f, 0, sizeof *f);
	f->source = "response";
	size_t at;
	if (insp_aws_key(body, len, &at)) {
		finding(&w, "aws_key", "aws-access-key-id", NULL, body + at, 20);
		return 1;
	}
	if (r && judge_value(&w, NULL, body, len, ~0u))
		return 1;
	return w.err;
}
