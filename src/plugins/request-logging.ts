import { STATUS_CODES } from '../http-status.js';
import type { FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import { cutEcho } from '../echo.js';
import { REQUEST_COMPLETED } from '../logger.js';

/** A path no route matched is the caller's own text: a log line keeps only its start. */
export const MAX_LOGGED_PATH_CHARS = 256;
/** The route of a request no route matched, in its log line and its metrics' labels: unknown URLs cannot grow the set of values. */
export const UNMATCHED_ROUTE = 'unmatched';
/** A refusal's reason is a summary, never the whole problem list or an echo of a large input. */
export const MAX_REASON_CHARS = 200;

declare module 'fastify' {
  interface FastifyRequest {
    /**
     * Why the request was answered 4xx or 5xx, in a few words for its log line ("no API key",
     * "body.tenure_months: Input should be ..."); set by whoever refused it (see noteReason).
     */
    failureReason: string | null;
  }
}

/** Records why a request is refused or failed, cut short, for its 'request completed' line. */
export function noteReason(request: FastifyRequest, reason: string): void {
  request.failureReason = cutEcho(reason, MAX_REASON_CHARS);
}

const roundMs = (ms: number) => Math.round(ms * 100) / 100;

/** The URL path without its query string (a query may carry anything), cut short. */
function pathOf(url: string): string {
  const query = url.indexOf('?');
  return cutEcho(query < 0 ? url : url.slice(0, query), MAX_LOGGED_PATH_CHARS);
}

/**
 * The fields of a request line, in this order: who asked what (method, route, path, clientIp),
 * what it got (statusCode, latencyMs, reason), and for requests that reached the model which runs
 * served them and where the time went. `reqId` and `pid` come from the logger's bindings.
 */
interface RequestLine {
  method: string;
  route: string;
  path: string;
  clientIp: string;
  statusCode: number;
  latencyMs: number;
  reason?: string;
  modelVersion?: string | undefined;
  runIds?: number[];
  queueMs?: number;
  modelMs?: number;
  explainMs?: number;
}

/**
 * Returns the request id to the caller and writes one log line per finished request: `info` for
 * 2xx-4xx (a 4xx with its reason), `error` for 5xx with its cause (a probe's 503 stays `info`).
 * A fault's stack is in the 'request failed' line the error handling writes just before. The hooks are synchronous on purpose: an async
 * hook costs a promise per request on the hot path.
 */
export default fp(
  async (app) => {
    app.decorateRequest('failureReason', null);
    app.addHook('onRequest', (request, reply, done) => {
      reply.header('x-request-id', request.id);
      done();
    });
    app.addHook('onResponse', (request, reply, done) => {
      const { stages } = request;
      const statusCode = reply.statusCode;
      const line: RequestLine = {
        method: request.method,
        route: request.routeOptions.url ?? UNMATCHED_ROUTE,
        path: pathOf(request.url),
        // request.ip honours TRUST_PROXY: the address X-Forwarded-For names when a trusted proxy sent it.
        clientIp: request.ip,
        statusCode,
        latencyMs: roundMs(reply.elapsedTime),
      };
      // A probe's 503 means "not ready" (loading, draining): expected, and no reason to page anyone.
      const probe = request.routeOptions.config.access === 'probe';
      if (statusCode >= 400) line.reason = request.failureReason ?? (probe ? 'not ready' : (STATUS_CODES[statusCode] ?? String(statusCode)));
      // Only requests that reached the model carry its stages: the run ids tie them to the debug 'model run' lines.
      if (stages.runIds.length > 0) {
        line.modelVersion = stages.modelVersion;
        line.runIds = stages.runIds;
        line.queueMs = roundMs(stages.queueMs!);
        line.modelMs = roundMs(stages.modelMs!);
      }
      if (stages.explainMs !== undefined) line.explainMs = roundMs(stages.explainMs);
      if (statusCode >= 500 && !probe) request.log.error(line, REQUEST_COMPLETED);
      else request.log.info(line, REQUEST_COMPLETED);
      done();
    });
  },
  { name: 'request-logging', dependencies: ['request-stages'] },
);
