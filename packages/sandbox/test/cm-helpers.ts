/** Shared helpers for the simulated Communications Mining tests (test/cm-*.test.ts). */
import {
  startCommunicationsMining,
  type CommunicationsMiningOptions,
  type SimulatedCommunicationsMining,
} from '../src/cm/index.ts';

export const TOKEN = 'cm-test-token';
export const PROJECT = 'acme';
export const SOURCE = 'salesforce';
export const BASE_PATH = '/org/tenant/reinfer_';

export function startTestCm(opts: Partial<CommunicationsMiningOptions> = {}): Promise<SimulatedCommunicationsMining> {
  return startCommunicationsMining({
    tokens: [TOKEN],
    basePath: BASE_PATH,
    sources: [{ project: PROJECT, name: SOURCE }],
    ...opts,
  });
}

/** The server's origin, without the base path: where the control API lives. */
export function originOf(cm: SimulatedCommunicationsMining): string {
  return new URL(cm.url).origin;
}

/** A comment that passes every rule of docs/communications-mining.md#comment-model; override what a test is about. */
export function validComment(id: string, overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    id,
    timestamp: '2024-03-05T14:22:10.000000+00:00',
    messages: [{ from: 'jane@customer.example', body: { text: `Body of ${id}` } }],
    user_properties: { 'string:SF Object': 'EmailMessage' },
    ...overrides,
  };
}

export interface JsonResponse {
  status: number;
  headers: Headers;
  body: Record<string, unknown>;
}

/** Calls `${cm.url}/api/v1<path>` with the test token and parses the JSON answer. */
export async function callApi(
  cm: SimulatedCommunicationsMining,
  method: string,
  path: string,
  body?: unknown,
  headers: Record<string, string> = { authorization: `Bearer ${TOKEN}` },
): Promise<JsonResponse> {
  const init: RequestInit = { method, headers: { ...headers } };
  if (body !== undefined) {
    init.body = typeof body === 'string' ? body : JSON.stringify(body);
    (init.headers as Record<string, string>)['content-type'] = 'application/json';
  }
  const response = await fetch(`${cm.url}/api/v1${path}`, init);
  return {
    status: response.status,
    headers: response.headers,
    body: (await response.json()) as Record<string, unknown>,
  };
}

export function sync(cm: SimulatedCommunicationsMining, comments: unknown[], source = SOURCE): Promise<JsonResponse> {
  return callApi(cm, 'POST', `/sources/${PROJECT}/${source}/sync`, { comments });
}

/** Calls the control API under `/_sandbox/cm` (no token, no base path). */
export async function callControl(
  cm: SimulatedCommunicationsMining,
  method: string,
  path: string,
  body?: unknown,
): Promise<JsonResponse> {
  const init: RequestInit = { method };
  if (body !== undefined) {
    init.body = typeof body === 'string' ? body : JSON.stringify(body);
    init.headers = { 'content-type': 'application/json' };
  }
  const response = await fetch(`${originOf(cm)}/_sandbox/cm${path}`, init);
  return {
    status: response.status,
    headers: response.headers,
    body: (await response.json()) as Record<string, unknown>,
  };
}
