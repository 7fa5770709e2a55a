/**
 * Fixed, public credentials of the demo: they only open the local sandbox, never a real org.
 * `config/demo.yaml` uses the same values.
 */
export const DEMO = {
    clientId: 'sf-cm-bridge-demo-consumer-key',
    clientSecret: 'sf-cm-bridge-demo-consumer-secret',
    redirectUri: 'http://localhost:8080/external/salesforce/oauth2/callback',
    cmToken: 'sf-cm-bridge-demo-cm-token',
    cmBasePath: '/demo-org/demo-tenant/reinfer_',
    cmProject: 'demo',
    cmSource: 'salesforce-demo',
};
