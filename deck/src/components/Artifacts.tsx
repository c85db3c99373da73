// Artifacts on screen, as Deck lists them: a type label (Deck's icon), name, version and where the
// artifact is; for the trigger's, the expected artifacts each is bound to; for a stage's, what it
// consumed and produced and the manifests it deployed, each with its live status a click away.

import { useState } from 'preact/hooks';
import type { Json } from '../api';
import { type ArtifactRow, shown, stageArtifacts, triggerArtifacts, typeLabel } from '../artifacts';
import { FINISHED } from '../format';
import type { Stage } from '../graph';
import { ArtifactTable } from './ArtifactTable';
import { Modal } from './common';
import { ManifestStatus } from './ManifestStatus';

function boundNote(row: ArtifactRow): string {
  if (!row.boundTo.length) return 'not bound to an expected artifact';
  const names = row.boundTo.map((name) => `“${name}”`).join(', ');
  return row.isDefault ? `${names} (its default artifact: the trigger brought none that matched)` : names;
}

/** The trigger's artifacts with the expected artifacts they are bound to; nothing when it brought none. */
export function TriggerArtifacts({ trigger }: { trigger: Json | undefined }) {
  const rows = triggerArtifacts(trigger);
  if (!rows.length) return null;
  const unbound = rows.filter((row) => !row.boundTo.length).length;
  const expected = rows.some((row) => row.boundTo.length);
  return (
    <section class="card" data-testid="trigger-artifacts">
      <h3>Artifacts</h3>
      <ArtifactTable rows={rows} testId="trigger-artifact-list" note={boundNote} />
      {expected && unbound > 0 && (
        <p class="hint">
          {unbound === 1 ? '1 artifact the trigger brought was' : `${unbound} artifacts the trigger brought were`} not bound to any of the pipeline's
          expected artifacts; stages can still use them by their name and type.
        </p>
      )}
    </section>
  );
}

/** What a stage consumed and produced; nothing when its context and outputs name no artifact. */
export function StageArtifacts({ trigger, stages, stage }: { trigger: Json | undefined; stages: Stage[]; stage: Stage }) {
  const { consumed, unbound, produced, manifests } = stageArtifacts(trigger, stages, stage);
  const [status, setStatus] = useState<{ name: string; namespace: string } | undefined>(undefined);
  const account = String(stage.outputs?.['deploy.account.name'] ?? stage.context?.account ?? '');
  if (!consumed.length && !unbound.length && !produced.length && !manifests.length) return null;
  return (
    <section data-testid="stage-artifacts">
      <h3>Consumed artifacts</h3>
      {consumed.length ? <ArtifactTable rows={consumed} testId="consumed-artifacts" note={boundNote} /> : <p class="hint">None.</p>}
      {unbound.length > 0 && (
        <p class="notice" data-testid="unbound-artifacts">
          {`No artifact is bound ${FINISHED.has(stage.status) ? '' : 'yet '}to the expected artifact${unbound.length > 1 ? 's' : ''} ${unbound.map((id) => `“${id}”`).join(', ')} this stage names. `}
          {FINISHED.has(stage.status)
            ? "Check that the pipeline's trigger or an upstream stage lists it in its expected artifacts and that what arrived matches it."
            : 'An upstream stage may still bind it.'}
        </p>
      )}
      <h3>Produced artifacts</h3>
      {produced.length ? <ArtifactTable rows={produced} testId="produced-artifacts" note={(row) => (row.boundTo.length ? boundNote(row) : '—')} /> : <p class="hint">None.</p>}
      {manifests.length > 0 && (
        <>
          <h3>Manifests</h3>
          <ul class="manifests" data-testid="stage-manifests">
            {manifests.map((manifest, index) => (
              <li key={index}>
                {`${manifest.kind || 'object'} ${manifest.name || '(no name)'}`}
                {manifest.namespace && <span class="hint">{` in namespace ${manifest.namespace}`}</span>}
                {account && manifest.kind && manifest.name && manifest.namespace && (
                  <button
                    type="button"
                    class="btn btn-plain"
                    onClick={() => setStatus({ name: `${manifest.kind.charAt(0).toLowerCase()}${manifest.kind.slice(1)} ${manifest.name}`, namespace: manifest.namespace })}
                  >
                    Status now
                  </button>
                )}
              </li>
            ))}
          </ul>
        </>
      )}
      {status && (
        <Modal title={`Manifest status: ${status.name}`} onClose={() => setStatus(undefined)}>
          <ManifestStatus account={account} location={status.namespace} name={status.name} />
        </Modal>
      )}
    </section>
  );
}

/** At most this many of a trigger's artifacts are named in an execution's row. */
const SUMMARY_LIMIT = 3;

/** A line under an execution's trigger naming the artifacts it brought (bound ones first). */
export function TriggerArtifactSummary({ trigger }: { trigger: Json | undefined }) {
  const rows = triggerArtifacts(trigger).sort((a, b) => Number(!a.boundTo.length) - Number(!b.boundTo.length));
  if (!rows.length) return null;
  const named = rows.slice(0, SUMMARY_LIMIT);
  return (
    <div class="artifact-summary" data-testid="trigger-artifact-summary">
      {named.map(({ artifact }, index) => (
        <span key={index} class="artifact-chip" title={String(artifact.type ?? 'no type')}>
          <span class="artifact-type">{typeLabel(artifact.type)}</span> {[shown(artifact.name) || '(no name)', shown(artifact.version)].filter(Boolean).join(' ')}
        </span>
      ))}
      {rows.length > named.length && <span class="hint">{`+${rows.length - named.length} more`}</span>}
    </div>
  );
}
