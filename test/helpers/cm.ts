/** A simulated Communications Mining with one source and one token, for the sink's tests. */
import { startCommunicationsMining, type SimulatedCommunicationsMining } from '@sf-cm-bridge/sandbox/cm';

export const TOKEN = 'cm-test-token';
export const PROJECT = 'acme';
export const SOURCE = 'salesforce';
export const BASE_PATH = '/org/tenant/reinfer_';

export function startTestCm(): Promise<SimulatedCommunicationsMining> {
  return startCommunicationsMining({
    tokens: [TOKEN],
    basePath: BASE_PATH,
    sources: [{ project: PROJECT, name: SOURCE }],
  });
}
