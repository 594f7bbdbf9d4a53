/**
 * Waits until `probe` returns a truthy value, bounded: it polls observable state (rows, peer
 * records, output), never sleeps a fixed time as synchronisation. `each` runs before every probe
 * (e.g. to let the Defender peer advance its actions). No vitest import: the demo uses it too.
 */
export async function until<T>(
  probe: () => Promise<T | null | undefined | false> | T | null | undefined | false,
  what: string,
  timeoutMs = 15_000,
  each?: () => Promise<void> | void,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    await each?.();
    const v = await probe();
    if (v) {
      return v;
    }
    if (Date.now() > deadline) {
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    }
    await new Promise((r) => setTimeout(r, 25));
  }
}
