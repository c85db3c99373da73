// A form for the common stage types (wait, manual judgment, evaluate variables, preconditions,
// webhook, child pipeline); any other type keeps its fields and is edited as JSON.

import type { Json } from '../api';

export const STAGE_TYPES = ['wait', 'manualJudgment', 'evaluateVariables', 'checkPreconditions', 'webhook', 'pipeline'];

type Change = (patch: Json) => void;

function text(value: unknown): string {
  return value === undefined || value === null ? '' : String(value);
}

function Field({ label, error, children }: { label: string; error?: string; children: preact.ComponentChildren }) {
  return (
    <label>
      {label}
      {children}
      {error && <span class="field-error">{error}</span>}
    </label>
  );
}

function listOf(value: string): string[] {
  return value
    .split(',')
    .map((item) => item.trim())
    .filter(Boolean);
}

function TypeFields({ stage, change, problem }: { stage: Json; change: Change; problem: (field: string) => string | undefined }) {
  switch (stage.type) {
    case 'wait':
      return (
        <Field label="Wait (seconds)" error={problem('waitTime')}>
          <input
            name="waitTime"
            type="number"
            min="0"
            value={text(stage.waitTime)}
            onInput={(event) => change({ waitTime: Number((event.target as HTMLInputElement).value) })}
          />
        </Field>
      );
    case 'manualJudgment': {
      const inputs = ((stage.judgmentInputs as Json[] | undefined) ?? []).map((input) => text(input.value)).join(', ');
      return (
        <>
          <Field label="Instructions" error={problem('instructions')}>
            <textarea name="instructions" value={text(stage.instructions)} onInput={(event) => change({ instructions: (event.target as HTMLTextAreaElement).value })} />
          </Field>
          <Field label="Judgment inputs (comma separated)" error={problem('judgmentInputs')}>
            <input
              name="judgmentInputs"
              value={inputs}
              onChange={(event) => change({ judgmentInputs: listOf((event.target as HTMLInputElement).value).map((value) => ({ value })) })}
            />
          </Field>
        </>
      );
    }
    case 'evaluateVariables': {
      const variables = ((stage.variables as Json[] | undefined) ?? []).map((item) => `${text(item.key)}=${text(item.value)}`).join('\n');
      return (
        <Field label="Variables (one key=value a line)" error={problem('variables')}>
          <textarea
            name="variables"
            value={variables}
            onChange={(event) =>
              change({
                variables: (event.target as HTMLTextAreaElement).value
                  .split('\n')
                  .filter((line) => line.includes('='))
                  .map((line) => ({ key: line.slice(0, line.indexOf('=')).trim(), value: line.slice(line.indexOf('=') + 1) })),
              })
            }
          />
        </Field>
      );
    }
    case 'checkPreconditions': {
      const first = ((stage.preconditions as Json[] | undefined) ?? [])[0] ?? {};
      const context = (first.context ?? {}) as Json;
      const set = (patch: Json) =>
        change({ preconditions: [{ type: 'expression', failPipeline: true, ...first, ...patch, context: { ...context, ...((patch.context as Json) ?? {}) } }] });
      return (
        <>
          <Field label="Expression" error={problem('preconditions')}>
            <input name="expression" value={text(context.expression)} onInput={(event) => set({ context: { expression: (event.target as HTMLInputElement).value } })} />
          </Field>
          <label class="inline">
            <input type="checkbox" checked={first.failPipeline !== false} onChange={(event) => set({ failPipeline: (event.target as HTMLInputElement).checked })} />
            Fail the pipeline when it is false
          </label>
        </>
      );
    }
    case 'webhook':
      return (
        <>
          <Field label="URL" error={problem('url')}>
            <input name="url" value={text(stage.url)} onInput={(event) => change({ url: (event.target as HTMLInputElement).value })} />
          </Field>
          <Field label="Method" error={problem('method')}>
            <select name="method" value={text(stage.method) || 'POST'} onChange={(event) => change({ method: (event.target as HTMLSelectElement).value })}>
              {['GET', 'POST', 'PUT', 'PATCH', 'DELETE'].map((method) => (
                <option key={method}>{method}</option>
              ))}
            </select>
          </Field>
        </>
      );
    case 'pipeline':
      return (
        <>
          <Field label="Application" error={problem('application')}>
            <input name="application" value={text(stage.application)} onInput={(event) => change({ application: (event.target as HTMLInputElement).value })} />
          </Field>
          <Field label="Pipeline id" error={problem('pipeline')}>
            <input name="pipeline" value={text(stage.pipeline)} onInput={(event) => change({ pipeline: (event.target as HTMLInputElement).value })} />
          </Field>
        </>
      );
    default:
      return <p class="hint">Edit the fields of a {text(stage.type)} stage as JSON.</p>;
  }
}

export function StageForm({
  stage,
  index,
  change,
  remove,
  problemAt,
}: {
  stage: Json;
  index: number;
  change: Change;
  remove: () => void;
  problemAt: (field: string) => string | undefined;
}) {
  const problem = (field: string) => problemAt(`stages[${index}].${field}`);
  return (
    <fieldset class="stage-form" data-testid="stage-form">
      <legend>
        Stage {text(stage.refId)} · {text(stage.name) || text(stage.type)}
      </legend>
      <div class="row">
        <Field label="Name" error={problem('name')}>
          <input name="name" value={text(stage.name)} onInput={(event) => change({ name: (event.target as HTMLInputElement).value })} />
        </Field>
        <Field label="Type" error={problem('type')}>
          <select name="type" value={text(stage.type)} onChange={(event) => change({ type: (event.target as HTMLSelectElement).value })}>
            {[...new Set([...STAGE_TYPES, text(stage.type)])].filter(Boolean).map((type) => (
              <option key={type}>{type}</option>
            ))}
          </select>
        </Field>
        <Field label="refId" error={problem('refId')}>
          <input name="refId" value={text(stage.refId)} onInput={(event) => change({ refId: (event.target as HTMLInputElement).value })} />
        </Field>
        <Field label="Depends on (refIds)" error={problem('requisiteStageRefIds')}>
          <input
            name="requisiteStageRefIds"
            value={((stage.requisiteStageRefIds as string[] | undefined) ?? []).join(', ')}
            onChange={(event) => change({ requisiteStageRefIds: listOf((event.target as HTMLInputElement).value) })}
          />
        </Field>
      </div>
      <TypeFields stage={stage} change={change} problem={problem} />
      <button type="button" class="btn btn-plain" onClick={remove}>
        Remove stage
      </button>
    </fieldset>
  );
}
