// One table of artifacts as Deck lists them: a type label (Deck's icon, in words), the full type,
// name, version and where the artifact is (never an embedded artifact's content), and optionally
// what each is bound to.

import { type ArtifactRow, referenceOf, shown, typeLabel } from '../artifacts';

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
