// Live updates: the gateway's `/events/stream` (server-sent events), resumed with `Last-Event-ID`.
//
// Browsers' EventSource cannot send an Authorization header, so the stream is read with fetch and
// parsed here. When it ends or fails, the reader says so (`reconnecting`) and connects again after
// a growing pause, sending the id of the last event it saw: the gateway replays what was missed
// from Echo's history, then goes on live.

import { useEffect, useRef, useState } from 'preact/hooks';
import { headers } from './api';

export interface BusEvent {
  id: string;
  type: string;
  subject?: string;
  data: Record<string, unknown>;
}

export type StreamState = 'connecting' | 'live' | 'reconnecting' | 'closed';

export interface StreamOptions {
  patterns: string[];
  application?: string;
  execution?: string;
  onEvent: (event: BusEvent) => void;
  onState: (state: StreamState, detail?: string) => void;
}

const MAX_PAUSE_MS = 10_000;

/** A parser of the `text/event-stream` format: feed it text, it hands over complete events. */
export class SseParser {
  private buffer = '';
  private data: string[] = [];
  private id: string | undefined;
  lastId: string | undefined;

  constructor(private readonly emit: (id: string | undefined, data: string) => void) {}

  feed(text: string): void {
    this.buffer += text;
    let newline: number;
    while ((newline = this.buffer.search(/\r\n|\r|\n/)) >= 0) {
      const line = this.buffer.slice(0, newline);
      const width = this.buffer.startsWith('\r\n', newline) ? 2 : 1;
      this.buffer = this.buffer.slice(newline + width);
      this.line(line);
    }
  }

  private line(line: string): void {
    if (line === '') {
      if (this.id !== undefined) this.lastId = this.id;
      if (this.data.length) this.emit(this.id, this.data.join('\n'));
      this.data = [];
      this.id = undefined;
      return;
    }
    if (line.startsWith(':')) return;
    const colon = line.indexOf(':');
    const field = colon < 0 ? line : line.slice(0, colon);
    let value = colon < 0 ? '' : line.slice(colon + 1);
    if (value.startsWith(' ')) value = value.slice(1);
    if (field === 'data') this.data.push(value);
    else if (field === 'id' && !value.includes('\0')) this.id = value;
  }
}

/** Follow the stream until `stop()`; reconnects by itself. */
export function follow(options: StreamOptions): { stop: () => void } {
  let stopped = false;
  let controller: AbortController | undefined;
  let lastEventId: string | undefined;
  let pause = 500;

  const url = () => {
    const query = new URLSearchParams();
    for (const pattern of options.patterns) query.append('pattern', pattern);
    if (options.application) query.set('application', options.application);
    if (options.execution) query.set('execution', options.execution);
    return `/events/stream?${query}`;
  };

  const connectOnce = async (): Promise<string> => {
    controller = new AbortController();
    const extra: Record<string, string> = { Accept: 'text/event-stream' };
    if (lastEventId) extra['Last-Event-ID'] = lastEventId;
    const response = await fetch(url(), { headers: headers(extra), signal: controller.signal, cache: 'no-store' });
    if (!response.ok || !response.body) {
      let reason = `the event stream answered HTTP ${response.status}`;
      try {
        const body = await response.json();
        reason = body.message ?? body.error ?? reason;
      } catch {
        // not JSON: keep the status
      }
      return reason;
    }
    options.onState('live');
    pause = 500;
    const parser = new SseParser((id, data) => {
      if (id) lastEventId = id;
      try {
        const parsed = JSON.parse(data) as BusEvent;
        options.onEvent({ ...parsed, id: parsed.id ?? id ?? '' });
      } catch {
        // a frame that is not a CloudEvent (a comment-like notice): nothing to show
      }
    });
    const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return 'the event stream ended';
      parser.feed(value);
    }
  };

  const run = async () => {
    while (!stopped) {
      let reason: string;
      try {
        reason = await connectOnce();
      } catch (error) {
        if (stopped) break;
        reason = error instanceof Error ? `the connection to the event stream was lost (${error.message})` : 'lost';
      }
      if (stopped) break;
      options.onState('reconnecting', `${reason}; reconnecting in ${Math.round(pause / 100) / 10} s`);
      await new Promise((resolve) => setTimeout(resolve, pause));
      pause = Math.min(pause * 2, MAX_PAUSE_MS);
    }
    options.onState('closed');
  };

  options.onState('connecting');
  void run();
  return {
    stop: () => {
      stopped = true;
      controller?.abort();
    },
  };
}

/**
 * Follow events while a view is shown; `onEvent` is called for each one. Returns the stream's state
 * and what it last said, to show beside the view ("live", "reconnecting: …").
 */
export function useEventStream(
  key: string | null,
  patterns: string[],
  filter: { application?: string; execution?: string },
  onEvent: (event: BusEvent) => void,
): { state: StreamState; detail: string | undefined } {
  const [status, setStatus] = useState<{ state: StreamState; detail: string | undefined }>({
    state: 'connecting',
    detail: undefined,
  });
  const handler = useRef(onEvent);
  handler.current = onEvent;
  useEffect(() => {
    if (key === null) return undefined;
    const stream = follow({
      patterns,
      ...filter,
      onEvent: (event) => handler.current(event),
      onState: (state, detail) => setStatus({ state, detail }),
    });
    return () => stream.stop();
    // the stream is keyed by `key`: patterns and filter are part of it
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [key]);
  return status;
}
