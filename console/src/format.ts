/** Display helpers: local times with the ISO value alongside, ratios as percentages. */
export function percent(ratio: number | null): string {
  return ratio === null ? '–' : `${(ratio * 100).toFixed(1)} %`;
}

export function localTime(iso: string | null | undefined): string {
  return iso ? new Date(iso).toLocaleString() : '–';
}

/** A datetime-local input's value (local time, no zone) as an ISO 8601 instant. */
export function isoFromLocal(value: string): string {
  return new Date(value).toISOString();
}

/** An ISO instant as a datetime-local input's value (local time, minutes). */
export function localFromIso(iso: string): string {
  const d = new Date(iso);
  const pad = (n: number) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}`;
}
