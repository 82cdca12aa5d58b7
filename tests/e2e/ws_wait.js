// Waits on the gateway's WebSocket for a message of a given type (and
// sensor), prints its data as JSON and exits 0; exits 1 on timeout.
// usage: node ws_wait.js URL TYPE SENSOR_ID TIMEOUT_S [READY_FILE]
const path = require('path');
const WebSocket = require(path.join(__dirname, '../../tools/node_modules/ws'));
const [url, type, sensor, timeoutS, readyFile] = process.argv.slice(2);
const ws = new WebSocket(url);
const timer = setTimeout(() => { console.error(`timeout waiting for ${type} of ${sensor}`); process.exit(1); },
                         Number(timeoutS) * 1000);
ws.on('open', () => { if (readyFile) require('fs').writeFileSync(readyFile, 'ready'); });
ws.on('error', (e) => { console.error('ws error', e.message); process.exit(1); });
ws.on('message', (buf) => {
  let m;
  try { m = JSON.parse(buf.toString()); } catch (e) { console.error('bad JSON from gateway', String(buf).slice(0, 200)); process.exit(1); }
  const items = Array.isArray(m.data) ? m.data : [m.data];
  for (const d of items) {
    if (m.type === type && d && d.sensor_id === sensor) {
      clearTimeout(timer);
      console.log(JSON.stringify(d));
      ws.close();
      process.exit(0);
    }
  }
});
