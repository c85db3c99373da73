// Ad-hoc tasks as Deck runs them: submit `POST /tasks`, then follow the ref until it finishes.

import { get, post, seg, type Json } from './api';
import { FINISHED } from './format';
import { failureOf, type Stage } from './graph';

export interface Task extends Json {
  id: string;
  status: string;
  name?: string;
  steps?: { name: string; status: string }[];
  variables?: { key: string; value: unknown }[];
}

const DONE = new Set(['SUCCEEDED', 'TERMINAL', 'CANCELED', 'STOPPED', 'FAILED_CONTINUE']);

/** Why a task failed, from Orca's `variables.exception` (as Deck reads it). */
export function taskFailure(task: Task): string {
  const exception = task.variables?.find((variable) => variable.key === 'exception')?.value as Json | undefined;
  const details = (exception?.details ?? {}) as Json;
  const errors = Array.isArray(details.errors) ? details.errors.map(String) : [];
  const reason = errors.join('; ') || (typeof details.error === 'string' ? details.error : '');
  return reason || `the task ended ${task.status.toLowerCase()}`;
}

/**
 * Submit a task and wait for it; `progress` hears each step as it runs. Resolves with the finished
 * task, rejects with the reason it failed, in words.
 */
export async function runTask(
  application: string,
  description: string,
  job: Json[],
  progress: (text: string) => void = () => undefined,
  timeoutMs = 120_000,
): Promise<Task> {
  const { ref } = await post<{ ref: string }>(`/applications/${seg(application)}/tasks`, { application, description, job });
  const deadline = Date.now() + timeoutMs;
  let pause = 150;
  for (;;) {
    const task = await get<Task>(ref);
    const running = task.steps?.find((step) => step.status === 'RUNNING');
    progress(running ? `${description}: ${running.name}…` : `${description}: ${task.status.toLowerCase()}`);
    if (DONE.has(task.status)) {
      if (task.status !== 'SUCCEEDED') throw new Error(`${description} failed: ${taskFailure(task)}`);
      return task;
    }
    if (Date.now() > deadline) throw new Error(`${description} is still ${task.status.toLowerCase()} after ${timeoutMs / 1000} s; see the Tasks tab`);
    await new Promise((resolve) => setTimeout(resolve, pause));
    pause = Math.min(pause * 1.5, 1000);
  }
}

/**
 * Run one Clouddriver operation (resizeServerGroup, disableServerGroup…) as a one-stage ad-hoc
 * pipeline (Gate's `POST /pipelines/start`) and wait for it. Deck sends these as `POST /tasks`
 * jobs; Gennaker's Orca runs only application jobs as tasks so far, and the same operation as a
 * stage is what Orca's orchestration would run. Rejects with the stage's failure in words.
 */
export async function runOperation(
  application: string,
  description: string,
  stage: Json,
  progress: (text: string) => void = () => undefined,
  timeoutMs = 600_000,
): Promise<Json> {
  const { ref } = await post<{ ref: string }>('/pipelines/start', {
    application,
    name: description,
    stages: [{ refId: '1', requisiteStageRefIds: [], name: description, ...stage }],
    trigger: { type: 'manual' },
  });
  const deadline = Date.now() + timeoutMs;
  let pause = 200;
  for (;;) {
    const execution = await get<Json & { status: string; stages?: Stage[] }>(ref);
    progress(`${description}: ${execution.status.toLowerCase()}…`);
    if (FINISHED.has(execution.status)) {
      if (execution.status === 'SUCCEEDED') return execution;
      const reasons = (execution.stages ?? []).map(failureOf).filter(Boolean);
      throw new Error(`${description} ${execution.status === 'CANCELED' ? 'was canceled' : 'failed'}${reasons.length ? `: ${reasons.join('; ')}` : ''}`);
    }
    if (Date.now() > deadline) throw new Error(`${description} is still ${execution.status.toLowerCase()} after ${timeoutMs / 1000} s`);
    await new Promise((resolve) => setTimeout(resolve, pause));
    pause = Math.min(pause * 1.5, 1000);
  }
}
