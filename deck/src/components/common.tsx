// Small pieces every view uses: errors in words, status badges, buttons that run an action, dialogs.
//
// Everything the API returns is rendered as text (JSX escapes it); nothing here sets innerHTML.

import type { ComponentChildren } from 'preact';
import { useEffect, useRef } from 'preact/hooks';
import { ApiError } from '../api';
import { label, statusClass } from '../format';
import type { Action } from '../hooks';

export function ErrorText({ error, id }: { error: Error | undefined; id?: string }) {
  if (!error) return null;
  const problems = error instanceof ApiError ? error.problems : [];
  const advice = error instanceof ApiError && error.status === 403 ? ' Ask an owner of the application for access.' : '';
  return (
    <div class="error" role="alert" id={id}>
      {error.message}
      {advice}
      {problems.length > 1 && (
        <ul>
          {problems.map((problem) => (
            <li key={problem.field}>
              <code>{problem.field}</code>: {problem.message}
            </li>
          ))}
        </ul>
      )}
    </div>
  );
}

export function Status({ status }: { status: unknown }) {
  return <span class={`status ${statusClass(status)}`}>{label(status)}</span>;
}

interface ActionButtonProps {
  action: Action;
  work: () => Promise<string | void>;
  children: ComponentChildren;
  kind?: 'primary' | 'danger' | 'plain';
  confirm?: string;
  disabled?: boolean;
  title?: string;
  testId?: string;
}

/** A button that runs `work` once at a time; its error or result is shown next to it. */
export function ActionButton({ action, work, children, kind = 'plain', confirm, disabled, title, testId }: ActionButtonProps) {
  return (
    <span class="action">
      <button
        type="button"
        class={`btn btn-${kind}`}
        disabled={disabled || action.busy}
        title={title}
        data-testid={testId}
        onClick={() => {
          if (confirm && !window.confirm(confirm)) return;
          void action.run(work);
        }}
      >
        {action.busy ? '…' : children}
      </button>
      {action.done && <span class="done">{action.done}</span>}
      <ErrorText error={action.error} />
    </span>
  );
}

export function Modal({ title, onClose, children }: { title: string; onClose: () => void; children: ComponentChildren }) {
  const dialog = useRef<HTMLDivElement>(null);
  useEffect(() => {
    const escape = (event: KeyboardEvent) => event.key === 'Escape' && onClose();
    window.addEventListener('keydown', escape);
    dialog.current?.querySelector<HTMLElement>('input, textarea, select, button')?.focus();
    return () => window.removeEventListener('keydown', escape);
  }, [onClose]);
  return (
    <div class="backdrop" onClick={(event) => event.target === event.currentTarget && onClose()}>
      <div class="modal" role="dialog" aria-modal="true" aria-label={title} ref={dialog}>
        <header>
          <h2>{title}</h2>
          <button type="button" class="close" aria-label="Close" onClick={onClose}>
            ×
          </button>
        </header>
        {children}
      </div>
    </div>
  );
}

export function Loading({ what }: { what: string }) {
  return <p class="loading">Loading {what}…</p>;
}

/** The error of a field, when the gateway named that field (or one inside it). */
export function fieldError(error: Error | undefined, field: string): string | undefined {
  if (!(error instanceof ApiError)) return undefined;
  const matches = (name: string | undefined) => !!name && (name === field || name.startsWith(`${field}.`) || name.startsWith(`${field}[`));
  const problem = error.problems.find((item) => matches(item.field));
  if (problem) return problem.message;
  return matches(error.field) ? error.message : undefined;
}
