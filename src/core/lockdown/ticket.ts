// Ticket references on lockdowns (issue #18, item 5): `--ticket INC-123` in Slack, `ticket` in REST,
// turned into a link by the settings' template (`https://tracker.example/browse/{ticket}`).

/** A tracker's key: letters, digits and `. _ / # -`, up to 64, starting with a letter or digit (no `:`: never a URL). */
const TICKET = /^[A-Za-z0-9][A-Za-z0-9._/#-]{0,63}$/;

export const TICKET_EXAMPLE = 'INC-123';

/** The ticket as given when it has a tracker key's shape, else null. */
export function parseTicket(text: string): string | null {
  const t = text.trim();
  return TICKET.test(t) ? t : null;
}

/** What is wrong with a link template, or null: https, one `{ticket}`, no credentials. */
export function templateProblem(template: string): string | null {
  let url: URL;
  try {
    url = new URL(template.replace('{ticket}', 'hostlockticket'));
  } catch {
    return 'The ticket link must be a full https URL with {ticket} in it, e.g. https://tracker.example/browse/{ticket}.';
  }
  if (url.protocol !== 'https:') {
    return 'The ticket link must start with https://.';
  }
  if (url.username || url.password) {
    return 'The ticket link must not carry a user name or password.';
  }
  if (url.host.includes('hostlockticket')) {
    return 'The ticket link must put {ticket} in the path or query, not in the host.';
  }
  if (template.split('{ticket}').length !== 2) {
    return 'The ticket link needs {ticket} exactly once, e.g. https://tracker.example/browse/{ticket}.';
  }
  return null;
}

/** The ticket's link by the settings' template (the key URL-encoded), or null without a template. */
export function ticketUrl(template: string | null, ticket: string | null): string | null {
  if (!template || !ticket || templateProblem(template)) {
    return null;
  }
  return template.replace('{ticket}', encodeURIComponent(ticket));
}
