// How times, durations and statuses read on screen.

export const FINISHED = new Set(['SUCCEEDED', 'FAILED_CONTINUE', 'TERMINAL', 'CANCELED', 'STOPPED', 'SKIPPED']);
export const ACTIVE = new Set(['RUNNING', 'PAUSED', 'SUSPENDED', 'BUFFERED', 'NOT_STARTED']);
export const STATUSES = [
  'RUNNING',
  'PAUSED',
  'SUSPENDED',
  'BUFFERED',
  'NOT_STARTED',
  'SUCCEEDED',
  'FAILED_CONTINUE',
  'TERMINAL',
  'CANCELED',
  'STOPPED',
  'SKIPPED',
];

/** A CSS class per status family: the colours Deck users know (green, blue, red, grey…). */
export function statusClass(status: unknown): string {
  switch (String(status ?? '').toUpperCase()) {
    case 'SUCCEEDED':
      return 's-succeeded';
    case 'RUNNING':
      return 's-running';
    case 'PAUSED':
    case 'SUSPENDED':
    case 'BUFFERED':
      return 's-paused';
    case 'TERMINAL':
    case 'FAILED_CONTINUE':
      return 's-failed';
    case 'CANCELED':
    case 'STOPPED':
      return 's-canceled';
    case 'SKIPPED':
      return 's-skipped';
    default:
      return 's-not-started';
  }
}

export function label(status: unknown): string {
  return String(status ?? 'NOT_STARTED').replace(/_/g, ' ');
}

export function when(ms: unknown): string {
  if (typeof ms !== 'number' || !Number.isFinite(ms) || ms <= 0) return '—';
  return new Date(ms).toLocaleString();
}

export function duration(start: unknown, end: unknown, now = Date.now()): string {
  if (typeof start !== 'number' || start <= 0) return '—';
  const stop = typeof end === 'number' && end > 0 ? end : now;
  let seconds = Math.max(0, Math.round((stop - start) / 1000));
  const hours = Math.floor(seconds / 3600);
  seconds -= hours * 3600;
  const minutes = Math.floor(seconds / 60);
  seconds -= minutes * 60;
  if (hours) return `${hours}h ${String(minutes).padStart(2, '0')}m`;
  if (minutes) return `${minutes}m ${String(seconds).padStart(2, '0')}s`;
  return `${seconds}s`;
}

/** JSON for reading: pretty, and never more than `limit` characters (a huge context stays usable). */
export function pretty(value: unknown, limit = 200_000): string {
  let text: string;
  try {
    text = JSON.stringify(value, null, 2) ?? 'null';
  } catch {
    text = String(value);
  }
  return text.length > limit ? `${text.slice(0, limit)}\n… (${text.length - limit} more characters)` : text;
}
