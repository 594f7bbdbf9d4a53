import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseAllDocuments, parse as parseYaml } from 'yaml';
import { ENV_VARIABLES } from '../../src/config.js';
import { ROOT } from '../helpers/process.js';

// Issue #16, item 5: the container, compose, systemd and Kubernetes files. Docker cannot run on
// these machines, so each file is held to what CI does run: the Dockerfile's commands are npm
// scripts or scripts/*.mjs files that exist (and are exercised by production-install.test.ts),
// every variable is documented in .env.example, and the manifests say what the README promises.

const read = (f: string) => readFileSync(path.join(ROOT, f), 'utf8');
const pkg = JSON.parse(read('package.json')) as { scripts: Record<string, string>; license: string };

describe('.env.example', () => {
  it('lists every variable hostlock reads, and nothing else', () => {
    const listed = read('.env.example')
      .split('\n')
      .map((l) => /^([A-Z][A-Z0-9_]+)=/.exec(l)?.[1])
      .filter((v): v is string => !!v);
    expect([...listed].sort()).toEqual([...ENV_VARIABLES].sort());
  });
});

describe('Dockerfile', () => {
  const lines = read('Dockerfile')
    .split('\n')
    .filter((l) => l.trim() && !l.trim().startsWith('#'));

  it('builds on Node 24 slim and runs as the unprivileged node user', () => {
    expect(lines.filter((l) => l.startsWith('FROM '))).toEqual([
      'FROM node:24-slim AS build',
      'FROM node:24-slim',
    ]);
    const users = lines.filter((l) => l.startsWith('USER '));
    expect(users).toEqual(['USER node']);
  });

  it('runs only npm ci, npm scripts that exist, and scripts/*.mjs files that exist', () => {
    for (const run of lines.filter((l) => l.startsWith('RUN '))) {
      const cmd = run.slice(4);
      const script = /^npm run ([a-z:-]+)$/.exec(cmd)?.[1];
      if (script) {
        expect(pkg.scripts[script], cmd).toBeDefined();
        continue;
      }
      expect(cmd, run).toMatch(/^npm ci( --omit=(dev|optional)| --no-audit| --no-fund)+$/);
    }
    const health = lines.find((l) => l.startsWith('HEALTHCHECK'));
    expect(health).toContain('CMD ["node", "scripts/healthcheck.mjs"]');
    expect(existsSync(path.join(ROOT, 'scripts/healthcheck.mjs'))).toBe(true);
    expect(lines.at(-1)).toBe('CMD ["node", "dist/main.js"]');
    // each npm ci runs the postinstall patch of postgres.js: the script is there before it
    const ciLines = lines.map((l, i) => [l, i] as const).filter(([l]) => l.startsWith('RUN npm ci'));
    for (const [, i] of ciLines) {
      expect(lines.slice(0, i).some((l) => l.startsWith('COPY scripts/patch-postgres.mjs'))).toBe(true);
    }
    expect(pkg.scripts.postinstall).toBe('node scripts/patch-postgres.mjs');
    // the image needs DATABASE_URL: embedded PostgreSQL (an optional dependency) is not installed
    expect(lines.filter((l) => l.startsWith('RUN npm ci')).every((l) => l.includes('--omit=optional'))).toBe(
      true,
    );
  });
});

describe('compose.yaml', () => {
  it('runs hostlock from this Dockerfile beside PostgreSQL, metrics on loopback only', () => {
    const c = parseYaml(read('compose.yaml')) as {
      services: Record<string, { build?: string; ports?: string[]; depends_on?: unknown; restart?: string }>;
    };
    expect(Object.keys(c.services).sort()).toEqual(['hostlock', 'postgres']);
    expect(c.services.hostlock?.build).toBe('.');
    expect(c.services.hostlock?.restart).toBe('always');
    expect(c.services.hostlock?.ports).toContain('127.0.0.1:9464:9464');
    // the master key is required: one generated inside the container would be lost with it
    expect(read('compose.yaml')).toMatch(/HOSTLOCK_MASTER_KEY: \$\{HOSTLOCK_MASTER_KEY:\?/);
  });
});

describe('deploy/kubernetes.yaml', () => {
  it('probes /readyz and /healthz, reads its environment from a Secret, and runs unprivileged', () => {
    interface Probe {
      httpGet: { path: string };
    }
    interface Container {
      readinessProbe: Probe;
      livenessProbe: Probe;
      envFrom: unknown;
      securityContext: Record<string, unknown>;
    }
    type Doc = {
      kind: string;
      stringData?: Record<string, string>;
      spec?: { template: { spec: { containers: Container[]; securityContext: { runAsNonRoot: boolean } } } };
    };
    const docs = parseAllDocuments(read('deploy/kubernetes.yaml')).map((d) => d.toJS() as Doc);
    expect(docs.map((d) => d.kind)).toEqual(['Secret', 'Deployment', 'Service']);
    for (const key of Object.keys(docs[0]?.stringData ?? {})) {
      expect(ENV_VARIABLES).toContain(key);
    }
    const c = docs[1]?.spec?.template.spec.containers[0];
    expect(c?.readinessProbe.httpGet.path).toBe('/readyz');
    expect(c?.livenessProbe.httpGet.path).toBe('/healthz');
    expect(c?.envFrom).toEqual([{ secretRef: { name: 'hostlock-env' } }]);
    expect(c?.securityContext).toMatchObject({
      allowPrivilegeEscalation: false,
      readOnlyRootFilesystem: true,
    });
    expect(docs[1]?.spec?.template.spec.securityContext.runAsNonRoot).toBe(true);
  });
});

describe('deploy/hostlock.service', () => {
  it('restarts always, runs dist/ as its own user, hardened', () => {
    const unit = read('deploy/hostlock.service');
    for (const line of [
      'Restart=always',
      'User=hostlock',
      'ExecStart=/usr/bin/node dist/main.js',
      'NoNewPrivileges=yes',
      'ProtectSystem=strict',
      'CapabilityBoundingSet=',
    ]) {
      expect(unit.split('\n')).toContain(line);
    }
  });
});

describe('LICENSE', () => {
  it('is the Apache License 2.0 the package declares', () => {
    expect(pkg.license).toBe('Apache-2.0');
    expect(read('LICENSE')).toMatch(/Apache License\s+Version 2\.0, January 2004/);
  });
});
