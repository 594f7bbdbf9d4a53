/** Agenda job names: contracts shared by every process on the database. */
export const JobName = {
  hostsSync: 'hosts.sync',
  lockdownAdvance: 'lockdown.advance',
  lockdownSweep: 'lockdown.sweep',
  scoresPrune: 'scores.prune',
} as const;
export type JobName = (typeof JobName)[keyof typeof JobName];
