#!/usr/bin/env node
// Browser test of the dashboard in real headless Chromium (playwright-core).
// usage: dashboard.js GATEWAY_URL MQTT_PORT OUT_DIR TOKEN
//   1. the page loads with no console error and the WebSocket goes live
//   2. an anomaly published on MQTT appears in the feed within 2 s, marked
//      pending, then shows its on-chain confirmation (tx + block); opened,
//      it is verified against its receipt and shows the "verified on chain
//      · batch N" badge (the contract's isLogged), with its Merkle proof in
//      the badge's tooltip and an expandable section
//   3. a manual reading sent with the form is refused (401) without the
//      gateway's token, then accepted with it, goes through the broker and
//      comes back to the page (sensor list + chart)
//   4. screenshots (desktop and phone size) are saved in OUT_DIR
'use strict';
const path = require('path');
const fs = require('fs');
const {execFileSync} = require('child_process');
const {launch, watchedPage} = require(path.join(__dirname, 'lib.js'));
const {make} = require(path.join(__dirname, '../gateway/anomalies.js'));

const [url, mqttPort, outDir, token] = process.argv.slice(2);
const fail = (m) => { console.error('FAIL: ' + m); process.exit(1); };

async function main() {
  fs.mkdirSync(outDir, {recursive: true});
  const {browser, close} = await launch();
  const {page, errors} = await watchedPage(browser);
  page.on('requestfailed', (r) => errors.push('request failed: ' + r.url()));
  try {
    // 1. load
    await page.goto(url, {waitUntil: 'load'});
    await page.waitForSelector('#conn[data-state="live"]', {timeout: 10000});
    await page.waitForTimeout(500);
    if (errors.length) fail('errors while loading: ' + errors.join('; '));

    // 2. an anomaly from MQTT, then its confirmation
    const sensor = 'browser-' + process.pid;
    const a = make(sensor, 0, Math.floor(Date.now() / 1000) - 5, 0, ['point']);
    a.explanation = 'temperature 1000 degC is far above the expected 19.1..24.3';
    a.value = 1000;
    const t0 = Date.now();
    execFileSync('mosquitto_pub', ['-h', '127.0.0.1', '-p', mqttPort, '-q', '1', '-t', 'anomalies/' + sensor, '-m', JSON.stringify(a)]);
    const sel = `li.feed-item[data-id="${a.id}"]`;
    await page.waitForSelector(sel, {timeout: 2000});
    const shownMs = Date.now() - t0;
    const text = await page.textContent(sel);
    if (!text.includes('far above') || !text.toLowerCase().includes('point')) fail('feed item lacks explanation/type: ' + text);
    console.log(`anomaly shown after ${shownMs} ms`);
    await page.waitForSelector(`${sel}.confirmed`, {timeout: 30000});
    const conf = await page.textContent(sel);
    const m = conf.match(/block (\d+)/);
    if (!m || !conf.includes('tx 0x')) fail('confirmation lacks tx/block: ' + conf);
    console.log(`confirmed on chain in block ${m[1]} after ${Date.now() - t0} ms`);
    // the proof dialog verifies it against the receipt
    await page.click(`${sel} a.tx`);
    await page.waitForFunction(() => document.getElementById('proof-body').textContent.includes('"verified"'), null, {timeout: 10000});
    const proof = await page.textContent('#proof-body');
    if (!proof.includes('✔ verified')) fail('proof not verified: ' + proof.slice(0, 300));
    // ... and the contract itself confirms it (isLogged with the Merkle proof):
    // a badge in the dialog and on the feed item, with the proof on hover/expand
    await page.waitForSelector('#proof-badge[data-state="verified"]', {timeout: 10000});
    const badge = await page.textContent('#proof-badge');
    if (!/verified on chain · batch \d+/.test(badge)) fail('proof badge: ' + badge);
    const itemBadge = await page.waitForSelector(`${sel} .badge[data-state="verified"]`, {timeout: 2000});
    if ((await itemBadge.textContent()) !== badge) fail('feed badge differs: ' + await itemBadge.textContent());
    const tip = await itemBadge.getAttribute('title');
    if (!/= true at block \d+/.test(tip) || !/root 0x[0-9a-f]{64}/.test(tip)) fail('badge tooltip: ' + tip);
    await page.click('#proof-merkle summary');
    const merkle = await page.textContent('#proof-merkle-body');
    if (!merkle.includes('root 0x') || !(await page.isVisible('#proof-merkle-body'))) fail('expanded proof: ' + merkle);
    console.log('badge: ' + badge);
    await page.screenshot({path: path.join(outDir, 'dashboard-proof.png')});
    await page.click('#proof-close');

    // 3. manual reading through the form
    const manual = 'manual-' + process.pid;
    await page.fill('#f-sensor', manual);
    await page.fill('#f-temp', '23.25');
    await page.fill('#f-hum', '44');
    await page.click('#reading-form details summary'); // "Access token"
    await page.fill('#f-token', '');
    await page.click('#f-send');
    await page.waitForSelector('#f-result.err', {timeout: 5000});
    const refused = await page.textContent('#f-result');
    if (!refused.includes('401')) fail('form without token: ' + refused);
    await page.fill('#f-token', token);
    await page.click('#f-send');
    await page.waitForSelector('#f-result.ok', {timeout: 5000});
    const res = await page.textContent('#f-result');
    if (!res.includes(`sensors/${manual}/readings`)) fail('form result: ' + res);
    // back from the broker over the WebSocket: the sensor appears and is charted
    await page.waitForSelector(`#sensor-list li[data-sensor="${manual}"]`, {timeout: 5000});
    await page.selectOption('#filter-sensor', manual);
    await page.waitForSelector(`.chart-card[data-sensor="${manual}"] canvas`, {timeout: 5000});
    const val = await page.textContent(`#sensor-list li[data-sensor="${manual}"] .sensor-val`);
    if (val.trim() !== '23.25') fail('sensor list value: ' + val);
    await page.selectOption('#filter-sensor', '');
    if (errors.filter((e) => !e.includes('status of 404') && !e.includes('status of 401')).length) fail('console errors: ' + errors.join('; '));
    // a bad reading shows the gateway's error (Chromium logs the 400 itself)
    await page.fill('#f-sensor', 'bad/id');
    await page.evaluate(() => document.getElementById('f-sensor').removeAttribute('pattern'));
    await page.click('#f-send');
    await page.waitForSelector('#f-result.err', {timeout: 5000});
    const err = await page.textContent('#f-result');
    if (!err.includes('400')) fail('error result: ' + err);

    await page.waitForTimeout(300);
    await page.screenshot({path: path.join(outDir, 'dashboard.png'), fullPage: true});
    await page.setViewportSize({width: 390, height: 844});
    await page.waitForTimeout(400);
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    if (overflow > 2) fail(`page overflows a phone screen by ${overflow}px`);
    await page.screenshot({path: path.join(outDir, 'dashboard-phone.png'), fullPage: false});
    // Allowed: the deliberate 400, and 404s of the proof polling above.
    const bad = errors.filter((e) => !e.includes('status of 400') && !e.includes('status of 404') &&
                                     !e.includes('status of 401'));
    if (bad.length) fail('console errors: ' + bad.join('; '));
    console.log('screenshots in ' + outDir);
  } finally {
    await close();
  }
}

main().catch((e) => fail(e.stack || String(e)));
