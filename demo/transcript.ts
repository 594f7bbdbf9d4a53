// The demo's transcript: who did what, then everything each system saw since, in the order it
// happened (Slack calls and response_url answers, Defender requests, syslog lines), as plain text.
import type { SignedResponse } from '../test/fakes/slack-signer.js';
import { CHANNELS, type DemoEnv, PEOPLE, type Person } from './env.js';
import { clipLine, renderMessage } from './render.js';

const LABEL_WIDTH = 26;
const LINE_MAX = 150;
const SYSLOG_MAX = 200;
/** Slack Web API methods that change nothing anyone sees (lookups, auth) are left out. */
const SHOWN_METHODS = new Set(['chat.postMessage', 'chat.update', 'chat.postEphemeral', 'views.open']);

interface Seen {
  at: number;
  seq: number;
  label: string;
  lines: string[];
  /** consecutive identical entries collapse into one with a count (Defender polling an action) */
  key?: string;
}

type Json = Record<string, unknown>;
const isRecord = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

export class Transcript {
  private readonly env: DemoEnv;
  private cursor = { calls: 0, responses: 0, mde: 0, syslog: 0 };
  private pending: Seen[] = [];
  private seq = 0;
  private step = 0;
  private readonly names = new Map<string, string>();
  private readonly out: (line: string) => void;

  constructor(env: DemoEnv, out: (line: string) => void = (l) => console.log(l)) {
    this.env = env;
    this.out = out;
    for (const p of Object.values(PEOPLE)) {
      this.names.set(p.id, p.name);
    }
    for (const c of Object.values(CHANNELS)) {
      this.names.set(c.id, c.name);
    }
    this.names.set(env.slack.botUserId, 'hostlock');
  }

  /** Names for ids, for the renderer. */
  readonly nameOf = (id: string): string | undefined => this.names.get(id);

  /** Forgets what happened so far (boot noise) without printing it. */
  skip(): void {
    this.collect();
    this.pending = [];
  }

  section(title: string): void {
    this.flush();
    this.step += 1;
    const head = `── ${this.step}. ${title} `;
    this.out('');
    this.out(head.padEnd(100, '─'));
  }

  /** A person's action, as they typed or clicked it. */
  act(who: Person, what: string, where?: string): void {
    this.flush();
    this.out(`${who} › ${what}${where ? `   (in #${where})` : ''}`);
  }

  /** The narrator: what the demo does behind the scenes (time passing, Defender finishing). */
  note(text: string): void {
    this.flush();
    this.out(`   ⋯ ${text}`);
  }

  /** A block of lines printed as is (indented), e.g. the REST answer or a summary. */
  block(label: string, lines: string[]): void {
    this.flush();
    this.print({ at: 0, seq: 0, label, lines });
  }

  /** The HTTP answer Slack got for a command or click: what the person sees at once. */
  ack(who: Person, r: SignedResponse): void {
    if (r.status !== 200) {
      this.add(Date.now(), `Slack → ${who}`, [`(hostlock answered HTTP ${r.status})`]);
      return;
    }
    if (!r.text) {
      return;
    }
    const body = JSON.parse(r.text) as Json;
    if (body.response_action === 'errors') {
      const errors = isRecord(body.errors) ? Object.entries(body.errors) : [];
      this.add(
        Date.now(),
        `${who}'s modal`,
        errors.map(([k, v]) => `error on ${k}: ${String(v)}`),
      );
      return;
    }
    this.add(Date.now(), `${who} sees (only ${who})`, renderMessage(body, this.nameOf));
  }

  /** Something a person sees that no peer records (a modal closing). */
  show(label: string, lines: string[]): void {
    this.add(Date.now(), label, lines);
  }

  /** Prints everything seen since the last flush, in the order it happened. */
  flush(): void {
    this.collect();
    const seen = this.pending.sort((a, b) => a.at - b.at || a.seq - b.seq);
    this.pending = [];
    const merged: Array<Seen & { count: number }> = [];
    for (const s of seen) {
      const last = merged.at(-1);
      if (s.key && last?.key === s.key) {
        last.count += 1;
      } else {
        merged.push({ ...s, count: 1 });
      }
    }
    for (const s of merged) {
      this.print(
        s.count > 1 ? { ...s, lines: s.lines.map((l, i) => (i === 0 ? `${l}  ×${s.count}` : l)) } : s,
      );
    }
  }

  private print(s: Seen): void {
    s.lines.forEach((line, i) => {
      const label = i === 0 ? s.label : '';
      this.out(`   ${label.padEnd(LABEL_WIDTH)} │ ${clipLine(maskTokens(line), LINE_MAX)}`);
    });
  }

  private add(at: number, label: string, lines: string[], key?: string): void {
    this.pending.push({
      at,
      seq: this.seq++,
      label,
      lines: lines.length ? lines : [''],
      ...(key ? { key } : {}),
    });
  }

  private channel(id: string): string {
    return `#${this.names.get(id) ?? id}`;
  }

  /** Takes what the peers and the receiver recorded since the last look. */
  private collect(): void {
    const { slack, mde, syslog } = this.env;
    for (const c of slack.calls.slice(this.cursor.calls)) {
      if (!SHOWN_METHODS.has(c.method)) {
        continue;
      }
      if (c.response.ok !== true) {
        this.add(c.at, 'Slack refused', [`${c.method}: ${String(c.response.error)}`]);
        continue;
      }
      const a = c.args;
      const channel = this.channel(String(a.channel ?? ''));
      if (c.method === 'chat.postMessage') {
        const label = a.thread_ts ? `${channel} ↳ thread` : channel;
        this.add(c.at, label, renderMessage(a, this.nameOf));
      } else if (c.method === 'chat.update') {
        const [first = '', ...rest] = renderMessage(a, this.nameOf);
        const controls = rest.filter((l) => l.startsWith('['));
        this.add(c.at, `${channel} (edited)`, [`request message now: ${first}`, ...controls]);
      } else if (c.method === 'chat.postEphemeral') {
        const who = this.names.get(String(a.user)) ?? String(a.user);
        this.add(c.at, `${who} sees (only ${who})`, renderMessage(a, this.nameOf));
      } else if (c.method === 'views.open') {
        const view = isRecord(a.view) ? a.view : {};
        const title = isRecord(view.title) ? String(view.title.text) : 'modal';
        const inputs = Array.isArray(view.blocks)
          ? view.blocks.filter((b) => isRecord(b) && b.type === 'input')
          : [];
        this.add(c.at, 'Slack opens a modal', [`“${title}” with ${inputs.length} fields`]);
      }
    }
    this.cursor.calls = slack.calls.length;

    for (const p of slack.responses.slice(this.cursor.responses)) {
      const who = this.names.get(p.message?.ephemeralUser ?? '') ?? 'the clicker';
      if (p.status !== 200) {
        this.add(p.at, 'Slack refused', [`response_url: ${p.error ?? p.status}`]);
        continue;
      }
      const body = isRecord(p.body) ? p.body : {};
      const label = body.replace_original === true ? `${who} sees (replacing)` : `${who} sees (only ${who})`;
      this.add(p.at, label, renderMessage(body, this.nameOf));
    }
    this.cursor.responses = slack.responses.length;

    for (const r of mde.requests.slice(this.cursor.mde)) {
      const line = `${r.method} ${shortPath(r.path)}${r.query ? `?${decodeQuery(r.query)}` : ''} → ${r.status}`;
      this.add(r.at.getTime(), 'Defender ←', [line], line);
    }
    this.cursor.mde = mde.requests.length;

    for (const m of syslog.messages.slice(this.cursor.syslog)) {
      this.add(m.at, 'syslog receiver ←', [clipLine(m.line, SYSLOG_MAX)]);
    }
    this.cursor.syslog = syslog.messages.length;
  }
}

/** API tokens are shown once, to their creator; the transcript keeps only their start. */
function maskTokens(line: string): string {
  return line.replace(/(hlk_[A-Za-z0-9_-]{6})[A-Za-z0-9_-]{37}(?![A-Za-z0-9_-])/g, '$1…');
}

/** Machine and action ids (40 hex, GUIDs) shortened so a path fits on a line. */
function shortPath(path: string): string {
  return path
    .replace(/\b([0-9a-f]{8})[0-9a-f]{32}\b/g, '$1…')
    .replace(/\b([0-9a-f]{8})-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b/g, '$1…');
}

function decodeQuery(q: string): string {
  try {
    return shortPath(decodeURIComponent(q.replace(/\+/g, ' ')));
  } catch {
    return q;
  }
}
