export function pct(x: number | null | undefined, digits = 1): string {
  if (x === null || x === undefined || Number.isNaN(x)) return '—';
  return `${(x * 100).toFixed(digits)}%`;
}

export function num(x: number | null | undefined, digits = 2): string {
  if (x === null || x === undefined || Number.isNaN(x)) return '—';
  return x.toFixed(digits);
}

export function duration(seconds: number | null | undefined): string {
  if (seconds === null || seconds === undefined || !Number.isFinite(seconds) || seconds < 0) return '—';
  const s = Math.round(seconds);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const sec = s % 60;
  if (h > 0) return `${h}h ${String(m).padStart(2, '0')}m`;
  if (m > 0) return `${m}m ${String(sec).padStart(2, '0')}s`;
  return `${sec}s`;
}

export function dateTime(iso: string | null | undefined): string {
  if (!iso) return '—';
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? iso : d.toLocaleString();
}

export function bytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KB`;
  if (n < 1024 * 1024 * 1024) return `${(n / 1024 / 1024).toFixed(1)} MB`;
  return `${(n / 1024 / 1024 / 1024).toFixed(2)} GB`;
}

/** Render a suggestion's reason ({strategy, ...scores}) as short text. */
export function reasonText(reason: Record<string, unknown>): string {
  const parts: string[] = [];
  for (const [k, v] of Object.entries(reason)) {
    if (k === 'strategy') continue;
    if (typeof v === 'number') parts.push(`${k.replace(/_/g, ' ')} ${Number.isInteger(v) ? v : v.toFixed(3)}`);
    else if (typeof v === 'string' || typeof v === 'boolean') parts.push(`${k.replace(/_/g, ' ')}: ${v}`);
  }
  const strategy = typeof reason['strategy'] === 'string' ? reason['strategy'] : '';
  return [strategy, parts.join(', ')].filter(Boolean).join(' · ');
}
