// Custom steps for Workflow Builder (issue #18, item 3), from Slack's documentation:
// - the `function_executed` event carries `function_execution_id` and a `bot_access_token` (a
//   workflow token) for the execution (docs.slack.dev/reference/events/function_executed);
// - `functions.completeSuccess` (`function_execution_id`, `outputs`: an object conforming to the
//   function's output parameters) and `functions.completeError` (`function_execution_id`, `error`)
//   end it; their errors: `function_execution_not_found`, `execution_not_in_running_state`,
//   `parameter_validation_failed` (docs.slack.dev/reference/methods/functions.completeSuccess).
// The workflow token is accepted while its execution runs.
import { type Args, isRecord, type MethodTable, refuse, reqStr } from './protocol.js';
import { hex, type PeerState } from './state.js';

/** An output parameter as the manifest declares it (`functions.<id>.output_parameters.<name>`). */
export interface OutputParameter {
  type: string;
  is_required?: boolean;
}

export interface FunctionExecution {
  id: string;
  callbackId: string;
  token: string;
  outputParameters: Record<string, OutputParameter>;
  state: 'running' | 'completed' | 'failed';
  outputs?: Record<string, unknown>;
  error?: string;
}

/** Starts an execution of `callbackId` (what Slack does as a workflow reaches the step). */
export function startExecution(
  s: PeerState & { executions: Map<string, FunctionExecution> },
  o: { callbackId: string; outputParameters: Record<string, OutputParameter> },
): FunctionExecution {
  const e: FunctionExecution = {
    id: `Fx${hex(5).toUpperCase()}`,
    callbackId: o.callbackId,
    token: `xwfp-${hex(8)}-${hex(8)}`,
    outputParameters: o.outputParameters,
    state: 'running',
  };
  s.executions.set(e.id, e);
  return e;
}

/** Whether `token` is the workflow token of an execution still running. */
export function isWorkflowToken(s: { executions: Map<string, FunctionExecution> }, token: string): boolean {
  return [...s.executions.values()].some((e) => e.token === token && e.state === 'running');
}

const TYPE_CHECKS: Record<string, (v: unknown) => boolean> = {
  string: (v) => typeof v === 'string',
  integer: (v) => Number.isInteger(v),
  number: (v) => typeof v === 'number',
  boolean: (v) => typeof v === 'boolean',
};

function running(s: { executions: Map<string, FunctionExecution> }, args: Args): FunctionExecution {
  const e = s.executions.get(reqStr(args, 'function_execution_id'));
  if (!e) {
    return refuse('function_execution_not_found');
  }
  if (e.state !== 'running') {
    return refuse('execution_not_in_running_state');
  }
  return e;
}

export function functionsMethods(s: { executions: Map<string, FunctionExecution> }): MethodTable {
  return {
    'functions.completeSuccess': (args) => {
      const e = running(s, args);
      let outputs = args.outputs;
      if (typeof outputs === 'string') {
        try {
          outputs = JSON.parse(outputs) as unknown;
        } catch {
          refuse('parameter_validation_failed');
        }
      }
      if (!isRecord(outputs)) {
        return refuse('parameter_validation_failed');
      }
      for (const [name, p] of Object.entries(e.outputParameters)) {
        const v = outputs[name];
        if (v === undefined ? p.is_required : !(TYPE_CHECKS[p.type]?.(v) ?? true)) {
          refuse('parameter_validation_failed');
        }
      }
      if (Object.keys(outputs).some((k) => !(k in e.outputParameters))) {
        refuse('parameter_validation_failed');
      }
      e.state = 'completed';
      e.outputs = outputs;
      return {};
    },
    'functions.completeError': (args) => {
      const e = running(s, args);
      e.state = 'failed';
      e.error = reqStr(args, 'error');
      return {};
    },
  };
}
