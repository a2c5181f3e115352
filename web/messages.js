/*
 * messages.js - what the console tells its user when something fails: a
 * sentence in plain words first (what happened, what to do), then the
 * server's own code, message, HTTP status and request id on a line of their
 * own, for support.  A 429 or 503 says how long the server asked to wait
 * (Retry-After); a request that never reached the server says so in words
 * instead of the browser's "Failed to fetch".
 *
 * Loaded before app.js (index.html): it only defines functions, which use
 * app.js's globals (state, ApiError, pendingCount) when they are called.
 */
'use strict';

/* errorCode -> the sentence a user reads (API.md §5 has the codes) */
const ERROR_WORDS = {
	'AUTH-1001': 'Your session has ended: sign in again.',
	'AUTH-1003': 'Your role may not do this.',
	'CONF-1001': 'It no longer exists: someone may have deleted it or taken it out of the campaign. Reload to see what is there now.',
	'CONF-1002': 'The server did not accept what was sent.',
	'CONF-1003': 'A user cannot be both assigned and unassigned in one save.',
	'CONF-1004': 'It already exists.',
	'CONF-1005': 'It is still in use, so it cannot be removed.',
	'CONF-1006': "Someone else changed this lead's users since you loaded them, so nothing was saved.",
	'CONF-1007': 'The console lost track of changes on the server: reload the lead.',
	'HTTP-1404': 'This server does not offer that (it may be an older cmsd).',
	'HTTP-1413': 'That was more than the server accepts in one request: save fewer moves at a time.',
	'HTTP-1429': 'Too many attempts.',
	'SYS-1000': 'The server failed. Try again; if it fails again, give support the code below.',
	'SYS-1003': 'The server cannot serve this now (it may be busy or unable to reach its database). Try again in a moment.',
};

/* The words for a status without an envelope (a proxy's page, say). */
function statusWords(status) {
	if (status === 401)
		return ERROR_WORDS['AUTH-1001'];
	if (status === 429)
		return ERROR_WORDS['HTTP-1429'];
	if (status >= 500)
		return 'The server or a proxy in front of it failed. Try again in a moment.';
	return 'The server refused the request.';
}

/* Retry-After (seconds, or an HTTP date) -> seconds to wait, or null. */
function retryAfterSeconds(value) {
	if (!value)
		return null;
	const v = String(value).trim();
	if (/^\d+$/.test(v))
		return Number(v);
	const at = Date.parse(v);
	return Number.isNaN(at) ? null : Math.max(0, Math.ceil((at - Date.now()) / 1000));
}

/* 45 -> "45 seconds", 300 -> "5 minutes", 61 -> "2 minutes" */
function duration(s) {
	if (s < 90)
		return s === 1 ? '1 second' : `${s} seconds`;
	const m = Math.ceil(s / 60);
	return `${m} minutes`;
}

/* "Wait 5 minutes (until 14:05:30), then try again." */
function waitWords(seconds) {
	const until = new Date(Date.now() + seconds * 1000).toLocaleTimeString();
	return `Wait ${duration(seconds)} (until ${until}), then try again.`;
}

/* The headline of an error: `words` when the caller knows better (the
 * sign-in form's AUTH-1001 is a wrong password, not an ended session). */
function errorWords(err, words) {
	if (!(err instanceof ApiError))
		return words || String(err && err.message || err);
	if (err.status === 0) {
		const n = typeof pendingCount === 'function' ? pendingCount() : 0;
		return 'The server could not be reached: check the network connection, then try again.'
			+ (n ? ` Your ${n} unsaved ${n === 1 ? 'move is' : 'moves are'} kept in this page.` : '');
	}
	let text = words || (err.code && ERROR_WORDS[err.code]) || statusWords(err.status);
	const wait = retryAfterSeconds(err.retryAfter);
	if (wait !== null && (err.status === 429 || err.status === 503))
		text += ' ' + waitWords(wait);
	return text;
}

function describeDetail(d) {
	if (d === null || typeof d !== 'object')
		return String(d);
	if ('field' in d && 'reason' in d)
		return `${d.field}: ${d.reason}`;
	if ('object' in d && 'id' in d)
		return `${d.object} "${d.id}"`;
	return Object.entries(d).map(([k, v]) => `${k}: ${typeof v === 'string' ? v : JSON.stringify(v)}`).join(', ');
}

/* The line for support: "Code CONF-1001 (Object doesn't exist) · HTTP 404 ·
 * request id …"; for a request that never got an answer, what the browser
 * said. */
function supportLine(err) {
	if (!(err instanceof ApiError))
		return '';
	const parts = [];
	if (err.envelope)
		parts.push(`Code ${err.envelope.errorCode} (${err.envelope.errorMessage})`);
	else if (err.status === 0)
		parts.push(`No answer: ${err.text}`);
	if (err.status)
		parts.push(`HTTP ${err.status}`);
	if (err.requestId)
		parts.push(`request id ${err.requestId}`);
	return parts.join(' · ');
}

/* Show an error in the alert region (`where`, default the page's #alert):
 * context and plain words, the envelope's details, the support line.  A
 * 401 that the renewal dialog already handles (err.renewing) shows nothing
 * more. */
function showError(err, context, words, where = 'alert') {
	if (err instanceof ApiError && err.renewing)
		return;
	const box = document.createElement('div');
	box.className = 'alert-box';
	box.dataset.testid = 'alert-box';
	const head = document.createElement('p');
	head.className = 'alert-head';
	head.tabIndex = -1;     /* focus can be put here when its cause went away */
	if (context) {
		const c = document.createElement('span');
		c.className = 'alert-context';
		c.textContent = context + ': ';
		head.append(c);
	}
	const msg = document.createElement('span');
	msg.dataset.testid = 'alert-message';
	msg.textContent = errorWords(err, words);
	head.append(msg);
	box.append(head);
	const details = err instanceof ApiError && err.envelope && Array.isArray(err.envelope.details)
		? err.envelope.details : [];
	if (details.length) {
		const ul = document.createElement('ul');
		ul.className = 'alert-details';
		ul.dataset.testid = 'alert-details';
		for (const d of details) {
			const li = document.createElement('li');
			li.textContent = describeDetail(d);
			ul.append(li);
		}
		box.append(ul);
	}
	const support = supportLine(err);
	if (support) {
		const meta = document.createElement('p');
		meta.className = 'alert-meta';
		meta.dataset.testid = 'alert-code';
		meta.textContent = support;
		box.append(meta);
	}
	const region = document.getElementById(where);
	if (where === 'alert') {
		const close = document.createElement('button');
		close.type = 'button';
		close.className = 'alert-close';
		close.textContent = 'Dismiss';
		close.addEventListener('click', () => {
			clearError();
			focusAfterDismiss();
		});
		box.append(close);
		setStatus('');
	}
	region.replaceChildren(box);
	region.scrollIntoView({ block: 'nearest' });
}

function clearError() {
	document.getElementById('alert').replaceChildren();
}
