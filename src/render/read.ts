/**
 * Reading an original for a render: exactly the version the lookup probed
 * (its header is what the plan and the limits were worked out from).
 */
import { SourceChangedError } from "../http/errors";
import type { UploadMeta } from "../origin/lookup";
import type { Storage } from "../origin/storage";

/** Read exactly the version the lookup probed: its header is what the plan was made from. */
export async function readSource(storage: Storage, meta: UploadMeta, onStale: () => void) {
	const { source } = meta;
	try {
		const read = await storage.read(source.key, source.etag);
		if (read) return read.bytes;
	} catch (err) {
		onStale();
		throw err;
	}
	onStale();
	throw new SourceChangedError(`get ${source.key}: gone since lookup`);
}
