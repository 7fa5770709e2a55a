/**
 * The CM response envelope (docs/communications-mining.md#response-envelope): `{"status":"ok", …}` on
 * success, `{"status":"error","message":"…"}` with a 4xx/5xx status on failure.
 */
import type { FastifyReply } from 'fastify';

export interface ErrorEnvelope {
  status: 'error';
  message: string;
}

export function ok<T extends object>(payload: T): { status: 'ok' } & T {
  return { status: 'ok', ...payload };
}

export function sendError(reply: FastifyReply, statusCode: number, message: string): FastifyReply {
  const body: ErrorEnvelope = { status: 'error', message };
  return reply.code(statusCode).type('application/json; charset=utf-8').send(body);
}
