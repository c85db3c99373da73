// One application: its tabs (pipelines, clusters, load balancers, canary, tasks, config), as in Deck.

import { get, seg, type Json } from '../api';
import type { Permission } from '../auth';
import { ErrorText, Loading } from '../components/common';
import { useLoad } from '../hooks';
import { href, type Location } from '../router';
import { useSession } from '../session';
import { ApplicationConfig } from './ApplicationConfig';
import { CanaryReport, CanaryRuns } from './Canary';
import { ExecutionDetails } from './ExecutionDetails';
import { Infrastructure } from './Infrastructure';
import { LoadBalancers } from './LoadBalancers';
import { PipelineEditor } from './PipelineEditor';
import { Pipelines } from './Pipelines';
import { Tasks } from './Tasks';

export interface ApplicationView {
  name: string;
  attributes: Json;
  may: Set<Permission>;
  reload: () => void;
}

const TABS: [string, string][] = [
  ['executions', 'Pipelines'],
  ['clusters', 'Clusters'],
  ['loadBalancers', 'Load balancers'],
  ['canary', 'Canary'],
  ['tasks', 'Tasks'],
  ['config', 'Config'],
];

export function ApplicationPage({ name, location }: { name: string; location: Location }) {
  const session = useSession();
  const loaded = useLoad(`application:${name}`, () => get<{ name: string; attributes: Json }>(`/applications/${seg(name)}`));
  const [, , tab = 'executions', mode, id, runId] = location.parts;

  if (loaded.error && !loaded.data)
    return (
      <main class="page">
        <h1>{name}</h1>
        <ErrorText error={loaded.error} />
        <a href={href(['applications'])}>Back to the applications</a>
      </main>
    );
  if (!loaded.data) return <Loading what={name} />;

  const attributes = loaded.data.attributes;
  const app: ApplicationView = {
    name: loaded.data.name,
    attributes,
    may: session.may(attributes.permissions as Record<string, string[]> | undefined),
    reload: loaded.reload,
  };
  let view;
  if (tab === 'executions' && mode === 'details' && id) view = <ExecutionDetails app={app} id={id} query={location.query} />;
  else if (tab === 'executions' && mode === 'configure' && id) view = <PipelineEditor app={app} id={id} />;
  else if (tab === 'executions') view = <Pipelines app={app} query={location.query} />;
  else if (tab === 'clusters') view = <Infrastructure app={app} />;
  else if (tab === 'loadBalancers') view = <LoadBalancers app={app} />;
  else if (tab === 'canary' && mode === 'report' && runId) view = <CanaryReport app={app} id={runId} query={location.query} />;
  else if (tab === 'canary') view = <CanaryRuns app={app} />;
  else if (tab === 'tasks') view = <Tasks app={app} />;
  else if (tab === 'config') view = <ApplicationConfig app={app} />;
  else view = <ErrorText error={new Error(`there is no "${tab}" page; pick a tab above`)} />;

  return (
    <main class="page">
      <div class="title-row">
        <h1 data-testid="application-name">{app.name}</h1>
        {!app.may.has('WRITE') && (
          <span class="badge" title="You may not change this application">
            {app.may.has('EXECUTE') ? 'read and execute' : 'read only'}
          </span>
        )}
      </div>
      <nav class="tabs">
        {TABS.map(([key, text]) => (
          <a key={key} href={href(['applications', app.name, key])} class={tab === key ? 'active' : ''}>
            {text}
          </a>
        ))}
      </nav>
      {view}
    </main>
  );
}
