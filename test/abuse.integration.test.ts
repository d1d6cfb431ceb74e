/**
 * Abuse: hundreds of the nastiest generated URLs through the real worker
 * (status, and every R2 key it reads), random -WxH probing, and signed URLs.
 */
import { env } from "cloudflare:test";
import fc from "fast-check";
import { beforeAll, describe, expect, it } from "vitest";
import { codecStats } from "../src/image/codecs";
import { parseImagePath, uploadKeys } from "../src/path";
import { fixtureBytes } from "./helpers";
import { hostilePath } from "./hostile-paths";
import { decode, psnr, reference } from "./images";
import { call, publicText, recordingBucket, workerEnv } from "./worker";

const ORIGIN = "http://images.test";

beforeAll(async () => {
	for (const file of ["autumn-tiny.jpg", "colorful-cups.jpg"]) {
		await env.ORIGINALS.put(`2025/09/${file}`, await fixtureBytes(`originals/2025/09/${file}`));
	}
	await env.ORIGINALS.put("secret/.env", "DB_PASSWORD=hunter2");
	await env.ORIGINALS.put("etc/passwd", "root:x:0:0");
});

/** What the worker is allowed to read for a path after the mount. */
function intendedKeys(rest: string): Set<string> | null {
	try {
		const p = parseImagePath(rest);
		return new Set(
			p.kind === "original" ? [p.key] : Object.values(uploadKeys(p.dir, p.name, p.ext)),
		);
	} catch {
		return null; // a 400/404 from the parser: nothing may be read
	}
}

describe("hostile URLs through the worker", () => {
	const extra = [
		"../../etc/passwd",
		"..%2f..%2fetc%2fpasswd",
		"%2e%2e/%2e%2e/etc/passwd",
		"%252e%252e/%252e%252e/etc/passwd",
		"2025/09/..%5c..%5csecret/.env",
		"secret/.env",
		"secret/%2eenv",
		"2025/09/autumn-tiny.jpg%00.png",
		"2025/09/autumn-tiny-150x150.jpg",
		"2025/09/autumn-tiny-150x150.jpg?sig=x",
		"2025/09/autumn-tiny-0150x150.jpg",
		"2025/09/autumn-tiny-150X150.jpg",
		"2025/09/autumn-tiny-150x150x2.jpg",
		"2025/09/autumn-tiny-99999x99999.jpg",
		"2025/09/autumn-tiny-scaled-150x150.jpg",
		"2025/09/autumn%2Dtiny%2D150x150.jpg",
		"2025\\09\\autumn-tiny.jpg",
		`2025/09/${"a".repeat(3000)}-150x150.jpg`,
		`${"%2e%2e/".repeat(400)}etc/passwd`,
	];
	const generated = fc.sample(hostilePath, { numRuns: 400, seed: 20251124 });

	it(`${generated.length + extra.length} URLs: only 200/304/400/404/405, only intended keys read`, async () => {
		const recorder = recordingBucket();
		const testEnv = workerEnv({ ORIGINALS: recorder.bucket });
		const statuses = new Map<number, number>();
		let reads = 0;
		for (const raw of [...extra, ...generated]) {
			let request: Request;
			try {
				request = new Request(`${ORIGIN}/files/${raw}`);
			} catch {
				continue; // not a URL at all: a client cannot send it
			}
			recorder.reads.length = 0;
			const res = await call(request.url, testEnv);
			statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
			expect([200, 304, 400, 404, 405], `${res.status} for ${JSON.stringify(raw)}`).toContain(
				res.status,
			);
			if (res.status !== 200) await publicText(res);
			else await res.arrayBuffer();
			// The runtime has normalised the URL (dot segments, backslashes)
			// before the worker sees it; judge by what it sees.
			const path = new URL(request.url).pathname;
			const keys = recorder.reads.map((r) => r.key);
			reads += keys.length;
			if (!path.startsWith("/files/")) {
				expect(keys, `${path} is outside the mount`).toEqual([]);
				continue;
			}
			const rest = path.slice("/files/".length);
			const intended = intendedKeys(rest);
			if (intended === null) {
				expect(keys, `nothing may be read for ${path}`).toEqual([]);
				continue;
			}
			// The folder the URL names, decoded once.
			const folder = rest
				.split("/")
				.slice(0, -1)
				.map((s) => `${decodeURIComponent(s)}/`)
				.join("");
			for (const key of keys) {
				expect(intended.has(key), `${key} read for ${path}`).toBe(true);
				expect(key.startsWith(folder) && !key.slice(folder.length).includes("/")).toBe(true);
				expect(key).not.toMatch(/(^|\/)\.|^etc\/|^secret\//);
			}
		}
		console.log(
			`hostile URLs: statuses ${JSON.stringify(Object.fromEntries(statuses))}; R2 reads ${reads}`,
		);
		expect(statuses.get(404)).toBeGreaterThan(100);
		expect(reads).toBeGreaterThan(0);
	});

	it("other methods are 405 with Allow, never an R2 read", async () => {
		const recorder = recordingBucket();
		for (const method of ["POST", "PUT", "DELETE", "PATCH", "OPTIONS"]) {
			const res = await call(
				`${ORIGIN}/files/2025/09/autumn-tiny-150x150.jpg`,
				workerEnv({ ORIGINALS: recorder.bucket }),
				{
					method,
					body: method === "POST" || method === "PUT" ? "x" : undefined,
				},
			);
			expect(res.status).toBe(405);
			expect(res.headers.get("Allow")).toBe("GET, HEAD");
		}
		expect(recorder.reads).toEqual([]);
	});
});

describe("random -WxH probing", () => {
	it("is a 404 that never decodes anything", async () => {
		// The sizes WordPress makes for colorful-cups (2560x1600) and autumn-tiny (320x200).
		const real = new Set([
			"colorful-cups:150x150",
			"colorful-cups:730x456",
			"colorful-cups:510x320",
			"colorful-cups:600x420",
			"colorful-cups:800x340",
			"colorful-cups:1200x628",
			"colorful-cups:1200x750",
			"autumn-tiny:150x150",
		]);
		const probes = fc
			.sample(
				fc.tuple(
					fc.constantFrom("colorful-cups", "autumn-tiny"),
					fc.oneof(fc.integer({ min: 1, max: 99999 }), fc.integer({ min: 140, max: 1300 })),
					fc.oneof(fc.integer({ min: 1, max: 99999 }), fc.integer({ min: 140, max: 800 })),
				),
				{ numRuns: 300, seed: 7 },
			)
			.filter(([name, w, h]) => !real.has(`${name}:${w}x${h}`));
		const decodes = codecStats.decodes;
		for (const [name, w, h] of probes) {
			const res = await call(`${ORIGIN}/files/2025/09/${name}-${w}x${h}.jpg`);
			expect(res.status, `${name}-${w}x${h}`).toBe(404);
			await publicText(res);
		}
		expect(codecStats.decodes).toBe(decodes);
		expect(probes.length).toBeGreaterThan(250);
	});
});

describe("signed URLs", () => {
	const KEY = "test-signing-key-0123456789abcdef-0123";
	const signedEnv = workerEnv({ URL_SIGNING_KEY: KEY, MAX_OUTPUT_SIDE: "1000" });

	/** The README's recipe, done with WebCrypto here. */
	async function sign(path: string): Promise<string> {
		const key = await crypto.subtle.importKey(
			"raw",
			new TextEncoder().encode(KEY),
			{ name: "HMAC", hash: "SHA-256" },
			false,
			["sign"],
		);
		const mac = new Uint8Array(
			await crypto.subtle.sign("HMAC", key, new TextEncoder().encode(path)),
		);
		return btoa(String.fromCharCode(...mac))
			.replaceAll("+", "-")
			.replaceAll("/", "_")
			.replace(/=+$/, "");
	}

	const path = "/files/2025/09/colorful-cups-333x222.jpg";

	it("an unregistered size: 404 unsigned (and remembered), 200 signed, a hard centre crop", async () => {
		const unsigned = await call(`${ORIGIN}${path}`, signedEnv);
		expect(unsigned.status).toBe(404);
		const again = await call(`${ORIGIN}${path}`, signedEnv);
		expect(again.status).toBe(404);
		expect(again.headers.get("X-Cache")).toBe("HIT"); // the 404 was remembered...

		const res = await call(`${ORIGIN}${path}?sig=${await sign(path)}`, signedEnv);
		expect(res.status).toBe(200); // ...but does not stop a signed request
		expect(res.headers.get("X-Cache")).toBe("MISS");
		const out = await decode(await res.arrayBuffer());
		expect([out.width, out.height]).toEqual([333, 222]);
		// 2560x1600 → 333x222 cropped from the centre: 2400x1600 at x=80.
		const src = await decode(await fixtureBytes("originals/2025/09/colorful-cups.jpg"));
		const ideal = await reference(src, { x: 80, y: 0, w: 2400, h: 1600 }, 333, 222);
		expect(psnr(out, ideal)).toBeGreaterThan(30);

		// Made once, it is a cached file like any other: same key, no query.
		const hit = await call(`${ORIGIN}${path}`, signedEnv);
		expect(hit.status).toBe(200);
		expect(hit.headers.get("X-Cache")).toBe("HIT");
	});

	it.each([
		[
			"a wrong signature",
			async () => `${path.replace("333x222", "334x222")}?sig=${await sign(path)}`,
		],
		[
			"a signature for another size",
			async () =>
				`/files/2025/09/colorful-cups-500x300.jpg?sig=${await sign("/files/2025/09/colorful-cups-500x301.jpg")}`,
		],
		["garbage", async () => "/files/2025/09/colorful-cups-500x300.jpg?sig=not-base64!"],
		["an empty sig", async () => "/files/2025/09/colorful-cups-500x300.jpg?sig="],
		[
			"a bad sig on a registered size",
			async () => "/files/2025/09/colorful-cups-150x150.jpg?sig=AAAA",
		],
	])("%s → 403, never cached, nothing decoded", async (_, make) => {
		const decodes = codecStats.decodes;
		const res = await call(`${ORIGIN}${await make()}`, signedEnv);
		expect(res.status).toBe(403);
		expect(res.headers.get("Cache-Control")).toBe("no-store");
		expect(await publicText(res)).toBe("Bad signature\n");
		expect(codecStats.decodes).toBe(decodes);
	});

	it.each([
		// Over MAX_OUTPUT_SIDE (1000 here): refused before any decode.
		["1200x100", 422],
		// Larger than the upload: WordPress never upscales.
		["2561x100", 404],
		["3000x2000", 404],
	])("a signed %s → %i", async (size, status) => {
		const p = `/files/2025/09/colorful-cups-${size}.jpg`;
		const decodes = codecStats.decodes;
		const res = await call(`${ORIGIN}${p}?sig=${await sign(p)}`, signedEnv);
		expect(res.status).toBe(status);
		expect(codecStats.decodes).toBe(decodes);
	});

	it("without URL_SIGNING_KEY, sig means nothing: unregistered sizes stay 404", async () => {
		const p = "/files/2025/09/colorful-cups-321x123.jpg";
		const res = await call(`${ORIGIN}${p}?sig=${await sign(p)}`);
		expect(res.status).toBe(404);
	});
});
