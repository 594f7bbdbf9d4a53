import { randomUUID } from 'node:crypto';
import type { MdeActionStatus, MdeMachine, MdeMachineAction } from './types.js';

const ACTIVE: ReadonlySet<MdeActionStatus> = new Set(['Pending', 'InProgress']);

/** True while an action can still change (Pending, InProgress; mde-api.md §6.4). */
export function isActive(action: MdeMachineAction): boolean {
  return ACTIVE.has(action.status);
}

/**
 * Machine actions and their lifecycle, driven by the test (no timers): `advance()` moves every
 * action one step, `scriptOutcome` picks how the next one of a machine ends.
 */
export class ActionStore {
  readonly all: MdeMachineAction[] = [];
  private readonly outcomes = new Map<string, 'Failed' | 'TimeOut'>();

  constructor(private readonly now: () => Date) {}

  /** Records a new action; defaults describe a Pending request made through the API. */
  create(
    machine: Pick<MdeMachine, 'id' | 'computerDnsName'>,
    fields: Partial<MdeMachineAction> & Pick<MdeMachineAction, 'type'>,
  ): MdeMachineAction {
    const at = this.now().toISOString();
    const action: MdeMachineAction = {
      id: randomUUID(),
      scope: null,
      status: 'Pending',
      requestor: 'hostlock (contoso.onmicrosoft.com)',
      requestorComment: '',
      requestSource: 'PublicApi',
      externalId: null,
      computerDnsName: machine.computerDnsName,
      creationDateTimeUtc: at,
      lastUpdateDateTimeUtc: at,
      cancellationRequestor: null,
      cancellationComment: null,
      cancellationDateTimeUtc: null,
      errorHResult: 0,
      title: null,
      relatedFileInfo: null,
      commands: [],
      troubleshootInfo: null,
      ...fields,
      machineId: machine.id,
    };
    this.all.push(action);
    return action;
  }

  find(id: string): MdeMachineAction | undefined {
    return this.all.find((a) => a.id.toLowerCase() === id.toLowerCase());
  }

  /** The active action of this type on the machine, if any (the ActiveRequestAlreadyExists rule, §6.3). */
  activeOf(machineId: string, type: MdeMachineAction['type']): MdeMachineAction | undefined {
    return this.all.find((a) => a.machineId === machineId && a.type === type && isActive(a));
  }

  /** Newest first by `creationDateTimeUtc`, later-created first on ties (mde-api.md §6.5). */
  newestFirst(): MdeMachineAction[] {
    return this.all
      .map((action, seq) => ({ action, seq, at: Date.parse(action.creationDateTimeUtc) }))
      .sort((a, b) => b.at - a.at || b.seq - a.seq)
      .map((x) => x.action);
  }

  scriptOutcome(machineId: string, status: 'Failed' | 'TimeOut'): void {
    this.outcomes.set(machineId, status);
  }

  advance(): void {
    const at = this.now().toISOString();
    const pending = this.all.filter((a) => a.status === 'Pending');
    for (const action of this.all.filter((a) => a.status === 'InProgress')) {
      const outcome = this.outcomes.get(action.machineId);
      this.outcomes.delete(action.machineId);
      action.status = outcome ?? 'Succeeded';
      // E_FAIL: the doc shows only `0` on success, so any non-zero value marks the failure.
      action.errorHResult = outcome ? -2147467259 : 0;
      action.lastUpdateDateTimeUtc = at;
    }
    for (const action of pending) {
      action.status = 'InProgress';
      action.lastUpdateDateTimeUtc = at;
    }
  }

  /** Cancels an active action; returns the reason when it cannot. */
  cancel(action: MdeMachineAction, requestor: string, comment: string): string | null {
    if (!isActive(action)) {
      return `Action ${action.id} is already ${action.status} and cannot be cancelled.`;
    }
    const at = this.now().toISOString();
    Object.assign(action, {
      status: 'Cancelled',
      cancellationRequestor: requestor,
      cancellationComment: comment,
      cancellationDateTimeUtc: at,
      lastUpdateDateTimeUtc: at,
    });
    return null;
  }
}
