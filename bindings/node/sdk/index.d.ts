// Types of what `import ... from 'motia'` gives a step file in the
// motia-actors Node worker (index.js). Step configs and handlers are typed
// loosely; the stream parts follow Motia's own shapes, so that stream files
// and motia.config.ts written for Motia type-check against this SDK too.

/** A JSON Schema, or a zod schema (the worker converts it). */
export type StepSchemaInput = object;

// -- streams ------------------------------------------------------------------

/** Who joins a stream: a group, or one item of it. */
export interface StreamSubscription {
  groupId: string;
  id?: string;
}

export interface StreamConfig {
  name: string;
  schema?: StepSchemaInput;
  baseConfig?: { storageType: 'default' } | { storageType: 'custom'; factory: () => unknown };
  /** Whether a client with `authContext` (what `authenticate` returned) may join. */
  canAccess?: (subscription: StreamSubscription, authContext: any) => boolean | Promise<boolean>;
}

/** The WebSocket upgrade request: lower-case header names, and the request target. */
export interface StreamAuthRequest {
  headers: Record<string, string | string[] | undefined>;
  url?: string;
}

export interface StreamAuthConfig<TContext = any> {
  contextSchema?: StepSchemaInput;
  /** Returns the auth context (null: anonymous); a throw refuses the connection. */
  authenticate: (request: StreamAuthRequest) => TContext | null | undefined | Promise<TContext | null | undefined>;
}

export type BaseStreamItem<TData = unknown> = TData & { id: string };

export interface StateStreamEventChannel {
  groupId: string;
  id?: string;
}

export interface StateStreamEvent<TData = unknown> {
  type: string;
  data?: TData;
}

/** `ctx.streams.<name>`; each call rejects with an Error carrying the runtime's `code`. */
export interface MotiaStream<TData = any> {
  get(groupId: string, id: string): Promise<BaseStreamItem<TData> | null>;
  set(groupId: string, id: string, data: TData): Promise<BaseStreamItem<TData>>;
  delete(groupId: string, id: string): Promise<BaseStreamItem<TData> | null>;
  getGroup(groupId: string): Promise<BaseStreamItem<TData>[]>;
  list(groupId: string): Promise<BaseStreamItem<TData>[]>;
  send<T>(channel: StateStreamEventChannel, event: StateStreamEvent<T>): Promise<void>;
}

/** Motia's project config (motia.config.ts); only `streamAuth` is used. */
export interface Config {
  streamAuth?: StreamAuthConfig;
  [key: string]: unknown;
}

/** Returns `config` as given. */
export function config<T extends Config>(config: T): T;
export { config as defineConfig };

/** A stream definition whose operations (MotiaStream's, merged in) act for the running handler. */
export interface Stream<TData = any> extends MotiaStream<TData> {}
export class Stream<TData = any> {
  constructor(config: StreamConfig);
  readonly config: StreamConfig;
}

// -- handlers -------------------------------------------------------------------

export class Logger {
  info(msg: unknown, fields?: unknown): void;
  warn(msg: unknown, fields?: unknown): void;
  error(msg: unknown, fields?: unknown): void;
  debug(msg: unknown, fields?: unknown): void;
}

export interface Emit {
  topic: string;
  data?: unknown;
  messageGroupId?: string;
}

export class StateManager {
  get<T = any>(group: string, key: string): Promise<T | null>;
  set<T = any>(group: string, key: string, value: T): Promise<{ old_value: T | null; new_value: T }>;
  update<T = any>(group: string, key: string, ops: { type: string; path?: string; value?: unknown; by?: number }[]): Promise<{ old_value: T | null; new_value: T }>;
  delete<T = any>(group: string, key: string): Promise<T | null>;
  getGroup<T = any>(group: string): Promise<T[]>;
  list<T = any>(group: string): Promise<T[]>;
  clear(group: string): Promise<void>;
}

export interface FlowContextStateStreams {
  [name: string]: MotiaStream;
}

export interface FlowContext {
  traceId: string;
  flows: string[];
  attempt: number;
  messageId: string;
  emit(event: Emit): Promise<void>;
  enqueue(event: Emit): Promise<void>;
  state: StateManager;
  logger: Logger;
  streams: FlowContextStateStreams;
  trigger: { type: string };
  [key: string]: any;
}

export type Handlers = Record<string, (...args: any[]) => any>;
export type ApiRouteConfig = Record<string, any>;
export type EventConfig = Record<string, any>;
export type CronConfig = Record<string, any>;
export type NoopConfig = Record<string, any>;
export type StepConfig = Record<string, any>;

export function step(config: StepConfig, handler: (...args: any[]) => any): { config: StepConfig; handler: (...args: any[]) => any };
export function step(config: StepConfig): { handle(handler: (...args: any[]) => any): { config: StepConfig; handler: (...args: any[]) => any } };
export function multiTriggerStep(config: StepConfig): any;
export function http(method: string, path: string, options?: object, condition?: (...args: any[]) => unknown): any;
export { http as api };
export function queue(topic: string, options?: object, condition?: (...args: any[]) => unknown): any;
export function cron(expression: string, condition?: (...args: any[]) => unknown): any;
export function state(condition?: (...args: any[]) => unknown): any;
export function stream(streamName: string, optionsOrCondition?: object | ((...args: any[]) => unknown)): any;
export function jsonSchema<T>(schema: T): object;
export function enqueue(event: Emit): Promise<void>;
export const logger: Logger;
export const stateManager: StateManager;
export function isApiTrigger(t: any): boolean;
export function isQueueTrigger(t: any): boolean;
export function isCronTrigger(t: any): boolean;
export function isStateTrigger(t: any): boolean;
export function isStreamTrigger(t: any): boolean;
export function getApiTriggers(s: any): any[];
export function getQueueTriggers(s: any): any[];
export function getCronTriggers(s: any): any[];
export function getStateTriggers(s: any): any[];
export function getStreamTriggers(s: any): any[];
export function isApiStep(s: any): boolean;
export function isEventStep(s: any): boolean;
export function isCronStep(s: any): boolean;
export function isNoopStep(s: any): boolean;
