function field(name, label, type, opts = {}) {
    return {
        name,
        label,
        type,
        nillable: true,
        custom: name.endsWith('__c'),
        createable: true,
        updateable: true,
        calculated: false,
        ...(type === 'string' || type === 'email' || type === 'phone' || type === 'url' ? { length: 255 } : {}),
        ...opts,
    };
}
/** A system-maintained field: read-only, never null. */
function systemField(name, label, type, opts = {}) {
    return field(name, label, type, { nillable: false, createable: false, updateable: false, ...opts });
}
function reference(name, label, to, relationshipName, opts = {}) {
    return field(name, label, 'reference', { length: 18, referenceTo: to, relationshipName, ...opts });
}
/** Picklist entries as `[value, label]`; the first marked `default` becomes the defaultValue. */
function picklist(name, label, entries, opts = {}) {
    const { defaultValue, ...rest } = opts;
    const picklistValues = entries.map(([value, valueLabel]) => ({
        value,
        label: valueLabel,
        active: true,
        defaultValue: value === defaultValue,
    }));
    return field(name, label, 'picklist', { length: 255, picklistValues, ...rest });
}
/** Id, IsDeleted, audit fields and SystemModstamp: every object has them (docs/salesforce.md#object-fields). */
function systemFields() {
    return [
        systemField('Id', 'Record ID', 'id', { length: 18 }),
        systemField('IsDeleted', 'Deleted', 'boolean'),
        systemField('CreatedDate', 'Created Date', 'datetime'),
        systemField('CreatedById', 'Created By ID', 'reference', {
            length: 18,
            referenceTo: ['User'],
            relationshipName: 'CreatedBy',
        }),
        systemField('LastModifiedDate', 'Last Modified Date', 'datetime'),
        systemField('LastModifiedById', 'Last Modified By ID', 'reference', {
            length: 18,
            referenceTo: ['User'],
            relationshipName: 'LastModifiedBy',
        }),
        systemField('SystemModstamp', 'System Modstamp', 'datetime'),
    ];
}
function ownerField(to = ['Group', 'User']) {
    // Defaults to the acting user on create, so it is createable but not required.
    return reference('OwnerId', 'Owner ID', to, 'Owner', { nillable: false });
}
/** Names of the fields a CDC event never carries (docs/salesforce.md#cdc-supported-objects). */
export const FIELDS_NEVER_IN_CHANGE_EVENTS = new Set(['Id', 'IsDeleted', 'SystemModstamp']);
const emailMessage = {
    name: 'EmailMessage',
    label: 'Email Message',
    labelPlural: 'Email Messages',
    keyPrefix: '02s',
    custom: false,
    cdc: true,
    fields: [
        ...systemFields(),
        field('Subject', 'Subject', 'string', { length: 3000 }),
        field('TextBody', 'Text Body', 'textarea', { length: 131072 }),
        field('HtmlBody', 'HTML Body', 'textarea', { length: 131072 }),
        field('FromAddress', 'From Address', 'email'),
        field('FromName', 'From Name', 'string', { length: 1000 }),
        reference('FromId', 'User ID', ['Contact', 'Lead', 'User'], 'From'),
        field('ToAddress', 'To Address', 'string', { length: 4000 }),
        field('CcAddress', 'CC Address', 'string', { length: 4000 }),
        field('BccAddress', 'BCC Address', 'string', { length: 4000 }),
        field('MessageDate', 'Message Date', 'datetime'),
        reference('ParentId', 'Case ID', ['Case'], 'Parent'),
        reference('RelatedToId', 'Related To ID', ['Account', 'Case', 'Contact'], 'RelatedTo'),
        reference('ActivityId', 'Activity ID', ['Task'], 'Activity'),
        reference('ReplyToEmailMessageId', 'Email Message ID', ['EmailMessage'], 'ReplyToEmailMessage'),
        field('Incoming', 'Is Incoming', 'boolean', { nillable: false }),
        picklist('Status', 'Status', [
            ['0', 'New'],
            ['1', 'Read'],
            ['2', 'Replied'],
            ['3', 'Sent'],
            ['4', 'Forwarded'],
            ['5', 'Draft'],
        ], { nillable: false, defaultValue: '0' }),
        field('HasAttachment', 'Has Attachment', 'boolean', { nillable: false, createable: false, updateable: false }),
        field('Headers', 'Headers', 'textarea', { length: 32000 }),
        field('MessageIdentifier', 'Message ID', 'string'),
        field('ThreadIdentifier', 'Thread ID', 'string'),
        field('IsExternallyVisible', 'Is Externally Visible', 'boolean', { nillable: false }),
    ],
};
const caseObject = {
    name: 'Case',
    label: 'Case',
    labelPlural: 'Cases',
    keyPrefix: '500',
    custom: false,
    cdc: true,
    fields: [
        ...systemFields(),
        // Autonumber: read-only, assigned by the store (`00001001`, …).
        field('CaseNumber', 'Case Number', 'string', { length: 30, nillable: false, createable: false, updateable: false }),
        field('Subject', 'Subject', 'string', { length: 255 }),
        field('Description', 'Description', 'textarea', { length: 32000 }),
        picklist('Status', 'Status', [
            ['New', 'New'],
            ['Working', 'Working'],
            ['Escalated', 'Escalated'],
            ['Closed', 'Closed'],
        ], { defaultValue: 'New' }),
        picklist('Priority', 'Priority', [
            ['High', 'High'],
            ['Medium', 'Medium'],
            ['Low', 'Low'],
        ], { defaultValue: 'Medium' }),
        picklist('Origin', 'Case Origin', [
            ['Email', 'Email'],
            ['Phone', 'Phone'],
            ['Web', 'Web'],
        ]),
        picklist('Type', 'Case Type', [
            ['Mechanical', 'Mechanical'],
            ['Electrical', 'Electrical'],
            ['Electronic', 'Electronic'],
            ['Structural', 'Structural'],
            ['Other', 'Other'],
        ]),
        picklist('Reason', 'Case Reason', [
            ['Installation', 'Installation'],
            ['Equipment Complexity', 'Equipment Complexity'],
            ['Performance', 'Performance'],
            ['Breakdown', 'Breakdown'],
            ['Equipment Design', 'Equipment Design'],
            ['Feedback', 'Feedback'],
            ['Other', 'Other'],
        ]),
        field('SuppliedEmail', 'Web Email', 'email', { length: 80 }),
        field('SuppliedName', 'Web Name', 'string', { length: 80 }),
        field('SuppliedPhone', 'Web Phone', 'string', { length: 40 }),
        field('SuppliedCompany', 'Web Company', 'string', { length: 80 }),
        reference('ContactId', 'Contact ID', ['Contact'], 'Contact'),
        reference('AccountId', 'Account ID', ['Account'], 'Account'),
        ownerField(),
        reference('ParentId', 'Parent Case ID', ['Case'], 'Parent'),
        // Derived from Status by the store.
        field('IsClosed', 'Closed', 'boolean', { nillable: false, createable: false, updateable: false }),
        field('IsEscalated', 'Escalated', 'boolean', { nillable: false }),
        field('ClosedDate', 'Closed Date', 'datetime', { createable: false, updateable: false }),
    ],
};
const caseComment = {
    name: 'CaseComment',
    label: 'Case Comment',
    labelPlural: 'Case Comments',
    keyPrefix: '00a',
    custom: false,
    cdc: false,
    fields: [
        ...systemFields(),
        field('CommentBody', 'Body', 'textarea', { length: 4000 }),
        reference('ParentId', 'Parent Case ID', ['Case'], 'Parent', { nillable: false, updateable: false }),
        field('IsPublished', 'Published', 'boolean', { nillable: false }),
        field('CreatorName', 'Creator Name', 'string', { length: 121, createable: false, updateable: false }),
    ],
};
const task = {
    name: 'Task',
    label: 'Task',
    labelPlural: 'Tasks',
    keyPrefix: '00T',
    custom: false,
    cdc: true,
    fields: [
        ...systemFields(),
        field('Subject', 'Subject', 'string', { length: 255 }),
        field('Description', 'Comments', 'textarea', { length: 32000 }),
        picklist('Status', 'Status', [
            ['Not Started', 'Not Started'],
            ['In Progress', 'In Progress'],
            ['Completed', 'Completed'],
            ['Waiting on someone else', 'Waiting on someone else'],
            ['Deferred', 'Deferred'],
        ], { nillable: false, defaultValue: 'Not Started' }),
        picklist('Priority', 'Priority', [
            ['High', 'High'],
            ['Normal', 'Normal'],
            ['Low', 'Low'],
        ], { nillable: false, defaultValue: 'Normal' }),
        field('ActivityDate', 'Due Date Only', 'date'),
        reference('WhatId', 'Related To ID', ['Account', 'Case', 'Complaint__c'], 'What'),
        reference('WhoId', 'Name ID', ['Contact', 'Lead'], 'Who'),
        picklist('TaskSubtype', 'Task Subtype', [
            ['Task', 'Task'],
            ['Email', 'Email'],
            ['Call', 'Call'],
        ]),
        ownerField(['User']),
    ],
};
const complaint = {
    name: 'Complaint__c',
    label: 'Complaint',
    labelPlural: 'Complaints',
    keyPrefix: 'a01',
    custom: true,
    cdc: true,
    fields: [
        ...systemFields(),
        field('Name', 'Complaint Name', 'string', { length: 80, nillable: false, custom: false }),
        field('Details__c', 'Details', 'textarea', { length: 32768 }),
        field('Amount__c', 'Amount', 'currency'),
        // Labels differ from values, so code that shows labels must read describe.
        picklist('Severity__c', 'Severity', [
            ['S1', 'Critical'],
            ['S2', 'Major'],
            ['S3', 'Minor'],
        ]),
        reference('Case__c', 'Case', ['Case'], 'Case__r'),
        ownerField(),
    ],
};
const account = {
    name: 'Account',
    label: 'Account',
    labelPlural: 'Accounts',
    keyPrefix: '001',
    custom: false,
    cdc: true,
    fields: [
        ...systemFields(),
        field('Name', 'Account Name', 'string', { nillable: false }),
        field('Description', 'Account Description', 'textarea', { length: 32000 }),
        ownerField(['User']),
    ],
};
const contact = {
    name: 'Contact',
    label: 'Contact',
    labelPlural: 'Contacts',
    keyPrefix: '003',
    custom: false,
    cdc: true,
    fields: [
        ...systemFields(),
        field('FirstName', 'First Name', 'string', { length: 40 }),
        field('LastName', 'Last Name', 'string', { length: 80, nillable: false }),
        field('Email', 'Email', 'email', { length: 80 }),
        reference('AccountId', 'Account ID', ['Account'], 'Account'),
        ownerField(['User']),
    ],
};
const user = {
    name: 'User',
    label: 'User',
    labelPlural: 'Users',
    keyPrefix: '005',
    custom: false,
    // Salesforce supports CDC on User, but the sandbox org does not select it.
    cdc: false,
    fields: [
        ...systemFields(),
        field('Username', 'Username', 'string', { length: 80, nillable: false }),
        field('Name', 'Full Name', 'string', { length: 121, createable: false, updateable: false }),
        field('FirstName', 'First Name', 'string', { length: 40 }),
        field('LastName', 'Last Name', 'string', { length: 80, nillable: false }),
        field('Email', 'Email', 'email', { length: 128, nillable: false }),
        field('IsActive', 'Active', 'boolean', { nillable: false }),
    ],
};
/** Fresh copies of every object the sandbox org knows, in describeGlobal order. */
export function defaultObjects() {
    return structuredClone([account, caseObject, caseComment, complaint, contact, emailMessage, task, user]);
}
/** Case-insensitive field lookup, the way the API resolves field names. */
export function findField(object, fieldName) {
    const wanted = fieldName.toLowerCase();
    return object.fields.find((f) => f.name.toLowerCase() === wanted);
}
/** The CDC channel of one object (docs/salesforce.md#cdc-channels): `/data/CaseChangeEvent`, `/data/Complaint__ChangeEvent`. */
export function changeEventChannelOf(object) {
    return object.custom ? `/data/${object.name.replace(/__c$/, '__')}ChangeEvent` : `/data/${object.name}ChangeEvent`;
}
/** The channel that carries every selected entity's events. */
export const ALL_CHANGE_EVENTS_CHANNEL = '/data/ChangeEvents';
