import { AuthError, ServerError } from '@azure/msal-node';
import { describe, expect, it } from 'vitest';
import { classifySignInError } from '../../src/mde/auth.js';
import { MdeApiError } from '../../src/mde/errors.js';

// The AADSTS table of mde-api.md §1.3: named positive cases, classified on the number only.
describe('classifySignInError', () => {
  it.each([
    ['90002', 'tenant_not_found', /Tenant ID not found/],
    ['900023', 'tenant_malformed', /GUID or yourtenant\.onmicrosoft\.com/],
    ['700016', 'client_not_found', /Application \(client\) ID not found/],
    ['7000215', 'secret_wrong', /Value, not its Secret ID/],
    ['7000222', 'secret_expired', /expired/],
    ['7000218', 'secret_missing', /required/],
    ['500011', 'defender_not_provisioned', /isn't set up/],
    ['7000112', 'app_disabled', /disabled/],
    ['53003', 'blocked_by_policy', /Conditional Access/],
    ['90038', 'other_cloud', /another cloud/],
  ])('AADSTS%s → %s', (code, problem, message) => {
    const e = classifySignInError(
      new ServerError('invalid_client', 'corr', `AADSTS${code}: text that may change`, '', code, 400),
    );
    expect(e.problem).toBe(problem);
    expect(e.aadsts).toBe(Number(code));
    expect(e.message).toMatch(message);
    expect(e.retryable).toBe(false);
  });

  it('falls back to the AADSTS prefix when msal gives no error number', () => {
    const e = classifySignInError(
      new ServerError('invalid_client', 'corr', 'AADSTS7000215: Invalid client secret provided.'),
    );
    expect(e.problem).toBe('secret_wrong');
  });

  it('calls a network failure unreachable and retryable', () => {
    const e = classifySignInError(new AuthError('network_error', 'Network request failed'));
    expect(e.problem).toBe('unreachable');
    expect(e.retryable).toBe(true);
  });

  it('keeps an unknown code visible without guessing', () => {
    const e = classifySignInError(
      new ServerError('invalid_request', 'corr', 'AADSTS12345: new thing', '', '12345'),
    );
    expect(e.problem).toBe('unknown');
    expect(e.message).toMatch(/AADSTS12345/);
  });
});

describe('MdeApiError', () => {
  const make = (status: number, mdeCode: string, mdeMessage = '') =>
    new MdeApiError({
      method: 'POST',
      path: '/api/machines/x/isolate',
      status,
      mdeCode,
      mdeMessage,
      target: 'corr-1',
    });

  it('names the missing permission and both causes of a 403', () => {
    const e = make(
      403,
      'Forbidden',
      'The application does not have any of the required application permissions (Machine.Isolate) to access the resource.',
    );
    expect(e.requiredPermissions).toEqual(['Machine.Isolate']);
    expect(e.message).toMatch(/lacks Machine\.Isolate/);
    expect(e.message).toMatch(/wrong audience/);
    expect(e.message).toMatch(/correlation id corr-1/);
    expect(e.code).toBe('mde_forbidden');
  });

  it('is retryable for 429 and 5xx only', () => {
    expect(make(429, 'TooManyRequests').retryable).toBe(true);
    expect(make(503, 'ServiceUnavailable').retryable).toBe(true);
    expect(make(400, 'InvalidRequestBody').retryable).toBe(false);
    expect(make(404, 'ResourceNotFound').retryable).toBe(false);
  });

  it('recognises ActiveRequestAlreadyExists by code, not by message', () => {
    expect(make(400, 'ActiveRequestAlreadyExists', 'whatever').isActiveRequestAlreadyExists).toBe(true);
    expect(make(400, 'BadRequest', 'Action is already in progress').isActiveRequestAlreadyExists).toBe(false);
  });
});
