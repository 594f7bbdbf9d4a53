import { isIP } from 'node:net';
import {
  type ActionFilter,
  type Defender,
  type DefenderAction,
  type DefenderMachine,
  type IsolationType,
  MACHINE_BATCH,
} from '../core/defender.js';
import { type Credentials, createTokenProvider } from './auth.js';
import { type BudgetOptions, createCallBudget } from './budget.js';
import { MdeApiError, MdeResponseError } from './errors.js';
import { createMdeHttp, type MdeHttp, type RetryPolicy } from './http.js';
import { streamArrayMember } from './json-stream.js';
import { currentPriority } from './priority.js';
import {
  ActionListSchema,
  isMachineIssue,
  MachineActionSchema,
  MachineListSchema,
  readMachine,
  toAction,
} from './schemas.js';

export interface InvalidRecord {
  id: unknown;
  issue: string;
}

export interface DefenderClientOptions {
  credentials: Credentials;
  apiUrl: string;
  loginUrl: string;
  /** the MDE API's OAuth scope in this cloud (mde/clouds.ts); default the commercial one */
  scope?: string;
  budget?: BudgetOptions;
  retry?: Partial<RetryPolicy>;
  now?: () => number;
  sleep?: (ms: number) => Promise<void>;
  random?: () => number;
  /** machines whose record does not parse are skipped and reported here, not fatal to a sync */
  onInvalidRecord?: (detail: InvalidRecord) => void;
  onTokenRefresh?: () => void;
  /** every HTTP attempt, for metrics */
  observe?: (o: { method: string; status: number | 'network'; ms: number }) => void;
}

export interface DefenderClient extends Defender {
  /**
   * Signs in and makes one cheap read (`GET /api/machines?$top=1`). Resolves to the application
   * permissions in the token's `roles` claim; throws MdeAuthError / MdeApiError otherwise.
   */
  probe(): Promise<{ roles: string[] }>;
  close(): Promise<void>;
}

/** The `roles` claim of a JWT access token; [] when absent or unreadable (we do not verify it). */
export function tokenRoles(token: string): string[] {
  try {
    const payload: unknown = JSON.parse(Buffer.from(token.split('.')[1] ?? '', 'base64url').toString('utf8'));
    const roles = (payload as { roles?: unknown }).roles;
    return Array.isArray(roles) ? roles.filter((r): r is string => typeof r === 'string') : [];
  } catch {
    return [];
  }
}

/** Invalid records of a page reported one by one; the rest as a count. */
const MAX_INVALID_REPORTED = 20;

/** The largest page Defender serves (mde-api.md §5.1). */
export const PAGE_SIZE = 10_000;
const COMMENT_MAX = 1_000;

/** OData string literal: single quotes are doubled. */
const lit = (s: string) => `'${s.replace(/'/g, "''")}'`;
/** OData date literal, unquoted, second precision. */
const dateLit = (d: Date) => d.toISOString().replace(/\.\d{3}Z$/, 'Z');
const query = (params: Record<string, string | number | undefined>) =>
  Object.entries(params)
    .filter(([, v]) => v !== undefined)
    .map(([k, v]) => `${k}=${encodeURIComponent(String(v))}`)
    .join('&');

// One closure over the shared HTTP client, token and budget; each method is a short call of its own.
/**
 * Defender for Endpoint over its REST API. Each method names the Microsoft page it implements;
 * every failure is an MdeApiError / MdeNetworkError / MdeAuthError / MdeResponseError.
 */
export function createDefenderClient(opts: DefenderClientOptions): DefenderClient {
  const now = opts.now ?? Date.now;
  const tokens = createTokenProvider(opts.credentials, {
    loginUrl: opts.loginUrl,
    ...(opts.scope ? { scope: opts.scope } : {}),
    now,
    ...(opts.onTokenRefresh ? { onRefresh: opts.onTokenRefresh } : {}),
  });
  const budget = createCallBudget({ now, ...(opts.sleep ? { sleep: opts.sleep } : {}), ...opts.budget });
  const http: MdeHttp = createMdeHttp({
    apiUrl: opts.apiUrl,
    tokens,
    budget,
    ...(opts.retry ? { retry: opts.retry } : {}),
    now,
    ...(opts.sleep ? { sleep: opts.sleep } : {}),
    ...(opts.random ? { random: opts.random } : {}),
    ...(opts.observe ? { observe: opts.observe } : {}),
  });

  type MachinePage = { list: DefenderMachine[]; next: string | undefined };

  /**
   * Reads a machine list as it arrives (json-stream.ts): each record is checked and mapped as soon
   * as its bytes are in, and only hostlock's fields of it are kept, so a page of 10 000 is never
   * held as text or as Defender's full objects. With `onBatch`, the machines go there in batches
   * of MACHINE_BATCH (awaited: the next bytes wait) instead of into the page's list. Records that
   * do not parse are reported once the page is whole (an attempt that breaks off reports nothing).
   */
  const machinePage =
    (path: string, onBatch?: (batch: DefenderMachine[]) => void | Promise<void>) =>
    async (chunks: AsyncIterable<Buffer>): Promise<MachinePage & { invalid: InvalidRecord[] }> => {
      let list: DefenderMachine[] = [];
      const invalid: InvalidRecord[] = [];
      let invalidCount = 0;
      const onElement = (raw: unknown) => {
        const m = readMachine(raw);
        if (isMachineIssue(m)) {
          // kept small whatever the record holds: the id as a short string, the first few records
          if (++invalidCount <= MAX_INVALID_REPORTED) {
            const id = (raw as { id?: unknown } | null)?.id;
            invalid.push({ id: typeof id === 'string' ? id.slice(0, 64) : typeof id, issue: m.issue });
          }
          return;
        }
        list.push(m);
        if (onBatch && list.length >= MACHINE_BATCH) {
          const batch = list;
          list = [];
          return onBatch(batch);
        }
      };
      // a page holds at most $top (≤ PAGE_SIZE) machines; a record is ~1.5 KB
      const rest = await streamArrayMember(chunks, 'value', onElement, { maxElements: PAGE_SIZE });
      if (invalidCount > invalid.length) {
        invalid.push({
          id: null,
          issue: `and ${invalidCount - invalid.length} more invalid records on this page`,
        });
      }
      const page = MachineListSchema.safeParse(rest);
      if (!page.success) {
        throw new MdeResponseError('GET', path, 'no "value" array');
      }
      if (onBatch && list.length > 0) {
        await onBatch(list);
        list = [];
      }
      return { list, next: page.data['@odata.nextLink'] ?? undefined, invalid };
    };

  /**
   * GET a machine list; Defender answers 404 for "no machines" (documented), which means [] for a
   * first page only: a 404 on a next page is a failure, never the end of the list (a sync that
   * took it for the end would mark every later host gone).
   */
  async function getList(
    pathOrUrl: string,
    onBatch?: (batch: DefenderMachine[]) => void | Promise<void>,
    { first = true }: { first?: boolean } = {},
  ): Promise<MachinePage> {
    try {
      const r = await http.call('GET', pathOrUrl, { read: machinePage(pathOrUrl, onBatch) });
      for (const detail of r.body.invalid) {
        opts.onInvalidRecord?.(detail);
      }
      return { list: r.body.list, next: r.body.next };
    } catch (e) {
      if (e instanceof MdeApiError && e.status === 404 && first) {
        return { list: [], next: undefined };
      }
      throw e;
    }
  }

  function action(body: unknown, method: string, path: string): DefenderAction {
    const a = MachineActionSchema.safeParse(body);
    if (!a.success) {
      throw new MdeResponseError(method, path, a.error.issues[0]?.message ?? 'not a machine action');
    }
    return toAction(a.data);
  }

  return {
    // https://learn.microsoft.com/defender-endpoint/api/get-machines — paged by @odata.nextLink.
    async listMachines(onBatch) {
      const all: DefenderMachine[] = [];
      let next: string | undefined = `/api/machines?${query({ $top: PAGE_SIZE })}`;
      for (let first = true; next; first = false) {
        const page: MachinePage = await getList(next, onBatch, { first });
        for (const m of page.list) {
          all.push(m); // not push(...list): a spread of 10 000 arguments per page
        }
        next = page.next;
      }
      return all;
    },

    // https://learn.microsoft.com/defender-endpoint/api/get-machine-by-id
    async getMachine(machineId) {
      const path = `/api/machines/${encodeURIComponent(machineId)}`;
      try {
        const r = await http.call('GET', path);
        const m = readMachine(r.body);
        if (isMachineIssue(m)) {
          throw new MdeResponseError('GET', path, m.issue);
        }
        return m;
      } catch (e) {
        if (e instanceof MdeApiError && e.status === 404) {
          return null;
        }
        throw e;
      }
    },

    // https://learn.microsoft.com/defender-endpoint/api/find-machines-by-ip — ±15 min around `at`.
    async findMachinesByIp(ip, at) {
      if (!isIP(ip)) {
        throw new RangeError(`not an IP address: ${ip}`);
      }
      const { list } = await getList(`/api/machines/findbyip(ip=${lit(ip)},timestamp=${dateLit(at)})`);
      return list;
    },

    // https://learn.microsoft.com/defender-endpoint/api/get-machines ($filter on computerDnsName)
    async findMachinesByName(name, { prefix = false, top = 100 } = {}) {
      const filter = prefix ? `startswith(computerDnsName,${lit(name)})` : `computerDnsName eq ${lit(name)}`;
      const { list } = await getList(
        `/api/machines?${query({ $filter: filter, $top: Math.min(top, PAGE_SIZE) })}`,
      );
      return list.slice(0, top);
    },

    // https://learn.microsoft.com/defender-endpoint/api/isolate-machine — body keys are case-sensitive.
    async isolate(machineId, comment, type: IsolationType) {
      const path = `/api/machines/${encodeURIComponent(machineId)}/isolate`;
      const r = await http.call('POST', path, {
        body: { Comment: comment.slice(0, COMMENT_MAX), IsolationType: type },
        idempotent: false,
      });
      return action(r.body, 'POST', path);
    },

    // https://learn.microsoft.com/defender-endpoint/api/unisolate-machine
    async release(machineId, comment) {
      const path = `/api/machines/${encodeURIComponent(machineId)}/unisolate`;
      const r = await http.call('POST', path, {
        body: { Comment: comment.slice(0, COMMENT_MAX) },
        idempotent: false,
      });
      return action(r.body, 'POST', path);
    },

    // https://learn.microsoft.com/defender-endpoint/api/get-machineactions-collection
    async listActions(filter: ActionFilter) {
      const clauses = [
        filter.machineId && `machineId eq ${lit(filter.machineId)}`,
        filter.type && `type eq ${lit(filter.type)}`,
        filter.status && `status eq ${lit(filter.status)}`,
        filter.since && `creationDateTimeUtc ge ${dateLit(filter.since)}`,
      ].filter(Boolean);
      const top = filter.top ?? 100;
      const found: DefenderAction[] = [];
      let next: string | undefined = `/api/machineactions?${query({
        $filter: clauses.length ? clauses.join(' and ') : undefined,
        $top: Math.min(top, PAGE_SIZE),
      })}`;
      const first = next;
      while (next && found.length < top) {
        const path: string = next;
        let body: unknown;
        try {
          body = (await http.call('GET', path)).body;
        } catch (e) {
          // "none" only on the first page: a 404 further on is a failure, not the end of the list
          if (e instanceof MdeApiError && e.status === 404 && found.length === 0 && path === first) {
            break;
          }
          throw e;
        }
        const list = ActionListSchema.safeParse(body);
        if (!list.success) {
          throw new MdeResponseError('GET', path, list.error.issues[0]?.message ?? 'no "value" array');
        }
        found.push(...list.data.value.map(toAction));
        next = list.data['@odata.nextLink'] ?? undefined;
      }
      // Newest first is implied by the docs but not guaranteed: sort here (mde-api.md §6.5).
      return found.sort((a, b) => b.createdAt.getTime() - a.createdAt.getTime()).slice(0, top);
    },

    // https://learn.microsoft.com/defender-endpoint/api/get-machineaction-object
    async getAction(actionId) {
      const path = `/api/machineactions/${encodeURIComponent(actionId)}`;
      try {
        return action((await http.call('GET', path)).body, 'GET', path);
      } catch (e) {
        if (e instanceof MdeApiError && e.status === 404) {
          return null;
        }
        throw e;
      }
    },

    // https://learn.microsoft.com/defender-endpoint/api/cancel-machine-action
    async cancelAction(actionId, comment) {
      const path = `/api/machineactions/${encodeURIComponent(actionId)}/cancel`;
      const r = await http.call('POST', path, {
        body: { Comment: comment.slice(0, COMMENT_MAX) },
        idempotent: false,
      });
      return action(r.body, 'POST', path);
    },

    withCalls: (calls, fn) => budget.withCalls(currentPriority(), calls, fn),

    async probe() {
      await getList(`/api/machines?${query({ $top: 1 })}`);
      return { roles: tokenRoles(await tokens.getToken()) };
    },

    close: () => http.close(),
  };
}
