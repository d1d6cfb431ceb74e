/**
 * How every answer leaves the worker: the security headers, conditional GET
 * and HEAD for cached entries, Server-Timing, and the one place a thrown
 * error becomes a response.
 */
import type { Context } from "hono";
import { ifNoneMatchHits } from "../cache/keys";
import type { Config } from "../config";
import { log } from "../util/log";
import { ImageError, InternalError } from "./errors";

export interface AppVariables {
	config: Config;
	/** Set by the derivative route so onError can cache a 404 briefly. */
	negativeCacheKey?: string;
}

export type AppEnv = { Bindings: Env; Variables: AppVariables };

export const SECURITY_HEADERS = {
	"X-Content-Type-Options": "nosniff",
	// Uploads can be anything (HTML, SVG): never let one run script on our origin.
	"Content-Security-Policy":
		"default-src 'none'; img-src 'self'; style-src 'unsafe-inline'; sandbox",
};

/** Conditional GET, HEAD and the X-Cache marker, for hits and misses alike. */
export function finish(c: Context<AppEnv>, stored: Response, state: "HIT" | "MISS"): Response {
	const headers = new Headers(stored.headers);
	headers.delete(REGISTRY_HEADER);
	headers.set("X-Cache", state);
	const etag = headers.get("ETag");
	if (
		etag &&
		stored.status === 200 &&
		ifNoneMatchHits(c.req.header("If-None-Match") ?? null, etag)
	) {
		headers.delete("Content-Length");
		return new Response(null, { status: 304, headers });
	}
	const body = c.req.method === "HEAD" ? null : stored.body;
	return new Response(body, { status: stored.status, headers });
}

/** Header a remembered 404 carries: the registry it was decided under (never sent on). */
export const REGISTRY_HEADER = "X-Size-Registry";

/** A missing size as the edge cache remembers it: briefly, and only under this registry. */
export function notFoundEntry(config: Config, registry: string): Response {
	return new Response("Not Found\n", {
		status: 404,
		headers: {
			"Content-Type": "text/plain; charset=utf-8",
			"Cache-Control": `public, max-age=${config.notFoundMaxAge}`,
			[REGISTRY_HEADER]: registry,
		},
	});
}

/** `Server-Timing` from named step durations (ms). */
export function serverTiming(t: Record<string, number>): string {
	return Object.entries(t)
		.map(([name, ms]) => `${name};dur=${ms.toFixed(1)}`)
		.join(", ");
}

/**
 * Turn any thrown value into a short response (plain text, or JSON for the
 * admin routes); log what ops need. Never cached: `no-store`.
 */
export function errorResponse(
	err: unknown,
	request?: Request,
	format: "text" | "json" = "text",
): Response {
	const error =
		err instanceof ImageError ? err : new InternalError("Internal Server Error", { cause: err });
	log(error.report ? "error" : "info", {
		status: error.status,
		error: error.name,
		message: error.message,
		url: request?.url,
		cause: error.cause instanceof Error ? `${error.cause.name}: ${error.cause.message}` : undefined,
	});
	const headers = new Headers({
		"Content-Type":
			format === "json" ? "application/json; charset=utf-8" : "text/plain; charset=utf-8",
		"Cache-Control": "no-store",
		"X-Content-Type-Options": "nosniff",
		...error.headers,
	});
	const text =
		format === "json"
			? `${JSON.stringify({ error: error.publicMessage, status: error.status, ...error.details }, null, 2)}\n`
			: `${error.publicMessage}\n`;
	const body = request?.method === "HEAD" ? null : text;
	return new Response(body, { status: error.status, headers });
}
