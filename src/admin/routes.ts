/**
 * The admin routes, mounted under ADMIN_PATH only when ADMIN_TOKEN is set:
 *   POST <admin>/purge   purge derivatives (see purge.ts)
 *   GET  <admin>/status  effective config, secrets redacted, and build version
 * Every request is authenticated first; every answer is `Cache-Control: no-store`.
 * Failures are typed errors that reach the app's one onError (as JSON here).
 */

import type { Context } from "hono";
import { Hono } from "hono";
import { version } from "../../package.json";
import { keyOrigin } from "../cache/keys";
import type { AdminConfig, Config } from "../config";
import { VARS, type VarName, type VarSpec } from "../config/spec";
import { MethodNotAllowedError, PurgeIncompleteError, UnauthorizedError } from "../http/errors";
import type { AppEnv } from "../http/respond";
import { Storage } from "../origin/storage";
import { log } from "../util/log";
import { bearerToken, tokenFingerprint, tokenMatches } from "./auth";
import { runPurge } from "./purge";
import { parsePurgeRequest, readBody } from "./request";

type AdminEnv = AppEnv & { Variables: AppEnv["Variables"] & { tokenId: string } };

const REDACTED = "[redacted]";

function json(body: unknown, status = 200): Response {
	return new Response(`${JSON.stringify(body, null, 2)}\n`, {
		status,
		headers: {
			"Content-Type": "application/json; charset=utf-8",
			"Cache-Control": "no-store",
			"X-Content-Type-Options": "nosniff",
		},
	});
}

/**
 * A variable as ops may see it: its value, or its default when unset; a
 * secret (by the config spec's kind, so one added later is covered too) only
 * as whether it is set.
 */
function shownVar(env: Env, name: VarName): unknown {
	const value = (env as unknown as Record<string, unknown>)[name];
	const set = value !== undefined && value !== null && value !== "";
	const spec: VarSpec = VARS[name];
	if (spec.kind === "secret") return set ? REDACTED : null;
	return set ? value : (spec.default ?? null);
}

/** What ops need to check a deploy: each variable (secrets redacted), bindings and build. */
export function statusBody(config: Config, env: Env): Record<string, unknown> {
	const vars = Object.fromEntries(
		(Object.keys(VARS) as VarName[]).map((name) => [name, shownVar(env, name)]),
	);
	const bound = (binding: string) => Boolean((env as unknown as Record<string, unknown>)[binding]);
	return {
		version,
		build: env.CF_VERSION_METADATA ?? null,
		config: { vars, sizes: config.sizes },
		bindings: Object.fromEntries(BINDINGS.map((name) => [name, bound(name)])),
	};
}

/** Every binding the worker uses (wrangler.jsonc), shown as bound or not. */
const BINDINGS = [
	"ORIGINALS",
	"DERIVATIVES",
	"DERIVATIVE_QUEUE",
	"PURGE_STATE",
	"CF_VERSION_METADATA",
] as const;

function authenticate(admin: AdminConfig) {
	return async function authenticate(c: Context<AdminEnv>, next: () => Promise<void>) {
		const presented = bearerToken(c.req.header("Authorization"));
		const good = presented !== undefined && (await tokenMatches(presented, admin.token));
		const tokenId =
			presented === undefined ? "none" : await tokenFingerprint(presented, admin.token);
		if (!good) {
			log("warn", {
				event: "admin_auth_failed",
				reason: presented === undefined ? "missing or malformed bearer token" : "wrong token",
				token: tokenId,
				method: c.req.method,
				path: c.req.path,
				ip: c.req.header("CF-Connecting-IP") ?? null,
			});
			throw new UnauthorizedError("Unauthorized");
		}
		c.set("tokenId", tokenId);
		await next();
	};
}

export function adminRoutes(config: Config, admin: AdminConfig): Hono<AdminEnv> {
	const app = new Hono<AdminEnv>();
	app.use("*", authenticate(admin));

	app.post("/purge", async (c) => {
		const req = parsePurgeRequest(await readBody(c.req.raw), config.mountPath);
		const outcome = await runPurge(req, {
			config,
			kv: c.env.PURGE_STATE,
			storage: new Storage(c.env.ORIGINALS, config.limits.r2TimeoutMs),
			origin: keyOrigin(config.publicOrigin, c.req.url),
			// Bound only where the derivative tier is deployed.
			tier: (c.env as { DERIVATIVES?: R2Bucket }).DERIVATIVES,
		});
		const { report } = outcome;
		const global = report.global as { configured: boolean; ok?: boolean };
		log(outcome.ok ? "info" : "error", {
			event: "purge",
			what: {
				images: req.images.length,
				urls: req.urls.length,
				prefix: req.prefix ?? null,
				everything: req.everything,
			},
			count: outcome.counts,
			mechanism: {
				generation: outcome.generationFailed ? "failed" : "bumped",
				local: outcome.counts.deleted,
				global: !global.configured ? "off" : global.ok === false ? "failed" : "accepted",
			},
			outcome: outcome.ok ? "ok" : "incomplete",
			token: c.var.tokenId,
		});
		if (!outcome.ok) {
			throw new PurgeIncompleteError(report, { generationFailed: outcome.generationFailed });
		}
		return json(report);
	});
	app.all("/purge", () => {
		throw new MethodNotAllowedError(["POST"]);
	});

	app.on(["GET", "HEAD"], "/status", (c) => json(statusBody(config, c.env)));
	app.all("/status", () => {
		throw new MethodNotAllowedError(["GET", "HEAD"]);
	});
	return app;
}
