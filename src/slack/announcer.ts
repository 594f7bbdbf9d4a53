import type { webApi } from '@slack/bolt';
import type { Announcer, RequestPost } from '../core/lockdown/ports.js';
import type { ThreadPoster } from '../core/lockdown/thread-note.js';
import type { Lockdown } from '../core/lockdown/types.js';
import { codeSafe, truncateMrkdwn } from '../core/mrkdwn.js';
import type { Settings } from '../core/settings/settings.js';
import type { Logger } from '../log.js';
import { eventText, extendBlocks, lockdownRootBlocks, lockdownRootText } from './blocks/lockdown.js';
import { requestRootBlocks, requestRootText } from './blocks/request.js';
import { hostsText } from './lockdown-replies.js';

/**
 * One thread per lockdown: the request is the root message (in the approver channel, else where it
 * was asked); later events are replies, and the root is rewritten to the current state. Slack
 * failures are logged and never undo what happened.
 */
/**
 * Posts one queued thread note (core/lockdown/thread-note.ts) for the outbox worker, with the
 * outbox's own client: the reply, then the root rewritten to the lockdown as the note saw it. A
 * failed reply rejects, so the row is retried (and later notes of the thread wait behind it); a
 * failed root rewrite is only logged, since the reply already went out.
 */
export function slackThreadPoster(
  client: webApi.WebClient,
  log: Logger,
  /** whether containment is on: in lookup-only mode the reminder offers no Extend */
  containment: () => Promise<boolean> = async () => true,
  /** the lockdowns of a request of several hosts, as they stand: their shared root lists them all */
  requestRows: RequestRows = async () => [],
  /** a request's root is rewritten at most this often (its hosts' notes come in bursts) */
  requestRootEveryMs = REQUEST_ROOT_EVERY_MS,
): ThreadPoster {
  // A request of 100 hosts sends 100 notes within seconds; rewriting its root for each would run
  // into chat.update's rate limit and drop rewrites. Per request: the first note rewrites at once,
  // later ones within the window make one rewrite at its end, from the rows as they are then; a
  // request's rewrites run one after another (a slow one is never overtaken by an older picture),
  // and one Slack rate-limits is tried again after its Retry-After. Bounded by the requests in
  // flight; a rewrite lost to a restart is redone by the request's next note.
  const later = new Map<string, NodeJS.Timeout>();
  const lastAt = new Map<string, number>();
  const chains = new Map<string, Promise<void>>();
  const rewrite = async (l: Lockdown): Promise<void> => {
    if (!l.approvalChannel || !l.approvalTs) {
      return;
    }
    const root = await rootOf(l, requestRows, { containment: await containment() });
    await client.chat.update({ channel: l.approvalChannel, ts: l.approvalTs, ...root });
  };
  const logged = (l: Lockdown, name: string) => (e: unknown) =>
    log.warn({ err: e, lockdownId: l.id, event: name }, 'slack.root_update_failed');
  /** One rewrite of a request's root after the ones before it; again after a rate limit (3 tries). */
  const queue = (l: Lockdown, name: string, requestId: string, tries = 0): Promise<void> => {
    // a failure before this one never breaks the chain, and none escapes it unhandled
    const run = (chains.get(requestId) ?? Promise.resolve())
      .catch(() => undefined)
      .then(() =>
        rewrite(l).catch((e: unknown) => {
          const retryAfter = (e as { retryAfter?: unknown } | null | undefined)?.retryAfter;
          if (typeof retryAfter === 'number' && tries < 2) {
            const timer = setTimeout(() => void queue(l, name, requestId, tries + 1), retryAfter * 1000);
            timer.unref();
            return;
          }
          logged(l, name)(e);
        }),
      );
    chains.set(requestId, run);
    void run.finally(() => {
      if (chains.get(requestId) === run) {
        chains.delete(requestId);
      }
    });
    return run;
  };
  const rewriteRequest = async (l: Lockdown, name: string, requestId: string) => {
    const now = Date.now();
    const wait = (lastAt.get(requestId) ?? 0) + requestRootEveryMs - now;
    if (wait <= 0 && !later.has(requestId)) {
      lastAt.set(requestId, now);
      await queue(l, name, requestId);
      return;
    }
    if (!later.has(requestId)) {
      const timer = setTimeout(
        () => {
          later.delete(requestId);
          lastAt.set(requestId, Date.now());
          void queue(l, name, requestId);
        },
        Math.max(wait, 0),
      );
      timer.unref();
      later.set(requestId, timer);
    }
    if (lastAt.size > 10_000) {
      lastAt.delete(lastAt.keys().next().value as string);
    }
  };
  return async ({ name, detail, lockdown: l }) => {
    if (!l.approvalChannel || !l.approvalTs) {
      return;
    }
    const text = eventText(name, l, detail);
    const offerExtend = name === 'ending_soon' && l.state === 'active' && (await containment());
    await client.chat.postMessage({
      channel: l.approvalChannel,
      thread_ts: l.approvalTs,
      text,
      ...(offerExtend ? { blocks: extendBlocks(l, text) } : {}),
      unfurl_links: false,
      unfurl_media: false,
    });
    await (l.requestId ? rewriteRequest(l, name, l.requestId) : rewrite(l).catch(logged(l, name)));
  };
}

/** How often at most a request's shared root is rewritten (see slackThreadPoster). */
export const REQUEST_ROOT_EVERY_MS = 2_000;

/** Reads the lockdowns of a request of several hosts (the thread poster and the announcer render them). */
export type RequestRows = (requestId: string) => Promise<Lockdown[]>;

/**
 * The root message of `l`'s thread: its own, or for a host of a request of several, the request's,
 * every host as it stands now (read fresh, so a late note never rolls another host's line back).
 */
async function rootOf(
  l: Lockdown,
  requestRows: RequestRows,
  o: { containment: boolean },
): Promise<{ text: string; blocks: ReturnType<typeof lockdownRootBlocks> }> {
  const rows = l.requestId ? await requestRows(l.requestId) : [];
  return rows.length
    ? { text: requestRootText(rows), blocks: requestRootBlocks(rows, o) }
    : { text: lockdownRootText(l), blocks: lockdownRootBlocks(l, o) };
}

/** Whether requests reached the approvers lately (for the ops readiness details). */
export interface ApprovalPostStatus {
  ok: boolean;
  problem?: string;
  at?: string;
}

export function createSlackAnnouncer(deps: {
  client: webApi.WebClient;
  settings: () => Promise<Settings>;
  log: Logger;
  requestRows?: RequestRows;
}): Announcer & { approvalStatus(): ApprovalPostStatus } {
  const { client, log } = deps;
  const requestRows = deps.requestRows ?? (async () => []);
  let lastProblem: { problem: string; at: Date } | undefined;

  /** A root message: one lockdown's, or a request's of several hosts. */
  interface Root {
    text: string;
    blocks: ReturnType<typeof lockdownRootBlocks>;
    /** for the log */
    id: string;
    state: Lockdown['state'];
    requestChannel: string | null;
  }

  async function postRoot(root: Root, channel: string): Promise<{ channel: string; ts: string } | string> {
    try {
      const r = await client.chat.postMessage({
        channel,
        text: root.text,
        blocks: root.blocks,
        unfurl_links: false,
        unfurl_media: false,
      });
      return r.ts && r.channel ? { channel: r.channel, ts: r.ts } : 'Slack answered without a message id';
    } catch (e) {
      const code =
        (e as { data?: { error?: string } }).data?.error ?? (e instanceof Error ? e.message : String(e));
      log.error({ err: e, lockdownId: root.id, channel }, 'slack.announce_failed');
      return code;
    }
  }

  const single = (l: Lockdown, o: { containment?: boolean } = {}): Root => ({
    text: lockdownRootText(l),
    blocks: lockdownRootBlocks(l, o),
    id: l.id,
    state: l.state,
    requestChannel: l.requestChannel,
  });

  const many = (rows: Lockdown[], o: { containment?: boolean } = {}): Root => ({
    text: requestRootText(rows),
    blocks: requestRootBlocks(rows, o),
    id: rows[0]?.requestId ?? '',
    state: rows.some((r) => r.state === 'pending_approval')
      ? 'pending_approval'
      : (rows[0]?.state ?? 'approved'),
    requestChannel: rows[0]?.requestChannel ?? null,
  });

  /**
   * The root message goes to the approver channel (else where it was asked). A request that needs
   * approval and cannot be posted there is never left to wait unseen (issue #15, item 4): it goes,
   * with its buttons, to the alert channels, the requester is told, and readiness names the problem
   * until a request reaches the approvers again.
   */
  async function postRequest(root: Root): Promise<RequestPost> {
    const settings = await deps.settings();
    const needsApproval = root.state === 'pending_approval';
    const first = settings.approverChannel ?? root.requestChannel;
    const failures: string[] = [];
    if (first) {
      const r = await postRoot(root, first);
      if (typeof r !== 'string') {
        if (needsApproval) {
          lastProblem = undefined;
        }
        return { thread: r };
      }
      failures.push(`posting to <#${first}> failed (${r})`);
    } else if (needsApproval) {
      failures.push('no approver channel is set');
    }
    if (!needsApproval) {
      return { thread: null };
    }
    let thread: { channel: string; ts: string } | null = null;
    for (const channel of settings.alertChannels.filter((c) => c !== first)) {
      const r = await postRoot(root, channel);
      if (typeof r !== 'string') {
        thread = r;
        break;
      }
      failures.push(`posting to <#${channel}> failed (${r})`);
    }
    const problem = `The approval request could not reach the approvers: ${failures.join('; ')}.${
      thread
        ? ` It was posted to <#${thread.channel}> instead, with its buttons.`
        : ' Nobody has been asked yet: an admin must fix the approver channel.'
    }`;
    lastProblem = { problem, at: new Date() };
    log.error(
      { lockdownId: root.id, failures, fallback: thread?.channel ?? null },
      'slack.approval_post_failed',
    );
    return { thread, problem };
  }

  return {
    approvalStatus: () =>
      lastProblem
        ? { ok: false, problem: lastProblem.problem, at: lastProblem.at.toISOString() }
        : { ok: true },

    requested: (l) => postRequest(single(l)),

    requestedMany: (rows) => postRequest(many(rows)),

    async escalated(l, to) {
      const mention = to.usergroup ? `<!subteam^${to.usergroup}> ` : '';
      const rows = l.requestId ? await requestRows(l.requestId) : [];
      const waiting = rows.filter((r) => r.state === 'pending_approval').length;
      const what = rows.length
        ? `${hostsText(waiting)} for ${l.durationMinutes / 60} h (request \`${l.requestId}\`)`
        : `\`${truncateMrkdwn(codeSafe(l.hostName || l.machineId), 120)}\` for ${l.durationMinutes / 60} h (lockdown \`${l.id}\`)`;
      const text = `${mention}:rotating_light: Nobody has decided yet on locking ${what}: please approve or deny it before it expires.`;
      if (to.channel) {
        // the request again, with its buttons, where the escalation goes
        // in lookup-only mode without Approve: the escalation asks for a denial or a withdrawal
        const o = { containment: (await deps.settings()).containmentEnabled };
        const posted = await postRoot(rows.length ? many(rows, o) : single(l, o), to.channel);
        if (typeof posted !== 'string') {
          await client.chat
            .postMessage({ channel: posted.channel, thread_ts: posted.ts, text, unfurl_links: false })
            .catch((e: unknown) => log.error({ err: e, lockdownId: l.id }, 'slack.announce_failed'));
        }
      }
      if (l.approvalChannel && l.approvalTs) {
        await client.chat
          .postMessage({ channel: l.approvalChannel, thread_ts: l.approvalTs, text, unfurl_links: false })
          .catch((e: unknown) => log.error({ err: e, lockdownId: l.id }, 'slack.announce_failed'));
      }
    },
  };
}
