// Drives the shoal daemon's web UI in headless Debian chromium (playwright-core, no
// browser download). Started by crates/cli/tests/daemon_browser.rs, which runs a local
// seeder and a daemon; this script only talks to the daemon's UI/API on loopback.
//
// node ui.test.mjs --url http://127.0.0.1:PORT/ --token TOKEN --magnet MAGNET --id HEX
//   --name NAME --files N --seeder 127.0.0.1:PORT --screenshot OUT.png [--timeout-ms MS]
//
// Steps: wrong token refused, login by form, global limits form (a download limit so the
// download lasts long enough to watch), add by magnet (link and QR code shown), live
// list while downloading, detail view (files, peers, trackers), file selection
// (skip/normal), limit cleared, 100% and seeding, pause/resume, screenshot, token from
// the URL fragment in a fresh browser context, remove keeping the data. Torrent-supplied
// names carry HTML, which must show up as text. Exits non-zero with a message on any
// failure, and fails on any console error or uncaught page error (e.g. a CSP violation).

import { parseArgs } from 'node:util';
import path from 'node:path';
import fs from 'node:fs';
import { chromium } from 'playwright-core';

const { values: opt } = parseArgs({
  options: {
    url: { type: 'string' },
    token: { type: 'string' },
    magnet: { type: 'string' },
    id: { type: 'string' },
    name: { type: 'string' },
    files: { type: 'string' },
    seeder: { type: 'string' },
    screenshot: { type: 'string' },
    chromium: { type: 'string', default: process.env.CHROMIUM || '/usr/bin/chromium' },
    'timeout-ms': { type: 'string', default: '45000' },
  },
});

for (const k of ['url', 'token', 'magnet', 'id', 'name', 'files', 'seeder', 'screenshot']) {
  if (!opt[k]) {
    console.error(`ui.test: missing --${k}`);
    process.exit(2);
  }
}

// The steps' budget; starting the browser has its own (a cold start on a busy machine
// can take half a minute).
const TOTAL_MS = Number(opt['timeout-ms']);
const LAUNCH_MS = 60000;
const STEP_MS = 20000;
const started = Date.now();
const shotDir = path.dirname(opt.screenshot);
const shotBase = path.basename(opt.screenshot, '.png');
fs.mkdirSync(shotDir, { recursive: true });

let browser;
let page;
const problems = []; // console errors and page errors while they count
let watchErrors = false;

function log(msg) {
  console.log(`[${((Date.now() - started) / 1000).toFixed(1)}s] ${msg}`);
}

async function fail(msg) {
  console.error(`ui.test FAILED: ${msg}`);
  if (page) {
    const failShot = path.join(shotDir, `${shotBase}-failure.png`);
    try {
      await page.screenshot({ path: failShot, fullPage: true, timeout: 5000 });
      console.error(`ui.test: failure screenshot in ${failShot}`);
    } catch { /* page gone */ }
  }
  if (problems.length) console.error(`ui.test: page problems:\n  ${problems.join('\n  ')}`);
  try {
    if (browser) await browser.close();
  } catch { /* already closed */ }
  process.exit(1);
}

let overall = setTimeout(() => fail(`browser not started after ${LAUNCH_MS} ms`), LAUNCH_MS);

let current = '';
async function step(name, fn) {
  current = name;
  log(name);
  try {
    await fn();
  } catch (e) {
    await fail(`step "${name}": ${e && e.message ? e.message.split('\n')[0] : e}`);
  }
}

function check(cond, msg) {
  if (!cond) throw new Error(msg);
}

function watch(p) {
  p.on('console', (m) => {
    if (watchErrors && m.type() === 'error') problems.push(`console: ${m.text()}`);
  });
  p.on('pageerror', (e) => {
    problems.push(`uncaught: ${e.message}`);
  });
}

/** The API seen by the test itself (independent of the UI), with the token. */
async function apiGet(p, apiPath) {
  return p.evaluate(async ([u, t]) => {
    const r = await fetch(u, { headers: { Authorization: `Bearer ${t}` } });
    if (!r.ok) throw new Error(`${u}: HTTP ${r.status}`);
    return r.json();
  }, [new URL(apiPath, opt.url).href, opt.token]);
}

const id = opt.id.toLowerCase();
const row = `tr[data-testid="torrent-row"][data-id="${id}"]`;
const nfiles = Number(opt.files);

async function waitRowState(state, ms = STEP_MS) {
  await page.waitForSelector(`${row}[data-state="${state}"]`, { timeout: ms });
  const badge = (await page.textContent(`${row} [data-testid="state"]`)).trim();
  check(badge === state, `state badge says ${JSON.stringify(badge)}, want ${state}`);
}

async function setDownloadLimit(kib) {
  await page.click('#open-settings');
  await page.waitForSelector('#settings[open]', { timeout: 5000 });
  await page.fill('#limit-down', kib === null ? '' : String(kib));
  await page.click('#limits-save');
  await page.waitForSelector('#settings:not([open])', { state: 'attached', timeout: 5000 });
  const s = await apiGet(page, '/api/v1/session');
  const want = kib === null ? null : kib * 1024;
  check(s.download_limit === want, `session download_limit is ${s.download_limit}, want ${want}`);
}

async function fileRow(suffix) {
  const rows = page.locator('tr[data-testid="file-row"]');
  const n = await rows.count();
  for (let i = 0; i < n; i += 1) {
    const r = rows.nth(i);
    const p = (await r.locator('td.path').textContent()) || '';
    if (p.endsWith(suffix)) return r;
  }
  throw new Error(`no file row ending in ${suffix}`);
}

async function setFileWanted(suffix, wanted) {
  const r = await fileRow(suffix);
  await r.locator('[data-testid="file-check"]').setChecked(wanted);
  await page.click('#files-apply');
  const want = wanted ? 'normal' : 'skip';
  await page.waitForFunction(
    ([s, w]) => [...document.querySelectorAll('tr[data-testid="file-row"]')]
      .some((tr) => tr.querySelector('td.path').textContent.endsWith(s) && tr.dataset.priority === w),
    [suffix, want],
    { timeout: 10000 },
  );
  const files = await apiGet(page, `/api/v1/torrents/${id}/files`);
  const f = files.find((x) => x.path.endsWith(suffix));
  check(f && f.priority === want, `API says ${suffix} has priority ${f && f.priority}, want ${want}`);
}

async function main() {
  await step('launch chromium', async () => {
    browser = await chromium.launch({
      executablePath: opt.chromium,
      args: ['--no-sandbox', '--disable-gpu', '--no-first-run'],
      timeout: 45000,
    });
    const ctx = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    page = await ctx.newPage();
    page.setDefaultTimeout(STEP_MS);
    watch(page);
  });
  clearTimeout(overall);
  overall = setTimeout(() => fail(`not done ${TOTAL_MS} ms after the browser started`), TOTAL_MS);

  await step('open the UI: login form, wrong token refused', async () => {
    const resp = await page.goto(opt.url, { waitUntil: 'load' });
    check(resp && resp.ok(), `GET ${opt.url}: ${resp && resp.status()}`);
    const csp = resp.headers()['content-security-policy'] || '';
    check(csp.includes("default-src 'self'"), `no strict CSP on the page: ${JSON.stringify(csp)}`);
    await page.waitForSelector('#login:not([hidden])');
    await page.fill('#token-input', 'not-the-token');
    await page.click('#token-save');
    await page.waitForSelector('#login-error:not([hidden])');
    check(await page.isHidden('#main'), 'main view shown with a wrong token');
  });

  await step('log in with the token', async () => {
    await page.fill('#token-input', opt.token);
    await page.click('#token-save');
    await page.waitForSelector('#main:not([hidden])');
    await page.waitForSelector('#empty:not([hidden])');
    const stored = await page.evaluate(() => localStorage.getItem('shoal.token'));
    check(stored === opt.token, 'token not kept in localStorage');
    watchErrors = true; // from here on any console error fails the test
    await page.waitForSelector('#conn[data-mode="live"]', { timeout: 10000 });
  });

  await step('set a global download limit (limits form)', () => setDownloadLimit(256));

  await step('add by magnet: link and QR code shown', async () => {
    await page.click('#tab-magnet');
    await page.fill('#magnet-input', opt.magnet);
    await page.click('#add-magnet-btn');
    await page.waitForSelector('#add-result:not([hidden])');
    const link = await page.inputValue('#add-link');
    check(link.startsWith('magnet:') && link.toLowerCase().includes(id), `bad link ${link}`);
    await page.waitForFunction(() => {
      const i = document.getElementById('add-qr');
      return !i.hidden && i.complete && i.naturalWidth > 0 && i.src.startsWith('blob:');
    });
  });

  await step('list: downloading, live progress, name shown as text', async () => {
    await page.waitForSelector(row);
    await waitRowState('downloading');
    await page.waitForFunction(
      (sel) => {
        const r = document.querySelector(sel);
        const pct = parseFloat(r.querySelector('[data-testid="progress"]').textContent);
        return pct > 0 && pct < 100 && r.querySelector('[data-testid="down"]').textContent !== '—';
      },
      row,
    );
    const shown = await page.textContent(`${row} [data-testid="open"]`);
    check(shown === opt.name, `name shown as ${JSON.stringify(shown)}, want ${JSON.stringify(opt.name)}`);
    check(await page.evaluate(() => !document.getElementById('xss-probe')), 'torrent name was parsed as HTML');
  });

  await step('detail view: files, peers, trackers', async () => {
    await page.click(`${row} [data-testid="open"]`);
    await page.waitForSelector('#detail:not([hidden])');
    await page.waitForFunction((n) => document.querySelectorAll('tr[data-testid="file-row"]').length === n, nfiles);
    await page.waitForFunction(
      (addr) => [...document.querySelectorAll('tr[data-testid="peer-row"] td:first-child')]
        .some((td) => td.textContent === addr),
      opt.seeder,
    );
    const info = await page.textContent('#detail-info');
    check(info.includes(id), 'detail view lacks the info hash');
    check(await page.evaluate(() => !document.getElementById('xss-file')), 'a file name was parsed as HTML');
    check(await page.isVisible('#trackers-empty'), 'trackers section not shown');
  });

  await step('screenshot while downloading', async () => {
    await page.screenshot({ path: path.join(shotDir, `${shotBase}-downloading.png`), fullPage: true });
  });

  await step('file selection: skip one file, then want it again', async () => {
    await setFileWanted('zeta.bin', false);
    await setFileWanted('zeta.bin', true);
  });

  await step('clear the download limit', () => setDownloadLimit(null));

  await step('download completes: 100% and seeding', async () => {
    await waitRowState('seeding', 30000);
    const pct = (await page.textContent(`${row} [data-testid="progress"]`)).trim();
    check(pct === '100.0%', `progress ${pct} when seeding`);
    await page.waitForFunction(
      () => [...document.querySelectorAll('tr[data-testid="file-row"] .pct')].every((e) => e.textContent === '100.0%'),
    );
  });

  await step('pause', async () => {
    await page.click(`${row} [data-testid="pause"]`);
    await waitRowState('paused');
    check(await page.isVisible(`${row} [data-testid="resume"]`), 'no resume button when paused');
    const t = await apiGet(page, `/api/v1/torrents/${id}`);
    check(t.state === 'paused', `API state ${t.state} after pause`);
  });

  await step('resume', async () => {
    await page.click(`${row} [data-testid="resume"]`);
    await waitRowState('seeding');
  });

  await step('detail view after completion; screenshot', async () => {
    await page.click('#detail-qr-btn');
    await page.waitForFunction(() => {
      const i = document.getElementById('detail-qr');
      return !i.hidden && i.complete && i.naturalWidth > 0;
    });
    await page.waitForSelector('#conn[data-mode="live"]');
    await page.screenshot({ path: opt.screenshot, fullPage: true });
    log(`screenshot: ${opt.screenshot}`);
  });

  await step('token from the URL fragment (fresh browser context)', async () => {
    const ctx = await browser.newContext();
    const p = await ctx.newPage();
    watch(p);
    await p.goto(`${opt.url}#token=${encodeURIComponent(opt.token)}`);
    await p.waitForSelector('#main:not([hidden])', { timeout: 10000 });
    await p.waitForSelector(row, { timeout: 10000 });
    check((await p.evaluate(() => location.hash)) === '', 'token left in the address bar');
    await ctx.close();
  });

  await step('remove, keeping the data', async () => {
    await page.click(`${row} [data-testid="remove"]`);
    await page.waitForSelector('#remove-dialog[open]');
    check(!(await page.isChecked('#remove-delete-data')), 'delete-data checked by default');
    await page.click('#remove-confirm');
    await page.waitForSelector(row, { state: 'detached' });
    await page.waitForSelector('#empty:not([hidden])');
    check(await page.isHidden('#detail'), 'detail view still open for a removed torrent');
  });

  current = 'final checks';
  if (problems.length) await fail('errors on the page');
  clearTimeout(overall);
  await browser.close();
  log('ui.test: all steps passed');
}

main().catch((e) => fail(`${current}: ${e && e.stack ? e.stack : e}`));
