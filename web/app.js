/*
 * The CMS web console: log in, pick contact center (system administrator
 * only), process, campaign and lead list, move users between "unassigned"
 * and "assigned", and save what moved with one PUT of the lead-user mapping
 * (API.md §3).  Plain JavaScript, no framework, no build step; served by
 * cmsd at /cms/ui/ under a Content-Security-Policy that allows only files
 * of its own origin, so nothing here is inline and nothing leaves cmsd.
 *
 * Optional server features, used when the server has them:
 *  - ETag on the single-lead GET, sent back as If-Match on the PUT; a 412
 *    CONF-1006 means someone else changed the mapping meanwhile.
 *  - PUT ?dryRun=true answering {"changes": {...}} (Preview).  A server
 *    without it would apply the PUT, so support is first checked with an
 *    empty PUT, which changes nothing on any server.
 *  - GET .../lead-user/history?leadId= (newest first, limit/offset,
 *    X-Total-Count).
 *  - The change feed (API.md §8, docs/feed.md): while a lead is open, its
 *    changes are followed from the X-Change-Cursor of the GET that loaded
 *    it, so that a change made elsewhere shows at once, not at save time.
 *
 * The session's end (session.js), the words of errors (messages.js) and
 * where the focus goes (focus.js) live in files of their own, loaded before
 * this one (init() runs as soon as this file does).
 */
'use strict';

const API = '/cms/configuration';
const SESSION_KEY = 'cms.console.session';
const PAGE = 1000;          /* list page size when reading whole collections */
const MAX_PAGES = 50;       /* never read more than 50,000 rows of one list */
const PAGES_AT_ONCE = 4;    /* pages of one list read at the same time */
const HISTORY_PAGE = 10;
const FEED_WAIT = 25;               /* s: how long the server may hold one poll of the feed */
const FEED_BACKOFF_MAX = 30000;     /* ms: the longest pause after failed polls */
const FEED_HIDDEN_PAUSE = 120000;   /* ms: a page hidden this long stops polling until shown */
const OWN_REQUESTS_KEPT = 32;       /* request ids of this page's saves remembered */
const BULK_CONFIRM = 50;            /* "assign/unassign all shown" asks first above this many */
const IDS_INLINE = 5;               /* up to this many ids are named; more are counted, named on demand */

const $ = (id) => document.getElementById(id);

/* Tell the console's other scripts (enrol.js, agent.js, team.js,
 * counts.js) that something changed: a "cms:NAME" event on document, with
 * detail.  They listen from the start, whatever order they load in. */
function announce(name, detail) {
	document.dispatchEvent(new CustomEvent('cms:' + name, { detail: detail || {} }));
}

const state = {
	session: null,          /* {token, userId, role, context, contextId, expiresAt, skew}: session.js */
	cc: null,               /* chosen contact center id */
	process: null,
	campaign: null,
	lead: null,
	users: new Map(),       /* userId -> user object of the contact center (names) */
	hay: new Map(),         /* userId -> "id name role" in lower case, what the filters search */
	usersCc: null,
	leadNames: new Map(),   /* leadId -> leadName in the chosen process */
	mapping: null,          /* {campaignId, leadId, etag, cursor, orig: Set, all: [userId]} */
	assigned: new Set(),    /* the page's current assigned set */
	dryRun: undefined,      /* does the server support ?dryRun=true: undefined = not known */
	historyOffset: 0,
	seq: { process: 0, campaign: 0, lead: 0, mapping: 0, history: 0 },
	busy: false,
	conflict: false,        /* a save met 412: reload before saving again */
	stale: null,            /* the feed said the lead changed under unsaved moves: {events} */
	feed: null,             /* the open lead's follower: {ctrl, cursor, failures} */
	pausedAt: null,         /* the cursor to resume from when following was paused */
	saving: null,           /* the save in flight: feed events wait for its answer */
	ownRequests: [],        /* X-Request-Id of this page's saves, newest last */
	lists: {},              /* {assigned, unassigned}: the two Listboxes (web/listbox.js) */
	bulk: null,             /* the "all shown" move the dialog asks about: {from, ids} */
};

/* ---------- the API ---------- */

class ApiError extends Error {
	constructor(status, envelope, requestId, text, retryAfter) {
		super(envelope && envelope.errorMessage ? envelope.errorMessage : `HTTP ${status}`);
		this.status = status;
		this.envelope = envelope;
		this.requestId = requestId;
		this.text = text;
		this.retryAfter = retryAfter || null;   /* the Retry-After header of a 429 or 503 */
		this.renewing = false;                   /* a 401 the renewal dialog handles (session.js) */
	}
	get code() { return this.envelope ? this.envelope.errorCode : undefined; }
}

async function api(method, path, opts = {}) {
	const headers = { Accept: 'application/json' };
	if (state.session && !opts.noAuth)
		headers.Authorization = 'Bearer ' + state.session.token;
	if (opts.body !== undefined)
		headers['Content-Type'] = 'application/json';
	Object.assign(headers, opts.headers || {});
	let res;
	try {
		res = await fetch(API + path, {
			method, headers, cache: 'no-store', credentials: 'omit', signal: opts.signal,
			body: opts.body === undefined ? undefined : JSON.stringify(opts.body),
		});
	} catch (e) {
		if (e.name === 'AbortError')
			throw e;
		throw new ApiError(0, null, null, e.message);
	}
	const text = await res.text();
	let data = null;
	if (text) {
		try { data = JSON.parse(text); } catch (e) { data = null; }
	}
	if (!res.ok) {
		const env = data && typeof data === 'object' && data.errorCode ? data : null;
		const err = new ApiError(res.status, env, res.headers.get('X-Request-Id'),
			env ? null : `HTTP ${res.status} ${res.statusText}`.trim(), res.headers.get('Retry-After'));
		if (res.status === 401 && !opts.noAuth && state.session)
			sessionLost(err);
		throw err;
	}
	return { data, headers: res.headers, status: res.status };
}

/* Every element of a paginated collection (limit/offset, X-Total-Count).
 * The first page says how many there are; the others are then read a few
 * at a time (20,000 users are 20 pages: one after another they took 20
 * round trips). */
async function apiAll(path) {
	const sep = path.includes('?') ? '&' : '?';
	const page = (offset) => api('GET', `${path}${sep}limit=${PAGE}&offset=${offset}`);
	const first = await page(0);
	const out = Array.isArray(first.data) ? first.data : [];
	const total = Math.min(Number(first.headers.get('X-Total-Count')), PAGE * MAX_PAGES);
	if (!(total > out.length) || out.length < PAGE)
		return out;
	const offsets = [];
	for (let o = PAGE; o < total; o += PAGE)
		offsets.push(o);
	for (let i = 0; i < offsets.length; i += PAGES_AT_ONCE) {
		const pages = await Promise.all(offsets.slice(i, i + PAGES_AT_ONCE).map(page));
		for (const r of pages)
			if (Array.isArray(r.data))
				out.push(...r.data);
	}
	return out;
}

/* ---------- messages ---------- */

/* showError, clearError: messages.js */

let statusTimer = 0;
function setStatus(text, sticky) {
	clearTimeout(statusTimer);
	$('status').textContent = text;
	$('status').classList.toggle('shown', !!text);
	if (text && !sticky)
		statusTimer = setTimeout(() => setStatus(''), 8000);
}

/* ---------- session ---------- */

function loadSession() {
	try {
		const s = JSON.parse(sessionStorage.getItem(SESSION_KEY) || 'null');
		if (s && s.token && sessionLeft(s) > 0)
			return s;
	} catch (e) { /* a broken entry is no session */ }
	sessionStorage.removeItem(SESSION_KEY);
	return null;
}

function isSystem() {
	return state.session && (state.session.context === 'System' || state.session.role === 'System');
}

function canWrite() {
	return state.session && ['System', 'Administrator', 'Supervisor'].includes(state.session.role);
}

async function login(ev) {
	ev.preventDefault();
	const username = $('login-username').value.trim();
	const password = $('login-password').value;
	if (!username || !password)
		return;
	$('login-submit').disabled = true;
	try {
		const r = await api('POST', '/basicauth', { body: { username, password }, noAuth: true });
		const d = r.data;
		state.session = {
			token: d.authToken, userId: username, role: d.userRole,
			context: d.context, contextId: d.contextId, expiresAt: d.expiresAt, skew: clockSkew(r.headers),
		};
		sessionStorage.setItem(SESSION_KEY, JSON.stringify(state.session));
		$('login-password').value = '';
		clearError();
		await enterConsole();
		focusAfterSignIn();
	} catch (e) {
		showError(e, 'Sign-in failed', e.code === 'AUTH-1001' ? 'The user ID or password is not right.' : undefined);
		$('login-password').select();
	} finally {
		$('login-submit').disabled = false;
	}
}

async function logout() {
	if (pendingCount() && !confirm('Discard your unsaved changes and log out?'))
		return;
	stopFollowing();    /* else a poll sent after the revocation meets 401 */
	const had = state.session;
	try {
		if (had && !sessionDead())
			await api('DELETE', '/basicauth');
	} catch (e) {
		if (e.status !== 401)
			showError(e, 'Logging out');
	}
	endSession();
	/* forget where this user was: the next one starts afresh */
	state.cc = state.process = state.campaign = state.lead = null;
	history.replaceState(null, '', location.pathname);
	setStatus('You are logged out.');
}

function endSession() {
	stopWatchingExpiry();
	state.session = null;
	sessionStorage.removeItem(SESSION_KEY);
	resetMapping();
	state.users = new Map();
	state.usersCc = null;
	announce('ended');
	showLogin();
}

function showLogin() {
	$('session').hidden = true;
	$('console-view').hidden = true;
	$('login-view').hidden = false;
	$('login-username').focus();
}

async function enterConsole() {
	const s = state.session;
	$('login-view').hidden = true;
	$('console-view').hidden = false;
	$('session').hidden = false;
	$('session-user').textContent = s.userId;
	$('session-role').textContent = s.role === 'System' ? 'System administrator' : s.role;
	$('session-cc').textContent = '';
	$('readonly-note').hidden = canWrite();
	watchExpiry();
	const want = readHash();
	try {
		if (isSystem()) {
			$('cc-field').hidden = false;
			const ccs = await apiAll('/cc');
			fillSelect($('pick-cc'), ccs, 'contactCenterId', (c) => c.name, 'contact center');
			const cc = want.cc && ccs.some((c) => String(c.contactCenterId) === want.cc) ? want.cc
				: ccs.length === 1 ? String(ccs[0].contactCenterId) : '';
			$('pick-cc').value = cc;
			await chooseCc(cc, want);
		} else {
			$('cc-field').hidden = true;
			const cc = String(s.contextId);
			api('GET', `/cc/${cc}`).then((r) => {
				$('session-cc').textContent = r.data.name;
			}).catch(() => {});
			await chooseCc(cc, want);
		}
	} catch (e) {
		if (state.session)
			showError(e, 'Loading the contact center');
	}
}

/* ---------- picking: contact center, process, campaign, lead ---------- */

function readHash() {
	const p = new URLSearchParams(location.hash.slice(1));
	return { cc: p.get('cc'), process: p.get('process'), campaign: p.get('campaign'), lead: p.get('lead') };
}

function writeHash() {
	const p = new URLSearchParams();
	for (const k of ['cc', 'process', 'campaign', 'lead'])
		if (state[k])
			p.set(k, state[k]);
	const h = p.toString();
	history.replaceState(null, '', h ? '#' + h : location.pathname);
}

function placeholder(select, text) {
	const o = document.createElement('option');
	o.value = '';
	o.textContent = text;
	select.replaceChildren(o);
}

function fillSelect(select, rows, idKey, label, noun) {
	placeholder(select, rows.length ? `Choose a ${noun}…` : `No ${noun} here`);
	for (const row of rows) {
		const o = document.createElement('option');
		o.value = String(row[idKey]);
		o.textContent = label(row);
		select.append(o);
	}
	select.disabled = !rows.length;
}

function clearSelect(select) {
	placeholder(select, '—');
	select.disabled = true;
}

/* The value to select: the wanted one if present, else the only one. */
function pick(select, wanted) {
	const values = [...select.options].map((o) => o.value).filter(Boolean);
	if (wanted && values.includes(wanted))
		return wanted;
	return values.length === 1 ? values[0] : '';
}

async function chooseCc(cc, want = {}) {
	state.cc = cc || null;
	state.process = state.campaign = state.lead = null;
	clearSelect($('pick-process'));
	clearSelect($('pick-campaign'));
	clearSelect($('pick-lead'));
	resetMapping();
	writeHash();
	announce('cc');
	if (!cc)
		return;
	const seq = ++state.seq.process;
	const processes = await apiAll(`/cc/${cc}/process`);
	if (seq !== state.seq.process)
		return;
	fillSelect($('pick-process'), processes, 'processId', (p) => p.processName, 'process');
	const p = pick($('pick-process'), want.process);
	$('pick-process').value = p;
	await chooseProcess(p, want);
}

async function chooseProcess(p, want = {}) {
	state.process = p || null;
	state.campaign = state.lead = null;
	clearSelect($('pick-campaign'));
	clearSelect($('pick-lead'));
	resetMapping();
	writeHash();
	if (!p) {
		announce('campaign');
		return;
	}
	const seq = ++state.seq.campaign;
	const base = `/cc/${state.cc}/process/${p}`;
	const [campaigns, leads] = await Promise.all([apiAll(`${base}/campaign`), apiAll(`${base}/lead`)]);
	if (seq !== state.seq.campaign)
		return;
	state.leadNames = new Map(leads.map((l) => [String(l.leadId), l.leadName]));
	fillSelect($('pick-campaign'), campaigns, 'campaignId', (c) => c.campaignName, 'campaign');
	const c = pick($('pick-campaign'), want.campaign);
	$('pick-campaign').value = c;
	await chooseCampaign(c, want);
}

async function chooseCampaign(c, want = {}) {
	state.campaign = c || null;
	state.lead = null;
	clearSelect($('pick-lead'));
	resetMapping();
	writeHash();
	announce('campaign');
	if (!c)
		return;
	const seq = ++state.seq.lead;
	const attached = await apiAll(`/cc/${state.cc}/process/${state.process}/campaign/${c}/campaign-lead`);
	if (seq !== state.seq.lead)
		return;
	fillSelect($('pick-lead'), attached, 'leadId', (cl) => {
		const name = state.leadNames.get(String(cl.leadId)) || `Lead ${cl.leadId}`;
		return cl.enabled === false ? `${name} (disabled)` : name;
	}, 'lead list');
	announce('leads', { attached });
	const l = pick($('pick-lead'), want.lead);
	$('pick-lead').value = l;
	await chooseLead(l);
}

async function chooseLead(l) {
	state.lead = l || null;
	resetMapping();
	writeHash();
	if (!l)
		return;
	await loadMapping();
	if (state.mapping && String(state.mapping.leadId) === l)
		startFollowing(state.mapping.cursor);
	state.historyOffset = 0;
	loadHistory();
}

/* A select's change handler: confirm before unsaved moves are dropped. */
function picker(select, key, fn) {
	select.addEventListener('change', async () => {
		if (pendingCount() && !confirm('Discard your unsaved changes?')) {
			select.value = state[key] || '';
			return;
		}
		clearError();
		try {
			await fn(select.value);
		} catch (e) {
			if (state.session)
				showError(e, 'Loading');
		}
	});
}

/* ---------- the mapping ---------- */

function resetMapping() {
	stopFollowing();
	state.pausedAt = null;
	state.seq.mapping++;
	state.seq.history++;
	state.mapping = null;
	state.assigned = new Set();
	state.conflict = false;
	state.stale = null;
	notify('');
	$('mapping').hidden = true;
	$('history').hidden = true;
	$('conflict').hidden = true;
	$('preview-box').hidden = true;
	$('empty-hint').hidden = false;
	for (const side of ['assigned', 'unassigned']) {
		$(`${side}-filter`).value = '';
		state.lists[side].setItems([], '');
	}
	$('pending-details').open = false;
}

async function loadUsers() {
	if (state.usersCc === state.cc)
		return;
	try {
		const users = await apiAll(`/cc/${state.cc}/user`);
		state.users = new Map(users.map((u) => [u.userId, u]));
		state.hay = new Map();
		state.usersCc = state.cc;
	} catch (e) {
		/* names are a nicety: the mapping works with ids alone */
		state.users = new Map();
		state.hay = new Map();
	}
}

/* A snapshot of the open lead's mapping: {data, etag, cursor}; cursor is the
 * feed position it was read at (null from a server without the feed). */
async function readMapping() {
	const r = await api('GET', `/voice/campaignLeadUserMapping?campaignId=${state.campaign}&leadId=${state.lead}`);
	return { data: r.data, etag: r.headers.get('ETag'), cursor: r.headers.get('X-Change-Cursor') };
}

/* Read the lead's mapping (and its ETag) and show it; keep = the moves to
 * re-apply, snap = a snapshot already read.  Answers how many moves were kept
 * (undefined when a later load overtook this one); throws ApiError. */
async function loadMapping(keep, snap) {
	const seq = ++state.seq.mapping;
	const [r] = await Promise.all([snap || readMapping(), loadUsers()]);
	if (seq !== state.seq.mapping)
		return;
	const d = r.data;
	const orig = new Set(d.assignedUserIds || []);
	state.mapping = {
		campaignId: Number(state.campaign), leadId: Number(state.lead),
		etag: r.etag, cursor: r.cursor,
		orig,
		all: [...new Set([...(d.assignedUserIds || []), ...(d.unassignedUserIds || [])])].sort(byBytes),
	};
	state.assigned = new Set(orig);
	state.conflict = false;
	state.stale = null;
	let kept = 0;
	if (keep) {
		const all = new Set(state.mapping.all);
		for (const u of keep.toAssign)
			if (all.has(u) && !state.assigned.has(u)) {
				state.assigned.add(u);
				kept++;
			}
		for (const u of keep.toUnassign)
			if (state.assigned.has(u)) {
				state.assigned.delete(u);
				kept++;
			}
	}
	const chosen = $('pick-lead').selectedOptions[0];
	$('mapping-lead').textContent = chosen ? chosen.dataset.name || chosen.textContent : `lead ${state.lead}`;
	$('mapping-version').textContent = 'as read at ' + new Date().toLocaleTimeString();
	$('mapping-version').title = state.mapping.etag ? `version (ETag) ${state.mapping.etag}` : '';
	$('empty-hint').hidden = true;
	$('mapping').hidden = false;
	$('conflict').hidden = true;
	$('preview-box').hidden = true;
	render();
	announce('mapping');
	return kept;
}

function byBytes(a, b) {
	return a < b ? -1 : a > b ? 1 : 0;
}

function pendingChanges() {
	if (!state.mapping)
		return { toAssign: [], toUnassign: [] };
	const o = state.mapping.orig;
	return {
		toAssign: [...state.assigned].filter((u) => !o.has(u)).sort(byBytes),
		toUnassign: [...o].filter((u) => !state.assigned.has(u)).sort(byBytes),
	};
}

function pendingCount() {
	const p = pendingChanges();
	return p.toAssign.length + p.toUnassign.length;
}

function userLabel(id) {
	const u = state.users.get(id);
	let text = id;
	if (u && u.name && u.name !== id)
		text += ` — ${u.name}`;
	if (u && u.role && u.role !== 'Agent')
		text += ` (${u.role})`;
	return text;
}

/* What a filter searches for a user: its id, name and role, in lower case. */
function hayOf(id) {
	let h = state.hay.get(id);
	if (h === undefined) {
		const u = state.users.get(id);
		h = [id, u && u.name, u && u.role].filter(Boolean).join(' ').toLowerCase();
		state.hay.set(id, h);
	}
	return h;
}

/* The ids that a filter's words all occur in (by id, name or role). */
function filterIds(ids, filter) {
	const words = filter.toLowerCase().split(/\s+/).filter(Boolean);
	if (!words.length)
		return ids;
	return ids.filter((id) => {
		const h = hayOf(id);
		return words.every((w) => h.includes(w));
	});
}

/* A row of a list: the user's words, and whether it is an unsaved move. */
function describeRow(side, id) {
	const orig = state.mapping ? state.mapping.orig : new Set();
	if (side === 'assigned' && !orig.has(id))
		return { text: userLabel(id) + '  · to assign', cls: 'moved moved-in' };
	if (side === 'unassigned' && orig.has(id))
		return { text: userLabel(id) + '  · to unassign', cls: 'moved moved-out' };
	return { text: userLabel(id), cls: '' };
}

const fmtCount = (n) => n.toLocaleString('en');
/* "1 user", "20,000 users" */
const userCount = (n) => `${fmtCount(n)} user${n === 1 ? '' : 's'}`;

/* Show both lists from state, keeping what was selected. */
function render() {
	if (!state.mapping)
		return;
	for (const side of ['assigned', 'unassigned']) {
		const ids = state.mapping.all.filter((u) => state.assigned.has(u) === (side === 'assigned'));
		const filter = $(`${side}-filter`).value.trim();
		const shownIds = filterIds(ids, filter);
		state.lists[side].setItems(shownIds, !ids.length
			? (side === 'assigned' ? 'Nobody is assigned' : 'Every campaign user is assigned')
			: 'No user matches the filter');
		$(`${side}-count`).textContent = filter && shownIds.length !== ids.length
			? `${fmtCount(shownIds.length)} of ${fmtCount(ids.length)} shown` : fmtCount(ids.length);
	}
	renderPending();
}

/* A list's selection changed: say how many are selected. */
function renderSelected(side) {
	const list = state.lists[side];
	$(`${side}-selected`).textContent = `${fmtCount(list.sel.size)} selected`;
	$(`${side}-select-all`).disabled = !list.items.length || list.sel.size === list.items.length;
}

/* The save bar: counts, never ids (a screen reader reads this line out);
 * who exactly, on demand under "Show who". */
function renderPending() {
	const p = pendingChanges();
	const n = p.toAssign.length + p.toUnassign.length;
	const parts = [];
	if (p.toAssign.length)
		parts.push(`${userCount(p.toAssign.length)} to assign`);
	if (p.toUnassign.length)
		parts.push(`${userCount(p.toUnassign.length)} to unassign`);
	const text = n ? `Unsaved: ${parts.join(', ')}.` : 'No unsaved changes.';
	if ($('pending').textContent !== text)
		$('pending').textContent = text;
	$('pending').classList.toggle('dirty', n > 0);
	$('pending-details').hidden = !n;
	if ($('pending-details').open)
		renderPendingWho(p);
	const w = canWrite();
	$('save-btn').disabled = !n || !w || state.busy || state.conflict;
	$('preview-btn').disabled = !n || !w || state.busy || state.conflict || state.dryRun === false;
	$('preview-btn').title = state.dryRun === false ? 'This server cannot preview a change' : '';
	$('reset-btn').disabled = !n || state.busy;
	for (const id of ['assign-btn', 'assign-all-btn', 'unassign-btn', 'unassign-all-btn'])
		$(id).disabled = !w || state.busy;
	clearSaveBar();
}

/* The save bar is sticky at the bottom of the view: a message (#status, a
 * toast fixed at the bottom) is lifted above it while the bar is there, so
 * that it never covers Save.  Called on scroll, resize and each render. */
function clearSaveBar() {
	const bar = $('save-bar');
	let space = 0;
	if (!$('mapping').hidden) {
		const r = bar.getBoundingClientRect();
		if (r.top < window.innerHeight && r.bottom > window.innerHeight - r.height - 8)
			space = Math.max(0, window.innerHeight - r.top);
	}
	document.documentElement.style.setProperty('--save-bar-space', `${Math.round(space)}px`);
}

function renderPendingWho(p = pendingChanges()) {
	const rows = [];
	for (const [ids, what] of [[p.toAssign, 'to assign'], [p.toUnassign, 'to unassign']]) {
		if (!ids.length)
			continue;
		const h = document.createElement('p');
		h.className = 'who-head';
		h.textContent = `${userCount(ids.length)} ${what}:`;
		const list = document.createElement('p');
		list.className = 'who-ids';
		list.textContent = ids.join(', ');
		rows.push(h, list);
	}
	$('pending-who').replaceChildren(...rows);
}

/* Move users to the other list: `ids`, or the selection of `from`. */
function move(from, ids) {
	if (!canWrite() || !state.mapping || state.busy)
		return;
	const list = state.lists[from];
	if (!ids)
		ids = list.selected();
	if (!ids.length) {
		setStatus(`Select one or more ${from} users first.`);
		return;
	}
	const firstIndex = list.position(ids[0]);
	for (const id of ids) {
		if (from === 'unassigned')
			state.assigned.add(id);
		else
			state.assigned.delete(id);
	}
	$('preview-box').hidden = true;
	list.select([]);
	render();
	/* keep the keyboard where it was: select the next user of the source */
	if (list.items.length)
		list.selectAt(Math.max(firstIndex, 0));
	const to = from === 'unassigned' ? 'Assigned' : 'Unassigned';
	setStatus(`Moved ${ids.length === 1 ? ids[0] : userCount(ids.length)} to ${to}.`);
}

/* "Assign all shown" / "Unassign all shown": every user the filter shows;
 * above BULK_CONFIRM users, only after the dialog said how many. */
function moveAllShown(from) {
	if (!canWrite() || !state.mapping || state.busy)
		return;
	const ids = state.lists[from].items.slice();
	if (ids.length <= BULK_CONFIRM) {
		move(from, ids);
		return;
	}
	const verb = from === 'unassigned' ? 'Assign' : 'Unassign';
	const filter = $(`${from}-filter`).value.trim();
	$('bulk-confirm-title').textContent = `${verb} all ${userCount(ids.length)} shown?`;
	$('bulk-confirm-text').textContent = (filter ? `Every ${from} user matching "${filter}"`
		: `Every ${from} user of this lead (no filter is set)`)
		+ ` will be ${from === 'unassigned' ? 'assigned' : 'unassigned'}. Nothing is saved until you press Save.`;
	$('bulk-confirm-ok').textContent = `${verb} ${userCount(ids.length)}`;
	state.bulk = { from, ids };
	$('bulk-confirm').showModal();
	$('bulk-confirm-cancel').focus();
}

function bulkConfirmed() {
	const b = state.bulk;
	state.bulk = null;
	$('bulk-confirm').close();
	if (b)
		move(b.from, b.ids);
	$(b && b.from === 'assigned' ? 'unassign-all-btn' : 'assign-all-btn').focus();
}

function putBody() {
	const p = pendingChanges();
	return {
		leadId: state.mapping.leadId, campaignId: state.mapping.campaignId,
		assignedUserIds: p.toAssign, unassignedUserIds: p.toUnassign,
	};
}

function putHeaders() {
	return state.mapping.etag ? { 'If-Match': state.mapping.etag } : {};
}

/* Busy: the buttons are disabled, which takes the focus from the one
 * pressed; it is given back after (focus.js). */
function setBusy(b) {
	state.busy = b;
	if (b)
		holdFocus();
	$('mapping').setAttribute('aria-busy', b ? 'true' : 'false');
	renderPending();
	if (!b)
		releaseFocus();
}

/* Save the moves.  The feed's events wait for it (state.saving), so that the
 * event of this very save is known as ours by its request id and already
 * shown by the reload, never announced as someone else's change. */
async function save() {
	if (!state.mapping || !pendingCount() || state.saving)
		return;
	state.saving = saveMoves();
	try {
		await state.saving;
	} finally {
		state.saving = null;
	}
}

async function saveMoves() {
	const body = putBody();
	setBusy(true);
	clearError();
	try {
		const r = await api('PUT', '/voice/campaignLeadUserMapping', { body, headers: putHeaders() });
		state.ownRequests = [...state.ownRequests, r.headers.get('X-Request-Id')].slice(-OWN_REQUESTS_KEPT);
		notify('');
		const said = [];
		if (body.assignedUserIds.length)
			said.push(`${userCount(body.assignedUserIds.length)} assigned`);
		if (body.unassignedUserIds.length)
			said.push(`${userCount(body.unassignedUserIds.length)} unassigned`);
		state.busy = false;
		await loadMapping();
		setStatus(`Saved: ${said.join('; ')}.`);
		focusAfterSave();
		state.historyOffset = 0;
		loadHistory();
	} catch (e) {
		conflictOr(e, 'Saving');
		/* to the error (on a phone it is a screen away from Save) */
		if (focusLost() && !sessionDead())
			focusOn(document.querySelector('#alert .alert-head'));
	} finally {
		setBusy(false);
	}
}

/* Offer to reload, keeping the moves or not: after a save met 412 (why =
 * '412'), or when the feed said the lead changed under unsaved moves
 * ('feed').  The panel's buttons are the same; only its words differ. */
function showConflict(why) {
	$('conflict-412').hidden = why !== '412';
	$('conflict-feed').hidden = why !== 'feed';
	$('conflict').hidden = false;
}

function conflictOr(e, what) {
	if (e instanceof ApiError && e.status === 412) {
		state.conflict = true;
		showError(e, what);
		showConflict('412');
		$('preview-box').hidden = true;
		$('conflict-keep').focus();
	} else if (state.session) {
		showError(e, what);
	}
}

/* Reload after a 412, keeping or dropping this page's moves. */
async function reloadAfterConflict(keepMoves) {
	const keep = keepMoves ? pendingChanges() : null;
	clearError();
	notify('');
	try {
		const kept = await loadMapping(keep);
		setStatus(keepMoves
			? `Reloaded the current mapping; ${kept} of your moves kept. Review, then save again.`
			: 'Reloaded the current mapping.', true);
		/* the panel whose button had the focus is gone */
		if (focusLost())
			focusFirst(['save-btn', 'mapping-title']);
		state.historyOffset = 0;
		loadHistory();
	} catch (e) {
		if (state.session)
			showError(e, 'Reloading');
	}
}

/* Does the server honour ?dryRun=true?  Ask with an empty PUT: it changes
 * nothing whether or not the server knows dryRun. */
async function dryRunSupported() {
	if (state.dryRun !== undefined)
		return state.dryRun;
	const r = await api('PUT', '/voice/campaignLeadUserMapping?dryRun=true', {
		body: { leadId: state.mapping.leadId, campaignId: state.mapping.campaignId,
			assignedUserIds: [], unassignedUserIds: [] },
	});
	state.dryRun = !!(r.data && r.data.changes);
	return state.dryRun;
}

async function preview() {
	if (!state.mapping || !pendingCount())
		return;
	setBusy(true);
	clearError();
	try {
		if (!(await dryRunSupported())) {
			setStatus('This server cannot preview a change (no dryRun support); nothing was sent.');
			return;
		}
		const r = await api('PUT', '/voice/campaignLeadUserMapping?dryRun=true',
			{ body: putBody(), headers: putHeaders() });
		const ch = r.data.changes || {};
		$('preview-assigned').replaceChildren(idSummary(ch.assignedUserIds, 'nobody'));
		$('preview-unassigned').replaceChildren(idSummary(ch.unassignedUserIds, 'nobody'));
		$('preview-box').hidden = false;
		setStatus('');
	} catch (e) {
		conflictOr(e, 'Preview');
	} finally {
		setBusy(false);
	}
}

function undo() {
	if (!state.mapping)
		return;
	state.assigned = new Set(state.mapping.orig);
	$('preview-box').hidden = true;
	render();
	setStatus('Your unsaved moves were undone.');
	if (focusLost())    /* Undo is disabled now: nothing left to undo */
		focusFirst(['mapping-title']);
}

/* ---------- following the open lead (the change feed) ---------- */

/*
 * While a lead is open, its changes are followed through the change feed
 * (docs/feed.md) by long-polling GET .../campaignLeadUserMapping/changes
 * with fetch (EventSource cannot send the Authorization header), from the
 * X-Change-Cursor of the GET that loaded the lead.  One follower at a time,
 * in state.feed; it ends when the lead is closed or changed, on logout, on
 * 401 (api() ends the session), when the page is hidden for long (it
 * resumes from its cursor when shown again), and when the page is left
 * (its request is aborted).  Failed polls back off exponentially up to
 * FEED_BACKOFF_MAX; a 410 (the cursor is past retention) takes a new
 * snapshot and follows from its cursor; other client errors (a server
 * without the feed: 404) end following quietly, the 412 at save time still
 * guards the mapping.
 *
 * The follower's cursor says what has been announced; state.mapping.cursor
 * says what the view shows.  An event past the view's cursor reloads the
 * lead (or, under unsaved moves, marks it stale and keeps the ETag, so that
 * a save still meets 412); an event of someone else is announced even when a
 * reload already shows it.
 */

function startFollowing(cursor) {
	stopFollowing();
	if (!cursor || !state.mapping)
		return;     /* a server without the feed sends no cursor */
	const feed = { ctrl: new AbortController(), cursor, failures: 0 };
	state.feed = feed;
	follow(feed);
}

function stopFollowing() {
	if (state.feed)
		state.feed.ctrl.abort();
	state.feed = null;
}

/* Hidden for long, or left for the back-forward cache: stop polling, and
 * remember where to resume. */
function pauseFollowing() {
	if (state.feed)
		state.pausedAt = state.feed.cursor;
	stopFollowing();
}

function resumeFollowing() {
	if (sessionDead())
		return;     /* it would meet 401: resumed after the new sign-in */
	const at = state.pausedAt;
	state.pausedAt = null;
	if (at && state.mapping && !state.feed)
		startFollowing(at);
}

/* Wait ms, or less when the follower is stopped meanwhile. */
function sleep(ms, signal) {
	return new Promise((resolve) => {
		const t = setTimeout(resolve, ms);
		signal.addEventListener('abort', () => { clearTimeout(t); resolve(); }, { once: true });
	});
}

/* 1, 2, 4 ... 30 s, each drawn from its upper half so that consoles that
 * lost one server do not all come back at the same moment. */
function backoff(failures) {
	const ms = Math.min(FEED_BACKOFF_MAX, 1000 * 2 ** failures);
	return ms / 2 + Math.random() * ms / 2;
}

/* The follower's loop: one long-poll after another until stopped. */
async function follow(feed) {
	const signal = feed.ctrl.signal;
	const m = state.mapping;
	const path = `/voice/campaignLeadUserMapping/changes?campaignId=${m.campaignId}&leadId=${m.leadId}`;
	while (!signal.aborted) {
		const sent = Date.now();
		let r;
		try {
			r = await api('GET', `${path}&after=${feed.cursor}&wait=${FEED_WAIT}`, { signal });
		} catch (e) {
			if (signal.aborted || e.status === 401)
				return;
			if (e.status === 410) {
				/* failures count until a poll succeeds: 410 after 410 backs off too */
				if (feed.failures)
					await sleep(backoff(feed.failures), signal);
				feed.failures++;
				await resnapshot(feed);
				continue;
			}
			if (e.status >= 400 && e.status < 500 && e.status !== 408 && e.status !== 429) {
				if (feed === state.feed)
					state.feed = null;
				return;     /* asking again would answer the same */
			}
			await sleep(backoff(feed.failures++), signal);
			continue;
		}
		feed.failures = 0;
		const d = r.data || {};
		const next = typeof d.cursor === 'string' ? d.cursor : r.headers.get('X-Change-Cursor');
		const events = (Array.isArray(d.events) ? d.events : []).filter((e) => e && e.cursor > feed.cursor
			&& e.campaignId === m.campaignId && e.leadId === m.leadId);
		if (events.length)
			await changed(feed, events);
		if (signal.aborted)
			return;
		if (next && next > feed.cursor)
			feed.cursor = next;
		/* a server that ignores wait must not be asked in a tight loop */
		if (!events.length && Date.now() - sent < 1000)
			await sleep(1000, signal);
	}
}

/* The feed no longer reaches back to the cursor (410 CONF-1007): read a new
 * snapshot and follow from its cursor.  Unsaved moves are not dropped: a
 * snapshot of another version only marks the lead stale. */
async function resnapshot(feed) {
	let snap;
	try {
		snap = await readMapping();
	} catch (e) {
		return;     /* the next poll meets 410 again, after a pause */
	}
	if (feed !== state.feed || !snap.cursor)
		return;
	if (pendingCount()) {
		if (snap.etag !== state.mapping.etag)
			markStale(null);
	} else if (snap.etag !== state.mapping.etag) {
		await loadMapping(null, snap);
		refreshHistory();
		notify('Reloaded: this lead changed on the server while the console could not follow it.');
	}
	feed.cursor = snap.cursor;
}

/* Did this page's own save cause the event?  By the save's request id; or,
 * for a save whose answer did not name it, by its actor when the view shows
 * the lead as the event left it. */
function ownEvent(e) {
	if (e.requestId && state.ownRequests.includes(e.requestId))
		return true;
	const orig = state.mapping.orig;
	return e.actor === state.session.userId && (e.assigned || []).every((u) => orig.has(u))
		&& !(e.unassigned || []).some((u) => orig.has(u));
}

/* Events of the open lead arrived (oldest first): show them.  A save in
 * flight is waited for first, so that its own event is known as ours. */
async function changed(feed, events) {
	if (state.saving)
		await state.saving.catch(() => {});
	if (feed !== state.feed || !state.mapping)
		return;
	const theirs = events.filter((e) => !ownEvent(e));
	if (events.some((e) => !state.mapping.cursor || e.cursor > state.mapping.cursor)) {
		let snap = null;
		if (!pendingCount()) {
			try {
				snap = await readMapping();
			} catch (e) {
				if (!state.session || feed !== state.feed)
					return;
				showError(e, 'Reloading the lead after a change on the server');
				if (e.status === 404) {
					stopFollowing();    /* the lead or its campaign is gone */
					notify(`Updated ${describeChanges(events)}.`);
					return;
				}
			}
			if (feed !== state.feed)
				return;
		}
		/* moves made meanwhile are kept as well */
		if (!snap || pendingCount()) {
			markStale(theirs.length ? theirs : events);
			refreshHistory();   /* the history is not the moves' base: it may show the change */
			return;
		}
		await loadMapping(null, snap);
		refreshHistory();
	}
	if (theirs.length)
		notify(`Updated ${describeChanges(theirs)}.`);
}

/* The lead changed under unsaved moves (events, or null when a new snapshot
 * only showed another version): keep the moves, and the ETag they were made
 * on so that saving still meets 412, and offer the 412 panel's reload. */
function markStale(events) {
	const s = state.stale || (state.stale = { events: [] });
	if (events)
		s.events.push(...events);
	$('preview-box').hidden = true;
	if (!state.conflict)
		showConflict('feed');
	notify((s.events.length ? `Changed on the server ${describeChanges(s.events)}.`
		: 'This lead changed on the server while the console could not follow it.')
		+ ' Your unsaved moves are kept; reload to see the change.');
}

/* Up to IDS_INLINE ids by name, more by count. */
function namesOrCount(ids) {
	ids = ids || [];
	return ids.length <= IDS_INLINE ? ids.join(', ') : userCount(ids.length);
}

const CAUSES = {
	campaignUserRemoved: (e) => `${namesOrCount(e.unassigned)} removed from the campaign`,
	userDeleted: (e) => `${namesOrCount(e.unassigned)} deleted`,
	leadDetached: () => 'the lead list was detached from the campaign',
	campaignDeleted: () => 'the campaign was deleted',
	leadDeleted: () => 'the lead list was deleted',
};

/* "by supervisor2: +2 assigned, −1 unassigned", and why when it was not a
 * mapping change. */
function describeChanges(events) {
	const count = (key) => events.reduce((n, e) => n + (Array.isArray(e[key]) ? e[key].length : 0), 0);
	const actors = [...new Set(events.map((e) => e.actor).filter(Boolean))];
	const counts = [];
	if (count('assigned'))
		counts.push(`+${count('assigned')} assigned`);
	if (count('unassigned'))
		counts.push(`−${count('unassigned')} unassigned`);
	const why = [...new Set(events.filter((e) => CAUSES[e.cause]).map((e) => CAUSES[e.cause](e)))];
	return `by ${actors.length ? actors.join(', ') : 'someone'}`
		+ (counts.length ? `: ${counts.join(', ')}` : '') + (why.length ? ` (${why.join('; ')})` : '');
}

/* The notice under the lead's title: a polite live region, so that it is
 * read out without taking the focus. */
function notify(text) {
	$('feed-notice').textContent = text;
}

/* ---------- history ---------- */

function formatWhen(v) {
	const d = typeof v === 'number' ? new Date(v) : new Date(String(v));
	if (Number.isNaN(d.getTime()))
		return String(v);
	return d.toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'medium' });
}

/* ids as chips; more than IDS_INLINE as a count whose chips show on demand
 * (a <details>, filled when first opened). */
function idList(ids, cls) {
	const span = document.createElement('span');
	if (!Array.isArray(ids) || !ids.length) {
		span.className = 'muted';
		span.textContent = '—';
		return span;
	}
	const chips = (into) => {
		for (const id of ids) {
			const chip = document.createElement('span');
			chip.className = `chip ${cls}`;
			chip.textContent = id;
			into.append(chip, ' ');
		}
	};
	if (ids.length <= IDS_INLINE) {
		chips(span);
		return span;
	}
	return onDemand(userCount(ids.length), `chip ${cls}`, chips);
}

/* "N users" that opens to what fill(into) puts in it, built when opened. */
function onDemand(label, cls, fill) {
	const d = document.createElement('details');
	d.className = 'who-details';
	const sum = document.createElement('summary');
	const count = document.createElement('span');
	count.className = cls;
	count.textContent = label;
	sum.append(count);
	const body = document.createElement('div');
	body.className = 'who';
	body.tabIndex = 0;      /* it may scroll: the keyboard must reach it */
	body.setAttribute('role', 'region');
	body.setAttribute('aria-label', label);
	d.append(sum, body);
	d.addEventListener('toggle', () => {
		if (d.open && !body.childNodes.length)
			fill(body);
	});
	return d;
}

/* The preview's words: ids when few, else a count with the ids on demand. */
function idSummary(ids, none) {
	if (!Array.isArray(ids) || !ids.length)
		return document.createTextNode(none);
	if (ids.length <= IDS_INLINE)
		return document.createTextNode(ids.join(', '));
	return onDemand(userCount(ids.length), '', (into) => { into.textContent = ids.join(', '); });
}

async function loadHistory() {
	if (!state.lead)
		return;
	const seq = ++state.seq.history;
	const path = `/cc/${state.cc}/process/${state.process}/campaign/${state.campaign}`
		+ `/lead-user/history?leadId=${state.lead}&limit=${HISTORY_PAGE}&offset=${state.historyOffset}`;
	$('history').hidden = false;
	$('history-note').textContent = 'Loading…';
	let r;
	try {
		r = await api('GET', path);
	} catch (e) {
		if (seq !== state.seq.history)
			return;
		$('history-body').replaceChildren();
		$('history-range').textContent = '';
		$('history-table').hidden = true;
		$('history-pager').hidden = true;
		$('history-newer').disabled = $('history-older').disabled = true;
		if (e.status === 404 && e.code === 'HTTP-1404') {
			$('history-note').textContent = 'This server keeps no history of mapping changes.';
			return;
		}
		$('history-note').textContent = 'The history could not be read.';
		if (state.session)
			showError(e, 'Reading the history');
		return;
	}
	if (seq !== state.seq.history)
		return;
	const rows = Array.isArray(r.data) ? r.data : [];
	const total = Number(r.headers.get('X-Total-Count'));
	const known = Number.isFinite(total) && r.headers.get('X-Total-Count') !== null;
	const trs = rows.map((h) => {
		const tr = document.createElement('tr');
		tr.dataset.historyId = String(h.historyId);
		const when = document.createElement('td');
		const time = document.createElement('time');
		time.textContent = formatWhen(h.changedAt);
		time.dateTime = typeof h.changedAt === 'number' ? new Date(h.changedAt).toISOString() : String(h.changedAt);
		when.append(time);
		const by = document.createElement('td');
		by.textContent = h.changedBy || '';
		const as = document.createElement('td');
		as.append(idList(h.assignedUserIds, 'chip-in'));
		const un = document.createElement('td');
		un.append(idList(h.unassignedUserIds, 'chip-out'));
		const req = document.createElement('td');
		req.className = 'mono';
		req.textContent = h.requestId || '';
		tr.append(when, by, as, un, req);
		return tr;
	});
	$('history-body').replaceChildren(...trs);
	$('history-table').hidden = !rows.length;
	const first = state.historyOffset + 1;
	const last = state.historyOffset + rows.length;
	if (!rows.length && state.historyOffset === 0) {
		$('history-note').textContent = 'No change of this lead has been recorded yet.';
		$('history-range').textContent = '';
	} else {
		$('history-note').textContent = '';
		$('history-range').textContent = rows.length
			? `${first}–${last}${known ? ` of ${total}` : ''}` : `none past ${state.historyOffset}`;
	}
	$('history-newer').disabled = state.historyOffset === 0;
	$('history-older').disabled = known ? last >= total : rows.length < HISTORY_PAGE;
	$('history-pager').hidden = $('history-newer').disabled && $('history-older').disabled && !rows.length;
}

/* The lead changed: show it in the history too, unless the user paged away. */
function refreshHistory() {
	if (state.historyOffset === 0)
		loadHistory();
}

function historyPage(delta) {
	state.historyOffset = Math.max(0, state.historyOffset + delta * HISTORY_PAGE);
	loadHistory();
}

/* ---------- wiring ---------- */

function wireList(side) {
	listTools(side);
	const list = state.lists[side] = new Listbox($(`${side}-list`), {
		describe: (id) => describeRow(side, id),
		activate: (ids) => move(side, ids),
		changed: () => renderSelected(side),
	});
	const filter = $(`${side}-filter`);
	filter.addEventListener('input', render);
	list.wireFilter(filter);
	$(`${side}-select-all`).addEventListener('click', () => {
		list.selectAll();
		setStatus(`Selected all ${userCount(list.items.length)} ${$(`${side}-filter`).value.trim() ? 'matching the filter' : 'shown'}.`);
	});
}

function init() {
	$('login-form').addEventListener('submit', login);
	wireRenewal();
	$('logout').addEventListener('click', logout);
	$('picker').addEventListener('submit', (ev) => ev.preventDefault());
	picker($('pick-cc'), 'cc', (v) => chooseCc(v));
	picker($('pick-process'), 'process', (v) => chooseProcess(v));
	picker($('pick-campaign'), 'campaign', (v) => chooseCampaign(v));
	picker($('pick-lead'), 'lead', (v) => chooseLead(v));
	wireList('assigned');
	wireList('unassigned');
	$('assign-btn').addEventListener('click', () => move('unassigned'));
	$('unassign-btn').addEventListener('click', () => move('assigned'));
	$('assign-all-btn').addEventListener('click', () => moveAllShown('unassigned'));
	$('unassign-all-btn').addEventListener('click', () => moveAllShown('assigned'));
	$('bulk-confirm-ok').addEventListener('click', bulkConfirmed);
	$('bulk-confirm-cancel').addEventListener('click', () => $('bulk-confirm').close());
	$('bulk-confirm').addEventListener('close', () => { state.bulk = null; });
	$('pending-details').addEventListener('toggle', () => {
		if ($('pending-details').open)
			renderPendingWho();
	});
	window.addEventListener('scroll', clearSaveBar, { passive: true });
	window.addEventListener('resize', clearSaveBar);
	$('save-btn').addEventListener('click', save);
	$('preview-btn').addEventListener('click', preview);
	$('reset-btn').addEventListener('click', undo);
	$('conflict-keep').addEventListener('click', () => reloadAfterConflict(true));
	$('conflict-discard').addEventListener('click', () => reloadAfterConflict(false));
	$('history-refresh').addEventListener('click', () => loadHistory());
	$('history-newer').addEventListener('click', () => historyPage(-1));
	$('history-older').addEventListener('click', () => historyPage(1));
	let hiddenTimer = 0;
	document.addEventListener('visibilitychange', () => {
		clearTimeout(hiddenTimer);
		if (document.hidden)
			hiddenTimer = setTimeout(pauseFollowing, FEED_HIDDEN_PAUSE);
		else
			resumeFollowing();
	});
	/* leaving the page: end the poll in flight (AbortController) */
	window.addEventListener('pagehide', pauseFollowing);
	window.addEventListener('pageshow', (ev) => {
		if (ev.persisted)
			resumeFollowing();
	});
	window.addEventListener('beforeunload', (ev) => {
		if (pendingCount()) {
			ev.preventDefault();
			ev.returnValue = '';
		}
	});
	state.session = loadSession();
	if (state.session)
		enterConsole();
	else
		showLogin();
	document.body.dataset.ready = 'true';
}

if (document.readyState === 'loading')
	document.addEventListener('DOMContentLoaded', init);
else
	init();
