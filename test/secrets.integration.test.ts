/**
 * No secret reaches a client: with every secret of the config spec set, every
 * route's answers (bodies and headers; successes, refusals and errors) are
 * scanned for any 8-character piece of any secret.
 */
import { createExecutionContext, env, waitOnExecutionContext } from "cloudflare:test";
import { beforeAll, describe, expect, it } from "vitest";
import { SECRET_VARS } from "../src/config/spec";
import worker from "../src/index";
import { DIR, seed } from "./images";

/** A distinctive value per secret, valid for its variable. */
const SECRETS: Record<string, string> = {
	ADMIN_TOKEN: "SeCrEtAdMiNtOkEn-zq9x7w5v3u1t8s6r4p2",
	URL_SIGNING_KEY: "SiGnInGkEy-kq2w4e6r8t0y1u3i5o7p9a-zz",
	CF_API_TOKEN: "CfApItOkEn-mn8b6v4c2x0z9l7k5j3h1g",
};

/** Every 8-character piece of every secret. */
function pieces(): string[] {
	return Object.values(SECRETS).flatMap((secret) =>
		Array.from({ length: secret.length - 7 }, (_, i) => secret.slice(i, i + 8)),
	);
}

const base = env as unknown as Record<string, unknown>;
const withSecrets: Record<string, unknown> = {
	...base,
	...SECRETS,
	DEMO_PAGE: "true",
	CF_ZONE_ID: "f".repeat(32),
};
const HOST = "http://secrets.test";
const UPLOAD = "autumn-tiny";
const bearer = { Authorization: `Bearer ${SECRETS.ADMIN_TOKEN}` };
const json = { ...bearer, "Content-Type": "application/json" };

const REQUESTS: [string, RequestInit?][] = [
	["/_admin/status", { headers: bearer }],
	["/_admin/status", { method: "HEAD", headers: bearer }],
	["/_admin/status", { headers: { Authorization: "Bearer wrong-token-wrong-token-wrong-token" } }],
	["/_admin/status"],
	["/_admin/purge", { method: "POST", headers: json, body: "{not json" }],
	[
		"/_admin/purge",
		{ method: "POST", headers: json, body: JSON.stringify({ images: [`${DIR}${UPLOAD}.jpg`] }) },
	],
	["/_admin/purge", { method: "PUT", headers: bearer }],
	[`/files/${DIR}${UPLOAD}.jpg`],
	[`/files/${DIR}${UPLOAD}-150x150.jpg`],
	[`/files/${DIR}${UPLOAD}-150x150.jpg`],
	[`/files/${DIR}${UPLOAD}-151x150.jpg`],
	[`/files/${DIR}${UPLOAD}-151x150.jpg?sig=AAAA`],
	[`/files/${DIR}${UPLOAD}-150x150.jpg`, { method: "POST" }],
	[`/files/${DIR}nothing-here-150x150.jpg`],
	[`/_sizes/${DIR}${UPLOAD}.jpg`],
	["/"],
	["/no/such/route"],
];

async function call(path: string, init?: RequestInit, vars = withSecrets) {
	const ctx = createExecutionContext();
	const res = await worker.fetch(new Request(`${HOST}${path}`, init) as never, vars as never, ctx);
	const text = await res.text();
	await waitOnExecutionContext(ctx);
	return { res, text };
}

function leaked(res: Response, text: string): string[] {
	const seen = [text, ...[...res.headers].map(([k, v]) => `${k}: ${v}`)].join("\n");
	return pieces().filter((piece) => seen.includes(piece));
}

describe("secrets never leave the worker", () => {
	beforeAll(() => seed(`${UPLOAD}.jpg`));

	it("the spec names the secrets this test sets", () => {
		expect([...SECRET_VARS].sort()).toEqual(Object.keys(SECRETS).sort());
	});

	it.each(REQUESTS)("%s %o", async (path, init) => {
		const { res, text } = await call(path, init);
		expect(res.status).toBeLessThan(600);
		expect(leaked(res, text)).toEqual([]);
	});

	it("nor from a misconfigured deployment's 500", async () => {
		const { res, text } = await call(`/files/${DIR}${UPLOAD}.jpg`, undefined, {
			...withSecrets,
			JPEG_QUALITY: "high",
		});
		expect(res.status).toBe(500);
		expect(leaked(res, text)).toEqual([]);
	});

	it("the status route says each secret is set, without its value", async () => {
		const { res, text } = await call("/_admin/status", { headers: bearer });
		expect(res.status).toBe(200);
		const vars = (JSON.parse(text) as { config: { vars: Record<string, unknown> } }).config.vars;
		for (const name of SECRET_VARS) expect(vars[name]).toBe("[redacted]");
	});
});
