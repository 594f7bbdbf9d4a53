import { Ajv2020, type ValidateFunction } from 'ajv/dist/2020.js';
import formats from 'ajv-formats';

interface Media {
  schema?: unknown;
}
interface OpenApiResponse {
  description: string;
  headers?: Record<string, { schema?: unknown }>;
  content?: Record<string, Media>;
}
interface OpenApiOperation {
  requestBody?: { content: Record<string, Media> };
  responses: Record<string, OpenApiResponse>;
}
export interface OpenApiDocument {
  openapi: string;
  paths: Record<string, Record<string, OpenApiOperation>>;
  components?: { schemas?: Record<string, unknown> };
}

const BASE = 'https://hostlock.invalid/openapi.json';
const JSON_MEDIA = 'application/json';

/** A JSON pointer into the document (`/` and `~` escaped per RFC 6901). */
const pointer = (...parts: string[]): string =>
  `#/${parts.map((p) => p.replace(/~/g, '~0').replace(/\//g, '~1')).join('/')}`;

/** A header's text as the value its schema describes (`Retry-After: 3` is the integer 3). */
const headerValue = (text: string): unknown => (/^-?\d+(?:\.\d+)?$/.test(text) ? Number(text) : text);

export type OpenApiChecker = ReturnType<typeof openApiChecker>;

/**
 * Checks real answers against an OpenAPI 3.1 document: the whole document is one Ajv (JSON Schema
 * 2020-12) schema, so a response schema is compiled as a `$ref` into it and its own
 * `#/components/schemas/…` refs resolve in place. `seen` collects `METHOD path status` of every
 * answer checked, for a coverage assertion.
 */
export function openApiChecker(doc: OpenApiDocument) {
  const ajv = new Ajv2020({ strict: false, allErrors: true });
  formats.default(ajv);
  ajv.addSchema(structuredClone(doc), BASE);
  const compiled = new Map<string, ValidateFunction>();
  const validate = (ptr: string, value: unknown, what: string): void => {
    let v = compiled.get(ptr);
    if (!v) {
      v = ajv.compile({ $ref: BASE + ptr });
      compiled.set(ptr, v);
    }
    if (!v(value)) {
      throw new Error(
        `${what} does not match the document (${ptr}): ${ajv.errorsText(v.errors)}\n${JSON.stringify(value, null, 2)}`,
      );
    }
  };
  const operation = (method: string, path: string): OpenApiOperation => {
    const op = doc.paths[path]?.[method.toLowerCase()];
    if (!op) {
      throw new Error(`${method} ${path} is not in the document`);
    }
    return op;
  };
  const seen = new Set<string>();

  return {
    seen,
    /** `METHOD path status` of every response the document lists. */
    documented(): string[] {
      return Object.entries(doc.paths).flatMap(([path, ops]) =>
        Object.entries(ops).flatMap(([method, op]) =>
          Object.keys(op.responses).map((status) => `${method.toUpperCase()} ${path} ${status}`),
        ),
      );
    },
    /** Throws unless `body` matches the operation's JSON request body schema. */
    checkRequest(method: string, path: string, body: unknown): void {
      const media = operation(method, path).requestBody?.content[JSON_MEDIA];
      if (media?.schema === undefined) {
        throw new Error(`${method} ${path} documents no JSON request body`);
      }
      const ptr = pointer(
        'paths',
        path,
        method.toLowerCase(),
        'requestBody',
        'content',
        JSON_MEDIA,
        'schema',
      );
      validate(ptr, body, `the request body of ${method} ${path}`);
    },
    /**
     * Throws unless the status is documented for the operation, the documented headers that are
     * present match their schemas, and the JSON body matches the documented schema; returns the body.
     */
    async check(res: Response, method: string, path: string): Promise<unknown> {
      const status = String(res.status);
      const what = `${method} ${path} ${status}`;
      const documented = operation(method, path).responses[status];
      if (!documented) {
        throw new Error(
          `${method} ${path} answered ${status}, which the document does not list: ${await res.text()}`,
        );
      }
      seen.add(what);
      const base = ['paths', path, method.toLowerCase(), 'responses', status];
      for (const [name, header] of Object.entries(documented.headers ?? {})) {
        const text = res.headers.get(name);
        if (text !== null && header.schema !== undefined) {
          validate(
            pointer(...base, 'headers', name, 'schema'),
            headerValue(text),
            `header ${name} of ${what}`,
          );
        }
      }
      const media = documented.content?.[JSON_MEDIA];
      if (!media) {
        throw new Error(`${what} documents no ${JSON_MEDIA} content`);
      }
      const type = res.headers.get('content-type') ?? '';
      if (!type.startsWith(JSON_MEDIA)) {
        throw new Error(`${what} answered content-type "${type}", not ${JSON_MEDIA}`);
      }
      const body: unknown = await res.json();
      if (media.schema !== undefined) {
        validate(pointer(...base, 'content', JSON_MEDIA, 'schema'), body, `the body of ${what}`);
      }
      return body;
    },
  };
}
