/** mulberry32: a small, fast, seedable PRNG, enough for repeatable demo traffic. */
export function seededRandom(seed) {
    let a = seed >>> 0;
    return () => {
        a = (a + 0x6d2b79f5) >>> 0;
        let t = a;
        t = Math.imul(t ^ (t >>> 15), t | 1);
        t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
        return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    };
}
const CUSTOMERS = [
    ['Ada Lovelace', 'ada@analytical.example.com'],
    ['Grace Hopper', 'grace@cobol.example.org'],
    ['Alan Turing', 'alan@bletchley.example.co.uk'],
    ['Katherine Johnson', 'katherine@orbit.example.com'],
    ['Linus Pauling', 'linus@vitamin.example.net'],
    ['Hedy Lamarr', 'hedy@frequency.example.com'],
];
const TOPICS = [
    [
        'Invoice INV-{n} charged twice',
        'I was charged twice for invoice INV-{n} this month. Please refund the duplicate payment.',
    ],
    [
        'Cannot log in to the portal',
        'Since yesterday the portal says my password is wrong, and the reset email never arrives.',
    ],
    ['Delivery {n} arrived damaged', 'Order {n} arrived today with a cracked casing. Can you send a replacement?'],
    ['Change of billing address', 'We moved offices. Please update the billing address on account {n}.'],
    [
        'Complaint about support response time',
        'I opened a ticket a week ago and nobody has answered. This is not acceptable.',
    ],
    ['Cancel subscription {n}', 'Please cancel subscription {n} at the end of the current term and confirm by email.'],
];
const CUSTOMER_REPLIES = [
    'Any update on this? It is getting urgent.',
    'Thanks, that worked. One more question though: is there a fee?',
    'I attached the photos you asked for.',
    'This still is not fixed. I would like to speak to a manager.',
];
const AGENT_REPLIES = [
    'Thank you for reaching out. We are looking into this and will get back to you within one business day.',
    'We have issued a refund; it should appear on your statement in 3-5 business days.',
    'Could you send us the order number and a photo of the issue?',
    'This is now resolved on our side. Please let us know if anything else comes up.',
];
const COMMENTS = [
    'Called the customer, left a voicemail.',
    'Escalated to billing team.',
    'Waiting on warehouse confirmation.',
    'Duplicate of an earlier case; linked.',
];
const WEIGHTS = [
    ['newCase', 30],
    ['customerReply', 20],
    ['agentReply', 20],
    ['statusChange', 14],
    ['caseComment', 10],
    ['deleteEmail', 4],
    ['deleteCase', 2],
];
export function startActivity(store, opts) {
    const random = opts.random ?? Math.random;
    const now = opts.now ?? Date.now;
    const support = opts.supportAddress ?? 'support@sandbox.example.com';
    const open = [];
    let count = 0;
    let serial = 1000;
    let timer;
    let stopped = false;
    const pick = (items) => items[Math.floor(random() * items.length) % items.length];
    const messageDate = () => new Date(Math.floor(now() / 1000) * 1000).toISOString();
    const messageId = () => `<${(serial++).toString(36)}.${Math.floor(random() * 1e9).toString(36)}@mail.sandbox.example.com>`;
    const id = (record) => String(record.Id);
    function chooseKind() {
        if (open.length === 0)
            return 'newCase';
        const total = WEIGHTS.reduce((sum, [, w]) => sum + w, 0);
        let roll = random() * total;
        for (const [kind, weight] of WEIGHTS) {
            roll -= weight;
            if (roll < 0)
                return kind;
        }
        return 'newCase';
    }
    function newCase() {
        const customer = pick(CUSTOMERS);
        const [subjectTemplate, bodyTemplate] = pick(TOPICS);
        const n = String(10000 + Math.floor(random() * 90000));
        const subject = subjectTemplate.replace('{n}', n);
        const body = `Hello,\n\n${bodyTemplate.replace('{n}', n)}\n\nBest regards,\n${customer[0]}`;
        // Email-to-Case creates the Case and its first email in one transaction.
        const [caseRecord, email] = store.transaction((tx) => {
            const c = tx.create('Case', {
                Subject: subject,
                Description: body,
                Origin: 'Email',
                Status: 'New',
                Priority: pick(['High', 'Medium', 'Low']),
                SuppliedEmail: customer[1],
                SuppliedName: customer[0],
            });
            const e = tx.create('EmailMessage', {
                ParentId: id(c),
                RelatedToId: id(c),
                Subject: subject,
                TextBody: body,
                HtmlBody: `<p>${body.replace(/\n/g, '<br>')}</p>`,
                FromAddress: customer[1],
                FromName: customer[0],
                ToAddress: support,
                MessageDate: messageDate(),
                Incoming: true,
                Status: '0',
                MessageIdentifier: messageId(),
            });
            return [c, e];
        });
        open.push({ id: id(caseRecord), subject, customer, lastEmailId: id(email), emailIds: [id(email)] });
        return { kind: 'newCase', recordIds: [id(caseRecord), id(email)] };
    }
    function reply(c, incoming) {
        const text = incoming ? pick(CUSTOMER_REPLIES) : pick(AGENT_REPLIES);
        const body = incoming
            ? `${text}\n\n${c.customer[0]}`
            : `Hi ${c.customer[0].split(' ')[0] ?? ''},\n\n${text}\n\nSupport team`;
        const email = store.create('EmailMessage', {
            ParentId: c.id,
            RelatedToId: c.id,
            Subject: `Re: ${c.subject}`,
            TextBody: body,
            HtmlBody: `<p>${body.replace(/\n/g, '<br>')}</p>`,
            FromAddress: incoming ? c.customer[1] : support,
            FromName: incoming ? c.customer[0] : 'Support',
            ToAddress: incoming ? support : c.customer[1],
            MessageDate: messageDate(),
            Incoming: incoming,
            Status: incoming ? '0' : '3',
            MessageIdentifier: messageId(),
            ReplyToEmailMessageId: c.lastEmailId,
        });
        c.lastEmailId = id(email);
        c.emailIds.push(id(email));
        if (!incoming && store.get(c.id)?.Status === 'New')
            store.update(c.id, { Status: 'Working' });
        return { kind: incoming ? 'customerReply' : 'agentReply', recordIds: [id(email)] };
    }
    function statusChange(c) {
        const status = pick(['Working', 'Escalated', 'Closed']);
        store.update(c.id, { Status: status });
        if (status === 'Closed')
            open.splice(open.indexOf(c), 1);
        return { kind: 'statusChange', recordIds: [c.id] };
    }
    function run(kind) {
        if (kind === 'newCase')
            return newCase();
        const c = pick(open);
        switch (kind) {
            case 'customerReply':
                return reply(c, true);
            case 'agentReply':
                return reply(c, false);
            case 'statusChange':
                return statusChange(c);
            case 'caseComment': {
                const comment = store.create('CaseComment', {
                    ParentId: c.id,
                    CommentBody: pick(COMMENTS),
                    IsPublished: random() < 0.3,
                });
                return { kind, recordIds: [id(comment)] };
            }
            case 'deleteEmail': {
                // Never the first email: the Case would lose the message that opened it.
                const candidates = c.emailIds.slice(1);
                if (candidates.length === 0)
                    return reply(c, true);
                const victim = pick(candidates);
                store.delete(victim);
                c.emailIds.splice(c.emailIds.indexOf(victim), 1);
                if (c.lastEmailId === victim)
                    c.lastEmailId = c.emailIds.at(-1) ?? c.lastEmailId;
                return { kind, recordIds: [victim] };
            }
            case 'deleteCase':
                store.delete(c.id);
                open.splice(open.indexOf(c), 1);
                return { kind, recordIds: [c.id] };
        }
    }
    function step() {
        const kind = chooseKind();
        count++;
        try {
            return run(kind);
        }
        catch {
            // Someone else (a test, the Control API) changed a record under us: forget stale cases.
            for (let i = open.length - 1; i >= 0; i--) {
                const c = open[i];
                if (c && !store.get(c.id))
                    open.splice(i, 1);
            }
            return newCase();
        }
    }
    function schedule() {
        if (stopped || opts.ratePerMinute <= 0)
            return;
        timer = setTimeout(() => {
            step();
            schedule();
        }, 60_000 / opts.ratePerMinute);
        timer.unref();
    }
    schedule();
    return {
        step,
        stop() {
            stopped = true;
            if (timer)
                clearTimeout(timer);
        },
        get count() {
            return count;
        },
    };
}
