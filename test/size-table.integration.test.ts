/**
 * The size table through the real worker, with real R2 objects: it must
 * reproduce the seed site's attachment record, list only files the worker
 * then serves with exactly the listed dimensions, and be cached like a
 * derivative.
 */
import { SELF } from "cloudflare:test";
import { beforeAll, describe, expect, it } from "vitest";
import { decodeImage } from "../src/image/formats";
import { detectFormat } from "../src/image/probe";
import type { SizeTable } from "../src/wp/size-table";
import { fixtureBytes } from "./helpers";
import { DIR, decode, SEED_UPLOADS, seed } from "./images";

const ADOBE = "AdobeStock_1228396051_Editorial_Use_Only";
// The seed site's host; its uploads live under /files, the worker's default mount.
const SITE = "https://aktienmagazin.de";

interface SeedSize {
	readonly file: string;
	readonly width: number;
	readonly height: number;
	readonly "mime-type": string;
}

/**
 * Read the `sizes` of the PHP var_export() seed record (and its src/width/
 * height): each size is `'name' => array ( 'file' => '…', 'width' => N, … )`.
 */
function parseSeedRecord(text: string) {
	const scalar = (key: string, body: string) => {
		const m = new RegExp(`'${key}' => (?:'([^']*)'|(\\d+))`).exec(body);
		if (!m) throw new Error(`seed record: no ${key}`);
		return m[1] ?? Number(m[2]);
	};
	const sizesAt = text.indexOf("'sizes' =>");
	if (sizesAt < 0) throw new Error("seed record: no sizes");
	const head = text.slice(0, sizesAt);
	const sizes: Record<string, SeedSize> = {};
	const entry = /'([^']+)' =>\s*array \(([^()]*)\)/g;
	for (const m of text.slice(sizesAt).matchAll(entry)) {
		const [, name = "", body = ""] = m;
		sizes[name] = {
			file: String(scalar("file", body)),
			width: Number(scalar("width", body)),
			height: Number(scalar("height", body)),
			"mime-type": String(scalar("mime-type", body)),
		};
	}
	return {
		src: String(scalar("src", head)),
		width: Number(scalar("width", head)),
		height: Number(scalar("height", head)),
		sizes,
	};
}

async function table(url: string): Promise<{ res: Response; body: SizeTable }> {
	const res = await SELF.fetch(url);
	expect(res.status, url).toBe(200);
	return { res, body: (await res.json()) as SizeTable };
}

beforeAll(async () => {
	await seed(...SEED_UPLOADS, "goldfish.png", "spinner-animated.gif", "logo-palette.png");
});

describe("size table of the seed attachment", () => {
	it("reproduces the seed record's sizes: names, files, widths, heights, mime types", async () => {
		const seedRecord = parseSeedRecord(
			new TextDecoder().decode(await fixtureBytes("wordpress-attachment.txt")),
		);
		expect(Object.keys(seedRecord.sizes)).toHaveLength(7);
		const { res, body } = await table(`${SITE}/_sizes/${DIR}${ADOBE}.jpeg`);
		expect(res.headers.get("Content-Type")).toBe("application/json; charset=utf-8");
		expect(body.file).toBe(seedRecord.src);
		expect([body.width, body.height]).toEqual([seedRecord.width, seedRecord.height]);
		expect(body.original_image).toBe(`${ADOBE}.jpeg`);
		// Same names in the same order, and field for field the same files.
		expect(Object.keys(body.sizes)).toEqual(Object.keys(seedRecord.sizes));
		for (const [name, want] of Object.entries(seedRecord.sizes)) {
			const got = body.sizes[name];
			expect(got && { ...got, srcset: undefined, sizes_attr: undefined }, name).toEqual({
				...want,
				srcset: undefined,
				sizes_attr: undefined,
			});
		}
	});

	it("carries WordPress's srcset: same aspect ratio within 1 px, nothing over 2048 but the src", async () => {
		const { body } = await table(`${SITE}/_sizes/${DIR}${ADOBE}-scaled.jpeg`);
		const f = (s: string) => `${SITE}/files/${DIR}${ADOBE}${s}.jpeg`;
		// The 2560 px -scaled file is over 2048 but is the src, so it leads its own srcset.
		expect(body.srcset).toBe(
			`${f("-scaled")} 2560w, ${f("-730x487")} 730w, ${f("-1200x800")} 1200w`,
		);
		expect(body.sizes_attr).toBe("(max-width: 2560px) 100vw, 2560px");
		expect(body.sizes["post-thumbnail"]?.srcset).toBe(
			`${f("-1200x800")} 1200w, ${f("-730x487")} 730w`,
		);
		expect(body.sizes.bd?.srcset).toBe(`${f("-730x487")} 730w, ${f("-1200x800")} 1200w`);
		// Crops have no other file of their shape: WordPress prints no srcset.
		for (const crop of ["thumbnail", "sm", "md", "lg", "fb"]) {
			expect(body.sizes[crop]?.srcset, crop).toBeUndefined();
		}
	});

	it("is cached: MISS, then HIT for the upload and for its -scaled name alike", async () => {
		const url = `http://cache.test/_sizes/${DIR}${ADOBE}.jpeg`;
		const miss = await SELF.fetch(url);
		expect(miss.headers.get("X-Cache")).toBe("MISS");
		const first = await miss.text();
		const hit = await SELF.fetch(url);
		expect(hit.headers.get("X-Cache")).toBe("HIT");
		expect(await hit.text()).toBe(first);
		const scaled = await SELF.fetch(`http://cache.test/_sizes/${DIR}${ADOBE}-scaled.jpeg`);
		expect(scaled.headers.get("X-Cache")).toBe("HIT");
		expect(await scaled.text()).toBe(first);
		const etag = hit.headers.get("ETag") ?? "";
		expect(etag).toMatch(/^"[0-9a-f]{32}"$/);
		const revalidated = await SELF.fetch(url, { headers: { "If-None-Match": etag } });
		expect(revalidated.status).toBe(304);
		const head = await SELF.fetch(url, { method: "HEAD" });
		expect(head.status).toBe(200);
		expect(await head.text()).toBe("");
	});
});

const UPLOADS = [
	`${ADOBE}.jpeg`,
	"harbour-friends.jpeg",
	"colorful-cups.jpg",
	"garden-progressive.jpg",
	"elephants-phone.jpg",
	"autumn-tiny.jpg",
];

describe.each(UPLOADS)("every file listed for %s", (upload) => {
	it("returns 200 with exactly the listed dimensions", async () => {
		const { body } = await table(`http://images.test/_sizes/${DIR}${upload}`);
		const entries = Object.entries(body.sizes);
		expect(entries.length).toBeGreaterThan(0);
		for (const [name, size] of entries) {
			const res = await SELF.fetch(size.file);
			expect(res.status, `${name} ${size.file}`).toBe(200);
			expect(res.headers.get("Content-Type")).toBe(size["mime-type"]);
			const img = await decode(await res.arrayBuffer());
			expect([img.width, img.height], name).toEqual([size.width, size.height]);
		}
		// The full size is served too, as stored.
		const full = await SELF.fetch(body.file);
		expect(full.status).toBe(200);
		expect(Number(full.headers.get("Content-Length"))).toBe(body.filesize);
		expect((await full.arrayBuffer()).byteLength).toBe(body.filesize);
	});
});

describe("size table edge cases", () => {
	it("describes a -rotated upload by its upright copy", async () => {
		const { body } = await table(`http://images.test/_sizes/${DIR}elephants-phone.jpg`);
		expect(body.file).toBe(`http://images.test/files/${DIR}elephants-phone-rotated.jpg`);
		expect([body.width, body.height]).toEqual([900, 1600]);
		expect(body.original_image).toBe("elephants-phone.jpg");
		expect(body.sizes["post-thumbnail"]).toMatchObject({ width: 450, height: 800 });
	});

	it("lists only what WordPress makes for a small upload, with no original_image", async () => {
		const { body } = await table(`http://images.test/_sizes/${DIR}autumn-tiny.jpg`);
		expect(Object.keys(body.sizes)).toEqual(["thumbnail"]);
		expect(body.original_image).toBeUndefined();
		expect(body.srcset).toBeUndefined();
	});

	it("a PNG upload's table lists its PNG sizes, taken from the upload itself", async () => {
		const { body } = await table(`http://images.test/_sizes/${DIR}goldfish.png`);
		expect([body.width, body.height]).toEqual([1400, 923]);
		expect(body.original_image).toBeUndefined();
		expect(body.sizes.bd).toMatchObject({
			file: `http://images.test/files/${DIR}goldfish-730x481.png`,
			"mime-type": "image/png",
		});
		expect(body.sizes["post-thumbnail"]).toMatchObject({ width: 1200, height: 791 });
	});

	it.each([
		[`/_sizes/${DIR}no-such-upload.jpeg`, 404],
		[`/_sizes/${DIR}${ADOBE}-730x487.jpeg`, 404],
		[`/_sizes/${DIR}..%2Fsecret.jpeg`, 404],
		[`/_sizes/${DIR}bad%E0%A4%A.jpeg`, 400],
		// Sizes of a GIF answer 415, so its table does too.
		[`/_sizes/${DIR}spinner-animated.gif`, 415],
	])("%s → %i, never cached as a table", async (path, status) => {
		const res = await SELF.fetch(`http://edge.test${path}`);
		expect(res.status).toBe(status);
		expect(res.headers.get("Content-Type")).toBe("text/plain; charset=utf-8");
		expect(res.headers.get("X-Cache")).toBeNull();
		await res.arrayBuffer();
	});

	it.each([
		[`${ADOBE}.jpeg`, false],
		["goldfish.png", false],
		["logo-palette.png", true],
	])(
		"%s: the colour placeholder is the source's alpha-weighted mean colour; transparency %s",
		async (file, transparent) => {
			const { body } = await table(`http://placeholder.test/_sizes/${DIR}${file}`);
			const bytes = await fixtureBytes(`originals/${DIR}${file}`);
			const format = detectFormat(bytes);
			if (!format) throw new Error("fixture is not an image");
			const { data } = await decodeImage(format, bytes);
			const sum = [0, 0, 0];
			let weight = 0;
			for (let i = 0; i < data.length; i += 4) {
				const a = data[i + 3] ?? 0;
				for (let c = 0; c < 3; c++) sum[c] = (sum[c] ?? 0) + (data[i + c] ?? 0) * a;
				weight += a;
			}
			expect(body.dominant_color).toMatch(/^[0-9a-f]{6}$/);
			const got = [0, 2, 4].map((i) =>
				Number.parseInt(body.dominant_color?.slice(i, i + 2) ?? "", 16),
			);
			// The worker averages its smallest decode (a JPEG at 1/8): within 3 levels of the full one.
			got.forEach((v, c) => {
				expect(Math.abs(v - (sum[c] ?? 0) / weight)).toBeLessThan(3);
			});
			expect(body.has_transparency).toBe(transparent);
		},
	);

	it("allows only GET and HEAD", async () => {
		const res = await SELF.fetch(`http://edge.test/_sizes/${DIR}${ADOBE}.jpeg`, { method: "POST" });
		expect(res.status).toBe(405);
		expect(res.headers.get("Allow")).toBe("GET, HEAD");
	});
});
