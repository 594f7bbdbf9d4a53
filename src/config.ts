import { isIP } from 'node:net';
import path from 'node:path';
import { z } from 'zod';
import { CRASH_POINTS, type CrashPoint, type FaultHook } from './core/faults.js';
import { endpointProblem, MDE_CLOUD_NAMES, MDE_CLOUDS, type MdeCloud } from './mde/clouds.js';

/** Typed configuration read once from the environment (DESIGN §3.2). The only reader of process.env. */
export interface Config {
  slack: {
    botToken: string;
    signingSecret: string | undefined;
    appToken: string | undefined;
    apiUrl: string;
  };
  http: { port: number; host: string };
  /** the operators' listener: /metrics and readiness details; never the public port */
  ops: { port: number; host: string };
  databaseUrl: string | undefined;
  dataDir: string;
  masterKeyBase64: string | undefined;
  /** the key being rotated out: secrets sealed under it are re-sealed under the current one at start */
  previousMasterKeyBase64: string | undefined;
  admins: string[];
  /** PEM file of extra CA certificates trusted for TLS syslog targets (on top of Node's roots) */
  syslogCaFile: string | undefined;
  /** this instance's address in syslog events (CEF `dvc`, JSON `headend_addr`); unset: the outgoing socket's */
  syslogSourceAddress: string | undefined;
  mde: {
    /** which Microsoft cloud: picks the login host, token scope and API hosts (mde/clouds.ts) */
    cloud: MdeCloud;
    apiUrl: string;
    loginUrl: string;
    /** the OAuth scope of the MDE API in this cloud */
    scope: string;
    /** tests only: the endpoints may be loopback peers (HOSTLOCK_ALLOW_LOOPBACK_ENDPOINTS=1) */
    loopbackAllowed: boolean;
    bootstrap: { tenantId: string; clientId: string; clientSecret: string } | undefined;
  };
  logLevel: 'debug' | 'info' | 'warn' | 'error';
  /** `pretty` for people (pino-pretty), `json` for machines; default pretty on a terminal */
  logFormat: 'pretty' | 'json' | undefined;
  /** tests only (`npm run test:faults`): the process kills itself with SIGKILL at this point */
  crashAt: CrashPoint | undefined;
}

const emptyToUndefined = (v: unknown) => (typeof v === 'string' && v.trim() === '' ? undefined : v);
const optionalString = z.preprocess(emptyToUndefined, z.string().optional());

/** What to do about each variable, printed beside zod's complaint. */
const HOW_TO_FIX: Record<string, string> = {
  SLACK_BOT_TOKEN:
    'the Bot User OAuth Token (xoxb-…) from your Slack app: api.slack.com/apps → OAuth & Permissions',
  SLACK_SIGNING_SECRET: 'the Signing Secret from your Slack app: api.slack.com/apps → Basic Information',
  SLACK_APP_TOKEN: 'an app-level token (xapp-…) with connections:write, or leave unset for HTTP mode',
  SLACK_API_URL: 'an http(s) URL ending in /api/, or leave unset for https://slack.com/api/',
  PORT: 'a TCP port between 1 and 65535 (0 picks a free port)',
  HOSTLOCK_OPS_ADDR:
    'host:port of the metrics and readiness-details listener, e.g. 127.0.0.1:9464 (keep it off the public network)',
  DATABASE_URL: 'a postgres:// URL, or leave unset to use embedded PostgreSQL',
  HOSTLOCK_MASTER_KEY: 'a base64 32-byte key: openssl rand -base64 32',
  HOSTLOCK_MASTER_KEY_PREVIOUS:
    'the master key being rotated out (base64 32 bytes); remove it once hostlock has started with the new key',
  HOSTLOCK_ADMINS: 'comma-separated Slack user ids such as U012ABCDEF,W0456',
  MDE_CLOUD: `one of ${MDE_CLOUD_NAMES.join(', ')} (the Microsoft cloud of your tenant)`,
  MDE_API_URL:
    "leave unset for the cloud's default, or name one of its geo hosts, e.g. https://eu.api.security.microsoft.com",
  MDE_LOGIN_URL: "leave unset: the cloud's Entra ID login host is used",
  HOSTLOCK_ALLOW_LOOPBACK_ENDPOINTS:
    'tests only: 1 lets MDE_API_URL and MDE_LOGIN_URL name a loopback peer; leave unset in production',
  MDE_TENANT_ID: 'set MDE_TENANT_ID, MDE_CLIENT_ID and MDE_CLIENT_SECRET together, or none of them',
  LOG_LEVEL: 'one of debug, info, warn, error',
  LOG_FORMAT: 'pretty or json',
  HOSTLOCK_SYSLOG_CA_FILE: 'the path of a PEM file with the CA certificate(s) of your TLS syslog receiver',
  HOSTLOCK_SYSLOG_SOURCE_ADDR:
    'an IPv4 or IPv6 address such as 10.0.0.5 (this instance as syslog receivers should see it), or unset',
  HOSTLOCK_CRASH_AT: `tests only (fault injection): one of ${CRASH_POINTS.join(', ')}; leave unset in production`,
};

const httpUrl = z.preprocess(
  emptyToUndefined,
  z.url({ protocol: /^https?$/, error: 'must be an http(s) URL' }).transform((u) => u.replace(/\/+$/, '')),
);

const Env = z.object({
  SLACK_BOT_TOKEN: z
    .string({ error: 'is required' })
    .trim()
    .min(1, 'is required')
    .startsWith('xoxb-', 'must be a bot token (xoxb-…)'),
  SLACK_SIGNING_SECRET: optionalString,
  SLACK_APP_TOKEN: z.preprocess(
    emptyToUndefined,
    z.string().startsWith('xapp-', 'must be an app-level token (xapp-…)').optional(),
  ),
  SLACK_API_URL: httpUrl.default('https://slack.com/api').transform((u) => `${u}/`),
  PORT: z.preprocess(emptyToUndefined, z.coerce.number().int().min(0).max(65535).default(3000)),
  HOST: z.preprocess(emptyToUndefined, z.string().default('0.0.0.0')),
  HOSTLOCK_OPS_ADDR: z.preprocess(
    emptyToUndefined,
    z
      .string()
      .regex(/^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+):\d{1,5}$/, 'must be host:port, e.g. 127.0.0.1:9464')
      .refine((v) => Number(v.slice(v.lastIndexOf(':') + 1)) <= 65535, 'has a port above 65535')
      .default('127.0.0.1:9464'),
  ),
  DATABASE_URL: z.preprocess(
    emptyToUndefined,
    z.url({ protocol: /^postgres(ql)?$/, error: 'must be a postgres:// URL' }).optional(),
  ),
  HOSTLOCK_DATA_DIR: z.preprocess(emptyToUndefined, z.string().default('./.hostlock')),
  HOSTLOCK_MASTER_KEY: z.preprocess(
    emptyToUndefined,
    z
      .string()
      .refine((s) => Buffer.from(s, 'base64').length === 32 && /^[A-Za-z0-9+/]+={0,2}$/.test(s), {
        error: 'must be 32 bytes encoded as base64',
      })
      .optional(),
  ),
  HOSTLOCK_MASTER_KEY_PREVIOUS: z.preprocess(
    emptyToUndefined,
    z
      .string()
      .refine((s) => Buffer.from(s, 'base64').length === 32 && /^[A-Za-z0-9+/]+={0,2}$/.test(s), {
        error: 'must be 32 bytes encoded as base64',
      })
      .optional(),
  ),
  HOSTLOCK_ADMINS: z.preprocess(
    (v) =>
      typeof v === 'string'
        ? v
            .split(',')
            .map((s) => s.trim())
            .filter(Boolean)
        : [],
    z.array(z.string().regex(/^[UW][A-Z0-9]{2,}$/, 'each entry must be a Slack user id (U… or W…)')),
  ),
  HOSTLOCK_SYSLOG_CA_FILE: optionalString,
  HOSTLOCK_SYSLOG_SOURCE_ADDR: z.preprocess(
    emptyToUndefined,
    z
      .string()
      .refine((v) => isIP(v) !== 0, { error: 'must be an IP address' })
      .optional(),
  ),
  MDE_CLOUD: z.preprocess(emptyToUndefined, z.enum(MDE_CLOUD_NAMES).default('commercial')),
  MDE_API_URL: z.preprocess(emptyToUndefined, z.string().optional()),
  MDE_LOGIN_URL: z.preprocess(emptyToUndefined, z.string().optional()),
  HOSTLOCK_ALLOW_LOOPBACK_ENDPOINTS: z.preprocess(emptyToUndefined, z.enum(['1', '0']).default('0')),
  MDE_TENANT_ID: optionalString,
  MDE_CLIENT_ID: optionalString,
  MDE_CLIENT_SECRET: optionalString,
  LOG_LEVEL: z.preprocess(emptyToUndefined, z.enum(['debug', 'info', 'warn', 'error']).default('info')),
  LOG_FORMAT: z.preprocess(emptyToUndefined, z.enum(['pretty', 'json']).optional()),
  HOSTLOCK_CRASH_AT: z.preprocess(emptyToUndefined, z.enum(CRASH_POINTS).optional()),
});

const present = (v: string | undefined) => v !== undefined && v.trim() !== '';

/** Rules across variables, checked on the raw environment so they are reported with every other problem. */
function crossProblems(env: NodeJS.ProcessEnv): z.core.$ZodIssue[] {
  const issues: z.core.$ZodIssue[] = [];
  if (!present(env.SLACK_APP_TOKEN) && !present(env.SLACK_SIGNING_SECRET)) {
    issues.push({
      code: 'custom',
      path: ['SLACK_SIGNING_SECRET'],
      message: 'is required in HTTP mode (or set SLACK_APP_TOKEN for Socket Mode)',
      input: undefined,
    });
  }
  const mde = [env.MDE_TENANT_ID, env.MDE_CLIENT_ID, env.MDE_CLIENT_SECRET].filter(present).length;
  if (mde !== 0 && mde !== 3) {
    issues.push({
      code: 'custom',
      path: ['MDE_TENANT_ID'],
      message: 'is set without all of MDE_CLIENT_ID and MDE_CLIENT_SECRET (or they without it)',
      input: undefined,
    });
  }
  issues.push(...endpointIssues(env));
  return issues;
}

/** The Defender endpoints of the configured cloud: defaults, or Microsoft's published hosts only. */
function mdeEndpoints(env: NodeJS.ProcessEnv): { cloud: MdeCloud; apiUrl: string; loginUrl: string } {
  const named = (env.MDE_CLOUD ?? '').trim();
  const cloud = (MDE_CLOUD_NAMES as string[]).includes(named) ? (named as MdeCloud) : 'commercial';
  const trim = (v: string | undefined) => (v?.trim() ? v.trim().replace(/\/+$/, '') : undefined);
  return {
    cloud,
    apiUrl: trim(env.MDE_API_URL) ?? MDE_CLOUDS[cloud].api[0],
    loginUrl: trim(env.MDE_LOGIN_URL) ?? MDE_CLOUDS[cloud].login,
  };
}

/**
 * The bearer token may only go to Microsoft (issue #14): MDE_API_URL and MDE_LOGIN_URL must be
 * published hosts of MDE_CLOUD over https; a loopback peer only with the tests' flag.
 */
function endpointIssues(env: NodeJS.ProcessEnv): z.core.$ZodIssue[] {
  const { cloud, apiUrl, loginUrl } = mdeEndpoints(env);
  const loopback = env.HOSTLOCK_ALLOW_LOOPBACK_ENDPOINTS === '1';
  return (
    [
      ['MDE_API_URL', endpointProblem(apiUrl, cloud, 'api', loopback)],
      ['MDE_LOGIN_URL', endpointProblem(loginUrl, cloud, 'login', loopback)],
    ] as const
  ).flatMap(([name, problem]) =>
    problem ? [{ code: 'custom' as const, path: [name], message: problem, input: undefined }] : [],
  );
}

/** Thrown by {@link loadConfig}; `message` lists every problem with what to set. */
/** Every environment variable hostlock reads (`.env.example` lists each; a test keeps them in step). */
export const ENV_VARIABLES: readonly string[] = Object.keys(Env.shape);

export class ConfigError extends Error {
  override name = 'ConfigError';
  constructor(readonly problems: string[]) {
    super(
      `hostlock cannot start: fix these environment variables\n${problems.map((p) => `  - ${p}`).join('\n')}`,
    );
  }
}

/**
 * Parses the environment. Throws {@link ConfigError} listing every problem at once,
 * each naming the variable and how to obtain a good value.
 */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const r = Env.safeParse(env);
  const issues = [...(r.success ? [] : r.error.issues), ...crossProblems(env)];
  if (!r.success || issues.length) {
    const problems = issues.map((issue) => {
      const name = String(issue.path[0] ?? 'environment');
      const raw = env[name];
      const message =
        issue.code === 'invalid_type'
          ? raw === undefined || raw.trim() === ''
            ? 'is required'
            : `is not valid (${issue.expected} expected)`
          : issue.message;
      const hint = HOW_TO_FIX[name];
      return `${name} ${message}${hint ? ` — ${hint}` : ''}`;
    });
    throw new ConfigError(problems);
  }
  const e = r.data;
  return {
    slack: {
      botToken: e.SLACK_BOT_TOKEN,
      signingSecret: e.SLACK_SIGNING_SECRET,
      appToken: e.SLACK_APP_TOKEN,
      apiUrl: e.SLACK_API_URL,
    },
    http: { port: e.PORT, host: e.HOST },
    ops: {
      host: e.HOSTLOCK_OPS_ADDR.slice(0, e.HOSTLOCK_OPS_ADDR.lastIndexOf(':')).replace(/^\[|\]$/g, ''),
      port: Number(e.HOSTLOCK_OPS_ADDR.slice(e.HOSTLOCK_OPS_ADDR.lastIndexOf(':') + 1)),
    },
    databaseUrl: e.DATABASE_URL,
    dataDir: path.resolve(e.HOSTLOCK_DATA_DIR),
    masterKeyBase64: e.HOSTLOCK_MASTER_KEY,
    previousMasterKeyBase64: e.HOSTLOCK_MASTER_KEY_PREVIOUS,
    admins: e.HOSTLOCK_ADMINS,
    syslogCaFile: e.HOSTLOCK_SYSLOG_CA_FILE ? path.resolve(e.HOSTLOCK_SYSLOG_CA_FILE) : undefined,
    syslogSourceAddress: e.HOSTLOCK_SYSLOG_SOURCE_ADDR,
    mde: {
      ...mdeEndpoints(env),
      scope: MDE_CLOUDS[e.MDE_CLOUD].scope,
      loopbackAllowed: e.HOSTLOCK_ALLOW_LOOPBACK_ENDPOINTS === '1',
      bootstrap:
        e.MDE_TENANT_ID && e.MDE_CLIENT_ID && e.MDE_CLIENT_SECRET
          ? { tenantId: e.MDE_TENANT_ID, clientId: e.MDE_CLIENT_ID, clientSecret: e.MDE_CLIENT_SECRET }
          : undefined,
    },
    logLevel: e.LOG_LEVEL,
    logFormat: e.LOG_FORMAT,
    crashAt: e.HOSTLOCK_CRASH_AT,
  };
}

/** Tests only (`HOSTLOCK_CRASH_AT`): dies by SIGKILL at the named crash point, as `kill -9` would. */
export function faultHookOf(config: Pick<Config, 'crashAt'>): { faults?: FaultHook } {
  const at = config.crashAt;
  if (!at) {
    return {};
  }
  return {
    faults: (point) => {
      if (point === at) {
        // written synchronously: pino writes stdout asynchronously, so its line would die with us
        const line = {
          level: 'warn',
          time: new Date().toISOString(),
          service: 'hostlock',
          point,
          msg: 'fault.crash',
        };
        process.stderr.write(`${JSON.stringify(line)}\n`);
        process.kill(process.pid, 'SIGKILL');
      }
    },
  };
}
