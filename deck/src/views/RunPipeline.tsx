// Start a manual execution with the pipeline's parameters (`parameterConfig`: defaults, options,
// required), as Deck's "Start manual execution" dialog does.

import { useState } from 'preact/hooks';
import { post, seg, type Json } from '../api';
import { ErrorText, fieldError } from '../components/common';
import { useAction } from '../hooks';
import type { Parameter, PipelineConfig } from '../pipelines';

function initial(parameter: Parameter): string {
  if (parameter.default !== undefined && parameter.default !== null) return String(parameter.default);
  return '';
}

export function RunPipeline({ config, onStarted }: { config: PipelineConfig; onStarted: (executionId: string) => void }) {
  const parameters = config.parameterConfig ?? [];
  const [values, setValues] = useState<Record<string, string>>(() => Object.fromEntries(parameters.map((p) => [p.name, initial(p)])));
  const [missing, setMissing] = useState<Set<string>>(new Set());
  const start = useAction();

  const submit = (event: Event) => {
    event.preventDefault();
    const absent = new Set(parameters.filter((p) => p.required && !values[p.name]?.trim()).map((p) => p.name));
    setMissing(absent);
    if (absent.size) return;
    void start.run(async () => {
      const body: Json = { type: 'manual', parameters: values };
      const { ref } = await post<{ ref: string }>(`/pipelines/${seg(config.application)}/${seg(config.id)}`, body);
      onStarted(ref.split('/').pop() ?? '');
    });
  };

  return (
    <form class="form" onSubmit={submit} data-testid="run-form">
      {!parameters.length && <p class="hint">This pipeline has no parameters.</p>}
      {parameters.map((parameter) => {
        const options = (parameter.options ?? []).map((option) => String(option.value ?? ''));
        const problem = missing.has(parameter.name)
          ? `${parameter.label || parameter.name} is required`
          : fieldError(start.error, `parameters.${parameter.name}`) ?? fieldError(start.error, parameter.name);
        const set = (value: string) => setValues({ ...values, [parameter.name]: value });
        return (
          <label key={parameter.name}>
            {parameter.label || parameter.name}
            {parameter.required && <span class="required"> *</span>}
            {options.length ? (
              <select name={parameter.name} value={values[parameter.name]} onChange={(event) => set((event.target as HTMLSelectElement).value)}>
                {!parameter.required && <option value="">(none)</option>}
                {options.map((option) => (
                  <option key={option} value={option}>
                    {option}
                  </option>
                ))}
              </select>
            ) : (
              <input name={parameter.name} value={values[parameter.name]} onInput={(event) => set((event.target as HTMLInputElement).value)} />
            )}
            {parameter.description && <span class="hint">{parameter.description}</span>}
            {problem && <span class="field-error">{problem}</span>}
          </label>
        );
      })}
      <div class="buttons">
        <button type="submit" class="btn btn-primary" disabled={start.busy}>
          {start.busy ? 'Starting…' : 'Run'}
        </button>
      </div>
      <ErrorText error={start.error} />
    </form>
  );
}
