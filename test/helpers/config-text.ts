/** A minimal valid config as YAML text, for tests that change one thing at a time. */
export const VALID_KEY = 'XzfQ+X9mMdO8HKf9TRCypoTDI0yRjB2Xe2P/cUQ01yw=';
export const VALID_ADMIN_TOKEN = 'q9nH9NoISFw3riYpDUAakuuyUKt0vRYgPCQHBz2I';

export function configYaml(overrides: { objects?: string; extraIntegration?: string; top?: string } = {}): string {
  return `${overrides.top ?? ''}
server:
  adminToken: ${VALID_ADMIN_TOKEN}
secrets:
  encryptionKey: ${VALID_KEY}
integrations:
  - project: acme
    name: emails
    salesforce:
      clientId: client-id
      clientSecret: client-secret-value
    target:
      url: https://cloud.example.com/org/tenant/reinfer_/
      token: cm-token-value
      project: acme
      source: emails
    objects:
${
  overrides.objects ??
  `      EmailMessage:
        comment:
          body: TextBody`
}
${overrides.extraIntegration ?? ''}`;
}
