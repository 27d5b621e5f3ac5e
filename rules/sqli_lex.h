/* The tokenizer behind sqli.c: splits a value into SQL tokens the way a
 * MySQL-ish server would read it once spliced into a query. Internal to
 * rules/ (sqli.c, tests); no allocation, no system calls. */
#ifndef FNG_SQLI_LEX_H
#define FNG_SQLI_LEX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Token types; the values are the fingerprint letters. */
enum {
	SQLI_T_STR = 's',   /* '..' ".." N'..' X'..'; or an unterminated ` or [ */
	SQLI_T_NUM = 'n',   /* 12, 1.5e3, .5, 0x1f, 0b101 */
	SQLI_T_WORD = 'b',  /* bareword, `quoted` or [quoted] identifier; a.b.c is one word */
	SQLI_T_KW = 'k',    /* a word found in the keyword table */
	SQLI_T_VAR = 'v',   /* @x, @@version */
	SQLI_T_OP = 'o',    /* = <> != <=> + - * / % ^ | & ~ ! :: := << >> -> */
	SQLI_T_LOGIC = '&', /* && || */
	SQLI_T_LPAR = '(',
	SQLI_T_RPAR = ')',
	SQLI_T_COMMA = ',',
	SQLI_T_SEMI = ';',
	SQLI_T_COMMENT = 'c', /* -- or # to end of line, or an unterminated / * */
	SQLI_T_BAD = 'x',     /* anything SQL would not accept here: ? { } \ $ : . */
};

/* Keyword roles: how the judge may read a keyword in a given position. */
enum {
	SQLI_K_VALUE = 1u << 0,     /* an operand by itself: NULL, TRUE, DUAL */
	SQLI_K_BINOP = 1u << 1,     /* between two operands: LIKE, IN, DIV */
	SQLI_K_CMP = 1u << 2,       /* ... and a comparison */
	SQLI_K_LOGIC = 1u << 3,     /* AND OR XOR */
	SQLI_K_NOT = 1u << 4,       /* NOT */
	SQLI_K_UNION = 1u << 5,     /* UNION INTERSECT EXCEPT */
	SQLI_K_STMT = 1u << 6,      /* starts a statement */
	SQLI_K_CLAUSE = 1u << 7,    /* follows an operand, wants one: FROM, WHERE, AS */
	SQLI_K_PREFIX = 1u << 8,    /* starts an operand: CASE, EXISTS, DISTINCT */
	SQLI_K_CLOSE = 1u << 9,     /* ends an operand: END, ASC, DESC */
	SQLI_K_BYKW = 1u << 10,     /* ORDER, GROUP: wants BY */
	SQLI_K_FUNC = 1u << 11,     /* a function when '(' follows */
	SQLI_K_DANGER = 1u << 12,   /* time delay, error or side channel: SLEEP */
	SQLI_K_COND = 1u << 13,     /* conditional function: IF, IIF, ELT */
	SQLI_K_DDL = 1u << 14,      /* CREATE DROP ALTER TRUNCATE */
	SQLI_K_DDLOBJ = 1u << 15,   /* TABLE, DATABASE, FUNCTION after DDL */
	SQLI_K_IMPLICIT = 1u << 16, /* T-SQL starts it without ';': IF, WAITFOR */
};

struct sqli_kw {
	const char *name; /* upper case */
	uint32_t roles;
};

struct sqli_tok {
	char type;                /* SQLI_T_* */
	char quote;               /* SQLI_T_STR: the quote character */
	bool unterminated;        /* SQLI_T_STR: ran to the end of the input */
	bool paren;               /* word or keyword: '(' comes next */
	const struct sqli_kw *kw; /* SQLI_T_KW; static */
	size_t off, len;          /* in the input */
};

struct sqli_lex {
	const char *s;
	size_t len, pos;
	char vquote;       /* the first token is a string already open with it */
	bool in_versioned; /* inside MySQL's / *! ... * / whose body is code */
};

void sqli_lex_init(struct sqli_lex *lx, const char *s, size_t len, char vquote);

/* The next token; false at the end of the input. */
bool sqli_lex_next(struct sqli_lex *lx, struct sqli_tok *t);

/* Case-insensitive keyword lookup; NULL when name is no keyword. */
const struct sqli_kw *sqli_kw_find(const char *name, size_t len);

/* The table, for tests (it must stay sorted for sqli_kw_find). */
const struct sqli_kw *sqli_kw_table(size_t *n);

#endif
