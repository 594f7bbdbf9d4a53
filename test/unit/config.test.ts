import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/config.js';

const base = { SLACK_BOT_TOKEN: 'xoxb-1-2-abc', SLACK_SIGNING_SECRET: 's3cret' };
const problemsOf = (env: NodeJS.ProcessEnv): string[] => {
  try {
    loadConfig(env);
  } catch (e) {
    if (e instanceof ConfigError) {
      return e.problems;
    }
    throw e;
  }
  throw new Error('expected a ConfigError');
};

describe('loadConfig', () => {
  it('applies the defaults of DESIGN §3.2', () => {
    const c = loadConfig(base);
    expect(c.slack.apiUrl).toBe('https://slack.com/api/');
    expect(c.http).toEqual({ port: 3000, host: '0.0.0.0' });
    expect(c.databaseUrl).toBeUndefined();
    expect(c.dataDir).toMatch(/\.hostlock$/);
    expect(c.mde.apiUrl).toBe('https://api.security.microsoft.com');
    expect(c.mde.loginUrl).toBe('https://login.microsoftonline.com');
    expect(c.mde.bootstrap).toBeUndefined();
    expect(c.logLevel).toBe('info');
    expect(c.admins).toEqual([]);
  });

  it('reads the key being rotated out, the syslog CA file and a crash point, and refuses bad ones', () => {
    const key = Buffer.alloc(32, 7).toString('base64');
    const c = loadConfig({
      ...base,
      HOSTLOCK_MASTER_KEY_PREVIOUS: key,
      HOSTLOCK_SYSLOG_CA_FILE: 'ca.pem',
      HOSTLOCK_CRASH_AT: 'after_sink_send',
    });
    expect(c.previousMasterKeyBase64).toBe(key);
    expect(c.syslogCaFile).toMatch(/\/ca\.pem$/);
    expect(c.crashAt).toBe('after_sink_send');
    expect(loadConfig(base).previousMasterKeyBase64).toBeUndefined();
    const p = problemsOf({ ...base, HOSTLOCK_MASTER_KEY_PREVIOUS: 'short', HOSTLOCK_CRASH_AT: 'somewhere' });
    expect(p).toHaveLength(2);
    expect(p[0]).toMatch(/^HOSTLOCK_MASTER_KEY_PREVIOUS must be 32 bytes/);
    expect(p[1]).toMatch(/^HOSTLOCK_CRASH_AT .*tests only/);
  });

  it('takes an IP as the syslog source address and refuses anything else (a name, a URL, injected text)', () => {
    expect(loadConfig({ ...base, HOSTLOCK_SYSLOG_SOURCE_ADDR: '10.0.0.5' }).syslogSourceAddress).toBe(
      '10.0.0.5',
    );
    expect(loadConfig({ ...base, HOSTLOCK_SYSLOG_SOURCE_ADDR: '2001:db8::5' }).syslogSourceAddress).toBe(
      '2001:db8::5',
    );
    expect(loadConfig(base).syslogSourceAddress).toBeUndefined();
    for (const bad of ['siem.example.com', 'http://10.0.0.5', '10.0.0.5 suser=evil', '10.0.0.5\n']) {
      expect(problemsOf({ ...base, HOSTLOCK_SYSLOG_SOURCE_ADDR: bad })[0]).toMatch(
        /^HOSTLOCK_SYSLOG_SOURCE_ADDR .*IP address/,
      );
    }
  });

  it('names both Slack variables when the environment is empty', () => {
    const p = problemsOf({});
    expect(p).toHaveLength(2);
    expect(p[0]).toMatch(/^SLACK_BOT_TOKEN is required — .*OAuth & Permissions/);
    expect(p[1]).toMatch(/^SLACK_SIGNING_SECRET is required.*Basic Information/);
  });

  it('lists every problem at once, each with what to set', () => {
    const p = problemsOf({
      SLACK_BOT_TOKEN: 'xoxp-user-token',
      PORT: 'http',
      DATABASE_URL: 'mysql://x',
      HOSTLOCK_MASTER_KEY: 'c2hvcnQ=',
      HOSTLOCK_ADMINS: 'U123ABC,alice',
      MDE_TENANT_ID: 'contoso.onmicrosoft.com',
      LOG_LEVEL: 'verbose',
    });
    const names = p.map((x) => x.split(' ')[0]);
    expect(names.sort()).toEqual(
      [
        'DATABASE_URL',
        'HOSTLOCK_ADMINS',
        'HOSTLOCK_MASTER_KEY',
        'LOG_LEVEL',
        'MDE_TENANT_ID',
        'PORT',
        'SLACK_BOT_TOKEN',
        'SLACK_SIGNING_SECRET',
      ].sort(),
    );
    expect(p.find((x) => x.startsWith('SLACK_BOT_TOKEN'))).toMatch(/must be a bot token \(xoxb-…\)/);
    expect(p.find((x) => x.startsWith('HOSTLOCK_MASTER_KEY'))).toMatch(/openssl rand -base64 32/);
    expect(p.find((x) => x.startsWith('PORT'))).toMatch(/not valid/);
  });

  it('never echoes a secret value in its messages', () => {
    const e = (() => {
      try {
        loadConfig({ SLACK_BOT_TOKEN: 'xoxp-CANARY-SECRET', HOSTLOCK_MASTER_KEY: 'CANARYKEY' });
      } catch (x) {
        return x as Error;
      }
      return undefined;
    })();
    expect(e?.message).not.toMatch(/CANARY/);
  });

  it('accepts Socket Mode without a signing secret', () => {
    const c = loadConfig({ SLACK_BOT_TOKEN: 'xoxb-1', SLACK_APP_TOKEN: 'xapp-1-A1-x' });
    expect(c.slack.appToken).toBe('xapp-1-A1-x');
    expect(c.slack.signingSecret).toBeUndefined();
  });

  it('takes the three MDE bootstrap variables together, and parses admins and URLs', () => {
    const c = loadConfig({
      ...base,
      MDE_TENANT_ID: 't',
      MDE_CLIENT_ID: 'c',
      MDE_CLIENT_SECRET: 's',
      HOSTLOCK_ADMINS: ' U0ADMIN1 , W0ADMIN2 ,',
      SLACK_API_URL: 'http://127.0.0.1:9999/api',
      MDE_API_URL: 'https://eu.api.security.microsoft.com/',
      HOSTLOCK_MASTER_KEY: Buffer.alloc(32, 7).toString('base64'),
      PORT: '0',
    });
    expect(c.mde.bootstrap).toEqual({ tenantId: 't', clientId: 'c', clientSecret: 's' });
    expect(c.admins).toEqual(['U0ADMIN1', 'W0ADMIN2']);
    expect(c.slack.apiUrl).toBe('http://127.0.0.1:9999/api/');
    expect(c.mde.apiUrl).toBe('https://eu.api.security.microsoft.com');
    expect(c.http.port).toBe(0);
  });

  it('treats empty strings as unset', () => {
    const c = loadConfig({ ...base, DATABASE_URL: '', SLACK_APP_TOKEN: '  ', PORT: '' });
    expect(c.databaseUrl).toBeUndefined();
    expect(c.slack.appToken).toBeUndefined();
    expect(c.http.port).toBe(3000);
  });
});
