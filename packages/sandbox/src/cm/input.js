/** Bad input from a client or test; the HTTP layers answer it with 400 and this message. */
export class InvalidInputError extends Error {
    constructor(message) {
        super(message);
        this.name = 'InvalidInputError';
    }
}
/** Parses with a schema, or throws an `InvalidInputError` listing every problem with its path. */
export function parseOrThrow(schema, value, what) {
    const parsed = schema.safeParse(value);
    if (parsed.success)
        return parsed.data;
    throw new InvalidInputError(`Invalid ${what}: ${formatIssues(parsed.error)}`);
}
/** One line: `source.title: Too big: expected string to have <=128 characters; …`. */
export function formatIssues(error) {
    return error.issues
        .map((issue) => {
        const path = issue.path.length > 0 ? issue.path.map(String).join('.') : '(root)';
        return `${path}: ${issue.message}`;
    })
        .join('; ');
}
