import { readFile } from 'node:fs/promises';
import { Ajv } from 'ajv';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';

const root = new URL('../../', import.meta.url);
const load = async (p: string) => readFile(new URL(p, root), 'utf8');

interface Manifest {
  features: {
    slash_commands: { command: string; url: string; should_escape: boolean }[];
    app_home: { home_tab_enabled: boolean };
  };
  oauth_config: { scopes: { bot: string[] } };
  settings: {
    interactivity: { request_url: string };
    event_subscriptions: { request_url: string; bot_events: string[] };
  };
}

describe('manifest.yml', () => {
  // The schema is slackapi/manifest-schema 1.0.0 (MIT, see test/fixtures/slack-manifest.LICENSE).
  const validator = async () =>
    new Ajv({ allErrors: true, strict: false }).compile(
      JSON.parse(await load('test/fixtures/slack-manifest.schema.1.0.0.json')),
    );

  it('validates against Slack manifest schema 1.0.0', async () => {
    const validate = await validator();
    const manifest: unknown = parse(await load('manifest.yml'));
    expect(validate(manifest), JSON.stringify(validate.errors, null, 2)).toBe(true);
  });

  it('the schema check would catch a broken manifest', async () => {
    const validate = await validator();
    const m = parse(await load('manifest.yml')) as Manifest & { display_information: { name?: string } };
    delete m.display_information.name;
    m.features.slash_commands[0] = { ...m.features.slash_commands[0], command: 'hostlock' } as never;
    expect(validate(m)).toBe(false);
  });

  it('sends commands, interactivity and events to /slack/events with escaped mentions', async () => {
    const m = parse(await load('manifest.yml')) as Manifest;
    const [cmd] = m.features.slash_commands;
    expect(cmd?.command).toBe('/hostlock');
    expect(cmd?.should_escape).toBe(true);
    for (const url of [
      cmd?.url,
      m.settings.interactivity.request_url,
      m.settings.event_subscriptions.request_url,
    ]) {
      expect(new URL(url ?? '').pathname).toBe('/slack/events');
    }
    expect(m.settings.event_subscriptions.bot_events).toEqual(['app_home_opened']);
    expect(m.features.app_home.home_tab_enabled).toBe(true);
  });

  it('asks for the minimum bot scopes and nothing broader', async () => {
    const m = parse(await load('manifest.yml')) as Manifest;
    expect([...m.oauth_config.scopes.bot].sort()).toEqual(
      [
        'channels:read',
        'chat:write',
        'chat:write.public',
        'commands',
        'groups:read',
        'usergroups:read',
        'users:read',
      ].sort(),
    );
  });
});
