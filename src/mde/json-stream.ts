/**
 * Reads a JSON object whose member `key` is an array, one element at a time, from the bytes of an
 * HTTP answer. Each element is parsed and handed to `onElement` as soon as its last byte arrives,
 * so the whole answer is never held at once: a page of 10 000 Defender machines is ~15 MB of text
 * and several times that once parsed whole (issue #16: the sync's peak RSS).
 *
 * What is checked, and by whom: each element's text and the rest of the object (the object with
 * the array emptied) are parsed by JSON.parse, which rejects any syntax error inside them; this
 * scanner checks what lies between the elements: exactly one comma between two, none before the
 * first or after the last. Scanning is by byte: every structural character is ASCII and never a
 * byte of a multi-byte UTF-8 sequence, so chunks may split characters anywhere.
 */

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const COLON = 0x3a;
const COMMA = 0x2c;
const OPEN_OBJECT = 0x7b;
const CLOSE_OBJECT = 0x7d;
const OPEN_ARRAY = 0x5b;
const CLOSE_ARRAY = 0x5d;
const isSpace = (b: number) => b === 0x20 || b === 0x0a || b === 0x0d || b === 0x09;

/** Strings at the top level longer than this are not the key sought (keys are short). */
const MAX_KEY_BYTES = 256;

export interface ArrayMemberOptions {
  /** an element longer than this is refused (default 64 KiB): no single record is that large */
  maxElementBytes?: number;
  /** more elements than this are refused (default: no limit) */
  maxElements?: number;
}

/** The object around the array (its other members) is small: more than this is refused. */
const MAX_REST_BYTES = 64 * 1024;

/**
 * Streams `chunks`, calling `onElement` for each element of the top-level object's `key` array,
 * in order (a promise it returns is awaited before more is read: backpressure); resolves to the object with that array empty (`{ …, [key]: [] }`), or to the whole
 * object when it has no such array member. Throws SyntaxError on malformed JSON.
 */
export async function streamArrayMember(
  chunks: AsyncIterable<Uint8Array>,
  key: string,
  onElement: (value: unknown) => void | Promise<void>,
  opts: ArrayMemberOptions = {},
): Promise<unknown> {
  const maxElementBytes = opts.maxElementBytes ?? 65_536;
  const maxElements = opts.maxElements ?? Number.POSITIVE_INFINITY;
  const rest: Buffer[] = []; // everything but the array's contents
  let restLength = 0;
  let depth = 0;
  let inString = false;
  let escaped = false; // the previous byte in a string was an unpaired backslash (across chunks)
  // a string at depth 1 that may be a key: its raw bytes with the quotes, until too long
  let keyBytes: Buffer[] | null = null;
  let keyLength = 0;
  let candidate: string | null = null; // the last top-level string, before its ':' (or not)
  let afterKey: string | null = null; // the key whose ':' was just read
  let found = false; // the array was entered (only the first member named `key` is streamed)
  let inArray = false; // between the array's '[' and ']' (depth 2 is its own level)
  let element: Buffer[] = [];
  let elementLength = 0;
  let elements = 0;
  let commaPending = false; // a comma was read at depth 2 and no element has started since

  const finishElement = () => {
    if (elementLength === 0) {
      throw new SyntaxError(`an empty element in "${key}" (after element ${elements})`);
    }
    const text = (element.length === 1 ? (element[0] as Buffer) : Buffer.concat(element)).toString('utf8');
    element = [];
    elementLength = 0;
    if (++elements > maxElements) {
      throw new SyntaxError(`more than ${maxElements} elements in "${key}"`);
    }
    return onElement(JSON.parse(text));
  };

  for await (const input of chunks) {
    const chunk = Buffer.isBuffer(input) ? input : Buffer.from(input.buffer, input.byteOffset, input.length);
    let from = 0; // start of the bytes not yet given to `rest` or the element
    let i = 0;
    // the next backslash and quote at or after `i` (-1: none left in this chunk), each found once
    // (searching again after every escape would be quadratic in a string of escapes)
    let slashAt = chunk.indexOf(BACKSLASH);
    let quoteAt = chunk.indexOf(QUOTE);
    const take = (end: number) => {
      if (end <= from) {
        return;
      }
      const part = chunk.subarray(from, end);
      if (inArray) {
        if (elementLength === 0 && part.every(isSpace)) {
          from = end;
          return; // whitespace between elements
        }
        element.push(part);
        elementLength += part.length;
        if (elementLength > maxElementBytes) {
          throw new SyntaxError(`an element of "${key}" is over ${maxElementBytes} bytes`);
        }
      } else {
        rest.push(part);
        restLength += part.length;
        if (restLength > MAX_REST_BYTES) {
          throw new SyntaxError(`over ${MAX_REST_BYTES} bytes outside "${key}"`);
        }
      }
      from = end;
    };
    while (i < chunk.length) {
      if (inString) {
        // jump to the next quote or backslash (memchr), not byte by byte
        let end: number;
        let closes = false;
        if (escaped) {
          escaped = false;
          end = i + 1;
        } else {
          if (slashAt !== -1 && slashAt < i) {
            slashAt = chunk.indexOf(BACKSLASH, i);
          }
          if (quoteAt !== -1 && quoteAt < i) {
            quoteAt = chunk.indexOf(QUOTE, i);
          }
          const quote = quoteAt;
          if (slashAt !== -1 && (quote === -1 || slashAt < quote)) {
            end = slashAt + 1;
            escaped = true;
          } else if (quote === -1) {
            end = chunk.length;
          } else {
            end = quote + 1;
            closes = true;
          }
        }
        if (keyBytes) {
          keyLength += end - i;
          if (keyLength <= MAX_KEY_BYTES) {
            keyBytes.push(chunk.subarray(i, end));
          } else {
            keyBytes = null;
          }
        }
        i = end;
        if (closes) {
          inString = false;
          if (keyBytes) {
            candidate = JSON.parse(Buffer.concat(keyBytes).toString('utf8')) as string;
            keyBytes = null;
          }
        }
        continue;
      }
      const b = chunk[i] as number;
      if (isSpace(b)) {
        i++;
        continue;
      }
      if (inArray && depth === 2) {
        // directly inside the array: an element starts, or one ends at ',' or ']'
        if (b === COMMA) {
          take(i);
          await finishElement();
          commaPending = true;
          from = ++i;
          continue;
        }
        if (b === CLOSE_ARRAY) {
          take(i);
          if (elementLength > 0 || commaPending) {
            await finishElement();
          }
          commaPending = false;
          inArray = false;
          depth = 1;
          from = i; // the ']' goes to `rest`
          i++;
          continue;
        }
        if (b === CLOSE_OBJECT) {
          throw new SyntaxError(`"${key}" is closed by '}', not ']'`);
        }
        commaPending = false;
      }
      if (b === QUOTE) {
        inString = true;
        if (!inArray && depth === 1) {
          keyBytes = [chunk.subarray(i, i + 1)];
          keyLength = 1;
        }
        i++;
        continue;
      }
      if (depth === 1 && !inArray) {
        if (b === COLON && candidate === key && found) {
          throw new SyntaxError(`a second "${key}" member`);
        }
        if (b === COLON && candidate !== null) {
          afterKey = candidate;
          candidate = null;
          i++;
          continue;
        }
        if (b === OPEN_ARRAY && afterKey === key && !found) {
          i++;
          take(i); // up to and with the '[': `rest`
          found = true;
          inArray = true;
          depth = 2;
          afterKey = null;
          continue;
        }
      }
      candidate = null;
      afterKey = null;
      if (b === OPEN_OBJECT || b === OPEN_ARRAY) {
        depth++;
      } else if (b === CLOSE_OBJECT || b === CLOSE_ARRAY) {
        depth--;
      }
      i++;
    }
    take(chunk.length);
  }
  if (inArray || inString) {
    throw new SyntaxError('the answer ends inside the JSON');
  }
  return JSON.parse(Buffer.concat(rest).toString('utf8'));
}
