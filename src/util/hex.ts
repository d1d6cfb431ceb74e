/** Lower-case hex of some bytes (digests for ETags and KV keys). */
export function hex(bytes: ArrayBuffer): string {
	return [...new Uint8Array(bytes)].map((b) => b.toString(16).padStart(2, "0")).join("");
}
