import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

// `npm run demo` is the README's first look at hostlock: it must keep playing to the end as the
// code changes (it had silently stopped at the credentials step when a fourth secret was added).

const run = promisify(execFile);

describe('npm run demo', () => {
  it('plays the whole incident, from settings to the audit trail, and exits 0', async () => {
    const { stdout } = await run(process.execPath, ['--import', 'tsx', 'demo/run.ts'], {
      env: { ...process.env, NODE_OPTIONS: '' },
      maxBuffer: 8 * 1_048_576,
      timeout: 120_000,
    });
    expect(stdout).toContain('alice tries the domain controller too: it is on the exclusion list');
    expect(stdout).toContain('That host is on the exclusion list'); // the refusal alice sees
    // the message-shortcut path on another bot's alert (issue #18, item 1)
    expect(stdout).toMatch(/uses the message shortcut “Look up hosts in message” on that alert/);
    expect(stdout).toMatch(/1 host named in that message/);
    expect(stdout).toMatch(/what the SIEM received, read back/);
    expect(stdout).toMatch(/lockdown\.released/);
    expect(stdout).toMatch(/done in \d+\.\d s/);
  }, 150_000);
});
