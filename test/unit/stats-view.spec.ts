import { EffectivePlan } from '../../src/plans/plan-registry';
import { statsField } from '../../src/stats/stats-fields';
import { Bucket, BUCKET_SECONDS } from '../../src/stats/stats-store';
import { statsView } from '../../src/stats/stats-view';

const plan = (name: string, maxStreams: number): EffectivePlan => ({
  name,
  maxStreams,
  countBy: 'session',
  onLimit: 'reject-new',
  renewalIntervalSeconds: 60,
  graceSeconds: 30,
  source: 'file',
});

const NOW = 1_000_000_005; // 5 s into the last bucket
const bucket = (back: number, fields: Record<string, number>): Bucket => ({
  start: NOW - (NOW % BUCKET_SECONDS) - back * BUCKET_SECONDS,
  fields,
});

describe('statsView', () => {
  const buckets = [
    bucket(2, {
      [statsField.decision('basic', 'allow', 'admitted')]: 20,
      [statsField.decision('basic', 'deny', 'limit_exceeded')]: 10,
      [statsField.decision('basic', 'allow', 'released')]: 50,
      [statsField.activeSlots('basic')]: 7,
      [statsField.maxStreams('basic')]: 2,
    }),
    bucket(1, {}),
    bucket(0, {
      [statsField.decision('basic', 'allow', 'renewed')]: 10,
      [statsField.decision('basic', 'allow', 'degraded')]: 5,
      [statsField.decision('gone', 'allow', 'admitted')]: 3,
      [statsField.shadow('basic', 'limit_exceeded')]: 4,
      [statsField.degraded('open')]: 5,
      [statsField.degraded('closed')]: 2,
      'not-a-field': 1,
    }),
  ];
  const view = statsView(
    buckets,
    [plan('basic', 2), plan('family', 4)],
    new Map([['basic', 9]]),
    NOW,
  );
  const basic = view.plans[0];

  it('totals the window per plan and reason; removed plans and unknown fields are left out', () => {
    expect(view.plans.map((p) => p.plan)).toEqual(['basic', 'family']);
    expect(basic.decisions).toEqual({
      admitted: 20,
      limit_exceeded: 10,
      released: 50,
      renewed: 10,
      degraded: 5,
    });
    expect(basic).toMatchObject({ activeSlots: 9, maxStreams: 2, degraded: 5, shadowDenials: 4 });
    expect(view.degraded).toBe(7);
    expect(view.plans[1]).toMatchObject({ activeSlots: null, decisions: {}, denyRatio: null });
  });

  it('counts the deny ratio over allow and deny answers, releases left out', () => {
    expect(basic.denyRatio).toBeCloseTo(10 / 45);
    expect(basic.series.denyRatio).toEqual([10 / 30, null, 0]);
  });

  it('gives rates per second per bucket; the bucket still filling by its elapsed seconds', () => {
    expect(basic.series.perSecond.admitted).toEqual([2, 0, 0]);
    expect(basic.series.perSecond.renewed).toEqual([0, 0, 10 / 5]);
    expect(basic.series.activeSlots).toEqual([7, null, null]);
    expect(basic.series.maxStreams).toEqual([2, null, null]);
    expect(view.timestamps).toEqual(buckets.map((b) => b.start));
  });
});
