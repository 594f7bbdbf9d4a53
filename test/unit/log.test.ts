import { describe, expect, it } from 'vitest';
import { HostlockError } from '../../src/core/errors.js';
import { createLogger, scrubSecrets, scrubString } from '../../src/log.js';

const SLACK_BOT = 'xoxb-CANARY-1234';
const SLACK_APP = 'xapp-1-CANARY';
const JWT =
  'eyJhbGciOiJSUzI1NiIsInR5cCI6IkpXVCJ9.eyJhdWQiOiJDQU5BUlkiLCJzdWIiOiJjYW5hcnkifQ.c2lnbmF0dXJlQ0FOQVJZ';
const ENTRA_SECRET = 'abc8Q~CANARYcanaryCANARYcanaryCANARYcan';
const PLAIN_SECRET = 'PLAIN-CANARY-SECRET';
const DB_PASSWORD = 'DBCANARYPASS';
const CANARIES = [SLACK_BOT, SLACK_APP, JWT, 'CANARY', ENTRA_SECRET, PLAIN_SECRET, DB_PASSWORD];

/** A logger writing into an array; each entry is one raw line as pino wrote it. */
function capture() {
  const lines: string[] = [];
  const log = createLogger({ level: 'debug', destination: { write: (s: string) => void lines.push(s) } });
  const output = () => lines.join('');
  const records = () => lines.map((line) => JSON.parse(line) as Record<string, unknown>);
  return { log, lines, output, records };
}

function expectNoCanary(text: string): void {
  for (const canary of CANARIES) {
    expect(text).not.toContain(canary);
  }
}

describe('createLogger', () => {
  it('writes one JSON line per event with service, ISO time, level and msg', () => {
    const { log, lines, records } = capture();
    log.info({ machineId: 'm-1', count: 3 }, 'lockdown.locked');
    expect(lines).toHaveLength(1);
    expect(lines[0]?.endsWith('}\n')).toBe(true);
    const [record] = records();
    expect(record).toMatchObject({ service: 'hostlock', level: 'info', machineId: 'm-1', count: 3 });
    expect(record?.msg).toBe('lockdown.locked');
    expect(record?.time).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
  });

  it('honours the level', () => {
    const lines: string[] = [];
    const log = createLogger({ level: 'warn', destination: { write: (s: string) => void lines.push(s) } });
    log.info('ignored');
    log.warn('kept');
    expect(lines).toHaveLength(1);
  });

  it('redacts secrets by key, at the top and nested, and keeps ordinary fields', () => {
    const { log, output, records } = capture();
    log.info(
      {
        client_secret: PLAIN_SECRET,
        authorization: PLAIN_SECRET,
        headers: { authorization: PLAIN_SECRET, cookie: PLAIN_SECRET, accept: 'application/json' },
        mde: {
          clientSecret: PLAIN_SECRET,
          tenantId: 'tenant-1',
          deeper: { mde_client_secret: PLAIN_SECRET },
        },
        settings: [{ password: PLAIN_SECRET, name: 'syslog' }],
        tokenId: 'tok_1',
      },
      'settings.saved',
    );
    expectNoCanary(output());
    const [record] = records();
    expect(record).toMatchObject({
      client_secret: '[redacted]',
      headers: { authorization: '[redacted]', cookie: '[redacted]', accept: 'application/json' },
      mde: { clientSecret: '[redacted]', tenantId: 'tenant-1', deeper: { mde_client_secret: '[redacted]' } },
      settings: [{ password: '[redacted]', name: 'syslog' }],
      tokenId: 'tok_1',
    });
  });

  it('redacts secrets by value shape wherever a string holds them', () => {
    const { log, output, records } = capture();
    log.info(
      {
        note: `bot ${SLACK_BOT} app ${SLACK_APP}`,
        nested: { list: [`Bearer ${JWT}`, { header: `Bearer ${JWT}` }], raw: JWT },
        body: `grant_type=client_credentials&client_id=app-1&client_secret=${PLAIN_SECRET}&scope=x`,
        url: `postgres://hostlock:${DB_PASSWORD}@db.internal:5432/hostlock`,
        parsedUrl: new URL(`postgres://hostlock:${DB_PASSWORD}@db.internal/hostlock`),
        entra: `secret is ${ENTRA_SECRET}`,
        key: Buffer.from('CANARY key bytes'),
      },
      'peer.request',
    );
    expectNoCanary(output());
    const [record] = records();
    expect(record?.body).toBe(
      'grant_type=client_credentials&client_id=app-1&client_secret=[redacted]&scope=x',
    );
    expect(record?.url).toBe('postgres://hostlock:[redacted]@db.internal:5432/hostlock');
    expect(record?.nested).toMatchObject({ list: ['Bearer [redacted]', { header: 'Bearer [redacted]' }] });
    expect(record?.key).toBe('[binary 16 bytes]');
  });

  it('redacts tokens in the message, in format arguments and in child bindings', () => {
    const { log, output, records } = capture();
    log.info(`token ${SLACK_BOT}`);
    log.info('sent with %s', `Bearer ${JWT}`);
    log.child({ requestId: 'req-1', botToken: SLACK_BOT, hint: SLACK_APP }).info('child.event');
    log.child({ signingSecret: PLAIN_SECRET }).info('child.keyed');
    expectNoCanary(output());
    const [first, second, third, fourth] = records();
    expect(first?.msg).toBe('token [redacted]');
    expect(second?.msg).toBe('sent with Bearer [redacted]');
    expect(third).toMatchObject({ requestId: 'req-1', msg: 'child.event' });
    expect(fourth).toMatchObject({ signingSecret: '[redacted]' });
  });

  it('redacts an Error whose message, stack, context and cause chain carry tokens', () => {
    const { log, output, records } = capture();
    const root = new Error(`slack said invalid_auth for ${SLACK_BOT}`);
    const middle = new Error(`token exchange failed: ${JWT}`, { cause: root });
    const top = new HostlockError(`MDE call failed with Bearer ${JWT}`, {
      code: 'mde_unavailable',
      retryable: true,
      context: { machineId: 'm-1', accessToken: JWT, detail: `client_secret=${PLAIN_SECRET}` },
      cause: middle,
    });
    log.error(top);
    log.error({ err: top, lockdownId: 'lck_1' }, 'lockdown.failed');
    log.warn({ failure: middle }, 'nested.error');
    expectNoCanary(output());

    const [bare, withMsg, nested] = records();
    expect(bare?.msg).toBe('MDE call failed with Bearer [redacted]');
    expect(bare?.err).toMatchObject({
      type: 'HostlockError',
      code: 'mde_unavailable',
      retryable: true,
      context: { machineId: 'm-1', accessToken: '[redacted]', detail: 'client_secret=[redacted]' },
      cause: { type: 'Error', message: 'token exchange failed: [redacted]', cause: { type: 'Error' } },
    });
    expect(String((bare?.err as { stack?: unknown } | undefined)?.stack)).toContain(
      'MDE call failed with Bearer [redacted]',
    );
    expect(withMsg).toMatchObject({ msg: 'lockdown.failed', lockdownId: 'lck_1' });
    expect(nested?.failure).toMatchObject({ message: 'token exchange failed: [redacted]' });
  });

  it('does not modify the caller’s objects or errors', () => {
    const { log } = capture();
    const headers = { authorization: `Bearer ${JWT}` };
    const payload = { client_secret: PLAIN_SECRET, headers, list: [SLACK_BOT] };
    const error = new Error(`failed with ${SLACK_BOT}`);
    const snapshot = structuredClone(payload);
    log.info(payload, 'x');
    log.error({ err: error, payload }, 'y');
    expect(payload).toEqual(snapshot);
    expect(payload.headers).toBe(headers);
    expect(error.message).toBe(`failed with ${SLACK_BOT}`);
  });

  it('keeps each event on one line, whatever CR/LF the message carries', () => {
    const { log, lines, records } = capture();
    log.info('user said\r\n{"level":30,"msg":"forged"}');
    log.info('%s', 'a\nb');
    log.info({ msg: 'obj\nmsg' });
    log.error(new Error('multi\nline'));
    expect(lines).toHaveLength(4);
    for (const line of lines) {
      expect(line.indexOf('\n')).toBe(line.length - 1);
      expect(line).not.toContain('\r');
    }
    expect(records().map((r) => r.msg)).toEqual([
      'user said {"level":30,"msg":"forged"}',
      'a b',
      'obj msg',
      'multi line',
    ]);
  });

  it('survives circular and very deep objects', () => {
    const { log, records } = capture();
    const circular: Record<string, unknown> = { name: 'loop' };
    circular.self = circular;
    let deep: Record<string, unknown> = { leaf: SLACK_BOT };
    for (let i = 0; i < 20; i += 1) {
      deep = { next: deep };
    }
    log.info({ circular, deep }, 'shapes');
    const [record] = records();
    expect(record?.circular).toEqual({ name: 'loop', self: '[circular]' });
    expect(JSON.stringify(record)).toContain('[truncated]');
    expect(JSON.stringify(record)).not.toContain('CANARY');
  });
});

describe('scrubSecrets / scrubString', () => {
  it.each([
    ['a bot token', `x ${SLACK_BOT} y`, 'x [redacted] y'],
    ['a user token', 'xoxp-1-2-3-abc', '[redacted]'],
    ['an app token', SLACK_APP, '[redacted]'],
    ['a bearer header', `Authorization: Bearer ${JWT}`, 'Authorization: Bearer [redacted]'],
    ['a bare JWT', `token=${JWT}`, 'token=[redacted]'],
    ['a form secret', `client_id=a&client_secret=${PLAIN_SECRET}`, 'client_id=a&client_secret=[redacted]'],
    ['a URL password', `postgresql://u:${DB_PASSWORD}@h/db`, 'postgresql://u:[redacted]@h/db'],
    ['an Entra ID client secret', ENTRA_SECRET, '[redacted]'],
    [
      'a PEM private key',
      '-----BEGIN PRIVATE KEY-----\nMIIBVQIBADANBgkqhkiG9w0BAQEFAASC\n-----END PRIVATE KEY-----',
      '[redacted]',
    ],
  ])('removes %s', (_name, input, expected) => {
    expect(scrubString(input)).toBe(expected);
  });

  it.each([
    ['a host name', 'web-01.corp.example'],
    ['a machine id', '1e5bc9d7e413ddd7902c2932e418702b84d0cc07'],
    ['a URL without credentials', 'https://api.security.microsoft.com/api/machines'],
    ['a sentence about tokens', 'the token expired; the secret rotates monthly'],
    ['an email', 'analyst@example.com'],
  ])('keeps %s', (_name, input) => {
    expect(scrubString(input)).toBe(input);
  });

  it('returns a scrubbed deep copy for audit rows, leaving the input alone', () => {
    const row = { actor: 'U123', detail: { reason: `pasted ${SLACK_BOT}`, list: [JWT, 4] }, at: new Date(0) };
    const copy = scrubSecrets(row);
    expect(copy).toEqual({
      actor: 'U123',
      detail: { reason: 'pasted [redacted]', list: ['[redacted]', 4] },
      at: '1970-01-01T00:00:00.000Z',
    });
    expect(row.detail.reason).toBe(`pasted ${SLACK_BOT}`);
    expect(copy.detail).not.toBe(row.detail);
  });
});

describe('the log format (issue #16, item 10)', () => {
  it('writes text levels in JSON, and a pretty line for people that still hides secrets', async () => {
    const lines: string[] = [];
    const json = createLogger({ level: 'debug', destination: { write: (l: string) => void lines.push(l) } });
    json.warn({ machineId: 'm-2' }, 'mde.slow');
    expect(JSON.parse(lines[0] ?? '{}')).toMatchObject({ level: 'warn', msg: 'mde.slow' });

    const { PassThrough } = await import('node:stream');
    const out = new PassThrough();
    const chunks: string[] = [];
    out.on('data', (c: Buffer) => chunks.push(c.toString()));
    const pinoPretty = (await import('pino-pretty')).default;
    const pretty = createLogger({
      level: 'info',
      destination: pinoPretty({ destination: out, colorize: false, sync: true }),
    });
    pretty.info({ token: 'xoxb-1234-5678-abcdefghijkl' }, 'slack.started');
    const text = chunks.join('');
    expect(text).toMatch(/INFO.*slack\.started/);
    expect(text).not.toContain('xoxb-1234');
    expect(text).not.toMatch(/^\{/);
  });
});
