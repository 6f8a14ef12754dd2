import { readFileSync } from 'node:fs';
import { join } from 'node:path';

/** `--- @include "name"` on a line of its own pulls in `name.lua` from the same folder. */
const INCLUDE = /^--- @include "([\w-]+)"\s*$/;

/**
 * The text of one Lua script with its includes resolved, the way BullMQ composes its scripts: each
 * include line is replaced by the library's own text (its includes resolved first), and a library
 * already included is not included again. Redis sees one self-contained script; the files say
 * what they use.
 */
export function loadLuaScript(dir: string, name: string): string {
  const included = new Set<string>();
  const expand = (file: string, chain: string[]): string => {
    if (chain.includes(file))
      throw new Error(`Lua include cycle: ${[...chain, file].join(' -> ')}`);
    const text = readFileSync(join(dir, `${file}.lua`), 'utf8');
    return text
      .split('\n')
      .map((line) => {
        const include = INCLUDE.exec(line);
        if (!include) return line;
        const library = include[1];
        if (included.has(library)) return `-- (${library}.lua included above)`;
        included.add(library);
        return expand(library, [...chain, file]);
      })
      .join('\n');
  };
  return expand(name, []);
}
