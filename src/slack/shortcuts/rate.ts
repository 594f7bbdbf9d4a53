import { COMMANDS_PER_MINUTE } from '../commands/hostlock.js';

/** The per-person rate the message shortcuts share (core/rate-limit.ts): `take` answers how long to wait. */
export interface ShortcutRate {
  take(key: string): number;
}

/** What a person using shortcuts too fast is told. */
export function tooFast(waitMs: number): string {
  return `You are using shortcuts faster than hostlock takes them (${COMMANDS_PER_MINUTE} a minute). Try again in ${Math.ceil(waitMs / 1000)} s.`;
}
