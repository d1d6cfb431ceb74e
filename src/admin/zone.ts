/**
 * Cloudflare's zone purge API (POST /zones/{zone_id}/purge_cache), used when
 * CF_ZONE_ID and CF_API_TOKEN are set. It frees the entries under old keys in
 * every data centre at once; the generation bump is what makes the purge
 * correct even when this call is not configured or fails. Every failure is
 * reported to the caller, never swallowed.
 */

import type { ZonePurgeConfig } from "../config";
import { mapLimited } from "../util/concurrency";

export const CLOUDFLARE_API = "https://api.cloudflare.com/client/v4";
/** The API takes at most 30 URLs or 30 prefixes per call. */
export const PURGE_BATCH = 30;
const TIMEOUT_MS = 10_000;

export interface ZoneCall {
	readonly kind: "files" | "prefixes";
	readonly count: number;
	/** HTTP status, or null when no answer came (network error, time-out). */
	readonly status: number | null;
	readonly ok: boolean;
	readonly errors: readonly { readonly code?: number; readonly message: string }[];
}

export interface ZoneResult {
	readonly ok: boolean;
	readonly calls: readonly ZoneCall[];
}

/** Cloudflare's prefix form: host and path, no scheme (`example.com/files/2025/09/`). */
export function zonePrefix(origin: string, path: string): string {
	return `${new URL(origin).host}${path}`;
}

function batches(items: readonly string[]): string[][] {
	const out: string[][] = [];
	for (let i = 0; i < items.length; i += PURGE_BATCH) out.push(items.slice(i, i + PURGE_BATCH));
	return out;
}

interface ApiAnswer {
	success?: unknown;
	errors?: unknown;
}

function apiErrors(answer: ApiAnswer | null, status: number): ZoneCall["errors"] {
	const list = Array.isArray(answer?.errors) ? answer.errors : [];
	const errors = list.slice(0, 5).map((e: { code?: unknown; message?: unknown }) => ({
		code: typeof e?.code === "number" ? e.code : undefined,
		message: String(e?.message ?? "unknown error").slice(0, 300),
	}));
	return errors.length > 0 ? errors : [{ message: `HTTP ${status} without an error list` }];
}

async function call(
	zone: ZonePurgeConfig,
	kind: ZoneCall["kind"],
	items: string[],
): Promise<ZoneCall> {
	let response: Response;
	try {
		response = await fetch(`${CLOUDFLARE_API}/zones/${zone.zoneId}/purge_cache`, {
			method: "POST",
			headers: {
				Authorization: `Bearer ${zone.apiToken}`,
				"Content-Type": "application/json",
			},
			body: JSON.stringify({ [kind]: items }),
			signal: AbortSignal.timeout(TIMEOUT_MS),
		});
	} catch (err) {
		return {
			kind,
			count: items.length,
			status: null,
			ok: false,
			errors: [{ message: String(err) }],
		};
	}
	const answer = (await response.json().catch(() => null)) as ApiAnswer | null;
	const ok = response.ok && answer?.success === true;
	return {
		kind,
		count: items.length,
		status: response.status,
		ok,
		errors: ok ? [] : apiErrors(answer, response.status),
	};
}

/** Zone API calls in flight at once (the API rate-limits per token). */
const ZONE_CONCURRENCY = 4;

/** Purge these cache-key URLs and prefixes, 30 per call, a few calls at a time. */
export async function purgeZone(
	zone: ZonePurgeConfig,
	work: { readonly files: readonly string[]; readonly prefixes: readonly string[] },
): Promise<ZoneResult> {
	const jobs: [ZoneCall["kind"], string[]][] = [
		...batches([...new Set(work.files)]).map((items): [ZoneCall["kind"], string[]] => [
			"files",
			items,
		]),
		...batches([...new Set(work.prefixes)]).map((items): [ZoneCall["kind"], string[]] => [
			"prefixes",
			items,
		]),
	];
	const calls = await mapLimited(jobs, ZONE_CONCURRENCY, ([kind, items]) =>
		call(zone, kind, items),
	);
	return { ok: calls.every((c) => c.ok), calls };
}
