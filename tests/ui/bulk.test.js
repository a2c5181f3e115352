#!/usr/bin/env node
/*
 * tests/ui/bulk.test.js - the console's mapping lists at scale (issue 15,
 * points 2, 3 and 9, and the 20,000-user lists): one campaign of 20,000
 * users, driven in Debian's Chromium at 1366x768 and at 390x844 (two
 * browser contexts, the same steps).
 *
 * The 20,000 users go straight into cmsd's SQLite store with the sqlite3
 * shell while cmsd runs (its triggers tell cmsd's caches; through the API
 * one at a time they took 26 s); everything else goes through the API.
 *
 * At each size: the two lists are listboxes (role=listbox,
 * aria-multiselectable) drawing only the rows in view; a selected row is
 * readable (contrast >= 4.5:1 while the list has the focus) and checked;
 * the keyboard selects (arrows, Shift, Ctrl+A, Home/End, typing a name);
 * the filter finds by id, name and role; "Select all matching" and
 * "Assign" move hundreds at once; the save bar says counts, not ids, keeps
 * Save in view and names who on demand; "Assign all shown" above 50 users
 * asks first and Cancel changes nothing; Save's message is short; the
 * history counts.  The time of filter, select-all-matching, move and save
 * is printed ("# timing ..."), from the test's side, not asserted.  axe-core
 * runs on each state shown.
 *
 * Environment and output: as tests/ui/console.test.js (tests/ui/run bulk).
 */
'use strict';

const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const crypto = require('node:crypto');
const { execFileSync } = require('node:child_process');
const {
	OUT, ADMIN, ADMIN_PASSWORD,
	report, step, check, same, startCmsd, stopCmsd, client, launch, toolsThere, run, failures, axe,
} = require('./lib.js');
const { listShown } = require('./lists.js');

const USERS = 20000;
const ASSIGNED = 2000;          /* agent00001..agent02000 are mapped to the lead at the start */
const SUPERVISOR = 'noor.haddad';
const SUPERVISOR_PASSWORD = 'sup-' + crypto.randomBytes(12).toString('hex');
const FIRST = ['Amara', 'Bilal', 'Chen', 'Diego', 'Elif', 'Farah', 'Goran', 'Hana', 'Ivan', 'Jana',
	'Kofi', 'Lucia', 'Mehmet', 'Nadia', 'Omar', 'Priya', 'Quentin', 'Rosa', 'Sven', 'Tariq'];
const LAST = ['Okafor', 'Khan', 'Wei', 'Ramos', 'Yilmaz', 'Haddad', 'Petrov', 'Sato', 'Novak', 'Berg',
	'Mensah', 'Rossi', 'Demir', 'Silva', 'Nasser', 'Patel', 'Moreau', 'Costa', 'Lund', 'Aziz',
	'Kowalski', 'Ito', 'Garcia', 'Dubois', 'Ozturk'];

/* user i (1-based): its id, name and role, as the SQL below makes them */
const idOf = (i) => `agent${String(i).padStart(5, '0')}`;
const nameOf = (i) => `${FIRST[i % FIRST.length]} ${LAST[Math.floor(i / FIRST.length) % LAST.length]}`;
const roleOf = (i) => (i % 100 === 0 ? 'Supervisor' : 'Agent');

/* The contact center, its supervisor, a campaign with one lead list, and
 * 20,000 users enrolled in it, the first 2,000 mapped to the lead. */
async function setUp(api, db) {
	await api.login(ADMIN, ADMIN_PASSWORD);
	const cc = (await api.ok('POST', '/cc', { name: 'Contoso Collections' })).data.contactCenterId;
	await api.ok('POST', `/cc/${cc}/user`, {
		userId: SUPERVISOR, name: 'Noor Haddad', role: 'Supervisor', password: SUPERVISOR_PASSWORD,
	});
	const p = (await api.ok('POST', `/cc/${cc}/process`, { processName: 'Collections' })).data.processId;
	const lead = (await api.ok('POST', `/cc/${cc}/process/${p}/lead`, { leadName: 'Overdue 90 days' })).data.leadId;
	const c = (await api.ok('POST', `/cc/${cc}/process/${p}/campaign`, { campaignName: 'Winter recovery' })).data.campaignId;
	await api.ok('POST', `/cc/${cc}/process/${p}/campaign/${c}/campaign-lead`, { leadId: lead });
	const sql = `.timeout 15000
BEGIN;
CREATE TEMP TABLE f(k INTEGER PRIMARY KEY, v TEXT);
CREATE TEMP TABLE l(k INTEGER PRIMARY KEY, v TEXT);
INSERT INTO f(v) VALUES ${FIRST.map((x) => `('${x}')`).join(', ')};
INSERT INTO l(v) VALUES ${LAST.map((x) => `('${x}')`).join(', ')};
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ${USERS})
INSERT INTO users(user_id, cc_id, name, role)
 SELECT printf('agent%05d', i), ${cc},
  (SELECT v FROM f WHERE k = i % ${FIRST.length} + 1) || ' ' || (SELECT v FROM l WHERE k = (i / ${FIRST.length}) % ${LAST.length} + 1),
  CASE WHEN i % 100 = 0 THEN 'Supervisor' ELSE 'Agent' END FROM n;
INSERT INTO campaign_user(campaign_id, user_pk) SELECT ${c}, pk FROM users WHERE user_id LIKE 'agent%' AND cc_id = ${cc};
COMMIT;
`;
	execFileSync('sqlite3', [db], { input: sql });
	const ids = [];
	for (let i = 1; i <= ASSIGNED; i++)
		ids.push(idOf(i));
	await api.ok('PUT', '/voice/campaignLeadUserMapping', {
		leadId: lead, campaignId: c, assignedUserIds: ids, unassignedUserIds: [],
	});
	return { cc, p, c, lead };
}

/* WCAG's contrast ratio of a row's text on its background, in the page. */
function contrastOf(page, selector) {
	return page.$eval(selector, (el) => {
		const rgb = (s) => s.match(/[\d.]+/g).slice(0, 4).map(Number);
		const lum = ([r, g, b]) => {
			const f = (v) => {
				v /= 255;
				return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4;
			};
			return 0.2126 * f(r) + 0.7152 * f(g) + 0.0722 * f(b);
		};
		let bg = null;
		for (let e = el; e && !bg; e = e.parentElement) {
			const c = rgb(getComputedStyle(e).backgroundColor);
			if (c.length < 4 || c[3] > 0)
				bg = c;
		}
		const fg = lum(rgb(getComputedStyle(el).color)), b = lum(bg || [255, 255, 255]);
		return (Math.max(fg, b) + 0.05) / (Math.min(fg, b) + 0.05);
	});
}

/* Milliseconds from doing to the page showing it, from the test's side. */
async function timed(page, doIt, shownFn, arg) {
	const t = Date.now();
	await doIt();
	await page.waitForFunction(shownFn, arg, { timeout: 10000, polling: 'raf' });
	return Date.now() - t;
}

const text = (page, sel) => page.innerText(sel).then((t) => t.trim());
const num = (s) => Number(String(s).replace(/[^\d]/g, ''));

/* The steps at one size, in a context of its own; who: {last name to
 * select all of, id prefix of a few to "assign all shown"}, other users at
 * each size, since the first size's moves are saved. */
async function atSize(browser, base, api, ids, size, who) {
	const [w, h] = size;
	const at = `${w}x${h}`;
	const context = await browser.newContext({ viewport: { width: w, height: h }, locale: 'en-GB', timezoneId: 'UTC' });
	const page = await context.newPage();
	page.setDefaultTimeout(15000);
	const problems = [];
	page.on('pageerror', (e) => problems.push('page error: ' + e.message));
	const mappingPath = `/voice/campaignLeadUserMapping?campaignId=${ids.c}&leadId=${ids.lead}`;
	const server = async () => (await api.ok('GET', mappingPath)).data;
	const before = await server();
	const times = {};

	await step(`${at}: 20,000 campaign users open as two listboxes that draw only the rows in view`, async () => {
		await page.goto(base + '/cms/ui/');
		await page.fill('#login-username', SUPERVISOR);
		await page.fill('#login-password', SUPERVISOR_PASSWORD);
		const t = Date.now();
		await page.click('#login-submit');
		await page.waitForSelector('#mapping:not([hidden])');     /* one of each: picked by itself */
		await page.waitForFunction(() => document.querySelector('#unassigned-list [role="option"]'));
		console.log(`# ${at}: sign-in to both lists shown: ${Date.now() - t} ms`);
		same(num(await text(page, '#assigned-count')), before.assignedUserIds.length, 'the assigned count');
		same(num(await text(page, '#unassigned-count')), before.unassignedUserIds.length, 'the unassigned count');
		for (const side of ['assigned', 'unassigned']) {
			const lb = `#${side}-list`;
			same(await page.getAttribute(lb, 'role'), 'listbox', `${side}: role`);
			same(await page.getAttribute(lb, 'aria-multiselectable'), 'true', `${side}: aria-multiselectable`);
			const rows = await page.locator(`${lb} [role="option"]`).count();
			check(rows > 5 && rows < 80, `${side}: ${rows} rows in the page`);
		}
		same((await listShown(page, 'unassigned')).slice(0, 2), before.unassignedUserIds.slice(0, 2), 'the first rows');
		/* scrolled to the middle: the rows there are drawn, the first ones gone */
		const mid = Math.floor(before.unassignedUserIds.length / 2);
		await page.$eval('#unassigned-list', (e, i) => { e.scrollTop = i * 34; }, mid);
		await page.waitForSelector(`#unassigned-list [data-index="${mid}"]`);
		same(await page.getAttribute(`#unassigned-list [data-index="${mid}"]`, 'data-value'),
			before.unassignedUserIds[mid], 'the row in the middle');
		same(await page.locator('#unassigned-list [data-index="0"]').count(), 0, 'the first row, scrolled away');
		await page.$eval('#unassigned-list', (e) => { e.scrollTop = 0; });
		await page.waitForSelector('#unassigned-list [data-index="0"]');
		same(await page.getAttribute('#unassigned-list [role="option"]', 'aria-setsize'),
			String(before.unassignedUserIds.length), 'aria-setsize');
		await axe(page, `${at} lists of 20,000 users`);
	});

	await step(`${at}: selected rows (Ctrl+click, or the check box on a phone) are checked and readable while the list has the focus (point 2)`, async () => {
		const first = before.unassignedUserIds[0], third = before.unassignedUserIds[2];
		await page.click(`#unassigned-list [data-value="${first}"]`);
		if (w > 760)
			await page.click(`#unassigned-list [data-value="${third}"]`, { modifiers: ['Control'] });
		else    /* a phone has no Ctrl: the row's check box adds it */
			await page.click(`#unassigned-list [data-value="${third}"] .lb-check`);
		same(await page.evaluate(() => document.activeElement.id), 'unassigned-list', 'the focus');
		const sel = '#unassigned-list [aria-selected="true"]';
		same(await page.$$eval(sel, (r) => r.map((x) => x.dataset.value)), [first, third], 'selected rows');
		same(await page.$$eval(`${sel} .lb-check`, (r) => r.map((x) => x.textContent)), ['✓', '✓'], 'check marks');
		const ratio = await contrastOf(page, `${sel} .lb-text`);
		console.log(`# ${at}: a selected row's text contrast ${ratio.toFixed(2)}:1`);
		check(ratio >= 4.5, `a selected row's contrast ${ratio.toFixed(2)}:1`);
		const active = await page.getAttribute('#unassigned-list', 'aria-activedescendant');
		same(await page.$eval(`#${active}`, (r) => r.dataset.value), third, 'the active row');
		same(await text(page, '#unassigned-selected'), '2 selected', 'the selected count');
		await page.screenshot({ path: path.join(OUT, `bulk-selected-${at}.png`) });
		await axe(page, `${at} two rows selected`);
	});

	await step(`${at}: the keyboard selects: Home, Shift+Down, End, Ctrl+A, typing a name`, async () => {
		const un = before.unassignedUserIds;
		await page.keyboard.press('Home');
		await page.keyboard.press('Shift+ArrowDown');
		await page.keyboard.press('Shift+ArrowDown');
		same(await page.$$eval('#unassigned-list [aria-selected="true"]', (r) => r.map((x) => x.dataset.value)),
			un.slice(0, 3), 'Home, Shift+Down twice');
		await page.keyboard.press('End');
		const active = await page.getAttribute('#unassigned-list', 'aria-activedescendant');
		same(await page.$eval(`#${active}`, (r) => r.dataset.value), un[un.length - 1], 'End');
		await page.keyboard.press('Control+a');
		same(await text(page, '#unassigned-selected'), `${un.length.toLocaleString('en')} selected`, 'Ctrl+A');
		await page.keyboard.type('agent12', { delay: 20 });
		const typed = await page.getAttribute('#unassigned-list', 'aria-activedescendant');
		check((await page.$eval(`#${typed}`, (r) => r.dataset.value)).startsWith('agent12'), 'typing went nowhere');
		same(await text(page, '#unassigned-selected'), '1 selected', 'after typing');
	});

	let named = 0;
	const lname = who.name.toLowerCase();
	await step(`${at}: the filter finds by id, name and role`, async () => {
		const un = new Set(before.unassignedUserIds);
		const want = (pred) => [...un].filter((u) => pred(Number(u.slice(5)))).length;
		named = want((i) => nameOf(i).includes(who.name));
		times.filter = await timed(page, () => page.fill('#unassigned-filter', lname),
			(n) => document.querySelector('#unassigned-count').textContent.startsWith(n), named.toLocaleString('en') + ' of');
		same(num((await text(page, '#unassigned-count')).split(' of ')[0]), named, 'by name');
		check((await listShown(page, 'unassigned')).every((u) => nameOf(Number(u.slice(5))).includes(who.name)),
			`a row without ${who.name}`);
		await page.fill('#unassigned-filter', 'supervisor');
		same(num((await text(page, '#unassigned-count')).split(' of ')[0]), want((i) => roleOf(i) === 'Supervisor'),
			'by role');
		await page.fill('#unassigned-filter', idOf(19999));
		same(await listShown(page, 'unassigned'), un.has(idOf(19999)) ? [idOf(19999)] : [], 'by id');
		await page.fill('#unassigned-filter', lname);
		check(named > 50, `only ${named} users named ${who.name}`);
	});

	await step(`${at}: "Assign all shown" above 50 users asks first; Cancel changes nothing (point 9)`, async () => {
		await page.fill('#unassigned-filter', '');
		await page.click('#assign-all-btn');
		await page.waitForSelector('#bulk-confirm[open]');
		const n = before.unassignedUserIds.length.toLocaleString('en');
		same(await text(page, '#bulk-confirm-title'), `Assign all ${n} users shown?`, 'the question');
		same(await text(page, '#bulk-confirm-ok'), `Assign ${n} users`, 'the button');
		same(await page.evaluate(() => document.activeElement.id), 'bulk-confirm-cancel', 'the focus');
		await page.screenshot({ path: path.join(OUT, `bulk-confirm-${at}.png`) });
		await axe(page, `${at} confirm "Assign all shown"`);
		await page.click('#bulk-confirm-cancel');
		await page.waitForFunction(() => !document.querySelector('#bulk-confirm').open);
		same(await text(page, '#pending'), 'No unsaved changes.', 'after Cancel');
		same(await page.evaluate(() => document.activeElement.id), 'assign-all-btn', 'the focus after Cancel');
		await page.click('#assign-all-btn');
		await page.waitForSelector('#bulk-confirm[open]');
		await page.keyboard.press('Escape');
		await page.waitForFunction(() => !document.querySelector('#bulk-confirm').open);
		same(await text(page, '#pending'), 'No unsaved changes.', 'after Escape');
	});

	let moved = 0;
	await step(`${at}: select all matching and Assign; the save bar counts, stays in view, names who on demand (point 3)`, async () => {
		await page.fill('#unassigned-filter', lname);
		times.selectAll = await timed(page, () => page.click('#unassigned-select-all'),
			(n) => document.querySelector('#unassigned-selected').textContent === n, `${named.toLocaleString('en')} selected`);
		times.move = await timed(page, () => page.click('#assign-btn'),
			() => /to assign/.test(document.querySelector('#pending').textContent));
		/* a few more, through "Assign all shown" under the threshold: no question */
		await page.fill('#unassigned-filter', who.prefix);
		const few = (await listShown(page, 'unassigned')).length;
		check(few > 0 && few <= 50, `${few} users match ${who.prefix}`);
		await page.click('#assign-all-btn');
		check(await page.isHidden('#bulk-confirm'), 'asked about a few');
		moved = named + few;
		const pending = await text(page, '#pending');
		same(pending, `Unsaved: ${moved.toLocaleString('en')} users to assign.`, 'the save bar');
		same(await page.getAttribute('#pending', 'aria-live'), 'polite', 'the live line');
		same(await page.$eval('#pending-who', (e) => e.childNodes.length), 0, 'who, before asked');
		await page.click('#pending-details summary');
		await page.waitForFunction(() => document.querySelector('#pending-who').childNodes.length);
		const names = await text(page, '#pending-who');
		check(names.includes(`${moved.toLocaleString('en')} users to assign:`) && names.includes(who.prefix),
			`who: ${names.slice(0, 80)}`);
		await axe(page, `${at} moves pending, who shown`);
		await page.click('#pending-details summary');
		/* the lists at the top of the view: Save is still in it */
		await page.$eval('#unassigned-list', (e) => e.scrollIntoView({ block: 'start' }));
		const box = await page.locator('#save-btn').boundingBox();
		check(box && box.y >= 0 && box.y + box.height <= h, `Save at y ${box && box.y} of ${h}`);
		/* the page at its top: the bar is stuck at the bottom of the view, and
		 * a message shown now sits above it, not on Save */
		await page.evaluate(() => window.scrollTo(0, 0));
		const bar = await page.locator('#save-bar').boundingBox();
		check(Math.abs(bar.y + bar.height - h) <= 1, `the save bar is not at the bottom of the view: ${JSON.stringify(bar)}`);
		await page.click('#assigned-select-all');
		await page.waitForSelector('#status:not(:empty)');
		const toast = await page.locator('#status').boundingBox();
		const save = await page.locator('#save-btn').boundingBox();
		check(toast.y + toast.height <= save.y || save.y + save.height <= toast.y
			|| toast.x + toast.width <= save.x || save.x + save.width <= toast.x,
			`the message (${JSON.stringify(toast)}) covers Save (${JSON.stringify(save)})`);
		await page.screenshot({ path: path.join(OUT, `bulk-pending-${at}.png`) });
	});

	await step(`${at}: Preview and Save count; the message is short; the history counts`, async () => {
		await page.click('#preview-btn');
		await page.waitForSelector('#preview-box:not([hidden])');
		same(await text(page, '#preview-assigned'), `${moved.toLocaleString('en')} users`, 'preview: assign');
		times.save = await timed(page, () => page.click('#save-btn'),
			() => /Saved/.test(document.querySelector('#status').textContent)
				|| document.querySelector('#alert').textContent);
		same(await text(page, '#alert'), '', 'the alert');
		same(await text(page, '#status'), `Saved: ${moved.toLocaleString('en')} users assigned.`, 'the message');
		const after = await server();
		same(after.assignedUserIds.length, before.assignedUserIds.length + moved, 'assigned on the server');
		same(await text(page, '#pending'), 'No unsaved changes.', 'the save bar after Save');
		await page.waitForFunction((n) => document.querySelector('#history-body tr')
			&& document.querySelector('#history-body tr').textContent.includes(n), `${moved.toLocaleString('en')} users`);
		const row = page.locator('#history-body tr').first();
		same(await row.locator('.chip').count(), 1, 'chips in the newest history row, closed');
		await row.locator('summary').first().click();
		await page.waitForFunction(() => document.querySelector('#history-body tr .who .chip'));     /* filled on toggle */
		same(await row.locator('.who .chip').count(), moved, 'chips once opened');
		await axe(page, `${at} saved, history`);
		console.log(`# timing ${at} (20,000 users, from the test's side): filter ${times.filter} ms, `
			+ `select all matching ${times.selectAll} ms, move ${times.move} ms, save ${times.save} ms`);
	});

	await step(`${at}: the move buttons' arrows point where the users go (sideways, or down and up when the lists are stacked)`, async () => {
		const stacked = await page.evaluate(() => {
			const u = document.querySelector('#unassigned-list').getBoundingClientRect();
			const a = document.querySelector('#assigned-list').getBoundingClientRect();
			return a.top >= u.bottom;
		});
		const texts = [];
		for (const id of ['assign-btn', 'assign-all-btn', 'unassign-btn', 'unassign-all-btn'])
			texts.push((await page.locator('#' + id).innerText()).replace(/\s+/g, ' ').trim());
		same(texts, stacked
			? ['Assign ↓', 'Assign all shown ⇓', '↑ Unassign', '⇑ Unassign all shown']
			: ['Assign →', 'Assign all shown ⇒', '← Unassign', '⇐ Unassign all shown'], `the buttons (lists ${stacked ? '' : 'not '}stacked)`);
	}, false);

	await step(`${at}: no script error`, async () => same(problems, [], 'problems'));
	await context.close();
}

async function main() {
	if (!toolsThere())
		return;
	const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cmsd-ui-bulk.'));
	let cmsd = null, browser = null;
	try {
		cmsd = await startCmsd(dir);
		const base = `http://127.0.0.1:${cmsd.port}`;
		const api = client(base);
		let ids;
		await step(`${USERS.toLocaleString('en')} users in one campaign (SQLite, while cmsd runs)`, async () => {
			const t = Date.now();
			ids = await setUp(api, path.join(dir, 'ui.db'));
			const m = (await api.ok('GET', `/voice/campaignLeadUserMapping?campaignId=${ids.c}&leadId=${ids.lead}`)).data;
			same(m.assignedUserIds.length + m.unassignedUserIds.length, USERS, 'campaign users the mapping knows');
			console.log(`# set-up: ${Date.now() - t} ms`);
		});
		browser = await launch();
		await atSize(browser, base, api, ids, [1366, 768], { name: 'Okafor', prefix: 'agent1999' });
		await atSize(browser, base, api, ids, [390, 844], { name: 'Khan', prefix: 'agent1998' });
	} catch (e) {
		report(false, 'the test ran to its end', e && e.stack ? e.stack : String(e));
	} finally {
		if (browser)
			await browser.close().catch(() => {});
		await stopCmsd(cmsd);
		if (failures())
			console.log(`# cmsd's log and store kept in ${dir}`);
		else
			fs.rmSync(dir, { recursive: true, force: true });
	}
}

run(main);
