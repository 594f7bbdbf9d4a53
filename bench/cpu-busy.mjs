// Machine-wide CPU time from /proc/stat (proc(5)): every process's, PostgreSQL's and the peers'
// included. Plain JavaScript: bench/sync-process.mjs runs on plain node.
import { readFileSync } from 'node:fs';

/** Busy and total CPU time of all cores since boot, in ms (USER_HZ ticks × 10). */
export function machineCpuMs() {
  const [user, nice, system, idle, iowait, irq, softirq, steal] = readFileSync('/proc/stat', 'utf8')
    .split('\n', 1)[0]
    .trim()
    .split(/\s+/)
    .slice(1, 9)
    .map(Number);
  const busy = user + nice + system + irq + softirq + steal;
  return { busyMs: busy * 10, totalMs: (busy + idle + iowait) * 10 };
}
