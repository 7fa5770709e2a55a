/**
 * The bridge's error catalogue. Each class is named for what happened and carries a stable `code`
 * (`BRIDGE_ERR_<AREA>_<WHAT>`) and a `hint` that says what to do about it.
 */

export abstract class BridgeError extends Error {
  abstract readonly code: string;
  /** What the reader can do about it. */
  readonly hint: string | undefined;

  constructor(message: string, hint?: string) {
    super(message);
    this.name = new.target.name;
    this.hint = hint;
  }
}

/** One config problem: where (path inside the file, line) and what is wrong. */
export interface ConfigProblem {
  /** `integrations[0].objects.Case.comment.subject`; empty for file-level problems. */
  path: string;
  line?: number | undefined;
  message: string;
}

/** The config file is invalid; `problems` lists every problem found, not just the first. */
export class ConfigError extends BridgeError {
  readonly code = 'BRIDGE_ERR_CONFIG_INVALID';

  constructor(
    readonly file: string,
    readonly problems: ConfigProblem[],
  ) {
    super(
      problems.map((p) => formatProblem(file, p)).join('\n'),
      'fix the listed problems, then run `sf-cm-bridge check`',
    );
  }
}

/** `config/bridge.yaml: integrations[0].name: duplicate integration "acme/x" (line 12)` */
export function formatProblem(file: string, problem: ConfigProblem): string {
  const where = problem.path ? `${file}: ${problem.path}: ` : `${file}: `;
  const line = problem.line !== undefined ? ` (line ${problem.line})` : '';
  return `${where}${problem.message}${line}`;
}

/** Wrong command-line usage (exit 2). */
export class UsageError extends BridgeError {
  readonly code = 'BRIDGE_ERR_USAGE';
}

/** Redis does not answer at the configured URL. */
export class RedisUnreachableError extends BridgeError {
  readonly code = 'BRIDGE_ERR_REDIS_UNREACHABLE';
}
