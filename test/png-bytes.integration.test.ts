/**
 * PNG sizes from the request path (our encoder, png-encode.ts) are no larger
 * than WordPress's GD editor makes them: fixtures/gd-png-bytes.json holds
 * GD's bytes for the same crop window and size (made at authoring time by
 * scripts/gd-png-reference.mjs; GD 2.3.3, imagepng's default compression).
 */
import { SELF } from "cloudflare:test";
import { beforeAll, describe, expect, it } from "vitest";
import { probeImage } from "../src/image/probe";
import { fixtureBytes } from "./helpers";
import { DIR, seed } from "./images";

interface GdTable {
	readonly made: string;
	readonly sizes: Readonly<Record<string, number>>;
}

const table: GdTable = JSON.parse(
	new TextDecoder().decode(await fixtureBytes("gd-png-bytes.json")),
);

beforeAll(() => seed("goldfish.png", "logo-palette.png"));

describe("PNG sizes are no larger than GD's", () => {
	it.each(Object.entries(table.sizes))("%s: ≤ %i bytes", async (file, gdBytes) => {
		const res = await SELF.fetch(`http://images.test/files/${DIR}${file}`);
		expect(res.status).toBe(200);
		const bytes = new Uint8Array(await res.arrayBuffer());
		const info = probeImage(bytes);
		const [w, h] = file
			.replace(/.*-(\d+)x(\d+)\.png$/, "$1 $2")
			.split(" ")
			.map(Number);
		expect(info.ok && [info.info.width, info.info.height]).toEqual([w, h]);
		expect(bytes.byteLength, `${file} vs GD's ${gdBytes}`).toBeLessThanOrEqual(gdBytes);
	});
});
