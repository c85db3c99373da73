// The stage graph drawn: edges in one SVG underneath, each stage a button placed by graph.ts.

import { useMemo } from 'preact/hooks';
import { duration, label, statusClass } from '../format';
import { layout, NODE_HEIGHT, NODE_WIDTH, type Stage } from '../graph';

export function StageGraph({
  stages,
  selected,
  onSelect,
  now,
}: {
  stages: Stage[];
  selected: string | undefined;
  onSelect: (stageId: string) => void;
  now: number;
}) {
  const shape = useMemo(() => layout(stages), [stages]);
  const path = useMemo(
    () =>
      shape.edges
        .map(({ from, to }) => {
          const x1 = from.x + NODE_WIDTH;
          const y1 = from.y + NODE_HEIGHT / 2;
          const x2 = to.x;
          const y2 = to.y + NODE_HEIGHT / 2;
          const middle = (x1 + x2) / 2;
          return `M${x1} ${y1}C${middle} ${y1} ${middle} ${y2} ${x2} ${y2}`;
        })
        .join(''),
    [shape],
  );
  return (
    <div class="graph" style={{ width: `${shape.width}px`, height: `${shape.height}px` }} data-testid="stage-graph">
      <svg width={shape.width} height={shape.height} aria-hidden="true">
        <path d={path} />
      </svg>
      {shape.nodes.map((node) => (
        <button
          type="button"
          key={node.stage.id}
          class={`node ${statusClass(node.stage.status)}${selected === node.stage.id ? ' selected' : ''}`}
          style={{ left: `${node.x}px`, top: `${node.y}px` }}
          onClick={() => onSelect(node.stage.id)}
          data-testid="stage-node"
          data-status={node.stage.status}
          title={`${node.stage.name ?? node.stage.type} (${node.stage.type}): ${label(node.stage.status)}`}
        >
          <span class="node-name">{node.stage.name ?? node.stage.type}</span>
          <span class="node-meta">
            {label(node.stage.status)} · {duration(node.stage.startTime, node.stage.endTime, now)}
            {node.children.length ? ` · +${node.children.length} steps` : ''}
          </span>
        </button>
      ))}
    </div>
  );
}
