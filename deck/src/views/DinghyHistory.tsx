// The application's pipelines-as-code history: each dinghyfile render Dinghy made, with its commit (linked
// to the forge where the push said where) and outcome; a failed render's file, line and column in words.

import { get, seg, type Json } from '../api';
import { ErrorText, Loading } from '../components/common';
import { when } from '../format';
import { useLoad } from '../hooks';
import type { ApplicationView } from './ApplicationPage';

function changes(entry: Json): string {
  const found = (entry.changes ?? {}) as Record<string, string[]>;
  const parts = (['create', 'update', 'delete'] as const).filter((action) => found[action]?.length).map((action) => `${action} ${found[action].join(', ')}`);
  return parts.join('; ') || (entry.outcome === 'failed' ? '' : 'no changes');
}

/** Go's template error (``template: FILE:LINE:COL: what``) as the file, line and column in words. */
const LOCATED = /^template: ([^:\n]+):(\d+):(\d+): ([\s\S]*)$/;

function RenderFailure({ error }: { error: string }) {
  const found = LOCATED.exec(error);
  return (
    <div class="error" data-testid="dinghy-error">
      {found ? (
        <>
          <strong data-testid="dinghy-error-at">{`${found[1]}, line ${found[2]}, column ${found[3]}`}</strong>
          {`: ${found[4]}`}
        </>
      ) : (
        error
      )}
      <div class="hint">Nothing was changed: fix the dinghyfile and push again.</div>
    </div>
  );
}

function Commit({ entry }: { entry: Json }) {
  const short = String(entry.commit ?? '').slice(0, 10);
  const url = typeof entry.commitUrl === 'string' && /^https?:\/\//i.test(entry.commitUrl) ? entry.commitUrl : undefined;
  return url ? (
    <a href={url} target="_blank" rel="noopener noreferrer" data-testid="dinghy-commit">
      <code>{short}</code>
    </a>
  ) : (
    <code>{short}</code>
  );
}

export function DinghyHistory({ app }: { app: ApplicationView }) {
  const loaded = useLoad(`dinghy:${app.name}`, () => get<Json[]>(`/dinghy/applications/${seg(app.name)}/history?limit=20`));
  if (loaded.error) return <ErrorText error={loaded.error} />;
  if (!loaded.data) return <Loading what="pipelines-as-code history" />;
  return (
    <section class="card">
      <h2>Pipelines as code (Dinghy)</h2>
      {!loaded.data.length && <p class="empty">No dinghyfile has been rendered for {app.name}.</p>}
      {!!loaded.data.length && (
        <table class="grid" data-testid="dinghy-history">
          <thead>
            <tr>
              <th>When</th>
              <th>Outcome</th>
              <th>File</th>
              <th>Commit</th>
              <th>Author</th>
              <th>Changes</th>
            </tr>
          </thead>
          <tbody>
            {loaded.data.map((entry) => (
              <tr key={String(entry._id)}>
                <td>{when(entry.at)}</td>
                <td>{String(entry.outcome)}</td>
                <td>{`${String(entry.repository)}/${String(entry.path)}@${String(entry.branch)}`}</td>
                <td>
                  <Commit entry={entry} />
                </td>
                <td>{String(entry.author ?? '')}</td>
                <td>{entry.error ? <RenderFailure error={String(entry.error)} /> : changes(entry)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}
