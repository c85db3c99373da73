// Runs the browser scenarios against a running gateway, in order, in one Chromium.
//
// The Python suite (tests/deck/test_browser.py) starts the system and calls this with DECK_E2E set
// to a JSON object: {url, tokens: {admin, olivia, victor}, artifacts, report, only?, suite?}. Each
// scenario gets a fresh browser context; the report (one entry per scenario: ok, error, ms) is
// written as JSON to `report`, a screenshot of any failure to `artifacts`.

import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { launch } from './browser.mjs';
import { oidcScenarios, scenarios } from './scenarios.mjs';

const config = JSON.parse(process.env.DECK_E2E ?? '{}');
mkdirSync(config.artifacts, { recursive: true });
const browser = await launch();
const report = {};
const shared = {};
try {
  for (const [name, scenario] of config.suite === 'oidc' ? oidcScenarios : scenarios) {
    if (config.only && !config.only.includes(name)) continue;
    const context = await browser.newContext({ viewport: { width: 1360, height: 900 } });
    const page = await context.newPage();
    const pageErrors = [];
    page.on('pageerror', (error) => pageErrors.push(error.message));
    const started = Date.now();
    try {
      await scenario({ page, context, config, shared, shot: (file) => page.screenshot({ path: join(config.artifacts, `${file}.png`) }) });
      if (pageErrors.length) throw new Error(`the page threw: ${pageErrors.join('; ')}`);
      report[name] = { ok: true, ms: Date.now() - started };
      console.log(`ok ${name} (${Date.now() - started} ms)`);
    } catch (error) {
      report[name] = { ok: false, ms: Date.now() - started, error: `${error?.stack ?? error}\n(page at ${page.url()})` };
      console.log(`FAILED ${name}: ${error?.message ?? error}`);
      await page.screenshot({ path: join(config.artifacts, `failed-${name}.png`), fullPage: true }).catch(() => undefined);
    } finally {
      await context.close();
    }
  }
} finally {
  await browser.close();
  writeFileSync(config.report, JSON.stringify(report, null, 2));
}
