import { it } from 'vitest';
import { startReconcileHarness } from './harness.ts';
it('debug', async () => {
  const h = await startReconcileHarness({ objects: `      CaseComment:
        mode: poll
        comment:
          thread: ParentId
          body: CommentBody
      EmailMessage:
        comment:
          body: TextBody
          properties:
            Case Priority: Parent.Priority` });
  await h.startWorker();
  await h.startReconciler();
  const parent = h.bridge.org.store.create('Case', { Subject: 'S', Description: 'case' }, { silent: true });
  h.bridge.org.store.create('CaseComment', { ParentId: String(parent.Id), CommentBody: 'Called the customer' });
  h.bridge.org.store.create('EmailMessage', { TextBody: 'x', ParentId: String(parent.Id), Incoming: true }, {silent: true});
  await new Promise((r) => setTimeout(r, 3000));
  console.log(h.bridge.logLines.filter((l) => /error|warn|fail/i.test(l)).slice(0, 10).join('\n'));
  await h.close();
});
