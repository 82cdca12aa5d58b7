// Test fixture for tests/integration/faults_checker.sh: logs a fixed batch
// of anomalies on the AnomalyLogger contract from one of Ganache's unlocked
// dev accounts (eth_sendTransaction), so the same batch can be logged twice
// (by two loggers) and the chain then holds each id twice.
//
// usage: node log_batch.js RPC_URL CONTRACT ACCOUNT_INDEX log FIRST_SEQ CAPTURE_OUT
//        node log_batch.js RPC_URL CONTRACT ACCOUNT_INDEX add-logger OTHER_INDEX
// log: logBatch(FIRST_SEQ, the batch's records) and write each anomaly as
// the detector publishes it ({"id": ...}, one JSON line each) to
// CAPTURE_OUT. add-logger: addLogger(account OTHER_INDEX). Exit 0 when the
// transaction succeeded, 1 when it reverted, 2 on other errors.
'use strict';
const fs = require('fs');
const path = require('path');
const { keccak256 } = require(path.join(__dirname, '../../tools/node_modules/js-sha3'));

async function rpc(url, method, params) {
  const r = await fetch(url, {
    method: 'POST', headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ jsonrpc: '2.0', id: 1, method, params }),
  });
  const j = await r.json();
  if (j.error) throw new Error(`${method}: ${j.error.message}`);
  return j.result;
}

const word = (n) => BigInt(n).toString(16).padStart(64, '0');
const sel = (sig) => keccak256(sig).slice(0, 8);

// One record (common/eth/anomaly_log.h) and the id the detector gives it.
function record(sensor, metric, tsMs, type, value, score, expl) {
  const pre = Buffer.concat([Buffer.from(sensor), Buffer.from([0]), Buffer.from(metric), Buffer.from([0]),
    Buffer.alloc(9)]);
  pre.writeBigInt64BE(BigInt(tsMs), pre.length - 9);
  pre[pre.length - 1] = type;
  const hdr = Buffer.from([sensor.length, metric.length, 0, 0]);
  hdr.writeUInt16BE(Buffer.byteLength(expl), 2);
  const vs = Buffer.alloc(16);
  vs.writeDoubleBE(value, 0);
  vs.writeDoubleBE(score, 8);
  return { rec: Buffer.concat([hdr, pre, vs, Buffer.from(expl)]), id: keccak256(pre) };
}

async function main() {
  const [url, contract, idx, cmd, arg, out] = process.argv.slice(2);
  const accounts = await rpc(url, 'eth_accounts', []);
  const from = accounts[Number(idx)];
  let data;
  if (cmd === 'log') {
    const recs = [
      record('sensor-dup-01', 'temperature', 1764100000500, 0, 41.5, 0.81, 'temperature 41.5 degC is far above 19.1..24.3'),
      record('sensor-dup-02', 'humidity', 1764100001500, 2, 12.25, 0.77, 'humidity level shifted from 45.0 to 12.3'),
    ];
    const packed = Buffer.concat(recs.map((r) => r.rec));
    const pad = Buffer.alloc((32 - (packed.length % 32)) % 32);
    data = '0x' + sel('logBatch(uint64,bytes)') + word(arg) + word(64) + word(packed.length) +
      packed.toString('hex') + pad.toString('hex');
    fs.writeFileSync(out, recs.map((r) => JSON.stringify({ id: r.id })).join('\n') + '\n');
  } else if (cmd === 'add-logger') {
    data = '0x' + sel('addLogger(address)') + word(accounts[Number(arg)]);
  } else {
    throw new Error('usage: log_batch.js RPC_URL CONTRACT ACCOUNT_INDEX log FIRST_SEQ CAPTURE_OUT | add-logger OTHER_INDEX');
  }
  const h = await rpc(url, 'eth_sendTransaction', [{ from, to: contract, data, gas: '0x2dc6c0' }]);
  for (let i = 0; i < 100; i++) {
    const r = await rpc(url, 'eth_getTransactionReceipt', [h]);
    if (r) process.exit(r.status === '0x1' ? 0 : 1);
    await new Promise((res) => setTimeout(res, 100));
  }
  throw new Error('no receipt');
}

main().catch((e) => { console.error(String(e && e.message || e)); process.exit(e.message && /revert/.test(e.message) ? 1 : 2); });
