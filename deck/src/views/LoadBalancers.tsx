// The application's load balancers, each with the server groups behind it and their health.

import { get, seg, type Json } from '../api';
import { ErrorText, Loading } from '../components/common';
import { useLoad } from '../hooks';
import type { ApplicationView } from './ApplicationPage';
import { versionOf } from './Infrastructure';

interface LoadBalancer extends Json {
  name: string;
  account: string;
  region: string;
  dnsname?: string | null;
  listeners?: Json[];
  serverGroups?: (Json & { name: string; isDisabled?: boolean; instances?: Json[] })[];
}

/** An instance's health as Clouddriver's load balancers list it (`health: {state}`, as its LoadBalancerInstance). */
function healthOf(instance: Json): unknown {
  const health = instance.health as Json | undefined;
  return health && !Array.isArray(health) ? health.state : instance.healthState;
}

export function LoadBalancers({ app }: { app: ApplicationView }) {
  const loaded = useLoad(`loadBalancers:${app.name}`, () => get<LoadBalancer[]>(`/applications/${seg(app.name)}/loadBalancers`));
  if (loaded.error) return <ErrorText error={loaded.error} />;
  if (!loaded.data) return <Loading what="load balancers" />;
  if (!loaded.data.length) return <p class="empty">No load balancers.</p>;
  return (
    <div>
      {loaded.data.map((balancer) => (
        <section class="card" key={`${balancer.account}/${balancer.region}/${balancer.name}`} data-testid="load-balancer">
          <h2>
            {balancer.name} <span class="hint">{balancer.account} · {balancer.region}</span>
          </h2>
          {balancer.dnsname && <p class="hint">{balancer.dnsname}</p>}
          {(balancer.listeners ?? []).length > 0 && <p class="hint">listeners: {(balancer.listeners ?? []).map((listener) => JSON.stringify(listener)).join(', ')}</p>}
          <table class="grid">
            <tbody>
              {(balancer.serverGroups ?? []).map((group) => {
                const instances = (group.instances ?? []) as Json[];
                const up = instances.filter((instance) => healthOf(instance) === 'Up').length;
                return (
                  <tr key={group.name}>
                    <td>{versionOf(group.name) || group.name}</td>
                    <td>{group.name}</td>
                    <td>{group.isDisabled ? 'disabled' : 'enabled'}</td>
                    <td>
                      {up} / {instances.length} up
                    </td>
                  </tr>
                );
              })}
            </tbody>
          </table>
        </section>
      ))}
    </div>
  );
}
