// Kayenta's canary executions as Gate relays them (`/v2/canaries/...`), and what the report draws.

import type { Json } from './api';

export interface CanaryScore {
  score?: number;
  classification?: string;
  classificationReason?: string;
}

export interface MetricResult extends Json {
  id?: string;
  name: string;
  classification: string;
  classificationReason?: string;
  groups?: string[];
  critical?: boolean;
  muted?: boolean;
  resultMetadata?: { ratio?: number };
  controlMetadata?: { stats?: Record<string, number | string> };
  experimentMetadata?: { stats?: Record<string, number | string> };
}

export interface CanaryExecution extends Json {
  id: string;
  application: string;
  complete: boolean;
  status: string;
  canaryConfigId?: string | null;
  config?: Json & { name?: string };
  canaryExecutionRequest?: Json & { thresholds?: { pass?: number; marginal?: number } };
  metricsAccountName?: string;
  metricSetPairListId?: string;
  parentPipelineExecutionId?: string | null;
  startTimeMillis?: number;
  endTimeMillis?: number;
  user?: string;
  exception?: { message?: string } | null;
  result?: (Json & { judgeResult?: { results?: MetricResult[]; groupScores?: Json[]; score?: CanaryScore } }) | null;
}

export interface MetricSetPair extends Json {
  id: string;
  name: string;
  values: { control: (number | string)[]; experiment: (number | string)[] };
  tags?: Record<string, string>;
  scopes?: { control?: { startTimeMillis?: number; stepMillis?: number }; experiment?: { startTimeMillis?: number; stepMillis?: number } };
}

export function scoreOf(execution: CanaryExecution): CanaryScore | undefined {
  return execution.result?.judgeResult?.score;
}

/**
 * The run's outcome in words: why it stopped, or its classification with the thresholds that
 * decided it and the metrics that pulled it down ("Fail: score 0 is at or below the marginal
 * threshold 60 (p99 was classified as High)").
 */
export function verdict(execution: CanaryExecution): string {
  if (!execution.complete) return 'running';
  if (execution.exception?.message) return `failed: ${execution.exception.message}`;
  const score = scoreOf(execution);
  if (!score) return String(execution.status);
  const { pass, marginal } = execution.canaryExecutionRequest?.thresholds ?? {};
  const value = figure(score.score);
  let why = score.classificationReason ?? '';
  if (!why && score.classification === 'Pass' && pass !== undefined) why = `score ${value} reached the pass threshold ${figure(pass)}`;
  else if (!why && score.classification === 'Marginal') why = `score ${value} is above the marginal threshold ${figure(marginal)} but below the pass threshold ${figure(pass)}`;
  else if (!why && score.classification === 'Fail' && marginal !== undefined) why = `score ${value} is at or below the marginal threshold ${figure(marginal)}`;
  const pulledDown = (execution.result?.judgeResult?.results ?? [])
    .filter((metric) => !metric.muted && !['Pass', 'Nodata'].includes(metric.classification))
    .map((metric) => metric.classificationReason || `${metric.name} was classified as ${metric.classification}`);
  const detail = score.classification !== 'Pass' && pulledDown.length ? ` (${pulledDown.join('; ')})` : '';
  return `${score.classification ?? ''}${why ? `: ${why}` : ''}${detail}`;
}

/** A CSS class for a metric's or a score's classification (Pass/Nodata green or grey, High/Low/Fail red…). */
export function classificationClass(classification: unknown): string {
  switch (String(classification ?? '')) {
    case 'Pass':
      return 's-succeeded';
    case 'Marginal':
      return 's-paused';
    case 'Fail':
    case 'High':
    case 'Low':
    case 'Error':
      return 's-failed';
    default:
      return 's-not-started';
  }
}

/** A sample as a number; Kayenta sends NaN and infinities as text, which a chart leaves out. */
export function sample(value: number | string): number | undefined {
  const number = typeof value === 'number' ? value : Number(value);
  return Number.isFinite(number) ? number : undefined;
}

export interface ChartShape {
  control: string;
  experiment: string;
  min: number;
  max: number;
}

/**
 * SVG polyline points for both series on one scale, `width` × `height` (y grows downwards). A gap
 * (NaN) breaks neither line: its point is left out.
 */
export function chart(pair: MetricSetPair, width: number, height: number): ChartShape {
  const control = pair.values.control.map(sample);
  const experiment = pair.values.experiment.map(sample);
  const known = [...control, ...experiment].filter((value): value is number => value !== undefined);
  const min = known.length ? Math.min(...known) : 0;
  const max = known.length ? Math.max(...known) : 1;
  const span = max - min || 1;
  const count = Math.max(control.length, experiment.length, 2);
  const points = (values: (number | undefined)[]) =>
    values
      .map((value, index) =>
        value === undefined ? '' : `${((index / (count - 1)) * width).toFixed(1)},${(height - ((value - min) / span) * height).toFixed(1)}`,
      )
      .filter((point) => point !== '')
      .join(' ');
  return { control: points(control), experiment: points(experiment), min, max };
}

/** A number as the report shows it: short, with no float noise. */
export function figure(value: unknown): string {
  if (typeof value !== 'number' || !Number.isFinite(value)) return value === undefined || value === null ? '—' : String(value);
  if (value !== 0 && Math.abs(value) < 0.001) return value.toExponential(2);
  return String(Number(value.toPrecision(4)));
}
