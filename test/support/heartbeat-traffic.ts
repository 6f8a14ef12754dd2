import { PlanCatalog } from '../../src/config/plan';
import { catalog, plan } from './test-app';

/**
 * Scripted heartbeat traffic that reaches every decision and reason the store can give, for the
 * monitoring tests (metrics cardinality, dashboard queries against a real Prometheus). Transport
 * agnostic: the caller passes how one request is sent (HTTP, app.inject).
 */

/** `basic` rejects new slots at 1; `family` counts devices and evicts the oldest at 2. */
export const TRAFFIC_PLANS: PlanCatalog = catalog(
  plan('basic', { maxStreams: 1, onLimit: 'reject-new' }),
  plan('family', { maxStreams: 2, countBy: 'device', onLimit: 'evict-oldest' }),
);

export interface Answer {
  status: number;
  body: { decision?: string; reason?: string; sessionId?: string };
}

export interface Transport {
  heartbeat(body: Record<string, string>): Promise<Answer>;
  /** Admin terminate of one session (DELETE /v1/users/{userId}/sessions/{sessionId}). */
  terminate?(userId: string, sessionId: string): Promise<number>;
}

export type Scenario = 'reject-new' | 'evict-oldest' | 'terminate';

/** What one user's scenario sent and got: the ids (to look for on /metrics) and the outcomes. */
export interface ScenarioRun {
  ids: string[];
  outcomes: string[];
}

/** `${decision}/${reason}` for each answer, or `http ${status}` when it was not a 200. */
function outcome(answer: Answer): string {
  return answer.status === 200
    ? `${answer.body.decision}/${answer.body.reason}`
    : `http ${answer.status}`;
}

/**
 * One user through one scenario, each heartbeat after the previous one's answer. Every id is
 * `${tag}-<kind>-<n>`, so a test can tell them apart from anything usher would emit itself.
 *
 * - reject-new (plan basic): admitted, renewed, limit_exceeded (another device), released;
 * - evict-oldest (plan family): admitted ×2 (one PlayReady, id synthesized), admitted with
 *   evicted (third device), session_revoked (the evicted PlayReady player), released;
 * - terminate (needs transport.terminate): admitted, admin terminate, session_revoked.
 */
export async function runScenario(
  transport: Transport,
  scenario: Scenario,
  tag: string,
  n: number,
): Promise<ScenarioRun> {
  const userId = `${tag}-user-${n}`;
  const id = (kind: string, i: number) => `${tag}-${kind}-${n}-${i}`;
  const ids = [userId];
  const outcomes: string[] = [];
  const send = async (body: Record<string, string>) => {
    ids.push(...Object.entries(body).flatMap(([k, v]) => (k.endsWith('Id') ? [v] : [])));
    const answer = await transport.heartbeat({ userId, ...body });
    if (answer.body.sessionId) ids.push(answer.body.sessionId);
    outcomes.push(outcome(answer));
    return answer;
  };

  if (scenario === 'reject-new') {
    const first = {
      drm: 'widevine',
      sessionId: id('session', 1),
      deviceId: id('device', 1),
      contentId: id('content', 1),
    };
    await send({ ...first, messageType: 'license-request' });
    await send({ ...first, messageType: 'license-renewal' });
    await send({
      drm: 'fairplay',
      messageType: 'license-request',
      sessionId: id('session', 2),
      deviceId: id('device', 2),
      contentId: id('content', 2),
    });
    await send({ drm: 'widevine', messageType: 'license-release', sessionId: id('session', 1) });
  } else if (scenario === 'evict-oldest') {
    const playready = {
      plan: 'family',
      drm: 'playready',
      messageType: 'license-request',
      deviceId: id('device', 1),
      contentId: id('content', 1),
    };
    await send(playready);
    await send({
      plan: 'family',
      drm: 'widevine',
      messageType: 'license-request',
      sessionId: id('session', 2),
      deviceId: id('device', 2),
    });
    await send({
      plan: 'family',
      drm: 'clearkey',
      messageType: 'license-request',
      customSessionId: id('session', 3),
      deviceId: id('device', 3),
      contentId: id('content', 3),
    });
    await send(playready);
    await send({
      plan: 'family',
      drm: 'widevine',
      messageType: 'license-release',
      sessionId: id('session', 2),
      deviceId: id('device', 2),
    });
  } else {
    if (!transport.terminate) throw new Error('the terminate scenario needs transport.terminate');
    const session = { drm: 'fairplay', sessionId: id('session', 1), deviceId: id('device', 1) };
    await send({ ...session, messageType: 'license-request' });
    outcomes.push(`terminate ${await transport.terminate(userId, session.sessionId)}`);
    await send({ ...session, messageType: 'license-renewal' });
  }
  return { ids, outcomes };
}

/** What each scenario must answer, in order: the traffic really reaches every reason. */
export const EXPECTED_OUTCOMES: Record<Scenario, string[]> = {
  'reject-new': ['allow/admitted', 'allow/renewed', 'deny/limit_exceeded', 'allow/released'],
  'evict-oldest': [
    'allow/admitted',
    'allow/admitted',
    'allow/admitted',
    'deny/session_revoked',
    'allow/released',
  ],
  terminate: ['allow/admitted', 'terminate 204', 'deny/session_revoked'],
};

/** Runs `count` users (numbered from `first`) through the scenarios, `parallel` at a time. */
export async function runUsers(
  transport: Transport,
  scenarios: Scenario[],
  tag: string,
  first: number,
  count: number,
  parallel: number,
): Promise<ScenarioRun[]> {
  const runs: ScenarioRun[] = new Array(count);
  let next = 0;
  const worker = async () => {
    for (let i = next++; i < count; i = next++) {
      const scenario = scenarios[(first + i) % scenarios.length];
      runs[i] = await runScenario(transport, scenario, tag, first + i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(parallel, count) }, worker));
  return runs;
}
