/*
 * web/listbox.js - a multi-select listbox that stays smooth with tens of
 * thousands of rows: the WAI-ARIA listbox pattern (role=listbox,
 * aria-multiselectable, aria-activedescendant) over a virtual-scrolled
 * window of role=option rows.  Only the rows in view (and a few around)
 * are in the page; the selection is a Set of item ids, so selecting all of
 * 20,000 matching users costs one Set, not 20,000 elements.
 *
 * Keyboard, as a native <select multiple>: Up/Down, Page Up/Down, Home/End
 * move to a row and select it alone; with Shift they select the range from
 * the anchor; with Ctrl they only move; Space toggles the row (Shift+Space:
 * the range); Ctrl+A selects every row; Enter activates the selection;
 * typing a row's first letters goes to it.  Mouse: click selects one row,
 * Ctrl+click or a click on a row's check box toggles it (touch has no
 * Ctrl), Shift+click the range, double-click activates a row.
 *
 * Each row's words come from the caller: describe(id) answers {text, cls}.
 * Loaded before app.js (a classic script: Listbox is a global).
 */
'use strict';

const LISTBOX_ROW = 34;        /* px: one row's height, as style.css sets it */
const LISTBOX_OVERSCAN = 8;    /* rows drawn beyond the view at each end */
const LISTBOX_TYPEAHEAD = 700; /* ms: letters typed within this make one prefix */

class Listbox {
	/* el: the role=listbox element (it scrolls); opts.describe(id) ->
	 * {text, cls}; opts.activate(ids) on Enter and double-click; opts.empty:
	 * the words shown when there is no row; opts.changed() after the
	 * selection changed. */
	constructor(el, opts) {
		this.el = el;
		this.opts = opts;
		this.items = [];            /* ids shown, in order */
		this.index = new Map();     /* id -> position in items */
		this.sel = new Set();       /* selected ids (a subset of items) */
		this.active = -1;           /* the row with the keyboard focus */
		this.anchor = -1;           /* where a Shift range starts */
		this.typed = '';
		this.typedAt = 0;
		this.drawn = '';            /* the window last drawn, to skip equal redraws */
		this.shownRows = new Map(); /* position -> its row element, for the rows drawn */
		this.emptyRow = null;       /* the one row saying why the list is empty */
		this.emptyText = '';
		el.setAttribute('role', 'listbox');
		el.setAttribute('aria-multiselectable', 'true');
		el.tabIndex = 0;
		this.rows = document.createElement('div');
		this.rows.className = 'lb-rows';
		this.rows.setAttribute('role', 'presentation');
		el.replaceChildren(this.rows);
		el.addEventListener('scroll', () => this.draw());
		el.addEventListener('keydown', (ev) => this.key(ev));
		el.addEventListener('mousedown', (ev) => this.click(ev));
		el.addEventListener('dblclick', (ev) => {
			const i = this.rowAt(ev);
			if (i >= 0)
				opts.activate([this.items[i]]);
		});
		el.addEventListener('focus', () => {
			if (this.active < 0 && this.items.length)
				this.setActive(0);
			this.draw(true);
		});
		if (typeof ResizeObserver === 'function')
			new ResizeObserver(() => this.draw()).observe(el);
	}

	/* Show these ids (in this order), keeping the selection of those still
	 * shown and the active row where it can; emptyText when there is none. */
	setItems(ids, emptyText) {
		const activeId = this.active >= 0 ? this.items[this.active] : undefined;
		this.items = ids;
		this.index = new Map();
		for (let i = 0; i < ids.length; i++)
			this.index.set(ids[i], i);
		for (const id of this.sel)
			if (!this.index.has(id))
				this.sel.delete(id);
		const at = activeId === undefined ? undefined : this.index.get(activeId);
		this.active = at !== undefined ? at : Math.min(this.active, ids.length - 1);
		this.anchor = Math.min(this.anchor, ids.length - 1);
		this.emptyText = emptyText || '';
		this.rows.style.height = `${Math.max(ids.length, 1) * LISTBOX_ROW}px`;
		this.draw(true);
		this.opts.changed();
	}

	/* The selected ids, in the order shown. */
	selected() {
		if (this.sel.size === this.items.length)
			return this.items.slice();
		return this.items.filter((id) => this.sel.has(id));
	}

	select(ids) {
		this.sel = new Set(ids.filter((id) => this.index.has(id)));
		this.draw(true);
		this.opts.changed();
	}

	selectAll() {
		this.select(this.items);
	}

	/* Select the row at position i alone and make it active (after a move:
	 * the keyboard stays where it was). */
	selectAt(i) {
		if (!this.items.length)
			return;
		i = Math.max(0, Math.min(i, this.items.length - 1));
		this.sel = new Set([this.items[i]]);
		this.anchor = i;
		this.setActive(i);
		this.opts.changed();
	}

	position(id) {
		const i = this.index.get(id);
		return i === undefined ? -1 : i;
	}

	optionId(i) {
		return `${this.el.id}-row-${i}`;
	}

	setActive(i) {
		this.active = i;
		if (i < 0) {
			this.el.removeAttribute('aria-activedescendant');
			return;
		}
		/* bring the row into view, then draw so that it exists */
		const top = i * LISTBOX_ROW, el = this.el;
		if (top < el.scrollTop)
			el.scrollTop = top;
		else if (top + LISTBOX_ROW > el.scrollTop + el.clientHeight)
			el.scrollTop = top + LISTBOX_ROW - el.clientHeight;
		this.draw(true);
	}

	/* Draw the rows in view; force: even when the window did not move.
	 * Rows keep their elements while they stay in view, so that a
	 * double-click's two clicks meet the same row. */
	draw(force) {
		const n = this.items.length;
		const h = this.el.clientHeight || LISTBOX_ROW * 12;
		/* a list that just got shorter may not have clamped its scroll yet */
		const top = Math.min(this.el.scrollTop, Math.max(0, n * LISTBOX_ROW - h));
		const first = Math.max(0, Math.floor(top / LISTBOX_ROW) - LISTBOX_OVERSCAN);
		const last = Math.min(n, Math.ceil((top + h) / LISTBOX_ROW) + LISTBOX_OVERSCAN);
		const key = `${first}:${last}`;
		if (!force && key === this.drawn)
			return;
		this.drawn = key;
		const old = this.shownRows || new Map();
		const rows = new Map();
		for (let i = first; i < last; i++) {
			let row = old.get(i);
			if (row && row.dataset.value === this.items[i])
				old.delete(i);
			else
				row = this.newRow();
			this.fill(row, i);
			rows.set(i, row);
		}
		for (const row of old.values())
			row.remove();
		if (this.emptyRow)
			this.emptyRow.remove();
		this.emptyRow = null;
		if (!n) {
			const row = this.emptyRow = document.createElement('div');
			row.className = 'lb-empty';
			row.setAttribute('role', 'option');
			row.setAttribute('aria-disabled', 'true');
			row.setAttribute('aria-selected', 'false');
			row.id = this.optionId(0);
			row.textContent = this.emptyText;
			this.rows.append(row);
		}
		for (const row of rows.values())
			if (!row.parentNode)
				this.rows.append(row);
		this.shownRows = rows;
		/* it names a row in the page only: one scrolled away has none */
		if (rows.has(this.active) && document.activeElement === this.el)
			this.el.setAttribute('aria-activedescendant', this.optionId(this.active));
		else if (!n && document.activeElement === this.el)
			this.el.setAttribute('aria-activedescendant', this.optionId(0));
		else
			this.el.removeAttribute('aria-activedescendant');
	}

	newRow() {
		const row = document.createElement('div');
		row.setAttribute('role', 'option');
		const mark = document.createElement('span');
		mark.className = 'lb-check';
		mark.setAttribute('aria-hidden', 'true');
		const text = document.createElement('span');
		text.className = 'lb-text';
		row.append(mark, text);
		return row;
	}

	/* Make row show item i as it is now. */
	fill(row, i) {
		const id = this.items[i];
		const d = this.opts.describe(id);
		const on = this.sel.has(id);
		row.id = this.optionId(i);
		row.dataset.value = id;
		row.dataset.index = String(i);
		row.setAttribute('aria-selected', on ? 'true' : 'false');
		row.setAttribute('aria-setsize', String(this.items.length));
		row.setAttribute('aria-posinset', String(i + 1));
		row.className = 'lb-row' + (d.cls ? ' ' + d.cls : '') + (i === this.active ? ' lb-active' : '');
		row.style.top = `${i * LISTBOX_ROW}px`;
		row.firstChild.textContent = on ? '✓' : '';
		if (row.lastChild.textContent !== d.text)
			row.lastChild.textContent = d.text;
	}

	rowAt(ev) {
		const row = ev.target.closest ? ev.target.closest('.lb-row') : null;
		return row && this.el.contains(row) ? Number(row.dataset.index) : -1;
	}

	click(ev) {
		const i = this.rowAt(ev);
		if (i < 0 || ev.button !== 0)
			return;
		if (ev.shiftKey && this.anchor >= 0) {
			ev.preventDefault();    /* no text selection */
			this.range(this.anchor, i, ev.ctrlKey || ev.metaKey);
		} else if (ev.ctrlKey || ev.metaKey || ev.target.closest('.lb-check')) {
			/* the check box toggles its row: several rows by touch, where
			 * there is no Ctrl */
			this.toggle(i);
			this.anchor = i;
		} else {
			this.sel = new Set([this.items[i]]);
			this.anchor = i;
		}
		this.setActive(i);
		this.el.focus({ preventScroll: true });
		this.opts.changed();
	}

	toggle(i) {
		const id = this.items[i];
		if (this.sel.has(id))
			this.sel.delete(id);
		else
			this.sel.add(id);
	}

	/* Select from a to b; add: keep what else was selected. */
	range(a, b, add) {
		if (!add)
			this.sel = new Set();
		for (let i = Math.min(a, b); i <= Math.max(a, b); i++)
			this.sel.add(this.items[i]);
	}

	key(ev) {
		const n = this.items.length;
		const page = Math.max(1, Math.floor(this.el.clientHeight / LISTBOX_ROW) - 1);
		const ctrl = ev.ctrlKey || ev.metaKey;
		const from = this.active < 0 ? -1 : this.active;
		const to = {
			ArrowDown: from + 1, ArrowUp: from < 0 ? 0 : from - 1, PageDown: from + page,
			PageUp: from - page, Home: 0, End: n - 1,
		}[ev.key];
		if (to !== undefined) {
			ev.preventDefault();
			if (!n)
				return;
			const i = Math.max(0, Math.min(to, n - 1));
			if (ev.shiftKey) {
				if (this.anchor < 0)
					this.anchor = Math.max(from, 0);
				this.range(this.anchor, i, false);
			} else if (!ctrl) {
				this.sel = new Set([this.items[i]]);
				this.anchor = i;
			}
			this.setActive(i);
			this.opts.changed();
		} else if (ev.key === ' ' && this.active >= 0) {
			ev.preventDefault();
			if (ev.shiftKey && this.anchor >= 0)
				this.range(this.anchor, this.active, true);
			else {
				this.toggle(this.active);
				this.anchor = this.active;
			}
			this.draw(true);
			this.opts.changed();
		} else if (ctrl && (ev.key === 'a' || ev.key === 'A')) {
			ev.preventDefault();
			this.selectAll();
		} else if (ev.key === 'Enter') {
			ev.preventDefault();
			this.opts.activate(this.selected());
		} else if (ev.key.length === 1 && !ctrl && !ev.altKey && ev.key !== ' ') {
			this.typeAhead(ev.key);
		}
	}

	/* The filter box above the list: Down goes to the list (selecting its
	 * first row when none is), Enter submits nothing. */
	wireFilter(input) {
		input.addEventListener('keydown', (ev) => {
			if (ev.key === 'ArrowDown') {
				ev.preventDefault();
				this.el.focus();
				if (this.items.length && !this.sel.size)
					this.selectAt(0);
			} else if (ev.key === 'Enter') {
				ev.preventDefault();
			}
		});
	}

	/* Go to the next row whose words start with what was just typed. */
	typeAhead(ch) {
		const now = Date.now();
		this.typed = (now - this.typedAt < LISTBOX_TYPEAHEAD ? this.typed : '') + ch.toLowerCase();
		this.typedAt = now;
		const n = this.items.length;
		const start = this.typed.length > 1 ? Math.max(this.active, 0) : this.active + 1;
		for (let k = 0; k < n; k++) {
			const i = (start + k) % n;
			if (this.opts.describe(this.items[i]).text.toLowerCase().startsWith(this.typed)) {
				this.sel = new Set([this.items[i]]);
				this.anchor = i;
				this.setActive(i);
				this.opts.changed();
				return;
			}
		}
	}
}

/* The tools above the list #{side}-list (app.js's and enrol.js's lists):
 * "Select all matching" and how many are selected. */
function listTools(side) {
	const tools = document.createElement('div');
	tools.className = 'pane-tools';
	const all = document.createElement('button');
	all.type = 'button';
	all.id = `${side}-select-all`;
	all.className = 'ghost small-btn';
	all.dataset.testid = all.id;
	all.textContent = 'Select all matching';
	const count = document.createElement('span');
	count.id = `${side}-selected`;
	count.className = 'muted small';
	count.dataset.testid = count.id;
	tools.append(all, count);
	document.getElementById(`${side}-list`).before(tools);
}
