// tests/browser/lib.js — what the browser tests share: headless Debian
// Chromium through playwright-core on a throw-away profile, and a page
// whose console errors and page errors are collected.
'use strict';
const path = require('path');
const fs = require('fs');
const os = require('os');
const {chromium} = require(path.join(__dirname, '../../tools/node_modules/playwright-core'));

// launch({prefix, height, acceptDownloads}): a persistent context on a new
// profile directory (prefix, default 'gw-chromium-'), 1400 x height (900)
// pixels; acceptDownloads is passed on only when given.
// Returns {browser, close}: close() closes the browser and removes the profile.
async function launch({prefix = 'gw-chromium-', height = 900, acceptDownloads} = {}) {
  const profile = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  const opts = {
    executablePath: '/usr/bin/chromium',
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
           '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    viewport: {width: 1400, height},
  };
  if (acceptDownloads !== undefined) opts.acceptDownloads = acceptDownloads;
  const browser = await chromium.launchPersistentContext(profile, opts);
  const close = async () => {
    await browser.close();
    fs.rmSync(profile, {recursive: true, force: true});
  };
  return {browser, close};
}

// watchedPage(browser, ignore): the context's page, with every console error
// (except those whose text ignore(text) accepts) and page error pushed to
// errors. Returns {page, errors}.
async function watchedPage(browser, ignore = () => false) {
  const errors = [];
  const page = browser.pages()[0] || await browser.newPage();
  page.on('console', (m) => {
    if (m.type() === 'error' && !ignore(m.text())) errors.push('console: ' + m.text());
  });
  page.on('pageerror', (e) => errors.push('page: ' + e.message));
  return {page, errors};
}

module.exports = {launch, watchedPage};
