// Compares the anomalies the detector published (captured from the broker,
// one JSON payload per line) with the anomalies on chain, read page by page
// from the gateway's /api/anomalies (which reads the chain's events).
//
// usage: node check_ids.js CAPTURE_FILE GATEWAY_BASE_URL [MUST_FILE [INFO_FILE]]
// MUST_FILE: id prefixes (the 16 hex digits the detector logs with each
// anomaly it publishes), one per line, that must all have been captured:
// what a detector that was never killed says it published reached the
// broker (across the broker restart) and the capture. INFO_FILE: the same
// for detectors that were killed; those not captured are only counted (a
// kill -9 can land between queueing a publish and handing it to the broker).
// Prints one JSON line:
//   {"published":P,"published_messages":M,"bad_lines":B,"on_chain":C,
//    "chain_items":I,"duplicates":D,"lost":L,"lost_ids":[first 20],
//    "synced":bool,"total":T,"must":N,"must_missing":K,"killed_logged":N2,
//    "killed_not_captured":K2}
// published = distinct captured ids (a detector restarted from an older
// save may publish the same anomaly, with the same id, twice: the chain
// logger must then log it once); duplicates = ids that appear more than
// once on chain; lost = captured ids not on chain.
// Exit 0 when lost = 0, duplicates = 0, bad_lines = 0 and must_missing = 0,
// else 1.
'use strict';
const fs = require('fs');

async function main() {
  const [capture, base, mustFile, infoFile] = process.argv.slice(2);
  if (!capture || !base) {
    console.error('usage: node check_ids.js CAPTURE_FILE GATEWAY_BASE_URL');
    process.exit(2);
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

  const onChain = new Map();
  let cursor = null, items = 0, synced = false, total = -1;
  for (let page = 0; page < 10000; page++) {
    const u = `${base}/api/anomalies?limit=1000` + (cursor ? `&cursor=${encodeURIComponent(cursor)}` : '');
    const r = await fetch(u);
    if (r.status !== 200) throw new Error(`${u}: HTTP ${r.status}`);
    const j = await r.json();
    if (page === 0) { synced = !!j.synced; total = j.total; }
    for (const it of j.items) {
      items++;
      onChain.set(it.id, (onChain.get(it.id) || 0) + 1);
    }
    // Only a null next_cursor ends the list: past the gateway's bounded
    // cache a page read from the chain may be short, even empty.
    if (!j.next_cursor || j.next_cursor === cursor) break;
    cursor = j.next_cursor;
  }
  let duplicates = 0;
  for (const c of onChain.values()) if (c > 1) duplicates += c - 1;
  const lost = [...published].filter((id) => !onChain.has(id));
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
    chain_items: items,
    duplicates,
    lost: lost.length,
    lost_ids: lost.slice(0, 20),
    synced,
    total,
    must,
    must_missing: mustMissing,
    killed_logged: killedLogged,
    killed_not_captured: killedNotCaptured,
  };
  console.log(JSON.stringify(out));
  process.exit(lost.length === 0 && duplicates === 0 && bad === 0 && mustMissing === 0 ? 0 : 1);
}

main().catch((e) => { console.error(String(e && e.message || e)); process.exit(2); });
