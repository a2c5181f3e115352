/*
 * enrol.js - the campaign's users from the console: who of the contact
 * center is in the open campaign and who is not, enrolling users (POST
 * .../campaign-user, up to IDS_PER_BODY ids a request) and removing them
 * (DELETE .../campaign-user/{userId}, one request a user: the API has no
 * bulk removal; a few at a time).  Removing a user from a campaign removes
 * its lead mappings there (API.md §1), so removal always asks first;
 * enrolling more than ENROL_ASK_ABOVE users at once asks too.
 *
 * It also keeps the campaign's roster (its users' ids), which agent.js and
 * team.js read, and says under the mapping's lists when the unassigned
 * filter matches users of the contact center who are not in the campaign
 * (they could not be seen there before; issue 15, point 6).
 *
 * The two lists ("Not in the campaign", "In the campaign") are listboxes
 * (web/listbox.js, as the lead's two lists): every user that matches the
 * filter (by id, name or role) is in the list, only the rows in view are
 * drawn (a contact center may have 20,000 users), and the selection is
 * what "Enrol selected" and "Remove selected" act on.  "Select all
 * matching" selects every user the filter matches, so enrolling all of
 * them is two clicks (and a confirmation above ENROL_ASK_ABOVE).  As in
 * the lead's lists, the selection is part of what is shown: users the
 * filter hides are no longer selected.
 *
 * Loaded before app.js: listens to its "cms:" events from the start and
 * uses its globals (state, api, apiAll, loadUsers, loadMapping, ...) only
 * when one arrives or a button is pressed.
 */
'use strict';

const ENROL_ASK_ABOVE = 20;     /* enrolling more users than this at once asks first */
const REMOVE_WIDTH = 4;         /* DELETEs in flight at once */

/* The open campaign's users: {campaign, ids: Set of userId, ready:
 * promise of the load in flight or done, seq}. */
const roster = { campaign: null, ids: new Set(), ready: Promise.resolve(), seq: 0 };
/* The two Listboxes, {out, in}, made by wireEnrol. */
const enrolLists = {};
/* Each side's users, sorted, worked out again when the roster or the
 * contact center's users were read again (not on each key typed). */
let enrolSides = { users: null, ids: null, out: [], in: [] };

function campaignPath() {
	return `/cc/${state.cc}/process/${state.process}/campaign/${state.campaign}`;
}

/* Read the open campaign's users (and the contact center's, for names and
 * for who is not enrolled); fresh: read the contact center's users again. */
function loadRoster(fresh) {
	const seq = ++roster.seq;
	const campaign = state.campaign;
	roster.campaign = campaign;
	if (!campaign) {
		roster.ids = new Set();
		roster.ready = Promise.resolve();
		return roster.ready;
	}
	if (fresh)
		state.usersCc = null;
	roster.ready = Promise.all([apiAll(`${campaignPath()}/campaign-user`), loadUsers()]).then(([rows]) => {
		if (seq !== roster.seq)
			return;
		roster.ids = new Set(rows.map((r) => r.userId));
		document.dispatchEvent(new CustomEvent('cms:roster'));
	});
	return roster.ready;
}

/* Every user of a side: 'out' the contact center's users not enrolled,
 * 'in' the enrolled ones, sorted. */
function enrolAll(side) {
	if (enrolSides.users !== state.users || enrolSides.ids !== roster.ids)
		enrolSides = {
			users: state.users, ids: roster.ids,
			in: [...roster.ids].sort(byCodePoint),
			out: [...state.users.keys()].filter((u) => !roster.ids.has(u)).sort(byCodePoint),
		};
	return enrolSides[side];
}

/* The users a side shows: those matching its filter (app.js's filterIds:
 * id, name and role, as the lead's lists). */
function enrolMatches(side) {
	return filterIds(enrolAll(side), $(`enrol-${side}-filter`).value.trim());
}

function enrolRenderSide(side) {
	const all = enrolAll(side).length;
	const ids = enrolMatches(side);
	enrolLists[side].setItems(ids, !all
		? (side === 'in' ? 'Nobody is enrolled yet' : 'Every user of the contact center is enrolled')
		: 'No user matches the filter');
	const filtered = !!$(`enrol-${side}-filter`).value.trim();
	$(`enrol-${side}-count`).textContent = filtered ? `${ids.length.toLocaleString('en')} of ${all.toLocaleString('en')}`
		: all.toLocaleString('en');
}

/* A list's selection changed: its count, its "Select all matching", the buttons. */
function enrolSelected(side) {
	const list = enrolLists[side];
	$(`enrol-${side}-selected`).textContent = `${list.sel.size.toLocaleString('en')} selected`;
	$(`enrol-${side}-select-all`).disabled = !list.items.length || list.sel.size === list.items.length;
	enrolButtons();
}

function enrolButtons() {
	const busy = !!roster.busy;
	const nOut = enrolLists.out.sel.size, nIn = enrolLists.in.sel.size;
	$('enrol-btn').textContent = nOut ? `Enrol ${plural(nOut, 'selected user')}` : 'Enrol selected users';
	$('enrol-btn').disabled = busy || !nOut;
	$('remove-btn').textContent = nIn ? `Remove ${plural(nIn, 'selected user')} from the campaign`
		: 'Remove selected users from the campaign';
	$('remove-btn').disabled = busy || !nIn;
}

function enrolRender() {
	const show = !!(state.session && state.campaign && canWrite());
	$('enrol').hidden = !show;
	if (!show)
		return;
	const opt = $('pick-campaign').selectedOptions[0];
	$('enrol-campaign').textContent = opt && opt.value ? opt.textContent : '';
	enrolRenderSide('out');
	enrolRenderSide('in');
}

/* Under the mapping's lists: how many users outside the campaign match
 * the unassigned filter, and a way to them. */
function outsideHint() {
	const hint = $('outside-hint');
	const filter = $('unassigned-filter');
	const words = filter ? filter.value.trim() : '';
	const n = words && state.mapping && roster.campaign === state.campaign
		? filterIds(enrolAll('out'), words).length : 0;
	hint.hidden = !n;
	if (!n)
		return;
	$('outside-hint-text').textContent = `${plural(n, 'user')} of the contact center outside this campaign `
		+ `${n === 1 ? 'matches' : 'match'} "${words}".`
		+ (canWrite() ? '' : ' Only a supervisor or administrator can enrol them.');
	$('outside-hint-go').hidden = !canWrite();
}

/* "Enrol them…": the enrol section, filtered as the unassigned list is. */
function goEnrol() {
	$('enrol-out-filter').value = $('unassigned-filter').value;
	enrolRenderSide('out');
	$('enrol').scrollIntoView({ block: 'start' });
	$('enrol-out-filter').focus();
}

/* After the campaign's users changed: read them again, show them, and
 * reload the open lead (keeping unsaved moves) and the lead counts. */
async function rosterChanged() {
	try {
		await loadRoster();
	} catch (e) {
		/* signed out meanwhile: the session's dialog says so, not this */
		if (state.session)
			showError(e, 'Reading the campaign\'s users');
		return;
	}
	enrolRender();
	outsideHint();
	if (state.mapping)
		await reloadOpenLead();
	if (typeof recountLeads === 'function')
		recountLeads();
}

async function enrol(ids, back) {
	if (!ids.length)
		return;
	if (ids.length > ENROL_ASK_ABOVE && !(await askInline($('enrol-ask'),
		`Enrol ${plural(ids.length, 'user')} in ${$('enrol-campaign').textContent}?`, `Enrol ${ids.length.toLocaleString('en')}`, back)))
		return;
	roster.busy = true;
	enrolButtons();
	clearError();
	const done = [];
	try {
		for (const part of chunks(ids, IDS_PER_BODY)) {
			await api('POST', `${campaignPath()}/campaign-user`, { body: { userIds: part } });
			done.push(...part);
		}
		setStatus(`Enrolled ${ids.length === 1 ? ids[0] : plural(ids.length, 'user')} in the campaign.`);
		back = $('enrol-out-filter');    /* the button pressed is disabled now: nothing is selected */
	} catch (e) {
		if (state.session)
			showError(e, done.length ? `Enrolling (${done.length.toLocaleString('en')} of ${ids.length.toLocaleString('en')} enrolled)` : 'Enrolling');
	} finally {
		roster.busy = false;
	}
	/* what the server answered 201 to shows at once; the roster read
	 * again (20 pages for 20,000 users) and the open lead follow */
	if (done.length) {
		roster.ids = new Set([...roster.ids, ...done]);
		enrolRender();
	}
	if (back && !back.disabled)
		back.focus();
	await rosterChanged();
}

async function removeSelected() {
	const ids = enrolLists.in.selected();
	if (!ids.length)
		return;
	const who = ids.length === 1 ? ids[0] : plural(ids.length, 'user');
	if (!(await askInline($('remove-ask'), `Remove ${who} from ${$('enrol-campaign').textContent}? `
		+ 'They are also removed from every lead list of the campaign.', `Remove ${ids.length.toLocaleString('en')}`, $('remove-btn'))))
		return;
	roster.busy = true;
	enrolButtons();
	clearError();
	const base = `${campaignPath()}/campaign-user/`;
	/* the feed's events of these removals are this page's own */
	const errors = await asOwnChange(async () => {
		const errs = await eachAtMost(ids, REMOVE_WIDTH,
			(id) => ownRequest('DELETE', base + encodeURIComponent(id)).catch((e) => {
				if (e.status !== 404)   /* already gone: what was asked */
					throw e;
			}));
		roster.busy = false;
		await rosterChanged();  /* the removed leave the list, and its selection */
		return errs;
	});
	if (errors.length) {
		if (state.session)
			showError(errors[0].error, `Removing from the campaign: ${errors.length} of ${ids.length} failed, `
				+ `the first ${errors[0].item}`);
	} else {
		setStatus(`Removed ${who} from the campaign.`);
	}
	$('enrol-in-filter').focus();
}

function wireEnrol() {
	const el = (id) => document.getElementById(id);
	const act = { out: (ids) => enrol(ids, el('enrol-out-list')), in: () => removeSelected() };
	for (const side of ['out', 'in']) {
		listTools(`enrol-${side}`);
		const list = enrolLists[side] = new Listbox(el(`enrol-${side}-list`), {
			describe: (id) => ({ text: userLabel(id), cls: '' }),
			activate: (ids) => act[side](ids),
			changed: () => enrolSelected(side),
		});
		const filter = el(`enrol-${side}-filter`);
		filter.addEventListener('input', () => enrolRenderSide(side));
		list.wireFilter(filter);
		el(`enrol-${side}-select-all`).addEventListener('click', () => {
			list.selectAll();
			setStatus(`Selected all ${plural(list.items.length, 'user')} `
				+ (filter.value.trim() ? 'matching the filter.' : 'shown.'));
		});
	}
	el('enrol-btn').addEventListener('click', () => enrol(enrolLists.out.selected(), el('enrol-btn')));
	el('remove-btn').addEventListener('click', removeSelected);
	el('enrol-refresh').addEventListener('click', async () => {
		try {
			await loadRoster(true);
		} catch (e) {
			if (state.session)
				showError(e, 'Reading the campaign\'s users');
		}
		enrolRender();
	});
	el('outside-hint-go').addEventListener('click', goEnrol);
	/* the unassigned filter is app.js's: listen on the document, whatever it renders */
	document.addEventListener('input', (ev) => {
		if (ev.target && ev.target.id === 'unassigned-filter')
			outsideHint();
	});
	const campaignChanged = () => {
		el('enrol-out-filter').value = el('enrol-in-filter').value = '';
		for (const side of ['out', 'in'])
			enrolLists[side].setItems([], '');
		el('enrol').hidden = true;
		el('outside-hint').hidden = true;
		if (state.campaign)
			loadRoster().then(enrolRender, (e) => {
				if (state.session)
					showError(e, 'Reading the campaign\'s users');
			});
		else
			loadRoster();
	};
	document.addEventListener('cms:cc', campaignChanged);
	document.addEventListener('cms:campaign', campaignChanged);
	document.addEventListener('cms:mapping', outsideHint);
	document.addEventListener('cms:roster', outsideHint);
	document.addEventListener('cms:ended', () => {
		roster.seq++;
		roster.campaign = null;
		roster.ids = new Set();
		for (const side of ['out', 'in'])
			enrolLists[side].setItems([], '');
		el('enrol').hidden = true;
	});
}

wireEnrol();
