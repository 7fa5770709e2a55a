/** The failure the change worker raises itself (the others come from Salesforce and Communications Mining). */
import { BridgeError } from '../errors.ts';

/** The worker is closing: the batch in hand is handed back to the queue untouched. */
export class WorkerClosingError extends BridgeError {
  readonly code = 'BRIDGE_ERR_WORKER_CLOSING';

  constructor() {
    super('the worker is shutting down; the batch goes back to the queue');
  }
}
