// WebSocket keepalive against the gateway: a well-behaved client (ws answers
// pings with pongs) is pinged and stays connected; a client that completes
// the handshake and then never answers is hung up on.
// usage: node keepalive.js PORT PING_S HANGUP_S
const net = require('net');
const path = require('path');
const WebSocket = require(path.join(__dirname, '../../tools/node_modules/ws'));
const [port, pingS, hangupS] = process.argv.slice(2).map(Number);
const waitMs = (hangupS + 3) * 1000;
let pings = 0, goodClosed = false, silentClosedAt = 0;
const t0 = Date.now();

const good = new WebSocket(`ws://127.0.0.1:${port}/ws`);
good.on('ping', () => { pings++; });
good.on('close', () => { goodClosed = true; });
good.on('error', (e) => { console.error('good client:', e.message); process.exit(1); });

const silent = net.connect(port, '127.0.0.1', () => {
  silent.write('GET /ws HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n' +
               'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n');
});
let head = '';
silent.on('data', (d) => { head += d.toString('latin1'); }); // read, never answer
silent.on('close', () => { silentClosedAt = Date.now(); });

setTimeout(() => {
  const res = { pings, goodClosed, silentClosedAfterS: silentClosedAt ? (silentClosedAt - t0) / 1000 : null,
                upgraded: head.startsWith('HTTP/1.1 101') };
  console.log(JSON.stringify(res));
  const ok = res.upgraded && pings >= 2 && !goodClosed && silentClosedAt &&
             res.silentClosedAfterS >= pingS && res.silentClosedAfterS <= hangupS + 2.5;
  good.close();
  process.exit(ok ? 0 : 1);
}, waitMs);
