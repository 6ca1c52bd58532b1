/*
 * tree.c: the call tree, top-down (from the outermost frame, main and what
 * it calls) or bottom-up (from the allocating functions to their callers).
 *
 * A node is a frame (a call site) under its parent; each stack is a path
 * from the root, and a node's values are the sums over the stacks through
 * it.  The tree is built incrementally: a stack's path is added once, when
 * the stack first appears (stacks never change), and on each update only
 * the stacks whose values changed add their difference along their path
 * (leaf to root through parent pointers).  Nodes are found by a hash of
 * (parent, frame).  Both directions are kept once built, so switching back
 * is cheap; the one not shown is not updated until it is shown again (it
 * then catches up from the differences).
 *
 * What is drawn is a flat list of the nodes whose ancestors are all
 * expanded, children ordered by the sort key; it is rebuilt on each update
 * and after each fold, and costs what is visible.  A node is expanded by
 * default when it has a single child, so chains of single calls (_start,
 * __libc_start_main, main) open by themselves.
 */

#include "config.h"

#include <sys/types.h>

#include <curses.h>
#include <stdlib.h>
#include <string.h>

#include "tui.h"

/* A node with no frame: the stacks without any (stack 0). */
#define TREE_NO_FRAME	UINT64_MAX
/* Nodes are allocated this many at a time. */
#define TREE_CHUNK	4096

struct tree_node {
	struct tree_node	*parent;
	struct tree_node	*child;		/* first child */
	struct tree_node	*next;		/* next sibling */
	struct tree_node	*hnext;		/* hash chain */
	uint64_t		 frame;
	int64_t			 v[UI_NSORT];
	uint32_t		 nchildren;
	uint16_t		 depth;		/* 0 for the root's children */
	int8_t			 expanded;	/* -1: the default rule */
};

/* A block of nodes. */
struct tree_chunk {
	struct tree_chunk	*next;
	u_int			 used;
	struct tree_node	 nodes[TREE_CHUNK];
};

/* One direction of the tree. */
struct tree_dir {
	struct tree_node	  root;
	struct tree_node	**hash;
	size_t			  hsize;	/* a power of two */
	size_t			  nnodes;
	struct tree_chunk	 *chunks;
	struct tree_node	**leaf;		/* by stack id */
	int64_t			(*contrib)[UI_NSORT];	/* by stack id */
	uint32_t		  nleaf;	/* slots in leaf and contrib */
};

struct tree {
	int			 reverse;	/* bottom-up */
	struct tree_dir		 dir[2];
	struct tree_node	**rows;		/* the flat list */
	size_t			 nrows;
	size_t			 cap;
	size_t			 cursor;
	size_t			 top;
	int			 height;
	struct tree_node	*cursor_node;
	struct tree_node	**scratch;	/* children being ordered */
	size_t			 nscratch;
};

/* ------------------------------------------------------------------------
 * Building.
 */

/* The hash of (parent, frame). */
static size_t
tree_hash(const struct tree_node *parent, uint64_t frame)
{
	uint64_t	h = (uint64_t)(uintptr_t)parent * 0x9e3779b97f4a7c15ULL;

	h ^= frame + 0x632be59bd9b4e019ULL + (h << 6) + (h >> 2);
	h *= 0xff51afd7ed558ccdULL;
	return ((size_t)(h ^ (h >> 32)));
}

/* Double the hash table. */
static void
tree_rehash(struct tree_dir *d)
{
	struct tree_node	**old = d->hash, *n, *next;
	size_t			  oldsize = d->hsize, i, h;

	d->hsize = oldsize == 0 ? 4096 : oldsize * 2;
	d->hash = xcalloc(d->hsize, sizeof *d->hash);
	for (i = 0; i < oldsize; i++) {
		for (n = old[i]; n != NULL; n = next) {
			next = n->hnext;
			h = tree_hash(n->parent, n->frame) & (d->hsize - 1);
			n->hnext = d->hash[h];
			d->hash[h] = n;
		}
	}
	free(old);
}

/* The child of parent for frame, made if it does not exist. */
static struct tree_node *
tree_child(struct tree_dir *d, struct tree_node *parent, uint64_t frame)
{
	struct tree_chunk	*c;
	struct tree_node	*n;
	size_t			 h;

	if (d->hsize == 0 || d->nnodes >= d->hsize / 2)
		tree_rehash(d);
	h = tree_hash(parent, frame) & (d->hsize - 1);
	for (n = d->hash[h]; n != NULL; n = n->hnext) {
		if (n->parent == parent && n->frame == frame)
			return (n);
	}
	c = d->chunks;
	if (c == NULL || c->used == TREE_CHUNK) {
		c = xcalloc(1, sizeof *c);
		c->next = d->chunks;
		d->chunks = c;
	}
	n = &c->nodes[c->used++];
	n->parent = parent;
	n->frame = frame;
	n->expanded = -1;
	n->depth = parent == &d->root ? 0 :
	    (parent->depth < UINT16_MAX ? parent->depth + 1 : UINT16_MAX);
	n->next = parent->child;
	parent->child = n;
	parent->nchildren++;
	n->hnext = d->hash[h];
	d->hash[h] = n;
	d->nnodes++;
	return (n);
}

/* Add a stack's path to a direction; returns its last node. */
static struct tree_node *
tree_insert(struct ui *ui, struct tree_dir *d, int reverse,
    struct model_stack *st)
{
	struct tree_node	*n = &d->root;
	u_int			 first, i;

	if (st->nframes == 0)
		return (tree_child(d, n, TREE_NO_FRAME));
	first = ui_frame_first(ui->model, st);
	if (reverse) {
		for (i = first; i < st->nframes; i++)
			n = tree_child(d, n, st->frames[i]);
	} else {
		for (i = st->nframes; i > first; i--)
			n = tree_child(d, n, st->frames[i - 1]);
	}
	return (n);
}

/* Bring a direction up to date with the model. */
static void
tree_refresh(struct ui *ui, struct tree_dir *d, int reverse)
{
	struct model		*m = ui->model;
	struct model_stack	*st;
	struct tree_node	*n;
	int64_t			 v[UI_NSORT], delta[UI_NSORT];
	uint32_t		 id, old;
	u_int			 k;
	int			 changed;

	if (d->nleaf < m->nstacks) {
		old = d->nleaf;
		d->nleaf = m->nstacks;
		d->leaf = xreallocarray(d->leaf, d->nleaf, sizeof *d->leaf);
		d->contrib = xreallocarray(d->contrib, d->nleaf,
		    sizeof *d->contrib);
		memset(d->leaf + old, 0, (d->nleaf - old) * sizeof *d->leaf);
		memset(d->contrib + old, 0,
		    (d->nleaf - old) * sizeof *d->contrib);
	}
	for (id = 0; id < m->nstacks; id++) {
		if ((st = m->stacks[id]) == NULL)
			continue;
		changed = 0;
		for (k = 0; k < UI_NSORT; k++) {
			v[k] = model_sort_value(m, st, (int)k);
			delta[k] = v[k] - d->contrib[id][k];
			if (delta[k] != 0)
				changed = 1;
		}
		if (!changed)
			continue;
		if (d->leaf[id] == NULL)
			d->leaf[id] = tree_insert(ui, d, reverse, st);
		for (n = d->leaf[id]; n != NULL; n = n->parent) {
			for (k = 0; k < UI_NSORT; k++)
				n->v[k] += delta[k];
		}
		memcpy(d->contrib[id], v, sizeof v);
	}
}

/* Free a direction. */
static void
tree_dir_free(struct tree_dir *d)
{
	struct tree_chunk	*c, *next;

	for (c = d->chunks; c != NULL; c = next) {
		next = c->next;
		free(c);
	}
	free(d->hash);
	free(d->leaf);
	free(d->contrib);
	memset(d, 0, sizeof *d);
}

/* ------------------------------------------------------------------------
 * The flat list.
 */

/* Whether a node shows its children. */
static int
tree_open(const struct tree_node *n)
{
	if (n->nchildren == 0)
		return (0);
	if (n->expanded >= 0)
		return (n->expanded);
	return (n->nchildren == 1);
}

/* qsort_r comparison of children: larger first, then by frame. */
static int
tree_cmp(const void *a, const void *b, void *arg)
{
	const struct tree_node	*na = *(struct tree_node *const *)a;
	const struct tree_node	*nb = *(struct tree_node *const *)b;
	int			 key = *(int *)arg;

	if (na->v[key] != nb->v[key])
		return (na->v[key] > nb->v[key] ? -1 : 1);
	if (na->frame != nb->frame)
		return (na->frame < nb->frame ? -1 : 1);
	return (0);
}

/* Append a node to the flat list. */
static void
tree_row(struct tree *t, struct tree_node *n)
{
	if (t->nrows == t->cap) {
		t->cap = t->cap == 0 ? 1024 : t->cap * 2;
		t->rows = xreallocarray(t->rows, t->cap, sizeof *t->rows);
	}
	t->rows[t->nrows++] = n;
}

/*
 * Add a node's children, in order, and theirs when open (or always, with
 * all).  The children are ordered in t->scratch from base on; the nodes
 * deeper down use what follows (scratch holds every node, so it is always
 * enough).
 */
static void
tree_flatten_children(struct tree *t, struct tree_node *parent, int key,
    size_t base, int all)
{
	struct tree_node	**kids = t->scratch + base, *c;
	size_t			  n = 0, i;

	if (parent->nchildren == 0)
		return;
	for (c = parent->child; c != NULL && n < parent->nchildren &&
	    base + n < t->nscratch; c = c->next)
		kids[n++] = c;
	qsort_r(kids, n, sizeof *kids, tree_cmp, &key);
	for (i = 0; i < n; i++) {
		/* Nodes that never held anything are noise. */
		if (kids[i]->v[MODEL_SORT_TOTAL] == 0 &&
		    kids[i]->v[MODEL_SORT_LIVE] == 0 &&
		    kids[i]->v[MODEL_SORT_PEAK] == 0)
			continue;
		tree_row(t, kids[i]);
		if (all || tree_open(kids[i]))
			tree_flatten_children(t, kids[i], key, base + n, all);
	}
}

/* Make the scratch list big enough for every node of the shown direction. */
static void
tree_scratch(struct tree *t)
{
	struct tree_dir	*d = &t->dir[t->reverse];

	if (t->nscratch < d->nnodes + 1) {
		t->nscratch = d->nnodes + 1024;
		t->scratch = xreallocarray(t->scratch, t->nscratch,
		    sizeof *t->scratch);
	}
}

/* Rebuild the flat list, keeping the cursor on its node. */
static void
tree_flatten(struct ui *ui, struct tree *t)
{
	struct tree_dir	*d = &t->dir[t->reverse];
	size_t		 i;

	tree_scratch(t);
	t->nrows = 0;
	tree_flatten_children(t, &d->root, ui->sort, 0, 0);
	if (t->cursor_node != NULL) {
		for (i = 0; i < t->nrows; i++) {
			if (t->rows[i] == t->cursor_node) {
				t->cursor = i;
				break;
			}
		}
	}
	if (t->cursor >= t->nrows)
		t->cursor = t->nrows > 0 ? t->nrows - 1 : 0;
	t->cursor_node = t->nrows > 0 ? t->rows[t->cursor] : NULL;
}

/* Keep the cursor in view. */
static void
tree_settle(struct tree *t)
{
	size_t	h = t->height > 0 ? (size_t)t->height : 1;

	if (t->cursor >= t->nrows)
		t->cursor = t->nrows > 0 ? t->nrows - 1 : 0;
	if (t->cursor < t->top)
		t->top = t->cursor;
	if (t->cursor >= t->top + h)
		t->top = t->cursor - h + 1;
	if (t->top + h > t->nrows)
		t->top = t->nrows > h ? t->nrows - h : 0;
	t->cursor_node = t->nrows > 0 ? t->rows[t->cursor] : NULL;
}

/* ------------------------------------------------------------------------
 * The view.
 */

static void
tree_init(struct ui *ui)
{
	ui->tree = xcalloc(1, sizeof *ui->tree);
}

static void
tree_free(struct ui *ui)
{
	struct tree	*t = ui->tree;

	tree_dir_free(&t->dir[0]);
	tree_dir_free(&t->dir[1]);
	free(t->rows);
	free(t->scratch);
	free(t);
	ui->tree = NULL;
}

/* New data: bring the shown direction up to date, then the flat list. */
static void
tree_update(struct ui *ui)
{
	struct tree	*t = ui->tree;

	tree_refresh(ui, &t->dir[t->reverse], t->reverse);
	tree_flatten(ui, t);
	tree_settle(t);
}

/* A node's name: its frame as "function file:line". */
static void
tree_name(struct ui *ui, const struct tree_node *n, char *buf, size_t len)
{
	if (n->frame == TREE_NO_FRAME) {
		snprintf(buf, len, "[not attributed]");
		return;
	}
	ui_frame_text(symbols_resolve(ui->model->symbols, n->frame), buf, len,
	    1);
}

/* Draw the tree: titles, then one node per line, indented. */
static void
tree_draw(struct ui *ui, const struct ui_rect *r)
{
	struct tree		*t = ui->tree;
	struct tree_node	*n;
	char			 name[600], line[800];
	const char		*mark;
	int			 y, x, attr, indent;
	size_t			 i;

	t->height = r->h - 1;
	tree_settle(t);
	table_titles(ui, r->y, t->reverse ?
	    "CALL TREE, bottom-up: allocating functions, then their callers" :
	    "CALL TREE, top-down: from the outermost frame (r: reverse)");
	for (y = 1; y < r->h; y++) {
		i = t->top + (size_t)y - 1;
		ui_fill(ui, r->y + y, r->x, r->w, A_NORMAL);
		if (i >= t->nrows) {
			if (i == 0 && y == 1)
				ui_put(ui, r->y + y, r->x + 2, r->w - 2,
				    ui_attr(ui, UI_A_DIM), "(no stacks yet)");
			continue;
		}
		n = t->rows[i];
		attr = i == t->cursor ? ui_attr(ui, UI_A_CURSOR) : ui_attr(ui, UI_A_NORMAL);
		if (attr != A_NORMAL)
			ui_fill(ui, r->y + y, r->x, r->w, attr);
		x = table_values(ui, r->y + y, n->v, attr);
		indent = n->depth;
		if (indent > (r->w - x) / 3)
			indent = (r->w - x) / 3;
		if (n->nchildren == 0)
			mark = "  ";
		else if (tree_open(n))
			mark = ui->utf8 ? "\xe2\x96\xbe " : "- ";
		else
			mark = ui->utf8 ? "\xe2\x96\xb8 " : "+ ";
		tree_name(ui, n, name, sizeof name);
		snprintf(line, sizeof line, "%*s%s%s", indent, "", mark, name);
		ui_put(ui, r->y + y, x, r->w - x, attr, line);
	}
}

/* The detail pane: the path from the top of the tree to the node. */
static void
tree_detail(struct ui *ui, const struct ui_rect *r)
{
	struct tree		*t = ui->tree;
	struct tree_node	*n = t->cursor_node, *p, **path;
	char			 name[600], buf[700], a[16];
	int			 depth = 0, i, y, first;

	ui_fill(ui, r->y, r->x, r->w, ui_attr(ui, UI_A_TITLE));
	for (y = 1; y < r->h; y++)
		ui_fill(ui, r->y + y, r->x, r->w, A_NORMAL);
	if (n == NULL) {
		ui_put(ui, r->y, r->x, r->w, ui_attr(ui, UI_A_TITLE),
		    "No node selected");
		return;
	}
	for (p = n; p != NULL && p != &t->dir[t->reverse].root; p = p->parent)
		depth++;
	snprintf(buf, sizeof buf, "Path to the node (%d frames, %s): live %s",
	    depth, t->reverse ? "allocating function first" :
	    "outermost first", ui_size(a, sizeof a, n->v[MODEL_SORT_LIVE]));
	ui_put(ui, r->y, r->x, r->w, ui_attr(ui, UI_A_TITLE), buf);
	path = xreallocarray(NULL, (size_t)depth + 1, sizeof *path);
	for (p = n, i = depth; i > 0; p = p->parent)
		path[--i] = p;
	/* Show the end of the path (the node) when it does not all fit. */
	first = depth > r->h - 1 ? depth - (r->h - 1) : 0;
	for (i = first, y = 1; i < depth && y < r->h; i++, y++) {
		tree_name(ui, path[i], name, sizeof name);
		snprintf(buf, sizeof buf, "%*s%s", i - first > 20 ? 20 :
		    i - first, "", name);
		ui_put(ui, r->y + y, r->x, r->w, i == depth - 1 ?
		    A_BOLD : A_NORMAL, buf);
	}
	free(path);
}

/* Move the cursor. */
static int
tree_move(struct ui *ui, int how, int n)
{
	struct tree	*t = ui->tree;
	ssize_t		 c = (ssize_t)t->cursor;
	int		 h = t->height > 0 ? t->height : 1;

	switch (how) {
	case UI_MOVE_LINE:
	case UI_MOVE_SCROLL:
		c += n;
		break;
	case UI_MOVE_PAGE:
		c += (ssize_t)n * h;
		break;
	case UI_MOVE_HOME:
		c = 0;
		break;
	case UI_MOVE_END:
		c = (ssize_t)t->nrows - 1;
		break;
	case UI_MOVE_ROW:
		c = (ssize_t)t->top + n - 1;
		break;
	}
	if (c >= (ssize_t)t->nrows)
		c = (ssize_t)t->nrows - 1;
	if (c < 0)
		c = 0;
	t->cursor = (size_t)c;
	tree_settle(t);
	return (UI_DRAW_MAIN);
}

/* Expand everything under a node. */
static void
tree_expand_all(struct tree_node *n)
{
	struct tree_node	*c;

	if (n->nchildren == 0)
		return;
	n->expanded = 1;
	for (c = n->child; c != NULL; c = c->next)
		tree_expand_all(c);
}

/* Enter, Right, Left, *: fold and unfold. */
int
tree_key_fold(struct ui *ui, int key)
{
	struct tree		*t = ui->tree;
	struct tree_node	*n = t->cursor_node;
	size_t			 i;

	if (n == NULL)
		return (0);
	switch (key) {
	case '\r':
		if (n->nchildren != 0)
			n->expanded = !tree_open(n);
		break;
	case KEY_RIGHT:
		if (n->nchildren == 0)
			return (0);
		if (!tree_open(n))
			n->expanded = 1;
		else if (t->cursor + 1 < t->nrows)
			t->cursor_node = t->rows[t->cursor + 1];
		break;
	case KEY_LEFT:
		if (tree_open(n))
			n->expanded = 0;
		else if (n->parent != &t->dir[t->reverse].root) {
			for (i = 0; i < t->nrows; i++) {
				if (t->rows[i] == n->parent)
					t->cursor_node = n->parent;
			}
		}
		break;
	case '*':
		tree_expand_all(n);
		break;
	default:
		return (0);
	}
	tree_flatten(ui, t);
	tree_settle(t);
	return (UI_DRAW_MAIN);
}

/* r: top-down or bottom-up. */
int
tree_key_reverse(struct ui *ui, int key)
{
	struct tree	*t = ui->tree;

	t->reverse = !t->reverse;
	t->cursor = t->top = 0;
	t->cursor_node = NULL;
	tree_refresh(ui, &t->dir[t->reverse], t->reverse);
	tree_flatten(ui, t);
	tree_settle(t);
	ui_message(ui, 0, t->reverse ? "call tree: bottom-up, from the "
	    "allocating functions" : "call tree: top-down, from the "
	    "outermost frame");
	return (UI_DRAW_MAIN | UI_DRAW_HEADER);
}

/* A click selects a row; a click on the selected row folds it. */
static int
tree_click(struct ui *ui, int y, int x)
{
	struct tree	*t = ui->tree;
	size_t		 i;

	if (y == 0)
		return (0);
	i = t->top + (size_t)y - 1;
	if (i >= t->nrows)
		return (0);
	if (i == t->cursor)
		return (tree_key_fold(ui, '\r'));
	return (tree_move(ui, UI_MOVE_ROW, y));
}

/*
 * Every node worth showing, in the order the flat list would show them if
 * every node were open; *n gets their number.  The caller frees the list.
 */
static struct tree_node **
tree_all(struct ui *ui, struct tree *t, size_t *n)
{
	struct tree_node	**rows = t->rows, **all;
	size_t			  nrows = t->nrows, cap = t->cap;

	tree_scratch(t);
	t->rows = NULL;
	t->nrows = t->cap = 0;
	tree_flatten_children(t, &t->dir[t->reverse].root, ui->sort, 0, 1);
	all = t->rows;
	*n = t->nrows;
	t->rows = rows;
	t->nrows = nrows;
	t->cap = cap;
	return (all);
}

/*
 * Search every node, folded or not, in the order they would be shown,
 * from the cursor; open the ancestors of the one found.
 */
static int
tree_search(struct ui *ui, const char *text, int dir)
{
	struct tree		 *t = ui->tree;
	const struct sym_frame	 *sf;
	struct tree_node	**all, *p, *found = NULL;
	size_t			  i, k, n, from = 0;

	all = tree_all(ui, t, &n);
	for (i = 0; i < n; i++) {
		if (all[i] == t->cursor_node) {
			from = i;
			break;
		}
	}
	for (k = dir == 0 ? 0 : 1; k <= n && n > 0; k++) {
		i = dir < 0 ? (from + n - k % n) % n : (from + k) % n;
		if (all[i]->frame == TREE_NO_FRAME)
			continue;
		sf = symbols_resolve(ui->model->symbols, all[i]->frame);
		if (sf != NULL && (ui_match(sf->function, text) ||
		    ui_match(sf->file, text))) {
			found = all[i];
			break;
		}
	}
	free(all);
	if (found == NULL)
		return (0);
	for (p = found->parent; p != NULL &&
	    p != &t->dir[t->reverse].root; p = p->parent) {
		if (!tree_open(p))
			p->expanded = 1;
	}
	t->cursor_node = found;
	tree_flatten(ui, t);
	tree_settle(t);
	return (1);
}

struct view tree_view = {
	.name = "call tree",
	.id = UI_VIEW_TREE,
	.init = tree_init,
	.free = tree_free,
	.update = tree_update,
	.draw = tree_draw,
	.detail = tree_detail,
	.cursor = tree_move,
	.click = tree_click,
	.search = tree_search,
};
