/** Busy and total CPU time of all cores since boot, in ms. */
export function machineCpuMs(): { busyMs: number; totalMs: number };
