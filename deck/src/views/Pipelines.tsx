// Deck's pipelines view: every pipeline config of the application with its latest executions,
// live, filtered by status and trigger; run, configure, enable and disable from here.

import { useCallback, useEffect, useMemo, useRef, useState } from 'preact/hooks';
import { get, messageOf, post } from '../api';
import { TriggerArtifactSummary } from '../components/Artifacts';
import { ActionButton, ErrorText, Loading, Modal, Status } from '../components/common';
import { ExecutionActions } from '../components/ExecutionActions';
import { StreamBadge } from '../components/StreamBadge';
import { useEventStream } from '../events';
import { duration, FINISHED, STATUSES, statusClass, when } from '../format';
import { useAction, useLoad, useTick } from '../hooks';
import { configs, type Execution, lockOf, type PipelineConfig, saveConfig, topLevel, triggerLabel } from '../pipelines';
import { href, navigate } from '../router';
import type { ApplicationView } from './ApplicationPage';
import { RunPipeline } from './RunPipeline';

const PER_PIPELINE = 5;
const TRIGGERS = ['manual', 'cron', 'webhook', 'pipeline', 'git', 'cloudevent'];

function ExecutionRow({ app, execution, onChanged }: { app: ApplicationView; execution: Execution; onChanged: () => void }) {
  const running = !FINISHED.has(execution.status);
  const now = useTick(running);
  const stages = topLevel(execution.stages ?? []);
  return (
    <tr class="execution" data-testid="execution-row" data-status={execution.status}>
      <td>
        <Status status={execution.status} />
      </td>
      <td>
        <a href={href(['applications', app.name, 'executions', 'details', execution.id])}>{when(execution.startTime ?? execution.buildTime)}</a>
      </td>
      <td>
        {triggerLabel(execution.trigger)}
        <TriggerArtifactSummary trigger={execution.trigger} />
      </td>
      <td>{duration(execution.startTime, execution.endTime, now)}</td>
      <td class="stage-bar">
        {stages.map((stage) => (
          <a
            key={stage.id}
            class={`segment ${statusClass(stage.status)}`}
            title={`${stage.name ?? stage.type}: ${stage.status}`}
            href={href(['applications', app.name, 'executions', 'details', execution.id], { stage: stage.id })}
          />
        ))}
      </td>
      <td>{app.may.has('EXECUTE') && running && <ExecutionActions execution={execution} onChanged={onChanged} />}</td>
    </tr>
  );
}

function TriggerToggles({ app, config, onSaved }: { app: ApplicationView; config: PipelineConfig; onSaved: () => void }) {
  const [error, setError] = useState<Error | undefined>(undefined);
  const triggers = config.triggers ?? [];
  if (!triggers.length) return null;
  const toggle = async (index: number, enabled: boolean) => {
    setError(undefined);
    try {
      const updated = { ...config, triggers: triggers.map((trigger, at) => (at === index ? { ...trigger, enabled } : trigger)) };
      await saveConfig(updated);
      onSaved();
    } catch (failure) {
      setError(failure instanceof Error ? failure : new Error(messageOf(failure)));
    }
  };
  return (
    <div class="triggers">
      {triggers.map((trigger, index) => (
        <label class="inline" key={index} title={JSON.stringify(trigger)}>
          <input
            type="checkbox"
            checked={trigger.enabled !== false}
            disabled={!app.may.has('WRITE') || !!lockOf(config)}
            onChange={(event) => void toggle(index, (event.target as HTMLInputElement).checked)}
            data-testid="trigger-toggle"
          />
          {trigger.type} trigger {trigger.enabled === false ? '(disabled)' : 'enabled'}
        </label>
      ))}
      <ErrorText error={error} />
    </div>
  );
}

function PipelineGroup({
  app,
  config,
  executions,
  onChanged,
  onRun,
}: {
  app: ApplicationView;
  config: PipelineConfig;
  executions: Execution[];
  onChanged: () => void;
  onRun: (config: PipelineConfig) => void;
}) {
  const able = useAction();
  return (
    <section class="card pipeline" data-testid="pipeline" data-name={config.name}>
      <header>
        <h2>{config.name}</h2>
        {config.disabled && <span class="badge">disabled</span>}
        {lockOf(config) && (
          <span class="badge" title={lockOf(config)?.description} data-testid="locked-badge">
            locked
          </span>
        )}
        <span class="spacer" />
        {app.may.has('EXECUTE') && (
          <button type="button" class="btn btn-primary" disabled={!!config.disabled} onClick={() => onRun(config)}>
            Start manual execution
          </button>
        )}
        <a class="btn" href={href(['applications', app.name, 'executions', 'configure', config.id])}>
          {app.may.has('WRITE') ? 'Configure' : 'View config'}
        </a>
        {app.may.has('WRITE') && !lockOf(config) && (
          <ActionButton
            action={able}
            work={async () => {
              await saveConfig({ ...config, disabled: !config.disabled });
              onChanged();
            }}
          >
            {config.disabled ? 'Enable' : 'Disable'}
          </ActionButton>
        )}
      </header>
      <TriggerToggles app={app} config={config} onSaved={onChanged} />
      {executions.length ? (
        <table class="grid executions">
          <tbody>
            {executions.map((execution) => (
              <ExecutionRow key={execution.id} app={app} execution={execution} onChanged={onChanged} />
            ))}
          </tbody>
        </table>
      ) : (
        <p class="empty">No executions match.</p>
      )}
    </section>
  );
}

function NewPipeline({ app, onClose }: { app: ApplicationView; onClose: () => void }) {
  const [name, setName] = useState('');
  const create = useAction();
  return (
    <Modal title="Create pipeline" onClose={onClose}>
      <form
        class="form"
        onSubmit={(event) => {
          event.preventDefault();
          void create.run(async () => {
            const saved = await post<PipelineConfig>('/pipelines', {
              application: app.name,
              name: name.trim(),
              stages: [],
              triggers: [],
              parameterConfig: [],
              keepWaitingPipelines: false,
              limitConcurrent: true,
            });
            navigate(['applications', app.name, 'executions', 'configure', saved.id]);
          });
        }}
      >
        <label>
          Pipeline name
          <input name="pipelineName" required value={name} onInput={(event) => setName((event.target as HTMLInputElement).value)} />
        </label>
        <div class="buttons">
          <button type="submit" class="btn btn-primary" disabled={create.busy || !name.trim()}>
            Create
          </button>
        </div>
        <ErrorText error={create.error} />
      </form>
    </Modal>
  );
}

export function Pipelines({ app, query }: { app: ApplicationView; query: URLSearchParams }) {
  const statuses = (query.get('status') ?? '').split(',').filter(Boolean);
  const trigger = query.get('trigger') ?? '';
  const loadedConfigs = useLoad(`configs:${app.name}`, () => configs(app.name));
  const ids = (loadedConfigs.data ?? []).map((config) => config.id);
  const key = `executions:${app.name}:${ids.join(',')}:${statuses.join(',')}`;
  const loadedExecutions = useLoad(key, async () => {
    if (!ids.length) return [] as Execution[];
    const search = new URLSearchParams({ pipelineConfigIds: ids.join(','), limit: String(PER_PIPELINE), expand: 'false' });
    if (statuses.length) search.set('statuses', statuses.join(','));
    return get<Execution[]>(`/executions?${search}`);
  });
  const [executions, setExecutions] = useState<Execution[]>([]);
  const [running, setRunning] = useState<PipelineConfig | null>(null);
  const [creating, setCreating] = useState(false);
  useEffect(() => setExecutions(loadedExecutions.data ?? []), [loadedExecutions.data]);

  // one refetch per changed execution, at most every 200 ms each: events only say *that* it changed
  const pending = useRef(new Map<string, number>());
  const refresh = useCallback(
    (executionId: string) => {
      if (pending.current.has(executionId)) return;
      pending.current.set(
        executionId,
        window.setTimeout(async () => {
          pending.current.delete(executionId);
          try {
            const [fresh] = await get<Execution[]>(`/executions?executionIds=${encodeURIComponent(executionId)}&expand=false`);
            if (!fresh) return;
            setExecutions((old) => [fresh, ...old.filter((item) => item.id !== fresh.id)]);
          } catch {
            // the next event or a reload shows it
          }
        }, 200),
      );
    },
    [],
  );
  useEffect(() => () => pending.current.forEach((timer) => clearTimeout(timer)), []);

  const stream = useEventStream(`pipelines:${app.name}`, ['orca.#', 'front50.pipeline.#'], { application: app.name }, (event) => {
    const data = event.data ?? {};
    if (event.type.includes('.front50.')) {
      loadedConfigs.reload();
      return;
    }
    const executionId = (data.executionId ?? data.execution_id ?? event.subject) as string | undefined;
    if (executionId) refresh(executionId);
  });

  const grouped = useMemo(() => {
    const byConfig = new Map<string, Execution[]>();
    for (const execution of executions) {
      if (statuses.length && !statuses.includes(execution.status)) continue;
      if (trigger && String(execution.trigger?.type ?? 'manual') !== trigger) continue;
      const list = byConfig.get(String(execution.pipelineConfigId)) ?? [];
      list.push(execution);
      byConfig.set(String(execution.pipelineConfigId), list);
    }
    for (const list of byConfig.values()) list.sort((a, b) => (b.buildTime ?? 0) - (a.buildTime ?? 0) || b.id.localeCompare(a.id));
    return byConfig;
  }, [executions, statuses.join(','), trigger]);

  const setFilter = (name: string, value: string) => {
    const next = Object.fromEntries(query.entries());
    next[name] = value;
    navigate(['applications', app.name, 'executions'], next, true);
  };
  const toggleStatus = (status: string) =>
    setFilter('status', (statuses.includes(status) ? statuses.filter((item) => item !== status) : [...statuses, status]).join(','));

  const reloadAll = () => {
    loadedConfigs.reload();
    loadedExecutions.reload();
  };

  return (
    <div class="pipelines">
      <div class="filters">
        <span class="filter-label">Status</span>
        {STATUSES.map((status) => (
          <label class={`inline chip ${statusClass(status)}`} key={status}>
            <input type="checkbox" checked={statuses.includes(status)} onChange={() => toggleStatus(status)} />
            {status.replace(/_/g, ' ')}
          </label>
        ))}
        <label class="inline">
          Trigger
          <select aria-label="Trigger type" value={trigger} onChange={(event) => setFilter('trigger', (event.target as HTMLSelectElement).value)}>
            <option value="">any</option>
            {TRIGGERS.map((type) => (
              <option key={type} value={type}>
                {type}
              </option>
            ))}
          </select>
        </label>
        <span class="spacer" />
        <StreamBadge state={stream.state} detail={stream.detail} />
        {app.may.has('WRITE') && (
          <button type="button" class="btn" onClick={() => setCreating(true)}>
            Create pipeline
          </button>
        )}
      </div>
      <ErrorText error={loadedConfigs.error ?? loadedExecutions.error} />
      {!loadedConfigs.data && loadedConfigs.loading && <Loading what="pipelines" />}
      {loadedConfigs.data && !loadedConfigs.data.length && <p class="empty">No pipelines yet.</p>}
      {(loadedConfigs.data ?? []).map((config) => (
        <PipelineGroup
          key={config.id}
          app={app}
          config={config}
          executions={grouped.get(config.id) ?? []}
          onChanged={reloadAll}
          onRun={setRunning}
        />
      ))}
      {running && (
        <Modal title={`Run ${running.name}`} onClose={() => setRunning(null)}>
          <RunPipeline
            config={running}
            onStarted={(executionId) => {
              setRunning(null);
              refresh(executionId);
              navigate(['applications', app.name, 'executions', 'details', executionId]);
            }}
          />
        </Modal>
      )}
      {creating && <NewPipeline app={app} onClose={() => setCreating(false)} />}
    </div>
  );
}

