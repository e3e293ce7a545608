/**
 * The one error tree of the SDK (the Python SDK's, with the same names):
 *
 * ```
 * PromptOpsError                       every error the SDK throws
 * ├── TemplateError                    a template or its values
 * │   ├── TemplateSyntaxError          the template does not parse (.line, .column, .position)
 * │   ├── MissingVariablesError        required names not given (.names)
 * │   ├── UnknownVariablesError        strict mode: names the prompt does not know (.names)
 * │   ├── InputTypeError               a declared input of another type (.name, .expected, .got)
 * │   ├── PlaceholderValueError        a placeholder value is not a list of messages (.name, .index)
 * │   └── TemplateRenderError          a value cannot be rendered (a function), nesting too deep
 * │       └── UnresolvedPartialError   a {{> slug}} left in the content (.key, .line, .column)
 * ├── WebhookVerificationError         not a valid PromptOps webhook (answer 400)
 * │   ├── MissingHeaderError           (.header)
 * │   ├── MalformedHeaderError         (.header)
 * │   ├── TimestampOutOfToleranceError (.timestamp, .tolerance)
 * │   ├── InvalidSignatureError
 * │   └── InvalidPayloadError          signed correctly but not JSON
 * ├── InvalidSecretError               a webhook secret is not whsec_<base64> (configuration)
 * ├── ConfigurationError               the client is set up wrongly (no API key, bad option)
 * │   └── UnsupportedFieldError        run(): the provider cannot express a prompt field
 * │                                    (.provider, .field, .reason), before any call
 * ├── InvalidOutputError               run(): the model's output is not what the prompt asked
 * │                                    for (.field, .reason, .raw)
 * ├── APIError                         the server answered an error (.status, .code, .field, .slug)
 * │   ├── AuthenticationError          401
 * │   ├── PermissionDeniedError        403
 * │   ├── PromptNotFoundError          404 (the cache entry is evicted)
 * │   └── ServerError                  5xx
 * ├── InvalidResponseError             the server's answer is not what the contract says
 * └── PromptUnavailableError           nothing to serve: server unreachable, no cached value,
 *                                      no fallback (.slug, .version, .cause)
 * ```
 */

export class PromptOpsError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}

export class TemplateError extends PromptOpsError {}

export class TemplateSyntaxError extends TemplateError {
  readonly position: number;
  readonly line: number;
  readonly column: number;
  constructor(message: string, where: { position: number; line: number; column: number }) {
    super(`${message} at line ${where.line}, column ${where.column}`);
    this.position = where.position;
    this.line = where.line;
    this.column = where.column;
  }
}

export class MissingVariablesError extends TemplateError {
  readonly names: string[];
  constructor(names: string[], detail?: string) {
    const message = `missing template variable(s): ${names.join(", ")}`;
    super(detail ? `${message} (${detail})` : message);
    this.names = names;
  }
}

export class UnknownVariablesError extends TemplateError {
  readonly names: string[];
  constructor(names: string[]) {
    super(`unknown template variable(s): ${names.join(", ")}`);
    this.names = names;
  }
}

export class InputTypeError extends TemplateError {
  readonly variable: string;
  readonly expected: string;
  readonly got: string;
  constructor(name: string, expected: string, got: string) {
    super(`variable '${name}' is declared as ${expected}, got ${got}`);
    this.variable = name;
    this.expected = expected;
    this.got = got;
  }
}

export class PlaceholderValueError extends TemplateError {
  readonly placeholder: string;
  readonly index: number | undefined;
  constructor(name: string, reason: string, index?: number) {
    super(`placeholder ${index === undefined ? name : `${name}[${index}]`}: ${reason}`);
    this.placeholder = name;
    this.index = index;
  }
}

export class TemplateRenderError extends TemplateError {}

export class UnresolvedPartialError extends TemplateRenderError {
  readonly key: string;
  readonly line: number;
  readonly column: number;
  constructor(partial: { key: string; line: number; column: number }) {
    super(
      `partial '{{> ${partial.key}}}' at line ${partial.line}, column ${partial.column} is not` +
        " resolved (partials are resolved by the server)",
    );
    this.key = partial.key;
    this.line = partial.line;
    this.column = partial.column;
  }
}

export class WebhookVerificationError extends PromptOpsError {}

export class MissingHeaderError extends WebhookVerificationError {
  readonly header: string;
  constructor(header: string) {
    super(`missing webhook header '${header}'`);
    this.header = header;
  }
}

export class MalformedHeaderError extends WebhookVerificationError {
  readonly header: string;
  constructor(header: string, problem: string) {
    super(`webhook header '${header}' ${problem}`);
    this.header = header;
  }
}

export class TimestampOutOfToleranceError extends WebhookVerificationError {
  readonly timestamp: number;
  readonly tolerance: number;
  constructor(timestamp: number, now: number, tolerance: number) {
    const age = now - timestamp;
    const when = age > 0 ? `${Math.round(age)} s old` : `${Math.round(-age)} s in the future`;
    super(
      `webhook timestamp is ${when}; accepted: within ${tolerance} s of now` +
        " (a replayed request, or a clock that is off)",
    );
    this.timestamp = timestamp;
    this.tolerance = tolerance;
  }
}

export class InvalidSignatureError extends WebhookVerificationError {}

export class InvalidPayloadError extends WebhookVerificationError {}

export class InvalidSecretError extends PromptOpsError {}

export class ConfigurationError extends PromptOpsError {}

export class APIError extends PromptOpsError {
  readonly status: number;
  readonly code: string;
  readonly field: string | undefined;
  readonly slug: string | undefined;
  constructor(
    message: string,
    details: { status: number; code: string; field?: string | undefined; slug?: string | undefined },
  ) {
    super(message);
    this.status = details.status;
    this.code = details.code;
    this.field = details.field;
    this.slug = details.slug;
  }
}

export class AuthenticationError extends APIError {}
export class PermissionDeniedError extends APIError {}
export class PromptNotFoundError extends APIError {}
export class ServerError extends APIError {}

export class InvalidResponseError extends PromptOpsError {
  readonly status: number;
  constructor(message: string, status: number) {
    super(message);
    this.status = status;
  }
}

export class PromptUnavailableError extends PromptOpsError {
  readonly slug: string;
  readonly version: number | undefined;
  constructor(slug: string, version: number | undefined, cause: unknown) {
    const what = version === undefined ? `'${slug}'` : `'${slug}' (pinned version ${version})`;
    super(
      `prompt ${what} is unavailable (no cached value and no fallback): ${describe(cause)}`,
      { cause },
    );
    this.slug = slug;
    this.version = version;
  }
}

export class UnsupportedFieldError extends ConfigurationError {
  readonly provider: string;
  readonly field: string;
  readonly reason: string;
  constructor(provider: string, field: string, reason: string) {
    super(`${provider} cannot express ${field}: ${reason}`);
    this.provider = provider;
    this.field = field;
    this.reason = reason;
  }
}

export class InvalidOutputError extends PromptOpsError {
  readonly field: string;
  readonly reason: string;
  readonly raw: string | null;
  constructor(field: string, reason: string, raw: string | null) {
    super(`${field}: ${reason}`);
    this.field = field;
    this.reason = reason;
    this.raw = raw;
  }
}

function describe(error: unknown): string {
  if (error instanceof Error) return error.message ? `${error.name}: ${error.message}` : error.name;
  return String(error);
}
