/** The roles a process can run; kept apart from run.ts so the CLI lists them without loading them. */
export const ROLE_NAMES = ['api', 'subscriber', 'worker'] as const;
export type RoleName = (typeof ROLE_NAMES)[number];
