#!/usr/bin/env node
// A dashboard stand-in for bench/pipeline.sh: one WebSocket client on the
// gateway's /ws that parses every message as a browser would (JSON.parse)
// and, on SIGTERM, prints how many of each type it got and whether the
// gateway closed it (a slow client is cut off).
//   dashclient.js URL READY_FILE
'use strict';
const path = require('path');
const fs = require('fs');
const WebSocket = require(path.join(__dirname, '../../tools/node_modules/ws'));
const [url, ready] = process.argv.slice(2);
const counts = {};
let closed = 0;
const ws = new WebSocket(url);
ws.on('open', () => fs.writeFileSync(ready, 'ready\n'));
ws.on('message', (d) => {
  const m = JSON.parse(d.toString());
  counts[m.type] = (counts[m.type] || 0) + 1;
});
ws.on('close', () => { closed = 1; });
ws.on('error', (e) => { console.error('error ' + e.message); });
process.on('SIGTERM', () => {
  for (const k of Object.keys(counts)) console.log(`${k} ${counts[k]}`);
  console.log(`closed ${closed}`);
  process.exit(0);
});
