// What a bake, a jenkins and a terraform stage did, in the words their services use: each region's
// bake with its image and Packer log (followed live), the Jenkins build with its link and
// properties, Terraform's plan summary, outputs (sensitive ones hidden) and log.
//
// Logs and everything else the services return are rendered as text, never as HTML; a link is
// offered only for an http(s) URL.

import { Fragment } from 'preact';
import { get, messageOf, seg, type Json } from '../api';
import { Status } from '../components/common';
import { FINISHED, pretty } from '../format';
import type { Stage } from '../graph';
import { useLoad, useTick } from '../hooks';

const LOG_REFRESH_MS = 2000;

function text(value: unknown): string {
  return typeof value === 'string' || typeof value === 'number' ? String(value) : '';
}

function safeUrl(value: unknown): string | undefined {
  return typeof value === 'string' && /^https?:\/\//i.test(value) ? value : undefined;
}

/** The stage's log, read again on every change of ``version`` and, while ``live``, every 2 s. */
function useLog(path: string | undefined, version: string, live: boolean, read: (answer: Json) => string) {
  const now = useTick(live, LOG_REFRESH_MS);
  const tick = live ? Math.floor(now / LOG_REFRESH_MS) : 0;
  return useLoad(`${path ?? ''}:${version}:${tick}`, async () => (path ? read(await get<Json>(path)) : ''));
}

function LogView({ what, loaded, pending }: { what: string; loaded: { data?: string; error?: Error }; pending?: string }) {
  if (pending) return <p class="hint">{pending}</p>;
  if (loaded.error)
    return (
      <div class="error" role="alert" data-testid="log-error">
        {`The ${what} could not be read: ${messageOf(loaded.error).replace(/\.$/, '')}. It is read again when the stage next changes; reload the page to try now.`}
      </div>
    );
  if (loaded.data === undefined) return <p class="hint">Reading the {what}…</p>;
  return (
    <pre class="json log" data-testid="stage-log">
      {loaded.data || `The ${what} is empty so far.`}
    </pre>
  );
}

function BakeRegion({ stage }: { stage: Stage }) {
  const context = stage.context ?? {};
  const status = (context.status ?? {}) as Json;
  const statusId = text(status.id) || text(context.bakeId);
  const region = text(context.region);
  const running = !FINISHED.has(stage.status);
  const path = statusId && region ? `/bakery/logs/${seg(region)}/${seg(statusId)}` : undefined;
  const log = useLog(path, `${text(status.state)}:${text(context.progress)}:${stage.status}`, running && !!path, (answer) => text(answer.logsContent));
  const state = [text(status.state), text(status.result)].filter(Boolean).join(' · ');
  const queued = typeof status.queuePosition === 'number' ? ` (${status.queuePosition} ahead in the queue)` : '';
  return (
    <div class="bake-region" data-testid="bake-region" data-region={region}>
      <h4>
        {region || 'region?'} <Status status={stage.status} />
      </h4>
      <dl class="pairs">
        <dt>Bake</dt>
        <dd data-testid="bake-state">{state ? `${state}${queued}` : 'not requested yet'}</dd>
        <dt>Image</dt>
        <dd data-testid="bake-image">{text(context.imageName) || text(context.ami) || '—'}</dd>
        {text(context.progress) && (
          <>
            <dt>Progress</dt>
            <dd>{text(context.progress)}</dd>
          </>
        )}
      </dl>
      <LogView what="bake's Packer log" loaded={log} pending={path ? undefined : 'The Packer log appears once Rosco has the bake.'} />
    </div>
  );
}

/** Every region's bake of a ``bake`` stage (its "Bake in <region>" steps), or the one region of a step. */
export function BakeDetails({ stage, stages }: { stage: Stage; stages: Stage[] }) {
  const regions = stage.parentStageId ? [stage] : stages.filter((item) => item.parentStageId === stage.id && item.type === 'bake');
  if (!regions.length) return <p class="hint">No region is baking yet.</p>;
  return (
    <section data-testid="bake-details">
      <h3>Bakes</h3>
      {regions.map((region) => (
        <BakeRegion key={region.id} stage={region} />
      ))}
    </section>
  );
}

function buildState(context: Json): string {
  const info = (context.buildInfo ?? {}) as Json;
  if (text(info.result)) return text(info.result);
  if (info.building === true) return 'building';
  if (context.buildNumber != null) return 'started';
  if (text(context.queuedBuild)) return `queued (queue item ${text(context.queuedBuild)})`;
  return 'not queued yet';
}

/** A ``jenkins`` stage's build: master, job, number, state, its link and the properties it produced. */
export function JenkinsDetails({ stage }: { stage: Stage }) {
  const context = stage.context ?? {};
  const info = (context.buildInfo ?? {}) as Json;
  const link = safeUrl(info.url);
  const properties = (context.propertyFileContents ?? stage.outputs?.propertyFileContents) as Json | undefined;
  return (
    <section data-testid="jenkins-details">
      <h3>Jenkins build</h3>
      <dl class="pairs">
        <dt>Master</dt>
        <dd>{text(context.master)}</dd>
        <dt>Job</dt>
        <dd>{text(context.job)}</dd>
        <dt>Build</dt>
        <dd data-testid="jenkins-build">{text(context.buildNumber ?? info.number) ? `#${text(context.buildNumber ?? info.number)}` : '—'}</dd>
        <dt>Status</dt>
        <dd data-testid="jenkins-status">{buildState(context)}</dd>
      </dl>
      {link && (
        <p>
          <a class="btn btn-plain" href={link} target="_blank" rel="noopener noreferrer" data-testid="jenkins-link">
            Open the build on Jenkins
          </a>
        </p>
      )}
      {properties && typeof properties === 'object' && Object.keys(properties).length > 0 && (
        <>
          <h4>Properties</h4>
          <dl class="pairs" data-testid="jenkins-properties">
            {Object.entries(properties).map(([name, value]) => (
              <Fragment key={name}>
                <dt>{name}</dt>
                <dd>{typeof value === 'string' ? value : pretty(value)}</dd>
              </Fragment>
            ))}
          </dl>
        </>
      )}
    </section>
  );
}

const TERRAFORM_RESERVED = new Set(['artifacts', 'planSummary', 'workspace', 'sensitiveOutputs', 'resources', 'terraformLog']);

/** A plan's summary: the counts, then each resource's address and action. */
export function PlanSummary({ summary, title }: { summary: Json; title?: string }) {
  const resources = (Array.isArray(summary.resources) ? summary.resources : []) as Json[];
  return (
    <div class="plan-summary" data-testid="plan-summary">
      {title && <h4>{title}</h4>}
      <p data-testid="plan-counts">
        {resources.length
          ? `${text(summary.add) || 0} to add, ${text(summary.change) || 0} to change, ${text(summary.destroy) || 0} to destroy`
          : 'No changes: the infrastructure matches the configuration.'}
      </p>
      {resources.length > 0 && (
        <table class="grid">
          <tbody>
            {resources.map((resource) => (
              <tr key={text(resource.address)} data-testid="plan-resource">
                <td>{Array.isArray(resource.actions) ? resource.actions.join(', ') : ''}</td>
                <td>
                  <code>{text(resource.address)}</code>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </div>
  );
}

/** A ``terraform`` stage: its plan summary, its outputs (sensitive ones by name only) and its log. */
export function TerraformDetails({ stage }: { stage: Stage }) {
  const context = stage.context ?? {};
  const outputs = stage.outputs ?? {};
  const runId = text(context.terraformRunId);
  const running = !FINISHED.has(stage.status);
  const tail = Array.isArray(context.terraformLog) ? context.terraformLog.length : 0;
  const log = useLog(runId ? `/terraform/runs/${seg(runId)}` : undefined, `${stage.status}:${tail}`, running && !!runId, (answer) =>
    Array.isArray(answer.log) ? answer.log.map(text).join('\n') : '',
  );
  const shown = Object.entries(outputs).filter(([name]) => !TERRAFORM_RESERVED.has(name));
  const hidden = (Array.isArray(outputs.sensitiveOutputs) ? outputs.sensitiveOutputs : []).map(text);
  return (
    <section data-testid="terraform-details">
      <h3>Terraform {text(context.action)}</h3>
      {outputs.planSummary && typeof outputs.planSummary === 'object' && <PlanSummary summary={outputs.planSummary as Json} />}
      {(shown.length > 0 || hidden.length > 0) && (
        <>
          <h4>Outputs</h4>
          <dl class="pairs" data-testid="terraform-outputs">
            {shown.map(([name, value]) => (
              <Fragment key={name}>
                <dt>{name}</dt>
                <dd>{typeof value === 'string' ? value : pretty(value)}</dd>
              </Fragment>
            ))}
            {hidden.map((name) => (
              <Fragment key={name}>
                <dt>{name}</dt>
                <dd class="hint">sensitive: hidden</dd>
              </Fragment>
            ))}
          </dl>
        </>
      )}
      <h4>Terraform log</h4>
      <LogView what="Terraform log" loaded={log} pending={runId ? undefined : 'The log appears once Terraformer starts the run.'} />
    </section>
  );
}

/** The stage's own view, for the types that have one. */
export function StageKind({ stage, stages }: { stage: Stage; stages: Stage[] }) {
  if (stage.type === 'bake') return <BakeDetails stage={stage} stages={stages} />;
  if (stage.type === 'jenkins') return <JenkinsDetails stage={stage} />;
  if (stage.type === 'terraform') return <TerraformDetails stage={stage} />;
  return null;
}

/** The plans of the terraform stages upstream of ``stage`` (what a judgment after them decides on). */
export function upstreamPlans(stages: Stage[], stage: Stage): Stage[] {
  const byRef = new Map(stages.filter((item) => !item.parentStageId && item.refId).map((item) => [item.refId as string, item]));
  const seen = new Set<string>();
  const found: Stage[] = [];
  let frontier = [...(stage.requisiteStageRefIds ?? [])];
  while (frontier.length) {
    const next: string[] = [];
    for (const ref of frontier) {
      const upstream = byRef.get(ref);
      if (!upstream || seen.has(ref)) continue;
      seen.add(ref);
      if (upstream.type === 'terraform' && upstream.outputs?.planSummary) found.push(upstream);
      next.push(...(upstream.requisiteStageRefIds ?? []));
    }
    frontier = next;
  }
  return found;
}
