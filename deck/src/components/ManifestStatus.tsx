// A Kubernetes object as its cluster holds it now (Gate's /manifests/{account}/{location}/{name}):
// Clouddriver's status conditions in words, the artifacts it runs and reads (images, ConfigMaps,
// Secrets), and the Events about it, as Deck's manifest status view shows them.

import { ApiError, get, seg, type Json } from '../api';
import type { Artifact } from '../artifacts';
import { useLoad } from '../hooks';
import { ArtifactTable } from './ArtifactTable';
import { Loading } from './common';

interface Condition {
  state?: boolean;
  message?: string | null;
}

/** Clouddriver's conditions, each as Deck's pill reads when it holds (and when it does not). */
const CONDITIONS: [key: string, holds: string, fails: string | null, good: boolean][] = [
  ['stable', 'Stable', 'Not stable yet', true],
  ['failed', 'Failed', null, false],
  ['paused', 'Paused', null, false],
  ['available', 'Available', 'Unavailable', true],
];

function text(value: unknown): string {
  return typeof value === 'string' || typeof value === 'number' ? String(value) : '';
}

function why(error: Error, account: string, location: string): string {
  if (error instanceof ApiError && error.status === 404)
    return `${error.message.replace(/\.$/, '')}. It may have been deleted or renamed since this page was read: refresh the clusters view.`;
  if (error instanceof ApiError && error.status === 403)
    return `${error.message.replace(/\.$/, '')}. Reading it needs READ on the account ${account} and on its application; ask their owners.`;
  return `The manifest in ${account}/${location} could not be read: ${error.message.replace(/\.$/, '')}. Try again in a moment.`;
}

export function ManifestStatus({ account, location, name }: { account: string; location: string; name: string }) {
  const path = `/manifests/${seg(account)}/${seg(location)}/${seg(name)}`;
  const found = useLoad(path, () => get<Json>(path));
  if (found.error)
    return (
      <div class="error" role="alert" data-testid="manifest-error">
        {why(found.error, account, location)}
      </div>
    );
  if (!found.data) return <Loading what={`${name} from its cluster`} />;
  const status = (found.data.status ?? {}) as Record<string, Condition>;
  const artifacts = (Array.isArray(found.data.artifacts) ? found.data.artifacts : []) as Artifact[];
  const events = (Array.isArray(found.data.events) ? found.data.events : []) as Json[];
  const shown = CONDITIONS.flatMap(([key, holds, fails, good]) => {
    const condition = status[key];
    if (!condition) return [];
    const label = condition.state ? holds : fails;
    if (!label) return [];
    return [{ key, label, message: condition.message, ok: condition.state === good }];
  });
  return (
    <div class="manifest-status" data-testid="manifest-status">
      <p class="hint">
        {`${name} in ${account}, namespace ${location}, as its cluster held it when read. `}
        <button type="button" class="btn btn-plain" disabled={found.loading} onClick={() => found.reload()}>
          Read again
        </button>
      </p>
      <ul class="conditions">
        {shown.map((item) => (
          <li key={item.key} class={item.ok ? 'ok' : 'bad'} data-testid="manifest-condition" data-condition={item.key}>
            <strong>{item.label}</strong>
            {item.message ? ` — ${item.message}` : ''}
          </li>
        ))}
      </ul>
      <h3>Artifacts</h3>
      {artifacts.length ? (
        <ArtifactTable rows={artifacts.map((artifact) => ({ artifact, boundTo: [], isDefault: false }))} testId="manifest-artifacts" />
      ) : (
        <p class="hint">It runs no image and reads no ConfigMap or Secret.</p>
      )}
      <h3>Events</h3>
      {events.length ? (
        <table class="grid" data-testid="manifest-events">
          <tbody>
            {events.map((event, index) => (
              <tr key={index} class={event.type === 'Warning' ? 'warning' : ''}>
                <td>{text(event.type)}</td>
                <td>{text(event.reason)}</td>
                <td>{text(event.message)}</td>
                <td>{text(event.count) ? `×${text(event.count)}` : ''}</td>
                <td class="hint">{text(event.lastTimestamp ?? event.firstTimestamp ?? event.eventTime)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      ) : (
        <p class="hint">No events about it (Kubernetes keeps them for about an hour).</p>
      )}
    </div>
  );
}
