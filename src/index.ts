/**
 * Wiring only: routes, and the one place errors become responses.
 * Flow: route → parse path → resolve original → size math → pipeline → cache/HTTP.
 * Also: the size table (`${SIZES_PATH}/<upload>`) and, when enabled, the demo page at `/`.
 */
import { Hono } from "hono";
import { adminRoutes } from "./admin/routes";
import { type Config, loadConfig } from "./config";
import { mountBenchRoutes } from "./http/bench";
import { serveDemo } from "./http/demo";
import { type AppEnv, serveDerivative } from "./http/derivative";
import { ImageError, InternalError, MethodNotAllowedError, NotFoundError } from "./http/errors";
import { serveOriginal } from "./http/original";
import { parseImagePath } from "./url/path";
import { serveSizeTable } from "./wp/size-table";

const IMAGE_METHODS = ["GET", "HEAD"] as const;

/**
 * Turn any thrown value into a short response (plain text, or JSON for the
 * admin routes); log what ops need.
 */
export function errorResponse(
	err: unknown,
	request?: Request,
	format: "text" | "json" = "text",
): Response {
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

	// Admin is off (every admin path a plain 404) unless ADMIN_TOKEN is set.
	const { admin } = config;
	if (admin) app.route(admin.path, adminRoutes(config, admin));
	const isAdmin = (path: string) =>
		admin !== undefined && (path === admin.path || path.startsWith(`${admin.path}/`));

	app.notFound(() => {
		throw new NotFoundError("Not Found");
	});
	app.onError((err, c) => {
		const response = errorResponse(err, c.req.raw, isAdmin(c.req.path) ? "json" : "text");
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
		// Hono's onError only sees `instanceof Error`; anything else thrown (a
		// plain object thrown through WASM, a string) would escape as a bare 500.
		try {
			return await app.fetch(request, env, ctx);
		} catch (err) {
			return errorResponse(err, request);
		}
	},
} satisfies ExportedHandler<Env>;
