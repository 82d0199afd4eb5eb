// The product dashboard calls the churn API from the browser. The service answers CORS for the
// origins in CORS_ORIGINS (default "*") and exposes x-request-id, so a support ticket can quote it.
//
// Paste into the dashboard's code (or a browser console on an allowed origin):
//   const risk = await churnRisk('https://churn.internal', { tenure_months: 2, ... });

/**
 * @param {string} baseUrl  where the churn service answers
 * @param {{customer_id?: string, tenure_months: number, monthly_charges: number, total_charges: number, num_products: number, has_support_calls: 0|1}} customer
 * @param {string} [apiKey] only when the service has API_KEYS set (prefer calling through your backend then)
 */
export async function churnRisk(baseUrl, customer, apiKey) {
  const response = await fetch(`${baseUrl}/predict`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(apiKey ? { 'x-api-key': apiKey } : {}) },
    body: JSON.stringify(customer),
  });
  const requestId = response.headers.get('x-request-id');
  const body = await response.json();
  if (!response.ok) {
    // 422: body.detail lists each problem with its field (loc) and message (msg).
    const problems = Array.isArray(body.detail) ? body.detail.map((issue) => `${issue.loc.slice(1).join('.')}: ${issue.msg}`) : [body.message];
    throw new Error(`churn API ${response.status} (request ${requestId}): ${problems.join('; ')}`);
  }
  return { ...body, requestId };
}
