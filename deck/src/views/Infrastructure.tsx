// Deck's clusters view: the application's server groups by account and cluster, each with its
// version, capacity and the health of its instances; resize, enable, disable and destroy for users
// with WRITE on the account (and the application), each run as a one-stage ad-hoc pipeline.
// A kubernetes server group is a workload (`replicaSet web-v000`) in a namespace: as in Deck, it is
// scaled with a scaleManifest stage and destroyed with deleteManifest (Clouddriver finds its
// application in its moniker, not its name), and never enabled or disabled here, since its traffic
// is deployManifest's trafficManagement. ReplicaSets a Deployment manages are shown under it (its
// server group manager), and any kubernetes object's live status is a click away (/manifests/...).

import { useMemo, useState } from 'preact/hooks';
import { get, seg, type Json } from '../api';
import { ActionButton, ErrorText, Loading, Modal } from '../components/common';
import { ManifestStatus } from '../components/ManifestStatus';
import { when } from '../format';
import { useAction, useLoad } from '../hooks';
import { useSession } from '../session';
import { runOperation } from '../tasks';
import type { ApplicationView } from './ApplicationPage';

export interface ServerGroup extends Json {
  name: string;
  account: string;
  region: string;
  cluster: string;
  cloudProvider?: string;
  type?: string;
  isDisabled?: boolean;
  capacity?: { min: number; max: number; desired: number };
  instances?: (Json & { id: string; healthState?: string; zone?: string })[];
  instanceCounts?: Record<string, number>;
  createdTime?: number;
  loadBalancers?: string[];
  kind?: string;
  serverGroupManagers?: { account?: string; location?: string; name?: string }[];
}

/** The manifest a kubernetes object is, to read its live status. */
interface ManifestRef {
  account: string;
  location: string;
  name: string;
}

interface Account extends Json {
  name: string;
  permissions?: Record<string, string[]>;
}

/** Whether server groups of this kind are enabled and disabled (kubernetes ones are not). */
function togglable(group: ServerGroup): boolean {
  return (group.cloudProvider ?? group.type) !== 'kubernetes';
}

/** The Frigga version of a server group (`shop-prod-v003` → `v003`). */
export function versionOf(name: string): string {
  const match = /-(v\d{3,})$/.exec(name);
  return match ? match[1] : '';
}

function target(group: ServerGroup): Json {
  return {
    serverGroupName: group.name,
    asgName: group.name,
    credentials: group.account,
    account: group.account,
    region: group.region,
    regions: [group.region],
    cloudProvider: group.cloudProvider ?? group.type,
    cluster: group.cluster,
  };
}

/** The manifest stage that acts on a kubernetes workload. */
function manifestStage(group: ServerGroup, type: 'scaleManifest' | 'deleteManifest', extra: Json): Json {
  return { type, account: group.account, cloudProvider: 'kubernetes', location: group.region, manifestName: group.name, mode: 'static', ...extra };
}

function Resize({ app, group, onDone }: { app: ApplicationView; group: ServerGroup; onDone: () => void }) {
  const capacity = group.capacity ?? { min: 0, max: 0, desired: 0 };
  const [min, setMin] = useState(String(capacity.min));
  const [max, setMax] = useState(String(capacity.max));
  const [desired, setDesired] = useState(String(capacity.desired));
  const [progress, setProgress] = useState('');
  const resize = useAction();
  // a kubernetes workload has one number, its replicas: min and max follow it
  const replicasOnly = !togglable(group);
  const numbers = (replicasOnly ? [desired, desired, desired] : [min, max, desired]).map(Number);
  const problem = numbers.some((value) => !Number.isInteger(value) || value < 0)
    ? 'capacities are whole numbers, 0 or more'
    : numbers[0] > numbers[2] || numbers[2] > numbers[1]
      ? 'min ≤ desired ≤ max'
      : undefined;
  return (
    <form
      class="form"
      data-testid="resize-form"
      onSubmit={(event) => {
        event.preventDefault();
        if (problem) return;
        void resize.run(async () => {
          const [newMin, newMax, newDesired] = numbers;
          await runOperation(
            app.name,
            replicasOnly ? `Scale Manifest: ${group.name} to ${newDesired} replicas` : `Resize Server Group: ${group.name} to ${newMin}/${newDesired}/${newMax}`,
            replicasOnly
              ? manifestStage(group, 'scaleManifest', { replicas: newDesired })
              : { type: 'resizeServerGroup', ...target(group), capacity: { min: newMin, max: newMax, desired: newDesired } },
            setProgress,
          );
          onDone();
        });
      }}
    >
      {replicasOnly ? (
        <label>
          Replicas
          <input name="desired" type="number" min="0" value={desired} onInput={(event) => setDesired((event.target as HTMLInputElement).value)} />
        </label>
      ) : (
        <div class="row">
          <label>
            Min
            <input name="min" type="number" min="0" value={min} onInput={(event) => setMin((event.target as HTMLInputElement).value)} />
          </label>
          <label>
            Desired
            <input name="desired" type="number" min="0" value={desired} onInput={(event) => setDesired((event.target as HTMLInputElement).value)} />
          </label>
          <label>
            Max
            <input name="max" type="number" min="0" value={max} onInput={(event) => setMax((event.target as HTMLInputElement).value)} />
          </label>
        </div>
      )}
      {problem && <span class="field-error">{problem}</span>}
      <div class="buttons">
        <button type="submit" class="btn btn-primary" disabled={resize.busy || !!problem}>
          {resize.busy ? progress || 'Resizing…' : 'Resize'}
        </button>
      </div>
      <ErrorText error={resize.error} />
    </form>
  );
}

function ServerGroupCard({
  app,
  group,
  writable,
  onChanged,
  onStatus,
}: {
  app: ApplicationView;
  group: ServerGroup;
  writable: boolean;
  onChanged: () => void;
  onStatus: (manifest: ManifestRef) => void;
}) {
  const [resizing, setResizing] = useState(false);
  const toggle = useAction();
  const destroy = useAction();
  const [progress, setProgress] = useState('');
  const capacity = group.capacity;
  const instances = group.instances ?? [];
  const run = (description: string, stage: Json, action: typeof toggle) =>
    action.run(async () => {
      await runOperation(app.name, description, stage, setProgress);
      onChanged();
    });
  const job = (type: string, verb: string, action: typeof toggle) => run(`${verb} Server Group: ${group.name}`, { type, ...target(group) }, action);
  const remove = () =>
    togglable(group)
      ? job('destroyServerGroup', 'Destroy', destroy)
      : run(`Delete Manifest: ${group.name}`, manifestStage(group, 'deleteManifest', { options: { cascading: true } }), destroy);
  return (
    <div class={`server-group${group.isDisabled ? ' disabled' : ''}`} data-testid="server-group" data-name={group.name}>
      <header>
        <strong>{versionOf(group.name) || group.name}</strong>
        {versionOf(group.name) && <span class="hint">{group.name}</span>}
        {group.isDisabled && <span class="badge">disabled</span>}
      </header>
      <div class="hint">
        {group.account} · {group.kind ? `${group.kind} in namespace ${group.region}` : group.region} · created {when(group.createdTime)}
      </div>
      <div data-testid="capacity">
        capacity {capacity ? `${capacity.min} / ${capacity.desired} / ${capacity.max}` : '—'} (min / desired / max) · {instances.length} instances
      </div>
      <div class="instances">
        {instances.map((instance) => (
          <span
            key={instance.id}
            class={`instance health-${String(instance.healthState ?? 'Unknown').toLowerCase()}`}
            title={`${instance.id}: ${instance.healthState ?? 'Unknown'}`}
            data-testid="instance"
          />
        ))}
      </div>
      {!togglable(group) && (
        <div class="buttons">
          <button type="button" class="btn btn-plain" onClick={() => onStatus({ account: group.account, location: group.region, name: group.name })}>
            Manifest status
          </button>
        </div>
      )}
      {writable && (
        <div class="buttons">
          <button type="button" class="btn" onClick={() => setResizing(true)}>
            Resize
          </button>
          {togglable(group) && (
            <ActionButton action={toggle} work={() => job(group.isDisabled ? 'enableServerGroup' : 'disableServerGroup', group.isDisabled ? 'Enable' : 'Disable', toggle).then(() => undefined)}>
              {toggle.busy ? progress : group.isDisabled ? 'Enable' : 'Disable'}
            </ActionButton>
          )}
          <ActionButton
            action={destroy}
            kind="danger"
            confirm={`Destroy ${group.name} and its ${instances.length} instances?`}
            work={() => remove().then(() => undefined)}
          >
            {destroy.busy ? progress : 'Destroy'}
          </ActionButton>
        </div>
      )}
      {resizing && (
        <Modal title={`Resize ${group.name}`} onClose={() => setResizing(false)}>
          <Resize
            app={app}
            group={group}
            onDone={() => {
              setResizing(false);
              onChanged();
            }}
          />
        </Modal>
      )}
    </div>
  );
}

/** A cluster's server groups under the Deployment that manages each (``undefined``: managed by none). */
function byManager(list: ServerGroup[]): [ManifestRef | undefined, ServerGroup[]][] {
  const found = new Map<string, [ManifestRef | undefined, ServerGroup[]]>();
  for (const group of list) {
    const owner = group.serverGroupManagers?.find((item) => item.name);
    const manager = owner ? { account: owner.account ?? group.account, location: owner.location ?? group.region, name: String(owner.name) } : undefined;
    const key = manager ? `${manager.account}/${manager.location}/${manager.name}` : '';
    const entry = found.get(key) ?? [manager, []];
    entry[1].push(group);
    found.set(key, entry);
  }
  return [...found.entries()].sort(([a], [b]) => a.localeCompare(b)).map(([, entry]) => entry);
}

export function Infrastructure({ app }: { app: ApplicationView }) {
  const session = useSession();
  const groups = useLoad(`serverGroups:${app.name}`, () => get<ServerGroup[]>(`/applications/${seg(app.name)}/serverGroups?expand=true`));
  const accounts = useLoad('credentials', () => get<Account[]>('/credentials'));
  const [search, setSearch] = useState('');
  const byCluster = useMemo(() => {
    const clusters = new Map<string, ServerGroup[]>();
    for (const group of groups.data ?? []) {
      if (search && !`${group.name} ${group.account} ${group.region}`.includes(search)) continue;
      const key = `${group.account}\u0000${group.cluster}`;
      clusters.set(key, [...(clusters.get(key) ?? []), group]);
    }
    for (const list of clusters.values()) list.sort((a, b) => b.name.localeCompare(a.name));
    return [...clusters.entries()].sort(([a], [b]) => a.localeCompare(b));
  }, [groups.data, search]);
  const writableAccount = (name: string) => {
    const account = accounts.data?.find((item) => item.name === name);
    return !!account && session.may(account.permissions).has('WRITE');
  };
  const refresh = () => groups.reload();
  const [status, setStatus] = useState<ManifestRef | undefined>(undefined);
  const card = (group: ServerGroup) => (
    <ServerGroupCard
      key={group.name}
      app={app}
      group={group}
      writable={app.may.has('WRITE') && writableAccount(group.account)}
      onChanged={refresh}
      onStatus={setStatus}
    />
  );

  return (
    <div class="infrastructure">
      <div class="filters">
        <input type="search" class="search" placeholder="Filter server groups" aria-label="Filter server groups" value={search} onInput={(event) => setSearch((event.target as HTMLInputElement).value)} />
        <span class="spacer" />
        <button type="button" class="btn btn-plain" onClick={refresh}>
          Refresh
        </button>
      </div>
      <ErrorText error={groups.error ?? accounts.error} />
      {!groups.data && groups.loading && <Loading what="server groups" />}
      {groups.data && !byCluster.length && <p class="empty">No server groups{search ? ' match' : ' yet: deploy one from a pipeline'}.</p>}
      {byCluster.map(([key, list]) => (
        <section class="card cluster" key={key} data-testid="cluster">
          <h2>
            {list[0].cluster} <span class="hint">{list[0].account}</span>
          </h2>
          {byManager(list).map(([manager, members]) =>
            manager ? (
              <div class="server-group-manager" key={`${manager.location}/${manager.name}`} data-testid="server-group-manager" data-name={`deployment ${manager.name}`}>
                <header data-testid="manager-header">
                  <strong>{`Deployment ${manager.name}`}</strong>
                  <span class="hint">{`${manager.account} · namespace ${manager.location} · manages ${members.length} ReplicaSet${members.length === 1 ? '' : 's'}`}</span>
                  <button
                    type="button"
                    class="btn btn-plain"
                    onClick={() => setStatus({ account: manager.account, location: manager.location, name: `deployment ${manager.name}` })}
                  >
                    Manifest status
                  </button>
                </header>
                <div class="server-groups">{members.map(card)}</div>
              </div>
            ) : (
              <div class="server-groups" key="unmanaged">
                {members.map(card)}
              </div>
            ),
          )}
        </section>
      ))}
      {status && (
        <Modal title={`Manifest status: ${status.name}`} onClose={() => setStatus(undefined)}>
          <ManifestStatus account={status.account} location={status.location} name={status.name} />
        </Modal>
      )}
    </div>
  );
}
