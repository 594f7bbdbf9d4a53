import type { webApi } from '@slack/bolt';
import { beforeDeadline } from '../core/deadline.js';
import type { NotificationEvent } from '../core/events.js';
import type { Logger } from '../log.js';

/**
 * What a syslog line says beyond the event row (issue #19): the acting person by name, as Vectra's
 * `user`/`suser` does, and a link to the lockdown (`href`/`cs4`/`URL`). Neither may hold up
 * delivery: when Slack does not answer, the line carries the actor's id and the Defender page.
 */
export interface EventContext {
  enrich(e: NotificationEvent): Promise<NotificationEvent>;
}

/** `system:…` actors are hostlock itself (its timer, automatic lockdowns, its own checks). */
export const SYSTEM_NAME = 'hostlock';
/** How long a display name is kept: a renamed person shows under the new name within this. */
export const NAME_TTL_MS = 60 * 60_000;
/** After Slack did not answer for a person or a message, how long before it is asked again. */
export const MISS_TTL_MS = 5 * 60_000;
/** Entries each cache keeps at most (oldest dropped first). */
export const CACHE_MAX = 10_000;
/**
 * How long a line waits for Slack's answer before going out without it (the answer still fills
 * the cache for the next lines): a slow Slack must not hold syslog delivery.
 */
export const ANSWER_WAIT_MS = 1_500;

/** `p`'s value, or `null` once `ms` have passed without one. */
const within = <T>(p: Promise<T | null>, ms: number): Promise<T | null> => beforeDeadline(p, ms, () => null);

interface Entry {
  value: string | null;
  until: number;
}

/** A bounded map of answers with an expiry each; concurrent misses for one key share one request. */
function cache(now: () => number) {
  const entries = new Map<string, Entry>();
  const inflight = new Map<string, Promise<string | null>>();
  return async (key: string, ttlMs: number, load: () => Promise<string | null>): Promise<string | null> => {
    const hit = entries.get(key);
    if (hit && hit.until > now()) {
      return hit.value;
    }
    const pending = inflight.get(key);
    if (pending) {
      return pending;
    }
    const p = load()
      .catch(() => null)
      .then((value) => {
        entries.delete(key);
        entries.set(key, { value, until: now() + (value === null ? MISS_TTL_MS : ttlMs) });
        if (entries.size > CACHE_MAX) {
          const oldest = entries.keys().next().value;
          if (oldest !== undefined) {
            entries.delete(oldest);
          }
        }
        return value;
      })
      .finally(() => inflight.delete(key));
    inflight.set(key, p);
    return p;
  };
}

/**
 * The context from Slack: `users.info` (scopes `users:read`, `users:read.email`) for the person's
 * e-mail, else their display name with their Slack id; `chat.getPermalink` (no scope) for the
 * lockdown's thread, else Defender's page of the machine (`portalUrl`).
 */
export function slackEventContext(o: {
  slack: webApi.WebClient;
  portalUrl: (machineId: string) => string;
  log: Logger;
  now?: () => number;
  /** default {@link ANSWER_WAIT_MS} */
  waitMs?: number;
}): EventContext {
  const waitMs = o.waitMs ?? ANSWER_WAIT_MS;
  const remembered = cache(o.now ?? Date.now);
  const warn = (what: string) => (err: unknown) => {
    o.log.warn({ err }, what);
    throw err;
  };

  // Vectra's `user` is a name people recognise; a display name alone can be chosen to look like
  // someone else (or like `hostlock`), so it carries the Slack id; the e-mail (set by the
  // workspace, unique) is used when Slack gives it (scope users:read.email).
  const userName = (userId: string) =>
    remembered(`user:${userId}`, NAME_TTL_MS, async () => {
      const r = await o.slack.users.info({ user: userId }).catch(warn('syslog.user_name_unavailable'));
      const u = r.user;
      if (u?.profile?.email) {
        return u.profile.email;
      }
      const name = u?.profile?.display_name || u?.profile?.real_name || u?.real_name || u?.name;
      return name ? `${name.replace(/@/g, ' at ')} (${userId})` : null;
    });

  const permalink = (channel: string, ts: string) =>
    remembered(`link:${channel}:${ts}`, Number.POSITIVE_INFINITY, async () => {
      const r = await o.slack.chat
        .getPermalink({ channel, message_ts: ts })
        .catch(warn('syslog.permalink_unavailable'));
      return typeof r.permalink === 'string' && r.permalink.startsWith('https://') ? r.permalink : null;
    });

  /** Who the line names (the person behind a lock, else the actor) and their name, when known. */
  async function person(e: NotificationEvent): Promise<{ id: string | null; name?: string }> {
    const id = e.userId ?? e.actor;
    if (id === null) {
      return { id };
    }
    if (e.userId === undefined && e.actorName !== undefined) {
      return { id, name: e.actorName };
    }
    if (id.startsWith('system:')) {
      return { id, name: SYSTEM_NAME };
    }
    const slackUser = /^slack:([UW][A-Z0-9]{2,30})$/.exec(id)?.[1];
    const name = slackUser ? await within(userName(slackUser), waitMs) : null;
    return name ? { id, name } : { id };
  }

  async function url(e: NotificationEvent): Promise<string | undefined> {
    if (e.url !== undefined) {
      return e.url;
    }
    const thread = e.lockdown?.thread;
    const link = thread ? await within(permalink(thread.channel, thread.ts), waitMs) : null;
    return link ?? (e.host ? o.portalUrl(e.host.machineId) : undefined);
  }

  return {
    async enrich(e) {
      const [who, link] = await Promise.all([person(e), url(e)]);
      // the line's actor is the person it names; alerts and audit keep the event's own actor
      const { actorName: _, ...rest } = e;
      return {
        ...rest,
        actor: who.id,
        ...(who.name !== undefined ? { actorName: who.name } : {}),
        ...(link !== undefined ? { url: link } : {}),
      };
    },
  };
}
