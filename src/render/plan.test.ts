import { describe, expect, it } from "vitest";
import type { ImageInfo } from "../image/probe";
import type { UploadMeta } from "../origin/lookup";
import { DEFAULT_SIZES } from "../wp/sizes";
import { matchSize, uploadSizes } from "./plan";

function meta(
	uploadKey: string,
	width: number,
	height: number,
	exact = true,
	stored: [number, number] = [width, height],
): UploadMeta {
	const info = { format: "jpeg", width, height, orientation: 1 } as unknown as ImageInfo;
	return {
		uploadKey,
		width,
		height,
		storedWidth: stored[0],
		storedHeight: stored[1],
		exact,
		source: { key: uploadKey, kind: "upload", etag: "e", size: 1, uploaded: new Date(0), info },
		sizesExt: uploadKey.slice(uploadKey.lastIndexOf(".") + 1).toLowerCase(),
		sizesFormat: "jpeg",
	};
}

describe("uploadSizes: the one list behind the size table and serving", () => {
	it("names each file as WordPress does", () => {
		expect(
			uploadSizes(meta("2025/09/x.jpeg", 3264, 2176), DEFAULT_SIZES).map((s) => s.key),
		).toEqual([
			"2025/09/x-150x150.jpeg",
			"2025/09/x-730x487.jpeg",
			"2025/09/x-510x320.jpeg",
			"2025/09/x-600x420.jpeg",
			"2025/09/x-800x340.jpeg",
			"2025/09/x-1200x628.jpeg",
			"2025/09/x-1200x800.jpeg",
		]);
		expect(uploadSizes(meta("x.JPG", 320, 200), DEFAULT_SIZES).map((s) => s.key)).toEqual([
			"x-150x150.jpg",
		]);
	});

	it.each([
		meta("a.jpeg", 3264, 2176),
		meta("b.jpeg", 2056, 3088),
		meta("c.jpg", 2560, 1600),
		meta("d.jpg", 1200, 750),
		meta("e.jpg", 900, 1600, true, [1600, 900]),
		meta("f.jpg", 320, 200),
		meta("g.jpeg", 2560, 1707, false),
	])("every listed file is served with its listed plan ($uploadKey)", (m) => {
		const listed = uploadSizes(m, DEFAULT_SIZES);
		for (const size of listed) {
			const served = matchSize(m, size.plan.width, size.plan.height, DEFAULT_SIZES);
			expect(served.plan).toEqual(size.plan);
			// Names sharing one file: the served one is one of them.
			expect(listed.filter((s) => s.key === size.key).map((s) => s.name)).toContain(served.name);
		}
	});
});
