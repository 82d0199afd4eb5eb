import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildTestApp, type TestApp } from '../helpers.js';
import { readFileSync } from 'node:fs';

let testApp: TestApp;
beforeAll(async () => {
  testApp = await buildTestApp();
});
afterAll(async () => testApp.app.close());

describe('GET /health', () => {
  it('is 200 healthy with the loaded model version and uptime to one decimal', async () => {
    const response = await testApp.app.inject({ method: 'GET', url: '/health' });
    expect(response.statusCode).toBe(200);
    const body = response.json();
    expect(Object.keys(body).sort()).toEqual(['model_loaded', 'model_version', 'status', 'uptime_seconds']);
    expect(body.status).toBe('healthy');
    expect(body.model_loaded).toBe(true);
    expect(body.model_version).toBe(JSON.parse(readFileSync(new URL('../../models/model_card.json', import.meta.url), 'utf8')).model_version);
    expect(body.uptime_seconds).toBeGreaterThan(0);
    expect(Math.round(body.uptime_seconds * 10) / 10).toBe(body.uptime_seconds);
  });
});
