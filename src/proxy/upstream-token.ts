import { randomUUID } from 'node:crypto';
import { SignJWT } from 'jose';
import { PLACEHOLDER, UpstreamTokenConfig } from '../config/proxy-config';
import { LicensePolicy } from '../heartbeat/license-policy';

/** Lifetime of a minted upstream token: it only has to reach the licence server. */
export const UPSTREAM_TOKEN_LIFETIME_SECONDS = 60;

/** The values a template's {{placeholders}} are filled with; undefined ones are left out. */
export interface TokenFields {
  userId: string;
  sessionId?: string;
  deviceId?: string;
  contentId?: string;
  drm: string;
  plan?: string;
  license?: LicensePolicy;
}

function lookup(fields: TokenFields, name: string): unknown {
  if (name.startsWith('license.')) {
    const field = name.slice('license.'.length);
    return fields.license && field in fields.license
      ? fields.license[field as keyof LicensePolicy]
      : undefined;
  }
  return fields[name as keyof TokenFields];
}

const WHOLE = new RegExp(`^${PLACEHOLDER.source}$`);

/**
 * Fills a JSON template: a string that is exactly one placeholder takes the value with its JSON
 * type (numbers and booleans of `license` stay numbers and booleans) and its key is dropped when
 * the value is absent; placeholders inside longer strings are replaced by text.
 */
export function fillTemplate(template: unknown, fields: TokenFields): unknown {
  if (typeof template === 'string') {
    const whole = WHOLE.exec(template);
    if (whole) return lookup(fields, whole[1]);
    return template.replace(PLACEHOLDER, (_m, name: string) => {
      const value = lookup(fields, name);
      return value === undefined ? '' : String(value);
    });
  }
  if (Array.isArray(template)) {
    return template.map((item) => fillTemplate(item, fields)).filter((v) => v !== undefined);
  }
  if (template && typeof template === 'object') {
    const filled: Record<string, unknown> = {};
    for (const [key, value] of Object.entries(template)) {
      const v = fillTemplate(value, fields);
      if (v !== undefined) filled[key] = v;
    }
    return filled;
  }
  return template;
}

/** Mints the per-request HS256 entitlement token: template payload, ≤60 s, unique jti. */
export class UpstreamTokenMinter {
  private readonly key: Uint8Array;

  constructor(private readonly config: UpstreamTokenConfig) {
    this.key = new TextEncoder().encode(config.secret);
  }

  get header(): string {
    return this.config.header;
  }

  mint(fields: TokenFields): Promise<string> {
    const payload = fillTemplate(this.config.template, fields) as Record<string, unknown>;
    return new SignJWT(payload)
      .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
      .setIssuedAt()
      .setExpirationTime(`${UPSTREAM_TOKEN_LIFETIME_SECONDS}s`)
      .setJti(randomUUID())
      .sign(this.key);
  }
}
