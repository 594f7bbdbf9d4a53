/**
 * Shapes of the Defender peer, written from shared/reference/mde-api.md (§4 Machine, §6.4
 * MachineAction). Field names and casing are MDE's, not ours.
 */

/** One NIC address of a machine (mde-api.md §4, `ipAddresses[]`). */
export interface MdeIpAddress {
  ipAddress: string;
  macAddress: string | null;
  type: string;
  operationalStatus: string;
}

/** Cloud VM details (observed; mde-api.md §4). */
export interface MdeVmMetadata {
  vmId: string;
  cloudProvider: string;
  resourceId: string;
  subscriptionId: string;
}

/** The Machine entity with the full field set of mde-api.md §4. It never carries isolation state. */
export interface MdeMachine {
  id: string;
  mergedIntoMachineId: string | null;
  isPotentialDuplication: boolean;
  isExcluded: boolean;
  exclusionReason: string | null;
  computerDnsName: string;
  firstSeen: string;
  lastSeen: string;
  osPlatform: string;
  osVersion: string | null;
  version: string;
  osProcessor: string;
  osArchitecture: string;
  osBuild: number | null;
  agentVersion: string;
  lastIpAddress: string;
  lastExternalIpAddress: string;
  ipAddresses: MdeIpAddress[];
  healthStatus: string;
  onboardingStatus: string;
  riskScore: string | null;
  exposureLevel: string | null;
  deviceValue: string | null;
  rbacGroupId: number;
  rbacGroupName: string | null;
  isAadJoined: boolean;
  aadDeviceId: string | null;
  machineTags: string[];
  defenderAvStatus: string;
  managedBy: string;
  managedByStatus: string;
  vmMetadata: MdeVmMetadata | null;
}

/** `status` of a machine action; final: Succeeded, Failed, TimeOut, Cancelled (mde-api.md §6.4). */
export type MdeActionStatus = 'Pending' | 'InProgress' | 'Succeeded' | 'Failed' | 'TimeOut' | 'Cancelled';

/** `type` of a machine action (the documented enum; the peer itself only creates Isolate/Unisolate). */
export type MdeActionType =
  | 'RunAntiVirusScan'
  | 'Offboard'
  | 'LiveResponse'
  | 'CollectInvestigationPackage'
  | 'Isolate'
  | 'Unisolate'
  | 'StopAndQuarantineFile'
  | 'RestrictCodeExecution'
  | 'UnrestrictCodeExecution';

/** The MachineAction entity with the field set of mde-api.md §6.4. */
export interface MdeMachineAction {
  id: string;
  type: MdeActionType;
  scope: string | null;
  status: MdeActionStatus;
  requestor: string;
  requestorComment: string;
  requestSource: string;
  externalId: string | null;
  machineId: string;
  computerDnsName: string | null;
  creationDateTimeUtc: string;
  lastUpdateDateTimeUtc: string;
  cancellationRequestor: string | null;
  cancellationComment: string | null;
  cancellationDateTimeUtc: string | null;
  errorHResult: number;
  title: string | null;
  relatedFileInfo: { fileIdentifier: string; fileIdentifierType: 'Sha1' | 'Sha256' | 'Md5' } | null;
  commands: unknown[];
  troubleshootInfo: string | null;
}

/** One request the peer received, in arrival order. */
export interface RecordedRequest {
  method: string;
  /** Path as sent, without the query string and not percent-decoded. */
  path: string;
  /** Raw query string without the leading `?` (`''` when none). */
  query: string;
  /** Header names lower-case; repeated headers joined with `, `. */
  headers: Record<string, string>;
  body: string;
  /** HTTP status answered; `0` while unanswered or when the socket was destroyed by a fault. */
  status: number;
  /** `roles` of a valid bearer token on an API call; `null` when there was none or it was invalid. */
  tokenRoles: string[] | null;
  /** Peer clock when the request arrived. */
  at: Date;
}

/** A scripted failure for {@link MdePeer.inject}. */
export interface MdeFault {
  /** Only requests with this method (case-insensitive); any method when omitted. */
  method?: string;
  /** Tested against the request path (no query string); any path when omitted. */
  path?: RegExp;
  /** How many matching requests fail; default 1. */
  times?: number;
  status: number;
  /** Error code in the body; defaults from the status (`InternalServerError`, `TooManyRequests`, …). */
  code?: string;
  message?: string;
  /** Sends `Retry-After: <seconds>`. */
  retryAfterSeconds?: number;
  /** Drop the connection without an answer (the client sees a network error). */
  destroySocket?: boolean;
  /**
   * Answer as usual (`status` is then ignored) but drop the connection after this many bytes of
   * the body: an answer that breaks off part-way.
   */
  breakBodyAfterBytes?: number;
}

/** An Entra ID app registration known to the peer's token endpoint. */
export interface MdeApp {
  tenantId: string;
  /** Verified domain; defaults to `<first 8 chars of tenantId>.onmicrosoft.com`. */
  tenantDomain?: string;
  clientId: string;
  secret: string;
  secretExpired?: boolean;
  /** Consented application permissions; default `['Machine.Read.All', 'Machine.Isolate']`. */
  roles?: string[];
  /** Display name used in `requestor` ("<appName> (<tenant domain>)"); default `hostlock`. */
  appName?: string;
  disabled?: boolean;
}

/** Options of {@link startMdePeer}. */
export interface MdePeerOptions {
  /** PEM certificate and key the HTTPS server presents (see test/fakes/tls.ts). */
  tls: { cert: string; key: string };
  /** Clock for action timestamps, the findbyip window, rate windows and token expiry; default wall clock. */
  now?: () => Date;
  /**
   * Per API family (machine reads, isolate/unisolate, machine actions) and tenant, sliding windows.
   * Defaults 100/min and 1,500/h (mde-api.md §7). `retryAfterSeconds` fixes the `Retry-After`
   * value; by default it is the time until the oldest counted call leaves the window.
   */
  rateLimit?: { perMinute?: number; perHour?: number; retryAfterSeconds?: number };
  /**
   * What a second isolate/unisolate answers while one of the same type is active: `reject` (default,
   * 400 ActiveRequestAlreadyExists) or `returnExisting` (201 with the active action, issue #5903).
   */
  duplicateActionMode?: 'reject' | 'returnExisting';
  /** The cloud this Defender is in: only that cloud's MDE resource scope gets a token (default commercial). */
  cloud?: 'commercial' | 'gcc' | 'gcc-high' | 'dod';
}

/** A running Defender peer (Entra token endpoint + MDE REST API on one HTTPS origin). */
export interface MdePeer {
  /** `https://127.0.0.1:<port>`: login at `/{tenant}/oauth2/v2.0/token`, API at `/api/...` and `/api/v1.0/...`. */
  readonly url: string;
  /** Registers an app (and its tenant, reachable by GUID or domain). Re-adding a clientId replaces it. */
  addApp(app: MdeApp): void;
  /** Registers a tenant that exists but has no MDE: MDE-scope token requests get AADSTS500011. */
  addTenantWithoutMde(tenantId: string, tenantDomain?: string): void;
  /** A machine with the full §4 field set and realistic defaults (40-hex id); not added. */
  machine(overrides?: Partial<MdeMachine>): MdeMachine;
  /** Adds machines (same id replaces), kept by reference so tests may mutate them. */
  addMachines(machines: MdeMachine[]): void;
  /** Stops listing a machine (offboarded, or past Defender's retention). */
  removeMachine(id: string): void;
  /** `count` deterministic machines named `<prefix>-<n>` (default prefix `host`); not added. */
  generateMachines(count: number, opts?: { prefix?: string }): MdeMachine[];
  /** A small fleet with the awkward cases of the §9 checklist (duplicates, short names, Linux, …); not added. */
  sampleFleet(): MdeMachine[];
  readonly requests: RecordedRequest[];
  /** Number of access tokens the token endpoint has issued. */
  tokensIssued(): number;
  /** Queues a scripted failure; faults are checked in order before anything else and consumed. */
  inject(fault: MdeFault): void;
  /** Every action, in creation order (the objects the API serves). */
  readonly actions: MdeMachineAction[];
  /** Seeds an action, e.g. an isolation done in the portal; defaults: Succeeded Isolate by an analyst. */
  addAction(action: Partial<MdeMachineAction> & { machineId: string }): MdeMachineAction;
  /** Every Pending → InProgress and, at the same time, every InProgress → Succeeded or its scripted outcome. */
  advanceActions(): void;
  /** The next action of this machine to leave InProgress ends with `status` instead of Succeeded (once). */
  scriptOutcome(machineId: string, status: 'Failed' | 'TimeOut'): void;
  /** Cancels an active action as `requestor`; throws if unknown or already final. */
  cancelAction(actionId: string, opts?: { comment?: string; requestor?: string }): MdeMachineAction;
  close(): Promise<void>;
}
