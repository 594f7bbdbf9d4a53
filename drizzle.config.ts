import { defineConfig } from 'drizzle-kit';

export default defineConfig({
  dialect: 'postgresql',
  schema: './src/db/schema.ts',
  out: './drizzle',
  dbCredentials: { url: process.env.DATABASE_URL ?? '' },
  // Agenda owns its tables; keep drizzle-kit push from proposing to drop them.
  tablesFilter: ['!agenda_*'],
  strict: true,
  verbose: true,
});
