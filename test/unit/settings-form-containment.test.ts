import { describe, expect, it } from 'vitest';
import { DEFAULT_SETTINGS } from '../../src/core/settings/settings.js';
import { parseSettingsForm } from '../../src/slack/views/settings-form.js';
import { settingsView } from '../../src/slack/views/settings-view.js';
import { settingsForm } from '../helpers/settings-form.js';

// Issue #18, item 6: the modal's "containment enabled" box. A submission that lacks the box (an
// older modal, a client that drops it) must not switch containment off.

const box = (on: boolean) => ({
  value: { type: 'checkboxes', selected_options: on ? [{ value: 'on' }] : [] },
});

describe('the containment box of the settings modal', () => {
  it('turns containment off only when the box is there and unticked', () => {
    const parse = (values: Record<string, Record<string, unknown>>) => {
      const r = parseSettingsForm(values);
      if (!r.ok) {
        throw new Error(JSON.stringify(r.errors));
      }
      return r.value.patch;
    };
    expect(parse(settingsForm())).not.toHaveProperty('containment_enabled');
    expect(parse({ ...settingsForm(), containment_enabled: box(false) }).containment_enabled).toBe(false);
    expect(parse({ ...settingsForm(), containment_enabled: box(true) }).containment_enabled).toBe(true);
  });

  it('is in the modal, ticked by default and unticked in lookup-only mode; viewers read the mode', () => {
    const view = (containmentEnabled: boolean, editable: boolean) =>
      settingsView({
        settings: { ...DEFAULT_SETTINGS, containmentEnabled },
        tenantId: null,
        clientId: null,
        secretSetAt: null,
        secretSetBy: null,
        editable,
        version: 1,
        endpoint: { cloud: 'commercial', apiUrl: 'https://api.security.microsoft.com' },
      });
    const boxOf = (v: ReturnType<typeof settingsView>) =>
      v.blocks.find((b) => 'block_id' in b && b.block_id === 'containment_enabled') as
        | { element: { initial_options?: unknown[] } }
        | undefined;
    expect(boxOf(view(true, true))?.element.initial_options).toHaveLength(1);
    expect(boxOf(view(false, true))?.element.initial_options ?? []).toHaveLength(0);
    expect(JSON.stringify(view(false, false).blocks)).toContain('lookup-only mode');
  });
});
