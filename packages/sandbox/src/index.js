/**
 * The sandbox: a simulated Salesforce org and a simulated Communications Mining, started together.
 * Used by `sf-cm-bridge sandbox`, by `sf-cm-bridge demo` and by integration tests. The org and
 * Communications Mining on their own are the package's `./org` and `./cm` entry points.
 */
import { startCommunicationsMining } from "./cm/index.js";
import { DEMO } from "./demo.js";
import { startActivity } from "./org/activity.js";
import { startSalesforceOrg } from "./org/index.js";
export { DEMO } from "./demo.js";
export async function startSandbox(options = {}) {
    const host = options.host ?? '127.0.0.1';
    const port = options.port ?? 0;
    const org = await startSalesforceOrg({
        host,
        port,
        connectedApps: [
            {
                clientId: DEMO.clientId,
                clientSecret: DEMO.clientSecret,
                redirectUris: options.redirectUris ?? [DEMO.redirectUri],
            },
        ],
        ...options.org,
    });
    let cm;
    try {
        cm = await startCommunicationsMining({
            host,
            port: port === 0 ? 0 : port + 1,
            basePath: DEMO.cmBasePath,
            tokens: [DEMO.cmToken],
            sources: [{ project: DEMO.cmProject, name: DEMO.cmSource }],
        });
    }
    catch (error) {
        await org.close();
        throw error;
    }
    const rate = options.activityPerMinute ?? 0;
    const activity = rate > 0 ? startActivity(org.store, { ratePerMinute: rate }) : undefined;
    return {
        org,
        cm,
        activity,
        async close() {
            activity?.stop();
            await Promise.all([cm.close(), org.close()]);
        },
    };
}
