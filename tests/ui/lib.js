/*
 * tests/ui/lib.js - what every browser test of the console shares: TAP-like
 * reporting ("ok N - name", SKIP lines, the closing "N passed, N failed"),
 * steps that block the rest when a required one fails, a real cmsd on its
 * own temporary SQLite store and a free port, the API from the test's side,
 * and Debian's Chromium through playwright-core.
 *
 * Environment: CMSD_BIN (default build/cmsd), CHROMIUM_BIN (default
 * /usr/bin/chromium), UI_TEST_HEADED=1 to watch.
 */
'use strict';

const { chromium } = require('playwright-core');
const { spawn } = require('node:child_process');
const crypto = require('node:crypto');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const readline = require('node:readline');

const ROOT = path.resolve(__dirname, '..', '..');
const CMSD = path.resolve(ROOT, process.env.CMSD_BIN || 'build/cmsd');
const CHROMIUM = process.env.CHROMIUM_BIN || '/usr/bin/chromium';
const OUT = path.join(__dirname, 'out');

const ADMIN = 'ui_sysadmin';
const ADMIN_PASSWORD = 'sys-' + crypto.randomBytes(12).toString('hex');

/* ---------- TAP-like reporting ---------- */

let n = 0, passed = 0, failed = 0, skipped = 0, blocked = null;

function report(ok, name, why) {
	n++;
	if (ok)
		passed++;
	else
		failed++;
	console.log(`${ok ? 'ok' : 'not ok'} ${n} - ${name}`);
	if (why)
		for (const line of String(why).split('\n').slice(0, 12))
			console.log('#   ' + line);
}

/* Thrown by a step that cannot run against this cmsd: it prints a SKIP
 * line and counts neither as passed nor as failed. */
class Skip extends Error {}

function skip(name, why) {
	throw new Skip(`${name}: ${why}`);
}

/* Run one step.  A failed `required` step fails every later step without
 * running it (they would only time out, one after another). */
async function step(name, fn, required = true) {
	if (blocked) {
		report(false, name, `not run: "${blocked}" failed`);
		return false;
	}
	try {
		await fn();
		report(true, name);
		return true;
	} catch (e) {
		if (e instanceof Skip) {
			skipped++;
			console.log(`SKIP ${e.message}`);
			return true;
		}
		report(false, name, e && e.stack ? e.stack : String(e));
		if (required)
			blocked = name;
		return false;
	}
}

function check(cond, msg) {
	if (!cond)
		throw new Error(msg);
}

/* Wait until fn() (sync or async) answers true, at most ms. */
async function until(fn, ms, what) {
	const end = Date.now() + ms;
	while (!(await fn())) {
		if (Date.now() > end)
			throw new Error(`${what}: not within ${ms} ms`);
		await new Promise((resolve) => setTimeout(resolve, 50));
	}
}

function same(actual, expected, msg) {
	const a = JSON.stringify(actual), e = JSON.stringify(expected);
	if (a !== e)
		throw new Error(`${msg}: got ${a}, want ${e}`);
}

/* ---------- cmsd ---------- */

async function startCmsd(dir) {
	const env = {};
	for (const [k, v] of Object.entries(process.env))
		if (!k.startsWith('CMSD_'))
			env[k] = v;
	Object.assign(env, { CMSD_ADMIN_USER: ADMIN, CMSD_ADMIN_PASSWORD: ADMIN_PASSWORD });
	const log = fs.createWriteStream(path.join(dir, 'cmsd.log'));
	const child = spawn(CMSD, ['--db', `sqlite:${path.join(dir, 'ui.db')}`, '--listen', '127.0.0.1:0',
		'--pwhash', 'min', '--threads', '2'], { env, stdio: ['ignore', 'ignore', 'pipe'] });
	const port = await new Promise((resolve, reject) => {
		const timer = setTimeout(() => reject(new Error('cmsd logged no "listening" line within 15 s')), 15000);
		child.on('error', (e) => { clearTimeout(timer); reject(e); });
		child.on('exit', (code) => { clearTimeout(timer); reject(new Error(`cmsd exited (${code}) before listening`)); });
		readline.createInterface({ input: child.stderr }).on('line', (line) => {
			log.write(line + '\n');
			let o;
			try { o = JSON.parse(line); } catch (e) { return; }
			if (o.msg === 'listening' && o.port) {
				clearTimeout(timer);
				resolve(o.port);
			}
		});
	});
	child.removeAllListeners('exit');
	return { child, port, log };
}

async function stopCmsd(c) {
	if (!c || c.child.exitCode !== null)
		return;
	const done = new Promise((resolve) => c.child.on('exit', resolve));
	c.child.kill('SIGTERM');
	const t = setTimeout(() => c.child.kill('SIGKILL'), 10000);
	await done;
	clearTimeout(t);
}

/* ---------- the API, from the test's side ---------- */

function client(base) {
	let token = null;
	async function call(method, p, body, headers = {}) {
		const h = { Accept: 'application/json', ...headers };
		if (token)
			h.Authorization = 'Bearer ' + token;
		if (body !== undefined)
			h['Content-Type'] = 'application/json';
		const res = await fetch(base + '/cms/configuration' + p, {
			method, headers: h, body: body === undefined ? undefined : JSON.stringify(body),
		});
		const text = await res.text();
		let data = null;
		try { data = text ? JSON.parse(text) : null; } catch (e) { data = text; }
		return { status: res.status, data, headers: res.headers };
	}
	async function ok(method, p, body, headers) {
		const r = await call(method, p, body, headers);
		if (r.status >= 300)
			throw new Error(`${method} ${p}: ${r.status} ${JSON.stringify(r.data)}`);
		return r;
	}
	return {
		call, ok,
		async login(user, password) {
			const r = await ok('POST', '/basicauth', { username: user, password });
			token = r.data.authToken;
			return r.data;
		},
	};
}

/* Choose the option of <select> `selector` named `name`: the lead picker's
 * options carry counts after the name ("Spring renewals · 2 assigned",
 * web/counts.js), so the bare name is matched against data-name first. */
async function pickNamed(page, selector, name) {
	const value = await page.$eval(selector, (s, n) => {
		const o = [...s.options].find((x) => (x.dataset.name || x.textContent).trim() === n);
		return o ? o.value : null;
	}, name);
	if (value === null)
		throw new Error(`${selector} has no option "${name}"`);
	await page.selectOption(selector, value);
}

/* axe-core's rules: WCAG 2.0, 2.1 and 2.2 A and AA, and the best practices */
const AXE_TAGS = ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22aa', 'best-practice'];
let axeSource = null;

/* Run axe-core on what the page shows now (the screen named `screen`);
 * throws listing every violation of any impact.  The source goes in
 * through the DevTools protocol, so the console's CSP stays as it is. */
async function axe(page, screen) {
	if (!axeSource)
		axeSource = fs.readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');
	if (!(await page.evaluate(() => typeof window.axe === 'object')))
		await page.evaluate(axeSource);
	const r = await page.evaluate((tags) => window.axe.run(document,
		{ runOnly: { type: 'tag', values: tags }, resultTypes: ['violations'] }), AXE_TAGS);
	console.log(`# axe ${screen}: ${r.passes.length} rules passed, ${r.violations.length} violations`);
	if (r.violations.length)
		throw new Error(`axe on ${screen}:\n` + r.violations.map((v) => `${v.impact} ${v.id}: ${v.help} - `
			+ v.nodes.slice(0, 3).map((nd) => nd.target.join(' ')).join('; ')).join('\n'));
}

/* Debian's Chromium, headless unless UI_TEST_HEADED=1. */
function launch() {
	return chromium.launch({
		executablePath: CHROMIUM,
		headless: process.env.UI_TEST_HEADED !== '1',
		args: ['--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
			'--disable-component-update', '--disable-sync', '--disable-extensions'],
	});
}

/* cmsd and Chromium are there, else one failed check saying what to run. */
function toolsThere() {
	console.log('# cmsd: ' + path.relative(ROOT, CMSD) + ', browser: ' + CHROMIUM);
	for (const [what, file] of [['cmsd', CMSD], ['chromium', CHROMIUM]])
		if (!fs.existsSync(file)) {
			report(false, `${what} is there`, `${file} is missing (${what === 'cmsd' ? 'run make' : 'run scripts/bootstrap'})`);
			return false;
		}
	fs.mkdirSync(OUT, { recursive: true });
	return true;
}

/* Run a test's main and print the closing lines; the exit code is 1 when
 * anything failed or nothing passed. */
function run(main) {
	main().catch((e) => report(false, 'the test ran', e.stack)).finally(() => {
		console.log(`1..${n}`);
		if (skipped)
			console.log(`# ${skipped} skipped (the SKIP lines above say why)`);
		console.log(`${passed} passed, ${failed} failed`);
		process.exitCode = failed || !passed ? 1 : 0;
	});
}

function failures() {
	return failed;
}

module.exports = {
	ROOT, CMSD, CHROMIUM, OUT, ADMIN, ADMIN_PASSWORD,
	report, Skip, skip, step, check, until, same, startCmsd, stopCmsd, client, launch, toolsThere, run, failures, axe,
	pickNamed,
};

/* A screenshot of what the page shows, named `name`: into docs/screenshots/
 * when UI_SCREENSHOTS=docs (the README shows those; run after a change to
 * the console's look), else into tests/ui/out/. */
async function screenshot(page, name, fullPage = false) {
	const dir = process.env.UI_SCREENSHOTS === 'docs' ? path.join(ROOT, 'docs', 'screenshots') : OUT;
	fs.mkdirSync(dir, { recursive: true });
	await page.screenshot({ path: path.join(dir, name + '.png'), fullPage, animations: 'disabled', caret: 'hide' });
}

module.exports.screenshot = screenshot;

/* Run body({base, browser, dir}) against a cmsd of its own (a temporary
 * store in dir, a free port) and Debian's Chromium; a throw is one failed
 * check.  Both are stopped at the end; the store and cmsd's log are kept,
 * and their folder printed, when anything failed. */
async function withCmsd(name, body) {
	if (!toolsThere())
		return;
	const started = Date.now();
	const dir = fs.mkdtempSync(path.join(os.tmpdir(), `cmsd-ui-${name}.`));
	let cmsd = null, browser = null, keepDir = false;
	try {
		cmsd = await startCmsd(dir);
		browser = await launch();
		await body({ base: `http://127.0.0.1:${cmsd.port}`, browser, dir });
	} catch (e) {
		report(false, 'the test ran to its end', e && e.stack ? e.stack : String(e));
		keepDir = true;
	} finally {
		await finish(browser, cmsd, dir, keepDir);
		console.log(`# ${name}: ${((Date.now() - started) / 1000).toFixed(1)} s`);
	}
}

/* The end of a test: Chromium and cmsd stopped; the store and cmsd's log
 * in dir kept, and the folder printed, when anything failed (or keep). */
async function finish(browser, cmsd, dir, keep) {
	if (browser)
		await browser.close().catch(() => {});
	await stopCmsd(cmsd);
	if (keep || failed)
		console.log(`# cmsd's log and store kept in ${dir}`);
	else
		fs.rmSync(dir, { recursive: true, force: true });
}

module.exports.withCmsd = withCmsd;
module.exports.finish = finish;

/* Sign in through the console's form. */
async function logIn(page, user, password) {
	await page.fill('#login-username', user);
	await page.fill('#login-password', password);
	await page.click('#login-submit');
}

module.exports.logIn = logIn;
