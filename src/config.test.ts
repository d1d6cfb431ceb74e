import { describe, expect, it } from "vitest";
import { DEFAULTS, loadConfig, parseConfig } from "./config";
import { ConfigError } from "./errors";
import { DEFAULT_SIZES } from "./wp/sizes";

describe("parseConfig", () => {
	it("fills every default from empty vars", () => {
		const config = parseConfig({});
		expect(config.mountPath).toBe("/files");
		expect(config.sizes).toEqual(DEFAULT_SIZES);
		expect(config.jpegQuality).toBe(82);
		expect(config.limits.maxSourcePixels).toBe(DEFAULTS.MAX_SOURCE_PIXELS);
	});

	it("reads WordPress's own size JSON", () => {
		const config = parseConfig({
			IMAGE_SIZES:
				'{"thumbnail":{"width":150,"height":150,"crop":true},"big":{"width":2048,"height":2048,"crop":false}}',
			MOUNT_PATH: "/wp-content/uploads",
			JPEG_QUALITY: "75",
		});
		expect(Object.keys(config.sizes)).toEqual(["thumbnail", "big"]);
		expect(config.mountPath).toBe("/wp-content/uploads");
		expect(config.jpegQuality).toBe(75);
	});

	it.each([
		["MOUNT_PATH", "files"],
		["MOUNT_PATH", "/files/"],
		["MOUNT_PATH", "/../x"],
		["MOUNT_PATH", "/a b"],
		["JPEG_QUALITY", "0"],
		["JPEG_QUALITY", "101"],
		["JPEG_QUALITY", "high"],
		["JPEG_QUALITY", "8.5"],
		["MAX_SOURCE_PIXELS", "-1"],
		["MAX_SOURCE_PIXELS", "999999999999"],
		["IMAGE_SIZES", "{not json"],
		["IMAGE_SIZES", '{"thumbnail":{"width":-1,"height":150,"crop":true}}'],
		["IMAGE_SIZES", '{"thumbnail":{"width":150,"height":150,"crop":["middle","top"]}}'],
		["CACHE_CONTROL", "public\r\nSet-Cookie: a=b"],
	])("%s=%s fails with an error naming the variable", (name, value) => {
		let caught: unknown;
		try {
			parseConfig({ [name]: value });
		} catch (err) {
			caught = err;
		}
		expect(caught).toBeInstanceOf(ConfigError);
		expect((caught as ConfigError).variable).toBe(name);
		expect((caught as ConfigError).message).toContain(name);
		expect((caught as ConfigError).status).toBe(500);
		// The public message says nothing about the configuration.
		expect((caught as ConfigError).publicMessage).not.toContain(name);
	});

	it("validates once per env object", () => {
		const env = { JPEG_QUALITY: "90" };
		const first = loadConfig(env);
		env.JPEG_QUALITY = "nonsense";
		expect(loadConfig(env)).toBe(first);
		expect(() => loadConfig({ JPEG_QUALITY: "nonsense" })).toThrow(ConfigError);
	});
});
