// Pipeline configs and executions as the views read and write them through Gate's API.

import { get, post, seg, type Json } from './api';
import type { Stage } from './graph';

export interface Parameter extends Json {
  name: string;
  label?: string;
  description?: string;
  default?: unknown;
  required?: boolean;
  hasOptions?: boolean;
  options?: { value: unknown }[];
}

export interface Trigger extends Json {
  type: string;
  enabled?: boolean;
}

/** Spinnaker's pipeline lock: while `ui` is true the pipeline is managed elsewhere (Dinghy, or a user's lock). */
export interface PipelineLock extends Json {
  ui?: boolean;
  allowUnlockUi?: boolean;
  description?: string;
}

export interface PipelineConfig extends Json {
  id: string;
  application: string;
  name: string;
  stages?: Json[];
  triggers?: Trigger[];
  parameterConfig?: Parameter[];
  disabled?: boolean;
  updateTs?: string | number;
  lastModifiedBy?: string;
  index?: number;
  locked?: PipelineLock;
}

/** The lock a config is under, or undefined when it is not locked. */
export function lockOf(config: PipelineConfig | undefined): PipelineLock | undefined {
  return config?.locked?.ui === true ? config.locked : undefined;
}

export interface Execution extends Json {
  id: string;
  application: string;
  name?: string;
  status: string;
  pipelineConfigId?: string | null;
  trigger?: Json & { type?: string; user?: string; parameters?: Json };
  stages: Stage[];
  buildTime?: number;
  startTime?: number | null;
  endTime?: number | null;
  canceledBy?: string | null;
  cancellationReason?: string | null;
}

export function configs(application: string): Promise<PipelineConfig[]> {
  return get<PipelineConfig[]>(`/applications/${seg(application)}/pipelineConfigs`);
}

/** Save a config; `staleCheck` refuses (409) when someone saved it after `updateTs` was read. */
export function saveConfig(config: Json, staleCheck = true): Promise<PipelineConfig> {
  return post<PipelineConfig>(`/pipelines${staleCheck ? '?staleCheck=true' : ''}`, config);
}

export function triggerLabel(trigger: Json | undefined): string {
  if (!trigger) return '';
  const type = String(trigger.type ?? 'manual');
  const user = typeof trigger.user === 'string' && trigger.user ? ` by ${trigger.user}` : '';
  return `${type}${user}`;
}

export function topLevel(stages: Stage[]): Stage[] {
  return stages.filter((stage) => !stage.parentStageId);
}
