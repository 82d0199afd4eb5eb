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
