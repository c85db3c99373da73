// An application's attributes, permissions and notifications, and deleting it (Deck's Config tab).

import { Fragment } from 'preact';
import { useState } from 'preact/hooks';
import { get, post, seg, type Json } from '../api';
import { ActionButton, ErrorText, Loading, Modal } from '../components/common';
import { useAction, useLoad } from '../hooks';
import { navigate } from '../router';
import { runTask } from '../tasks';
import { ApplicationForm } from './ApplicationForm';
import { DinghyHistory } from './DinghyHistory';
import type { ApplicationView } from './ApplicationPage';

const CHANNELS = ['email', 'slack', 'microsoftteams', 'googlechat', 'webhook'];
const EVENTS = ['pipeline.starting', 'pipeline.complete', 'pipeline.failed', 'manualJudgment'];

interface Entry {
  type: string;
  address: string;
  when: string[];
  level?: string;
}

function entriesOf(preferences: Json | undefined): Entry[] {
  const entries: Entry[] = [];
  for (const channel of CHANNELS) {
    const list = preferences?.[channel];
    if (!Array.isArray(list)) continue;
    for (const item of list as Json[]) {
      entries.push({ type: channel, address: String(item.address ?? ''), when: Array.isArray(item.when) ? item.when.map(String) : [] });
    }
  }
  return entries;
}

function Notifications({ app }: { app: ApplicationView }) {
  const loaded = useLoad(`notifications:${app.name}`, () => get<Json>(`/notifications/application/${seg(app.name)}`));
  const [entries, setEntries] = useState<Entry[] | null>(null);
  const save = useAction();
  if (loaded.error) return <ErrorText error={loaded.error} />;
  if (!loaded.data) return <Loading what="notifications" />;
  const shown = entries ?? entriesOf(loaded.data);
  const writable = app.may.has('WRITE');
  const change = (index: number, patch: Partial<Entry>) => setEntries(shown.map((entry, at) => (at === index ? { ...entry, ...patch } : entry)));

  const body = () => {
    const result: Json = { ...loaded.data, application: app.name };
    for (const channel of CHANNELS) result[channel] = [];
    for (const entry of shown) (result[entry.type] as Json[]).push({ ...entry, level: 'application' });
    return result;
  };

  return (
    <section class="card">
      <h2>Notifications</h2>
      {!shown.length && <p class="empty">No application notifications.</p>}
      {shown.map((entry, index) => (
        <div class="row notification" key={index}>
          <select
            aria-label="Channel"
            value={entry.type}
            disabled={!writable}
            onChange={(event) => change(index, { type: (event.target as HTMLSelectElement).value })}
          >
            {CHANNELS.map((channel) => (
              <option key={channel} value={channel}>
                {channel}
              </option>
            ))}
          </select>
          <input
            aria-label="Address"
            value={entry.address}
            disabled={!writable}
            placeholder="address, channel or URL"
            onInput={(event) => change(index, { address: (event.target as HTMLInputElement).value })}
          />
          {EVENTS.map((name) => (
            <label class="inline" key={name}>
              <input
                type="checkbox"
                checked={entry.when.includes(name)}
                disabled={!writable}
                onChange={(event) =>
                  change(index, {
                    when: (event.target as HTMLInputElement).checked ? [...entry.when, name] : entry.when.filter((item) => item !== name),
                  })
                }
              />
              {name}
            </label>
          ))}
          {writable && (
            <button type="button" class="btn btn-plain" onClick={() => setEntries(shown.filter((_, at) => at !== index))}>
              Remove
            </button>
          )}
        </div>
      ))}
      {writable && (
        <div class="buttons">
          <button type="button" class="btn btn-plain" onClick={() => setEntries([...shown, { type: 'email', address: '', when: ['pipeline.failed'] }])}>
            Add notification
          </button>
          <ActionButton
            action={save}
            kind="primary"
            work={async () => {
              await post(`/notifications/application/${seg(app.name)}`, body());
              setEntries(null);
              loaded.reload();
              return 'Saved';
            }}
          >
            Save notifications
          </ActionButton>
        </div>
      )}
    </section>
  );
}

export function ApplicationConfig({ app }: { app: ApplicationView }) {
  const [editing, setEditing] = useState(false);
  const remove = useAction();
  const [progress, setProgress] = useState('');
  const permissions = (app.attributes.permissions ?? {}) as Record<string, string[]>;
  const writable = app.may.has('WRITE');
  return (
    <div>
      <section class="card">
        <h2>Attributes</h2>
        <dl class="pairs">
          <dt>Owner</dt>
          <dd>{String(app.attributes.email ?? '')}</dd>
          <dt>Description</dt>
          <dd>{String(app.attributes.description ?? '')}</dd>
          <dt>Cloud providers</dt>
          <dd>{String(app.attributes.cloudProviders ?? '')}</dd>
          {(['READ', 'EXECUTE', 'WRITE'] as const).map((kind) => (
            <Fragment key={kind}>
              <dt>{kind} roles</dt>
              <dd>{(permissions[kind] ?? []).join(', ') || 'everyone'}</dd>
            </Fragment>
          ))}
          <dt>Your access</dt>
          <dd data-testid="your-access">{[...app.may].join(', ') || 'none'}</dd>
        </dl>
        {writable && (
          <div class="buttons">
            <button type="button" class="btn" onClick={() => setEditing(true)}>
              Edit application
            </button>
          </div>
        )}
      </section>
      <Notifications app={app} />
      <DinghyHistory app={app} />
      {writable && (
        <section class="card danger-zone">
          <h2>Delete application</h2>
          <p>Deleting {app.name} removes it from Front50; its pipelines' history stays guarded by its last permissions.</p>
          <ActionButton
            action={remove}
            kind="danger"
            confirm={`Delete the application ${app.name}?`}
            work={async () => {
              await runTask(app.name, `Delete Application: ${app.name}`, [{ type: 'deleteApplication', application: { name: app.name } }], setProgress);
              navigate(['applications']);
            }}
          >
            {remove.busy ? progress : 'Delete application'}
          </ActionButton>
        </section>
      )}
      {editing && (
        <Modal title={`Edit ${app.name}`} onClose={() => setEditing(false)}>
          <ApplicationForm
            existing={app.attributes}
            onSaved={() => {
              setEditing(false);
              app.reload();
            }}
          />
        </Modal>
      )}
    </div>
  );
}
