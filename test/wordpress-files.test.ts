/**
 * The WordPress-made fixtures (fixtures/README.md, "A WordPress site, laid out
 * by WordPress itself") agree with the metadata WordPress recorded for them:
 * every file it wrote is there, and each size's header (read by our probe, from
 * a prefix) has the dimensions and format WordPress put in the metadata.
 */
import { describe, expect, it } from "vitest";
import { decodeGif } from "../src/image/gif";
import { type ImageFormat, probeImage } from "../src/image/probe";
import { fixtureBytes } from "./helpers";

interface SizeMeta {
	readonly file: string;
	readonly width: number;
	readonly height: number;
	readonly "mime-type": string;
}
interface Step {
	readonly what: string;
	readonly blog_id: number;
	readonly files: string[];
	readonly metadata: {
		file: string;
		width: number;
		height: number;
		sizes: Record<string, SizeMeta>;
	};
}

const steps = async (): Promise<Step[]> =>
	JSON.parse(new TextDecoder().decode(await fixtureBytes("migrated/metadata.json"))).steps;

/** Bucket key → fixture path: blog N > 1 lives under sites/N/; names may be non-ASCII (NFC or NFD). */
const path = (blog: number, key: string) =>
	`originals/${blog > 1 ? `sites/${blog}/` : ""}${key.split("/").map(encodeURIComponent).join("/")}`;

const FORMAT_OF_MIME: Record<string, ImageFormat> = {
	"image/jpeg": "jpeg",
	"image/png": "png",
	"image/gif": "gif",
	"image/webp": "webp",
};

async function probe(file: string) {
	const bytes = await fixtureBytes(file);
	const r = probeImage(bytes.subarray(0, 64 * 1024));
	if (!r.ok) throw new Error(`${file}: header beyond 64 KiB`);
	return r.info;
}

describe("WordPress-made fixtures match WordPress's metadata", () => {
	it("every file each step wrote exists and probes", async () => {
		for (const step of await steps()) {
			expect(step.files.length, step.what).toBeGreaterThan(0);
			for (const key of step.files) {
				const info = await probe(path(1, key));
				expect(info.width * info.height, key).toBeGreaterThan(0);
			}
		}
	});

	it("each size's dimensions and format are what WordPress recorded", async () => {
		let checked = 0;
		for (const { metadata, blog_id } of await steps()) {
			const dir = metadata.file.replace(/[^/]+$/, "");
			const full = await probe(path(blog_id, metadata.file));
			expect([full.width, full.height], metadata.file).toEqual([metadata.width, metadata.height]);
			for (const size of Object.values(metadata.sizes)) {
				const info = await probe(path(blog_id, dir + size.file));
				expect([info.width, info.height, info.format], size.file).toEqual([
					size.width,
					size.height,
					FORMAT_OF_MIME[size["mime-type"]],
				]);
				checked++;
			}
		}
		expect(checked).toBeGreaterThan(50);
	});

	it("GD's GIF sizes (WordPress 6.1.9, GD 2.3.3) lose the transparency; the sizes are the first frame", async () => {
		// GD resizes in truecolour with alpha, and imagegif() keeps no transparent index:
		// the transparent surround comes out opaque near-black. (Our encodeGif keeps it.)
		for (const name of ["garden-cutout-150x150.gif", "garden-cutout-300x225.gif"]) {
			const img = decodeGif(await fixtureBytes(`originals/2025/10/${name}`));
			expect(Array.from(img.data.subarray(0, 4)), name).toEqual([4, 2, 4, 255]);
			expect(img.data.every((v, i) => (i & 3) !== 3 || v === 255)).toBe(true);
		}
		const anim = await fixtureBytes("originals/2025/10/bouncing-disc-300x225.gif");
		expect(probeImage(anim)).toMatchObject({ ok: true, info: { animated: false } });
	});
});
