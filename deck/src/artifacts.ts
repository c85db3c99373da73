// Spinnaker's artifacts as an execution carries them, read for display: what the trigger brought and
// which expected artifact each is bound to, and per stage what it consumed (the expected artifact
// ids its context names) and produced (its outputs' artifacts and manifests).
//
// An embedded artifact's reference is its content (bakeManifest's `embedded/base64` manifest): it
// is never shown, only its size. Gate hides secrets as `**********`; those read as "hidden".

import type { Json } from './api';
import type { Stage } from './graph';

export const HIDDEN = '**********';

export interface Artifact extends Json {
  type?: string;
  name?: string;
  version?: string;
  reference?: string;
  location?: string;
  artifactAccount?: string;
}

export interface ExpectedArtifact extends Json {
  id?: string;
  displayName?: string;
  boundArtifact?: Artifact;
  defaultArtifact?: Artifact;
  useDefaultArtifact?: boolean;
}

/** One artifact as listed: the artifact and the expected artifacts it is bound to. */
export interface ArtifactRow {
  artifact: Artifact;
  boundTo: string[];
  isDefault: boolean;
}

export interface ShownManifest {
  kind: string;
  name: string;
  namespace: string;
}

function objects(value: unknown): Json[] {
  return Array.isArray(value) ? value.filter((item): item is Json => !!item && typeof item === 'object' && !Array.isArray(item)) : [];
}

function text(value: unknown): string {
  return typeof value === 'string' ? value : typeof value === 'number' ? String(value) : '';
}

/** Whether the artifact's reference is its content rather than where it lives. */
export function isEmbedded(artifact: Artifact): boolean {
  return text(artifact.type).startsWith('embedded/');
}

/** A field as text, with Gate's hidden marker said in words. */
export function shown(value: unknown): string {
  const found = text(value);
  return found === HIDDEN ? 'hidden' : found;
}

/** The short label of an artifact's type, Deck's icon in words (`docker/image` → docker). */
export function typeLabel(type: unknown): string {
  const found = text(type);
  if (!found) return 'unknown';
  const family = found.split('/')[0];
  if (family === 'kubernetes') return 'k8s';
  if (family === 'embedded') return 'embedded';
  return family;
}

/** Where the artifact is, never the content of an embedded one. */
export function referenceOf(artifact: Artifact): string {
  const reference = text(artifact.reference);
  if (isEmbedded(artifact)) {
    if (reference === HIDDEN) return 'embedded content, hidden';
    const padding = reference.endsWith('==') ? 2 : reference.endsWith('=') ? 1 : 0;
    const bytes = artifact.type === 'embedded/base64' ? Math.max(0, Math.floor((reference.length * 3) / 4) - padding) : reference.length;
    return `embedded content, ${bytes} bytes (not shown)`;
  }
  return shown(reference);
}

function identity(artifact: Artifact): string {
  return JSON.stringify([artifact.type, artifact.name, artifact.version, artifact.reference, artifact.location, artifact.artifactAccount].map(text));
}

/** Whether two artifacts are the same one (the fields that name it agree). */
export function sameArtifact(a: Artifact, b: Artifact): boolean {
  return identity(a) === identity(b);
}

function expectedName(expected: ExpectedArtifact): string {
  return text(expected.displayName) || text(expected.id) || 'unnamed';
}

function bound(list: unknown): ExpectedArtifact[] {
  return objects(list).filter((item) => !!item.boundArtifact && typeof item.boundArtifact === 'object') as ExpectedArtifact[];
}

function rowsOf(artifacts: Artifact[], expected: ExpectedArtifact[]): ArtifactRow[] {
  const rows: ArtifactRow[] = [];
  const rowFor = (artifact: Artifact) => {
    let row = rows.find((item) => sameArtifact(item.artifact, artifact));
    if (!row) {
      row = { artifact, boundTo: [], isDefault: false };
      rows.push(row);
    }
    return row;
  };
  artifacts.forEach(rowFor);
  for (const item of expected) {
    const row = rowFor(item.boundArtifact as Artifact);
    row.boundTo.push(expectedName(item));
    if (item.useDefaultArtifact === true && item.defaultArtifact && sameArtifact(item.defaultArtifact, row.artifact)) row.isDefault = true;
  }
  return rows;
}

/** The trigger's artifacts (received, and bound from defaults or a prior execution), each with the
 * expected artifacts bound to it. */
export function triggerArtifacts(trigger: Json | undefined): ArtifactRow[] {
  if (!trigger) return [];
  const expected = bound(trigger.resolvedExpectedArtifacts ?? trigger.expectedArtifacts);
  return rowsOf(objects(trigger.artifacts) as Artifact[], expected);
}

/** Every expected artifact bound in the execution: the trigger's and those stages bound. */
export function boundExpectedArtifacts(trigger: Json | undefined, stages: Stage[]): ExpectedArtifact[] {
  const found = bound(trigger?.resolvedExpectedArtifacts ?? trigger?.expectedArtifacts);
  for (const stage of stages) found.push(...bound(stage.outputs?.resolvedExpectedArtifacts));
  return found;
}

/** The expected artifact ids a stage's context names (Deck's artifact extractors of the manifest
 * and bake stages). */
export function consumedIds(context: Json | null | undefined): string[] {
  if (!context) return [];
  const ids: string[] = [];
  const add = (value: unknown) => {
    const id = text(value);
    if (id && !ids.includes(id)) ids.push(id);
  };
  add(context.manifestArtifactId);
  if (Array.isArray(context.requiredArtifactIds)) context.requiredArtifactIds.forEach(add);
  for (const input of objects(context.inputArtifacts)) add(input.id);
  if (Array.isArray(context.packageArtifactIds)) context.packageArtifactIds.forEach(add);
  return ids;
}

export interface StageArtifacts {
  consumed: ArtifactRow[];
  /** Ids the stage names that nothing bound (yet). */
  unbound: string[];
  produced: ArtifactRow[];
  manifests: ShownManifest[];
}

function dedupe(artifacts: Artifact[]): Artifact[] {
  return artifacts.filter((artifact, index) => artifacts.findIndex((other) => sameArtifact(other, artifact)) === index);
}

/** What ``stage`` consumed and produced, read from its context and outputs. */
export function stageArtifacts(trigger: Json | undefined, stages: Stage[], stage: Stage): StageArtifacts {
  const context = stage.context ?? {};
  const outputs = stage.outputs ?? {};
  const everyBound = boundExpectedArtifacts(trigger, stages);
  const consumed: ArtifactRow[] = [];
  const unbound: string[] = [];
  for (const id of consumedIds(context)) {
    const expected = everyBound.find((item) => item.id === id);
    if (!expected) {
      unbound.push(id);
      continue;
    }
    const existing = consumed.find((row) => sameArtifact(row.artifact, expected.boundArtifact as Artifact));
    if (existing) existing.boundTo.push(expectedName(expected));
    else consumed.push({ artifact: expected.boundArtifact as Artifact, boundTo: [expectedName(expected)], isDefault: false });
  }
  const direct = [context.manifestArtifact, ...objects(context.requiredArtifacts), ...objects(context.inputArtifacts).map((input) => input.artifact)];
  for (const artifact of objects(direct)) {
    if (!consumed.some((row) => sameArtifact(row.artifact, artifact))) consumed.push({ artifact, boundTo: [], isDefault: false });
  }
  const made = dedupe([...objects(outputs.artifacts), ...objects(outputs['outputs.createdArtifacts']), ...objects(outputs.createdArtifacts)] as Artifact[]);
  const produced = rowsOf(made, bound(outputs.resolvedExpectedArtifacts));
  const manifests = objects(outputs['outputs.manifests'] ?? outputs.manifests).map((manifest) => {
    const metadata = (manifest.metadata ?? {}) as Json;
    return { kind: text(manifest.kind), name: shown(metadata.name), namespace: shown(metadata.namespace) };
  });
  return { consumed, unbound, produced, manifests };
}

/** ``value`` with every embedded artifact's content replaced by its size, for a JSON dump. */
export function withoutEmbeddedContent(value: unknown, depth = 0): unknown {
  if (depth > 40 || !value || typeof value !== 'object') return value;
  if (Array.isArray(value)) return value.map((item) => withoutEmbeddedContent(item, depth + 1));
  const record = value as Json;
  const copy: Json = {};
  for (const [key, item] of Object.entries(record)) copy[key] = withoutEmbeddedContent(item, depth + 1);
  if (isEmbedded(record as Artifact) && typeof record.reference === 'string' && record.reference !== HIDDEN) copy.reference = referenceOf(record as Artifact);
  return copy;
}
