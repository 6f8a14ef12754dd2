import { useEffect, useState } from 'preact/hooks';
import { api, ApiError, messageOf } from '../api';
import { percent } from '../format';
import type { PlanStatsView as PlanStats, StatsView as Stats } from '../../../src/stats/stats-api';
import { ChartSeries, TimeChart } from './TimeChart';

const REFRESH_MS = 5000;
const REASON_COLORS: Record<string, string> = {
  admitted: '#1b7f3b',
  renewed: '#2a6fdb',
  released: '#7a7a7a',
  limit_exceeded: '#c0392b',
  session_revoked: '#8e44ad',
  degraded: '#d68910',
  content_limit_exceeded: '#a04000',
  device_limit_exceeded: '#6c3483',
  download_limit_exceeded: '#117a65',
};
const OTHER_COLORS = ['#5d6d7e', '#b9770e', '#1f618d', '#943126'];

function PlanCard({ p, timestamps }: { p: PlanStats; timestamps: number[] }) {
  const reasons = Object.keys(p.series.perSecond).sort();
  if (!reasons.length) reasons.push('admitted');
  const total = Object.values(p.decisions).reduce((a, b) => a + b, 0);
  const decisionSeries: ChartSeries[] = reasons.map((reason, i) => ({
    label: `${reason} /s`,
    values: p.series.perSecond[reason] ?? timestamps.map(() => 0),
    color: REASON_COLORS[reason] ?? OTHER_COLORS[i % OTHER_COLORS.length],
  }));
  decisionSeries.push({
    label: 'deny ratio',
    values: p.series.denyRatio.map((r) => (r === null ? null : r * 100)),
    color: '#000000',
    scale: 'pct',
    dash: [4, 4],
    points: true,
  });
  return (
    <article class="card" data-plan={p.plan} aria-labelledby={`plan-${p.plan}`}>
      <h2 id={`plan-${p.plan}`}>
        {p.plan} <span class={`badge ${p.source}`}>{p.source}</span>
      </h2>
      <dl class="figures">
        <div>
          <dt>Live slots, all users</dt>
          <dd data-figure="slots">{p.activeSlots ?? '–'}</dd>
        </div>
        <div>
          <dt>Limit per user</dt>
          <dd data-figure="limit">{p.maxStreams}</dd>
        </div>
        <div>
          <dt>Decisions (15 min)</dt>
          <dd>{total}</dd>
        </div>
        <div>
          <dt>Deny ratio</dt>
          <dd>{percent(p.denyRatio)}</dd>
        </div>
        <div>
          <dt>Degraded</dt>
          <dd>{p.degraded}</dd>
        </div>
        <div>
          <dt>Shadow denials</dt>
          <dd>{p.shadowDenials}</dd>
        </div>
      </dl>
      <TimeChart
        title={`${p.plan}: decisions per second by reason, and deny ratio`}
        yLabel="per second"
        timestamps={timestamps}
        series={decisionSeries}
      />
      <TimeChart
        title={`${p.plan}: live slots (all users) and the per-user limit`}
        yLabel="slots"
        timestamps={timestamps}
        series={[
          {
            label: 'active slots',
            values: p.series.activeSlots,
            color: '#2a6fdb',
            points: true,
          },
          {
            label: 'maxStreams',
            values: p.series.maxStreams,
            color: '#c0392b',
            dash: [6, 4],
            points: true,
          },
        ]}
      />
    </article>
  );
}

/** Every plan's last 15 minutes, from GET /v1/stats every 5 s. */
export function Overview() {
  const [stats, setStats] = useState<Stats>();
  const [error, setError] = useState('');

  useEffect(() => {
    let live = true;
    const load = async () => {
      try {
        const next = await api<Stats>('GET', '/v1/stats');
        if (live) {
          setStats(next);
          setError('');
        }
      } catch (err) {
        if (live && !(err instanceof ApiError && err.status === 401)) setError(messageOf(err));
      }
    };
    void load();
    const timer = setInterval(() => void load(), REFRESH_MS);
    return () => {
      live = false;
      clearInterval(timer);
    };
  }, []);

  return (
    <section aria-labelledby="screen-title">
      <h1 id="screen-title" tabIndex={-1}>
        Overview
      </h1>
      <p class="help">
        Every plan over the last 15 minutes, across all instances; refreshed every 5 s.
        {stats && ` Updated ${new Date(stats.generatedAt).toLocaleTimeString()}.`}
      </p>
      {error && (
        <p class="problem" role="alert">
          Cannot load the figures: {error}
        </p>
      )}
      {stats && (
        <>
          <p>
            Degraded answers, all plans (15 min): <strong>{stats.degraded}</strong>
          </p>
          <div class="cards">
            {stats.plans.map((p) => (
              <PlanCard key={p.plan} p={p} timestamps={stats.timestamps} />
            ))}
          </div>
        </>
      )}
    </section>
  );
}
