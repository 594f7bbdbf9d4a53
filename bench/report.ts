import { readFile, writeFile } from 'node:fs/promises';
import os from 'node:os';

export type Unit = 'ms' | 's' | 'MB' | 'calls' | 'hosts/s' | 'req/s' | 'events/s' | 'scores/s';

/**
 * One entry of bench/results.json and one row of the table: a figure, its goal, the baseline
 * measured beside it in the same run (same unit) and the ratio between them. Every entry has all
 * of these keys; `null` where a figure has no goal or no baseline.
 */
export interface Figure {
  name: string;
  value: number;
  unit: Unit;
  /** the goal as the issues state it; null for a figure shown for context */
  goal: string | null;
  /** what `value` is compared with, measured in this run, in `unit` */
  baseline: number | null;
  /** value ÷ baseline */
  ratio: number | null;
  /** whether the goal is met; null without a goal */
  pass: boolean | null;
  /** what the baseline is */
  baselineWhat: string | null;
}

export interface FigureInput {
  name: string;
  value: number;
  unit: Unit;
  goal?: string;
  pass?: boolean;
  baseline?: { value: number; what: string };
}

export function figure(f: FigureInput): Figure {
  const b = f.baseline;
  return {
    name: f.name,
    value: f.value,
    unit: f.unit,
    goal: f.goal ?? null,
    baseline: b ? b.value : null,
    ratio: b && b.value > 0 && Number.isFinite(f.value) ? f.value / b.value : null,
    pass: f.goal === undefined ? null : (f.pass ?? false),
    baselineWhat: b ? b.what : null,
  };
}

export interface Machine {
  cpus: number;
  cpuModel: string;
  totalMemoryMb: number;
  platform: string;
  node: string;
  /** 1, 5 and 15 min load averages when the bench started: other work on the machine skews every figure */
  loadAverage: { m1: number; m5: number; m15: number };
}

/** bench/results.json */
export interface Results {
  date: string;
  durationS: number;
  machine: Machine;
  figures: Figure[];
  raw: Record<string, unknown>;
}

export function show(v: number | null, unit: Unit): string {
  if (v === null || !Number.isFinite(v)) {
    return '—';
  }
  if (unit === 'calls') {
    return String(Math.round(v));
  }
  if (unit.endsWith('/s')) {
    return `${Math.round(v).toLocaleString('en-US')} ${unit}`;
  }
  const digits = v >= 100 ? 0 : v >= 10 ? 1 : 2;
  return `${v.toFixed(digits)} ${unit}`;
}

const showRatio = (r: number | null) => (r === null ? '' : `${r.toFixed(r >= 100 ? 0 : 2)}×`);

/** The baselines' descriptions, numbered in order of first use: the table's baseline cells cite them. */
function baselineNotes(figures: readonly Figure[]): Map<string, number> {
  const notes = new Map<string, number>();
  for (const f of figures) {
    if (f.baselineWhat !== null && !notes.has(f.baselineWhat)) {
      notes.set(f.baselineWhat, notes.size + 1);
    }
  }
  return notes;
}

/** figure | value | goal | baseline | ratio | pass, as cells; `missed` marks a goal not met. */
function rows(figures: readonly Figure[], notes: Map<string, number>, missed: string): string[][] {
  return figures.map((f) => [
    f.name,
    show(f.value, f.unit),
    f.goal ?? '',
    f.baseline === null ? '' : `${show(f.baseline, f.unit)} [${notes.get(f.baselineWhat ?? '')}]`,
    showRatio(f.ratio),
    f.pass === null ? '' : f.pass ? 'pass' : missed,
  ]);
}

const HEADER = ['figure', 'value', 'goal', 'baseline', 'ratio', 'pass'];
/** numbers right-aligned: value, baseline, ratio */
const RIGHT = new Set([1, 3, 4]);

export function machineLine(m: Machine): string {
  const load = m.loadAverage?.m1;
  return (
    `${m.cpus} × ${m.cpuModel}, ${(m.totalMemoryMb / 1024).toFixed(0)} GB RAM, ${m.platform}, Node.js ${m.node}` +
    (load === undefined ? '' : `, load average ${load.toFixed(2)} at the start`)
  );
}

/** The table as `npm run bench` prints it, then what each baseline is, then the machine. */
export function renderTable(figures: readonly Figure[], m: Machine): string {
  const notes = baselineNotes(figures);
  const body = rows(figures, notes, 'MISSED');
  const widths = HEADER.map((h, i) => Math.max(h.length, ...body.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => (RIGHT.has(i) ? c.padStart(widths[i] ?? 0) : c.padEnd(widths[i] ?? 0)))
      .join('  ')
      .trimEnd();
  const rule = widths.map((w) => '─'.repeat(w)).join('  ');
  return [
    line(HEADER),
    rule,
    ...body.map(line),
    rule,
    'baselines (measured in this run, one after another with the figure):',
    ...[...notes].map(([what, n]) => `  [${n}] ${what}`),
    `machine: ${machineLine(m)}`,
  ].join('\n');
}

/** The same table in Markdown, for the README (bench/readme-table.ts prints it from results.json). */
export function renderMarkdown(r: Results): string {
  const notes = baselineNotes(r.figures);
  const cell = (s: string) => s.replace(/\|/g, '\\|');
  const body = rows(r.figures, notes, '**missed**');
  const widths = HEADER.map((h, i) => Math.max(h.length, ...body.map((x) => cell(x[i] ?? '').length)));
  const line = (cells: string[]) =>
    `| ${cells.map((c, i) => (RIGHT.has(i) ? cell(c).padStart(widths[i] ?? 0) : cell(c).padEnd(widths[i] ?? 0))).join(' | ')} |`;
  const rule = `| ${widths.map((w, i) => (RIGHT.has(i) ? `${'-'.repeat(w - 1)}:` : '-'.repeat(w))).join(' | ')} |`;
  return [
    line(HEADER),
    rule,
    ...body.map(line),
    '',
    'Baselines, measured in the same run:',
    '',
    ...[...notes].map(([what, n]) => `${n}. ${what}`),
    '',
    `Machine: ${machineLine(r.machine)}; ${r.date.slice(0, 10)}, \`npm run bench\` took ${Math.round(r.durationS)} s.`,
  ].join('\n');
}

export function machine(): Machine {
  const cpus = os.cpus();
  return {
    cpus: cpus.length,
    cpuModel: cpus[0]?.model ?? 'unknown',
    totalMemoryMb: Math.round(os.totalmem() / 1_048_576),
    platform: `${os.platform()} ${os.release()} ${os.arch()}`,
    node: process.version,
    // an object, not an array: JSON.stringify's layout of it is the one Biome keeps
    loadAverage: Object.fromEntries(
      os.loadavg().map((l, i) => [['m1', 'm5', 'm15'][i], Math.round(l * 100) / 100]),
    ) as Machine['loadAverage'],
  };
}

export async function writeResults(
  file: string,
  o: {
    startedAt: Date;
    durationS: number;
    machine: Machine;
    figures: readonly Figure[];
    raw: Record<string, unknown>;
  },
): Promise<void> {
  // the growth curve (`npm run bench -- --large`, a run of its own) is kept
  const previous = JSON.parse(await readFile(file, 'utf8').catch(() => '{}')) as { growth?: unknown };
  const body: Results & { growth?: unknown } = {
    date: o.startedAt.toISOString(),
    durationS: Math.round(o.durationS * 10) / 10,
    machine: o.machine,
    figures: [...o.figures],
    raw: o.raw,
    ...(previous.growth ? { growth: previous.growth } : {}),
  };
  await writeFile(file, `${JSON.stringify(body, null, 2)}\n`);
}
