#!/usr/bin/env node
// The container's HEALTHCHECK (and any supervisor's liveness probe): exits 0 when hostlock's
// /healthz answers 200 on 127.0.0.1:$PORT (default 3000) within 3 s, else 1.
const port = Number(process.env.PORT ?? 3000);
try {
  const res = await fetch(`http://127.0.0.1:${port}/healthz`, { signal: AbortSignal.timeout(3_000) });
  process.exit(res.status === 200 ? 0 : 1);
} catch {
  process.exit(1);
}
