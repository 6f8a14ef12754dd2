// What Redis says about itself: INFO sections parsed, per-command call counts and times, memory.

export function parseInfo(text) {
  const out = {};
  for (const line of text.split('\r\n')) {
    const i = line.indexOf(':');
    if (i > 0 && !line.startsWith('#')) out[line.slice(0, i)] = line.slice(i + 1);
  }
  return out;
}

/** INFO commandstats as { command: { calls, usecPerCall } } (script-internal calls included). */
export async function commandStats(client) {
  const info = parseInfo(await client.info('commandstats'));
  const stats = {};
  for (const [k, v] of Object.entries(info)) {
    if (!k.startsWith('cmdstat_')) continue;
    stats[k.slice(8)] = {
      calls: Number(/calls=(\d+)/.exec(v)?.[1] ?? 0),
      usecPerCall: Number(/usec_per_call=([\d.]+)/.exec(v)?.[1] ?? NaN),
    };
  }
  return stats;
}

export async function usedMemory(client) {
  return Number(parseInfo(await client.info('memory')).used_memory);
}
