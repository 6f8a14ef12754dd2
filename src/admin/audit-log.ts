import { Injectable, Logger } from '@nestjs/common';
import { Caller } from '../auth/roles';

export type AuditAction =
  | 'plan.put'
  | 'plan.delete'
  | 'override.put'
  | 'override.delete'
  | 'sessions.terminate'
  | 'downloads.end'
  | 'devices.forget';

/** One audit record: what changed, from what to what, and which token changed it. */
export interface AuditRecord {
  audit: true;
  action: AuditAction;
  target: Record<string, string>;
  before: unknown;
  after: unknown;
  role: Caller['role'];
  /** SHA-256 prefix of the bearer token: names it without revealing it. Never the token. */
  tokenFingerprint: string;
}

/**
 * Writes one structured line (context "Audit") per admin change. Lines are written at level
 * `log`, so USHER_LOG_LEVEL must be `log` or `debug` to keep them.
 */
@Injectable()
export class AuditLog {
  private readonly logger = new Logger('Audit');

  record(
    caller: Caller,
    action: AuditAction,
    target: Record<string, string>,
    before: unknown,
    after: unknown,
  ): void {
    const record: AuditRecord = {
      audit: true,
      action,
      target,
      before: before ?? null,
      after: after ?? null,
      role: caller.role,
      tokenFingerprint: caller.tokenFingerprint,
    };
    this.logger.log(record);
  }
}
