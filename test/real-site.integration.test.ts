/**
 * A real site's history, through the real worker: uploads laid out by
 * WordPress itself (fixtures/migrated/metadata.json: Debian's WordPress, its
 * GD editor, under an older theme's core sizes), with every file it wrote in
 * the bucket. Those files are served byte for byte; the same uploads under
 * today's sizes are rendered; a registry change re-renders nothing. Names a
 * real site has: a legacy -WxH upload, classic- and block-editor edits, -1
 * renames, accents, Cyrillic (NFC) and Hangul (NFD), multisite, and a site
 * whose JPEGs get WebP sizes (OUTPUT_FORMATS).
 */
import { createExecutionContext, env, waitOnExecutionContext } from "cloudflare:test";
import { beforeAll, describe, expect, it } from "vitest";
import { codecStats } from "../src/image/codecs";
import { decodeImage } from "../src/image/formats";
import { detectFormat } from "../src/image/probe";
import worker from "../src/index";
import { encodeKey, fileOf } from "../src/url/path";
import { DEFAULT_SIZES } from "../src/wp/sizes";
import { fixtureBytes } from "./helpers";

interface WpSize {
	file: string;
	width: number;
	height: number;
	"mime-type": string;
}
interface Step {
	what: string;
	blog_id: number;
	files: string[];
	metadata: { file: string; original_image?: string; sizes: Record<string, WpSize> };
}
interface Table {
	sizes: Record<string, { file: string; width: number; height: number; "mime-type": string }>;
}

/** WordPress's core sizes: the theme these uploads were made under. */
const CORE_SIZES = JSON.stringify({
	thumbnail: { width: 150, height: 150, crop: true },
	medium: { width: 300, height: 300, crop: false },
	medium_large: { width: 768, height: 0, crop: false },
	large: { width: 1024, height: 1024, crop: false },
	"1536x1536": { width: 1536, height: 1536, crop: false },
	"2048x2048": { width: 2048, height: 2048, crop: false },
});
const TODAY = JSON.stringify(DEFAULT_SIZES);
const WEBP_SITE = JSON.stringify({ "image/jpeg": "image/webp" });
const HOST = "http://real-site.test";

let steps: Step[] = [];
const stored = new Map<string, Uint8Array>();

/** The vars a step's site runs with: its sizes, and its output-format mapping. */
function site(step: Step, sizes: string): Record<string, string> {
	const webp = Object.values(step.metadata.sizes).some((s) => s["mime-type"] === "image/webp");
	return { IMAGE_SIZES: sizes, ...(webp ? { OUTPUT_FORMATS: WEBP_SITE } : {}) };
}

/** The upload's key as the CMS names it (the original, not its -scaled copy). */
function uploadKey(step: Step): string {
	const { file, original_image } = step.metadata;
	const blog = step.blog_id > 1 ? `sites/${step.blog_id}/` : "";
	const dir = file.slice(0, file.length - fileOf(file).length);
	// A -scaled full size is named after its upload; an edit is an upload of its own.
	const scaled = /-scaled\.[a-z]+$/i.test(file);
	return `${blog}${dir}${scaled && original_image ? original_image : fileOf(file)}`;
}

async function get(vars: Record<string, string>, path: string) {
	const ctx = createExecutionContext();
	const request = new Request(`${HOST}${path}`) as Request<unknown, IncomingRequestCfProperties>;
	const res = await worker.fetch(request, { ...env, ...vars } as Env, ctx);
	const bytes = new Uint8Array(await res.arrayBuffer());
	await waitOnExecutionContext(ctx);
	return { res, bytes, cache: res.headers.get("X-Cache"), etag: res.headers.get("ETag") };
}

async function table(step: Step, sizes: string): Promise<Table> {
	const { res, bytes } = await get(site(step, sizes), `/_sizes/${encodeKey(uploadKey(step))}`);
	expect(res.status).toBe(200);
	return JSON.parse(new TextDecoder().decode(bytes)) as Table;
}

/** A listed file's key, from its absolute URL. */
const keyOf = (url: string) =>
	new URL(url).pathname.slice("/files/".length).split("/").map(decodeURIComponent).join("/");

async function dimensions(bytes: Uint8Array) {
	const format = detectFormat(bytes);
	if (!format) throw new Error("not an image");
	const image = await decodeImage(format, bytes);
	return { format, width: image.width, height: image.height };
}

beforeAll(async () => {
	const res = await (env as unknown as { FIXTURES: Fetcher }).FIXTURES.fetch(
		"http://fixtures/migrated/metadata.json",
	);
	const all = ((await res.json()) as { steps: Step[] }).steps;
	// GIF uploads have tests of their own (formats).
	steps = all.filter((s) => !s.metadata.file.endsWith(".gif"));
	for (const key of new Set(steps.flatMap((s) => s.files))) {
		const bytes = await fixtureBytes(`originals/${key}`);
		stored.set(key, bytes);
		await env.ORIGINALS.put(key, bytes);
	}
});

describe("a migrated site under its old theme's sizes", () => {
	it("every upload's size table is the metadata WordPress wrote for it", async () => {
		expect(steps.length).toBeGreaterThanOrEqual(12);
		for (const step of steps) {
			const got = (await table(step, CORE_SIZES)).sizes;
			// An edit keeps sizes made before it under the old names; WordPress
			// lists them, but they are not files of the edited image.
			const stem = fileOf(step.metadata.file).replace(/\.[a-z]+$/i, "");
			for (const [name, want] of Object.entries(step.metadata.sizes)) {
				if (!want.file.startsWith(stem.replace(/-scaled$/, ""))) continue;
				const size = got[name];
				expect(size, `${step.what}: ${name}`).toBeDefined();
				expect({
					file: fileOf(keyOf(size?.file ?? "")),
					width: size?.width,
					height: size?.height,
					"mime-type": size?.["mime-type"],
				}).toEqual({
					file: want.file,
					width: want.width,
					height: want.height,
					"mime-type": want["mime-type"],
				});
			}
		}
	});

	it("every file WordPress wrote is served byte for byte, with its R2 ETag: MISS, then HIT", async () => {
		for (const step of steps) {
			for (const key of step.files) {
				const path = `/files/${encodeKey(key)}`;
				const first = await get(site(step, CORE_SIZES), path);
				expect([key, first.res.status]).toEqual([key, 200]);
				expect(first.bytes).toEqual(stored.get(key));
				expect(first.etag).toBe((await env.ORIGINALS.head(key))?.httpEtag);
				const again = await get(site(step, CORE_SIZES), path);
				expect(again.bytes).toEqual(stored.get(key));
				if (first.cache === "MISS") expect(again.cache).toBe("HIT");
			}
		}
	}, 300_000);
});

describe("the same uploads under today's sizes", () => {
	const etags = new Map<string, string | null>();

	it("every size in today's table is served at its listed size and format", async () => {
		for (const step of steps) {
			const sizes = Object.values((await table(step, TODAY)).sizes);
			expect(sizes.length, step.what).toBeGreaterThan(0);
			for (const size of sizes) {
				const key = keyOf(size.file);
				const got = await get(site(step, TODAY), `/files/${encodeKey(key)}`);
				expect([key, got.res.status]).toEqual([key, 200]);
				const image = await dimensions(got.bytes);
				expect([key, image.width, image.height]).toEqual([key, size.width, size.height]);
				expect(`image/${image.format}`).toBe(size["mime-type"]);
				expect(got.res.headers.get("Content-Type")).toBe(size["mime-type"]);
				etags.set(key, got.etag);
			}
		}
	}, 300_000);

	it("registering one more size re-renders nothing: every earlier size is a HIT with its ETag", async () => {
		const more = JSON.stringify({ ...DEFAULT_SIZES, extra: { width: 99, height: 99, crop: true } });
		const decodes = codecStats.decodes;
		expect(etags.size).toBeGreaterThan(20);
		for (const step of steps) {
			for (const size of Object.values((await table(step, TODAY)).sizes)) {
				const key = keyOf(size.file);
				const got = await get(site(step, more), `/files/${encodeKey(key)}`);
				expect([key, got.cache, got.etag]).toEqual([key, "HIT", etags.get(key)]);
			}
		}
		expect(codecStats.decodes).toBe(decodes);
	}, 120_000);
});

describe("names a real site has", () => {
	it("a legacy upload named like a size is served as stored, and so are its own sizes", async () => {
		const legacy = "2019/05/IMG-2048x1536.jpeg";
		const got = await get({}, `/files/${legacy}`);
		expect(got.res.status).toBe(200);
		expect(got.bytes).toEqual(stored.get(legacy));
		const table = await get({}, `/_sizes/${legacy}`);
		const sizes = Object.values((JSON.parse(new TextDecoder().decode(table.bytes)) as Table).sizes);
		expect(sizes.map((s) => fileOf(keyOf(s.file)))).toContain("IMG-2048x1536-150x150.jpeg");
	});

	it("a Hangul name stored decomposed (NFD) is found from a composed (NFC) URL", async () => {
		const stem = "2023/03/서울-한강".normalize("NFD");
		const nfc = (key: string) => `/files/${encodeKey(key.normalize("NFC"))}`;
		expect(nfc(stem)).not.toBe(`/files/${encodeKey(stem)}`);
		const kept = await get({}, nfc(`${stem}-150x150.jpg`));
		expect(kept.res.status).toBe(200);
		expect(kept.bytes).toEqual(stored.get(`${stem}-150x150.jpg`));
		const made = await get({}, nfc(`${stem}-500x320.jpg`));
		expect(made.res.status).toBe(200);
		expect(await dimensions(made.bytes)).toMatchObject({ width: 500, height: 320 });
	});

	it("with OUTPUT_FORMATS, a JPEG upload's sizes are WebP: the .jpg name WordPress never wrote is a 404", async () => {
		const vars = { OUTPUT_FORMATS: WEBP_SITE };
		const webp = await get(vars, "/files/2024/11/big-photo-730x487.webp");
		expect(webp.res.status).toBe(200);
		expect(await dimensions(webp.bytes)).toEqual({ format: "webp", width: 730, height: 487 });
		const jpeg = await get(vars, "/files/2024/11/big-photo-730x487.jpg");
		expect(jpeg.res.status).toBe(404);
		expect(jpeg.res.headers.get("Cache-Control")).toBe("no-store");
	});
});
