import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { streamArrayMember } from '../../src/mde/json-stream.js';

/*
 * The streaming reader must agree with JSON.parse on every input: the same elements and the same
 * rest when JSON.parse accepts the text, a SyntaxError when it refuses it, wherever the chunks
 * split the bytes (multi-byte characters and escapes included).
 */

async function* chunked(bytes: Buffer, cuts: readonly number[]): AsyncGenerator<Buffer> {
  let from = 0;
  for (const cut of [...new Set(cuts.map((c) => c % (bytes.length + 1)))].sort((a, b) => a - b)) {
    yield bytes.subarray(from, cut);
    from = cut;
  }
  yield bytes.subarray(from);
}

async function read(text: string, cuts: readonly number[] = [], key = 'value') {
  const elements: unknown[] = [];
  const rest = await streamArrayMember(chunked(Buffer.from(text, 'utf8'), cuts), key, (e) => {
    elements.push(e);
  });
  return { elements, rest };
}

/** What JSON.parse says the reader should give: the elements, and the object with them removed. */
function expected(text: string, key = 'value') {
  const whole = JSON.parse(text) as unknown;
  if (whole && typeof whole === 'object' && !Array.isArray(whole) && Array.isArray((whole as never)[key])) {
    return { elements: (whole as Record<string, unknown[]>)[key], rest: { ...whole, [key]: [] } };
  }
  return { elements: [], rest: whole };
}

const tricky = fc.constantFrom(
  'value',
  '"',
  '\\',
  '\\"',
  ']',
  '[',
  '{',
  '}',
  ',',
  ':',
  'é',
  '😀',
  '\u2028',
  '"value":[',
);
const str = fc.oneof(
  fc.string(),
  fc.array(tricky, { maxLength: 6 }).map((a) => a.join('')),
);
const json: fc.Arbitrary<unknown> = fc.letrec((tie) => ({
  value: fc.oneof(
    { depthSize: 'small' },
    str,
    fc.integer(),
    fc.double({ noNaN: true, noDefaultInfinity: true }),
    fc.boolean(),
    fc.constant(null),
    fc.array(tie('value'), { maxLength: 4 }),
    fc.dictionary(str, tie('value'), { maxKeys: 4 }),
  ),
})).value;

/** A page as Defender shapes it, with other members before and after, and random whitespace. */
const page = fc
  .record({
    before: fc.dictionary(str, json, { maxKeys: 3 }),
    elements: fc.array(json, { maxLength: 8 }),
    after: fc.dictionary(str, json, { maxKeys: 3 }),
    indent: fc.constantFrom(undefined, 1, '\t', ' \r\n'),
  })
  .map(({ before, elements, after, indent }) => {
    const { value: _a, ...b } = before;
    const { value: _b, ...a } = after;
    return JSON.stringify({ ...b, value: elements, ...a }, null, indent as never);
  });
const cuts = fc.array(fc.nat(), { maxLength: 12 });

describe('streamArrayMember', () => {
  it('gives the elements and the rest JSON.parse gives, however the bytes are chunked', async () => {
    await fc.assert(
      fc.asyncProperty(page, cuts, async (text, at) => {
        expect(await read(text, at)).toEqual(expected(text));
      }),
      { numRuns: 400 },
    );
  });

  it('refuses exactly what JSON.parse refuses, when a page is damaged anywhere', async () => {
    const damage = fc.record({
      at: fc.nat(),
      cut: fc.integer({ min: 0, max: 3 }),
      insert: fc.constantFrom('', ',', ']', '[', '}', '{', '"', '\\', ' ', 'x', ':', ',,', '1'),
    });
    await fc.assert(
      fc.asyncProperty(page, damage, cuts, async (text, d, at) => {
        const i = d.at % (text.length + 1);
        // as bytes: a cut through a surrogate pair is U+FFFD on the wire, as it is for JSON.parse here
        const broken = Buffer.from(text.slice(0, i) + d.insert + text.slice(i + d.cut)).toString('utf8');
        let want: ReturnType<typeof expected> | 'refused';
        try {
          want = expected(broken);
        } catch {
          want = 'refused';
        }
        const got = await read(broken, at).catch((e: unknown) => {
          expect(e).toBeInstanceOf(SyntaxError);
          return 'refused' as const;
        });
        expect(got).toEqual(want);
      }),
      { numRuns: 1_000 },
    );
  });

  it.each([
    ['an empty array', '{"value":[]}', [], { value: [] }],
    ['no such member: the whole object', '{"other":[1]}', [], { other: [1] }],
    ['the key escaped', '{"valu\\u0065":[1,2]}', [1, 2], { value: [] }],
    ['a value string that spells the key', '{"a":"value","value":[3]}', [3], { a: 'value', value: [] }],
    [
      'a nested member of that name',
      '{"x":{"value":[9]},"value":[1]}',
      [1],
      { x: { value: [9] }, value: [] },
    ],
  ])('%s', async (_what, text, elements, rest) => {
    expect(await read(text)).toEqual({ elements, rest });
  });

  it.each([
    ['a trailing comma', '{"value":[1,]}'],
    ['a leading comma', '{"value":[,1]}'],
    ['two commas', '{"value":[1,,2]}'],
    ['no comma', '{"value":[1 2]}'],
    ['closed by a brace', '{"value":[1}'],
    ['cut short inside an element', '{"value":[{"id":"a'],
    ['cut short after an element', '{"value":[1,2'],
    ['the member twice', '{"value":[1],"value":[2]}'],
  ])('refuses %s', async (_what, text) => {
    await expect(read(text)).rejects.toThrow(SyntaxError);
  });

  it('refuses more elements than allowed, and an object around the array over 64 KiB', async () => {
    const three = Buffer.from('{"value":[1,2,3]}');
    await expect(
      streamArrayMember(chunked(three, []), 'value', () => {}, { maxElements: 2 }),
    ).rejects.toThrow(/more than 2 elements/);
    const padded = Buffer.from(`{"pad":"${'x'.repeat(70_000)}","value":[]}`);
    await expect(streamArrayMember(chunked(padded, [1000]), 'value', () => {})).rejects.toThrow(
      /over 65536 bytes outside/,
    );
  });

  it('refuses an element over the size cap, without reading the rest of the answer', async () => {
    let chunksRead = 0;
    async function* endless(): AsyncGenerator<Buffer> {
      yield Buffer.from('{"value":["');
      for (;;) {
        chunksRead++;
        yield Buffer.alloc(65_536, 0x61);
      }
    }
    await expect(
      streamArrayMember(endless(), 'value', () => {}, { maxElementBytes: 1_048_576 }),
    ).rejects.toThrow(/over 1048576 bytes/);
    expect(chunksRead).toBeLessThanOrEqual(17);
  });
});
