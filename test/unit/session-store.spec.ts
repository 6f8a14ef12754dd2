import { ReplyError } from 'ioredis';
import { Counter } from 'prom-client';
import { Plan } from '../../src/config/plan';
import { MetricsService } from '../../src/metrics/metrics.service';
import { encodePlanTable } from '../../src/sessions/plan-table';
import {
  heartbeatScript,
  heartbeatScriptArgs,
  loadSessionScripts,
  SCRIPT_KEY_COUNT,
  ScriptCalls,
  ScriptHost,
  ScriptName,
  SCRIPTS,
} from '../../src/sessions/heartbeat-script';
import { ScriptReplyError } from '../../src/sessions/reply-fields';
import { scriptKeys, userKeys } from '../../src/redis/user-keys';
import {
  HeartbeatInput,
  SessionStore,
  SessionStoreOptions,
  StoreError,
  StorePlans,
} from '../../src/sessions/session-store';
import { plan } from '../support/plans';

/*
 * SessionStore on fake connections: what it sends, where, and how it classifies what comes back
 * (usher_store_errors_total{kind}, docs/metrics.md). The scripts themselves are the integration
 * tests' business.
 */

type Call = { script: ScriptName; args: (string | number)[] };

/** A connection whose script commands answer with `answer`; it records what was defined and sent. */
function fakeConnection(answer: (call: Call) => Promise<unknown>) {
  const defined: { name: string; numberOfKeys?: number; lua: string }[] = [];
  const calls: Call[] = [];
  const commands = Object.fromEntries(
    (Object.keys(SCRIPTS) as ScriptName[]).map((script) => [
      script,
      (...args: (string | number)[]) => {
        calls.push({ script, args });
        return answer({ script, args });
      },
    ]),
  ) as ScriptCalls;
  const client: ScriptHost & ScriptCalls = {
    ...commands,
    defineCommand: (name, definition) => {
      defined.push({ name, numberOfKeys: definition.numberOfKeys, lua: definition.lua });
    },
  };
  return { client, defined, calls };
}

const BASIC: Plan = plan('basic');
const TABLE = encodePlanTable([BASIC]);
const plans: StorePlans = {
  defaultPlanName: 'basic',
  planFor: () => BASIC,
  current: new Map([['basic', BASIC]]),
};
const OPTIONS: SessionStoreOptions = {
  keyPrefix: 'px',
  storeTimeoutMs: 50,
  bounds: { maxEntriesPerUser: 64, maxSessionsPerDevice: 8 },
  maxInFlight: 2,
};

const input: HeartbeatInput = { userId: 'u1', sessionId: 's1', drm: 'widevine', release: false };

/** A full (11-field) heartbeat reply. */
const admitted = ['allow', 'admitted', 'basic', 'session', 2, 1, 60, 30, [], '', 0];

function setUp(
  hotAnswer: (call: Call) => Promise<unknown>,
  controlAnswer: (call: Call) => Promise<unknown> = hotAnswer,
  options: Partial<SessionStoreOptions> = {},
) {
  const hot = fakeConnection(hotAnswer);
  const control = fakeConnection(controlAnswer);
  const send = <T>(write: () => T): T => write();
  const hotWrites = { send: jest.fn(send) as typeof send };
  const metrics = new MetricsService();
  const store = new SessionStore(
    { hot: hot.client, hotWrites, control: control.client },
    { ...OPTIONS, ...options },
    plans,
    metrics,
  );
  return { store, hot, control, hotWrites, metrics };
}

async function errorsOf(counter: Counter<string>): Promise<string[]> {
  const { values } = await counter.get();
  return values.map((v) => `${v.labels.operation}/${v.labels.kind}=${v.value}`);
}

/** A promise the test settles when it wants (a Redis that has not answered yet). */
function pending<T>() {
  let settle!: (value: T) => void;
  const promise = new Promise<T>((resolve) => (settle = resolve));
  return { promise, settle };
}

const replyError = (message: string): Error => new ReplyError(message) as Error;

describe('SessionStore', () => {
  it('defines every per-user script on both connections, the heartbeat script on the hot one at its first call', async () => {
    const { store, hot, control } = setUp(() => Promise.resolve(1));
    const names = (c: typeof hot) => c.defined.map((d) => `${d.name}/${d.numberOfKeys}`);
    const others = Object.keys(SCRIPTS)
      .filter((name) => name !== 'usherHeartbeat')
      .map((name) => `${name}/7`);
    expect(SCRIPT_KEY_COUNT).toBe(7);
    expect(names(hot)).toEqual(others);
    expect(names(control)).toEqual(others);
    await store.heartbeat(input);
    expect(names(hot)).toEqual([...others, 'usherHeartbeat/7']);
    expect(names(control)).toEqual(others);
  });

  it('sends a heartbeat as one script call on the hot connection, its write held for batching', async () => {
    const { store, hot, control, hotWrites } = setUp(() => Promise.resolve(admitted));
    await store.heartbeat(input);
    expect(hotWrites.send).toHaveBeenCalledTimes(1);
    expect(hot.calls).toEqual([
      { script: 'usherHeartbeat', args: heartbeatScriptArgs('px', input, BASIC) },
    ]);
    expect(hot.calls[0].args.slice(0, 7)).toEqual(scriptKeys(userKeys('px', 'u1')));
    expect(control.calls).toEqual([]);
  });

  it('defines the heartbeat script for the plans in force, again only when they change', async () => {
    const changing = { ...plans, current: new Map([['basic', BASIC]]) };
    const hot = fakeConnection(() => Promise.resolve(admitted));
    const store = new SessionStore(
      {
        hot: hot.client,
        hotWrites: { send: <T>(write: () => T): T => write() },
        control: fakeConnection(() => Promise.resolve(1)).client,
      },
      OPTIONS,
      changing,
      new MetricsService(),
    );
    const body = loadSessionScripts().usherHeartbeat;
    const heartbeatScripts = () =>
      hot.defined.filter((d) => d.name === 'usherHeartbeat').map((d) => d.lua);
    await store.heartbeat(input);
    await store.heartbeat(input);
    expect(heartbeatScripts()).toEqual([heartbeatScript(body, TABLE, 'basic', OPTIONS.bounds)]);
    const gold = { ...BASIC, name: 'gold', maxStreams: 9 };
    changing.current = new Map([
      ['basic', BASIC],
      ['gold', gold],
    ]);
    await store.heartbeat(input);
    await store.heartbeat(input);
    expect(heartbeatScripts()).toEqual([
      heartbeatScript(body, TABLE, 'basic', OPTIONS.bounds),
      heartbeatScript(body, encodePlanTable([BASIC, gold]), 'basic', OPTIONS.bounds),
    ]);
    expect(hot.calls).toHaveLength(4);
  });

  it("completes a fast renewal's bare count from the plan, and decodes a full reply", async () => {
    const fast = setUp(() => Promise.resolve(2));
    expect(await fast.store.heartbeat(input)).toEqual({
      decision: 'allow',
      reason: 'renewed',
      plan: 'basic',
      countBy: 'session',
      maxStreams: 2,
      activeStreams: 2,
      renewalIntervalSeconds: 60,
      graceSeconds: 30,
      sessions: [],
    });
    const full = setUp(() => Promise.resolve(admitted));
    expect(await full.store.heartbeat(input)).toMatchObject({
      decision: 'allow',
      reason: 'admitted',
      activeStreams: 1,
    });
  });

  it('sends the admin calls on the control connection, never on the hot one', async () => {
    const { store, hot, control, hotWrites } = setUp(
      () => Promise.reject(new Error('not on hot')),
      ({ script }) => Promise.resolve(script === 'usherTerminate' ? ['basic', []] : [0, 720, []]),
    );
    expect(await store.terminate('u1', 's1')).toEqual({ plan: 'basic', sessions: [] });
    expect(await store.userDevices('u1')).toEqual({
      maxDevices: null,
      deviceWindowHours: 720,
      devices: [],
    });
    const keys = scriptKeys(userKeys('px', 'u1'));
    expect(control.calls).toEqual([
      { script: 'usherTerminate', args: [...keys, 's1', 'basic', TABLE, 64] },
      { script: 'usherUserDevices', args: [...keys, 'basic', TABLE] },
    ]);
    expect(hot.calls).toEqual([]);
    expect(hotWrites.send).not.toHaveBeenCalled();
  });

  it('gives up on a heartbeat at the store timeout, but counts it in flight until Redis answers', async () => {
    const redis = pending<unknown>();
    const { store, metrics } = setUp(() => redis.promise);
    const started = Date.now();
    const answer = store.heartbeat(input);
    await expect(answer).rejects.toBeInstanceOf(StoreError);
    await expect(answer).rejects.toMatchObject({ kind: 'timeout' });
    expect(Date.now() - started).toBeGreaterThanOrEqual(45);
    expect(store.callsInFlight).toBe(1);
    expect(await errorsOf(metrics.storeErrors)).toEqual(['heartbeat/timeout=1']);
    redis.settle(admitted);
    await redis.promise;
    await new Promise((resolve) => setImmediate(resolve));
    expect(store.callsInFlight).toBe(0);
  });

  it('answers at once past the in-flight limit, sending nothing (kind overload)', async () => {
    const hotRedis = pending<unknown>();
    const controlRedis = pending<unknown>();
    const { store, hot, control, metrics } = setUp(
      () => hotRedis.promise,
      () => controlRedis.promise,
      { storeTimeoutMs: 10_000 },
    );
    const first = store.heartbeat(input);
    const admin = store.userSessions('u2');
    expect(store.callsInFlight).toBe(2);
    await expect(store.heartbeat(input)).rejects.toMatchObject({ kind: 'overload' });
    await expect(store.userSessions('u3')).rejects.toMatchObject({ kind: 'overload' });
    expect(hot.calls).toHaveLength(1);
    expect(control.calls).toHaveLength(1);
    expect((await errorsOf(metrics.storeErrors)).sort()).toEqual([
      'heartbeat/overload=1',
      'user_sessions/overload=1',
    ]);
    hotRedis.settle(admitted);
    controlRedis.settle(['basic', 'session', 2, 0, 60, 30, [], [], -1]);
    await first;
    expect(await admin).toMatchObject({ plan: 'basic', activeStreams: 0, maxDownloads: null });
    expect(store.callsInFlight).toBe(0);
    await expect(store.heartbeat(input)).resolves.toMatchObject({ reason: 'admitted' });
  });

  it.each([
    {
      what: 'a Redis that cannot serve now (BUSY)',
      error: replyError('BUSY Redis is busy running a script'),
      kind: 'connection',
    },
    {
      what: 'a failover (READONLY)',
      error: replyError("READONLY You can't write against a read only replica."),
      kind: 'connection',
    },
    {
      what: 'a script fault',
      error: replyError('ERR user_script:1: Script attempted to access nonexistent global'),
      kind: 'script',
    },
    { what: "ioredis' command timeout", error: new Error('Command timed out'), kind: 'timeout' },
    { what: 'a closed connection', error: new Error('Connection is closed.'), kind: 'connection' },
  ])('classifies $what as $kind', async ({ error, kind }) => {
    const { store, metrics } = setUp(() => Promise.reject(error));
    await expect(store.forgetDevice('u1', 'tv')).rejects.toMatchObject({ kind });
    expect(await errorsOf(metrics.storeErrors)).toEqual([`forget_device/${kind}=1`]);
  });

  it('a reply its field table does not describe is not a store failure', async () => {
    const { store, metrics } = setUp(() => Promise.resolve(['allow', 'admitted']));
    await expect(store.heartbeat(input)).rejects.toBeInstanceOf(ScriptReplyError);
    expect(await errorsOf(metrics.storeErrors)).toEqual([]);
  });
});
