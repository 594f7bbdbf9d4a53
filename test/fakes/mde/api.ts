import { isIP } from 'node:net';
import { type ActionStore, isActive } from './actions.js';
import { mdeError, ok, type Reply } from './http.js';
import {
  type ListQuery,
  matches,
  ODataQueryError,
  type PropKind,
  page,
  parseFilter,
  parseListQuery,
} from './odata.js';
import { ISOLATION_TYPES, isolationRefusal, parseActionBody } from './rules.js';
import type { MdeMachine, MdeMachineAction } from './types.js';

/** Rate-limit bucket of a route (mde-api.md §7: limits are per API). */
export type ApiFamily = 'machines' | 'isolation' | 'machineactions';

/** Role sets from mde-api.md §3; the 403 message lists them as MDE does. */
export const READ_ROLES = ['Machine.ReadWrite.All', 'Machine.Read.All'] as const;
export const ISOLATE_ROLES = ['Machine.Isolate'] as const;

/** What a route needs from the server: the decoded path after `/api[/v1.0]`, the query, the body, the caller. */
export interface ApiRequest {
  rest: string[];
  query: URLSearchParams;
  body: string;
  /** "<app display name> (<tenant domain>)", the `requestor` of actions it creates (mde-api.md §6.4). */
  requestor: string;
  /** Absolute URL of this path without query, for `@odata.nextLink`. */
  linkBase: string;
}

/** A matched route: its rate-limit family, the roles of which it needs one, and its handler. */
export interface ApiRoute {
  family: ApiFamily;
  roles: readonly string[];
  run: (req: ApiRequest) => Reply;
}

const MACHINE_FILTER: Readonly<Record<string, PropKind>> = {
  computerDnsName: 'string',
  id: 'string',
  version: 'string',
  deviceValue: 'string',
  aadDeviceId: 'string',
  machineTags: 'stringArray',
  lastSeen: 'date',
  exposureLevel: 'string',
  onboardingStatus: 'string',
  lastIpAddress: 'string',
  healthStatus: 'string',
  osPlatform: 'string',
  riskScore: 'string',
  rbacGroupId: 'number',
};
const ACTION_FILTER: Readonly<Record<string, PropKind>> = {
  id: 'string',
  status: 'string',
  machineId: 'string',
  type: 'string',
  requestor: 'string',
  creationDateTimeUtc: 'date',
};
const DAY_MS = 86_400_000;

/** The MDE REST surface over an in-memory fleet and the action store. */
export class MdeApi {
  private readonly fleet: MdeMachine[] = [];
  private readonly byId = new Map<string, MdeMachine>();

  constructor(
    private readonly deps: {
      now: () => Date;
      actions: ActionStore;
      baseUrl: () => string;
      duplicateMode: 'reject' | 'returnExisting';
    },
  ) {}

  /** Offboarded or past retention: Defender stops listing it. */
  removeMachine(id: string): void {
    const m = this.byId.get(id.toLowerCase());
    if (m) {
      this.fleet.splice(this.fleet.indexOf(m), 1);
      this.byId.delete(id.toLowerCase());
    }
  }

  addMachines(machines: MdeMachine[]): void {
    for (const m of machines) {
      const key = m.id.toLowerCase();
      const old = this.byId.get(key);
      if (old) {
        this.fleet[this.fleet.indexOf(old)] = m;
      } else {
        this.fleet.push(m);
      }
      this.byId.set(key, m);
    }
  }

  machineById(id: string): MdeMachine | undefined {
    return this.byId.get(id.toLowerCase());
  }

  /** The route for a method and decoded path, or `null` (the server answers 404 NotFound). */
  match(method: string, rest: string[]): ApiRoute | null {
    const [collection = '', id, verb, ...extra] = rest;
    if (extra.length > 0) {
      return null;
    }
    const read = (run: ApiRoute['run']): ApiRoute => ({ family: 'machines', roles: READ_ROLES, run });
    const c = collection.toLowerCase();
    const v = verb?.toLowerCase();
    if (c === 'machines' && method === 'GET' && v === undefined) {
      if (id === undefined) {
        return read((r) => this.listMachines(r));
      }
      if (id.toLowerCase() === 'findbytag') {
        return read((r) => this.findByTag(r));
      }
      if (id.toLowerCase().startsWith('findbyip(')) {
        return read(() => this.findByIp(id));
      }
      return read(() => this.getMachine(id));
    }
    if (c === 'machines' && method === 'POST' && id !== undefined && (v === 'isolate' || v === 'unisolate')) {
      return {
        family: 'isolation',
        roles: ISOLATE_ROLES,
        run: (r) => this.isolation(id, v === 'isolate' ? 'Isolate' : 'Unisolate', r),
      };
    }
    if (c === 'machineactions') {
      if (method === 'GET' && v === undefined) {
        const run: ApiRoute['run'] = id === undefined ? (r) => this.listActions(r) : () => this.getAction(id);
        return { family: 'machineactions', roles: READ_ROLES, run };
      }
      if (method === 'POST' && id !== undefined && v === 'cancel') {
        return { family: 'machineactions', roles: ISOLATE_ROLES, run: (r) => this.cancel(id, r) };
      }
    }
    return null;
  }

  private context(entitySet: string): string {
    return `${this.deps.baseUrl()}/api/$metadata#${entitySet}`;
  }

  private list<T extends object>(
    items: T[],
    req: ApiRequest,
    schema: Record<string, PropKind>,
    set: string,
  ): Reply {
    let q: ListQuery;
    let selected: T[];
    try {
      q = parseListQuery(req.query);
      const filter = q.filter === null ? null : parseFilter(q.filter, schema);
      selected = filter === null ? items : items.filter((x) => matches(filter, x));
    } catch (err) {
      if (err instanceof ODataQueryError) {
        return mdeError(400, 'ODataError', err.message);
      }
      throw err;
    }
    const { value, nextLink } = page(selected, q, req.linkBase);
    if (value.length === 0 && set === 'Machines') {
      // Documented oddity (mde-api.md §5.1): "If there are no recent machines, 404 Not Found."
      return mdeError(404, 'NotFound', 'No machines were found.');
    }
    return ok(200, {
      '@odata.context': this.context(set),
      value,
      ...(nextLink === undefined ? {} : { '@odata.nextLink': nextLink }),
    });
  }

  private listMachines(req: ApiRequest): Reply {
    return this.list(this.fleet, req, MACHINE_FILTER, 'Machines');
  }

  private getMachine(id: string): Reply {
    const m = this.machineById(id);
    if (!m) {
      return mdeError(404, 'ResourceNotFound', `Machine ${id} was not found`);
    }
    return ok(200, { '@odata.context': this.context('Machines/$entity'), ...m });
  }

  private findByIp(segment: string): Reply {
    const m = /^findbyip\(ip='([^']*)',timestamp=([^)]*)\)$/i.exec(segment);
    if (!m) {
      return mdeError(
        400,
        'ODataError',
        `Bad request: could not parse '${segment}'; expected findbyip(ip='x',timestamp=T).`,
      );
    }
    const [, ip = '', stamp = ''] = m;
    if (isIP(ip) === 0) {
      return mdeError(400, 'InvalidIpAddress', `Invalid IP address: ${ip}`);
    }
    const at = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})$/.test(stamp)
      ? Date.parse(stamp)
      : Number.NaN;
    if (Number.isNaN(at)) {
      return mdeError(
        400,
        'InvalidInput',
        `Invalid input timestamp: '${stamp}' is not an ISO-8601 UTC time.`,
      );
    }
    if (at < this.deps.now().getTime() - 30 * DAY_MS) {
      return mdeError(400, 'InvalidInput', 'Invalid input timestamp: it must be within the last 30 days.');
    }
    // Simplification: current addresses count as seen at any time in the ±15 min window.
    const value = this.fleet.filter(
      (x) => x.lastIpAddress === ip || x.ipAddresses.some((a) => a.ipAddress === ip),
    );
    return ok(200, { '@odata.context': this.context('Machines'), value });
  }

  private findByTag(req: ApiRequest): Reply {
    const tag = req.query.get('tag');
    if (!tag) {
      return mdeError(400, 'MissingRequiredParameter', 'Missing required parameter: tag.');
    }
    const mode = (req.query.get('useStartsWithFilter') ?? 'false').toLowerCase();
    if (mode !== 'true' && mode !== 'false') {
      return mdeError(400, 'InvalidInput', `Invalid input useStartsWithFilter: '${mode}'.`);
    }
    const t = tag.toLowerCase();
    const hit = (x: string) => (mode === 'true' ? x.toLowerCase().startsWith(t) : x.toLowerCase() === t);
    const value = this.fleet.filter((m) => m.machineTags.some(hit));
    return ok(200, { '@odata.context': this.context('Machines'), value });
  }

  private isolation(id: string, type: 'Isolate' | 'Unisolate', req: ApiRequest): Reply {
    const parsed = parseActionBody(req.body, type === 'Isolate' ? ['Comment', 'IsolationType'] : ['Comment']);
    if (parsed.refusal) {
      return parsed.refusal;
    }
    const { body } = parsed;
    const isolationType = body.IsolationType ?? 'Full';
    if (typeof isolationType !== 'string' || !ISOLATION_TYPES.includes(isolationType)) {
      return mdeError(
        400,
        'InvalidInput',
        `Invalid input IsolationType: expected one of ${ISOLATION_TYPES.join(', ')}.`,
      );
    }
    const machine = this.machineById(id);
    if (!machine) {
      return mdeError(404, 'ResourceNotFound', `Machine ${id} was not found`);
    }
    if (type === 'Isolate') {
      const refusal = isolationRefusal(machine, isolationType);
      if (refusal) {
        return refusal;
      }
    }
    const active = this.deps.actions.activeOf(machine.id, type);
    if (active) {
      return this.deps.duplicateMode === 'returnExisting'
        ? ok(201, { '@odata.context': this.context('MachineActions/$entity'), ...active })
        : mdeError(400, 'ActiveRequestAlreadyExists', 'Action is already in progress');
    }
    const action = this.deps.actions.create(machine, {
      type,
      scope: type === 'Isolate' ? isolationType : null,
      requestor: req.requestor,
      requestorComment: String(body.Comment),
    });
    return ok(201, { '@odata.context': this.context('MachineActions/$entity'), ...action });
  }

  private listActions(req: ApiRequest): Reply {
    return this.list(this.deps.actions.newestFirst(), req, ACTION_FILTER, 'MachineActions');
  }

  private getAction(id: string): Reply {
    const action = this.deps.actions.find(id);
    if (!action) {
      return mdeError(404, 'ResourceNotFound', `MachineAction ${id} was not found`);
    }
    return ok(200, { '@odata.context': this.context('MachineActions/$entity'), ...action });
  }

  private cancel(id: string, req: ApiRequest): Reply {
    const parsed = parseActionBody(req.body, ['Comment']);
    if (parsed.refusal) {
      return parsed.refusal;
    }
    const { body } = parsed;
    const action: MdeMachineAction | undefined = this.deps.actions.find(id);
    if (!action) {
      return mdeError(404, 'ResourceNotFound', `MachineAction ${id} was not found`);
    }
    if (!isActive(action)) {
      return mdeError(
        400,
        'BadRequest',
        `Action ${action.id} is already ${action.status} and cannot be cancelled.`,
      );
    }
    this.deps.actions.cancel(action, req.requestor, String(body.Comment));
    return ok(200, { '@odata.context': this.context('MachineActions/$entity'), ...action });
  }
}
