// Browser tests of the signed-request pages in Debian's Chromium, driven by
// playwright-core: the revocation form (CSP, labels, Tab order), step 1 to
// step 2, the document's download byte for byte, a signature made with
// openssl (qpki_sign, in a shell) uploaded through the file input, a
// garbage upload, a legal representative who signs in with a signed login
// document and approves a business reactivation, CSRF on every POST and a
// tampered session cookie.  tests/browser/test_sign.sh starts the PKI and
// the stack and fills the registry; it passes:
//   STACK_URL          the stack
//   SIGN_DB            its SQLite database (read with the sqlite3 program)
//   SIGN_QPKI          the qpki directory (qpki_sign signs with it)
//   SIGN_WORK          a scratch directory
//   SIGN_N0            how many tests the caller already numbered
//   QPKI_SERIAL_ALICE, QPKI_SERIAL_BOB  the certificates' serials
// Prints "ok N - name" / "not ok N - name" lines and, last,
// "RESULT passed=N failed=M" (its own tests only).
import { chromium } from 'playwright-core';
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';

const env = process.env;
const base = env.STACK_URL;
let n = Number(env.SIGN_N0 || 0), passed = 0, failed = 0;
function ok(name) { n++; passed++; console.log(`ok ${n} - ${name}`); }
function notok(name, why) {
	n++; failed++;
	console.log(`not ok ${n} - ${name}`);
	for (const l of String(why).split('\n').slice(0, 10))
		console.log(`# ${l}`);
}
// check NAME FN: ok unless FN throws or returns false.
async function check(name, fn) {
	try {
		const r = await fn();
		if (r === false)
			notok(name, 'condition false');
		else
			ok(name);
	} catch (e) {
		notok(name, e && e.stack ? e.stack : e);
	}
}
function expect(what, got, want) {
	if (got !== want)
		throw new Error(`${what}: got ${JSON.stringify(got)}, ` +
		    `expected ${JSON.stringify(want)}`);
}
// section NAME FN: one flow; what breaks it outside its checks fails it
// as one test, and the next flow still runs.
async function section(name, fn) {
	try {
		await fn();
	} catch (e) {
		notok(`${name}: the flow broke off`, e && e.stack ? e.stack : e);
	}
}

for (const v of ['STACK_URL', 'SIGN_DB', 'SIGN_QPKI', 'SIGN_WORK',
    'QPKI_SERIAL_ALICE', 'QPKI_SERIAL_BOB']) {
	if (!env[v]) {
		notok('the environment names the stack and the PKI',
		    `${v} is not set (run tests/browser/test_sign.sh)`);
		console.log(`RESULT passed=${passed} failed=${failed}`);
		process.exit(1);
	}
}

// sql QUERY: the sqlite3 program's answer, trimmed.
function sql(q) {
	return execFileSync('sqlite3', ['-batch', env.SIGN_DB, q],
	    { encoding: 'utf8' }).trim();
}
// The requests made for the certificate of serial s: id|state|channel|
// action|auth.
function requestsOf(s) {
	return sql('SELECT r.public_id || \'|\' || r.state || \'|\' || ' +
	    'r.channel || \'|\' || r.action || \'|\' || r.auth_method ' +
	    'FROM requests r JOIN request_certificates rc ON ' +
	    'rc.request_id = r.id JOIN certificates c ON ' +
	    `c.id = rc.certificate_id WHERE c.serial = '${s}' ORDER BY r.id`)
	    .split('\n').filter((l) => l !== '');
}
// sign WHO FILE: signs FILE as holder WHO with qpki_sign; returns the
// path of the DER signature.
function sign(who, file) {
	const out = `${file}.${who}.p7s`;
	execFileSync('bash', ['-c', '. tests/integration/qpki.sh && ' +
	    'qpki_sign "$1" "$2" "$3" "$4"', 'sign', env.SIGN_QPKI, who, file,
	    out], { stdio: ['ignore', 'ignore', 'pipe'] });
	return out;
}
// The console errors, warnings (CSP violations among them) and uncaught
// exceptions of a page; Chromium also logs the page's own 4xx status as
// an error, which the refusal checks allow.
function watch(page) {
	const problems = [];
	page.on('console', (m) => {
		if (m.type() === 'error' || m.type() === 'warning')
			problems.push(`${m.type()}: ${m.text()}`);
	});
	page.on('pageerror', (e) => problems.push(`pageerror: ${e.message}`));
	return problems;
}
function clean(problems, allow) {
	const left = problems.filter((m) => !allow || !allow.test(m));
	if (left.length)
		throw new Error(left.join('\n'));
}
const STATUS_4XX = /^error: Failed to load resource: .* status of 40[13]\b/;
const SIGN_RE = /^\/sign\/([A-Za-z0-9_-]{22})$/;
const REQ_RE = /^\/requests\/([A-Za-z0-9_-]{22})$/;

// step2 PAGE: the challenge id of the step-2 page PAGE is on.
function step2(page) {
	const m = new URL(page.url()).pathname.match(SIGN_RE);
	if (!m)
		throw new Error(`not on a step-2 page: ${page.url()}`);
	return m[1];
}
// download PAGE ID: the document of challenge ID as the download link
// gives it, saved under SIGN_WORK; returns [path, Buffer, response].
async function download(page, id) {
	const r = await page.request.get(`${base}/sign/${id}/document`);
	const body = await r.body();
	const path = `${env.SIGN_WORK}/${id}.txt`;
	writeFileSync(path, body);
	return [path, body, r];
}
// upload PAGE FILE: chooses FILE in the file input and submits; returns
// the answer to the POST once the page it leads to has loaded.
async function upload(page, file) {
	await page.locator('#u-sig').setInputFiles(file);
	const [answer] = await Promise.all([
		page.waitForResponse((r) => r.request().method() === 'POST' &&
		    SIGN_RE.test(new URL(r.url()).pathname)),
		page.locator('form[enctype="multipart/form-data"] ' +
		    'button[type="submit"]').click(),
	]);
	await page.waitForLoadState('load');
	return answer;
}
// submit PAGE LOCATOR: clicks the button and waits for the page after.
async function submit(page, button) {
	await Promise.all([page.waitForNavigation(), button.click()]);
	await page.waitForLoadState('load');
}

const browser = await chromium.launch({
	executablePath: env.CHROMIUM || '/usr/bin/chromium',
	args: ['--no-sandbox', '--disable-gpu', '--disable-quic',
	    '--no-first-run', '--disable-background-networking',
	    '--disable-component-update', '--disable-sync'],
	timeout: 30000,
});
const context = await browser.newContext({ ignoreHTTPSErrors: true });
context.setDefaultTimeout(15000);
const ALICE = env.QPKI_SERIAL_ALICE, BOB = env.QPKI_SERIAL_BOB;
let bobRequest = null;

await section('the revocation form', async () => {
	const page = await context.newPage();
	const problems = watch(page);
	const resp = await page.goto(base + '/revoke');
	await check('GET /revoke renders the form under the content security ' +
	    'policy, the stylesheet applied, no console error', async () => {
		expect('status', resp.status(), 200);
		const csp = resp.headers()['content-security-policy'] || '';
		if (!/script-src 'self'/.test(csp) || /unsafe-inline/.test(csp))
			throw new Error(`CSP: ${csp}`);
		const w = await page.evaluate(() =>
		    getComputedStyle(document.body).maxWidth);
		if (w === 'none')
			throw new Error('style.css not applied');
		expect('h1', await page.locator('h1').innerText(),
		    'Revoke a certificate');
		clean(problems);
	});
	await check('every input of the page has a visible label', async () => {
		const r = await page.evaluate(() => {
			for (const d of document.querySelectorAll('details'))
				d.open = true;
			const bad = [];
			let count = 0;
			for (const el of document.querySelectorAll(
			    'input:not([type="hidden"]), select, textarea')) {
				count++;
				const good = Array.from(el.labels || []).filter((l) => {
					const b = l.getBoundingClientRect();
					return b.width > 1 && b.height > 1 &&
					    l.textContent.trim() !== '';
				});
				if (good.length === 0)
					bad.push(el.id || el.name);
			}
			for (const d of document.querySelectorAll('details'))
				d.open = false;
			return { bad, count };
		});
		if (r.count < 5)
			throw new Error(`only ${r.count} inputs found`);
		if (r.bad.length)
			throw new Error(`no visible label: ${r.bad.join(', ')}`);
	});
	await check('Tab reaches serial, reason and the button of the first ' +
	    'form in that order, the serial first of the fields', async () => {
		const seen = [];
		for (let i = 0; i < 40; i++) {
			await page.keyboard.press('Tab');
			const f = await page.evaluate(() => {
				const a = document.activeElement;
				if (!a || a === document.body)
					return null;
				const form = document.querySelector('#s-serial').form;
				return {
					key: a.id || (a.form === form &&
					    a.type === 'submit' ? 'submit' :
					    a.tagName.toLowerCase()),
					field: /^(INPUT|SELECT|TEXTAREA|BUTTON)$/
					    .test(a.tagName),
				};
			});
			if (f === null)
				continue;
			seen.push(f);
			if (f.key === 'submit')
				break;
		}
		const order = seen.map((f) => f.key);
		const want = ['s-serial', 's-reason', 'submit'];
		for (let i = 0; i < want.length; i++) {
			if (order.indexOf(want[i]) < 0)
				throw new Error(`never reached ${want[i]}: ` +
				    order.join(', '));
			if (i > 0 && order.indexOf(want[i]) <
			    order.indexOf(want[i - 1]))
				throw new Error(`out of order: ${order.join(', ')}`);
		}
		expect('first field', seen.find((f) => f.field).key, 's-serial');
	});
	await page.close();
});

await section('alice revokes with her signature', async () => {
	const page = await context.newPage();
	const problems = watch(page);
	await page.goto(base + '/revoke');
	const form = page.locator('form').filter({ has: page.locator('#s-serial') });
	await form.getByLabel('Serial number').fill(
	    ALICE.toLowerCase().replace(/(..)(?!$)/g, '$1:'));
	await form.getByLabel('Reason').selectOption('keyCompromise');
	await submit(page, form.getByRole('button',
	    { name: 'Continue to the document' }));
	const id = step2(page);
	const doc = sql('SELECT document FROM challenges WHERE ' +
	    `public_id = '${id}'`);
	await check('step 1 leads to step 2, which shows the document to sign',
	    async () => {
		const shown = await page.locator('#document').innerText();
		for (const want of ['revportal-request/1\n', 'action: revoke\n',
		    `serial: ${ALICE}\n`, 'reason: keyCompromise\n'])
			if (!shown.includes(want))
				throw new Error(`the page lacks ${JSON.stringify(want)}`);
		if (shown.trimEnd() !== doc)
			throw new Error('the page shows another document');
		const cmd = await page.locator('pre.command').first().innerText();
		if (!cmd.includes('openssl cms -sign -binary -md sha256 ' +
		    '-nodetach -outform DER -engine pkcs11 -keyform engine'))
			throw new Error(`command: ${cmd}`);
		expect('accept', await page.locator('#u-sig')
		    .getAttribute('accept'), '.p7s,.p7m,application/pkcs7-signature');
	});
	const [file, bytes, r] = await download(page, id);
	await check('the download is the document\'s exact bytes, as an ' +
	    'attachment of plain UTF-8 text', () => {
		expect('status', r.status(), 200);
		expect('type', r.headers()['content-type'],
		    'text/plain; charset=utf-8');
		expect('disposition', r.headers()['content-disposition'],
		    'attachment; filename="revportal-request.txt"');
		const stored = execFileSync('sqlite3', ['-batch', env.SIGN_DB,
		    `SELECT hex(document) FROM challenges WHERE public_id = '${id}'`],
		    { encoding: 'utf8' }).trim();
		expect('bytes', bytes.toString('hex').toUpperCase(), stored);
		expect('last byte', bytes[bytes.length - 1], 0x0a);
	});

	// Garbage first: a "DER" file that is no CMS at all.
	const junk = `${env.SIGN_WORK}/junk.p7s`;
	writeFileSync(junk, Buffer.concat([Buffer.from([0x30, 0x82, 0x01,
	    0x00]), Buffer.from('not a signature at all, just bytes')]));
	let answer = await upload(page, junk);
	await check('a garbage upload answers 401 on step 2 with the one ' +
	    'message, and makes no request', async () => {
		expect('status', answer.status(), 401);
		expect('path', new URL(page.url()).pathname, `/sign/${id}`);
		const err = page.locator('#form-error');
		expect('role', await err.getAttribute('role'), 'alert');
		const text = (await err.innerText()).replace(/\s+/g, ' ').trim();
		expect('message', text, 'Nothing was changed. The signature ' +
		    'could not be verified.');
		expect('requests', requestsOf(ALICE).length, 0);
		expect('audited', sql('SELECT count(*) FROM audit WHERE action = ' +
		    `'signature.refused' AND subject = 'challenge:${id}'`), '1');
		clean(problems, STATUS_4XX);
	});

	// The real signature, on the same page: the nonce is still unused.
	const p7s = sign('alice', file);
	answer = await upload(page, p7s);
	await check('the signature made with openssl and uploaded through the ' +
	    'file input lands on the status page, queued', async () => {
		expect('status', answer.status(), 303);
		const m = new URL(page.url()).pathname.match(REQ_RE);
		if (!m)
			throw new Error(`landed on ${page.url()}`);
		expect('state', await page.locator('#state-name').innerText(),
		    'Queued for the CA');
		expect('requests', requestsOf(ALICE).join(' / '),
		    `${m[1]}|queued|web|revoke|signature`);
		clean(problems, STATUS_4XX);
	});
	await page.goto(`${base}/sign/${id}`);
	await check('the used document\'s page says so and offers no upload',
	    async () => {
		if (!(await page.locator('#doc-state').innerText())
		    .includes('already been signed'))
			throw new Error('no used notice');
		expect('file inputs', await page.locator('#u-sig').count(), 0);
		expect('back link', await page.locator('#doc-state a')
		    .getAttribute('href'), '/revoke');
	});
	await page.close();
});

await section('bob asks for a reactivation', async () => {
	const page = await context.newPage();
	await page.goto(`${base}/reactivate?serial=${BOB}`);
	await check('the reactivation form says a business certificate needs ' +
	    'a legal representative as well', async () => {
		const row = await page.locator('table.signers tr').filter(
		    { hasText: 'Business certificate' }).innerText();
		if (!/and a legal representative/.test(row))
			throw new Error(`row: ${row}`);
		expect('serial', await page.locator('#s-serial').inputValue(), BOB);
	});
	await submit(page, page.getByRole('button',
	    { name: 'Continue to the document' }));
	const id = step2(page);
	const [file] = await download(page, id);
	const answer = await upload(page, sign('bob', file));
	await check('bob\'s signed reactivation waits for a legal ' +
	    'representative', async () => {
		expect('status', answer.status(), 303);
		const m = new URL(page.url()).pathname.match(REQ_RE);
		if (!m)
			throw new Error(`landed on ${page.url()}`);
		bobRequest = m[1];
		expect('requests', requestsOf(BOB).join(' / '),
		    `${bobRequest}|awaiting_approval|web|reactivate|signature`);
		expect('need', sql('SELECT need FROM requests WHERE ' +
		    `public_id = '${bobRequest}'`), '2');
	});
	await page.close();
});

await section('a legal representative signs in and approves', async () => {
	const rep = await browser.newContext({ ignoreHTTPSErrors: true });
	rep.setDefaultTimeout(15000);
	const page = await rep.newPage();
	const problems = watch(page);
	await page.goto(base + '/approvals/');
	await check('/approvals/ without a session is the sign-in page',
	    async () => {
		expect('pending list', await page.locator('#pending').count(), 0);
		if (!(await page.getByRole('button',
		    { name: 'Make the sign-in document' }).count()))
			throw new Error('no sign-in button');
	});
	await submit(page, page.getByRole('button',
	    { name: 'Make the sign-in document' }));
	let id = step2(page);
	let [file] = await download(page, id);
	if (!readFileSync(file, 'utf8').includes('action: login\n'))
		throw new Error('not a login document');
	let answer = await upload(page, sign('rep', file));
	await check('the signed login document sets the session cookie and ' +
	    'leads to the list, which shows bob\'s reactivation', async () => {
		expect('status', answer.status(), 303);
		expect('path', new URL(page.url()).pathname, '/approvals/');
		const c = (await rep.cookies()).find((k) =>
		    k.name === '__Host-rp_rep');
		if (!c || !c.httpOnly || !c.secure || c.sameSite !== 'Strict')
			throw new Error(`cookie: ${JSON.stringify(c)}`);
		expect('who', await page.locator('#who').innerText(),
		    'Rebeka Zupan');
		expect('links', await page.locator(
		    `#pending a[href="/approvals/${bobRequest}"]`).count(), 1);
	});
	await submit(page, page.locator(`#pending a[href="/approvals/${bobRequest}"]`));
	await check('the approval page says what is asked and who still has ' +
	    'to sign', async () => {
		expect('state', await page.locator('#state-name').innerText(),
		    'Waiting for approval');
		if (!(await page.locator('#need').innerText()).includes(
		    'a legal representative of the organisation'))
			throw new Error('need not shown');
		const certs = await page.locator('#certs').innerText();
		for (const want of [BOB, 'Business certificate', 'Acme d.o.o.'])
			if (!certs.includes(want))
				throw new Error(`certificates lack ${want}: ${certs}`);
		if (/PNOSI-/.test(await page.locator('main').innerText()))
			throw new Error('a personal identifier is shown');
	});
	await submit(page, page.getByRole('button',
	    { name: 'Make the approval document' }));
	id = step2(page);
	[file] = await download(page, id);
	answer = await upload(page, sign('rep', file));
	await check('her signed approval queues the request and leads back to ' +
	    'its approval page', async () => {
		expect('status', answer.status(), 303);
		expect('path', new URL(page.url()).pathname,
		    `/approvals/${bobRequest}`);
		expect('state', await page.locator('#state-name').innerText(),
		    'Approved');
		expect('requests', requestsOf(BOB).join(' / '),
		    `${bobRequest}|queued|web|reactivate|signature`);
		clean(problems, STATUS_4XX);
	});

	// The session cookie with one character of its MAC changed.
	const c = (await rep.cookies()).find((k) => k.name === '__Host-rp_rep');
	const last = c.value.slice(-1) === 'A' ? 'B' : 'A';
	await rep.addCookies([{ ...c, value: c.value.slice(0, -1) + last }]);
	await page.goto(base + '/approvals/');
	await check('a tampered session cookie gets the sign-in page, not the ' +
	    'list', async () => {
		expect('pending list', await page.locator('#pending').count(), 0);
		expect('who', await page.locator('#who').count(), 0);
		if (!(await page.getByRole('button',
		    { name: 'Make the sign-in document' }).count()))
			throw new Error('no sign-in button');
	});
	await rep.close();
});

await section('CSRF', async () => {
	const page = await context.newPage();
	await page.goto(base + '/revoke');
	const before = sql('SELECT count(*) FROM challenges');
	for (const [what, form] of [
	    ['a revocation', { action: 'revoke', serial: ALICE }],
	    ['a sign-in', { action: 'login' }],
	    ['an approval', { action: 'approve', request_id: bobRequest ||
	    'AAAAAAAAAAAAAAAAAAAAAA' }]]) {
		const r = await page.request.post(base + '/sign', { form });
		await check(`POST /sign of ${what} without its CSRF token is ` +
		    'refused (403)', () => expect('status', r.status(), 403));
	}
	await check('... and issued no document', () =>
	    expect('challenges', sql('SELECT count(*) FROM challenges'), before));
	const id = sql('SELECT public_id FROM challenges WHERE used_at IS ' +
	    'NULL ORDER BY id DESC LIMIT 1') || 'AAAAAAAAAAAAAAAAAAAAAA';
	const r = await page.request.post(`${base}/sign/${id}`, {
		multipart: { signature: { name: 'request.p7s',
		    mimeType: 'application/pkcs7-signature',
		    buffer: Buffer.from([0x30, 0x03, 0x02, 0x01, 0x00]) } },
	});
	await check('POST /sign/{challenge} without its CSRF token is refused ' +
	    '(403) before any signature check', () => {
		expect('status', r.status(), 403);
		expect('audited', sql('SELECT count(*) FROM audit WHERE subject = ' +
		    `'challenge:${id}'`), '0');
	});
	await page.close();
});

await context.close();
await browser.close();
console.log(`RESULT passed=${passed} failed=${failed}`);
process.exit(failed === 0 ? 0 : 1);
