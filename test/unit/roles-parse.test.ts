import { describe, expect, it } from 'vitest';
import { parseSubject } from '../../src/slack/commands/roles.js';

describe('parseSubject', () => {
  it.each([
    ['an escaped user mention with its name', '<@U123ABC|alice>', { type: 'user', id: 'U123ABC' }],
    ['an escaped user mention without a name', '<@U123ABC>', { type: 'user', id: 'U123ABC' }],
    ['an Enterprise Grid user', '<@W0GRID42|bob>', { type: 'user', id: 'W0GRID42' }],
    ['a user group with its handle', '<!subteam^S123ABC|@oncall>', { type: 'usergroup', id: 'S123ABC' }],
    ['a user group without a handle', '<!subteam^S123ABC>', { type: 'usergroup', id: 'S123ABC' }],
    ['a bare user id', 'U123ABC', { type: 'user', id: 'U123ABC' }],
    ['a bare W id', 'W123ABC', { type: 'user', id: 'W123ABC' }],
    ['a bare group id', 'S123ABC', { type: 'usergroup', id: 'S123ABC' }],
    ['a bare id typed in lower case', 'u123abc', { type: 'user', id: 'U123ABC' }],
    ['surrounding whitespace', '  <@U123ABC|alice>  ', { type: 'user', id: 'U123ABC' }],
    ['a label with spaces', '<!subteam^S123ABC|@on call>', { type: 'usergroup', id: 'S123ABC' }],
  ])('accepts %s', (_, text, expected) => {
    expect(parseSubject(text)).toEqual(expected);
  });

  it.each([
    ['empty text', ''],
    ['an unescaped handle', '@alice'],
    ['a channel mention', '<#C123ABC|general>'],
    ['a special mention', '<!channel>'],
    ['a link', '<https://evil.example|U123ABC>'],
    ['a channel id', 'C123ABC'],
    ['a user id with punctuation', 'U123-ABC'],
    ['two mentions', '<@U123ABC> <@U456DEF>'],
    ['a mention with trailing text', '<@U123ABC|alice> please'],
    ['a group id in a user mention', '<@S123ABC>'],
    ['a user id in a group mention', '<!subteam^U123ABC>'],
    ['an id far too long', `U${'A'.repeat(40)}`],
    ['a lone prefix', 'U'],
  ])('refuses %s', (_, text) => {
    expect(parseSubject(text)).toBeNull();
  });
});
