import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';

// The capability folders of src/ import each other downward only (docs/architecture.md,
// "Modules"): a cycle between two folders means neither can be read or tested without the other.

const SRC = resolve(__dirname, '../../src');
const RELATIVE_IMPORT = /\bfrom '(\.{1,2}\/[^']+)'/g;

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return sourceFiles(path);
    return entry.name.endsWith('.ts') ? [path] : [];
  });
}

/** The top-level folder of src/ a path lies in, or undefined for files at src/'s root. */
function folderOf(path: string): string | undefined {
  const parts = relative(SRC, path).split(sep);
  return parts.length > 1 ? parts[0] : undefined;
}

/** folder → the folders its files import. */
function folderImports(): Map<string, Set<string>> {
  const graph = new Map<string, Set<string>>();
  for (const file of sourceFiles(SRC)) {
    const from = folderOf(file);
    if (!from) continue;
    const targets = graph.get(from) ?? new Set<string>();
    graph.set(from, targets);
    for (const [, specifier] of readFileSync(file, 'utf8').matchAll(RELATIVE_IMPORT)) {
      const to = folderOf(resolve(dirname(file), specifier));
      if (to && to !== from) targets.add(to);
    }
  }
  return graph;
}

/** Every cycle's folders, found by depth-first search from each folder (the graph is small). */
function cycles(graph: Map<string, Set<string>>): string[][] {
  const found = new Map<string, string[]>();
  const visit = (path: string[]): void => {
    for (const next of graph.get(path[path.length - 1]) ?? []) {
      const at = path.indexOf(next);
      if (at >= 0) {
        const cycle = path.slice(at);
        found.set([...cycle].sort().join(','), cycle);
      } else {
        visit([...path, next]);
      }
    }
  };
  for (const folder of graph.keys()) visit([folder]);
  return [...found.values()];
}

describe('src/ folders', () => {
  const graph = folderImports();

  it('sees the imports it checks (a sanity check of the parser)', () => {
    expect([...(graph.get('heartbeat') ?? [])]).toContain('sessions');
    expect(graph.size).toBeGreaterThan(10);
  });

  it('import each other in one direction only: no cycle between folders', () => {
    expect(cycles(graph).map((cycle) => [...cycle, cycle[0]].join(' → '))).toEqual([]);
  });

  it('finds a cycle when there is one', () => {
    const cyclic = new Map([
      ['a', new Set(['b'])],
      ['b', new Set(['c'])],
      ['c', new Set(['a'])],
    ]);
    expect(cycles(cyclic)).toHaveLength(1);
  });
});
