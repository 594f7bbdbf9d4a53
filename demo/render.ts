// Slack messages as a terminal shows them: mrkdwn decorations stripped lightly, mentions and
// channels by name, dates as times, Block Kit laid out as lines, buttons as [Approve] [Deny].

type Json = Record<string, unknown>;

const EMOJI: Record<string, string> = {
  lock: '🔒',
  unlock: '🔓',
  hourglass: '⏳',
  hourglass_flowing_sand: '⏳',
  white_check_mark: '✅',
  no_entry: '⛔',
  alarm_clock: '⏰',
  stopwatch: '⏱️',
  x: '❌',
  warning: '⚠️',
  gear: '⚙️',
  key: '🔑',
  shield: '🛡️',
  rotating_light: '🚨',
  robot_face: '🤖',
  bust_in_silhouette: '👤',
};

const isRecord = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);
const str = (v: unknown): string => (typeof v === 'string' ? v : '');

/** `HH:MM UTC` for a Slack `<!date^…>` token; the day too when it is not today. */
function clock(epochSeconds: number): string {
  const d = new Date(epochSeconds * 1000);
  const iso = d.toISOString();
  const today = new Date().toISOString().slice(0, 10);
  return `${iso.slice(0, 10) === today ? '' : `${iso.slice(0, 10)} `}${iso.slice(11, 16)} UTC`;
}

/** mrkdwn → plain text; `names` maps user and channel ids to names. */
export function plainText(mrkdwn: string, names: (id: string) => string | undefined): string {
  return mrkdwn
    .replace(/<@([UW][A-Z0-9]+)(?:\|([^>]*))?>/g, (_, id: string, label?: string) => {
      return `@${names(id) ?? label ?? id}`;
    })
    .replace(/<#([CG][A-Z0-9]+)(?:\|([^>]*))?>/g, (_, id: string, label?: string) => {
      return `#${names(id) ?? label ?? id}`;
    })
    .replace(/<!subteam\^([A-Z0-9]+)(?:\|([^>]*))?>/g, (_, id: string, label?: string) => label ?? id)
    .replace(/<!date\^(\d+)\^[^|>]*(?:\|[^>]*)?>/g, (_, s: string) => clock(Number(s)))
    .replace(/<(https?:[^|>]+)\|([^>]*)>/g, '$2')
    .replace(/<(https?:[^>]+)>/g, '$1')
    .replace(/```/g, '')
    .replace(/`([^`\n]*)`/g, '$1')
    .replace(/(^|[\s(])\*([^*\n]+)\*(?=$|[\s).,:;!?])/gm, '$1$2')
    .replace(/(^|[\s(])_([^_\n]+)_(?=$|[\s).,:;!?])/gm, '$1$2')
    .replace(/:([a-z_]+):/g, (m, name: string) => EMOJI[name] ?? m)
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&amp;/g, '&');
}

function elementText(e: unknown, names: (id: string) => string | undefined): string {
  if (!isRecord(e)) {
    return '';
  }
  const t = e.text;
  if (isRecord(t)) {
    return t.type === 'mrkdwn' ? plainText(str(t.text), names) : str(t.text);
  }
  return typeof t === 'string' ? plainText(t, names) : '';
}

/** A button as `[Label]`; a select as `[Placeholder ▾ a | b | c]`. */
function control(e: unknown): string {
  if (!isRecord(e)) {
    return '';
  }
  if (e.type === 'button') {
    return `[${str(isRecord(e.text) ? e.text.text : '')}]`;
  }
  if (typeof e.type === 'string' && e.type.endsWith('select')) {
    const placeholder = str(isRecord(e.placeholder) ? e.placeholder.text : '') || 'Choose…';
    const options = Array.isArray(e.options)
      ? e.options.map((o) => (isRecord(o) && isRecord(o.text) ? str(o.text.text) : '')).filter(Boolean)
      : [];
    return `[${placeholder} ▾${options.length ? ` ${options.join(' | ')}` : ''}]`;
  }
  return '';
}

/** Section fields laid out two to a line: "Label: value". */
function fieldLines(fields: unknown[], names: (id: string) => string | undefined): string[] {
  const cells = fields.map((f) => {
    const [label = '', ...rest] = elementText({ text: f }, names).split('\n');
    return rest.length ? `${label}: ${rest.join(' ')}` : label;
  });
  const lines: string[] = [];
  for (let i = 0; i < cells.length; i += 2) {
    const left = cells[i] ?? '';
    const right = cells[i + 1];
    lines.push(right === undefined ? left : `${left}${' '.repeat(Math.max(3, 45 - left.length))}${right}`);
  }
  return lines;
}

/** The lines a person sees for a message or an ephemeral answer with `text` and maybe `blocks`. */
export function renderMessage(
  m: { text?: unknown; blocks?: unknown },
  names: (id: string) => string | undefined,
): string[] {
  const blocks = Array.isArray(m.blocks) ? m.blocks : [];
  if (blocks.length === 0) {
    return plainText(str(m.text), names).split('\n');
  }
  const out: string[] = [];
  for (const b of blocks) {
    if (!isRecord(b)) {
      continue;
    }
    switch (b.type) {
      case 'header':
        out.push(`▌${elementText(b, names)}`);
        break;
      case 'section':
        if (b.text) {
          out.push(...elementText(b, names).split('\n'));
        }
        if (Array.isArray(b.fields)) {
          out.push(...fieldLines(b.fields, names));
        }
        if (b.accessory) {
          out.push(control(b.accessory));
        }
        break;
      case 'context':
        out.push(
          ...(Array.isArray(b.elements) ? b.elements : [])
            .map((e) => elementText({ text: e }, names))
            .join(' · ')
            .split('\n'),
        );
        break;
      case 'actions':
        out.push((Array.isArray(b.elements) ? b.elements : []).map(control).filter(Boolean).join(' '));
        break;
      case 'divider':
        out.push('───');
        break;
      default:
        break;
    }
  }
  return out.filter((l) => l.trim() !== '');
}

/** Cuts a line to `max` characters with an ellipsis. */
export function clipLine(line: string, max: number): string {
  return line.length <= max ? line : `${line.slice(0, max - 1)}…`;
}
