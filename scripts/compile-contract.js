#!/usr/bin/env node
// Compile a Solidity contract with solc from tools/node_modules (solc-js, no
// download at run time) and write {contractName, abi, bytecode, ...} as JSON.
//   node scripts/compile-contract.js contracts/AnomalyLogger.sol contracts/build/AnomalyLogger.json
// The EVM version is pinned to "paris" (no PUSH0) so the bytecode runs on
// every chain we target (Ganache 7, Anvil, older geth-based chains).
'use strict';
const fs = require('fs');
const path = require('path');

const root = path.resolve(__dirname, '..');
const solc = require(path.join(root, 'tools', 'node_modules', 'solc'));

const [src, out] = process.argv.slice(2);
if (!src || !out) {
  console.error('usage: compile-contract.js <Contract.sol> <out.json>');
  process.exit(2);
}
const name = path.basename(src, '.sol');
const input = {
  language: 'Solidity',
  sources: { [path.basename(src)]: { content: fs.readFileSync(src, 'utf8') } },
  settings: {
    evmVersion: 'paris',
    viaIR: true,
    optimizer: { enabled: true, runs: 1000 },
    outputSelection: { '*': { '*': ['abi', 'evm.bytecode.object', 'evm.deployedBytecode.object'] } },
  },
};
const result = JSON.parse(solc.compile(JSON.stringify(input)));
let failed = false;
for (const e of result.errors || []) {
  console.error(e.formattedMessage || e.message);
  if (e.severity === 'error') failed = true;
}
if (failed) process.exit(1);
const c = result.contracts[path.basename(src)][name];
if (!c) {
  console.error(`no contract named ${name} in ${src}`);
  process.exit(1);
}
const json = {
  contractName: name,
  compiler: `solc ${solc.version()}`,
  evmVersion: input.settings.evmVersion,
  viaIR: true,
  optimizer: input.settings.optimizer,
  abi: c.abi,
  bytecode: '0x' + c.evm.bytecode.object,
  deployedBytecode: '0x' + c.evm.deployedBytecode.object,
};
fs.mkdirSync(path.dirname(out), { recursive: true });
fs.writeFileSync(out + '.tmp', JSON.stringify(json, null, 2) + '\n');
fs.renameSync(out + '.tmp', out);
console.log(`compiled ${name}: ${c.evm.bytecode.object.length / 2} bytes -> ${out}`);
