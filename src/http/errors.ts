/**
 * Every failure the worker can answer with is one of these classes. Each carries
 * the HTTP status, a short public message (safe to show to any client) and an
 * optional internal detail for the log line. `onError` in `index.ts` is the only
 * place that turns them into responses.
 */
export abstract class ImageError extends Error {
	abstract readonly status: number;
	/** Whether ops should hear about it (a log line at error level). */
	readonly report: boolean = false;
	/** Extra response headers, e.g. `Allow` or `Retry-After`. */
	readonly headers: Record<string, string> = {};
	/** Extra fields for a JSON error body (admin routes answer in JSON). */
	readonly details?: Readonly<Record<string, unknown>>;

	constructor(
		readonly publicMessage: string,
		options?: { cause?: unknown; detail?: string },
	) {
		super(options?.detail ?? publicMessage, { cause: options?.cause });
		this.name = new.target.name;
	}
}

/** 400: the request cannot be understood (broken encoding, bad JSON, …). */
export class BadRequestError extends ImageError {
	readonly status = 400;
}

/** 401: missing or wrong credentials. */
export class UnauthorizedError extends ImageError {
	readonly status = 401;
	override readonly headers = { "WWW-Authenticate": 'Bearer realm="wp-edge-images"' };
}

/** 403: a signature was present but wrong. */
export class ForbiddenError extends ImageError {
	readonly status = 403;
}

/** 404: no such original, or no such size for it. */
export class NotFoundError extends ImageError {
	readonly status = 404;
}

/** 405: only the listed methods are allowed. */
export class MethodNotAllowedError extends ImageError {
	readonly status = 405;
	override readonly headers: Record<string, string>;
	constructor(allow: readonly string[]) {
		super("Method Not Allowed");
		this.headers = { Allow: allow.join(", ") };
	}
}

/** 413: a request body over its limit. */
export class PayloadTooLargeError extends ImageError {
	readonly status = 413;
}

/** 415: the original is in a format this worker does not decode. */
export class UnsupportedFormatError extends ImageError {
	readonly status = 415;
}

/** 415: a request body in a media type the route does not take. */
export class UnsupportedMediaTypeError extends ImageError {
	readonly status = 415;
}

/** 422: the original is broken, or over one of the configured limits. */
export class UnprocessableError extends ImageError {
	readonly status = 422;
}

/** 422 that names the limit that was hit. */
export class LimitExceededError extends UnprocessableError {
	constructor(
		readonly limit: string,
		message: string,
	) {
		super(`${message} (limit ${limit})`);
	}
}

/**
 * 502/503: R2 (the origin of our originals) failed, or (503) timed out or
 * answered inconsistently in a way a retry will clear.
 */
export class UpstreamError extends ImageError {
	readonly status: 502 | 503;
	override readonly report = true;
	override readonly headers = { "Retry-After": "5" };
	constructor(
		publicMessage: string,
		options: { cause?: unknown; detail?: string; timeout?: boolean },
	) {
		super(publicMessage, options);
		this.status = options.timeout ? 503 : 502;
	}
}

/**
 * 503: the original is not the version we looked up (replaced, deleted or
 * different from its header while we read it). A retry looks it up afresh.
 */
export class SourceChangedError extends UpstreamError {
	constructor(detail: string) {
		super("Original changed while it was read", { detail, timeout: true });
	}
}

/**
 * 503: this isolate is too busy to take the request now (too many waiting for
 * a render slot, or the wait ran out). Retryable; never cached.
 */
export class OverloadedError extends ImageError {
	readonly status = 503;
	override readonly report = true;
	override readonly headers = { "Retry-After": "5" };
}

/**
 * 502/503: a purge ran but not every mechanism took effect (KV refused the new
 * generation, or Cloudflare's purge API answered with an error). The body is
 * the purge report, so ops see what did and did not happen.
 */
export class PurgeIncompleteError extends ImageError {
	readonly status: 502 | 503;
	override readonly report = true;
	override readonly details: Readonly<Record<string, unknown>>;
	constructor(report: Readonly<Record<string, unknown>>, options: { generationFailed: boolean }) {
		super(
			options.generationFailed
				? "Purge incomplete: the new generation was not stored"
				: "Purge incomplete: the global purge request failed",
		);
		// No generation means nothing changed outside this data centre: retryable.
		this.status = options.generationFailed ? 503 : 502;
		this.details = report;
	}
}

/** 500: the deployment's configuration is invalid. The log names the variable. */
export class ConfigError extends ImageError {
	readonly status = 500;
	override readonly report = true;
	constructor(
		readonly variable: string,
		problem: string,
	) {
		super("Server misconfigured", { detail: `config ${variable}: ${problem}` });
	}
}

/** 500: a bug or a codec trap. The public message never carries the detail. */
export class InternalError extends ImageError {
	readonly status = 500;
	override readonly report = true;
}
