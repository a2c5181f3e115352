/*
 * session.js - the session's end, without losing work.
 *
 * A token ends when it expires (expiresAt, from sign-in) or is revoked
 * (a request answers 401).  Either way the console keeps everything it
 * shows - the open lead, the unsaved moves, the follower's cursor - and asks
 * for the password again in a modal dialog (#renew).  The API has no way to
 * extend a token (API.md §2), so "renewal" is a new sign-in of the same user
 * (POST /basicauth); the old token, when still alive, is revoked after.
 * Nothing is stored but the token: the password is never kept.
 *
 * Before expiry, from WARN_BEFORE on, a bar (#session-bar) says when the
 * session ends and offers to sign in again now; its words are read out
 * once (role="alert").  Closing the dialog with Escape leaves the bar, which
 * reopens it.  The clock is read every CHECK_EVERY and when the page is
 * shown again, so a computer that slept is noticed at once.
 *
 * Loaded before app.js; uses its globals (state, api, ...) when called.
 */
'use strict';

const WARN_BEFORE = 5 * 60 * 1000;  /* ms before expiry the warning shows */
const CHECK_EVERY = 15 * 1000;      /* ms between looks at the clock */

const renewal = {
	timer: 0,
	phase: 'ok',        /* 'ok', 'warn' (expiry is near), 'ended' (expired or revoked) */
	returnTo: null,     /* the element that had the focus when the dialog opened */
};

/* The server's clock minus the browser's, in ms, from an answer's Date
 * header (0 when there is none, or within its one-second grain): expiresAt
 * is the server's time, and a browser whose clock is a day ahead must not
 * think every new token already expired. */
function clockSkew(headers) {
	const d = Date.parse(headers.get('Date') || '');
	const skew = Number.isNaN(d) ? 0 : d - Date.now();
	return Math.abs(skew) < 5000 ? 0 : skew;
}

/* Milliseconds session s (default the current one) has left: Infinity
 * when the server gave no expiry. */
function sessionLeft(s = state.session) {
	if (!s || !s.expiresAt)
		return Infinity;
	const at = Date.parse(s.expiresAt);
	return Number.isNaN(at) ? Infinity : at - (Date.now() + (s.skew || 0));
}

/* Start watching the clock for the signed-in session. */
function watchExpiry() {
	clearInterval(renewal.timer);
	renewal.phase = 'ok';
	showSessionBar();
	renewal.timer = setInterval(checkExpiry, CHECK_EVERY);
	checkExpiry();
}

/* Signed out: no clock, no bar, no dialog. */
function stopWatchingExpiry() {
	clearInterval(renewal.timer);
	renewal.timer = 0;
	renewal.phase = 'ok';
	showSessionBar();
	const d = document.getElementById('renew');
	if (d.open)
		d.close();
}

function checkExpiry() {
	if (!state.session)
		return;
	if (renewal.phase === 'ended') {
		showSessionBar();   /* the count of kept moves, if it changed */
		return;
	}
	const left = sessionLeft();
	if (left <= 0)
		sessionEnded('expired');
	else if (left <= WARN_BEFORE && renewal.phase !== 'warn') {
		renewal.phase = 'warn';
		showSessionBar();
	} else if (renewal.phase === 'warn')
		showTimeLeft();
}

function movesKept() {
	const n = pendingCount();
	return n ? ` Your ${n} unsaved ${n === 1 ? 'move is' : 'moves are'} kept.` : '';
}

/* The bar under the top bar: nothing, the warning, or "ended". */
function showSessionBar() {
	const bar = document.getElementById('session-bar');
	const text = document.getElementById('session-bar-text');
	if (renewal.phase === 'ok') {
		bar.hidden = true;
		text.textContent = '';
		return;
	}
	let words;
	if (renewal.phase === 'warn') {
		const at = new Date(Date.parse(state.session.expiresAt) - (state.session.skew || 0));
		words = `Your session ends at ${at.toLocaleTimeString()}. Sign in again now to keep working without a break.`;
		document.getElementById('session-bar-btn').textContent = 'Stay signed in';
	} else {
		words = 'Your session has ended.' + movesKept() + ' Sign in again to go on.';
		document.getElementById('session-bar-btn').textContent = 'Sign in again';
	}
	if (text.textContent !== words)     /* an alert is read out again when rewritten */
		text.textContent = words;
	showTimeLeft();
	bar.hidden = false;
}

/* "(about 4 minutes left)": outside the alert's words, so that its
 * change each minute is not read out again and again. */
function showTimeLeft() {
	const left = document.getElementById('session-bar-left');
	const min = Math.max(1, Math.round(sessionLeft() / 60000));
	left.textContent = renewal.phase === 'warn' ? `About ${min} ${min === 1 ? 'minute' : 'minutes'} left.` : '';
}

/* The token is dead (why: 'expired' or 'revoked'): stop what uses it, keep
 * what the page shows, ask for the password. */
function sessionEnded(why) {
	if (renewal.phase === 'ended')
		return;
	renewal.phase = 'ended';
	pauseFollowing();   /* resumed from its cursor after the new sign-in */
	showSessionBar();
	openRenewal(why);
}

/* A request answered 401 (api() calls this): the token expired or was
 * revoked.  Already known (the dialog was closed with Escape, and Save
 * pressed): the dialog again. */
function sessionLost(err) {
	err.renewing = true;
	const why = sessionLeft() <= 0 ? 'expired' : 'revoked';
	if (renewal.phase === 'ended')
		openRenewal(why);
	else
		sessionEnded(why);
}

/* Is the token known to be dead (requests would only meet 401)? */
function sessionDead() {
	return renewal.phase === 'ended';
}

const RENEW_WHY = {
	expired: 'Your session has expired.',
	revoked: 'Your session has ended (it was signed out elsewhere or revoked).',
	early: 'Your session ends soon.',
};

function openRenewal(why) {
	const d = document.getElementById('renew');
	document.getElementById('renew-why').textContent = RENEW_WHY[why] + movesKept()
		+ ' Enter your password to go on where you were.';
	document.getElementById('renew-alert').replaceChildren();
	document.getElementById('renew-username').value = state.session.userId;
	document.getElementById('renew-password').value = '';
	if (!d.open) {
		renewal.returnTo = focusOrigin();
		d.showModal();
	}
	document.getElementById('renew-password').focus();
}

/* The dialog's Sign in: a new token for the same user, everything else kept. */
async function renew(ev) {
	ev.preventDefault();
	const password = document.getElementById('renew-password').value;
	if (!password)
		return;
	const submit = document.getElementById('renew-submit');
	submit.disabled = true;
	const old = renewal.phase === 'ended' ? null : state.session.token;
	try {
		const r = await api('POST', '/basicauth',
			{ body: { username: state.session.userId, password }, noAuth: true });
		const d = r.data;
		Object.assign(state.session, { token: d.authToken, role: d.userRole, context: d.context,
			contextId: d.contextId, expiresAt: d.expiresAt, skew: clockSkew(r.headers) });
		sessionStorage.setItem(SESSION_KEY, JSON.stringify(state.session));
		if (old)    /* the early renewal's old token: of no more use to anyone */
			fetch(API + '/basicauth', { method: 'DELETE', headers: { Authorization: 'Bearer ' + old },
				cache: 'no-store', credentials: 'omit' }).catch(() => {});
		document.getElementById('renew-password').value = '';
		closeRenewal();
		renewal.phase = 'ok';
		watchExpiry();
		if (state.mapping)
			resumeFollowing();
		else
			await enterConsole();   /* it ended before the lead was open: nothing to keep */
		setStatus(`Signed in again as ${state.session.userId}.` + movesKept()
			+ (pendingCount() ? ' Save when ready.' : ''));
	} catch (e) {
		showError(e, 'Sign-in failed', e.code === 'AUTH-1001' ? 'The password is not right.' : undefined,
			'renew-alert');
		document.getElementById('renew-password').select();
	} finally {
		submit.disabled = false;
	}
}

function closeRenewal() {
	const d = document.getElementById('renew');
	if (d.open)
		d.close();
}

/* The dialog closed (signed in, or Escape): the focus goes back where it was. */
function renewalClosed() {
	const back = renewal.returnTo;
	renewal.returnTo = null;
	if (!(back && focusOn(back)) && focusLost())
		focusFirst(['session-bar-btn', 'save-btn', 'mapping-title', 'main']);
}

function wireRenewal() {
	document.getElementById('renew-form').addEventListener('submit', renew);
	document.getElementById('renew-logout').addEventListener('click', () => {
		closeRenewal();
		logout();
	});
	document.getElementById('renew').addEventListener('close', renewalClosed);
	document.getElementById('session-bar-btn').addEventListener('click',
		() => openRenewal(renewal.phase === 'ended' ? (sessionLeft() <= 0 ? 'expired' : 'revoked') : 'early'));
	document.addEventListener('visibilitychange', () => {
		if (!document.hidden)
			checkExpiry();
	});
}
