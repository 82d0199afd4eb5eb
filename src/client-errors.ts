import type { IncomingMessage, ServerResponse } from 'node:http';
import { STATUS_CODES } from './http-status.js';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import type { FastifyBaseLogger, FastifyInstance } from 'fastify';
import { pathOf } from './error-handling.js';
import { errorBody } from './fastapi-error-renderer.js';

const CLIENT_ERRORS: Record<string, [number, string]> = {
  ERR_HTTP_REQUEST_TIMEOUT: [408, 'The request headers or body did not arrive in time.'],
  HPE_HEADER_OVERFLOW: [431, 'The request headers are too large.'],
};
const JSON_TYPE = 'application/json; charset=utf-8';

/** A whole HTTP/1.1 answer with a JSON body, for a socket no ServerResponse writes to; the connection closes after it. */
function rawAnswer(statusCode: number, body: unknown, headers: Readonly<Record<string, string>> = {}): string {
  const json = JSON.stringify(body);
  const extra = Object.entries(headers).map(([name, value]) => `${name}: ${value}\r\n`).join('');
  return (
    `HTTP/1.1 ${statusCode} ${STATUS_CODES[statusCode]}\r\nContent-Type: ${JSON_TYPE}\r\n` +
    `Content-Length: ${Buffer.byteLength(json)}\r\nConnection: close\r\n${extra}\r\n${json}`
  );
}

/**
 * Fastify's clientErrorHandler: answers what Node's HTTP parser refuses before any route or hook
 * sees it (a slow client, huge headers, bytes that are not HTTP), in the same body shape as every
 * other error outside /v2 (no route, hence no protocol, is known yet), then closes the connection.
 */
export function answerClientError(this: { log: FastifyBaseLogger }, error: NodeJS.ErrnoException, socket: Duplex): void {
  if (error.code === 'ECONNRESET' || socket.destroyed) return;
  const [statusCode, message] = CLIENT_ERRORS[error.code ?? ''] ?? [400, 'The request is not valid HTTP.'];
  // No request line follows (Fastify never saw a request): this is the refusal's only line, at the level of every 4xx.
  this.log.info({ statusCode, reason: message, code: error.code, clientIp: (socket as Partial<Socket>).remoteAddress }, 'client error');
  if (socket.writable) socket.write(rawAnswer(statusCode, errorBody(statusCode, message)));
  socket.destroy();
}

/**
 * Node's HTTP server answers two kinds of request on its own, before Fastify sees them: an Expect
 * other than 100-continue (417 with an empty body) and CONNECT (the connection dropped without a
 * word). These listeners answer both as JSON in the error shape of the scope that owns the target
 * path (the churn API's for a CONNECT target that is a host, not a path), and close the connection.
 */
export function replaceNodeAnswers(app: FastifyInstance): void {
  app.server.on('checkExpectation', (request: IncomingMessage, response: ServerResponse) => {
    const path = pathOf(request.url ?? '/');
    const message = 'Expect: 100-continue is the only expectation this service meets; send the request without the Expect header.';
    const body = JSON.stringify(app.errorScopes.rendererFor(path).errorBody(417, message));
    app.log.debug({ statusCode: 417 }, 'unmet expectation');
    response.writeHead(417, { 'content-type': JSON_TYPE, 'content-length': Buffer.byteLength(body), connection: 'close' }).end(body);
  });

  app.server.on('connect', (request: IncomingMessage, socket: Duplex) => {
    const target = pathOf(request.url ?? '');
    // A host:port target names no resource here, so it allows no method: an empty Allow.
    const allow = app.allowedMethods(target).join(', ');
    const body = app.errorScopes.rendererFor(target).errorBody(405, 'Method CONNECT is not allowed: this service is not a proxy.');
    app.log.debug({ statusCode: 405 }, 'CONNECT refused');
    if (socket.writable) socket.write(rawAnswer(405, body, { Allow: allow }));
    socket.destroy();
  });
}
