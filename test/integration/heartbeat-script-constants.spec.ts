import { heartbeatScript, luaStringLiteral } from '../../src/sessions/heartbeat-script';
import { encodePlanTable } from '../../src/sessions/plan-table';
import { startRedis, TestRedis } from '../support/redis-server';
import { plan } from '../support/plans';

/*
 * The heartbeat script carries the plan table, the default plan and the bounds as Lua constants
 * (src/sessions/heartbeat-script.ts): Redis' own Lua must read back exactly what was encoded.
 */
describe('heartbeat script constants, read by Redis Lua', () => {
  let redis: TestRedis;
  beforeAll(async () => {
    redis = await startRedis();
  });
  afterAll(() => redis.stop());

  const evalReturn = (lua: string) => redis.client.eval(lua, 0) as Promise<unknown>;

  it.each([
    ['a plan table', encodePlanTable([plan('basic'), plan('family', { maxStreams: 4 })])],
    ['quotes and backslashes', `say "hi" \\ 'there' \\n`],
    ['control characters', 'a\r\nb\0c\td'],
    ['an empty string', ''],
  ])('a string literal holds %s exactly', async (_, text) => {
    expect(await evalReturn(`return ${luaStringLiteral(text)}`)).toBe(text);
  });

  it('defines PLAN_TABLE, DEFAULT_PLAN and the bounds ahead of the body', async () => {
    const table = encodePlanTable([plan('basic')]);
    const lua = heartbeatScript(
      'return { PLAN_TABLE, DEFAULT_PLAN, MAX_ENTRIES_PER_USER, MAX_SESSIONS_PER_DEVICE }',
      table,
      'basic',
      { maxEntriesPerUser: 64, maxSessionsPerDevice: 8 },
    );
    expect(await evalReturn(lua)).toEqual([table, 'basic', 64, 8]);
  });
});
