/** A Salesforce REST error (docs/salesforce.md#rest-errors). */
export class RestError extends Error {
  constructor(
    readonly status: number,
    readonly errorCode: string,
    message: string,
    readonly fields?: string[],
  ) {
    super(message);
  }
  body(): Array<{ message: string; errorCode: string; fields?: string[] }> {
    return [{ ...(this.fields ? { fields: this.fields } : {}), message: this.message, errorCode: this.errorCode }];
  }
}
