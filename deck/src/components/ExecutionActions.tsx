// What a user with EXECUTE can do to a whole execution: cancel (with a reason), pause, resume.

import { useState } from 'preact/hooks';
import { put, seg } from '../api';
import { useAction } from '../hooks';
import type { Execution } from '../pipelines';
import { ActionButton, ErrorText, Modal } from './common';

const CANCELABLE = new Set(['RUNNING', 'PAUSED', 'SUSPENDED', 'BUFFERED', 'NOT_STARTED']);

export function ExecutionActions({ execution, onChanged }: { execution: Execution; onChanged: () => void }) {
  const [asking, setAsking] = useState(false);
  const [reason, setReason] = useState('');
  const cancel = useAction();
  const pause = useAction();
  const resume = useAction();
  const id = seg(execution.id);
  const status = execution.status;
  return (
    <span class="execution-actions">
      {status === 'RUNNING' && (
        <ActionButton action={pause} work={async () => (await put(`/pipelines/${id}/pause`), onChanged(), 'Pausing…')}>
          Pause
        </ActionButton>
      )}
      {status === 'PAUSED' && (
        <ActionButton action={resume} work={async () => (await put(`/pipelines/${id}/resume`), onChanged(), 'Resuming…')}>
          Resume
        </ActionButton>
      )}
      {CANCELABLE.has(status) && (
        <button type="button" class="btn btn-danger" onClick={() => setAsking(true)}>
          Cancel execution
        </button>
      )}
      {asking && (
        <Modal title={`Cancel ${execution.name ?? 'execution'}`} onClose={() => setAsking(false)}>
          <form
            class="form"
            onSubmit={(event) => {
              event.preventDefault();
              void cancel
                .run(async () => {
                  const query = reason.trim() ? `?reason=${encodeURIComponent(reason.trim())}` : '';
                  await put(`/pipelines/${id}/cancel${query}`);
                })
                .then((ok) => {
                  if (ok) {
                    setAsking(false);
                    onChanged();
                  }
                });
            }}
          >
            <label>
              Reason (optional)
              <input name="reason" value={reason} onInput={(event) => setReason((event.target as HTMLInputElement).value)} />
            </label>
            <div class="buttons">
              <button type="submit" class="btn btn-danger" disabled={cancel.busy}>
                {cancel.busy ? 'Canceling…' : 'Cancel execution'}
              </button>
            </div>
            <ErrorText error={cancel.error} />
          </form>
        </Modal>
      )}
    </span>
  );
}
