/**
 * The demo page inside workerd: off unless DEMO_PAGE turns it on, and then
 * built from the size table of each upload in the bucket.
 */
import { createExecutionContext, env, SELF, waitOnExecutionContext } from "cloudflare:test";
import { beforeAll, describe, expect, it } from "vitest";
import { parseConfig } from "../src/config";
import { buildApp } from "../src/index";
import { DIR, seed } from "./images";

const ADOBE = "AdobeStock_1228396051_Editorial_Use_Only";

beforeAll(async () => {
	await seed(
		`${ADOBE}.jpeg`,
		`${ADOBE}-scaled.jpeg`,
		"autumn-tiny.jpg",
		"goldfish.png",
		"spinner-animated.gif",
		"spinner-animated.webp",
	);
});

async function demo(vars: Record<string, unknown>): Promise<Response> {
	const app = buildApp(parseConfig({ ...env, ...vars }));
	const ctx = createExecutionContext();
	const res = await app.request("http://demo.test/", {}, env, ctx);
	await waitOnExecutionContext(ctx);
	return res;
}

describe("demo page", () => {
	it("is off by default (production)", async () => {
		const res = await SELF.fetch("http://demo.test/");
		expect(res.status).toBe(404);
		await res.arrayBuffer();
	});

	it("lists each upload once with the table's srcset, and every size", async () => {
		const res = await demo({ DEMO_PAGE: "true" });
		expect(res.status).toBe(200);
		expect(res.headers.get("Content-Type")).toBe("text/html; charset=utf-8");
		const html = await res.text();
		const sections = [...html.matchAll(/<section class="upload" data-key="([^"]+)"/g)].map(
			(m) => m[1],
		);
		expect(sections).toEqual([
			`${DIR}${ADOBE}.jpeg`,
			`${DIR}autumn-tiny.jpg`,
			`${DIR}goldfish.png`,
			`${DIR}spinner-animated.gif`,
			`${DIR}spinner-animated.webp`,
		]);
		const f = (s: string) => `http://demo.test/files/${DIR}${ADOBE}${s}.jpeg`;
		expect(html).toContain(
			`srcset="${f("-scaled")} 2560w, ${f("-730x487")} 730w, ${f("-1200x800")} 1200w"`,
		);
		expect(html).toContain('sizes="(max-width: 2560px) 100vw, 2560px"');
		// 7 + 1 JPEG sizes, goldfish.png's 7 PNG sizes and the 200x200 GIF's thumbnail.
		expect(html.match(/<figure class="size"/g)).toHaveLength(16);
		expect(html).toContain(`/files/${DIR}goldfish-730x481.png`);
		expect(html).toContain(`/files/${DIR}spinner-animated-150x150.gif`);
		// A format the worker cannot size is named, not shown broken.
		expect(html).toContain("415: Animated WebP sizes are not made by this worker");
	});

	it("lists only under DEMO_PREFIX", async () => {
		const html = await (await demo({ DEMO_PAGE: "true", DEMO_PREFIX: "2024/" })).text();
		expect(html).toContain("0 upload(s)");
		expect(html).not.toContain('<section class="upload"');
	});
});
