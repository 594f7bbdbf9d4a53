// views.open, views.push, views.update and views.publish, with trigger_id checks
// (shared/reference/slack.md §3.4) and modal stacks.
import { type Args, isRecord, type MethodTable, optStr, refuse, reqStr } from './protocol.js';
import { hex, nextSeq, type PeerState, pad } from './state.js';
import type { StoredView } from './types.js';

const TRIGGER_TTL_MS = 3_000;
const MAX_VIEW_BLOCKS = 100;
const MAX_VIEW_BYTES = 250_000;
const MAX_VIEW_STACK = 3;

function validView(args: Args, type: 'modal' | 'home' | undefined): Args {
  const v = args.view;
  if (!isRecord(v) || (type !== undefined && v.type !== type)) {
    return refuse('invalid_arguments');
  }
  if (v.blocks !== undefined && (!Array.isArray(v.blocks) || v.blocks.length > MAX_VIEW_BLOCKS)) {
    refuse('invalid_arguments');
  }
  if (v.type === 'modal' && !isRecord(v.title)) {
    refuse('invalid_arguments');
  }
  if (typeof v.private_metadata === 'string' && v.private_metadata.length > 3000) {
    refuse('invalid_arguments');
  }
  // Block Kit: a checkboxes element takes at most 10 options (docs.slack.dev block-kit checkboxes);
  // a multi-static select at most 100, and its options have no `description` (option object:
  // "only available in overflow, checkboxes and radio buttons")
  for (const b of Array.isArray(v.blocks) ? v.blocks : []) {
    const e = isRecord(b) && isRecord(b.element) ? b.element : undefined;
    if (e?.type === 'checkboxes' && Array.isArray(e.options) && e.options.length > 10) {
      refuse('invalid_arguments');
    }
    if (e?.type === 'multi_static_select' || e?.type === 'static_select') {
      const options = Array.isArray(e.options) ? e.options : [];
      if (options.length > 100 || options.some((o) => isRecord(o) && o.description !== undefined)) {
        refuse('invalid_arguments');
      }
    }
  }
  if (Buffer.byteLength(JSON.stringify(v)) > MAX_VIEW_BYTES) {
    refuse('view_too_large');
  }
  return v;
}

const newHash = (s: PeerState): string => `${Math.floor(s.now() / 1000)}.${hex(4)}`;

function viewJson(
  s: PeerState,
  def: Args,
  id: string,
  rootViewId: string,
  previousViewId: string | null,
): Args {
  return {
    id,
    team_id: s.teamId,
    type: def.type,
    blocks: def.blocks ?? [],
    private_metadata: def.private_metadata ?? '',
    callback_id: def.callback_id ?? '',
    state: { values: {} },
    hash: newHash(s),
    title: def.title ?? null,
    close: def.close ?? null,
    submit: def.submit ?? null,
    clear_on_close: def.clear_on_close ?? false,
    notify_on_close: def.notify_on_close ?? false,
    root_view_id: rootViewId,
    previous_view_id: previousViewId,
    app_id: 'A0000APP',
    external_id: def.external_id ?? '',
    app_installed_team_id: s.teamId,
    bot_id: s.botId,
  };
}

function createView(
  s: PeerState,
  def: Args,
  type: 'modal' | 'home',
  userId: string | undefined,
  root?: string,
  prev?: string,
): StoredView {
  checkExternalId(s, def, undefined);
  const id = `V${pad(nextSeq(s), 10)}`;
  const stored: StoredView = { id, type, view: viewJson(s, def, id, root ?? id, prev ?? null) };
  if (userId !== undefined) {
    stored.userId = userId;
  }
  s.views.push(stored);
  return stored;
}

function replaceView(s: PeerState, stored: StoredView, def: Args): StoredView {
  checkExternalId(s, def, stored.id);
  const v = stored.view;
  stored.view = viewJson(
    s,
    def,
    stored.id,
    String(v.root_view_id),
    (v.previous_view_id as string | null) ?? null,
  );
  return stored;
}

function checkExternalId(s: PeerState, def: Args, selfId: string | undefined): void {
  const ext = def.external_id;
  if (
    typeof ext === 'string' &&
    ext !== '' &&
    s.views.some((v) => v.id !== selfId && v.view.external_id === ext)
  ) {
    refuse('duplicate_external_id');
  }
}

/** Checks a trigger_id (§3.4); `consume` marks it exchanged. */
function checkTrigger(s: PeerState, args: Args): { userKey: string; consume: () => void } {
  const id =
    optStr(args, 'trigger_id') ?? optStr(args, 'interactivity_pointer') ?? refuse('invalid_arguments');
  const t = s.triggers.get(id) ?? refuse('invalid_trigger_id');
  if (t.used) {
    refuse('exchanged_trigger_id');
  }
  if (s.now() - t.issuedAt > TRIGGER_TTL_MS) {
    refuse('expired_trigger_id');
  }
  return {
    userKey: t.userId ?? '',
    consume: () => {
      t.used = true;
    },
  };
}

function open(s: PeerState, args: Args): Args {
  const def = validView(args, 'modal');
  const trigger = checkTrigger(s, args);
  trigger.consume();
  const v = createView(s, def, 'modal', trigger.userKey || undefined);
  s.stacks.set(trigger.userKey, [v.id]);
  return { view: v.view };
}

function push(s: PeerState, args: Args): Args {
  const def = validView(args, 'modal');
  const trigger = checkTrigger(s, args);
  const stack = s.stacks.get(trigger.userKey) ?? [];
  const root = stack[0] ?? refuse('not_found');
  if (stack.length >= MAX_VIEW_STACK) {
    refuse('push_limit_reached');
  }
  trigger.consume();
  const v = createView(s, def, 'modal', trigger.userKey || undefined, root, stack[stack.length - 1]);
  stack.push(v.id);
  return { view: v.view };
}

function update(s: PeerState, args: Args): Args {
  const def = validView(args, undefined);
  const viewId = optStr(args, 'view_id');
  const externalId = optStr(args, 'external_id');
  if (viewId === undefined && externalId === undefined) {
    refuse('invalid_arguments');
  }
  const stored =
    s.views.find((v) => (viewId !== undefined ? v.id === viewId : v.view.external_id === externalId)) ??
    refuse('not_found');
  if (def.type !== stored.type) {
    refuse('invalid_arguments');
  }
  const hash = optStr(args, 'hash');
  if (hash !== undefined && hash !== stored.view.hash) {
    refuse('hash_conflict');
  }
  return { view: replaceView(s, stored, def).view };
}

function publish(s: PeerState, args: Args): Args {
  const userId = reqStr(args, 'user_id');
  const def = validView(args, 'home');
  if (!s.homeTabEnabled) {
    refuse('not_enabled');
  }
  const existing = s.views.find((v) => v.type === 'home' && v.userId === userId);
  const hash = optStr(args, 'hash');
  if (existing && hash !== undefined && hash !== existing.view.hash) {
    refuse('hash_conflict');
  }
  return { view: (existing ? replaceView(s, existing, def) : createView(s, def, 'home', userId)).view };
}

/** views.open, views.push, views.update and views.publish. */
export function viewsMethods(s: PeerState): MethodTable {
  return {
    'views.open': (args) => open(s, args),
    'views.push': (args) => push(s, args),
    'views.update': (args) => update(s, args),
    'views.publish': (args) => publish(s, args),
  };
}
