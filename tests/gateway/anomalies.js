#!/usr/bin/env node
// Print N anomaly messages (one JSON per line) for SENSOR, as the detector
// publishes them on anomalies/{sensor}, with ids computed exactly like
// anomaly_make_id(): keccak256(sensor 0x00 metric 0x00 ts_ms(int64 BE) type).
// usage: anomalies.js SENSOR N [T0] [EXPLANATION_LEN] [TYPES]
//   TYPES: comma list cycled through (default point,contextual,change_point)
'use strict';
const path = require('path');
const {keccak256} = require(path.join(__dirname, '../../tools/node_modules/js-sha3'));

const TYPES = {point: 0, contextual: 1, change_point: 2};

function anomalyId(sensor, metric, ts, type) {
  const s = Buffer.from(sensor), m = Buffer.from(metric);
  const b = Buffer.alloc(s.length + 1 + m.length + 1 + 8 + 1);
  s.copy(b, 0);
  m.copy(b, s.length + 1);
  b.writeBigInt64BE(BigInt(Math.round(ts * 1000)), s.length + m.length + 2);
  b[b.length - 1] = TYPES[type];
  return keccak256(b);
}

function make(sensor, i, t0, explLen, types) {
  const type = types[i % types.length];
  const ts = t0 + i * 0.5;
  const value = 100 + i;
  let explanation = `temperature ${value} degC is far above the expected 19.0..24.0 (#${i})`;
  if (explLen > 0) {
    while (explanation.length < explLen) explanation += ' padding';
    explanation = explanation.slice(0, explLen);
  }
  return {id: anomalyId(sensor, 'temperature', ts, type), sensor_id: sensor, ts,
          metric: 'temperature', value, score: 0.9, type, explanation};
}

module.exports = {anomalyId, make};

if (require.main === module) {
  const [sensor, n, t0, explLen, types] = process.argv.slice(2);
  const tl = (types || 'point,contextual,change_point').split(',');
  const base = t0 ? Number(t0) : Math.floor(Date.now() / 1000) - 3600;
  const out = [];
  for (let i = 0; i < Number(n || 1); i++) out.push(JSON.stringify(make(sensor, i, base, Number(explLen || 0), tl)));
  process.stdout.write(out.join('\n') + '\n');
}
