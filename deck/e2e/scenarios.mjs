// What a user does in the UI, step by step, checked in a real browser.
//
// Scenarios run in this order and build on each other (the application the first one creates is
// the one the others use); `shared` carries what one leaves for the next. The API is used only to
// set up what a scenario is not about (e.g. the deploy pipeline the resize scenario needs).

import assert from 'node:assert/strict';

const TIMEOUT = 30_000;

async function api(config, user, method, path, body) {
  const response = await fetch(new URL(path, config.url), {
    method,
    headers: { Authorization: `Bearer ${config.tokens[user]}`, 'Content-Type': 'application/json', Accept: 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  if (!response.ok) throw new Error(`${method} ${path} answered ${response.status}: ${text}`);
  return text ? JSON.parse(text) : undefined;
}

async function until(what, probe, timeout = TIMEOUT) {
  const deadline = Date.now() + timeout;
  let last;
  for (;;) {
    last = await probe();
    if (last) return last;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeout} ms waiting for ${what} (last: ${JSON.stringify(last)})`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

async function signedIn(context, config, user) {
  await context.addInitScript((token) => localStorage.setItem('gennaker.token', token), config.tokens[user]);
}

function at(config, hash) {
  return new URL(`/#/${hash}`, config.url).toString();
}

const RELEASE = {
  parameterConfig: [
    { name: 'ticket', label: 'Ticket', required: true, description: 'The change ticket' },
    { name: 'env', default: 'dev', options: [{ value: 'dev' }, { value: 'prod' }], hasOptions: true },
  ],
  stages: [
    { refId: '1', requisiteStageRefIds: [], type: 'wait', name: 'Soak', waitTime: 2 },
    {
      refId: '2',
      requisiteStageRefIds: ['1'],
      type: 'manualJudgment',
      name: 'Approve',
      instructions: 'Ship ${parameters.ticket}?',
      judgmentInputs: [{ value: 'ship it' }, { value: 'hold' }],
    },
    { refId: '3', requisiteStageRefIds: ['1'], type: 'wait', name: 'Warm caches', waitTime: 1 },
  ],
  triggers: [{ type: 'webhook', source: 'shop-ci', enabled: true }],
};

async function openDetails(page, config, application, executionId) {
  await page.goto(at(config, `applications/${application}/executions/details/${executionId}`));
  await page.getByTestId('stage-graph').waitFor({ timeout: TIMEOUT });
}

async function executionStatus(page) {
  return page.getByTestId('execution').getAttribute('data-status');
}

async function runFromList(page, pipelineName, fill = async () => undefined, { open = true } = {}) {
  const group = page.locator(`[data-testid=pipeline][data-name="${pipelineName}"]`);
  if (open) await group.getByRole('button', { name: 'Start manual execution' }).click();
  const form = page.getByTestId('run-form');
  await fill(form);
  await form.getByRole('button', { name: 'Run' }).click();
  await page.getByTestId('execution').waitFor({ timeout: TIMEOUT });
  return decodeURIComponent(new URL(page.url()).hash.split('/').pop().split('?')[0]);
}

export const scenarios = [
  [
    'sign_in_and_create_application',
    async ({ page, config, shot }) => {
      await page.goto(config.url);
      await page.getByRole('heading', { name: 'Sign in to Gennaker' }).waitFor();
      await page.fill('#token', 'gnk_not-a-real-token');
      await page.getByRole('button', { name: 'Sign in' }).click();
      const refusal = await page.getByRole('alert').textContent();
      assert.match(refusal, /matches no configured user/);
      await shot('login');
      await page.fill('#token', config.tokens.admin);
      await page.getByRole('button', { name: 'Sign in' }).click();
      await page.getByRole('heading', { name: 'Applications' }).waitFor();

      await page.getByRole('button', { name: 'Create application' }).click();
      const form = page.getByTestId('application-form');
      await form.locator('input[name=name]').fill('shop');
      await form.locator('input[name=email]').fill('shop-team@example.com');
      await form.locator('input[name=description]').fill('The web shop');
      await form.getByRole('button', { name: 'Add role' }).click();
      await form.getByLabel('Role 1', { exact: true }).fill('shop-owners');
      await form.getByLabel('Access of role 1').selectOption('ALL');
      await form.getByRole('button', { name: 'Add role' }).click();
      await form.getByLabel('Role 2', { exact: true }).fill('shop-viewers');
      await form.getByRole('button', { name: 'Create', exact: true }).click();
      await until('the new application page', async () => (await page.getByTestId('application-name').textContent().catch(() => null)) === 'shop');
      const shop = await api(config, 'admin', 'GET', '/applications/shop');
      assert.deepEqual(shop.attributes.permissions, { READ: ['shop-owners', 'shop-viewers'], WRITE: ['shop-owners'], EXECUTE: ['shop-owners'] });

      const created = await api(config, 'admin', 'POST', '/tasks', {
        application: 'payments',
        job: [{ type: 'createApplication', application: { name: 'payments', email: 'pay@example.com', description: 'Card payments', permissions: { READ: ['payments-team'], WRITE: ['payments-team'] } } }],
      });
      await until('payments to be created', async () => (await api(config, 'admin', 'GET', created.ref)).status === 'SUCCEEDED');
      await page.goto(at(config, 'applications'));
      await until('both applications listed', async () => (await page.locator('[data-testid=applications] tbody tr').count()) === 2);
      await page.getByLabel('Search applications').fill('card');
      await until('the search to keep payments only', async () => (await page.locator('[data-testid=applications] tbody tr').allTextContents()).join() .includes('payments') && (await page.locator('[data-testid=applications] tbody tr').count()) === 1);
      await page.getByLabel('Search applications').fill('');
      await shot('applications');
    },
  ],
  [
    'save_pipeline_with_errors_shown_at_the_field',
    async ({ page, context, config, shared, shot }) => {
      await signedIn(context, config, 'olivia');
      await page.goto(at(config, 'applications/shop/executions'));
      await page.getByRole('button', { name: 'Create pipeline' }).click();
      await page.locator('input[name=pipelineName]').fill('release');
      await page.getByRole('button', { name: 'Create', exact: true }).click();
      await page.getByTestId('pipeline-editor').waitFor();
      shared.releaseId = decodeURIComponent(new URL(page.url()).hash.split('/').pop());

      await page.getByRole('button', { name: 'Edit as JSON' }).click();
      const editor = page.getByTestId('pipeline-json');
      const stored = JSON.parse(await editor.inputValue());
      await editor.fill('{\n  "name": "release",\n  "stages": [\n}');
      assert.match(await page.getByTestId('json-error').textContent(), /line \d+, column \d+/);
      assert.equal(await page.getByTestId('save-pipeline').isDisabled(), true);

      const duplicate = { ...stored, ...RELEASE, stages: [RELEASE.stages[0], { ...RELEASE.stages[2], refId: '1' }] };
      await editor.fill(JSON.stringify(duplicate, null, 2));
      await page.getByTestId('save-pipeline').click();
      const refused = await page.locator('.editor [role=alert]').first().textContent({ timeout: TIMEOUT });
      assert.match(refused, /refId/);

      await editor.fill(JSON.stringify({ ...stored, ...RELEASE }, null, 2));
      await page.getByTestId('save-pipeline').click();
      await page.getByText('Saved', { exact: true }).waitFor({ timeout: TIMEOUT });

      await page.getByRole('button', { name: 'Form', exact: true }).click();
      assert.equal(await page.getByTestId('stage-form').count(), 3);
      await page.getByRole('button', { name: 'History' }).click();
      const diff = await page.getByTestId('diff').textContent({ timeout: TIMEOUT });
      assert.match(diff, /\+ .*"manualJudgment"/);
      await shot('pipeline-history');
    },
  ],
  [
    'run_with_parameters_and_watch_stages_turn_live',
    async ({ page, context, config, shared, shot }) => {
      await signedIn(context, config, 'olivia');
      await page.goto(at(config, 'applications/shop/executions'));
      const group = page.locator('[data-testid=pipeline][data-name="release"]');
      await group.getByRole('button', { name: 'Start manual execution' }).click();
      const form = page.getByTestId('run-form');
      await form.getByRole('button', { name: 'Run' }).click();
      assert.match(await form.locator('.field-error').textContent(), /Ticket is required/);
      let loads = 0;
      page.on('load', () => loads++);
      shared.runId = await runFromList(page, 'release', async () => {
        await form.locator('input[name=ticket]').fill('OPS-1');
        await form.locator('select[name=env]').selectOption('prod');
      }, { open: false });
      const loadsAtStart = loads;
      await page.getByText('OPS-1', { exact: true }).waitFor();
      const node = (name) => page.locator('[data-testid=stage-node]', { hasText: name });
      await until('Soak to run', async () => (await node('Soak').getAttribute('data-status')) === 'RUNNING');
      await until('Soak to succeed', async () => (await node('Soak').getAttribute('data-status')) === 'SUCCEEDED');
      await until('Approve to wait for judgment', async () => (await node('Approve').getAttribute('data-status')) === 'RUNNING');
      assert.equal(loads, loadsAtStart, 'the page reloaded: stages should turn by themselves');
      assert.equal(await page.getByTestId('stream-state').getAttribute('data-state'), 'live');
      await node('Approve').click();
      await page.getByTestId('judgment').waitFor();
      await shot('execution');
    },
  ],
  [
    'approve_a_manual_judgment',
    async ({ page, context, config, shared }) => {
      await signedIn(context, config, 'olivia');
      await openDetails(page, config, 'shop', shared.runId);
      await page.locator('[data-testid=stage-node]', { hasText: 'Approve' }).click();
      const judgment = page.getByTestId('judgment');
      assert.match(await judgment.textContent(), /Ship OPS-1\?/);
      await judgment.locator('select').selectOption('ship it');
      await judgment.getByRole('button', { name: 'Continue' }).click();
      await until('the execution to succeed', async () => (await executionStatus(page)) === 'SUCCEEDED');
      const execution = await api(config, 'olivia', 'GET', `/pipelines/${shared.runId}`);
      const approve = execution.stages.find((stage) => stage.name === 'Approve');
      assert.equal(approve.context.judgmentStatus, 'continue');
      assert.equal(approve.context.judgmentInput, 'ship it');
    },
  ],
  [
    'cancel_another_run_with_a_reason',
    async ({ page, context, config }) => {
      await signedIn(context, config, 'olivia');
      await page.goto(at(config, 'applications/shop/executions'));
      const form = page.getByTestId('run-form');
      const id = await runFromList(page, 'release', async () => form.locator('input[name=ticket]').fill('OPS-2'));
      await page.getByRole('button', { name: 'Cancel execution' }).click();
      await page.locator('input[name=reason]').fill('wrong build');
      await page.getByRole('dialog').getByRole('button', { name: 'Cancel execution' }).click();
      await until('the execution to be canceled', async () => (await executionStatus(page)) === 'CANCELED');
      assert.match(await page.getByTestId('execution-error').textContent(), /wrong build/);
      const execution = await api(config, 'olivia', 'GET', `/pipelines/${id}`);
      assert.equal(execution.status, 'CANCELED');
    },
  ],
  [
    'pause_resume_and_stop_a_judgment',
    async ({ page, context, config }) => {
      await signedIn(context, config, 'olivia');
      await page.goto(at(config, 'applications/shop/executions'));
      const form = page.getByTestId('run-form');
      const id = await runFromList(page, 'release', async () => form.locator('input[name=ticket]').fill('OPS-3'));
      const approve = page.locator('[data-testid=stage-node]', { hasText: 'Approve' });
      await until('Approve to wait for judgment', async () => (await approve.getAttribute('data-status')) === 'RUNNING');
      await page.getByRole('button', { name: 'Pause', exact: true }).click();
      await until('the execution to pause', async () => (await executionStatus(page)) === 'PAUSED');
      await page.getByRole('button', { name: 'Resume', exact: true }).click();
      await until('the execution to run again', async () => (await executionStatus(page)) === 'RUNNING');
      await approve.click();
      await page.getByTestId('judgment').getByRole('button', { name: 'Stop' }).click();
      await until('the execution to stop', async () => (await executionStatus(page)) === 'TERMINAL');
      const execution = await api(config, 'olivia', 'GET', `/pipelines/${id}`);
      assert.equal(execution.stages.find((stage) => stage.name === 'Approve').context.judgmentStatus, 'stop');
    },
  ],
  [
    'toggle_a_trigger_and_filter_executions',
    async ({ page, context, config, shared }) => {
      await signedIn(context, config, 'olivia');
      await page.goto(at(config, 'applications/shop/executions'));
      const release = page.locator('[data-testid=pipeline][data-name="release"]');
      // the toggle shows the saved state, which changes once the save is answered: click, then wait for it
      await release.getByTestId('trigger-toggle').click();
      await until('the trigger to be saved disabled', async () => {
        const config_ = await api(config, 'olivia', 'GET', `/applications/shop/pipelineConfigs/release`);
        return config_.triggers[0].enabled === false;
      });
      await until('the toggle to show it', async () => (await release.getByText('webhook trigger (disabled)').count()) === 1);
      await page.getByRole('checkbox', { name: 'CANCELED' }).check();
      await until('only the canceled run listed', async () => {
        const statuses = await release.getByTestId('execution-row').evaluateAll((rows) => rows.map((row) => row.dataset.status));
        return statuses.length === 1 && statuses[0] === 'CANCELED';
      });
      assert.match(new URL(page.url()).hash, /status=CANCELED/);
      await page.getByRole('checkbox', { name: 'CANCELED' }).uncheck();
      await page.getByLabel('Trigger type').selectOption('cron');
      await until('no cron runs', async () => (await release.getByText('No executions match.').count()) === 1);
      await page.getByLabel('Trigger type').selectOption('');
      await release.getByTestId('trigger-toggle').click();
      await until('the trigger to be enabled again', async () => (await api(config, 'olivia', 'GET', '/applications/shop/pipelineConfigs/release')).triggers[0].enabled === true);
      shared.filtered = true;
    },
  ],
  [
    'see_the_reason_a_stage_failed',
    async ({ page, context, config }) => {
      await api(config, 'admin', 'POST', '/pipelines', {
        application: 'shop',
        name: 'guarded release',
        stages: [
          {
            refId: '1',
            type: 'checkPreconditions',
            name: 'Check freeze',
            preconditions: [{ type: 'expression', failPipeline: true, context: { expression: "${trigger.user == 'nobody'}" } }],
          },
        ],
      });
      await signedIn(context, config, 'olivia');
      await page.goto(at(config, 'applications/shop/executions'));
      await runFromList(page, 'guarded release');
      await until('the execution to fail', async () => (await executionStatus(page)) === 'TERMINAL');
      const banner = await page.getByTestId('execution-error').textContent();
      assert.match(banner, /Check freeze failed: .*false/i);
      assert.match(await page.getByTestId('stage-error').textContent(), /false/i);
    },
  ],
  [
    'see_a_canary_report',
    async ({ page, context, config, shot }) => {
      const { canaryConfigId } = await api(config, 'olivia', 'POST', '/v2/canaryConfig', {
        name: 'latency',
        applications: ['shop'],
        judge: { name: 'NetflixACAJudge-v1.0', judgeConfigurations: {} },
        metrics: [
          {
            name: 'p99',
            query: { type: 'memory', metricName: 'http_latency_seconds' },
            groups: ['latency'],
            analysisConfigurations: { canary: { direction: 'increase' } },
          },
        ],
        classifier: { groupWeights: { latency: 100 } },
        templates: {},
      });
      const pipeline = await api(config, 'olivia', 'POST', '/pipelines', {
        application: 'shop',
        name: 'canary',
        stages: [
          {
            refId: '1',
            type: 'kayentaCanary',
            name: 'Canary analysis',
            canaryConfig: {
              canaryConfigId,
              metricsAccountName: 'metrics',
              scopes: [
                {
                  controlScope: 'baseline',
                  controlLocation: 'local',
                  experimentScope: 'canary',
                  experimentLocation: 'local',
                  startTimeIso: '2026-12-02T07:00:00Z',
                  endTimeIso: '2026-12-02T07:05:00Z',
                  step: 10,
                },
              ],
              scoreThresholds: { pass: 80, marginal: 60 },
            },
          },
        ],
      });
      const { ref } = await api(config, 'olivia', 'POST', `/pipelines/shop/${pipeline.id}`, {});
      await until('the canary stage to fail', async () => (await api(config, 'olivia', 'GET', ref)).status === 'TERMINAL');
      await signedIn(context, config, 'olivia');
      await openDetails(page, config, 'shop', ref.split('/').pop());
      assert.match(await page.getByTestId('execution-error').textContent(), /not above the marginal score threshold 60/);
      await page.getByTestId('canary-links').getByRole('link', { name: 'Run Canary #1 (score 0)' }).click();
      await page.getByTestId('canary-report').waitFor({ timeout: TIMEOUT });
      assert.match(await page.getByTestId('canary-score').textContent(), /^0 Fail$/);
      assert.equal(await page.getByTestId('canary-verdict').textContent(), 'Fail: score 0 is at or below the marginal threshold 60 (p99 was classified as High)');
      const metric = page.getByTestId('canary-metric');
      assert.equal(await metric.getAttribute('data-classification'), 'High');
      assert.match(await metric.textContent(), /p99 was classified as High/);
      const chart = page.getByTestId('metric-chart');
      await chart.waitFor({ timeout: TIMEOUT });
      const heights = async (series) =>
        (await chart.getByTestId(series).getAttribute('points')).split(' ').map((point) => Number(point.split(',')[1]));
      const [baseline, canary] = [await heights('series-control'), await heights('series-experiment')];
      assert.equal(baseline.length, 31);
      assert.equal(canary.length, 31);
      // y grows downwards: the slower canary is drawn above its baseline at every sample
      assert.ok(canary.every((y, index) => y < baseline[index]), 'the canary series is drawn above the baseline');
      await shot('canary');
      await page.getByRole('link', { name: '← Canary runs' }).click();
      const run = page.getByTestId('canary-run');
      await run.first().waitFor({ timeout: TIMEOUT });
      assert.equal(await run.count(), 1);
      assert.match(await run.textContent(), /latency.*Fail: score 0 is at or below the marginal threshold 60/);
    },
  ],
  [
    'resize_a_server_group',
    async ({ page, context, config, shared, shot }) => {
      const deploy = await api(config, 'admin', 'POST', '/pipelines', {
        application: 'shop',
        name: 'deploy',
        stages: [
          {
            refId: '1',
            type: 'createServerGroup',
            name: 'Deploy v1',
            application: 'shop',
            stack: 'web',
            credentials: 'local',
            cloudProvider: 'local',
            capacity: { min: 1, max: 1, desired: 1 },
            command: config.hello,
            env: { HELLO_VERSION: 'v1' },
            healthCheckPath: '/health',
            stopTimeoutSeconds: 5,
            waitForUpTimeoutSeconds: 30,
            strategy: 'highlander',
          },
        ],
      });
      const { ref } = await api(config, 'admin', 'POST', `/pipelines/shop/${deploy.id}`, {});
      await until('the deploy to succeed', async () => (await api(config, 'admin', 'GET', ref)).status === 'SUCCEEDED', 60_000);
      const deployed = await api(config, 'admin', 'GET', ref);
      const steps = deployed.stages.filter((stage) => stage.parentStageId).length;
      assert.ok(steps > 0, 'a highlander deploy has synthetic steps');
      await signedIn(context, config, 'olivia');
      await openDetails(page, config, 'shop', deployed.id);
      assert.equal(await page.getByTestId('stage-node').count(), 1, 'synthetic stages are folded under their stage');
      assert.match(await page.getByTestId('stage-node').textContent(), new RegExp(`\\+${steps} steps`));
      assert.equal(await page.getByTestId('stage-details').locator('h3', { hasText: 'Steps' }).count(), 1);

      await page.goto(at(config, 'applications/shop/clusters'));
      const group = page.locator('[data-testid=server-group][data-name="shop-web-v000"]');
      await group.waitFor({ timeout: TIMEOUT });
      assert.match(await group.getByTestId('capacity').textContent(), /1 \/ 1 \/ 1/);
      await group.getByRole('button', { name: 'Resize' }).click();
      const form = page.getByTestId('resize-form');
      await form.locator('input[name=max]').fill('2');
      await form.locator('input[name=desired]').fill('2');
      await form.getByRole('button', { name: 'Resize' }).click();
      await until('the resize dialog to close', async () => (await page.getByTestId('resize-form').count()) === 0, 90_000);
      await until('two healthy instances', async () => (await group.locator('.instance.health-up').count()) === 2, 30_000);
      assert.match(await group.getByTestId('capacity').textContent(), /1 \/ 2 \/ 2/);
      shared.serverGroup = 'shop-web-v000';
      await shot('clusters');
    },
  ],
  [
    'a_read_only_user_sees_no_action_buttons',
    async ({ page, context, config, shared }) => {
      await signedIn(context, config, 'victor');
      await page.goto(at(config, 'applications/shop/executions'));
      await page.locator('[data-testid=pipeline][data-name="release"]').waitFor();
      assert.equal(await page.getByText('read only').count(), 1);
      for (const name of ['Start manual execution', 'Create pipeline', 'Disable', 'Configure', 'Cancel execution']) {
        assert.equal(await page.getByRole('button', { name, exact: true }).count(), 0, `${name} is shown to a reader`);
      }
      assert.equal(await page.getByRole('link', { name: 'Configure', exact: true }).count(), 0);
      assert.equal(await page.getByTestId('trigger-toggle').first().isDisabled(), true);

      await openDetails(page, config, 'shop', shared.runId);
      assert.equal(await page.getByRole('button', { name: 'Restart stage' }).count(), 0);

      await page.goto(at(config, 'applications/shop/clusters'));
      await page.locator(`[data-testid=server-group][data-name="${shared.serverGroup}"]`).waitFor({ timeout: TIMEOUT });
      for (const name of ['Resize', 'Disable', 'Destroy']) {
        assert.equal(await page.getByRole('button', { name, exact: true }).count(), 0, `${name} is shown to a reader`);
      }
      await page.goto(at(config, 'applications/shop/config'));
      assert.equal(await page.getByTestId('your-access').textContent(), 'READ');
      assert.equal(await page.getByRole('button', { name: 'Edit application' }).count(), 0);
      assert.equal(await page.getByRole('button', { name: 'Delete application' }).count(), 0);

      await page.goto(at(config, 'applications/payments/executions'));
      const refusal = await page.getByRole('alert').textContent({ timeout: TIMEOUT });
      assert.match(refusal, /Access denied to application payments - required authorization: READ/);
      await page.goto(at(config, 'applications'));
      await until('the list to load', async () => (await page.locator('[data-testid=applications] tbody tr').count()) === 1);
    },
  ],
  [
    'names_and_contexts_render_as_text',
    async ({ page, context, config }) => {
      const probe = '<img src=x onerror=alert(1)>';
      const saved = await api(config, 'admin', 'POST', '/pipelines', {
        application: 'shop',
        name: probe,
        stages: [{ refId: '1', type: 'wait', name: '<script>window.__xss = 1</script>', waitTime: 0, note: '<b onmouseover=alert(2)>x</b>' }],
      });
      const { ref } = await api(config, 'admin', 'POST', `/pipelines/shop/${saved.id}`, {});
      await until('the probe to finish', async () => (await api(config, 'admin', 'GET', ref)).status === 'SUCCEEDED');
      const dialogs = [];
      page.on('dialog', async (dialog) => {
        dialogs.push(dialog.message());
        await dialog.dismiss();
      });
      await signedIn(context, config, 'olivia');
      await page.goto(at(config, 'applications/shop/executions'));
      const heading = page.locator(`[data-testid=pipeline][data-name="${probe}"] h2`);
      assert.equal(await heading.textContent({ timeout: TIMEOUT }), probe);
      await openDetails(page, config, 'shop', ref.split('/').pop());
      assert.match(await page.getByTestId('stage-details').textContent(), /onmouseover=alert\(2\)/);
      assert.equal(await page.locator('img, script:not([src]), b[onmouseover]').count(), 0);
      assert.equal(await page.evaluate(() => window.__xss), undefined);
      assert.deepEqual(dialogs, []);
    },
  ],
  [
    'a_lost_event_stream_reconnects_with_last_event_id',
    async ({ page, context, config, shared }) => {
      await signedIn(context, config, 'olivia');
      const resumedWith = [];
      let first = true;
      let release;
      const held = new Promise((resolve) => (release = resolve));
      await page.route('**/events/stream**', async (route) => {
        if (first) {
          first = false;
          const event = { id: 'evt-before-the-cut', type: 'io.gennaker.system.note.v1', specversion: '1.0', source: 'test', data: {} };
          await route.fulfill({ status: 200, contentType: 'text/event-stream', body: `id: evt-before-the-cut\ndata: ${JSON.stringify(event)}\n\n` });
          return;
        }
        resumedWith.push(route.request().headers()['last-event-id']);
        await held; // the badge says "reconnecting" until the stream answers again: hold it until seen
        await route.continue();
      });
      await openDetails(page, config, 'shop', shared.runId);
      const badge = page.getByTestId('stream-state');
      await until('the badge to say it is reconnecting', async () => (await badge.getAttribute('data-state')) === 'reconnecting');
      assert.match(await badge.textContent(), /^reconnecting… \(the event stream ended; reconnecting in [\d.]+ s\)$/);
      release();
      await until('the stream to be live again', async () => (await badge.getAttribute('data-state')) === 'live');
      assert.equal(resumedWith[0], 'evt-before-the-cut');
    },
  ],
  [
    'disable_enable_and_destroy_the_server_group',
    async ({ page, context, config, shared }) => {
      await signedIn(context, config, 'olivia');
      page.on('dialog', (dialog) => dialog.accept());
      await page.goto(at(config, 'applications/shop/clusters'));
      const group = page.locator(`[data-testid=server-group][data-name="${shared.serverGroup}"]`);
      await group.getByRole('button', { name: 'Disable', exact: true }).click();
      await until('the server group to be disabled', async () => (await group.getByText('disabled', { exact: true }).count()) === 1, 60_000);
      await group.getByRole('button', { name: 'Enable', exact: true }).click();
      await until('the server group to be enabled', async () => (await group.getByText('disabled', { exact: true }).count()) === 0, 60_000);
      await group.getByRole('button', { name: 'Destroy' }).click();
      await until('the server group to be gone', async () => (await group.count()) === 0, 90_000);
    },
  ],
  [
    'edit_stages_in_the_form_skip_a_wait_and_restart_a_stage',
    async ({ page, context, config }) => {
      await signedIn(context, config, 'olivia');
      page.on('dialog', (dialog) => dialog.accept());
      await page.goto(at(config, 'applications/shop/executions'));
      await page.getByRole('button', { name: 'Create pipeline' }).click();
      await page.locator('input[name=pipelineName]').fill('soak');
      await page.getByRole('button', { name: 'Create', exact: true }).click();
      const editor = page.getByTestId('pipeline-editor');
      await editor.waitFor();
      await editor.getByRole('button', { name: 'Add stage' }).click();
      await editor.getByRole('button', { name: 'Add stage' }).click();
      const [soak, record] = [editor.getByTestId('stage-form').nth(0), editor.getByTestId('stage-form').nth(1)];
      await soak.locator('input[name=name]').fill('Long soak');
      await soak.locator('input[name=waitTime]').fill('600');
      await record.locator('select[name=type]').selectOption('evaluateVariables');
      await record.locator('input[name=name]').fill('Record');
      await record.locator('textarea[name=variables]').fill('region=eu-west-1');
      await record.locator('textarea[name=variables]').blur();
      await page.getByTestId('save-pipeline').click();
      await page.getByText('Saved', { exact: true }).waitFor({ timeout: TIMEOUT });
      const saved = await api(config, 'olivia', 'GET', '/applications/shop/pipelineConfigs/soak');
      assert.deepEqual(
        saved.stages.map((stage) => [stage.refId, stage.requisiteStageRefIds, stage.type, stage.name]),
        [['1', [], 'wait', 'Long soak'], ['2', ['1'], 'evaluateVariables', 'Record']],
      );
      assert.equal(saved.stages[0].waitTime, 600);
      assert.deepEqual(saved.stages[1].variables, [{ key: 'region', value: 'eu-west-1' }]);

      await page.getByRole('link', { name: '← Pipelines' }).click();
      const id = await runFromList(page, 'soak');
      const node = (name) => page.locator('[data-testid=stage-node]', { hasText: name });
      await until('Long soak to wait', async () => (await node('Long soak').getAttribute('data-status')) === 'RUNNING');
      await node('Long soak').click();
      await page.getByRole('button', { name: 'Skip remaining wait' }).click();
      await until('the execution to succeed', async () => (await executionStatus(page)) === 'SUCCEEDED');
      await node('Record').click();
      await page.getByRole('button', { name: 'Restart stage' }).click();
      await until('Record to have run again', async () => {
        const execution = await api(config, 'olivia', 'GET', `/pipelines/${id}`);
        const stage = execution.stages.find((item) => item.name === 'Record');
        return execution.status === 'SUCCEEDED' && stage.context.restartDetails?.restartedBy === 'olivia';
      });
      await until('the page to show it succeeded again', async () => (await executionStatus(page)) === 'SUCCEEDED');
      assert.equal(await node('Record').getAttribute('data-status'), 'SUCCEEDED');
    },
  ],
  [
    'scale_and_destroy_a_kubernetes_server_group',
    async ({ page, context, config, shot }) => {
      const labels = { app: 'web' };
      const deploy = await api(config, 'admin', 'POST', '/pipelines', {
        application: 'shop',
        name: 'deploy to kubernetes',
        stages: [
          {
            refId: '1',
            type: 'deployManifest',
            name: 'Deploy web',
            account: 'k8s',
            cloudProvider: 'kubernetes',
            source: 'text',
            moniker: { app: 'shop' },
            waitForUpTimeoutSeconds: 20,
            manifests: [
              {
                apiVersion: 'apps/v1',
                kind: 'ReplicaSet',
                metadata: { name: 'web' },
                spec: {
                  replicas: 1,
                  selector: { matchLabels: labels },
                  template: { metadata: { labels }, spec: { containers: [{ name: 'main', image: 'nginx:1.27' }] } },
                },
              },
              { apiVersion: 'v1', kind: 'Service', metadata: { name: 'web' }, spec: { selector: labels, ports: [{ port: 80 }] } },
            ],
          },
        ],
      });
      const { ref } = await api(config, 'admin', 'POST', `/pipelines/shop/${deploy.id}`, {});
      await until('the manifest to be deployed', async () => (await api(config, 'admin', 'GET', ref)).status === 'SUCCEEDED', 60_000);

      await signedIn(context, config, 'olivia');
      page.on('dialog', (dialog) => dialog.accept());
      await page.goto(at(config, 'applications/shop/clusters'));
      const group = page.locator('[data-testid=server-group][data-name="replicaSet web-v000"]');
      await group.waitFor({ timeout: TIMEOUT });
      assert.match(await group.textContent(), /v000.*k8s · ReplicaSet in namespace web/);
      assert.match(await group.getByTestId('capacity').textContent(), /1 \/ 1 \/ 1/);
      await until('its pod to be up', async () => (await group.locator('.instance.health-up').count()) === 1);
      for (const name of ['Enable', 'Disable']) {
        assert.equal(await group.getByRole('button', { name, exact: true }).count(), 0, `${name} is offered on a kubernetes server group`);
      }
      await group.getByRole('button', { name: 'Resize' }).click();
      const form = page.getByTestId('resize-form');
      assert.equal(await form.locator('input[name=min], input[name=max]').count(), 0, 'a kubernetes workload has replicas only');
      await form.getByLabel('Replicas').fill('3');
      await form.getByRole('button', { name: 'Resize' }).click();
      await until('the resize dialog to close', async () => (await page.getByTestId('resize-form').count()) === 0, 60_000);
      await until('three pods up', async () => (await group.locator('.instance.health-up').count()) === 3, 30_000);
      assert.match(await group.getByTestId('capacity').textContent(), /3 \/ 3 \/ 3/);
      await shot('clusters-kubernetes');

      await page.getByRole('link', { name: 'Load balancers' }).click();
      const service = page.locator('[data-testid=load-balancer]', { hasText: 'service web' });
      await service.waitFor({ timeout: TIMEOUT });
      assert.match(await service.textContent(), /k8s · web.*v000.*replicaSet web-v000.*enabled.*3 \/ 3 up/);

      await page.getByRole('link', { name: 'Clusters' }).click();
      await group.getByRole('button', { name: 'Destroy' }).click();
      await until('the server group to be gone', async () => (await group.count()) === 0, 60_000);
      const left = await api(config, 'olivia', 'GET', '/applications/shop/serverGroups');
      assert.equal(left.filter((item) => item.account === 'k8s').length, 0);
    },
  ],
  [
    'see_the_artifacts_a_webhook_brought_and_a_deploy_made',
    async ({ page, context, config, shot }) => {
      // a webhook brings a docker image, a base64 manifest and a file nobody expects; the pipeline
      // binds the first two (and a default for a third it expects), deploys the manifest, and the
      // execution's page lists all of it, the manifest's content never shown
      const configMap = [
        'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: web-config\ndata:\n  greeting: hello\n',
        'apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: storefront\nspec:\n  replicas: 1\n  selector:\n    matchLabels: {app: storefront}\n',
        '  template:\n    metadata:\n      labels: {app: storefront}\n    spec:\n      containers:\n      - name: main\n        image: index.docker.io/acme/shop\n',
      ].join('').replace('greeting: hello\n', 'greeting: hello\n---\n');
      const encoded = Buffer.from(configMap).toString('base64');
      const image = { type: 'docker/image', name: 'index.docker.io/acme/shop', version: 'v9.1', reference: 'index.docker.io/acme/shop:v9.1' };
      const manifest = { type: 'embedded/base64', name: 'web-config', reference: encoded };
      const extra = { type: 'github/file', name: 'deploy/notes.md', version: 'abc123', reference: 'https://api.github.com/repos/acme/shop/contents/deploy/notes.md' };
      const values = { type: 'http/file', name: 'values.yaml', reference: 'https://example.com/values.yaml' };
      const created = await api(config, 'admin', 'POST', '/pipelines', {
        application: 'shop',
        name: 'release from ci',
        expectedArtifacts: [
          { id: 'shop-image', displayName: 'shop image', matchArtifact: { type: 'docker/image', name: 'index.docker.io/acme/shop' } },
          { id: 'web-config', displayName: 'web config', matchArtifact: { type: 'embedded/base64', name: 'web-config' } },
          { id: 'values', displayName: 'chart values', matchArtifact: { type: 'http/file', name: 'values.yaml' }, useDefaultArtifact: true, defaultArtifact: values },
        ],
        triggers: [{ type: 'webhook', source: 'shop-artifacts', enabled: true, expectedArtifactIds: ['shop-image', 'web-config'] }],
        stages: [
          {
            refId: '1',
            type: 'deployManifest',
            name: 'Deploy config',
            account: 'k8s',
            cloudProvider: 'kubernetes',
            source: 'artifact',
            manifestArtifactId: 'web-config',
            requiredArtifactIds: ['shop-image'],
            moniker: { app: 'shop' },
            waitForUpTimeoutSeconds: 20,
          },
        ],
      });
      const answer = await fetch(new URL('/webhooks/webhook/shop-artifacts', config.url), {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ artifacts: [image, manifest, extra] }),
      });
      assert.equal(answer.status, 200, await answer.text());
      const execution = await until('the webhook to start the pipeline', async () => {
        const found = await api(config, 'admin', 'GET', `/executions?pipelineConfigIds=${created.id}`);
        return found.find((item) => item.status === 'SUCCEEDED' || ['TERMINAL', 'CANCELED'].includes(item.status));
      }, 60_000);
      assert.equal(execution.status, 'SUCCEEDED', JSON.stringify(execution.stages.map((stage) => stage.context?.exception ?? stage.status)));

      await signedIn(context, config, 'victor');
      await page.goto(at(config, 'applications/shop/executions'));
      const summary = page.locator('[data-testid=pipeline][data-name="release from ci"]').getByTestId('trigger-artifact-summary');
      await summary.waitFor({ timeout: TIMEOUT });
      assert.match(await summary.textContent(), /docker index\.docker\.io\/acme\/shop v9\.1.*embedded web-config.*http values\.yaml.*\+1 more/);
      await openDetails(page, config, 'shop', execution.id);
      const rows = page.getByTestId('trigger-artifact-list').getByTestId('artifact');
      await until('the trigger artifacts listed', async () => (await rows.count()) === 4);
      const row = (type) => page.getByTestId('trigger-artifact-list').locator(`[data-testid=artifact][data-type="${type}"]`);
      assert.match(await row('docker/image').textContent(), /docker.*index\.docker\.io\/acme\/shop.*v9\.1.*index\.docker\.io\/acme\/shop:v9\.1.*“shop image”/);
      assert.match(await row('embedded/base64').textContent(), /embedded.*web-config.*embedded content, \d+ bytes \(not shown\).*“web config”/);
      assert.match(await row('github/file').textContent(), /github.*deploy\/notes\.md.*abc123.*not bound to an expected artifact/);
      assert.match(await row('http/file').textContent(), /values\.yaml.*“chart values” \(its default artifact/);
      assert.match(await page.getByTestId('trigger-artifacts').textContent(), /1 artifact the trigger brought was not bound/);

      const stage = page.getByTestId('stage-artifacts');
      const consumed = await stage.getByTestId('consumed-artifacts').textContent();
      assert.match(consumed, /embedded.*web-config.*embedded content, \d+ bytes \(not shown\).*“web config”/);
      assert.match(consumed, /docker.*index\.docker\.io\/acme\/shop.*v9\.1.*“shop image”/);
      assert.match(await stage.getByTestId('produced-artifacts').textContent(), /k8s.*kubernetes\/configMap.*web-config-v000/);
      assert.match(await stage.getByTestId('stage-manifests').textContent(), /ConfigMap web-config-v000 in namespace web.*Deployment storefront in namespace web/);
      const body = await page.locator('body').textContent();
      assert.ok(!body.includes(encoded) && !body.includes('greeting: hello'), "the page shows the embedded manifest's content");
      await shot('execution-artifacts');
      await stage.getByTestId('stage-manifests').locator('li', { hasText: 'Deployment storefront' }).getByRole('button', { name: 'Status now' }).click();
      await until('the deployed Deployment read live', async () =>
        /deployment storefront in k8s, namespace web.*Stable.*index\.docker\.io\/acme\/shop:v9\.1/.test(await page.getByTestId('manifest-status').textContent().catch(() => '')),
      );
      await page.keyboard.press('Escape');
      await page.getByText('Context', { exact: true }).click();
      await page.getByText('Outputs', { exact: true }).click();
      assert.ok(!(await page.locator('body').textContent()).includes(encoded), "the stage's context shows the embedded manifest's content");

      // the Deployment groups its ReplicaSet in the clusters view; its live status names the image it runs
      await page.goto(at(config, 'applications/shop/clusters'));
      const manager = page.locator('[data-testid=server-group-manager][data-name="deployment storefront"]');
      await manager.waitFor({ timeout: TIMEOUT });
      assert.match(await manager.getByTestId('manager-header').textContent(), /Deployment storefront.*k8s · namespace web · manages 1 ReplicaSet/);
      assert.match(await manager.getByTestId('server-group').getAttribute('data-name'), /^replicaSet storefront-/);
      await manager.getByTestId('manager-header').getByRole('button', { name: 'Manifest status' }).click();
      const status = page.getByTestId('manifest-status');
      await status.waitFor({ timeout: TIMEOUT });
      await until('the Deployment to read stable', async () => {
        if (/^Stable/.test(await status.locator('[data-condition=stable]').textContent())) return true;
        await status.getByRole('button', { name: 'Read again' }).click();
        return false;
      });
      assert.match(await status.getByTestId('manifest-artifacts').textContent(), /docker.*index\.docker\.io\/acme\/shop.*v9\.1/);
      assert.match(await status.getByTestId('manifest-events').textContent(), /ScalingReplicaSet/);
      await shot('manifest-status');
      await api(config, 'admin', 'POST', '/pipelines/start', {
        application: 'shop',
        name: 'clean up storefront',
        stages: [
          { refId: '1', type: 'deleteManifest', account: 'k8s', cloudProvider: 'kubernetes', location: 'web', manifestName: 'deployment storefront', mode: 'static', options: { cascading: true } },
          { refId: '2', type: 'deleteManifest', account: 'k8s', cloudProvider: 'kubernetes', location: 'web', manifestName: 'configMap web-config-v000', mode: 'static' },
        ],
        trigger: { type: 'manual' },
      }).then(({ ref }) => until('the clean-up to finish', async () => (await api(config, 'admin', 'GET', ref)).status === 'SUCCEEDED'));
      await api(config, 'admin', 'DELETE', `/pipelines/shop/${encodeURIComponent('release from ci')}`);
    },
  ],
  [
    'resize_disable_and_destroy_an_aws_server_group',
    async ({ page, context, config }) => {
      const deploy = await api(config, 'admin', 'POST', '/pipelines', {
        application: 'shop',
        name: 'deploy to aws',
        stages: [
          {
            refId: '1',
            type: 'createServerGroup',
            name: 'Deploy api',
            application: 'shop',
            stack: 'api',
            credentials: 'aws-prod',
            cloudProvider: 'aws',
            region: 'us-east-1',
            capacity: { min: 1, max: 1, desired: 1 },
            amiName: 'hello-1.0.0',
            instanceType: 't3.small',
            waitForUpTimeoutSeconds: 30,
          },
        ],
      });
      const { ref } = await api(config, 'admin', 'POST', `/pipelines/shop/${deploy.id}`, {});
      await until('the aws deploy to succeed', async () => (await api(config, 'admin', 'GET', ref)).status === 'SUCCEEDED', 60_000);

      await signedIn(context, config, 'olivia');
      page.on('dialog', (dialog) => dialog.accept());
      await page.goto(at(config, 'applications/shop/clusters'));
      const group = page.locator('[data-testid=server-group][data-name="shop-api-v000"]');
      await group.waitFor({ timeout: TIMEOUT });
      assert.match(await group.textContent(), /v000.*aws-prod · us-east-1/);
      assert.match(await group.getByTestId('capacity').textContent(), /1 \/ 1 \/ 1.*1 instances/);
      await group.getByRole('button', { name: 'Resize' }).click();
      const form = page.getByTestId('resize-form');
      await form.locator('input[name=max]').fill('3');
      await form.locator('input[name=desired]').fill('2');
      await form.getByRole('button', { name: 'Resize' }).click();
      await until('the resize dialog to close', async () => (await page.getByTestId('resize-form').count()) === 0, 60_000);
      await until('the new capacity shown', async () => /1 \/ 2 \/ 3.*2 instances/.test(await group.getByTestId('capacity').textContent()), 30_000);
      await group.getByRole('button', { name: 'Disable', exact: true }).click();
      await until('the aws server group to be disabled', async () => (await group.getByText('disabled', { exact: true }).count()) === 1, 60_000);
      await group.getByRole('button', { name: 'Destroy' }).click();
      await until('the aws server group to be gone', async () => (await group.count()) === 0, 60_000);
    },
  ],
  [
    'a_locked_pipeline_refuses_a_ui_save',
    async ({ page, context, config, shot }) => {
      await signedIn(context, config, 'olivia');
      const lock = { ui: true, allowUnlockUi: true, description: 'Managed by Dinghy: acme/shop/dinghyfile' };
      const saved = await api(config, 'olivia', 'POST', '/pipelines', { application: 'shop', name: 'managed', stages: [], locked: lock });
      await assert.rejects(api(config, 'olivia', 'POST', '/pipelines', { ...saved, description: 'edited' }), /409.*Managed by Dinghy/);

      await page.goto(at(config, 'applications/shop/executions'));
      const group = page.locator('[data-testid=pipeline][data-name="managed"]');
      await group.getByTestId('locked-badge').waitFor({ timeout: TIMEOUT });
      assert.equal(await group.getByRole('button', { name: 'Disable' }).count(), 0);
      await page.goto(at(config, `applications/shop/executions/configure/${encodeURIComponent(saved.id)}`));
      const banner = await page.getByTestId('pipeline-locked').textContent({ timeout: TIMEOUT });
      assert.match(banner, /Locked: Managed by Dinghy: acme\/shop\/dinghyfile/);
      assert.equal(await page.getByTestId('save-pipeline').count(), 0);
      await shot('pipeline-locked');

      await page.getByTestId('unlock-pipeline').click();
      await page.getByTestId('save-pipeline').waitFor({ timeout: TIMEOUT });
      assert.equal(await page.getByTestId('pipeline-locked').count(), 0);
      await api(config, 'olivia', 'DELETE', '/pipelines/shop/managed');
    },
  ],
  [
    'see_what_dinghy_applied_from_git',
    async ({ page, context, config, shot }) => {
      await signedIn(context, config, 'admin');
      const post = async (push) => {
        const answer = await fetch(new URL('/v1/webhooks/github', config.url), {
          method: 'POST',
          headers: { 'Content-Type': 'application/json', 'X-GitHub-Event': 'push', 'X-Hub-Signature-256': push.signature },
          body: push.body,
        });
        assert.equal(answer.status, 200, await answer.text());
      };
      const [good, broken] = config.dinghyPushes;
      await post(good);
      await until('Dinghy to apply the dinghyfile', async () => {
        const history = await api(config, 'admin', 'GET', '/dinghy/applications/dinghyshop/history').catch(() => []);
        return history.length > 0 && history[0].outcome === 'applied';
      });
      await post(broken);
      await until('Dinghy to refuse the broken dinghyfile', async () => {
        const history = await api(config, 'admin', 'GET', '/dinghy/applications/dinghyshop/history').catch(() => []);
        return history.length > 1 && history[0].outcome === 'failed';
      });
      await page.goto(at(config, 'applications/dinghyshop/config'));
      const table = page.getByTestId('dinghy-history');
      await table.waitFor({ timeout: TIMEOUT });
      const failed = table.locator('tbody tr').first();
      assert.match(await failed.getByTestId('dinghy-error-at').textContent(), /^dinghyfile, line 21, column \d+$/);
      assert.match(await failed.getByTestId('dinghy-error').textContent(), /function "nope" not defined.*fix the dinghyfile and push again/);
      assert.equal(await failed.getByTestId('dinghy-commit').getAttribute('href'), `https://github.example/acme/shop-pipelines/commit/${broken.after}`);
      const row = await table.locator('tbody tr').nth(1).textContent();
      assert.match(row, /applied/);
      assert.match(row, /acme\/shop-pipelines\/dinghyfile@main/);
      assert.match(row, /Ada <ada@example\.com>/);
      assert.match(row, /create deploy from git/);
      await shot('dinghy-history');

      // the scenarios after this one list every application: take dinghyshop away again
      const removed = await api(config, 'admin', 'POST', '/tasks', {
        application: 'dinghyshop',
        job: [{ type: 'deleteApplication', application: { name: 'dinghyshop' } }],
      });
      await until('dinghyshop to be deleted', async () => (await api(config, 'admin', 'GET', removed.ref)).status === 'SUCCEEDED');
    },
  ],
  [
    'follow_a_jenkins_build_and_its_bakes',
    async ({ page, context, config, shot }) => {
      await signedIn(context, config, 'olivia');
      await api(config, 'olivia', 'POST', '/pipelines', {
        application: 'shop',
        name: 'build-and-bake',
        stages: [
          { refId: '1', requisiteStageRefIds: [], type: 'jenkins', name: 'Build', master: 'ci', job: 'hello/job/package', parameters: { VERSION: '1.0' }, propertyFile: 'build.properties' },
          { refId: '2', requisiteStageRefIds: ['1'], type: 'bake', name: 'Bake', package: '${PACKAGE}', baseOs: 'python', cloudProviderType: 'local', regions: ['local', 'local-b'] },
        ],
      });
      await page.goto(at(config, 'applications/shop/executions'));
      const id = await runFromList(page, 'build-and-bake');
      const node = (name) => page.locator('[data-testid=stage-node]', { hasText: name });
      await node('Bake').first().click();
      // selected before it runs: what follows must arrive live, without a reload
      await page.getByTestId('stage-details').getByText('No region is baking yet.').waitFor({ timeout: TIMEOUT });
      await until('the bakes to finish', async () => (await executionStatus(page)) === 'SUCCEEDED', 90_000);
      const regions = page.getByTestId('bake-region');
      await until('both regions shown', async () => (await regions.count()) === 2);
      for (const region of ['local', 'local-b']) {
        const shown = page.locator(`[data-testid=bake-region][data-region="${region}"]`);
        await until(`${region}'s image`, async () => /^hello-all-/.test(await shown.getByTestId('bake-image').textContent()));
        assert.match(await shown.getByTestId('bake-state').textContent(), /COMPLETED · SUCCESS/);
        await until(`${region}'s Packer log`, async () => /Builds finished/.test((await shown.getByTestId('stage-log').textContent().catch(() => '')) ?? ''));
      }
      await shot('bake');

      // a log Gate cannot give is a sentence saying what to do, not an empty box
      await page.route('**/bakery/logs/**', (route) =>
        route.fulfill({ status: 503, contentType: 'application/json', body: JSON.stringify({ status: 503, error: 'Service Unavailable', message: 'rosco did not answer in time' }) }),
      );
      await page.reload();
      await page.locator('[data-testid=bake-region][data-region=local]').getByTestId('log-error').waitFor({ timeout: TIMEOUT });
      assert.match(await page.getByTestId('log-error').first().textContent(), /Packer log could not be read: .*rosco did not answer in time.*reload the page to try now/);
      await page.unroute('**/bakery/logs/**');

      await node('Build').click();
      const build = page.getByTestId('jenkins-details');
      await until('the build to be shown', async () => (await build.getByTestId('jenkins-status').textContent().catch(() => '')) === 'SUCCESS');
      assert.equal(await build.getByTestId('jenkins-build').textContent(), '#1');
      assert.match(await build.getByTestId('jenkins-link').getAttribute('href'), /^http:\/\/127\.0\.0\.1:\d+\/job\/hello\/job\/package\/1\/?$/);
      assert.match(await build.getByTestId('jenkins-properties').textContent(), /PACKAGE\s*hello_1\.0-1_all/);
      const execution = await api(config, 'olivia', 'GET', `/pipelines/${id}`);
      assert.equal(execution.status, 'SUCCEEDED');
    },
  ],
  [
    'judge_a_terraform_plan_and_see_its_outputs',
    async ({ page, context, config, shot }) => {
      await signedIn(context, config, 'olivia');
      const main = [
        'resource "terraform_data" "bucket" {\n  input = "shop-bucket"\n}',
        'output "bucket" {\n  value = terraform_data.bucket.output\n}',
        'output "secret" {\n  value     = "s3cr3t"\n  sensitive = true\n}',
      ].join('\n');
      const source = [{ artifact: { type: 'inline', name: 'main.tf', reference: main } }];
      await api(config, 'olivia', 'POST', '/pipelines', {
        application: 'shop',
        name: 'infra',
        stages: [
          { refId: '1', requisiteStageRefIds: [], type: 'terraform', name: 'Plan', action: 'plan', artifacts: source },
          { refId: '2', requisiteStageRefIds: ['1'], type: 'manualJudgment', name: 'Review plan', instructions: 'Apply this plan?' },
          { refId: '3', requisiteStageRefIds: ['2'], type: 'terraform', name: 'Apply', action: 'apply', artifacts: source },
        ],
      });
      await page.goto(at(config, 'applications/shop/executions'));
      await runFromList(page, 'infra');
      const node = (name) => page.locator('[data-testid=stage-node]', { hasText: name });
      await until('the plan to wait for judgment', async () => (await node('Review plan').getAttribute('data-status')) === 'RUNNING', 90_000);
      await node('Review plan').click();
      const judged = page.getByTestId('judged-plans');
      await judged.waitFor({ timeout: TIMEOUT });
      assert.match(await judged.getByTestId('plan-counts').textContent(), /1 to add, 0 to change, 0 to destroy/);
      assert.match(await judged.getByTestId('plan-resource').textContent(), /create\s*terraform_data\.bucket/);
      await shot('terraform-judgment');
      await page.getByTestId('judgment').getByRole('button', { name: 'Continue' }).click();
      await until('the apply to finish', async () => (await executionStatus(page)) === 'SUCCEEDED', 90_000);
      await node('Apply').click();
      const outputs = page.getByTestId('terraform-outputs');
      await until('the outputs', async () => /bucket\s*shop-bucket/.test((await outputs.textContent().catch(() => '')) ?? ''));
      assert.match(await outputs.textContent(), /secret\s*sensitive: hidden/);
      const details = page.getByTestId('terraform-details');
      await until('the Terraform log', async () => /Apply complete/.test((await details.getByTestId('stage-log').textContent().catch(() => '')) ?? ''));
      // the value is in the inline configuration (the stage's context), never in what Terraform showed
      assert.doesNotMatch(await details.textContent(), /s3cr3t/);
      await shot('terraform-apply');
    },
  ],
  [
    'edit_permissions_and_notifications_then_delete_an_application',
    async ({ page, context, config }) => {
      await signedIn(context, config, 'olivia');
      page.on('dialog', (dialog) => dialog.accept());
      await page.goto(at(config, 'applications/shop/config'));
      await page.getByRole('button', { name: 'Edit application' }).click();
      const form = page.getByTestId('application-form');
      await form.getByRole('button', { name: 'Add role' }).click();
      await form.getByLabel('Role 3', { exact: true }).fill('shop-auditors');
      await form.getByLabel('Access of role 3').selectOption('READ_EXECUTE');
      await form.getByRole('button', { name: 'Save', exact: true }).click();
      await until('the dialog to close', async () => (await page.getByTestId('application-form').count()) === 0);
      await until('the new role shown', async () => (await page.locator('.pairs').textContent()).includes('shop-owners, shop-auditors'));
      const shop = await api(config, 'admin', 'GET', '/applications/shop');
      assert.deepEqual(shop.attributes.permissions, {
        READ: ['shop-owners', 'shop-viewers', 'shop-auditors'],
        WRITE: ['shop-owners'],
        EXECUTE: ['shop-owners', 'shop-auditors'],
      });

      await page.getByRole('button', { name: 'Add notification' }).click();
      const row = page.locator('.notification').first();
      await row.getByLabel('Channel').selectOption('slack');
      await row.getByLabel('Address').fill('#shop-deploys');
      await row.getByLabel('pipeline.complete').check();
      await page.getByRole('button', { name: 'Save notifications' }).click();
      await page.getByText('Saved', { exact: true }).waitFor({ timeout: TIMEOUT });
      const notifications = await until('the notification to be stored', async () => {
        const stored = await api(config, 'olivia', 'GET', '/notifications/application/shop');
        return stored.slack?.length ? stored : null;
      });
      assert.deepEqual(
        notifications.slack.map(({ address, when, level }) => ({ address, when, level })),
        [{ address: '#shop-deploys', when: ['pipeline.failed', 'pipeline.complete'], level: 'application' }],
      );
      await page.reload();
      assert.equal(await page.locator('.notification').getByLabel('Address').inputValue({ timeout: TIMEOUT }), '#shop-deploys');

      await signedIn(context, config, 'admin');
      await page.goto(at(config, 'applications/payments/config'));
      await page.reload(); // a new hash is no new document: reload so the admin's token is the one used
      await page.getByRole('button', { name: 'Delete application' }).click();
      await page.getByRole('heading', { name: 'Applications' }).waitFor({ timeout: TIMEOUT });
      await until('payments to be gone', async () => {
        const response = await fetch(new URL('/applications/payments', config.url), { headers: { Authorization: `Bearer ${config.tokens.admin}` } });
        return response.status === 404;
      });
      await page.reload();
      await until('only shop listed', async () => (await page.locator('[data-testid=applications] tbody tr').allTextContents()).join().includes('shop') && (await page.locator('[data-testid=applications] tbody tr').count()) === 1);
    },
  ],
];

/** Run against a gateway in auth mode "oidc" whose provider signs `ann` in without asking. */
export const oidcScenarios = [
  [
    'sign_in_with_the_identity_provider',
    async ({ page, config }) => {
      await page.goto(at(config, 'applications'));
      await page.getByRole('button', { name: 'Sign in with your identity provider' }).click();
      await until('the user to be signed in', async () => (await page.getByTestId('user').textContent().catch(() => null)) === 'ann');
      assert.equal(new URL(page.url()).search, '', 'the code stays out of the address');
      assert.equal(new URL(page.url()).hash, '#/applications', 'the page is the one sign-in started from');
      const token = await page.evaluate(() => localStorage.getItem('gennaker.token'));
      const user = await (await fetch(new URL('/auth/user', config.url), { headers: { Authorization: `Bearer ${token}` } })).json();
      assert.equal(user.username, 'ann');
    },
  ],
];
