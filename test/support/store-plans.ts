import { Plan } from '../../src/config/plan';
import { plan } from './test-app';

/** The plans the store suites decide under: limits 1-3, evict-oldest, by device, 1 s + 1 s lapse. */
export const DECISION_PLANS: Plan[] = [
  plan('basic', { maxStreams: 2 }),
  plan('single', { maxStreams: 1 }),
  plan('three', { maxStreams: 3 }),
  plan('evict', { maxStreams: 2, onLimit: 'evict-oldest' }),
  plan('device', { maxStreams: 1, countBy: 'device' }),
  plan('short', { maxStreams: 1, renewalIntervalSeconds: 1, graceSeconds: 1 }),
  plan('short-pair', {
    maxStreams: 2,
    onLimit: 'evict-oldest',
    renewalIntervalSeconds: 1,
    graceSeconds: 1,
  }),
  plan('short-evict', {
    maxStreams: 1,
    onLimit: 'evict-oldest',
    renewalIntervalSeconds: 1,
    graceSeconds: 1,
  }),
];
