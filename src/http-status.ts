import { createRequire } from 'node:module';

/**
 * node:http's reason phrases, through require: an ES module import of node:http reads every
 * export to build its namespace, and three of them (WebSocket, CloseEvent, MessageEvent) are
 * getters that load Node's bundled undici: 2.1 MB of the service's live heap (a heap snapshot of an
 * idle process), for a client it never uses. require reads only what is asked for.
 */
export const STATUS_CODES: Readonly<Record<number, string | undefined>> = (createRequire(import.meta.url)('node:http') as typeof import('node:http')).STATUS_CODES;
