// Artifacts on screen, as Deck lists them: a type label (Deck's icon), name, version and where the
// artifact is; for the trigger's, the expected artifacts each is bound to; for a stage's, what it
// consumed and produced and the manifests it deployed.

import type { Json } from '../api';
import { type ArtifactRow, referenceOf, shown, stageArtifacts, triggerArtifacts, typeLabel } from '../artifacts';
import { FINISHED } from '../format';
import type { Stage } from '../graph';

export function ArtifactTable({ rows, testId, note }: { rows: ArtifactRow[]; testId: string; note?: (row: ArtifactRow) => string }) {
  return (
    <table class="grid artifacts" data-testid={testId}>
      <thead>
        <tr>
          <th>Type</th>
          <th>Name</th>
          <th>Version</th>
          <th>Reference</th>
          {note && <th>Bound to</th>}
        </tr>
      </thead>
      <tbody>
        {rows.map(({ artifact, ...row }, index) => (
          <tr key={index} data-testid="artifact" data-type={String(artifact.type ?? '')}>
            <td>
              <span class="artifact-type" title={String(artifact.type ?? 'no type')}>
                {typeLabel(artifact.type)}
              </span>{' '}
              <span class="hint">{shown(artifact.type)}</span>
            </td>
            <td>{shown(artifact.name) || '—'}</td>
            <td>{shown(artifact.version) || '—'}</td>
            <td class="reference">{referenceOf(artifact) || '—'}</td>
            {note && <td>{note({ artifact, ...row })}</td>}
          </tr>
        ))}
      </tbody>
    </table>
  );
}

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
              </li>
            ))}
          </ul>
        </>
      )}
    </section>
  );
}
