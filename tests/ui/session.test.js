#!/usr/bin/env node
/*
 * tests/ui/session.test.js - issue 15, points 1, 4, 5 and 7, at 1366x768 and
 * at 390x844 (each in its own browser context), against a real cmsd:
 *
 *  - the session's end keeps the work: a token revoked under unsaved moves
 *    opens the sign-in dialog at Save, a wrong password is said in it, the
 *    right one closes it with the moves kept, and they save; a warning bar
 *    before expiry (the page's clock moved on: Playwright's clock) offers to
 *    sign in early, which revokes the old token; an expiry under unsaved
 *    moves, the dialog closed with Escape, the bar reopening it;
 *  - one column at the phone's width and at 320 px: no sideways scroll,
 *    nothing cut off, on the sign-in screen and the open lead;
 *  - a focus ring of at least 3:1 against what surrounds it, 2 px or more,
 *    on a select, the top bar's Log out and the primary Save; the focus put
 *    on the first choice after sign-in, on the lead's title after Save, back
 *    where it was after the dialog;
 *  - errors in words with the code kept: a wrong password, a real 429 of the
 *    login throttle with its Retry-After's wait, a network failure at Save;
 *  - a browser clock two days ahead does not end every session at once;
 *  - axe-core on every screen shown (lib.js axe: no violation of any impact);
 *  - screenshots of the main screens (UI_SCREENSHOTS=docs writes them into
 *    docs/screenshots/ for the README).
 */
'use strict';

const crypto = require('node:crypto');
const {
	ADMIN, ADMIN_PASSWORD, step, check, until, same, client, run, axe, screenshot, withCmsd, logIn,
} = require('./lib.js');

const SUPERVISOR = 'ines.moreau';
const PASSWORD = 'sup-' + crypto.randomBytes(12).toString('hex');
const LOCKED = 'ui.locked';     /* a name the login throttle refuses (429) */
const AGENTS = [
	['amara.okafor', 'Amara Okafor'], ['bilal.khan', 'Bilal Khan'], ['chen.wei', 'Chen Wei'],
	['diego.ramos', 'Diego Ramos'], ['elif.yilmaz', 'Elif Yilmaz'], ['farah.haddad', 'Farah Haddad'],
	['goran.petrov', 'Goran Petrov'], ['hana.sato', 'Hana Sato'],
];
const SIZES = [
	{ name: 'desktop', width: 1366, height: 768 },
	{ name: 'phone', width: 390, height: 844, narrowest: 320 },
];

/* A contact center with the supervisor and eight agents, two processes (so
 * that a choice is left after sign-in), a campaign with every agent and one
 * lead list; then failed logins of LOCKED until the throttle answers 429. */
async function setUp(api) {
	await api.login(ADMIN, ADMIN_PASSWORD);
	const cc = (await api.ok('POST', '/cc', { name: 'Harbour Contact Center' })).data.contactCenterId;
	await api.ok('POST', `/cc/${cc}/user`, { userId: SUPERVISOR, name: 'Inès Moreau', role: 'Supervisor', password: PASSWORD });
	for (const [userId, name] of AGENTS)
		await api.ok('POST', `/cc/${cc}/user`, { userId, name, role: 'Agent' });
	await api.ok('POST', `/cc/${cc}/process`, { processName: 'Inbound Support' });
	const p = (await api.ok('POST', `/cc/${cc}/process`, { processName: 'Outbound Sales' })).data.processId;
	const lead = (await api.ok('POST', `/cc/${cc}/process/${p}/lead`, { leadName: 'Spring renewals' })).data.leadId;
	const c = (await api.ok('POST', `/cc/${cc}/process/${p}/campaign`, { campaignName: 'Renewal drive' })).data.campaignId;
	await api.ok('POST', `/cc/${cc}/process/${p}/campaign/${c}/campaign-user`, { userIds: AGENTS.map((a) => a[0]) });
	await api.ok('POST', `/cc/${cc}/process/${p}/campaign/${c}/campaign-lead`, { leadId: lead });
	let status = 0;
	for (let i = 0; i < 20 && status !== 429; i++)
		status = (await api.call('POST', '/basicauth', { username: LOCKED, password: 'wrong-password' })).status;
	check(status === 429, `the login throttle never answered 429 (last ${status})`);
	return { cc, p, c, lead };
}

/* ---------- what the tests look at ---------- */

async function pickLead(page) {
	await page.selectOption('#pick-process', { label: 'Outbound Sales' });
	await page.waitForSelector('#mapping:not([hidden])');
}

function focused(page) {
	return page.evaluate(() => {
		const a = document.activeElement;
		return a && a !== document.body ? a.id || a.tagName.toLowerCase() : 'body';
	});
}

/* The focus comes to #id within 3 s (it may move after a dialog's close
 * event, or once the page is loaded). */
async function focusOn(page, id) {
	try {
		await until(async () => (await focused(page)) === id, 3000, `the focus on #${id}`);
	} catch (e) {
		throw new Error(`${e.message}: it is on ${await focused(page)}`);
	}
}

function pending(page) {
	return page.evaluate(() => pendingCount());
}

async function alertText(page, where = 'alert') {
	return (await page.locator('#' + where).innerText()).trim().replace(/\s+/g, ' ');
}

/* What is wider than the viewport or cut off by it, outside a box that
 * scrolls sideways on purpose (the history table's): a list of "tag#id
 * left..right", empty when the page reflows. */
function overflow(page) {
	return page.evaluate(() => {
		const w = document.documentElement.clientWidth;
		const bad = [];
		if (document.documentElement.scrollWidth > w)
			bad.push(`the page is ${document.documentElement.scrollWidth} px wide in ${w}`);
		const scrolls = (el) => {
			for (let a = el.parentElement; a && a !== document.body; a = a.parentElement) {
				const o = getComputedStyle(a).overflowX;
				if (o === 'auto' || o === 'scroll')
					return true;
			}
			return false;
		};
		for (const el of document.body.querySelectorAll('*')) {
			if (el.closest('.sr-only, .skip, [hidden], dialog:not([open]), option, script'))
				continue;
			const r = el.getBoundingClientRect();
			if (!r.width || !r.height || scrolls(el))
				continue;
			const name = el.tagName.toLowerCase() + (el.id ? '#' + el.id : '')
				+ (typeof el.className === 'string' && el.className ? '.' + el.className.split(' ')[0] : '');
			if (r.right > w + 0.5 || r.left < -0.5)
				bad.push(`${name} ${Math.round(r.left)}..${Math.round(r.right)}`);
			else if (el.tagName !== 'SELECT' && el.clientWidth && el.scrollWidth > el.clientWidth + 1
				&& getComputedStyle(el).overflowX !== 'visible')
				bad.push(`${name}: content ${el.scrollWidth} px in ${el.clientWidth}`);
		}
		return bad;
	});
}

async function reflows(page, width, what) {
	const bad = await overflow(page);
	check(!bad.length, `${what} at ${width} px:\n` + bad.slice(0, 60).join('\n'));
}

/* The focused element's ring: width in px, and its contrast against the
 * first opaque background behind it (the ring is drawn outside the
 * element, 2 px off). */
function ring(page) {
	return page.evaluate(() => {
		const rgb = (c) => (c.match(/[\d.]+/g) || []).map(Number);
		const lum = ([r, g, b]) => {
			const f = (v) => (v /= 255) <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4;
			return 0.2126 * f(r) + 0.7152 * f(g) + 0.0722 * f(b);
		};
		const a = document.activeElement;
		const cs = getComputedStyle(a);
		let bg = null;
		for (let p = a.parentElement; p && !bg; p = p.parentElement) {
			const c = rgb(getComputedStyle(p).backgroundColor);
			if (c.length === 3 || (c.length === 4 && c[3] === 1))
				bg = c.slice(0, 3);
		}
		bg = bg || [255, 255, 255];
		const fg = rgb(cs.outlineColor).slice(0, 3);
		const [l1, l2] = [lum(fg), lum(bg)].sort((x, y) => y - x);
		return { id: a.id, style: cs.outlineStyle, width: parseFloat(cs.outlineWidth),
			contrast: Math.round((l1 + 0.05) / (l2 + 0.05) * 100) / 100 };
	});
}

async function ringOk(page, id) {
	same(await focused(page), id, 'the focus');
	const r = await ring(page);
	console.log(`# focus ring on #${id}: ${r.style} ${r.width}px, ${r.contrast}:1`);
	check(r.style !== 'none' && r.width >= 2, `#${id}: no ring (${r.style} ${r.width}px)`);
	check(r.contrast >= 3, `#${id}: the ring's contrast is ${r.contrast}:1`);
}

/* Reach id by keyboard (Tab from the element before it), so that the
 * browser shows the ring it shows for keyboard users (:focus-visible). */
async function tabTo(page, id) {
	await page.focus('#' + id);
	await page.keyboard.press('Shift+Tab');
	await page.keyboard.press('Tab');
	same(await focused(page), id, 'the focus after Shift+Tab, Tab');
}

async function token(page) {
	return page.evaluate(() => state.session.token);
}

async function expiresAt(page) {
	return Date.parse(await page.evaluate(() => state.session.expiresAt));
}

/* Assign one user: select it and press Assign.  The lists are <select>s
 * here and listboxes of [data-value] rows on the 20,000-user branch, where
 * a click selects. */
async function assignOne(page, userId) {
	if (await page.$eval('#unassigned-list', (el) => el.tagName === 'SELECT'))
		await page.selectOption('#unassigned-list', [userId]);
	else
		await page.click(`#unassigned-list [data-value="${userId}"]`);
	await page.click('#assign-btn');
}

/* ---------- one screen size ---------- */

async function atSize(browser, base, ids, size) {
	const api = client(base);
	await api.login(SUPERVISOR, PASSWORD);
	const mappingPath = `/voice/campaignLeadUserMapping?campaignId=${ids.c}&leadId=${ids.lead}`;
	const assigned = async () => (await api.ok('GET', mappingPath)).data.assignedUserIds;
	const context = await browser.newContext({
		viewport: { width: size.width, height: size.height }, locale: 'en-GB', timezoneId: 'UTC',
	});
	const page = await context.newPage();
	page.setDefaultTimeout(10000);
	const problems = [];
	page.on('pageerror', (e) => problems.push('page error: ' + e.message));
	await page.clock.install();     /* real time, until a step moves it on */
	const at = (name) => `${name} (${size.name})`;
	const narrow = async (what) => {
		await reflows(page, size.width, what);
		if (!size.narrowest)
			return;
		await page.setViewportSize({ width: size.narrowest, height: 640 });
		try {
			await reflows(page, size.narrowest, what);
		} finally {
			await page.setViewportSize({ width: size.width, height: size.height });
		}
	};

	try {
		await step(at('the sign-in screen: one column, axe, screenshot'), async () => {
			await page.goto(base + '/cms/ui/');
			await page.waitForSelector('#login-form', { state: 'visible' });
			same(await focused(page), 'login-username', 'the focus');
			await narrow('the sign-in screen');
			await axe(page, at('sign-in'));
			await screenshot(page, `signin-${size.name}`);
		});

		await step(at('a throttled login says how long to wait, with HTTP-1429 kept'), async () => {
			await logIn(page, LOCKED, 'wrong-password');
			await page.waitForSelector('#alert .alert-box');
			const text = await alertText(page);
			check(/Too many attempts\. Wait \d+ (seconds|minutes) \(until [0-9:]+\), then try again\./.test(text),
				`the alert says: ${text}`);
			check(text.includes('Code HTTP-1429') && text.includes('HTTP 429'), `no code for support: ${text}`);
			await axe(page, at('sign-in, 429'));
		});

		await step(at('a wrong password is said in words; AUTH-1001 kept for support'), async () => {
			await logIn(page, SUPERVISOR, 'not-the-password');
			await page.waitForFunction(() => document.querySelector('#alert').textContent.includes('AUTH-1001'));
			const text = await alertText(page);
			check(text.includes('The user ID or password is not right.'), `the alert says: ${text}`);
			check(text.includes('Code AUTH-1001 (Authentication required) · HTTP 401'), `the support line: ${text}`);
			await narrow('the sign-in error');
			await axe(page, at('sign-in, wrong password'));
		});

		await step(at('after sign-in the focus is on the first choice left (the process)'), async () => {
			await logIn(page, SUPERVISOR, PASSWORD);
			await page.waitForSelector('#console-view', { state: 'visible' });
			await focusOn(page, 'pick-process');
			same(await alertText(page), '', 'the alert');
			await axe(page, at('console, nothing picked'));
		});

		await step(at('the focus ring: 3 px or more, 3:1 or more, on a select, Log out and Save'), async () => {
			await tabTo(page, 'pick-process');
			await ringOk(page, 'pick-process');
			await tabTo(page, 'logout');
			await ringOk(page, 'logout');
			await pickLead(page);
			await assignOne(page, 'bilal.khan');
			await tabTo(page, 'save-btn');
			await ringOk(page, 'save-btn');
		});

		await step(at('the open lead with moves: one column, axe, screenshot'), async () => {
			await assignOne(page, 'chen.wei');
			same(await pending(page), 2, 'unsaved moves');
			await narrow('the open lead');
			await axe(page, at('lead with unsaved moves'));
			/* no toast over the lists; on a phone, the lists from their title down */
			await page.evaluate(() => {
				setStatus('');
				if (innerWidth < 600)
					document.getElementById('mapping').scrollIntoView();
				else
					scrollTo(0, 0);
			});
			await screenshot(page, `console-${size.name}`);
		});

		await step(at('after Preview the focus is back on Preview; after Save on the lead\'s title'), async () => {
			await page.focus('#preview-btn');
			await page.keyboard.press('Enter');
			await page.waitForSelector('#preview-box:not([hidden])');
			same(await focused(page), 'preview-btn', 'the focus after Preview');
			await page.click('#save-btn');
			await page.waitForFunction(() => /Saved/.test(document.querySelector('#status').textContent));
			same(await focused(page), 'mapping-title', 'the focus');
			same(await assigned(), ['bilal.khan', 'chen.wei'], 'the server');
			await axe(page, at('saved'));
		});

		await step(at('a network failure at Save is said in words; the move is kept'), async () => {
			await assignOne(page, 'diego.ramos');
			const isPut = (url) => url.pathname === '/cms/configuration/voice/campaignLeadUserMapping';
			await page.route(isPut, (route) => route.request().method() === 'PUT'
				? route.abort('internetdisconnected') : route.fallback());
			try {
				await page.click('#save-btn');
				await page.waitForSelector('#alert .alert-box');
			} finally {
				await page.unroute(isPut);
			}
			const text = await alertText(page);
			check(text.includes('The server could not be reached: check the network connection, then try again.')
				&& text.includes('Your 1 unsaved move is kept in this page.'), `the alert says: ${text}`);
			check(!/Failed to fetch/.test(text.split('No answer:')[0]), `the browser's words lead: ${text}`);
			same(await page.evaluate(() => document.activeElement.className), 'alert-head', 'the focus');
			same(await pending(page), 1, 'unsaved moves');
			await narrow('the network error');
			await axe(page, at('network error'));
			await screenshot(page, `error-${size.name}`);
			await page.click('#alert .alert-close');
			same(await focused(page), 'save-btn', 'the focus after Dismiss');
		});

		await step(at('a token revoked under unsaved moves: the dialog at Save, the moves kept and saved'), async () => {
			const old = await token(page);
			const r = await fetch(`${base}/cms/configuration/basicauth`,
				{ method: 'DELETE', headers: { Authorization: 'Bearer ' + old } });
			check(r.status >= 200 && r.status < 300, `the revocation answered ${r.status}`);
			await page.click('#save-btn');
			await page.waitForSelector('#renew[open]');
			const why = await alertText(page, 'renew-why');
			check(why.includes('Your session has ended') && why.includes('Your 1 unsaved move is kept.'), `the dialog says: ${why}`);
			same(await focused(page), 'renew-password', 'the focus');
			same(await page.inputValue('#renew-username'), SUPERVISOR, 'the user id');
			same(await alertText(page), '', 'the page\'s alert (the dialog says it)');
			await axe(page, at('sign-in dialog'));
			await screenshot(page, `renew-${size.name}`);
			await narrow('the sign-in dialog');
			await page.keyboard.press('Escape');
			await page.waitForSelector('#renew', { state: 'hidden' });
			check((await alertText(page, 'session-bar')).startsWith('Your session has ended. Your 1 unsaved move is kept.'),
				'the bar after Escape says: ' + await alertText(page, 'session-bar'));
			await page.click('#save-btn');     /* meets 401 again: the dialog again */
			await page.waitForSelector('#renew[open]');
			same(await alertText(page), '', 'the page\'s alert after Save without a session');
			await page.fill('#renew-password', 'not-the-password');
			await page.click('#renew-submit');
			await page.waitForFunction(() => document.querySelector('#renew-alert').textContent.includes('AUTH-1001'));
			check((await alertText(page, 'renew-alert')).includes('The password is not right.'), 'no words for the wrong password');
			await axe(page, at('sign-in dialog, wrong password'));
			await page.fill('#renew-password', PASSWORD);
			await page.click('#renew-submit');
			await page.waitForSelector('#renew', { state: 'hidden' });
			check(await token(page) !== old, 'the same token');
			same(await pending(page), 1, 'unsaved moves after signing in again');
			check((await page.textContent('#status')).includes('Your 1 unsaved move is kept.'), 'the status says nothing of the move');
			await focusOn(page, 'save-btn');
			await page.click('#save-btn');
			await page.waitForFunction(() => /Saved/.test(document.querySelector('#status').textContent));
			same(await assigned(), ['bilal.khan', 'chen.wei', 'diego.ramos'], 'the server');
		});

		await step(at('a warning before expiry; "Stay signed in" signs in again and revokes the old token'), async () => {
			const old = await token(page);
			await page.clock.fastForward(await expiresAt(page) - Date.now() - 4 * 60 * 1000);
			await page.waitForSelector('#session-bar:not([hidden])');
			const text = await alertText(page, 'session-bar');
			check(/^Your session ends at [0-9:]+\. Sign in again now .* About [45] minutes left\./.test(text),
				`the bar says: ${text}`);
			same(await page.getAttribute('#session-bar-text', 'role'), 'alert', 'the bar\'s role');
			await narrow('the expiry warning');
			await axe(page, at('expiry warning'));
			await page.click('#session-bar-btn');
			await page.waitForSelector('#renew[open]');
			check((await alertText(page, 'renew-why')).includes('ends soon'), 'the dialog does not say why');
			await page.clock.setSystemTime(Date.now());     /* back to the server's time */
			await page.fill('#renew-password', PASSWORD);
			await page.click('#renew-submit');
			await page.waitForSelector('#renew', { state: 'hidden' });
			check(await page.isHidden('#session-bar'), 'the bar still shows');
			await until(async () => !['body', 'session-bar-btn'].includes(await focused(page)), 3000,
				'the focus back in the page (the bar\'s button is gone)');
			await until(async () => (await fetch(`${base}/cms/configuration/cc/${ids.cc}`,
				{ headers: { Authorization: 'Bearer ' + old } })).status === 401, 3000, 'the old token revoked');
		});

		await step(at('expiry under unsaved moves: the dialog, Escape, the bar, then the moves saved'), async () => {
			await assignOne(page, 'elif.yilmaz');
			await page.clock.fastForward(await expiresAt(page) - Date.now() + 60 * 1000);
			await page.waitForSelector('#renew[open]');
			const why = await alertText(page, 'renew-why');
			check(why.includes('Your session has expired.') && why.includes('Your 1 unsaved move is kept.'), `the dialog says: ${why}`);
			await page.keyboard.press('Escape');
			await page.waitForSelector('#renew', { state: 'hidden' });
			const bar = await alertText(page, 'session-bar-text');
			same(bar, 'Your session has ended. Your 1 unsaved move is kept. Sign in again to go on.', 'the bar');
			await until(async () => (await focused(page)) !== 'body', 3000, 'the focus back in the page');
			await narrow('the ended session');
			await axe(page, at('session ended'));
			await page.clock.setSystemTime(Date.now());
			await page.click('#session-bar-btn');
			await page.waitForSelector('#renew[open]');
			await page.fill('#renew-password', PASSWORD);
			await page.keyboard.press('Enter');
			await page.waitForSelector('#renew', { state: 'hidden' });
			same(await pending(page), 1, 'unsaved moves');
			await page.click('#save-btn');
			await page.waitForFunction(() => /Saved/.test(document.querySelector('#status').textContent));
			same(await assigned(), ['bilal.khan', 'chen.wei', 'diego.ramos', 'elif.yilmaz'], 'the server');
		});

		await step(at('no script error'), async () => {
			same(problems, [], 'problems');
		});
	} finally {
		/* the next size starts from an empty lead */
		await api.ok('PUT', '/voice/campaignLeadUserMapping', { leadId: ids.lead, campaignId: ids.c,
			assignedUserIds: [], unassignedUserIds: await assigned() }).catch(() => {});
		await context.close();
	}
}

/* A browser whose clock is two days ahead of the server's: the token's
 * expiry is read on the server's clock (the Date header), so signing in
 * opens no "session ended" dialog and shows no warning. */
async function clockAhead(browser, base) {
	const context = await browser.newContext({ viewport: { width: 1366, height: 768 } });
	try {
		const page = await context.newPage();
		await page.clock.install({ time: Date.now() + 2 * 24 * 3600 * 1000 });
		await step('a browser clock two days ahead: no "session ended" after sign-in', async () => {
			await page.goto(base + '/cms/ui/');
			await logIn(page, SUPERVISOR, PASSWORD);
			await page.waitForSelector('#console-view', { state: 'visible' });
			await page.clock.runFor(20000);     /* past a look at the clock */
			check(await page.isHidden('#session-bar'), 'the session bar shows: ' + await page.textContent('#session-bar'));
			check(!(await page.$('#renew[open]')), 'the sign-in dialog opened');
			const left = await page.evaluate(() => sessionLeft());
			check(left > 23 * 3600 * 1000 && left <= 24 * 3600 * 1000, `the session has ${left} ms left`);
		});
	} finally {
		await context.close();
	}
}

run(() => withCmsd('session', async ({ base, browser }) => {
	const ids = await setUp(client(base));
	for (const size of SIZES)
		await atSize(browser, base, ids, size);
	await clockAhead(browser, base);
}));
