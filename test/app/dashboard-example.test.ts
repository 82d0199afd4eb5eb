import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { runInNewContext } from 'node:vm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildTestApp, VALID_CUSTOMER, type TestApp } from '../helpers.js';

/**
 * examples/dashboard-fetch.js as a browser runs it: a classic script (a module's `export` would be
 * a syntax error in a console or a plain <script>), with nothing but fetch around it.
 */
type ChurnRisk = (baseUrl: string, customer: unknown, apiKey?: string) => Promise<Record<string, unknown>>;
const SCRIPT = readFileSync(new URL('../../examples/dashboard-fetch.js', import.meta.url), 'utf8');
const churnRisk = runInNewContext(`${SCRIPT}\nchurnRisk;`, { fetch, JSON, Error, Array }) as ChurnRisk;

let testApp: TestApp;
let service: string;
let proxy: Server;
let proxyUrl: string;
beforeAll(async () => {
  testApp = await buildTestApp({ LOG_LEVEL: 'silent', RATE_LIMIT_PER_MINUTE: '2' });
  service = await testApp.app.listen({ port: 0, host: '127.0.0.1' });
  // A gateway in front of the service that has fallen over and answers with an HTML page.
  proxy = createServer((_request, response) => response.writeHead(502, { 'content-type': 'text/html', 'x-request-id': 'gw-77' }).end('<html><body>Bad Gateway</body></html>'));
  proxy.listen(0, '127.0.0.1');
  await once(proxy, 'listening');
  proxyUrl = `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`;
});
afterAll(async () => {
  proxy.close();
  await testApp.app.close();
});

describe('examples/dashboard-fetch.js', () => {
  it('is a plain script whose churnRisk answers the prediction and its request id', async () => {
    expect(SCRIPT).not.toMatch(/^\s*(export|import)\b/m);
    const risk = await churnRisk(service, VALID_CUSTOMER);
    expect(risk).toMatchObject({ churn_probability: 0.6338, churn_prediction: true, risk_tier: 'MEDIUM', requestId: expect.any(String) });
  });

  it('names each problem of a 422 with the request id, and says when to retry a 429', async () => {
    await expect(churnRisk(service, { ...VALID_CUSTOMER, tenure_months: 999 })).rejects.toThrow(/^churn API 422 \(request [\w-]+\): tenure_months: Input should be less than or equal to 120$/);
    await expect(churnRisk(service, VALID_CUSTOMER)).rejects.toThrow(/^churn API 429 \(request [\w-]+\): Rate limit .* \(retry in \d+ s\)$/);
  });

  it('keeps the status, the request id and the words of an answer that is not JSON', async () => {
    await expect(churnRisk(proxyUrl, VALID_CUSTOMER)).rejects.toThrow('churn API 502 (request gw-77): not JSON: <html><body>Bad Gateway</body></html>');
  });
});
