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
 * Each list shows at most ENROL_SHOWN rows (a contact center may have
 * 20,000 users): the filter narrows it, "Enrol all matching" acts on every
 * match.  Checked users stay checked while the filter changes.
 *
 * Loaded before app.js: listens to its "cms:" events from the start and
 * uses its globals (state, api, apiAll, loadUsers, loadMapping, ...) only
 * when one arrives or a button is pressed.
 */
'use strict';

const ENROL_SHOWN = 200;        /* rows shown in each list at most */
const ENROL_ASK_ABOVE = 20;     /* enrolling more users than this at once asks first */
const REMOVE_WIDTH = 4;         /* DELETEs in flight at once */

/* The open campaign's users: {campaign, ids: Set of userId, ready:
 * promise of the load in flight or done, seq}. */
const roster = { campaign: null, ids: new Set(), ready: Promise.resolve(), seq: 0 };
const enrolChecked = { out: new Set(), in: new Set() };

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
		for (const side of ['out', 'in'])
			for (const id of enrolChecked[side])
				if (roster.ids.has(id) !== (side === 'in'))
					enrolChecked[side].delete(id);
		document.dispatchEvent(new CustomEvent('cms:roster'));
	});
	return roster.ready;
}

/* The users a side shows: 'out' the contact center's users not enrolled,
 * 'in' the enrolled ones; those matching its filter, sorted. */
function enrolMatches(side) {
	const words = document.getElementById(`enrol-${side}-filter`).value;
	const ids = side === 'in' ? [...roster.ids]
		: [...state.users.keys()].filter((u) => !roster.ids.has(u));
	return ids.filter((u) => userMatches(u, words)).sort(byCodePoint);
}

function enrolRenderSide(side) {
	const all = side === 'in' ? roster.ids.size : [...state.users.keys()].filter((u) => !roster.ids.has(u)).length;
	const ids = enrolMatches(side);
	const list = $(`enrol-${side}-list`);
	const rows = ids.slice(0, ENROL_SHOWN).map((id) => {
		const label = document.createElement('label');
		label.className = 'check-row';
		const box = document.createElement('input');
		box.type = 'checkbox';
		box.value = id;
		box.checked = enrolChecked[side].has(id);
		label.append(box, ' ', userLabel(id));
		return label;
	});
	if (!rows.length) {
		const p = document.createElement('p');
		p.className = 'muted check-empty';
		p.textContent = all ? 'No user matches the filter.'
			: side === 'in' ? 'Nobody is enrolled yet.' : 'Every user of the contact center is enrolled.';
		rows.push(p);
	}
	list.replaceChildren(...rows);
	const filtered = !!$(`enrol-${side}-filter`).value.trim();
	$(`enrol-${side}-count`).textContent = filtered ? `${ids.length.toLocaleString('en')} of ${all.toLocaleString('en')}`
		: all.toLocaleString('en');
	$(`enrol-${side}-more`).textContent = ids.length > ENROL_SHOWN
		? `Showing the first ${ENROL_SHOWN} of ${plural(ids.length, 'matching user')}: narrow the filter`
			+ (side === 'out' ? ', or enrol all matching.' : '.') : '';
	enrolButtons();
}

function enrolButtons() {
	const busy = !!roster.busy;
	const nOut = enrolChecked.out.size, nIn = enrolChecked.in.size;
	$('enrol-btn').textContent = nOut ? `Enrol ${plural(nOut, 'checked user')}` : 'Enrol checked users';
	$('enrol-btn').disabled = busy || !nOut;
	const matching = state.campaign ? enrolMatches('out').length : 0;
	$('enrol-all-btn').textContent = `Enrol all ${matching.toLocaleString('en')} matching`;
	$('enrol-all-btn').disabled = busy || !matching;
	$('remove-btn').textContent = nIn ? `Remove ${plural(nIn, 'checked user')} from the campaign`
		: 'Remove checked users from the campaign';
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
		? [...state.users.keys()].filter((u) => !roster.ids.has(u) && userMatches(u, words)).length : 0;
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
	await loadRoster();
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
	let done = 0;
	try {
		for (const part of chunks(ids, IDS_PER_BODY)) {
			await api('POST', `${campaignPath()}/campaign-user`, { body: { userIds: part } });
			done += part.length;
		}
		for (const id of ids)
			enrolChecked.out.delete(id);
		setStatus(`Enrolled ${ids.length === 1 ? ids[0] : plural(ids.length, 'user')} in the campaign.`);
		back = $('enrol-out-filter');    /* the button pressed is disabled now: nothing is checked */
	} catch (e) {
		if (state.session)
			showError(e, done ? `Enrolling (${done.toLocaleString('en')} of ${ids.length.toLocaleString('en')} enrolled)` : 'Enrolling');
	} finally {
		roster.busy = false;
	}
	await rosterChanged();
	if (back && !back.disabled)
		back.focus();
}

async function removeChecked() {
	const ids = [...enrolChecked.in].sort(byCodePoint);
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
		const failed = new Set(errs.map((x) => x.item));
		for (const id of ids)
			if (!failed.has(id))
				enrolChecked.in.delete(id);
		await rosterChanged();
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
	for (const side of ['out', 'in']) {
		el(`enrol-${side}-filter`).addEventListener('input', () => enrolRenderSide(side));
		el(`enrol-${side}-list`).addEventListener('change', (ev) => {
			const box = ev.target;
			if (box.type !== 'checkbox')
				return;
			if (box.checked)
				enrolChecked[side].add(box.value);
			else
				enrolChecked[side].delete(box.value);
			enrolButtons();
		});
	}
	el('enrol-btn').addEventListener('click', () => enrol([...enrolChecked.out].sort(byCodePoint), el('enrol-btn')));
	el('enrol-all-btn').addEventListener('click', () => enrol(enrolMatches('out'), el('enrol-all-btn')));
	el('remove-btn').addEventListener('click', removeChecked);
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
		enrolChecked.out.clear();
		enrolChecked.in.clear();
		el('enrol-out-filter').value = el('enrol-in-filter').value = '';
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
		el('enrol').hidden = true;
	});
}

wireEnrol();
