import { z } from 'zod';
import { API_SCOPES } from '../core/api-tokens/tokens.js';
import { HOSTLOCK_VERSION } from '../version.js';
import { HostsAtIpAnswer } from './routes/host-at-ip.js';
import { HostScoreItem, HostScoresAnswer, MAX_SCORES } from './routes/host-scores.js';
import { LockdownView, LockHostBody, LockRequestView, OutsideView } from './routes/lockdown-hosts.js';

export const ApiErrorBody = z.object({
  error: z.object({ code: z.string(), message: z.string() }),
});

/** A component schema (OpenAPI 3.1 schemas are JSON Schema 2020-12; the dialect is the document's). */
function schema(s: z.ZodType, io: 'input' | 'output' = 'output'): Record<string, unknown> {
  const { $schema: _dialect, ...rest } = z.toJSONSchema(s, {
    target: 'draft-2020-12',
    io,
    unrepresentable: 'any',
  });
  return rest;
}

const json = (ref: string) => ({ 'application/json': { schema: { $ref: `#/components/schemas/${ref}` } } });
/** `POST /lockdown/host` answers one lockdown for `host`, the request for `hosts`. */
const lockdownOrRequest = {
  'application/json': {
    schema: {
      oneOf: [{ $ref: '#/components/schemas/Lockdown' }, { $ref: '#/components/schemas/LockRequestAnswer' }],
    },
  },
};

const error = (description: string) => ({ description, content: json('Error') });

const refusals = {
  '401': error('no token, or not a valid one'),
  '403': error('the token lacks the scope'),
  '429': {
    ...error('too many requests with this token'),
    headers: { 'Retry-After': { schema: { type: 'integer' }, description: 'seconds to wait' } },
  },
  '500': error('an unexpected failure on the server (logged); try again later'),
};

// One data literal: the document reads top to bottom like the OpenAPI it produces.
/**
 * The OpenAPI 3.1 document of the REST API (DESIGN §3.7), built from the same zod schemas the
 * routes validate and answer with, so the two cannot drift.
 */
export function openApiDocument(): Record<string, unknown> {
  return {
    openapi: '3.1.0',
    info: {
      title: 'hostlock REST API',
      version: HOSTLOCK_VERSION,
      description:
        'Lockdowns of hosts through Microsoft Defender for Endpoint, in the shape of the Vectra lockdown API, and score ingestion for automatic lockdown. Tokens come from `/hostlock token create` in Slack. A method a path does not offer is answered 405 with an `Allow` header.',
    },
    servers: [{ url: '/' }],
    security: [{ token: [] }],
    components: {
      securitySchemes: {
        token: {
          type: 'http',
          scheme: 'bearer',
          description: `\`Authorization: Bearer <token>\` or \`Authorization: Token <token>\`; scopes: ${API_SCOPES.join(', ')}.`,
        },
      },
      schemas: {
        Error: schema(ApiErrorBody),
        Lockdown: schema(LockdownView),
        IsolatedOutside: schema(OutsideView),
        LockRequest: schema(LockHostBody, 'input'),
        LockRequestAnswer: schema(LockRequestView),
        HostScore: schema(HostScoreItem, 'input'),
        HostScoresAnswer: schema(HostScoresAnswer),
        HostsAtIpAnswer: schema(HostsAtIpAnswer),
      },
    },
    paths: {
      '/api/v2.1/lockdown/host': {
        get: {
          operationId: 'listLockdowns',
          summary: 'Current lockdowns and pending requests (scope lockdown:view)',
          parameters: [
            {
              name: 'include',
              in: 'query',
              required: false,
              description:
                '`outside`: also list hosts isolated outside hostlock (hostlock never releases them)',
              schema: { type: 'string', enum: ['outside'] },
            },
          ],
          responses: {
            '200': {
              description: 'open lockdowns, then (with include=outside) hosts isolated outside hostlock',
              content: {
                'application/json': {
                  schema: {
                    type: 'array',
                    items: {
                      oneOf: [
                        { $ref: '#/components/schemas/Lockdown' },
                        { $ref: '#/components/schemas/IsolatedOutside' },
                      ],
                    },
                  },
                },
              },
            },
            '400': error('an include other than outside'),
            ...refusals,
          },
        },
        post: {
          operationId: 'lockHost',
          summary: 'Request a lockdown, with the same rules and approvals as Slack (scope lockdown:edit)',
          requestBody: { required: true, content: json('LockRequest') },
          responses: {
            '201': {
              description:
                'approved (approval not required): isolation follows. `host`: the lockdown; `hosts`: the request, one lockdown per host and the hosts left out',
              content: lockdownOrRequest,
            },
            '202': {
              description: 'posted to the approvers (`host`: the lockdown; `hosts`: the request)',
              content: lockdownOrRequest,
            },
            '400': error('bad body, host or duration; more hosts than one request may name (too_many_hosts)'),
            ...refusals,
            '404': error('no such host'),
            '409': error(
              "refused: already locked, isolated outside hostlock, excluded, ambiguous …; for `hosts`, nothing_to_lock with each host's reason in error.left_out",
            ),
            '413': error('body too large'),
            '415': error('not JSON'),
            '503': error('Defender not configured, paused or unreachable'),
          },
        },
      },
      '/api/v2.1/lockdown/host/{id}': {
        delete: {
          operationId: 'unlockHost',
          summary: 'Stop an open lockdown, by lockdown id or machine id (scope lockdown:edit)',
          description:
            "Works in every open state; the answer's `state` says what happened: `withdrawn` (a request nobody decided), `cancelled` (approved, nothing sent to Defender), `isolating` (Defender is asked at once: an unfinished isolation is cancelled, a finished one released), `releasing` (an active lockdown is released).",
          parameters: [
            {
              name: 'id',
              in: 'path',
              required: true,
              schema: { type: 'string', pattern: '^[A-Za-z0-9_-]{1,64}$' },
            },
          ],
          responses: {
            '202': {
              description: 'withdrawn, cancelled, or stopping / releasing',
              content: json('Lockdown'),
            },
            ...refusals,
            '404': error('no such lockdown'),
            '409': error('already ended (`not_open`) or already being stopped (`already_releasing`)'),
          },
        },
      },
      '/api/v2.1/host': {
        get: {
          operationId: 'hostsAtIp',
          summary:
            "Which devices Defender saw with an internal IP at a time: its find-by-IP, ±15 min (scope lockdown:view; spends the lookup quota of the token's creator)",
          parameters: [
            {
              name: 'ip',
              in: 'query',
              required: true,
              schema: { type: 'string' },
              description: 'IPv4 or IPv6',
            },
            {
              name: 'at',
              in: 'query',
              required: true,
              schema: { type: 'string' },
              description: 'RFC 3339 with its zone, within the past 30 days, e.g. 2026-12-01T10:00Z',
            },
          ],
          responses: {
            '200': { description: 'the devices seen (possibly none)', content: json('HostsAtIpAnswer') },
            '400': error('ip or at missing or malformed, at in the future or older than 30 days'),
            ...refusals,
            '503': error('Defender not configured, paused or unreachable'),
          },
        },
      },
      '/api/v2.1/host/scores': {
        post: {
          operationId: 'postScores',
          summary: `Host scores for automatic lockdown: one, or an array of at most ${MAX_SCORES} (scope scores:write)`,
          requestBody: {
            required: true,
            content: {
              'application/json': {
                schema: {
                  oneOf: [
                    { $ref: '#/components/schemas/HostScore' },
                    {
                      type: 'array',
                      minItems: 1,
                      maxItems: MAX_SCORES,
                      items: { $ref: '#/components/schemas/HostScore' },
                    },
                  ],
                },
              },
            },
          },
          responses: {
            '200': {
              description: 'each item accepted or refused, and what automation did',
              content: json('HostScoresAnswer'),
            },
            '400': error('not a score or an array of scores'),
            ...refusals,
            '413': error('body too large'),
            '415': error('not JSON'),
          },
        },
      },
      '/api/v2.1/openapi.json': {
        get: {
          operationId: 'openapi',
          summary: 'This document',
          security: [],
          responses: { '200': { description: 'OpenAPI 3.1', content: { 'application/json': {} } } },
        },
      },
    },
  };
}
