/*
 * agent.js - the mapping from one user's side (issue 15, point 8): pick a
 * user of the contact center, see every lead list it may work in every
 * campaign (GET .../cc/{cc}/user/{userId}/assignments), together with the
 * lead lists of the open campaign it is not on, and change them: each
 * ticked or cleared box is one PUT of that lead's mapping naming only this
 * user, so a change made meanwhile by someone else to other users of the
 * lead is never undone.  A user who is not in the open campaign cannot be
 * put on its lists (API.md §1): the view says so and offers to enrol it.
 *
 * An Agent sees its own lists only, read-only (the API lets an Agent read
 * its own assignments and nothing it could change).
 *
 * Loaded before app.js: listens to its "cms:" events.
 */
'use strict';

const AGENT_SUGGEST = 30;     /* users offered as the name is typed */

const agent = {
	userId: null,
	rows: [],           /* [{key, campaignId, campaignName, processId, leadId, leadName, on}] */
	want: new Map(),    /* key -> the box's new state, where it differs from the server's */
	attached: [],       /* the open campaign's campaign leads (app.js's "cms:leads") */
	seq: 0,
	busy: false,
};

function agentKey(campaignId, leadId) {
	return `${campaignId}:${leadId}`;
}

/* The user the box names: an exact user id, else the only user whose id or
 * name holds every word typed; null and a note otherwise. */
function agentResolve(text) {
	text = text.trim();
	if (!text)
		return { id: null, why: 'Type a user id or name.' };
	if (state.users.has(text))
		return { id: text };
	const hits = [...state.users.keys()].filter((u) => userMatches(u, text));
	if (hits.length === 1)
		return { id: hits[0] };
	if (!state.users.size)
		return { id: text };    /* names could not be read: take the id as typed */
	return { id: null, why: hits.length ? `${plural(hits.length, 'user')} match "${text}": choose one.`
		: `No user of this contact center matches "${text}".` };
}

function agentSuggest() {
	const text = $('agent-id').value.trim();
	const hits = text ? [...state.users.keys()].filter((u) => userMatches(u, text)).sort(byCodePoint)
		.slice(0, AGENT_SUGGEST) : [];
	$('agent-options').replaceChildren(...hits.map((u) => {
		const o = document.createElement('option');
		o.value = u;
		o.label = userLabel(u);
		return o;
	}));
}

async function agentShow(ev) {
	if (ev)
		ev.preventDefault();
	if (!canWrite())
		$('agent-id').value = state.session.userId;
	await loadUsers();
	const r = agentResolve($('agent-id').value);
	if (!r.id) {
		agentNote(r.why);
		return;
	}
	$('agent-id').value = r.id;
	await agentLoad(r.id);
}

function agentNote(text) {
	$('agent-note').textContent = text;
}

/* Read the user's assignments (every page) and show them with the open
 * campaign's other lead lists. */
async function agentLoad(userId) {
	const seq = ++agent.seq;
	agentNote('Loading…');
	let rows;
	try {
		rows = await apiAll(`/cc/${state.cc}/user/${encodeURIComponent(userId)}/assignments`);
	} catch (e) {
		if (seq !== agent.seq)
			return;
		agentNote(e.status === 404 ? `No user "${userId}" in this contact center.` : 'The user\'s lead lists could not be read.');
		agent.userId = null;
		agentRender();
		if (state.session && e.status !== 404)
			showError(e, 'Reading the user\'s lead lists');
		return;
	}
	await roster.ready.catch(() => {});
	if (seq !== agent.seq)
		return;
	agent.userId = userId;
	agent.want = new Map();
	const seen = new Map();
	for (const a of rows)
		seen.set(agentKey(a.campaignId, a.leadId), {
			key: agentKey(a.campaignId, a.leadId), campaignId: a.campaignId, campaignName: a.campaignName,
			processId: a.processId, leadId: a.leadId, leadName: a.leadName, on: true,
		});
	if (state.campaign) {
		const opt = $('pick-campaign').selectedOptions[0];
		for (const cl of agent.attached) {
			const key = agentKey(Number(state.campaign), cl.leadId);
			if (!seen.has(key))
				seen.set(key, {
					key, campaignId: Number(state.campaign), campaignName: opt ? opt.textContent : `Campaign ${state.campaign}`,
					processId: Number(state.process), leadId: cl.leadId,
					leadName: state.leadNames.get(String(cl.leadId)) || `Lead ${cl.leadId}`, on: false,
				});
		}
	}
	agent.rows = [...seen.values()].sort((a, b) => byCodePoint(a.campaignName, b.campaignName)
		|| byCodePoint(a.leadName, b.leadName) || a.leadId - b.leadId);
	const on = rows.length;
	const campaigns = new Set(rows.map((a) => a.campaignId)).size;
	agentNote(`${userLabel(userId)} may work ${plural(on, 'lead list')}`
		+ (on ? ` in ${plural(campaigns, 'campaign')}.` : '.'));
	agentRender();
}

/* Is the user outside the open campaign (so its lists cannot be ticked)? */
function agentOutside() {
	return !!(agent.userId && state.campaign && roster.campaign === state.campaign && !roster.ids.has(agent.userId));
}

function agentRender() {
	const write = canWrite();
	const outside = agentOutside();
	$('agent-table').hidden = !agent.userId || !agent.rows.length;
	$('agent-enrol').hidden = !outside || !write;
	if (outside) {
		const opt = $('pick-campaign').selectedOptions[0];
		$('agent-enrol-text').textContent = `${agent.userId} is not in the campaign ${opt ? opt.textContent : ''}: `
			+ 'enrol it to put it on the campaign\'s lead lists.';
	}
	$('agent-body').replaceChildren(...(agent.userId ? agent.rows : []).map((row) => {
		const tr = document.createElement('tr');
		const on = agent.want.has(row.key) ? agent.want.get(row.key) : row.on;
		const cell = document.createElement('td');
		const box = document.createElement('input');
		box.type = 'checkbox';
		box.checked = on;
		box.value = row.key;
		box.dataset.testid = 'agent-box';
		box.setAttribute('aria-label', `May work ${row.leadName} (${row.campaignName})`);
		box.disabled = !write || agent.busy || (outside && row.campaignId === Number(state.campaign) && !row.on);
		cell.append(box);
		const lead = document.createElement('td');
		lead.textContent = row.leadName;
		if (agent.want.has(row.key)) {
			const mark = document.createElement('span');
			mark.className = on ? 'agent-mark moved-in' : 'agent-mark moved-out';
			mark.textContent = on ? ' · to add' : ' · to remove';
			lead.append(mark);
		}
		const camp = document.createElement('td');
		camp.textContent = row.campaignName;
		tr.append(cell, lead, camp);
		return tr;
	}));
	const n = agent.want.size;
	const adds = [...agent.want.values()].filter(Boolean).length;
	$('agent-actions').hidden = !write || !agent.userId;
	$('agent-pending').textContent = n ? `Unsaved: ${adds} to add, ${n - adds} to remove.` : 'No unsaved changes.';
	$('agent-pending').classList.toggle('dirty', n > 0);
	$('agent-save').disabled = !n || agent.busy;
	$('agent-undo').disabled = !n || agent.busy;
}

function agentToggle(ev) {
	const box = ev.target;
	if (box.type !== 'checkbox')
		return;
	const row = agent.rows.find((r) => r.key === box.value);
	if (!row)
		return;
	if (box.checked === row.on)
		agent.want.delete(row.key);
	else
		agent.want.set(row.key, box.checked);
	agentRender();
	const again = [...$('agent-body').querySelectorAll('input')].find((b) => b.value === row.key);
	if (again)
		again.focus();
}

/* One PUT per changed lead, naming only this user; then read everything
 * again (the open lead too, keeping its unsaved moves). */
async function agentSave() {
	const userId = agent.userId;
	const changes = agent.rows.filter((r) => agent.want.has(r.key));
	if (!userId || !changes.length)
		return;
	agent.busy = true;
	agentRender();
	clearError();
	const open = state.mapping && changes.some((r) => r.campaignId === state.mapping.campaignId
		&& r.leadId === state.mapping.leadId);
	const errors = await asOwnChange(async () => {
		const errs = await eachAtMost(changes, 2, (row) => ownRequest('PUT', '/voice/campaignLeadUserMapping', {
			body: {
				leadId: row.leadId, campaignId: row.campaignId,
				assignedUserIds: agent.want.get(row.key) ? [userId] : [],
				unassignedUserIds: agent.want.get(row.key) ? [] : [userId],
			},
		}));
		if (open)
			await reloadOpenLead();
		return errs;
	});
	agent.busy = false;
	if (errors.length) {
		if (state.session)
			showError(errors[0].error, `Saving ${userId}'s lead lists: ${errors.length} of ${changes.length} failed, `
				+ `the first ${errors[0].item.leadName} (${errors[0].item.campaignName})`);
	} else {
		setStatus(`Saved ${userId}'s lead lists: ${plural(changes.length, 'change')}.`);
	}
	await agentLoad(userId);
	$('agent-id').focus();     /* Save is disabled now: nothing is unsaved */
	if (changes.some((r) => String(r.campaignId) === String(state.campaign)))
		recountLeads();
}

async function agentEnrol() {
	const id = agent.userId;
	if (!id)
		return;
	clearError();
	try {
		await api('POST', `${campaignPath()}/campaign-user`, { body: { userIds: [id] } });
		setStatus(`Enrolled ${id} in the campaign.`);
	} catch (e) {
		if (state.session)
			showError(e, 'Enrolling');
	}
	await rosterChanged();
	await agentLoad(id);
	const first = $('agent-body').querySelector('input:not(:disabled)');
	if (first)
		first.focus();
}

function agentShowSection() {
	const show = !!(state.session && state.cc);
	$('agent').hidden = !show;
	if (!show)
		return;
	const write = canWrite();
	$('agent-id').readOnly = !write;
	$('agent-title').textContent = write ? 'One user\'s lead lists' : 'Your lead lists';
	if (!write && state.session.userId !== agent.userId) {
		$('agent-id').value = state.session.userId;
		agentShow();
	}
}

function wireAgent() {
	const el = (id) => document.getElementById(id);
	el('agent-form').addEventListener('submit', (ev) => {
		agentShow(ev).catch((e) => {
			if (state.session)
				showError(e, 'Reading the user\'s lead lists');
		});
	});
	el('agent-id').addEventListener('input', agentSuggest);
	el('agent-body').addEventListener('change', agentToggle);
	el('agent-save').addEventListener('click', agentSave);
	el('agent-undo').addEventListener('click', () => {
		agent.want = new Map();
		agentRender();
	});
	el('agent-enrol-btn').addEventListener('click', agentEnrol);
	document.addEventListener('cms:cc', () => {
		agent.seq++;
		agent.userId = null;
		agent.rows = [];
		agent.want = new Map();
		agent.attached = [];
		el('agent-note').textContent = '';
		agentRender();
		agentShowSection();
	});
	document.addEventListener('cms:campaign', () => {
		agent.attached = [];
		if (agent.userId && !agent.want.size)
			agentLoad(agent.userId);
	});
	/* the open campaign's lead lists join the view of the user shown */
	document.addEventListener('cms:leads', (ev) => {
		agent.attached = ev.detail.attached || [];
		if (agent.userId && !agent.want.size)
			agentLoad(agent.userId);
	});
	document.addEventListener('cms:roster', () => {
		if (agent.userId)
			agentRender();
	});
	document.addEventListener('cms:ended', () => {
		agent.seq++;
		agent.userId = null;
		agent.rows = [];
		agent.want = new Map();
		el('agent-id').value = '';
		el('agent-note').textContent = '';
		el('agent').hidden = true;
	});
}

wireAgent();
