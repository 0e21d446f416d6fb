// Browser tests of revportal's pages in Debian's Chromium, driven by
// playwright-core (which downloads no browser).  The stack must be up:
// STACK_URL names it (tests/browser/test_pages.sh starts it).  Prints
// "ok N - name" / "not ok N - name" lines and, last,
// "RESULT passed=N failed=M".
import { chromium } from 'playwright-core';

const base = process.env.STACK_URL;
if (!base) {
	console.log('not ok 1 - STACK_URL is not set');
	console.log('RESULT passed=0 failed=1');
	process.exit(1);
}

let n = 0, passed = 0, failed = 0;
function ok(name) { n++; passed++; console.log(`ok ${n} - ${name}`); }
function notok(name, why) {
	n++; failed++;
	console.log(`not ok ${n} - ${name}`);
	for (const l of String(why).split('\n').slice(0, 8))
		console.log(`# ${l}`);
}
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

const browser = await chromium.launch({
	executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
	args: ['--no-sandbox', '--disable-gpu', '--disable-quic',
	    '--no-first-run', '--disable-background-networking',
	    '--disable-component-update', '--disable-sync'],
	timeout: 30000,
});
const context = await browser.newContext({ ignoreHTTPSErrors: true });
const page = await context.newPage();
page.setDefaultTimeout(15000);
const problems = [];
page.on('console', (m) => {
	if (m.type() === 'error' || m.type() === 'warning')
		problems.push(`${m.type()}: ${m.text()}`);
});
page.on('pageerror', (e) => problems.push(`pageerror: ${e.message}`));

try {
	let resp = await page.goto(base + '/');
	await check('landing page loads with 200', () => resp.status() === 200);
	await check('landing page has one h1 naming the task', async () =>
	    (await page.locator('h1').count()) === 1 &&
	    /suspend/i.test(await page.locator('h1').innerText()));
	await check('the stylesheet applies (CSP allows it)', async () => {
		const w = await page.evaluate(() =>
		    getComputedStyle(document.body).maxWidth);
		if (w === 'none')
			throw new Error('body has no max-width: style.css not applied');
	});
	await check('no console errors or CSP violations', () => {
		if (problems.length)
			throw new Error(problems.join('\n'));
	});
	await check('the first Tab reaches the skip link', async () => {
		await page.keyboard.press('Tab');
		const t = await page.evaluate(() => document.activeElement &&
		    document.activeElement.getAttribute('href'));
		if (t !== '#main')
			throw new Error(`focused ${t}`);
	});
	await check('every action link is there and labelled', async () => {
		for (const a of ['/suspend', '/revoke', '/reactivate', '/recover']) {
			const l = page.locator(`a[href="${a}"]`).first();
			if (!(await l.count()) || !(await l.innerText()).trim())
				throw new Error(`no labelled link to ${a}`);
		}
	});

	resp = await page.goto(base + '/no/such/page');
	await check('a missing page is a friendly 404 with a way home', async () =>
	    resp.status() === 404 &&
	    (await page.locator('main a[href="/"]').count()) > 0);

	// The CSRF-protected form, as a person uses it.
	problems.length = 0;
	await page.goto(base + '/_test/form');
	await page.getByLabel(/note/i).fill('Lost card <b>at 3 a.m.</b>');
	const [post] = await Promise.all([
		page.waitForNavigation(),
		page.locator('form button[type="submit"], form input[type="submit"]').first().click(),
	]);
	await check('a real browser posts the form with its CSRF token', async () =>
	    post.status() === 200 &&
	    (await page.locator('#echo').innerText()) === 'Lost card <b>at 3 a.m.</b>');
	await check('the CSRF cookie is __Host-, Secure, HttpOnly, SameSite=Strict', async () => {
		const c = (await context.cookies()).find((x) => x.name === '__Host-rp_csrf');
		if (!c || !c.secure || !c.httpOnly || c.sameSite !== 'Strict' || c.path !== '/')
			throw new Error(JSON.stringify(c));
	});
	await check('no console errors on the form pages', () => {
		if (problems.length)
			throw new Error(problems.join('\n'));
	});

	// Another site's page posting to the portal: the browser withholds the
	// SameSite cookie and sends its own Origin, and the portal refuses.
	const evil = await context.newPage();
	await evil.setContent(`<form method="post" action="${base}/_test/form">
	    <input name="note" value="forged"><button>go</button></form>`);
	const [forged] = await Promise.all([
		evil.waitForNavigation(),
		evil.locator('button').click(),
	]);
	await check('a cross-site form post is refused with 403', async () =>
	    forged.status() === 403 &&
	    !(await evil.content()).includes('forged'));
} catch (e) {
	notok('browser session', e && e.stack ? e.stack : e);
} finally {
	await browser.close();
}
console.log(`RESULT passed=${passed} failed=${failed}`);
process.exit(failed ? 1 : 0);
