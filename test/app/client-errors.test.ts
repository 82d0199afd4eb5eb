import { once } from 'node:events';
import { connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildTestApp, type TestApp } from '../helpers.js';

let testApp: TestApp;
let port: number;
beforeAll(async () => {
  testApp = await buildTestApp();
  await testApp.app.listen({ port: 0, host: '127.0.0.1' });
  port = (testApp.app.server.address() as { port: number }).port;
});
afterAll(async () => testApp.app.close());

/** Sends raw bytes and returns everything the server answers before it closes the connection. */
async function raw(bytes: string): Promise<{ head: string; body: unknown }> {
  const socket = connect(port, '127.0.0.1');
  await once(socket, 'connect');
  let answer = '';
  socket.on('data', (chunk: Buffer) => (answer += chunk.toString()));
  socket.write(bytes);
  await once(socket, 'close');
  const [head, body] = answer.split('\r\n\r\n');
  return { head: head!, body: JSON.parse(body!) };
}

describe('requests Node refuses before any route sees them', () => {
  it('get the usual error body for bytes that are not HTTP, and the connection closes', async () => {
    const { head, body } = await raw('HELLO\r\n\r\n');
    expect(head).toMatch(/^HTTP\/1\.1 400 Bad Request/);
    expect(head).toMatch(/Connection: close/);
    expect(head).toMatch(/Content-Type: application\/json; charset=utf-8/);
    expect(body).toEqual({ statusCode: 400, error: 'Bad Request', message: 'The request is not valid HTTP.', detail: 'The request is not valid HTTP.' });
  });

  it('answer headers over the size limit with 431', async () => {
    const { head, body } = await raw(`GET /health HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`);
    expect(head).toMatch(/^HTTP\/1\.1 431 Request Header Fields Too Large/);
    expect(body).toMatchObject({ statusCode: 431, message: 'The request headers are too large.' });
  });
});

describe('requests Node\'s HTTP server would answer on its own, without JSON', () => {
  it('answer an Expect other than 100-continue with a JSON 417 in the path\'s error shape, and close', async () => {
    const message = 'Expect: 100-continue is the only expectation this service meets; send the request without the Expect header.';
    const health = await raw('GET /health HTTP/1.1\r\nHost: x\r\nExpect: foo\r\n\r\n');
    expect(health.head).toMatch(/^HTTP\/1\.1 417 Expectation Failed/);
    expect(health.head).toMatch(/content-type: application\/json; charset=utf-8/i);
    expect(health.head).toMatch(/connection: close/i);
    expect(health.body).toEqual({ statusCode: 417, error: 'Expectation Failed', message, detail: message });
    const infer = await raw('POST /v2/models/churn/infer HTTP/1.1\r\nHost: x\r\nExpect: 200-ok\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}');
    expect(infer.head).toMatch(/^HTTP\/1\.1 417 Expectation Failed/);
    expect(infer.body).toEqual({ error: message });
  });

  it('answer CONNECT with a JSON 405 (this is no proxy) and close the connection', async () => {
    const message = 'Method CONNECT is not allowed: this service is not a proxy.';
    const tunnel = await raw('CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n');
    expect(tunnel.head).toMatch(/^HTTP\/1\.1 405 Method Not Allowed/);
    expect(tunnel.head).toMatch(/Content-Type: application\/json; charset=utf-8/);
    expect(tunnel.head).toMatch(/Connection: close/);
    // A host names no resource here: it allows no method.
    expect(tunnel.head).toMatch(/\r\nAllow: $/m);
    expect(tunnel.body).toEqual({ statusCode: 405, error: 'Method Not Allowed', message, detail: message });
    const onPath = await raw('CONNECT /v2/models/churn/infer HTTP/1.1\r\nHost: x\r\n\r\n');
    expect(onPath.head).toMatch(/\r\nAllow: POST$/m);
    expect(onPath.body).toEqual({ error: message });
  });

  it('still serve requests afterwards', async () => {
    const { head } = await raw('GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
    expect(head).toMatch(/^HTTP\/1\.1 200 OK/);
  });
});
