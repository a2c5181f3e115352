/*
 * kit.js - what the console's campaign-wide scripts (enrol.js, agent.js,
 * team.js, counts.js) share: an inline confirmation for bulk actions (shown
 * in the page next to the action instead of the browser's confirm(), so
 * that it is read in place and reachable by keyboard), a loop that runs
 * requests a few at a time, counted nouns, matching users by words and
 * role, and reading the open lead again.  Loaded before app.js; uses its
 * globals (state, loadMapping, ...) only when called.
 */
'use strict';

/* Ask `question` in `box` (an element of the page, emptied and shown) with
 * a button labelled `yes` and a Cancel button; focus goes to `yes`.
 * Answers a promise of true (yes) or false (Cancel, Escape, or another
 * question in the same box).  The box is hidden again afterwards and the
 * focus returns to `back` when given. */
function askInline(box, question, yes, back) {
	if (box.cancelAsk)
		box.cancelAsk();
	return new Promise((resolve) => {
		const p = document.createElement('p');
		p.className = 'ask-question';
		p.textContent = question;
		const ok = document.createElement('button');
		ok.type = 'button';
		ok.className = 'primary';
		ok.textContent = yes;
		ok.dataset.testid = 'ask-yes';
		const no = document.createElement('button');
		no.type = 'button';
		no.textContent = 'Cancel';
		no.dataset.testid = 'ask-no';
		const buttons = document.createElement('div');
		buttons.className = 'buttons';
		buttons.append(ok, no);
		const done = (answer) => {
			box.cancelAsk = null;
			box.hidden = true;
			box.replaceChildren();
			if (back && !answer)
				back.focus();
			resolve(answer);
		};
		box.cancelAsk = () => done(false);
		ok.addEventListener('click', () => done(true));
		no.addEventListener('click', () => done(false));
		box.onkeydown = (ev) => {
			if (ev.key === 'Escape')
				done(false);
		};
		box.replaceChildren(p, buttons);
		box.hidden = false;
		ok.focus();
	});
}

/* Run fn over items, at most `width` at a time; answers the errors, as
 * [{item, error}], in the items' order. */
async function eachAtMost(items, width, fn) {
	const errors = [];
	let next = 0;
	async function worker() {
		while (next < items.length) {
			const i = next++;
			try {
				await fn(items[i]);
			} catch (e) {
				errors.push({ i, item: items[i], error: e });
			}
		}
	}
	await Promise.all(Array.from({ length: Math.min(width, items.length) }, worker));
	return errors.sort((a, b) => a.i - b.i);
}

/* "1 user", "2,000 users" */
function plural(n, one, many) {
	return `${n.toLocaleString('en')} ${n === 1 ? one : many || one + 's'}`;
}

/* User ids in one request body: the API takes 10,000 per array and 1 MiB
 * per body; 5,000 ids of at most 128 bytes stay under both. */
const IDS_PER_BODY = 5000;

function chunks(arr, n) {
	const out = [];
	for (let i = 0; i < arr.length; i += n)
		out.push(arr.slice(i, i + n));
	return out;
}

/* Does user `id` match every word of `words` (in its id or name, any case)
 * and, when `role` is given, have that role? */
function userMatches(id, words, role) {
	const u = state.users.get(id);
	if (role && (!u || u.role !== role))
		return false;
	const ws = String(words || '').toLowerCase().split(/\s+/).filter(Boolean);
	if (!ws.length)
		return true;
	const hay = (id + ' ' + (u && u.name ? u.name : '')).toLowerCase();
	return ws.every((w) => hay.includes(w));
}

/* Sort by code points, as the server sorts user ids. */
function byCodePoint(a, b) {
	return a < b ? -1 : a > b ? 1 : 0;
}

/* Read the open lead again after this page changed its mapping or its
 * campaign's users some other way than app.js's Save: unsaved moves are
 * kept (as app.js's "Reload and keep my moves" does), the history follows. */
async function reloadOpenLead() {
	try {
		await loadMapping(pendingCount() ? pendingChanges() : null);
		refreshHistory();
	} catch (e) {
		if (state.session)
			showError(e, 'Reloading the lead');
	}
}

/* Run fn() - which changes mappings or campaign users through ownRequest()
 * - the way app.js runs a Save: the change feed's events wait until it is
 * done (state.saving), and its requests' ids are this page's own
 * (state.ownRequests), so that the feed does not announce this page's own
 * change as someone else's.  One such change at a time: a Save or another
 * change in flight is waited for first. */
async function asOwnChange(fn) {
	while (state.saving)
		await state.saving.catch(() => {});
	const p = fn();
	state.saving = p;
	try {
		return await p;
	} finally {
		if (state.saving === p)
			state.saving = null;
	}
}

/* api(), remembering the request's id as this page's own. */
async function ownRequest(method, path, opts) {
	const r = await api(method, path, opts);
	const id = r.headers.get('X-Request-Id');
	if (id)
		state.ownRequests = [...state.ownRequests, id].slice(-OWN_REQUESTS_KEPT);
	return r;
}
