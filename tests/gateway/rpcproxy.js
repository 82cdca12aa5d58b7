#!/usr/bin/env node
// A JSON-RPC proxy for tests: forwards every request to UPSTREAM, except
// calls whose method is in FAIL_METHODS (comma-separated), which get a
// JSON-RPC error, as a node that refuses or cannot serve that call would.
// usage: rpcproxy.js PORT UPSTREAM_URL FAIL_METHODS
'use strict';
const http = require('http');

const [port, upstream, failList] = process.argv.slice(2);
const fail = new Set((failList || '').split(',').filter(Boolean));
const up = new URL(upstream);

http.createServer((req, res) => {
  const chunks = [];
  req.on('data', (c) => chunks.push(c));
  req.on('end', () => {
    const body = Buffer.concat(chunks);
    let msg = null;
    try { msg = JSON.parse(body); } catch (e) { /* forwarded as is */ }
    if (msg && !Array.isArray(msg) && fail.has(msg.method)) {
      res.writeHead(200, {'Content-Type': 'application/json'});
      res.end(JSON.stringify({jsonrpc: '2.0', id: msg.id, error: {code: -32000, message: 'injected failure of ' + msg.method}}));
      return;
    }
    const fwd = http.request({host: up.hostname, port: up.port, path: up.pathname, method: 'POST',
      headers: {'Content-Type': 'application/json', 'Content-Length': body.length}}, (ur) => {
      res.writeHead(ur.statusCode, {'Content-Type': 'application/json'});
      ur.pipe(res);
    });
    fwd.on('error', () => { res.writeHead(502); res.end(); });
    fwd.end(body);
  });
}).on('error', (e) => {
  console.error('rpcproxy: ' + e.message);
  process.exit(1);
}).listen(+port, '127.0.0.1', () => console.log('rpcproxy listening on ' + port));
