// N WebSocket clients of the gateway that reconnect with backoff, for the
// fault tests: when the gateway dies or restarts, each client sees its
// connection close (or fail), waits 100 ms x 2^attempt (at most 2 s, with
// jitter so 100 clients do not knock at the same instant) and tries again.
//
// usage: node ws_clients.js URL N STATUS_FILE
//
// Every 200 ms STATUS_FILE is rewritten (via a temporary file and rename, so
// a reader never sees half of it) with
//   {"clients":N,"connected":k,"opens":[per-client successful opens],
//    "closes":c,"errors":e,"messages":m,"last_message_ms":t}
// A client that has been connected before and opens again has reconnected;
// the test compares `opens` before and after a restart. Runs until killed.
'use strict';
const fs = require('fs');
const path = require('path');
const WebSocket = require(path.join(__dirname, '../../tools/node_modules/ws'));

const [url, nArg, statusFile] = process.argv.slice(2);
const n = Number(nArg);
if (!url || !(n > 0) || !statusFile) {
  console.error('usage: node ws_clients.js URL N STATUS_FILE');
  process.exit(2);
}

const opens = new Array(n).fill(0);
const live = new Array(n).fill(false);
let closes = 0, errors = 0, messages = 0, lastMessage = 0;

function connect(i, attempt) {
  const ws = new WebSocket(url, { handshakeTimeout: 3000 });
  let retried = false;
  const retry = () => {
    if (retried) return;
    retried = true;
    live[i] = false;
    const base = Math.min(2000, 100 * 2 ** Math.min(attempt, 5));
    setTimeout(() => connect(i, attempt + 1), base / 2 + Math.random() * base / 2);
  };
  ws.on('open', () => {
    opens[i]++;
    live[i] = true;
    attempt = 0; // a good connection resets the backoff
  });
  ws.on('message', () => { messages++; lastMessage = Date.now(); });
  ws.on('close', () => { closes++; retry(); });
  ws.on('error', () => { errors++; retry(); });
}

function writeStatus() {
  const st = {
    clients: n,
    connected: live.filter(Boolean).length,
    opens,
    closes,
    errors,
    messages,
    last_message_ms: lastMessage,
  };
  const tmp = statusFile + '.tmp';
  fs.writeFileSync(tmp, JSON.stringify(st));
  fs.renameSync(tmp, statusFile);
}

for (let i = 0; i < n; i++) setTimeout(() => connect(i, 0), i * 5);
setInterval(writeStatus, 200);
process.on('SIGTERM', () => { writeStatus(); process.exit(0); });
