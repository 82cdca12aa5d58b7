#!/usr/bin/env node
// WebSocket test client for the gateway's /ws (uses `ws` from tools/).
//   collect URL N TIMEOUT_S [SUBSCRIBE_JSON] [READY_FILE] [ORIGIN]
//       print every message (one JSON per line) until N messages of the
//       kinds anomaly/reading/logged arrived; exit 0, or 1 on timeout/close.
//       With SUBSCRIBE_JSON, waits for the "subscribed" answer before
//       counting and touching READY_FILE.
//   send URL PAYLOAD TIMEOUT_S     send PAYLOAD, print the first reply or
//       "close <code>" when the server closes.
//   open URL ORIGIN                print "open" or "refused".
//   slow HOST PORT READY_FILE      a raw TCP client: WebSocket handshake, then
//       never reads, so the server's writes back up.
'use strict';
const path = require('path');
const fs = require('fs');
const net = require('net');
const WebSocket = require(path.join(__dirname, '../../tools/node_modules/ws'));

const [mode, ...args] = process.argv.slice(2);

function touch(f) { if (f) fs.writeFileSync(f, 'ready\n'); }

if (mode === 'collect') {
  const [url, n, timeout, sub, ready, origin] = args;
  const want = Number(n);
  let got = 0;
  const ws = new WebSocket(url, origin ? {origin} : {});
  const t = setTimeout(() => { console.error(`timeout: ${got}/${want}`); process.exit(1); }, Number(timeout) * 1000);
  ws.on('open', () => {
    if (sub && sub !== '-') ws.send(sub); else touch(ready);
  });
  ws.on('message', (d) => {
    const m = JSON.parse(d.toString());
    if (m.type === 'subscribed') { touch(ready); return; }
    if (m.type === 'error') { console.error('error message: ' + JSON.stringify(m)); process.exit(1); }
    console.log(JSON.stringify(m));
    if (++got >= want) { clearTimeout(t); ws.close(); process.exit(0); }
  });
  ws.on('close', (c) => { console.error(`closed ${c} after ${got}/${want}`); process.exit(1); });
  ws.on('error', (e) => { console.error('error ' + e.message); process.exit(1); });
} else if (mode === 'send') {
  const [url, payload, timeout] = args;
  const ws = new WebSocket(url);
  setTimeout(() => { console.log('timeout'); process.exit(1); }, Number(timeout || 5) * 1000);
  ws.on('open', () => ws.send(payload));
  ws.on('message', (d) => {
    const m = JSON.parse(d.toString());
    if (m.type === 'subscribed' || m.type === 'error') { console.log(JSON.stringify(m)); process.exit(0); }
  });
  ws.on('close', (c) => { console.log('close ' + c); process.exit(0); });
  ws.on('error', (e) => { console.log('error ' + e.message); });
} else if (mode === 'open') {
  const [url, origin] = args;
  const ws = new WebSocket(url, origin ? {origin} : {});
  setTimeout(() => { console.log('timeout'); process.exit(1); }, 5000);
  ws.on('open', () => { console.log('open'); process.exit(0); });
  ws.on('error', () => { console.log('refused'); process.exit(0); });
  ws.on('unexpected-response', () => { console.log('refused'); process.exit(0); });
} else if (mode === 'slow') {
  const [host, port, ready] = args;
  const s = net.connect(Number(port), host, () => {
    s.write(`GET /ws HTTP/1.1\r\nHost: ${host}:${port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
            'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n');
  });
  s.setNoDelay(true);
  // Read only the handshake answer, then stop reading for good.
  s.once('data', (d) => {
    if (!d.toString().startsWith('HTTP/1.1 101')) { console.error('no upgrade'); process.exit(1); }
    s.pause();
    touch(ready);
  });
  s.on('close', () => { console.log('closed'); process.exit(0); });
  setInterval(() => {}, 1000);
} else {
  console.error('usage: wsclient.js collect|send|open|slow ...');
  process.exit(2);
}
