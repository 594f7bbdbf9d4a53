// PostgreSQL error codes hostlock reacts to (postgresql.org/docs/current/errcodes-appendix.html),
// and the code of an error as postgres.js throws it, bare or wrapped by drizzle (`cause`).

/** a unique index refused the row (one open lockdown per machine) */
export const UNIQUE_VIOLATION = '23505';
/** `FOR UPDATE NOWAIT` or `lock_timeout`: another transaction holds the row */
export const LOCK_NOT_AVAILABLE = '55P03';

export const pgCode = (e: unknown): string | undefined =>
  (e as { cause?: { code?: string }; code?: string } | null | undefined)?.cause?.code ??
  (e as { code?: string } | null | undefined)?.code;
