// The application's ad-hoc tasks (create application, resize…), newest first, with why they failed.

import { get, put, seg } from '../api';
import { ActionButton, ErrorText, Loading, Status } from '../components/common';
import { duration, when } from '../format';
import { useAction, useLoad } from '../hooks';
import { type Task, taskFailure } from '../tasks';
import type { ApplicationView } from './ApplicationPage';

function TaskRow({ app, task, onChanged }: { app: ApplicationView; task: Task; onChanged: () => void }) {
  const cancel = useAction();
  const running = task.status === 'RUNNING' || task.status === 'NOT_STARTED';
  return (
    <tr data-testid="task">
      <td>
        <Status status={task.status} />
      </td>
      <td>{String(task.name ?? task.id)}</td>
      <td>{when(task.startTime ?? task.buildTime)}</td>
      <td>{duration(task.startTime, task.endTime)}</td>
      <td>{task.status === 'TERMINAL' ? taskFailure(task) : (task.steps ?? []).map((step) => `${step.name}: ${step.status}`).join(', ')}</td>
      <td>
        {running && app.may.has('EXECUTE') && (
          <ActionButton action={cancel} work={async () => (await put(`/tasks/${seg(task.id)}/cancel`), onChanged(), 'Canceling…')}>
            Cancel
          </ActionButton>
        )}
      </td>
    </tr>
  );
}

export function Tasks({ app }: { app: ApplicationView }) {
  const loaded = useLoad(`tasks:${app.name}`, () => get<Task[]>(`/applications/${seg(app.name)}/tasks?limit=50`));
  if (loaded.error) return <ErrorText error={loaded.error} />;
  if (!loaded.data) return <Loading what="tasks" />;
  if (!loaded.data.length) return <p class="empty">No tasks yet.</p>;
  return (
    <table class="grid">
      <tbody>
        {loaded.data.map((task) => (
          <TaskRow key={task.id} app={app} task={task} onChanged={loaded.reload} />
        ))}
      </tbody>
    </table>
  );
}
