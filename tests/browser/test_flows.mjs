// Browser tests of the passphrase flows in Debian's Chromium, driven by
// playwright-core (which downloads no browser): the suspension form as a
// person uses it (keyboard, labels, a typed serial, a wrong passphrase, a
// double click), the status page it leads to, the 404 of an unknown
// request, and the hotline console and officer queue with client
// certificates.  tests/browser/test_flows.sh starts the stack, makes the
// certificates and fills the registry; it passes:
//   STACK_URL     the stack
//   FLOWS_DB      its SQLite database (read with the sqlite3 program)
//   FLOWS_PKI     the directory of agent.pem/.key and officer.pem/.key
//   FLOWS_N0      how many tests the caller already numbered
//   SER_WALK, SER_WRONG, SER_DBL, SER_DBL2 and PASS_WALK, PASS_WRONG,
//                 PASS_DBL, PASS_DBL2: the imported certificates' serials
//                 and passphrases
// Prints "ok N - name" / "not ok N - name" lines, "# skipped: ..." for
// what this playwright-core cannot do, and, last,
// "RESULT passed=N failed=M" (its own tests only).
import { chromium } from 'playwright-core';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

const env = process.env;
const base = env.STACK_URL;
let n = Number(env.FLOWS_N0 || 0), passed = 0, failed = 0;
function ok(name) { n++; passed++; console.log(`ok ${n} - ${name}`); }
function notok(name, why) {
	n++; failed++;
	console.log(`not ok ${n} - ${name}`);
	for (const l of String(why).split('\n').slice(0, 10))
		console.log(`# ${l}`);
}
function note(text) { console.log(`# ${text}`); }
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

for (const v of ['STACK_URL', 'FLOWS_DB', 'FLOWS_PKI', 'SER_WALK',
    'SER_WRONG', 'SER_DBL', 'SER_DBL2', 'PASS_WALK', 'PASS_WRONG',
    'PASS_DBL', 'PASS_DBL2']) {
	if (!env[v]) {
		notok('the environment names the stack and the certificates',
		    `${v} is not set (run tests/browser/test_flows.sh)`);
		console.log(`RESULT passed=${passed} failed=${failed}`);
		process.exit(1);
	}
}

// sql QUERY: the sqlite3 program's answer, trimmed.
function sql(q) {
	return execFileSync('sqlite3', ['-batch', env.FLOWS_DB, q],
	    { encoding: 'utf8' }).trim();
}
// The requests made for the certificate of serial s.
function requestsOf(s) {
	return sql('SELECT r.public_id || \'|\' || r.state || \'|\' || ' +
	    'r.channel || \'|\' || r.action || \'|\' || r.reason ' +
	    'FROM requests r JOIN request_certificates rc ON ' +
	    'rc.request_id = r.id JOIN certificates c ON ' +
	    `c.id = rc.certificate_id WHERE c.serial = '${s}'`)
	    .split('\n').filter((l) => l !== '');
}
// A serial as a person copies it from a certificate viewer: lower case,
// a colon between the bytes.
function colonLower(s) {
	return s.toLowerCase().match(/../g).join(':');
}

// watch PAGE: the console errors, warnings (CSP violations among them)
// and uncaught exceptions of the page, collected in the returned array.
function watch(page) {
	const problems = [];
	page.on('console', (m) => {
		if (m.type() === 'error' || m.type() === 'warning')
			problems.push(`${m.type()}: ${m.text()}`);
	});
	page.on('pageerror', (e) => problems.push(`pageerror: ${e.message}`));
	return problems;
}
function clean(problems) {
	if (problems.length)
		throw new Error(problems.join('\n'));
}
// The first form of /suspend: one certificate by serial number.
function certForm(page) {
	return page.locator('form').filter({ has: page.locator('#c-serial') });
}
// Posts the certificate form of page with a click on its submit button;
// returns the answer to the POST, once the page it leads to has loaded.
async function send(page) {
	const [answer] = await Promise.all([
		page.waitForResponse((r) => r.request().method() === 'POST' &&
		    new URL(r.url()).pathname === '/suspend'),
		certForm(page).getByRole('button', { name: 'Send the request' })
		    .click(),
	]);
	await page.waitForLoadState('load');
	return answer;
}

// section NAME FN: runs one flow.  What breaks it outside its checks (a
// field not found, a navigation that never came) fails it as one test,
// and the next flow still runs.
async function section(name, fn) {
	try {
		await fn();
	} catch (e) {
		notok(`${name}: the flow broke off`, e && e.stack ? e.stack : e);
	}
}

const REASON = 'My card or USB key was lost or stolen, or someone else ' +
    'may know the PIN or have the key';
const ID_RE = /^\/requests\/([A-Za-z0-9_-]{22})$/;

const browser = await chromium.launch({
	executablePath: env.CHROMIUM || '/usr/bin/chromium',
	args: ['--no-sandbox', '--disable-gpu', '--disable-quic',
	    '--no-first-run', '--disable-background-networking',
	    '--disable-component-update', '--disable-sync'],
	timeout: 30000,
});
const context = await browser.newContext({ ignoreHTTPSErrors: true });
context.setDefaultTimeout(15000);
// The request Ana makes in the browser: its id, its status page, and
// that page's own reload (which the other flows do not wait for).
let walkId = null, walkPage = null, reloaded = null;

await section('the suspension form', async () => {
	const page = await context.newPage();
	const problems = watch(page);
	const resp = await page.goto(base + '/suspend');
	await check('GET /suspend renders the suspension form', async () => {
		expect('status', resp.status(), 200);
		expect('h1 count', await page.locator('h1').count(), 1);
		expect('serial fields', await page.locator('#c-serial').count(), 1);
	});
	await check('it is served with the content security policy, and the ' +
	    'stylesheet applies under it', async () => {
		const csp = resp.headers()['content-security-policy'] || '';
		if (!/script-src 'self'/.test(csp) || /unsafe-inline/.test(csp))
			throw new Error(`CSP: ${csp}`);
		const w = await page.evaluate(() =>
		    getComputedStyle(document.body).maxWidth);
		if (w === 'none')
			throw new Error('body has no max-width: style.css not applied');
	});
	await check('the form page has no console error or CSP violation',
	    () => clean(problems));

	// Keyboard only, from the top of the page.
	await check('Tab reaches serial, passphrase, reason and submit in that ' +
	    'order, the serial first of the fields, each with a visible focus ' +
	    'ring', async () => {
		const seen = [];
		for (let i = 0; i < 40; i++) {
			await page.keyboard.press('Tab');
			const f = await page.evaluate(() => {
				const a = document.activeElement;
				if (!a || a === document.body)
					return null;
				const form = document.querySelector('#c-serial').form;
				const href = a.getAttribute('href');
				const cs = getComputedStyle(a);
				return {
					key: a.id || (a.form === form &&
					    a.type === 'submit' ? 'submit' :
					    a.tagName.toLowerCase() +
					    (href ? ` ${href}` : '')),
					field: /^(INPUT|SELECT|TEXTAREA|BUTTON)$/
					    .test(a.tagName),
					ring: cs.outlineStyle !== 'none' &&
					    parseFloat(cs.outlineWidth) > 0,
				};
			});
			if (f === null)
				continue;
			seen.push(f);
			if (f.key === 'submit')
				break;
		}
		const order = seen.map((f) => f.key);
		const at = (k) => order.indexOf(k);
		const want = ['c-serial', 'c-pass', 'c-reason', 'submit'];
		for (const k of want)
			if (at(k) < 0)
				throw new Error(`Tab never reached ${k}: ` +
				    order.join(', '));
		for (let i = 1; i < want.length; i++)
			if (at(want[i]) < at(want[i - 1]))
				throw new Error(`out of order: ${order.join(', ')}`);
		const firstField = seen.findIndex((f) => f.field);
		if (order[firstField] !== 'c-serial')
			throw new Error(`first field is ${order[firstField]}: ` +
			    order.join(', '));
		const noRing = seen.filter((f) => !f.ring).map((f) => f.key);
		if (noRing.length)
			throw new Error(`no visible focus on: ${noRing.join(', ')}`);
	});
	await check('every input of the page has a visible label', async () => {
		const r = await page.evaluate(() => {
			// The issuer is folded away until asked for: unfold it.
			for (const d of document.querySelectorAll('details'))
				d.open = true;
			const bad = [];
			let count = 0;
			for (const el of document.querySelectorAll(
			    'input:not([type="hidden"]), select, textarea')) {
				count++;
				const good = Array.from(el.labels || []).filter((l) => {
					const b = l.getBoundingClientRect();
					const s = getComputedStyle(l);
					return b.width > 1 && b.height > 1 && b.right > 0 &&
					    b.bottom > 0 && s.visibility !== 'hidden' &&
					    l.textContent.trim() !== '';
				});
				if (good.length === 0)
					bad.push(el.id || el.name);
			}
			return { bad, count };
		});
		if (r.count < 6)
			throw new Error(`only ${r.count} inputs found`);
		if (r.bad.length)
			throw new Error(`no visible label: ${r.bad.join(', ')}`);
	});
	await page.close();
});

await section('a person suspends', async () => {
	const page = await context.newPage();
	const problems = watch(page);
	await page.goto(base + '/suspend');
	const form = certForm(page);
	await form.getByLabel('Serial number').pressSequentially(
	    colonLower(env.SER_WALK));
	await form.getByLabel('Revocation passphrase').pressSequentially(
	    env.PASS_WALK);
	await form.getByLabel('Reason').selectOption({ label: REASON });
	const answer = await send(page);
	walkId = (new URL(page.url()).pathname.match(ID_RE) || [])[1] || null;
	await check('a person fills the form (serial typed with colons, lower ' +
	    'case) and is sent 303 to the status page', async () => {
		expect('POST status', answer.status(), 303);
		if (!walkId)
			throw new Error(`landed on ${page.url()}`);
	});
	await check('the status page shows the request, its serial, reason ' +
	    'and state', async () => {
		expect('request id', await page.locator('#request-id').innerText(),
		    walkId);
		expect('state', await page.locator('#state-name').innerText(),
		    'Queued for the CA');
		const main = await page.locator('main').innerText();
		for (const want of [env.SER_WALK, REASON, 'Suspension'])
			if (!main.includes(want))
				throw new Error(`the page does not show "${want}"`);
	});
	await check('the status page has its refresh meta in the head',
	    async () => {
		const m = await page.evaluate(() => {
			const e = document.querySelector(
			    'meta[http-equiv="refresh" i]');
			return e ? { inHead: e.parentElement === document.head,
			    content: e.content } : null;
		});
		if (!m || !m.inHead || !/^\d+$/.test(m.content) ||
		    Number(m.content) < 1)
			throw new Error(`refresh meta: ${JSON.stringify(m)}`);
	});
	await check('the database holds that one request, queued from the web ' +
	    'with the chosen reason', () => {
		expect('requests', requestsOf(env.SER_WALK).join(' / '),
		    `${walkId}|queued|web|suspend|keyCompromise`);
	});
	await check('no console error or CSP violation on the way',
	    () => clean(problems));
	// The page reloads itself without script: waited for at the end.
	walkPage = page;
	reloaded = page.waitForEvent('load', { timeout: 15000 })
	    .then(() => new URL(page.url()).pathname);
	reloaded.catch(() => {});
});

await section('a wrong passphrase', async () => {
	const page = await context.newPage();
	const problems = watch(page);
	await page.goto(base + '/suspend');
	const typed = colonLower(env.SER_WRONG);
	const form = certForm(page);
	await form.getByLabel('Serial number').pressSequentially(typed);
	await form.getByLabel('Revocation passphrase').fill(
	    'not ' + env.PASS_WRONG);
	let answer = await send(page);
	await check('a wrong passphrase shows the form again (401) with an ' +
	    'error message', async () => {
		expect('status', answer.status(), 401);
		expect('path', new URL(page.url()).pathname, '/suspend');
		const err = page.locator('#form-error');
		if (!(await err.isVisible()))
			throw new Error('no visible #form-error');
		expect('role', await err.getAttribute('role'), 'alert');
		if (!/passphrase/i.test(await err.innerText()))
			throw new Error(`message: ${await err.innerText()}`);
	});
	await check('... the passphrase field empty and the serial kept as typed',
	    async () => {
		expect('passphrase', await page.locator('#c-pass').inputValue(),
		    '');
		expect('serial', await page.locator('#c-serial').inputValue(),
		    typed);
	});
	await check('... and nothing was made, one failure counted', () => {
		expect('requests', requestsOf(env.SER_WRONG).length, 0);
		expect('failures', sql('SELECT p.failures FROM passphrases p ' +
		    'JOIN certificates c ON c.id = p.certificate_id ' +
		    `WHERE c.serial = '${env.SER_WRONG}'`), '1');
	});
	// Chromium logs the 401 of the page itself as an error.
	await check('... without a console error (but the 401 itself)', () =>
	    clean(problems.filter((m) =>
	    !/^error: Failed to load resource: .* status of 401\b/.test(m))));
	// The form as it came back is usable: the right passphrase now.
	await page.locator('#c-pass').fill(env.PASS_WRONG);
	answer = await send(page);
	await check('the re-rendered form then goes through with the right ' +
	    'passphrase', () => {
		expect('status', answer.status(), 303);
		if (!ID_RE.test(new URL(page.url()).pathname))
			throw new Error(`landed on ${page.url()}`);
		expect('requests', requestsOf(env.SER_WRONG).length, 1);
	});
	await page.close();
});

// Pressing submit twice.  A double click: Chromium mostly replaces the
// first submission before it leaves, sometimes sends both.  Then a second
// press once the first POST has left, which sends two (the browser drops
// the first answer) unless that answer came first.  The form's id must
// make them one request either way.
for (const [how, serial, pass] of [
    ['dblclick', env.SER_DBL, env.PASS_DBL],
    ['press again', env.SER_DBL2, env.PASS_DBL2]]) {
	await section(`submit twice (${how})`, async () => {
		const page = await context.newPage();
		const problems = watch(page);
		let posts = 0;
		const answers = [];
		const isPost = (r) => r.method() === 'POST' &&
		    new URL(r.url()).pathname === '/suspend';
		page.on('request', (r) => {
			if (isPost(r))
				posts++;
		});
		page.on('response', (r) => {
			if (isPost(r.request()))
				answers.push(r.status());
		});
		page.on('requestfailed', (r) => {
			if (isPost(r))
				answers.push(r.failure().errorText);
		});
		await page.goto(base + '/suspend');
		const form = certForm(page);
		await form.getByLabel('Serial number').fill(serial.toLowerCase());
		await form.getByLabel('Revocation passphrase').fill(pass);
		const button = form.getByRole('button',
		    { name: 'Send the request' });
		if (how === 'dblclick') {
			await button.dblclick();
		} else {
			await button.scrollIntoViewIfNeeded();
			const b = await button.boundingBox();
			const x = b.x + b.width / 2, y = b.y + b.height / 2;
			const sent = page.waitForRequest((r) =>
			    r.method() === 'POST');
			await page.mouse.click(x, y);
			await sent;
			await page.mouse.click(x, y);
		}
		// Every POST answered (or given up by the browser), and the
		// page settled, before counting: a loaded machine is slow.
		await page.waitForTimeout(300);
		for (const end = Date.now() + 20000;
		    answers.length < posts && Date.now() < end;)
			await page.waitForTimeout(100);
		await page.waitForURL((u) => ID_RE.test(u.pathname),
		    { timeout: 20000 }).catch(() => {});
		await page.waitForLoadState('load');
		const at = new URL(page.url()).pathname;
		const handled = sql('SELECT count(*) FROM audit WHERE action = ' +
		    `'passphrase.ok' AND subject = 'certificate:${serial}'`);
		note(`${how}: the browser sent ${posts} POST(s) (answered: ` +
		    `${answers.join(', ')}), the portal checked the passphrase ` +
		    `${handled} time(s)`);
		// On a loaded machine the answer may beat the second press:
		// then only the one-request checks below are meaningful.
		if (how !== 'dblclick' && posts < 2)
			note('the first answer came before the second press: the ' +
			    'double submission was not exercised this time');
		await check(how === 'dblclick' ?
		    'a double-clicked submit makes one request and lands on its ' +
		    'status page' :
		    'submit pressed again while the first POST is on its way ' +
		    'makes one request and lands on its status page',
		    async () => {
			const rows = requestsOf(serial);
			if (rows.length !== 1) {
				const err = page.locator('#form-error');
				throw new Error(`requests: ${rows.join(' / ') ||
				    'none'}; landed on ${page.url()}` +
				    ((await err.count()) ? ', which says: ' +
				    (await err.innerText()) : ''));
			}
			const m = at.match(ID_RE);
			if (!m || m[1] !== rows[0].split('|')[0]) {
				const err = page.locator('#form-error');
				throw new Error(`landed on ${page.url()}, request ` +
				    rows[0] + ((await err.count()) ? ', which says: ' +
				    (await err.innerText()) : ''));
			}
			expect('state', await page.locator('#state-name')
			    .innerText(), 'Queued for the CA');
		});
		await check(`... without a console error (${how})`,
		    () => clean(problems));
		await page.close();
	});
}

await section('unknown request and staff pages without a certificate',
    async () => {
	const page = await context.newPage();
	let resp = await page.goto(base + '/requests/AAAAAAAAAAAAAAAAAAAAAA');
	await check('the status page of an unknown id is the 404 page',
	    async () => {
		expect('status', resp.status(), 404);
		expect('h1', await page.locator('h1').innerText(),
		    'Page not found');
		if (!(await page.locator('main a[href="/"]').count()))
			throw new Error('no way home');
	});
	for (const p of ['/agent/', '/officer/']) {
		resp = await page.goto(base + p);
		await check(`without a client certificate ${p} is refused (403)`,
		    async () => {
			expect('status', resp.status(), 403);
			if (/Hotline console|Signed in as/.test(
			    await page.content()))
				throw new Error('the staff page was shown');
		});
	}
	await page.close();
});

if (walkPage !== null) {
	await section('the status page refreshes itself', async () => {
		await check('the status page reloaded itself (meta refresh) and ' +
		    'still shows the request', async () => {
			expect('path after reload', await reloaded,
			    `/requests/${walkId}`);
			expect('request id', await walkPage.locator('#request-id')
			    .innerText(), walkId);
		});
		await walkPage.close();
	});
}
await context.close();

// --- staff pages with client certificates -----------------------------
let version = '?';
try {
	version = JSON.parse(readFileSync(new URL(
	    './node_modules/playwright-core/package.json',
	    import.meta.url))).version;
} catch (e) {
	// Leaves '?', taken as too old.
}
const [maj, min] = version.split('.').map(Number);
// clientCertificates came with playwright 1.46.
const supported = maj > 1 || (maj === 1 && min >= 46);
async function staff(who) {
	const c = await browser.newContext({
		ignoreHTTPSErrors: true,
		clientCertificates: [{ origin: base,
		    certPath: `${env.FLOWS_PKI}/${who}.pem`,
		    keyPath: `${env.FLOWS_PKI}/${who}.key` }],
	});
	c.setDefaultTimeout(15000);
	return c;
}
if (!supported) {
	note(`skipped: playwright-core ${version} has no clientCertificates: ` +
	    'the agent console and the officer queue are not tested in the ' +
	    'browser');
} else {
	await section('the agent console', async () => {
		const agent = await staff('agent');
		const page = await agent.newPage();
		const problems = watch(page);
		let resp = await page.goto(base + '/agent/');
		await check('the agent console renders with an agent certificate',
		    async () => {
			expect('status', resp.status(), 200);
			expect('h1', await page.locator('h1').innerText(),
			    'Hotline console');
			if (!(await page.locator('.staff-who').innerText())
			    .includes('Agent Ana'))
				throw new Error('the agent is not named');
		});
		const certId = sql('SELECT id FROM certificates WHERE serial = ' +
		    `'${env.SER_WALK}'`);
		const result = page.locator(
		    `#results a[href="/agent/certificates/${certId}"]`);
		const box = page.getByLabel(/^Serial number, name/);
		await box.fill('novak');
		await Promise.all([page.waitForURL(/\/agent\/\?q=novak$/),
		    box.press('Enter')]);
		await check('the search by name (Enter) finds the test certificate',
		    async () => {
			expect('links', await result.count(), 1);
			expect('serial', await result.innerText(), env.SER_WALK);
		});
		await box.fill(colonLower(env.SER_WALK));
		await Promise.all([page.waitForURL(/\/agent\/\?q=[0-9a-f%]/),
		    page.getByRole('button', { name: 'Search' }).click()]);
		await check('the search by serial (lower case, colons) finds it ' +
		    'too and opens its page', async () => {
			expect('links', await result.count(), 1);
			await Promise.all([
			    page.waitForURL(/\/agent\/certificates\/\d+$/),
			    result.click()]);
			expect('serial', await page.locator('#serial').innerText(),
			    env.SER_WALK);
		});
		await check('no console error on the agent pages',
		    () => clean(problems));
		resp = await page.goto(base + '/officer/');
		await check('the agent\'s certificate is refused at /officer/ (403)',
		    async () => {
			expect('status', resp.status(), 403);
			if (!(await page.content()).includes(
			    'Access to this page was refused'))
				throw new Error('not the staff_denied page');
		});
		await agent.close();
	});
	await section('the officer queue', async () => {
		const officer = await staff('officer');
		const page = await officer.newPage();
		const problems = watch(page);
		const resp = await page.goto(base + '/officer/');
		await check('the officer queue renders with an officer certificate ' +
		    'and lists the request made in the browser', async () => {
			expect('status', resp.status(), 200);
			if (!(await page.locator('.staff-who').innerText())
			    .includes('Officer Bor'))
				throw new Error('the officer is not named');
			expect('rows', await page.locator(
			    `#queue a[href="/officer/requests/${walkId}"]`).count(),
			    1);
		});
		await check('no console error on the officer queue',
		    () => clean(problems));
		await officer.close();
	});
}

await browser.close();
console.log(`RESULT passed=${passed} failed=${failed}`);
process.exit(failed ? 1 : 0);
