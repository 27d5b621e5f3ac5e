/* Policy loader: libyaml events -> a small tree -> schema.c.
 *
 * The caller hands over the file's bytes; nothing here makes a system
 * call other than memory allocation. Every problem becomes one diagnostic
 * with a 1-based line and column, and loading goes on after a schema
 * error so the user sees all of them at once.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <yaml.h>

#include "cleanup.h"
#include "internal.h"

/* A policy is four levels deep (top, code, rules, rule); the bound keeps
 * the recursive free and walk shallow whatever the input. */
#define MAX_DEPTH 32
#define MAX_NODES 200000
#define CORE_TAG  "tag:yaml.org,2002:"

static int diag_push(struct pol_ld *ld, struct pol_loc loc, char *msg)
{
	struct pol_diags *d = ld->diags;
	struct pol_diag *v = realloc(d->v, (d->n + 1) * sizeof(*v));

	if (!v)
		return -ENOMEM;
	d->v = v;
	v[d->n] = (struct pol_diag){ strdup(ld->file), loc.line, loc.col, msg };
	if (!v[d->n].file)
		return -ENOMEM;
	d->n++;
	return 0;
}

void pol_ld_err(struct pol_ld *ld, struct pol_loc loc, const char *fmt, ...)
{
	_cleanup_free_ char *msg = NULL;
	va_list ap;
	int r;

	if (ld->oom)
		return;
	ld->n_err++;
	if (ld->n_err > POL_MAX_DIAGS + 1)
		return;
	if (ld->n_err == POL_MAX_DIAGS + 1) {
		r = asprintf(&msg, "too many errors; only the first %d are shown", POL_MAX_DIAGS);
	} else {
		va_start(ap, fmt);
		r = vasprintf(&msg, fmt, ap);
		va_end(ap);
	}
	if (r < 0) {
		msg = NULL; /* undefined after a failed asprintf */
		ld->oom = true;
		return;
	}
	/* Values are quoted with pol_quote, but messages from net.c embed
	 * entries as written: keep terminals safe from control bytes. */
	for (char *c = msg; *c; c++)
		if ((unsigned char)*c < 0x20 || *c == 0x7f)
			*c = '?';
	if (diag_push(ld, loc, msg) < 0)
		ld->oom = true;
	else
		msg = NULL; /* the list owns it now */
}

const char *pol_quote(char *buf, size_t size, const char *s, size_t len)
{
	size_t o = 0, i = 0;

	if (size < 8) {
		if (size)
			buf[0] = '\0';
		return buf;
	}
	while (i < len) {
		unsigned char c = (unsigned char)s[i];
		bool ctl = c < 0x20 || c == 0x7f;
		size_t clen = c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : c >= 0xc0 ? 2 : 1;

		if (clen > len - i)
			clen = len - i;
		/* Keep room for "..." and the NUL; never split a character. */
		if (o + (ctl ? 4 : clen) + 4 > size)
			break;
		if (ctl) {
			o += (size_t)snprintf(buf + o, size - o, "\\x%02x", c);
		} else {
			memcpy(buf + o, s + i, clen);
			o += clen;
		}
		i += clen;
	}
	if (i < len) {
		memcpy(buf + o, "...", 3);
		o += 3;
	}
	buf[o] = '\0';
	return buf;
}

static void ynode_free(struct ynode *n)
{
	if (!n)
		return;
	for (size_t i = 0; i < n->n; i++)
		ynode_free(n->kid[i]);
	free(n->kid);
	free(n->str);
	free(n);
}

static struct pol_loc mark_loc(yaml_mark_t m)
{
	return (struct pol_loc){ (int)m.line + 1, (int)m.column + 1 };
}

/* Reader errors (bad UTF-8) carry a byte offset, not a mark. */
static struct pol_loc offset_loc(const char *buf, size_t len, size_t off)
{
	struct pol_loc loc = { 1, 1 };

	for (size_t i = 0; i < off && i < len; i++) {
		if (buf[i] == '\n') {
			loc.line++;
			loc.col = 1;
		} else if (((unsigned char)buf[i] & 0xc0) != 0x80) {
			loc.col++;
		}
	}
	return loc;
}

static void syntax_error(struct pol_ld *ld, const yaml_parser_t *yp, const char *buf, size_t len)
{
	struct pol_loc loc = mark_loc(yp->problem_mark);
	const char *problem = yp->problem ? yp->problem : "unknown error";
	const char *hint = "";

	if (yp->error == YAML_MEMORY_ERROR) {
		ld->oom = true;
		return;
	}
	if (yp->error == YAML_READER_ERROR)
		loc = offset_loc(buf, len, yp->problem_offset);
	if (yp->context && strstr(yp->context, "alias"))
		hint = "; a value that starts with '*' must be quoted, e.g. \"*.example.com:443\"";
	else if (strstr(problem, "cannot start any token") && yp->problem_mark.index < len &&
		 buf[yp->problem_mark.index] == '\t')
		hint = "; YAML indentation uses spaces, not tabs";
	if (yp->context)
		pol_ld_err(ld, loc, "invalid YAML: %s (%s at line %d, column %d)%s", problem,
			   yp->context, (int)yp->context_mark.line + 1,
			   (int)yp->context_mark.column + 1, hint);
	else
		pol_ld_err(ld, loc, "invalid YAML: %s%s", problem, hint);
}

struct builder {
	struct pol_ld *ld;
	struct ynode *root;
	struct ynode *stack[MAX_DEPTH];
	size_t depth;
	size_t nodes;
	size_t docs;
};

static int attach(struct builder *b, struct ynode *n)
{
	struct ynode *parent;

	if (b->depth == 0) {
		b->root = n;
		return 0;
	}
	parent = b->stack[b->depth - 1];
	if (parent->n == parent->cap) {
		size_t cap = parent->cap ? parent->cap * 2 : 8;
		struct ynode **kid = realloc(parent->kid, cap * sizeof(*kid));

		if (!kid)
			return -ENOMEM;
		parent->kid = kid;
		parent->cap = cap;
	}
	parent->kid[parent->n++] = n;
	return 0;
}

/* Anchors and tags are refused where they are written; an anchored node
 * is still kept so the rest of the document gets checked. */
static void refuse_decorations(struct builder *b, const yaml_event_t *ev, const yaml_char_t *anchor,
			       const yaml_char_t *tag)
{
	char q[80];

	if (anchor)
		pol_ld_err(b->ld, mark_loc(ev->start_mark),
			   "anchors (&%s) are not allowed in a policy; write each value out",
			   pol_quote(q, sizeof(q), (const char *)anchor,
				     strlen((const char *)anchor)));
	if (tag) {
		const char *t = (const char *)tag;
		bool core = strncmp(t, CORE_TAG, strlen(CORE_TAG)) == 0;

		/* libyaml hands back !!bool expanded: show it as written. */
		if (core)
			t += strlen(CORE_TAG);
		pol_ld_err(b->ld, mark_loc(ev->start_mark),
			   "YAML tags (%s%s) are not allowed in a policy; remove the tag",
			   core ? "!!" : "", pol_quote(q, sizeof(q), t, strlen(t)));
	}
}

static int add_node(struct builder *b, const yaml_event_t *ev, enum ynode_kind kind)
{
	struct ynode *n;
	char q[80];

	if (++b->nodes > MAX_NODES) {
		pol_ld_err(b->ld, mark_loc(ev->start_mark),
			   "policy too large (more than %d YAML nodes)", MAX_NODES);
		return -EINVAL;
	}
	n = calloc(1, sizeof(*n));
	if (!n)
		return -ENOMEM;
	n->kind = kind;
	n->loc = mark_loc(ev->start_mark);
	if (attach(b, n) < 0) {
		free(n);
		return -ENOMEM;
	}
	switch (ev->type) {
	case YAML_SCALAR_EVENT:
		refuse_decorations(b, ev, ev->data.scalar.anchor, ev->data.scalar.tag);
		n->plain = ev->data.scalar.style == YAML_PLAIN_SCALAR_STYLE;
		n->len = ev->data.scalar.length;
		n->str = malloc(n->len + 1);
		if (!n->str)
			return -ENOMEM;
		memcpy(n->str, ev->data.scalar.value, n->len);
		n->str[n->len] = '\0';
		return 0;
	case YAML_ALIAS_EVENT:
		/* Refusing aliases outright is what makes billion-laughs
		 * documents impossible; nothing in a policy needs them. */
		n->bad = true;
		n->str = calloc(1, 1);
		if (!n->str)
			return -ENOMEM;
		pol_ld_err(b->ld, n->loc,
			   "aliases (*%s) are not allowed in a policy; write the value out, or "
			   "quote a string that starts with '*'",
			   pol_quote(q, sizeof(q), (const char *)ev->data.alias.anchor,
				     strlen((const char *)ev->data.alias.anchor)));
		return 0;
	case YAML_SEQUENCE_START_EVENT:
		refuse_decorations(b, ev, ev->data.sequence_start.anchor,
				   ev->data.sequence_start.tag);
		break;
	default:
		refuse_decorations(b, ev, ev->data.mapping_start.anchor,
				   ev->data.mapping_start.tag);
		break;
	}
	if (b->depth == MAX_DEPTH) {
		pol_ld_err(b->ld, n->loc, "nesting deeper than %d levels", MAX_DEPTH);
		return -EINVAL;
	}
	b->stack[b->depth++] = n;
	return 0;
}

/* Returns 1 at the end of the stream, 0 to go on, or -errno. */
static int on_event(struct builder *b, const yaml_event_t *ev)
{
	switch (ev->type) {
	case YAML_STREAM_END_EVENT:
		return 1;
	case YAML_DOCUMENT_START_EVENT:
		if (++b->docs > 1) {
			pol_ld_err(b->ld, mark_loc(ev->start_mark),
				   "a policy is one YAML document; remove this second one");
			return -EINVAL;
		}
		return 0;
	case YAML_SCALAR_EVENT:
	case YAML_ALIAS_EVENT:
		return add_node(b, ev, Y_SCALAR);
	case YAML_SEQUENCE_START_EVENT:
		return add_node(b, ev, Y_SEQ);
	case YAML_MAPPING_START_EVENT:
		return add_node(b, ev, Y_MAP);
	case YAML_SEQUENCE_END_EVENT:
	case YAML_MAPPING_END_EVENT:
		if (b->depth > 0)
			b->depth--;
		return 0;
	default:
		return 0;
	}
}

/* Builds the tree of the (single) document; on error the partial tree is
 * still handed back in *root for the caller to free. */
static int load_tree(struct pol_ld *ld, const char *buf, size_t len, struct ynode **root)
{
	struct builder b = { .ld = ld };
	yaml_parser_t yp;
	yaml_event_t ev;
	int r = 0;

	if (!yaml_parser_initialize(&yp))
		return -ENOMEM;
	yaml_parser_set_input_string(&yp, (const unsigned char *)buf, len);
	while (r == 0) {
		if (!yaml_parser_parse(&yp, &ev)) {
			syntax_error(ld, &yp, buf, len);
			r = -EINVAL;
			break;
		}
		r = on_event(&b, &ev);
		yaml_event_delete(&ev);
	}
	yaml_parser_delete(&yp);
	*root = b.root;
	if (r == -ENOMEM)
		ld->oom = true;
	return r < 0 ? r : 0;
}

/* Tree errors (anchors, tags) are found before schema errors: show them
 * all in file order. Stable, and the "too many errors" line stays last. */
static void sort_diags(struct pol_diags *d, size_t from)
{
	size_t end = d->n - from > POL_MAX_DIAGS ? from + POL_MAX_DIAGS : d->n;

	for (size_t i = from + 1; i < end; i++) {
		struct pol_diag x = d->v[i];
		size_t j = i;

		while (j > from && (d->v[j - 1].line > x.line ||
				    (d->v[j - 1].line == x.line && d->v[j - 1].col > x.col))) {
			d->v[j] = d->v[j - 1];
			j--;
		}
		d->v[j] = x;
	}
}

int policy_parse(const char *buf, size_t len, const char *file, struct policy **out,
		 struct pol_diags *diags)
{
	struct pol_diags local = { NULL, 0 };
	struct pol_ld ld = { .file = file ? file : "policy", .diags = diags ? diags : &local };
	struct ynode *root = NULL;
	struct policy *p;
	size_t n0 = ld.diags->n;

	*out = NULL;
	p = policy_new_default();
	if (!p)
		return -ENOMEM;
	p->file = strdup(ld.file);
	if (!p->file)
		ld.oom = true;
	if (!buf)
		len = 0;
	if (!ld.oom && load_tree(&ld, buf ? buf : "", len, &root) == 0)
		pol_schema(&ld, root, p);
	ynode_free(root);
	sort_diags(ld.diags, n0);
	pol_diags_clear(&local);
	if (ld.oom || ld.n_err) {
		policy_free(p);
		return ld.oom ? -ENOMEM : -EINVAL;
	}
	*out = p;
	return 0;
}
