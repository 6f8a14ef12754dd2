import { ConflictException, Injectable, NotFoundException } from '@nestjs/common';
import { Caller } from '../auth/roles';
import { invalidRequest } from '../common/invalid-request';
import { parsePlan } from '../config/plan';
import { EffectivePlan, PlanRegistry } from '../plans/plan-registry';
import { PlanStore } from '../plans/plan-store';
import { AuditLog } from './audit-log';

export interface PlanList {
  defaultPlan: string;
  plans: EffectivePlan[];
}

/**
 * Runtime plans: writes go to the API overlay in Redis (PlanStore), which publishes the change to
 * every instance; this instance re-reads the overlay before answering, so its reply is in force.
 */
@Injectable()
export class PlansAdminService {
  constructor(
    private readonly registry: PlanRegistry,
    private readonly store: PlanStore,
    private readonly audit: AuditLog,
  ) {}

  list(): PlanList {
    return { defaultPlan: this.registry.defaultPlanName, plans: this.registry.effective() };
  }

  get(name: string): EffectivePlan {
    const plan = this.find(name);
    if (!plan) throw new NotFoundException(`plan "${name}" does not exist`);
    return plan;
  }

  /** Creates or replaces an API plan; `created` when no plan had that name. */
  async put(
    caller: Caller,
    name: string,
    body: unknown,
  ): Promise<{ plan: EffectivePlan; created: boolean }> {
    const { policy, problems: nameProblems } = takeName(name, body);
    const { plan, problems } = parsePlan(name, policy);
    if (!plan || nameProblems.length) throw invalidRequest([...nameProblems, ...problems]);
    await this.registry.refresh();
    const before = this.find(name) ?? null;
    await this.store.put(name, plan);
    await this.registry.refresh();
    const after = this.get(name);
    this.audit.record(caller, 'plan.put', { plan: name }, before, after);
    return { plan: after, created: before === null };
  }

  /**
   * Removes an API plan, or reverts a file plan changed through the API to the file's version.
   * A file plan as the file has it cannot be removed here (409), the default plan least of all.
   */
  async remove(caller: Caller, name: string): Promise<void> {
    await this.registry.refresh();
    const before = this.find(name);
    if (!before) throw new NotFoundException(`plan "${name}" does not exist`);
    if (before.source === 'file') {
      throw new ConflictException(
        name === this.registry.defaultPlanName
          ? `plan "${name}" is the default plan and cannot be removed`
          : `plan "${name}" comes from the plans file; remove it there`,
      );
    }
    await this.store.remove(name);
    await this.registry.refresh();
    this.audit.record(caller, 'plan.delete', { plan: name }, before, this.find(name) ?? null);
  }

  private find(name: string): EffectivePlan | undefined {
    return this.registry.effectivePlan(name);
  }
}

/**
 * A body may repeat the plan's name (a GET result sent back); it must then equal the path's name
 * and is not passed on as a policy field.
 */
function takeName(name: string, body: unknown): { policy: unknown; problems: string[] } {
  if (typeof body !== 'object' || body === null || Array.isArray(body) || !('name' in body)) {
    return { policy: body, problems: [] };
  }
  const { name: given, ...policy } = body as Record<string, unknown>;
  return {
    policy,
    problems: given === name ? [] : [`name: must equal the plan name in the path ("${name}")`],
  };
}
