import type { webApi } from '@slack/bolt';
import type { Logger } from '../log.js';

export interface BotIdentity {
  teamId: string;
  botId: string;
  botUserId: string;
  /** the Enterprise Grid org of an org-wide install; null for a single workspace */
  enterpriseId: string | null;
}

export interface SlackStatus {
  ok: boolean;
  error?: string;
  checkedAt?: string;
}

/**
 * Who the bot is, from `auth.test`. Bolt's own constructor-time `auth.test` rejects unhandled and
 * kills the process when Slack is unreachable (slack.md §2.7), so hostlock asks itself: a failure is
 * logged, reported by /readyz and retried in the background, and the process stays up.
 */
export class SlackIdentity {
  private identity: BotIdentity | undefined;
  private inflight: Promise<BotIdentity | undefined> | undefined;
  private lastError: string | undefined;
  private checkedAt: Date | undefined;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly client: webApi.WebClient,
    private readonly log: Logger,
    private readonly retryMs = 30_000,
  ) {}

  get current(): BotIdentity | undefined {
    return this.identity;
  }

  status(): SlackStatus {
    return {
      ok: this.identity !== undefined && this.lastError === undefined,
      ...(this.lastError ? { error: this.lastError } : {}),
      ...(this.checkedAt ? { checkedAt: this.checkedAt.toISOString() } : {}),
    };
  }

  /** The identity, asking Slack if it is not known yet; undefined while Slack cannot be reached. */
  resolve(): Promise<BotIdentity | undefined> {
    if (this.identity) {
      return Promise.resolve(this.identity);
    }
    this.inflight ??= this.check().finally(() => {
      this.inflight = undefined;
    });
    return this.inflight;
  }

  /** First check at start; keeps retrying in the background until Slack answers. */
  async start(): Promise<void> {
    const id = await this.resolve();
    if (!id) {
      this.schedule();
    }
  }

  stop(): void {
    clearTimeout(this.timer);
  }

  private schedule(): void {
    this.timer = setTimeout(() => {
      void this.resolve().then((id) => (id ? undefined : this.schedule()));
    }, this.retryMs);
    this.timer.unref();
  }

  private async check(): Promise<BotIdentity | undefined> {
    this.checkedAt = new Date();
    try {
      const r = await this.client.auth.test();
      if (!r.team_id || !r.user_id || !r.bot_id) {
        throw new Error('auth.test did not name a team, bot and bot user: is SLACK_BOT_TOKEN a bot token?');
      }
      this.identity = {
        teamId: r.team_id,
        botId: r.bot_id,
        botUserId: r.user_id,
        enterpriseId: typeof r.enterprise_id === 'string' && r.enterprise_id ? r.enterprise_id : null,
      };
      this.lastError = undefined;
      this.log.info({ teamId: r.team_id, botUserId: r.user_id }, 'slack.connected');
      return this.identity;
    } catch (e) {
      this.lastError = e instanceof Error ? e.message : String(e);
      this.log.error({ err: e }, 'slack.auth_test_failed');
      return undefined;
    }
  }
}
