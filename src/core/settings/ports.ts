import type { Settings } from './settings.js';

/** Secret names under which Defender credentials are sealed (the modal's block ids, DESIGN §3.3). */
export const MDE_SECRET_NAMES = ['mde_tenant_id', 'mde_client_id', 'mde_client_secret'] as const;
export type MdeSecretName = (typeof MDE_SECRET_NAMES)[number];

/**
 * Sealed beside the credentials: the endpoint (login host, API host, scope) they were verified
 * against. Credentials are sent nowhere else; a changed endpoint needs the secret entered again.
 */
export const MDE_ENDPOINT_SECRET = 'mde_endpoint';

/** Defender's three credentials. */
export interface Credentials {
  tenantId: string;
  clientId: string;
  clientSecret: string;
}

/** The one settings row (src/db/repos/settings.ts), versioned so two admins cannot overwrite each other. */
export interface SettingsRepo {
  read(): Promise<Settings>;
  /** The settings and the row version they were read at (0 before the first save). */
  readVersioned(): Promise<{ settings: Settings; version: number }>;
  /** Merges `patch` (stored keys) into the row if it is still at `expectedVersion`; false otherwise. */
  saveIfVersion(patch: Record<string, unknown>, by: string, expectedVersion: number): Promise<boolean>;
}

/** Secrets sealed at rest (AES-GCM, the name bound as AAD); values go in and out only as plain text here. */
export interface SecretRepo {
  has(name: string): Promise<boolean>;
  /** Opens the named secrets; missing names are absent. Throws `SecretBoxError` on tampering. */
  getAll(names: readonly string[]): Promise<Record<string, string>>;
  /** Seals and stores, replacing earlier values. */
  putAll(values: Record<string, string>, setBy: string): Promise<void>;
  remove(names: readonly string[]): Promise<number>;
  /** When and by whom a secret was set, without opening it. */
  meta(name: string): Promise<{ setAt: Date; setBy: string } | null>;
}

export type VerifyOutcome = { ok: true; roles: string[] } | { ok: false; code: string; message: string };

/**
 * "Verify connection" (src/mde/verify.ts): signs in with the credentials, reads a machine and
 * checks the app's permissions. Never throws for a credential problem; the message says what to fix.
 */
export interface DefenderVerifier {
  verify(credentials: Credentials): Promise<VerifyOutcome>;
}
