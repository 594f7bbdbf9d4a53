import { createHmac } from 'node:crypto';
import { request } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bootHarness, type Harness, SIGNING_SECRET, until } from '../helpers/harness.js';
import { createApiToken } from '../helpers/tokens.js';

// Issue #14, finding 13: up to 1 MB of a Slack body was read and parsed before the signature check,
// and an oversized stream was read to its end. Now the body is cut at Slack's largest (768 KiB),
// the signature is verified before the body is parsed, and failed REST authentications are rate
// limited per source address.

let h: Harness;

beforeAll(async () => {
  h = await bootHarness();
});
afterAll(() => h.close());

const ts = () => String(Math.floor(Date.now() / 1000));

describe('Slack bodies: capped, verified, then parsed', () => {
  it('cuts an endless body off at the cap without reading it to the end', async () => {
    const url = new URL(`${h.app.url}/slack/events`);
    let written = 0;
    const status = await new Promise<number>((resolve, reject) => {
      const req = request(
        {
          host: url.hostname,
          port: url.port,
          path: url.pathname,
          method: 'POST',
          headers: {
            'content-type': 'application/json',
            'x-slack-request-timestamp': ts(),
            'x-slack-signature': `v0=${'0'.repeat(64)}`,
          },
        },
        (res) => resolve(res.statusCode ?? 0),
      );
      req.on('error', (e) => (written > 0 ? resolve(413) : reject(e)));
      const chunk = Buffer.alloc(64 * 1024, 0x61);
      const pump = () => {
        while (written < 64 * 1024 * 1024 && req.write(chunk)) {
          written += chunk.length;
        }
        if (written < 64 * 1024 * 1024) {
          req.once('drain', pump);
        } else {
          req.end();
        }
      };
      pump();
    });
    expect(status).toBe(413);
    expect(written).toBeLessThan(64 * 1024 * 1024);
  });

  it('refuses a body with a wrong signature before parsing it (a signed `null` would crash Bolt)', async () => {
    const body = 'null';
    const res = await fetch(`${h.app.url}/slack/events`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        'x-slack-request-timestamp': ts(),
        'x-slack-signature': `v0=${createHmac('sha256', 'not-the-secret').update(`v0:${ts()}:${body}`).digest('hex')}`,
      },
      body,
    });
    expect(res.status).toBe(401);
    expect(h.logs.some((l) => l.includes('signature_mismatch'))).toBe(true);
    expect(SIGNING_SECRET).not.toBe('not-the-secret');
  });
});

describe('REST authentication failures are rate limited per source address', () => {
  it('answers 429 to failures after 20 bad tokens, while a valid token from the same address still works', async () => {
    const t = await createApiToken(h.app.store, { name: 'good-feed', scopes: ['lockdown:view'] });
    const good = t === 'name_taken' ? '' : t.token;
    const tries = [];
    for (let i = 0; i < 25; i++) {
      tries.push(
        (
          await fetch(`${h.app.url}/api/v2.1/lockdown/host`, {
            headers: { authorization: `Bearer hlk_${String(i).padStart(43, 'x')}` },
          })
        ).status,
      );
    }
    expect(tries.slice(0, 20).every((s) => s === 401)).toBe(true);
    expect(tries.slice(20)).toContain(429);
    const ok = await fetch(`${h.app.url}/api/v2.1/lockdown/host`, {
      headers: { authorization: `Bearer ${good}` },
    });
    expect(ok.status).toBe(200);
  });
});

describe('unsigned bodies cannot fill the memory', () => {
  it('turns requests away (503) while 64 unverified bodies are being read', async () => {
    const url = new URL(`${h.app.url}/slack/events`);
    const stalled = Array.from({ length: 64 }, () => {
      const req = request({
        host: url.hostname,
        port: url.port,
        path: url.pathname,
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          'content-length': String(700 * 1024),
          'x-slack-request-timestamp': ts(),
          'x-slack-signature': `v0=${'0'.repeat(64)}`,
        },
      });
      req.on('error', () => {});
      req.write('{"type":"');
      return req;
    });
    try {
      const turned = await until(async () => {
        const res = await fetch(`${h.app.url}/slack/events`, {
          method: 'POST',
          headers: {
            'content-type': 'application/json',
            'x-slack-request-timestamp': ts(),
            'x-slack-signature': `v0=${'0'.repeat(64)}`,
          },
          body: '{}',
        });
        return res.status === 503 ? res : null;
      }, 'a request turned away');
      expect(turned.status).toBe(503);
    } finally {
      for (const r of stalled) {
        r.destroy();
      }
    }
  });
});
