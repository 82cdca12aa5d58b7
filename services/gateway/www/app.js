/*
 * Dashboard: live anomaly feed, per-sensor charts (uPlot), sensor list,
 * filters, manual reading form. Data comes from the gateway only:
 *   REST  /api/sensors, /api/sensors/{id}/readings, /api/anomalies, /api/chain, /metrics
 *   WS    /ws  {"type": "anomaly" | "reading" | "logged" | "alarm", "data": {...}}
 * The alarms panel lives in alarms.js (window.__alarms), attached in init().
 * Every value from the network is put in the page with textContent, never
 * as HTML, so a sensor id or an explanation cannot inject markup.
 */
'use strict';
(() => {
  const MAX_POINTS = 600;   // per sensor, per chart
  const MAX_FEED = 200;     // anomalies kept in the feed
  const MAX_CHARTS = 6;     // charts shown when no sensor is selected

  const $ = (id) => document.getElementById(id);
  const el = (tag, cls, text) => {
    const e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined) e.textContent = text;
    return e;
  };

  const state = {
    sensors: new Map(),   // id -> {id, status, last, el}
    series: new Map(),    // id -> {points: [{ts, m}], anomalies: [{ts, metric, value}], chart}
    feed: new Map(),      // anomaly id -> {a, li}
    logged: new Map(),    // anomaly id -> confirmation that came before the anomaly
    metric: 'temperature',
    filterSensor: '',
    filterType: '',
    ws: null,
    retry: 0,
    dirty: new Set(),
  };
  window.__dashboard = state; // for tests and the curious

  // Local date and time (an anomaly from yesterday must not read as today's).
  const fmtTime = (ts) => {
    const d = new Date(ts * 1000), p = (n) => String(n).padStart(2, '0');
    return d.getFullYear() + '-' + p(d.getMonth() + 1) + '-' + p(d.getDate()) + ' ' +
      p(d.getHours()) + ':' + p(d.getMinutes()) + ':' + p(d.getSeconds());
  };
  const fmtNum = (v) => (typeof v === 'number' ? (Math.abs(v) >= 1000 ? v.toFixed(0) : +v.toFixed(2)) : '–');
  const short = (h) => (h && h.length > 14 ? h.slice(0, 8) + '…' + h.slice(-4) : h || '');

  async function getJSON(path) {
    const r = await fetch(path, {cache: 'no-store'});
    if (!r.ok) throw new Error(path + ': HTTP ' + r.status);
    return r.json();
  }

  /* ---- sensors -------------------------------------------------------- */

  function sensorEntry(id) {
    let s = state.sensors.get(id);
    if (s) return s;
    const li = el('li');
    li.dataset.sensor = id;
    const dot = el('span', 'dot');
    const name = el('span', 'sensor-name', id);
    const val = el('span', 'sensor-val', '');
    const tag = el('span', 'sensor-tag', 'silent');
    tag.hidden = true;
    li.append(dot, name, tag, val);
    li.addEventListener('click', () => setSensorFilter(state.filterSensor === id ? '' : id));
    s = {id, status: 'unknown', last: null, li, dot, val, tag, silent: false};
    state.sensors.set(id, s);
    const list = $('sensor-list');
    const after = [...list.children].find((c) => c.dataset.sensor > id);
    list.insertBefore(li, after || null);
    const opt = el('option', '', id);
    opt.value = id;
    const sel = $('filter-sensor');
    const optAfter = [...sel.options].slice(1).find((o) => o.value > id);
    sel.insertBefore(opt, optAfter || null);
    $('sensor-count').textContent = String(state.sensors.size);
    return s;
  }

  function renderSensor(s) {
    s.dot.className = 'dot ' + (s.silent ? 'silent' : s.status);
    s.li.title = s.silent ? 'silent: an active silent alarm (no readings when expected)' : s.status;
    s.li.classList.toggle('silent', !!s.silent);
    s.tag.hidden = !s.silent;
    const v = s.last && s.last[state.metric];
    s.val.textContent = typeof v === 'number' ? fmtNum(v) : '';
    s.li.classList.toggle('selected', state.filterSensor === s.id);
  }

  async function loadSensors() {
    try {
      const j = await getJSON('/api/sensors');
      for (const x of j.sensors) {
        const s = sensorEntry(x.sensor_id);
        s.status = x.status;
        s.last = x.last_reading;
        renderSensor(s);
        // A series an anomaly created first (feed snapshot) has no history yet.
        const sr = state.series.get(x.sensor_id);
        if ((!sr || !sr.history) && x.readings > 0) loadHistory(x.sensor_id);
      }
    } catch (e) { /* the next refresh retries */ }
  }

  /* ---- charts --------------------------------------------------------- */

  function seriesOf(id) {
    let s = state.series.get(id);
    if (!s) {
      s = {points: [], anomalies: [], chart: null, card: null};
      state.series.set(id, s);
    }
    return s;
  }

  async function loadHistory(id) {
    const s = seriesOf(id);
    s.history = true; // asked once; live readings keep it current
    try {
      const j = await getJSON('/api/sensors/' + encodeURIComponent(id) + '/readings?limit=' + MAX_POINTS);
      const names = Object.keys(j.metrics);
      const pts = j.ts.map((ts, i) => {
        const m = {};
        for (const n of names) if (j.metrics[n][i] !== null) m[n] = j.metrics[n][i];
        return {ts, m};
      });
      // Keep live points that arrived while loading.
      const lastTs = pts.length ? pts[pts.length - 1].ts : -Infinity;
      s.points = pts.concat(s.points.filter((p) => p.ts > lastTs)).slice(-MAX_POINTS);
      markDirty(id);
    } catch (e) { /* shown when live readings arrive */ }
  }

  function visibleSensors() {
    if (state.filterSensor) return [state.filterSensor];
    return [...state.series.keys()].sort().slice(0, MAX_CHARTS);
  }

  function chartData(s) {
    const metric = state.metric;
    const xs = [], ys = [], as = [];
    for (const p of s.points) {
      xs.push(p.ts);
      ys.push(p.m[metric] === undefined ? null : p.m[metric]);
      as.push(null);
    }
    for (const a of s.anomalies) {
      if (a.metric !== metric) continue;
      let i = xs.length - 1;
      while (i >= 0 && xs[i] > a.ts + 1e-3) i--;
      if (i >= 0 && Math.abs(xs[i] - a.ts) < 1e-3) {
        as[i] = a.value;
      } else {
        xs.splice(i + 1, 0, a.ts); ys.splice(i + 1, 0, null); as.splice(i + 1, 0, a.value);
      }
    }
    return [xs, ys, as];
  }

  function makeChart(id, s) {
    const card = el('div', 'chart-card');
    card.dataset.sensor = id;
    const h = el('h3');
    h.append(el('span', '', id), el('span', 'muted', state.metric));
    card.append(h);
    const width = Math.max(260, ($('chart-grid').clientWidth || 600) - 20);
    const opts = {
      width: Math.min(width, 640), height: 190,
      cursor: {drag: {x: false, y: false}},
      legend: {show: true},
      // One point would span years: give it a minute either side.
      // An alarm span near the data widens it (alarms.js xRange).
      scales: {x: {time: true, range: (u, min, max) => {
        if (u.data[0].length === 1) max = min; // uPlot makes one point 86400 / 1e-3 s wide
        if (window.__alarms) [min, max] = window.__alarms.xRange(id, state.metric, min, max);
        return min === max ? [min - 60, max + 60] : [min, max];
      }},
      // ... and the y range to the expected band of its anomalies.
      y: {range: (u, min, max) => {
        if (window.__alarms) [min, max] = window.__alarms.yRange(id, state.metric, min, max);
        const pad = (max - min) * 0.08 || Math.abs(max) * 0.05 || 1;
        return [min - pad, max + pad];
      }}},
      axes: [
        {stroke: '#8a9ab5', grid: {stroke: '#23314f'}, ticks: {stroke: '#23314f'}},
        {stroke: '#8a9ab5', grid: {stroke: '#23314f'}, ticks: {stroke: '#23314f'}, size: 50},
      ],
      series: [
        {},
        // Few points: draw them, so a single reading is visible too.
        {label: state.metric, stroke: '#38bdf8', width: 1.5, spanGaps: true,
         points: {show: (u) => u.data[0].length < 60, size: 5, fill: '#38bdf8'}},
        {label: 'anomaly', stroke: '#ef4444', width: 0, paths: () => null,
         points: {show: true, size: 9, fill: '#ef4444', stroke: '#fecaca'}},
      ],
    };
    // Alarm spans and expected bands (alarms.js), under the series.
    opts.hooks = {drawAxes: [(u) => { if (window.__alarms) window.__alarms.drawChart(u, id, state.metric); }]};
    s.chart = new uPlot(opts, chartData(s), card);
    s.card = card;
    return card;
  }

  function layoutCharts() {
    const grid = $('chart-grid');
    const want = visibleSensors().filter((id) => state.series.has(id));
    for (const [id, s] of state.series) {
      if (s.card && !want.includes(id)) {
        s.chart.destroy(); s.chart = null; s.card.remove(); s.card = null;
      }
    }
    for (const id of want) {
      const s = state.series.get(id);
      if (!s.card) grid.append(makeChart(id, s));
    }
    $('charts-empty').hidden = want.length > 0;
  }

  function markDirty(id) {
    state.dirty.add(id);
    if (state.dirty.size === 1) requestAnimationFrame(flushCharts);
  }

  function flushCharts() {
    layoutCharts();
    for (const id of state.dirty) {
      const s = state.series.get(id);
      if (s && s.chart) s.chart.setData(chartData(s));
    }
    state.dirty.clear();
  }

  function rebuildCharts() {
    for (const s of state.series.values()) {
      if (s.chart) { s.chart.destroy(); s.chart = null; s.card.remove(); s.card = null; }
    }
    layoutCharts();
  }

  function resizeCharts() {
    const width = Math.min(640, Math.max(260, $('chart-grid').clientWidth - 20));
    for (const s of state.series.values()) {
      if (s.chart) s.chart.setSize({width: Math.min(width, s.card.clientWidth - 16 || width), height: 190});
    }
  }

  /* ---- live messages -------------------------------------------------- */

  function onReading(r) {
    const s = sensorEntry(r.sensor_id);
    const m = {};
    for (const [k, v] of Object.entries(r)) if (k !== 'sensor_id' && k !== 'ts' && typeof v === 'number') m[k] = v;
    s.last = Object.assign({ts: r.ts}, m);
    if (s.status !== 'anomalous') s.status = 'ok';
    renderSensor(s);
    const ser = seriesOf(r.sensor_id);
    ser.points.push({ts: r.ts, m});
    if (ser.points.length > MAX_POINTS) ser.points.splice(0, ser.points.length - MAX_POINTS);
    markDirty(r.sensor_id);
  }

  function feedVisible(a) {
    return (!state.filterSensor || a.sensor_id === state.filterSensor) &&
           (!state.filterType || a.type === state.filterType);
  }

  function confirmItem(item, c) {
    item.a.tx_hash = c.tx_hash;
    item.a.block_number = c.block_number;
    item.li.classList.add('confirmed');
    item.state.className = 'state confirmed';
    item.state.textContent = 'on chain';
    item.link.hidden = false;
    item.link.textContent = 'tx ' + short(c.tx_hash);
    item.link.title = c.tx_hash;
    item.block.hidden = false;
    item.block.textContent = 'block ' + c.block_number;
  }

  function onAnomaly(a) {
    let item = state.feed.get(a.id);
    if (!item) {
      const li = el('li', 'feed-item t-' + a.type);
      li.dataset.id = a.id;
      li.dataset.sensor = a.sensor_id;
      li.dataset.type = a.type;
      const line1 = el('div', 'line1');
      line1.append(el('span', 'who', a.sensor_id + ' · ' + a.metric), el('span', 'when', fmtTime(a.ts)));
      const expl = el('p', 'expl', a.explanation || (a.metric + ' = ' + fmtNum(a.value)));
      const meta = el('div', 'meta');
      const st = el('span', 'state pending', 'pending chain confirmation');
      const link = el('a', 'tx');
      link.href = '/api/anomalies/' + a.id;
      link.hidden = true;
      link.addEventListener('click', (ev) => { ev.preventDefault(); showProof(a.id); });
      const block = el('span', 'block');
      block.hidden = true;
      const badge = el('span', 'badge');
      badge.hidden = true;
      meta.append(el('span', 'tag ' + a.type, a.type.replace('_', ' ')),
        el('span', '', 'value ' + fmtNum(a.value)), el('span', '', 'score ' + (+a.score).toFixed(2)),
        st, link, block, badge);
      li.append(line1, expl, meta);
      item = {a, li, state: st, link, block, badge};
      state.feed.set(a.id, item);
      li.hidden = !feedVisible(a);
      $('feed').prepend(li);
      while (state.feed.size > MAX_FEED) {
        const oldest = $('feed').lastElementChild;
        state.feed.delete(oldest.dataset.id);
        oldest.remove();
      }
      $('feed-empty').hidden = true;
      const ser = seriesOf(a.sensor_id);
      ser.anomalies.push({ts: a.ts, metric: a.metric, value: a.value, lo: a.expected_low, hi: a.expected_high});
      if (ser.anomalies.length > 200) ser.anomalies.shift();
      markDirty(a.sensor_id);
      const s = sensorEntry(a.sensor_id);
      if (Date.now() / 1000 - a.ts < 60) { s.status = 'anomalous'; renderSensor(s); }
    }
    const c = a.tx_hash ? a : state.logged.get(a.id);
    if (c) { confirmItem(item, c); state.logged.delete(a.id); }
  }

  let chainRefresh = null;
  function onLogged(c) {
    if (!chainRefresh) chainRefresh = setTimeout(() => { chainRefresh = null; loadChain(); }, 1000);
    const item = state.feed.get(c.id);
    if (item) confirmItem(item, c);
    else {
      state.logged.set(c.id, c);
      if (state.logged.size > 1000) state.logged.delete(state.logged.keys().next().value);
    }
  }

  /* ---- WebSocket with automatic reconnect ------------------------------ */

  function setConn(ok, text) {
    const c = $('conn');
    c.className = 'pill ' + (ok ? 'pill-ok' : 'pill-bad');
    c.dataset.state = ok ? 'live' : 'down';
    c.textContent = text;
  }

  function connect() {
    const url = (location.protocol === 'https:' ? 'wss://' : 'ws://') + location.host + '/ws';
    let ws;
    try { ws = new WebSocket(url); } catch (e) { scheduleReconnect(); return; }
    state.ws = ws;
    ws.onopen = () => {
      state.retry = 0;
      setConn(true, 'live');
      // Alarms too; subscribing to them sends the active ones first.
      ws.send(JSON.stringify({subscribe: {sensors: null, types: ['anomaly', 'reading', 'logged', 'alarm']}}));
      if (window.__alarms) window.__alarms.loadActive();
    };
    ws.onmessage = (ev) => {
      let msg;
      try { msg = JSON.parse(ev.data); } catch (e) { return; }
      if (!msg || !msg.data) return;
      if (msg.type === 'reading') onReading(msg.data);
      else if (msg.type === 'anomaly') onAnomaly(msg.data);
      else if (msg.type === 'logged') onLogged(msg.data);
      else if (msg.type === 'alarm' && window.__alarms) window.__alarms.onAlarm(msg.data);
    };
    ws.onclose = () => { state.ws = null; scheduleReconnect(); };
    ws.onerror = () => { /* onclose follows */ };
  }

  function scheduleReconnect() {
    const delay = Math.min(10000, 500 * Math.pow(2, state.retry++));
    setConn(false, 'reconnecting in ' + Math.round(delay / 1000) + ' s');
    setTimeout(connect, delay);
  }

  /* ---- chain, rates, proof -------------------------------------------- */

  async function loadChain() {
    try {
      const c = await getJSON('/api/chain');
      const p = $('chain');
      p.textContent = 'chain ' + c.chain_id + (c.contract ? ' · block ' + c.head + ' · ' + c.anomalies + ' on chain' : ' · no contract yet');
      p.title = c.contract ? 'contract ' + c.contract + (c.reachable ? '' : ' (unreachable)') : 'waiting for the contract';
      p.className = 'pill ' + (c.reachable ? 'pill-muted' : 'pill-bad');
    } catch (e) { /* retried */ }
  }

  // Rates from two scrapes of the counters (the gateway exports totals
  // only, as Prometheus expects; rate() does the same).
  let lastRates = null;
  async function loadRates() {
    try {
      const r = await fetch('/metrics', {cache: 'no-store'});
      const text = await r.text();
      const get = (name) => {
        const m = text.match(new RegExp('^' + name + ' ([0-9.eE+-]+)$', 'm'));
        return m ? +m[1] : 0;
      };
      const now = {t: performance.now() / 1000, readings: get('iotad_gateway_readings_total'),
        anomalies: get('iotad_gateway_anomalies_total')};
      const prev = lastRates;
      lastRates = now;
      if (!prev || now.t <= prev.t || now.readings < prev.readings) return; // first scrape or restart
      const dt = now.t - prev.t;
      $('rates').textContent = ((now.readings - prev.readings) / dt).toFixed(1) + ' readings/s · ' +
        ((now.anomalies - prev.anomalies) / dt).toFixed(2) + ' anomalies/s';
    } catch (e) { /* retried */ }
  }

  async function loadAnomalies() {
    try {
      const j = await getJSON('/api/anomalies?limit=50');
      for (const a of j.items.slice().reverse()) onAnomaly(a);
    } catch (e) { /* the WebSocket snapshot fills the feed too */ }
  }

  // The contract's own answer (GET /api/anomalies/{id} "onchain"): isLogged
  // of the id in its batch with the Merkle proof the gateway rebuilt.
  function onchainBadge(oc) {
    if (oc && oc.logged === true) {
      const lines = ['isLogged(id, batch ' + oc.batch + ', proof) = true at block ' + oc.checked_at_block,
        'leaf index ' + oc.index, 'root ' + oc.root, 'proof (' + oc.proof.length + (oc.proof.length === 1 ? ' node):' : ' nodes):')]
        .concat(oc.proof.length ? oc.proof : ['(none: a batch of one, the root is the id)']);
      return {cls: 'badge ok', state: 'verified', text: '✔ verified on chain · batch ' + oc.batch, title: lines.join('\n')};
    }
    if (oc && oc.logged === false)
      return {cls: 'badge bad', state: 'not-verified', text: '✘ not verified',
        title: 'the contract did not confirm this anomaly: ' + (oc.reason || 'isLogged returned false')};
    return {cls: 'badge unknown', state: 'unknown', text: 'on-chain check unavailable',
      title: oc && oc.error ? oc.error : 'the gateway could not ask the contract'};
  }

  function showOnchain(id, oc) {
    const b = onchainBadge(oc);
    for (const node of [$('proof-badge'), state.feed.has(id) ? state.feed.get(id).badge : null]) {
      if (!node) continue;
      node.className = b.cls;
      node.dataset.state = b.state;
      node.textContent = b.text;
      node.title = b.title;
      node.hidden = false;
    }
    $('proof-merkle').hidden = !(oc && oc.logged === true);
    if (oc && oc.logged === true) $('proof-merkle-body').textContent = b.title;
  }

  async function showProof(id) {
    $('proof-body').textContent = 'verifying…';
    $('proof-badge').hidden = true;
    $('proof-merkle').hidden = true;
    $('proof').hidden = false;
    try {
      let r, j;
      // A confirmation can arrive before the gateway has read its block:
      // wait a little for the chain cache to catch up.
      for (let i = 0; i < 20; i++) {
        r = await fetch('/api/anomalies/' + id, {cache: 'no-store'});
        j = await r.json();
        if (r.status !== 404) break;
        $('proof-body').textContent = 'waiting for the gateway to read the block…';
        await new Promise((ok) => setTimeout(ok, 500));
      }
      const head = j.verified === true ? '✔ verified against its transaction receipt\n\n'
        : (j.verification && j.verification.reason ? '✘ ' + j.verification.reason + '\n\n' : '');
      $('proof-body').textContent = head + JSON.stringify(j, null, 2);
      if (r.ok) showOnchain(id, j.onchain);
    } catch (e) {
      $('proof-body').textContent = 'could not load the proof: ' + e.message;
    }
  }

  /* ---- filters and form ----------------------------------------------- */

  function setSensorFilter(id) {
    state.filterSensor = id;
    $('filter-sensor').value = id;
    for (const s of state.sensors.values()) renderSensor(s);
    for (const it of state.feed.values()) it.li.hidden = !feedVisible(it.a);
    layoutCharts();
    for (const id2 of visibleSensors()) markDirty(id2);
  }

  async function submitReading(ev) {
    ev.preventDefault();
    const out = $('f-result');
    const body = {sensor_id: $('f-sensor').value.trim()};
    for (const [name, input] of [['temperature', 'f-temp'], ['humidity', 'f-hum'], ['pressure', 'f-press']]) {
      const v = $(input).value.trim();
      if (v !== '') body[name] = Number(v);
    }
    const headers = {'Content-Type': 'application/json'};
    const token = $('f-token').value;
    if (token) { headers.Authorization = 'Bearer ' + token; sessionStorage.setItem('gw-token', token); }
    out.className = 'result';
    out.textContent = 'sending…';
    try {
      const r = await fetch('/api/readings', {method: 'POST', headers, body: JSON.stringify(body)});
      const j = await r.json().catch(() => ({}));
      if (r.ok) {
        out.className = 'result ok';
        out.textContent = '✔ accepted: published to ' + (j.readings && j.readings[0] ? j.readings[0].topic : 'MQTT');
      } else {
        out.className = 'result err';
        out.textContent = '✘ ' + r.status + ': ' + (j.error || r.statusText);
      }
    } catch (e) {
      out.className = 'result err';
      out.textContent = '✘ ' + e.message;
    }
  }

  function setMetric(m) {
    if (![...$('metric').options].some((o) => o.value === m)) return;
    state.metric = m;
    $('metric').value = m;
    for (const s of state.sensors.values()) renderSensor(s);
    rebuildCharts();
    for (const id of visibleSensors()) markDirty(id);
  }

  function init() {
    $('f-token').value = sessionStorage.getItem('gw-token') || '';
    $('reading-form').addEventListener('submit', submitReading);
    $('metric').addEventListener('change', (e) => setMetric(e.target.value));
    $('filter-sensor').addEventListener('change', (e) => setSensorFilter(e.target.value));
    $('filter-type').addEventListener('change', (e) => {
      state.filterType = e.target.value;
      for (const it of state.feed.values()) it.li.hidden = !feedVisible(it.a);
    });
    $('proof-close').addEventListener('click', () => { $('proof').hidden = true; });
    $('proof').addEventListener('click', (e) => { if (e.target === $('proof')) $('proof').hidden = true; });
    let rt;
    window.addEventListener('resize', () => { clearTimeout(rt); rt = setTimeout(resizeCharts, 150); });
    if (window.__alarms) window.__alarms.attach({state, markDirty, sensorEntry, renderSensor, setSensorFilter, setMetric});
    connect();
    loadSensors();
    loadAnomalies();
    loadChain();
    loadRates();
    setInterval(loadSensors, 5000);
    setInterval(loadChain, 5000);
    setTimeout(loadRates, 1000); // a first rate after a second, then every 5 s
    setInterval(loadRates, 5000);
  }

  init();
})();
