import { it } from 'vitest';
import { startReconcileHarness } from './harness.ts';
it('debug', async () => {
  const h = await startReconcileHarness({ objects: `      EmailMessage:
        where: "Incoming = true"
        comment:
          subject: Subject
          body: TextBody
          properties:
            Case Priority: Parent.Priority
      CaseComment:
        mode: poll
        comment:
          thread: ParentId
          body: CommentBody
      Case:
        comment:
          subject: Subject
          body: Description` });
  await h.startWorker();
  await h.startReconciler();
  const parent = h.bridge.org.store.create('Case', { Subject: 'S', Description: 'case' }, { silent: true });
  h.bridge.org.store.create('CaseComment', { ParentId: String(parent.Id), CommentBody: 'Called the customer' });
  h.bridge.org.store.create('EmailMessage', { TextBody: 'x', ParentId: String(parent.Id), Incoming: true }, {silent: true});
  await new Promise((r) => setTimeout(r, 3000)); console.log(h.cm.control.comments('acme','emails').map(c=>c.comment.id));
  console.log(h.bridge.logLines.filter((l) => /error|warn|fail|dead/i.test(l)).slice(0, 30).join('\n'));
  await h.close();
});
