/*
 * counts.js - how many users are assigned to each lead list, in the lead
 * picker ("Spring renewals · 12 assigned"), from the campaign's mappings
 * (GET .../campaignLeadUserMapping?campaignId=, paged COUNT_PAGE leads a
 * request: each lead's object lists all of the campaign's users, so pages
 * stay small).  The open lead's count follows its loads and saves without a
 * request; recountLeads() reads every lead again (team.js calls it after
 * acting on several leads).  Each option keeps the lead's bare name in
 * data-name, which app.js uses for the mapping's title.
 *
 * Loaded before app.js: listens to its "cms:" events.
 */
'use strict';

const COUNT_PAGE = 20;      /* leads per mapping request */

/* leadId (string) -> assigned users, for the open campaign; team.js reads it */
const leadCounts = { campaign: null, byLead: new Map(), seq: 0 };

function countLabel(o) {
	if (!o.value)
		return;
	if (!o.dataset.name)
		o.dataset.name = o.textContent;
	const n = leadCounts.byLead.get(o.value);
	o.textContent = n === undefined ? o.dataset.name : `${o.dataset.name} · ${n.toLocaleString('en')} assigned`;
}

function showCounts() {
	for (const o of $('pick-lead').options)
		countLabel(o);
	document.dispatchEvent(new CustomEvent('cms:counts'));
}

/* Read every lead's count of the open campaign and show them; errors are
 * quiet (the counts are a help, the picker works without them). */
async function recountLeads() {
	const seq = ++leadCounts.seq;
	const campaign = state.campaign;
	leadCounts.campaign = campaign;
	leadCounts.byLead = new Map();
	if (!campaign)
		return;
	const counts = new Map();
	try {
		for (let offset = 0; ; offset += COUNT_PAGE) {
			const r = await api('GET', `/voice/campaignLeadUserMapping?campaignId=${campaign}`
				+ `&limit=${COUNT_PAGE}&offset=${offset}`);
			const rows = Array.isArray(r.data) ? r.data : [];
			for (const m of rows)
				counts.set(String(m.leadId), (m.assignedUserIds || []).length);
			const total = Number(r.headers.get('X-Total-Count'));
			if (!rows.length || !(total > offset + rows.length))
				break;
		}
	} catch (e) {
		return;
	}
	if (seq !== leadCounts.seq || campaign !== state.campaign)
		return;
	leadCounts.byLead = counts;
	showCounts();
}

document.addEventListener('cms:leads', () => recountLeads());
document.addEventListener('cms:campaign', () => {
	leadCounts.seq++;
	leadCounts.campaign = state.campaign;
	leadCounts.byLead = new Map();
});
/* the open lead was read or saved: its count is known */
document.addEventListener('cms:mapping', () => {
	if (!state.mapping || leadCounts.campaign !== state.campaign)
		return;
	leadCounts.byLead.set(String(state.mapping.leadId), state.mapping.orig.size);
	showCounts();
});
