// The product dashboard calls the churn API from the browser. The service answers CORS for the
// origins in CORS_ORIGINS (default "*") and lets the page read x-request-id, retry-after and the
// rate-limit headers, so a support ticket can quote the request id.
//
// A plain script, not a module: include it with <script src="dashboard-fetch.js"></script>, or
// paste it into a browser console on an allowed origin, then:
//   const risk = await churnRisk('https://churn.internal', { tenure_months: 2, ... });

/**
 * @param {string} baseUrl  where the churn service answers
 * @param {{customer_id?: string, tenure_months: number, monthly_charges: number, total_charges: number, num_products: number, has_support_calls: 0|1}} customer
 * @param {string} [apiKey] only when the service has API_KEYS set (prefer calling through your backend then)
 */
async function churnRisk(baseUrl, customer, apiKey) {
  const response = await fetch(`${baseUrl}/predict`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(apiKey ? { 'x-api-key': apiKey } : {}) },
    body: JSON.stringify(customer),
  });
  const requestId = response.headers.get('x-request-id');
  // A proxy or gateway in between may answer with HTML or plain text: keep its status and words.
  const text = await response.text();
  let body;
  try {
    body = JSON.parse(text);
  } catch {
    throw new Error(`churn API ${response.status} (request ${requestId ?? 'unknown'}): not JSON: ${text.slice(0, 200)}`);
  }
  if (!response.ok) {
    // 422: body.detail lists each problem with its field (loc) and message (msg).
    const problems = Array.isArray(body.detail) ? body.detail.map((issue) => `${issue.loc.slice(1).join('.')}: ${issue.msg}`) : [body.message];
    const retry = response.headers.get('retry-after');
    throw new Error(`churn API ${response.status} (request ${requestId}): ${problems.join('; ')}${retry ? ` (retry in ${retry} s)` : ''}`);
  }
  return { ...body, requestId };
}
