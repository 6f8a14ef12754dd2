import { SessionStore } from '../../src/sessions/session-store';
import { STORE_TARGETS } from '../support/store-targets';
import { catalog, plan, testConfig } from '../support/test-app';
import { freshUser, heartbeat, startInstance, UsherInstance } from '../support/usher-http';

/**
 * No two concurrent admissions can both take the last slot, whatever the number of usher
 * instances (README; docs/performance.md). 100 parallel admissions (distinct sessions) of one
 * user, spread over 3 instances sharing one store and key prefix, limit 2: exactly 2 are
 * admitted, every round, on one Redis and on a 3-master cluster alike (one script per heartbeat
 * on the master of the user's slot).
 */
const ROUNDS = 100;
const PARALLEL = 100;
const INSTANCES = 3;

describe.each(STORE_TARGETS)('over-admission across 3 usher instances on $name', (target) => {
  const rounds = ROUNDS;
  let stopStore: () => Promise<void>;
  const instances: UsherInstance[] = [];

  beforeAll(async () => {
    const store = await target.start();
    stopStore = store.stop;
    // The store timeout is generous here: this suite is about atomicity, and a degraded answer
    // (an allow without a decision) on a busy CI machine would say nothing about it.
    const first = testConfig(store.env, {
      plans: catalog(plan('basic', { maxStreams: 2 })),
      storeTimeoutMs: 2000,
    });
    for (let i = 0; i < INSTANCES; i++) {
      instances.push(await startInstance(i === 0 ? first : { ...first }));
    }
  });
  afterAll(async () => {
    await Promise.all(instances.map((i) => i.close()));
    await stopStore?.();
  });

  it(`${PARALLEL} parallel admissions for one user, limit 2, ${rounds} rounds: exactly 2 admitted each round`, async () => {
    const admittedPerRound: number[] = [];
    const unexpected: string[] = [];
    for (let round = 0; round < rounds; round++) {
      const userId = freshUser(`round${round}`);
      const answers = await Promise.all(
        Array.from({ length: PARALLEL }, (_, i) =>
          heartbeat(instances[i % INSTANCES], { userId, sessionId: `s${i}` }),
        ),
      );
      let admitted = 0;
      for (const { status, body } of answers) {
        if (status === 200 && body.reason === 'admitted') admitted++;
        else if (status !== 200 || body.reason !== 'limit_exceeded') {
          unexpected.push(`round ${round}: ${status} ${JSON.stringify(body)}`);
        }
      }
      admittedPerRound.push(admitted);
      const stored = await instances[round % INSTANCES].app.get(SessionStore).userSessions(userId);
      if (stored.activeStreams !== 2) {
        unexpected.push(`round ${round}: ${stored.activeStreams} live slots stored`);
      }
    }
    expect(unexpected).toEqual([]);
    expect(admittedPerRound).toEqual(Array(rounds).fill(2));
  }, 120_000);
});
