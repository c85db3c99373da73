// One execution: its stage graph, live; the selected stage's status, timing, tasks, context,
// outputs and error in words; and the actions Deck offers on it (cancel, pause/resume, judge a
// manual judgment, skip a wait, restart a stage); the artifacts its trigger brought and bound, and
// those each stage consumed and produced.

import { Fragment } from 'preact';
import { useCallback, useEffect, useRef, useState } from 'preact/hooks';
import { get, patch, put, seg, type Json } from '../api';
import { withoutEmbeddedContent } from '../artifacts';
import { ActionButton, ErrorText, Loading, Status } from '../components/common';
import { StageArtifacts, TriggerArtifacts } from '../components/Artifacts';
import { ExecutionActions } from '../components/ExecutionActions';
import { StageGraph } from '../components/StageGraph';
import { StreamBadge } from '../components/StreamBadge';
import { useEventStream } from '../events';
import { duration, FINISHED, label, pretty, when } from '../format';
import { failureOf, type Stage } from '../graph';
import { useAction, useTick } from '../hooks';
import { type Execution, triggerLabel } from '../pipelines';
import { href, navigate } from '../router';
import type { ApplicationView } from './ApplicationPage';
import { PlanSummary, StageKind, upstreamPlans } from './StageKinds';

/** A plan longer than this is not repeated under the judgment: its stage shows it. */
const JUDGED_PLAN_LIMIT = 50;

/** The plans a manual judgment decides on: those of the terraform stages upstream of it. */
function JudgedPlans({ stages, stage }: { stages: Stage[]; stage: Stage }) {
  const plans = upstreamPlans(stages, stage);
  if (!plans.length) return null;
  return (
    <section data-testid="judged-plans">
      <h3>Plan{plans.length > 1 ? 's' : ''} to judge</h3>
      {plans.map((plan) => {
        const summary = plan.outputs?.planSummary as Json;
        const size = Array.isArray(summary.resources) ? summary.resources.length : 0;
        return size > JUDGED_PLAN_LIMIT ? (
          <p key={plan.id} class="hint">{`${plan.name ?? plan.type}: ${size} resources change; select that stage to read its plan.`}</p>
        ) : (
          <PlanSummary key={plan.id} summary={summary} title={plan.name ?? plan.type} />
        );
      })}
    </section>
  );
}

const RESTARTABLE = new Set(['TERMINAL', 'CANCELED', 'STOPPED', 'FAILED_CONTINUE', 'SUCCEEDED']);

function Judgment({ execution, stage, onChanged }: { execution: Execution; stage: Stage; onChanged: () => void }) {
  const inputs = ((stage.context?.judgmentInputs as Json[] | undefined) ?? []).map((input) => String(input.value ?? ''));
  const [choice, setChoice] = useState(inputs[0] ?? '');
  const judge = useAction();
  const send = (judgmentStatus: 'continue' | 'stop') =>
    judge.run(async () => {
      const body: Json = { judgmentStatus };
      if (choice) body.judgmentInput = choice;
      await patch(`/pipelines/${seg(execution.id)}/stages/${seg(stage.id)}`, body);
      onChanged();
      return judgmentStatus === 'continue' ? 'Continuing…' : 'Stopping…';
    });
  return (
    <div class="judgment" data-testid="judgment">
      {typeof stage.context?.instructions === 'string' && <p class="instructions">{stage.context.instructions}</p>}
      {inputs.length > 0 && (
        <label class="inline">
          Judgment input
          <select value={choice} onChange={(event) => setChoice((event.target as HTMLSelectElement).value)}>
            {inputs.map((input) => (
              <option key={input} value={input}>
                {input}
              </option>
            ))}
          </select>
        </label>
      )}
      <button type="button" class="btn btn-primary" disabled={judge.busy} onClick={() => void send('continue')}>
        Continue
      </button>
      <button type="button" class="btn btn-danger" disabled={judge.busy} onClick={() => void send('stop')}>
        Stop
      </button>
      {judge.done && <span class="done">{judge.done}</span>}
      <ErrorText error={judge.error} />
    </div>
  );
}

function StageActions({ execution, stage, onChanged }: { execution: Execution; stage: Stage; onChanged: () => void }) {
  const skip = useAction();
  const restart = useAction();
  const base = `/pipelines/${seg(execution.id)}/stages/${seg(stage.id)}`;
  return (
    <div class="stage-actions">
      {stage.type === 'manualJudgment' && stage.status === 'RUNNING' && <Judgment execution={execution} stage={stage} onChanged={onChanged} />}
      {stage.type === 'wait' && stage.status === 'RUNNING' && (
        <ActionButton action={skip} work={async () => (await patch(base, { skipRemainingWait: true }), onChanged(), 'Skipping…')}>
          Skip remaining wait
        </ActionButton>
      )}
      {RESTARTABLE.has(stage.status) && FINISHED.has(execution.status) && !stage.parentStageId && (
        <ActionButton
          action={restart}
          confirm={`Run "${stage.name ?? stage.type}" and every stage after it again?`}
          work={async () => (await put(`${base}/restart`, {}), onChanged(), 'Restarting…')}
        >
          Restart stage
        </ActionButton>
      )}
    </div>
  );
}

/** Every step under ``stage``, at any depth (a kayentaCanary's "Run Canary #i" are its grandchildren). */
function descendants(stages: Stage[], stage: Stage): Stage[] {
  const found: Stage[] = [];
  let frontier = [stage.id];
  while (frontier.length) {
    const children = stages.filter((item) => item.parentStageId != null && frontier.includes(item.parentStageId));
    found.push(...children);
    frontier = children.map((item) => item.id);
  }
  return found;
}

/** Links to the canary reports of a canary stage (or of its "Run Canary #i" steps). */
function CanaryLinks({ app, stages }: { app: ApplicationView; stages: Stage[] }) {
  const runs = stages.filter((item) => typeof item.outputs?.canaryPipelineExecutionId === 'string');
  if (!runs.length) return null;
  return (
    <p class="canary-links" data-testid="canary-links">
      Canary report{runs.length > 1 ? 's' : ''}:{' '}
      {runs.map((item) => {
        const runId = String(item.outputs?.canaryPipelineExecutionId);
        const configId = String(item.context?.canaryConfigId ?? 'adhoc');
        const score = item.outputs?.canaryScore;
        return (
          <a key={runId} class="btn btn-plain" href={href(['applications', app.name, 'canary', 'report', configId, runId])}>
            {item.name ?? 'canary'}
            {typeof score === 'number' ? ` (score ${score})` : ''}
          </a>
        );
      })}
    </p>
  );
}

function StageDetails({
  app,
  execution,
  stage,
  now,
  onChanged,
}: {
  app: ApplicationView;
  execution: Execution;
  stage: Stage;
  now: number;
  onChanged: () => void;
}) {
  const failure = failureOf(stage);
  const steps = execution.stages.filter((item) => item.parentStageId === stage.id);
  const tasks = stage.tasks ?? [];
  return (
    <section class="card stage-details" data-testid="stage-details">
      <header>
        <h2>{stage.name ?? stage.type}</h2>
        <Status status={stage.status} />
        <span class="hint">{stage.type}</span>
      </header>
      <dl class="pairs">
        <dt>Started</dt>
        <dd>{when(stage.startTime)}</dd>
        <dt>Duration</dt>
        <dd>{duration(stage.startTime, stage.endTime, now)}</dd>
      </dl>
      {failure && (
        <div class="error" role="alert" data-testid="stage-error">
          {failure}
        </div>
      )}
      {stage.type === 'manualJudgment' && <JudgedPlans stages={execution.stages} stage={stage} />}
      {app.may.has('EXECUTE') && <StageActions execution={execution} stage={stage} onChanged={onChanged} />}
      <StageKind stage={stage} stages={execution.stages} />
      <StageArtifacts trigger={execution.trigger} stages={execution.stages} stage={stage} />
      <CanaryLinks app={app} stages={[stage, ...descendants(execution.stages, stage)]} />
      {steps.length > 0 && (
        <>
          <h3>Steps</h3>
          <table class="grid">
            <tbody>
              {steps.map((step) => (
                <tr key={step.id}>
                  <td>
                    <a href={href(['applications', app.name, 'executions', 'details', execution.id], { stage: step.id })}>{step.name ?? step.type}</a>
                  </td>
                  <td>{step.syntheticStageOwner === 'STAGE_BEFORE' ? 'before' : 'after'}</td>
                  <td>
                    <Status status={step.status} />
                  </td>
                  <td>{duration(step.startTime, step.endTime, now)}</td>
                  <td>{failureOf(step) ?? ''}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </>
      )}
      {tasks.length > 0 && (
        <>
          <h3>Tasks</h3>
          <table class="grid">
            <tbody>
              {tasks.map((task) => (
                <tr key={String(task.id)}>
                  <td>{String(task.name ?? '')}</td>
                  <td>
                    <Status status={task.status} />
                  </td>
                  <td>{duration(task.startTime, task.endTime, now)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </>
      )}
      <details open={!!failure}>
        <summary>Context</summary>
        <pre class="json">{pretty(withoutEmbeddedContent(stage.context ?? {}))}</pre>
      </details>
      <details>
        <summary>Outputs</summary>
        <pre class="json">{pretty(withoutEmbeddedContent(stage.outputs ?? {}))}</pre>
      </details>
    </section>
  );
}

function executionFailure(execution: Execution): string | undefined {
  if (execution.status === 'CANCELED') {
    const by = execution.canceledBy ? ` by ${execution.canceledBy}` : '';
    return `Canceled${by}${execution.cancellationReason ? `: ${execution.cancellationReason}` : ''}`;
  }
  if (execution.status !== 'TERMINAL') return undefined;
  for (const stage of execution.stages) {
    const reason = failureOf(stage);
    if (reason) return `${stage.name ?? stage.type} failed: ${reason}`;
  }
  return 'The execution failed; select the red stage to see why.';
}

export function ExecutionDetails({ app, id, query }: { app: ApplicationView; id: string; query: URLSearchParams }) {
  const [execution, setExecution] = useState<Execution | undefined>(undefined);
  const [error, setError] = useState<Error | undefined>(undefined);
  const timer = useRef<number | undefined>(undefined);

  const load = useCallback(async () => {
    try {
      setExecution(await get<Execution>(`/pipelines/${seg(id)}`));
      setError(undefined);
    } catch (failure) {
      setError(failure as Error);
    }
  }, [id]);
  const soon = useCallback(() => {
    if (timer.current !== undefined) return;
    timer.current = window.setTimeout(() => {
      timer.current = undefined;
      void load();
    }, 100);
  }, [load]);
  // An action's answer means "asked", not "done", and some changes (a pause) publish no event:
  // read the execution again a few times over the next seconds.
  const settling = useRef<number[]>([]);
  const afterAction = useCallback(() => {
    settling.current.forEach(clearTimeout);
    settling.current = [100, 600, 1500, 3000, 6000].map((delay) => window.setTimeout(() => void load(), delay));
  }, [load]);
  useEffect(() => {
    setExecution(undefined);
    void load();
    return () => {
      clearTimeout(timer.current);
      settling.current.forEach(clearTimeout);
    };
  }, [load]);

  const stream = useEventStream(`execution:${id}`, ['orca.#', 'clouddriver.#'], { execution: id }, soon);
  const running = !!execution && !FINISHED.has(execution.status);
  const now = useTick(running);

  if (!execution) return error ? <ErrorText error={error} /> : <Loading what="the execution" />;
  const selectedId = query.get('stage') ?? undefined;
  const stage = execution.stages.find((item) => item.id === selectedId) ?? execution.stages.find((item) => !item.parentStageId);
  const failure = executionFailure(execution);
  const parameters = (execution.trigger?.parameters ?? {}) as Json;

  return (
    <div class="execution-details" data-testid="execution" data-status={execution.status}>
      <div class="title-row">
        <a href={href(['applications', app.name, 'executions'])}>← Pipelines</a>
        <h2>{execution.name ?? execution.id}</h2>
        <Status status={execution.status} />
        <span class="hint">
          {triggerLabel(execution.trigger)} · {when(execution.startTime ?? execution.buildTime)} · {duration(execution.startTime, execution.endTime, now)}
        </span>
        <span class="spacer" />
        <StreamBadge state={stream.state} detail={stream.detail} />
        {app.may.has('EXECUTE') && <ExecutionActions execution={execution} onChanged={afterAction} />}
      </div>
      <ErrorText error={error} />
      {failure && (
        <div class={execution.status === 'CANCELED' ? 'notice' : 'error'} role="alert" data-testid="execution-error">
          {failure}
        </div>
      )}
      {Object.keys(parameters).length > 0 && (
        <dl class="pairs parameters">
          {Object.entries(parameters).map(([name, value]) => (
            <Fragment key={name}>
              <dt>{name}</dt>
              <dd>{typeof value === 'string' ? value : pretty(value)}</dd>
            </Fragment>
          ))}
        </dl>
      )}
      <TriggerArtifacts trigger={execution.trigger} />
      <div class="graph-scroll">
        <StageGraph
          stages={execution.stages}
          selected={stage?.id}
          now={now}
          onSelect={(stageId) => navigate(['applications', app.name, 'executions', 'details', execution.id], { stage: stageId }, true)}
        />
      </div>
      {stage && <StageDetails app={app} execution={execution} stage={stage} now={now} onChanged={afterAction} />}
      <p class="hint">
        Status {label(execution.status)} · id <code>{execution.id}</code>
      </p>
    </div>
  );
}
