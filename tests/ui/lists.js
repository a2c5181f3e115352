/*
 * tests/ui/lists.js - the console's two user lists (web/listbox.js) from a
 * browser test's side: what a list shows, which rows are unsaved moves, and
 * selecting users as a user would.  The lists are listboxes of role=option
 * rows, not <select>s: page.selectOption() does not work on them.
 */
'use strict';

/* The userIds a list's rows show, in order (every row drawn: a short list,
 * or the rows in view of a long one). */
function listShown(page, side) {
	return page.$$eval(`#${side}-list [role="option"]:not([aria-disabled="true"])`,
		(rows) => rows.map((r) => r.dataset.value));
}

/* The userIds of the rows marked as unsaved moves. */
function listMoved(page, side) {
	return page.$$eval(`#${side}-list .moved`, (rows) => rows.map((r) => r.dataset.value));
}

/* Select these users of a list as a user would: click the first, Ctrl+click
 * the others. */
async function pickUsers(page, side, ids) {
	for (let i = 0; i < ids.length; i++)
		await page.click(`#${side}-list [data-value="${ids[i]}"]`, { modifiers: i ? ['Control'] : [] });
}

module.exports = { listShown, listMoved, pickUsers };
