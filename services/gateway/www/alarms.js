/*
 * Dashboard alarms panel (issue #17 item 8). Loaded before app.js, which
 * calls window.__alarms.attach(app) once its own state exists and then
 * forwards the WebSocket's {"type":"alarm"} messages (onAlarm) and its
 * chart drawing (drawChart).
 *
 *   active view   the active alarms, most severe first (critical, major,
 *                 minor, warning), newest opened first within a severity,
 *                 grouped with a count per severity; PAGE rows, then
 *                 "show more" (an alarm storm stays readable).
 *   history       GET /api/alarms?state=cleared|all&since=&until=&limit=
 *                 PAGE, "load older" follows next_cursor.
 *   actions       real <button>s (Tab, Enter/Space) calling POST
 *                 /api/alarms/{id}/ack|clear|mute|false_positive with the
 *                 gateway token of the reading form and "by" = the name
 *                 typed in the panel (else the gateway records "token").
 *   detail        GET /api/alarms/{id}: its anomalies and actions, each
 *                 action with its on-chain proof (tx, block) or "pending".
 *   chart         an alarm's opened..cleared span shaded on its sensor's
 *                 chart, with the expected band its anomalies carry.
 *   CSV           alarms (the current view) and anomalies (the feed),
 *                 built here from the loaded data (RFC 4180 quoting).
 *
 * Every value from the network goes in with textContent, never as HTML.
 */
'use strict';
window.__alarms = (() => {
  const PAGE = 50;
  const SEV = ['critical', 'major', 'minor', 'warning'];
  const sevRank = (s) => (SEV.indexOf(s) < 0 ? SEV.length : SEV.indexOf(s));

  const $ = (id) => document.getElementById(id);
  const el = (tag, cls, text) => {
    const e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined) e.textContent = text;
    return e;
  };
  const pad = (n) => String(n).padStart(2, '0');
  // Local date and time, always both: an alarm can last for days.
  const fmtDT = (ms) => {
    if (typeof ms !== 'number' || !ms) return '–';
    const d = new Date(ms);
    return d.getFullYear() + '-' + pad(d.getMonth() + 1) + '-' + pad(d.getDate()) + ' ' +
      pad(d.getHours()) + ':' + pad(d.getMinutes()) + ':' + pad(d.getSeconds());
  };
  const iso = (ms) => (typeof ms === 'number' && ms ? new Date(ms).toISOString() : '');
  const short = (h) => (h && h.length > 14 ? h.slice(0, 10) + '…' + h.slice(-4) : h || '');

  let app = null; // {state, markDirty, sensorEntry, renderSensor, setSensorFilter, setMetric}
  const st = {
    alarms: new Map(),  // id -> the newest alarm object seen
    rows: new Map(),    // id -> row {tr, cells, buttons}
    view: 'active',     // active | cleared | all
    shown: PAGE,        // rows shown in the active view
    hist: [],           // ids of the history view, in the gateway's order
    histCursor: null,   // next_cursor of the last history page (null: no more)
    histBusy: false,
    silent: new Map(),  // sensor id -> Set of its active silent alarm ids
    drawn: {},          // sensor id -> {spans, bands} of its last chart draw (tests)
    renderQueued: false,
  };

  /* ---- talking to the gateway ----------------------------------------- */

  function token() {
    const f = $('f-token');
    return (f && f.value) || sessionStorage.getItem('gw-token') || '';
  }

  function say(text, bad) {
    const o = $('al-result');
    o.className = 'result ' + (bad ? 'err' : 'ok');
    o.textContent = text;
  }

  async function act(id, verb, extra) {
    const body = Object.assign({}, extra);
    const by = $('al-user').value.trim();
    if (by) body.by = by;
    const headers = {'Content-Type': 'application/json'};
    const t = token();
    if (t) headers.Authorization = 'Bearer ' + t;
    const a = st.alarms.get(id);
    const what = verb.replace('_', ' ') + ' ' + (a ? a.sensor_id + ' · ' + a.metric + ' · ' + a.kind : id);
    try {
      const r = await fetch('/api/alarms/' + encodeURIComponent(id) + '/' + verb,
        {method: 'POST', headers, body: JSON.stringify(body)});
      const j = await r.json().catch(() => ({}));
      if (!r.ok) {
        say('✘ ' + what + ': ' + r.status + ' ' + (j.error || r.statusText) +
            (r.status === 401 ? ' (enter the access token under "Send a reading")' : ''), true);
        return;
      }
      if (j.alarm) upsert(j.alarm);
      say('✔ ' + what);
      if ($('al-detail').open && st.detailId === id) showDetail(id);
    } catch (e) {
      say('✘ ' + what + ': ' + e.message, true);
    }
  }

  async function loadActive() {
    try {
      const r = await fetch('/api/alarms?state=active&limit=1000', {cache: 'no-store'});
      if (!r.ok) return;
      const j = await r.json();
      const seen = new Set();
      for (const a of j.alarms) { upsert(a); seen.add(a.id); }
      // A complete answer: what we hold as active and it does not list was
      // cleared while we were away.
      if (j.next_cursor === null)
        for (const a of st.alarms.values())
          if (a.state === 'active' && !seen.has(a.id)) upsert(Object.assign({}, a, {state: 'cleared'}));
    } catch (e) { /* the WebSocket snapshot fills it too */ }
  }

  function histQuery() {
    const q = new URLSearchParams({state: st.view, limit: String(PAGE)});
    const since = $('al-since').value, until = $('al-until').value;
    if (since) q.set('since', String(new Date(since).getTime()));
    if (until) q.set('until', String(new Date(until).getTime()));
    return q;
  }

  // The history's From/To, as GET /api/alarms?since=&until= applies them.
  function inRange(a) {
    const q = histQuery(), since = +q.get('since') || 0, until = +q.get('until') || 0;
    return !(until && a.opened_at >= until) && !(since && a.cleared_at && a.cleared_at < since);
  }

  async function loadHistory(older) {
    if (st.histBusy) return;
    st.histBusy = true;
    const q = histQuery();
    if (older && st.histCursor) q.set('cursor', st.histCursor);
    if (!older) { st.hist = []; st.histCursor = null; }
    try {
      const r = await fetch('/api/alarms?' + q, {cache: 'no-store'});
      const j = await r.json().catch(() => ({}));
      if (!r.ok) { say('✘ history: ' + r.status + ' ' + (j.error || r.statusText), true); return; }
      for (const a of j.alarms) {
        upsert(a);
        if (!st.hist.includes(a.id)) st.hist.push(a.id);
      }
      st.histCursor = typeof j.next_cursor === 'string' ? j.next_cursor : null;
    } catch (e) {
      say('✘ history: ' + e.message, true);
    } finally {
      st.histBusy = false;
      queueRender();
    }
  }

  /* ---- state ----------------------------------------------------------- */

  function validAlarm(a) {
    return a && typeof a.id === 'string' && typeof a.sensor_id === 'string' &&
      typeof a.metric === 'string' && typeof a.kind === 'string';
  }

  function markSilent(a) {
    let set = st.silent.get(a.sensor_id);
    const on = a.kind === 'silent' && a.state === 'active';
    if (!set && !on) return;
    if (!set) st.silent.set(a.sensor_id, (set = new Set()));
    if (on) set.add(a.id); else set.delete(a.id);
    const s = app.sensorEntry(a.sensor_id);
    s.silent = set.size > 0;
    app.renderSensor(s);
  }

  function upsert(a) {
    if (!validAlarm(a)) return;
    st.alarms.set(a.id, a);
    markSilent(a);
    // A live change the history view asked for: newest at the top.
    if (st.view !== 'active' && !st.hist.includes(a.id) && (st.view === 'all' || a.state === st.view) &&
        inRange(a))
      st.hist.unshift(a.id);
    if (app.state.series.has(a.sensor_id)) app.markDirty(a.sensor_id);
    prune();
    queueRender();
  }

  // Bounded memory in a long session: forget cleared alarms nobody shows.
  function prune() {
    if (st.alarms.size <= 20000) return;
    const keep = new Set(st.hist);
    for (const [id, a] of st.alarms)
      if (a.state !== 'active' && !keep.has(id)) { st.alarms.delete(id); st.rows.delete(id); }
  }

  function onAlarm(ev) {
    if (ev && ev.alarm) upsert(ev.alarm);
  }

  /* ---- the table ------------------------------------------------------- */

  function button(text, cls, onClick) {
    const b = el('button', 'al-btn ' + cls, text);
    b.type = 'button';
    b.addEventListener('click', () => { if (b.getAttribute('aria-disabled') !== 'true') onClick(); });
    return b;
  }

  function makeRow(id) {
    const tr = el('tr', 'al-row');
    tr.dataset.id = id;
    const c = {};
    for (const k of ['sev', 'sensor', 'metric', 'kind', 'count', 'opened', 'cleared', 'acked', 'muted'])
      tr.append(c[k] = el('td', 'al-' + k));
    const acts = el('td', 'al-actions');
    const b = {
      ack: button('Acknowledge', 'ack', () => act(id, 'ack')),
      clear: button('Clear', 'clear', () => act(id, 'clear')),
      mute: button('Mute…', 'mute', () => askMute(id)),
      fp: button('False positive…', 'fp', () => askFalsePositive(id)),
      detail: button('Details', 'detail', () => showDetail(id)),
    };
    acts.append(b.ack, b.clear, b.mute, b.fp, b.detail);
    tr.append(acts);
    const row = {tr, c, b};
    st.rows.set(id, row);
    return row;
  }

  function setEnabled(btn, on) {
    btn.setAttribute('aria-disabled', on ? 'false' : 'true');
    btn.classList.toggle('off', !on);
  }

  function fillRow(row, a) {
    const tag = el('span', 'sev sev-' + a.severity, a.severity);
    row.c.sev.replaceChildren(tag);
    row.c.sensor.textContent = a.sensor_id;
    row.c.metric.textContent = a.metric;
    row.c.kind.textContent = a.kind;
    row.c.count.textContent = String(a.count);
    row.c.opened.textContent = fmtDT(a.opened_at);
    row.c.cleared.textContent = a.state === 'active' ? 'active' : fmtDT(a.cleared_at);
    row.c.acked.textContent = a.acked ? '✔ ' + (a.acked_by || '') : 'no';
    const muted = typeof a.muted_until === 'number' && a.muted_until > Date.now();
    row.c.muted.textContent = muted ? fmtDT(a.muted_until) : '–';
    row.tr.className = 'al-row ' + (a.state === 'active' ? 'active' : 'cleared') + (a.acked ? ' acked' : '') +
      (muted ? ' muted' : '');
    row.tr.dataset.state = a.state;
    row.tr.dataset.acked = String(!!a.acked);
    const name = a.severity + ' ' + a.kind + ' alarm on ' + a.sensor_id + ' ' + a.metric;
    row.b.ack.setAttribute('aria-label', 'Acknowledge the ' + name);
    row.b.clear.setAttribute('aria-label', 'Clear the ' + name);
    row.b.mute.setAttribute('aria-label', 'Mute the ' + name + ' for some minutes');
    row.b.fp.setAttribute('aria-label', 'Mark the ' + name + ' a false positive');
    row.b.detail.setAttribute('aria-label', 'Details of the ' + name);
    const active = a.state === 'active';
    setEnabled(row.b.ack, active && !a.acked);
    setEnabled(row.b.clear, active);
    setEnabled(row.b.mute, active);
    setEnabled(row.b.fp, !a.false_positive);
  }

  function activeSorted() {
    return [...st.alarms.values()].filter((a) => a.state === 'active')
      .sort((x, y) => sevRank(x.severity) - sevRank(y.severity) || y.opened_at - x.opened_at ||
        (x.id < y.id ? -1 : 1));
  }

  function groupRow(sev, n) {
    const tr = el('tr', 'al-group');
    tr.dataset.sev = sev;
    const th = el('th', '', sev + ' · ' + n);
    th.colSpan = 10;
    th.scope = 'rowgroup';
    tr.append(th);
    return tr;
  }

  function queueRender() {
    if (st.renderQueued) return;
    st.renderQueued = true;
    requestAnimationFrame(render);
  }

  function render() {
    st.renderQueued = false;
    const active = activeSorted();
    const counts = {};
    for (const s of SEV) counts[s] = 0;
    for (const a of active) counts[a.severity] = (counts[a.severity] || 0) + 1;
    const cbox = $('al-counts');
    cbox.replaceChildren(...SEV.map((s) => {
      const sp = el('span', 'sev sev-' + s + (counts[s] ? '' : ' zero'), s + ' ' + counts[s]);
      sp.dataset.sev = s;
      sp.dataset.count = String(counts[s]);
      return sp;
    }));
    $('al-active-n').textContent = String(active.length);

    let list, nodes = [];
    if (st.view === 'active') {
      list = active.slice(0, st.shown);
      let sev = null;
      for (const a of list) {
        if (a.severity !== sev) { sev = a.severity; nodes.push(groupRow(sev, counts[sev] || 0)); }
        nodes.push(rowOf(a));
      }
    } else {
      list = st.hist.map((id) => st.alarms.get(id)).filter(Boolean);
      nodes = list.map(rowOf);
    }
    const body = $('al-body');
    const focus = document.activeElement;
    const same = nodes.length === body.children.length &&
      nodes.every((n, i) => n === body.children[i] ||
        (n.classList.contains('al-group') && body.children[i].classList.contains('al-group') &&
         body.children[i].textContent === n.textContent));
    if (!same) {
      body.replaceChildren(...nodes);
      if (focus && focus !== document.activeElement && body.contains(focus)) focus.focus();
    }
    const more = st.view === 'active' ? active.length - list.length : 0;
    $('al-more').hidden = more <= 0;
    $('al-more').textContent = 'Show more (' + more + ' more)';
    $('al-older').hidden = st.view === 'active' || !st.histCursor;
    $('al-range').hidden = st.view === 'active';
    $('al-empty').hidden = list.length > 0;
    $('al-empty').textContent = st.view === 'active' ? 'No active alarm.' : 'No alarm in this range.';
  }

  function rowOf(a) {
    const row = st.rows.get(a.id) || makeRow(a.id);
    fillRow(row, a);
    return row.tr;
  }

  /* ---- dialogs ---------------------------------------------------------- */

  // Ask one value in the shared <dialog>; resolves to the text or null.
  function ask(title, label, input) {
    const d = $('al-ask');
    $('al-ask-title').textContent = title;
    $('al-ask-label').textContent = label;
    const i = $('al-ask-input');
    i.type = input.type;
    i.value = input.value;
    i.min = input.min || '';
    i.required = !!input.required;
    d.returnValue = '';
    return new Promise((done) => {
      d.addEventListener('close', () => done(d.returnValue === 'ok' ? i.value : null), {once: true});
      d.showModal();
      i.focus();
    });
  }

  async function askMute(id) {
    const m = await ask('Mute the alarm', 'Minutes (0 lifts the mute)', {type: 'number', value: '60', min: '0', required: true});
    if (m !== null) act(id, 'mute', {minutes: Math.max(0, Math.round(Number(m)))});
  }

  async function askFalsePositive(id) {
    const note = await ask('False positive', 'Note (optional)', {type: 'text', value: ''});
    if (note !== null) act(id, 'false_positive', note.trim() ? {note: note.trim()} : {});
  }

  function proofCell(p) {
    if (p === undefined) return el('span', 'muted', '–');
    if (!p || typeof p.tx_hash !== 'string') return el('span', 'state pending', 'pending');
    const s = el('span', 'state confirmed', 'tx ' + short(p.tx_hash) + ' · block ' + p.block_number);
    s.title = 'tx ' + p.tx_hash + '\nblock ' + p.block_number + '\nseq ' + p.seq + '\nbatch ' + p.batch;
    s.dataset.tx = p.tx_hash;
    return s;
  }

  function table(cols, rows) {
    const t = el('table', 'al-sub');
    const hr = el('tr');
    for (const c of cols) { const th = el('th', '', c); th.scope = 'col'; hr.append(th); }
    const head = el('thead');
    head.append(hr);
    const body = el('tbody');
    for (const r of rows) {
      const tr = el('tr');
      for (const v of r) { const td = el('td'); if (v instanceof Node) td.append(v); else td.textContent = v; tr.append(td); }
      body.append(tr);
    }
    t.append(head, body);
    return t;
  }

  async function showDetail(id) {
    st.detailId = id;
    const d = $('al-detail'), box = $('al-detail-body');
    box.replaceChildren(el('p', 'muted', 'loading…'));
    if (!d.open) d.showModal();
    try {
      const r = await fetch('/api/alarms/' + encodeURIComponent(id), {cache: 'no-store'});
      const j = await r.json();
      if (!r.ok) throw new Error(r.status + ' ' + (j.error || r.statusText));
      const a = j.alarm;
      upsert(a);
      const kv = el('dl', 'al-kv');
      for (const [k, v] of [['sensor', a.sensor_id], ['metric', a.metric], ['kind', a.kind],
        ['severity', a.severity], ['state', a.state], ['count', String(a.count)],
        ['opened', fmtDT(a.opened_at)], ['cleared', fmtDT(a.cleared_at)],
        ['acked', a.acked ? 'by ' + (a.acked_by || '?') : 'no'], ['muted until', fmtDT(a.muted_until)],
        ['peak', a.peak_value + ' (score ' + a.peak_score + ')'], ['explanation', a.explanation || '–'], ['id', a.id]])
        kv.append(el('dt', '', k), el('dd', '', v));
      const chart = button('Show on the chart', 'chart', () => { d.close(); showOnChart(a); });
      const acts = (j.actions || []).map((x) => [x.event, fmtDT(x.at), x.by || '–', x.note || '', proofCell(x.proof)]);
      const anoms = (j.anomalies || []).map((x) => [fmtDT(x.at), String(x.value), (+x.score).toFixed(2), x.id]);
      box.replaceChildren(kv, chart, el('h3', '', 'Actions'),
        acts.length ? table(['event', 'at', 'by', 'note', 'proof'], acts) : el('p', 'muted', 'none yet'),
        el('h3', '', 'Anomalies'), table(['at', 'value', 'score', 'id'], anoms));
      box.querySelector('table') && box.querySelector('table').classList.add('al-actions-table');
    } catch (e) {
      box.replaceChildren(el('p', 'result err', 'could not load the alarm: ' + e.message));
    }
  }

  function showOnChart(a) {
    if (a.metric !== 'all' && app.setMetric) app.setMetric(a.metric);
    app.setSensorFilter(a.sensor_id);
    const card = document.querySelector('.chart-card[data-sensor="' + CSS.escape(a.sensor_id) + '"]');
    if (card) card.scrollIntoView({block: 'nearest'});
  }

  /* ---- the chart's alarm spans and expected band ----------------------- */

  // uPlot drawAxes hook: under the series, clipped to the plot area.
  function drawChart(u, sensor, metric) {
    const ctx = u.ctx, b = u.bbox;
    let spans = 0, bands = 0;
    ctx.save();
    ctx.beginPath();
    ctx.rect(b.left, b.top, b.width, b.height);
    ctx.clip();
    for (const a of st.alarms.values()) {
      if (a.sensor_id !== sensor || (a.metric !== metric && a.metric !== 'all') || !a.opened_at) continue;
      const x0 = u.valToPos(a.opened_at / 1000, 'x', true);
      const x1 = u.valToPos((a.cleared_at || Date.now()) / 1000, 'x', true);
      if (x1 < b.left || x0 > b.left + b.width) continue;
      ctx.fillStyle = a.state === 'active' ? 'rgba(239, 68, 68, 0.16)' : 'rgba(148, 163, 184, 0.14)';
      ctx.fillRect(x0, b.top, Math.max(3, x1 - x0), b.height);
      spans++;
    }
    // The expected range each anomaly carried, held until the next one.
    const ser = app.state.series.get(sensor);
    const an = ser ? ser.anomalies.filter((x) => x.metric === metric && Number.isFinite(x.lo) && Number.isFinite(x.hi)) : [];
    ctx.fillStyle = 'rgba(56, 189, 248, 0.15)';
    for (let i = 0; i < an.length; i++) {
      const x0 = u.valToPos(an[i].ts, 'x', true);
      const x1 = i + 1 < an.length ? u.valToPos(an[i + 1].ts, 'x', true) : x0 + 6;
      const y0 = u.valToPos(an[i].hi, 'y', true), y1 = u.valToPos(an[i].lo, 'y', true);
      ctx.fillRect(x0 - 3, y0, Math.max(6, x1 - x0), Math.max(1, y1 - y0));
      bands++;
    }
    ctx.restore();
    st.drawn[sensor] = {spans, bands};
  }

  // The chart's x range (s) widened to the alarm spans that overlap the
  // data or lie within 10 minutes of it: an alarm opened after the last
  // reading (the gateway's clock) still shows.
  function xRange(sensor, metric, min, max) {
    if (min === null || max === null || !Number.isFinite(min) || !Number.isFinite(max)) return [min, max];
    let lo = min, hi = max;
    for (const a of st.alarms.values()) {
      if (a.sensor_id !== sensor || (a.metric !== metric && a.metric !== 'all') || !a.opened_at) continue;
      const s0 = a.opened_at / 1000, s1 = (a.cleared_at || Date.now()) / 1000;
      if (s1 < min - 600 || s0 > max + 600) continue;
      lo = Math.min(lo, s0);
      hi = Math.max(hi, s1);
    }
    return [lo, hi];
  }

  // The chart's y range widened to the expected bands drawn on it.
  function yRange(sensor, metric, min, max) {
    const ser = app.state.series.get(sensor);
    if (!ser || min === null || max === null) return [min, max];
    for (const x of ser.anomalies) {
      if (x.metric !== metric || !Number.isFinite(x.lo) || !Number.isFinite(x.hi)) continue;
      min = Math.min(min, x.lo);
      max = Math.max(max, x.hi);
    }
    return [min, max];
  }

  /* ---- CSV -------------------------------------------------------------- */

  // RFC 4180: quote fields with a comma, quote or line break, doubling
  // quotes. A text starting with = + - @ gets a leading ' so a spreadsheet
  // does not run it as a formula.
  function csvField(v) {
    if (v === null || v === undefined) return '';
    let s = String(v);
    if (typeof v === 'string' && /^[=+\-@\t\r]/.test(s)) s = "'" + s;
    return /[",\r\n]/.test(s) ? '"' + s.replace(/"/g, '""') + '"' : s;
  }

  function csv(header, rows) {
    return [header, ...rows].map((r) => r.map(csvField).join(',')).join('\r\n') + '\r\n';
  }

  function download(name, text) {
    const url = URL.createObjectURL(new Blob([text], {type: 'text/csv;charset=utf-8'}));
    const a = el('a');
    a.href = url;
    a.download = name;
    document.body.append(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(url), 5000);
  }

  const stamp = () => new Date().toISOString().replace(/[:.]/g, '-').slice(0, 19);

  function exportAlarms() {
    const list = st.view === 'active' ? activeSorted() : st.hist.map((id) => st.alarms.get(id)).filter(Boolean);
    const cols = ['id', 'sensor_id', 'metric', 'kind', 'severity', 'state', 'acked', 'acked_by', 'muted_until',
      'opened_at', 'cleared_at', 'count', 'peak_value', 'peak_score', 'last_anomaly_id', 'false_positive', 'explanation'];
    const times = new Set(['muted_until', 'opened_at', 'cleared_at']);
    download('alarms-' + st.view + '-' + stamp() + '.csv',
      csv(cols, list.map((a) => cols.map((k) => (times.has(k) ? iso(a[k]) : a[k])))));
  }

  function exportAnomalies() {
    const cols = ['id', 'sensor_id', 'metric', 'type', 'ts', 'value', 'score', 'expected_low', 'expected_high',
      'explanation', 'tx_hash', 'block_number'];
    const items = [...app.state.feed.values()].map((it) => it.a).sort((x, y) => x.ts - y.ts);
    download('anomalies-' + stamp() + '.csv', csv(cols, items.map((a) =>
      cols.map((k) => (k === 'ts' ? iso(a.ts * 1000) : a[k])))));
  }

  /* ---- wiring ------------------------------------------------------------ */

  function setView(v) {
    st.view = v;
    st.shown = PAGE;
    if (v === 'active') { st.hist = []; st.histCursor = null; queueRender(); } else loadHistory(false);
  }

  function attach(a) {
    app = a;
    $('al-user').value = localStorage.getItem('gw-user') || '';
    $('al-user').addEventListener('change', (e) => localStorage.setItem('gw-user', e.target.value.trim()));
    $('al-view').addEventListener('change', (e) => setView(e.target.value));
    $('al-apply').addEventListener('click', () => loadHistory(false));
    $('al-older').addEventListener('click', () => loadHistory(true));
    $('al-more').addEventListener('click', () => { st.shown += PAGE; queueRender(); });
    $('al-csv').addEventListener('click', exportAlarms);
    $('an-csv').addEventListener('click', exportAnomalies);
    $('al-detail-close').addEventListener('click', () => $('al-detail').close());
    $('al-ask-cancel').addEventListener('click', () => $('al-ask').close('cancel'));
    // Muted-until passes: refresh the column once a minute.
    setInterval(queueRender, 60000);
    loadActive();
    queueRender();
  }

  return {attach, onAlarm, drawChart, xRange, yRange, loadActive, proofCell, csvField, state: st};
})();
