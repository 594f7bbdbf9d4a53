/** Request rules of the isolate, unisolate and cancel endpoints (mde-api.md §6.1, §8.7, §8.8). */
import { mdeError, type Reply } from './http.js';
import type { MdeMachine } from './types.js';

/** Accepted `IsolationType` values (mde-api.md §6.1). */
export const ISOLATION_TYPES = ['Full', 'Selective', 'UnManagedDevice'];
/** macOS isolation needs this client version or newer (mde-api.md §6.1). */
const MAC_MIN_AGENT = '101.98.84';

function versionBelow(version: string, min: string): boolean {
  const a = version.split('.').map(Number);
  const b = min.split('.').map(Number);
  for (let i = 0; i < b.length; i++) {
    const x = a[i] ?? 0;
    const y = b[i] ?? 0;
    if (x !== y) {
      return x < y;
    }
  }
  return false;
}

/** A parsed action body, or the 400 to answer instead. */
export type Parsed = { body: Record<string, unknown>; refusal?: undefined } | { refusal: Reply };

/**
 * Parses an action body with case-sensitive keys (mde-api.md §6.1): wrong-case keys give
 * InvalidRequestBody, a missing or empty `Comment` gives MissingRequiredParameter.
 */
export function parseActionBody(raw: string, keys: readonly string[]): Parsed {
  const refuse = (code: string, message: string): Parsed => ({ refusal: mdeError(400, code, message) });
  let body: unknown;
  try {
    body = JSON.parse(raw);
  } catch {
    return refuse('InvalidRequestBody', 'The request body is not valid JSON.');
  }
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    return refuse('InvalidRequestBody', 'The request body must be a JSON object.');
  }
  const record = body as Record<string, unknown>;
  for (const key of Object.keys(record)) {
    const meant = keys.find((k) => k !== key && k.toLowerCase() === key.toLowerCase());
    if (meant) {
      return refuse(
        'InvalidRequestBody',
        `Invalid request body: unknown property '${key}' (did you mean '${meant}'?).`,
      );
    }
  }
  if (record.Comment !== undefined && typeof record.Comment !== 'string') {
    return refuse('InvalidRequestBody', "Invalid request body: 'Comment' must be a string.");
  }
  if (typeof record.Comment !== 'string' || record.Comment.trim() === '') {
    return refuse('MissingRequiredParameter', 'Missing required parameter: Comment.');
  }
  return { body: record };
}

/** OS and onboarding rules of mde-api.md §6.1 and §8.7/8.8, or `null` when isolation may proceed. */
export function isolationRefusal(m: MdeMachine, isolationType: string): Reply | null {
  const onboarded = m.onboardingStatus.toLowerCase() === 'onboarded';
  if (isolationType === 'UnManagedDevice') {
    return onboarded
      ? mdeError(400, 'BadRequest', `Machine ${m.id} is onboarded; use IsolationType Full or Selective.`)
      : null;
  }
  if (!onboarded) {
    return mdeError(
      400,
      'BadRequest',
      `Machine ${m.id} is not onboarded (${m.onboardingStatus}) and cannot be isolated; contain it with IsolationType UnManagedDevice.`,
    );
  }
  if (isolationType === 'Selective' && /linux|ubuntu|redhat|centos|debian|suse/i.test(m.osPlatform)) {
    return mdeError(
      400,
      'OsPlatformNotSupported',
      `OS Platform ${m.osPlatform} isn't supported for this action`,
    );
  }
  if (/^mac/i.test(m.osPlatform) && versionBelow(m.agentVersion, MAC_MIN_AGENT)) {
    return mdeError(
      400,
      'ClientVersionNotSupported',
      `Isolate is supported on client version ${MAC_MIN_AGENT} and above`,
    );
  }
  return null;
}
