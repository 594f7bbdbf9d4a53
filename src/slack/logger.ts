import { LogLevel, type Logger as SlackLogger } from '@slack/bolt';
import type { Logger } from '../log.js';

const LEVELS: Record<string, LogLevel> = {
  debug: LogLevel.DEBUG,
  info: LogLevel.INFO,
  warn: LogLevel.WARN,
  error: LogLevel.ERROR,
};

/** Bolt and its WebClient log through our pino logger (so redaction applies to them too). */
export function slackLogger(log: Logger): SlackLogger {
  const child = log.child({ component: 'bolt' });
  const text = (msg: unknown[]) => msg.map((m) => (m instanceof Error ? m.message : String(m))).join(' ');
  return {
    debug: (...m) => child.debug(text(m)),
    info: (...m) => child.info(text(m)),
    warn: (...m) => child.warn(text(m)),
    error: (...m) => child.error(text(m)),
    setLevel: () => {},
    getLevel: () => LEVELS[child.level] ?? LogLevel.INFO,
    setName: () => {},
  };
}
