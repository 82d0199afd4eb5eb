import { existsSync, mkdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EXAMPLE_INFER_RESPONSE, EXAMPLE_MODEL_METADATA } from '../../src/schemas/examples.js';
import { freePort, startServer, waitUntilHealthy, type ServerProcess } from '../e2e/server-process.js';

const CHROMIUM = '/usr/bin/chromium';
/** CI sets this: there a missing browser is a failure, not a skip. */
const REQUIRE_TOOLS = process.env.REQUIRE_TEST_TOOLS === '1';
const ARTIFACTS = fileURLToPath(new URL('../../test-artifacts/browser/', import.meta.url));
const API_KEY = 'browser-key-0123456789abc';
const available = existsSync(CHROMIUM) || REQUIRE_TOOLS;

let browser: Browser;
let open: ServerProcess;
let keyed: ServerProcess;

beforeAll(async () => {
  if (!available) return;
  mkdirSync(ARTIFACTS, { recursive: true });
  [open, keyed] = await Promise.all([freePort().then((port) => startServer({ HOST: '127.0.0.1' }, port)), freePort().then((port) => startServer({ API_KEYS: API_KEY }, port))]);
  await Promise.all([waitUntilHealthy(open), waitUntilHealthy(keyed)]);
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    // Keep the browser off the network: only 127.0.0.1 resolves.
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1'],
  });
}, 60_000);

afterAll(async () => {
  await browser?.close();
  await Promise.all([open?.stop(), keyed?.stop()]);
});

interface Visit {
  page: Page;
  /** Every URL the page requested. */
  requests: string[];
  /** Console errors and content-security-policy violations. */
  problems: string[];
}

async function visit(server: ServerProcess, path: string): Promise<Visit> {
  const page = await browser.newPage();
  const visited: Visit = { page, requests: [], problems: [] };
  page.on('request', (request) => visited.requests.push(request.url()));
  page.on('console', (message) => {
    if (message.type() === 'error' || /Content Security Policy/i.test(message.text())) visited.problems.push(message.text());
  });
  page.on('pageerror', (error) => visited.problems.push(error.message));
  await page.goto(`${server.baseUrl}${path}`);
  return visited;
}

/** Nothing the page asked for left this machine, and nothing went wrong but what the test caused. */
function expectLocalOnly({ requests, problems }: Visit, server: ServerProcess, expectedProblem?: RegExp) {
  const elsewhere = requests.filter((url) => !url.startsWith(`${server.baseUrl}/`) && !url.startsWith('data:') && !url.startsWith('blob:'));
  expect(elsewhere).toEqual([]);
  expect(problems.filter((problem) => !expectedProblem?.test(problem))).toEqual([]);
}

/** Expands an operation in Swagger UI and presses Try it out, unless it already is. */
async function openForTrying(page: Page, operationId: string) {
  const operation = page.locator(`#${operationId}`);
  if (!((await operation.getAttribute('class')) ?? '').includes('is-open')) await operation.locator('.opblock-summary').first().click();
  const tryOut = operation.locator('button.try-out__btn');
  if ((await tryOut.textContent())?.trim() === 'Try it out') await tryOut.click();
  return operation;
}

/** Expands an operation in Swagger UI, presses Try it out and Execute, and returns the status and body shown. */
async function tryItOut(page: Page, operationId: string): Promise<{ status: string; body: string }> {
  const operation = await openForTrying(page, operationId);
  await operation.locator('button.execute').click();
  const response = operation.locator('.live-responses-table .response').first();
  await response.waitFor();
  const status = (await response.locator('.response-col_status').textContent())?.trim() ?? '';
  const body = (await response.locator('.response-col_description pre').first().textContent()) ?? '';
  await operation.locator('button.btn-clear').click().catch(() => undefined);
  return { status, body };
}

describe.skipIf(!available)('the docs in a real browser (Chromium)', () => {
  it('Swagger UI runs the prefilled examples of both prediction routes', async () => {
    const visited = await visit(open, '/docs');
    const { page } = visited;
    await page.locator('#operations-predictions-predict').waitFor();
    const single = await tryItOut(page, 'operations-predictions-predict');
    expect(single.status).toBe('200');
    expect(JSON.parse(single.body)).toMatchObject({ churn_probability: 0.6338, risk_tier: 'MEDIUM', customer_id: '9237-HQITU' });
    const batch = await tryItOut(page, 'operations-predictions-predictBatch');
    expect(batch.status).toBe('200');
    expect(JSON.parse(batch.body)).toMatchObject({ batch_size: 2, predictions: [{ churn_probability: 0.6338 }, { churn_probability: 0.0705 }] });
    await page.screenshot({ path: `${ARTIFACTS}swagger-ui.png`, fullPage: true });
    expectLocalOnly(visited, open);
    await page.close();
  }, 60_000);

  it('Swagger UI lists the Open Inference Protocol endpoints under their tag and runs their prefilled examples', async () => {
    const visited = await visit(open, '/docs');
    const { page } = visited;
    const infer = 'operations-open-inference-modelInfer';
    await page.locator(`#${infer}`).waitFor();
    expect(await page.locator('[id^="operations-open-inference-"]').count()).toBe(9);
    const inferred = await tryItOut(page, infer);
    expect(inferred.status).toBe('200');
    expect(JSON.parse(inferred.body)).toEqual(EXAMPLE_INFER_RESPONSE);
    const metadata = await tryItOut(page, 'operations-open-inference-modelMetadata');
    expect(metadata.status).toBe('200');
    expect(JSON.parse(metadata.body)).toEqual(EXAMPLE_MODEL_METADATA);
    await page.screenshot({ path: `${ARTIFACTS}swagger-ui-open-inference.png`, fullPage: true });
    expectLocalOnly(visited, open);
    await page.close();
  }, 60_000);

  it('Swagger UI gets 401 without an API key and 200 once authorized', async () => {
    const visited = await visit(keyed, '/docs');
    const { page } = visited;
    await page.locator('#operations-predictions-predict').waitFor();
    expect((await tryItOut(page, 'operations-predictions-predict')).status).toBe('401');
    await page.locator('button.authorize').first().click();
    const dialog = page.locator('.modal-ux');
    // The two forms of an API key; no admin token, since this server has no admin route.
    await dialog.locator('.auth-container').first().waitFor();
    expect(await dialog.locator('.auth-container h4').allTextContents()).toEqual([expect.stringContaining('apiKeyHeader'), expect.stringContaining('apiKeyBearer')]);
    await dialog.locator('.auth-container').filter({ hasText: 'apiKeyHeader' }).locator('input').fill(API_KEY);
    await dialog.locator('.auth-container').filter({ hasText: 'apiKeyHeader' }).locator('button.authorize').click();
    await dialog.locator('button.btn-done').first().click();
    const single = await tryItOut(page, 'operations-predictions-predict');
    expect(single.status).toBe('200');
    expect(JSON.parse(single.body)).toMatchObject({ churn_probability: 0.6338 });
    expect((await tryItOut(page, 'operations-predictions-predictBatch')).status).toBe('200');
    await page.screenshot({ path: `${ARTIFACTS}swagger-ui-authorized.png`, fullPage: true });
    // The browser reports the deliberate 401 as a failed resource load.
    expectLocalOnly(visited, keyed, /status of 401 \(Unauthorized\)/);
    await page.close();
  }, 60_000);

  it('Swagger UI offers no Authorize on a server that asks for no key, and sends ?explain only when it is chosen', async () => {
    const visited = await visit(open, '/docs');
    const { page } = visited;
    await page.locator('#operations-predictions-predict').waitFor();
    expect(await page.locator('button.authorize').count()).toBe(0);
    expect(await page.locator('.authorization__btn').count()).toBe(0);
    const predictCalls = () => visited.requests.filter((url) => url.startsWith(`${open.baseUrl}/predict`));

    expect((await tryItOut(page, 'operations-predictions-predict')).status).toBe('200');
    expect(predictCalls()).toEqual([`${open.baseUrl}/predict`]);

    const operation = await openForTrying(page, 'operations-predictions-predict');
    await operation.locator('tr[data-param-name="explain"] select').selectOption('true');
    const explained = await tryItOut(page, 'operations-predictions-predict');
    expect(explained.status).toBe('200');
    expect(JSON.parse(explained.body)).toHaveProperty('explanation.reasons');
    expect(predictCalls()).toEqual([`${open.baseUrl}/predict`, `${open.baseUrl}/predict?explain=true`]);
    expectLocalOnly(visited, open);
    await page.close();
  }, 60_000);

  it('the bare host opens Swagger UI, and /redoc/ opens ReDoc', async () => {
    const home = await visit(open, '/');
    expect(home.page.url()).toBe(`${open.baseUrl}/docs`);
    await home.page.locator('#operations-predictions-predict').waitFor();
    expectLocalOnly(home, open);
    await home.page.close();
    const redoc = await visit(open, '/redoc/');
    await redoc.page.locator('h2', { hasText: 'Predict churn for one customer' }).waitFor({ timeout: 30_000 });
    expectLocalOnly(redoc, open);
    await redoc.page.close();
  }, 60_000);

  it('ReDoc shows the operations and the field descriptions', async () => {
    const visited = await visit(open, '/redoc');
    const { page } = visited;
    await page.locator('h2', { hasText: 'Predict churn for one customer' }).waitFor({ timeout: 30_000 });
    await page.locator('h2', { hasText: 'Predict churn for 1 to 100 customers in one model run' }).waitFor();
    await page.locator('h2', { hasText: 'Readiness: 200 when a model is loaded' }).waitFor();
    const fields = page.locator('[id="operation/predict"]');
    await fields.getByText('Months the customer has been with us', { exact: false }).first().waitFor();
    await fields.getByText('Caveat: the training data has no support-call log', { exact: false }).first().waitFor();
    await page.screenshot({ path: `${ARTIFACTS}redoc.png`, fullPage: true });
    expectLocalOnly(visited, open);
    await page.close();
  }, 60_000);
});
