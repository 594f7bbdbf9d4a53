// Safe text for Slack's mrkdwn, shared by the two adapters that write it: the Slack surface
// (src/slack/) and the Slack alert sink (src/notify/). Pure functions of strings, no I/O; core is
// the one part both may import, and neither may import the other.

/**
 * Untrusted text (host names from Defender, reasons typed by users, error texts) must never form
 * Slack control sequences such as `<!channel>` or disguised links: escape exactly `&`, `<`, `>`
 * (slack.md §7), `&` first.
 */
export function escapeMrkdwn(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/** Text for inside a `code span`: backticks cannot be escaped there, so they are replaced. */
export function codeSafe(text: string): string {
  return escapeMrkdwn(text.replace(/`/g, "'"));
}

/**
 * Cuts escaped mrkdwn to `max` characters without splitting an entity such as `&amp;`,
 * marking the cut with an ellipsis.
 */
export function truncateMrkdwn(escaped: string, max: number): string {
  if (escaped.length <= max) {
    return escaped;
  }
  let cut = escaped.slice(0, Math.max(0, max - 1));
  const amp = cut.lastIndexOf('&');
  if (amp !== -1 && !cut.slice(amp).includes(';')) {
    cut = cut.slice(0, amp);
  }
  return `${cut}…`;
}

/** Slack renders the token in the reader's time zone; the ISO text is shown where it cannot. */
export function slackDate(date: Date): string {
  const iso = `${date.toISOString().slice(0, 16).replace('T', ' ')} UTC`;
  return `<!date^${Math.floor(date.getTime() / 1000)}^{date_short_pretty} {time}|${iso}>`;
}

/** An actor as mrkdwn: `slack:U…` becomes a mention; anything else (a token, automation) a code span. */
export function who(actor: string | null): string {
  if (!actor) {
    return 'nobody';
  }
  const m = /^slack:([UW][A-Z0-9]+)$/.exec(actor);
  return m ? `<@${m[1]}>` : `\`${codeSafe(actor)}\``;
}

/** A mrkdwn link; only http(s) URLs, with `|` and `>` neutralised so the label cannot be spoofed. */
export function mrkdwnLink(url: string, label: string): string {
  if (!/^https?:\/\//i.test(url)) {
    return label;
  }
  return `<${escapeMrkdwn(url).replace(/\|/g, '%7C')}|${label}>`;
}

/** A lockdown's ticket in mrkdwn: its link when the settings' template made one, else the key as code. */
export function ticketText(ticket: string, url: string | null | undefined): string {
  return url ? mrkdwnLink(url, escapeMrkdwn(ticket)) : `\`${codeSafe(ticket)}\``;
}
