/*
 * team.js - acting on a team at once (issue 15, point 8).  The API has no
 * team object, so a team is what the data we have can say: the open
 * campaign's users that match a filter (words of the user id or name, and
 * a role), resolved again each time it is used, so that a new member of the
 * campaign who matches is part of it.  A filter can be saved under a name,
 * in this browser (localStorage, per contact center); docs/decisions.md,
 * "Teams in the console", says why.  The team is assigned to, or unassigned
 * from, several lead lists of the campaign in one go: one PUT per lead (at
 * most IDS_PER_BODY users each), after an inline confirmation that says
 * how many users and lists.
 *
 * Loaded before app.js: listens to its "cms:" events.
 */
'use strict';

const TEAM_KEY = 'cms.console.teams';
const TEAM_LISTED = 100;    /* members named in "Show them" at most */

const team = { leads: new Set(), busy: false };

function teamStoreKey() {
	return `${TEAM_KEY}.${state.cc}`;
}

/* Saved teams of this contact center: [{name, words, role}]. */
function teamsSaved() {
	try {
		const v = JSON.parse(localStorage.getItem(teamStoreKey()) || '[]');
		return Array.isArray(v) ? v.filter((t) => t && typeof t.name === 'string') : [];
	} catch (e) {
		return [];
	}
}

function teamsKeep(list) {
	try {
		localStorage.setItem(teamStoreKey(), JSON.stringify(list));
		return true;
	} catch (e) {
		return false;   /* storage full or refused: the team still works unsaved */
	}
}

/* The campaign users the filter names, sorted. */
function teamMembers() {
	const words = $('team-words').value;
	const role = $('team-role').value;
	if (!words.trim() && !role)
		return [];      /* no filter is not a team: the whole campaign is "Assign all" elsewhere */
	return [...roster.ids].filter((u) => userMatches(u, words, role)).sort(byCodePoint);
}

function teamFillSaved(selected) {
	const list = teamsSaved();
	const none = document.createElement('option');
	none.value = '';
	none.textContent = list.length ? 'Choose a saved team…' : 'No saved team yet';
	$('team-saved').replaceChildren(none, ...list.map((t) => {
		const o = document.createElement('option');
		o.value = t.name;
		o.textContent = t.name;
		return o;
	}));
	$('team-saved').value = selected || '';
	$('team-delete').disabled = !$('team-saved').value;
}

function teamRender() {
	const show = !!(state.session && state.campaign && canWrite());
	$('team').hidden = !show;
	if (!show)
		return;
	const members = teamMembers();
	const filtered = !!($('team-words').value.trim() || $('team-role').value);
	$('team-count').textContent = filtered
		? `${plural(members.length, 'user')} of the campaign ${members.length === 1 ? 'is' : 'are'} in this team.`
		: 'Type words of the members\' ids or names, or choose a role.';
	$('team-list').replaceChildren(...members.slice(0, TEAM_LISTED).map((u) => {
		const li = document.createElement('li');
		li.textContent = userLabel(u);
		return li;
	}));
	if (members.length > TEAM_LISTED) {
		const li = document.createElement('li');
		li.className = 'muted';
		li.textContent = `and ${plural(members.length - TEAM_LISTED, 'more')}`;
		$('team-list').append(li);
	}
	$('team-show').hidden = !members.length;
	/* the campaign's lead lists, with their counts when counts.js has them */
	const boxes = [...$('pick-lead').options].filter((o) => o.value).map((o) => {
		const label = document.createElement('label');
		label.className = 'check-row';
		const box = document.createElement('input');
		box.type = 'checkbox';
		box.value = o.value;
		box.checked = team.leads.has(o.value);
		label.append(box, ' ', o.textContent);
		return label;
	});
	if (!boxes.length) {
		const p = document.createElement('p');
		p.className = 'muted check-empty';
		p.textContent = 'No lead list is attached to this campaign.';
		boxes.push(p);
	}
	$('team-leads-list').replaceChildren(...boxes);
	for (const id of ['team-assign', 'team-unassign'])
		$(id).disabled = team.busy || !members.length || !team.leads.size;
	$('team-save').disabled = !filtered || !$('team-name').value.trim();
}

function teamLeadName(leadId) {
	const o = [...$('pick-lead').options].find((x) => x.value === leadId);
	return o ? o.dataset.name || o.textContent : `lead ${leadId}`;
}

/* Assign (on) or unassign the team to every checked lead list. */
async function teamApply(on, button) {
	const members = teamMembers();
	const leads = [...$('pick-lead').options].map((o) => o.value).filter((v) => team.leads.has(v));
	if (!members.length || !leads.length)
		return;
	const what = `${on ? 'Assign' : 'Unassign'} ${plural(members.length, 'user')} ${on ? 'to' : 'from'} `
		+ plural(leads.length, 'lead list');
	const names = leads.map(teamLeadName).join(', ');
	if (!(await askInline($('team-ask'), `${what} (${names})?`, on ? 'Assign' : 'Unassign', button)))
		return;
	team.busy = true;
	teamRender();
	clearError();
	const parts = [];
	for (const leadId of leads)
		for (const ids of chunks(members, IDS_PER_BODY))
			parts.push({ leadId, ids });
	const campaignId = Number(state.campaign);
	const errors = await asOwnChange(async () => {
		const errs = await eachAtMost(parts, 2, (part) => ownRequest('PUT', '/voice/campaignLeadUserMapping', {
			body: {
				leadId: Number(part.leadId), campaignId,
				assignedUserIds: on ? part.ids : [], unassignedUserIds: on ? [] : part.ids,
			},
		}));
		if (state.mapping && leads.includes(String(state.mapping.leadId)))
			await reloadOpenLead();
		return errs;
	});
	team.busy = false;
	if (errors.length) {
		if (state.session)
			showError(errors[0].error, `${what}: ${errors.length} of ${parts.length} requests failed, `
				+ `the first for ${teamLeadName(errors[0].item.leadId)}`);
	} else {
		setStatus(`${on ? 'Assigned' : 'Unassigned'} ${plural(members.length, 'user')} ${on ? 'to' : 'from'} `
			+ `${plural(leads.length, 'lead list')}.`);
	}
	await recountLeads();
	teamRender();
	if (!button.disabled)
		button.focus();
}

function teamSave() {
	const name = $('team-name').value.trim();
	if (!name)
		return;
	const list = teamsSaved().filter((t) => t.name !== name);
	list.push({ name, words: $('team-words').value.trim(), role: $('team-role').value });
	list.sort((a, b) => byCodePoint(a.name, b.name));
	if (teamsKeep(list)) {
		teamFillSaved(name);
		setStatus(`Saved the team "${name}" in this browser.`);
	} else {
		setStatus('This browser would not keep the team; it can still be used now.');
	}
	teamRender();
}

function teamLoadSaved() {
	const t = teamsSaved().find((x) => x.name === $('team-saved').value);
	$('team-delete').disabled = !t;
	if (!t)
		return;
	$('team-words').value = t.words || '';
	$('team-role').value = t.role || '';
	$('team-name').value = t.name;
	teamRender();
}

function teamDelete() {
	const name = $('team-saved').value;
	if (!name)
		return;
	teamsKeep(teamsSaved().filter((t) => t.name !== name));
	teamFillSaved('');
	setStatus(`Deleted the saved team "${name}".`);
	$('team-saved').focus();
}

function wireTeam() {
	const el = (id) => document.getElementById(id);
	el('team-form').addEventListener('submit', (ev) => ev.preventDefault());
	el('team-words').addEventListener('input', teamRender);
	el('team-role').addEventListener('change', teamRender);
	el('team-name').addEventListener('input', teamRender);
	el('team-saved').addEventListener('change', teamLoadSaved);
	el('team-save').addEventListener('click', teamSave);
	el('team-delete').addEventListener('click', teamDelete);
	el('team-leads-list').addEventListener('change', (ev) => {
		if (ev.target.type !== 'checkbox')
			return;
		if (ev.target.checked)
			team.leads.add(ev.target.value);
		else
			team.leads.delete(ev.target.value);
		teamRender();
		const again = [...el('team-leads-list').querySelectorAll('input')].find((b) => b.value === ev.target.value);
		if (again)
			again.focus();
	});
	el('team-assign').addEventListener('click', () => teamApply(true, el('team-assign')));
	el('team-unassign').addEventListener('click', () => teamApply(false, el('team-unassign')));
	document.addEventListener('cms:cc', () => {
		el('team').hidden = true;
		if (state.cc)
			teamFillSaved('');
	});
	document.addEventListener('cms:campaign', () => {
		team.leads = new Set();
		el('team').hidden = true;
	});
	document.addEventListener('cms:roster', teamRender);
	document.addEventListener('cms:leads', teamRender);
	document.addEventListener('cms:counts', () => {
		const active = document.activeElement;
		if (!active || !el('team-leads-list').contains(active))
			teamRender();
	});
	document.addEventListener('cms:ended', () => {
		el('team').hidden = true;
		el('team-words').value = el('team-name').value = '';
		el('team-role').value = '';
	});
}

wireTeam();
