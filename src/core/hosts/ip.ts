// IP address syntax without node:net (core imports no I/O module). The unit test holds it against
// node:net's isIP over generated addresses.

const V4_PART = '(?:25[0-5]|2[0-4]\\d|1\\d\\d|[1-9]?\\d)';
const V4 = new RegExp(`^${V4_PART}(?:\\.${V4_PART}){3}$`);
const HEX = /^[0-9a-f]{1,4}$/i;

/** 4 for a dotted-quad IPv4 address, 6 for an IPv6 address (text form of RFC 4291 §2.2), else 0. */
export function ipVersion(text: string): 0 | 4 | 6 {
  if (V4.test(text)) {
    return 4;
  }
  return isIPv6(text) ? 6 : 0;
}

function isIPv6(text: string): boolean {
  if (text.length > 45 || !text.includes(':')) {
    return false;
  }
  let groups = text.split(':');
  let tail = 0;
  const last = groups.at(-1) ?? '';
  if (last.includes('.')) {
    // an embedded IPv4 address stands for the last two groups
    if (!V4.test(last)) {
      return false;
    }
    groups = groups.slice(0, -1).concat(['0', '0']);
    tail = 1;
  }
  const gap = text.indexOf('::');
  if (gap !== text.lastIndexOf('::')) {
    return false;
  }
  if (gap === -1) {
    return groups.length === 8 && groups.every((g) => HEX.test(g));
  }
  const [head = '', rest = ''] = text.split('::');
  const left = head === '' ? [] : head.split(':');
  const right = rest === '' ? [] : rest.split(':');
  const rightGroups = right.length + tail; // an embedded IPv4 counts twice
  const parts = [...left, ...(tail ? right.slice(0, -1) : right)];
  return left.length + rightGroups <= 7 && parts.every((g) => HEX.test(g));
}
