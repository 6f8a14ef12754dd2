// The bench's output: one line at a time to stdout, numbers formatted the same way everywhere.

export const log = (line = '') => process.stdout.write(`${line}\n`);
/** A number with `digits` decimals, or n/a. */
export const fmt = (n, digits = 2) => (Number.isFinite(n) ? n.toFixed(digits) : 'n/a');
/** A rounded number with thousands separators, or n/a. */
export const int = (n) => (Number.isFinite(n) ? Math.round(n).toLocaleString('en-US') : 'n/a');
