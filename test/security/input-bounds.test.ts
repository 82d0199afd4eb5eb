import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MAX_JSON_DEPTH } from '../../src/plugins/json-body.js';
import { buildTestApp, postJson, VALID_CUSTOMER, type TestApp } from '../helpers.js';

let testApp: TestApp;
beforeAll(async () => {
  testApp = await buildTestApp();
});
afterAll(async () => testApp.app.close());

const send = (payload: string | Buffer, headers: Record<string, string>, url = '/predict') => testApp.app.inject({ method: 'POST', url, payload, headers });
const BODY = JSON.stringify(VALID_CUSTOMER);

describe('content handling', () => {
  const SEND_JSON = 'send a UTF-8 JSON body with Content-Type: application/json.';

  it.each([
    ['text/plain', 'Unsupported Media Type'],
    ['text/plain; charset=utf-8', 'Unsupported Media Type'],
    ['application/x-www-form-urlencoded', 'Unsupported Media Type'],
    ['application/xml', 'Unsupported Media Type'],
    ['multipart/form-data; boundary=x', 'Unsupported Media Type'],
  ])('answers a JSON body sent as %s with 415, saying what to send', async (contentType, error) => {
    const response = await send(BODY, { 'content-type': contentType });
    expect(response.statusCode).toBe(415);
    expect(response.json()).toMatchObject({ statusCode: 415, error, message: `Content-Type ${contentType} is not accepted; ${SEND_JSON}` });
  });

  it.each([
    ['an empty', { 'content-type': '' }, `The body has no Content-Type; ${SEND_JSON}`],
    ['no', {}, `The body has no Content-Type; ${SEND_JSON}`],
    ['a malformed', { 'content-type': 'json' }, `Content-Type json is not accepted; ${SEND_JSON}`],
  ])('answers a body with %s content type with 415, saying what to send', async (_kind, headers, message) => {
    const response = await testApp.app.inject({ method: 'POST', url: '/predict', payload: BODY, headers });
    expect(response.statusCode).toBe(415);
    expect(response.json()).toMatchObject({ statusCode: 415, error: 'Unsupported Media Type', message });
  });

  it.each([
    ['POST', '/nowhere', 404],
    ['PUT', '/predict', 405],
  ] as const)('answers %s %s with a body in another content type with %i, as when the body is JSON', async (method, url, status) => {
    const response = await testApp.app.inject({ method, url, payload: 'hello', headers: { 'content-type': 'text/plain' } });
    expect(response.statusCode).toBe(status);
  });

  it.each(['latin1', 'ISO-8859-1', 'utf-16', '"utf-16le"', 'us-ascii'])('answers charset=%s with 415', async (charset) => {
    const response = await send(BODY, { 'content-type': `application/json; charset=${charset}` });
    expect(response.statusCode).toBe(415);
    expect(response.json().message).toBe(`Only UTF-8 JSON is accepted, and the content type says charset=${charset.replaceAll('"', '')}; ${SEND_JSON}`);
  });

  it.each(['application/json', 'application/json; charset=utf-8', 'application/json;charset=UTF-8', 'application/json; charset="utf8"', 'application/vnd.churn+json', 'APPLICATION/JSON'])(
    'accepts %s',
    async (contentType) => {
      expect((await send(BODY, { 'content-type': contentType })).statusCode).toBe(200);
    },
  );

  it.each([
    ['gzip', gzipSync(BODY)],
    ['gzip', Buffer.from(BODY)],
    ['deflate', Buffer.from(BODY)],
    ['br', Buffer.from(BODY)],
  ])('answers Content-Encoding %s with 415, compressed or not', async (encoding, payload) => {
    const response = await send(payload, { 'content-type': 'application/json', 'content-encoding': encoding });
    expect(response.statusCode).toBe(415);
    expect(response.json().message).toBe(`Content-Encoding ${encoding} is not accepted; send the body uncompressed.`);
  });

  it('echoes a huge Content-Encoding once, cut short', async () => {
    const encoding = 'x'.repeat(32 * 1024);
    const response = await send(BODY, { 'content-type': 'application/json', 'content-encoding': encoding });
    const message = `Content-Encoding ${'x'.repeat(64)}… is not accepted; send the body uncompressed.`;
    expect([response.statusCode, response.json()]).toEqual([415, { statusCode: 415, error: 'Unsupported Media Type', message, detail: message }]);
  });

  it('accepts Content-Encoding identity', async () => {
    expect((await send(BODY, { 'content-type': 'application/json', 'content-encoding': 'identity' })).statusCode).toBe(200);
  });

  it('answers malformed JSON with 400 and a short reason', async () => {
    const response = await send(`{"tenure_months": ${'9'.repeat(5000)}`, { 'content-type': 'application/json' });
    expect(response.statusCode).toBe(400);
    expect(response.json().message).toMatch(/^Body is not valid JSON: /);
    expect(response.body.length).toBeLessThan(500);
  });
});

describe('deep nesting', () => {
  const nested = (depth: number, leaf = '1') => '['.repeat(depth) + leaf + ']'.repeat(depth);

  it.each([
    ['the whole body', (depth: number) => nested(depth)],
    ['one field', (depth: number) => JSON.stringify({ ...VALID_CUSTOMER, extra: 0 }).replace('"extra":0', `"extra":${nested(depth)}`)],
    ['the customer id', (depth: number) => JSON.stringify({ ...VALID_CUSTOMER, customer_id: 'ID' }).replace('"ID"', nested(depth))],
  ])('is refused early with 400 in %s, never a 500', async (_where, body) => {
    for (const depth of [MAX_JSON_DEPTH + 1, 4_100, 200_000]) {
      const response = await send(body(depth), { 'content-type': 'application/json' });
      expect(response.statusCode, `depth ${depth}`).toBe(400);
      expect(response.json().message).toBe(`Body is nested deeper than ${MAX_JSON_DEPTH} levels.`);
    }
  });

  it('allows bodies up to the limit through to validation', async () => {
    const response = await send(JSON.stringify({ ...VALID_CUSTOMER, extra: JSON.parse(nested(MAX_JSON_DEPTH - 1)) }), { 'content-type': 'application/json' });
    expect(response.statusCode).toBe(200);
  });
});

describe('prototype pollution', () => {
  it.each([
    ['__proto__', `{"__proto__":{"polluted":true},${BODY.slice(1)}`],
    ['__proto__ in a nested object', `{"extra":{"__proto__":{"polluted":true}},${BODY.slice(1)}`],
    ['constructor.prototype', `{"constructor":{"prototype":{"polluted":true}},${BODY.slice(1)}`],
  ])('refuses %s with 400 and pollutes nothing', async (_what, payload) => {
    const response = await send(payload, { 'content-type': 'application/json' });
    expect(response.statusCode).toBe(400);
    expect(response.json().message).toBe('Body contains a forbidden property name (__proto__ or constructor.prototype).');
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it('ignores a harmless "prototype" or "constructor" key like any unknown property', async () => {
    const response = await postJson(testApp.app, '/predict', { ...VALID_CUSTOMER, prototype: { polluted: true }, constructor: 'x' });
    expect(response.statusCode).toBe(200);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });
});

describe('error bodies', () => {
  it('list at most 20 problems, count the rest, and stay small', async () => {
    const body = JSON.stringify({ customers: Array.from({ length: 100 }, () => ({})) });
    const response = await send(body, { 'content-type': 'application/json' }, '/predict/batch');
    expect(response.statusCode).toBe(422);
    const json = response.json();
    expect(json.detail).toHaveLength(20);
    expect(json.more_problems).toBe(480);
    expect(json.message).toMatch(/ …and 480 more problems\.$/);
    expect(response.body.length).toBeLessThan(response.payload.length + 1);
    expect(Buffer.byteLength(response.body)).toBeLessThan(8 * 1024);
  });

  it('refuse a list over the limit before validating its items', async () => {
    const padded = { ...VALID_CUSTOMER, tenure_months: 'x', padding: 'p'.repeat(40) };
    const body = JSON.stringify({ customers: Array.from({ length: 5_000 }, () => padded) });
    expect(body.length).toBeGreaterThan(800_000);
    const response = await send(body, { 'content-type': 'application/json' }, '/predict/batch');
    expect(response.statusCode).toBe(422);
    expect(response.json().detail).toEqual([
      {
        type: 'too_long',
        loc: ['body', 'customers'],
        msg: 'List should have at most 100 items after validation, not 5000',
        ctx: { field_type: 'List', max_length: 100, actual_length: 5000 },
      },
    ]);
    expect(response.body.length).toBeLessThan(1000);
  });

  it('echo long strings cut to 64 characters', async () => {
    const response = await postJson(testApp.app, '/predict', { ...VALID_CUSTOMER, tenure_months: 'y'.repeat(100_000) });
    expect(response.json().detail[0].input).toBe(`${'y'.repeat(64)}…`);
    expect(response.body.length).toBeLessThan(1000);
  });
});
