import { describe, expect, it } from "vitest";
import { uploadsInListing } from "./demo";

describe("uploadsInListing", () => {
	it("folds copies into their upload and skips stored sub-sizes", () => {
		const keys = [
			"2025/09/a.jpeg",
			"2025/09/a-scaled.jpeg",
			"2025/09/a-150x150.jpeg",
			"2025/09/b-rotated.jpg",
			"2025/09/b.jpg",
			"2025/09/C.JPG",
			"2025/09/.hidden.jpg",
			"2025/09/notes",
			"2025/09/my photo.jpeg",
		];
		expect(uploadsInListing(keys).map((u) => `${u.dir}${u.name}.${u.ext}`)).toEqual([
			"2025/09/a.jpeg",
			"2025/09/b.jpg",
			// Looked up as WordPress names its sub-sizes: lower-case extension.
			"2025/09/C.jpg",
			"2025/09/my photo.jpeg",
		]);
	});

	it("stops at the limit", () => {
		const keys = Array.from({ length: 50 }, (_, i) => `u${i}.jpg`);
		expect(uploadsInListing(keys, 3)).toHaveLength(3);
		expect(uploadsInListing([])).toEqual([]);
	});
});
