// Deck's canary pages: an application's canary runs (Kayenta's executions, newest first) and one
// run's report — its score against the thresholds, each metric's classification and the reason,
// and the baseline (control) and canary (experiment) series of the selected metric as a chart.

import { Fragment } from 'preact';
import { get, seg } from '../api';
import {
  type CanaryExecution,
  chart,
  classificationClass,
  figure,
  type MetricResult,
  type MetricSetPair,
  scoreOf,
  verdict,
} from '../canary';
import { ErrorText, Loading } from '../components/common';
import { StreamBadge } from '../components/StreamBadge';
import { useEventStream } from '../events';
import { duration, when } from '../format';
import { useLoad, useTick } from '../hooks';
import { href, navigate } from '../router';
import type { ApplicationView } from './ApplicationPage';

const CHART_WIDTH = 640;
const CHART_HEIGHT = 180;

function reportHref(app: string, execution: CanaryExecution, metric?: string): string {
  return href(['applications', app, 'canary', 'report', execution.canaryConfigId ?? 'adhoc', execution.id], { metric });
}

function Score({ execution }: { execution: CanaryExecution }) {
  const score = scoreOf(execution);
  if (!execution.complete) return <span class="status s-running">RUNNING</span>;
  if (!score) return <span class="status s-failed">{String(execution.status).toUpperCase()}</span>;
  return (
    <span class={`status ${classificationClass(score.classification)}`} data-testid="canary-score">
      {figure(score.score)} {score.classification}
    </span>
  );
}

export function CanaryRuns({ app }: { app: ApplicationView }) {
  const loaded = useLoad(`canaries:${app.name}`, () => get<CanaryExecution[]>(`/v2/canaries/${seg(app.name)}/executions?limit=50`));
  const stream = useEventStream(`canaries:${app.name}`, ['kayenta.#'], { application: app.name }, loaded.reload);
  if (loaded.error && !loaded.data) return <ErrorText error={loaded.error} />;
  if (!loaded.data) return <Loading what="canary runs" />;
  return (
    <div class="canary-runs">
      <div class="filters">
        <span class="hint">Canary analyses run by Kayenta, from a pipeline's canary stage or through the API.</span>
        <span class="spacer" />
        <StreamBadge state={stream.state} detail={stream.detail} />
      </div>
      <ErrorText error={loaded.error} />
      {!loaded.data.length ? (
        <p class="empty">No canary runs yet: add a kayentaCanary stage to a pipeline.</p>
      ) : (
        <table class="grid" data-testid="canary-runs">
          <thead>
            <tr>
              <th>Score</th>
              <th>Config</th>
              <th>Started</th>
              <th>Duration</th>
              <th>Result</th>
              <th>Pipeline</th>
            </tr>
          </thead>
          <tbody>
            {loaded.data.map((execution) => (
              <tr key={execution.id} data-testid="canary-run" data-status={execution.status}>
                <td>
                  <Score execution={execution} />
                </td>
                <td>
                  <a href={reportHref(app.name, execution)}>{execution.config?.name ?? execution.canaryConfigId ?? execution.id}</a>
                </td>
                <td>{when(execution.startTimeMillis)}</td>
                <td>{duration(execution.startTimeMillis, execution.endTimeMillis)}</td>
                <td>{verdict(execution)}</td>
                <td>
                  {execution.parentPipelineExecutionId ? (
                    <a href={href(['applications', app.name, 'executions', 'details', execution.parentPipelineExecutionId])}>execution</a>
                  ) : (
                    <span class="hint">ad hoc</span>
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </div>
  );
}

function SeriesChart({ pair, metric }: { pair: MetricSetPair; metric: MetricResult }) {
  const shape = chart(pair, CHART_WIDTH, CHART_HEIGHT);
  const stats = (side: 'controlMetadata' | 'experimentMetadata') => metric[side]?.stats ?? {};
  const names = ['mean', 'std', 'min', 'max', 'count'];
  return (
    <section class="card" data-testid="metric-chart" data-metric={metric.name}>
      <header>
        <h2>{metric.name}</h2>
        <span class={`status ${classificationClass(metric.classification)}`}>{metric.classification}</span>
        <span class="hint">{metric.classificationReason}</span>
      </header>
      <div class="chart">
        <span class="axis">{figure(shape.max)}</span>
        <svg viewBox={`0 0 ${CHART_WIDTH} ${CHART_HEIGHT}`} width={CHART_WIDTH} height={CHART_HEIGHT} role="img" aria-label={`${metric.name}: baseline and canary`}>
          <polyline class="series-control" data-testid="series-control" points={shape.control} />
          <polyline class="series-experiment" data-testid="series-experiment" points={shape.experiment} />
        </svg>
        <span class="axis">{figure(shape.min)}</span>
      </div>
      <p class="legend">
        <span class="key series-control" /> baseline (control, {pair.values.control.length} samples) <span class="key series-experiment" /> canary
        (experiment, {pair.values.experiment.length} samples)
      </p>
      <table class="grid">
        <thead>
          <tr>
            <th />
            {names.map((name) => (
              <th key={name}>{name}</th>
            ))}
          </tr>
        </thead>
        <tbody>
          {(['controlMetadata', 'experimentMetadata'] as const).map((side) => (
            <tr key={side}>
              <td>{side === 'controlMetadata' ? 'baseline' : 'canary'}</td>
              {names.map((name) => (
                <td key={name}>{figure(stats(side)[name])}</td>
              ))}
            </tr>
          ))}
        </tbody>
      </table>
    </section>
  );
}

export function CanaryReport({ app, id, query }: { app: ApplicationView; id: string; query: URLSearchParams }) {
  const loaded = useLoad(`canary:${id}`, () => get<CanaryExecution>(`/v2/canaries/canary/${seg(id)}`));
  const execution = loaded.data;
  const complete = !!execution?.complete;
  const stream = useEventStream(complete ? null : `canary:${id}`, ['kayenta.#'], { execution: id }, loaded.reload);
  const pairListId = complete ? execution?.metricSetPairListId : undefined;
  const pairs = useLoad(`pairs:${pairListId ?? ''}`, () =>
    pairListId ? get<MetricSetPair[]>(`/v2/canaries/metricSetPairList/${seg(pairListId)}`) : Promise.resolve([]),
  );
  const now = useTick(!complete);

  if (loaded.error && !execution) return <ErrorText error={loaded.error} />;
  if (!execution) return <Loading what="the canary report" />;
  const judged = execution.result?.judgeResult;
  const metrics = judged?.results ?? [];
  const selected = metrics.find((metric) => metric.id === query.get('metric')) ?? metrics[0];
  const pair = pairs.data?.find((item) => item.id === selected?.id) ?? pairs.data?.find((item) => item.name === selected?.name);
  const thresholds = execution.canaryExecutionRequest?.thresholds ?? {};
  const scopes = Object.entries((execution.canaryExecutionRequest?.scopes ?? {}) as Record<string, Record<string, Record<string, unknown>>>);
  const score = scoreOf(execution);
  const failed = !!execution.exception?.message || score?.classification === 'Fail';

  return (
    <div class="canary-report" data-testid="canary-report" data-status={execution.status}>
      <div class="title-row">
        <a href={href(['applications', app.name, 'canary', 'report'])}>← Canary runs</a>
        <h2>{execution.config?.name ?? 'ad-hoc canary'}</h2>
        <Score execution={execution} />
        <span class="hint">
          {when(execution.startTimeMillis)} · {duration(execution.startTimeMillis, execution.endTimeMillis, now)}
          {execution.user ? ` · by ${execution.user}` : ''}
        </span>
        <span class="spacer" />
        {!complete && <StreamBadge state={stream.state} detail={stream.detail} />}
      </div>
      <ErrorText error={loaded.error} />
      {complete && (
        <div class={failed ? 'error' : 'notice'} role={failed ? 'alert' : undefined} data-testid="canary-verdict">
          {verdict(execution)}
        </div>
      )}
      <dl class="pairs">
        <dt>Thresholds</dt>
        <dd>
          pass {figure(thresholds.pass)} · marginal {figure(thresholds.marginal)}
        </dd>
        <dt>Metrics account</dt>
        <dd>{execution.metricsAccountName ?? '—'}</dd>
        {scopes.map(([name, scope]) => (
          <Fragment key={name}>
            <dt>Scope {name}</dt>
            <dd>
              baseline <code>{String(scope.controlScope?.scope ?? '')}</code> · canary <code>{String(scope.experimentScope?.scope ?? '')}</code> ·{' '}
              {String(scope.experimentScope?.start ?? '')} → {String(scope.experimentScope?.end ?? '')}
            </dd>
          </Fragment>
        ))}
        {execution.parentPipelineExecutionId && (
          <>
            <dt>Pipeline</dt>
            <dd>
              <a href={href(['applications', app.name, 'executions', 'details', execution.parentPipelineExecutionId])}>the execution that ran it</a>
            </dd>
          </>
        )}
      </dl>
      {(judged?.groupScores ?? []).some((group) => group.name) && (
        <p class="groups">
          {(judged?.groupScores ?? [])
            .filter((group) => group.name)
            .map((group) => (
              <span key={String(group.name)} class="badge">
                {String(group.name)}: {figure(group.score)}
              </span>
            ))}
        </p>
      )}
      {metrics.length > 0 && (
        <table class="grid metrics" data-testid="canary-metrics">
          <thead>
            <tr>
              <th>Metric</th>
              <th>Classification</th>
              <th>Reason</th>
              <th>Canary / baseline (mean)</th>
              <th>Groups</th>
            </tr>
          </thead>
          <tbody>
            {metrics.map((metric) => (
              <tr
                key={metric.id ?? metric.name}
                class={metric === selected ? 'selected' : ''}
                data-testid="canary-metric"
                data-classification={metric.classification}
                onClick={() => navigate(['applications', app.name, 'canary', 'report', execution.canaryConfigId ?? 'adhoc', execution.id], { metric: metric.id }, true)}
              >
                <td>
                  <a href={reportHref(app.name, execution, metric.id)}>{metric.name}</a>
                  {metric.critical ? <span class="badge">critical</span> : null}
                  {metric.muted ? <span class="badge">muted</span> : null}
                </td>
                <td>
                  <span class={`status ${classificationClass(metric.classification)}`}>{metric.classification}</span>
                </td>
                <td>{metric.classificationReason ?? ''}</td>
                <td>{figure(metric.resultMetadata?.ratio)}</td>
                <td>{(metric.groups ?? []).join(', ')}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <ErrorText error={pairs.error} />
      {selected && pair && <SeriesChart pair={pair} metric={selected} />}
      {selected && complete && !pair && !pairs.error && <Loading what="the metric's series" />}
      <p class="hint">
        id <code>{execution.id}</code>
      </p>
    </div>
  );
}
