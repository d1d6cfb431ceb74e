/**
 * Wiring only: routes, and the one place errors become responses.
 * Flow: route → parse path → resolve original → size math → pipeline → cache/HTTP.
 * Also: the size table (`${SIZES_PATH}/<upload>`) and, when enabled, the demo page at `/`.
 */
import { Hono } from "hono";
import { mountBenchRoutes } from "./bench";
import { type Config, loadConfig } from "./config";
import { serveDemo } from "./demo";
import { ImageError, InternalError, MethodNotAllowedError, NotFoundError } from "./errors";
import { parseImagePath } from "./path";
import { type AppEnv, serveDerivative, serveOriginal } from "./serve";
import { serveSizeTable } from "./size-table";

const IMAGE_METHODS = ["GET", "HEAD"] as const;

/** Turn any thrown value into a short plain-text response; log what ops need. */
export function errorResponse(err: unknown, request?: Request): Response {
	const error =
		err instanceof ImageError ? err : new InternalError("Internal Server Error", { cause: err });
	const log = {
		level: error.report ? "error" : "info",
		status: error.status,
		error: error.name,
		message: error.message,
		url: request?.url,
		cause: error.cause instanceof Error ? `${error.cause.name}: ${error.cause.message}` : undefined,
	};
	(error.report ? console.error : console.log)(JSON.stringify(log));
	const headers = new Headers({
		"Content-Type": "text/plain; charset=utf-8",
		"Cache-Control": "no-store",
		"X-Content-Type-Options": "nosniff",
		...error.headers,
	});
	const body = request?.method === "HEAD" ? null : `${error.publicMessage}\n`;
	return new Response(body, { status: error.status, headers });
}

/** Build the router for one validated config (mount paths are config). */
export function buildApp(config: Config): Hono<AppEnv> {
	const app = new Hono<AppEnv>();
	app.use("*", async (c, next) => {
		c.set("config", config);
		await next();
	});
	if (config.benchRoutes) mountBenchRoutes(app);

	app.on([...IMAGE_METHODS], `${config.mountPath}/*`, (c) => {
		const rest = c.req.path.slice(config.mountPath.length + 1);
		const path = parseImagePath(rest);
		return path.kind === "derivative" ? serveDerivative(c, path) : serveOriginal(c, path);
	});
	app.all(`${config.mountPath}/*`, () => {
		throw new MethodNotAllowedError(IMAGE_METHODS);
	});

	app.on([...IMAGE_METHODS], `${config.sizesPath}/*`, (c) =>
		serveSizeTable(c, c.req.path.slice(config.sizesPath.length + 1)),
	);
	app.all(`${config.sizesPath}/*`, () => {
		throw new MethodNotAllowedError(IMAGE_METHODS);
	});

	// The demo page is for local dev (`npm start`); production leaves it off.
	if (config.demoPage) app.on([...IMAGE_METHODS], "/", serveDemo);

	app.notFound(() => {
		throw new NotFoundError("Not Found");
	});
	app.onError((err, c) => {
		const response = errorResponse(err, c.req.raw);
		const negativeKey = c.get("negativeCacheKey");
		// A missing size may be remembered briefly, and only as a 404.
		if (negativeKey && response.status === 404 && config.notFoundMaxAge > 0) {
			const cached = new Response("Not Found\n", {
				status: 404,
				headers: {
					"Content-Type": "text/plain; charset=utf-8",
					"Cache-Control": `public, max-age=${config.notFoundMaxAge}`,
				},
			});
			c.executionCtx.waitUntil(caches.default.put(new Request(negativeKey), cached));
		}
		return response;
	});
	return app;
}

const apps = new WeakMap<Config, Hono<AppEnv>>();

export default {
	async fetch(request, env, ctx) {
		let config: Config;
		try {
			config = loadConfig(env);
		} catch (err) {
			return errorResponse(err, request);
		}
		let app = apps.get(config);
		if (!app) {
			app = buildApp(config);
			apps.set(config, app);
		}
		return app.fetch(request, env, ctx);
	},
} satisfies ExportedHandler<Env>;
