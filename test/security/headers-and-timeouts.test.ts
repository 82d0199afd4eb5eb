import { once } from 'node:events';
import { connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HELMET_OPTIONS, helmetHeaders } from '../../src/plugins/security-headers.js';
import { buildTestApp, postJson, VALID_CUSTOMER, type TestApp } from '../helpers.js';

let testApp: TestApp;
let port: number;
beforeAll(async () => {
  testApp = await buildTestApp({ HEADERS_TIMEOUT_MS: '300', REQUEST_TIMEOUT_MS: '600', KEEP_ALIVE_TIMEOUT_MS: '400', IDLE_TIMEOUT_MS: '5000' });
  await testApp.app.listen({ port: 0, host: '127.0.0.1' });
  port = (testApp.app.server.address() as { port: number }).port;
});
afterAll(async () => testApp.app.close());

describe('security headers', () => {
  it.each(['/predict', '/health', '/docs/', '/redoc', '/redoc/', '/', '/openapi.json', '/nope'])('are on %s', async (url) => {
    const response = url === '/predict' ? await postJson(testApp.app, url, VALID_CUSTOMER) : await testApp.app.inject({ method: 'GET', url });
    expect(response.headers['x-content-type-options']).toBe('nosniff');
    expect(response.headers['x-frame-options']).toBe('SAMEORIGIN');
    expect(response.headers['referrer-policy']).toBe('no-referrer');
    expect(response.headers['strict-transport-security']).toMatch(/max-age=\d+/);
    const csp = String(response.headers['content-security-policy']);
    expect(csp).toContain("default-src 'self'");
    expect(csp).toContain("script-src 'self'");
    expect(csp).toContain("frame-ancestors 'none'");
    expect(csp).toContain("object-src 'none'");
    // Nothing from another host: every source is 'self', 'none', an inline style, data: or blob:.
    for (const directive of csp.split(';')) {
      for (const source of directive.trim().split(/\s+/).slice(1)) expect(["'self'", "'none'", "'unsafe-inline'", 'data:', 'blob:'], directive).toContain(source);
    }
    for (const [name, value] of Object.entries(helmetHeaders(HELMET_OPTIONS))) expect(response.headers[name], name).toBe(value);
  });

  it('are every header helmet sets with these options, computed once', () => {
    expect(Object.keys(helmetHeaders(HELMET_OPTIONS)).sort()).toEqual([
      'content-security-policy',
      'cross-origin-opener-policy',
      'cross-origin-resource-policy',
      'origin-agent-cluster',
      'referrer-policy',
      'strict-transport-security',
      'x-content-type-options',
      'x-dns-prefetch-control',
      'x-download-options',
      'x-frame-options',
      'x-permitted-cross-domain-policies',
      'x-xss-protection',
    ]);
    expect(helmetHeaders({ ...HELMET_OPTIONS, crossOriginEmbedderPolicy: true })['cross-origin-embedder-policy']).toBe('require-corp');
    expect(() => helmetHeaders({ contentSecurityPolicy: { directives: { defaultSrc: ["'self'; script-src *"] } } })).toThrow();
  });
});

/**
 * Opens a raw connection, runs `talk`, and returns what the server answered, when it closed, and
 * how much the client still had to send when it was cut off (a fact no machine's load can change).
 */
async function rawConnection(talk: (write: (text: string) => boolean) => Promise<void>) {
  const socket = connect(port, '127.0.0.1');
  await once(socket, 'connect');
  const started = Date.now();
  let answer = '';
  let unsent = 0;
  socket.on('data', (chunk: Buffer) => (answer += chunk.toString()));
  const closed = once(socket, 'close').then(() => Date.now() - started);
  await talk((text) => {
    if (socket.destroyed) {
      unsent += text.length;
      return false;
    }
    socket.write(text);
    return true;
  });
  const afterMs = await closed;
  return { answer, afterMs, unsent };
}

const trickle = (text: string, everyMs: number) => async (write: (chunk: string) => boolean) => {
  for (const character of text) {
    // Once the server has cut the connection, the rest is counted as unsent at once.
    if (!write(character)) continue;
    await new Promise((resolve) => setTimeout(resolve, everyMs));
  }
};

describe('deliberate timeouts', () => {
  it('cut off a connection that sends nothing: 408 after HEADERS_TIMEOUT_MS', async () => {
    const { answer, afterMs } = await rawConnection(async () => undefined);
    expect(answer).toMatch(/^HTTP\/1\.1 408 /);
    expect(afterMs).toBeGreaterThanOrEqual(250);
  });

  it('cut off a client that trickles its headers', async () => {
    const { answer, unsent } = await rawConnection(trickle('GET /health HTTP/1.1\r\nHost: x\r\nX-Slow: ' + 'a'.repeat(200), 20));
    expect(answer).toMatch(/^HTTP\/1\.1 408 /);
    // Cut off long before it finished (220 characters at 20 ms each would take 4.4 s).
    expect(unsent).toBeGreaterThan(0);
  });

  it('cut off a client that trickles its body', async () => {
    const body = JSON.stringify(VALID_CUSTOMER);
    const { answer, unsent } = await rawConnection(async (write) => {
      write(`POST /predict HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n`);
      await trickle(body, 30)(write);
    });
    expect(answer).toMatch(/^HTTP\/1\.1 408 /);
    expect(JSON.parse(answer.split('\r\n\r\n')[1]!)).toMatchObject({ statusCode: 408, message: 'The request headers or body did not arrive in time.' });
    expect(unsent).toBeGreaterThan(0);
  });

  it('close an idle keep-alive connection after KEEP_ALIVE_TIMEOUT_MS', async () => {
    const { answer, afterMs } = await rawConnection(async (write) => {
      write('GET /health/live HTTP/1.1\r\nHost: x\r\n\r\n');
    });
    expect(answer).toMatch(/^HTTP\/1\.1 200 /);
    expect(afterMs).toBeGreaterThanOrEqual(350);
  });
});
