/*
 * Dashboard: the "Notifications" panel (issue #18). The notifier's channels
 * as it reports them (GET api/notify/channels, polled every few seconds):
 * name and type, sent / failed / retried / queued, the last delivery, the
 * last failure with its reason; a "Send test" button per channel
 * (POST api/notify/test with the token of the "Access token" field, like
 * every write). Network values go in with textContent, never as HTML.
 */
'use strict';
(() => {
  const POLL_MS = 3000;
  const $ = (id) => document.getElementById(id);
  const el = (tag, cls, text) => {
    const e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined) e.textContent = text;
    return e;
  };
  const fmtWhen = (ms) => (typeof ms === 'number' ? new Date(ms).toLocaleTimeString([], {hour12: false}) : 'never');
  const rows = new Map(); // "instance/name" -> {tr, cells}
  let timer = null;

  function cell(tr, cls) {
    const td = el('td', cls);
    tr.append(td);
    return td;
  }

  function rowFor(ch) {
    const key = ch.instance + '/' + ch.name;
    let r = rows.get(key);
    if (r) return r;
    const tr = el('tr');
    tr.dataset.channel = ch.name;
    tr.dataset.instance = ch.instance;
    const name = cell(tr, 'nt-name');
    const counts = {sent: cell(tr, 'num nt-sent'), failed: cell(tr, 'num nt-failed'),
      retried: cell(tr, 'num nt-retried'), queued: cell(tr, 'num nt-queued')};
    const last = cell(tr, 'nt-last');
    const failure = cell(tr, 'nt-failure');
    const act = cell(tr, 'nt-act');
    const btn = el('button', 'nt-test', 'Send test');
    btn.type = 'button';
    btn.setAttribute('aria-label', 'Send a test message on ' + ch.name);
    btn.addEventListener('click', () => sendTest(ch.name, btn));
    act.append(btn);
    r = {tr, name, counts, last, failure, btn};
    rows.set(key, r);
    $('nt-rows').append(tr);
    return r;
  }

  function render(doc) {
    const seen = new Set();
    for (const ch of doc.channels || []) {
      const r = rowFor(ch);
      seen.add(ch.instance + '/' + ch.name);
      r.name.textContent = '';
      r.name.append(el('strong', '', ch.name), el('span', 'muted nt-type', ' ' + ch.type));
      r.counts.sent.textContent = String(ch.sent_total);
      r.counts.failed.textContent = String(ch.failed_total);
      r.counts.retried.textContent = String(ch.retried_total);
      r.counts.queued.textContent = String(ch.queued);
      r.last.textContent = fmtWhen(ch.last_sent_at);
      r.failure.textContent = ch.last_failure_at ? fmtWhen(ch.last_failure_at) + ' · ' + (ch.last_failure || '') : '–';
      r.tr.classList.toggle('failing', !!ch.failing);
      r.tr.title = ch.failing ? 'the last attempt failed' : '';
    }
    for (const [key, r] of rows) {
      if (!seen.has(key)) { r.tr.remove(); rows.delete(key); }
    }
    $('nt-empty').hidden = rows.size > 0;
    $('nt-table').hidden = rows.size === 0;
    $('nt-count').textContent = String(rows.size);
  }

  async function refresh() {
    try {
      const r = await fetch('api/notify/channels', {cache: 'no-store'});
      if (r.ok) render(await r.json());
    } catch (e) {
      /* the gateway is away: the connection pill says so; try again later */
    }
  }

  async function sendTest(name, btn) {
    const out = $('nt-result');
    const headers = {'Content-Type': 'application/json'};
    const token = $('f-token') ? $('f-token').value : '';
    if (token) headers.Authorization = 'Bearer ' + token;
    btn.disabled = true;
    out.textContent = 'sending a test to ' + name + '…';
    try {
      const r = await fetch('api/notify/test', {method: 'POST', headers, body: JSON.stringify({channel: name})});
      const body = await r.json().catch(() => ({}));
      out.textContent = r.ok ? 'test sent to ' + name + ' (the notifier delivers it like any message)'
        : 'test refused: ' + (body.error || 'HTTP ' + r.status) + (r.status === 401 ? ' (set the access token above)' : '');
      out.dataset.state = r.ok ? 'ok' : 'bad';
    } catch (e) {
      out.textContent = 'test not sent: ' + e.message;
      out.dataset.state = 'bad';
    } finally {
      btn.disabled = false;
      setTimeout(refresh, 800);
    }
  }

  function start() {
    if (!$('nt-rows')) return;
    refresh();
    timer = setInterval(refresh, POLL_MS);
  }
  window.__notifyPanel = {refresh, rows, stop: () => clearInterval(timer)};
  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', start);
  else start();
})();
