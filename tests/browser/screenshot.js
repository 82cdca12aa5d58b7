#!/usr/bin/env node
// The dashboard screenshot of the README (docs/img/dashboard.png), made by
// the browser test when DASHBOARD_SCREENSHOT=PATH is set
// (tests/integration/browser_dashboard.sh), in real headless Chromium.
// usage: screenshot.js GATEWAY_URL MQTT_PORT OUT_PNG TOKEN
// Three sensors send four minutes of readings through POST /api/readings
// (the broker and back), two of them with a spike the detector would flag,
// then a few seconds of live readings;
// the two anomalies are published on MQTT as the detector does, logged on
// chain by the real chain logger; the page is loaded, the confirmations
// awaited, and the window (1400x900) saved. Fails when something expected
// is missing from the page, so the picture shows a working dashboard.
'use strict';
const path = require('path');
const fs = require('fs');
const {execFileSync} = require('child_process');
const {launch} = require(path.join(__dirname, 'lib.js'));
const {make} = require(path.join(__dirname, '../gateway/anomalies.js'));

const [url, mqttPort, outPng, token] = process.argv.slice(2);
const fail = (m) => { console.error('FAIL: ' + m); process.exit(1); };

// A smooth, slightly noisy series (deterministic: the picture is stable).
function series(sensor, base, amp, hum, now, spikeAt, spike) {
  const out = [];
  for (let i = 0; i < 120; i++) {
    const ts = now - 240 + i * 2;
    let t = base + amp * Math.sin(i / 15) + 0.15 * Math.sin(i * 7.3);
    if (i === spikeAt) t = spike;
    out.push({sensor_id: sensor, ts, temperature: +t.toFixed(2), humidity: +(hum + 2 * Math.cos(i / 20)).toFixed(1)});
  }
  return out;
}

async function post(readings) {
  for (let i = 0; i < readings.length; i += 50) {
    const r = await fetch(url + 'api/readings', {
      method: 'POST',
      headers: {'Content-Type': 'application/json', Authorization: 'Bearer ' + token},
      body: JSON.stringify(readings.slice(i, i + 50)),
    });
    if (r.status !== 202) fail('POST /api/readings: ' + r.status + ' ' + await r.text());
  }
}

async function main() {
  const now = Math.floor(Date.now() / 1000);
  const sensors = [
    series('greenhouse', 24, 1.2, 65, now, 90, 38.4),
    series('kitchen', 21, 0.6, 45, now, 100, 12.1),
    series('cellar', 12.5, 0.3, 80, now, -1, 0),
  ];
  for (const s of sensors) await post(s);
  const anomalies = [
    [sensors[0][90], 'point', 'temperature 38.4 degC is far above the expected 21.9..26.1 for this sensor'],
    [sensors[1][100], 'contextual', 'temperature 12.1 degC is unusually low for this time of day (expected 20.2..21.8)'],
  ].map(([r, type, explanation]) => {
    const a = make(r.sensor_id, 0, r.ts, 0, [type]);
    return Object.assign(a, {value: r.temperature, explanation, score: type === 'point' ? 0.91 : 0.74});
  });
  for (const a of anomalies) {
    execFileSync('mosquitto_pub', ['-h', '127.0.0.1', '-p', mqttPort, '-q', '1', '-t', 'anomalies/' + a.sensor_id, '-m', JSON.stringify(a)]);
  }

  const {browser, close} = await launch();
  try {
    const page = browser.pages()[0] || await browser.newPage();
    await page.goto(url, {waitUntil: 'load'});
    await page.waitForSelector('#conn[data-state="live"]', {timeout: 10000});
    for (const a of anomalies) {
      await page.waitForSelector(`li.feed-item[data-id="${a.id}"].confirmed`, {timeout: 30000});
    }
    for (const s of ['greenhouse', 'kitchen', 'cellar']) {
      await page.waitForSelector(`.chart-card[data-sensor="${s}"] canvas`, {timeout: 10000});
    }
    // Live readings while the rates pill takes its two scrapes.
    const t1 = Date.now();
    for (let i = 120; Date.now() - t1 < 7000; i++) {
      const ts = Date.now() / 1000;
      await post([
        {sensor_id: 'greenhouse', ts, temperature: +(24 + 1.2 * Math.sin(i / 15)).toFixed(2), humidity: 65},
        {sensor_id: 'kitchen', ts, temperature: +(21 + 0.6 * Math.sin(i / 15)).toFixed(2), humidity: 45},
        {sensor_id: 'cellar', ts, temperature: +(12.5 + 0.3 * Math.sin(i / 15)).toFixed(2), humidity: 80},
      ]);
      await page.waitForTimeout(250);
    }
    fs.mkdirSync(path.dirname(path.resolve(outPng)), {recursive: true});
    await page.screenshot({path: outPng, fullPage: false});
    console.log('dashboard screenshot: ' + outPng);
  } finally {
    await close();
  }
}

main().catch((e) => fail(e.stack || String(e)));
