/**
 * Abuse: hundreds of the nastiest generated URLs through the real worker
 * (status, and every R2 key it reads), random -WxH probing, and signed URLs.
 */
import { env, SELF } from "cloudflare:test";
import fc from "fast-check";
import { beforeAll, describe, expect, it, vi } from "vitest";
import { codecStats } from "../src/image/codecs";
import { otherForms, parseImagePath, uploadKeys } from "../src/url/path";
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
		if (p.kind === "original") return new Set([p.key]);
		// The name itself (stored first), then the upload's files; each name also
		// in its other Unicode normal form.
		const names = [p.name, ...otherForms(p.name)];
		const uploads = names.flatMap((name) => Object.values(uploadKeys({ ...p, name })));
		return new Set([p.key, ...otherForms(p.key), ...uploads]);
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

describe("admin routes under attack", () => {
	const secrets = env as unknown as {
		ADMIN_TOKEN: string;
		CF_ZONE_ID: string;
		CF_API_TOKEN: string;
	};
	const TOKEN = secrets.ADMIN_TOKEN;
	const STATUS = `${ORIGIN}/_admin/status`;
	/** Nothing in a body or header may name the secrets or how the worker is configured. */
	async function expectNoLeak(res: Response): Promise<void> {
		const text = `${[...res.headers].join("\n")}\n${await res.text()}`;
		for (const secret of [TOKEN, secrets.CF_ZONE_ID, secrets.CF_API_TOKEN]) {
			expect(text).not.toContain(secret);
			expect(text).not.toContain(secret.slice(0, 10));
		}
		expect(text).not.toMatch(/PURGE_STATE|CF_ZONE|CF_API|ADMIN_TOKEN|IMAGE_SIZES|\bat .*\.ts\b/);
	}

	it("the token check always compares two 32-byte MACs with timingSafeEqual, whatever was sent", async () => {
		// The code path, not the clock: every guess, however long or short, ends
		// in one constant-time compare of equal-length digests, never an early exit.
		const spy = vi.spyOn(crypto.subtle, "timingSafeEqual");
		const warn = vi.spyOn(console, "warn").mockImplementation(() => {});
		try {
			const guesses = ["x", TOKEN.slice(0, 1), TOKEN.slice(0, -1), `${TOKEN}x`, "y".repeat(4000)];
			for (const guess of guesses) {
				spy.mockClear();
				const res = await SELF.fetch(STATUS, { headers: { Authorization: `Bearer ${guess}` } });
				expect(res.status).toBe(401);
				await expectNoLeak(res);
				expect(spy).toHaveBeenCalledTimes(1);
				const [a, b] = spy.mock.calls[0] ?? [];
				expect([(a as ArrayBuffer).byteLength, (b as ArrayBuffer).byteLength]).toEqual([32, 32]);
			}
			// Every failed attempt is logged, without the guess.
			const lines = warn.mock.calls.map((c) => String(c[0]));
			expect(lines.filter((l) => l.includes("admin_auth_failed"))).toHaveLength(guesses.length);
			for (const guess of guesses.filter((g) => g.length >= 12)) {
				for (const line of lines) expect(line).not.toContain(guess.slice(0, 12));
			}
			spy.mockClear();
			const ok = await SELF.fetch(STATUS, { headers: { Authorization: `Bearer ${TOKEN}` } });
			expect(ok.status).toBe(200);
			expect(spy).toHaveBeenCalledTimes(1);
		} finally {
			spy.mockRestore();
			warn.mockRestore();
		}
	});

	it("admin answers are never cached, and the status never shows a secret", async () => {
		for (const attempt of [1, 2]) {
			const res = await SELF.fetch(STATUS, { headers: { Authorization: `Bearer ${TOKEN}` } });
			expect(res.status, `attempt ${attempt}`).toBe(200);
			expect(res.headers.get("Cache-Control")).toBe("no-store");
			expect(res.headers.get("X-Cache")).toBeNull();
			// (The zone ID is an identifier, not a credential: an admin may see it.)
			const body = await res.text();
			for (const secret of [TOKEN, secrets.CF_API_TOKEN]) expect(body).not.toContain(secret);
		}
		for (const url of [STATUS, `${ORIGIN}/_admin/purge`]) {
			expect(await caches.default.match(new Request(url))).toBeUndefined();
		}
		// And a 401 is not remembered either: the right token right after works.
		const denied = await SELF.fetch(STATUS);
		expect(denied.status).toBe(401);
		expect(denied.headers.get("Cache-Control")).toBe("no-store");
		expect(
			(await SELF.fetch(STATUS, { headers: { Authorization: `Bearer ${TOKEN}` } })).status,
		).toBe(200);
	});

	it.each([
		["an unknown admin path", `${ORIGIN}/_admin/../_admin/config`, {}],
		["a probe for an env file", `${ORIGIN}/_admin/.env`, {}],
		[
			"a huge body without a token",
			`${ORIGIN}/_admin/purge`,
			{ method: "POST", body: "x".repeat(200_000) },
		],
		[
			"a huge body with the token",
			`${ORIGIN}/_admin/purge`,
			{
				method: "POST",
				headers: { Authorization: `Bearer ${TOKEN}`, "Content-Type": "application/json" },
				body: JSON.stringify({ images: ["y".repeat(200_000)] }),
			},
		],
	])("%s: a plain refusal that leaks nothing", async (_, url, init) => {
		const warn = vi.spyOn(console, "warn").mockImplementation(() => {});
		try {
			const res = await SELF.fetch(url, init as RequestInit);
			expect([401, 404, 413]).toContain(res.status);
			expect(res.headers.get("Cache-Control")).toBe("no-store");
			await expectNoLeak(res);
		} finally {
			warn.mockRestore();
		}
	});

	it("with admin off, its paths look like any other missing path", async () => {
		const off = workerEnv({ ADMIN_TOKEN: undefined });
		const admin = await call(STATUS, off, { headers: { Authorization: `Bearer ${TOKEN}` } });
		const random = await call(`${ORIGIN}/no-such-path`, off);
		expect(admin.status).toBe(404);
		expect(await admin.text()).toBe(await random.text());
	});
});
