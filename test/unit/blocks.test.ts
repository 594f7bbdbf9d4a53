import type { types } from '@slack/bolt';
import { describe, expect, it } from 'vitest';
import type { Host, IsolationState, OpenLockdown } from '../../src/core/hosts/types.js';
import { type Permission, permissionsOf } from '../../src/core/permissions.js';
import { relativeTime, timeLeft } from '../../src/slack/blocks/format.js';
import { homeView } from '../../src/slack/blocks/home.js';
import { hostCard, hostCardText, hostList } from '../../src/slack/blocks/host-card.js';
import {
  ActionId,
  DURATION_VALUES,
  durationOptionValue,
  hostBlockId,
  lockdownBlockId,
  parseBlockId,
  parseDuration,
  parseLockChoice,
} from '../../src/slack/ids.js';

const NOW = new Date('2026-03-10T12:00:00.000Z');
const MACHINE_ID = 'a'.repeat(40);
const ago = (ms: number) => new Date(NOW.getTime() - ms);
const MIN = 60_000;
const HOUR = 60 * MIN;
const DAY = 24 * HOUR;

function makeHost(over: Partial<Host> = {}): Host {
  return {
    machineId: MACHINE_ID,
    name: 'web-01',
    osPlatform: 'Windows11',
    osVersion: '23H2',
    ips: ['10.0.0.5'],
    healthStatus: 'Active',
    onboardingStatus: 'Onboarded',
    riskScore: 'Low',
    exposureLevel: 'Medium',
    deviceValue: 'Normal',
    firstSeen: ago(100 * DAY),
    lastSeen: ago(5 * MIN),
    tags: ['prod'],
    isPotentialDuplicate: false,
    mergedIntoMachineId: null,
    isolationState: 'not_isolated',
    isolationSource: null,
    goneAt: null,
    syncedAt: ago(2 * MIN),
    ...over,
  };
}

function makeLockdown(over: Partial<OpenLockdown> = {}): OpenLockdown {
  return {
    id: 'lck_ABCDEF234567',
    state: 'active',
    requestedBy: 'slack:U0123ABCD',
    approvedBy: 'slack:U0999ZZZZ',
    lockedAt: ago(48 * MIN),
    expiresAt: new Date(NOW.getTime() + 3 * HOUR + 12 * MIN),
    durationMinutes: 240,
    trigger: null,
    ...over,
  };
}

const EDITOR = permissionsOf(['responder']);
const card = (host: Host, lockdown: OpenLockdown | null = null, permissions = EDITOR) =>
  hostCard({
    host,
    lockdown,
    permissions,
    now: NOW,
    portalUrl: `https://security.microsoft.com/machines/${host.machineId}`,
  });

type Rec = Record<string, unknown>;
const isRec = (v: unknown): v is Rec => typeof v === 'object' && v !== null && !Array.isArray(v);
const textOf = (v: unknown): string => (isRec(v) && typeof v.text === 'string' ? v.text : '');

/** Every text object in the blocks, with its type (`plain_text` or `mrkdwn`). */
function texts(node: unknown, out: Array<{ type: string; text: string }> = []) {
  if (Array.isArray(node)) {
    for (const n of node) {
      texts(n, out);
    }
  } else if (isRec(node)) {
    if ((node.type === 'mrkdwn' || node.type === 'plain_text') && typeof node.text === 'string') {
      out.push({ type: node.type, text: node.text });
    }
    for (const v of Object.values(node)) {
      texts(v, out);
    }
  }
  return out;
}
const mrkdwnTexts = (blocks: unknown) =>
  texts(blocks)
    .filter((t) => t.type === 'mrkdwn')
    .map((t) => t.text);
const allText = (blocks: unknown) =>
  texts(blocks)
    .map((t) => t.text)
    .join('\n');

/** Block Kit limits from slack.md §6, checked at every node; returns the violations found. */
function violations(node: unknown, where = '$', out: string[] = []): string[] {
  const over = (what: string, value: number, max: number) => {
    if (value > max) {
      out.push(`${where}: ${what} is ${value} > ${max}`);
    }
  };
  if (Array.isArray(node)) {
    node.forEach((n, i) => {
      violations(n, `${where}[${i}]`, out);
    });
    return out;
  }
  if (!isRec(node)) {
    return out;
  }
  for (const key of ['block_id', 'action_id'] as const) {
    if (key in node) {
      const id = String(node[key]);
      over(key, id.length, 255);
      if (id.length === 0) {
        out.push(`${where}: empty ${key}`);
      }
    }
  }
  if ((node.type === 'mrkdwn' || node.type === 'plain_text') && textOf(node).length === 0) {
    out.push(`${where}: empty text`);
  }
  const list = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);
  switch (node.type) {
    case 'header':
      over('header text', textOf(node.text).length, 150);
      break;
    case 'section':
      over('section text', textOf(node.text).length, 3000);
      over('fields', list(node.fields).length, 10);
      for (const f of list(node.fields)) {
        over('field text', textOf(f).length, 2000);
      }
      break;
    case 'context':
      over('context elements', list(node.elements).length, 10);
      for (const e of list(node.elements)) {
        over('context text', textOf(e).length, 3000);
      }
      break;
    case 'actions':
      over('action elements', list(node.elements).length, 25);
      break;
    case 'button':
      over('button text', textOf(node.text).length, 75);
      over('button value', String(node.value ?? '').length, 2000);
      over('button url', String(node.url ?? '').length, 3000);
      break;
    case 'static_select':
      over('options', list(node.options).length, 100);
      over('placeholder', textOf(node.placeholder).length, 150);
      for (const o of list(node.options)) {
        over('option text', isRec(o) ? textOf(o.text).length : 0, 75);
        over('option value', isRec(o) ? String(o.value).length : 0, 75);
      }
      break;
  }
  if (isRec(node.confirm)) {
    const c = node.confirm;
    over('confirm title', textOf(c.title).length, 100);
    over('confirm text', textOf(c.text).length, 300);
    over('confirm button', textOf(c.confirm).length, 30);
    over('deny button', textOf(c.deny).length, 30);
  }
  for (const [k, v] of Object.entries(node)) {
    violations(v, `${where}.${k}`, out);
  }
  return out;
}

/** Nothing a host or user typed may become a mention, broadcast or link in mrkdwn. */
function expectNoInjection(blocks: unknown) {
  for (const t of mrkdwnTexts(blocks)) {
    expect(t).not.toMatch(/<!(channel|here|everyone)|<https:\/\/evil|<@UEVIL/);
  }
}

const actionsBlock = (blocks: types.KnownBlock[]) => blocks.find((b) => b.type === 'actions');
/** The card's lock control (Refresh, on every card, is checked on its own). */
function controls(blocks: types.KnownBlock[]): 'lock' | 'unlock' | 'none' {
  const a = actionsBlock(blocks);
  if (a?.type !== 'actions') {
    throw new Error('every card has an actions block: Refresh at least');
  }
  const last = a.elements.at(-1);
  if (last?.type !== 'button' || last.action_id !== ActionId.hostRefresh || last.value !== MACHINE_ID) {
    throw new Error(`Refresh is not the card's last control: ${JSON.stringify(a)}`);
  }
  const [el] = a.elements.slice(0, -1);
  if (!el) {
    return 'none';
  }
  if (el.type === 'static_select' && el.action_id === ActionId.hostLock) {
    return 'lock';
  }
  if (el.type === 'button' && el.action_id === ActionId.lockdownUnlock) {
    return 'unlock';
  }
  throw new Error(`unexpected actions block ${JSON.stringify(a)}`);
}

type Case = [string, Partial<Host>, OpenLockdown | null, 'lock' | 'unlock' | 'none'];
const STATES: Case[] = [
  ['not isolated, no lockdown', {}, null, 'lock'],
  ['not isolated, request pending', {}, makeLockdown({ state: 'pending_approval', expiresAt: null }), 'none'],
  [
    'isolating',
    { isolationState: 'isolating' },
    makeLockdown({ state: 'isolating', expiresAt: null }),
    'none',
  ],
  ['isolated by hostlock', { isolationState: 'isolated_by_hostlock' }, makeLockdown(), 'unlock'],
  [
    'isolated by hostlock, lockdown still isolating',
    { isolationState: 'isolated_by_hostlock' },
    makeLockdown({ state: 'isolating' }),
    'unlock',
  ],
  ['isolated by hostlock without a lockdown row', { isolationState: 'isolated_by_hostlock' }, null, 'none'],
  [
    'isolated outside hostlock',
    { isolationState: 'isolated_outside', isolationSource: 'outside' },
    null,
    'none',
  ],
  ['releasing', { isolationState: 'releasing' }, makeLockdown({ state: 'releasing' }), 'none'],
  ['merged into another record', { mergedIntoMachineId: 'b'.repeat(40) }, null, 'none'],
  ['gone from Defender', { goneAt: ago(DAY) }, null, 'none'],
];
const ROLE_SETS: Array<[string, ReadonlySet<Permission>, boolean]> = [
  ['no role', new Set(), false],
  ['analyst', permissionsOf(['analyst']), false],
  ['responder', permissionsOf(['responder']), true],
  ['admin', permissionsOf(['admin']), true],
];

describe.each(ROLE_SETS)('host card controls for %s', (_role, permissions, canEdit) => {
  it.each(STATES)('%s → offers the right control only', (_name, over, lockdown, expected) => {
    const blocks = card(makeHost(over), lockdown, permissions);
    expect(controls(blocks)).toBe(canEdit ? expected : 'none');
    expect(violations(blocks)).toEqual([]);
  });
});

describe('host card controls', () => {
  it('offers exactly the preset durations, with a confirm naming the host, in a host: block', () => {
    const blocks = card(makeHost({ osPlatform: 'Linux' }));
    const a = actionsBlock(blocks);
    expect(a?.block_id).toBe(hostBlockId(MACHINE_ID));
    expect(parseBlockId(a?.block_id ?? '')).toEqual({ kind: 'host', id: MACHINE_ID });
    const select = a?.type === 'actions' ? a.elements[0] : undefined;
    if (select?.type !== 'static_select') {
      throw new Error('no select');
    }
    // Linux: Defender has no selective isolation there, so only the Full group is offered
    expect(select.option_groups?.map((g) => g.label.text)).toEqual(['Full isolation']);
    const options = select.option_groups?.flatMap((g) => g.options) ?? [];
    expect(options.map((o) => o.value)).toEqual(['1h', '2h', '4h', '8h', '12h', '24h']);
    expect(options.map((o) => o.text.text)).toEqual([
      '1 hour',
      '2 hours',
      '4 hours',
      '8 hours',
      '12 hours',
      '24 hours',
    ]);
    expect(select.confirm?.text.text).toContain('web-01');
  });

  it('offers selective isolation as its own group where Defender supports it (Windows, macOS)', () => {
    for (const os of ['Windows11', 'macOS']) {
      const a = actionsBlock(card(makeHost({ osPlatform: os })));
      const select = a?.type === 'actions' ? a.elements[0] : undefined;
      if (select?.type !== 'static_select') {
        throw new Error('no select');
      }
      const selective = select.option_groups?.find((g) => g.label.text.startsWith('Selective'));
      expect(selective?.options.map((o) => o.value)).toEqual(DURATION_VALUES.map((d) => `${d}-selective`));
      for (const o of selective?.options ?? []) {
        expect(parseLockChoice(o.value ?? '')).toMatchObject({ selective: true });
      }
    }
    // forged values are refused
    for (const forged of ['4h-selective-x', '3h-selective', 'selective', '4h-Selective', '-selective']) {
      expect(parseLockChoice(forged)).toBeNull();
    }
  });

  it('puts the lockdown id, never the machine id, in the Unlock value', () => {
    const a = actionsBlock(card(makeHost({ isolationState: 'isolated_by_hostlock' }), makeLockdown()));
    const button = a?.type === 'actions' ? a.elements[0] : undefined;
    expect(button?.type === 'button' && button.value).toBe('lck_ABCDEF234567');
    expect(button?.type === 'button' && button.style).toBe('danger');
    expect(button?.type === 'button' && button.confirm?.text.text).toContain('web-01');
  });
});

describe('host card content', () => {
  it('shows who locked it and the time left, with a mention for Slack users', () => {
    const text = allText(card(makeHost({ isolationState: 'isolated_by_hostlock' }), makeLockdown()));
    expect(text).toContain('Isolated by hostlock');
    expect(text).toContain('<@U0123ABCD>');
    expect(text).toContain('3 h 12 min left');
  });

  it('shows a non-Slack requester as escaped text', () => {
    const lockdown = makeLockdown({ requestedBy: 'api:<!here>' });
    const blocks = card(makeHost({ isolationState: 'isolated_by_hostlock' }), lockdown);
    expect(allText(blocks)).toContain('api:&lt;!here&gt;');
    expectNoInjection(blocks);
  });

  it.each<[IsolationState, string]>([
    ['not_isolated', 'Not isolated'],
    ['isolating', 'Isolating…'],
    [
      'isolated_outside',
      'Isolated outside hostlock* (Defender portal or another tool) — hostlock will not release it',
    ],
    ['releasing', 'Releasing…'],
  ])('describes %s in words', (state, words) => {
    expect(allText(card(makeHost({ isolationState: state })))).toContain(words);
  });

  it('shows last seen relative and absolute, and links the portal', () => {
    const text = allText(card(makeHost()));
    expect(text).toContain('5 min ago');
    expect(text).toMatch(/<!date\^\d+\^\{date_short_pretty\} \{time\}\|2026-03-10 11:55 UTC>/);
    expect(text).toContain(`<https://security.microsoft.com/machines/${MACHINE_ID}|`);
  });

  it('shows a few IPs and tags and counts the rest', () => {
    const ips = Array.from({ length: 12 }, (_, i) => `10.0.0.${i}`);
    const text = allText(card(makeHost({ ips, tags: ['a', 'b'] })));
    expect(text).toContain('`10.0.0.4` +7 more');
    expect(text).toContain('`a`, `b`');
  });
});

describe('host warnings', () => {
  it.each<[string, Partial<Host>, string]>([
    [
      'possible duplicate',
      { isPotentialDuplicate: true },
      'possible duplicate: check the machine id before locking',
    ],
    [
      'merged',
      { mergedIntoMachineId: 'c'.repeat(40) },
      `merged this record into \`${'c'.repeat(40)}\`: use that record`,
    ],
    [
      'stale for 8 days',
      { lastSeen: ago(8 * DAY) },
      'Not seen for 8 days: it may be a retired or re-imaged twin',
    ],
    ['gone', { goneAt: ago(DAY) }, 'No longer listed by Defender'],
    [
      'not onboarded',
      { onboardingStatus: 'InsufficientInfo' },
      'Not onboarded (InsufficientInfo): Defender cannot isolate it',
    ],
    [
      'inactive',
      { healthStatus: 'Inactive' },
      'Sensor health is Inactive: isolation may stay pending for days',
    ],
    ['no sensor data', { healthStatus: 'NoSensorData' }, 'isolation may stay pending for days'],
  ])('warns when %s', (_name, over, words) => {
    const blocks = card(makeHost(over));
    const warning = mrkdwnTexts(blocks).find((t) => t.startsWith('⚠️'));
    expect(warning).toContain(words);
  });

  it.each<[string, Partial<Host>]>([
    ['a healthy, recent, onboarded host', {}],
    ['onboarding status in another case', { onboardingStatus: 'ONBOARDED' }],
    ['last seen exactly 7 days ago', { lastSeen: ago(7 * DAY) }],
    ['never seen (no time to judge)', { lastSeen: null }],
    ['unknown onboarding and health', { onboardingStatus: null, healthStatus: null }],
  ])('does not warn for %s', (_name, over) => {
    expect(allText(card(makeHost(over)))).not.toContain('⚠️');
  });
});

describe('escaping untrusted text', () => {
  it('renders a host named <!channel> literally everywhere', () => {
    const host = makeHost({ name: '<!channel>', tags: ['<!here>'] });
    const blocks = [
      ...card(host),
      ...hostList({ hosts: [host, host], total: 2, query: '<!channel>', now: NOW }),
    ];
    expectNoInjection(blocks);
    expect(mrkdwnTexts(blocks).join('\n')).toContain('&lt;!channel&gt;');
    expect(hostCardText(host)).toBe('&lt;!channel&gt; — not isolated');
    expect(blocks[0]?.type === 'header' && blocks[0].text.text).toBe('<!channel>');
  });

  it('keeps formatting and disguised links from a host name inert', () => {
    const host = makeHost({ name: '*bold* <https://evil|x>' });
    const list = hostList({ hosts: [host, makeHost()], total: 2, query: 'x', now: NOW });
    expectNoInjection(list);
    expect(mrkdwnTexts(list).join('\n')).toContain('`*bold* &lt;https://evil|x&gt;`');
  });

  it('escapes & before < and >', () => {
    expect(hostCardText(makeHost({ name: 'a&b<c>' }))).toBe('a&amp;b&lt;c&gt; — not isolated');
  });

  it('keeps a tag with backticks inside its code span', () => {
    const tags = ['`rm -rf`', 'ok'];
    const field = mrkdwnTexts(card(makeHost({ tags }))).find((t) => t.startsWith('*Tags*'));
    expect(field).toContain("`'rm -rf'`, `ok`");
    expect((field?.match(/`/g) ?? []).length % 2).toBe(0);
  });
});

describe('truncation to Block Kit limits', () => {
  it('has a checker that notices over-long texts (so a pass means something)', () => {
    const bad = [
      { type: 'header', text: { type: 'plain_text', text: 'x'.repeat(151) } },
      { type: 'section', fields: Array(11).fill({ type: 'mrkdwn', text: 'y'.repeat(2001) }) },
      {
        type: 'actions',
        block_id: '',
        elements: [
          {
            type: 'button',
            text: { type: 'plain_text', text: 'z'.repeat(76) },
            confirm: { text: { type: 'plain_text', text: 'c'.repeat(301) } },
          },
        ],
      },
    ];
    expect(violations(bad)).toEqual(
      expect.arrayContaining([
        expect.stringContaining('header text is 151 > 150'),
        expect.stringContaining('fields is 11 > 10'),
        expect.stringContaining('field text is 2001 > 2000'),
        expect.stringContaining('empty block_id'),
        expect.stringContaining('button text is 76 > 75'),
        expect.stringContaining('confirm text is 301 > 300'),
      ]),
    );
  });

  const huge = makeHost({
    name: `${'&<'.repeat(2_500)}`,
    tags: Array.from({ length: 200 }, (_, i) => `tag-${i}-${'&'.repeat(300)}`),
    ips: Array.from({ length: 300 }, (_, i) => `fe80::${i.toString(16)}:aaaa:bbbb:cccc:dddd`),
    osPlatform: 'x'.repeat(5_000),
    osVersion: '<'.repeat(5_000),
    riskScore: '&'.repeat(5_000),
    isPotentialDuplicate: true,
    mergedIntoMachineId: '<'.repeat(3_000),
    goneAt: ago(DAY),
    lastSeen: ago(400 * DAY),
    onboardingStatus: '&'.repeat(3_000),
    healthStatus: 'Inactive',
  });
  const bigLockdown = makeLockdown({ requestedBy: `api:${'<'.repeat(4_000)}`, id: 'x'.repeat(64) });

  it.each<[string, () => unknown]>([
    ['a card with a lock select', () => card({ ...huge, mergedIntoMachineId: null, goneAt: null })],
    [
      'a card with an unlock button',
      () => card({ ...huge, isolationState: 'isolated_by_hostlock' }, bigLockdown),
    ],
    ['a pending card', () => card(huge, makeLockdown({ ...bigLockdown, state: 'pending_approval' }))],
    [
      'a list of 50 matches',
      () => hostList({ hosts: Array(50).fill(huge), total: 5_000, query: '<'.repeat(5_000), now: NOW }),
    ],
    ['the fallback text', () => [{ type: 'section', text: { type: 'mrkdwn', text: hostCardText(huge) } }]],
  ])('keeps %s within every limit', (_name, build) => {
    expect(violations(build())).toEqual([]);
  });

  it('lists at most 10 matches and counts the rest', () => {
    const blocks = hostList({ hosts: Array(50).fill(makeHost()), total: 73, query: 'web', now: NOW });
    expect(blocks.filter((b) => b.type === 'section')).toHaveLength(11);
    expect(allText(blocks)).toContain('and 63 more');
    expect(allText(blocks)).toContain('/hostlock lookup &lt;machine id&gt;');
  });
});

describe('block ids and durations', () => {
  it.each([
    ['host', hostBlockId(MACHINE_ID), { kind: 'host', id: MACHINE_ID }],
    ['upper-case host', hostBlockId('ABCDEF0123'.repeat(4)), { kind: 'host', id: 'ABCDEF0123'.repeat(4) }],
    ['lockdown', lockdownBlockId('lck_ABC234'), { kind: 'lockdown', id: 'lck_ABC234' }],
    ['64-char lockdown', lockdownBlockId('a'.repeat(64)), { kind: 'lockdown', id: 'a'.repeat(64) }],
  ])('round-trips a %s block id', (_name, blockId, parsed) => {
    expect(parseBlockId(blockId)).toEqual(parsed);
  });

  it.each([
    'host:',
    `host:${'a'.repeat(39)}`,
    `host:${'a'.repeat(41)}`,
    `host:${'g'.repeat(40)}`,
    `host:${MACHINE_ID} `,
    'lockdown:',
    'lockdown:lck-1',
    'lockdown:lck_1|x',
    `lockdown:${'a'.repeat(65)}`,
    `HOST:${MACHINE_ID}`,
    `machine:${MACHINE_ID}`,
    '',
  ])('refuses block id %j', (blockId) => {
    expect(parseBlockId(blockId)).toBeNull();
  });

  it('spells the presets 1h … 24h and parses them back', () => {
    expect(DURATION_VALUES).toEqual(['1h', '2h', '4h', '8h', '12h', '24h']);
    for (const v of DURATION_VALUES) {
      const hours = parseDuration(v);
      expect(hours === null ? null : durationOptionValue(hours)).toBe(v);
    }
  });

  it.each(['3h', '04h', '4', '4H', ' 4h', '24h ', '48h', '0h', '', '1.0h'])('refuses duration %j', (v) => {
    expect(parseDuration(v)).toBeNull();
  });
});

describe('relative and remaining time', () => {
  it.each<[string, number, string]>([
    ['0 s', 0, 'just now'],
    ['59 s', 59_000, '59 s ago'],
    ['5 min', 5 * MIN, '5 min ago'],
    ['3 h', 3 * HOUR, '3 h ago'],
    ['1 day', DAY, '1 day ago'],
    ['2 days', 2 * DAY, '2 days ago'],
    ['a future time (clock skew)', -30_000, 'just now'],
  ])('%s ago reads %j', (_name, ms, words) => {
    expect(relativeTime(ago(ms), NOW)).toBe(words);
  });

  it.each<[number, string]>([
    [3 * HOUR + 12 * MIN, '3 h 12 min left'],
    [2 * HOUR, '2 h left'],
    [45 * MIN + 30_000, '45 min left'],
    [30_000, 'under 1 min left'],
    [0, 'due for release'],
  ])('%d ms before expiry reads %j', (ms, words) => {
    expect(timeLeft(new Date(NOW.getTime() + ms), NOW)).toBe(words);
  });
});

describe('home view', () => {
  const isolated = Array.from({ length: 500 }, (_, i) => ({
    host: makeHost({
      machineId: i.toString(16).padStart(40, '0'),
      name: `<!channel>-${i}`,
      isolationState: 'isolated_by_hostlock' as const,
    }),
    lockdown: makeLockdown(),
  }));
  const home = (roles: string[], list = isolated) =>
    homeView({
      userId: 'U0123ABCD',
      permissions: permissionsOf(roles),
      roles,
      isolated: list,
      total: list.length,
      now: NOW,
      portalUrl: (id) => `https://security.microsoft.com/machines/${id}`,
    });

  it('stays within 100 blocks and every limit with 500 isolated hosts', () => {
    const view = home(['responder']);
    expect(view.blocks.length).toBeLessThanOrEqual(100);
    expect(violations(view.blocks)).toEqual([]);
    expectNoInjection(view.blocks);
    const text = allText(view.blocks);
    expect(text).toContain('Isolated hosts (500)');
    expect(text).toContain('and 460 more — use `/hostlock list`');
    expect(text).toContain('3 h 12 min left');
  });

  it('lists the viewer permissions', () => {
    const text = allText(home(['analyst']).blocks);
    expect(text).toContain('`lockdown:view`');
    expect(text).toContain('`settings:view`');
    expect(text).not.toContain('`lockdown:edit`');
  });

  it('tells someone without a role how to get one, and shows them no hosts', () => {
    const text = allText(home([]).blocks);
    expect(text).toContain('none. Ask a hostlock admin for a role.');
    expect(text).not.toContain('Isolated hosts');
  });

  it('says so when nothing is isolated', () => {
    const text = allText(home(['responder'], []).blocks);
    expect(text).toContain('Isolated hosts (0)');
    expect(text).not.toContain('more —');
  });
});
