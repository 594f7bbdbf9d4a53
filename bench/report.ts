import { writeFile } from 'node:fs/promises';
import os from 'node:os';

export type Unit = 'ms' | 's' | 'MB' | 'calls' | 'hosts/s' | 'req/s';

/** One line of the table: a figure, the baseline measured beside it in this run, and its goal. */
export interface Figure {
  figure: string;
  value: number;
  unit: Unit;
  /** what the value is compared with, measured in the same run */
  baseline?: { value: number; what: string };
  /** value ÷ baseline */
  ratio?: number;
  goal?: string;
  /** undefined for context figures that have no goal */
  pass?: boolean;
}

export function figure(f: Omit<Figure, 'ratio'>): Figure {
  const ratio = f.baseline && f.baseline.value > 0 ? f.value / f.baseline.value : undefined;
  return { ...f, ...(ratio === undefined ? {} : { ratio }) };
}

function show(v: number, unit: Unit): string {
  if (!Number.isFinite(v)) {
    return '—';
  }
  if (unit === 'calls') {
    return String(Math.round(v));
  }
  if (unit === 'hosts/s' || unit === 'req/s') {
    return `${Math.round(v).toLocaleString('en-US')} /s`;
  }
  const digits = v >= 100 ? 0 : v >= 10 ? 1 : 2;
  return `${v.toFixed(digits)} ${unit}`;
}

/** The table as printed: figure, value, baseline, ratio, goal, result; then what each baseline is. */
export function renderTable(figures: readonly Figure[]): string {
  const header = ['figure', 'value', 'baseline', 'ratio', 'goal', 'result'];
  const rows = figures.map((f) => [
    f.figure,
    show(f.value, f.unit),
    f.baseline ? show(f.baseline.value, f.unit) : '',
    f.ratio === undefined ? '' : `${f.ratio.toFixed(2)}×`,
    f.goal ?? '',
    f.pass === undefined ? '' : f.pass ? 'pass' : 'MISSED',
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => (i === 0 || i >= 4 ? c.padEnd(widths[i] ?? 0) : c.padStart(widths[i] ?? 0)))
      .join('  ')
      .trimEnd();
  const rule = widths.map((w) => '─'.repeat(w)).join('  ');
  const baselines = [...new Set(figures.flatMap((f) => (f.baseline ? [f.baseline.what] : [])))];
  return [
    line(header),
    rule,
    ...rows.map(line),
    rule,
    'baselines (measured in this run):',
    ...baselines.map((b) => `  • ${b}`),
  ].join('\n');
}

export function machine() {
  const cpus = os.cpus();
  return {
    cpus: cpus.length,
    cpuModel: cpus[0]?.model ?? 'unknown',
    totalMemoryMb: Math.round(os.totalmem() / 1_048_576),
    platform: `${os.platform()} ${os.release()} ${os.arch()}`,
    node: process.version,
  };
}

export async function writeResults(
  file: string,
  o: { startedAt: Date; durationS: number; figures: readonly Figure[]; raw: Record<string, unknown> },
): Promise<void> {
  const body = {
    date: o.startedAt.toISOString(),
    durationS: Math.round(o.durationS * 10) / 10,
    machine: machine(),
    figures: o.figures,
    raw: o.raw,
  };
  await writeFile(file, `${JSON.stringify(body, null, 2)}\n`);
}
