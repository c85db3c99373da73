// Whether live updates are flowing: "live", or "reconnecting" with the reason, beside the view.

import type { StreamState } from '../events';

const TEXT: Record<StreamState, string> = {
  connecting: 'connecting…',
  live: 'live',
  reconnecting: 'reconnecting…',
  closed: 'not live',
};

export function StreamBadge({ state, detail }: { state: StreamState; detail: string | undefined }) {
  return (
    <span class={`stream stream-${state}`} data-testid="stream-state" data-state={state} title={detail ?? ''} role="status">
      {TEXT[state]}
      {state === 'reconnecting' && detail ? ` (${detail})` : ''}
    </span>
  );
}
