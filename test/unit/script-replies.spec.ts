import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { decodeReply, replyFields, ScriptReplyError } from '../../src/sessions/reply-fields';
import {
  HEARTBEAT_REPLY,
  REPLY_TABLES,
  SessionRow,
  TERMINATE_REPLY,
  toDecision,
  toEndedDownload,
  toTermination,
  toUserDevices,
  toUserSessions,
} from '../../src/sessions/script-replies';
import { DeviceRequiredError } from '../../src/sessions/session-types';

const LUA_DIR = join(__dirname, '..', '..', 'src', 'sessions', 'lua');

/** The field names a Lua comment lists after a table's name: "NAME { a, b,\n--   c }". */
function luaFields(script: string, table: string): string[] | undefined {
  const text = readFileSync(join(LUA_DIR, script), 'utf8');
  const listed = new RegExp(`\\b${table}\\s*\\{([^}]*)\\}`).exec(text);
  return listed?.[1]
    .replace(/--/g, ' ')
    .split(',')
    .map((name) => name.trim());
}

const row = (id: string, device = 'tv', content = 'film'): SessionRow => [
  id,
  device,
  'w',
  content,
  1_000,
  2_000,
];

/** An 11-field heartbeat reply (no optional field). */
const short = (): unknown[] => ['allow', 'admitted', 'basic', 'session', 2, 1, 60, 30, [], '', 0];

describe('script reply field tables', () => {
  it.each(REPLY_TABLES.map((t) => [t.name, t.script, t] as const))(
    '%s lists the fields the comment in lua/%s names, in order',
    (name, script, table) => {
      expect(luaFields(script, name)).toEqual([...table.fields]);
    },
  );

  it('resolves each field to its position once, at load', () => {
    expect(HEARTBEAT_REPLY.at).toEqual({
      decision: 0,
      reason: 1,
      plan: 2,
      countBy: 3,
      maxStreams: 4,
      activeStreams: 5,
      interval: 6,
      grace: 7,
      sessions: 8,
      cause: 9,
      removedSlots: 10,
      downloadLapseMs: 11,
      takenOver: 12,
      shadow: 13,
      devices: 14,
    });
    expect(Object.isFrozen(HEARTBEAT_REPLY.at)).toBe(true);
  });

  it('refuses a table that names a field twice', () => {
    expect(() => replyFields<{ a: string }>()('TWICE', 'x.lua', ['a', 'a'])).toThrow(
      'TWICE: field a named twice',
    );
  });
});

describe('decoding a heartbeat reply', () => {
  it('reads every field of a full reply at its position', () => {
    const decision = toDecision([
      'allow',
      'admitted',
      'family',
      'device',
      3,
      2,
      45,
      15,
      [row('old', '', '')],
      'evict_oldest',
      1,
      0,
      [row('taken')],
      ['deny', 'limit_exceeded', [row('would')]],
      [['tv', 10, 20]],
    ]);
    expect(decision).toEqual({
      decision: 'allow',
      reason: 'admitted',
      plan: 'family',
      countBy: 'device',
      maxStreams: 3,
      activeStreams: 2,
      renewalIntervalSeconds: 45,
      graceSeconds: 15,
      sessions: [
        {
          sessionId: 'old',
          deviceId: undefined,
          drm: 'widevine',
          contentId: undefined,
          startedAt: 1_000,
          lastSeenAt: 2_000,
        },
      ],
      removed: { cause: 'evict_oldest', slots: 1 },
      downloadLapseMs: undefined,
      takenOver: {
        sessionId: 'taken',
        deviceId: 'tv',
        drm: 'widevine',
        contentId: 'film',
        startedAt: 1_000,
        lastSeenAt: 2_000,
      },
      shadow: {
        decision: 'deny',
        reason: 'limit_exceeded',
        evicted: [expect.objectContaining({ sessionId: 'would' })],
      },
      devices: [{ deviceId: 'tv', firstSeenAt: 10, lastSeenAt: 20 }],
    });
  });

  it('takes an 11-field reply, and empty optional fields, as none', () => {
    const plain = toDecision(short());
    expect(plain).toEqual({
      decision: 'allow',
      reason: 'admitted',
      plan: 'basic',
      countBy: 'session',
      maxStreams: 2,
      activeStreams: 1,
      renewalIntervalSeconds: 60,
      graceSeconds: 30,
      sessions: [],
      removed: undefined,
      downloadLapseMs: undefined,
    });
    expect(toDecision([...short(), 0, [], [], []])).toEqual(plain);
    expect(toDecision([...short(), 86_400_000]).downloadLapseMs).toBe(86_400_000);
  });

  it('names the table, the script and the sizes when a reply has the wrong length', () => {
    expect(() => toDecision(short().slice(0, 10))).toThrow(
      new ScriptReplyError(HEARTBEAT_REPLY, short().slice(0, 10)),
    );
    expect(() => toDecision(short().slice(0, 10))).toThrow(
      'lua/heartbeat.lua: HEARTBEAT_REPLY expects 11 to 15 fields (decision, reason, plan, ' +
        'countBy, maxStreams, activeStreams, interval, grace, sessions, cause, removedSlots, ' +
        'downloadLapseMs, takenOver, shadow, devices), got 10 fields',
    );
    expect(() => toDecision([...short(), 0, [], [], [], 'extra'])).toThrow(/got 16 fields$/);
    expect(() => toDecision('OK')).toThrow(/HEARTBEAT_REPLY expects .*got a string, not a list$/);
  });

  it('checks the rows inside a reply too', () => {
    const reply = short();
    reply[8] = [['s1', 'tv', 'w', 'film', 1_000]];
    expect(() => toDecision(reply)).toThrow(
      'lua/sessions.lua: SESSION_ROW expects 6 fields (sessionId, deviceId, drm, contentId, ' +
        'startedAt, lastSeenAt), got 5 fields',
    );
    expect(() => toDecision([...short(), 0, [], ['deny', 'limit_exceeded'], []])).toThrow(
      /^lua\/heartbeat\.lua: SHADOW_VERDICT expects 3 fields .*got 2 fields$/,
    );
    expect(() => toDecision([...short(), 0, [], [], [['tv', 10]]])).toThrow(
      /^lua\/controls\.lua: DEVICE_ROW expects 3 fields .*got 2 fields$/,
    );
  });

  it('turns an invalid answer into a DeviceRequiredError naming why', () => {
    const invalid = (reason: string) => ['invalid', reason, ...short().slice(2)];
    expect(() => toDecision(invalid('device_required'))).toThrow(
      new DeviceRequiredError('deviceId: required because the plan counts streams by device'),
    );
    expect(() => toDecision(invalid('devices_required'))).toThrow(
      new DeviceRequiredError('deviceId: required because the plan caps devices (maxDevices)'),
    );
  });
});

describe('decoding the admin scripts replies', () => {
  it('decodeReply names each field by the table', () => {
    expect(decodeReply(TERMINATE_REPLY, ['basic', [row('a')]])).toEqual({
      plan: 'basic',
      sessions: [row('a')],
    });
    expect(() => decodeReply(TERMINATE_REPLY, ['basic'])).toThrow(
      'lua/terminate.lua: TERMINATE_REPLY expects 2 fields (plan, sessions), got 1 fields',
    );
  });

  it('terminate and end-download', () => {
    expect(toTermination(['basic', [row('a'), row('b')]])).toEqual({
      plan: 'basic',
      sessions: [
        expect.objectContaining({ sessionId: 'a', deviceId: 'tv', contentId: 'film' }),
        expect.objectContaining({ sessionId: 'b' }),
      ],
    });
    expect(toEndedDownload([1, 'basic'])).toEqual({ existed: true, plan: 'basic' });
    expect(toEndedDownload([0, 'family'])).toEqual({ existed: false, plan: 'family' });
    expect(() => toEndedDownload([1])).toThrow(/END_DOWNLOAD_REPLY expects 2 fields/);
  });

  it('user sessions: downloads lapse first, a negative maxDownloads is null', () => {
    const sessions = toUserSessions([
      'basic',
      'session',
      2,
      1,
      60,
      30,
      [row('s')],
      [[9_000, 'd', 'phone', 'p', 'film', 1_000, 1_000]],
      3,
    ]);
    expect(sessions).toEqual({
      plan: 'basic',
      countBy: 'session',
      maxStreams: 2,
      activeStreams: 1,
      renewalIntervalSeconds: 60,
      graceSeconds: 30,
      sessions: [expect.objectContaining({ sessionId: 's' })],
      downloads: [
        {
          sessionId: 'd',
          deviceId: 'phone',
          drm: 'playready',
          contentId: 'film',
          startedAt: 1_000,
          lastSeenAt: 1_000,
          expiresAt: 9_000,
        },
      ],
      maxDownloads: 3,
    });
    const uncounted = toUserSessions(['basic', 'session', 2, 0, 60, 30, [], [], -1]);
    expect(uncounted.maxDownloads).toBeNull();
    expect(() => toUserSessions(['basic', 'session', 2, 0, 60, 30, [], [[9_000, 'd']], 3])).toThrow(
      /^lua\/downloads\.lua: DOWNLOAD_ROW expects 7 fields .*got 2 fields$/,
    );
  });

  it('user devices: maxDevices 0 is null', () => {
    expect(toUserDevices([2, 720, [['tv', 1, 5]]])).toEqual({
      maxDevices: 2,
      deviceWindowHours: 720,
      devices: [{ deviceId: 'tv', firstSeenAt: 1, lastSeenAt: 5 }],
    });
    expect(toUserDevices([0, 720, []]).maxDevices).toBeNull();
  });
});
