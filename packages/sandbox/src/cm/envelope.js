export function ok(payload) {
    return { status: 'ok', ...payload };
}
export function sendError(reply, statusCode, message) {
    const body = { status: 'error', message };
    return reply.code(statusCode).type('application/json; charset=utf-8').send(body);
}
