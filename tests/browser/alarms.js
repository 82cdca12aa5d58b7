#!/usr/bin/env node
// Browser test of the dashboard's alarms panel in real headless Chromium
// (playwright-core). usage: alarms.js GATEWAY_URL MQTT_PORT OUT_DIR TOKEN
// The gateway runs with ALARM_POINT_CALM_S=0 (a point alarm opens and
// clears at once), so point anomalies make history.
//   1. a fault (contextual anomalies with an expected range) opens an alarm:
//      it appears in the panel, with date and time, and its span and the
//      expected band are drawn on the sensor's chart
//   2. it is acknowledged with the keyboard only (Tab to its button, Enter):
//      the gateway records acked=true and acked_by = the name typed in
//   3. mute and false positive through the buttons and their dialog; the
//      detail view lists the actions, with a proof column
//   4. a silent sensor is marked silent in the sensor list
//   5. a WebSocket client subscribing to alarms gets the active ones first
//   6. CSV export of alarms and anomalies: files with a header row and the rows
//   7. an alarm storm: 50 rows, grouped by severity with counts, "show more"
//   8. history: cleared alarms, 50 a page, "load older" fetches the next
//      page; a time range after every alarm shows none
'use strict';
const path = require('path');
const fs = require('fs');
const {execFile, execFileSync} = require('child_process');
const {launch, watchedPage} = require(path.join(__dirname, 'lib.js'));
const {make} = require(path.join(__dirname, '../gateway/anomalies.js'));
const {keccak256} = require(path.join(__dirname, '../../tools/node_modules/js-sha3'));

const [url, mqttPort, outDir, token] = process.argv.slice(2);
const fail = (m) => { console.error('FAIL: ' + m); process.exit(1); };
const pubArgs = (topic, msg) => ['-h', '127.0.0.1', '-p', mqttPort, '-q', '1', '-t', topic, '-m', JSON.stringify(msg)];
const pub = (topic, msg) => execFileSync('mosquitto_pub', pubArgs(topic, msg));
// Many messages without blocking the event loop: a blocked loop cannot see
// the gateway close an idle keep-alive socket, and fetch then reuses the
// dead socket ("other side closed").
const pubMany = (list) => Promise.all(list.map(([topic, msg]) => new Promise((ok, no) =>
  execFile('mosquitto_pub', pubArgs(topic, msg), (e) => (e ? no(e) : ok())))));
const api = async (p) => { const r = await fetch(url.replace(/\/$/, '') + p); if (!r.ok) fail(p + ': ' + r.status); return r.json(); };

async function until(what, fn, ms = 8000) {
  const end = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > end) fail('timed out: ' + what);
    await new Promise((ok) => setTimeout(ok, 150));
  }
}

async function main() {
  fs.mkdirSync(outDir, {recursive: true});
  const {browser, close} = await launch({height: 1000, acceptDownloads: true});
  const {page, errors} = await watchedPage(browser);
  try {
    await page.goto(url, {waitUntil: 'load'});
    await page.waitForSelector('#conn[data-state="live"]', {timeout: 10000});
    await page.evaluate((t) => { document.getElementById('f-token').value = t; }, token);

    // 1. a fault opens an alarm, shown in the panel and on the chart
    const F = 'fault-' + process.pid;
    const now = Date.now() / 1000;
    const fa = [0, 1, 2].map((i) => Object.assign(make(F, i, now - 1, 0, ['contextual']),
      {expected_low: 19.5, expected_high: 24.5}));
    for (const a of fa) pub('anomalies/' + F, a);
    const list = await until('alarm of ' + F, async () => {
      const j = await api('/api/alarms?state=active&sensor_id=' + F);
      return j.alarms.length && j.alarms[0].count === 3 ? j : null;
    });
    const id = list.alarms[0].id;
    const row = `#al-body tr[data-id="${id}"]`;
    await page.waitForSelector(row, {timeout: 3000});
    const opened = await page.textContent(`${row} .al-opened`);
    if (!/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$/.test(opened)) fail('opened_at without date and time: ' + opened);
    if ((await page.textContent(`${row} .al-count`)) !== '3') fail('count: ' + await page.textContent(`${row} .al-count`));
    await page.selectOption('#filter-sensor', F);
    await page.waitForSelector(`.chart-card[data-sensor="${F}"] canvas`, {timeout: 5000});
    const drawn = await until('alarm span on the chart', () =>
      page.evaluate((s) => { const d = window.__alarms.state.drawn[s]; return d && d.spans > 0 && d.bands > 0 ? d : null; }, F));
    console.log(`alarm ${id} shown; chart: ${drawn.spans} span(s), ${drawn.bands} expected band(s)`);
    await page.selectOption('#filter-sensor', '');

    // 2. acknowledge with the keyboard only
    await page.click('#al-user');
    await page.keyboard.type('kb-operator');
    const ack = `${row} button.ack`;
    let tabs = 0;
    while (!(await page.evaluate((sel) => document.activeElement === document.querySelector(sel), ack))) {
      if (++tabs > 80) fail('Tab never reached the Acknowledge button');
      await page.keyboard.press('Tab');
    }
    const focus = await page.evaluate((sel) => {
      const b = document.querySelector(sel), cs = getComputedStyle(b);
      return {tag: b.tagName, label: b.getAttribute('aria-label'), outline: cs.outlineStyle, width: cs.outlineWidth};
    }, ack);
    if (focus.tag !== 'BUTTON' || !/Acknowledge/.test(focus.label || '') || focus.outline === 'none' || focus.width === '0px')
      fail('focused Acknowledge button: ' + JSON.stringify(focus));
    await page.keyboard.press('Enter');
    const acked = await until('acked over REST', async () => {
      const j = await api('/api/alarms/' + id);
      return j.alarm.acked ? j.alarm : null;
    });
    if (acked.acked_by !== 'kb-operator') fail('acked_by: ' + acked.acked_by);
    await page.waitForSelector(`${row}[data-acked="true"]`, {timeout: 3000});
    if (!(await page.textContent(`${row} .al-acked`)).includes('kb-operator')) fail('row acked_by');
    console.log(`acknowledged from the keyboard after ${tabs} Tab(s), focus outline ${focus.outline} ${focus.width}`);

    // 3. mute (minutes) and false positive (note) through the dialog
    await page.click(`${row} button.mute`);
    await page.waitForSelector('#al-ask[open]');
    await page.fill('#al-ask-input', '15');
    await page.click('#al-ask-ok');
    const muted = await until('muted over REST', async () => {
      const j = await api('/api/alarms/' + id);
      return j.alarm.muted_until ? j.alarm : null;
    });
    if (muted.muted_until < Date.now() + 14 * 60000) fail('muted_until: ' + muted.muted_until);
    await until('muted in the row', async () => (await page.textContent(`${row} .al-muted`)) !== '–');
    await page.click(`${row} button.fp`);
    await page.waitForSelector('#al-ask[open]');
    await page.fill('#al-ask-input', 'calibration, "bench" test');
    await page.keyboard.press('Enter');
    const fp = await until('false positive over REST', async () => {
      const j = await api('/api/alarms/' + id);
      return j.alarm.false_positive ? j : null;
    });
    if (fp.alarm.state !== 'cleared') fail('false positive did not clear: ' + fp.alarm.state);
    const note = fp.actions.find((x) => x.event === 'false_positive');
    if (!note || note.note !== 'calibration, "bench" test' || note.by !== 'kb-operator') fail('fp action: ' + JSON.stringify(fp.actions));
    // the active view drops it; its details come from the history below

    // 4. a silent sensor
    const S = 'quiet-' + process.pid;
    const sts = Math.floor(Date.now() / 1000);
    const b = Buffer.concat([Buffer.from(S), Buffer.from([0]), Buffer.from('all'), Buffer.from([0]), Buffer.alloc(9)]);
    b.writeBigInt64BE(BigInt(sts * 1000), S.length + 5);
    b[b.length - 1] = 3;
    pub('anomalies/' + S, {id: keccak256(b), sensor_id: S, ts: sts, metric: 'all', value: 0, score: 1,
      type: 'silent', explanation: 'no reading for 30 s (expected every 5 s)'});
    await page.waitForSelector(`#sensor-list li.silent[data-sensor="${S}"] .sensor-tag:not([hidden])`, {timeout: 5000});
    const sid = (await api('/api/alarms?state=active&sensor_id=' + S)).alarms[0].id;
    await page.waitForSelector(`#al-body tr[data-id="${sid}"]`, {timeout: 3000});
    if ((await page.textContent(`#al-body tr[data-id="${sid}"] .al-kind`)) !== 'silent') fail('silent row');
    console.log('silent sensor marked in the sensor list');

    // 5. the WebSocket's snapshot of active alarms on subscribing
    const snap = await page.evaluate(() => new Promise((done) => {
      const got = [];
      const ws = new WebSocket((location.protocol === 'https:' ? 'wss://' : 'ws://') + location.host + '/ws');
      ws.onopen = () => ws.send(JSON.stringify({subscribe: {types: ['alarm']}}));
      ws.onmessage = (ev) => { const m = JSON.parse(ev.data); if (m.type === 'alarm') got.push(m.data); };
      setTimeout(() => { ws.close(); done(got); }, 1200);
    }));
    if (!snap.some((e) => e.event === 'snapshot' && e.alarm.id === sid)) fail('no snapshot of the active alarm: ' + JSON.stringify(snap).slice(0, 300));
    if (snap.some((e) => e.alarm.id === id)) fail('the snapshot lists a cleared alarm');
    console.log(`WebSocket snapshot: ${snap.length} active alarm(s)`);

    // 6. CSV export
    const csvOf = async (button) => {
      const [dl] = await Promise.all([page.waitForEvent('download', {timeout: 5000}), page.click(button)]);
      return fs.readFileSync(await dl.path(), 'utf8');
    };
    const acsv = await csvOf('#al-csv');
    const alines = acsv.trim().split('\r\n');
    if (!alines[0].startsWith('id,sensor_id,metric,kind,severity,state')) fail('alarms CSV header: ' + alines[0]);
    if (!alines.some((l) => l.startsWith(sid + ',' + S + ',all,silent,critical,active'))) fail('alarms CSV lacks the silent alarm:\n' + acsv);
    const ncsv = await csvOf('#an-csv');
    if (!ncsv.startsWith('id,sensor_id,metric,type,ts')) fail('anomalies CSV header: ' + ncsv.split('\r\n')[0]);
    if (!ncsv.includes(fa[0].id + ',' + F + ',temperature,contextual,')) fail('anomalies CSV lacks the fault:\n' + ncsv.slice(0, 400));
    console.log(`CSV: ${alines.length - 1} alarm row(s), ${ncsv.trim().split('\r\n').length - 1} anomaly row(s)`);

    // 7. a storm: 55 more active alarms show 50 rows, "show more", counts per severity
    await pubMany(Array.from({length: 55}, (_, i) =>
      [`anomalies/c${i}-${process.pid}`, make(`c${i}-${process.pid}`, 0, Date.now() / 1000, 0, ['contextual'])]));
    await until('56 active alarms counted', async () =>
      (await page.getAttribute('#al-counts [data-sev="major"]', 'data-count')) === '55');
    if ((await page.getAttribute('#al-counts [data-sev="critical"]', 'data-count')) !== '1') fail('critical count');
    await until('50 rows', async () => (await page.$$('#al-body tr.al-row')).length === 50);
    const groups = await page.$$eval('#al-body tr.al-group', (g) => g.map((x) => x.textContent));
    if (groups.join('|') !== 'critical · 1|major · 55') fail('severity groups: ' + groups.join('|'));
    const more = await page.textContent('#al-more');
    if (!more.includes('6 more')) fail('show more: ' + more);
    await page.click('#al-more');
    await until('56 rows', async () => (await page.$$('#al-body tr.al-row')).length === 56);
    console.log('storm: 50 rows then "show more" (56), critical 1 / major 55');

    // 8. history: 60 point alarms that cleared at once, plus the false positive
    const t0 = Date.now() / 1000 - 30;
    await pubMany(Array.from({length: 60}, (_, i) =>
      [`anomalies/p${i}-${process.pid}`, make(`p${i}-${process.pid}`, 0, t0 + i, 0, ['point'])]));
    await until('60 cleared point alarms', async () =>
      (await api('/api/alarms?state=cleared&limit=1000')).alarms.length >= 61);
    await page.selectOption('#al-view', 'cleared');
    await until('first history page', async () => (await page.$$('#al-body tr.al-row')).length === 50);
    if (!(await page.isVisible('#al-older'))) fail('no "load older" after a full page');
    await page.click('#al-older');
    await until('second history page', async () => (await page.$$('#al-body tr.al-row')).length === 61);
    if (await page.isVisible('#al-older')) fail('"load older" still shown after the last page');
    // details of the false positive: its actions, with a proof column
    await page.click(`${row} button.detail`);
    await page.waitForSelector('#al-detail[open] .al-actions-table');
    const det = await page.textContent('#al-detail-body');
    for (const want of ['acknowledged', 'muted', 'false_positive', 'kb-operator', 'calibration'])
      if (!det.includes(want)) fail(`detail view lacks ${want}: ${det.slice(0, 400)}`);
    const proofs = await page.$$eval('#al-detail .al-actions-table tbody tr td:last-child', (tds) => tds.map((t) => t.textContent));
    if (!proofs.length || !proofs.every((p) => p === 'pending' || p === '–' || /^tx 0x/.test(p))) fail('proof column: ' + proofs);
    // the proof column once the gateway reports proofs (branch chain): tx and block, or pending
    const cells = await page.evaluate(() => {
      const p = window.__alarms.proofCell;
      const c = p({tx_hash: '0x' + 'ab'.repeat(32), block_number: 42, seq: 7, batch: 3});
      return [c.textContent, c.title, p(null).textContent, p(undefined).textContent];
    });
    if (!/^tx 0xabababab.*· block 42$/.test(cells[0]) || !cells[1].includes('0x' + 'ab'.repeat(32)) ||
        !cells[1].includes('batch 3') || cells[2] !== 'pending' || cells[3] !== '–') fail('proof cells: ' + JSON.stringify(cells));
    // CSV quoting (RFC 4180) and the formula guard
    const q = await page.evaluate(() => ['a,b', 'say "hi"', 'two\nlines', '=1+1', -3, null].map(window.__alarms.csvField));
    if (JSON.stringify(q) !== JSON.stringify(['"a,b"', '"say ""hi"""', '"two\nlines"', "'=1+1", '-3', '']))
      fail('CSV fields: ' + JSON.stringify(q));
    await page.screenshot({path: path.join(outDir, 'alarms-detail.png')});
    await page.click('#al-detail-close');
    // a range after every alarm: none
    const later = new Date(Date.now() + 3600e3);
    const p2 = (n) => String(n).padStart(2, '0');
    await page.fill('#al-since', `${later.getFullYear()}-${p2(later.getMonth() + 1)}-${p2(later.getDate())}T${p2(later.getHours())}:${p2(later.getMinutes())}:00`);
    await page.click('#al-apply');
    await until('empty range', async () => (await page.$$('#al-body tr.al-row')).length === 0 && (await page.isVisible('#al-empty')));
    console.log('history: 50 + 11 after "load older"; a later range is empty');
    await page.fill('#al-since', '');
    await page.selectOption('#al-view', 'active');
    await page.waitForTimeout(300);
    await page.screenshot({path: path.join(outDir, 'alarms.png'), fullPage: true});
    const bad = errors.filter((e) => !/status of (40[0134]|503)/.test(e));
    if (bad.length) fail('console errors: ' + bad.join('; '));
  } finally {
    await close();
  }
}

main().catch((e) => fail(e.stack || String(e)));
