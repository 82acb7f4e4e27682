// End-to-end tests of the web UI in headless Chromium (Debian's /usr/bin/chromium, driven by
// playwright-core) against the real binary. Builds nothing: the binary is $SWITCHBOARD_BIN
// (default target/debug/switchboard). Run with `node --test tests/browser/run.mjs` or
// `scripts/test-browser`. Screenshots of the main screens go to docs/screenshots/.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, mkdirSync, rmSync, existsSync, readFileSync } from 'node:fs';
import { deflateSync } from 'node:zlib';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const ROOT = path.resolve(HERE, '..', '..');
const BIN = path.resolve(ROOT, process.env.SWITCHBOARD_BIN || 'target/debug/switchboard');
const CHROMIUM = process.env.CHROMIUM_PATH || '/usr/bin/chromium';
const SHOTS = path.join(ROOT, 'docs', 'screenshots');
const VIEWPORT = { width: 1280, height: 720 };
const PASSWORDS = { admin: 'admin-demo-pass', alice: 'alice-demo-pass', bob: 'bob-demo-pass' };

let server;
let base;
let workdir;
let browser;
let adminToken;
let serverLog = '';
const contexts = [];

// ---------------------------------------------------------------- server and browser

function startServer() {
  workdir = mkdtempSync(path.join(tmpdir(), 'switchboard-browser-'));
  const env = {
    ...process.env,
    SWITCHBOARD__SERVER__BIND: '127.0.0.1:0',
    SWITCHBOARD__DATABASE__PATH: path.join(workdir, 'switchboard.db'),
    SWITCHBOARD__DEMO__ENABLED: 'true',
    SWITCHBOARD__WHATSAPP__SANDBOX: 'true',
    SWITCHBOARD__AUTH__LOGIN_ATTEMPTS_PER_MINUTE: '1000',
    SWITCHBOARD__LOG__LEVEL: 'info',
    RUST_LOG: process.env.RUST_LOG || 'info',
  };
  delete env.SWITCHBOARD_ENV;
  delete env.SWITCHBOARD_CONFIG;
  return new Promise((resolve, reject) => {
    const child = spawn(BIN, [], { cwd: workdir, env, stdio: ['ignore', 'pipe', 'pipe'] });
    server = child;
    let out = '';
    const timer = setTimeout(() => reject(new Error(`no "listening" line within 30 s:\n${out}`)), 30000);
    child.stdout.on('data', (d) => {
      out += d;
      serverLog += d;
      const m = out.match(/switchboard listening on (http:\/\/\S+)/);
      if (m && !base) {
        base = m[1];
        clearTimeout(timer);
        resolve();
      }
    });
    child.stderr.on('data', (d) => { serverLog += d; });
    child.on('exit', (code) => {
      if (!base) { clearTimeout(timer); reject(new Error(`switchboard exited with ${code}:\n${serverLog}`)); }
    });
  });
}

before(async () => {
  if (!existsSync(BIN)) throw new Error(`no binary at ${BIN}: run \`cargo build\` or set SWITCHBOARD_BIN`);
  if (!existsSync(CHROMIUM)) throw new Error(`no browser at ${CHROMIUM}: apt-get install chromium`);
  mkdirSync(SHOTS, { recursive: true });
  await startServer();
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking',
      '--disable-component-update', '--no-first-run', '--disable-sync', '--autoplay-policy=no-user-gesture-required'],
  });
  adminToken = (await call('POST', '/api/v1/auth/login', { username: 'admin', password: PASSWORDS.admin })).token;
});

after(async () => {
  for (const c of contexts) await c.close().catch(() => {});
  if (browser) await browser.close().catch(() => {});
  if (server) server.kill('SIGTERM');
  if (workdir) rmSync(workdir, { recursive: true, force: true });
});

async function call(method, p, body, token = adminToken) {
  const headers = {};
  if (token) headers.Authorization = `Bearer ${token}`;
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  const res = await fetch(base + p, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  const text = await res.text();
  const data = text ? JSON.parse(text) : null;
  if (!res.ok) throw new Error(`${method} ${p} → ${res.status} ${text}`);
  return data;
}

async function newPage() {
  const ctx = await browser.newContext({ viewport: VIEWPORT, permissions: ['notifications'], baseURL: base });
  contexts.push(ctx);
  const page = await ctx.newPage();
  page.setDefaultTimeout(15000);
  page.errors = [];
  page.on('pageerror', (e) => page.errors.push(e.message));
  // The commands the page sends on its agent socket (read, typing, send with reply_to, ...).
  page.sent = [];
  page.on('websocket', (ws) => ws.on('framesent', (f) => {
    try { page.sent.push(JSON.parse(f.payload)); } catch { /* not JSON */ }
  }));
  return page;
}


// ---------------------------------------------------------------- test files

const CRC_TABLE = Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k += 1) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});

function crc32(buf) {
  let c = 0xffffffff;
  for (const b of buf) c = CRC_TABLE[(c ^ b) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

/** A PNG of width × height whose pixels are paint(x, y) → [r, g, b]. */
function png(width, height, paint) {
  const raw = Buffer.alloc((width * 3 + 1) * height);
  for (let y = 0; y < height; y += 1) {
    const row = y * (width * 3 + 1);
    for (let x = 0; x < width; x += 1) {
      const [r, g, b] = paint(x, y);
      raw[row + 1 + x * 3] = r;
      raw[row + 2 + x * 3] = g;
      raw[row + 3 + x * 3] = b;
    }
  }
  const chunk = (type, data) => {
    const len = Buffer.alloc(4);
    len.writeUInt32BE(data.length);
    const body = Buffer.concat([Buffer.from(type, 'ascii'), data]);
    const crc = Buffer.alloc(4);
    crc.writeUInt32BE(crc32(body));
    return Buffer.concat([len, body, crc]);
  };
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr[8] = 8; // bit depth
  ihdr[9] = 2; // RGB
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', ihdr), chunk('IDAT', deflateSync(raw)), chunk('IEND', Buffer.alloc(0)),
  ]);
}

/** A parcel on a table (a photo a customer might send), as a PNG. */
function parcelPhoto(width = 480, height = 360) {
  return png(width, height, (x, y) => {
    const inBox = x > width * 0.25 && x < width * 0.75 && y > height * 0.3 && y < height * 0.8;
    const tape = inBox && Math.abs(x - width * 0.5) < width * 0.04;
    const dent = inBox && (x - width * 0.62) ** 2 + (y - height * 0.42) ** 2 < (width * 0.07) ** 2;
    if (tape) return [214, 196, 150];
    if (dent) return [120, 82, 45];
    if (inBox) return [176, 124, 72];
    if (y > height * 0.72) return [92 + (x % 40 < 20 ? 6 : 0), 70, 52];
    return [205 - Math.round((y / height) * 40), 220 - Math.round((y / height) * 30), 232];
  });
}

/** Just enough of a PDF to be one. */
const SAMPLE_PDF = Buffer.from('%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n2 0 obj<</Type/Pages/Kids[]/Count 0>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n');

async function shot(page, name) {
  await page.evaluate(() => document.querySelectorAll('.toast').forEach((t) => t.remove()));
  await page.screenshot({ path: path.join(SHOTS, `${name}.png`) });
}

/** An agent desktop, logged in and connected. */
async function agentPage(username, { screenshotLogin = false } = {}) {
  const page = await newPage();
  await page.goto('/');
  await page.locator('#login-username').waitFor();
  await page.fill('#login-username', username);
  await page.fill('#login-password', PASSWORDS[username]);
  if (screenshotLogin) await shot(page, 'login');
  await page.click('form.login-card button[type=submit]');
  await page.locator('#conn.online').waitFor();
  return page;
}

async function setStatus(page, status) {
  await page.click('#status-btn');
  await page.click(`#status-menu [role=menuitemradio][data-status=${status}]`);
  const label = { available: 'Available', on_break: 'On Break', offline: 'Offline' }[status];
  await page.locator('#status-label', { hasText: label }).waitFor();
}

async function simulatorPage() {
  const page = await newPage();
  await page.goto('/simulator.html');
  await page.locator('#sim-channel option').first().waitFor({ state: 'attached' });
  return page;
}

async function simAs(page, name, number) {
  await page.fill('#sim-name', name);
  await page.fill('#sim-number', number);
  await page.click('#sim-apply');
  await page.locator('#sim-who', { hasText: number }).waitFor();
}

async function simSay(page, text) {
  await page.fill('#sim-text', text);
  await page.press('#sim-text', 'Enter');
  await page.locator('.wa.mine .text', { hasText: text }).last().waitFor();
}

/** A customer message through the simulator's API (the same signed webhook path). */
async function customerSays(from, name, text) {
  return call('POST', '/api/v1/simulator/messages', { from, name, text }, null);
}

async function acceptOffer(page, customerName) {
  const offer = page.locator('.offer', { hasText: customerName });
  await offer.waitFor();
  await offer.locator('button.accept').click();
  await page.locator('#conv-name', { hasText: customerName }).waitFor();
}

async function endAndWrapUp(page, code) {
  await page.getByRole('button', { name: /^End the conversation/ }).click();
  await finishWrapUp(page, code);
}

async function finishWrapUp(page, code) {
  const dlg = page.locator('#wrapup-dialog');
  await dlg.waitFor();
  if (code) await dlg.locator(`input[name=disposition][value=${code}]`).check();
  await dlg.locator('#wrapup-submit').click();
  await dlg.waitFor({ state: 'detached' });
}

async function load(page) {
  return (await page.locator('#load-value').textContent()).trim();
}

async function closeAll(...pages) {
  for (const p of pages) await p.context().close().catch(() => {});
}

// ---------------------------------------------------------------- scenarios

test('static pages are served and unknown paths are 404 JSON', async () => {
  for (const p of ['/', '/app.js', '/style.css', '/admin.html', '/admin.js', '/simulator.html', '/simulator.js', '/common.js', '/desk/templates.js', '/desk/canned.js', '/admin/canned.js', '/admin/monitor.js', '/admin/reports.js', '/admin/routing.js', '/vendor/chart.umd.min.js']) {
    const res = await fetch(base + p);
    assert.equal(res.status, 200, p);
  }
  const res = await fetch(`${base}/no/such/page`);
  assert.equal(res.status, 404);
  assert.equal((await res.json()).error.code, 'not_found');
  const html = await (await fetch(`${base}/`)).text();
  assert.ok(!/<script(?![^>]*\bsrc=)[^>]*>/i.test(html), 'no inline scripts');
  assert.ok(!/\son[a-z]+=/i.test(html), 'no inline event handlers');
});

test('main flow: offer, accept, reply, reconnect, conference, transfer, wrap-up', async () => {
  const alice = await agentPage('alice', { screenshotLogin: true });
  const bob = await agentPage('bob');
  await setStatus(bob, 'on_break');
  await setStatus(alice, 'available');
  assert.equal(await load(alice), '0 / 3');

  const sim = await simulatorPage();
  await simAs(sim, 'Sofia Ramos', '447700900101');
  await simSay(sim, 'Hi! My order #1042 has not arrived yet.');

  // The popup: customer name and number, source number, queue, timers, Accept / Reject.
  const offer = alice.locator('.offer', { hasText: 'Sofia Ramos' });
  await offer.waitFor();
  assert.equal(await offer.locator('.offer-phone').textContent(), '+447700900101');
  assert.equal(await offer.locator('.offer-source').textContent(), '+1 555 010 0000');
  assert.equal(await offer.locator('.offer-queue').textContent(), 'Support');
  assert.match(await offer.locator('.offer-waiting').textContent(), /^\d+:\d\d$/);
  assert.match(await offer.locator('.offer-expires').textContent(), /^0:[0-3]\d$/);
  assert.equal(await offer.locator('button.reject').isEnabled(), true);
  await shot(alice, 'desktop-offer');

  await offer.locator('button.accept').click();
  await alice.locator('#conv-name', { hasText: 'Sofia Ramos' }).waitFor();
  await alice.locator('.msg.in .text', { hasText: 'order #1042' }).waitFor();
  assert.equal(await load(alice), '1 / 3');

  // Reply with Enter; Shift+Enter makes a new line.
  await alice.click('#composer');
  await alice.keyboard.type('Hello Sofia, thanks for writing.');
  await alice.keyboard.press('Shift+Enter');
  await alice.keyboard.type('Let me check your order.');
  assert.equal(await alice.locator('#char-counter').textContent(), `${'Hello Sofia, thanks for writing.\nLet me check your order.'.length} / 4096`);
  await alice.keyboard.press('Enter');
  assert.equal(await alice.inputValue('#composer'), '');
  const reply = alice.locator('.msg.out', { hasText: 'Let me check your order.' });
  await reply.waitFor();

  // The simulator shows the reply, reads it, and the agent sees the read tick.
  const simReply = sim.locator('.wa.theirs', { hasText: 'Let me check your order.' });
  await simReply.waitFor();
  await sim.locator('.wa.theirs[data-status=read]').waitFor();
  await reply.locator('.tick[data-status=read]').waitFor();
  await simSay(sim, 'Thank you! It was order 1042, a blue backpack.');
  await alice.locator('.msg.in .text', { hasText: 'blue backpack' }).waitFor();
  await shot(sim, 'simulator');

  // The 4096 limit: the counter turns red and Send is disabled.
  await alice.fill('#composer', 'x'.repeat(4097));
  assert.equal(await alice.locator('#char-counter').textContent(), '4097 / 4096');
  assert.equal(await alice.locator('#send-btn').isDisabled(), true);
  await alice.fill('#composer', '');

  // Reconnect: the socket drops, the desk says so, and hello brings the state back.
  await alice.evaluate(() => window.switchboardDesk.state.ws.close());
  await alice.locator('#reconnect-banner').waitFor();
  await alice.locator('#conn.online').waitFor({ timeout: 20000 });
  await alice.locator('#conv-name', { hasText: 'Sofia Ramos' }).waitFor();
  await alice.locator('.msg.in .text', { hasText: 'blue backpack' }).waitFor();

  // Conference with Bob (Agent tab, search, refresh).
  await setStatus(bob, 'available');
  await alice.getByRole('button', { name: 'Conference', exact: true }).click();
  const conf = alice.locator('#conference-dialog');
  await conf.waitFor();
  await conf.getByRole('tab', { name: 'Agent' }).click();
  await conf.getByRole('button', { name: 'Refresh the list' }).click();
  await conf.locator('#conference-search').fill('bob');
  await conf.locator('label.option', { hasText: 'Bob Nguyen' }).click();
  await conf.getByRole('button', { name: 'Conference', exact: true }).click();
  await conf.waitFor({ state: 'detached' });
  const bobOffer = bob.locator('.offer', { hasText: 'Conference request' });
  await bobOffer.waitFor();
  await bobOffer.locator('button.accept').click();
  await bob.locator('#conv-name', { hasText: 'Sofia Ramos' }).waitFor();
  await alice.locator('.sysmsg', { hasText: 'Bob Nguyen joined' }).waitFor();
  await bob.fill('#composer', 'Hi Sofia, Bob from shipping here.');
  await bob.press('#composer', 'Enter');
  const bobMsg = alice.locator('.msg.out', { hasText: 'Bob from shipping' });
  await bobMsg.waitFor();
  assert.equal(await bobMsg.locator('.author').textContent(), 'Bob Nguyen');
  await sim.locator('.wa.theirs', { hasText: 'Bob from shipping' }).waitFor();
  await shot(alice, 'conversation');

  // End conference: Bob goes to wrap-up and picks a code.
  await alice.getByRole('button', { name: 'End conference' }).click();
  await finishWrapUp(bob, 'resolved');
  await bob.locator('#ilist .empty').waitFor();
  assert.equal(await load(bob), '0 / 3');

  // Transfer to Bob: Alice wraps up at once, Bob gets a transfer offer.
  await alice.getByRole('button', { name: 'Transfer', exact: true }).click();
  const tr = alice.locator('#transfer-dialog');
  await tr.getByRole('tab', { name: 'Queue' }).waitFor();
  await tr.locator('label.option', { hasText: 'Support' }).waitFor();
  await tr.getByRole('tab', { name: 'Agent' }).click();
  await tr.locator('label.option', { hasText: 'Bob Nguyen' }).click();
  await tr.getByRole('button', { name: 'Transfer', exact: true }).click();
  const wrap = alice.locator('#wrapup-dialog');
  await wrap.waitFor();
  assert.equal(await wrap.locator('label.option').count(), 4);
  await wrap.locator('input[name=disposition][value=follow_up]').check();
  await shot(alice, 'wrap-up');
  await wrap.locator('#wrapup-search').fill('follow');
  assert.equal(await wrap.locator('label.option').count(), 1);
  await wrap.locator('input[name=disposition][value=follow_up]').check();
  assert.match(await wrap.locator('#wrapup-countdown').textContent(), /^\d+:\d\d$/);
  await wrap.locator('#wrapup-submit').click();
  await wrap.waitFor({ state: 'detached' });
  await alice.locator('#ilist .empty').waitFor();
  assert.equal(await alice.locator('#status-label').textContent(), 'Available');
  assert.equal(await load(alice), '0 / 3');

  const tOffer = bob.locator('.offer', { hasText: 'Transfer request' });
  await tOffer.waitFor();
  assert.match(await tOffer.textContent(), /Alice Martin/);
  await tOffer.locator('button.accept').click();
  await bob.locator('.msg.in .text', { hasText: 'blue backpack' }).waitFor();
  await bob.fill('#composer', 'Your backpack ships today. Anything else?');
  await bob.press('#composer', 'Enter');
  await sim.locator('.wa.theirs', { hasText: 'ships today' }).waitFor();
  await endAndWrapUp(bob, 'resolved');
  await bob.locator('#ilist .empty').waitFor();

  const acts = await call('GET', '/api/v1/activities');
  const act = (acts.items || acts).find((a) => a.customer && a.customer.phone === '+447700900101');
  assert.ok(act, 'a call log was saved');
  assert.ok(act.transcript.some((m) => m.text.includes('ships today')));

  for (const p of [alice, bob, sim]) assert.deepEqual(p.errors, []);
  await setStatus(alice, 'offline');
  await setStatus(bob, 'offline');
  await closeAll(alice, bob, sim);
});

test('a signed-in agent who reloads the page is back on the desk, connected', async () => {
  const page = await agentPage('bob');
  await page.reload();
  await page.locator('#conn.online').waitFor();
  await page.locator('#status-btn').waitFor();
  assert.deepEqual(page.errors, [], 'no script error after the reload');
  await closeAll(page);
});

test('RONA after an offer timeout; Reject disabled without permission', async () => {
  const queues = await call('GET', '/api/v1/queues');
  const support = (queues.items || queues).find((q) => q.name === 'Support');
  const agents = await call('GET', '/api/v1/agents');
  const aliceRec = (agents.items || agents).find((a) => a.username === 'alice');
  await call('PATCH', `/api/v1/queues/${support.id}`, { offer_timeout_secs: 5 });
  await call('PATCH', '/api/v1/settings', { no_answer_status: 'rona' });
  await call('PATCH', `/api/v1/agents/${aliceRec.id}`, { can_reject: false });
  try {
    const alice = await agentPage('alice');
    await setStatus(alice, 'available');
    await customerSays('447700900202', 'Ravi Shah', 'Is anyone there?');
    const offer = alice.locator('.offer', { hasText: 'Ravi Shah' });
    await offer.waitFor();
    const reject = offer.locator('button.reject');
    assert.equal(await reject.isDisabled(), true);
    assert.match(await offer.locator('span[title]').first().getAttribute('title'), /not allowed you to reject/);
    assert.match(await offer.textContent(), /permission to reject/);

    // Let it lapse: the offer goes and the status becomes RONA.
    await offer.waitFor({ state: 'detached', timeout: 12000 });
    await alice.locator('#status-label', { hasText: 'RONA' }).waitFor();
    await alice.click('#status-btn');
    const ronaItem = alice.locator('#status-menu [role=menuitemradio]', { hasText: 'RONA' });
    assert.equal(await ronaItem.isDisabled(), true);
    await alice.keyboard.press('Escape');

    // Only Available leaves RONA; the waiting conversation is offered again.
    await setStatus(alice, 'available');
    await acceptOffer(alice, 'Ravi Shah');
    await endAndWrapUp(alice, null);
    await alice.locator('#ilist .empty').waitFor();
    assert.deepEqual(alice.errors, []);
    await setStatus(alice, 'offline');
    await closeAll(alice);
  } finally {
    await call('PATCH', `/api/v1/queues/${support.id}`, { offer_timeout_secs: 30 });
    await call('PATCH', '/api/v1/settings', { no_answer_status: 'on_break' });
    await call('PATCH', `/api/v1/agents/${aliceRec.id}`, { can_reject: true });
  }
});

test('stop new holds offers back without changing the status (keyboard only)', async () => {
  const alice = await agentPage('alice');
  // Status menu by keyboard: Enter opens, arrows move, Enter picks.
  await alice.focus('#status-btn');
  await alice.keyboard.press('Enter');
  await alice.locator('#status-menu [role=menuitemradio][data-status=available]').waitFor();
  await alice.locator('#status-menu [role=menuitemradio][data-status=available]').focus();
  await alice.keyboard.press('Enter');
  await alice.locator('#status-label', { hasText: 'Available' }).waitFor();

  await alice.focus('#stop-new');
  await alice.keyboard.press('Enter');
  await alice.locator('#stop-new[aria-pressed=true]', { hasText: 'Resume' }).waitFor();
  assert.equal(await alice.locator('#status-label').textContent(), 'Available');

  await customerSays('447700900303', 'Mia Chen', 'Hello, quick question about billing');
  await new Promise((r) => setTimeout(r, 2500));
  assert.equal(await alice.locator('.offer').count(), 0, 'no offer while stop new is on');
  const stats = await call('GET', '/api/v1/stats/realtime');
  assert.equal(stats.queues.find((q) => q.name === 'Support').waiting, 1);

  // The live board shows the waiting conversation.
  const admin = await newPage();
  await admin.goto('/admin.html');
  await admin.fill('#login-username', 'admin');
  await admin.fill('#login-password', PASSWORDS.admin);
  await admin.click('form.login-card button[type=submit]');
  const row = admin.locator('#board-queues tr[data-queue]', { hasText: 'Support' });
  await row.waitFor();
  await admin.locator('#board-queues td.hot', { hasText: '1' }).waitFor();
  await admin.locator('#board-agents .stat[data-status=available] .v', { hasText: '1' }).waitFor();
  await new Promise((r) => setTimeout(r, 1200)); // let the longest wait count up
  await shot(admin, 'admin-board');

  await alice.keyboard.press('Enter'); // Resume (focus is still on the toggle)
  await alice.locator('#stop-new[aria-pressed=false]').waitFor();
  await acceptOffer(alice, 'Mia Chen');
  await endAndWrapUp(alice, 'resolved');
  await alice.locator('#ilist .empty').waitFor();

  // Admin pages render (agents, queues, channels, settings) without errors.
  for (const tab of ['Agents', 'Queues', 'Channels', 'Settings']) {
    await admin.getByRole('tab', { name: tab }).click();
    await admin.locator('#admin-main .card').first().waitFor();
  }
  await admin.getByRole('tab', { name: 'Queues' }).click();
  await admin.locator('tr[data-queue=Support]').waitFor();
  assert.match(await admin.locator('tr[data-queue=Support]').textContent(), /Resolved/);

  assert.deepEqual(alice.errors, []);
  assert.deepEqual(admin.errors, []);
  await setStatus(alice, 'offline');
  await closeAll(alice, admin);
});

test('customer text stays text: an XSS attempt in a name and a message', async () => {
  const evilName = '<img src=x onerror="window.__xss=1">Eve';
  const evilText = '<script>window.__xss=2</script><b>bold?</b> <img src=x onerror="window.__xss=3">';
  const alice = await agentPage('alice');
  await setStatus(alice, 'available');
  const sim = await simulatorPage();
  await simAs(sim, evilName, '447700900404');
  await simSay(sim, evilText);

  const offer = alice.locator('.offer').first();
  await offer.waitFor();
  assert.equal(await offer.locator('.offer-name').textContent(), evilName);
  assert.equal(await offer.locator('img').count(), 0);
  await offer.locator('button.accept').click();
  const bubble = alice.locator('.msg.in .text').first();
  await bubble.waitFor();
  assert.equal(await bubble.textContent(), evilText);
  assert.equal(await alice.locator('#center img, #center b, #center script').count(), 0);
  assert.equal(await alice.locator('#ilist img, #pop img').count(), 0);
  assert.equal(await alice.evaluate(() => window.__xss), undefined);
  assert.equal(await sim.locator('#sim-messages img, #sim-messages b').count(), 0);
  assert.equal(await sim.evaluate(() => window.__xss), undefined);

  await endAndWrapUp(alice, null);
  await setStatus(alice, 'offline');
  await closeAll(alice, sim);
});

test('masking on: the desktop shows masked numbers', async (t) => {
  await call('PATCH', '/api/v1/settings', { masking_enabled: true });
  try {
    const alice = await agentPage('alice');
    await setStatus(alice, 'available');
    await customerSays('447966197542', 'Lena Fischer', 'My card is 4111 1111 1111 1111 and mail melissa@gmail.com');
    const offer = alice.locator('.offer', { hasText: 'Lena Fischer' });
    await offer.waitFor();
    const phone = await offer.locator('.offer-phone').textContent();
    await offer.locator('button.accept').click();
    const bubble = alice.locator('.msg.in .text').first();
    await bubble.waitFor();
    const text = await bubble.textContent();
    await endAndWrapUp(alice, null);
    await setStatus(alice, 'offline');
    await closeAll(alice);
    assert.equal(phone, '*********7542');
    assert.ok(!text.includes('4111 1111 1111 1111'), `card number masked in: ${text}`);
    assert.ok(text.includes('m******@gmail.com'), `e-mail masked in: ${text}`);
  } finally {
    await call('PATCH', '/api/v1/settings', { masking_enabled: false });
  }
});

test('a busy desk: alert colours, unread counts, accessible names, fits 1280x720', async () => {
  const queues = await call('GET', '/api/v1/queues');
  const support = (queues.items || queues).find((q) => q.name === 'Support');
  await call('PATCH', `/api/v1/queues/${support.id}`, { alert_warn_secs: 3, alert_critical_secs: 8 });
  try {
    const alice = await agentPage('alice');
    await setStatus(alice, 'available');
    await customerSays('447700900606', 'Amara Okafor', 'Can I change my delivery address?');
    await acceptOffer(alice, 'Amara Okafor');
    await alice.fill('#composer', 'Hi Amara, sure: what is the new address?');
    await alice.press('#composer', 'Enter');
    await alice.locator('.msg.out', { hasText: 'new address' }).waitFor();
    await customerSays('447700900505', 'Noah Williams', 'Hi there, my invoice looks wrong');
    await acceptOffer(alice, 'Noah Williams');
    await new Promise((r) => setTimeout(r, 2500));
    await customerSays('447700900606', 'Amara Okafor', 'It should go to 12 Park Lane instead.');
    const amara = alice.locator('#ilist .item', { hasText: 'Amara Okafor' });
    const noah = alice.locator('#ilist .item', { hasText: 'Noah Williams' });
    await amara.locator('.badge', { hasText: '1' }).waitFor();
    assert.match(await amara.getAttribute('aria-label'), /1 unread/);
    // Noah waits longest (critical); Amara's newer message is only past the warn time.
    await alice.locator('#ilist .item.alert-critical', { hasText: 'Noah Williams' }).waitFor({ timeout: 12000 });
    await alice.locator('#ilist .item.alert-warn', { hasText: 'Amara Okafor' }).waitFor({ timeout: 3000 });
    await shot(alice, 'desktop-alerts');

    const unnamed = await alice.evaluate(() => {
      const bad = [];
      for (const el of document.querySelectorAll('button, input, select, textarea, a[href], [role=tab], [role=menuitemradio]')) {
        if (el.offsetParent === null && el.type !== 'radio') continue;
        const name = (el.getAttribute('aria-label') || '').trim()
          || (el.getAttribute('aria-labelledby') ? 'x' : '')
          || (el.labels && el.labels.length ? 'x' : '')
          || (el.textContent || '').trim()
          || (el.getAttribute('title') || '').trim();
        if (!name) bad.push(el.outerHTML.slice(0, 120));
      }
      return bad;
    });
    assert.deepEqual(unnamed, []);
    const overflow = await alice.evaluate(() => document.documentElement.scrollWidth > window.innerWidth || document.documentElement.scrollHeight > window.innerHeight);
    assert.equal(overflow, false, 'no page scrollbars at 1280x720');

    // Replying clears the alert.
    await noah.click();
    await alice.fill('#composer', 'Sorry about that, Noah: I am fixing the invoice now.');
    await alice.press('#composer', 'Enter');
    await alice.locator('#ilist .item.alert-none', { hasText: 'Noah Williams' }).waitFor();

    await endAndWrapUp(alice, null);
    await alice.locator('#ilist .item', { hasText: 'Amara Okafor' }).click();
    await endAndWrapUp(alice, null);
    await alice.locator('#ilist .empty').waitFor();
    assert.deepEqual(alice.errors, []);
    await setStatus(alice, 'offline');
    await closeAll(alice);
  } finally {
    await call('PATCH', `/api/v1/queues/${support.id}`, { alert_warn_secs: 60, alert_critical_secs: 180 });
  }
});

test('screen pop: match count, picker for several matches, new-contact form', async (t) => {
  const make = (first, last, company) => fetch(`${base}/api/v1/contacts`, {
    method: 'POST',
    headers: { Authorization: `Bearer ${adminToken}`, 'Content-Type': 'application/json' },
    body: JSON.stringify({ first_name: first, last_name: last, phones: ['+447700900707'], company }),
  });
  const r1 = await make('Grace', 'Hopper', 'Navy Labs');
  assert.equal(r1.status, 201, await r1.text());
  assert.equal((await make('Grace', 'H.', 'Cobol Inc')).status, 201);

  const alice = await agentPage('alice');
  await setStatus(alice, 'available');
  await customerSays('447700900707', 'Grace', 'Hello, it is Grace again');
  const offer = alice.locator('.offer', { hasText: 'Grace' });
  await offer.waitFor();
  const matchesOnOffer = await offer.locator('.avatar .badge').count();
  await offer.locator('button.accept').click();
  await alice.locator('#conv-name', { hasText: 'Grace' }).waitFor();
  assert.equal(matchesOnOffer, 1, 'the offer shows the match count');
  await alice.locator('#pop-matches', { hasText: '2 matching contacts' }).waitFor({ timeout: 5000 });
  assert.equal(await alice.locator('#pop-avatar .badge').textContent(), '2');
  await alice.click('#pop-avatar');
  await alice.locator('#pop .picker button', { hasText: 'Grace H.' }).click();
  await alice.locator('#pop-name', { hasText: 'Grace H.' }).waitFor();
  await shot(alice, 'screen-pop');
  await endAndWrapUp(alice, 'resolved');

  // No match: the new-contact form, saved through create_contact.
  await customerSays('447700900808', 'Ada Lovelace', 'First time here!');
  await acceptOffer(alice, 'Ada Lovelace');
  await alice.locator('#nc-first_name').waitFor();
  assert.equal(await alice.inputValue('#nc-first_name'), 'Ada');
  assert.equal(await alice.inputValue('#nc-last_name'), 'Lovelace');
  await alice.fill('#nc-company', 'Analytical Engines Ltd');
  await alice.click('#pop form button[type=submit]');
  await alice.locator('#pop-name', { hasText: 'Ada Lovelace' }).waitFor();
  await endAndWrapUp(alice, null);
  const found = await call('GET', '/api/v1/contacts?phone=%2B447700900808');
  assert.equal((found.items || found).length, 1);
  assert.deepEqual(alice.errors, []);
  await setStatus(alice, 'offline');
  await closeAll(alice);
});

// ---------------------------------------------------------------- second wave: identity, media, replies

test('a customer who withholds the number shows as @username (offer, conversation, customer record, simulator)', async () => {
  const alice = await agentPage('alice');
  await setStatus(alice, 'available');
  const sim = await simulatorPage();
  await simAs(sim, 'Ann Baker', '@ann.baker');
  await simSay(sim, 'Hi! I only share my username here.');

  const offer = alice.locator('.offer', { hasText: 'Ann Baker' });
  await offer.waitFor();
  assert.equal(await offer.locator('.offer-phone').textContent(), '@ann.baker');
  assert.match(await offer.textContent(), /WhatsApp username/);
  await offer.locator('button.accept').click();
  await alice.locator('#conv-name', { hasText: 'Ann Baker' }).waitFor();
  assert.equal(await alice.locator('#conv-phone').textContent(), '@ann.baker');
  assert.equal(await alice.locator('#pop-phone').textContent(), '@ann.baker');
  assert.match(await alice.locator('#ilist .item', { hasText: 'Ann Baker' }).getAttribute('aria-label'), /@ann\.baker/);

  // The reply reaches the customer (sent to the BSUID), who reads it.
  await alice.fill('#composer', 'Hello Ann! How can I help you today?');
  await alice.press('#composer', 'Enter');
  await sim.locator('.wa.theirs', { hasText: 'How can I help you today?' }).waitFor();
  await alice.locator('.msg.out .tick[data-status=read]').waitFor();
  await simSay(sim, 'My parcel says delivered, but it is not here.');
  await alice.locator('.msg.in .text', { hasText: 'not here' }).waitFor();
  // The customer quotes the agent's reply and reacts to it from the phone (R24).
  const theirReply = sim.locator('.wa.theirs', { hasText: 'How can I help you today?' });
  await theirReply.hover();
  await theirReply.locator('button.sim-reply').click();
  await sim.locator('#sim-replying:not([hidden])').waitFor();
  await simSay(sim, 'About my parcel, see above.');
  await alice.locator('.msg.in', { hasText: 'see above' }).locator('.quote', { hasText: 'How can I help you today?' }).waitFor();
  await theirReply.locator('button.sim-react').click();
  await alice.locator('.msg.out', { hasText: 'How can I help you today?' }).locator('.reaction', { hasText: '👍' }).waitFor();
  await sim.locator('.wa.theirs', { hasText: 'How can I help you today?' }).locator('.wa-reactions', { hasText: '👍' }).waitFor();
  assert.match(await sim.locator('#phone-sub').textContent(), /@ann\.baker/);
  assert.match(await sim.locator('#sim-who').textContent(), /number is withheld/);
  await shot(sim, 'simulator-username');

  await endAndWrapUp(alice, 'resolved');
  const acts = await call('GET', '/api/v1/activities');
  const act = (acts.items || acts).find((a) => a.customer && a.customer.username === 'ann.baker');
  assert.ok(act, 'a call log names the customer by username');
  assert.equal(act.customer.phone, null);
  for (const p of [alice, sim]) assert.deepEqual(p.errors, []);
  await setStatus(alice, 'offline');
  await closeAll(alice, sim);
});

test('reply with a quote: hover action, keyboard, the replying bar; read and typing are sent', async (t) => {
  const alice = await agentPage('alice');
  await setStatus(alice, 'available');
  await customerSays('447700900909', 'Pedro Alves', 'Do you ship to Portugal?');
  await acceptOffer(alice, 'Pedro Alves');
  const iid = await alice.evaluate(() => window.switchboardDesk.state.selected);
  await customerSays('447700900909', 'Pedro Alves', 'And how long does it take?');
  const first = alice.locator('.msg.in', { hasText: 'ship to Portugal' });
  const second = alice.locator('.msg.in', { hasText: 'how long' });
  await second.waitFor();

  // Looking at the conversation marks the customer's messages read, the newest again (a
  // server that does not know `read` yet refuses the first, and is not asked again).
  const readFrames = () => alice.sent.filter((f) => f.type === 'read' && f.interaction_id === iid).length;
  for (let i = 0; i < 50 && readFrames() < 2; i += 1) await new Promise((r) => setTimeout(r, 100));
  assert.equal(readFrames(), 2, 'read on accept, and again for the new message on screen');
  assert.equal(await alice.evaluate(() => window.switchboardDesk.state.unsupported.has('read')), false, 'the server knows read');

  // Hover shows Reply and React; Reply opens the bar, Esc cancels it.
  await first.hover();
  await alice.waitForFunction((e) => getComputedStyle(e).opacity === '1', await first.locator('.msg-actions').elementHandle());
  await first.locator('[data-act=reply]').click();
  await alice.locator('#reply-bar', { hasText: 'Replying to Pedro Alves' }).waitFor();
  assert.match(await alice.locator('#reply-bar .rb-text').textContent(), /ship to Portugal/);
  assert.equal(await alice.evaluate(() => document.activeElement.id), 'composer');
  await alice.keyboard.press('Escape');
  await alice.locator('#reply-bar').waitFor({ state: 'hidden' });

  // By keyboard: from the composer back into the messages (to the message last used), down
  // and up with the arrows, then Reply.
  const focusedIn = () => alice.evaluate(() => [document.activeElement.dataset.act, document.activeElement.closest('.msg')?.dataset.mid]);
  const secondId = await second.getAttribute('data-mid');
  const firstMid = await first.getAttribute('data-mid');
  await alice.focus('#composer');
  await alice.keyboard.press('Shift+Tab');
  assert.deepEqual(await focusedIn(), ['react', firstMid]);
  await alice.keyboard.press('ArrowDown');
  assert.deepEqual(await focusedIn(), ['react', secondId]);
  await alice.keyboard.press('ArrowUp');
  assert.deepEqual(await focusedIn(), ['react', firstMid]);
  await alice.keyboard.press('Shift+Tab');
  assert.equal(await alice.evaluate(() => document.activeElement.dataset.act), 'reply');
  await alice.keyboard.press('Enter');
  await alice.locator('#reply-bar', { hasText: 'ship to Portugal' }).waitFor();
  await alice.keyboard.type('Yes, we ship to Portugal: 3 to 5 working days.');
  await alice.keyboard.press('Enter');
  await alice.locator('#reply-bar').waitFor({ state: 'hidden' });
  const reply = alice.locator('.msg.out', { hasText: '3 to 5 working days' });
  await reply.waitFor();
  const firstId = Number(await first.getAttribute('data-mid'));
  assert.ok(alice.sent.some((f) => f.type === 'send' && f.reply_to === firstId && /3 to 5/.test(f.text)), 'send carries reply_to');
  assert.ok(alice.sent.some((f) => f.type === 'typing' && f.interaction_id === iid), 'typing while composing');
  assert.equal(alice.sent.filter((f) => f.type === 'typing' && f.interaction_id === iid).length, 1, 'typing at most once in 20 s');
  assert.equal(await alice.locator('.toast.error').count(), 0, 'read and typing never show an error');

  await t.test('the quoted message shows above the reply', async () => {
    await reply.locator('.quote', { hasText: 'ship to Portugal' }).waitFor();
    await reply.locator('.quote').click();
    assert.equal(await alice.evaluate(() => document.activeElement.closest('.msg')?.textContent.includes('Portugal?')), true);
  });
  await endAndWrapUp(alice, null);
  assert.deepEqual(alice.errors, []);
  await setStatus(alice, 'offline');
  await closeAll(alice);
});

test('media, replies, reactions, edits and uploads on the desk (the contract\'s events played into the page)', async () => {
  // The real server runs the conversation; what the contract adds on the wire (media,
  // message_media, reaction, message_changed, the attachments endpoint, the media files) is
  // played into the page, so the desk is checked against the contract on any backend.
  const alice = await newPage();
  let wire = null;
  const played = [];
  const play = (ev) => { played.push(ev); wire.send(JSON.stringify(ev)); };
  await alice.routeWebSocket(/\/ws\/agent/, (ws) => {
    const server = ws.connectToServer();
    wire = ws;
    ws.onMessage((raw) => {
      let f = null;
      try { f = JSON.parse(raw); } catch { f = null; }
      if (f) alice.sent.push(f);
      if (f && f.type === 'react') {
        ws.send(JSON.stringify({ type: 'ack', ref: f.ref }));
        play({ type: 'reaction', interaction_id: f.interaction_id, message_id: f.message_id, emoji: f.emoji, author: { kind: 'agent', id: String(me.id), name: me.display_name } });
        return;
      }
      if (f && f.type === 'send' && f.reply_to) {
        ws.send(JSON.stringify({ type: 'ack', ref: f.ref }));
        const q = messages.get(f.reply_to);
        play({ type: 'message', interaction_id: f.interaction_id, message: out(900010, f.text, { reply_to: { message_id: f.reply_to, text: q ? q.media?.caption || q.text : '' } }) });
        return;
      }
      server.send(raw);
    });
    server.onMessage((raw) => ws.send(raw));
  });
  const mediaRequests = [];
  const photo = parcelPhoto();
  await alice.route('**/api/v1/media/**', (route) => {
    mediaRequests.push(route.request().headers().authorization || '');
    const id = decodeURIComponent(route.request().url().split('/').pop());
    if (id.startsWith('doc')) return route.fulfill({ status: 200, contentType: 'application/pdf', body: SAMPLE_PDF });
    return route.fulfill({ status: 200, contentType: 'image/png', body: photo });
  });
  const uploads = [];
  let holdUpload = null;
  await alice.route('**/api/v1/interactions/*/attachments', async (route) => {
    const req = route.request();
    const body = req.postDataBuffer() || Buffer.alloc(0);
    uploads.push({ auth: req.headers().authorization, body });
    if (body.includes(Buffer.from('filename="setup.exe"'))) {
      return route.fulfill({ status: 415, contentType: 'application/json', body: JSON.stringify({ error: { code: 'unsupported_media_type', message: 'application/x-msdownload cannot be sent on WhatsApp' } }) });
    }
    if (holdUpload) await holdUpload;
    const name = /filename="([^"]+)"/.exec(body.toString('latin1'))[1];
    const caption = /name="caption"\r\n\r\n([^\r]*)/.exec(body.toString('utf8'));
    const id = 900020 + uploads.length;
    const msg = out(id, caption ? caption[1] : '', { kind: 'image', status: 'queued', media: { id: `up-${id}`, mime_type: 'image/png', size: body.length, filename: name, caption: caption ? caption[1] : null, sha256: 'x', state: 'ready', url: `/api/v1/media/up-${id}`, error: null } });
    return route.fulfill({ status: 202, contentType: 'application/json', body: JSON.stringify(msg) });
  });

  await alice.goto('/');
  await alice.fill('#login-username', 'alice');
  await alice.fill('#login-password', PASSWORDS.alice);
  await alice.click('form.login-card button[type=submit]');
  await alice.locator('#conn.online').waitFor();
  const me = await alice.evaluate(() => window.switchboardDesk.state.me);
  await setStatus(alice, 'available');
  await customerSays('447700901212', 'Clara Jensen', 'Hello, my parcel arrived damaged.');
  await acceptOffer(alice, 'Clara Jensen');
  const iid = await alice.evaluate(() => window.switchboardDesk.state.selected);

  const messages = new Map();
  const when = () => new Date().toISOString();
  const customer = { kind: 'customer', id: null, name: 'Clara Jensen' };
  function inbound(id, kind, text, extra = {}) {
    const m = { id, direction: 'in', author: customer, text, kind, sent_at: when(), status: null, media: null, reply_to: null, reactions: [], edited: false, deleted: false, ...extra };
    messages.set(id, m);
    return m;
  }
  function out(id, text, extra = {}) {
    const m = { id, direction: 'out', author: { kind: 'agent', id: String(me.id), name: me.display_name }, text, kind: 'text', sent_at: when(), status: 'queued', media: null, reply_to: null, reactions: [], edited: false, deleted: false, ...extra };
    messages.set(id, m);
    return m;
  }
  const row = (id) => alice.locator(`.msg[data-mid="${id}"]`);

  // An image: pending while the server downloads it, then a thumbnail fetched with the token.
  const imageMedia = { id: 'img-1', mime_type: 'image/jpeg', size: 182000, filename: null, caption: 'The box arrived like this', sha256: 'x', state: 'pending', url: null, error: null };
  play({ type: 'message', interaction_id: iid, message: inbound(900001, 'image', 'The box arrived like this', { media: imageMedia }) });
  await row(900001).locator('[data-media-state=pending]', { hasText: 'Receiving the image' }).waitFor();
  play({ type: 'message_media', interaction_id: iid, message_id: 900001, media: { ...imageMedia, state: 'ready', url: '/api/v1/media/img-1' } });
  await alice.waitForFunction(() => {
    const img = document.querySelector('.msg[data-mid="900001"] .media-thumb img');
    return img && img.complete && img.naturalWidth > 0;
  });
  assert.ok(mediaRequests.length && mediaRequests.every((a) => /^Bearer [0-9a-f]{64}$/.test(a)), `media fetched with the token: ${mediaRequests}`);
  assert.equal(await row(900001).locator('.bubble .text').textContent(), 'The box arrived like this');

  // A document chip with its name and size; it downloads under its name.
  play({ type: 'message', interaction_id: iid, message: inbound(900002, 'document', '[document: invoice-1042.pdf]', { media: { id: 'doc-1', mime_type: 'application/pdf', size: 48213, filename: 'invoice-1042.pdf', caption: null, sha256: 'x', state: 'ready', url: '/api/v1/media/doc-1', error: null } }) });
  const chip = row(900002).locator('.doc-chip');
  await chip.waitFor();
  assert.equal(await chip.locator('.doc-name').textContent(), 'invoice-1042.pdf');
  assert.equal(await chip.locator('.doc-sub').textContent(), 'PDF · 47 KB');
  assert.equal(await row(900002).locator('.bubble .text').count(), 0, 'no "[document: ...]" placeholder text');
  const [download] = await Promise.all([alice.waitForEvent('download'), chip.click()]);
  assert.equal(download.suggestedFilename(), 'invoice-1042.pdf');

  // The thumbnail opens large; Esc closes and gives focus back.
  await row(900001).locator('.media-thumb').click();
  const box = alice.locator('#lightbox');
  await box.waitFor();
  await alice.waitForFunction(() => document.querySelector('#lightbox img')?.naturalWidth > 0);
  await alice.keyboard.press('Escape');
  await box.waitFor({ state: 'detached' });
  assert.equal(await alice.evaluate(() => document.activeElement.classList.contains('media-thumb')), true);

  // Reply to the image from its hover action: the quote is above the reply.
  await row(900001).hover();
  await row(900001).locator('[data-act=reply]').click();
  await alice.locator('#reply-bar', { hasText: 'The box arrived like this' }).waitFor();
  await alice.keyboard.type('So sorry about that! A replacement ships today, no need to return it.');
  await alice.keyboard.press('Enter');
  await row(900010).locator('.quote', { hasText: 'The box arrived like this' }).waitFor();
  assert.match(await row(900010).locator('.quote .q-who').textContent(), /Clara Jensen/);

  // Reactions: ours on the document by keyboard (React, arrow, Enter); the customer's on the reply.
  await row(900002).locator('[data-act=react]').focus();
  await alice.keyboard.press('Enter');
  await alice.locator('.react-picker').waitFor();
  await alice.keyboard.press('ArrowRight');
  await alice.keyboard.press('Enter');
  await row(900002).locator('.reaction[data-emoji="❤️"][aria-pressed=true]').waitFor();
  assert.ok(alice.sent.some((f) => f.type === 'react' && f.message_id === 900002 && f.emoji === '❤️'));
  play({ type: 'reaction', interaction_id: iid, message_id: 900010, emoji: '🙏', author: customer });
  await row(900010).locator('.reaction[data-emoji="🙏"]').waitFor();
  play({ type: 'message_status', interaction_id: iid, message_id: 900010, status: 'read', error: null });
  await row(900010).locator('.tick[data-status=read]').waitFor();
  // The README's picture: thumbnail, document chip and the quoted reply in one view.
  await alice.mouse.move(0, 0);
  await alice.locator('#composer').focus();
  await alice.setViewportSize({ width: 1280, height: 800 });
  await row(900001).evaluate((e) => { e.parentElement.scrollTop = e.offsetTop - e.parentElement.offsetTop - 12; });
  await new Promise((r) => setTimeout(r, 300));
  await shot(alice, 'media');
  await alice.setViewportSize(VIEWPORT);

  // Taking our reaction back: the same emoji again sends an empty one.
  await row(900002).locator('.reaction[data-emoji="❤️"]').click();
  await row(900002).locator('.reaction').waitFor({ state: 'detached' });
  assert.ok(alice.sent.some((f) => f.type === 'react' && f.message_id === 900002 && f.emoji === ''));

  // Edited and deleted by the customer.
  play({ type: 'message', interaction_id: iid, message: inbound(900003, 'text', 'Can you send a new lable?') });
  play({ type: 'message_changed', interaction_id: iid, message: { ...messages.get(900003), text: 'Can you send a new label?', edited: true } });
  await row(900003).locator('.edited').waitFor();
  assert.equal(await row(900003).locator('.text').textContent(), 'Can you send a new label?');
  play({ type: 'message', interaction_id: iid, message: inbound(900004, 'text', 'wrong chat, sorry') });
  play({ type: 'message_changed', interaction_id: iid, message: { ...messages.get(900004), text: '', deleted: true } });
  await row(900004).locator('.deleted-text', { hasText: 'deleted by the customer' }).waitFor();
  assert.equal(await row(900004).locator('.msg-actions').count(), 0);
  assert.ok(await row(900004).evaluate((e) => e.classList.contains('deleted')));

  // A download that failed says why.
  play({ type: 'message', interaction_id: iid, message: inbound(900005, 'video', '[video]', { media: { id: 'vid-1', mime_type: 'video/mp4', size: 9000000, filename: null, caption: null, sha256: 'x', state: 'failed', url: null, error: 'the media id expired at WhatsApp' } }) });
  await row(900005).locator('[data-media-state=failed]', { hasText: 'the media id expired at WhatsApp' }).waitFor();

  // Uploads: too large is refused before sending; a 415 is shown plainly; then a queued bubble.
  const chooseFile = async (file) => {
    const [chooser] = await Promise.all([alice.waitForEvent('filechooser'), alice.click('#attach-btn')]);
    await chooser.setFiles(file);
  };
  await chooseFile({ name: 'huge.png', mimeType: 'image/png', buffer: Buffer.alloc(6 * 1024 * 1024, 1) });
  await alice.locator('.upload.failed', { hasText: 'huge.png is too large (6 MB): WhatsApp takes JPEG or PNG images up to 5 MB' }).waitFor();
  assert.equal(uploads.length, 0, 'nothing was sent');
  await alice.locator('.upload.failed button', { hasText: 'Dismiss' }).click();
  await chooseFile({ name: 'setup.exe', mimeType: 'application/x-msdownload', buffer: Buffer.from('MZ...') });
  await alice.locator('.upload.failed', { hasText: 'WhatsApp does not take this type of file' }).waitFor();
  assert.equal(uploads.length, 1);
  await alice.locator('.upload.failed button', { hasText: 'Dismiss' }).click();

  let release;
  holdUpload = new Promise((r) => { release = r; });
  await alice.fill('#composer', 'Here is your return label');
  await chooseFile({ name: 'label.png', mimeType: 'image/png', buffer: photo });
  const progress = alice.locator('.upload progress[aria-label="Uploading label.png"]');
  await progress.waitFor();
  assert.equal(await alice.inputValue('#composer'), '', 'the text went as the caption');
  release();
  holdUpload = null;
  await progress.waitFor({ state: 'detached' });
  const queued = row(900022);
  await queued.locator('.tick[data-status=queued]').waitFor();
  await queued.locator('.media-thumb').waitFor();
  assert.equal(await queued.locator('.bubble .text').textContent(), 'Here is your return label');
  const sent = uploads[uploads.length - 1];
  assert.match(sent.auth, /^Bearer /);
  assert.ok(sent.body.includes(Buffer.from('name="caption"')) && sent.body.includes(Buffer.from('Here is your return label')));

  // Drag and drop onto the conversation, and a pasted screenshot, are sent the same way.
  const dropAndPaste = await alice.evaluate(async () => {
    const file = (name) => new File([new Uint8Array([137, 80, 78, 71, 1, 2, 3])], name, { type: 'image/png' });
    const dt = new DataTransfer();
    dt.items.add(file('dropped.png'));
    const center = document.getElementById('center');
    for (const type of ['dragenter', 'dragover']) center.dispatchEvent(new DragEvent(type, { dataTransfer: dt, bubbles: true, cancelable: true }));
    const overlay = !!center.querySelector('.drop-zone');
    center.dispatchEvent(new DragEvent('drop', { dataTransfer: dt, bubbles: true, cancelable: true }));
    const clip = new DataTransfer();
    clip.items.add(file('image.png'));
    document.getElementById('composer').dispatchEvent(new ClipboardEvent('paste', { clipboardData: clip, bubbles: true, cancelable: true }));
    return overlay;
  });
  assert.equal(dropAndPaste, true, 'the drop zone shows while a file is dragged over');
  await row(900023).locator('.media-thumb').waitFor();
  await row(900024).locator('.media-thumb').waitFor();
  assert.deepEqual(uploads.slice(-2).map((u) => /filename="([^"]+)"/.exec(u.body.toString('latin1'))[1]).sort(), ['dropped.png', 'image.png']);

  await endAndWrapUp(alice, null);
  assert.deepEqual(alice.errors, []);
  await setStatus(alice, 'offline');
  await closeAll(alice);
});

test('upload of an image via the attach button shows a queued bubble (attachments backend)', async (t) => {
  const alice = await agentPage('alice');
  await setStatus(alice, 'available');
  const sim = await simulatorPage();
  await simAs(sim, 'Iris Novak', '447700901313');
  await simSay(sim, 'Could you send me a picture of the spare part?');
  await acceptOffer(alice, 'Iris Novak');
  // Every status an attachment's bubble goes through.
  await alice.evaluate(() => {
    window.__statuses = [];
    new MutationObserver(() => {
      for (const m of document.querySelectorAll('.msg.out')) {
        if (m.querySelector('.media')) window.__statuses.push(m.dataset.status);
      }
    }).observe(document.getElementById('center'), { subtree: true, childList: true, attributes: true });
  });
  await alice.fill('#composer', 'This is the spare part');
  const [chooser] = await Promise.all([alice.waitForEvent('filechooser'), alice.click('#attach-btn')]);
  await chooser.setFiles({ name: 'spare-part.png', mimeType: 'image/png', buffer: parcelPhoto(320, 240) });
  const bubble = alice.locator('.msg.out', { has: alice.locator('.media-thumb') });
  await bubble.waitFor();
  assert.ok((await alice.evaluate(() => window.__statuses)).includes('queued'), 'the bubble showed queued');
  assert.equal(await bubble.locator('.bubble .text').textContent(), 'This is the spare part');
  await alice.waitForFunction(() => document.querySelector('.msg.out .media-thumb img')?.naturalWidth > 0);
  await sim.locator('.wa.theirs').filter({ has: sim.locator('[data-kind=image]') }).waitFor();
  // The customer's phone shows the picture itself (sandbox link to the file).
  await sim.waitForFunction(() => document.querySelector('.wa.theirs .wa-media-img img')?.naturalWidth > 0);
  await endAndWrapUp(alice, null);
  for (const p of [alice, sim]) assert.deepEqual(p.errors, []);
  await setStatus(alice, 'offline');
  await closeAll(alice, sim);
});

test('an inbound image shows as a thumbnail that opens large (media backend)', async (t) => {
  const alice = await agentPage('alice');
  await setStatus(alice, 'available');
  const sim = await simulatorPage();
  await simAs(sim, 'Hana Ito', '447700901414');
  await sim.fill('#sim-text', 'The box arrived damaged');
  await sim.click('.phone-compose button[data-kind=image]');
  await acceptOffer(alice, 'Hana Ito');
  const state = await alice.waitForFunction(() => {
    const failed = document.querySelector('.msg.in [data-media-state=failed], .msg.in [data-media-state=unloaded]');
    if (failed) return `failed: ${failed.textContent}`;
    const img = document.querySelector('.msg.in .media-thumb img');
    return img && img.complete && img.naturalWidth > 0 ? 'shown' : null;
  }, null, { timeout: 30000 }).then((h) => h.jsonValue());
  assert.equal(state, 'shown');
  await alice.locator('.msg.in .bubble .text', { hasText: 'The box arrived damaged' }).waitFor();
  await alice.locator('.msg.in .media-thumb').click();
  await alice.locator('#lightbox').waitFor();
  await alice.keyboard.press('Escape');
  await alice.locator('#lightbox').waitFor({ state: 'detached' });

  await sim.click('.phone-compose button[data-kind=document]');
  await alice.locator('.msg.in .doc-chip .doc-name').waitFor({ timeout: 30000 });
  await endAndWrapUp(alice, null);
  for (const p of [alice, sim]) assert.deepEqual(p.errors, []);
  await setStatus(alice, 'offline');
  await closeAll(alice, sim);
});

// ---------------------------------------------------------------- templates, outbound conversations, CSAT (R23, R28)

/** The HTTP API with the page's own session (what the page itself could do). */
async function pageApi(page, method, p, body) {
  return page.evaluate(async ([m, url, b]) => {
    const token = sessionStorage.getItem('switchboard.token');
    const res = await fetch(url, {
      method: m,
      headers: { Authorization: `Bearer ${token}`, ...(b === undefined ? {} : { 'Content-Type': 'application/json' }) },
      body: b === undefined ? undefined : JSON.stringify(b),
    });
    const text = await res.text();
    return { status: res.status, body: text ? JSON.parse(text) : null };
  }, [method, p, body]);
}

async function mainChannel() {
  const r = await call('GET', '/api/v1/channels');
  const list = r.items || r;
  return list.find((c) => c.display_phone_number === '+1 555 010 0000') || list[0];
}

async function adminPage() {
  const page = await newPage();
  await page.goto('/admin.html');
  await page.fill('#login-username', 'admin');
  await page.fill('#login-password', PASSWORDS.admin);
  await page.click('form.login-card button[type=submit]');
  await page.locator('#admin-main .card').first().waitFor();
  return page;
}

/** In an open picker: choose the template `name`. */
async function chooseTemplate(dlg, name) {
  await dlg.locator(`label.tpl-opt[data-name="${name}"]`).click();
  await dlg.locator(`label.tpl-opt[data-name="${name}"] input[type=radio]:checked`).waitFor();
}

test('templates: a conversation with its window closed sends an approved template from the picker', async () => {
  const alice = await newPage();
  // The agent socket goes through as it is; one refusal is played in, to see it in the dialog.
  let refuseNext = null;
  await alice.routeWebSocket(/\/ws\/agent/, (ws) => {
    const server = ws.connectToServer();
    ws.onMessage((raw) => {
      let f = null;
      try { f = JSON.parse(raw); } catch { f = null; }
      if (f) alice.sent.push(f);
      if (f && f.type === 'send_template' && refuseNext) {
        ws.send(JSON.stringify({ type: 'error', ref: f.ref, ...refuseNext }));
        refuseNext = null;
        return;
      }
      server.send(raw);
    });
    server.onMessage((raw) => ws.send(raw));
  });
  await alice.goto('/');
  await alice.fill('#login-username', 'alice');
  await alice.fill('#login-password', PASSWORDS.alice);
  await alice.click('form.login-card button[type=submit]');
  await alice.locator('#conn.online').waitFor();
  const channel = await mainChannel();

  // The business writes first: the conversation is outbound, its window closed until the
  // customer answers.
  const created = await pageApi(alice, 'POST', '/api/v1/conversations', {
    channel_id: channel.id, to: '+447700901515', template: { name: 'welcome_back', language: 'en_US', parameters: {} },
  });
  assert.equal(created.status, 201, JSON.stringify(created.body));
  assert.equal(created.body.kind, 'outbound');
  const item = alice.locator(`#ilist .item[data-iid="${created.body.id}"]`);
  await item.waitFor();
  await item.locator('.outbound-chip', { hasText: 'Outbound' }).waitFor();
  await item.click();
  await alice.locator('.conv-chips .outbound-chip').waitFor();
  await alice.locator('.msg.out .tpl-label', { hasText: 'Template: welcome_back' }).waitFor();
  const notice = alice.locator('#composer-notice');
  await notice.waitFor();
  assert.match(await notice.textContent(), /WhatsApp only allows an approved template/);
  assert.equal(await alice.locator('#composer').isDisabled(), true);
  assert.equal(await alice.locator('#attach-btn').isDisabled(), true);
  assert.equal(await alice.locator('#template-btn').isEnabled(), true);

  // The picker: Esc closes it; the notice's button opens it again.
  await alice.click('#template-btn');
  const dlg = alice.locator('#template-dialog');
  await dlg.waitFor();
  await alice.keyboard.press('Escape');
  await dlg.waitFor({ state: 'detached' });
  await alice.click('#notice-template-btn');
  await dlg.waitFor();
  assert.equal(await alice.evaluate(() => document.activeElement.id), 'tpl-search');
  await dlg.locator('label.tpl-opt[data-name=order_update]').waitFor();

  // Only approved templates can be chosen; the others show their status and reason on request.
  assert.equal(await dlg.locator('label.tpl-opt').count(), 3);
  await dlg.locator('#tpl-show-all').check();
  assert.equal(await dlg.locator('label.tpl-opt').count(), 5);
  const rejected = dlg.locator('label.tpl-opt.blocked[data-name=spring_sale]');
  assert.match(await rejected.textContent(), /Rejected/);
  assert.match(await rejected.textContent(), /promotional/i);
  assert.equal(await rejected.locator('input').isDisabled(), true);
  assert.equal(await dlg.locator('label.tpl-opt.blocked[data-name=new_policy] .tpl-status').textContent(), 'Pending');
  await dlg.locator('#tpl-show-all').uncheck();

  // Search by name and by the text of the body.
  await dlg.locator('#tpl-search').fill('appointment');
  assert.deepEqual(await dlg.locator('label.tpl-opt').evaluateAll((ls) => ls.map((l) => l.dataset.name)), ['appointment_reminder']);
  await dlg.locator('#tpl-search').fill('on its way');
  assert.deepEqual(await dlg.locator('label.tpl-opt').evaluateAll((ls) => ls.map((l) => l.dataset.name)), ['order_update']);

  // The parameters: labelled fields with Meta's examples as placeholders; the preview follows.
  await chooseTemplate(dlg, 'order_update');
  const inputs = dlg.locator('#tpl-params input');
  assert.equal(await inputs.count(), 5, 'header 1, body 3, button 1');
  for (const i of await inputs.all()) {
    assert.ok((await i.getAttribute('placeholder')).length > 0, 'an example as placeholder');
    assert.ok((await i.evaluate((e) => e.labels.length)) === 1, 'a label');
  }
  const send = dlg.locator('#template-send');
  assert.equal(await send.isDisabled(), true);
  await dlg.locator('#tpl-p-header-0').fill('12345');
  await dlg.locator('.tpl-bubble .tpl-header', { hasText: 'Order 12345' }).waitFor();
  await dlg.locator('#tpl-p-body-0').fill('Ana');
  await dlg.locator('#tpl-p-body-1').fill('12345');
  await dlg.locator('#tpl-p-body-2').fill('Friday');
  assert.equal(await dlg.locator('.tpl-bubble .tpl-body').textContent(), 'Hi Ana, your order 12345 is on its way and should arrive on Friday.');
  assert.equal(await send.isDisabled(), true, 'the button parameter is still empty');
  assert.match(await dlg.locator('#tpl-missing').textContent(), /last field/);
  await dlg.locator('#tpl-p-buttons-0').fill('ABC123');
  assert.equal(await send.isEnabled(), true);
  await shot(alice, 'template-picker');

  // A refusal shows in the dialog, which stays open; then the send goes through.
  refuseNext = { code: 'template_not_approved', message: 'order_update is PAUSED at WhatsApp' };
  await send.click();
  await dlg.locator('#template-error', { hasText: 'order_update is PAUSED at WhatsApp' }).waitFor();
  assert.match(await dlg.locator('#template-error').textContent(), /not approved/);
  await send.click();
  await dlg.waitFor({ state: 'detached' });
  const frame = alice.sent.filter((f) => f.type === 'send_template').pop();
  assert.deepEqual(
    { interaction_id: frame.interaction_id, name: frame.name, language: frame.language, parameters: frame.parameters },
    { interaction_id: created.body.id, name: 'order_update', language: 'en_US', parameters: { header: ['12345'], body: ['Ana', '12345', 'Friday'], buttons: ['ABC123'] } });
  const bubble = alice.locator('.msg.out', { has: alice.locator('.tpl-label', { hasText: 'Template: order_update' }) });
  await bubble.waitFor();
  assert.match(await bubble.locator('.bubble .text').textContent(), /Order 12345[\s\S]*Hi Ana, your order 12345 is on its way/);

  // The customer answers: the window opens, free text is allowed again.
  await customerSays('447700901515', 'Ana Costa', 'Thanks! Can I change the delivery day?');
  await alice.locator('.msg.in .text', { hasText: 'change the delivery day' }).waitFor();
  await alice.locator('#composer:not([disabled])').waitFor();
  assert.equal(await notice.isHidden(), true);
  await alice.fill('#composer', 'Of course, which day suits you?');
  await alice.press('#composer', 'Enter');
  await alice.locator('.msg.out .text', { hasText: 'which day suits you' }).waitFor();

  await endAndWrapUp(alice, null);
  await alice.locator(`#ilist .item[data-iid="${created.body.id}"]`).waitFor({ state: 'detached' });
  assert.deepEqual(alice.errors, []);
  await closeAll(alice);
});

test('new conversation from the customer panel: 201 opens it on the desk, a second start is refused', async () => {
  const contact = await call('POST', '/api/v1/contacts', {
    first_name: 'Tomas', last_name: 'Berg', phones: ['+447700901616', '+447700901617'], company: 'Berg Bikes',
  });
  const alice = await agentPage('alice');
  await setStatus(alice, 'available');
  await customerSays('447700901616', 'Tomas Berg', 'Hi, I also have a work phone, can you text me there?');
  await acceptOffer(alice, 'Tomas Berg');
  const first = await alice.evaluate(() => window.switchboardDesk.state.selected);
  await alice.locator('#pop-name', { hasText: 'Tomas Berg' }).waitFor();

  const open = async () => {
    await alice.click('#pop-new-conversation');
    const dlg = alice.locator('#new-conversation-dialog');
    await dlg.waitFor();
    await dlg.locator('label.tpl-opt[data-name=appointment_reminder]').waitFor();
    return dlg;
  };
  const dlg = await open();
  // The contact's other number, the conversation's channel, named parameters by their name.
  assert.equal(await dlg.locator('#nc-to').inputValue(), '+447700901617');
  assert.equal(await dlg.locator('#nc-channel option').count(), 1);
  await chooseTemplate(dlg, 'appointment_reminder');
  assert.deepEqual(await dlg.locator('#nct-params label').allTextContents(), ['first_name', 'date']);
  const start = dlg.locator('#new-conversation-start');
  assert.equal(await start.isDisabled(), true);
  await dlg.getByLabel('first_name', { exact: true }).fill('Tomas');
  await dlg.getByLabel('date', { exact: true }).fill('Tuesday 10:00');
  assert.equal(await dlg.locator('.tpl-bubble .tpl-body').textContent(), 'Hello Tomas, this is a reminder of your appointment on Tuesday 10:00.');
  assert.deepEqual(await dlg.locator('.tpl-bubble .tpl-button').allTextContents(), ['Confirm', 'Reschedule']);
  await shot(alice, 'new-conversation');
  await start.click();
  await dlg.waitFor({ state: 'detached' });

  // The new conversation is on the desk, selected, outbound, its first message the template.
  await alice.locator('#conv-phone', { hasText: '+447700901617' }).waitFor();
  await alice.locator('.conv-chips .outbound-chip').waitFor();
  await alice.locator('.msg.out .tpl-label', { hasText: 'Template: appointment_reminder' }).waitFor();
  await alice.locator('#notice-template-btn').waitFor();
  assert.equal(await alice.locator('#ilist .item').count(), 2);
  const second = await alice.evaluate(() => window.switchboardDesk.state.selected);
  assert.notEqual(second, first);
  const sentStart = await call('GET', `/api/v1/interactions/${second}`);
  assert.equal(sentStart.kind, 'outbound');
  assert.ok(!(await alice.locator('#ilist .item').first().getAttribute('aria-label')).includes('outbound'));

  // Again to the same number: that customer has an open conversation on the channel.
  await alice.locator(`#ilist .item[data-iid="${first}"]`).click();
  await alice.locator('#pop-name', { hasText: 'Tomas Berg' }).waitFor();
  const again = await open();
  await chooseTemplate(again, 'welcome_back');
  await again.locator('#new-conversation-start').click();
  const err = again.locator('#new-conversation-error');
  await err.waitFor({ state: 'visible' });
  assert.match(await err.textContent(), /already has an open conversation/);
  await again.locator('#new-conversation-open-existing').click();
  await again.waitFor({ state: 'detached' });
  assert.equal(await alice.evaluate(() => window.switchboardDesk.state.selected), second);

  await endAndWrapUp(alice, null);
  await alice.locator(`#ilist .item[data-iid="${first}"]`).click();
  await endAndWrapUp(alice, null);
  await alice.locator('#ilist .empty').waitFor();
  assert.deepEqual(alice.errors, []);
  await setStatus(alice, 'offline');
  await closeAll(alice);
  await call('DELETE', `/api/v1/contacts/${contact.id}`);
});

test('admin: channel templates with Sync, CSAT settings on a queue, a new conversation from the contacts page', async () => {
  const channel = await mainChannel();
  const admin = await adminPage();
  await admin.getByRole('tab', { name: 'Channels' }).click();
  const row = admin.locator(`tr[data-channel="${channel.id}"]`);
  await row.waitFor();

  // Templates: name, language, category, coloured status, reason.
  await row.getByRole('button', { name: `Templates of ${channel.name}` }).click();
  const dlg = admin.locator('#templates-dialog');
  await dlg.locator('tr[data-template=order_update]').waitFor();
  assert.equal(await dlg.locator('tr[data-template]').count(), 5);
  const rejected = dlg.locator('tr[data-template=spring_sale]');
  assert.equal(await rejected.locator('.tpl-status').getAttribute('data-status'), 'REJECTED');
  assert.ok(await rejected.locator('.tpl-status').evaluate((e) => e.classList.contains('red')));
  assert.match(await rejected.textContent(), /promotional/i);
  assert.ok(await dlg.locator('tr[data-template=order_update] .tpl-status').evaluate((e) => e.classList.contains('green')));
  assert.match(await dlg.locator('tr[data-template=order_update]').textContent(), /en_US[\s\S]*Utility/);
  await dlg.locator('#templates-status').selectOption('other');
  assert.equal(await dlg.locator('tr[data-template]').count(), 2);
  await dlg.locator('#templates-status').selectOption('');
  await dlg.locator('tr[data-template=order_update]').getByRole('button', { name: /^Preview/ }).click();
  await dlg.locator('.tpl-detail:not([hidden]) .tpl-bubble .tpl-footer').waitFor();

  // Sync: a refusal from Meta shows in the view (played in: the sandbox always has its demo
  // templates), then a sync that works shows its time.
  let refuse = true;
  await admin.route('**/api/v1/channels/*/templates/sync', (route) => {
    if (!refuse) return route.continue();
    refuse = false;
    return route.fulfill({ status: 503, contentType: 'application/json', body: JSON.stringify({ error: { code: 'whatsapp_unavailable', message: 'Meta answered 500: please try again later' } }) });
  });
  await dlg.locator('#templates-sync').click();
  await dlg.locator('#templates-sync-error', { hasText: 'Meta answered 500: please try again later' }).waitFor();
  await dlg.locator('#templates-sync').click();
  await dlg.locator('#templates-synced-at', { hasText: 'Last synced' }).waitFor();
  await dlg.locator('#templates-sync-error').waitFor({ state: 'detached' });
  assert.equal(await dlg.locator('tr[data-template]').count(), 5);
  await admin.locator('.toast', { hasText: 'Templates synced: 5' }).waitFor();
  await dlg.getByRole('button', { name: 'Close', exact: true }).last().click();
  await dlg.waitFor({ state: 'detached' });
  await admin.locator(`tr[data-channel="${channel.id}"] .sync-cell`, { hasText: 'Synced' }).waitFor();

  // The WhatsApp Business Account id in the channel form; emptied, it is cleared.
  const editChannel = async (value) => {
    await admin.locator(`tr[data-channel="${channel.id}"]`).getByRole('button', { name: `Edit ${channel.name}` }).click();
    await admin.locator('#ch-waba').fill(value);
    await admin.locator('#channel-dialog').getByRole('button', { name: 'Save' }).click();
    await admin.locator('#channel-dialog').waitFor({ state: 'detached' });
  };
  await editChannel('102290129340398');
  assert.equal((await call('GET', `/api/v1/channels/${channel.id}`)).waba_id, '102290129340398');
  await editChannel('');
  assert.equal((await call('GET', `/api/v1/channels/${channel.id}`)).waba_id, null);

  // CSAT on the Support queue.
  await admin.getByRole('tab', { name: 'Queues' }).click();
  await admin.locator('tr[data-queue=Support]').getByRole('button', { name: 'Edit Support' }).click();
  const q = admin.locator('#queue-dialog');
  await q.locator('#q-csat').check();
  await q.locator('#q-csat-question').fill('How did we do today?');
  await q.locator('#q-csat-timeout').fill('12');
  await q.getByRole('button', { name: 'Save' }).click();
  await q.waitFor({ state: 'detached' });
  await admin.locator('tr[data-queue=Support] .csat-cell', { hasText: 'On · 12 h' }).waitFor();
  const queues = await call('GET', '/api/v1/queues');
  const support = (queues.items || queues).find((x) => x.name === 'Support');
  assert.equal(support.csat_enabled, true);
  assert.equal(support.csat_question, 'How did we do today?');
  assert.equal(support.csat_timeout_hours, 12);
  await call('PATCH', `/api/v1/queues/${support.id}`, { csat_enabled: false });

  // New conversation from a contact; the admin's own desk gets it.
  const contact = await call('POST', '/api/v1/contacts', { first_name: 'Lotte', last_name: 'de Vries', phones: ['+31612345678'] });
  const desk = await agentPage('admin');
  await admin.getByRole('tab', { name: 'Contacts' }).click();
  await admin.locator('#contact-search').fill('Lotte');
  await admin.getByRole('button', { name: 'New conversation with Lotte de Vries' }).click();
  const nc = admin.locator('#new-conversation-dialog');
  await nc.locator('label.tpl-opt[data-name=welcome_back]').waitFor();
  assert.equal(await nc.locator('#nc-to').inputValue(), '+31612345678');
  assert.ok(await nc.locator('#nc-channel option').count() >= 1);
  await chooseTemplate(nc, 'welcome_back');
  assert.match(await nc.locator('#nct-params').textContent(), /no parameters/);
  await nc.locator('#new-conversation-start').click();
  await nc.waitFor({ state: 'detached' });
  await admin.locator('.toast', { hasText: 'Conversation started' }).waitFor();
  await desk.locator('#conv-phone', { hasText: '+31612345678' }).waitFor();
  await desk.locator('.msg.out .tpl-label', { hasText: 'Template: welcome_back' }).waitFor();
  await endAndWrapUp(desk, null);
  await desk.locator('#ilist .empty').waitFor();

  for (const p of [admin, desk]) assert.deepEqual(p.errors, []);
  await call('DELETE', `/api/v1/contacts/${contact.id}`);
  await closeAll(admin, desk);
});

test('simulator: a template as the phone shows it, the CSAT list answered with a tap, the score on the call log', async () => {
  const queues = await call('GET', '/api/v1/queues');
  const support = (queues.items || queues).find((q) => q.name === 'Support');
  await call('PATCH', `/api/v1/queues/${support.id}`, { csat_enabled: true, csat_question: 'How would you rate your conversation with us?' });
  const contact = await call('POST', '/api/v1/contacts', { first_name: 'Yara', last_name: 'Haddad', phones: ['+447700901818'] });
  try {
    const channel = await mainChannel();
    const alice = await agentPage('alice');
    await setStatus(alice, 'available');
    const sim = await simulatorPage();
    await simAs(sim, 'Yara Haddad', '447700901818');

    // The business writes first: the phone shows header, body, footer and the buttons.
    const created = await pageApi(alice, 'POST', '/api/v1/conversations', {
      channel_id: channel.id, contact_id: contact.id,
      template: { name: 'order_update', language: 'en_US', parameters: { header: ['778'], body: ['Yara', '778', 'Monday'], buttons: ['778-XYZ'] } },
    });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    const tpl = sim.locator('.wa.theirs.template[data-template=order_update]');
    await tpl.waitFor();
    assert.equal(await tpl.locator('.wa-tpl-header').textContent(), 'Order 778');
    assert.match(await tpl.locator('.wa-tpl-body').textContent(), /^Hi Yara, your order 778 is on its way and should arrive on Monday\.$/);
    assert.ok((await tpl.locator('.wa-tpl-footer').textContent()).length > 0);
    assert.ok(await tpl.locator('.wa-chip').count() >= 1);

    // The customer answers, the agent replies and ends: the rating question arrives.
    await simSay(sim, 'Great, thank you!');
    await alice.locator('.msg.in .text', { hasText: 'Great, thank you!' }).waitFor();
    await alice.fill('#composer', 'You are welcome, Yara!');
    await alice.press('#composer', 'Enter');
    await sim.locator('.wa.theirs', { hasText: 'You are welcome' }).waitFor();
    await endAndWrapUp(alice, 'resolved');
    const list = sim.locator('.wa.theirs.interactive');
    await list.waitFor({ timeout: 20000 });
    assert.match(await list.textContent(), /How would you rate your conversation with us\?/);
    await list.locator('.sim-list-open').click();
    const sheet = sim.locator('#sim-list-dialog');
    await sheet.locator('.wa-row').first().waitFor();
    assert.equal(await sheet.locator('.wa-row').count(), 5);
    await shot(sim, 'simulator-csat');
    const five = sheet.locator('.wa-row').filter({ hasText: /^5/ });
    await five.click();
    await sheet.waitFor({ state: 'detached' });
    await list.locator('.wa-answered', { hasText: 'You chose: 5' }).waitFor();
    assert.equal(await list.locator('.sim-list-open').isDisabled(), true);

    // The score is on the call log, and in the customer panel's past conversations.
    let act = null;
    for (let i = 0; i < 50 && !(act && act.csat); i += 1) {
      const acts = await call('GET', `/api/v1/activities?contact_id=${contact.id}`);
      act = (acts.items || acts).find((a) => a.interaction_id === created.body.id) || null;
      if (!(act && act.csat)) await new Promise((r) => setTimeout(r, 200));
    }
    assert.equal(act.csat.score, 5);
    assert.equal(act.kind, 'outbound');
    await simSay(sim, 'One more question about my order');
    await acceptOffer(alice, 'Yara Haddad');
    await alice.locator('#pop-logs .csat', { hasText: '5/5' }).waitFor();
    assert.equal(await alice.locator('#pop-logs .csat').first().getAttribute('aria-label'), 'Customer rating 5 out of 5');
    await call('PATCH', `/api/v1/queues/${support.id}`, { csat_enabled: false });
    await endAndWrapUp(alice, null);
    for (const p of [alice, sim]) assert.deepEqual(p.errors, []);
    await setStatus(alice, 'offline');
    await closeAll(alice, sim);
  } finally {
    await call('PATCH', `/api/v1/queues/${support.id}`, { csat_enabled: false });
    await call('DELETE', `/api/v1/contacts/${contact.id}`).catch(() => {});
  }
});

test('a supervisor watches from the live board, whispers, barges in and writes to the customer', async () => {
  const alice = await agentPage('alice');
  await setStatus(alice, 'available');
  await customerSays('+15550004242', 'Marta Watched', 'The app keeps crashing');
  await acceptOffer(alice, 'Marta Watched');
  const admin = await adminPage();
  try {
    const row = admin.locator('#board-conversations tr', { hasText: 'Marta Watched' });
    await row.waitFor();
    await row.locator('button[data-monitor]').click();
    const dlg = admin.locator('#monitor-dlg');
    await dlg.locator('#monitor-transcript .mline', { hasText: 'The app keeps crashing' }).waitFor();
    await dlg.locator('#monitor-status', { hasText: 'Watching live' }).waitFor();

    // The customer and the agent go on; the watcher sees it live.
    await customerSays('+15550004242', 'Marta Watched', 'Version 4.2 on Android');
    await dlg.locator('#monitor-transcript .mline.in', { hasText: 'Version 4.2 on Android' }).waitFor();

    // A whisper: an internal note on the agent's desk, visibly not a customer or agent bubble.
    await dlg.locator('#monitor-note').fill('Ask for a screenshot of the error');
    await dlg.locator('#monitor-note-send').click();
    const note = alice.locator('.msg.note', { hasText: 'Ask for a screenshot of the error' });
    await note.waitFor();
    assert.match(await note.textContent(), /Internal note/);
    assert.match(await note.textContent(), /not sent to the customer/);
    await dlg.locator('#monitor-transcript .mline.internal', { hasText: 'Ask for a screenshot' }).waitFor();
    // The agent answers with a note of her own (the composer's Internal note toggle).
    await alice.locator('#note-toggle').click();
    assert.equal(await alice.locator('#note-toggle').getAttribute('aria-pressed'), 'true');
    await alice.fill('#composer', 'Asked for it, waiting');
    await alice.press('#composer', 'Enter');
    await alice.locator('.msg.note', { hasText: 'Asked for it, waiting' }).waitFor();
    await dlg.locator('#monitor-transcript .mline.internal', { hasText: 'Asked for it, waiting' }).waitFor();
    await alice.locator('#note-toggle').click();
    await shot(admin, 'monitor');

    // Barge in: the agent sees the supervisor join; the supervisor writes to the customer.
    await dlg.locator('#monitor-barge').click();
    await alice.locator('.sysmsg', { hasText: 'joined the chat' }).waitFor();
    await dlg.locator('#monitor-say').fill('Hello Marta, I am the team lead, we are on it.');
    await dlg.locator('#monitor-say-send').click();
    await alice.locator('.msg.out .text', { hasText: 'I am the team lead' }).waitFor();
    const view = await call('GET', '/api/v1/simulator/messages?from=%2B15550004242', undefined, null);
    const seen = (view.messages || []).map((m) => m.text);
    assert.ok(seen.some((t) => t.includes('I am the team lead')), `customer sees: ${seen}`);
    assert.ok(!seen.some((t) => t.includes('screenshot of the error') || t.includes('Asked for it')), 'a note reached the customer');
    await dlg.locator('#monitor-leave').click();
    await alice.locator('.sysmsg', { hasText: 'left the chat' }).waitFor();
    await dlg.locator('button', { hasText: 'Close' }).click();
    await endAndWrapUp(alice, null);
  } finally {
    await closeAll(alice, admin);
  }
});

// ---------------------------------------------------------------- canned responses (R26)

test('canned responses: an admin writes one with placeholders; an agent picks it with / and the keyboard, edits and sends it', async () => {
  const admin = await adminPage();
  await admin.getByRole('tab', { name: 'Canned responses' }).click();
  const table = admin.locator('#canned-admin-table');
  // The demo's saved replies.
  await table.locator('tr[data-shortcut=hello]').waitFor();
  assert.deepEqual(await table.locator('tr[data-shortcut]').evaluateAll((rs) => rs.map((r) => r.dataset.shortcut)), ['hello', 'order-status', 'thanks']);
  assert.match(await table.locator('tr[data-shortcut=order-status]').textContent(), /Support/);
  assert.match(await table.locator('tr[data-shortcut=hello]').textContent(), /Every queue/);

  // The form says what is wrong, field by field; the server's refusal of a taken shortcut too.
  await admin.click('#canned-add');
  const dlg = admin.locator('#canned-dialog');
  await dlg.waitFor();
  assert.equal(await admin.evaluate(() => document.activeElement.id), 'cn-shortcut');
  await dlg.locator('#cn-shortcut').fill('Ship ETA');
  await dlg.locator('#cn-title').focus();
  await dlg.locator('#cn-shortcut-problem', { hasText: 'lower-case letters' }).waitFor();
  assert.equal(await dlg.locator('#cn-shortcut').getAttribute('aria-invalid'), 'true');
  await dlg.locator('#canned-save').click();
  await dlg.locator('#cn-title-problem', { hasText: 'Enter a title' }).waitFor();
  await dlg.locator('#cn-text-problem', { hasText: 'Enter the text' }).waitFor();
  await dlg.locator('#cn-shortcut').fill('hello');
  await dlg.locator('#cn-title').fill('Shipping date');
  await dlg.locator('#cn-queue').selectOption({ label: 'Support' });
  await dlg.locator('#cn-text').fill('Hi ');
  await dlg.getByRole('button', { name: /Insert the customer’s first name/ }).click();
  await admin.keyboard.type(', {{agent.first_name}} from {{queue.name}} here: your parcel {{order.id}} ships tomorrow.');
  assert.equal(await dlg.locator('#cn-text').inputValue(), 'Hi {{customer.first_name}}, {{agent.first_name}} from {{queue.name}} here: your parcel {{order.id}} ships tomorrow.');
  assert.equal(await dlg.locator('#cn-preview .tpl-bubble').textContent(), 'Hi Ana, Demo from Support here: your parcel {{order.id}} ships tomorrow.');
  await dlg.locator('#canned-save').click();
  await dlg.locator('#cn-shortcut-problem', { hasText: '/hello is taken' }).waitFor();
  await dlg.locator('#cn-shortcut').fill('shipping-eta');
  await dlg.locator('#cn-shortcut-problem').waitFor({ state: 'hidden' });
  await shot(admin, 'canned-form');
  await dlg.locator('#canned-save').click();
  await dlg.waitFor({ state: 'detached' });
  const row = table.locator('tr[data-shortcut=shipping-eta]');
  await row.waitFor();
  assert.match(await row.textContent(), /\/shipping-eta[\s\S]*Shipping date[\s\S]*Support/);
  // Search by the text.
  await admin.locator('#canned-admin-search').fill('ships tomorrow');
  await admin.locator('#canned-admin-count', { hasText: '1 found' }).waitFor();
  assert.deepEqual(await table.locator('tr[data-shortcut]').evaluateAll((rs) => rs.map((r) => r.dataset.shortcut)), ['shipping-eta']);
  await admin.locator('#canned-admin-search').fill('');
  await table.locator('tr[data-shortcut=hello]').waitFor();
  await admin.locator('#canned-admin-count', { hasText: '4 canned responses' }).waitFor();
  await shot(admin, 'canned-admin');

  // The agent, in a conversation: `/` opens the picker; arrows move, typing filters.
  const alice = await agentPage('alice');
  await setStatus(alice, 'available');
  await customerSays('447700902020', 'Ana Costa', 'Hi, when will my parcel ship?');
  await acceptOffer(alice, 'Ana Costa');
  await alice.click('#composer');
  await alice.keyboard.type('/');
  const picker = alice.locator('#canned-picker');
  await picker.waitFor();
  const options = picker.locator('[role=option]');
  await options.nth(3).waitFor();
  const shown = async () => options.evaluateAll((os) => os.map((o) => o.dataset.shortcut));
  const selected = async () => picker.locator('[role=option][aria-selected=true]').getAttribute('data-shortcut');
  assert.deepEqual(await shown(), ['hello', 'order-status', 'shipping-eta', 'thanks']);
  assert.equal(await selected(), 'hello');
  await alice.keyboard.press('ArrowDown');
  assert.equal(await selected(), 'order-status');
  await alice.keyboard.press('ArrowUp');
  await alice.keyboard.press('ArrowUp');
  assert.equal(await selected(), 'thanks', 'up from the first wraps to the last');
  assert.equal(await alice.locator('#composer').getAttribute('aria-activedescendant'), await picker.locator('[role=option][aria-selected=true]').getAttribute('id'));
  await alice.keyboard.type('sh');
  await picker.locator('[role=option][data-shortcut=shipping-eta][aria-selected=true]').waitFor();
  assert.deepEqual(await shown(), ['shipping-eta']);
  assert.equal(await alice.inputValue('#composer'), '/sh');
  await shot(alice, 'canned-picker');

  // Enter puts the rendered text into the composer (nothing is sent); the agent edits it.
  await alice.keyboard.press('Enter');
  await picker.waitFor({ state: 'hidden' });
  const filled = 'Hi Ana, Alice from Support here: your parcel {{order.id}} ships tomorrow.';
  await alice.waitForFunction((t) => document.getElementById('composer').value === t, filled);
  assert.equal(await alice.evaluate(() => document.activeElement.id), 'composer');
  await alice.locator('.toast', { hasText: 'placeholders could not be filled' }).waitFor();
  assert.equal(alice.sent.filter((f) => f.type === 'send').length, 0, 'picking sends nothing');
  await alice.evaluate(() => {
    const ta = document.getElementById('composer');
    const at = ta.value.indexOf('{{order.id}}');
    ta.setSelectionRange(at, at + '{{order.id}}'.length);
  });
  await alice.keyboard.type('#4521');
  await alice.keyboard.press('Enter');
  const sentText = 'Hi Ana, Alice from Support here: your parcel #4521 ships tomorrow.';
  await alice.locator('.msg.out .text', { hasText: 'your parcel #4521 ships tomorrow' }).waitFor();
  assert.deepEqual(alice.sent.filter((f) => f.type === 'send').map((f) => f.text), [sentText]);
  assert.equal(await alice.inputValue('#composer'), '');

  // No match: Enter does not send; Esc closes the picker and the text is the agent's again.
  await alice.keyboard.type('/nothing-like-this');
  await picker.locator('#canned-status', { hasText: 'No canned response matches' }).waitFor();
  await alice.keyboard.press('Enter');
  assert.equal(await alice.inputValue('#composer'), '/nothing-like-this');
  await alice.keyboard.press('Escape');
  await picker.waitFor({ state: 'hidden' });
  await alice.fill('#composer', '');
  // The toolbar button opens it too.
  await alice.click('#canned-btn');
  await picker.waitFor();
  assert.equal(await alice.inputValue('#composer'), '/');
  await alice.keyboard.press('Escape');
  await picker.waitFor({ state: 'hidden' });
  await alice.fill('#composer', '');
  assert.equal(alice.sent.filter((f) => f.type === 'send').length, 1);

  await endAndWrapUp(alice, null);
  await setStatus(alice, 'offline');

  // Delete, after a confirmation.
  await row.getByRole('button', { name: 'Delete /shipping-eta' }).click();
  const confirm = admin.locator('#canned-delete-dialog');
  await confirm.waitFor();
  await confirm.locator('#canned-delete-confirm').click();
  await row.waitFor({ state: 'detached' });
  const left = await call('GET', '/api/v1/canned_responses');
  assert.deepEqual(left.items.map((c) => c.shortcut), ['hello', 'order-status', 'thanks']);
  for (const p of [admin, alice]) assert.deepEqual(p.errors, []);
  await closeAll(admin, alice);
});

// ---------------------------------------------------------------- reports (section 8.8)

/** Waits for the page's next JSON answer from `path` (a report), and returns its URL and body. */
async function nextReport(page, path, act) {
  const [resp] = await Promise.all([
    page.waitForResponse((r) => new URL(r.url()).pathname === path && !r.url().includes('format=csv')),
    act(),
  ]);
  assert.equal(resp.status(), 200, `${path}: ${await resp.text()}`);
  return { url: new URL(resp.url()), body: await resp.json() };
}

/** The canvas shows something: Chart.js drew on it (some pixel is not transparent). */
async function chartDrawn(page, id) {
  const canvas = page.locator(`canvas#${id}`);
  await canvas.waitFor();
  return canvas.evaluate((c) => {
    if (!c.width || !c.height || !window.Chart || !window.Chart.getChart(c)) return false;
    const data = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
    for (let i = 3; i < data.length; i += 4) if (data[i] !== 0) return true;
    return false;
  });
}

test('reports: charts, tables with the API\'s figures, another period, a CSV download', async () => {
  // Today's traffic: two conversations answered and wrapped up, one left waiting.
  const alice = await agentPage('alice');
  await setStatus(alice, 'available');
  await customerSays('447700900501', 'Rhea Report', 'Where is my parcel?');
  await acceptOffer(alice, 'Rhea Report');
  await endAndWrapUp(alice, 'resolved');
  await customerSays('447700900502', 'Sam Report', 'Can I change my address?');
  await acceptOffer(alice, 'Sam Report');
  await endAndWrapUp(alice, 'follow_up');
  await alice.locator('#ilist .empty').waitFor();
  await setStatus(alice, 'on_break');
  await customerSays('447700900503', 'Tom Waiting', 'Hello?');

  const admin = await adminPage();
  const cspProblems = [];
  admin.on('console', (m) => { if (/Content.Security.Policy|Refused to/i.test(m.text())) cspProblems.push(m.text()); });
  const [queues, agents, intervals] = await Promise.all([
    nextReport(admin, '/api/v1/reports/queues', () => admin.getByRole('tab', { name: 'Reports' }).click()),
    nextReport(admin, '/api/v1/reports/agents', async () => {}),
    nextReport(admin, '/api/v1/reports/intervals', async () => {}),
  ]);
  await admin.locator('#rep-queues-table').waitFor();
  assert.equal(await admin.locator('#rep-period').inputValue(), 'today');
  assert.equal(intervals.url.searchParams.get('interval'), 'hour');
  assert.equal(intervals.body.starts.length >= 23, true, 'a day by the hour');

  // The vendored chart library comes from the binary, as JavaScript, under the same CSP.
  const lib = await fetch(`${base}/vendor/chart.umd.min.js`);
  assert.equal(lib.status, 200);
  assert.match(lib.headers.get('content-type'), /javascript/);
  assert.match(lib.headers.get('content-security-policy'), /script-src 'self'/);
  assert.equal((await fetch(`${base}/vendor/chart.js-LICENSE.md`)).status, 200);

  // Every chart is drawn and named for those who cannot see it.
  for (const id of ['rep-hourly-canvas', 'rep-queues-sl', 'rep-queues-wait', 'rep-agents-conv', 'rep-agents-handle', 'rep-dispositions-chart', 'rep-csat-chart']) {
    assert.equal(await chartDrawn(admin, id), true, `${id} is drawn`);
    const label = await admin.locator(`canvas#${id}`).getAttribute('aria-label');
    assert.ok(label && label.length > 10, `${id} has a text alternative`);
    assert.equal(await admin.locator(`canvas#${id}`).getAttribute('role'), 'img');
  }

  // The tables show what the API answered, and the API answers the same to anyone asking.
  const t = queues.body.totals;
  assert.ok(t.offered >= 3, `today's conversations: ${t.offered}`);
  assert.deepEqual((await call('GET', `/api/v1/reports/queues${queues.url.search}`)).queues.map((q) => q.offered), queues.body.queues.map((q) => q.offered));
  const cellOf = (row, name) => row.locator(`td[data-field=${name}]`);
  const rowCheck = async (row, r) => {
    for (const name of ['offered', 'accepted', 'abandoned', 'transferred', 'outbound']) {
      assert.equal((await cellOf(row, name).textContent()).trim(), String(r[name]), `${name} of ${r.queue_name}`);
    }
    const sl = cellOf(row, 'service_level');
    assert.equal(await sl.getAttribute('data-value'), r.service_level.percent === null ? '' : String(r.service_level.percent));
    assert.match(await sl.textContent(), new RegExp(`${r.service_level.accepted_within}/${r.service_level.counted}`));
    assert.equal(await cellOf(row, 'wait_avg').getAttribute('data-value'), r.wait.avg_secs === null ? '' : String(r.wait.avg_secs));
    assert.equal(await cellOf(row, 'handle_p90').getAttribute('data-value'), r.handle.p90_secs === null ? '' : String(r.handle.p90_secs));
  };
  for (const r of queues.body.queues) await rowCheck(admin.locator(`#rep-queues-table tbody tr[data-queue="${r.queue_id}"]`), r);
  await rowCheck(admin.locator('#rep-queues-table tfoot tr[data-queue=total]'), t);
  const support = queues.body.queues.find((q) => q.queue_name === 'Support');
  assert.equal(support.service_level.threshold_secs, 60);
  assert.ok(support.service_level.accepted_within >= 2, JSON.stringify(support.service_level));
  assert.equal(await admin.locator('#rep-summary [data-stat=offered] .v').textContent(), String(t.offered));
  assert.equal(await admin.locator('#rep-summary [data-stat=service_level] .v').textContent(),
    t.service_level.percent === null ? '—' : `${Math.round(t.service_level.percent * 10) / 10}%`);
  const alicesReport = agents.body.agents.find((a) => a.display_name === 'Alice Martin' || a.display_name.startsWith('Alice'));
  assert.ok(alicesReport && alicesReport.accepted >= 2, JSON.stringify(alicesReport));
  const aliceRow = admin.locator(`#rep-agents-table tr[data-agent="${alicesReport.agent_id}"]`);
  for (const name of ['offered', 'accepted', 'rejected', 'timed_out', 'transferred', 'outbound', 'auto_wrap_ups']) {
    assert.equal((await cellOf(aliceRow, name).textContent()).trim(), String(alicesReport[name]), `Alice's ${name}`);
  }
  for (const [code, n] of Object.entries(t.dispositions)) {
    assert.equal((await admin.locator(`#rep-dispositions-table tr[data-code="${code}"] td[data-field=total]`).textContent()).trim(), String(n));
  }
  assert.ok(t.dispositions.resolved >= 1 && t.dispositions.follow_up >= 1, JSON.stringify(t.dispositions));
  assert.equal((await admin.locator('#rep-csat-table tfoot td[data-field=sent]').textContent()).trim(), String(t.csat.sent));

  // Per hour: the hidden table gives the chart's figures; they add up to the day's.
  const sum = (v) => v.reduce((a, b) => a + b, 0);
  assert.equal(sum(intervals.body.totals.offered), t.offered);
  await admin.locator('#rep-hourly-table summary').click();
  const hours = intervals.body.starts.filter((_, k) => intervals.body.totals.offered[k] + intervals.body.totals.outbound[k] > 0);
  assert.equal(await admin.locator('#rep-hourly-data tbody tr').count(), hours.length);
  const nowHour = admin.locator('#rep-hourly-data tbody tr').last();
  const k = intervals.body.starts.indexOf(await nowHour.getAttribute('data-start'));
  assert.equal((await cellOf(nowHour, 'offered').textContent()).trim(), String(intervals.body.totals.offered[k]));
  // The same chart for one agent.
  await admin.locator('#rep-scope').selectOption(`agent-${alicesReport.agent_id}`);
  assert.equal(await chartDrawn(admin, 'rep-hourly-canvas'), true);
  assert.match(await admin.locator('canvas#rep-hourly-canvas').getAttribute('aria-label'), /^Agent: Alice/);
  await admin.locator('#rep-scope').selectOption('total');
  await shot(admin, 'reports');

  // CSV export: the queue report as the server writes it, with the session's token.
  const [download] = await Promise.all([admin.waitForEvent('download'), admin.locator('#rep-csv-queues').click()]);
  assert.match(download.suggestedFilename(), /^switchboard-queues-\d{4}-\d{2}-\d{2}-\d{4}-\d{2}-\d{2}\.csv$/);
  const csv = readFileSync(await download.path(), 'utf8').split('\r\n');
  assert.match(csv[0], /^queue_id,queue_name,offered,accepted,abandoned,transferred,/);
  assert.match(csv[0], /,service_level_counted,service_level_percent$/);
  assert.ok(csv[1].startsWith(`,all queues,${t.offered},${t.accepted},${t.abandoned},`), csv[1]);
  const [hourlyCsv] = await Promise.all([admin.waitForEvent('download'), admin.locator('#rep-csv-intervals').click()]);
  const lines = readFileSync(await hourlyCsv.path(), 'utf8').split('\r\n');
  assert.equal(lines[0], 'interval_start,kind,id,name,offered,accepted,abandoned,outbound,service_level_percent');

  // Another period: yesterday, then custom dates (a week by the hour, a month by the day).
  const yesterday = await nextReport(admin, '/api/v1/reports/queues', () => admin.locator('#rep-period').selectOption('yesterday'));
  assert.equal(new Date(yesterday.url.searchParams.get('to')).getTime(), new Date(queues.url.searchParams.get('from')).getTime());
  await admin.locator('#rep-range', { hasText: `${yesterday.body.totals.offered} conversations` }).waitFor();
  assert.equal(await admin.locator('#rep-summary [data-stat=offered] .v').textContent(), String(yesterday.body.totals.offered));
  await admin.locator('#rep-period').selectOption('custom');
  assert.equal(await admin.locator('#rep-custom').isVisible(), true);
  const day = (d) => `${d.getFullYear()}-${String(d.getMonth() + 1).padStart(2, '0')}-${String(d.getDate()).padStart(2, '0')}`;
  const today = new Date();
  await admin.locator('#rep-from').fill(day(new Date(today.getFullYear(), today.getMonth(), today.getDate() - 29)));
  await admin.locator('#rep-to').fill(day(today));
  const month = await nextReport(admin, '/api/v1/reports/intervals', () => admin.locator('#rep-apply').click());
  assert.equal(month.url.searchParams.get('interval'), 'day');
  // 30 days of 24 hours (31 intervals when the clocks went back an hour in between).
  assert.ok([30, 31].includes(month.body.starts.length), String(month.body.starts.length));
  await admin.locator('#rep-hourly-title', { hasText: 'Conversations per day' }).waitFor();
  assert.equal(await chartDrawn(admin, 'rep-hourly-canvas'), true);
  assert.ok(sum(month.body.totals.offered) >= t.offered);
  // Reversed dates are refused on the page, before any request.
  await admin.locator('#rep-from').fill(day(today));
  await admin.locator('#rep-to').fill(day(new Date(today.getFullYear(), today.getMonth(), today.getDate() - 1)));
  await admin.locator('#rep-apply').click();
  await admin.locator('.toast', { hasText: 'must not be before' }).waitFor();

  // Supervisors have the page too (and not the admins' pages).
  const sup = await call('POST', '/api/v1/agents', { username: 'sue', password: 'sue-reports-pass', display_name: 'Sue Visor', role: 'supervisor' });
  const supPage = await newPage();
  await supPage.goto('/admin.html#reports');
  await supPage.fill('#login-username', 'sue');
  await supPage.fill('#login-password', 'sue-reports-pass');
  await supPage.click('form.login-card button[type=submit]');
  await supPage.locator('#rep-queues-table').waitFor();
  assert.equal(await supPage.getByRole('tab', { name: 'Agents' }).count(), 0);
  assert.equal(await chartDrawn(supPage, 'rep-queues-sl'), true);
  assert.deepEqual(supPage.errors, []);
  await call('DELETE', `/api/v1/agents/${sup.id}`);
  await closeAll(supPage);

  assert.deepEqual(admin.errors, []);
  assert.deepEqual(cspProblems, []);
  assert.deepEqual(alice.errors, []);
  await setStatus(alice, 'offline');
  await closeAll(alice, admin);
});

// ---------------------------------------------------------------- routing depth (section 8.6)

/** The weekly grid of the open queue dialog as it shows: [day, ["09:00–17:00", ...]] per day. */
async function hoursGrid(dlg) {
  return dlg.locator('.hours-day').evaluateAll((days) => days.map((d) => [d.dataset.day,
    [...d.querySelectorAll('.hours-span')].map((s) => `${s.querySelector('.open').value}–${s.querySelector('.midnight').checked ? '24:00' : s.querySelector('.close').value}`)]));
}

test('queue hours editor: time zone, split shifts, closed days, until midnight, a holiday, a closed message; the grid shows what is stored; a refusal changes nothing', async () => {
  const queue = await call('POST', '/api/v1/queues', { name: 'Weekend desk' });
  const admin = await adminPage();
  try {
    await admin.getByRole('tab', { name: 'Queues' }).click();
    const row = admin.locator('tr[data-queue="Weekend desk"]');
    await row.waitFor();
    assert.equal(await row.locator('.hours-cell').textContent(), 'Always open');
    await row.getByRole('button', { name: 'Edit Weekend desk' }).click();
    const dlg = admin.locator('#queue-dialog');
    await dlg.waitFor();

    // The tabs go by arrow keys.
    await dlg.getByRole('tab', { name: 'Routing' }).click();
    await admin.keyboard.press('ArrowRight');
    assert.equal(await dlg.getByRole('tab', { name: 'Business hours' }).getAttribute('aria-selected'), 'true');
    assert.equal(await dlg.locator('#q-always-open').isChecked(), true);
    assert.equal(await dlg.locator('#q-hours-detail').isHidden(), true);
    await dlg.getByLabel('Open at set hours').check();
    await dlg.locator('#q-timezone').selectOption('America/New_York');
    const time = (label) => dlg.getByLabel(label, { exact: true });
    await time('Monday, interval 1 opens').fill('09:00');
    await time('Monday, interval 1 closes').fill('17:00');
    // Copy Monday over a Thursday that differs.
    await time('Thursday, interval 1 opens').fill('10:30');
    await dlg.locator('#q-copy-monday').click();
    assert.equal(await time('Thursday, interval 1 opens').inputValue(), '09:00');
    // Tuesday: two intervals.
    await time('Tuesday, interval 1 closes').fill('13:00');
    await dlg.getByRole('button', { name: 'Add opening hours on Tuesday' }).click();
    await time('Tuesday, interval 2 opens').fill('14:00');
    await time('Tuesday, interval 2 closes').fill('18:00');
    // Wednesday closed; Sunday gets an interval and loses it again.
    await dlg.getByRole('button', { name: 'Remove Wednesday interval 1' }).click();
    await dlg.locator('.hours-day[data-day=wed] .hours-closed', { hasText: 'Closed' }).waitFor();
    await dlg.getByRole('button', { name: 'Add opening hours on Sunday' }).click();
    await dlg.getByRole('button', { name: 'Remove Sunday interval 1' }).click();
    // Friday until midnight: a close of 00:00 means 24:00.
    await time('Friday, interval 1 closes').fill('00:00');
    assert.equal(await dlg.getByLabel('Friday, interval 1 open until midnight (24:00)').isChecked(), true);
    assert.equal(await time('Friday, interval 1 closes').isDisabled(), true);
    // A holiday (added twice: kept once), and one added and removed.
    for (const d of ['2026-12-25', '2026-01-01', '2026-12-25']) {
      await dlg.locator('#q-holiday-date').fill(d);
      await dlg.locator('#q-holiday-add').click();
    }
    await dlg.locator('#q-holiday-note', { hasText: 'already a holiday' }).waitFor();
    await dlg.getByRole('button', { name: 'Remove holiday 2026-01-01' }).click();
    assert.deepEqual(await dlg.locator('#q-holidays li[data-date]').evaluateAll((li) => li.map((x) => x.dataset.date)), ['2026-12-25']);
    await dlg.locator('#q-closed-message').fill('We are closed now; we answer on weekdays from 9.');
    await dlg.locator('#q-hours-detail .hours-grid').scrollIntoViewIfNeeded();
    await shot(admin, 'queue-hours');
    await dlg.getByRole('button', { name: 'Save' }).click();
    await dlg.waitFor({ state: 'detached' });

    const expected = {
      timezone: 'America/New_York',
      weekly: [
        { day: 'mon', open: '09:00', close: '17:00' },
        { day: 'tue', open: '09:00', close: '13:00' },
        { day: 'tue', open: '14:00', close: '18:00' },
        { day: 'thu', open: '09:00', close: '17:00' },
        { day: 'fri', open: '09:00', close: '24:00' },
      ],
      holidays: ['2026-12-25'],
    };
    const stored = await call('GET', `/api/v1/queues/${queue.id}`);
    assert.deepEqual(stored.hours, expected);
    assert.equal(stored.closed_message, 'We are closed now; we answer on weekdays from 9.');
    assert.equal(stored.greeting_message, null);
    assert.equal(await row.locator('.hours-cell').textContent(), 'Custom hours America/New_York');

    // Open again: the grid shows what is stored.
    await row.getByRole('button', { name: 'Edit Weekend desk' }).click();
    await dlg.waitFor();
    await dlg.getByRole('tab', { name: 'Business hours' }).click();
    assert.equal(await dlg.locator('#q-set-hours').isChecked(), true);
    assert.equal(await dlg.locator('#q-timezone').inputValue(), 'America/New_York');
    assert.deepEqual(await hoursGrid(dlg), [
      ['mon', ['09:00–17:00']], ['tue', ['09:00–13:00', '14:00–18:00']], ['wed', []], ['thu', ['09:00–17:00']],
      ['fri', ['09:00–24:00']], ['sat', []], ['sun', []],
    ]);
    for (const day of ['wed', 'sat', 'sun']) assert.equal(await dlg.locator(`.hours-day[data-day=${day}] .hours-closed`).isVisible(), true, day);
    assert.deepEqual(await dlg.locator('#q-holidays li[data-date]').evaluateAll((li) => li.map((x) => x.dataset.date)), ['2026-12-25']);
    assert.equal(await dlg.locator('#q-closed-message').inputValue(), 'We are closed now; we answer on weekdays from 9.');

    // Closing before opening: the server refuses, the dialog says why, nothing changes.
    await time('Monday, interval 1 closes').fill('08:00');
    const [resp] = await Promise.all([
      admin.waitForResponse((r) => new URL(r.url()).pathname === `/api/v1/queues/${queue.id}` && r.request().method() === 'PATCH'),
      dlg.getByRole('button', { name: 'Save' }).click(),
    ]);
    assert.equal(resp.status(), 400);
    const refusal = (await resp.json()).error;
    assert.equal(refusal.code, 'invalid_input');
    assert.ok(refusal.message);
    assert.equal((await dlg.locator('#queue-dialog-error').textContent()).trim(), refusal.message);
    // The interval it is about is pointed out (the server names it by its place in `weekly`).
    assert.equal(await time('Monday, interval 1 closes').getAttribute('aria-invalid'), 'true');
    assert.equal(await admin.evaluate(() => document.activeElement.getAttribute('aria-label')), 'Monday, interval 1 closes');
    assert.equal(await dlg.isVisible(), true);
    assert.deepEqual((await call('GET', `/api/v1/queues/${queue.id}`)).hours, expected);
    await dlg.getByRole('button', { name: 'Cancel' }).click();
    await dlg.waitFor({ state: 'detached' });

    // Always open again: hours null.
    await row.getByRole('button', { name: 'Edit Weekend desk' }).click();
    await dlg.getByRole('tab', { name: 'Business hours' }).click();
    await dlg.getByLabel('Always open').check();
    await dlg.getByRole('button', { name: 'Save' }).click();
    await dlg.waitFor({ state: 'detached' });
    assert.equal((await call('GET', `/api/v1/queues/${queue.id}`)).hours, null);
    assert.deepEqual(admin.errors, []);
  } finally {
    await call('DELETE', `/api/v1/queues/${queue.id}`).catch(() => {});
    await closeAll(admin);
  }
});

test('routing depth on the admin pages: an agent\'s skills, a queue\'s required skills, priority and overflow, a VIP contact, the live board by priority', async () => {
  const list = async (p) => { const r = await call('GET', p); return r.items || r; };
  const aliceRecord = (await list('/api/v1/agents')).find((a) => a.username === 'alice');
  const aliceId = aliceRecord.id;
  const aliceCapacity = aliceRecord.max_concurrent;
  const support = (await list('/api/v1/queues')).find((q) => q.name === 'Support');
  const desk = await call('POST', '/api/v1/queues', { name: 'Overflow desk' });
  const vip = await call('POST', '/api/v1/contacts', { first_name: 'Vera', last_name: 'Vip', phones: ['+447700909191'] });
  const admin = await adminPage();
  let alice = null;
  try {
    // Skills: two rows, a duplicate refused on the page, saved as the list.
    await admin.getByRole('tab', { name: 'Agents' }).click();
    await admin.getByRole('button', { name: 'Edit Alice Martin' }).click();
    const ag = admin.locator('#agent-dialog');
    await ag.locator('#ag-skills-add').click();
    assert.equal(await admin.evaluate(() => document.activeElement.getAttribute('aria-label')), 'Skill 1 name');
    await ag.getByLabel('Skill 1 name', { exact: true }).fill('spanish');
    await ag.getByLabel('Skill 1 level', { exact: true }).fill('7');
    await ag.locator('#ag-skills-add').click();
    await ag.getByLabel('Skill 2 name', { exact: true }).fill('billing');
    await ag.getByLabel('Skill 2 level', { exact: true }).fill('3');
    await ag.locator('#ag-skills-add').click();
    await ag.getByLabel('Skill 3 name', { exact: true }).fill('Spanish');
    await ag.getByRole('button', { name: 'Save' }).click();
    await ag.locator('#agent-dialog-error', { hasText: 'listed twice' }).waitFor();
    await ag.getByRole('button', { name: 'Remove skill 3' }).click();
    await ag.getByRole('button', { name: 'Save' }).click();
    await ag.waitFor({ state: 'detached' });
    await admin.locator('tr[data-agent=alice] .skills-cell', { hasText: 'spanish 7, billing 3' }).waitFor();
    assert.deepEqual((await call('GET', `/api/v1/agents/${aliceId}`)).skills, [{ name: 'spanish', level: 7 }, { name: 'billing', level: 3 }]);

    // Support: a skill nobody has, priority 2, sticky agent, overflow to the desk.
    await admin.getByRole('tab', { name: 'Queues' }).click();
    await admin.locator('tr[data-queue=Support]').getByRole('button', { name: 'Edit Support' }).click();
    const q = admin.locator('#queue-dialog');
    await q.getByRole('tab', { name: 'Routing' }).click();
    await q.locator('#q-skills-add').click();
    await q.getByLabel('Required skill 1 name', { exact: true }).fill('klingon');
    await q.getByLabel('Required skill 1 minimum level', { exact: true }).fill('10');
    await q.locator('#q-priority').selectOption('2');
    await q.locator('#q-sticky-secs').fill('30');
    await q.locator('#q-sticky-window').fill('48');
    await q.getByRole('tab', { name: 'Overflow' }).click();
    assert.deepEqual(await q.locator('#q-overflow option').evaluateAll((o) => o.map((x) => x.textContent)), ['No overflow', 'Overflow desk']);
    await q.locator('#q-max-wait').fill('600');
    await q.getByRole('tab', { name: 'General' }).click();
    await q.getByRole('button', { name: 'Save' }).click();
    // A wait without a target is refused on the page, on the Overflow tab.
    await q.locator('#queue-dialog-error', { hasText: 'Choose the queue' }).waitFor();
    assert.equal(await q.getByRole('tab', { name: 'Overflow' }).getAttribute('aria-selected'), 'true');
    await q.locator('#q-overflow').selectOption({ label: 'Overflow desk' });
    await q.getByRole('button', { name: 'Save' }).click();
    await q.waitFor({ state: 'detached' });
    await admin.locator('tr[data-queue=Support] .overflow-cell', { hasText: 'Overflow desk after 600 s' }).waitFor();
    const saved = await call('GET', `/api/v1/queues/${support.id}`);
    assert.deepEqual(saved.required_skills, [{ name: 'klingon', min_level: 10 }]);
    assert.equal(saved.default_priority, 2);
    assert.equal(saved.sticky_agent_secs, 30);
    assert.equal(saved.sticky_window_hours, 48);
    assert.equal(saved.max_wait_secs, 600);
    assert.equal(saved.overflow_queue_id, desk.id);

    // A VIP: priority 9 on the contact.
    await admin.getByRole('tab', { name: 'Contacts' }).click();
    await admin.locator('#contact-search').fill('Vera');
    const crow = admin.locator(`tr[data-contact="${vip.id}"]`);
    await crow.getByRole('button', { name: 'Edit' }).click();
    await admin.locator('#ct-priority').fill('9');
    await admin.locator('#contact-dialog').getByRole('button', { name: 'Save' }).click();
    await admin.locator('#contact-dialog').waitFor({ state: 'detached' });
    await admin.locator('#contact-search').fill('Vera');
    await admin.locator(`tr[data-contact="${vip.id}"] .priority-cell`, { hasText: 'P9' }).waitFor();
    assert.equal((await call('GET', `/api/v1/contacts/${vip.id}`)).priority, 9);

    // The desk is closed today (a holiday). In Support (where nobody speaks klingon) Otto
    // waits at the queue's priority 2, then Vera, a VIP, at 9.
    const day = (k) => new Date(Date.now() + k * 86400000).toISOString().slice(0, 10);
    await call('PATCH', `/api/v1/queues/${desk.id}`, {
      hours: { timezone: 'UTC', weekly: [{ day: 'mon', open: '09:00', close: '17:00' }], holidays: [day(-1), day(0), day(1)] },
    });
    await customerSays('447700909292', 'Otto Ordinary', 'Hello, a question about my bill');
    await customerSays('447700909191', 'Vera Vip', 'Hello, I am a very important customer');
    await admin.getByRole('tab', { name: 'Live board' }).click();
    const srow = admin.locator(`#board-queues tr[data-queue="${support.id}"]`);
    await srow.locator('.by-priority', { hasText: 'P9: 1 · P2: 1' }).waitFor();
    // (A conversation an earlier test left waiting shows as P0.)
    assert.match(await srow.locator('.by-priority').textContent(), /^P9: 1 · P2: 1( · P0: \d+)?$/);
    assert.match(await srow.locator('.next-overflow').textContent(), /^in \d+ (min|s)$/);
    assert.equal(await srow.locator('.closed-chip').count(), 0);
    await admin.locator(`#board-queues tr[data-queue="${desk.id}"] .closed-chip`, { hasText: 'Closed' }).waitFor();
    assert.equal(await admin.locator(`#board-queues tr[data-queue="${desk.id}"] .next-overflow`).textContent(), '—');
    await admin.locator('#board-conversations tr', { hasText: 'Vera Vip' }).locator('.chip.prio[data-priority="9"]', { hasText: 'P9' }).waitFor();
    await admin.locator('#board-conversations tr', { hasText: 'Otto Ordinary' }).locator('.chip.prio[data-priority="2"]').waitFor();
    assert.deepEqual(admin.errors, []);

    // Without the skill requirement Alice, one conversation at a time, gets Vera before Otto.
    await call('PATCH', `/api/v1/queues/${support.id}`, { required_skills: [] });
    await call('PATCH', `/api/v1/agents/${aliceId}`, { max_concurrent: 1 });
    alice = await agentPage('alice');
    await setStatus(alice, 'available');
    await acceptOffer(alice, 'Vera Vip');
    await endAndWrapUp(alice, 'resolved');
    await acceptOffer(alice, 'Otto Ordinary');
    // Stop new: what else waits in Support stays there.
    await alice.click('#stop-new');
    await alice.locator('#stop-new[aria-pressed=true]').waitFor();
    await endAndWrapUp(alice, 'resolved');
    await setStatus(alice, 'offline');
    await alice.click('#stop-new');
    await alice.locator('#stop-new[aria-pressed=false]').waitFor();
    assert.deepEqual(alice.errors, []);
  } finally {
    await call('PATCH', `/api/v1/queues/${support.id}`, {
      required_skills: [], default_priority: 0, sticky_agent_secs: 0, sticky_window_hours: 72, max_wait_secs: null, overflow_queue_id: null,
    });
    await call('PATCH', `/api/v1/agents/${aliceId}`, { skills: [], max_concurrent: aliceCapacity });
    await call('DELETE', `/api/v1/queues/${desk.id}`).catch(() => {});
    await call('DELETE', `/api/v1/contacts/${vip.id}`).catch(() => {});
    await closeAll(...[admin, alice].filter(Boolean));
  }
});
