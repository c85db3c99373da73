// Debian's Chromium driven by playwright-core: the one way the browser tests start a browser.
//
// A test tool's own browser download cannot work on these machines, so the executable is the
// distribution's (`CHROMIUM`, default /usr/bin/chromium), started headless with the flags that
// keep it from reaching for the network.

import { chromium } from 'playwright-core';

export const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

export async function launch() {
  return chromium.launch({
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    args: CHROMIUM_ARGS,
    headless: true,
  });
}
