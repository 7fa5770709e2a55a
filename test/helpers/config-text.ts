/** A minimal valid config as YAML text, for tests that change one thing at a time. */
export const VALID_KEY = Buffer.alloc(32, 7).toString('base64');

export function configYaml(overrides: { objects?: string; extraIntegration?: string; top?: string } = {}): string {
  return `${overrides.top ?? ''}
server:
  adminToken: test-admin-token-0123456789
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
${overrides.objects ?? `      EmailMessage:
        comment:
          body: TextBody`}
${overrides.extraIntegration ?? ''}`;
}
