import type { ServerResponse } from "node:http";
import type { FastifyReply } from "fastify";

/**
 * Takes the response over from Fastify and starts a Server-Sent Events stream on it: no caching,
 * no proxy buffering, Nagle off so each event leaves at once. Returns the raw response to write to.
 */
export function openSseStream(reply: FastifyReply): ServerResponse {
  reply.hijack();
  const res = reply.raw;
  res.writeHead(200, {
    "content-type": "text/event-stream; charset=utf-8",
    "cache-control": "no-cache, no-transform",
    connection: "keep-alive",
    "x-accel-buffering": "no",
  });
  res.socket?.setNoDelay(true);
  return res;
}
