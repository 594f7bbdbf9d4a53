import type { EventName, ThreadNote } from '../events.js';
import type { Lockdown } from './types.js';

// A post in a lockdown's Slack thread (issue #15, item 7): queued in the outbox under the sink
// `thread:<lockdownId>`, so a lockdown's posts go out in order, are retried while Slack is down or
// rate-limits, and are not lost. The row carries the lockdown as it stood when the note was made:
// the reply is written from it, and the thread's root is rewritten to it.

export const THREAD_SINK_PREFIX = 'thread:';
export const threadSink = (lockdownId: string) => `${THREAD_SINK_PREFIX}${lockdownId}`;

export interface ThreadPost {
  name: EventName | ThreadNote;
  detail?: string;
  lockdown: Lockdown;
}

const DATES = [
  'decidedAt',
  'lockedAt',
  'expiresAt',
  'releasedAt',
  'nextCheckAt',
  'pendingNotedAt',
  'escalatedAt',
  'remindedAt',
  'createdAt',
  'updatedAt',
] as const satisfies ReadonlyArray<keyof Lockdown>;

/** The outbox payload of a thread post: JSON, dates as ISO strings. */
export function threadPayload(p: ThreadPost): Record<string, unknown> {
  return JSON.parse(JSON.stringify(p)) as Record<string, unknown>;
}

/** A thread post back from its outbox payload. */
export function parseThreadPayload(payload: Record<string, unknown>): ThreadPost {
  const p = payload as unknown as ThreadPost;
  const l = { ...(p.lockdown as unknown as Record<string, unknown>) };
  for (const k of DATES) {
    l[k] = typeof l[k] === 'string' ? new Date(l[k]) : null;
  }
  return { name: p.name, ...(p.detail ? { detail: p.detail } : {}), lockdown: l as unknown as Lockdown };
}

/** Posts one thread note (src/slack/announcer.ts); rejects when Slack did not take it, so it is retried. */
export type ThreadPoster = (post: ThreadPost) => Promise<void>;
