/**
 * Types for the parts of faye 1.4 we use (faye ships none). Read against
 * node_modules/faye/src/{protocol,engines,adapters}. Callbacks that faye calls with a `context`
 * argument are declared with it, because faye invokes them as `callback.call(context, …)`.
 *
 * jsforce 3 ships a small `declare module 'faye'` of its own (node_modules/jsforce/typings/faye),
 * which TypeScript merges with this one whenever jsforce's types are loaded; every member here is
 * kept compatible with it.
 */
declare module 'faye' {
  import type { IncomingMessage, Server as HttpServer, ServerResponse } from 'node:http';

  namespace faye {
    const VERSION: string;

    interface Advice {
      reconnect?: 'retry' | 'handshake' | 'none';
      interval?: number;
      timeout?: number;
      [key: string]: unknown;
    }

    /** A Bayeux message, request or reply. */
    interface Message {
      channel: string;
      id?: string;
      clientId?: string;
      data?: unknown;
      ext?: Record<string, unknown>;
      advice?: Advice;
      error?: string;
      successful?: boolean;
      subscription?: string | string[];
      connectionType?: string;
      version?: string;
      minimumVersion?: string;
      supportedConnectionTypes?: string[];
      reestablish?: boolean;
      [key: string]: unknown;
    }

    type MessageCallback = (message: Message | null) => void;

    /** Client-side extension: sees every message the client sends or receives. */
    interface ClientExtension {
      incoming?(message: Message, callback: MessageCallback): void;
      outgoing?(message: Message, callback: MessageCallback): void;
    }

    /**
     * Server-side extension. Declared with three parameters, faye passes the HTTP request as the
     * second argument (`fn.length >= 3`, protocol/extensible.js); it is null for in-process clients.
     */
    interface ServerExtension {
      incoming?(message: Message, request: IncomingMessage | null, callback: MessageCallback): void;
      outgoing?(message: Message, request: IncomingMessage | null, callback: MessageCallback): void;
      added?(server: unknown): void;
      removed?(server: unknown): void;
    }

    /** Parsed Bayeux error (`Error.parse`): `code` is null unless the whole string fits Bayeux's grammar. */
    interface BayeuxError {
      code: number | null;
      params: string[];
      message: string;
    }

    /** faye's Deferrable: thenable, rejected with a BayeuxError. */
    interface Deferrable<T> extends PromiseLike<T> {
      then<R1 = T, R2 = never>(
        onfulfilled?: ((value: T) => R1 | PromiseLike<R1>) | null,
        onrejected?: ((reason: BayeuxError) => R2 | PromiseLike<R2>) | null,
      ): Promise<R1 | R2>;
      callback(callback: (value: T) => void, context?: unknown): void;
      errback(callback: (error: BayeuxError) => void, context?: unknown): void;
    }

    interface Subscription extends Deferrable<void> {
      cancel(): void;
      unsubscribe(): void;
      /**
       * faye returns the Subscription, but jsforce ships its own `declare module 'faye'`
       * (jsforce/typings/faye) that merges with this one and says void; keep the two compatible.
       */
      withChannel(callback: (channel: string, data: unknown) => void, context?: unknown): void;
    }

    type Publication = Deferrable<void>;

    interface ClientOptions {
      /** Seconds between reconnects when the server gives no advice. */
      interval?: number;
      /** Seconds a request may take before it is abandoned (before server advice arrives). */
      timeout?: number;
      /** Seconds between handshake and transport retries. @defaultValue 5 */
      retry?: number;
      endpoints?: Record<string, string>;
      proxy?: unknown;
      tls?: unknown;
      ca?: unknown;
    }

    type ClientEvent = 'transport:down' | 'transport:up';

    class Client {
      constructor(endpoint: string, options?: ClientOptions);
      subscribe(channel: string, callback?: (data: unknown) => void, context?: unknown): Subscription;
      unsubscribe(channel: string, subscription?: Subscription): void;
      publish(channel: string, data: unknown): Publication;
      /** Undefined when the client was not connected. */
      disconnect(): Publication | undefined;
      handshake(callback?: () => void, context?: unknown): void;
      connect(callback?: () => void, context?: unknown): void;
      setHeader(name: string, value: string): void;
      /** e.g. `disable('websocket')`, `disable('autodisconnect')`. */
      disable(feature: string): void;
      addExtension(extension: ClientExtension): void;
      removeExtension(extension: ClientExtension): void;
      bind(event: ClientEvent, listener: () => void, context?: unknown): void;
      unbind(event: ClientEvent, listener?: () => void, context?: unknown): void;
    }

    /**
     * The engine proxy faye's Server talks to (engines/proxy.js). It owns the long-poll
     * connections and hands a custom engine (`engine.type`) to itself as `server`.
     */
    interface EngineProxy {
      readonly timeout: number;
      readonly interval: number;
      hasConnection(clientId: string): boolean;
      /** Queue messages on the client's open connection; false when it has none. */
      deliver(clientId: string, messages: Message[]): boolean;
      /** Answer the client's open long-poll now with what it has queued, and drop the connection. */
      flushConnection(clientId: string, close?: boolean): void;
      trigger(event: string, ...args: unknown[]): void;
      generateId(): string;
      debug(...args: unknown[]): void;
    }

    /** The storage/session engine interface (what engines/memory.js and faye-redis implement). */
    interface Engine {
      createClient(callback: (clientId: string) => void, context?: unknown): void;
      clientExists(clientId: string, callback: (exists: boolean) => void, context?: unknown): void;
      destroyClient(clientId: string, callback?: () => void, context?: unknown): void;
      ping(clientId: string): void;
      subscribe(clientId: string, channel: string, callback?: (ok: boolean) => void, context?: unknown): void;
      unsubscribe(clientId: string, channel: string, callback?: (ok: boolean) => void, context?: unknown): void;
      publish(message: Message, channels: string[]): void;
      emptyQueue(clientId: string): void;
      disconnect(): void;
    }

    interface EngineOptions {
      /** Engine class: faye calls `type.create(proxy, options)`. */
      type?: { create(proxy: EngineProxy, options: EngineOptions & { timeout?: number }): Engine };
      [key: string]: unknown;
    }

    interface NodeAdapterOptions {
      /** Path prefix faye answers (`/bayeux` by default). */
      mount?: string;
      /** Long-poll hold time in seconds (advice.timeout / 1000). @defaultValue 60 */
      timeout?: number;
      ping?: number;
      engine?: EngineOptions;
      extensions?: ServerExtension[];
    }

    type ServerEvent = 'handshake' | 'subscribe' | 'unsubscribe' | 'publish' | 'disconnect';

    class NodeAdapter {
      constructor(options?: NodeAdapterOptions);
      /** Takes over the server's `request` and `upgrade` listeners for the mount path. */
      attach(server: HttpServer): void;
      /** Whether a request is for the mount path. */
      check(request: IncomingMessage): boolean;
      handle(request: IncomingMessage, response: ServerResponse): void;
      addExtension(extension: ServerExtension): void;
      removeExtension(extension: ServerExtension): void;
      getClient(): Client;
      close(): void;
      bind(event: ServerEvent, listener: (...args: unknown[]) => void, context?: unknown): void;
      unbind(event: ServerEvent, listener?: (...args: unknown[]) => void, context?: unknown): void;
    }
  }

  export = faye;
}
