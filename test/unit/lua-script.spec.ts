import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadLuaScript } from '../../src/sessions/lua-script';
import { ID_PATTERN } from '../../src/common/ids';
import { NO_OVERRIDE_MARKER } from '../../src/redis/user-keys';
import { loadSessionScripts } from '../../src/sessions/heartbeat-script';

describe('loadLuaScript', () => {
  const dir = mkdtempSync(join(tmpdir(), 'usher-lua-'));
  const write = (name: string, text: string) => writeFileSync(join(dir, `${name}.lua`), text);

  it('replaces each include line with the library, includes of includes first, each once', () => {
    write('clock', 'local function now() end');
    write('store', '--- @include "clock"\nlocal function save() end');
    write('main', '--- @include "clock"\n--- @include "store"\nreturn save()');
    expect(loadLuaScript(dir, 'main').split('\n')).toEqual([
      'local function now() end',
      '-- (clock.lua included above)',
      'local function save() end',
      'return save()',
    ]);
  });

  it('refuses an include cycle', () => {
    write('a', '--- @include "b"');
    write('b', '--- @include "a"');
    expect(() => loadLuaScript(dir, 'a')).toThrow(/cycle: a -> b -> a/);
  });

  it('fails on a missing library rather than registering half a script', () => {
    write('lonely', '--- @include "nowhere"');
    expect(() => loadLuaScript(dir, 'lonely')).toThrow(/nowhere\.lua/);
  });

  it("resolves every include of usher's own scripts", () => {
    for (const lua of Object.values(loadSessionScripts())) {
      expect(lua).not.toMatch(/^--- @include/m);
      expect(lua).toContain('local function resolvePolicy');
      expect(lua).toContain('local function loadSessions');
    }
  });

  it('names the no-override marker as user-keys does, a member no id can be', () => {
    for (const lua of Object.values(loadSessionScripts())) {
      expect(lua).toContain(`local NO_OVERRIDE = '${NO_OVERRIDE_MARKER}'`);
    }
    expect(ID_PATTERN.test(NO_OVERRIDE_MARKER)).toBe(false);
    expect(ID_PATTERN.test(`x${NO_OVERRIDE_MARKER}`)).toBe(false);
  });
});
