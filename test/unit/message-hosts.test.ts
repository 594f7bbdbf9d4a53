import { describe, expect, it } from 'vitest';
import { hostCandidates, messageText } from '../../src/core/hosts/message-hosts.js';

// What a message names, read as people see it (issue #18, item 1).

const values = (text: string) => hostCandidates(text).queries.map((q) => q.value);

describe('host candidates in a message', () => {
  it('finds IPv6 and IPv4 (with a port), names (with a port), ids, and values after =', () => {
    const id = 'ab'.repeat(20);
    expect(values(`2001:db8::1 fe80::1 10.0.0.5:443 web-01:22 src=10.1.2.3 ${id.toUpperCase()}`)).toEqual([
      '2001:db8::1',
      'fe80::1',
      '10.0.0.5',
      'web-01',
      '10.1.2.3',
      id,
      'src', // a plain word, last
    ]);
  });

  it('reads Slack markup as shown: no mentions, no emoji, a link’s label and not its hidden URL', () => {
    expect(
      values(
        '<@U0ADMIN> <!here> <#C0123|ops-1> :rotating_light: <https://payroll-db.corp/x|ws-042> <https://web-9.corp/a>',
      ),
    ).toEqual(['ws-042', 'web-9.corp']);
  });

  it('reads a name in capitals as the name (alerts often shout): WEB-01 is web-01', () => {
    expect(values('ALERT on WEB-01')).toEqual(['web-01', 'alert']);
  });

  it('keeps a NetBIOS-style name whole; an underscore at a word’s edge is italics', () => {
    expect(values('_beacon_ from WS_FIN_01 and _ws-2_')).toEqual([
      'ws_fin_01',
      'ws-2',
      'beacon',
      'from',
      'and',
    ]);
  });

  it('puts host-like candidates before plain words', () => {
    expect(values('the proxy is slow on ws-1')).toEqual(['ws-1', 'the', 'proxy', 'slow']);
  });

  it('reads visible text only: attachment fields, not button values or fallback', () => {
    const text = messageText({
      text: 'alert',
      attachments: [{ fallback: 'hidden-1.corp', fields: [{ title: 'Host', value: 'shown-1.corp' }] }],
      blocks: [
        {
          type: 'actions',
          elements: [{ type: 'button', text: { type: 'plain_text', text: 'Open' }, value: 'hidden-2.corp' }],
        },
      ],
    });
    expect(text).toContain('shown-1.corp');
    expect(text).not.toMatch(/hidden-1|hidden-2/);
  });
});
