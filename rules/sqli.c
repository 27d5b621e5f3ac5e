/* The judge of the SQL-injection detector. Each reading (as-is, after an
 * open ', ", ` or [) walks the tokens with a small grammar of
 * what may follow what in SQL: an operand, then an operator, clause
 * keyword, ')' ',' ';' UNION...; the first token SQL could not accept ends
 * the reading. Prose fails that grammar within a few words ("1 or 2 items"
 * stops at "items", "O'Reilly's" at "Reilly"), so the grammar, not a word
 * list, keeps ordinary text out.
 *
 * While the reading is valid the judge watches for signals: a comparison
 * after AND/OR, UNION SELECT, a statement after ';', a sub-select, a
 * time/error function, CASE WHEN or IF() on a comparison, ORDER BY, INTO
 * OUTFILE, a comment right after the break-out. A signal counts once the
 * next token or two are valid too (or the value ends, or a comment cuts
 * the query off there), so "3 and 4 = 7 days" is not flagged but
 * "x' OR 1=1 --" is. */
#include <limits.h>
#include <string.h>

#include "sqli.h"
#include "sqli_lex.h"

/* Injections show their shape within a few dozen tokens; past that a
 * reading gives up unflagged, which also bounds the work per value. */
#define MAX_TOKENS 96
#define NO_DEPTH   INT_MIN

enum state {
	ST_VAL,   /* an operand is due */
	ST_AFTER, /* an operand just ended */
	ST_STMT,  /* after ';': a statement is due */
	ST_BY,    /* after ORDER / GROUP */
	ST_UNION, /* after UNION [ALL]: SELECT or '(' due */
	ST_FUNC,  /* after a function name: '(' due */
	ST_DDL,   /* after CREATE / DROP ...: what is created */
};

struct judge {
	const char *s;
	size_t len;
	enum sqli_ctx ctx;
	char quote;
	enum state st;
	int depth; /* parentheses opened minus closed; < 0: broke out of the query's */
	char cls;  /* class of the token being judged, for the fingerprint */
	char prev, prev2;
	const struct sqli_kw *prevkw;
	bool from_clause, not_pending, between, case_open, decl, exec_name, waitfor;
	bool empty_ok, cond_pending, cond_cmp, by_wait, truth, broke_only;
	bool logic, cmp_wait, need_select, sel_seen, update;
	/* lead: as-is, only '(' EXISTS NOT - so far; sel_whole: the SELECT
	 * came so, and "(SELECT x FROM t" in text about SQL is that too */
	bool lead, sel_whole;
	bool opnd_strong, cmp_strong; /* see operand_start() */
	uint64_t strong_paren;        /* bit d: the '(' at depth d+1 is strong */
	size_t truth_off;             /* the value after AND/OR, for logic+value */
	bool breakout_tight;          /* quote readings: the break-out quote closes a word */
	int logic_depth, cond_depth;
	int if_depth; /* T-SQL IF (cond) statement: depth of its condition */
	bool if_done; /* ... which just closed: a statement may follow */
	enum { SEL_NONE, SEL_FIRST, SEL_FROM } sel;
	const char *sel_reason;
	int ntok, fire; /* fire: token index at which the armed signal counts */
	const char *reason;
	size_t trig;
	char fp[SQLI_FP_MAX];
	size_t nfp;
};

static bool kw_is(const struct sqli_kw *kw, const char *name)
{
	return kw && strcmp(kw->name, name) == 0;
}

/* Whether operator token t is the text op. */
static bool tok_is(const struct judge *j, const struct sqli_tok *t, const char *op)
{
	return t->len == strlen(op) && memcmp(j->s + t->off, op, t->len) == 0;
}

/* The signal at token t counts after n more valid tokens (0: now;
 * AT_END: only if the whole value reads as valid SQL). */
#define AT_END (MAX_TOKENS + 1)
static void arm(struct judge *j, const struct sqli_tok *t, int n, const char *reason)
{
	if (j->fire >= 0 && j->fire <= j->ntok + n)
		return;
	j->fire = j->ntok + n;
	j->reason = reason;
	j->trig = t->off;
}

/* A strong operand is a literal, a variable or what a known function or
 * a sub-select returns; words and unknown functions ("retry or exit in
 * proc(...)") are weak. */
static bool strong(const struct sqli_tok *t, char cls)
{
	return cls == 'n' || cls == 's' || cls == 'v' || (cls == 'f' && t->type == SQLI_T_KW) ||
	       (cls == 'k' && t->type == SQLI_T_KW);
}

/* Hooks on the first token of an operand. */
static void operand_start(struct judge *j, const struct sqli_tok *t, char cls)
{
	if (cls != '(' && cls != 'o')
		j->opnd_strong = strong(t, cls);
	if (j->cmp_wait && cls != '(' && cls != 'o') {
		/* an attack compares values ("1=1", "'a'='a'", "ORD(..)>51");
		 * "x = y" of words is prose or code, and a word on the left
		 * needs everything after it to be valid SQL too */
		if (j->cmp_strong)
			arm(j, t, 2, "logic+comparison");
		else if (j->opnd_strong && j->ctx != SQLI_CTX_ASIS)
			arm(j, t, AT_END, "logic+comparison");
		j->cmp_wait = false;
	}
	if (j->prev == '&' && (cls == 'n' || cls == 'v')) {
		j->truth = true;
		j->truth_off = t->off;
	}
	if (j->sel == SEL_FIRST) {
		if (cls == 'b') {
			j->sel = SEL_FROM;
		} else {
			arm(j, t, j->sel_whole ? AT_END : 1, j->sel_reason);
			j->sel = SEL_NONE;
		}
	}
	if (j->by_wait) { /* "ORDER BY x" is common in text about SQL */
		if (cls == 'n' || cls == '(')
			arm(j, t, AT_END, "order/group by");
		j->by_wait = false;
	}
}

static void value(struct judge *j, const struct sqli_tok *t, char cls)
{
	j->cls = cls;
	operand_start(j, t, cls);
	if (j->exec_name) { /* EXEC proc 'arg', ... */
		j->exec_name = false;
		j->st = ST_VAL;
		return;
	}
	j->st = ST_AFTER;
}

static bool func(struct judge *j, const struct sqli_tok *t)
{
	const struct sqli_kw *kw = t->type == SQLI_T_KW ? t->kw : NULL;

	j->cls = 'f';
	if (j->prev == '&' && kw)
		arm(j, t, 2, "logic+function");
	/* ";CALL f()" as a whole: "...; call GC_thread_resume()." is prose */
	if (kw_is(j->prevkw, "CALL"))
		arm(j, t, AT_END, "stacked query");
	operand_start(j, t, 'f');
	/* "sleep(5);" alone is C as much as SQL: as the whole value it must
	 * read as one SQL operand */
	if (kw && (kw->roles & SQLI_K_DANGER))
		arm(j, t, j->ctx == SQLI_CTX_ASIS && j->ntok == 0 ? AT_END : 3,
		    "time/error function");
	j->cond_pending = kw && (kw->roles & SQLI_K_COND);
	j->st = ST_FUNC;
	return true;
}

static bool paren_strong(const struct judge *j)
{
	return j->depth > 0 && j->depth <= 64 && (j->strong_paren >> (j->depth - 1)) & 1;
}

static void set_paren_strong(struct judge *j, bool on)
{
	if (j->depth <= 0 || j->depth > 64)
		return;
	if (on)
		j->strong_paren |= 1ull << (j->depth - 1);
	else
		j->strong_paren &= ~(1ull << (j->depth - 1));
}

static void select_begin(struct judge *j, const char *reason)
{
	j->cls = 'E';
	j->st = ST_VAL;
	j->sel = SEL_FIRST;
	j->sel_reason = reason;
	j->sel_seen = true;
	j->sel_whole = j->lead;
	set_paren_strong(j, true);
	j->from_clause = false;
}

static bool is_comparison(const struct judge *j, const struct sqli_tok *t)
{
	static const char *const cmp[] = {
		"=", "<", ">", "<=", ">=", "<>", "!=", "<=>", "!<", "!>"
	};

	for (size_t i = 0; i < sizeof(cmp) / sizeof(cmp[0]); i++)
		if (tok_is(j, t, cmp[i]))
			return true;
	return false;
}

static void comparison(struct judge *j)
{
	if (j->logic && j->depth >= j->logic_depth) {
		j->cmp_wait = true;
		j->cmp_strong = j->opnd_strong;
	}
	if (j->cond_depth == j->depth)
		j->cond_cmp = true;
}

static void logic(struct judge *j)
{
	j->cls = '&';
	j->st = ST_VAL;
	if (j->between) { /* BETWEEN a AND b */
		j->between = false;
		return;
	}
	j->logic = true;
	j->logic_depth = j->depth;
	j->cmp_wait = false;
}

static void close_paren(struct judge *j)
{
	j->cls = ')';
	j->opnd_strong = paren_strong(j);
	j->if_done = j->depth == j->if_depth;
	if (j->if_done)
		j->if_depth = NO_DEPTH;
	j->depth--;
	if (j->logic && j->depth < j->logic_depth)
		j->logic = false;
	if (j->cond_depth != NO_DEPTH && j->depth < j->cond_depth)
		j->cond_depth = NO_DEPTH;
	j->st = ST_AFTER;
}

/* A statement keyword; stacked: it came after ';' (else T-SQL's
 * statements that need no separator: IF ... WAITFOR ...). */
static bool stmt_kw(struct judge *j, const struct sqli_tok *t, bool stacked)
{
	const struct sqli_kw *kw = t->kw;

	j->cls = 'E';
	j->logic = false;
	j->from_clause = false;
	if (kw_is(kw, "IF")) { /* its condition reads as after AND */
		j->logic = true;
		j->logic_depth = j->depth;
		j->if_depth = j->depth + 1;
	}
	if (kw_is(kw, "SELECT")) {
		if (!stacked)
			return false;
		select_begin(j, "stacked query");
		return true;
	}
	if (kw->roles & SQLI_K_DDL) {
		if (!stacked)
			return false;
		j->st = ST_DDL;
		return true;
	}
	if (kw_is(kw, "INSERT") || kw_is(kw, "DELETE") || kw_is(kw, "WAITFOR") ||
	    kw_is(kw, "SHUTDOWN"))
		j->st = ST_AFTER;
	else
		j->st = ST_VAL;
	j->waitfor = kw_is(kw, "WAITFOR");
	j->update = kw_is(kw, "UPDATE");
	j->exec_name = kw_is(kw, "EXEC") || kw_is(kw, "EXECUTE");
	j->decl = kw_is(kw, "DECLARE");
	/* IF, DO, SET, BEGIN, CALL, GRANT start English clauses too ("dry
	 * run; do not write"): those need a signal of their own */
	if (stacked && (kw_is(kw, "INSERT") || kw_is(kw, "UPDATE") || kw_is(kw, "DELETE") ||
			kw_is(kw, "EXEC") || kw_is(kw, "EXECUTE") || kw_is(kw, "DECLARE") ||
			kw_is(kw, "WAITFOR") || kw_is(kw, "SHUTDOWN")))
		arm(j, t, 2, "stacked query");
	return true;
}

static bool after_clause(struct judge *j, const struct sqli_tok *t);

static bool want_value_kw(struct judge *j, const struct sqli_tok *t)
{
	const struct sqli_kw *kw = t->kw;
	uint32_t r = kw->roles;

	if (kw_is(kw, "SELECT")) {
		if (j->prev != '(')
			return false;
		select_begin(j, "subquery");
		return true;
	}
	if (kw_is(kw, "BEGIN") && j->prev == '(') /* Oracle: (BEGIN ... END;) */
		return stmt_kw(j, t, false);
	if ((r & SQLI_K_FUNC) && t->paren)
		return func(j, t);
	if (r & SQLI_K_VALUE) {
		value(j, t, 'n');
		return true;
	}
	if (r & SQLI_K_NOT) {
		j->cls = 'o';
		return true;
	}
	if (r & SQLI_K_PREFIX) {
		j->cls = 'k';
		if (kw_is(kw, "CASE"))
			j->case_open = true;
		if (kw_is(kw, "CASE") || kw_is(kw, "EXISTS") || kw_is(kw, "INTERVAL") ||
		    kw_is(kw, "BINARY"))
			operand_start(j, t, 'k');
		return true;
	}
	if (kw_is(kw, "OUTFILE") || kw_is(kw, "DUMPFILE"))
		return after_clause(j, t);
	if (kw_is(kw, "WHEN") && kw_is(j->prevkw, "CASE")) {
		j->cls = 'k';
		return true;
	}
	if (r & (SQLI_K_FUNC | SQLI_K_DDLOBJ)) { /* CHAR as a type, a table called user */
		value(j, t, 'b');
		return true;
	}
	return false;
}

static bool want_value(struct judge *j, const struct sqli_tok *t, bool empty_ok)
{
	if (j->need_select) {
		j->need_select = false;
		if (t->type != SQLI_T_KW || !kw_is(t->kw, "SELECT"))
			return false;
	}
	switch (t->type) {
	case SQLI_T_NUM:
	case SQLI_T_VAR:
		value(j, t, t->type);
		return true;
	case SQLI_T_STR:
		/* only the query's own closing quote may end an open string */
		if (t->unterminated && t->quote != j->quote)
			return false;
		value(j, t, 's');
		return true;
	case SQLI_T_WORD:
		if (t->paren)
			return func(j, t);
		value(j, t, 'b');
		return true;
	case SQLI_T_KW:
		return want_value_kw(j, t);
	case SQLI_T_OP:
		if (tok_is(j, t, "*") && (j->prev == '(' || j->sel == SEL_FIRST)) {
			value(j, t, 'o'); /* COUNT(*), SELECT * */
			return true;
		}
		if (!tok_is(j, t, "-") && !tok_is(j, t, "+") && !tok_is(j, t, "~") &&
		    !tok_is(j, t, "!"))
			return false;
		j->cls = 'o';
		operand_start(j, t, 'o');
		return true;
	case SQLI_T_LPAR:
		j->cls = '(';
		j->depth++;
		set_paren_strong(j, false);
		operand_start(j, t, '(');
		return true;
	case SQLI_T_RPAR:
		if (!empty_ok) /* VERSION() */
			return false;
		close_paren(j);
		return true;
	default:
		return false;
	}
}

/* A word right after an operand: an alias ("FROM t a", "(...) x") or the
 * type in DECLARE @x INT. */
static bool after_word(struct judge *j, const struct sqli_tok *t)
{
	if (j->decl && j->prev == 'v') {
		j->decl = false;
		if (t->paren) {
			j->cls = 'f';
			j->st = ST_FUNC;
			return true;
		}
		j->cls = 'b';
		return true;
	}
	if (t->paren)
		return false;
	/* "(...) x" names a derived table; "(a && b) can never be" is prose */
	if ((j->prev == ')' && (j->sel_seen || j->from_clause)) ||
	    (j->from_clause && j->prev == 'b' && j->prev2 != 'b')) {
		j->cls = 'b';
		return true;
	}
	return false;
}

static bool after_clause(struct judge *j, const struct sqli_tok *t)
{
	const struct sqli_kw *kw = t->kw;

	j->cls = 'k';
	j->st = ST_VAL;
	if (kw_is(kw, "DELAY") || kw_is(kw, "TIME")) {
		if (!kw_is(j->prevkw, "WAITFOR"))
			return false;
		arm(j, t, 1, "time delay");
	} else if (kw_is(kw, "OUTFILE") || kw_is(kw, "DUMPFILE")) {
		if (!kw_is(j->prevkw, "INTO"))
			return false;
		arm(j, t, 1, "into outfile");
	} else if (kw_is(kw, "SET")) {
		if (!j->update)
			return false;
	} else if (kw_is(kw, "THEN") && j->case_open) {
		arm(j, t, 1, "conditional");
	} else if (kw_is(kw, "FROM")) {
		j->from_clause = true;
		if (j->sel == SEL_FROM) {
			arm(j, t, j->sel_whole ? AT_END : 1, j->sel_reason);
			j->sel = SEL_NONE;
		}
	} else if (kw_is(kw, "WHERE") || kw_is(kw, "HAVING")) {
		/* a condition starts as after AND */
		j->from_clause = false;
		j->logic = true;
		j->logic_depth = j->depth;
		j->cmp_wait = false;
	} else if (kw_is(kw, "LIMIT")) {
		j->from_clause = false;
	}
	return true;
}

static bool after_value_kw(struct judge *j, const struct sqli_tok *t)
{
	const struct sqli_kw *kw = t->kw;
	uint32_t r = kw->roles;

	if (r & SQLI_K_LOGIC) {
		logic(j);
		return true;
	}
	if (r & SQLI_K_NOT) { /* NOT IN, NOT LIKE, NOT BETWEEN */
		j->cls = 'o';
		j->not_pending = true;
		return true;
	}
	if (r & SQLI_K_BINOP) {
		j->cls = 'o';
		j->st = ST_VAL;
		if (r & SQLI_K_CMP)
			comparison(j);
		j->between = kw_is(kw, "BETWEEN");
		return true;
	}
	if (r & SQLI_K_UNION) {
		j->cls = 'U';
		j->st = ST_UNION;
		j->logic = false;
		j->from_clause = false;
		return true;
	}
	if (r & SQLI_K_BYKW) {
		j->cls = 'k';
		j->st = ST_BY;
		j->from_clause = false;
		return true;
	}
	if (r & SQLI_K_CLAUSE)
		return after_clause(j, t);
	if (r & SQLI_K_CLOSE) {
		j->cls = 'k';
		if (kw_is(kw, "END"))
			j->case_open = false;
		return true;
	}
	if ((r & SQLI_K_IMPLICIT) && (t->paren || !kw_is(kw, "IF")))
		return stmt_kw(j, t, false);
	if ((r & SQLI_K_STMT) && j->prev == ')' && j->if_done) /* IF (c) SELECT ... */
		return stmt_kw(j, t, true);
	return after_word(j, t);
}

static bool after_value(struct judge *j, const struct sqli_tok *t)
{
	if (j->not_pending) {
		j->not_pending = false;
		if (t->type != SQLI_T_KW || !(t->kw->roles & SQLI_K_BINOP))
			return false;
	}
	switch (t->type) {
	case SQLI_T_OP:
		if (tok_is(j, t, "!") || tok_is(j, t, "~"))
			return false;
		j->cls = 'o';
		j->st = ST_VAL;
		if (is_comparison(j, t))
			comparison(j);
		return true;
	case SQLI_T_LOGIC:
		logic(j);
		return true;
	case SQLI_T_RPAR:
		close_paren(j);
		return true;
	case SQLI_T_LPAR:
		/* "1 (SELECT ...)" is no valid SQL, yet sqlmap sends it, and no
		 * text has a sub-select glued to a value by accident */
		j->cls = '(';
		j->depth++;
		j->st = ST_VAL;
		j->need_select = true;
		return true;
	case SQLI_T_COMMA:
		j->cls = ',';
		if (j->cond_depth == j->depth && j->cond_cmp) {
			arm(j, t, 1, "conditional");
			j->cond_cmp = false;
		}
		j->st = ST_VAL;
		return true;
	case SQLI_T_SEMI:
		j->cls = ';';
		j->st = ST_STMT;
		j->logic = false;
		j->from_clause = false;
		return true;
	case SQLI_T_WORD:
		return after_word(j, t);
	case SQLI_T_KW:
		return after_value_kw(j, t);
	default:
		return false;
	}
}

static bool after_semicolon(struct judge *j, const struct sqli_tok *t)
{
	if (t->type == SQLI_T_KW && (t->kw->roles & (SQLI_K_STMT | SQLI_K_IMPLICIT)))
		return stmt_kw(j, t, true);
	if (t->type == SQLI_T_KW && (t->kw->roles & SQLI_K_FUNC) && t->paren) {
		/* Access and others run a bare expression: ;IIF(1=1,1,1/0) */
		arm(j, t, 2, "stacked query");
		return func(j, t);
	}
	if (t->type == SQLI_T_KW && kw_is(t->kw, "END")) { /* BEGIN ...; END */
		j->cls = 'k';
		j->st = ST_AFTER;
		return true;
	}
	if (t->type == SQLI_T_LPAR) { /* ;(SELECT ...) */
		j->cls = '(';
		j->depth++;
		j->st = ST_VAL;
		return true;
	}
	return false;
}

static bool step(struct judge *j, const struct sqli_tok *t)
{
	bool empty_ok = j->empty_ok;
	const struct sqli_kw *kw = t->type == SQLI_T_KW ? t->kw : NULL;

	j->empty_ok = false;
	switch (j->st) {
	case ST_VAL:
		return want_value(j, t, empty_ok);
	case ST_AFTER:
		return after_value(j, t);
	case ST_STMT:
		return after_semicolon(j, t);
	case ST_BY:
		if (!kw_is(kw, "BY"))
			return false;
		j->cls = 'k';
		j->st = ST_VAL;
		j->by_wait = true;
		return true;
	case ST_UNION:
		j->cls = t->type == SQLI_T_LPAR ? '(' : 'k';
		if (t->type == SQLI_T_LPAR) {
			j->depth++;
			return true;
		}
		if (kw_is(kw, "ALL") || kw_is(kw, "DISTINCT"))
			return true;
		if (!kw_is(kw, "SELECT"))
			return false;
		select_begin(j, "union select");
		return true;
	case ST_FUNC:
		if (t->type != SQLI_T_LPAR)
			return false;
		j->cls = '(';
		j->depth++;
		set_paren_strong(j, j->prevkw != NULL);
		if (j->cond_pending) {
			j->cond_depth = j->depth;
			j->cond_cmp = false;
			j->cond_pending = false;
		}
		j->empty_ok = true;
		j->st = ST_VAL;
		return true;
	case ST_DDL:
		j->cls = 'k';
		if (kw_is(kw, "OR") || kw_is(kw, "REPLACE"))
			return true;
		if (!kw || !(kw->roles & SQLI_K_DDLOBJ))
			return false;
		arm(j, t, 1, "stacked ddl");
		j->st = ST_VAL;
		return true;
	}
	return false;
}

static void fp_add(struct judge *j, char c)
{
	if (j->nfp + 1 < sizeof(j->fp))
		j->fp[j->nfp++] = c;
	j->fp[j->nfp] = '\0';
}

static bool hit(const struct judge *j, const char *reason, size_t off, struct sqli_result *out)
{
	out->ctx = j->ctx;
	memcpy(out->fingerprint, j->fp, sizeof(out->fingerprint));
	out->offset = off;
	out->reason = reason;
	return true;
}

/* Whether a comment reads as one to every server, not as the start of
 * an option ('--strict') or an anchor ("#usage") that happens to follow
 * a quote: "-- " and "#" with a blank or nothing after them, or / *. */
static bool cuts_off(const char *c, size_t n)
{
	size_t k = c[0] == '#' ? 1 : 2;

	if (c[0] == '/')
		return true;
	return n == k || c[k] == ' ' || c[k] == '\t' || c[k] == '\n' || c[k] == '\r';
}

/* The value ended, or a comment cut the query off at off. */
static bool finish(struct judge *j, bool comment, size_t off, struct sqli_result *out)
{
	bool cut = comment && cuts_off(j->s + off, j->len - off);

	if (comment)
		fp_add(j, 'c');
	/* the value must end where an operand may end, having closed what it
	 * opened, or be cut off. Any comment ends the query where its server
	 * reads it as one ("--x" to PostgreSQL, "#x" to MySQL): what came
	 * before it is judged as if the value ended there; only a comment
	 * every server reads cuts an open query or makes a lone break-out
	 * (an option after a quote, "x' --force", is no attack). */
	if (!cut && (j->st != ST_AFTER || j->depth > 0))
		return false;
	if (j->fire >= 0)
		return hit(j, j->reason, j->trig, out);
	/* x' OR 1 at the end, or 1 OR 1 -- cut off */
	if (j->truth && (cut || j->ctx == SQLI_CTX_SQUOTE || j->ctx == SQLI_CTX_DQUOTE))
		return hit(j, "logic+value", j->truth_off, out);
	if (cut && j->broke_only && j->breakout_tight)
		return hit(j, "comment after break-out", off, out);
	return false;
}

/* admin'-- closes one word; prose quotes ("the \"# service\" line",
 * keywords." -- technically) close phrases or open after a blank. */
static bool tight(const char *s, size_t n, char quote)
{
	if ((quote != '\'' && quote != '"') || n < 2)
		return false;
	for (size_t i = 0; i + 1 < n; i++)
		if (!s[i] || strchr(" \t\r\n\v\f", s[i])) /* NUL: a blank (sqli_lex.c) */
			return false;
	char c = s[n - 2];

	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       c == '_';
}

static bool judge(const char *s, size_t len, enum sqli_ctx ctx, char quote, struct sqli_result *out)
{
	struct judge j = { .s = s,
			   .len = len,
			   .ctx = ctx,
			   .quote = quote,
			   .st = ST_VAL,
			   .fire = -1,
			   .cond_depth = NO_DEPTH,
			   .if_depth = NO_DEPTH };
	struct sqli_lex lx;
	struct sqli_tok t;

	sqli_lex_init(&lx, s, len, quote);
	if (quote) {
		/* the value's own string must end inside it: that is the break-out */
		if (!sqli_lex_next(&lx, &t) || t.unterminated)
			return false;
		fp_add(&j, 's');
		j.prev = 's';
		j.breakout_tight = tight(s, t.len, quote);
		j.st = ST_AFTER;
		j.broke_only = true;
	}
	for (j.ntok = 0; j.ntok < MAX_TOKENS; j.ntok++) {
		if (!sqli_lex_next(&lx, &t))
			return finish(&j, false, len, out);
		if (t.type == SQLI_T_COMMENT)
			return finish(&j, true, t.off, out);
		j.truth = false;
		/* a number is spliced as is, a word or a string is not: "x or 1=1"
		 * and "'a' or ..." as is are prose or the quoted readings' job */
		if (ctx == SQLI_CTX_ASIS && j.ntok == 0 &&
		    (t.type == SQLI_T_STR || (t.type == SQLI_T_WORD && !t.paren)))
			return false;
		if (!step(&j, &t))
			return false;
		j.lead = ctx == SQLI_CTX_ASIS && (j.ntok == 0 || j.lead) &&
			 (j.cls == '(' || (j.cls == 'o' && t.type != SQLI_T_OP) ||
			  kw_is(t.kw, "EXISTS") || tok_is(&j, &t, "-"));
		if (t.type != SQLI_T_RPAR && t.type != SQLI_T_SEMI)
			j.broke_only = false;
		fp_add(&j, j.cls);
		j.prev2 = j.prev;
		j.prev = j.cls;
		j.prevkw = t.type == SQLI_T_KW ? t.kw : NULL;
		if (j.fire >= 0 && j.ntok >= j.fire)
			return hit(&j, j.reason, j.trig, out);
	}
	return false;
}

bool sqli_detect(const char *s, size_t len, struct sqli_result *out)
{
	struct sqli_result r;

	memset(&r, 0, sizeof(r));
	if (!s)
		len = 0;
	bool found = (len && memchr(s, '\'', len) && judge(s, len, SQLI_CTX_SQUOTE, '\'', &r)) ||
		     (len && judge(s, len, SQLI_CTX_ASIS, 0, &r)) ||
		     (len && memchr(s, '"', len) && judge(s, len, SQLI_CTX_DQUOTE, '"', &r)) ||
		     (len && memchr(s, '`', len) && judge(s, len, SQLI_CTX_BTICK, '`', &r)) ||
		     (len && memchr(s, ']', len) && judge(s, len, SQLI_CTX_BRACKET, '[', &r));

	if (!found)
		memset(&r, 0, sizeof(r));
	if (out)
		*out = r;
	return found;
}

const char *sqli_ctx_name(enum sqli_ctx ctx)
{
	switch (ctx) {
	case SQLI_CTX_ASIS:
		return "as-is";
	case SQLI_CTX_SQUOTE:
		return "single-quote";
	case SQLI_CTX_DQUOTE:
		return "double-quote";
	case SQLI_CTX_BTICK:
		return "backtick";
	case SQLI_CTX_BRACKET:
		return "bracket";
	default:
		return "none";
	}
}
