import { sql } from 'drizzle-orm';
import type { Database } from '../client.js';

/**
 * Claims one Slack delivery: true the first time `key` is seen within the hour, false for a replay
 * or a retry already being handled (on any replica). Expired keys are pruned in the same statement.
 */
export async function claimSlackDelivery(db: Database, key: string): Promise<boolean> {
  const rows = await db.execute<{ key: string }>(sql`
    with pruned as (delete from slack_deliveries where seen_at < now() - interval '1 hour')
    insert into slack_deliveries (key) values (${key}) on conflict (key) do nothing returning key`);
  return rows.length > 0;
}
