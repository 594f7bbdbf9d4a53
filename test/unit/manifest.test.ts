import { readFile } from 'node:fs/promises';
import { Ajv } from 'ajv';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { FunctionId, ShortcutId } from '../../src/slack/ids.js';

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
    expect(m.settings.event_subscriptions.bot_events).toEqual([
      'app_home_opened',
      'link_shared',
      'function_executed',
    ]);
    // each shortcut's callback_id is one the app listens for
    expect(
      ((m.features as { shortcuts?: Array<{ callback_id: string }> }).shortcuts ?? [])
        .map((x) => x.callback_id)
        .sort(),
    ).toEqual(Object.values(ShortcutId).sort());
    expect((m.features as { unfurl_domains?: string[] }).unfurl_domains).toEqual(['security.microsoft.com']);
    expect(m.features.app_home.home_tab_enabled).toBe(true);
  });

  it('declares the Workflow Builder step DESIGN §3.3 names, each with its listener; the requester is a user_context', async () => {
    type Params = Record<string, { type: string; is_required?: boolean }>;
    for (const file of ['manifest.yml', 'manifest.socket.yml']) {
      const m = parse(await load(file)) as {
        functions: Record<string, { input_parameters: Params; output_parameters: Params }>;
        settings: { org_deploy_enabled: boolean; function_runtime: string };
      };
      expect(Object.keys(m.functions).sort(), file).toEqual(Object.values(FunctionId).sort());
      const step = m.functions[FunctionId.lockHost];
      expect(Object.keys(step?.input_parameters ?? {}), file).toEqual([
        'host',
        'duration',
        'reason',
        'user_context',
      ]);
      expect(step?.input_parameters.user_context).toMatchObject({
        type: 'slack#/types/user_context',
        is_required: true,
      });
      expect(Object.keys(step?.output_parameters ?? {}), file).toEqual(['lockdown_id', 'state']);
      // Slack lists an app's steps in Workflow Builder only when it is org-ready and runs its own functions
      expect(m.settings).toMatchObject({ org_deploy_enabled: true, function_runtime: 'remote' });
    }
  });

  it('asks for the least bot scopes: exactly those the Web API methods hostlock calls need', async () => {
    // Each Slack Web API method called anywhere in src/ and the scope it needs (api.slack.com/methods).
    const NEEDS: Record<string, string[]> = {
      'auth.test': [],
      'chat.postMessage': ['chat:write', 'chat:write.public'],
      'chat.update': ['chat:write'],
      'views.open': [],
      'views.publish': [],
      'views.update': [],
      'usergroups.users.list': ['usergroups:read'],
      // syslog's `user`/`suser`: a person's display name (issue #19); its link: the thread's permalink
      'users.info': ['users:read', 'users:read.email'],
      'chat.getPermalink': [],
      'chat.unfurl': ['links:write'],
      'chat.postEphemeral': ['chat:write'],
    };
    // and each event subscribed to
    const EVENT_NEEDS: Record<string, string[]> = {
      app_home_opened: [],
      link_shared: ['links:read'],
      // functions.completeSuccess / completeError (called by Bolt with the workflow token) need none
      function_executed: [],
    };
    const called = new Set<string>();
    for (const file of await sourceFiles(new URL('src/', root))) {
      const text = await readFile(file, 'utf8');
      const calls =
        /\.(auth|chat|views|usergroups|users|conversations|reactions|files)\s*\.([a-zA-Z]+(?:\s*\.[a-zA-Z]+)*)\s*\(/g;
      for (const m of text.matchAll(calls)) {
        called.add(`${m[1]}.${(m[2] ?? '').replace(/\s+/g, '')}`);
      }
    }
    expect(called).toContain('chat.update'); // written over two lines in announcer.ts: still found
    for (const method of called) {
      expect(NEEDS, `${method} is called but its scope is not accounted for`).toHaveProperty([method]);
    }
    const http = parse(await load('manifest.yml')) as Manifest;
    const events = http.settings.event_subscriptions.bot_events;
    const needed = new Set([
      'commands',
      ...[...called].flatMap((m) => NEEDS[m] ?? []),
      ...events.flatMap((e) => EVENT_NEEDS[e] ?? [`unknown event ${e}`]),
    ]);
    for (const file of ['manifest.yml', 'manifest.socket.yml']) {
      const m = parse(await load(file)) as Manifest;
      expect([...m.oauth_config.scopes.bot].sort(), file).toEqual([...needed].sort());
    }
  });
});

describe('manifest.socket.yml (Socket Mode)', () => {
  it('validates against the schema, enables Socket Mode and names no request URL', async () => {
    const validate = await new Ajv({ allErrors: true, strict: false }).compile(
      JSON.parse(await load('test/fixtures/slack-manifest.schema.1.0.0.json')),
    );
    const text = await load('manifest.socket.yml');
    const m = parse(text) as Manifest & { settings: { socket_mode_enabled: boolean } };
    expect(validate(m), JSON.stringify(validate.errors, null, 2)).toBe(true);
    expect(m.settings.socket_mode_enabled).toBe(true);
    expect(text).not.toMatch(/request_url|url: https/);
    // the same app otherwise: commands, events and scopes as the HTTP manifest
    const http = parse(await load('manifest.yml')) as Manifest;
    expect(m.settings.event_subscriptions.bot_events).toEqual(http.settings.event_subscriptions.bot_events);
    expect(m.features.slash_commands[0]?.command).toBe('/hostlock');
  });
});

async function sourceFiles(dir: URL): Promise<URL[]> {
  const { readdir } = await import('node:fs/promises');
  const out: URL[] = [];
  for (const e of await readdir(dir, { withFileTypes: true })) {
    const u = new URL(e.name + (e.isDirectory() ? '/' : ''), dir);
    if (e.isDirectory()) {
      out.push(...(await sourceFiles(u)));
    } else if (e.name.endsWith('.ts')) {
      out.push(u);
    }
  }
  return out;
}
