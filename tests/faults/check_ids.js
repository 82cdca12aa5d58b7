// Compares the anomalies the detector published (captured from the broker,
// one JSON payload per line) with the anomalies on chain, read straight from
// the chain: eth_getLogs over the contract's AnomalyLogged events (all
// loggers, every block), decoded with the contract's compiled ABI
// (contracts/build/AnomalyLogger.json). No cache stands between the chain
// and the count: an id logged twice is counted twice.
//
// usage: node check_ids.js CAPTURE_FILE RPC_URL CONTRACT [MUST_FILE [INFO_FILE]]
// MUST_FILE: id prefixes (the 16 hex digits the detector logs with each
// anomaly it publishes), one per line, that must all have been captured:
// what a detector that was never killed says it published reached the
// broker (across the broker restart) and the capture. INFO_FILE: the same
// for detectors that were killed; those not captured are only counted (a
// kill -9 can land between queueing a publish and handing it to the broker).
// Environment: ABI_FILE (default contracts/build/AnomalyLogger.json).
// Prints one JSON line:
//   {"published":P,"published_messages":M,"bad_lines":B,"on_chain":C,
//    "events":E,"total_logged":T,"bad_events":X,"duplicates":D,
//    "duplicate_ids":[first 20],"lost":L,"lost_ids":[first 20],"extra":N,
//    "must":N,"must_missing":K,"killed_logged":N2,"killed_not_captured":K2}
// published = distinct captured ids (a detector restarted from an older
// save may publish the same anomaly, with the same id, twice: the chain
// logger must then log it once); events = Recorded (or RecordLogged, AnomalyLogged)
// events read, alarm_events among them the audited alarm actions (issue #17);
// on_chain = distinct anomaly ids among them; duplicates = events -
// alarm_events - on_chain (ids
// that appear more than once, counted per extra copy); total_logged = the
// contract's totalLogged(), which must equal events (else the reader missed
// some); bad_events = events whose record does not decode or whose id /
// sensor topic does not match the record; lost = captured ids not on chain;
// extra = ids on chain never captured (reported, not an error: a killed
// detector's in-flight anomaly may reach the logger and not the capture).
// Exit 0 when lost = 0, duplicates = 0, bad_lines = 0, bad_events = 0,
// must_missing = 0 and total_logged = events; 1 otherwise; 2 on a usage or
// chain error.
'use strict';
const fs = require('fs');
const path = require('path');
const { keccak256 } = require(path.join(__dirname, '../../tools/node_modules/js-sha3'));

const RANGE = 5000; // blocks per eth_getLogs call

let rpcId = 0;
async function rpc(url, method, params) {
  const r = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ jsonrpc: '2.0', id: ++rpcId, method, params }),
  });
  if (r.status !== 200) throw new Error(`${method}: HTTP ${r.status}`);
  const j = await r.json();
  if (j.error) throw new Error(`${method}: ${j.error.message || JSON.stringify(j.error)}`);
  return j.result;
}

// The event's canonical signature and its non-indexed input types, from the ABI.
function eventFromAbi(abiFile, name) {
  const abi = JSON.parse(fs.readFileSync(abiFile, 'utf8')).abi;
  const ev = abi.find((x) => x.type === 'event' && x.name === name);
  if (!ev) throw new Error(`${abiFile}: no event ${name}`);
  const sig = `${name}(${ev.inputs.map((i) => i.type).join(',')})`;
  return {
    topic0: '0x' + keccak256(sig),
    indexed: ev.inputs.filter((i) => i.indexed).map((i) => i.name),
    data: ev.inputs.filter((i) => !i.indexed),
  };
}

// ABI-decode the event's data: static uintN words and dynamic bytes.
function decodeData(inputs, hex) {
  const b = Buffer.from(hex.replace(/^0x/, ''), 'hex');
  const word = (off) => {
    if (off + 32 > b.length) throw new Error('data too short');
    return BigInt('0x' + b.subarray(off, off + 32).toString('hex'));
  };
  const out = {};
  inputs.forEach((inp, i) => {
    const w = word(32 * i);
    if (/^uint\d+$/.test(inp.type)) {
      if (w >> BigInt(inp.type.slice(4)) !== 0n) throw new Error(`${inp.name} out of range`);
      out[inp.name] = w;
    } else if (inp.type === 'bytes') {
      const off = Number(w), len = Number(word(off));
      if (off + 32 + len > b.length) throw new Error(`${inp.name} out of bounds`);
      out[inp.name] = b.subarray(off + 32, off + 32 + len);
    } else {
      throw new Error(`unsupported ABI type ${inp.type}`);
    }
  });
  return out;
}

// The length of the record at the start of buf (either kind), from its header.
function recordLen(buf) {
  if (buf.length < 6) throw new Error('record too short');
  if (buf[0] === 0) return 6 + buf[2] + buf[3] + buf[4] + 12 + buf[5];
  const w = buf.readUInt16BE(2);
  return 4 + buf[0] + buf[1] + 11 + (w & 0x8000 ? w & 0x3ff : w + 16);
}

// The record layout of common/eth/anomaly_log.h: returns { id, sensorHash }
// computed from the record's own bytes (alarm: true for an alarm lifecycle
// record, kind 0x01), or throws when it is malformed.
function recordIds(rec) {
  if (rec.length < 4) throw new Error('record too short');
  if (rec[0] === 0) {
    // kind 0x01: 0x00 0x01 sl ml al bl | sensor 0 metric 0 alarm 0 at(8) code | by
    const sl = rec[2], ml = rec[3], al = rec[4], bl = rec[5];
    const prelen = sl + ml + al + 12;
    if (rec[1] !== 1 || rec.length !== 6 + prelen + bl) throw new Error('alarm record lengths');
    const pre = rec.subarray(6, 6 + prelen);
    return { id: '0x' + keccak256(pre), sensorHash: '0x' + keccak256(pre.subarray(0, sl)), alarm: true };
  }
  const sl = rec[0], ml = rec[1], w = rec.readUInt16BE(2);
  const prelen = sl + ml + 11;
  // w: el (< 0x8000, value and score raw) or compact numbers with the tail's length in bits 0..9
  const tl = w & 0x8000 ? w & 0x3ff : w + 16;
  const badw = w & 0x8000 ? (w & 0x0400) !== 0 || tl > 527 : w > 511;
  if (!sl || sl > 64 || !ml || ml > 31 || badw || rec.length !== 4 + prelen + tl)
    throw new Error('record lengths');
  const pre = rec.subarray(4, 4 + prelen);
  if (pre[sl] !== 0 || pre[sl + 1 + ml] !== 0 || pre[prelen - 1] > 2) throw new Error('record fields');
  return { id: '0x' + keccak256(pre), sensorHash: '0x' + keccak256(pre.subarray(0, sl)) };
}

async function main() {
  const [capture, url, contract, mustFile, infoFile] = process.argv.slice(2);
  if (!capture || !url || !/^0x[0-9a-fA-F]{40}$/.test(contract || '')) {
    console.error('usage: node check_ids.js CAPTURE_FILE RPC_URL CONTRACT [MUST_FILE [INFO_FILE]]');
    process.exit(2);
  }
  const abiFile = process.env.ABI_FILE || path.join(__dirname, '../../contracts/build/AnomalyLogger.json');
  // Recorded(id, logger) (data packed: the record, then its seq in 1..8
  // bytes); contracts deployed before emit RecordLogged(id, sensorHash,
  // logger) (packed: seq, 8 bytes, then the record) or AnomalyLogged (ABI
  // data: uint64 seq, bytes record).
  let ev, mode = 'recorded';
  try {
    ev = eventFromAbi(abiFile, 'Recorded');
  } catch (e) {
    try {
      ev = eventFromAbi(abiFile, 'RecordLogged');
      mode = 'packed';
    } catch (e2) {
      ev = eventFromAbi(abiFile, 'AnomalyLogged');
      mode = 'abi';
    }
  }

  const published = new Set();
  let messages = 0, bad = 0;
  for (const line of fs.readFileSync(capture, 'utf8').split('\n')) {
    if (!line.trim()) continue;
    messages++;
    try {
      const a = JSON.parse(line);
      if (typeof a.id !== 'string' || !/^[0-9a-f]{64}$/.test(a.id)) throw new Error('no id');
      published.add(a.id);
    } catch (e) {
      bad++;
    }
  }

  const head = Number(BigInt(await rpc(url, 'eth_blockNumber', [])));
  const onChain = new Map();
  let events = 0, badEvents = 0, alarmEvents = 0;
  for (let from = 0; from <= head; from += RANGE) {
    const to = Math.min(head, from + RANGE - 1);
    const logs = await rpc(url, 'eth_getLogs', [{
      address: contract, topics: [ev.topic0],
      fromBlock: '0x' + from.toString(16), toBlock: '0x' + to.toString(16),
    }]);
    for (const log of logs) {
      if (log.removed) continue;
      events++;
      try {
        const raw = Buffer.from(String(log.data).replace(/^0x/, ''), 'hex');
        if (mode === 'packed' && raw.length < 10) throw new Error('data too short');
        let rec;
        if (mode === 'recorded') {
          const rl = recordLen(raw);
          if (raw.length - rl < 1 || raw.length - rl > 8) throw new Error('seq length');
          rec = raw.subarray(0, rl);
        } else {
          rec = mode === 'packed' ? raw.subarray(8) : decodeData(ev.data, log.data).record;
        }
        const want = recordIds(rec);
        const id = String(log.topics[1]).toLowerCase();
        if (id !== want.id ||
            (mode !== 'recorded' && String(log.topics[2]).toLowerCase() !== want.sensorHash))
          throw new Error('topics do not match the record');
        if (want.alarm) {
          alarmEvents++; // an audited alarm action: counted by totalLogged, not an anomaly
          continue;
        }
        onChain.set(id.slice(2), (onChain.get(id.slice(2)) || 0) + 1);
      } catch (e) {
        badEvents++;
        if (process.env.CHECK_IDS_DEBUG) console.error(`bad event: ${e.message}`);
      }
    }
  }
  const totalLogged = Number(BigInt(await rpc(url, 'eth_call', [{
    to: contract, data: '0x' + keccak256('totalLogged()').slice(0, 8),
  }, 'latest'])));

  const dupIds = [...onChain].filter(([, c]) => c > 1).map(([id]) => id);
  const duplicates = events - badEvents - alarmEvents - onChain.size;
  const lost = [...published].filter((id) => !onChain.has(id));
  const extra = [...onChain.keys()].filter((id) => !published.has(id)).length;
  const prefixes = new Set([...published].map((id) => id.slice(0, 16)));
  const notCaptured = (file) => {
    if (!file) return [0, 0];
    const want = fs.readFileSync(file, 'utf8').split('\n').filter((l) => /^[0-9a-f]{16}$/.test(l));
    return [want.length, want.filter((p) => !prefixes.has(p)).length];
  };
  const [must, mustMissing] = notCaptured(mustFile);
  const [killedLogged, killedNotCaptured] = notCaptured(infoFile);
  const out = {
    published: published.size,
    published_messages: messages,
    bad_lines: bad,
    on_chain: onChain.size,
    events,
    total_logged: totalLogged,
    bad_events: badEvents,
    alarm_events: alarmEvents,
    duplicates,
    duplicate_ids: dupIds.slice(0, 20),
    lost: lost.length,
    lost_ids: lost.slice(0, 20),
    extra,
    must,
    must_missing: mustMissing,
    killed_logged: killedLogged,
    killed_not_captured: killedNotCaptured,
  };
  console.log(JSON.stringify(out));
  const good = lost.length === 0 && duplicates === 0 && bad === 0 && badEvents === 0 &&
    mustMissing === 0 && totalLogged === events;
  process.exit(good ? 0 : 1);
}

main().catch((e) => { console.error(String(e && e.message || e)); process.exit(2); });
