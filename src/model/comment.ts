/**
 * A Communications Mining comment as the bridge sends it to `/sync`
 * (docs/communications-mining.md#comment-model). Only the fields the bridge produces; response-only
 * fields (`uid`, `created_at`…) are never sent.
 */

export interface MessageText {
  text: string;
}

export interface Message {
  body: MessageText;
  subject?: MessageText;
  from?: string;
  to?: string[];
  cc?: string[];
  bcc?: string[];
  /** RFC 3339 */
  sent_at?: string;
}

/** Keys are `string:<label>` or `number:<label>`; the value type matches the prefix. */
export type UserProperties = Record<`string:${string}` | `number:${string}`, string | number>;

export interface Comment {
  /** Unique within the source: the raw mapped id (an 18-char Salesforce Id by default). */
  id: string;
  /** RFC 3339 with offset or Z. */
  timestamp: string;
  thread_id?: string;
  messages: Message[];
  user_properties?: UserProperties;
}
