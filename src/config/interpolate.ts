/**
 * `${VAR}` and `${VAR:-default}` in config values, replaced from the environment before validation.
 * Substitution happens on parsed YAML values (never on the raw text), so a value can never inject
 * YAML structure, and every problem is reported with the path of the value that holds it.
 * `$${` stands for a literal `${`.
 */

export interface InterpolationProblem {
  path: (string | number)[];
  message: string;
}

const REFERENCE = /\$\$\{|\$\{([^}]*)\}|\$\{/g;
const VARIABLE_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** Replace references in one string; problems are pushed, the result keeps going for more reports. */
export function interpolateString(
  text: string,
  env: NodeJS.ProcessEnv,
  path: (string | number)[],
  problems: InterpolationProblem[],
): string {
  return text.replace(REFERENCE, (match: string, inner: string | undefined) => {
    if (match === '$${') return '${';
    if (inner === undefined) {
      problems.push({ path, message: 'unterminated "${": write ${VAR} or ${VAR:-default} (or $${ for a literal)' });
      return match;
    }
    const separator = inner.indexOf(':-');
    const name = separator === -1 ? inner : inner.slice(0, separator);
    const fallback = separator === -1 ? undefined : inner.slice(separator + 2);
    if (!VARIABLE_NAME.test(name)) {
      problems.push({ path, message: `"\${${inner}}" is not a variable reference: names are letters, digits and _` });
      return match;
    }
    const value = env[name];
    if (value !== undefined && value !== '') return value;
    if (fallback !== undefined) return fallback;
    problems.push({
      path,
      message: `environment variable ${name} is not set (and has no default: write \${${name}:-default} to give one)`,
    });
    return match;
  });
}

/** A deep copy of a parsed YAML value with every string interpolated. */
export function interpolate(
  value: unknown,
  env: NodeJS.ProcessEnv,
  problems: InterpolationProblem[],
  path: (string | number)[] = [],
): unknown {
  if (typeof value === 'string') return interpolateString(value, env, path, problems);
  if (Array.isArray(value)) return value.map((item, index) => interpolate(item, env, problems, [...path, index]));
  if (value !== null && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [key, item] of Object.entries(value)) out[key] = interpolate(item, env, problems, [...path, key]);
    return out;
  }
  return value;
}
