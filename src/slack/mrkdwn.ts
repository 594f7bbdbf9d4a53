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
