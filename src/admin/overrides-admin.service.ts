import { Injectable, NotFoundException } from '@nestjs/common';
import { Caller } from '../auth/roles';
import { invalidRequest } from '../common/invalid-request';
import { PlanRegistry } from '../plans/plan-registry';
import { Override, OverrideStore } from '../plans/override-store';
import { assertIds, needsClock, validateOverride } from './admin-validation';
import { AuditLog } from './audit-log';

/** An override as the admin API shows it: only the fields it sets, expiresAt in ISO 8601. */
export interface OverrideView {
  userId: string;
  plan?: string;
  maxStreams?: number;
  countBy?: Override['countBy'];
  onLimit?: Override['onLimit'];
  expiresAt?: string;
}

function fields(o: Override): Omit<OverrideView, 'userId'> {
  const { expiresAt, ...rest } = o;
  return expiresAt === undefined ? rest : { ...rest, expiresAt: new Date(expiresAt).toISOString() };
}

function toView(userId: string, o: Override): OverrideView {
  return { userId, ...fields(o) };
}

/** Per-user overrides: read by every heartbeat script in the same round trip, so in force at once. */
@Injectable()
export class OverridesAdminService {
  constructor(
    private readonly overrides: OverrideStore,
    private readonly plans: PlanRegistry,
    private readonly audit: AuditLog,
  ) {}

  async get(userId: string): Promise<OverrideView> {
    assertIds({ userId });
    const override = await this.overrides.get(userId);
    if (!override) throw new NotFoundException(`user "${userId}" has no override`);
    return toView(userId, override);
  }

  /** Replaces the user's override; `created` when the user had none. */
  async put(
    caller: Caller,
    userId: string,
    body: unknown,
  ): Promise<{ override: OverrideView; created: boolean }> {
    assertIds({ userId });
    const named = (body as { plan?: unknown } | null)?.plan;
    if (typeof named === 'string' && !this.plans.has(named)) {
      // Created on another instance a moment ago? Catch up before calling it unknown.
      await this.plans.refresh();
    }
    const now = needsClock(body) ? await this.overrides.now() : undefined;
    const { override, problems } = validateOverride(body, {
      isKnownPlan: (name) => this.plans.has(name),
      now,
    });
    if (!override) throw invalidRequest(problems);
    const before = await this.overrides.set(userId, override, now);
    this.audit.record(
      caller,
      'override.put',
      { userId },
      before && fields(before),
      fields(override),
    );
    return { override: toView(userId, override), created: before === null };
  }

  async remove(caller: Caller, userId: string): Promise<void> {
    assertIds({ userId });
    const before = await this.overrides.remove(userId);
    if (!before) throw new NotFoundException(`user "${userId}" has no override`);
    this.audit.record(caller, 'override.delete', { userId }, fields(before), null);
  }
}
