#!/usr/bin/env node
// Browser test of the dashboard's Notifications panel (channels.js) in real
// headless Chromium (playwright-core), against a real gateway, mosquitto,
// notifier and a local webhook receiver (tests/integration/browser_notify.sh).
// usage: notify.js GATEWAY_URL TOKEN RECEIVER_JSONL OUT_DIR
//   1. the panel lists both channels ("ops": the receiver; "down": a closed
//      port) with their counters; no console error
//   2. "Send test" without the token is refused (401) and says so
//   3. with the token, "Send test" on ops, pressed with the KEYBOARD (focus +
//      Enter), makes the receiver get a "test" event with a valid signature;
//      the row then shows sent >= 1 and a last delivery time
//   4. "Send test" on down: its row shows the failure reason (curl's text)
//      and is marked failing, as GET /api/notify/channels says too
'use strict';
const path = require('path');
const fs = require('fs');
const {launch, watchedPage} = require(path.join(__dirname, 'lib.js'));

const [url, token, rxFile, outDir] = process.argv.slice(2);
const fail = (m) => { console.error('FAIL: ' + m); process.exit(1); };
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function until(what, ms, fn) {
  const end = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > end) fail('timed out: ' + what);
    await sleep(200);
  }
}

function testDelivered() {
  let lines = [];
  try { lines = fs.readFileSync(rxFile, 'utf8').split('\n').filter(Boolean); } catch (e) { return null; }
  for (const l of lines) {
    const r = JSON.parse(l);
    if (r.body && r.body.event === 'test' && r.body.channel === 'ops') return r;
  }
  return null;
}

async function main() {
  fs.mkdirSync(outDir, {recursive: true});
  const {browser, close} = await launch({prefix: 'nt-chromium-', height: 1000});
  // the 401 of step 2 is logged by Chromium as a failed resource: expected
  const {page, errors} = await watchedPage(browser, (text) => /401/.test(text));
  try {
    // 1. both channels listed
    await page.goto(url, {waitUntil: 'load'});
    await page.waitForSelector('#nt-rows tr[data-channel="ops"]', {timeout: 10000});
    await page.waitForSelector('#nt-rows tr[data-channel="down"]', {timeout: 5000});
    if (!(await page.isHidden('#nt-empty'))) fail('"no notifier" shown with channels listed');
    const ops = '#nt-rows tr[data-channel="ops"]';
    const down = '#nt-rows tr[data-channel="down"]';
    if (!(await page.textContent(`${ops} .nt-name`)).includes('webhook')) fail('ops row lacks its type');
    if (errors.length) fail('errors while loading: ' + errors.join('; '));

    // 2. without the token: refused, and the panel says why
    await page.click('#reading-form details summary'); // the "Access token" field
    await page.fill('#f-token', '');
    await page.click(`${ops} button.nt-test`);
    await page.waitForFunction(() => /refused/.test(document.getElementById('nt-result').textContent), null, {timeout: 5000});
    if (testDelivered()) fail('a test was delivered without the token');

    // 3. with the token, by keyboard
    await page.fill('#f-token', token);
    await page.focus(`${ops} button.nt-test`);
    const tag = await page.evaluate(() => document.activeElement.tagName + ' ' + document.activeElement.textContent);
    if (tag !== 'BUTTON Send test') fail('the test control is not a focusable button: ' + tag);
    await page.keyboard.press('Enter');
    const rx = await until('the receiver gets the test event', 10000, async () => testDelivered());
    if (!rx.sig_ok) fail('test event without a valid X-Signature-256');
    if (!rx.headers['Idempotency-Key']) fail('test event without Idempotency-Key');
    await page.waitForFunction((sel) => {
      const tr = document.querySelector(sel);
      return tr && +tr.querySelector('.nt-sent').textContent >= 1 && tr.querySelector('.nt-last').textContent !== 'never';
    }, ops, {timeout: 10000});
    console.log('test event delivered, signed; the row shows it sent');

    // 4. the closed port: its failure and reason in the panel
    await page.click(`${down} button.nt-test`);
    await page.waitForSelector(`${down}.failing`, {timeout: 10000});
    const why = await page.textContent(`${down} .nt-failure`);
    if (!/connect/i.test(why)) fail('failure reason not shown: ' + why);
    const api = await page.evaluate(async () => (await fetch('api/notify/channels')).json());
    const d = api.channels.find((c) => c.name === 'down');
    if (!d || !d.failing || !/connect/i.test(d.last_failure || '') || d.failed_total < 1) fail('API: ' + JSON.stringify(d));
    console.log('failure shown: ' + why.trim());
    await page.screenshot({path: path.join(outDir, 'notify-panel.png'), fullPage: true});
    if (errors.length) fail('page errors: ' + errors.join('; '));
  } finally {
    await close();
  }
}

main().then(() => console.log('browser notify: ok')).catch((e) => fail(e.stack || String(e)));
