/**
 * The slice of OData that mde-api.md §5.1 and §6.5 show MDE accepting: `eq`, `ne`, `gt/ge/lt/le`
 * on dates and numbers (date literals unquoted), `startswith(prop,'x')`,
 * `machineTags/any(tag: tag eq 'x')`, `and`, parentheses. Forms the doc marks UNCONFIRMED
 * (`or`, `not`, `in`, `contains`, `endswith`) are rejected, so a client that relies on them fails here
 * rather than in production. String comparison is case-insensitive (UNCONFIRMED in the doc; the
 * looser choice makes a client's own exact check observable).
 */

/** Thrown for anything this parser does not accept; the peer answers 400 ODataError. */
export class ODataQueryError extends Error {}

/** How a filterable property is typed. */
export type PropKind = 'string' | 'number' | 'date' | 'stringArray';

type Op = 'eq' | 'ne' | 'gt' | 'ge' | 'lt' | 'le';
type Literal =
  | { kind: 'string'; value: string }
  | { kind: 'number' | 'date'; value: number }
  | { kind: 'null' };
type Expr =
  | { kind: 'and'; left: Expr; right: Expr }
  | { kind: 'cmp'; prop: string; op: Op; lit: Literal }
  | { kind: 'startswith'; prop: string; value: string }
  | { kind: 'any'; prop: string; value: string };

type Token = { t: 'ident' | 'str' | 'lit' | 'punct'; v: string };

const OPS: ReadonlySet<string> = new Set(['eq', 'ne', 'gt', 'ge', 'lt', 'le']);
const DATE_LITERAL = /^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d{1,7})?)?)?(Z|[+-]\d{2}:\d{2})?$/;

function tokenize(src: string): Token[] {
  const out: Token[] = [];
  let i = 0;
  while (i < src.length) {
    const c = src.charAt(i);
    if (c === ' ' || c === '\t') {
      i++;
    } else if ('(),:'.includes(c)) {
      out.push({ t: 'punct', v: c });
      i++;
    } else if (c === "'") {
      let v = '';
      i++;
      for (;;) {
        if (i >= src.length) {
          throw new ODataQueryError('Unterminated string literal in $filter.');
        }
        if (src[i] === "'" && src[i + 1] === "'") {
          v += "'";
          i += 2;
        } else if (src[i] === "'") {
          i++;
          break;
        } else {
          v += src[i];
          i++;
        }
      }
      out.push({ t: 'str', v });
    } else {
      const m = /^[A-Za-z_][A-Za-z0-9_/]*/.exec(src.slice(i)) ?? /^[-0-9][0-9A-Za-z.:+-]*/.exec(src.slice(i));
      if (!m) {
        throw new ODataQueryError(`Syntax error at position ${i} in $filter '${src}'.`);
      }
      out.push({ t: /^[A-Za-z_]/.test(m[0]) && m[0] !== 'null' ? 'ident' : 'lit', v: m[0] });
      i += m[0].length;
    }
  }
  return out;
}

/** Parses a `$filter` against the entity's filterable properties; throws {@link ODataQueryError}. */
export function parseFilter(src: string, schema: Readonly<Record<string, PropKind>>): Expr {
  const toks = tokenize(src);
  let pos = 0;
  const peek = (): Token | undefined => toks[pos];
  const next = (): Token => {
    const t = toks[pos++];
    if (!t) {
      throw new ODataQueryError(`Unexpected end of $filter '${src}'.`);
    }
    return t;
  };
  const expect = (t: Token['t'], v?: string): Token => {
    const tok = next();
    if (tok.t !== t || (v !== undefined && tok.v !== v)) {
      throw new ODataQueryError(`Syntax error: expected '${v ?? t}' but found '${tok.v}' in $filter.`);
    }
    return tok;
  };
  const kindOf = (prop: string): PropKind => {
    const kind = schema[prop];
    if (!kind) {
      throw new ODataQueryError(`Could not find a property named '${prop}' that can be filtered on.`);
    }
    return kind;
  };

  const literal = (prop: string, kind: PropKind): Literal => {
    const tok = next();
    if (tok.t === 'lit' && tok.v === 'null') {
      return { kind: 'null' };
    }
    if (kind === 'string' && tok.t === 'str') {
      return { kind: 'string', value: tok.v };
    }
    if (kind === 'number' && tok.t === 'lit' && /^-?\d+$/.test(tok.v)) {
      return { kind: 'number', value: Number(tok.v) };
    }
    if (kind === 'date' && tok.t === 'lit' && DATE_LITERAL.test(tok.v)) {
      const ms = Date.parse(tok.v.endsWith('Z') && tok.v.length === 11 ? tok.v.slice(0, 10) : tok.v);
      if (!Number.isNaN(ms)) {
        return { kind: 'date', value: ms };
      }
    }
    throw new ODataQueryError(`The literal '${tok.v}' is not a valid ${kind} value for property '${prop}'.`);
  };

  const primary = (): Expr => {
    const tok = next();
    if (tok.t === 'punct' && tok.v === '(') {
      const e = andExpr();
      expect('punct', ')');
      return e;
    }
    if (tok.t !== 'ident') {
      throw new ODataQueryError(`Syntax error at '${tok.v}' in $filter.`);
    }
    if (tok.v === 'not') {
      throw new ODataQueryError("The 'not' operator is not supported.");
    }
    if (tok.v.endsWith('/any')) {
      const prop = tok.v.slice(0, -4);
      if (kindOf(prop) !== 'stringArray') {
        throw new ODataQueryError(`'${prop}' is not a collection property.`);
      }
      expect('punct', '(');
      const variable = expect('ident').v;
      expect('punct', ':');
      expect('ident', variable);
      expect('ident', 'eq');
      const value = expect('str').v;
      expect('punct', ')');
      return { kind: 'any', prop, value };
    }
    if (peek()?.v === '(') {
      if (tok.v !== 'startswith') {
        throw new ODataQueryError(`Unknown or unsupported function '${tok.v}'.`);
      }
      expect('punct', '(');
      const prop = expect('ident').v;
      if (kindOf(prop) !== 'string') {
        throw new ODataQueryError(`startswith is not supported on property '${prop}'.`);
      }
      expect('punct', ',');
      const value = expect('str').v;
      expect('punct', ')');
      return { kind: 'startswith', prop, value };
    }
    const kind = kindOf(tok.v);
    if (kind === 'stringArray') {
      throw new ODataQueryError(`Use ${tok.v}/any(...) to filter on the collection '${tok.v}'.`);
    }
    const op = next().v;
    if (!OPS.has(op)) {
      throw new ODataQueryError(`Unsupported operator '${op}' in $filter.`);
    }
    if (op !== 'eq' && op !== 'ne' && kind === 'string') {
      throw new ODataQueryError(`Operator '${op}' is not supported on string property '${tok.v}'.`);
    }
    return { kind: 'cmp', prop: tok.v, op: op as Op, lit: literal(tok.v, kind) };
  };

  const andExpr = (): Expr => {
    let e = primary();
    while (peek()?.t === 'ident' && peek()?.v === 'and') {
      next();
      e = { kind: 'and', left: e, right: primary() };
    }
    if (peek()?.t === 'ident') {
      throw new ODataQueryError(`The '${peek()?.v}' operator is not supported in $filter.`);
    }
    return e;
  };

  const expr = andExpr();
  if (pos < toks.length) {
    throw new ODataQueryError(`Syntax error at '${toks[pos]?.v}' in $filter.`);
  }
  return expr;
}

function field(entity: object, prop: string): unknown {
  return (entity as Record<string, unknown>)[prop];
}

const sameText = (a: string, b: string) => a.toLowerCase() === b.toLowerCase();

function compare(actual: unknown, op: Op, lit: Literal): boolean {
  if (lit.kind === 'null' || actual === null || actual === undefined) {
    const equal = lit.kind === 'null' && (actual === null || actual === undefined);
    return op === 'eq' ? equal : op === 'ne' ? !equal : false;
  }
  if (lit.kind === 'string') {
    const equal = typeof actual === 'string' && sameText(actual, lit.value);
    return op === 'eq' ? equal : !equal;
  }
  const a = lit.kind === 'date' ? Date.parse(String(actual)) : Number(actual);
  const b = lit.value;
  switch (op) {
    case 'eq':
      return a === b;
    case 'ne':
      return a !== b;
    case 'gt':
      return a > b;
    case 'ge':
      return a >= b;
    case 'lt':
      return a < b;
    case 'le':
      return a <= b;
  }
}

/** True when `entity` satisfies `expr`. */
export function matches(expr: Expr, entity: object): boolean {
  switch (expr.kind) {
    case 'and':
      return matches(expr.left, entity) && matches(expr.right, entity);
    case 'cmp':
      return compare(field(entity, expr.prop), expr.op, expr.lit);
    case 'startswith': {
      const v = field(entity, expr.prop);
      return typeof v === 'string' && v.toLowerCase().startsWith(expr.value.toLowerCase());
    }
    case 'any': {
      const v = field(entity, expr.prop);
      return Array.isArray(v) && v.some((x) => typeof x === 'string' && sameText(x, expr.value));
    }
  }
}

/** Largest `$top` and page size (mde-api.md §5.1, §6.5). */
export const MAX_TOP = 10_000;

/** Parsed `$filter`/`$top`/`$skip`; any other `$` option is refused. */
export interface ListQuery {
  filter: string | null;
  top: number;
  skip: number;
}

function nonNegativeInt(name: string, raw: string): number {
  if (!/^\d+$/.test(raw)) {
    throw new ODataQueryError(
      `Invalid value '${raw}' for ${name} query option; expected a non-negative integer.`,
    );
  }
  return Number(raw);
}

/** Reads the list query options; throws {@link ODataQueryError} for bad or undocumented ones. */
export function parseListQuery(query: URLSearchParams): ListQuery {
  for (const key of query.keys()) {
    if (key.startsWith('$') && !['$filter', '$top', '$skip'].includes(key)) {
      throw new ODataQueryError(`The query parameter '${key}' is not supported.`);
    }
  }
  const topRaw = query.get('$top');
  const top = topRaw === null ? MAX_TOP : nonNegativeInt('$top', topRaw);
  if (top > MAX_TOP) {
    throw new ODataQueryError(
      `The limit of '${MAX_TOP}' for Top query has been exceeded. The value from the incoming request is '${topRaw}'.`,
    );
  }
  const skipRaw = query.get('$skip');
  return { filter: query.get('$filter'), top, skip: skipRaw === null ? 0 : nonNegativeInt('$skip', skipRaw) };
}

/**
 * One page: `$top` is the page size, and `@odata.nextLink` (absolute, same filter, next `$skip`)
 * is present while more items remain.
 */
export function page<T>(items: T[], q: ListQuery, linkBase: string): { value: T[]; nextLink?: string } {
  const value = items.slice(q.skip, q.skip + q.top);
  const nextSkip = q.skip + q.top;
  if (q.top === 0 || nextSkip >= items.length) {
    return { value };
  }
  const filter = q.filter === null ? '' : `$filter=${encodeURIComponent(q.filter)}&`;
  return { value, nextLink: `${linkBase}?${filter}$top=${q.top}&$skip=${nextSkip}` };
}
