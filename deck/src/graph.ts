// The stage graph of an execution laid out as Deck draws it: one column per phase, parallel
// branches one above the other, synthetic stages folded under the stage that owns them.
//
// Layout is linear in stages and edges (a longest-path depth per stage, then one ordering pass per
// column by the average row of its parents), so a 200-stage execution lays out in well under a
// millisecond per stage.

import type { Json } from './api';

export interface Stage extends Json {
  id: string;
  refId?: string | null;
  type: string;
  name?: string | null;
  status: string;
  requisiteStageRefIds?: string[] | null;
  parentStageId?: string | null;
  syntheticStageOwner?: string | null;
  startTime?: number | null;
  endTime?: number | null;
  context?: Json | null;
  outputs?: Json | null;
  tasks?: Json[] | null;
}

export interface Node {
  stage: Stage;
  children: Stage[];
  column: number;
  row: number;
  x: number;
  y: number;
}

export interface Edge {
  from: Node;
  to: Node;
}

export interface Layout {
  nodes: Node[];
  edges: Edge[];
  width: number;
  height: number;
}

export const NODE_WIDTH = 168;
export const NODE_HEIGHT = 46;
const GAP_X = 44;
const GAP_Y = 12;
const MARGIN = 8;

/** The top-level stage each stage belongs to (itself for a top-level one). */
function ownerOf(stage: Stage, byId: Map<string, Stage>): Stage {
  let current = stage;
  const seen = new Set<string>();
  while (current.parentStageId && byId.has(current.parentStageId) && !seen.has(current.id)) {
    seen.add(current.id);
    current = byId.get(current.parentStageId)!;
  }
  return current;
}

export function layout(stages: Stage[]): Layout {
  const byId = new Map(stages.map((stage) => [stage.id, stage]));
  const nodes: Node[] = [];
  const nodeOf = new Map<string, Node>();
  for (const stage of stages) {
    if (stage.parentStageId && byId.has(stage.parentStageId)) continue;
    const node: Node = { stage, children: [], column: 0, row: 0, x: 0, y: 0 };
    nodes.push(node);
    nodeOf.set(stage.id, node);
  }
  for (const stage of stages) {
    if (!stage.parentStageId || !byId.has(stage.parentStageId)) continue;
    nodeOf.get(ownerOf(stage, byId).id)?.children.push(stage);
  }

  const byRef = new Map<string, Node>();
  for (const node of nodes) if (node.stage.refId != null) byRef.set(String(node.stage.refId), node);
  const parents = new Map<Node, Node[]>();
  const edges: Edge[] = [];
  for (const node of nodes) {
    const list: Node[] = [];
    for (const ref of node.stage.requisiteStageRefIds ?? []) {
      const parent = byRef.get(String(ref));
      if (parent && parent !== node) {
        list.push(parent);
        edges.push({ from: parent, to: node });
      }
    }
    parents.set(node, list);
  }

  // longest path from a root, iteratively (a deep chain must not overflow the stack); a cycle,
  // which Orca refuses anyway, is cut where it is found
  const depth = new Map<Node, number>();
  const state = new Map<Node, 1 | 2>();
  for (const start of nodes) {
    if (state.get(start) === 2) continue;
    const stack: [Node, number][] = [[start, 0]];
    state.set(start, 1);
    while (stack.length) {
      const top = stack[stack.length - 1];
      const [node, index] = top;
      const list = parents.get(node)!;
      if (index < list.length) {
        top[1] += 1;
        const parent = list[index];
        if (!state.has(parent)) {
          state.set(parent, 1);
          stack.push([parent, 0]);
        }
        continue;
      }
      let column = 0;
      for (const parent of list) if (state.get(parent) === 2) column = Math.max(column, depth.get(parent)! + 1);
      depth.set(node, column);
      state.set(node, 2);
      stack.pop();
    }
  }

  const columns: Node[][] = [];
  for (const node of nodes) {
    node.column = depth.get(node) ?? 0;
    (columns[node.column] ??= []).push(node);
  }
  let rows = 0;
  for (const column of columns) {
    if (!column) continue;
    const weight = (node: Node) => {
      const list = parents.get(node)!;
      return list.length ? list.reduce((sum, parent) => sum + parent.row, 0) / list.length : 0;
    };
    const order = column.map((node, index) => ({ node, index, weight: weight(node) }));
    order.sort((a, b) => a.weight - b.weight || a.index - b.index);
    order.forEach(({ node }, row) => {
      node.row = row;
    });
    rows = Math.max(rows, column.length);
  }
  for (const node of nodes) {
    node.x = MARGIN + node.column * (NODE_WIDTH + GAP_X);
    node.y = MARGIN + node.row * (NODE_HEIGHT + GAP_Y);
  }
  const width = MARGIN * 2 + Math.max(1, columns.length) * (NODE_WIDTH + GAP_X) - GAP_X;
  const height = MARGIN * 2 + Math.max(1, rows) * (NODE_HEIGHT + GAP_Y) - GAP_Y;
  return { nodes, edges, width, height };
}

/** The reason a stage (or task) failed, in words, from wherever Orca and Clouddriver put it. */
export function failureOf(stage: Stage): string | undefined {
  const context = (stage.context ?? {}) as Json;
  const reasons: string[] = [];
  const add = (value: unknown) => {
    if (typeof value === 'string' && value.trim() && !reasons.includes(value.trim())) reasons.push(value.trim());
  };
  const exception = context.exception as Json | undefined;
  if (exception && typeof exception === 'object') {
    const details = (exception.details ?? {}) as Json;
    if (Array.isArray(details.errors)) details.errors.forEach(add);
    add(details.error);
    add(exception.message);
  }
  add(context.failureMessage);
  add(context.errorMessage);
  for (const task of (context['kato.tasks'] as Json[] | undefined) ?? []) {
    add(((task.exception ?? {}) as Json).message);
  }
  for (const task of stage.tasks ?? []) {
    const failure = (task.exception ?? {}) as Json;
    const details = (failure.details ?? {}) as Json;
    if (Array.isArray(details.errors)) details.errors.forEach(add);
    add(details.error);
  }
  if (!reasons.length) return undefined;
  return reasons.join('; ');
}
