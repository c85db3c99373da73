// The application's pipelines-as-code history: each dinghyfile render Dinghy made, with its commit and outcome.

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
                  <code>{String(entry.commit ?? '').slice(0, 10)}</code>
                </td>
                <td>{String(entry.author ?? '')}</td>
                <td>{entry.error ? <span class="error">{String(entry.error)}</span> : changes(entry)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}
