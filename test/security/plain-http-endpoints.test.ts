import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/config.js';

// Issue #14, finding 14: http:// was accepted for the Defender and Entra URLs in the environment, so
// the client secret and the bearer token could cross the network in clear. Only https to
// Microsoft's hosts is accepted; http on loopback only under the tests' flag.

const base = { SLACK_BOT_TOKEN: 'xoxb-1-2-abc', SLACK_SIGNING_SECRET: 's3cret' };
const problems = (env: Record<string, string>) => {
  try {
    loadConfig({ ...base, ...env });
    return '';
  } catch (e) {
    return e instanceof ConfigError ? e.problems.join('\n') : String(e);
  }
};

describe('Defender and Entra ID endpoints over plain http', () => {
  it.each([
    ['MDE_API_URL', 'http://api.security.microsoft.com'],
    ['MDE_LOGIN_URL', 'http://login.microsoftonline.com'],
    ['MDE_API_URL', 'http://127.0.0.1:8080'],
  ])('refuses %s=%s', (name, value) => {
    expect(problems({ [name]: value })).toMatch(new RegExp(`${name} must be`));
  });

  it('allows http on loopback only with HOSTLOCK_ALLOW_LOOPBACK_ENDPOINTS=1 (the in-repo peers)', () => {
    const env = { MDE_API_URL: 'http://127.0.0.1:8080', MDE_LOGIN_URL: 'http://127.0.0.1:8080' };
    expect(problems({ ...env, HOSTLOCK_ALLOW_LOOPBACK_ENDPOINTS: '1' })).toBe('');
    expect(problems({ ...env, HOSTLOCK_ALLOW_LOOPBACK_ENDPOINTS: '1', MDE_CLOUD: 'gcc' })).toBe('');
    expect(problems({ MDE_API_URL: 'http://10.0.0.5:8080', HOSTLOCK_ALLOW_LOOPBACK_ENDPOINTS: '1' })).toMatch(
      /MDE_API_URL must be/,
    );
  });
});
