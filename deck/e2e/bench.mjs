// The browser half of benchmarks/deck.py: first load and the 200-stage execution view, each beside
// a baseline measured in the same Chromium, in alternating rounds.
//
// DECK_BENCH = {url, execution, application, rounds}. Prints one JSON object with every round's
// figures (milliseconds and bytes); the Python side takes medians and prints the table.

import { launch } from './browser.mjs';

const config = JSON.parse(process.env.DECK_BENCH ?? '{}');
const browser = await launch();

async function fresh() {
  const context = await browser.newContext({ viewport: { width: 1360, height: 900 } });
  const page = await context.newPage();
  let bytes = 0;
  let requests = 0;
  page.on('response', async (response) => {
    requests++;
    const size = Number(response.headers()['content-length'] ?? 0);
    bytes += size || (await response.body().catch(() => Buffer.alloc(0))).length;
  });
  return { context, page, sent: () => ({ bytes, requests }) };
}

/** Cold load of `path` until `selector` is on screen; the bytes and requests it took. */
async function firstLoad(path, selector) {
  const { context, page, sent } = await fresh();
  const started = Date.now();
  await page.goto(new URL(path, config.url).toString());
  await page.locator(selector).first().waitFor({ timeout: 60_000 });
  await page.evaluate(() => new Promise((resolve) => requestAnimationFrame(() => resolve())));
  const ms = Date.now() - started;
  await page.waitForLoadState('networkidle').catch(() => undefined);
  const figures = { ms, ...sent() };
  await context.close();
  return figures;
}

/** The execution view: from the execution's JSON arriving to its stage graph painted. */
async function executionView() {
  const { context, page } = await fresh();
  await page.addInitScript(() => {
    window.__graphAt = undefined;
    new MutationObserver(() => {
      if (window.__graphAt === undefined && document.querySelectorAll('[data-testid=stage-node]').length >= 200) {
        window.__graphAt = performance.now();
      }
    }).observe(document, { childList: true, subtree: true });
  });
  await page.goto(new URL(`/#/applications/${config.application}/executions/details/${config.execution}`, config.url).toString());
  await page.waitForFunction(() => window.__graphAt !== undefined, null, { timeout: 60_000 });
  const figures = await page.evaluate(async (id) => {
    await new Promise((resolve) => requestAnimationFrame(() => setTimeout(resolve, 0)));
    const painted = performance.now();
    const entry = performance.getEntriesByType('resource').find((item) => item.name.endsWith(`/pipelines/${id}`));
    return { render: painted - entry.responseEnd, nodes: document.querySelectorAll('[data-testid=stage-node]').length };
  }, config.execution);
  const json = await page.evaluate(async (id) => (await fetch(`/pipelines/${id}`)).text(), config.execution);
  await context.close();
  return { ...figures, json };
}

/** Baseline: the same execution JSON turned into 200 plain text rows in an empty page, painted. */
async function plainList(json) {
  const { context, page } = await fresh();
  await page.goto(new URL('/health', config.url).toString());
  const ms = await page.evaluate(async (text) => {
    const started = performance.now();
    const execution = JSON.parse(text);
    const list = document.createElement('ol');
    for (const stage of execution.stages) {
      const row = document.createElement('li');
      row.textContent = `${stage.name} ${stage.status}`;
      list.append(row);
    }
    document.body.replaceChildren(list);
    await new Promise((resolve) => requestAnimationFrame(() => setTimeout(resolve, 0)));
    return performance.now() - started;
  }, json);
  await context.close();
  return ms;
}

const rounds = [];
try {
  for (let round = 0; round < config.rounds; round++) {
    const figures = {};
    // alternate which goes first, so neither always meets a warm (or a cold) machine
    const loads = [
      ['deck', () => firstLoad(`/#/applications`, '[data-testid=applications] tbody tr')],
      ['swagger', () => firstLoad('/swagger-ui.html', '.opblock')],
    ];
    for (const [name, measure] of round % 2 ? loads.reverse() : loads) figures[name] = await measure();
    const view = await executionView();
    figures.execution = { render: view.render, nodes: view.nodes };
    figures.plainList = await plainList(view.json);
    rounds.push(figures);
  }
} finally {
  await browser.close();
}
console.log(JSON.stringify(rounds));
