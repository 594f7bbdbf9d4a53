/** Agenda job names: contracts shared by every process on the database. */
export const JobName = {
  hostsSync: 'hosts.sync',
} as const;
export type JobName = (typeof JobName)[keyof typeof JobName];
