// Loading data and running actions, with the state every view shows the same way.

import { useCallback, useEffect, useRef, useState } from 'preact/hooks';
import { ApiError, messageOf } from './api';

export interface Loaded<T> {
  data: T | undefined;
  error: ApiError | Error | undefined;
  loading: boolean;
  reload: () => void;
}

/** Load `fetcher()` when `key` changes; `reload()` fetches again, keeping the old data meanwhile. */
export function useLoad<T>(key: string, fetcher: () => Promise<T>): Loaded<T> {
  const [state, setState] = useState<{ key: string; data?: T; error?: Error; loading: boolean }>({ key, loading: true });
  const [generation, setGeneration] = useState(0);
  const fetcherRef = useRef(fetcher);
  fetcherRef.current = fetcher;
  useEffect(() => {
    let live = true;
    // a reload keeps what is shown meanwhile; another key never shows the last key's data
    setState((old) => (old.key === key ? { ...old, loading: true } : { key, loading: true }));
    fetcherRef.current().then(
      (data) => live && setState({ key, data, loading: false }),
      (error: unknown) =>
        live &&
        setState((old) => ({
          key,
          data: old.key === key ? old.data : undefined,
          error: error instanceof Error ? error : new Error(messageOf(error)),
          loading: false,
        })),
    );
    return () => {
      live = false;
    };
  }, [key, generation]);
  const reload = useCallback(() => setGeneration((value) => value + 1), []);
  const current = state.key === key;
  return { data: current ? state.data : undefined, error: current ? state.error : undefined, loading: !current || state.loading, reload };
}

export interface Action {
  busy: boolean;
  error?: ApiError | Error;
  done?: string;
  run: (work: () => Promise<string | void>) => Promise<boolean>;
  clear: () => void;
}

/** An action's busy flag, its error (shown next to it) and what it achieved. */
export function useAction(): Action {
  const [state, setState] = useState<{ busy: boolean; error?: Error; done?: string }>({ busy: false });
  const run = useCallback(async (work: () => Promise<string | void>) => {
    setState({ busy: true });
    try {
      const done = await work();
      setState({ busy: false, done: done || undefined });
      return true;
    } catch (error) {
      setState({ busy: false, error: error instanceof Error ? error : new Error(messageOf(error)) });
      return false;
    }
  }, []);
  const clear = useCallback(() => setState({ busy: false }), []);
  return { ...state, run, clear };
}

/** Re-render every `ms` while `active`, for running clocks. */
export function useTick(active: boolean, ms = 1000): number {
  const [now, setNow] = useState(Date.now());
  useEffect(() => {
    if (!active) return undefined;
    const timer = setInterval(() => setNow(Date.now()), ms);
    return () => clearInterval(timer);
  }, [active, ms]);
  return now;
}
