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
import { serveDerivative } from "./http/derivative";
import { MethodNotAllowedError, NotFoundError } from "./http/errors";
import { serveOriginal } from "./http/original";
import { type AppEnv, errorResponse, notFoundEntry } from "./http/respond";
import { consume } from "./queue/consumer";
import { registryTag } from "./render/settings";
import { parseImagePath } from "./url/path";
import { serveSizeTable } from "./wp/size-table";

const IMAGE_METHODS = ["GET", "HEAD"] as const;

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
			const cached = notFoundEntry(config, registryTag(config, "sizes"));
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
	// The work queue: sizes jobs from misses and R2 bucket events (src/queue/).
	async queue(batch, env, _ctx) {
		await consume(batch, env);
	},
} satisfies ExportedHandler<Env>;
