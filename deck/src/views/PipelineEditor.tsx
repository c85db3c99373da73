// Configure a pipeline: a form for its parameters, triggers and common stages, or its whole JSON
// (parse errors at the line, the gateway's validation errors at the field), and its history with
// a diff between any two versions.

import { Fragment } from 'preact';
import { useEffect, useMemo, useState } from 'preact/hooks';
import { ApiError, del, get, seg, type Json } from '../api';
import { ActionButton, ErrorText, Loading } from '../components/common';
import { diffLines, jsonError, position } from '../diff';
import { pretty, when } from '../format';
import { useAction, useLoad } from '../hooks';
import { configs, lockOf, type Parameter, type PipelineConfig, saveConfig } from '../pipelines';
import { href, navigate } from '../router';
import type { ApplicationView } from './ApplicationPage';
import { StageForm } from './StageForm';

type Mode = 'form' | 'json' | 'history';

function jsonProblem(text: string): string | undefined {
  const error = jsonError(text);
  if (error) {
    const { line, column } = position(text, error.offset);
    return `line ${line}, column ${column}: ${error.message}`;
  }
  const value = JSON.parse(text) as unknown;
  if (!value || typeof value !== 'object' || Array.isArray(value)) return 'the pipeline must be a JSON object';
  return undefined;
}

function nextRefId(stages: Json[]): string {
  const numbers = stages.map((stage) => Number(stage.refId)).filter(Number.isFinite);
  return String((numbers.length ? Math.max(...numbers) : 0) + 1);
}

function Parameters({ draft, change }: { draft: PipelineConfig; change: (patch: Json) => void }) {
  const parameters = draft.parameterConfig ?? [];
  const set = (index: number, patch: Partial<Parameter>) =>
    change({ parameterConfig: parameters.map((parameter, at) => (at === index ? { ...parameter, ...patch } : parameter)) });
  return (
    <fieldset>
      <legend>Parameters</legend>
      {parameters.map((parameter, index) => (
        <div class="row" key={index}>
          <input aria-label="Parameter name" placeholder="name" value={parameter.name} onInput={(event) => set(index, { name: (event.target as HTMLInputElement).value })} />
          <input
            aria-label="Default"
            placeholder="default"
            value={parameter.default === undefined || parameter.default === null ? '' : String(parameter.default)}
            onInput={(event) => set(index, { default: (event.target as HTMLInputElement).value })}
          />
          <input
            aria-label="Options"
            placeholder="options, comma separated"
            value={(parameter.options ?? []).map((option) => String(option.value)).join(', ')}
            onChange={(event) => {
              const values = (event.target as HTMLInputElement).value.split(',').map((item) => item.trim()).filter(Boolean);
              set(index, { options: values.map((value) => ({ value })), hasOptions: values.length > 0 });
            }}
          />
          <label class="inline">
            <input type="checkbox" checked={!!parameter.required} onChange={(event) => set(index, { required: (event.target as HTMLInputElement).checked })} />
            required
          </label>
          <button type="button" class="btn btn-plain" onClick={() => change({ parameterConfig: parameters.filter((_, at) => at !== index) })}>
            Remove
          </button>
        </div>
      ))}
      <button type="button" class="btn btn-plain" onClick={() => change({ parameterConfig: [...parameters, { name: '', required: false }] })}>
        Add parameter
      </button>
    </fieldset>
  );
}

function Triggers({ draft, change }: { draft: PipelineConfig; change: (patch: Json) => void }) {
  const triggers = draft.triggers ?? [];
  return (
    <fieldset>
      <legend>Triggers</legend>
      {!triggers.length && <p class="hint">No triggers: add them as JSON (cron, webhook, git, pipeline, cloudevent).</p>}
      {triggers.map((trigger, index) => (
        <label class="inline" key={index}>
          <input
            type="checkbox"
            checked={trigger.enabled !== false}
            onChange={(event) =>
              change({ triggers: triggers.map((item, at) => (at === index ? { ...item, enabled: (event.target as HTMLInputElement).checked } : item)) })
            }
          />
          {trigger.type} {trigger.enabled === false ? '(disabled)' : '(enabled)'}
        </label>
      ))}
    </fieldset>
  );
}

function History({ app, config, onRestored }: { app: ApplicationView; config: PipelineConfig; onRestored: () => void }) {
  const versions = useLoad(`history:${config.id}:${config.updateTs}`, () => get<PipelineConfig[]>(`/pipelineConfigs/${seg(config.id)}/history?limit=50`));
  const [left, setLeft] = useState(1);
  const [right, setRight] = useState(0);
  const restore = useAction();
  const list = versions.data ?? [];
  const lines = useMemo(() => {
    if (!list[left] || !list[right]) return [];
    return diffLines(pretty(list[left]), pretty(list[right]));
  }, [list, left, right]);
  if (versions.error) return <ErrorText error={versions.error} />;
  if (!versions.data) return <Loading what="the history" />;
  if (list.length < 2) return <p class="empty">Only one version so far: save a change to compare.</p>;
  const choose = (value: number, set: (index: number) => void) => (
    <select value={String(value)} onChange={(event) => set(Number((event.target as HTMLSelectElement).value))}>
      {list.map((version, index) => (
        <option key={index} value={String(index)}>
          {index === 0 ? 'current' : `version ${list.length - index}`} · {when(Number(version.updateTs))} · {version.lastModifiedBy ?? ''}
        </option>
      ))}
    </select>
  );
  return (
    <div class="history" data-testid="history">
      <div class="row">
        <label class="inline">Compare {choose(left, setLeft)}</label>
        <label class="inline">with {choose(right, setRight)}</label>
        {app.may.has('WRITE') && left !== 0 && (
          <ActionButton
            action={restore}
            work={async () => {
              await saveConfig({ ...list[left], updateTs: list[0].updateTs });
              onRestored();
              return 'Restored';
            }}
          >
            Restore the older version
          </ActionButton>
        )}
      </div>
      <pre class="diff" data-testid="diff">
        {lines.map((line, index) => (
          <div key={index} class={`diff-${line.kind}`}>
            {line.kind === 'added' ? '+ ' : line.kind === 'removed' ? '- ' : '  '}
            {line.text}
          </div>
        ))}
      </pre>
    </div>
  );
}

export function PipelineEditor({ app, id }: { app: ApplicationView; id: string }) {
  const loaded = useLoad(`configs:${app.name}:${id}`, () => configs(app.name));
  const stored = loaded.data?.find((config) => config.id === id);
  const [draft, setDraft] = useState<PipelineConfig | undefined>(undefined);
  const [text, setText] = useState('');
  const [mode, setMode] = useState<Mode>('form');
  const save = useAction();
  const remove = useAction();
  const unlock = useAction();
  const lock = lockOf(stored);
  const writable = app.may.has('WRITE') && !lock;

  useEffect(() => {
    if (stored && !draft) {
      setDraft(stored);
      setText(pretty(stored));
    }
  }, [stored, draft]);

  if (loaded.error) return <ErrorText error={loaded.error} />;
  if (!loaded.data) return <Loading what="the pipeline" />;
  if (!stored || !draft) return <ErrorText error={new Error(`no pipeline with id ${id} in ${app.name}`)} />;

  const parseProblem = mode === 'json' ? jsonProblem(text) : undefined;
  const change = (patch: Json) => {
    const next = { ...draft, ...patch } as PipelineConfig;
    setDraft(next);
    setText(pretty(next));
  };
  const stages = (draft.stages ?? []) as Json[];
  const problemAt = (field: string): string | undefined => {
    const error = save.error;
    if (!(error instanceof ApiError)) return undefined;
    const problem = error.problems.find((item) => item.field === field);
    if (problem) return problem.message;
    return error.field === field ? error.message : undefined;
  };
  const switchTo = (next: Mode) => {
    if (mode === 'json' && next !== 'json') {
      if (jsonProblem(text)) return;
      setDraft(JSON.parse(text) as PipelineConfig);
    }
    if (next === 'json') setText(pretty(draft));
    setMode(next);
  };
  const current = (): Json => (mode === 'json' ? (JSON.parse(text) as Json) : draft);

  return (
    <div class="editor" data-testid="pipeline-editor">
      <div class="title-row">
        <a href={href(['applications', app.name, 'executions'])}>← Pipelines</a>
        <h2>{stored.name}</h2>
        <span class="hint">
          saved {when(Number(stored.updateTs))}
          {stored.lastModifiedBy ? ` by ${stored.lastModifiedBy}` : ''}
        </span>
        <span class="spacer" />
        <nav class="tabs small">
          {(['form', 'json', 'history'] as Mode[]).map((item) => (
            <button type="button" key={item} class={mode === item ? 'active' : ''} onClick={() => switchTo(item)}>
              {item === 'form' ? 'Form' : item === 'json' ? 'Edit as JSON' : 'History'}
            </button>
          ))}
        </nav>
      </div>
      {lock && (
        <div class="notice locked" role="status" data-testid="pipeline-locked">
          Locked: {lock.description || 'locked in the UI'}.{' '}
          {lock.allowUnlockUi ? 'Unlock it to edit it here.' : 'It cannot be unlocked here; change it where it is managed.'}
          {lock.allowUnlockUi && app.may.has('WRITE') && (
            <ActionButton
              action={unlock}
              testId="unlock-pipeline"
              work={async () => {
                const saved = await saveConfig({ ...stored, locked: { ...lock, ui: false } });
                setDraft(saved);
                setText(pretty(saved));
                loaded.reload();
                return 'Unlocked';
              }}
            >
              Unlock
            </ActionButton>
          )}
        </div>
      )}
      {mode === 'form' && (
        <div class="form">
          <label>
            Name
            <input name="pipelineName" value={draft.name} disabled={!writable} onInput={(event) => change({ name: (event.target as HTMLInputElement).value })} />
            {problemAt('name') && <span class="field-error">{problemAt('name')}</span>}
          </label>
          <label class="inline">
            <input type="checkbox" checked={!!draft.limitConcurrent} onChange={(event) => change({ limitConcurrent: (event.target as HTMLInputElement).checked })} />
            Run one execution at a time
          </label>
          <label class="inline">
            <input
              type="checkbox"
              checked={!!draft.keepWaitingPipelines}
              onChange={(event) => change({ keepWaitingPipelines: (event.target as HTMLInputElement).checked })}
            />
            Keep every waiting execution
          </label>
          <Parameters draft={draft} change={change} />
          <Triggers draft={draft} change={change} />
          {stages.map((stage, index) => (
            <StageForm
              key={index}
              stage={stage}
              index={index}
              problemAt={problemAt}
              change={(patch) => change({ stages: stages.map((item, at) => (at === index ? { ...item, ...patch } : item)) })}
              remove={() => change({ stages: stages.filter((_, at) => at !== index) })}
            />
          ))}
          <button
            type="button"
            class="btn"
            onClick={() => {
              const refId = nextRefId(stages);
              const last = stages[stages.length - 1];
              const requisiteStageRefIds = last?.refId !== undefined ? [String(last.refId)] : [];
              change({ stages: [...stages, { refId, requisiteStageRefIds, type: 'wait', name: `Wait ${refId}`, waitTime: 30 }] });
            }}
          >
            Add stage
          </button>
        </div>
      )}
      {mode === 'json' && (
        <div class="json-editor">
          <textarea
            aria-label="Pipeline JSON"
            spellcheck={false}
            value={text}
            readOnly={!writable}
            onInput={(event) => setText((event.target as HTMLTextAreaElement).value)}
            data-testid="pipeline-json"
          />
          {parseProblem && (
            <div class="field-error" role="alert" data-testid="json-error">
              Not valid JSON: {parseProblem}
            </div>
          )}
        </div>
      )}
      {mode === 'history' && (
        <History
          app={app}
          config={stored}
          onRestored={() => {
            setDraft(undefined);
            loaded.reload();
          }}
        />
      )}
      {mode !== 'history' && writable && (
        <div class="buttons sticky">
          <ActionButton
            action={save}
            kind="primary"
            disabled={!!parseProblem}
            testId="save-pipeline"
            work={async () => {
              const saved = await saveConfig(current());
              setDraft(saved);
              setText(pretty(saved));
              loaded.reload();
              return 'Saved';
            }}
          >
            Save changes
          </ActionButton>
          <ActionButton
            action={remove}
            kind="danger"
            confirm={`Delete the pipeline ${stored.name}?`}
            work={async () => {
              await del(`/pipelines/${seg(app.name)}/${seg(stored.name)}`);
              navigate(['applications', app.name, 'executions']);
            }}
          >
            Delete pipeline
          </ActionButton>
        </div>
      )}
      {save.error instanceof ApiError && save.error.problems.length > 0 && (
        <ul class="problems">
          {save.error.problems.map((problem) => (
            <Fragment key={problem.field}>
              <li>
                <code>{problem.field}</code>: {problem.message}
              </li>
            </Fragment>
          ))}
        </ul>
      )}
    </div>
  );
}
