/* SQL tokenizer for the injection detector. It reads the way MySQL does
 * where dialects differ (backslash escapes in strings, '#' comments,
 * versioned / *! * / comments whose body runs), because MySQL accepts the
 * most; '--' starts a comment even without the space MySQL wants, as every
 * other server reads it so. Each call does work linear in the token it
 * returns plus the blanks around it. */
#include <pthread.h>
#include <stdint.h>
#include <string.h>

#include "sqli_lex.h"

static const struct sqli_kw keywords[] = {
	{ "ALL", SQLI_K_PREFIX },
	{ "ALTER", SQLI_K_STMT | SQLI_K_DDL },
	{ "AND", SQLI_K_LOGIC },
	{ "ANY", SQLI_K_PREFIX },
	{ "AS", SQLI_K_CLAUSE },
	{ "ASC", SQLI_K_CLOSE },
	{ "ASCII", SQLI_K_FUNC },
	{ "BEGIN", SQLI_K_STMT | SQLI_K_IMPLICIT },
	{ "BENCHMARK", SQLI_K_FUNC | SQLI_K_DANGER },
	{ "BETWEEN", SQLI_K_BINOP | SQLI_K_CMP },
	{ "BINARY", SQLI_K_PREFIX },
	{ "BOOLEAN", SQLI_K_VALUE },
	{ "BY", SQLI_K_CLAUSE },
	{ "CALL", SQLI_K_STMT },
	{ "CASE", SQLI_K_PREFIX },
	{ "CAST", SQLI_K_FUNC },
	{ "CHAR", SQLI_K_FUNC },
	{ "CHOOSE", SQLI_K_FUNC | SQLI_K_COND },
	{ "CHR", SQLI_K_FUNC },
	{ "COALESCE", SQLI_K_FUNC },
	{ "COLLATE", SQLI_K_BINOP },
	{ "CONCAT", SQLI_K_FUNC },
	{ "CONCAT_WS", SQLI_K_FUNC },
	{ "CONVERT", SQLI_K_FUNC },
	{ "COUNT", SQLI_K_FUNC },
	{ "CREATE", SQLI_K_STMT | SQLI_K_DDL },
	{ "CTXSYS.DRITHSX.SN", SQLI_K_FUNC | SQLI_K_DANGER },
	{ "CURRENT_DATE", SQLI_K_VALUE },
	{ "CURRENT_TIMESTAMP", SQLI_K_VALUE },
	{ "CURRENT_USER", SQLI_K_VALUE | SQLI_K_FUNC },
	{ "DATABASE", SQLI_K_FUNC | SQLI_K_DDLOBJ },
	{ "DBMS_LOCK.SLEEP", SQLI_K_FUNC | SQLI_K_DANGER },
	{ "DBMS_PIPE.RECEIVE_MESSAGE", SQLI_K_FUNC | SQLI_K_DANGER },
	{ "DBMS_UTILITY.SQLID_TO_SQLHASH", SQLI_K_FUNC | SQLI_K_DANGER },
	{ "DECLARE", SQLI_K_STMT | SQLI_K_IMPLICIT },
	{ "DECODE", SQLI_K_FUNC | SQLI_K_COND },
	{ "DELAY", SQLI_K_CLAUSE },
	{ "DELETE", SQLI_K_STMT },
	{ "DESC", SQLI_K_CLOSE },
	{ "DISTINCT", SQLI_K_PREFIX },
	{ "DIV", SQLI_K_BINOP },
	{ "DO", SQLI_K_STMT },
	{ "DROP", SQLI_K_STMT | SQLI_K_DDL },
	{ "DUAL", SQLI_K_VALUE },
	{ "DUMPFILE", SQLI_K_CLAUSE },
	{ "ELSE", SQLI_K_CLAUSE },
	{ "ELT", SQLI_K_FUNC | SQLI_K_COND },
	{ "END", SQLI_K_CLOSE },
	{ "ESCAPE", SQLI_K_BINOP },
	{ "EXCEPT", SQLI_K_UNION },
	{ "EXEC", SQLI_K_STMT | SQLI_K_IMPLICIT },
	{ "EXECUTE", SQLI_K_STMT | SQLI_K_IMPLICIT },
	{ "EXISTS", SQLI_K_PREFIX },
	{ "EXP", SQLI_K_FUNC },
	{ "EXTRACTVALUE", SQLI_K_FUNC | SQLI_K_DANGER },
	{ "FALSE", SQLI_K_VALUE },
	{ "FLOOR", SQLI_K_FUNC },
	{ "FOR", SQLI_K_CLAUSE },
	{ "FROM", SQLI_K_CLAUSE },
	{ "FUNCTION", SQLI_K_DDLOBJ },
	{ "GENERATE_SERIES", SQLI_K_FUNC | SQLI_K_DANGER },
	{ "GLOB", SQLI_K_BINOP | SQLI_K_CMP },
	{ "GRANT", SQLI_K_STMT },
	{ "GROUP", SQLI_K_BYKW },
	{ "GROUP_CONCAT", SQLI_K_FUNC },
	{ "GTID_SUBSET", SQLI_K_FUNC | SQLI_K_DANGER },
	{ "HAVING", SQLI_K_CLAUSE },
	{ "HEX", SQLI_K_FUNC },
	{ "IF", SQLI_K_FUNC | SQLI_K_COND | SQLI_K_IMPLICIT },
	{ "IFNULL", SQLI_K_FUNC },
	{ "IIF", SQLI_K_FUNC | SQLI_K_COND },
	{ "ILIKE", SQLI_K_BINOP | SQLI_K_CMP },
	{ "IN", SQLI_K_BINOP | SQLI_K_CMP },
	{ "INDEX", SQLI_K_DDLOBJ },
	{ "INFORMATION_SCHEMA", SQLI_K_VALUE },
	{ "INSERT", SQLI_K_STMT },
	{ "INTERSECT", SQLI_K_UNION },
	{ "INTERVAL", SQLI_K_PREFIX },
	{ "INTO", SQLI_K_CLAUSE },
	{ "IS", SQLI_K_BINOP | SQLI_K_CMP },
	{ "ISNULL", SQLI_K_FUNC },
	{ "JOIN", SQLI_K_CLAUSE },
	{ "JSON_KEYS", SQLI_K_FUNC | SQLI_K_DANGER },
	{ "LANGUAGE", SQLI_K_CLAUSE },
	{ "LEFT", SQLI_K_FUNC },
	{ "LENGTH", SQLI_K_FUNC },
	{ "LIKE", SQLI_K_BINOP | SQLI_K_CMP | SQLI_K_FUNC },
	{ "LIMIT", SQLI_K_CLAUSE },
	{ "LOAD_FILE", SQLI_K_FUNC | SQLI_K_DANGER },
	{ "LOWER", SQLI_K_FUNC },
	{ "MAKE_SET", SQLI_K_FUNC | SQLI_K_COND },
	{ "MASTER..XP_CMDSHELL", SQLI_K_FUNC | SQLI_K_DANGER },
	{ "MASTER.DBO.XP_CMDSHELL", SQLI_K_FUNC | SQLI_K_DANGER },
	{ "MD5", SQLI_K_FUNC },
	{ "MID", SQLI_K_FUNC },
	{ "MOD", SQLI_K_BINOP },
	{ "MODE", SQLI_K_CLOSE },
	{ "NOT", SQLI_K_NOT },
	{ "NULL", SQLI_K_VALUE },
	{ "NULLIF", SQLI_K_FUNC },
	{ "NVL", SQLI_K_FUNC },
	{ "OFFSET", SQLI_K_CLAUSE },
	{ "ON", SQLI_K_CLAUSE },
	{ "OR", SQLI_K_LOGIC },
	{ "ORD", SQLI_K_FUNC },
	{ "ORDER", SQLI_K_BYKW },
	{ "OUTFILE", SQLI_K_CLAUSE },
	{ "PG_SLEEP", SQLI_K_FUNC | SQLI_K_DANGER },
	{ "PROCEDURE", SQLI_K_CLAUSE | SQLI_K_DDLOBJ },
	{ "RAND", SQLI_K_FUNC },
	{ "RANDOMBLOB", SQLI_K_FUNC | SQLI_K_DANGER },
	{ "REGEXP", SQLI_K_BINOP | SQLI_K_CMP },
	{ "REPLACE", SQLI_K_FUNC },
	{ "RETURNS", SQLI_K_CLAUSE },
	{ "RIGHT", SQLI_K_FUNC },
	{ "RLIKE", SQLI_K_BINOP | SQLI_K_CMP },
	{ "SCHEMA", SQLI_K_DDLOBJ },
	{ "SELECT", SQLI_K_STMT },
	{ "SESSION_USER", SQLI_K_VALUE },
	{ "SET", SQLI_K_CLAUSE | SQLI_K_STMT },
	{ "SHUTDOWN", SQLI_K_STMT },
	{ "SLEEP", SQLI_K_FUNC | SQLI_K_DANGER },
	{ "SOME", SQLI_K_PREFIX },
	{ "STRICT", SQLI_K_CLOSE },
	{ "SUBSTR", SQLI_K_FUNC },
	{ "SUBSTRING", SQLI_K_FUNC },
	{ "SYSTEM_USER", SQLI_K_VALUE },
	{ "TABLE", SQLI_K_DDLOBJ },
	{ "THEN", SQLI_K_CLAUSE },
	{ "TIME", SQLI_K_CLAUSE },
	{ "TOP", SQLI_K_PREFIX },
	{ "TRIGGER", SQLI_K_DDLOBJ },
	{ "TRUE", SQLI_K_VALUE },
	{ "TRUNCATE", SQLI_K_STMT | SQLI_K_DDL },
	{ "UNION", SQLI_K_UNION },
	{ "UPDATE", SQLI_K_STMT },
	{ "UPDATEXML", SQLI_K_FUNC | SQLI_K_DANGER },
	{ "UPPER", SQLI_K_FUNC },
	{ "USER", SQLI_K_VALUE | SQLI_K_FUNC | SQLI_K_DDLOBJ },
	{ "USER_LOCK.SLEEP", SQLI_K_FUNC | SQLI_K_DANGER },
	{ "USING", SQLI_K_CLAUSE },
	{ "UTL_HTTP.REQUEST", SQLI_K_FUNC | SQLI_K_DANGER },
	{ "UTL_INADDR.GET_HOST_ADDRESS", SQLI_K_FUNC | SQLI_K_DANGER },
	{ "UTL_INADDR.GET_HOST_NAME", SQLI_K_FUNC | SQLI_K_DANGER },
	{ "VALUES", SQLI_K_CLAUSE },
	{ "VERSION", SQLI_K_FUNC },
	{ "VIEW", SQLI_K_DDLOBJ },
	{ "WAITFOR", SQLI_K_STMT | SQLI_K_IMPLICIT | SQLI_K_DANGER },
	{ "WHEN", SQLI_K_CLAUSE },
	{ "WHERE", SQLI_K_CLAUSE },
	{ "XMLTYPE", SQLI_K_FUNC },
	{ "XOR", SQLI_K_LOGIC },
	{ "XP_CMDSHELL", SQLI_K_FUNC | SQLI_K_DANGER },
};

/* Longer words are no keyword; also bounds the comparison below. */
#define KW_MAX 40

const struct sqli_kw *sqli_kw_table(size_t *n)
{
	*n = sizeof(keywords) / sizeof(keywords[0]);
	return keywords;
}

static int upper(int c)
{
	return c >= 'a' && c <= 'z' ? c - 32 : c;
}

/* Every word of a value is looked up: by hash (a binary search of
 * case-folding compares was most of the detector's time on short prose
 * such as "item 12"). The index is built once; any thread may ask. */
#define KW_SLOTS 1024 /* a power of two, > 6x the keywords: short probe runs */

static uint16_t kw_slot[KW_SLOTS]; /* 1 + index into keywords; 0: empty */
static uint8_t kw_len[sizeof(keywords) / sizeof(keywords[0])];
static pthread_once_t kw_once = PTHREAD_ONCE_INIT;

static uint32_t kw_hash(const char *w, size_t n)
{
	uint32_t h = 2166136261u; /* FNV-1a */
	for (size_t i = 0; i < n; i++)
		h = (h ^ (unsigned char)w[i]) * 16777619u;
	return h;
}

static void kw_index(void)
{
	for (size_t k = 0; k < sizeof(keywords) / sizeof(keywords[0]); k++) {
		kw_len[k] = (uint8_t)strlen(keywords[k].name);
		uint32_t h = kw_hash(keywords[k].name, kw_len[k]);
		while (kw_slot[h & (KW_SLOTS - 1)])
			h++;
		kw_slot[h & (KW_SLOTS - 1)] = (uint16_t)(k + 1);
	}
}

const struct sqli_kw *sqli_kw_find(const char *name, size_t len)
{
	char up[KW_MAX];

	if (len == 0 || len > KW_MAX)
		return NULL;
	for (size_t i = 0; i < len; i++)
		up[i] = (char)upper((unsigned char)name[i]);
	pthread_once(&kw_once, kw_index);
	for (uint32_t h = kw_hash(up, len);; h++) {
		unsigned k = kw_slot[h & (KW_SLOTS - 1)];
		if (k == 0)
			return NULL;
		if (kw_len[k - 1] == len && memcmp(up, keywords[k - 1].name, len) == 0)
			return &keywords[k - 1];
	}
}

/* NUL separates tokens as a blank does, as in libinjection: text a
 * decoded %00 spaces out ("1'%00OR%001=1") is read as the query it spells.
 * strchr() is no test here: it finds the NUL ending its own list. */
static bool is_blank(int c)
{
	return c == 0 || c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

static bool is_digit(int c)
{
	return c >= '0' && c <= '9';
}

static bool is_xdigit(int c)
{
	return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

/* Non-ASCII bytes count as letters: MySQL takes UTF-8 in identifiers. */
static bool is_word_start(int c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c >= 0x80;
}

static bool is_word(int c)
{
	return is_word_start(c) || is_digit(c) || c == '$' || c == '.';
}

void sqli_lex_init(struct sqli_lex *lx, const char *s, size_t len, char vquote)
{
	lx->s = s;
	lx->len = len;
	lx->pos = 0;
	lx->vquote = vquote;
	lx->in_versioned = false;
}

static int at(const struct sqli_lex *lx, size_t i)
{
	return i < lx->len ? (unsigned char)lx->s[i] : -1;
}

/* Skips blanks and terminated plain block comments from i; returns the
 * first position of anything else (a versioned comment's body is code). */
static size_t skip_blanks(const struct sqli_lex *lx, size_t i, bool *unterminated)
{
	*unterminated = false;
	for (;;) {
		while (i < lx->len && is_blank((unsigned char)lx->s[i]))
			i++;
		if (at(lx, i) != '/' || at(lx, i + 1) != '*' || at(lx, i + 2) == '!')
			return i;
		const char *end = NULL;

		if (i + 2 < lx->len)
			end = memmem(lx->s + i + 2, lx->len - i - 2, "*/", 2);
		if (!end) {
			*unterminated = true;
			return i;
		}
		i = (size_t)(end - lx->s) + 2;
	}
}

/* From just past the opening quote: backslash escapes the next byte,
 * a doubled quote stands for itself. */
static size_t scan_string(const struct sqli_lex *lx, size_t i, char q, bool *closed)
{
	if (q == '[') /* T-SQL [identifier]: ]] stands for ] */
		q = ']';
	while (i < lx->len) {
		char c = lx->s[i];

		if (c == '\\' && q != ']' && q != '`') {
			i += 2;
			continue;
		}
		if (c == q) {
			if (at(lx, i + 1) == q) {
				i += 2;
				continue;
			}
			*closed = true;
			return i + 1;
		}
		i++;
	}
	*closed = false;
	return lx->len;
}

static void set(struct sqli_tok *t, char type, size_t off, size_t end)
{
	t->type = type;
	t->off = off;
	t->len = end - off;
}

static size_t scan_number(const struct sqli_lex *lx, size_t i)
{
	if (at(lx, i) == '0' && (at(lx, i + 1) == 'x' || at(lx, i + 1) == 'X') &&
	    is_xdigit(at(lx, i + 2))) {
		for (i += 2; is_xdigit(at(lx, i)); i++)
			;
		return i;
	}
	if (at(lx, i) == '0' && (at(lx, i + 1) == 'b' || at(lx, i + 1) == 'B') &&
	    (at(lx, i + 2) == '0' || at(lx, i + 2) == '1')) {
		for (i += 2; at(lx, i) == '0' || at(lx, i) == '1'; i++)
			;
		return i;
	}
	while (is_digit(at(lx, i)))
		i++;
	if (at(lx, i) == '.')
		for (i++; is_digit(at(lx, i)); i++)
			;
	if ((at(lx, i) == 'e' || at(lx, i) == 'E') &&
	    (is_digit(at(lx, i + 1)) ||
	     ((at(lx, i + 1) == '+' || at(lx, i + 1) == '-') && is_digit(at(lx, i + 2)))))
		for (i += 2; is_digit(at(lx, i)); i++)
			;
	return i;
}

/* is_word() as a table: a word can be a whole value (a base64 body has
 * no byte that ends one), crossed a byte at a time. */
static bool word_tab[256];
static pthread_once_t word_once = PTHREAD_ONCE_INIT;

typedef unsigned char v16u8 __attribute__((vector_size(16)));

/* Whether the 16 bytes at p are all word bytes (is_word()). */
static bool all_word16(const char *p)
{
	const v16u8 z = { 0 };
	v16u8 v, l;
	uint64_t lo, hi;

	memcpy(&v, p, 16);
	l = v | (z + 0x20); /* ASCII letters folded to lower case */
	v16u8 word = (v16u8)((l >= z + 'a') & (l <= z + 'z')) |
		     (v16u8)((v >= z + '0') & (v <= z + '9')) | (v16u8)(v == z + '_') |
		     (v16u8)(v == z + '$') | (v16u8)(v == z + '.') | (v16u8)(v >= z + 0x80);
	v = ~word;
	memcpy(&lo, &v, 8);
	memcpy(&hi, (const char *)&v + 8, 8);
	return (lo | hi) == 0;
}

static void word_index(void)
{
	for (int c = 0; c < 256; c++)
		word_tab[c] = is_word(c);
}

static void lex_word(struct sqli_lex *lx, struct sqli_tok *t, size_t start)
{
	size_t i = start, end;
	bool unterminated;

	pthread_once(&word_once, word_index);
	/* Most words are short: 16 bytes at a time only past the first 16. */
	size_t first = lx->len - start < 16 ? lx->len : start + 16;
	while (i < first && word_tab[(unsigned char)lx->s[i]])
		i++;
	if (i == start + 16) {
		while (i + 16 <= lx->len && all_word16(lx->s + i))
			i += 16;
		while (i < lx->len && word_tab[(unsigned char)lx->s[i]])
			i++;
	}
	/* "end of a sentence." ends the word before its dot */
	end = i;
	while (end > start + 1 && lx->s[end - 1] == '.')
		end--;
	set(t, SQLI_T_WORD, start, end);
	t->kw = sqli_kw_find(lx->s + start, end - start);
	if (t->kw)
		t->type = SQLI_T_KW;
	lx->pos = end;
	t->paren = at(lx, skip_blanks(lx, end, &unterminated)) == '(';
}

static const char *const ops3[] = { "<=>", "->>", NULL };
static const char *const ops2[] = { "<=", ">=", "<>", "!=", "::", ":=",
				    "<<", ">>", "->", "!<", "!>", NULL };

static bool lex_op(struct sqli_lex *lx, struct sqli_tok *t, size_t i)
{
	const char *p = lx->s + i;
	size_t left = lx->len - i;

	if (left >= 2 && ((p[0] == '|' && p[1] == '|') || (p[0] == '&' && p[1] == '&'))) {
		set(t, SQLI_T_LOGIC, i, i + 2);
		return true;
	}
	for (const char *const *o = ops3; *o; o++)
		if (left >= 3 && memcmp(p, *o, 3) == 0) {
			set(t, SQLI_T_OP, i, i + 3);
			return true;
		}
	for (const char *const *o = ops2; *o; o++)
		if (left >= 2 && memcmp(p, *o, 2) == 0) {
			set(t, SQLI_T_OP, i, i + 2);
			return true;
		}
	if (p[0] && strchr("=<>+-*/%^|&~!", p[0])) {
		set(t, SQLI_T_OP, i, i + 1);
		return true;
	}
	return false;
}

/* A line comment ends at the newline; the next line is code again. */
static void lex_line_comment(struct sqli_lex *lx, struct sqli_tok *t, size_t i)
{
	const char *nl = memchr(lx->s + i, '\n', lx->len - i);
	size_t end = nl ? (size_t)(nl - lx->s) : lx->len;

	set(t, SQLI_T_COMMENT, i, end);
	lx->pos = end;
}

static void lex_string(struct sqli_lex *lx, struct sqli_tok *t, size_t start, size_t body, char q)
{
	bool closed;
	size_t end = scan_string(lx, body, q, &closed);

	set(t, SQLI_T_STR, start, end);
	t->quote = q;
	t->unterminated = !closed;
	lx->pos = end;
}

/* Punctuation and operators; false when c starts nothing of these. */
static bool lex_punct(struct sqli_lex *lx, struct sqli_tok *t, size_t i, int c)
{
	static const char single[] = "(),;";

	if (c && strchr(single, c)) {
		set(t, (char)c, i, i + 1);
		lx->pos = i + 1;
		return true;
	}
	if (c == '@') {
		size_t j = i + 1;

		if (at(lx, j) == '@')
			j++;
		while (is_word(at(lx, j)))
			j++;
		set(t, SQLI_T_VAR, i, j);
		lx->pos = j;
		return true;
	}
	if (c == '`' || c == '[') {
		const char *e = memchr(lx->s + i + 1, c == '[' ? ']' : '`', lx->len - i - 1);

		if (!e) { /* the query's own closing ` or ] may end it */
			lex_string(lx, t, i, i + 1, (char)c);
			return true;
		}
		set(t, SQLI_T_WORD, i, (size_t)(e - lx->s) + 1);
		lx->pos = t->off + t->len;
		bool unterminated;

		t->paren = at(lx, skip_blanks(lx, lx->pos, &unterminated)) == '(';
		return true;
	}
	if (lex_op(lx, t, i)) {
		lx->pos = i + t->len;
		return true;
	}
	return false;
}

bool sqli_lex_next(struct sqli_lex *lx, struct sqli_tok *t)
{
	size_t i;
	bool unterminated;
	int c;

	memset(t, 0, sizeof(*t));
	if (lx->vquote) {
		char q = lx->vquote;

		lx->vquote = 0;
		lex_string(lx, t, 0, 0, q);
		return true;
	}
again:
	i = skip_blanks(lx, lx->pos, &unterminated);
	lx->pos = i;
	if (i >= lx->len)
		return false;
	c = (unsigned char)lx->s[i];
	if (unterminated) { /* "/ *" to the end cuts the query off like "--" */
		set(t, SQLI_T_COMMENT, i, lx->len);
		lx->pos = lx->len;
		return true;
	}
	if (c == '/' && at(lx, i + 1) == '*') { /* / *!50000 body * / */
		for (i += 3; is_digit(at(lx, i)); i++)
			;
		lx->pos = i;
		lx->in_versioned = true;
		goto again;
	}
	if (c == '*' && at(lx, i + 1) == '/' && lx->in_versioned) {
		lx->in_versioned = false;
		lx->pos = i + 2;
		goto again;
	}
	if (c == '#' || (c == '-' && at(lx, i + 1) == '-')) {
		lex_line_comment(lx, t, i);
		return true;
	}
	if (c == '\'' || c == '"') {
		lex_string(lx, t, i, i + 1, (char)c);
		return true;
	}
	/* N'..' (national), X'..' (hex), B'..' (bits), E'..' (PostgreSQL) */
	if (c && strchr("NnXxBbEe", c) && (at(lx, i + 1) == '\'' || at(lx, i + 1) == '"')) {
		lex_string(lx, t, i, i + 2, lx->s[i + 1]);
		return true;
	}
	if (is_digit(c) || (c == '.' && is_digit(at(lx, i + 1)))) {
		set(t, SQLI_T_NUM, i, scan_number(lx, i));
		lx->pos = t->off + t->len;
		return true;
	}
	if (is_word_start(c)) {
		lex_word(lx, t, i);
		return true;
	}
	if (lex_punct(lx, t, i, c))
		return true;
	set(t, SQLI_T_BAD, i, i + 1);
	lx->pos = i + 1;
	return true;
}
