#!/usr/bin/env node
/*
 * check-responses.js - holds every request/response exchange that a
 * black-box run recorded (tests/api/harness.py, CMSD_RECORD_EXCHANGES: one
 * JSON object a line) against docs/openapi.json, with a third-party OpenAPI
 * response validator: openapi-backend (pinned in package-lock.json), whose
 * router matches the operation and whose Ajv validators check the body and
 * the declared headers of the answer's status.
 *
 * openapi-backend passes a status the operation does not declare, and does
 * not look at media types; so this script also requires that the status
 * (or a range or default) is declared, that the answer's Content-Type is
 * one the document lists for it, and that an exchange on a path the
 * document does not know is an error envelope (components.schemas.Error).
 * HEAD answers are held against the HEAD operation (the GET's where the
 * document has none): status and headers; their bodies are empty.
 *
 * usage: node check-responses.js DOC EXCHANGES.jsonl
 * Exit 0: every exchange matches; 1: mismatches (each printed with its
 * exchange); 2: could not run.
 */
'use strict';

const fs = require('fs');
const { OpenAPIBackend } = require('openapi-backend');

function short(s, n) {
	s = String(s);
	return s.length > n ? s.slice(0, n) + '...' : s;
}

async function main() {
	const [docPath, recPath] = process.argv.slice(2);
	if (!docPath || !recPath) {
		console.error('usage: check-responses.js DOC EXCHANGES.jsonl');
		process.exit(2);
	}
	const definition = JSON.parse(fs.readFileSync(docPath, 'utf8'));
	const api = new OpenAPIBackend({
		// quick: no check of the document itself (openapi-backend 5.15 holds it to
		// the OpenAPI 3.0 schema; scripts/lint-openapi checks this 3.1 document)
		definition, strict: true, quick: true, validate: true,
		ajvOpts: { strict: false, allErrors: true },
		customizeAjv: (ajv) => {
			// formats the document uses, checked as JSON Schema defines them
			ajv.addFormat('date-time', (s) =>
				/^\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$/.test(s) &&
				!isNaN(Date.parse(s.toUpperCase())));
			ajv.addFormat('int64', { type: 'number', validate: (n) => Number.isInteger(n) });
			ajv.addFormat('uri', (s) => /^[a-z][a-z0-9+.-]*:/i.test(s));
			ajv.addFormat('email', (s) => /^[^@\s]+@[^@\s]+$/.test(s));
			return ajv;
		},
	});
	await api.init();
	const doc = api.definition; // dereferenced
	const Ajv = require('ajv');
	const ajv = new Ajv({ strict: false, allErrors: true });
	const validateError = ajv.compile(doc.components.schemas.Error);

	const lines = fs.readFileSync(recPath, 'utf8').split('\n').filter((l) => l.trim());
	const seen = new Map(); // operationId -> set of statuses
	const bad = [];
	let unmatched = 0;
	const checked = new Set();
	let repeats = 0;

	for (const line of lines) {
		const x = JSON.parse(line);
		const problems = [];
		const headers = {};
		for (const [k, v] of x.headers) {
			const key = k.toLowerCase();
			headers[key] = key in headers ? headers[key] + ', ' + v : v;
		}
		const ctype = (headers['content-type'] || '').split(';')[0].trim().toLowerCase();
		// a body over the harness's record limit is recorded by its length only
		const hasBody = !!(x.body && x.body.length) || x.bodyBytes > 0;
		// an exchange like one already checked (but for X-Request-Id and Date) is not checked again
		const key = JSON.stringify([x.method, x.path, x.status, x.body, x.bodyBytes,
			Object.entries(headers).filter(([k]) => k !== 'x-request-id' && k !== 'date').sort()]);
		if (checked.has(key)) {
			repeats++;
			continue;
		}
		checked.add(key);
		const [pathOnly, query = ''] = x.path.split('?');
		let method = x.method.toLowerCase();
		let op = null;
		try {
			op = api.matchOperation({ method, path: pathOnly, query, headers });
			if (!op && method === 'head') { // a document without HEAD operations
				method = 'get';
				op = api.matchOperation({ method, path: pathOnly, query, headers });
			}
		} catch (e) {
			op = null;
		}
		let body;
		if (x.body && (ctype === 'application/json' || ctype.endsWith('+json'))) {
			try {
				body = JSON.parse(x.body);
			} catch (e) {
				problems.push('the body is not JSON: ' + e.message);
			}
		}
		if (!op) {
			unmatched++;
			// a path or method the document does not know: an error, in the envelope
			if (x.status < 400)
				problems.push('no operation in the document for ' + method.toUpperCase() + ' ' + pathOnly);
			else if (x.method !== 'HEAD' && !(body !== undefined && validateError(body)))
				problems.push('an error on an unknown path is not the Error envelope: ' +
					JSON.stringify(validateError.errors || 'no JSON body'));
		} else {
			const id = op.operationId;
			if (!seen.has(id))
				seen.set(id, new Set());
			seen.get(id).add(x.status);
			const rs = op.responses || {};
			const s = String(x.status);
			const decl = rs[s] || rs[s[0] + 'XX'] || rs.default;
			if (!decl) {
				problems.push('status ' + s + ' is not declared for ' + id +
					' (declared: ' + Object.keys(rs).join(', ') + ')');
			} else if (x.method !== 'HEAD') {
				const content = decl.content || {};
				if (hasBody && !content[ctype])
					problems.push('Content-Type ' + (ctype || '(none)') + ' is not declared for ' +
						id + ' ' + s + ' (declared: ' + (Object.keys(content).join(', ') || 'no body') + ')');
				else if (!hasBody && Object.keys(content).length && x.status !== 204 && x.status !== 304 &&
					ctype !== 'text/event-stream') /* a stream the client cut before its first event */
					problems.push('no body, where ' + id + ' ' + s + ' declares ' + Object.keys(content).join(', '));
				if (body !== undefined && content[ctype]) {
					const v = api.validateResponse(body, op, x.status);
					if (v.errors)
						problems.push('body: ' + JSON.stringify(v.errors));
				}
			}
			if (decl && decl.headers) {
				// the headers' schemas (setMatchType 'any': openapi-backend's
				// 'superset' would require every declared header, although a
				// header's `required` defaults to false) ...
				const v = api.validateResponseHeaders(headers, op,
					{ statusCode: x.status, setMatchType: 'any' });
				if (v.errors)
					problems.push('headers: ' + JSON.stringify(v.errors));
				// ... and those declared `required: true`
				for (const [name, h] of Object.entries(decl.headers))
					if (h.required && !(name.toLowerCase() in headers))
						problems.push('header ' + name + ' is required for ' + s + ' but missing');
			}
		}
		if (problems.length)
			bad.push({ x, problems });
	}

	for (const { x, problems } of bad.slice(0, 200)) {
		console.log('MISMATCH ' + x.method + ' ' + x.path + ' -> ' + x.status +
			(x.module ? '  (' + x.module + ')' : ''));
		for (const p of problems)
			console.log('  ' + short(p, 1500));
		console.log('  response headers: ' + short(JSON.stringify(x.headers), 600));
		console.log('  response body: ' + short(x.body || '', 600));
	}
	let ops = 0;
	const missing = [];
	for (const [p, item] of Object.entries(doc.paths))
		for (const m of ['get', 'put', 'post', 'delete', 'patch', 'head'])
			if (item[m]) {
				ops++;
				if (!seen.has(item[m].operationId))
					missing.push(m.toUpperCase() + ' ' + p);
			}
	console.log('# ' + lines.length + ' exchanges, ' + repeats + ' of them repeats of another (not checked again); ' + unmatched +
		' on paths or methods the document does not describe (held to the Error envelope); ' +
		(ops - missing.length) + ' of ' + ops + ' operations exercised');
	if (missing.length)
		console.log('# operations no exchange exercised: ' + missing.join('; '));
	console.log('# ' + bad.length + ' mismatches');
	process.exit(bad.length ? 1 : 0);
}

main().catch((e) => {
	console.error('check-responses: ' + (e && e.stack || e));
	process.exit(2);
});
