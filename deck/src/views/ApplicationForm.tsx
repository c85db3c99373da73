// Create or edit an application's attributes and permissions (Deck's createApplication /
// updateApplication tasks). Permissions are rows of a role and its access, as Deck's
// PermissionsConfigurer offers them: read; read and execute; read, write and execute.

import { useState } from 'preact/hooks';
import type { Json } from '../api';
import { ErrorText, fieldError } from '../components/common';
import { useAction } from '../hooks';
import { runTask } from '../tasks';

type Access = 'READ' | 'READ_EXECUTE' | 'ALL';

interface Row {
  role: string;
  access: Access;
}

const ACCESS_LABELS: Record<Access, string> = {
  READ: 'Read',
  READ_EXECUTE: 'Read and execute',
  ALL: 'Read, write and execute',
};

function rowsOf(permissions: Record<string, string[]> | undefined): Row[] {
  if (!permissions) return [];
  const roles = new Set([...(permissions.READ ?? []), ...(permissions.WRITE ?? []), ...(permissions.EXECUTE ?? [])]);
  return [...roles].map((role) => ({
    role,
    access: permissions.WRITE?.includes(role) ? 'ALL' : permissions.EXECUTE?.includes(role) ? 'READ_EXECUTE' : 'READ',
  }));
}

function permissionsOf(rows: Row[]): Record<string, string[]> {
  const result: Record<string, string[]> = { READ: [], WRITE: [], EXECUTE: [] };
  for (const { role, access } of rows) {
    const name = role.trim();
    if (!name) continue;
    result.READ.push(name);
    if (access !== 'READ') result.EXECUTE.push(name);
    if (access === 'ALL') result.WRITE.push(name);
  }
  return result;
}

export function ApplicationForm({ existing, onSaved }: { existing?: Json; onSaved: (name: string) => void }) {
  const [name, setName] = useState(String(existing?.name ?? ''));
  const [email, setEmail] = useState(String(existing?.email ?? ''));
  const [description, setDescription] = useState(String(existing?.description ?? ''));
  const [providers, setProviders] = useState(
    Array.isArray(existing?.cloudProviders) ? existing.cloudProviders.join(',') : String(existing?.cloudProviders ?? 'local'),
  );
  const [rows, setRows] = useState<Row[]>(rowsOf(existing?.permissions as Record<string, string[]> | undefined));
  const [progress, setProgress] = useState('');
  const save = useAction();
  const nameProblem = !existing && name && !/^[a-zA-Z0-9_.-]+$/.test(name) ? 'use letters, digits, dots, dashes and underscores only' : undefined;

  const submit = (event: Event) => {
    event.preventDefault();
    void save.run(async () => {
      const application: Json = {
        ...(existing ?? {}),
        name: name.trim().toLowerCase(),
        email: email.trim(),
        description: description.trim() || undefined,
        cloudProviders: providers.trim(),
        permissions: permissionsOf(rows),
      };
      const type = existing ? 'updateApplication' : 'createApplication';
      const verb = existing ? 'Update' : 'Create';
      await runTask(String(application.name), `${verb} Application: ${application.name}`, [{ type, application }], setProgress);
      onSaved(String(application.name));
    });
  };

  const problem = (field: string) => fieldError(save.error, field);
  return (
    <form class="form" onSubmit={submit} data-testid="application-form">
      <label>
        Name
        <input
          name="name"
          required
          value={name}
          disabled={!!existing}
          onInput={(event) => setName((event.target as HTMLInputElement).value)}
        />
        {(nameProblem ?? problem('job[0].application.name')) && <span class="field-error">{nameProblem ?? problem('job[0].application.name')}</span>}
      </label>
      <label>
        Owner email
        <input name="email" type="email" required value={email} onInput={(event) => setEmail((event.target as HTMLInputElement).value)} />
      </label>
      <label>
        Description
        <input name="description" value={description} onInput={(event) => setDescription((event.target as HTMLInputElement).value)} />
      </label>
      <label>
        Cloud providers
        <input name="cloudProviders" value={providers} onInput={(event) => setProviders((event.target as HTMLInputElement).value)} />
      </label>
      <fieldset>
        <legend>Permissions</legend>
        <p class="hint">No roles: everyone may read, write and execute.</p>
        {rows.map((row, index) => (
          <div class="row" key={index}>
            <input
              aria-label={`Role ${index + 1}`}
              placeholder="role"
              value={row.role}
              onInput={(event) => setRows(rows.map((item, at) => (at === index ? { ...item, role: (event.target as HTMLInputElement).value } : item)))}
            />
            <select
              aria-label={`Access of role ${index + 1}`}
              value={row.access}
              onChange={(event) => setRows(rows.map((item, at) => (at === index ? { ...item, access: (event.target as HTMLSelectElement).value as Access } : item)))}
            >
              {Object.entries(ACCESS_LABELS).map(([value, text]) => (
                <option value={value} key={value}>
                  {text}
                </option>
              ))}
            </select>
            <button type="button" class="btn btn-plain" onClick={() => setRows(rows.filter((_, at) => at !== index))}>
              Remove
            </button>
          </div>
        ))}
        <button type="button" class="btn btn-plain" onClick={() => setRows([...rows, { role: '', access: 'READ' }])}>
          Add role
        </button>
      </fieldset>
      <div class="buttons">
        <button type="submit" class="btn btn-primary" disabled={save.busy || !!nameProblem || !name.trim()}>
          {save.busy ? progress || 'Saving…' : existing ? 'Save' : 'Create'}
        </button>
      </div>
      <ErrorText error={save.error} />
    </form>
  );
}
