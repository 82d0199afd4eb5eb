import { createRequire } from 'node:module';

/**
 * node:http's reason phrases, through require: an ES module import of node:http reads every
 * export to build its namespace, and three of them (WebSocket, CloseEvent, MessageEvent) are
 * getters that load Node's bundled undici. That cost every process 2.3 MB of live heap and 14 MB of
 * resident memory, for a client the service never uses; require reads only what is asked for.
 */
export const STATUS_CODES: Readonly<Record<number, string | undefined>> = (createRequire(import.meta.url)('node:http') as typeof import('node:http')).STATUS_CODES;
