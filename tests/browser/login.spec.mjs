// The login flow in a real browser (Debian's Chromium driven by
// playwright-core): the login page, a failed and a good login, the cookie
// as the browser keeps it, logging out, and remember-me.
//
// A plain node script, run by tests/integration/test_browser.sh against a
// running Redis + sessiongw + nginx. Prints one "ok - ..." / "not ok - ..."
// line per check and "N passed, M failed" at the end; exits non-zero on
// any failure.
//
// Environment:
//   SGW_BASE        http://127.0.0.1:PORT (nginx in front of the gateway)
//   SGW_USER        a user that exists
//   SGW_PASSWORD    that user's password
//   SGW_SCREENSHOT  where to save a full-page screenshot of the login page
//   SGW_CHROMIUM    the browser (default /usr/bin/chromium)
//   SGW_COOKIE      the session cookie's name (default sgw_session)
//   SGW_REMEMBER_SECONDS  remember_me_timeout (default 2592000, 30 days)

import { chromium } from 'playwright-core';

const env = (name, dflt) => {
	const v = process.env[name] ?? dflt;
	if (v === undefined || v === '') {
		console.log(`not ok - environment variable ${name} is not set`);
		console.log('0 passed, 1 failed');
		process.exit(2);
	}
	return v;
};

const BASE = env('SGW_BASE').replace(/\/+$/, '');
const USER = env('SGW_USER');
const PASSWORD = env('SGW_PASSWORD');
const SCREENSHOT = env('SGW_SCREENSHOT');
const CHROMIUM = env('SGW_CHROMIUM', '/usr/bin/chromium');
const COOKIE = env('SGW_COOKIE', 'sgw_session');
const REMEMBER_SECONDS = Number(env('SGW_REMEMBER_SECONDS', '2592000'));

const NAV_TIMEOUT = 15_000; // per navigation
const ACTION_TIMEOUT = 10_000; // per click, fill, wait
const WHOLE_TIMEOUT = 85_000; // the whole script

const APP = `${BASE}/app/page.html`;
const LOGIN_PATH = '/auth/login';
const RETURN_TO = '/app/page.html';
const ERROR_TEXT = 'Invalid username or password.';

let passed = 0;
let failed = 0;

function check(description, condition, detail) {
	if (condition) {
		passed++;
		console.log(`ok - ${description}`);
	} else {
		failed++;
		console.log(`not ok - ${description}${detail !== undefined ? ` (${detail})` : ''}`);
	}
	return condition;
}

function summary() {
	console.log(`${passed} passed, ${failed} failed`);
}

// Nothing may hang: whatever is still running after WHOLE_TIMEOUT fails.
const watchdog = setTimeout(() => {
	check(`the whole script finished within ${WHOLE_TIMEOUT / 1000} s`, false);
	summary();
	process.exit(1);
}, WHOLE_TIMEOUT);

// The test application echoes "user=<name> roles=...".
const sees = (text, user) =>
	new RegExp(`(^|\\s)user=${user.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}(\\s|$)`).test(text);

const onLoginPage = (url) => {
	const u = new URL(url);
	return u.origin === new URL(BASE).origin && u.pathname === LOGIN_PATH;
};

// Every request must stay on loopback; a page served by a route() of its
// own (registered on the page) takes precedence over this.
async function newContext(browser) {
	const ctx = await browser.newContext({ viewport: { width: 1280, height: 800 } });
	ctx.setDefaultNavigationTimeout(NAV_TIMEOUT);
	ctx.setDefaultTimeout(ACTION_TIMEOUT);
	await ctx.route('**/*', (route) => {
		const host = new URL(route.request().url()).hostname;
		if (host === '127.0.0.1' || host === 'localhost' || host === '[::1]')
			return route.fallback();
		return route.abort('blockedbyclient');
	});
	return ctx;
}

// Submits the form on the page by clicking its button, as a user would;
// resolves with the response to the POST itself (before any redirect).
async function submit(page, path, buttonName) {
	const [response] = await Promise.all([
		page.waitForResponse(
			(r) => r.request().method() === 'POST' && new URL(r.url()).pathname === path,
			{ timeout: NAV_TIMEOUT },
		),
		page.getByRole('button', { name: buttonName }).click(),
	]);
	await page.waitForLoadState('load', { timeout: NAV_TIMEOUT });
	return response;
}

async function sessionCookie(ctx) {
	return (await ctx.cookies(BASE)).find((c) => c.name === COOKIE);
}

// A form served as if it came from ORIGIN (by a route, nothing listens
// there), posting to ACTION: how a browser logs out from a page.
async function serveForm(page, url, action, returnTo) {
	await page.route(url, (route) =>
		route.fulfill({
			status: 200,
			contentType: 'text/html; charset=utf-8',
			body: `<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>Sign out</title></head>
<body><form method="post" action="${action}">
<input type="hidden" name="return_to" value="${returnTo}">
<button type="submit">Sign out</button></form></body></html>`,
		}),
	);
}

async function loginFlow(browser) {
	const ctx = await newContext(browser);
	const page = await ctx.newPage();

	// --- not logged in: the protected page sends the browser to log in ---
	const first = await page.goto(APP);
	const landed = new URL(page.url());
	check('protected page without a session lands on the login page',
		onLoginPage(page.url()), `at ${page.url()}`);
	check('the login page carries return_to',
		landed.searchParams.get('return_to') === RETURN_TO, `at ${page.url()}`);
	check('the login page is 200', first?.status() === 200, `status ${first?.status()}`);
	const csp = (await first?.allHeaders())?.['content-security-policy'] ?? '';
	check('the login page forbids scripts (CSP default-src \'none\')',
		/default-src 'none'/.test(csp), `CSP: ${csp}`);

	// --- accessibility: labels, autocomplete, remember-me, no script ---
	const username = page.getByLabel('Username', { exact: true });
	const password = page.getByLabel('Password', { exact: true });
	check('a single input labelled "Username"', (await username.count()) === 1);
	check('a single input labelled "Password"', (await password.count()) === 1);
	check('Username has autocomplete="username"',
		(await username.getAttribute('autocomplete')) === 'username');
	check('Password has autocomplete="current-password"',
		(await password.getAttribute('autocomplete')) === 'current-password');
	check('Password is a password input', (await password.getAttribute('type')) === 'password');
	const remember = page.getByRole('checkbox');
	check('one remember-me checkbox', (await remember.count()) === 1);
	check('the checkbox is named remember_me', (await remember.getAttribute('name')) === 'remember_me');
	check('the checkbox has a label (an accessible name)',
		(await page.getByRole('checkbox', { name: /\S/ }).count()) === 1);
	check('the checkbox is not ticked by default', !(await remember.isChecked()));
	const visibleInputs = page.locator('input:not([type=hidden])');
	const unlabelled = [];
	for (let i = 0; i < (await visibleInputs.count()); i++) {
		const input = visibleInputs.nth(i);
		const id = await input.getAttribute('id');
		if (!id || (await page.locator(`label[for="${id}"]`).count()) !== 1)
			unlabelled.push((await input.getAttribute('name')) ?? '?');
	}
	check('every visible input has its own <label for=...>', unlabelled.length === 0,
		`unlabelled: ${unlabelled.join(', ')}`);
	check('a "Sign in" submit button',
		(await page.getByRole('button', { name: 'Sign in' }).count()) === 1);
	check('no <script> element on the login page', (await page.locator('script').count()) === 0);
	check('no error shown before a failed attempt',
		!(await page.getByRole('alert').isVisible()));
	await page.screenshot({ path: SCREENSHOT, fullPage: true });
	check(`screenshot saved (${SCREENSHOT})`, true);

	// --- a wrong password: the form again, 401, a generic message ---
	await username.fill(USER);
	await password.fill(`${PASSWORD}-wrong`);
	const bad = await submit(page, LOGIN_PATH, 'Sign in');
	check('wrong password: 401', bad.status() === 401, `status ${bad.status()}`);
	check('wrong password: still on the login page', onLoginPage(page.url()), `at ${page.url()}`);
	const alert = page.getByRole('alert');
	check('wrong password: the generic error is visible',
		(await alert.isVisible()) && (await alert.innerText()).trim() === ERROR_TEXT,
		`alert: ${JSON.stringify(await alert.innerText().catch(() => null))}`);
	check('wrong password: no session cookie', (await sessionCookie(ctx)) === undefined);
	check('wrong password: the password field is empty again', (await password.inputValue()) === '');
	check('wrong password: return_to still carried',
		(await page.locator('input[name=return_to]').getAttribute('value')) === RETURN_TO);

	// --- the right password: back to the page asked for ---
	await username.fill(USER);
	await password.fill(PASSWORD);
	const good = await submit(page, LOGIN_PATH, 'Sign in');
	check('login: 303', good.status() === 303, `status ${good.status()}`);
	await page.waitForURL(APP, { timeout: NAV_TIMEOUT }).catch(() => {});
	check('login: back at the protected page', page.url() === APP, `at ${page.url()}`);
	const text = await page.locator('body').innerText();
	check(`login: the application sees user=${USER}`, sees(text, USER),
		`page: ${JSON.stringify(text.slice(0, 200))}`);

	const cookie = await sessionCookie(ctx);
	check(`the browser keeps a ${COOKIE} cookie`, cookie !== undefined);
	if (cookie) {
		check('cookie: HttpOnly', cookie.httpOnly === true);
		check('cookie: SameSite=Lax', cookie.sameSite === 'Lax', `sameSite ${cookie.sameSite}`);
		check('cookie: Path=/', cookie.path === '/', `path ${cookie.path}`);
		check('cookie: a browser-session cookie without remember-me', cookie.expires === -1,
			`expires ${cookie.expires}`);
	}
	// The application page is not ours and has no CSP: see what its scripts see.
	const jsCookies = await page.evaluate(() => document.cookie);
	check('cookie: invisible to page scripts (document.cookie)', !jsCookies.includes(`${COOKIE}=`),
		`document.cookie: ${jsCookies}`);

	// --- a logout form on another site must not end the session ---
	const otherSite = `http://localhost:${new URL(BASE).port || 80}/elsewhere/logout.html`;
	await serveForm(page, otherSite, `${BASE}/auth/logout`, RETURN_TO);
	await page.goto(otherSite);
	const cross = await submit(page, '/auth/logout', 'Sign out');
	check('a cross-site logout post is refused (403, Origin)', cross.status() === 403,
		`status ${cross.status()}`);
	await page.goto(APP);
	check('a cross-site logout form does not end the session',
		page.url() === APP && sees(await page.locator('body').innerText(), USER),
		`at ${page.url()}`);

	// --- logging out as a browser does: a form on the site posting to /auth/logout ---
	const token = (await sessionCookie(ctx))?.value;
	const logoutPage = `${BASE}/app/logout-form.html`;
	await serveForm(page, logoutPage, '/auth/logout', RETURN_TO);
	await page.goto(logoutPage);
	const out = await submit(page, '/auth/logout', 'Sign out');
	check('logout form post: 303', out.status() === 303, `status ${out.status()}`);
	check('logout: return_to leads back to the login page', onLoginPage(page.url()), `at ${page.url()}`);
	check('logout: the browser dropped the cookie', (await sessionCookie(ctx)) === undefined);
	await page.goto(APP);
	check('after logout: the protected page asks to log in again', onLoginPage(page.url()),
		`at ${page.url()}`);
	await ctx.close();

	// The old token is ended on the server, not only forgotten by the browser.
	if (token) {
		const replay = await newContext(browser);
		await replay.addCookies([{ name: COOKIE, value: token, url: BASE, httpOnly: true, sameSite: 'Lax' }]);
		const p = await replay.newPage();
		await p.goto(APP);
		check('after logout: the old token no longer lets a browser in', onLoginPage(p.url()),
			`at ${p.url()}`);
		await replay.close();
	}
}

async function rememberMe(browser) {
	const ctx = await newContext(browser);
	const page = await ctx.newPage();
	await page.goto(APP);
	check('remember-me: a fresh browser lands on the login page', onLoginPage(page.url()),
		`at ${page.url()}`);
	await page.getByLabel('Username', { exact: true }).fill(USER);
	await page.getByLabel('Password', { exact: true }).fill(PASSWORD);
	await page.getByRole('checkbox').check();
	const before = Date.now() / 1000;
	const res = await submit(page, LOGIN_PATH, 'Sign in');
	check('remember-me: login 303', res.status() === 303, `status ${res.status()}`);
	await page.waitForURL(APP, { timeout: NAV_TIMEOUT }).catch(() => {});
	check('remember-me: at the protected page', page.url() === APP, `at ${page.url()}`);
	const cookie = await sessionCookie(ctx);
	check('remember-me: the browser keeps the cookie', cookie !== undefined);
	if (cookie) {
		const ahead = cookie.expires - before;
		check(`remember-me: the cookie expires ~${REMEMBER_SECONDS / 86400} days ahead`,
			Math.abs(ahead - REMEMBER_SECONDS) < 120, `expires in ${Math.round(ahead)} s`);
		check('remember-me: still HttpOnly, SameSite=Lax',
			cookie.httpOnly === true && cookie.sameSite === 'Lax');
	}
	await ctx.close();
}

let browser;
try {
	browser = await chromium.launch({
		executablePath: CHROMIUM,
		headless: true,
		timeout: NAV_TIMEOUT,
		args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
			'--disable-background-networking', '--disable-component-update', '--disable-sync'],
	});
	check(`Chromium ${browser.version()} started`, true);
	await loginFlow(browser);
	await rememberMe(browser);
} catch (err) {
	check('the flow ran to the end', false, String(err?.message ?? err).split('\n')[0]);
} finally {
	await browser?.close().catch(() => {});
	clearTimeout(watchdog);
}
summary();
process.exit(failed === 0 && passed > 0 ? 0 : 1);
