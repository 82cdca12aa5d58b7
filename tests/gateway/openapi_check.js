#!/usr/bin/env node
// Call every operation of the gateway's OpenAPI document on a running
// gateway and check the answers fit it (tests/integration/gateway_openapi.sh).
// usage: openapi_check.js BASE_URL SPEC_FILE TOKEN VALUES_JSON
//   VALUES_JSON: {"param_name": "real value", ...} for path parameters.
// For each operation: path parameters from VALUES (else the parameter's
// example), the request body from its example, the token when it has
// security. Fails when an answer is 405, the router's own 404 ("no such
// endpoint" / "not found"), a status the operation does not document, or a
// content type it does not document; and, when every path parameter came
// from VALUES, when the answer is not 2xx (or 101 for a WebSocket).
// Prints one line per operation.
'use strict';
const http = require('http');
const fs = require('fs');

const [base, specFile, token, valuesJson] = process.argv.slice(2);
const values = JSON.parse(valuesJson || '{}');
const spec = JSON.parse(fs.readFileSync(specFile, 'utf8'));
const METHODS = ['get', 'put', 'post', 'delete', 'patch'];
const failures = [];

function request(method, path, headers, body) {
  return new Promise((resolve, reject) => {
    const req = http.request(base + path, {method: method.toUpperCase(), headers, timeout: 10000});
    req.on('response', (res) => {
      let data = '';
      res.setEncoding('utf8');
      res.on('data', (c) => (data += c));
      res.on('end', () => resolve({status: res.statusCode, type: res.headers['content-type'] || '', body: data}));
    });
    req.on('upgrade', (res, socket) => {
      socket.destroy();
      resolve({status: res.statusCode, type: '', body: ''});
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
    req.end(body);
  });
}

function resolveRef(obj) {
  while (obj && obj.$ref) obj = obj.$ref.slice(2).split('/').reduce((o, k) => o[k], spec);
  return obj;
}

async function check(path, method, op) {
  let url = path;
  let allKnown = true;
  for (const p of op.parameters || []) {
    if (p.in !== 'path') continue;
    let v = values[p.name];
    if (v === undefined) {
      allKnown = false;
      v = p.example ?? (p.schema && p.schema.example) ?? 'x';
    }
    url = url.replace(`{${p.name}}`, encodeURIComponent(v));
  }
  const headers = {};
  let body;
  if (op.security && op.security.length) headers.Authorization = `Bearer ${token}`;
  const content = op.requestBody && op.requestBody.content && op.requestBody.content['application/json'];
  if (content) {
    body = JSON.stringify(content.example);
    headers['Content-Type'] = 'application/json';
    headers['Content-Length'] = Buffer.byteLength(body);
  }
  if (op.responses['101']) {
    Object.assign(headers, {Connection: 'Upgrade', Upgrade: 'websocket', 'Sec-WebSocket-Version': '13',
      'Sec-WebSocket-Key': Buffer.from('openapi-check-key').toString('base64')});
  }
  const r = await request(method, url, headers, body);
  const what = `${method.toUpperCase()} ${url} -> ${r.status}`;
  console.log(what);
  let err = null;
  let parsed = null;
  try { parsed = JSON.parse(r.body); } catch (e) { /* not JSON */ }
  const documented = resolveRef(op.responses[String(r.status)] || op.responses.default);
  if (r.status === 405) err = 'method not allowed';
  else if (r.status === 404 && parsed && /^(no such endpoint|not found)$/.test(parsed.error)) err = 'the router does not know it';
  else if (!documented) err = `status ${r.status} is not documented (${Object.keys(op.responses)})`;
  else if (allKnown && !(r.status >= 200 && r.status < 300) && r.status !== 101) err = 'not a success with real parameters';
  else if (documented.content && !Object.keys(documented.content).some((t) => r.type.startsWith(t)))
    err = `content type ${r.type}, documented ${Object.keys(documented.content)}`;
  if (err) failures.push(`${what}: ${err}: ${r.body.slice(0, 200)}`);
}

(async () => {
  let n = 0;
  for (const [path, item] of Object.entries(spec.paths)) {
    for (const m of METHODS) {
      if (!item[m]) continue;
      n++;
      try {
        await check(path, m, item[m]);
      } catch (e) {
        failures.push(`${m.toUpperCase()} ${path}: ${e.message}`);
      }
    }
  }
  console.log(`${n} operations, ${failures.length} failed`);
  for (const f of failures) console.error(f);
  process.exit(failures.length || n === 0 ? 1 : 0);
})();
