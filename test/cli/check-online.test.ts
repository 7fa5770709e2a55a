import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startCommunicationsMining, type SimulatedCommunicationsMining } from '@sf-cm-bridge/sandbox/cm';
import { bridgeConfigYaml, CLIENT_ID, PUBLIC_URL, startBridgeHarness, type BridgeHarness } from '../helpers/bridge.ts';
import { freePort } from '../helpers/ports.ts';
import { runCli } from '../helpers/cli.ts';
import { authorise } from '../helpers/oauth.ts';

const CM_TOKEN = 'cm-online-token';
const GOOD = `      EmailMessage:
        where: "Incoming = true"
        comment:
          subject: Subject
          body: [TextBody, HtmlBody]
          properties:
            Case Number: Parent.CaseNumber
            Related: RelatedTo.Name
      CaseComment:
        mode: poll
        comment: { body: CommentBody }`;

describe('sf-cm-bridge check --online', () => {
  let harness: BridgeHarness;
  let cm: SimulatedCommunicationsMining;

  beforeEach(async () => {
    cm = await startCommunicationsMining({
      basePath: '/t/reinfer_',
      tokens: [CM_TOKEN],
      sources: [{ project: 'acme', name: 'emails' }],
    });
    harness = await startBridgeHarness({ cmUrl: cm.url, cmToken: CM_TOKEN, objects: GOOD });
  });
  afterEach(async () => {
    await harness.close();
    await cm.close();
  });

  function configFile(objects: string, cmToken = CM_TOKEN, pubsubUrl?: string): string {
    const file = join(mkdtempSync(join(tmpdir(), 'sfcm-online-')), 'bridge.yaml');
    writeFileSync(
      file,
      bridgeConfigYaml(harness.org.url, harness.redis.prefix, {
        cmUrl: cm.url,
        cmToken,
        objects,
        ...(pubsubUrl !== undefined ? { transport: { kind: 'pubsub', url: pubsubUrl } } : {}),
      }),
    );
    return file;
  }

  it('with transport pubsub: the Pub/Sub endpoint answers and each topic is subscribable, or says which is not', async () => {
    await authorise(harness.context);
    const ok = await runCli(['check', '--online', '--config', configFile(GOOD, CM_TOKEN, harness.org.pubsubUrl)]);
    expect(ok.stdout).toContain('EmailMessage  Pub/Sub topic /data/EmailMessageChangeEvent subscribable');
    expect(ok.code).toBe(0);

    harness.org.pubsub.denyTopic('/data/EmailMessageChangeEvent', true);
    const denied = await runCli(['check', '--online', '--config', configFile(GOOD, CM_TOKEN, harness.org.pubsubUrl)]);
    expect(denied.stdout + denied.stderr).toMatch(
      /Pub\/Sub topic \/data\/EmailMessageChangeEvent: the integration user may not subscribe/,
    );
    expect(denied.code).toBe(1);

    const closed = `127.0.0.1:${await freePort()}`;
    const down = await runCli(['check', '--online', '--config', configFile(GOOD, CM_TOKEN, closed)]);
    expect(down.stdout + down.stderr).toContain(`Pub/Sub endpoint ${closed} does not answer`);
    expect(down.code).toBe(1);
  });

  it('passes when every object, field, relationship path and where clause exists in the org and the source answers', async () => {
    await authorise(harness.context);
    const result = await runCli(['check', '--online', '--config', configFile(GOOD)]);
    expect(result.stderr).toBe('');
    expect(result.stdout).toContain('target      acme/emails: reachable');
    expect(result.stdout).toContain(
      `salesforce  ${harness.org.url}: answers; app ${CLIENT_ID} is known and accepts ${PUBLIC_URL}/external/salesforce/oauth2/callback`,
    );
    expect(result.stdout).toContain('EmailMessage  readable;');
    expect(result.stdout).toContain('all online checks passed');
    expect(result.code).toBe(0);
  });

  it('names every field the org does not have, a where clause it rejects, and a wrong CM token; exits 1', async () => {
    await authorise(harness.context);
    const bad = `      EmailMessage:
        where: "Incomming = true"
        comment:
          subject: Subjekt
          body: TextBody
          properties:
            Case Number: Parent.CaseNumbr`;
    const result = await runCli(['check', '--online', '--config', configFile(bad, 'wrong-cm-token')]);
    expect(result.code).toBe(1);
    expect(result.stdout).toContain('problem: acme/emails: target: Communications Mining source acme/emails:');
    expect(result.stdout).toContain(
      'problem: acme/emails: objects.EmailMessage.comment: "Subjekt" is not a readable field of EmailMessage',
    );
    expect(result.stdout).toContain('"Parent.CaseNumbr" is not a readable field of EmailMessage');
    expect(result.stdout).toContain(
      'problem: acme/emails: objects.EmailMessage.where: test query failed: INVALID_FIELD',
    );
    expect(result.stdout).not.toContain('wrong-cm-token');
  });

  it('says the integration must be authorised first', async () => {
    const result = await runCli(['check', '--online', '--config', configFile(GOOD)]);
    expect(result.code).toBe(1);
    expect(result.stdout).toContain('integration acme/emails is not authorised');
  });

  describe('before anyone authorises: the login host and the app', () => {
    const run = (edit: (yaml: string) => string) => {
      const file = configFile(GOOD);
      writeFileSync(file, edit(readFileSync(file, 'utf8')));
      return runCli(['check', '--online', '--config', file]);
    };

    it('an unknown consumer key: says Salesforce does not know the app and what to compare', async () => {
      const result = await run((yaml) => yaml.replace(`clientId: ${CLIENT_ID}`, 'clientId: 3MVG9NotThisOne'));
      expect(result.code).toBe(1);
      expect(result.stdout).toContain(
        'problem: acme/emails: salesforce: Salesforce does not know this app (Salesforce answered invalid_client_id: client identifier invalid)',
      );
      expect(result.stdout).toContain('Consumer Key');
      expect(result.stdout).toContain('#consumer-key-and-secret');
    });

    it('a callback URL the app does not have: names the URL to set', async () => {
      const result = await run((yaml) =>
        yaml.replace(`publicUrl: ${PUBLIC_URL}`, 'publicUrl: https://elsewhere.example.com'),
      );
      expect(result.code).toBe(1);
      expect(result.stdout).toContain(
        'The callback URL does not match the app (Salesforce answered redirect_uri_mismatch',
      );
      expect(result.stdout).toContain(
        'set the Callback URL to https://elsewhere.example.com/external/salesforce/oauth2/callback',
      );
    });

    it('a login host that does not answer', async () => {
      const closed = `http://127.0.0.1:${await freePort()}`;
      const result = await run((yaml) => yaml.replace(`loginUrl: ${harness.org.url}`, `loginUrl: ${closed}`));
      expect(result.code).toBe(1);
      expect(result.stdout).toContain(`problem: acme/emails: salesforce: the login host ${closed} does not answer`);
    });
  });
});
